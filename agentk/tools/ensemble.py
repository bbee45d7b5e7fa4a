"""Ensembles from out-of-fold predictions: Caruana hill climbing and linear stacking, chosen by nested CV.

Both methods learn from out-of-fold predictions, so scoring them on the same predictions is optimistic. To
choose honestly, each method is also fit on the out-of-fold rows of all folds but one and scored on the held-out
fold (nested CV); the method with the better nested score wins, and is then refit on every row.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge

from agentk.competitions import TaskType
from agentk.tools.cv import CVResult, Deadline, Predictor, WeightedPredictor
from agentk.tools.target import Target, TargetCodec

_ITERATIONS = 40
_STACK_ITERATIONS = 300


@dataclass(frozen=True)
class EnsembleChoice:
    """The chosen ensemble and the nested CV scores that chose it."""

    result: CVResult
    method: str
    nested: dict[str, float]


def hill_climb_weights(
    preds: list[np.ndarray], y: Target, codec: TargetCodec, iterations: int = _ITERATIONS
) -> np.ndarray:
    """Caruana's ensemble selection with replacement: weights are how often each model was picked."""
    counts = np.zeros(len(preds))
    score = codec.scorer(y)
    singles = [score(p) for p in preds]
    best_single = max(range(len(preds)), key=lambda i: _signed(codec, singles[i]))
    counts[best_single] = 1
    current = preds[best_single].copy()
    current_score = singles[best_single]
    for step in range(1, iterations):
        n = step + 1
        scores = [score((current * step + p) / n) for p in preds]
        pick = max(range(len(preds)), key=lambda i: _signed(codec, scores[i]))
        if not codec.metric.better(scores[pick], current_score) and step > 1:
            break
        counts[pick] += 1
        current = (current * step + preds[pick]) / n
        current_score = scores[pick]
    return np.asarray(counts / counts.sum(), dtype=float)


def _signed(codec: TargetCodec, score: float) -> float:
    return score if codec.metric.higher_is_better else -score


def _features(preds: list[np.ndarray]) -> np.ndarray:
    cols = [p.reshape(len(p), -1) for p in preds]
    stacked = np.hstack(cols)
    return np.log(np.clip(stacked, 1e-6, 1 - 1e-6) / np.clip(1 - stacked, 1e-6, 1)) if stacked.max() <= 1 else stacked


@dataclass
class StackedPredictor:
    """A stacker over base predictors (linear stacking ensembles)."""

    stacker: _Stacker
    members: list[Predictor]

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.stacker.predict([m.predict(frame) for m in self.members])


class _Stacker:
    """A linear model over the base models' predictions (logits for probabilities).

    Multi-label tasks get one logistic stacker per label over the base models' logits of that label (a label
    constant in the rows it is fit on predicts that constant); multi-target regression one ridge with a
    column per target.
    """

    def __init__(self, codec: TargetCodec) -> None:
        self.codec = codec
        self.classification = codec.is_classification
        self.multilabel = codec.task.task_type is TaskType.MULTILABEL

    def fit(self, preds: list[np.ndarray], target: np.ndarray) -> _Stacker:
        if self.multilabel:
            self.labels: list[LogisticRegression | float] = []
            for j in range(target.shape[1]):
                column = target[:, j]
                if column.min() == column.max():
                    self.labels.append(float(column[0]))
                    continue
                self.labels.append(_fit_quietly(LogisticRegression(C=1.0, max_iter=3000), _label(preds, j), column))
            return self
        x = _features(preds) if self.classification else np.hstack([p.reshape(len(p), -1) for p in preds])
        # The base models' logits are strongly correlated, so lbfgs can take thousands of small steps (over a
        # minute per fit on 16k rows x 7 classes x 10 models); a few hundred reach a stacker the nested CV can
        # judge.
        model = LogisticRegression(C=1.0, max_iter=_STACK_ITERATIONS) if self.classification else Ridge(alpha=1.0)
        self.model = _fit_quietly(model, x, target)
        return self

    def predict(self, preds: list[np.ndarray]) -> np.ndarray:
        if self.multilabel:
            n = len(preds[0])
            return np.column_stack(
                [
                    np.full(n, m) if isinstance(m, float) else m.predict_proba(_label(preds, j))[:, 1]
                    for j, m in enumerate(self.labels)
                ]
            )
        if not self.classification:
            return np.asarray(self.model.predict(np.hstack([p.reshape(len(p), -1) for p in preds])), dtype=float)
        proba = np.asarray(self.model.predict_proba(_features(preds)), dtype=float)
        return proba[:, 1] if self.codec.n_classes == 2 else proba


def _label(preds: list[np.ndarray], j: int) -> np.ndarray:
    """The base models' logits of label ``j`` (multi-label predictions are ``(n, L)``)."""
    return _features([p[:, j] for p in preds])


_Model = TypeVar("_Model", LogisticRegression, Ridge)


def _fit_quietly(model: _Model, x: np.ndarray, target: np.ndarray) -> _Model:
    with warnings.catch_warnings():
        # lbfgs may stop a hair short of its tolerance on correlated logits; the nested CV judges the result.
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x, target)
    return model


def choose_ensemble(
    pool: list[CVResult],
    y: Target,
    codec: TargetCodec,
    folds: list[tuple[np.ndarray, np.ndarray]],
    deadline: Deadline | None = None,
    *,
    methods: tuple[str, ...] = ("single", "hill_climb", "stack"),
) -> EnsembleChoice:
    """Best single model, hill climbing or stacking — whichever of ``methods`` scores best in nested CV.

    At the deadline the nested evaluation stops and the best single model is kept (method ``single``).
    """
    start = time.monotonic()
    complete = [r for r in pool if r.complete]
    if not complete:
        raise ValueError("no complete cross-validated result to ensemble")
    best = complete[0]
    for r in complete[1:]:
        if codec.metric.better(r.cv_score, best.cv_score):
            best = r
    if len(complete) == 1:
        return EnsembleChoice(best, "single", {"single": best.cv_score})
    oofs = [r.oof for r in complete]
    target = codec.encode(y)
    nested = {"single": _nested_single(oofs, y, codec, folds), "hill_climb": 0.0, "stack": 0.0}
    hc_oof = np.zeros_like(oofs[0])
    st_oof = np.zeros_like(oofs[0])
    for tr, va in folds:
        if deadline is not None and deadline.expired:
            return EnsembleChoice(best, "single", {"single": best.cv_score})
        w = hill_climb_weights([o[tr] for o in oofs], y.iloc[tr], codec)
        hc_oof[va] = sum(wi * o[va] for wi, o in zip(w, oofs, strict=True))
        st_oof[va] = _Stacker(codec).fit([o[tr] for o in oofs], target[tr]).predict([o[va] for o in oofs])
    nested["hill_climb"] = codec.score(y, hc_oof)
    nested["stack"] = codec.score(y, st_oof)
    method = max((m for m in nested if m in methods), key=lambda m: _signed(codec, nested[m]), default="single")
    if method == "single":
        return EnsembleChoice(best, "single", nested)
    if method == "hill_climb":
        w = hill_climb_weights(oofs, y, codec)
        test = np.asarray(sum(wi * r.test for wi, r in zip(w, complete, strict=True)))
        params: dict[str, object] = {
            "weights": {r.name: float(wi) for wi, r in zip(w, complete, strict=True) if wi > 0}
        }
        oof = hc_oof
        view_oof = np.asarray(sum(wi * o for wi, o in zip(w, oofs, strict=True)), dtype=float)
        predictor: Predictor | None = None
        if all(r.predictor is not None for r in complete):
            parts = [(float(wi), r.predictor) for wi, r in zip(w, complete, strict=True) if r.predictor is not None]
            predictor = WeightedPredictor(parts)
    else:
        stacker = _Stacker(codec).fit(oofs, target)
        test = stacker.predict([r.test for r in complete])
        params = {"stacked": [r.name for r in complete]}
        oof = st_oof
        view_oof = np.asarray(stacker.predict(oofs), dtype=float)
        predictor = None
        if all(r.predictor is not None for r in complete):
            predictor = StackedPredictor(stacker, [r.predictor for r in complete if r.predictor is not None])
    params["nested_cv"] = nested
    result = CVResult(
        f"ensemble:{method}",
        oof,
        test,
        nested[method],
        time.monotonic() - start,
        True,
        [],
        params,
        predictor,
        view_oof,
    )
    return EnsembleChoice(result, method, nested)


def _nested_single(
    oofs: list[np.ndarray], y: Target, codec: TargetCodec, folds: list[tuple[np.ndarray, np.ndarray]]
) -> float:
    """Pick the best model on the other folds, score it on the held-out fold."""
    chosen = np.zeros_like(oofs[0])
    for tr, va in folds:
        score = codec.scorer(y.iloc[tr])
        i = max(range(len(oofs)), key=lambda j: _signed(codec, score(oofs[j][tr])))
        chosen[va] = oofs[i][va]
    return codec.score(y, chosen)
