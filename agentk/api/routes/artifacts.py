"""What a run wrote: its submission, result, journal and plots. Paths never leave the run folder."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from agentk.api.deps import RunDep
from agentk.api.errors import ApiError, responses
from agentk.api.schemas import ArtifactPublic

router = APIRouter(prefix="/api/runs", tags=["artifacts"], responses=responses(401))

# The public input files are a copy of the competition (not the run's work); tracebacks and temporary files
# are for the operator's eyes on the server, never for an API client.
_HIDDEN_DIRS = {"input"}
_HIDDEN_FILES = {"traceback.txt"}
_MEDIA = {
    ".csv": "text/csv",
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".md": "text/markdown",
}
_FILE_CONTENT = {
    m: {"schema": {"type": "string", "format": "binary"}} for m in [*_MEDIA.values(), "application/octet-stream"]
}


def _visible(rel: PurePosixPath) -> bool:
    if not rel.parts or rel.parts[0] in _HIDDEN_DIRS or rel.name in _HIDDEN_FILES:
        return False
    return not any(part.startswith(".") for part in rel.parts) and not rel.name.endswith(".tmp")


@router.get("/{run_id}/artifacts", response_model=list[ArtifactPublic], responses=responses(404, 422))
def list_artifacts(run: RunDep) -> list[ArtifactPublic]:
    """List the files the run wrote (submission.csv, result.json, events.jsonl, plots)."""
    root = Path(run.out_dir)
    if not root.is_dir():
        return []
    out = []
    for path in sorted(root.rglob("*")):
        rel = PurePosixPath(path.relative_to(root).as_posix())
        if path.is_file() and not path.is_symlink() and _visible(rel):
            stat = path.stat()
            out.append(
                ArtifactPublic(path=str(rel), size=stat.st_size, modified=datetime.fromtimestamp(stat.st_mtime, UTC))
            )
    return out


@router.get(
    "/{run_id}/artifacts/{path:path}",
    response_class=FileResponse,
    responses={200: {"content": _FILE_CONTENT, "description": "The file."}, **responses(404, 422)},
)
def get_artifact(
    run: RunDep, path: Annotated[str, PathParam(max_length=1024, description="A path from the listing.")]
) -> FileResponse:
    """Download one file of the run."""
    missing = ApiError(404, "not_found", f"run {run.id} has no artifact {path[:200]!r}")
    rel = PurePosixPath(path)
    if "\x00" in path or "\\" in path or rel.is_absolute() or ".." in rel.parts or not _visible(rel):
        raise missing
    root = Path(run.out_dir).resolve()
    try:
        target = (root / rel).resolve(strict=True)
    except (OSError, RuntimeError):
        raise missing from None
    if not target.is_relative_to(root) or not target.is_file() or (root / rel).is_symlink():
        raise missing
    return FileResponse(
        target,
        media_type=_MEDIA.get(target.suffix.lower(), "application/octet-stream"),
        filename=target.name,
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff"},
    )
