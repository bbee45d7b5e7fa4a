"""Knowledge distillation: a run's teacher ensemble -> a small, fast student with its preprocessing.

Public API::

    student = distil(teacher, train_frame, y, budget_s=120, latency_budget_ms=5)
    student.save(path); student = load_student(path); student.predict_frame(raw_frame)
    report = distil_for_run(workdir, chosen, task, codec, train, budget_s=60, min_speedup=20)  # in a run

See ``docs/distill.md``.
"""

from __future__ import annotations

from agentk.distill._augment import disagreement, perturb
from agentk.distill._distil import (
    DEFAULT_STUDENTS,
    STUDENT_FILE,
    STUDENT_FORMAT,
    DistilledStudent,
    distil,
    fit_student,
    is_student_file,
    load_student,
    measure_latency_ms,
)
from agentk.distill._encoding import StudentEncoder
from agentk.distill._run import STUDENT_ONNX, STUDENT_REPORT, StudentReport, distil_for_run
from agentk.distill._students import SPECS, StudentClassifier, StudentRegressor, StudentSpec
from agentk.distill._targets import soft_targets, soften

__all__ = [
    "DEFAULT_STUDENTS",
    "SPECS",
    "STUDENT_FILE",
    "STUDENT_FORMAT",
    "STUDENT_ONNX",
    "STUDENT_REPORT",
    "DistilledStudent",
    "StudentClassifier",
    "StudentEncoder",
    "StudentRegressor",
    "StudentReport",
    "StudentSpec",
    "disagreement",
    "distil",
    "distil_for_run",
    "fit_student",
    "is_student_file",
    "load_student",
    "measure_latency_ms",
    "perturb",
    "soft_targets",
    "soften",
]
