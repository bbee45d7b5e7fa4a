"""The student encoder: fold-safe codes, unseen and missing values, stable columns, pickling."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

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


def _cabins(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    decks, sides = rng.choice(list("ABCDEFG"), n), rng.choice(["P", "S"], n)
    first, last = rng.integers(0, 10_000, n), rng.integers(0, 10_000, n)
    return pd.DataFrame(
        {
            "cabin": [f"{d}/{k}/{s}" for d, k, s in zip(decks, rng.integers(0, 2000, n), sides, strict=True)],
            "name": [f"F{a} L{b}" for a, b in zip(first, last, strict=True)],
        }
    )


def test_delimited_categories_get_their_parts() -> None:
    columns = {"cabin": Modality.CATEGORICAL, "name": Modality.CATEGORICAL}
    encoder = StudentEncoder(columns).fit(_cabins(400, 0))
    names = encoder.feature_names_
    # The cabin splits into deck (a category), number (a number) and side; the names' parts are nearly unique.
    assert {"cabin__part0", "cabin__part0==C", "cabin__part1", "cabin__part2==S"} <= set(names)
    assert not any(n.startswith("name__part") for n in names)
    assert "cabin__part1__freq" not in names  # a numeric part is a number, not a category
    frame = pd.DataFrame({"cabin": ["C/17/S", None, "Z/x/Q", "lonely"], "name": ["F1 L2"] * 4})
    col = dict(zip(names, encoder.transform(frame).T, strict=True))
    assert col["cabin__part1"][0] == 17 and col["cabin__part0==C"][0] == 1 and col["cabin__part2==S"][0] == 1
    assert np.isnan(col["cabin__part1"][1:]).all()  # missing, not a number, no such part
    assert np.isnan(col["cabin__part0"][1]) and np.isnan(col["cabin__part2"][3])
    # Learned in fit only, and carried through pickling.
    again = pickle.loads(pickle.dumps(encoder))
    assert np.array_equal(again.transform(frame), encoder.transform(frame), equal_nan=True)
    assert set(StudentEncoder(columns).fit(_cabins(400, 1)).feature_names_) == set(names)


def _parity(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Two 20-level columns whose pair decides the label (the parity of their sum); each alone says nothing."""
    rng = np.random.default_rng(seed)
    a, b = rng.integers(0, 20, n), rng.integers(0, 20, n)
    return pd.DataFrame({"a": [f"a{v}" for v in a], "b": [f"b{v}" for v in b]}), (a + b) % 2


def _auc(score: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def test_pairs_of_wide_categories_carry_their_interaction() -> None:
    columns = {"a": Modality.CATEGORICAL, "b": Modality.CATEGORICAL}
    frame, y = _parity(4000, 0)
    encoder = StudentEncoder(columns, target_type="binary")
    x = dict(zip(encoder.fit(frame, y).feature_names_, encoder.fit_transform(frame, y).T, strict=True))
    assert {"a__and__b__freq", "a__and__b__te"} <= set(x) and "a__and__b" not in x  # no code for a pair
    assert abs(_auc(x["a__te"], y) - 0.5) < 0.05  # one column alone: nothing
    assert _auc(x["a__and__b__te"], y) > 0.95  # cross-fitted: each row's value learned without its label
    new, y_new = _parity(500, 1)
    x_new = dict(zip(encoder.feature_names_, encoder.transform(new).T, strict=True))
    assert _auc(x_new["a__and__b__te"], y_new) > 0.95
    unseen = encoder.transform(pd.DataFrame({"a": ["a1", "zz", None], "b": ["b2", "b2", "b2"]}))
    te = unseen[:, encoder.feature_names_.index("a__and__b__te")]
    assert te[1] == te[2] == pytest.approx(y.mean())  # an unseen or missing value makes an unseen pair
    again = pickle.loads(pickle.dumps(encoder))
    assert np.array_equal(again.transform(new), encoder.transform(new), equal_nan=True)


def test_pairs_learn_nothing_from_a_shuffled_target() -> None:
    frame, y = _parity(4000, 0)
    shuffled = np.random.default_rng(5).permutation(y)
    encoder = StudentEncoder({"a": Modality.CATEGORICAL, "b": Modality.CATEGORICAL}, target_type="binary")
    x = encoder.fit_transform(frame, shuffled)
    assert abs(_auc(x[:, encoder.feature_names_.index("a__and__b__te")], shuffled) - 0.5) < 0.05


def test_no_pairs_for_multiclass_targets_or_without_labels() -> None:
    frame, _ = _parity(600, 0)
    columns = {"a": Modality.CATEGORICAL, "b": Modality.CATEGORICAL}
    assert not any("__and__" in n for n in StudentEncoder(columns).fit(frame).feature_names_)
    multiclass = StudentEncoder(columns, target_type="multiclass").fit(frame, np.arange(600) % 3)
    assert not any("__and__" in n for n in multiclass.feature_names_)
