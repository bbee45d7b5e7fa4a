"""Shared test configuration: the slow marker, the shared data folder, no real services by accident."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = (REPO_ROOT / ".." / "shared").resolve()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: run with --run-slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The project's shared data folder (``../shared`` beside the repository), read-only."""
    if not (SHARED_DIR / "competitions").is_dir():
        if os.environ.get("CI"):  # CI always has ../shared: a missing folder is a broken set-up, not a skip
            pytest.fail(f"shared data not found at {SHARED_DIR}")
        pytest.skip(f"shared data not found at {SHARED_DIR}")
    return SHARED_DIR


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own AGENTK_HOME, a short search, and no Kaggle or LLM credentials from the shell."""
    monkeypatch.setenv("AGENTK_HOME", str(tmp_path_factory.mktemp("agentk_home")))
    monkeypatch.setenv("AGENTK_SEARCH_TRIALS", "3")  # runs in tests search a little, not until the budget
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)


def write_competition(
    root: Path,
    *,
    n_train: int = 300,
    n_test: int = 100,
    task: str = "binary",
    metric: str = "accuracy higher",
    seed: int = 0,
    with_answers: bool = True,
    with_text: bool = False,
) -> Path:
    """Write a small synthetic competition in the shared folder format and return its folder."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    n = n_train + n_test
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    signal = x1 + 0.5 * x2 + (colour == "red") * 0.8
    frame = pd.DataFrame({"id": np.arange(1000, 1000 + n), "x1": x1.round(4), "x2": x2.round(4), "colour": colour})
    if with_text:
        words = np.array(["storm", "fire", "calm", "sunny", "flood", "quiet", "smoke", "happy"])
        hot = signal > 0
        frame["text"] = [
            " ".join(rng.choice(words[:3] if h else words[3:], size=6)) + (" alarm" if h else " nice") for h in hot
        ]
    if task == "binary":
        frame["target"] = (signal + rng.normal(scale=0.5, size=n) > 0.3).astype(int)
    elif task == "multiclass":
        frame["target"] = np.select([signal < -0.5, signal < 0.7], ["low", "mid"], "high")
    else:
        frame["target"] = (3 * signal + 10 + rng.normal(scale=0.3, size=n)).round(4)
    folder = root / f"synthetic-{task}"
    (folder / "public").mkdir(parents=True)
    train, test = frame.iloc[:n_train], frame.iloc[n_train:]
    train.to_csv(folder / "public" / "train.csv", index=False)
    test.drop(columns="target").to_csv(folder / "public" / "test.csv", index=False)
    placeholder = {"binary": 0, "multiclass": "low", "regression": 0.0}[task]
    pd.DataFrame({"id": test["id"], "target": placeholder}).to_csv(
        folder / "public" / "sample_submission.csv", index=False
    )
    if with_answers:
        (folder / "private").mkdir()
        test[["id", "target"]].to_csv(folder / "private" / "answers.csv", index=False)
    (folder / "metric.txt").write_text(metric + "\n")
    (folder / "description.md").write_text(f"# Synthetic {task}\n\nA small generated task for tests.\n")
    scores = np.linspace(0.95, 0.4, 40) if "higher" in metric else np.linspace(0.5, 5.0, 40)
    pd.DataFrame(
        {
            "rank": np.arange(1, 41),
            "team_id": np.arange(40),
            "team_name": [f"t{i}" for i in range(40)],
            "score": scores,
            "submission_date": "2024-01-01",
        }
    ).to_csv(folder / "leaderboard.csv", index=False)
    return folder


@pytest.fixture
def make_competition(tmp_path: Path) -> Any:
    """Factory fixture: ``make_competition(task="binary", ...)`` -> folder of a small synthetic competition."""

    def make(**kwargs: Any) -> Path:
        return write_competition(tmp_path / "competitions", **kwargs)

    return make
