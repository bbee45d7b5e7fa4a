"""What a competition is, seen from the agent, and the task the agent infers from it.

Two objects with different audiences:

* :class:`Competition` is what the agent is handed. Its files live in the run's own input folder (a copy of
  the public files), so nothing reachable from it leads to the answers.
* :class:`~agentk.competitions.catalog.CompetitionEntry` is the catalogue's record of where a competition
  lives, answers included. Only the runner and the grader touch it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any


class TaskType(StrEnum):
    """What kind of prediction a competition asks for."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    MULTILABEL = "multilabel"
    REGRESSION = "regression"
    MULTI_REGRESSION = "multi_regression"
    ORDINAL = "ordinal"

    @property
    def is_classification(self) -> bool:
        return self in (TaskType.BINARY, TaskType.MULTICLASS, TaskType.MULTILABEL, TaskType.ORDINAL)

    @property
    def is_multi_output(self) -> bool:
        """One prediction column per target column (multi-label, multi-target regression)."""
        return self in (TaskType.MULTILABEL, TaskType.MULTI_REGRESSION)


class Modality(StrEnum):
    """How an input column should be read."""

    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    DATETIME = "datetime"
    TEXT = "text"
    IMAGE_PATH = "image_path"
    ID = "id"


@dataclass(frozen=True)
class Competition:
    """A competition as the agent sees it: public files only.

    Attributes:
        slug: short name, e.g. ``titanic``.
        title: human title.
        description: the competition's description text (markdown).
        metric: canonical metric name (see :mod:`agentk.competitions.metrics`).
        higher_is_better: direction of the metric.
        input_dir: folder holding the public files (a copy made for this run).
        train: path of the training table.
        test: path of the test table.
        sample_submission: path of the sample submission.
        source: where it came from: ``local``, ``builtin``, ``kaggle`` or ``mlebench``.
        overrides: task hints from ``competition.yaml`` or the command line (``target``, ``id_column``,
            ``task_type``, ``columns``).
        daily_submission_limit: Kaggle's limit, when known.
        deadline: ISO date of the deadline, when known.
    """

    slug: str
    title: str
    description: str
    metric: str
    higher_is_better: bool
    input_dir: Path
    train: Path
    test: Path
    sample_submission: Path
    source: str = "local"
    overrides: dict[str, Any] = field(default_factory=dict)
    daily_submission_limit: int | None = None
    deadline: str | None = None

    def public_files(self) -> list[Path]:
        """Every file the agent may read."""
        return sorted(p for p in self.input_dir.rglob("*") if p.is_file())


@dataclass(frozen=True)
class TaskSpec:
    """What the agent inferred (or was told) about the task.

    Attributes:
        task_type: the kind of prediction.
        id_column: the id column shared by test.csv and the sample submission.
        target_columns: target column(s) in train.csv.
        submission_columns: the sample submission's columns other than the id, in order.
        classes: class labels for classification targets, sorted; empty for regression.
        columns: modality of each input column of train.csv (targets and id excluded).
        metric: canonical metric name.
        higher_is_better: direction of the metric.
        proba_columns: True when the submission wants one probability column per class.
        image_root: the folder that relative paths in image columns are read under (the competition's input
            folder and its sub-folders); None where there are no image columns.
    """

    task_type: TaskType
    id_column: str
    target_columns: tuple[str, ...]
    submission_columns: tuple[str, ...]
    classes: tuple[Any, ...]
    columns: dict[str, Modality]
    metric: str
    higher_is_better: bool
    proba_columns: bool = False
    image_root: str | None = None

    @property
    def target(self) -> str:
        """The single target column (multi-target tasks use ``target_columns``)."""
        return self.target_columns[0]

    @property
    def target_key(self) -> str | list[str]:
        """What selects the target from train: ``train[task.target_key]`` is a Series for a single target and a
        DataFrame (columns in ``target_columns`` order) for a multi-output task."""
        return list(self.target_columns) if self.task_type.is_multi_output else self.target

    def columns_of(self, modality: Modality) -> list[str]:
        return [c for c, m in self.columns.items() if m is modality]

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TaskSpec:
        """The inverse of :meth:`to_dict`."""
        return cls(
            task_type=TaskType(raw["task_type"]),
            id_column=raw["id_column"],
            target_columns=tuple(raw["target_columns"]),
            submission_columns=tuple(raw["submission_columns"]),
            classes=tuple(raw["classes"]),
            columns={c: Modality(m) for c, m in raw["columns"].items()},
            metric=raw["metric"],
            higher_is_better=raw["higher_is_better"],
            proba_columns=raw["proba_columns"],
            image_root=raw.get("image_root"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "task_type": self.task_type.value,
            "id_column": self.id_column,
            "target_columns": list(self.target_columns),
            "submission_columns": list(self.submission_columns),
            "classes": [c.item() if hasattr(c, "item") else c for c in self.classes],
            "columns": {c: m.value for c, m in self.columns.items()},
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "proba_columns": self.proba_columns,
            "image_root": self.image_root,
        }
