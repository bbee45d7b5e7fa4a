"""The students obey scikit-learn's estimator contract and export to ONNX faithfully."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from agentk.distill import StudentClassifier, StudentRegressor
from agentk.distill._students import OnnxRunner

_ESTIMATORS = [StudentClassifier("lightgbm"), StudentRegressor("lightgbm"), StudentClassifier("linear")]


def _expected_failed_checks(estimator: Any) -> dict[str, str]:
    # Weights are not exactly repeated rows: LightGBM bags rows, and the linear pipeline's scaler is unweighted
    # (soft targets only need the weighted loss, which both get right).
    return {"check_sample_weight_equivalence_on_dense_data": "weights reach the model, not every step"}


@parametrize_with_checks(_ESTIMATORS, expected_failed_checks=_expected_failed_checks)  # type: ignore[untyped-decorator]
def test_sklearn_contract(estimator: Any, check: Any) -> None:
    check(estimator)


@pytest.mark.parametrize("kind", ["lightgbm", "linear", "mlp"])
@pytest.mark.parametrize("n_classes", [0, 2, 3])
def test_onnx_export_matches_the_native_model(kind: str, n_classes: int) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5)).astype(np.float32)
    x[::9, 1] = np.nan
    signal = x[:, 0] + np.nan_to_num(x[:, 1])
    if n_classes:
        y = np.digitize(signal, np.quantile(signal, np.linspace(0, 1, n_classes + 1)[1:-1]))
        model: Any = StudentClassifier(kind).fit(x, y)
        native = model.predict_proba(x)
    else:
        model = StudentRegressor(kind).fit(x, signal * 3 + 1)
        native = (model.predict(x) - model.y_mean_) / model.y_scale_
    got = OnnxRunner(model.to_onnx(), classification=bool(n_classes)).run(x)
    assert got.shape == native.shape
    assert np.allclose(got, native, atol=1e-4)
