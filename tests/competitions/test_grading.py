"""Submission validation (every problem named), scoring against answers, placement on leaderboards."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, roc_auc_score

from agentk.competitions import load_folder
from agentk.competitions.grading import Grader, read_submission, score_submission, validate_submission
from agentk.competitions.metrics import get_metric
from agentk.errors import SubmissionError

SAMPLE = pd.DataFrame({"id": [10, 11, 12, 13], "target": [0, 0, 0, 0]})
ACC = get_metric("accuracy")
AUC = get_metric("auc")


def test_valid_submission_is_reordered_like_the_sample() -> None:
    sub = pd.DataFrame({"target": [1, 0, 1, 0], "id": [13, 12, 11, 10]})
    out = validate_submission(sub, SAMPLE, ACC)
    assert out["id"].tolist() == [10, 11, 12, 13] and out["target"].tolist() == [0, 1, 0, 1]
    assert list(out.columns) == ["id", "target"]


@pytest.mark.parametrize(
    ("sub", "message"),
    [
        (pd.DataFrame({"id": [10, 11, 12, 13], "label": [0, 1, 0, 1]}), "missing column(s): target"),
        (pd.DataFrame({"id": [10, 11, 12, 13], "target": [0, 1, 0, 1], "x": 1}), "unexpected column(s): x"),
        (pd.DataFrame({"id": [10, 11, 12], "target": [0, 1, 0]}), "3 rows, expected 4"),
        (pd.DataFrame({"id": [10, 11, 12, 99], "target": [0, 1, 0, 1]}), "1 id(s) not in the test set: 99"),
        (pd.DataFrame({"id": [10, 10, 12, 13], "target": [0, 1, 0, 1]}), "1 duplicated id(s): 10"),
        (pd.DataFrame({"id": [10, 11, 12, 13], "target": [0, np.nan, 0, 1]}), "1 empty/NaN value(s), ids 11"),
    ],
)
def test_invalid_submissions_say_what_is_wrong(sub: pd.DataFrame, message: str) -> None:
    with pytest.raises(SubmissionError) as info:
        validate_submission(sub, SAMPLE, ACC)
    assert message in str(info.value)


def test_probability_checks() -> None:
    with pytest.raises(SubmissionError, match="must be numeric; got yes"):
        validate_submission(pd.DataFrame({"id": [10, 11, 12, 13], "target": ["yes", 0.1, 0.2, 0.3]}), SAMPLE, AUC)
    with pytest.raises(SubmissionError, match=r"probabilities in \[0, 1\]"):
        validate_submission(pd.DataFrame({"id": [10, 11, 12, 13], "target": [1.5, 0.1, 0.2, 0.3]}), SAMPLE, AUC)
    with pytest.raises(SubmissionError, match="infinite"):
        validate_submission(pd.DataFrame({"id": [10, 11, 12, 13], "target": [np.inf, 0.1, 0.2, 0.3]}), SAMPLE, AUC)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02PK", "not a CSV"),
        (b"\n\n", "no columns"),
        (b'id,target\n1,"unclosed\n', "well-formed"),
    ],
)
def test_unreadable_submission_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "submission.csv"
    path.write_bytes(content)
    with pytest.raises(SubmissionError, match=message):
        read_submission(path, SAMPLE, ACC)


def test_scores_match_sklearn() -> None:
    answers = pd.DataFrame({"id": [13, 12, 11, 10], "target": [1, 1, 0, 0]})
    labels = validate_submission(pd.DataFrame({"id": [10, 11, 12, 13], "target": [0, 1, 1, 1]}), SAMPLE, ACC)
    assert score_submission(labels, answers, ACC) == pytest.approx(accuracy_score([0, 0, 1, 1], [0, 1, 1, 1]))
    probs = validate_submission(pd.DataFrame({"id": [10, 11, 12, 13], "target": [0.1, 0.6, 0.4, 0.9]}), SAMPLE, AUC)
    assert score_submission(probs, answers, AUC) == pytest.approx(roc_auc_score([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9]))


def test_boolean_labels_compare_with_text_labels() -> None:
    sample = pd.DataFrame({"PassengerId": ["a", "b"], "Transported": [False, False]})
    answers = pd.DataFrame({"PassengerId": ["a", "b"], "Transported": [True, False]})
    sub = validate_submission(pd.DataFrame({"PassengerId": ["b", "a"], "Transported": [False, True]}), sample, ACC)
    assert score_submission(sub, answers, ACC) == 1.0


def test_multiclass_probability_columns_against_a_label_column() -> None:
    sample = pd.DataFrame({"id": [1, 2], "A": 0.5, "B": 0.5})
    answers = pd.DataFrame({"id": [1, 2], "author": ["A", "B"]})
    metric = get_metric("mlogloss")
    sub = validate_submission(pd.DataFrame({"id": [1, 2], "A": [0.9, 0.2], "B": [0.1, 0.8]}), sample, metric)
    expected = -(np.log(0.9) + np.log(0.8)) / 2
    assert score_submission(sub, answers, metric) == pytest.approx(expected)


def test_grader_places_the_baseline_like_baseline_json(shared_dir: Path) -> None:
    """The shipped baseline submission grades to the score and placement recorded beside it."""
    import json

    folder = shared_dir / "competitions" / "house-prices-advanced-regression-techniques"
    entry = load_folder(folder)
    metric, higher = entry.metric()
    assert entry.answers is not None
    grader = Grader(entry.answers, entry.public_file("sample_submission"), metric, higher, entry.leaderboards)
    report = grader.grade(folder / "baseline" / "submission.csv")
    baseline = json.loads((folder / "baseline" / "baseline.json").read_text())
    assert report.score == pytest.approx(baseline["score"], rel=1e-9)
    for placement, expected in zip(report.placements, baseline["leaderboards"], strict=True):
        assert placement["leaderboard"] == expected["file"]
        assert placement["rank"] == expected["rank"] and placement["teams"] == expected["teams"]
        assert placement["beats_pct"] == pytest.approx(expected["beats_pct"])
    assert "answers" not in repr(grader)
