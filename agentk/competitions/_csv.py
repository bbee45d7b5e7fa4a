"""Reading data files with errors a user can act on."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd

from agentk.errors import DataFormatError

_SNIFF_BYTES = 64 * 1024


def read_table(path: Path, *, what: str = "file", nrows: int | None = None) -> pd.DataFrame:
    """Read a CSV file, raising :class:`DataFormatError` that names the file and the problem.

    Args:
        path: the file.
        what: how to call the file in messages ("train file", "submission", ...).
        nrows: read only the first rows (for quick checks).
    """
    if not path.exists():
        raise DataFormatError(f"{what} not found: {path}")
    if not path.is_file():
        raise DataFormatError(f"{what} is not a regular file: {path}")
    if path.stat().st_size == 0:
        raise DataFormatError(f"{what} is empty (0 bytes): {path}")
    head = path.read_bytes()[:_SNIFF_BYTES]
    if b"\x00" in head:
        raise DataFormatError(f"{what} is not a CSV text file (it contains binary data): {path}")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is fine; anything earlier is not UTF-8.
        if exc.start < len(head) - 4:
            raise DataFormatError(f"{what} is not UTF-8 text (byte {exc.start}): {path}") from None
    try:
        frame = pd.read_csv(path, nrows=nrows, low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{what} has no columns (empty or blank): {path}") from None
    except (pd.errors.ParserError, csv.Error, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFormatError(f"{what} is not a well-formed CSV file: {path}: {first}") from None
    if frame.shape[1] == 0:
        raise DataFormatError(f"{what} has no columns: {path}")
    unnamed = [c for c in frame.columns if str(c).startswith("Unnamed: ")]
    if len(unnamed) == frame.shape[1]:
        raise DataFormatError(f"{what} has no header row: {path}")
    header = next(csv.reader([head.decode("utf-8", errors="replace").splitlines()[0]]), [])
    duplicated = sorted(name for name, count in Counter(header).items() if count > 1)
    if duplicated:
        raise DataFormatError(f"{what} has duplicated column names ({', '.join(duplicated[:5])}): {path}")
    return frame
