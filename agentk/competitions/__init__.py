"""Where tasks come from and where answers go: competitions, task inference, metrics, grading."""

from __future__ import annotations

from agentk.competitions._model import Competition, Modality, TaskSpec, TaskType
from agentk.competitions.catalog import Catalog, CompetitionEntry, load_folder
from agentk.competitions.task import infer_task

__all__ = [
    "Catalog",
    "Competition",
    "CompetitionEntry",
    "Modality",
    "TaskSpec",
    "TaskType",
    "infer_task",
    "load_folder",
]
