"""Validate a submission, score it against the answers, place the score on the leaderboards.

:func:`validate_submission` needs only the public sample submission, so the agent uses it too (before it
writes its final file). :func:`score_submission` and :class:`Grader` read the answers and are called once,
after the run has chosen its final submission.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from agentk.competitions._csv import read_table
from agentk.competitions.metrics import Metric, get_metric
from agentk.errors import DataFormatError, SubmissionError

_NUMERIC_INPUTS = {"value", "proba", "multi_proba", "multi_value"}
_SHOW = 5


def _examples(values: Any) -> str:
    items = [str(v) for v in list(values)[:_SHOW]]
    more = len(values) - len(items)
    return ", ".join(items) + (f" (and {more} more)" if more > 0 else "")


def _key(series: pd.Series) -> pd.Series:
    """Ids compared as text, so 892 and "892" match but 892 and "892.0" do not silently collide."""
    if pd.api.types.is_float_dtype(series) and bool((series.dropna() % 1 == 0).all()):
        series = series.astype("Int64")
    return series.astype(str)


def validate_submission(submission: pd.DataFrame, sample: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """Check a submission against the sample submission and return it ordered like the sample.

    Raises:
        SubmissionError: with every problem found, each in a sentence (columns, ids, rows, values).
    """
    problems: list[str] = []
    id_column = str(sample.columns[0])
    expected = [str(c) for c in sample.columns]
    columns = [str(c) for c in submission.columns]
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing:
        problems.append(f"missing column(s): {_examples(missing)}")
    if extra:
        problems.append(f"unexpected column(s): {_examples(extra)}")
    if missing:
        raise SubmissionError("submission rejected: " + "; ".join(problems), hint=f"expected columns {expected}")
    if len(submission) != len(sample):
        problems.append(f"{len(submission)} rows, expected {len(sample)}")
    ids = _key(submission[id_column])
    dupes = ids[ids.duplicated()].unique()
    if len(dupes):
        problems.append(f"{len(dupes)} duplicated id(s): {_examples(dupes)}")
    wanted = _key(sample[id_column])
    unknown = sorted(set(ids) - set(wanted))
    absent = sorted(set(wanted) - set(ids))
    if unknown:
        problems.append(f"{len(unknown)} id(s) not in the test set: {_examples(unknown)}")
    if absent:
        problems.append(f"{len(absent)} test id(s) have no prediction: {_examples(absent)}")
    for column in expected[1:]:
        values = submission[column]
        if values.isna().any():
            bad = ids[values.isna().to_numpy()]
            problems.append(
                f"column {column!r} has {int(values.isna().sum())} empty/NaN value(s), ids {_examples(bad)}"
            )
            continue
        if metric.input in _NUMERIC_INPUTS:
            numeric = pd.to_numeric(values, errors="coerce")
            if numeric.isna().any():
                bad_values = values[numeric.isna()].unique()
                problems.append(f"column {column!r} must be numeric; got {_examples(bad_values)}")
                continue
            if not np.isfinite(numeric.to_numpy(dtype=float)).all():
                problems.append(f"column {column!r} has infinite value(s)")
                continue
            if metric.input in ("proba", "multi_proba") and ((numeric < 0) | (numeric > 1)).any():
                problems.append(f"column {column!r} must hold probabilities in [0, 1] for metric {metric.name}")
    if problems:
        raise SubmissionError(
            "submission rejected: " + "; ".join(problems), hint=f"compare with the sample ({expected})"
        )
    order = pd.Series(range(len(ids)), index=ids.to_numpy())
    ordered = submission.iloc[order.loc[wanted.to_numpy()].to_numpy()].reset_index(drop=True)
    return ordered[expected]


def read_submission(path: Path, sample: pd.DataFrame, metric: Metric) -> pd.DataFrame:
    """Read and validate a submission file (see :func:`validate_submission`)."""
    try:
        frame = read_table(path, what="submission")
    except DataFormatError as exc:
        raise SubmissionError(exc.message, hint=exc.hint) from None
    return validate_submission(frame, sample, metric)


def _labels(values: pd.Series) -> np.ndarray:
    """Labels comparable across files: numbers as floats, booleans and text as text."""
    if pd.api.types.is_bool_dtype(values):
        return values.astype(str).to_numpy()
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and not pd.api.types.is_bool_dtype(values):
        return numeric.to_numpy(dtype=float)
    return values.astype(str).to_numpy()


def score_submission(submission: pd.DataFrame, answers: pd.DataFrame, metric: Metric) -> float:
    """Score a validated submission (ordered like the answers' sample) against the answers."""
    id_column = str(submission.columns[0])
    if id_column not in answers.columns:
        raise DataFormatError(f"the answers have no id column {id_column!r}")
    position = pd.Series(range(len(answers)), index=_key(answers[id_column]).to_numpy())
    try:
        rows = position.loc[_key(submission[id_column]).to_numpy()].to_numpy()
    except KeyError:
        raise SubmissionError("submission ids do not match the answers") from None
    truth = answers.iloc[rows].reset_index(drop=True)
    pred_columns = [str(c) for c in submission.columns[1:]]
    true_columns = [str(c) for c in truth.columns if c != id_column]
    if metric.input == "multi_proba":
        y_pred = submission[pred_columns].to_numpy(dtype=float)
        if set(pred_columns) <= set(true_columns):
            y_true = truth[pred_columns].to_numpy(dtype=float)
        elif len(true_columns) == 1:
            labels = truth[true_columns[0]].astype(str).to_numpy()
            y_true = (labels[:, None] == np.asarray(pred_columns)[None, :]).astype(float)
        else:
            raise DataFormatError("cannot match the answers' columns to the submission's probability columns")
        return metric(y_true, y_pred)
    if metric.input == "multi_value":
        return metric(truth[pred_columns].to_numpy(dtype=float), submission[pred_columns].to_numpy(dtype=float))
    scores = []
    for column in pred_columns:
        source = column if column in truth.columns else (true_columns[0] if len(true_columns) == 1 else None)
        if source is None:
            raise DataFormatError(f"the answers have no column {column!r}")
        if metric.input == "label":
            scores.append(metric(_labels(truth[source]), _labels(submission[column])))
        elif metric.input in ("value", "proba"):
            scores.append(metric(truth[source].to_numpy(dtype=float), submission[column].to_numpy(dtype=float)))
        else:
            scores.append(metric(truth[source].astype(str).to_numpy(), submission[column].astype(str).to_numpy()))
    return float(np.mean(scores))


@dataclass(frozen=True)
class GradeReport:
    """The score of a submission and where it lands on each leaderboard."""

    score: float
    metric: str
    higher_is_better: bool
    placements: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": self.score,
            "metric": self.metric,
            "higher_is_better": self.higher_is_better,
            "placements": self.placements,
        }


class Grader:
    """Scores submissions against hidden answers. Built by the runner only after the agent has finished."""

    def __init__(
        self,
        answers: Path,
        sample_submission: Path,
        metric: str,
        higher_is_better: bool,
        leaderboards: tuple[Path, ...] = (),
    ) -> None:
        self._answers_path = answers
        self._sample = read_table(sample_submission, what="sample submission")
        self.metric = get_metric(metric)
        self.higher_is_better = higher_is_better
        self.leaderboards = leaderboards

    def grade(self, submission: Path) -> GradeReport:
        """Validate, score and place a submission file."""
        frame = read_submission(submission, self._sample, self.metric)
        answers = read_table(self._answers_path, what="answers")
        score = score_submission(frame, answers, self.metric)
        placements = place_on_leaderboards(score, self.leaderboards, self.higher_is_better)
        return GradeReport(score, self.metric.name, self.higher_is_better, placements)

    def __repr__(self) -> str:  # keeps the answers path out of logs and reprs
        return f"Grader(metric={self.metric.name!r})"


def place_on_leaderboards(score: float, leaderboards: tuple[Path, ...], higher_is_better: bool) -> list[dict[str, Any]]:
    """Place a score on every leaderboard file (rank, percentile, medal)."""
    from agentk.bench import place, read_leaderboard

    out = []
    for path in leaderboards:
        board = read_leaderboard(path, higher_is_better=higher_is_better)
        out.append({"leaderboard": path.name, **place(score, board).to_dict()})
    return out
