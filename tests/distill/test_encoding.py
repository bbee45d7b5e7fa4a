"""The student encoder: fold-safe codes, unseen and missing values, stable columns, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd

from agentk.competitions import Modality
from agentk.distill import StudentEncoder

COLUMNS = {"x": Modality.NUMERIC, "colour": Modality.CATEGORICAL, "when": Modality.DATETIME, "note": Modality.TEXT}


def _frame(colours: list[object]) -> pd.DataFrame:
    n = len(colours)
    return pd.DataFrame(
        {
            "x": np.arange(n, dtype=float),
            "colour": colours,
            "when": ["2024-01-0" + str(1 + i % 9) for i in range(n)],
            "note": ["Hello world!"] * n,
        }
    )


def test_codes_frequencies_and_indicators_are_learned_in_fit() -> None:
    encoder = StudentEncoder(COLUMNS).fit(_frame(["red", "red", "blue", None]))
    names = encoder.feature_names_
    assert {"colour", "colour__freq", "colour==red", "colour==blue", "when__month", "note__words"} <= set(names)
    x = encoder.transform(_frame(["blue", "green", None, "red"]))
    assert x.dtype == np.float32 and x.shape == (4, len(names))
    col = {n: x[:, i] for i, n in enumerate(names)}
    assert np.isnan(col["colour"][1]) and np.isnan(col["colour"][2])  # unseen and missing
    assert np.allclose(col["colour__freq"], [0.25, 0.0, 0.0, 0.5])
    assert np.allclose(col["colour==red"], [0, 0, 0, 1])
    assert np.allclose(col["note__words"], 2)


def test_numeric_looking_categories_and_pickling() -> None:
    encoder = StudentEncoder({"code": Modality.CATEGORICAL}).fit(pd.DataFrame({"code": [7, 7, 9]}))
    again = pickle.loads(pickle.dumps(encoder))
    frame = pd.DataFrame({"code": [9, 7, 8]})
    assert np.array_equal(again.transform(frame), encoder.transform(frame), equal_nan=True)
    assert np.isnan(encoder.transform(frame)[2, 0])


def test_integer_categories_read_as_floats_keep_their_codes() -> None:
    encoder = StudentEncoder({"code": Modality.CATEGORICAL}).fit(pd.DataFrame({"code": [60, 60, 20]}))
    x = encoder.transform(pd.DataFrame({"code": [60.0, np.nan, 20.0]}))  # a NaN made the test column float
    assert not np.isnan(x[0, 0]) and not np.isnan(x[2, 0]) and np.isnan(x[1, 0])


def test_text_gets_word_features() -> None:
    frame = pd.DataFrame({"note": ["fire in the hills", "calm sunny day", "fire alarm", "sunny day", None]})
    encoder = StudentEncoder({"note": Modality.TEXT}).fit(frame)
    assert "note__w_fire" in encoder.feature_names_ and "note__w_sunny day" in encoder.feature_names_
    x = encoder.transform(frame)
    assert x.shape == (5, len(encoder.feature_names_))
    assert x[0, encoder.feature_names_.index("note__w_fire")] > 0
    assert StudentEncoder({"note": Modality.TEXT}, text_features=0).fit(frame).transform(frame).shape == (5, 5)


def _levels_frame(n: int, n_levels: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    levels = rng.integers(0, n_levels, n)
    return pd.DataFrame({"c": [f"L{v}" for v in levels]}), levels


def test_wide_categories_get_cross_fitted_target_encodings() -> None:
    frame, levels = _levels_frame(800, 40, seed=0)
    y = (np.random.default_rng(1).random(800) < np.where(levels % 2 == 0, 0.9, 0.1)).astype(int)
    encoder = StudentEncoder({"c": Modality.CATEGORICAL}, target_type="binary")
    crossed = encoder.fit_transform(frame, y)
    te = encoder.feature_names_.index("c__te")
    full = encoder.transform(frame)
    assert crossed.shape == full.shape
    assert not np.allclose(crossed[:, te], full[:, te])  # each training row is encoded without its own label
    assert np.corrcoef(crossed[:, te], levels % 2 == 0)[0, 1] > 0.9  # and still carries the level's mean label
    x = encoder.transform(pd.DataFrame({"c": ["L0", "never seen", None]}))[:, te]
    assert x[0] > 0.7 and abs(x[1] - y.mean()) < 1e-6 and abs(x[2] - y.mean()) < 1e-6  # unseen, missing: the prior
    again = StudentEncoder({"c": Modality.CATEGORICAL}, target_type="binary").fit_transform(frame, y)
    assert np.array_equal(again, crossed, equal_nan=True)  # seeded folds: the same rows give the same matrix
    assert np.array_equal(pickle.loads(pickle.dumps(encoder)).transform(frame), full, equal_nan=True)


def test_target_encoding_of_a_shuffled_target_carries_no_signal() -> None:
    """Fold safety: with labels unrelated to the levels, a training row's encoding must not predict its label."""
    frame, _ = _levels_frame(2000, 300, seed=1)
    y = np.random.default_rng(2).integers(0, 2, len(frame))
    encoder = StudentEncoder({"c": Modality.CATEGORICAL}, target_type="binary")
    te = encoder.fit_transform(frame, y)[:, -1]
    assert encoder.feature_names_[-1] == "c__te"
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y, te) < 0.55  # chance: 0.5; encoding each row with its own label would score far above
    assert roc_auc_score(y, encoder.transform(frame)[:, -1]) > 0.6  # the in-sample lookup does read the labels


def test_multiclass_and_continuous_targets_and_narrow_columns() -> None:
    frame, levels = _levels_frame(600, 30, seed=3)
    multi = StudentEncoder({"c": Modality.CATEGORICAL}, target_type="multiclass")
    x = multi.fit_transform(frame, levels % 3)
    assert [n for n in multi.feature_names_ if "__te" in n] == ["c__te0", "c__te1", "c__te2"]
    assert x.shape == (600, len(multi.feature_names_))
    continuous = StudentEncoder({"c": Modality.CATEGORICAL}, target_type="continuous")
    x = continuous.fit_transform(frame, levels.astype(float))
    assert np.corrcoef(x[:, continuous.feature_names_.index("c__te")], levels)[0, 1] > 0.9
    narrow = StudentEncoder({"c": Modality.CATEGORICAL}, target_type="binary")
    narrow.fit_transform(pd.DataFrame({"c": ["a", "b"] * 50}), np.arange(100) % 2)
    assert not [n for n in narrow.feature_names_ if "__te" in n]  # few levels: 0/1 columns are enough
    assert not [n for n in StudentEncoder({"c": Modality.CATEGORICAL}).fit(frame, levels).feature_names_ if "te" in n]
