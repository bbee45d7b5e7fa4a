"""Student models: a shallow LightGBM, a small MLP and a linear model, with ONNX export.

Students read the float matrix of :class:`~agentk.distill.StudentEncoder`. They are plain scikit-learn
estimators (``StudentClassifier``/``StudentRegressor``) so the estimator checks test them; soft targets reach
them as weighted hard rows (see :mod:`agentk.distill._targets`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

KINDS = ("lightgbm", "mlp", "linear")
_ONNX_OPSET = 15  # the highest onnxmltools' LightGBM converter accepts


@dataclass(frozen=True)
class StudentSpec:
    """An architecture and size: what the latency/size budget chooses between."""

    kind: str
    size: str

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.size}"

    @property
    def params(self) -> dict[str, Any]:
        return dict(_SIZES[(self.kind, self.size)])


_SIZES: dict[tuple[str, str], dict[str, Any]] = {
    ("lightgbm", "tiny"): {"n_estimators": 40, "num_leaves": 7, "learning_rate": 0.2},
    ("lightgbm", "small"): {"n_estimators": 60, "num_leaves": 15, "learning_rate": 0.12},
    # Between small and medium: s3e1's 20x latency budget (~7.8 ms / 1,000 rows) held small but not medium.
    ("lightgbm", "compact"): {"n_estimators": 120, "num_leaves": 23, "learning_rate": 0.08},
    ("lightgbm", "medium"): {"n_estimators": 200, "num_leaves": 31, "learning_rate": 0.06},
    ("lightgbm", "large"): {"n_estimators": 500, "num_leaves": 31, "learning_rate": 0.04},
    ("mlp", "small"): {"hidden": (32,), "max_iter": 60},
    ("mlp", "medium"): {"hidden": (64, 32), "max_iter": 80},
    ("linear", "small"): {"C": 1.0},
}
SPECS: tuple[StudentSpec, ...] = tuple(StudentSpec(k, s) for k, s in _SIZES)


def get_spec(name: str) -> StudentSpec:
    """``"lightgbm-small"`` -> its :class:`StudentSpec`."""
    for spec in SPECS:
        if spec.name == name:
            return spec
    raise ValueError(f"unknown student {name!r}; known: {', '.join(s.name for s in SPECS)}")


def _build(kind: str, size: str, classification: bool, seed: int) -> Any:
    params = _SIZES[(kind, size)]
    if kind == "lightgbm":
        import lightgbm as lgb

        common: dict[str, Any] = {
            "n_estimators": params["n_estimators"],
            "num_leaves": params["num_leaves"],
            "learning_rate": params["learning_rate"],
            "min_child_samples": 10,
            "subsample": 0.8,
            "subsample_freq": 1,
            "colsample_bytree": 0.8,
            "reg_lambda": 1.0,
            "n_jobs": 1,
            "random_state": seed,
            "verbose": -1,
        }
        return lgb.LGBMClassifier(**common) if classification else lgb.LGBMRegressor(**common)
    steps: list[tuple[str, Any]] = [("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())]
    if kind == "linear":
        model: Any = (
            LogisticRegression(C=params["C"], max_iter=1000, random_state=seed)
            if classification
            else Ridge(alpha=1.0 / params["C"])
        )
    elif kind == "mlp":
        mlp_args: dict[str, Any] = {
            "hidden_layer_sizes": params["hidden"],
            "max_iter": params["max_iter"],
            "alpha": 1e-3,
            "learning_rate_init": 3e-3,
            "batch_size": 256,
            "random_state": seed,
        }
        model = MLPClassifier(**mlp_args) if classification else MLPRegressor(**mlp_args)
    else:
        raise ValueError(f"unknown student kind {kind!r}; known: {', '.join(KINDS)}")
    return Pipeline([*steps, ("model", model)])


def _fit_quietly(model: Any, X: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None) -> None:
    key = "sample_weight" if not isinstance(model, Pipeline) else "model__sample_weight"
    kwargs = {} if sample_weight is None else {key: sample_weight}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # a capped MLP/linear fit is the point of a student
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        warnings.filterwarnings("ignore", message="Got `batch_size` less than 1 or larger than sample size")
        model.fit(X, y, **kwargs)


class _StudentBase(BaseEstimator):  # type: ignore[misc]
    def __init__(self, kind: str = "lightgbm", size: str = "small", seed: int = 0) -> None:
        self.kind = kind
        self.size = size
        self.seed = seed

    def _check_kind(self) -> None:
        if (self.kind, self.size) not in _SIZES:
            raise ValueError(f"unknown student {self.kind}-{self.size}")

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are data: trees route them, pipelines impute them
        return tags

    def _fit_data(self, X: Any, y: Any, sample_weight: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        self._check_kind()
        X, y = validate_data(self, X, y, dtype=np.float32, ensure_all_finite="allow-nan", **kwargs)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=float)
            if not np.any(sample_weight > 0):
                raise ValueError("the sample weights are all zero: nothing to fit")
        return X, y, sample_weight

    def _predict_data(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "model_")
        return np.asarray(validate_data(self, X, dtype=np.float32, ensure_all_finite="allow-nan", reset=False))

    def to_onnx(self) -> bytes:
        """The fitted model as an ONNX graph: input ``x`` float32 ``(n, n_features_in_)``."""
        check_is_fitted(self, "model_")
        n = int(self.n_features_in_)
        if self.kind == "lightgbm":
            from onnxmltools import convert_lightgbm
            from onnxmltools.convert.common.data_types import FloatTensorType

            proto = convert_lightgbm(
                self.model_, initial_types=[("x", FloatTensorType([None, n]))], zipmap=False, target_opset=_ONNX_OPSET
            )
        else:
            from skl2onnx import to_onnx
            from skl2onnx.common.data_types import FloatTensorType as SklFloat

            last = self.model_.steps[-1][1]
            options = {id(last): {"zipmap": False}} if isinstance(self, ClassifierMixin) else None
            proto = to_onnx(
                self.model_, initial_types=[("x", SklFloat([None, n]))], options=options, target_opset=_ONNX_OPSET
            )
        return bytes(proto.SerializeToString())


class StudentClassifier(ClassifierMixin, _StudentBase):  # type: ignore[misc]
    """A small classifier (``kind`` in ``lightgbm``, ``mlp``, ``linear``; ``size`` per :data:`SPECS`).

    ``fit(X, y, sample_weight)`` with soft targets expanded to weighted rows; ``predict_proba`` gives one
    column per class of ``classes_``.
    """

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> StudentClassifier:
        X, y, sample_weight = self._fit_data(X, y, sample_weight)
        self.classes_ = unique_labels(y)
        codes = np.searchsorted(self.classes_, y)
        if len(self.classes_) < 2:
            self.model_: Any = None
            return self
        self.model_ = _build(self.kind, self.size, True, self.seed)
        _fit_quietly(self.model_, X, codes, sample_weight)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        X = self._predict_data(X)
        if self.model_ is None:
            return np.ones((len(X), 1))
        return np.asarray(self.model_.predict_proba(X), dtype=float)

    def predict(self, X: Any) -> np.ndarray:
        proba = self.predict_proba(X)  # checks that the student is fitted
        return np.asarray(self.classes_[np.argmax(proba, axis=1)])


class StudentRegressor(RegressorMixin, _StudentBase):  # type: ignore[misc]
    """A small regressor; the target is standardised for fitting and restored in :meth:`predict`."""

    def fit(self, X: Any, y: Any, sample_weight: np.ndarray | None = None) -> StudentRegressor:
        X, y, sample_weight = self._fit_data(X, y, sample_weight, y_numeric=True)
        y = np.asarray(y, dtype=float)
        self.y_mean_ = float(y.mean())
        self.y_scale_ = float(y.std()) or 1.0
        self.model_ = _build(self.kind, self.size, False, self.seed)
        _fit_quietly(self.model_, X, (y - self.y_mean_) / self.y_scale_, sample_weight)
        return self

    def predict(self, X: Any) -> np.ndarray:
        X = self._predict_data(X)
        raw = np.asarray(self.model_.predict(X), dtype=float).reshape(-1)
        return raw * self.y_scale_ + self.y_mean_


class OnnxRunner:
    """Runs an exported student with onnxruntime; output in the student's own space (see ``predict``)."""

    def __init__(self, model: bytes, classification: bool) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.log_severity_level = 3  # converters declare label shapes onnxruntime warns about; harmless
        options.intra_op_num_threads = 1
        self.session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        self.classification = classification
        self.input = self.session.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, k)`` for a classifier, values ``(n,)`` (before de-standardising) otherwise."""
        outputs = self.session.run(None, {self.input: np.ascontiguousarray(x, dtype=np.float32)})
        if self.classification:
            return np.asarray(outputs[1], dtype=float)
        return np.asarray(outputs[0], dtype=float).reshape(-1)
