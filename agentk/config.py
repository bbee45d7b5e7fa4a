"""Settings in one place: every knob has an ``AGENTK_`` environment variable.

Secrets are ``SecretStr`` so they never print; code passes ``settings.api_token.get_secret_value()`` only
to the one place that needs the raw value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from agentk.cpu import free_cores


def _default_home() -> Path:
    return Path.home() / ".agentk"


class Settings(BaseSettings):
    """AgentK's configuration, read from ``AGENTK_*`` environment variables (and an optional ``.env``)."""

    model_config = SettingsConfigDict(env_prefix="AGENTK_", env_file=".env", extra="ignore")

    home: Path = Field(default_factory=_default_home, description="Where runs, the database and caches live.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL of the run store; default: SQLite file under AGENTK_HOME."
    )
    memory_url: str | None = Field(
        default=None, description="memory_store location (path or SQLAlchemy URL); default: AGENTK_HOME/memory.db."
    )
    learn: bool = Field(default=True, description="Learn across runs: recall and store configurations in memory.")
    runs_dir: Path | None = Field(default=None, description="Run directories; default: AGENTK_HOME/runs.")
    budget: float = Field(default=600.0, gt=0, description="Default wall-clock budget of a run, in seconds.")
    folds: int = Field(default=5, ge=2, le=20, description="Cross-validation folds.")
    seed: int = Field(default=42, description="Random seed for splits and models.")
    search_trials: int | None = Field(
        default=None, ge=0, description="Most Optuna trials per run (0 = no search; default: until the budget)."
    )
    sampler: Literal["tpe", "gp", "random"] = Field(default="tpe", description="Optuna sampler of the search.")
    device: Literal["auto", "cpu", "cuda"] = Field(default="auto", description="Where models train.")
    n_jobs: int = Field(default=0, ge=0, description="Threads per model; 0 = the cores not already busy.")
    log_level: str = Field(default="INFO")
    api_token: SecretStr | None = Field(default=None, description="Bearer token of the REST API.")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call the API from a browser (comma-separated)."
    )
    max_request_bytes: int = Field(default=1_048_576, ge=1024, description="Largest request body the API accepts.")
    sse_keepalive: float = Field(default=15.0, gt=0, description="Seconds between keep-alive comments on SSE.")
    workers: int = Field(default=1, ge=0, le=64, description="Local worker processes executing queued runs.")
    heartbeat_interval: float = Field(default=1.0, gt=0, description="Seconds between a worker's heartbeats.")
    heartbeat_timeout: float = Field(
        default=30.0, gt=0, description="A RUNNING run silent for this long is CRASHED and requeued."
    )
    max_attempts: int = Field(default=3, ge=1, description="Times a run is started before a crash is final.")
    student_latency_ms: float | None = Field(
        default=None, gt=0, description="Distil a student serving 1,000 rows in at most this many ms (None: no budget)."
    )
    student_size_kb: float | None = Field(
        default=None, gt=0, description="Distil a student of at most this many KB (None: no budget)."
    )
    student_min_speedup: float | None = Field(
        default=None, gt=0, description="Distil a student at least this many times faster than the run's model."
    )
    # The orchestrator's reasoner and budgets (see docs/reasoners.md).
    llm: str | None = Field(
        default=None,
        description="Chat model that decides the run's actions: openai:MODEL, anthropic:MODEL, ollama:MODEL or "
        "local:PATH.gguf; default: the offline policy.",
    )
    max_steps: int = Field(default=40, ge=1, le=10_000, description="Most steps (decisions) of a run's loop.")
    llm_token_budget: int | None = Field(
        default=None, ge=1, description="Most LLM tokens (prompt + completion) per run; default: no limit."
    )
    llm_timeout: float = Field(default=120.0, gt=0, description="Seconds one LLM call may take.")
    # Scale-out (see docs/cluster.md): where runs execute and where their searches keep their trials.
    executor: Literal["local", "ray"] = Field(
        default="local", description="Who executes queued runs: local worker processes or a Ray cluster."
    )
    ray_address: str | None = Field(
        default=None, description="Ray cluster to join (host:port or ray://...); default: RAY_ADDRESS, else 'auto'."
    )
    ray_run_cpus: float = Field(default=1.0, gt=0, description="CPUs a run's Ray task requests.")
    ray_run_gpus: float = Field(default=0.0, ge=0, description="GPUs a run's Ray task requests.")
    ray_trial_cpus: float = Field(default=1.0, gt=0, description="CPUs each Ray task of a run's search requests.")
    ray_trial_gpus: float = Field(default=0.0, ge=0, description="GPUs each Ray task of a run's search requests.")
    ray_trial_workers: int = Field(
        default=0, ge=0, le=256, description="Ray tasks helping each search (0 = one per alive node)."
    )
    ray_max_runs: int = Field(
        default=0, ge=0, description="Most runs in flight on Ray (0 = cluster CPUs / (run CPUs + trial CPUs))."
    )
    study_storage: str | None = Field(
        default=None,
        description="Optuna storage URL of the searches; default: the run database when it is PostgreSQL, "
        "else in memory.",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)  # a JSON list, as pydantic-settings would read it
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def threads(self) -> int:
        """Threads per model. OpenMP libraries (LightGBM) slow down many-fold when oversubscribed, so the
        default takes only the cores free now (:func:`agentk.cpu.free_cores`)."""
        if self.n_jobs > 0:
            return self.n_jobs
        return free_cores()

    @property
    def resolved_runs_dir(self) -> Path:
        return self.runs_dir if self.runs_dir is not None else self.home / "runs"

    @property
    def competitions_dir(self) -> Path:
        """Registered (imported, downloaded, built-in) competitions."""
        return self.home / "competitions"

    @property
    def resolved_memory_url(self) -> str:
        if self.memory_url:
            return self.memory_url
        if self.shared_database:
            return self.resolved_database_url  # a cluster keeps memory beside the runs, in PostgreSQL
        return str(self.home / "memory.db")

    @property
    def shared_database(self) -> bool:
        """Whether the run database is a server every node can reach (PostgreSQL), not a local file."""
        return self.resolved_database_url.startswith(("postgresql", "postgres://"))

    @property
    def resolved_study_storage(self) -> str | None:
        """Optuna storage of the searches: shared with the runs on PostgreSQL, so trials can spread over nodes."""
        if self.study_storage:
            return self.study_storage
        return self.resolved_database_url if self.shared_database else None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'agentk.db'}"


def get_settings() -> Settings:
    """Settings read from the environment now (cheap; tests and workers change the environment)."""
    return Settings()
