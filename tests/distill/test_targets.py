"""Soft targets: temperature, mixing with labels, and the weighted-row expansion."""

from __future__ import annotations

import numpy as np

from agentk.distill import soft_targets, soften
from agentk.distill._targets import as_proba, expand, mixed_regression


def test_temperature_one_keeps_and_higher_flattens() -> None:
    p = np.array([[0.7, 0.2, 0.1], [0.05, 0.9, 0.05]])
    assert np.allclose(soften(p, 1.0), p)
    flat = soften(p, 3.0)
    assert np.allclose(flat.sum(axis=1), 1.0)
    assert (flat.max(axis=1) < p.max(axis=1)).all()
    assert (np.argmax(flat, axis=1) == np.argmax(p, axis=1)).all()


def test_soft_targets_mix_labels_and_teacher() -> None:
    y = np.array([0, 1, -1])  # -1: a synthetic row, the teacher alone
    teacher = as_proba(np.array([0.2, 0.4, 0.9]), 2)
    assert np.allclose(soft_targets(y[:2], teacher[:2], alpha=1.0, temperature=1.0, n_classes=2), np.eye(2))
    q = soft_targets(y, teacher, alpha=0.5, temperature=1.0, n_classes=2)
    assert np.allclose(q, [[0.9, 0.1], [0.3, 0.7], [0.1, 0.9]])
    # A NaN teacher row (a fold the deadline cut) falls back to the label.
    teacher[0] = np.nan
    assert np.allclose(soft_targets(y, teacher, alpha=0.0, temperature=2.0, n_classes=2)[0], [1.0, 0.0])


def test_expansion_weights_are_the_soft_targets() -> None:
    x = np.arange(6, dtype=float).reshape(3, 2)
    q = np.array([[0.25, 0.75], [1.0, 0.0], [0.5, 0.5]])
    xe, ye, we = expand(x, q)
    assert len(xe) == 5  # the zero-weight row is dropped
    for i in range(3):
        rows = (xe == x[i]).all(axis=1)
        assert np.isclose(we[rows].sum(), 1.0)
        assert np.allclose(np.bincount(ye[rows], weights=we[rows], minlength=2), q[i])


def test_regression_mix_and_synthetic_rows() -> None:
    y = np.array([1.0, 2.0, np.nan])
    teacher = np.array([3.0, np.nan, 5.0])
    assert np.allclose(mixed_regression(y, teacher, alpha=0.5), [2.0, 2.0, 5.0])
    assert np.allclose(mixed_regression(y[:2], None, alpha=0.0), y[:2])


def test_public_names() -> None:
    import agentk.distill as distill

    assert sorted(distill.__all__) == sorted(n for n in distill.__all__ if hasattr(distill, n))
    assert {"distil", "load_student", "DistilledStudent", "fit_student", "STUDENT_FILE"} <= set(distill.__all__)
    assert {"distil_for_run", "StudentReport", "STUDENT_ONNX", "STUDENT_REPORT"} <= set(distill.__all__)
