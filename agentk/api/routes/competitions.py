"""Competitions: list, register a folder, read one and its leaderboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi import Path as PathParam

from agentk.api.deps import CatalogDep
from agentk.api.errors import ApiError, responses
from agentk.api.schemas import CompetitionCreate, CompetitionPublic, LeaderboardPublic, Page
from agentk.competitions import Catalog, CompetitionEntry
from agentk.errors import UserInputError

router = APIRouter(prefix="/api/competitions", tags=["competitions"], responses=responses(401))

CompetitionId = Annotated[str, PathParam(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$", description="The competition id.")]


def _summary(entry: CompetitionEntry) -> CompetitionPublic:
    return CompetitionPublic.of(entry.summary())


def _find(catalog: Catalog, competition_id: str) -> CompetitionEntry:
    for entry in catalog.entries():
        if entry.slug == competition_id:
            return entry
    raise ApiError(404, "not_found", f"no competition with id {competition_id!r}", hint="GET /api/competitions")


@router.get("", response_model=Page[CompetitionPublic], responses=responses(422))
def list_competitions(
    catalog: CatalogDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[CompetitionPublic]:
    """List built-in and registered competitions."""
    entries = catalog.entries()
    items = [_summary(e) for e in entries[offset : offset + limit]]
    return Page[CompetitionPublic](items=items, total=len(entries), limit=limit, offset=offset)


@router.post("", status_code=201, response_model=CompetitionPublic, responses=responses(400, 413, 422))
def register_competition(body: CompetitionCreate, response: Response, catalog: CatalogDep) -> CompetitionPublic:
    """Register a competition folder on the server (shared format or MLE-bench layout) by reference."""
    if "\x00" in body.path or not Path(body.path).is_absolute():
        raise ApiError(422, "invalid_path", "the path must be an absolute path on the server")
    try:
        entry = catalog.register(Path(body.path))
    except UserInputError as exc:
        raise ApiError(422, "invalid_competition", exc.message, hint=exc.hint) from None
    except (OSError, ValueError):
        raise ApiError(422, "invalid_path", "the folder cannot be read") from None
    response.headers["Location"] = f"/api/competitions/{entry.slug}"
    return _summary(entry)


@router.get("/{competition_id}", response_model=CompetitionPublic, responses=responses(404, 422))
def get_competition(competition_id: CompetitionId, catalog: CatalogDep) -> CompetitionPublic:
    """Read one competition."""
    return _summary(_find(catalog, competition_id))


@router.get("/{competition_id}/leaderboard", response_model=LeaderboardPublic, responses=responses(404, 422))
def get_leaderboard(competition_id: CompetitionId, catalog: CatalogDep) -> LeaderboardPublic:
    """The competition's leaderboard scores, best first (the dashboard's score distribution)."""
    from agentk.bench import read_leaderboard

    entry = _find(catalog, competition_id)
    if not entry.leaderboards:
        raise ApiError(404, "not_found", f"competition {competition_id!r} has no leaderboard")
    path = entry.leaderboards[0]
    higher: bool | None
    try:
        higher = entry.metric()[1]
    except UserInputError:
        higher = None  # read_leaderboard infers the direction from the file's order
    board = read_leaderboard(path, higher_is_better=higher)
    return LeaderboardPublic(
        name=path.stem,
        higher_is_better=board.higher_is_better,
        teams=board.teams,
        scores=[float(s) for s in board.scores if s == s and abs(s) != float("inf")],
    )
