"""Images as model input: finding the files a table names, loading them to fixed-size arrays, folder layouts.

A competition names its images in a column of paths (``train/0a1b.jpg``), often relative to the competition's
folder or to an image folder inside it, sometimes just a file name (the id). :func:`resolve_image_paths` turns
such values into absolute paths once, so models open files without knowing the layout.
:func:`image_folder_frame` reads the other common layout, one sub-folder of images per class.

Pillow reads the files (imported when an image is first loaded). Loaded images are cached per process as
``uint8`` arrays keyed by path and size (bounded), so the folds and trials of a run decode each file once.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from agentk.errors import DataFormatError

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif", ".webp")
_CACHE_BYTES = 2 * 1024**3  # decoded images kept per process


class _ImageCache:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arrays: dict[tuple[str, int], np.ndarray] = {}
        self.bytes = 0

    def get(self, key: tuple[str, int]) -> np.ndarray | None:
        with self.lock:
            return self.arrays.get(key)

    def put(self, key: tuple[str, int], array: np.ndarray) -> None:
        with self.lock:
            if self.bytes + array.nbytes > _CACHE_BYTES:
                self.arrays.clear()
                self.bytes = 0
            self.arrays[key] = array
            self.bytes += array.nbytes


_CACHE = _ImageCache()
_RESOLVED: dict[tuple[str, str], str] = {}  # (roots, value) -> absolute path found


def load_image(path: str | Path, size: int) -> np.ndarray:
    """One image as ``uint8`` ``(3, size, size)`` RGB (grey and RGBA converted, resized bilinearly).

    Raises:
        DataFormatError: the file is missing or is not an image Pillow can read.
    """
    key = (str(path), size)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
            array = np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1).copy()
    except FileNotFoundError:
        raise DataFormatError(
            f"image file {path} not found",
            hint="image paths are resolved against the competition folder; check the image column",
        ) from None
    except (UnidentifiedImageError, OSError) as exc:
        raise DataFormatError(f"cannot read image {path}: {exc}") from None
    _CACHE.put(key, array)
    return array


def load_images(paths: Sequence[str], size: int, root: str | Path | None = None) -> np.ndarray:
    """Images ``uint8`` ``(n, 3, size, size)``; relative paths are read under ``root`` when given."""
    base = Path(root) if root is not None else None
    out = np.zeros((len(paths), 3, size, size), dtype=np.uint8)
    for i, value in enumerate(paths):
        path = Path(value)
        if base is not None and not path.is_absolute():
            path = base / path
        out[i] = load_image(path, size)
    return out


def resolve_image_paths(values: pd.Series, roots: Iterable[str | Path]) -> pd.Series:
    """Absolute paths for a column of image references.

    Each value is tried as given (absolute), then under each root, then under each root's immediate
    sub-folders (``train_images/``, ``test/``), where tables often give a bare file name. A value found nowhere
    stays as it is, so the error that names it comes from the model that opens it.
    """
    bases = []
    for root in roots:
        base = Path(root)
        if base.is_dir():
            bases.append(base)
            bases.extend(sorted(p for p in base.iterdir() if p.is_dir()))

    key = "\0".join(map(str, bases))

    def resolve(value: object) -> object:
        if not isinstance(value, str) or not value:
            return value
        known = _RESOLVED.get((key, value))
        if known is not None:
            return known
        path = Path(value)
        if path.is_absolute() and path.is_file():
            return str(path)
        for base in bases:
            candidate = base / path
            if candidate.is_file():
                found = str(candidate.resolve())
                _RESOLVED[(key, value)] = found  # folds and trials resolve the same names again
                return found
        return value

    return values.map(resolve)


def image_folder_frame(root: str | Path, *, path_column: str = "path", label_column: str = "label") -> pd.DataFrame:
    """The one-folder-per-class layout (``root/<class>/<image>``) as a table of absolute paths and labels.

    Raises:
        DataFormatError: ``root`` has no class folder holding an image.
    """
    base = Path(root)
    rows = (
        [
            (str(image.resolve()), folder.name)
            for folder in sorted(p for p in base.iterdir() if p.is_dir())
            for image in sorted(folder.iterdir())
            if image.is_file() and image.suffix.lower() in SUFFIXES
        ]
        if base.is_dir()
        else []
    )
    if not rows:
        raise DataFormatError(
            f"no images found in class folders under {base}",
            hint="lay images out as <root>/<class name>/<image file>",
        )
    return pd.DataFrame(rows, columns=[path_column, label_column])
