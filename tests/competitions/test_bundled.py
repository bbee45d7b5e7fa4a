"""Built-in offline competitions: catalogue, folder format, determinism, atomicity, leaderboards."""

from __future__ import annotations

import importlib.util
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import bundled
from agentk.competitions.bundled import BuiltinSpec, get_builtin, list_builtin, materialise
from agentk.errors import CompetitionNotFoundError, DataFormatError

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "benchmarks" / "build_builtin_leaderboards.py"
NAMES = [spec.name for spec in list_builtin()]
LEADERBOARD_COLUMNS = ["rank", "team_id", "team_name", "score", "submission_date"]
# One cheap reference team per competition, rescored against the committed leaderboard.
CHEAP_TEAM = {
    "binary": "logistic regression (C=1)",
    "multiclass": "logistic regression (C=1)",
    "regression": "ridge on log target (alpha 10)",
    "text": "tf-idf words + logistic regression (C=1)",
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every built-in competition, materialised once for the module."""
    base = tmp_path_factory.mktemp("builtin")
    for name in NAMES:
        materialise(name, base)
    return base


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """The leaderboard builder, imported from its file (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("build_builtin_leaderboards", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def _read(folder: Path, relative: str) -> pd.DataFrame:
    return pd.read_csv(folder / relative)


# ------------------------------------------------------------------------------------------ catalogue


def test_catalogue_covers_the_required_kinds() -> None:
    specs = list_builtin()
    assert len(specs) >= 4
    assert len({s.name for s in specs}) == len(specs)
    assert {s.task_type for s in specs} >= {"binary", "multiclass", "regression"}
    assert any(s.has_text for s in specs)
    assert any(s.rows >= 5000 and not s.has_text for s in specs)
    for spec in specs:
        assert re.fullmatch(r"[a-z0-9-]+", spec.name)
        assert spec.task_type in {"binary", "multiclass", "regression"}
        assert spec.title and spec.summary and "\n" not in spec.summary


def test_default_competition_is_first_and_quick() -> None:
    default = list_builtin()[0]
    assert default.name == "churn"
    assert not default.has_text
    assert default.rows < 10_000  # the README's end-to-end run trains on it in seconds


def test_get_builtin_returns_the_listed_spec() -> None:
    for spec in list_builtin():
        assert get_builtin(spec.name) is spec
        assert isinstance(spec, BuiltinSpec)


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(CompetitionNotFoundError) as info:
        get_builtin("no-such-competition")
    for name in NAMES:
        assert name in str(info.value)
    with pytest.raises(CompetitionNotFoundError):
        materialise("no-such-competition", Path("/nonexistent"))


# ------------------------------------------------------------------------------------- folder format


@pytest.mark.parametrize("name", NAMES)
def test_folder_has_every_file(root: Path, name: str) -> None:
    folder = root / name
    for relative in bundled.COMPLETE_FILES:
        assert (folder / relative).is_file(), relative
    leftovers = [p.name for p in root.iterdir() if p.name.startswith(".")]
    assert leftovers == []


@pytest.mark.parametrize("name", NAMES)
def test_metric_and_description(root: Path, name: str) -> None:
    spec = get_builtin(name)
    metric_line = (root / name / "metric.txt").read_text("utf-8")
    direction = "higher" if spec.higher_is_better else "lower"
    assert re.fullmatch(rf"{spec.metric} {direction}  \(.+\)\n", metric_line)
    description = (root / name / "description.md").read_text("utf-8")
    assert "not a human leaderboard" in description
    assert "reference model" in description
    assert bundled.target_column(name) in description


@pytest.mark.parametrize("name", NAMES)
def test_split_rows_and_columns(root: Path, name: str) -> None:
    spec = get_builtin(name)
    target = bundled.target_column(name)
    folder = root / name
    train = _read(folder, "public/train.csv")
    test = _read(folder, "public/test.csv")
    sample = _read(folder, "public/sample_submission.csv")
    answers = _read(folder, "private/answers.csv")

    assert len(train) + len(test) == spec.rows
    assert abs(len(test) / spec.rows - 0.25) < 0.01
    assert [c for c in train.columns if c != target] == list(test.columns)
    assert target in train.columns
    assert train.columns[0] == test.columns[0] == "id"
    assert target not in test.columns
    assert list(sample.columns) == list(answers.columns) == ["id", target]
    assert not train[target].isna().any() and not answers[target].isna().any()

    # the three id lists are the same, in the same order, unique, and apart from train's
    assert test["id"].tolist() == answers["id"].tolist() == sample["id"].tolist()
    assert test["id"].is_unique and train["id"].is_unique
    assert not set(train["id"]) & set(test["id"])


@pytest.mark.parametrize("name", NAMES)
def test_targets_and_placeholder_fit_the_task(root: Path, name: str) -> None:
    spec = get_builtin(name)
    target = bundled.target_column(name)
    folder = root / name
    train = _read(folder, "public/train.csv")
    sample = _read(folder, "public/sample_submission.csv")
    answers = _read(folder, "private/answers.csv")
    assert sample[target].nunique() == 1
    placeholder = sample[target].iloc[0]
    if spec.task_type == "binary":
        assert set(train[target]) == set(answers[target]) == {0, 1}
        if spec.metric in {"auc", "logloss"}:
            assert 0.0 <= float(placeholder) <= 1.0
    if spec.task_type == "multiclass":
        assert set(answers[target]) == set(train[target])
        assert train[target].nunique() >= 3
        assert placeholder in set(train[target])
    if spec.task_type in {"binary", "multiclass"}:  # stratified split
        shares = pd.concat(
            [train[target].value_counts(normalize=True), answers[target].value_counts(normalize=True)], axis=1
        )
        assert (shares.iloc[:, 0] - shares.iloc[:, 1]).abs().max() < 0.01
    if spec.task_type == "regression":
        assert pd.api.types.is_numeric_dtype(answers[target])
        assert float(placeholder) > 0 and (answers[target] > 0).all()  # rmse_log needs positive values


@pytest.mark.parametrize("name", NAMES)
def test_text_flag_matches_the_data(root: Path, name: str) -> None:
    test = _read(root / name, "public/test.csv")
    text_columns = [
        c
        for c in test.columns
        if test[c].dtype == object or pd.api.types.is_string_dtype(test[c])
        if test[c].astype(str).str.len().mean() > 100 and test[c].nunique() > 0.9 * len(test)
    ]
    assert bool(text_columns) == get_builtin(name).has_text


@pytest.mark.parametrize("name", NAMES)
def test_leaderboard_is_a_spread_of_reference_models(root: Path, name: str) -> None:
    spec = get_builtin(name)
    board = _read(root / name, "leaderboard.csv")
    assert list(board.columns) == LEADERBOARD_COLUMNS
    assert 20 <= len(board) <= 40
    assert board["team_name"].is_unique and board["team_id"].is_unique
    assert board["team_name"].str.startswith("baseline: ").any()
    scores = board["score"].to_numpy()
    ordered = np.sort(scores)[::-1] if spec.higher_is_better else np.sort(scores)
    assert np.array_equal(scores, ordered)
    assert board["rank"].iloc[0] == 1 and board["rank"].is_monotonic_increasing
    assert board["score"].nunique() >= 15  # a spread, not a few clusters
    assert np.isfinite(scores).all()


# ------------------------------------------------------------------------------ determinism, atomicity


@pytest.mark.parametrize("name", NAMES)
def test_materialising_twice_gives_identical_bytes(root: Path, tmp_path: Path, name: str) -> None:
    again = materialise(name, tmp_path)
    assert again == tmp_path / name
    for relative in bundled.COMPLETE_FILES:
        assert (again / relative).read_bytes() == (root / name / relative).read_bytes(), relative


def test_csv_bytes_are_plain(root: Path) -> None:
    for name in NAMES:
        for relative in bundled.COMPLETE_FILES:
            if relative.endswith(".csv"):
                raw = (root / name / relative).read_bytes()
                assert b"\r\n" not in raw, relative
                assert not raw.startswith(b",") and not raw.startswith(b"Unnamed"), relative  # no index
                assert raw.endswith(b"\n")


def test_existing_complete_folder_is_returned_untouched(tmp_path: Path) -> None:
    folder = materialise("hpc-jobs", tmp_path)
    marker = folder / "public" / "train.csv"
    before = marker.stat().st_mtime_ns
    (folder / "notes.txt").write_text("kept")
    assert materialise("hpc-jobs", tmp_path) == folder
    assert marker.stat().st_mtime_ns == before
    assert (folder / "notes.txt").read_text() == "kept"


def test_incomplete_existing_folder_is_an_error(tmp_path: Path) -> None:
    folder = materialise("hpc-jobs", tmp_path)
    (folder / "private" / "answers.csv").unlink()
    with pytest.raises(DataFormatError, match="not a complete"):
        materialise("hpc-jobs", tmp_path)


def test_interrupted_build_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = bundled.write_split

    def half_then_fail(name: str, dest: Path) -> None:
        real(name, dest)
        raise KeyboardInterrupt

    monkeypatch.setattr(bundled, "write_split", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        materialise("hpc-jobs", tmp_path)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(bundled, "write_split", real)
    assert (materialise("hpc-jobs", tmp_path) / "private" / "answers.csv").is_file()


def test_racing_calls_end_with_one_complete_folder(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        folders = list(pool.map(lambda _: materialise("hpc-jobs", tmp_path), range(4)))
    assert set(folders) == {tmp_path / "hpc-jobs"}
    assert [p.name for p in tmp_path.iterdir()] == ["hpc-jobs"]
    assert len(pd.read_csv(tmp_path / "hpc-jobs" / "private" / "answers.csv")) > 0


def test_a_changed_dataset_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recipe = bundled._recipe("hpc-jobs")
    shorter = recipe.load().iloc[:-1]
    patched = bundled._Recipe(recipe.spec, recipe.target, lambda: shorter, recipe.metric_note)
    monkeypatch.setattr(bundled, "_RECIPES", (patched,))
    with pytest.raises(DataFormatError, match="has changed"):
        materialise("hpc-jobs", tmp_path)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------- leaderboards


def _cheap_team(script: ModuleType, data: Any) -> Any:
    kind = "text" if data.text else data.spec.task_type
    teams = {team.name: team for team in script.teams_for(data)}
    return teams[CHEAP_TEAM[kind]]


@pytest.mark.parametrize("name", NAMES)
def test_committed_leaderboard_matches_a_fresh_cheap_team(
    script: ModuleType, root: Path, tmp_path: Path, name: str
) -> None:
    data = script.load(name, tmp_path)
    team = _cheap_team(script, data)
    board = _read(root / name, "leaderboard.csv").set_index("team_name")
    assert script.score_team(team, data) == pytest.approx(board.loc[team.name, "score"], abs=2e-6)


@pytest.mark.parametrize("name", NAMES)
def test_baseline_scores_match_the_sample_submission(root: Path, script: ModuleType, name: str) -> None:
    """The sample submission is a valid submission: its score is a finite number of the right kind."""
    spec = get_builtin(name)
    target = bundled.target_column(name)
    sample = _read(root / name, "public/sample_submission.csv")
    answers = _read(root / name, "private/answers.csv")
    value = script.score(spec.metric, answers[target], sample[target])
    assert np.isfinite(value)
    if spec.metric == "auc":
        assert value == pytest.approx(0.5)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_committed_team_reproduces(script: ModuleType, root: Path, tmp_path: Path, name: str) -> None:
    data = script.load(name, tmp_path)
    board = _read(root / name, "leaderboard.csv").set_index("team_name")
    teams = script.teams_for(data)
    assert sorted(team.name for team in teams) == sorted(board.index)
    for team in teams:
        assert script.score_team(team, data) == pytest.approx(board.loc[team.name, "score"], abs=2e-6), team.name
