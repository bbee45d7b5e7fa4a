"""Feature engineering: each transformation is fold-safe (a shuffled target scores at chance) and does its job."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.tools import Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.engineering import (
    FeatureBuilder,
    evident_features,
    geo_columns,
    pairs_worthwhile,
    search_features,
)

RNG = np.random.default_rng(3)
N = 900
FRAME = pd.DataFrame(
    {
        "num": RNG.lognormal(size=N),
        "num2": RNG.normal(size=N),
        "num3": np.where(RNG.random(N) < 0.2, np.nan, RNG.normal(size=N)),
        "cabin": [
            f"{d}/{n}/{s}"
            for d, n, s in zip(
                RNG.choice(list("ABCDEFG"), N), RNG.integers(0, 300, N), RNG.choice(["P", "S"], N), strict=True
            )
        ],
        "group": [f"{g:04d}_{m:02d}" for g, m in zip(RNG.integers(0, 400, N), RNG.integers(1, 4, N), strict=True)],
        "rare": [f"k{i // 2}" for i in range(N)],  # a near-unique category: the classic target-encoding leak
        "colour": RNG.choice(["r", "g", "b"], N),
    }
)
COLUMNS = {
    "num": Modality.NUMERIC,
    "num2": Modality.NUMERIC,
    "num3": Modality.NUMERIC,
    "cabin": Modality.CATEGORICAL,
    "group": Modality.CATEGORICAL,
    "rare": Modality.CATEGORICAL,
    "colour": Modality.CATEGORICAL,
}
ALL_ON: dict[str, Any] = {
    "split_strings": True,
    "missing_indicators": True,
    "log_skewed": True,
    "interactions": 3,
    "bins": 8,
    "target_encoding": True,
    "group_stats": True,
    "pair_encoding": True,
}


def _spec() -> TaskSpec:
    return TaskSpec(TaskType.BINARY, "id", ("y",), ("y",), (0, 1), COLUMNS, "auc", True)


@pytest.mark.parametrize("choice", sorted(ALL_ON))
def test_each_transformation_is_fold_safe(choice: str) -> None:
    y = pd.Series(RNG.integers(0, 2, N))  # no relation to any feature
    codec = TargetCodec.for_task(_spec(), y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 5, seed=0)
    features = {choice: ALL_ON[choice]}
    result = cross_validate("lightgbm", FRAME, FRAME.head(10), y, codec, folds, Deadline(120), features=features)
    assert 0.42 < result.cv_score < 0.58, f"{choice}: AUC {result.cv_score:.3f} on a random target"


def test_target_encoding_of_training_rows_is_cross_fitted() -> None:
    y = RNG.integers(0, 2, N).astype(float)
    builder = FeatureBuilder(COLUMNS, target_encoding=True)
    in_fold = builder.fit_transform(FRAME, y)["rare__te"].to_numpy()
    new_rows = builder.transform(FRAME)["rare__te"].to_numpy()
    # Encoding a row with its own target (new_rows: the full-data map) correlates with it; cross-fitted does not.
    assert abs(np.corrcoef(in_fold, y)[0, 1]) < 0.15
    assert np.corrcoef(new_rows, y)[0, 1] > 0.3


def test_pair_encoding_finds_an_interaction_no_single_column_shows() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 20, 3000), rng.integers(0, 20, 3000)
    frame = pd.DataFrame({"a": [f"a{v}" for v in a], "b": [f"b{v}" for v in b], "c": rng.choice(["x", "y"], 3000)})
    y = ((a + b) % 2).astype(float)  # the parity of the pair: each column alone says nothing
    columns = {"a": Modality.CATEGORICAL, "b": Modality.CATEGORICAL, "c": Modality.CATEGORICAL}
    builder = FeatureBuilder(columns, pair_encoding=True)
    out = builder.fit_transform(frame, y)
    assert builder.pairs_ == [("a", "b")]  # c has two levels: not wide
    assert np.corrcoef(out["a__and__b__te"], y)[0, 1] > 0.9  # cross-fitted, yet the pair's mean label
    pair = frame["a"] + frame["b"]
    np.testing.assert_allclose(out["a__and__b__freq"], pair.map(pair.value_counts()) / len(frame))
    unseen = builder.transform(pd.DataFrame({"a": ["a1", "zz"], "b": ["b2", "b2"], "c": ["x", "x"]}))
    assert unseen["a__and__b__te"].iloc[1] == pytest.approx(y.mean()) and unseen["a__and__b__freq"].iloc[1] == 0


def test_pairs_are_searched_only_when_the_inputs_are_mostly_categorical() -> None:
    assert not pairs_worthwhile(COLUMNS)  # 4 of 7 categorical
    mostly = {f"c{i}": Modality.CATEGORICAL for i in range(9)} | {"id": Modality.ID}
    assert pairs_worthwhile(mostly) and not pairs_worthwhile(dict(list(mostly.items())[:2]))
    import optuna

    assert "pair_encoding" in search_features(optuna.create_study().ask(), mostly)
    assert "pair_encoding" not in search_features(optuna.create_study().ask(), COLUMNS)


def test_split_strings_and_group_sizes() -> None:
    builder = FeatureBuilder(COLUMNS, split_strings=True)
    out = builder.fit_transform(FRAME, np.zeros(N))
    assert {"cabin__part0", "cabin__part1", "cabin__part2", "group__part0", "group__group_size"} <= set(out.columns)
    assert pd.api.types.is_numeric_dtype(out["cabin__part1"])
    sizes = FRAME["group"].str.split("_").str[0].map(FRAME["group"].str.split("_").str[0].value_counts())
    assert (out["group__group_size"].to_numpy() == sizes.to_numpy()).all()
    modalities = builder.output_columns(out)
    assert modalities["cabin__part0"] is Modality.CATEGORICAL and modalities["cabin__part1"] is Modality.NUMERIC


def test_unseen_rows_transform_without_error() -> None:
    builder = FeatureBuilder(COLUMNS, **ALL_ON).fit(FRAME.iloc[:600], RNG.integers(0, 2, 600))
    other = FRAME.iloc[600:].copy()
    other["cabin"] = "Z/999/Q"
    other["colour"] = "purple"
    out = builder.transform(other)
    assert len(out) == len(other) and out.filter(like="__").shape[1] > 10


def test_search_space_only_offers_what_the_columns_allow() -> None:
    import optuna

    trial = optuna.create_study().ask()
    assert set(search_features(trial, {"a": Modality.NUMERIC})) == {"missing_indicators", "log_skewed"}
    assert "target_encoding" in search_features(optuna.create_study().ask(), COLUMNS)


def test_geo_rotations_find_the_coordinates_and_rotate_them() -> None:
    import optuna

    geo = {"Latitude": Modality.NUMERIC, "Longitude": Modality.NUMERIC, "MedInc": Modality.NUMERIC}
    assert geo_columns(geo) == ("Latitude", "Longitude")
    assert geo_columns({"pickup_lat": Modality.NUMERIC, "pickup_lng": Modality.NUMERIC}) == ("pickup_lat", "pickup_lng")
    assert geo_columns({"plate": Modality.NUMERIC, "along": Modality.NUMERIC}) is None
    assert geo_columns({"lat": Modality.CATEGORICAL, "lon": Modality.NUMERIC}) is None
    assert "geo_rotations" in search_features(optuna.create_study().ask(), geo)
    assert "geo_rotations" not in search_features(optuna.create_study().ask(), COLUMNS)

    frame = pd.DataFrame({"Latitude": [34.0, 37.5], "Longitude": [-118.0, -122.0], "MedInc": [3.0, 5.0]})
    out = FeatureBuilder(geo, geo_rotations=True).fit_transform(frame, np.array([1.0, 2.0]))
    assert {f"geo__rot{a}_{xy}" for a in (15, 30, 45, 60) for xy in "xy"} <= set(out.columns)
    a = np.deg2rad(45)
    assert out["geo__rot45_x"].iloc[0] == pytest.approx(-118.0 * np.cos(a) + 34.0 * np.sin(a))
    # a pure function of each row: the same rows give the same features whatever it was fit on
    other = FeatureBuilder(geo, geo_rotations=True).fit(frame.iloc[::-1], np.array([5.0, 0.0])).transform(frame)
    pd.testing.assert_frame_equal(out, other)


def test_geo_rotations_are_fold_safe() -> None:
    frame = FRAME.assign(lat=RNG.uniform(32, 42, N), lon=RNG.uniform(-124, -114, N))
    columns = {**COLUMNS, "lat": Modality.NUMERIC, "lon": Modality.NUMERIC}
    y = pd.Series(RNG.integers(0, 2, N))
    spec = TaskSpec(TaskType.BINARY, "id", ("y",), ("y",), (0, 1), columns, "auc", True)
    codec = TargetCodec.for_task(spec, y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 5, seed=0)
    features = {"geo_rotations": True}
    result = cross_validate("lightgbm", frame, frame.head(10), y, codec, folds, Deadline(120), features=features)
    assert 0.42 < result.cv_score < 0.58, f"AUC {result.cv_score:.3f} on a random target"


def test_evident_features_are_the_searched_choices_for_delimited_strings_and_coordinates() -> None:
    import optuna

    params = evident_features(FRAME, COLUMNS)
    assert params is not None and params["fe_split"] is True
    assert not any(v for k, v in params.items() if k != "fe_split")  # everything else off
    # The same keys the search asks for, so an enqueued trial fixes every feature choice.
    study = optuna.create_study()
    study.enqueue_trial(params)
    trial = study.ask()
    assert search_features(trial, COLUMNS) == {
        "missing_indicators": False,
        "log_skewed": False,
        "split_strings": True,
        "target_encoding": False,
        "group_stats": False,
        "interactions": 0,
        "bins": 0,
    }
    assert set(trial.params) == set(params)
    geo = {"Latitude": Modality.NUMERIC, "Longitude": Modality.NUMERIC}
    coords = pd.DataFrame({"Latitude": RNG.normal(size=50), "Longitude": RNG.normal(size=50)})
    assert evident_features(coords, geo) == {
        "fe_missing": False,
        "fe_log": False,
        "fe_interactions": 0,
        "fe_bins": 0,
        "fe_geo": True,
    }
    plain = {"num": Modality.NUMERIC, "colour": Modality.CATEGORICAL}
    assert evident_features(FRAME, plain) is None
