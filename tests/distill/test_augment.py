"""HARD-style candidates: plausible perturbations of real rows, ranked by disagreement."""

from __future__ import annotations

import numpy as np
import pandas as pd

from agentk.competitions import Modality
from agentk.distill import disagreement, perturb


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "x": rng.normal(size=200),
            "count": rng.integers(0, 10, size=200),
            "colour": rng.choice(["red", "green", "blue"], size=200),
            "note": rng.choice(["a b", "c d e"], size=200),
        }
    )


def test_perturbed_rows_stay_plausible() -> None:
    frame = _frame()
    columns = {"x": Modality.NUMERIC, "count": Modality.NUMERIC, "colour": Modality.CATEGORICAL, "note": Modality.TEXT}
    out = perturb(frame, columns, 500, np.random.default_rng(1))
    assert list(out.columns) == list(frame.columns)
    assert len(out) == 500
    assert out["x"].between(frame["x"].min(), frame["x"].max()).all()
    assert (out["count"] == out["count"].round()).all()  # integer columns stay integers
    assert set(out["colour"]) <= set(frame["colour"])
    assert set(out["note"]) <= set(frame["note"])
    assert not out["x"].isin(frame["x"]).all()  # something actually moved


def test_disagreement_is_total_variation_or_scaled_gap() -> None:
    t = np.array([[0.9, 0.1], [0.5, 0.5]])
    s = np.array([[0.1, 0.9], [0.5, 0.5]])
    assert np.allclose(disagreement(t, s), [0.8, 0.0])
    assert np.allclose(disagreement(np.array([1.0, 3.0]), np.array([2.0, 3.0]), scale=2.0), [0.5, 0.0])
