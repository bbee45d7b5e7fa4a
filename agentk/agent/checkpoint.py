"""The loop's state and its checkpoint on disk: a killed run resumes from its last finished step.

After every step the orchestrator writes ``checkpoint/state.json`` (the :class:`LoopState`, small) and, when
the pool of cross-validated models changed, ``checkpoint/pool.joblib`` (predictions and fitted models).
Both are replaced atomically, the pool before the state, so a state on disk never names a model that the
pool on disk lacks. Columns added by code actions go to ``checkpoint/code_features.csv``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import joblib
import pandas as pd

from agentk.agent.model_io import dump_pickle
from agentk.tools.cv import CVResult

STATE_FILE = "state.json"
POOL_FILE = "pool.joblib"
CODE_FEATURES_FILE = "code_features.csv"
STATE_VERSION = 1


@dataclass
class LoopState:
    """Everything the loop needs to go on after a restart, JSON-serialisable.

    Attributes:
        phase: ``setup``, ``optimise`` or ``finalise``.
        step: steps finished so far (the next step's number is ``step + 1``).
        elapsed: seconds the run has spent, over all the processes that ran it, at the last checkpoint.
        history: finished steps, oldest first: ``{"step", "action", "args", "ok", "seconds", "observation"}``.
        notes: texts of the intrinsic functions: ``{"kind", "step", "text"}``.
        last_observation: what the last step observed (text).
        task: the inferred task (:meth:`TaskSpec.to_dict`) once ``infer_task`` passed its checks.
        features: feature-engineering choices applied to models trained from now on.
        code_columns: columns added by code actions (their values are in ``code_features.csv``).
        setup_failures: failed setup attempts so far.
        chosen: model chosen for the submission by a ``predict`` action (None: the best by CV).
        submission: the written submission (``{"model", "cv_score", "path", "threshold"}``) once finalised.
        stopped: why the loop stopped, once it has.
        memories: long-term memory records recalled at the start (for the reasoner).
        resumes: how many times the run was resumed.
        decisions: decisions made so far by source (``llm``, ``policy``, ``fallback``).
        tokens: LLM tokens spent so far (``in``, ``out``), over all resumes.
    """

    phase: str = "setup"
    step: int = 0
    elapsed: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    last_observation: str = ""
    task: dict[str, Any] | None = None
    features: dict[str, Any] = field(default_factory=dict)
    code_columns: list[str] = field(default_factory=list)
    setup_failures: int = 0
    chosen: str | None = None
    submission: dict[str, Any] | None = None
    stopped: str | None = None
    memories: list[dict[str, Any]] = field(default_factory=list)
    resumes: int = 0
    decisions: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"version": STATE_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LoopState:
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def done_actions(self) -> list[str]:
        return [str(h["action"]) for h in self.history if h.get("ok", True)]


class Checkpoint:
    """The checkpoint folder of one run."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def exists(self) -> bool:
        return (self.folder / STATE_FILE).is_file()

    def save(self, state: LoopState, pool: list[CVResult] | None = None) -> None:
        """Write the pool (when given) and then the state, each atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if pool is not None:
            tmp = self.folder / (POOL_FILE + ".tmp")
            dump_pickle(pool, tmp)
            _fsync_replace(tmp, self.folder / POOL_FILE)
        tmp = self.folder / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(state.to_dict(), default=str), encoding="utf-8")
        _fsync_replace(tmp, self.folder / STATE_FILE)

    def load(self) -> tuple[LoopState, list[CVResult]]:
        state = LoopState.from_dict(json.loads((self.folder / STATE_FILE).read_text(encoding="utf-8")))
        pool_path = self.folder / POOL_FILE
        pool: list[CVResult] = list(joblib.load(pool_path)) if pool_path.is_file() else []
        return state, pool

    def save_code_features(self, frame: pd.DataFrame) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / (CODE_FEATURES_FILE + ".tmp")
        frame.to_csv(tmp, index=False)
        _fsync_replace(tmp, self.folder / CODE_FEATURES_FILE)

    def load_code_features(self) -> pd.DataFrame | None:
        path = self.folder / CODE_FEATURES_FILE
        return pd.read_csv(path) if path.is_file() else None


def _fsync_replace(tmp: Path, dest: Path) -> None:
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, dest)
