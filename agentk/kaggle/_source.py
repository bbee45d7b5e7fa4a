"""Kaggle as a competition source: metadata, data and leaderboard, written in the local folder format.

``fetch_competition`` produces what :mod:`agentk.competitions` reads for a local competition::

    <root>/<slug>/description.md  metric.txt  leaderboard.csv  competition.yaml  public/...

and never a ``private/`` folder: Kaggle keeps the answers, and scoring happens through submissions.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from agentk.competitions.archive import ExtractLimits, safe_extract
from agentk.errors import AgentKError, UnknownMetricError, UserInputError
from agentk.kaggle._client import CompetitionInfo, DataFile, KaggleClient
from agentk.kaggle._errors import KernelOnlyCompetitionError
from agentk.kaggle._leaderboard import LeaderboardRow, read_leaderboard_download, write_leaderboard
from agentk.kaggle.urls import parse_competition_ref

__all__ = ["KaggleSource", "fetch_competition"]

logger = logging.getLogger("agentk.kaggle")


class KaggleSource:
    """Competitions on Kaggle, through :class:`KaggleClient` (the real ``kaggle`` package).

    Invariants: credentials are checked when the source is made, before any other work; nothing is
    downloaded for a competition AgentK cannot take part in (kernel-only, unknown metric); every
    archive goes through :func:`agentk.competitions.archive.safe_extract`; a failed fetch leaves the
    destination as it was.
    """

    def __init__(self, client: KaggleClient | None = None, *, limits: ExtractLimits | None = None) -> None:
        self.client = client if client is not None else KaggleClient()
        self.limits = limits or ExtractLimits()

    def metadata(self, ref: str) -> CompetitionInfo:
        """Title, metric, deadline, team count, limits... of a competition (URL or slug)."""
        return self.client.competition(parse_competition_ref(ref))

    def files(self, ref: str) -> list[DataFile]:
        return self.client.list_files(parse_competition_ref(ref))

    def leaderboard(self, ref: str, *, higher_is_better: bool) -> list[LeaderboardRow]:
        """The public leaderboard, normalised (one row per team, best first)."""
        slug = parse_competition_ref(ref)
        with tempfile.TemporaryDirectory(prefix="agentk-lb-") as tmp:
            archive = self.client.leaderboard_download(slug, Path(tmp))
            return read_leaderboard_download(archive, higher_is_better=higher_is_better)

    def fetch(self, ref: str, root: Path, *, metric_override: str | None = None) -> Path:
        """Download a competition into ``root/<slug>`` (see :func:`fetch_competition`)."""
        slug = parse_competition_ref(ref)
        root = Path(root)
        target = root / slug
        _check_replaceable(target)
        info = self.client.competition(slug)
        if info.kernels_only:
            raise KernelOnlyCompetitionError(
                f"{slug} is a code competition (submissions only through Kaggle notebooks); "
                "AgentK does not support those yet",
                hint="choose a competition that accepts CSV submissions",
            )
        metric = _resolve_metric(slug, info.evaluation_metric, metric_override)
        files = self.client.list_files(slug)
        root.mkdir(parents=True, exist_ok=True)
        staging = root / f".{slug}.fetch-{uuid.uuid4().hex[:12]}"
        downloads = root / f".{slug}.download-{uuid.uuid4().hex[:12]}"
        try:
            staging.mkdir()
            bundle = self.client.download_files(slug, downloads)
            safe_extract(bundle, staging / "public", self.limits)
            leaderboard_error = ""
            try:
                lb_archive = self.client.leaderboard_download(slug, downloads / "leaderboard")
                rows = read_leaderboard_download(lb_archive, higher_is_better=metric.higher_is_better)
                write_leaderboard(rows, staging / "leaderboard.csv")
            except AgentKError as error:  # the data is still usable; say so in competition.yaml
                leaderboard_error = error.message
                logger.warning("kaggle: no leaderboard for %s: %s", slug, error.message)
            _write_text(staging / "description.md", _description(info))
            _write_text(staging / "metric.txt", f"{metric.name} {'higher' if metric.higher_is_better else 'lower'}\n")
            _write_text(staging / "competition.yaml", _competition_yaml(info, metric, files, leaderboard_error))
            _swap_into_place(staging, target)
        finally:
            shutil.rmtree(downloads, ignore_errors=True)
            shutil.rmtree(staging, ignore_errors=True)
        return target


def fetch_competition(
    slug: str, root: Path, *, metric_override: str | None = None, client: KaggleClient | None = None
) -> Path:
    """Download a Kaggle competition into ``root/<slug>`` in the local folder format; returns that folder.

    Credentials are checked first (no secret ever appears in an error), then metadata; kernel-only
    competitions and unknown metrics are refused before any download. The data bundle is downloaded
    without the client's unzip and extracted by the safe extractor into ``public/``; ``description.md``,
    ``metric.txt`` (``<canonical-name> <higher|lower>``), ``leaderboard.csv`` (normalised) and
    ``competition.yaml`` are written beside it. A ``private/`` folder is never written. An existing
    ``root/<slug>`` from an earlier Kaggle fetch is replaced atomically; any other folder there is refused.

    Args:
        slug: Competition slug or URL.
        root: Folder of competitions.
        metric_override: A metric registry name to use when Kaggle's metric is unknown to AgentK.
        client: A configured client (tests, custom retry policies); made from the environment if omitted.
    """
    source = KaggleSource(client if client is not None else KaggleClient())
    return source.fetch(slug, root, metric_override=metric_override)


def _resolve_metric(slug: str, kaggle_name: str, override: str | None) -> Any:
    from agentk.competitions.metrics import get_metric

    hint = "pass a metric override: agentk run ... --metric NAME (a name from the metric registry)"
    name = (override or kaggle_name or "").strip()
    if not name:
        raise UnknownMetricError(f"Kaggle does not say which metric {slug} uses", hint=hint)
    try:
        return get_metric(name)
    except UnknownMetricError:
        source = "the metric override" if override else "Kaggle's evaluation metric"
        raise UnknownMetricError(f"{slug}: {source} {name!r} is not in AgentK's metric registry", hint=hint) from None


def _check_replaceable(target: Path) -> None:
    if not target.exists() and not target.is_symlink():
        return
    marker = target / "competition.yaml"
    source = None
    if target.is_dir() and not target.is_symlink() and marker.is_file():
        try:
            loaded = yaml.safe_load(marker.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            loaded = None
        source = loaded.get("source") if isinstance(loaded, dict) else None
    if source != "kaggle":
        raise UserInputError(
            f"{target} exists and is not an earlier Kaggle download; refusing to replace it",
            hint="move it away or fetch into another folder",
        )


def _swap_into_place(staging: Path, target: Path) -> None:
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:12]}")
    if target.exists():
        target.rename(old)
    try:
        staging.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_text(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _description(info: CompetitionInfo) -> str:
    lines = [f"# {info.title}", "", f"Kaggle competition `{info.slug}`: {info.url}", ""]
    if info.description.strip():
        lines += [info.description.strip(), ""]
    lines += [
        f"- Evaluation metric (Kaggle): {info.evaluation_metric or 'not stated'}",
        f"- Deadline: {info.deadline.isoformat() if info.deadline else 'none'}",
        f"- Daily submission limit: {info.max_daily_submissions or 'not stated'}",
        f"- Teams: {info.team_count}",
        "",
    ]
    return "\n".join(lines)


def _competition_yaml(info: CompetitionInfo, metric: Any, files: list[DataFile], leaderboard_error: str) -> str:
    data: dict[str, Any] = {
        "source": "kaggle",
        "slug": info.slug,
        "title": info.title,
        "url": info.url,
        "deadline": info.deadline.isoformat() if info.deadline else None,
        "team_count": info.team_count,
        "max_daily_submissions": info.max_daily_submissions,
        "awards_points": info.awards_points,
        "evaluation_metric": info.evaluation_metric,
        "metric": metric.name,
        "higher_is_better": bool(metric.higher_is_better),
        "category": info.category,
        "reward": info.reward,
        "data_files": [{"name": f.name, "size": f.size} for f in files],
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if leaderboard_error:
        data["leaderboard_error"] = leaderboard_error
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
