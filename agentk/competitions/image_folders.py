"""The folder-per-class image layout, turned into the tables the agent reads.

Some image competitions (and most image datasets) ship no train.csv: the training images sit in one folder per
class, ``train/<class>/<image>``, the test images in ``test/<image>``, beside a ``sample_submission.csv`` whose ids
are the test images' file names or their stems. :func:`write_image_tables` writes ``train.csv`` (id, image,
label) and ``test.csv`` (id, image) into a run's workspace, image paths relative to it, so the rest of the agent
(task inference, the CNN, the submission check) sees an ordinary competition with an image-path column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from agentk.competitions._csv import read_table
from agentk.errors import DataFormatError
from agentk.tools.images import SUFFIXES, image_folder_frame

IMAGE_COLUMN = "image"


def has_class_folders(public_dir: Path) -> bool:
    """True when ``public_dir`` has no train.csv but a ``train/`` folder with class sub-folders of images."""
    train = public_dir / "train"
    if (public_dir / "train.csv").exists() or not train.is_dir():
        return False
    return any(
        image.is_file() and image.suffix.lower() in SUFFIXES
        for folder in train.iterdir()
        if folder.is_dir()
        for image in folder.iterdir()
    )


def write_image_tables(workspace: Path, sample_submission: Path) -> tuple[Path, Path]:
    """Write ``train.csv`` and ``test.csv`` for the class-folder layout copied into ``workspace``.

    The id column and the target's name come from the sample submission (its first and second columns; with
    more than two columns, one probability per class, the target is called ``label``). Test rows follow the
    sample submission's order.

    Raises:
        DataFormatError: no class folders, no test images, or test images that do not match the sample's ids.
    """
    sample = read_table(sample_submission, what="sample submission")
    id_column = str(sample.columns[0])
    target = str(sample.columns[1]) if sample.shape[1] == 2 else "label"
    train = image_folder_frame(workspace / "train", path_column=IMAGE_COLUMN, label_column=target)
    paths = [Path(p) for p in train[IMAGE_COLUMN]]
    train.insert(0, id_column, [p.stem for p in paths])
    train[IMAGE_COLUMN] = [str(p.relative_to(workspace.resolve())) for p in paths]

    test_dir = workspace / "test"
    images = (
        sorted(p for p in test_dir.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        if test_dir.is_dir()
        else []
    )
    if not images:
        raise DataFormatError(
            f"class folders found under {workspace / 'train'} but no test images in {test_dir}",
            hint="put the test images in public/test/ (their names or stems are the sample submission's ids)",
        )
    ids = [str(v) for v in sample[id_column]]
    by_name = {p.name: p for p in images}
    by_stem = {p.stem: p for p in images}
    lookup = by_name if all(i in by_name for i in ids) else by_stem
    missing = [i for i in ids if i not in lookup]
    if missing:
        raise DataFormatError(
            f"{len(missing)} id(s) of the sample submission have no image in {test_dir} "
            f"(first: {', '.join(missing[:3])})",
            hint="name each test image after its id (with or without the file suffix)",
        )
    test = pd.DataFrame(
        {id_column: sample[id_column], IMAGE_COLUMN: [str(lookup[i].relative_to(workspace)) for i in ids]}
    )
    train_csv, test_csv = workspace / "train.csv", workspace / "test.csv"
    train.to_csv(train_csv, index=False)
    test.to_csv(test_csv, index=False)
    return train_csv, test_csv
