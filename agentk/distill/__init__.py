"""Knowledge distillation: a run's teacher ensemble -> a small, fast student with its preprocessing.

Public API::

    student = distil(teacher, train_frame, y, budget_s=120, latency_budget_ms=5)
    student.save(path); student = load_student(path); student.predict_frame(raw_frame)

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
from agentk.distill._students import SPECS, StudentClassifier, StudentRegressor, StudentSpec
from agentk.distill._targets import soft_targets, soften

__all__ = [
    "DEFAULT_STUDENTS",
    "SPECS",
    "STUDENT_FILE",
    "STUDENT_FORMAT",
    "DistilledStudent",
    "StudentClassifier",
    "StudentEncoder",
    "StudentRegressor",
    "StudentSpec",
    "disagreement",
    "distil",
    "fit_student",
    "is_student_file",
    "load_student",
    "measure_latency_ms",
    "perturb",
    "soft_targets",
    "soften",
]
