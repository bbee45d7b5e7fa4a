"""The folder-per-class image layout: tables written into the workspace, ids matched, a run end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from agentk.competitions import Modality, TaskType, infer_task, load_folder
from agentk.competitions.image_folders import has_class_folders, write_image_tables
from agentk.errors import DataFormatError


def _layout(root: Path, *, ids_with_suffix: bool = False, n: int = 4, write: object = None) -> Path:
    """root/public/train/{cat,dog}/*.png, root/public/test/*.png, sample submission, metric; images are stubs
    unless ``write(path, label)`` draws them."""
    public = root / "public"
    rng = np.random.default_rng(0)
    for label in ("cat", "dog"):
        for i in range(n):
            path = public / "train" / label / f"{label}{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path, label) if callable(write) else path.write_bytes(b"stub")
    names = []
    for i in range(n):
        path = public / "test" / f"t{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        write(path, str(rng.choice(["cat", "dog"]))) if callable(write) else path.write_bytes(b"stub")
        names.append(path.name if ids_with_suffix else path.stem)
    pd.DataFrame({"id": names[::-1], "breed": "cat"}).to_csv(public / "sample_submission.csv", index=False)
    (root / "metric.txt").write_text("accuracy higher\n")
    (root / "description.md").write_text("Cats and dogs.\n")
    return root


@pytest.mark.parametrize("ids_with_suffix", [False, True])
def test_class_folders_become_train_and_test_tables(tmp_path: Path, ids_with_suffix: bool) -> None:
    entry = load_folder(_layout(tmp_path / "pets", ids_with_suffix=ids_with_suffix))
    assert has_class_folders(entry.public_dir)
    comp = entry.prepare_workspace(tmp_path / "work")
    train, test = pd.read_csv(comp.train), pd.read_csv(comp.test)
    assert list(train.columns) == ["id", "image", "breed"] and len(train) == 8
    assert train["breed"].value_counts().to_dict() == {"cat": 4, "dog": 4}
    assert all((comp.input_dir / p).is_file() and not Path(p).is_absolute() for p in train["image"])
    sample = pd.read_csv(comp.sample_submission)
    assert test["id"].astype(str).tolist() == sample["id"].astype(str).tolist()  # the sample's order
    assert [Path(p).name for p in test["image"]] == [f"t{i}.png" for i in (3, 2, 1, 0)]
    task = infer_task(train, test, sample, metric="accuracy", higher_is_better=True, image_root=comp.input_dir)
    assert task.task_type is TaskType.BINARY and task.target_columns == ("breed",)
    assert task.columns["image"] is Modality.IMAGE_PATH
    assert not (entry.public_dir / "train.csv").exists()  # written in the workspace, never in the source


def test_test_images_must_match_the_sample_ids(tmp_path: Path) -> None:
    root = _layout(tmp_path / "pets")
    (root / "public" / "test" / "t0.png").unlink()
    with pytest.raises(DataFormatError, match=r"1 id.*no image"):
        load_folder(root).prepare_workspace(tmp_path / "work")
    for image in (root / "public" / "test").iterdir():
        image.unlink()
    with pytest.raises(DataFormatError, match="no test images"):
        write_image_tables(root / "public", root / "public" / "sample_submission.csv")


def test_a_table_layout_is_not_mistaken_for_class_folders(tmp_path: Path) -> None:
    root = _layout(tmp_path / "pets")
    (root / "public" / "train.csv").write_text("id,image,breed\n")
    assert not has_class_folders(root / "public")


@pytest.mark.slow
def test_a_run_on_class_folders_submits(tmp_path: Path) -> None:
    """End to end with the CNN (torch extra): red blobs are cats, blue blobs dogs."""
    pytest.importorskip("torch")
    image_module = pytest.importorskip("PIL.Image")
    from agentk.agent import run_competition

    rng = np.random.default_rng(1)

    def draw(path: Path, label: str) -> None:
        pixels = rng.integers(0, 80, (16, 16, 3))
        y0, x0 = rng.integers(0, 8, 2)
        pixels[y0 : y0 + 8, x0 : x0 + 8, 0 if label == "cat" else 2] = 230
        image_module.fromarray(pixels.astype(np.uint8)).save(path)

    root = _layout(tmp_path / "pets", n=40, write=draw)
    outcome = run_competition(str(root), budget=180, out=tmp_path / "run", folds=3)
    assert outcome.ok, outcome.result.get("error")
    submission = pd.read_csv(tmp_path / "run" / "submission.csv")
    assert set(submission["breed"]) <= {"cat", "dog"} and len(submission) == 40
