"""The catalogue: folder layouts, registration, resolution and the agent's view of the files."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from agentk.competitions import Catalog, load_folder
from agentk.errors import CompetitionNotFoundError, DataFormatError, UnknownMetricError, UserInputError

SHARED_SLUGS = [
    "amazon-employee-access-challenge",
    "house-prices-advanced-regression-techniques",
    "nlp-getting-started",
    "playground-series-s3e1",
    "playground-series-s4e2",
    "spaceship-titanic",
    "titanic",
]


@pytest.mark.parametrize("slug", SHARED_SLUGS)
def test_shared_competitions_load(shared_dir: Path, slug: str) -> None:
    entry = load_folder(shared_dir / "competitions" / slug)
    assert entry.slug == slug
    assert entry.answers is not None and entry.answers.name == "answers.csv"
    assert entry.leaderboards and entry.leaderboards[0].name == "leaderboard.csv"
    metric, _ = entry.metric()
    assert metric in {"accuracy", "auc", "f1", "rmse", "rmse_log"}


def test_agent_view_has_no_path_to_the_answers(shared_dir: Path, tmp_path: Path) -> None:
    entry = load_folder(shared_dir / "competitions" / "titanic")
    competition = entry.prepare_workspace(tmp_path / "input")
    paths = [str(v) for v in vars(competition).values() if isinstance(v, Path)]
    assert len(paths) == 4  # input_dir, train, test, sample_submission
    assert not [p for p in paths if "private" in p or "answers" in p or str(entry.root) in p]
    files = competition.public_files()
    assert {p.name for p in files} == {"train.csv", "test.csv", "sample_submission.csv", "description.md"}
    assert all(tmp_path in p.parents for p in files)
    answers = entry.answers
    assert answers is not None
    assert answers.read_bytes() not in {p.read_bytes() for p in files}


def test_mlebench_prepared_layout(make_competition: Any, tmp_path: Path) -> None:
    flat = make_competition()
    root = tmp_path / "spooky"
    shutil.copytree(flat / "public", root / "prepared" / "public")
    shutil.copytree(flat / "private", root / "prepared" / "private")
    (root / "prepared" / "public" / "description.md").write_text("# Spooky\n")
    (root / "competition.yaml").write_text("metric: accuracy\n")
    entry = load_folder(root)
    assert entry.source == "mlebench" and entry.slug == "spooky" and entry.title == "Spooky"
    assert entry.answers == (root / "prepared" / "private" / "answers.csv").resolve()
    assert entry.metric() == ("accuracy", True)


def test_register_and_resolve(make_competition: Any) -> None:
    from agentk.config import get_settings

    folder = make_competition()
    catalog = Catalog(get_settings().home)
    entry = catalog.register(folder)
    assert catalog.resolve(entry.slug).root == folder.resolve()
    assert entry.slug in {e.slug for e in catalog.entries()}


def test_resolve_builtin_and_unknown() -> None:
    from agentk.config import get_settings

    catalog = Catalog(get_settings().home)
    entry = catalog.resolve("churn")
    assert entry.source == "builtin" and entry.answers is not None
    with pytest.raises(CompetitionNotFoundError, match="unknown competition 'no-such-thing'") as info:
        catalog.resolve("no-such-thing")
    assert info.value.hint is not None and "churn" in info.value.hint


def test_a_tilde_naming_no_user_is_an_unknown_competition_not_a_crash() -> None:
    """``~0`` (found by the API's schema fuzzing): ``expanduser`` raises for a user that does not exist."""
    from agentk.config import get_settings

    with pytest.raises(CompetitionNotFoundError, match="unknown competition '~0'"):
        Catalog(get_settings().home).check("~0")


def test_folder_without_public_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    with pytest.raises(DataFormatError, match="no public/"):
        load_folder(tmp_path / "x")


def test_missing_metric_names_the_override(make_competition: Any) -> None:
    folder = make_competition()
    (folder / "metric.txt").unlink()
    with pytest.raises(UserInputError, match="metric is not known") as info:
        load_folder(folder).metric()
    assert info.value.hint is not None and "--metric" in info.value.hint


def test_unknown_metric_is_a_clear_error(make_competition: Any) -> None:
    folder = make_competition(metric="wobbliness higher")
    with pytest.raises(UnknownMetricError, match="wobbliness"):
        load_folder(folder).metric()


def test_bad_competition_yaml(make_competition: Any) -> None:
    folder = make_competition()
    (folder / "competition.yaml").write_text("- just\n- a list\n")
    with pytest.raises(DataFormatError, match="mapping"):
        load_folder(folder)
    (folder / "competition.yaml").write_text("metric: [unclosed\n")
    with pytest.raises(DataFormatError, match="not valid YAML"):
        load_folder(folder)


def test_sample_submission_discovery_and_overrides(make_competition: Any) -> None:
    folder = make_competition()
    public = folder / "public"
    (public / "sample_submission.csv").rename(public / "gender_submission.csv")
    assert load_folder(folder).public_file("sample_submission").name == "gender_submission.csv"
    (public / "gender_submission.csv").rename(public / "example.csv")
    with pytest.raises(DataFormatError, match="no sample_submission file") as info:
        load_folder(folder).public_file("sample_submission")
    assert info.value.hint is not None and "competition.yaml" in info.value.hint
    (folder / "competition.yaml").write_text("files:\n  sample_submission: example.csv\n")
    assert load_folder(folder).public_file("sample_submission").name == "example.csv"
    (folder / "competition.yaml").write_text("files:\n  train: nope.csv\n")
    with pytest.raises(DataFormatError, match=r"nope\.csv"):
        load_folder(folder).public_file("train")
