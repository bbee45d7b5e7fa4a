"""Task inference on small frames: ids, targets, task types, modalities and errors that name overrides."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskSpec, TaskType, infer_task
from agentk.errors import TaskInferenceError

RNG = np.random.default_rng(0)


def _frames(target: object, n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    train = pd.DataFrame({"Id": range(n), "num": RNG.normal(size=n), "cat": RNG.choice(list("abc"), size=n)})
    train["y"] = target
    test = train.drop(columns="y").assign(Id=range(n, 2 * n))
    sample = pd.DataFrame({"Id": test["Id"], "y": 0})
    return train, test, sample


def test_binary_accuracy() -> None:
    train, test, sample = _frames(RNG.integers(0, 2, 60))
    task = infer_task(train, test, sample, metric="accuracy", higher_is_better=True)
    assert task.task_type is TaskType.BINARY and task.id_column == "Id" and task.target == "y"
    assert task.classes == (0, 1)
    assert task.columns == {"num": Modality.NUMERIC, "cat": Modality.CATEGORICAL}


def test_multiclass_labels_and_regression() -> None:
    train, test, sample = _frames(RNG.choice(["a", "b", "c"], 60))
    assert infer_task(train, test, sample, metric="accuracy", higher_is_better=True).task_type is TaskType.MULTICLASS
    train, test, sample = _frames(RNG.normal(size=60))
    assert infer_task(train, test, sample, metric="rmse", higher_is_better=False).task_type is TaskType.REGRESSION


def test_probability_columns_per_class() -> None:
    train, test, _ = _frames(RNG.choice(["EAP", "HPL", "MWS"], 60))
    sample = pd.DataFrame({"Id": test["Id"], "EAP": 0.33, "HPL": 0.33, "MWS": 0.34})
    task = infer_task(train, test, sample, metric="mlogloss", higher_is_better=False)
    assert task.proba_columns and task.target == "y" and task.task_type is TaskType.MULTICLASS
    assert task.classes == ("EAP", "HPL", "MWS")


def test_text_and_datetime_modalities() -> None:
    n = 80
    train = pd.DataFrame(
        {
            "id": range(n),
            "review": [f"this product number {i} was {'great' if i % 2 else 'awful'} for me" for i in range(n)],
            "when": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "code": RNG.choice([1043, 99231, 5521, 77, 300123, 42, 8000, 12345] * 4, size=n),
            "y": RNG.integers(0, 2, n),
        }
    )
    test = train.drop(columns="y")
    sample = pd.DataFrame({"id": test["id"], "y": 0})
    task = infer_task(train, test, sample, metric="auc", higher_is_better=True)
    assert task.columns["review"] is Modality.TEXT
    assert task.columns["when"] is Modality.DATETIME
    assert task.columns["code"] is Modality.NUMERIC  # few distinct codes: fine as a number


def test_overrides_win_and_are_checked() -> None:
    train, test, sample = _frames(RNG.integers(0, 5, 60))
    task = infer_task(
        train, test, sample, metric="qwk", higher_is_better=True, overrides={"columns": {"num": "categorical"}}
    )
    assert task.task_type is TaskType.ORDINAL and task.columns["num"] is Modality.CATEGORICAL
    with pytest.raises(TaskInferenceError, match="unknown task type"):
        infer_task(train, test, sample, metric="accuracy", higher_is_better=True, overrides={"task_type": "magic"})
    with pytest.raises(TaskInferenceError, match="unknown column"):
        infer_task(train, test, sample, metric="accuracy", higher_is_better=True, overrides={"columns": {"zz": "text"}})


def test_missing_target_names_the_override() -> None:
    train, test, sample = _frames(RNG.integers(0, 2, 60))
    train = train.rename(columns={"y": "label"})
    with pytest.raises(TaskInferenceError, match="cannot find the target") as info:
        infer_task(train, test, sample, metric="accuracy", higher_is_better=True)
    assert info.value.hint is not None and "--target" in info.value.hint
    task = infer_task(train, test, sample, metric="accuracy", higher_is_better=True, overrides={"target": "label"})
    assert task.target == "label"


def test_missing_id_column_names_the_override() -> None:
    train, test, sample = _frames(RNG.integers(0, 2, 60))
    sample = sample.rename(columns={"Id": "key"})
    with pytest.raises(TaskInferenceError, match="id column") as info:
        infer_task(train, test, sample, metric="accuracy", higher_is_better=True)
    assert info.value.hint is not None and "--id-column" in info.value.hint


def test_proba_metric_with_many_classes_is_an_error() -> None:
    train, test, sample = _frames(RNG.integers(0, 4, 60).astype(str))
    with pytest.raises(TaskInferenceError, match="needs a binary target"):
        infer_task(train, test, sample, metric="auc", higher_is_better=True)


def _multi_frames(values: np.ndarray, n: int = 60) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    train = pd.DataFrame({"Id": range(n), "num": RNG.normal(size=n)})
    names = [f"t{j}" for j in range(values.shape[1])]
    for j, name in enumerate(names):
        train[name] = values[:, j]
    test = train[["Id", "num"]].assign(Id=range(n, 2 * n))
    sample = pd.DataFrame({"Id": test["Id"], **dict.fromkeys(names, 0)})
    return train, test, sample


def test_several_zero_one_targets_are_multilabel() -> None:
    train, test, sample = _multi_frames(RNG.integers(0, 2, (60, 3)))
    task = infer_task(train, test, sample, metric="auc_multilabel", higher_is_better=True)
    assert task.task_type is TaskType.MULTILABEL
    assert task.target_columns == ("t0", "t1", "t2") == task.submission_columns
    assert task.columns == {"num": Modality.NUMERIC}
    assert list(train[task.target_key].columns) == ["t0", "t1", "t2"]


def test_several_numeric_targets_are_multi_target_regression() -> None:
    train, test, sample = _multi_frames(RNG.normal(size=(60, 2)))
    task = infer_task(train, test, sample, metric="mcrmse", higher_is_better=False)
    assert task.task_type is TaskType.MULTI_REGRESSION
    assert isinstance(train[task.target_key], pd.DataFrame)
    # 0/1 columns under a value metric are regression targets, not labels.
    train, test, sample = _multi_frames(RNG.integers(0, 2, (60, 2)))
    assert (
        infer_task(train, test, sample, metric="mcrmse", higher_is_better=False).task_type is TaskType.MULTI_REGRESSION
    )


def test_single_target_key_is_the_column_name() -> None:
    train, test, sample = _frames(RNG.integers(0, 2, 60))
    task = infer_task(train, test, sample, metric="auc", higher_is_better=True)
    assert task.target_key == "y" and isinstance(train[task.target_key], pd.Series)


def test_image_paths_are_an_image_modality_even_as_the_id() -> None:
    n = 30
    train = pd.DataFrame({"file": [f"img_{i}.png" for i in range(n)], "path": [f"train/{i}.JPG" for i in range(n)]})
    train["label"] = RNG.integers(0, 2, n)
    test = train.drop(columns="label").assign(file=[f"t_{i}.png" for i in range(n)])
    sample = pd.DataFrame({"file": test["file"], "label": 0})
    task = infer_task(train, test, sample, metric="auc", higher_is_better=True, image_root="/data/comp")
    assert task.id_column == "file" and task.image_root == "/data/comp"
    assert task.columns == {"path": Modality.IMAGE_PATH, "file": Modality.IMAGE_PATH}
    assert TaskSpec.from_dict(task.to_dict()) == task
    plain, plain_test, plain_sample = _frames(RNG.integers(0, 2, 60))
    no_images = infer_task(plain, plain_test, plain_sample, metric="auc", higher_is_better=True, image_root="/x")
    assert no_images.image_root is None
