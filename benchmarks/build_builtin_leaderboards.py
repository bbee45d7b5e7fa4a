"""Regenerate the leaderboards of AgentK's built-in competitions (maintainers only).

Each built-in competition (``agentk.competitions.bundled``) ships a leaderboard made of reference models,
not humans: 20-40 "teams", each a model family, a hyper-parameter setting, a feature subset or a fraction
of the training data, plus trivial baselines. This script materialises every competition's data, trains
every team on ``public/train.csv``, scores its predictions for ``public/test.csv`` against
``private/answers.csv`` with the competition's metric and writes
``agentk/competitions/builtin/<name>/leaderboard.csv`` (best first).

Usage (takes a few minutes on 2 cores)::

    nice -n 10 python benchmarks/build_builtin_leaderboards.py [NAME ...]

Every team is deterministic (fixed seeds, one thread), so a rerun writes identical files; the test suite
rescores one cheap team per competition against the committed leaderboard.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.naive_bayes import GaussianNB, MultinomialNB
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from agentk.competitions import bundled
from agentk.competitions.metrics import get_metric

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILTIN_DIR = REPO_ROOT / "agentk" / "competitions" / "builtin"
SEED = 0
#: Every row gets this date: the leaderboard is synthetic, and a fixed date keeps the file reproducible.
SUBMISSION_DATE = "2026-01-01 00:00:00"
SCORE_DECIMALS = 6


# --------------------------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Data:
    """One materialised competition, as the teams see it (plus the answers, for scoring)."""

    spec: bundled.BuiltinSpec
    target: str
    train: pd.DataFrame
    test: pd.DataFrame
    answers: pd.DataFrame
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def load(name: str, folder: Path) -> Data:
    """Write the data of ``name`` into ``folder`` and read it back as the agent would."""
    bundled.write_split(name, folder)
    spec = bundled.get_builtin(name)
    target = bundled.target_column(name)
    train = pd.read_csv(folder / "public" / "train.csv")
    test = pd.read_csv(folder / "public" / "test.csv")
    answers = pd.read_csv(folder / "private" / "answers.csv")
    features = [c for c in test.columns if c != bundled.ID_COLUMN]
    numeric = [c for c in features if pd.api.types.is_numeric_dtype(test[c])]
    others = [c for c in features if c not in numeric]
    text = [c for c in others if train[c].astype(str).str.len().mean() > 40]
    categorical = [c for c in others if c not in text]
    return Data(spec, target, train, test, answers, numeric, categorical, text)


# ------------------------------------------------------------------------------------------ scoring


def score(metric: str, y_true: pd.Series[Any], y_pred: pd.Series[Any]) -> float:
    """Score predictions with the product's own metric (``agentk.competitions.metrics``)."""
    return get_metric(metric)(y_true.to_numpy(), y_pred.to_numpy())


# ------------------------------------------------------------------------------------------- teams


def _one_hot() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OneHotEncoder(handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=True),
    )


def _ordinal() -> Pipeline:
    return make_pipeline(
        SimpleImputer(strategy="constant", fill_value="missing"),
        OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1),
    )


def _text_length(values: Any) -> np.ndarray[Any, Any]:
    column = pd.Series(np.asarray(values, dtype=object).ravel()).fillna("").astype(str)
    return np.column_stack([np.log1p(column.str.len()), np.log1p(column.str.count(r"\S+"))])


def preprocessor(data: Data, kind: str, subset: str = "all", text: Any = None) -> ColumnTransformer:
    """Columns -> model inputs.

    Args:
        kind: ``"linear"`` (impute, scale, one-hot) or ``"tree"`` (impute, ordinal codes).
        subset: ``"all"``, ``"numeric"`` or ``"categorical"`` tabular columns.
        text: a vectoriser for the text column (None: the text column is left out).
    """
    parts: list[tuple[str, Any, Any]] = []
    numeric = data.numeric if subset in {"all", "numeric"} else []
    categorical = data.categorical if subset in {"all", "categorical"} else []
    if numeric:
        steps = [SimpleImputer(strategy="median")] + ([StandardScaler()] if kind == "linear" else [])
        parts.append(("num", make_pipeline(*steps), numeric))
    if categorical:
        parts.append(("cat", _one_hot() if kind == "linear" else _ordinal(), categorical))
    if text is not None:
        parts.append(("text", text, data.text[0]))
    return ColumnTransformer(parts, sparse_threshold=1.0 if kind == "linear" else 0.0)


def _lgbm(task: str, **params: Any) -> Any:
    import lightgbm as lgb

    base: dict[str, Any] = {
        "random_state": SEED,
        "n_jobs": 1,
        "verbose": -1,
        "deterministic": True,
        "force_row_wise": True,
    }
    base.update(params)
    return lgb.LGBMRegressor(**base) if task == "regression" else lgb.LGBMClassifier(**base)


@dataclass(frozen=True)
class Team:
    """One reference model: how to build it and which part of the training data it sees."""

    name: str
    build: Callable[[Data], Any]  # -> an unfitted estimator on the feature columns, or a constant
    fraction: float = 1.0
    log_target: bool = False


class Constant:
    """A trivial model: one prediction for every row (the string ``"prior"``, ``"mean"``... or a value)."""

    def __init__(self, how: str | float) -> None:
        self.how = how

    def fit(self, x: pd.DataFrame, y: pd.Series[Any]) -> Constant:
        if self.how == "prior":
            self.value_: Any = float(y.mean())
        elif self.how == "majority":
            counts = y.value_counts()
            self.value_ = sorted(counts[counts == counts.max()].index.tolist())[0]
        elif self.how == "mean":
            self.value_ = float(y.mean())
        elif self.how == "median":
            self.value_ = float(y.median())
        else:
            self.value_ = self.how
        return self

    def predict(self, x: pd.DataFrame) -> np.ndarray[Any, Any]:
        return np.full(len(x), self.value_, dtype=object if isinstance(self.value_, str) else float)


def tabular_teams(task: str) -> list[Team]:
    """The reference teams of a tabular competition of this task type."""
    reg = task == "regression"
    teams: list[Team] = []
    if reg:
        teams += [
            Team("baseline: constant mean", lambda d: Constant("mean")),
            Team("baseline: constant median", lambda d: Constant("median")),
            Team("ridge (alpha 1)", lambda d: make_pipeline(preprocessor(d, "linear"), Ridge(1.0))),
            Team(
                "ridge on log target (alpha 10)",
                lambda d: make_pipeline(preprocessor(d, "linear"), Ridge(10.0)),
                log_target=True,
            ),
            Team(
                "ridge on log target, numeric only",
                lambda d: make_pipeline(preprocessor(d, "linear", "numeric"), Ridge(1.0)),
                log_target=True,
            ),
            Team(
                "ridge on log target, categorical only",
                lambda d: make_pipeline(preprocessor(d, "linear", "categorical"), Ridge(1.0)),
                log_target=True,
            ),
            Team(
                "ridge on log target, 10% of train",
                lambda d: make_pipeline(preprocessor(d, "linear"), Ridge(10.0)),
                fraction=0.1,
                log_target=True,
            ),
            Team(
                "k-nearest neighbours (k=10)",
                lambda d: make_pipeline(preprocessor(d, "linear", "numeric"), KNeighborsRegressor(10)),
                log_target=True,
            ),
        ]
        tree: Callable[..., Any] = DecisionTreeRegressor
        forest: Callable[..., Any] = RandomForestRegressor
        extra: Callable[..., Any] = ExtraTreesRegressor
        hgb: Callable[..., Any] = HistGradientBoostingRegressor
    else:
        const = "prior" if task == "binary" else "majority"
        teams += [
            Team(f"baseline: constant {const}", lambda d: Constant(const)),
            Team(
                "logistic regression (C=1)",
                lambda d: make_pipeline(preprocessor(d, "linear"), LogisticRegression(C=1.0, max_iter=2000)),
            ),
            Team(
                "logistic regression (C=0.01)",
                lambda d: make_pipeline(preprocessor(d, "linear"), LogisticRegression(C=0.01, max_iter=2000)),
            ),
            Team(
                "logistic regression, numeric only",
                lambda d: make_pipeline(preprocessor(d, "linear", "numeric"), LogisticRegression(max_iter=2000)),
            ),
            Team(
                "logistic regression, 10% of train",
                lambda d: make_pipeline(preprocessor(d, "linear"), LogisticRegression(max_iter=2000)),
                fraction=0.1,
            ),
            Team(
                "gaussian naive Bayes, numeric only",
                lambda d: make_pipeline(preprocessor(d, "linear", "numeric"), GaussianNB()),
            ),
            Team(
                "k-nearest neighbours (k=5)",
                lambda d: make_pipeline(preprocessor(d, "linear", "numeric"), KNeighborsClassifier(5)),
            ),
            Team(
                "k-nearest neighbours (k=50)",
                lambda d: make_pipeline(preprocessor(d, "linear", "numeric"), KNeighborsClassifier(50)),
            ),
        ]
        if task == "binary":
            teams.append(Team("baseline: constant 0.5", lambda d: Constant(0.5)))
        tree = DecisionTreeClassifier
        forest = RandomForestClassifier
        extra = ExtraTreesClassifier
        hgb = HistGradientBoostingClassifier
    log = reg  # tree models on a log price
    teams += [
        Team(
            "decision tree (depth 2)",
            lambda d: make_pipeline(preprocessor(d, "tree"), tree(max_depth=2, random_state=SEED)),
            log_target=log,
        ),
        Team(
            "decision tree (depth 6)",
            lambda d: make_pipeline(preprocessor(d, "tree"), tree(max_depth=6, random_state=SEED)),
            log_target=log,
        ),
        Team(
            "decision tree (unpruned)",
            lambda d: make_pipeline(preprocessor(d, "tree"), tree(random_state=SEED)),
            log_target=log,
        ),
        Team(
            "random forest (100 trees)",
            lambda d: make_pipeline(preprocessor(d, "tree"), forest(n_estimators=100, random_state=SEED)),
            log_target=log,
        ),
        Team(
            "random forest (300 trees, min leaf 5)",
            lambda d: make_pipeline(
                preprocessor(d, "tree"), forest(n_estimators=300, min_samples_leaf=5, random_state=SEED)
            ),
            log_target=log,
        ),
        Team(
            "random forest, 25% of train",
            lambda d: make_pipeline(preprocessor(d, "tree"), forest(n_estimators=100, random_state=SEED)),
            fraction=0.25,
            log_target=log,
        ),
        Team(
            "extra trees (200 trees, min leaf 3)",
            lambda d: make_pipeline(
                preprocessor(d, "tree"), extra(n_estimators=200, min_samples_leaf=3, random_state=SEED)
            ),
            log_target=log,
        ),
        Team(
            "hist gradient boosting (defaults)",
            lambda d: make_pipeline(preprocessor(d, "tree"), hgb(random_state=SEED)),
            log_target=log,
        ),
        Team(
            "hist gradient boosting, 10% of train",
            lambda d: make_pipeline(preprocessor(d, "tree"), hgb(random_state=SEED)),
            fraction=0.1,
            log_target=log,
        ),
        Team(
            "lightgbm (defaults)",
            lambda d: make_pipeline(preprocessor(d, "tree"), _lgbm(task)),
            log_target=log,
        ),
        Team(
            "lightgbm (600 trees, lr 0.02, 15 leaves)",
            lambda d: make_pipeline(
                preprocessor(d, "tree"),
                _lgbm(
                    task,
                    n_estimators=600,
                    learning_rate=0.02,
                    num_leaves=15,
                    subsample=0.8,
                    subsample_freq=1,
                    colsample_bytree=0.7,
                ),
            ),
            log_target=log,
        ),
        Team(
            "lightgbm (300 trees, 127 leaves, no regularisation)",
            lambda d: make_pipeline(
                preprocessor(d, "tree"), _lgbm(task, n_estimators=300, num_leaves=127, min_child_samples=2)
            ),
            log_target=log,
        ),
        Team(
            "lightgbm (200 stumps)",
            lambda d: make_pipeline(preprocessor(d, "tree"), _lgbm(task, n_estimators=200, max_depth=1)),
            log_target=log,
        ),
        Team(
            "lightgbm (20 trees)",
            lambda d: make_pipeline(preprocessor(d, "tree"), _lgbm(task, n_estimators=20)),
            log_target=log,
        ),
        Team(
            "lightgbm, numeric only",
            lambda d: make_pipeline(preprocessor(d, "tree", "numeric"), _lgbm(task)),
            log_target=log,
        ),
        Team(
            "lightgbm, 25% of train",
            lambda d: make_pipeline(preprocessor(d, "tree"), _lgbm(task)),
            fraction=0.25,
            log_target=log,
        ),
        Team(
            "lightgbm, 50% of train",
            lambda d: make_pipeline(preprocessor(d, "tree"), _lgbm(task)),
            fraction=0.5,
            log_target=log,
        ),
    ]
    if reg:
        teams += [
            Team(
                "lightgbm on raw target (defaults)",
                lambda d: make_pipeline(preprocessor(d, "tree"), _lgbm(task)),
            ),
            Team(
                "random forest on raw target (100 trees)",
                lambda d: make_pipeline(preprocessor(d, "tree"), forest(n_estimators=100, random_state=SEED)),
            ),
        ]
    return teams


def _words(**params: Any) -> TfidfVectorizer:
    return TfidfVectorizer(sublinear_tf=True, min_df=2, **params)


def _lr_text(vectoriser: Any, c: float = 1.0) -> Callable[[Data], Any]:
    return lambda d: make_pipeline(
        preprocessor(d, "linear", "none", clone(vectoriser)), LogisticRegression(C=c, max_iter=3000)
    )


def text_teams() -> list[Team]:
    """The reference teams of a binary text competition."""
    length = FunctionTransformer(_text_length)
    return [
        Team("baseline: constant prior", lambda d: Constant("prior")),
        Team("baseline: constant 0.5", lambda d: Constant(0.5)),
        Team(
            "logistic regression on review length",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", make_pipeline(clone(length), StandardScaler())),
                LogisticRegression(),
            ),
        ),
        Team("tf-idf words + logistic regression (C=0.1)", _lr_text(_words(), 0.1)),
        Team("tf-idf words + logistic regression (C=1)", _lr_text(_words(), 1.0)),
        Team("tf-idf words + logistic regression (C=3)", _lr_text(_words(), 3.0)),
        Team("tf-idf words + logistic regression (C=30)", _lr_text(_words(), 30.0)),
        Team("tf-idf 1-2 grams + logistic regression (C=3)", _lr_text(_words(ngram_range=(1, 2)), 3.0)),
        Team(
            "tf-idf char 2-5 grams + logistic regression (C=3)",
            _lr_text(_words(analyzer="char_wb", ngram_range=(2, 5), max_features=100_000), 3.0),
        ),
        Team("tf-idf top 100 words + logistic regression", _lr_text(_words(max_features=100), 1.0)),
        Team("tf-idf top 1000 words + logistic regression", _lr_text(_words(max_features=1000), 3.0)),
        Team(
            "tf-idf words, no stop words + logistic regression",
            _lr_text(_words(stop_words="english"), 3.0),
        ),
        Team("binary bag of words + logistic regression", _lr_text(CountVectorizer(binary=True, min_df=2), 0.3)),
        Team("tf-idf words + logistic regression, 10% of train", _lr_text(_words(), 3.0), fraction=0.1),
        Team("tf-idf words + logistic regression, 25% of train", _lr_text(_words(), 3.0), fraction=0.25),
        Team("tf-idf words + logistic regression, 50% of train", _lr_text(_words(), 3.0), fraction=0.5),
        Team(
            "multinomial naive Bayes on word counts",
            lambda d: make_pipeline(preprocessor(d, "linear", "none", CountVectorizer(min_df=2)), MultinomialNB()),
        ),
        Team(
            "multinomial naive Bayes on tf-idf 1-2 grams",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", _words(ngram_range=(1, 2))), MultinomialNB(alpha=0.1)
            ),
        ),
        Team(
            "tf-idf + SGD (modified huber)",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", _words(ngram_range=(1, 2))),
                SGDClassifier(loss="modified_huber", alpha=1e-4, random_state=SEED),
            ),
        ),
        Team(
            "tf-idf + SVD 100 + logistic regression",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", _words()),
                TruncatedSVD(100, random_state=SEED),
                LogisticRegression(max_iter=2000),
            ),
        ),
        Team(
            "tf-idf + lightgbm (300 trees)",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", _words(max_features=5000)),
                _lgbm("binary", n_estimators=300, learning_rate=0.05, num_leaves=31, colsample_bytree=0.5),
            ),
        ),
        Team(
            "tf-idf + random forest (200 trees)",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", _words(max_features=5000)),
                RandomForestClassifier(n_estimators=200, min_samples_leaf=2, random_state=SEED, n_jobs=1),
            ),
        ),
        Team(
            "tf-idf + decision tree (depth 8)",
            lambda d: make_pipeline(
                preprocessor(d, "linear", "none", _words(max_features=5000)),
                DecisionTreeClassifier(max_depth=8, random_state=SEED),
            ),
        ),
    ]


def teams_for(data: Data) -> list[Team]:
    """The reference teams of one competition."""
    if data.text:
        return text_teams()
    return tabular_teams(data.spec.task_type)


def run_team(team: Team, data: Data) -> pd.Series[Any]:
    """Train one team on (a fraction of) train and return its predictions for test, indexed like test."""
    train = data.train
    if team.fraction < 1.0:
        train = train.sample(frac=team.fraction, random_state=SEED)
    features = [c for c in data.test.columns if c != bundled.ID_COLUMN]
    x, y = train[features], train[data.target]
    if team.log_target:
        y = np.log(y)
    model = team.build(data)
    metric = data.spec.metric
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the deliberately weak teams
        model.fit(x, y)
        if metric in {"auc", "logloss"} and not isinstance(model, Constant):
            pred = model.predict_proba(data.test[features])[:, 1]
        else:
            pred = model.predict(data.test[features])
    if team.log_target:
        pred = np.exp(pred)
    if metric == "rmse_log":
        pred = np.maximum(np.asarray(pred, dtype=float), 1.0)
    return pd.Series(pred, index=data.test.index)


def score_team(team: Team, data: Data) -> float:
    """The team's score on the answers, rounded as on the leaderboard."""
    pred = run_team(team, data)
    answers = data.answers.set_index(bundled.ID_COLUMN)[data.target]
    truth = answers.loc[data.test[bundled.ID_COLUMN]].reset_index(drop=True)
    return round(score(data.spec.metric, truth, pred.reset_index(drop=True)), SCORE_DECIMALS)


def leaderboard(scores: dict[str, float], higher_is_better: bool) -> pd.DataFrame:
    """Scores -> the local leaderboard format, best first; ties share a rank, then sort by name."""
    frame = pd.DataFrame({"team_name": list(scores), "score": list(scores.values())})
    frame = frame.sort_values(["score", "team_name"], ascending=[not higher_is_better, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", frame["score"].rank(method="min", ascending=not higher_is_better).astype(int))
    frame.insert(1, "team_id", range(1, len(frame) + 1))
    frame["submission_date"] = SUBMISSION_DATE
    return frame


def write_leaderboard(frame: pd.DataFrame, path: Path) -> None:
    """Write a leaderboard with fixed float formatting, no index, ``\\n`` line ends."""
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8", float_format=f"%.{SCORE_DECIMALS}f")


def build(name: str, out_dir: Path) -> pd.DataFrame:
    """Score every team of ``name`` and write ``out_dir/<name>/leaderboard.csv``."""
    with tempfile.TemporaryDirectory() as tmp:
        data = load(name, Path(tmp))
    scores: dict[str, float] = {}
    for team in teams_for(data):
        started = time.perf_counter()
        scores[team.name] = score_team(team, data)
        print(f"  {name:14s} {team.name:55s} {scores[team.name]:.6f}  {time.perf_counter() - started:5.1f}s")
    board = leaderboard(scores, data.spec.higher_is_better)
    (out_dir / name).mkdir(parents=True, exist_ok=True)
    write_leaderboard(board, out_dir / name / "leaderboard.csv")
    return board


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("names", nargs="*", help="competitions to rebuild (default: all)")
    parser.add_argument("--out", type=Path, default=BUILTIN_DIR, help="package data folder")
    args = parser.parse_args(argv)
    names = args.names or [spec.name for spec in bundled.list_builtin()]
    for name in names:
        board = build(name, args.out)
        scores = board["score"]
        print(
            f"{name}: {len(board)} teams, best {scores.iloc[0]:.6f}, median {scores.median():.6f}, "
            f"worst {scores.iloc[-1]:.6f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
