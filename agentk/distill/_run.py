"""Distillation inside a run: the one call the orchestrator's finalise makes when the run has a budget.

:func:`distil_for_run` turns the run's chosen teacher (a :class:`~agentk.tools.cv.CVResult` with its
predictor and out-of-fold predictions) into a student that fits the run's latency or size budget, writes it
beside the run's model (``student.joblib``, ``student.onnx``, ``student.json``) and returns a
:class:`StudentReport` for the journal. It never raises for a distillation that cannot be done: the run's
submission does not depend on it, so a failure is reported and the run goes on.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from agentk.distill._distil import DEFAULT_STUDENTS, STUDENT_FILE, distil, measure_latency_ms
from agentk.distill._students import SPECS

if TYPE_CHECKING:
    from agentk.competitions import TaskSpec
    from agentk.tools.cv import CVResult
    from agentk.tools.target import TargetCodec

STUDENT_ONNX = "student.onnx"
STUDENT_REPORT = "student.json"
_MIN_BUDGET_S = 5.0


class Journal(Protocol):
    """What :func:`distil_for_run` writes progress to (a run's :class:`~agentk.runs.events.EventJournal`)."""

    def append(self, type: str, message: str, *, phase: str | None = None, **data: Any) -> Any: ...


@dataclass
class StudentReport:
    """What a run's distillation produced (``path`` is None when no student was kept).

    Attributes:
        student: the chosen architecture (``lightgbm-small``, ``mlp-small``, ...).
        path: the student file (``workdir/student.joblib``), servable by ``agentk predict`` and the API.
        onnx_path: the exported model graph, or None where the export failed or onnx is not installed.
        cv_score: the student's CV score with the chosen targets (the competition's metric, true labels).
        teacher_cv_score: the teacher's out-of-fold score, for comparison.
        latency_ms: the student's milliseconds per 1,000 raw rows (raw frame to predictions).
        teacher_latency_ms: the teacher's, measured the same way.
        size_kb: what the student needs to serve (encoder + ONNX graph).
        fits_budget: whether the student met ``latency_budget_ms`` / ``size_budget_kb``.
        details: the full distillation report (tuning, candidates, augmentation).
    """

    student: str
    path: Path | None
    onnx_path: Path | None
    cv_score: float | None
    teacher_cv_score: float | None
    latency_ms: float
    teacher_latency_ms: float | None
    size_kb: float
    fits_budget: bool
    latency_budget_ms: float | None
    size_budget_kb: float | None
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields (paths as strings)."""
        out = asdict(self)
        out["path"] = str(self.path) if self.path else None
        out["onnx_path"] = str(self.onnx_path) if self.onnx_path else None
        return {k: _jsonable(v) for k, v in out.items()}

    @property
    def summary(self) -> str:
        """One line for the journal."""
        speed = (
            f", {self.teacher_latency_ms / self.latency_ms:.0f}x faster than the teacher"
            if self.teacher_latency_ms and self.latency_ms > 0
            else ""
        )
        cv = f"CV {self.cv_score:.5f} (teacher {self.teacher_cv_score:.5f})" if self.cv_score is not None else "no CV"
        over = "" if self.fits_budget else " (over budget: the fastest candidate was kept)"
        return (
            f"student {self.student}: {cv}, {self.latency_ms:.1f} ms / 1,000 rows{speed}, {self.size_kb:.0f} KB{over}"
        )


def distil_for_run(
    workdir: Path,
    teacher: CVResult,
    task: TaskSpec,
    codec: TargetCodec,
    train: pd.DataFrame,
    *,
    budget_s: float,
    latency_budget_ms: float | None = None,
    size_budget_kb: float | None = None,
    min_speedup: float | None = None,
    students: Sequence[str] | None = None,
    seed: int = 0,
    journal: Journal | None = None,
    folds: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> StudentReport | None:
    """Distil the run's chosen model into a student that fits the budget and save it beside the model.

    Nothing is done (None is returned) when the run set no budget (``latency_budget_ms``, ``size_budget_kb``
    and ``min_speedup`` all None), the teacher kept no predictor, its out-of-fold predictions are incomplete,
    or less than a few seconds are left. A distillation that fails is journalled as a warning and returns None.

    Args:
        workdir: the run directory (where ``model.joblib`` is); the student goes to ``workdir/student.joblib``.
        teacher: the chosen result; its ``oof`` are the soft targets of the training rows, its ``predictor``
            labels the synthetic rows.
        task: the run's task.
        codec: the run's target codec (with its tuned threshold).
        train: the training rows the teacher was fit on, in the order of ``teacher.oof`` (rows with a target).
        budget_s: wall-clock seconds for the distillation.
        latency_budget_ms: most milliseconds per 1,000 raw rows the student may take.
        size_budget_kb: most kilobytes the served student may take.
        min_speedup: the student must be this many times faster than the teacher (measured here); combined
            with ``latency_budget_ms`` the tighter one holds.
        students: candidate students: names (``lightgbm-small``) or families (``lightgbm``, ``mlp``, ``linear``);
            default :data:`~agentk.distill.DEFAULT_STUDENTS`.
        seed: random seed.
        journal: the run's event journal (progress ``log`` events and one ``student`` event).
        folds: the run's CV folds, so that distillation checks can use the teacher fold model that never saw
            their rows (see ``agentk.distill._folds``).

    Returns:
        The report (also written to ``workdir/student.json``), or None when no student was made.
    """
    if latency_budget_ms is None and size_budget_kb is None and min_speedup is None:
        return None
    candidates = _candidates(students)
    skip = _why_not(teacher, train, budget_s) or (None if candidates else f"no student matches {list(students or [])}")
    if skip is not None:
        _append(journal, "skip", f"distillation skipped: {skip}")
        return None
    from agentk.agent.model_io import SavedModel  # agentk.agent imports this package: import on use

    assert teacher.predictor is not None  # _why_not checked it
    t0 = time.monotonic()
    stored_folds = [va for _, va in folds] if folds is not None else None
    saved = SavedModel(teacher.predictor, task, codec, teacher.name, teacher.oof, stored_folds, teacher.view_oof)
    train = train.reset_index(drop=True)
    y = train[task.target]
    try:
        teacher_ms: float | None = None
        if min_speedup is not None:
            teacher_ms = measure_latency_ms(teacher.predictor.predict, train, repeats=3)
            by_speed = teacher_ms / max(min_speedup, 1e-9)
            latency_budget_ms = by_speed if latency_budget_ms is None else min(latency_budget_ms, by_speed)
        _append(journal, "phase", f"distillation: {budget_s:.0f}s for a student", data={"budget_s": budget_s})
        student = distil(
            saved,
            train,
            y,
            budget_s=max(budget_s - (time.monotonic() - t0), _MIN_BUDGET_S),
            latency_budget_ms=latency_budget_ms,
            size_budget_kb=size_budget_kb,
            students=candidates,
            seed=seed,
            log=(lambda m: _append(journal, "log", f"distil: {m}")),
        )
        path = student.save(Path(workdir) / STUDENT_FILE)
        onnx_path = student.export_onnx(Path(workdir) / STUDENT_ONNX) if student.onnx is not None else None
    except Exception as exc:  # the submission is written already: a failed student is a warning, not a failed run
        _append(journal, "warning", f"distillation failed: {type(exc).__name__}: {str(exc)[:500]}")
        return None
    details = student.report
    chosen = details["candidates"].get(details["student"], {})
    report = StudentReport(
        student=str(details["student"]),
        path=path,
        onnx_path=onnx_path,
        cv_score=details.get("cv_score"),
        teacher_cv_score=details.get("teacher_oof_score"),
        latency_ms=float(details["latency_ms"]),
        teacher_latency_ms=teacher_ms,
        size_kb=float(details["size_kb"]),
        fits_budget=bool(chosen.get("fits_budget", False)),
        latency_budget_ms=latency_budget_ms,
        size_budget_kb=size_budget_kb,
        seconds=time.monotonic() - t0,
        details=details,
    )
    _write_json(Path(workdir) / STUDENT_REPORT, report.to_dict())
    _append(journal, "student", report.summary, data={k: v for k, v in report.to_dict().items() if k != "details"})
    return report


def _candidates(students: Sequence[str] | None) -> tuple[str, ...]:
    if not students:
        return DEFAULT_STUDENTS
    known = [spec.name for spec in SPECS]
    default_first = [*DEFAULT_STUDENTS, *(n for n in known if n not in DEFAULT_STUDENTS)]
    return tuple(n for n in default_first if any(n == s or n.split("-")[0] == s for s in students))


def _why_not(teacher: CVResult, train: pd.DataFrame, budget_s: float) -> str | None:
    if teacher.predictor is None:
        return f"{teacher.name} kept no predictor"
    if not teacher.complete:
        return f"{teacher.name} has out-of-fold predictions for some folds only"
    if len(teacher.oof) != len(train):
        return f"{teacher.name} has {len(teacher.oof)} out-of-fold rows, the training data {len(train)}"
    if budget_s < _MIN_BUDGET_S:
        return f"{budget_s:.1f}s left"
    return None


def _append(journal: Journal | None, type: str, message: str, data: dict[str, Any] | None = None) -> None:
    if journal is not None:
        journal.append(type, message, phase="finalise", **(data or {}))


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    """Numbers, strings and containers of them; numpy scalars become Python numbers, NaN becomes None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
