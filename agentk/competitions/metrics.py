"""The metric registry: canonical name -> :class:`Metric` (function, direction, input kind).

Every metric validates its inputs and raises :class:`~agentk.errors.SubmissionError` with a message a user
can act on (length mismatch, NaN, negative values for log metrics, probabilities outside [0, 1], ...).
Kaggle's ``evaluationMetric`` names ("Categorization Accuracy", "Root Mean Squared Logarithmic Error",
"MAP@{5}", ...) resolve through :func:`get_metric`, which ignores case, spaces, dashes, underscores and
punctuation.

Conventions shared by the binary metrics (``f1``, ``auc``, ``logloss``): labels must take at most two
values; the positive class is ``1`` / ``True`` when the labels are a subset of {0, 1}, else the larger
label. Metrics whose input is ``"multi_proba"`` accept ``y_true`` as 1-D labels or as a 2-D (n, k)
indicator matrix; 1-D integer labels in ``[0, k)`` index the columns, any other labels map onto the
columns in sorted order and must then number exactly k.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import numpy.typing as npt

from agentk.competitions._metrics import _scores as s
from agentk.competitions._metrics._scores import LOGLOSS_EPS
from agentk.errors import SubmissionError, UnknownMetricError, UserInputError

__all__ = ["LOGLOSS_EPS", "Metric", "MetricInput", "get_metric", "list_metrics", "parse_metric_spec"]

MetricInput = Literal["label", "value", "proba", "multi_proba", "multi_value", "ranking", "text"]

_OVERRIDE_HINT = "set `metric:` in competition.yaml or pass --metric NAME"


@dataclass(frozen=True)
class Metric:
    """A scoring function with its direction and the kind of predictions it scores.

    Invariants: calling a metric never mutates its inputs, returns a finite ``float`` for every input it
    accepts, and raises :class:`~agentk.errors.SubmissionError` for every input it cannot score.
    Two metrics are equal when their names, directions and input kinds are equal.
    """

    name: str
    higher_is_better: bool
    needs_proba: bool
    input: MetricInput
    description: str
    function: Callable[[Any, Any], float] = field(repr=False, compare=False)

    def __call__(self, y_true: npt.ArrayLike, y_pred: npt.ArrayLike) -> float:
        """Score ``y_pred`` against ``y_true``; raises SubmissionError for inputs it cannot score."""
        score = float(self.function(y_true, y_pred))
        if not math.isfinite(score):  # only extreme magnitudes get here (e.g. squares that overflow)
            raise SubmissionError(f"{self.name} of these values is {score}; are the values too large?")
        return score

    def better(self, a: float, b: float) -> bool:
        """Whether score ``a`` is strictly better than score ``b`` (NaN is never better)."""
        return a > b if self.higher_is_better else a < b

    @property
    def worst(self) -> float:
        """A sentinel worse than every real score: ``-inf`` or ``inf``."""
        return -math.inf if self.higher_is_better else math.inf


# ---------------------------------------------------------------------------------------------------------
# the registry

# fmt: off
_METRICS: dict[str, Metric] = {m.name: m for m in (
    #      name                higher  proba  input          description / function
    Metric("accuracy",          True,  False, "label",       "fraction of labels predicted exactly",
           s.accuracy),
    Metric("balanced_accuracy", True,  False, "label",       "mean recall over the classes of y_true",
           s.balanced_accuracy),
    Metric("f1",                True,  False, "label",       "binary F1 of the positive class (1/True/max)",
           s.f1_binary),
    Metric("f1_macro",          True,  False, "label",       "unweighted mean of per-class F1",
           partial(s.f1_average, average="macro")),
    Metric("f1_micro",          True,  False, "label",       "F1 of pooled per-class counts",
           partial(s.f1_average, average="micro")),
    Metric("auc",               True,  True,  "proba",       "binary ROC AUC of P(positive)",
           s.auc),
    Metric("auc_ovr",           True,  True,  "multi_proba", "multiclass ROC AUC, one-vs-rest, macro mean",
           partial(s.auc_columns, one_per_row=True)),
    Metric("auc_multilabel",    True,  True,  "multi_proba", "mean column-wise ROC AUC over labels",
           partial(s.auc_columns, one_per_row=False)),
    Metric("logloss",           False, True,  "proba",       "binary log loss, clipped at 1e-15",
           s.logloss),
    Metric("mlogloss",          False, True,  "multi_proba", "multiclass log loss, clipped, rows normalised",
           s.mlogloss),
    Metric("rmse",              False, False, "value",       "root mean squared error",
           s.rmse),
    Metric("mse",               False, False, "value",       "mean squared error",
           s.mse),
    Metric("rmsle",             False, False, "value",       "root mean squared error of log(1 + x)",
           s.rmsle),
    Metric("rmse_log",          False, False, "value",       "root mean squared error of log(x)",
           s.rmse_log),
    Metric("mae",               False, False, "value",       "mean absolute error",
           s.mae),
    Metric("r2",                True,  False, "value",       "coefficient of determination",
           s.r2),
    Metric("mcrmsle",           False, False, "multi_value", "mean column-wise RMSLE",
           s.mcrmsle),
    Metric("mcrmse",            False, False, "multi_value", "mean column-wise RMSE",
           s.mcrmse),
    Metric("logloss_multilabel", False, True, "multi_proba", "mean column-wise binary log loss over labels",
           s.logloss_columns),
    Metric("qwk",               True,  False, "label",       "quadratic weighted kappa of integer ratings",
           s.qwk),
    Metric("mcc",               True,  False, "label",       "Matthews correlation coefficient",
           s.mcc),
    Metric("jaccard",           True,  False, "text",        "mean word-level Jaccard similarity",
           s.jaccard),
)}
# fmt: on

_ALIASES: dict[str, str] = {
    **{a: "accuracy" for a in ("categorizationaccuracy", "classificationaccuracy", "accuracyscore", "acc")},
    **{a: "balanced_accuracy" for a in ("balancedaccuracyscore", "meanrecall")},
    **{a: "f1" for a in ("f1score", "fscore", "meanfscore", "fmeasure", "binaryf1", "f1binary")},
    **{a: "f1_macro" for a in ("macrof1", "macrofscore", "macroaveragedf1", "meanf1macro")},
    **{a: "f1_micro" for a in ("microf1", "microfscore", "microaveragedf1")},
    **{
        a: "auc"
        for a in (
            "rocauc",
            "aucroc",
            "auroc",
            "areaunderroccurve",
            "areaunderthecurve",
            "binaryauc",
            "areaunderreceiveroperatingcharacteristiccurve",
        )
    },
    **{a: "auc_ovr" for a in ("multiclassauc", "rocaucovr", "aucmulticlass", "multiclassrocauc")},
    **{a: "auc_multilabel" for a in ("meancolumnwiseauc", "meancolumnwiserocauc", "columnwiseauc", "multilabelauc")},
    **{a: "logloss" for a in ("binarylogloss", "logarithmicloss", "binarycrossentropy", "crossentropy")},
    **{a: "mlogloss" for a in ("multiclasslogloss", "multiclassloss", "multilogloss", "categoricalcrossentropy")},
    **{a: "rmse" for a in ("rootmeansquarederror", "rootmeansquareerror")},
    **{a: "mse" for a in ("meansquarederror", "meansquareerror")},
    **{a: "rmsle" for a in ("rootmeansquaredlogarithmicerror", "rootmeansquaredlogerror")},
    **{a: "rmse_log" for a in ("rmseoflogs", "logrmse", "rootmeansquarederroroflogs")},
    **{a: "mae" for a in ("meanabsoluteerror",)},
    **{a: "r2" for a in ("r2score", "rsquared", "coefficientofdetermination")},
    **{
        a: "mcrmsle"
        for a in (
            "meancolumnwisermsle",
            "columnwisermsle",
            "meancolumnwiserootmeansquaredlogarithmicerror",
            "meancolumnwiserootmeansquaredlogerror",
        )
    },
    **{
        a: "mcrmse"
        for a in (
            "meancolumnwisermse",
            "columnwisermse",
            "meancolumnwiserootmeansquarederror",
            "meancolumnwiserootmeansquareerror",
        )
    },
    **{
        a: "logloss_multilabel"
        for a in ("multilabellogloss", "meancolumnwiselogloss", "columnwiselogloss", "multilabelbinarycrossentropy")
    },
    **{a: "qwk" for a in ("quadraticweightedkappa", "quadraticweightedcohenskappa", "cohenskappaquadratic")},
    **{a: "mcc" for a in ("matthewscorrelationcoefficient", "matthewscorrcoef")},
    **{a: "jaccard" for a in ("jaccardscore", "jaccardindex", "jaccardsimilarity", "wordleveljaccard")},
}

_MAP_RE = re.compile(r"^(?:map|meanaverageprecision)(?:@|at)(\d+|k)$")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9@]", "", name.lower())


def _lookup() -> dict[str, str]:
    table = {_key(name): name for name in _METRICS}
    table.update(_ALIASES)
    return table


_LOOKUP = _lookup()


def _map_metric(k: int) -> Metric:
    return Metric(
        f"map@{k}",
        True,
        False,
        "ranking",
        f"mean average precision at {k} of space-separated predictions",
        partial(s.map_at_k, k=k),
    )


def _known_names() -> str:
    return ", ".join([*_METRICS, "map@K"])


def get_metric(name: str) -> Metric:
    """The metric called ``name`` (a canonical name, an alias or a Kaggle ``evaluationMetric``).

    Raises:
        UnknownMetricError: no metric has that name, or a MAP@K name gives no K.
    """
    key = _key(name)
    if key in _LOOKUP:
        return _METRICS[_LOOKUP[key]]
    match = _MAP_RE.match(key)
    if match:
        if match.group(1) == "k" or int(match.group(1)) < 1:
            raise UnknownMetricError(
                f"metric {name!r} does not say how many predictions count; name it like map@5",
                hint=_OVERRIDE_HINT,
            )
        return _map_metric(int(match.group(1)))
    raise UnknownMetricError(f"unknown metric {name!r}; known metrics: {_known_names()}", hint=_OVERRIDE_HINT)


def list_metrics() -> list[Metric]:
    """Every registered metric except the parameterised ``map@k`` (get it with ``get_metric("map@5")``)."""
    return list(_METRICS.values())


_DIRECTIONS = {"higher": True, "lower": False}


def parse_metric_spec(text: str) -> tuple[Metric, bool]:
    """Parse a ``metric.txt``: ``<name> [higher|lower] [(free text)]``.

    The name may have several words ("Root Mean Squared Error lower"). Without a direction word the
    metric's own direction applies.

    Returns:
        The metric and whether higher scores are better.

    Raises:
        UserInputError: the text is empty, or its direction contradicts the metric's.
        UnknownMetricError: the name is not a known metric.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if not lines:
        raise UserInputError("the metric spec is empty; write e.g. `rmse lower`", hint=_OVERRIDE_HINT)
    head = lines[0].split("(", 1)[0].split()
    direction: bool | None = None
    for i, word in enumerate(head):
        if word.lower() in _DIRECTIONS:
            direction = _DIRECTIONS[word.lower()]
            head = head[:i]
            break
    if not head:
        raise UserInputError(f"the metric spec {lines[0]!r} names no metric", hint=_OVERRIDE_HINT)
    metric = get_metric(" ".join(head))
    if direction is not None and direction != metric.higher_is_better:
        said, own = ("higher", "lower") if direction else ("lower", "higher")
        raise UserInputError(
            f"the metric spec {lines[0]!r} says {said} is better, but for {metric.name} {own} is better",
            hint="fix the direction word in metric.txt",
        )
    return metric, metric.higher_is_better
