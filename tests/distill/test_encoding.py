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
