"""Runs: queue one, list them, read one, cancel one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Response

from agentk.api.deps import CatalogDep, RunDep, SettingsDep, StoreDep
from agentk.api.errors import ApiError, responses
from agentk.api.schemas import Page, RunCreate, RunPublic
from agentk.errors import CompetitionNotFoundError, UserInputError
from agentk.runs import EventJournal, RunState

router = APIRouter(prefix="/api/runs", tags=["runs"], responses=responses(401))


@router.post(
    "",
    status_code=202,
    response_model=RunPublic,
    responses=responses(400, 413, 422),
    response_description="The run, QUEUED; its URL is in the Location header.",
)
def create_run(
    body: RunCreate, response: Response, settings: SettingsDep, store: StoreDep, catalog: CatalogDep
) -> RunPublic:
    """Queue a run on a competition (built-in name, registered id or Kaggle URL)."""
    from agentk.agent.runner import create_run as record_run

    try:
        kind, _ = catalog.check(body.competition)
    except CompetitionNotFoundError as exc:
        raise ApiError(422, "unknown_competition", exc.message, hint=exc.hint) from None
    except UserInputError as exc:
        raise ApiError(422, "invalid_competition", exc.message, hint=exc.hint) from None
    except (OSError, ValueError):
        raise ApiError(422, "invalid_competition", "the competition reference is not usable") from None
    if kind == "folder":
        raise ApiError(
            422,
            "invalid_competition",
            "the API does not run folders by path",
            hint="register the folder with POST /api/competitions and pass its id",
        )
    overrides = body.overrides.model_dump(mode="json", exclude_none=True) if body.overrides else None
    run_id = record_run(
        body.competition, budget=body.budget, folds=body.folds, seed=body.seed, overrides=overrides, settings=settings
    )
    record = store.get(run_id)
    response.headers["Location"] = f"/api/runs/{run_id}"
    return RunPublic.of(record)


@router.get("", response_model=Page[RunPublic], responses=responses(422))
def list_runs(
    store: StoreDep,
    state: Annotated[RunState | None, Query(description="Only runs in this state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[RunPublic]:
    """List runs, newest first, optionally in one state."""
    items = [RunPublic.of(r) for r in store.list(state=state, limit=limit, offset=offset)]
    return Page[RunPublic](items=items, total=store.count(state=state), limit=limit, offset=offset)


@router.get("/{run_id}", response_model=RunPublic, responses=responses(404, 422))
def get_run(run: RunDep) -> RunPublic:
    """Read one run: state, scores and placement."""
    return RunPublic.of(run)


@router.post("/{run_id}/cancel", status_code=202, response_model=RunPublic, responses=responses(404, 409, 422))
def cancel_run(run: RunDep, store: StoreDep) -> RunPublic:
    """Cancel a run: a queued run at once, a running one within seconds."""
    if run.state not in (RunState.QUEUED, RunState.RUNNING):
        raise ApiError(409, "conflict", f"run {run.id} is {run.state} and cannot be cancelled")
    record = store.request_cancel(run.id)
    if record.state == RunState.CANCELLED and run.state == RunState.QUEUED:
        EventJournal(Path(record.out_dir) / "events.jsonl").append(
            "run", f"run {run.id} cancelled before it started", state=RunState.CANCELLED.value
        )
    return RunPublic.of(record)
