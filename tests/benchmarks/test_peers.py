"""The peer AutoML comparison (benchmarks/peers): metric mapping, submission helpers, the runner and grading.

None of these need the peer virtual environments except the one marked slow, which runs FLAML on titanic when
benchmarks/peers/.venv-flaml exists.
"""

from __future__ import annotations

import re
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agentk.competitions.grading import score_submission, validate_submission
from agentk.competitions.metrics import get_metric

REPO = Path(__file__).resolve().parents[2]
PEERS_DIR = REPO / "benchmarks" / "peers"


@pytest.fixture(scope="module")
def modules() -> Iterator[dict[str, ModuleType]]:
    """peer_common, the two peer scripts (they import their tools lazily) and the benchmarks.peers runner."""
    import importlib

    added = [str(PEERS_DIR), str(REPO)]
    for path in added:
        sys.path.insert(0, path)
    try:
        loaded = {name: importlib.import_module(name) for name in ("peer_common", "run_autogluon", "run_flaml")}
        loaded["runner"] = importlib.import_module("benchmarks.peers")
        yield loaded
    finally:
        for path in added:
            sys.path.remove(path)
        for name in ("peer_common", "run_autogluon", "run_flaml"):
            sys.modules.pop(name, None)


# --- metric mapping -----------------------------------------------------------------------------------------


def test_every_mapped_metric_is_an_agentk_metric_with_the_same_prediction_kind(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    for name in ("accuracy", "auc", "f1", "rmse", "rmse_log", "logloss", "mlogloss", "mae", "r2"):
        assert name in pc.METRICS
    for name, spec in pc.METRICS.items():
        assert get_metric(name).name == name
        assert get_metric(name).input == spec.kind, name


def test_metric_names_map_onto_each_tool(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    expected = {
        "accuracy": ("accuracy", "accuracy"),
        "auc": ("roc_auc", "roc_auc"),
        "f1": ("f1", "f1"),
        "rmse": ("root_mean_squared_error", "rmse"),
        "rmse_log": ("root_mean_squared_error", "rmse"),
        "logloss": ("log_loss", "log_loss"),
        "mlogloss": ("log_loss", "log_loss"),
        "mae": ("mean_absolute_error", "mae"),
        "r2": ("r2", "r2"),
    }
    for name, (autogluon, flaml) in expected.items():
        spec = pc.metric_spec(name)
        assert (spec.autogluon, spec.flaml) == (autogluon, flaml), name
    assert pc.metric_spec("rmse_log").log_target and not pc.metric_spec("rmse").log_target
    with pytest.raises(ValueError, match="map@5"):
        pc.metric_spec("map@5")


def test_tool_arguments(modules: dict[str, Any]) -> None:
    pc, ag, fl = modules["peer_common"], modules["run_autogluon"], modules["run_flaml"]
    binary = pd.Series(["no", "yes", "yes"])
    assert ag.predictor_kwargs(pc.metric_spec("f1"), binary) == {
        "problem_type": "binary",
        "eval_metric": "f1",
        "positive_class": "yes",
    }
    three = pd.Series(["a", "b", "c"])
    assert ag.predictor_kwargs(pc.metric_spec("accuracy"), three) == {
        "problem_type": "multiclass",
        "eval_metric": "accuracy",
    }
    assert ag.predictor_kwargs(pc.metric_spec("rmse_log"), pd.Series([1.0, 2.0]))["problem_type"] == "regression"
    assert fl.automl_kwargs(pc.metric_spec("auc"), binary) == {"task": "classification", "metric": "roc_auc"}
    assert fl.automl_kwargs(pc.metric_spec("mae"), pd.Series([1.0, 2.0])) == {"task": "regression", "metric": "mae"}


def test_positive_class_follows_agentks_convention(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    assert pc.positive_class(pd.Series([0, 1, 1, 0])) == 1
    assert pc.positive_class(pd.Series([True, False])) is not False
    assert bool(pc.positive_class(pd.Series([False, True, None], dtype=object))) is True
    assert pc.positive_class(pd.Series(["no", "yes"])) == "yes"
    assert pc.positive_class(pd.Series([2, 5])) == 5


# --- data and submission helpers ------------------------------------------------------------------------------


def test_split_frames_drops_id_and_target_and_train_only_columns(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    train = pd.DataFrame({"id": [1, 2, 3], "a": [1, 2, 3], "leak": [0, 0, 1], "y": [0, None, 1]})
    test = pd.DataFrame({"id": [4, 5], "a": [4, 5]})
    X, y, X_test = pc.split_frames(train, test, "y", "id")
    assert list(X.columns) == ["a"] and list(X_test.columns) == ["a"]
    assert y.tolist() == [0, 1]  # rows without a target dropped
    with pytest.raises(ValueError, match="target"):
        pc.split_frames(train, test, "missing", "id")


def test_log_target_round_trip(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    spec = pc.metric_spec("rmse_log")
    y = pd.Series([100_000.0, 250_000.0, 1.0])
    encoded = pc.encode_target(y, spec)
    np.testing.assert_allclose(encoded, np.log1p(y))
    np.testing.assert_allclose(pc.decode_values(encoded, spec), y)
    assert (pc.decode_values([-5.0], spec) >= 0).all()
    plain = pc.metric_spec("rmse")
    assert pc.encode_target(y, plain) is y


def _graded(pc: Any, sample: pd.DataFrame, answers: pd.DataFrame, metric: str, **predictions: Any) -> float:
    """Write a submission with the helper, round-trip it through CSV and grade it with AgentK's grader."""
    spec = pc.metric_spec(metric)
    frame = pc.make_submission(sample, None, spec, **predictions)
    text = frame.to_csv(index=False)
    from io import StringIO

    reread = pd.read_csv(StringIO(text))
    m = get_metric(metric)
    return score_submission(validate_submission(reread, sample, m), answers, m)


def test_submissions_in_the_sample_format_grade_as_expected(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    ids = [10, 11, 12, 13]
    sample = pd.DataFrame({"Id": ids, "Transported": [False] * 4})
    answers = pd.DataFrame({"Id": ids, "Transported": [True, False, True, True]})
    labels = np.array([True, False, False, True])
    assert _graded(pc, sample, answers, "accuracy", labels=labels) == pytest.approx(0.75)

    sample01 = pd.DataFrame({"Id": ids, "y": [0] * 4})
    answers01 = pd.DataFrame({"Id": ids, "y": [1, 0, 1, 0]})
    proba = pd.DataFrame({0: [0.1, 0.8, 0.3, 0.6], 1: [0.9, 0.2, 0.7, 0.4]})
    assert _graded(pc, sample01, answers01, "auc", proba=proba, positive=1) == pytest.approx(1.0)
    assert _graded(pc, sample01, answers01, "f1", labels=np.array([1, 0, 1, 0])) == pytest.approx(1.0)

    classes = pd.DataFrame({"Id": ids, "a": [0.0] * 4, "b": [0.0] * 4, "c": [0.0] * 4})
    answers_mc = pd.DataFrame({"Id": ids, "label": ["a", "b", "c", "a"]})
    proba_mc = pd.DataFrame({"c": [0, 0, 1, 0], "a": [1, 0, 0, 1], "b": [0, 1, 0, 0]})  # the tool's column order
    assert _graded(pc, classes, answers_mc, "mlogloss", proba=proba_mc) == pytest.approx(0.0, abs=1e-9)

    sample_r = pd.DataFrame({"Id": ids, "SalePrice": [1.0] * 4})
    answers_r = pd.DataFrame({"Id": ids, "SalePrice": [100.0, 200.0, 300.0, 400.0]})
    spec = pc.metric_spec("rmse_log")
    values = pc.decode_values(np.log1p([100.0, 200.0, 300.0, 400.0]), spec)
    assert _graded(pc, sample_r, answers_r, "rmse_log", values=values) == pytest.approx(0.0, abs=1e-9)


def test_submission_uses_test_ids_and_rejects_bad_shapes(modules: dict[str, Any]) -> None:
    pc = modules["peer_common"]
    sample = pd.DataFrame({"id": [1, 2], "y": [0, 0]})
    frame = pc.make_submission(sample, pd.Series([2, 1]), pc.metric_spec("accuracy"), labels=[1, 0])
    assert frame.to_dict("list") == {"id": [2, 1], "y": [1, 0]}
    with pytest.raises(ValueError, match="class"):
        pc.make_submission(sample, None, pc.metric_spec("auc"), proba=pd.DataFrame({"x": [0.1, 0.2]}), positive=1)
    two = pd.DataFrame({"id": [1, 2], "y": [0, 0], "z": [0, 0]})
    with pytest.raises(ValueError, match="one prediction column"):
        pc.make_submission(two, None, pc.metric_spec("rmse"), values=[1.0, 2.0])


def test_peer_scripts_never_import_agentk() -> None:
    for name in ("peer_common.py", "run_autogluon.py", "run_flaml.py"):
        source = (PEERS_DIR / name).read_text()
        assert not re.search(r"^\s*(from|import)\s+agentk", source, re.MULTILINE), name


# --- the runner -------------------------------------------------------------------------------------------------


def test_parse_peers_and_timeout(modules: dict[str, Any]) -> None:
    runner = modules["runner"]
    assert runner.parse_peers("autogluon, FLAML,flaml") == ["autogluon", "flaml"]
    assert runner.parse_peers("") == []
    with pytest.raises(ValueError, match="h2o"):
        runner.parse_peers("h2o")
    assert runner.timeout_for(600) > 600 and runner.timeout_for(60) >= 120


def test_columns_inferred_from_the_sample_submission(modules: dict[str, Any], shared_dir: Path) -> None:
    runner = modules["runner"]
    root = shared_dir / "competitions"
    assert runner.infer_columns(root / "titanic") == ("PassengerId", "Survived")
    assert runner.infer_columns(root / "house-prices-advanced-regression-techniques") == ("Id", "SalePrice")
    argv = runner.command("flaml", root / "titanic", 60, Path("/tmp/x.csv"))
    assert argv[argv.index("--metric") + 1] == "accuracy"
    assert argv[argv.index("--direction") + 1] == "higher"
    assert argv[argv.index("--target") + 1] == "Survived"


def _fake_venv(tmp_path: Path, body: str) -> Path:
    """A stand-in peer venv whose bin/python is a shell script (the peer script path is its first argument)."""
    python = tmp_path / "venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\n" + body)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    return python.parent.parent


def test_run_peer_grades_a_stand_in_submission_with_agentks_grader(
    modules: dict[str, Any], shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = modules["runner"]
    folder = shared_dir / "competitions" / "titanic"
    # copies the sample submission (all zeros) to --out: a valid submission with a known score
    body = (
        'while [ $# -gt 0 ]; do case "$1" in --sample) S="$2";; --out) O="$2";; esac; shift; done\n'
        'echo "PEER_RESULT {\\"peer\\": \\"stand-in\\"}"\ncp "$S" "$O"\n'
    )
    monkeypatch.setenv("AGENTK_PEER_VENV_FLAML", str(_fake_venv(tmp_path, body)))
    row = runner.run_peer("flaml", folder, 5, tmp_path / "out")
    assert row["state"] == "SUCCEEDED", row
    answers = pd.read_csv(folder / "private" / "answers.csv")
    assert row["test"] == pytest.approx(float((answers["Survived"] == 0).mean()))
    assert row["teams"] > 0 and row["rank"] >= 1 and row["info"] == {"peer": "stand-in"}
    assert runner.format_cell(row) == f"{row['test']:.5f}"


def test_run_peer_reports_missing_failed_invalid_and_timed_out_peers(
    modules: dict[str, Any], shared_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = modules["runner"]
    folder = shared_dir / "competitions" / "titanic"
    monkeypatch.setenv("AGENTK_PEER_VENV_AUTOGLUON", str(tmp_path / "nowhere"))
    row = runner.run_peer("autogluon", folder, 5, tmp_path / "a")
    assert row["state"] == "NOT_INSTALLED" and "setup_envs.sh" in row["error"]
    assert runner.format_cell(row) == "NOT_INSTALLED"

    cases = {
        "crash": ("echo boom >&2\nexit 3\n", "FAILED", "exit 3: .*boom"),
        "silent": ("exit 0\n", "FAILED", "no submission"),
        "invalid": (
            'while [ $# -gt 0 ]; do case "$1" in --out) O="$2";; esac; shift; done\n'
            'echo "PassengerId,Survived" > "$O"\n',
            "FAILED",
            "grading failed",
        ),
        "slow": ("exec sleep 30\n", "TIMEOUT", "killed after 1 s"),
    }
    for name, (body, state, error) in cases.items():
        monkeypatch.setenv("AGENTK_PEER_VENV_FLAML", str(_fake_venv(tmp_path / name, body)))
        row = runner.run_peer("flaml", folder, 5, tmp_path / name / "out", timeout=1)
        assert row["state"] == state, (name, row)
        assert re.search(error, row["error"], re.DOTALL), (name, row["error"])
        assert row["test"] is None and runner.format_cell(row) == state


@pytest.mark.slow
def test_flaml_on_titanic_for_30_seconds(modules: dict[str, Any], shared_dir: Path, tmp_path: Path) -> None:
    runner = modules["runner"]
    python = runner.venv_python("flaml")
    if not python.is_file():
        pytest.skip(f"no FLAML venv at {python.parent.parent}: run benchmarks/peers/setup_envs.sh flaml")
    row = runner.run_peer("flaml", shared_dir / "competitions" / "titanic", 30, tmp_path, niceness=10)
    assert row["state"] == "SUCCEEDED", row
    assert row["test"] > 0.7 and row["wall_s"] < runner.timeout_for(30)
    assert row["info"]["peer"] == "flaml"
