"""Images: resolving and loading files, and the CNN on tiny generated PNGs (skipped without torch/Pillow)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from agentk.competitions import Modality, TaskSpec, TaskType
from agentk.errors import DataFormatError
from agentk.tools import Deadline, TargetCodec, cross_validate, make_folds
from agentk.tools.images import image_folder_frame, load_images, resolve_image_paths

SIZE = 16
FAST = {"size": SIZE, "width": 8, "max_epochs": 12, "patience": 4, "epochs_without_valid": 6, "lr": 5e-3}


def _write_images(folder: Path, n: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """``n`` 16x16 PNGs: class 1 is a red blob on noise, class 0 a blue one; also whether each is bright."""
    image_module = pytest.importorskip("PIL.Image")
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    labels = np.column_stack([rng.integers(0, 2, n), rng.integers(0, 2, n)])
    names = []
    for i in range(n):
        pixels = rng.integers(0, 80, (SIZE, SIZE, 3))
        y0, x0 = rng.integers(0, SIZE - 8, 2)
        channel = 0 if labels[i, 0] else 2
        pixels[y0 : y0 + 8, x0 : x0 + 8, channel] = 230
        pixels += 60 * labels[i, 1]
        name = f"img_{i:03d}.png"
        image_module.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(folder / name)
        names.append(name)
    return names, labels


def _task(task: TaskType, root: Path | None = None) -> TaskSpec:
    image_root = str(root) if root is not None else None
    if task is TaskType.MULTILABEL:
        return TaskSpec(task, "id", ("red", "bright"), ("red", "bright"), (), {"file": Modality.IMAGE_PATH},
                        "auc_multilabel", True, image_root=image_root)  # fmt: skip
    return TaskSpec(
        task, "id", ("red",), ("red",), (0, 1), {"file": Modality.IMAGE_PATH}, "auc", True, image_root=image_root
    )


def _frames(
    root: Path, n: int = 160, seed: int = 0, *, absolute: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Rows naming images by absolute path, or by bare file name (then found under the task's image_root)."""
    names, labels = _write_images(root / "images", n + 40, seed)
    files = resolve_image_paths(pd.Series(names), [root]) if absolute else pd.Series(names)
    frame = pd.DataFrame({"id": range(n + 40), "file": files})
    return frame.iloc[:n].reset_index(drop=True), frame.iloc[n:].reset_index(drop=True), labels


def test_paths_resolve_under_the_competition_folder_and_its_subfolders(tmp_path: Path) -> None:
    names, _ = _write_images(tmp_path / "train_images", 3)
    values = pd.Series([names[0], f"train_images/{names[1]}", "missing.png", None])
    resolved = resolve_image_paths(values, [tmp_path])
    assert resolved[0] == str((tmp_path / "train_images" / names[0]).resolve())
    assert resolved[1] == str((tmp_path / "train_images" / names[1]).resolve())
    assert resolved[2] == "missing.png" and pd.isna(resolved[3])
    images = load_images([names[2]], 8, root=tmp_path / "train_images")
    assert images.shape == (1, 3, 8, 8) and images.dtype == np.uint8
    with pytest.raises(DataFormatError, match="not found"):
        load_images(["missing.png"], 8, root=tmp_path)


def test_class_folders_become_a_table(tmp_path: Path) -> None:
    _write_images(tmp_path / "cat", 2)
    _write_images(tmp_path / "dog", 3, seed=1)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    frame = image_folder_frame(tmp_path)
    assert list(frame.columns) == ["path", "label"] and len(frame) == 5
    assert frame["label"].value_counts().to_dict() == {"dog": 3, "cat": 2}
    with pytest.raises(DataFormatError, match="class folders"):
        image_folder_frame(tmp_path / "cat")


def test_cnn_learns_two_visually_distinct_classes(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    train, test, labels = _frames(tmp_path, absolute=False)  # bare names, as when the id is the file name
    y = pd.Series(labels[:160, 0])
    codec = TargetCodec.for_task(_task(TaskType.BINARY, tmp_path), y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 3, seed=0)
    result = cross_validate("cnn", train, test, y, codec, folds, Deadline(120), params=FAST, keep_models=True)
    assert result.complete and result.oof.shape == (160,) and result.test.shape == (40,)
    assert result.cv_score > 0.9
    assert codec.score(pd.Series(labels[160:, 0]), result.test) > 0.9
    assert result.predictor is not None
    np.testing.assert_allclose(pickle.loads(pickle.dumps(result.predictor)).predict(test), result.test, atol=1e-6)


def test_cnn_on_a_shuffled_target_scores_at_chance(tmp_path: Path) -> None:
    """Normalisation statistics and weights are learned in the folds: nothing leaks the held-out labels."""
    pytest.importorskip("torch")
    train, test, labels = _frames(tmp_path, n=300)
    y = pd.Series(np.random.default_rng(3).permutation(labels[:300, 0]))
    codec = TargetCodec.for_task(_task(TaskType.BINARY), y)
    folds = make_folds(codec.encode(y), TaskType.BINARY, 3, seed=0)
    result = cross_validate("cnn", train, test, y, codec, folds, Deadline(120), params=FAST)
    assert 0.4 < result.cv_score < 0.6


def test_cnn_learns_multilabel_targets_natively(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    train, test, labels = _frames(tmp_path)
    y = pd.DataFrame(labels[:160], columns=["red", "bright"])
    codec = TargetCodec.for_task(_task(TaskType.MULTILABEL), y)
    folds = make_folds(codec.encode(y), TaskType.MULTILABEL, 3, seed=0)
    result = cross_validate("cnn", train, test, y, codec, folds, Deadline(120), params=FAST)
    assert result.oof.shape == (160, 2) and result.test.shape == (40, 2)
    assert result.cv_score > 0.85


def test_cnn_contract_deadline_and_regression(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from agentk.tools.zoo import get_model

    train, test, labels = _frames(tmp_path, n=60)
    factory = get_model("cnn").factory
    model = factory(columns={"file": Modality.IMAGE_PATH}, task_type="regression", n_classes=0, params=FAST)
    before = model.get_params(deep=False)
    assert clone(model).get_params(deep=False) == before
    target = labels[:60, 0] * 3.0 + 1.0
    model.fit(train.iloc[:40], target[:40], train.iloc[40:], target[40:], deadline=Deadline(0))
    assert model.epochs_ == 1 and model.get_params(deep=False) == before
    pred = model.predict_model(test)
    assert pred.shape == (40,) and np.isfinite(pred).all()


def test_cnn_with_a_local_pretrained_backbone(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from torch import nn

    from agentk.tools.zoo import get_model

    train, test, labels = _frames(tmp_path, n=80)
    torch.manual_seed(0)
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    saved = tmp_path / "backbone.pt"
    torch.save(backbone, saved)
    exported = tmp_path / "backbone.pt2"
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(backbone, (torch.zeros(2, 3, SIZE, SIZE),), dynamic_shapes=({0: batch},))
    torch.export.save(program, exported)
    factory = get_model("cnn").factory
    y = labels[:80, 0]
    for path in (saved, exported):
        params = {**FAST, "backbone": str(path), "max_epochs": 4}
        model = factory(columns={"file": Modality.IMAGE_PATH}, task_type="binary", n_classes=2, params=params)
        pred = model.fit(train, y).predict_model(test)
        assert pred.shape == (40,) and ((pred >= 0) & (pred <= 1)).all()
        frozen = [p for p in model.net_.backbone.parameters()]
        assert frozen and not any(p.requires_grad for p in frozen)
        np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict_model(test), pred, atol=1e-6)
