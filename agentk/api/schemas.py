"""Request (``*Create``) and response (``*Public``) models of the REST API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from agentk.competitions import TaskType
from agentk.runs import RunRecord, RunState

T = TypeVar("T")

MAX_BUDGET = 7 * 24 * 3600.0


class Page(BaseModel, Generic[T]):
    """One page of a listing."""

    items: list[T]
    total: int = Field(description="Items matching the filter, on every page.")
    limit: int
    offset: int


class RunOverrides(BaseModel):
    """What the agent should not infer: the target and id columns, the task type, the metric."""

    model_config = ConfigDict(extra="forbid")

    target: str | None = Field(default=None, min_length=1, max_length=200)
    id_column: str | None = Field(default=None, min_length=1, max_length=200)
    task_type: TaskType | None = None
    metric: str | None = Field(default=None, min_length=1, max_length=100, description="A metric registry name.")


class RunCreate(BaseModel):
    """A run to queue."""

    model_config = ConfigDict(extra="forbid")

    competition: str = Field(
        min_length=1,
        max_length=500,
        description="A built-in name, a registered competition id, or a Kaggle competition URL or slug.",
        examples=["churn"],
    )
    budget: float | None = Field(
        default=None, gt=0, le=MAX_BUDGET, description="Wall-clock budget in seconds (default: AGENTK_BUDGET)."
    )
    folds: int | None = Field(default=None, ge=2, le=20, description="Cross-validation folds.")
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1, description="Random seed.")
    reasoner: Literal["policy"] = Field(
        default="policy", description="How the agent decides; 'policy' (no LLM) is the only one available yet."
    )
    overrides: RunOverrides | None = None


class RunPublic(BaseModel):
    """A run as the API shows it."""

    id: str
    competition: str
    state: RunState
    budget: float
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    cv_score: float | None
    test_score: float | None
    rank: int | None
    teams: int | None
    beats_pct: float | None = Field(description="Percentage of leaderboard teams the submission beats.")
    medal: str | None
    error: str | None
    attempts: int = Field(description="Times the run has been started (a crash and requeue adds one).")
    cancel_requested: bool
    options: dict[str, Any]

    @field_validator("created_at", "started_at", "finished_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands back naive datetimes; every time the store writes is UTC.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

    @classmethod
    def of(cls, record: RunRecord) -> RunPublic:
        data = record.to_dict()
        return cls(**{k: v for k, v in data.items() if k in cls.model_fields})


class CompetitionCreate(BaseModel):
    """A competition folder on the server to register (read in place, not copied)."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(min_length=1, max_length=4096, description="Absolute path of the folder on the server.")


class CompetitionPublic(BaseModel):
    """A competition the agent can run on."""

    id: str = Field(description="The slug: pass it as `competition` when creating a run.")
    title: str
    source: str = Field(description="builtin, local, mlebench or kaggle.")
    metric: str | None
    has_answers: bool = Field(description="Whether runs are graded locally (a score and a placement).")
    leaderboards: list[str]

    @classmethod
    def of(cls, summary: dict[str, Any]) -> CompetitionPublic:
        return cls(
            id=summary["slug"],
            title=summary["title"],
            source=summary["source"],
            metric=summary["metric"],
            has_answers=summary["has_answers"],
            leaderboards=list(summary["leaderboards"]),
        )


class LeaderboardPublic(BaseModel):
    """The human (or reference) scores of a competition's leaderboard, best first."""

    name: str
    higher_is_better: bool
    teams: int
    scores: list[float]


class ArtifactPublic(BaseModel):
    """A file a run wrote."""

    path: str = Field(description="Relative to the run folder; fetch it at /api/runs/{id}/artifacts/{path}.")
    size: int
    modified: datetime


class HealthPublic(BaseModel):
    """Liveness or readiness."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
