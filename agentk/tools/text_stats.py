"""Length statistics of text columns, vectorised over code points.

Each statistic equals counting a regular expression in every string (``str.count`` in pandas): characters,
words (``\\S+``), capitals (``[A-Z]``), digits (``\\d``, Unicode decimal digits as ``re`` has them) and
``[!?#@]``. ``re`` runs once per string and per pattern in Python; here the strings are joined, read as one
array of code points and each count is a difference of cumulative sums at the strings' bounds, about twenty
times faster on short texts (a student model's whole predict time is a few milliseconds per 1,000 rows, and the
regular expressions were a third of it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STATS = ("chars", "words", "upper", "digits", "punct")
_SPACE, _UPPER, _DIGIT, _PUNCT = 1, 2, 4, 8
# The classes of the ASCII code points as bit flags; index 127 (DEL) is in none, so every code point past ASCII
# can be clamped to it and then classified on its own.
_ASCII = np.array(
    [
        _SPACE * chr(i).isspace()
        + _UPPER * ("A" <= chr(i) <= "Z")
        + _DIGIT * chr(i).isdecimal()
        + _PUNCT * (chr(i) in "!?#@")
        for i in range(128)
    ],
    dtype=np.uint8,
)


def text_statistics(col: pd.Series) -> dict[str, np.ndarray]:
    """``{stat: float array}`` for each of :data:`STATS`; a missing value counts as the empty string."""
    text = col.fillna("").astype(str).to_numpy(dtype=object)
    n = len(text)
    if n == 0:
        return {s: np.zeros(0) for s in STATS}
    lengths = np.fromiter(map(len, text), dtype=np.int64, count=n)
    # One leading space, one between strings: every string starts after whitespace, so a word start is a
    # non-space preceded by a space, and no word runs from one string into the next.
    points = np.frombuffer((" " + " ".join(text)).encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    starts = 1 + np.concatenate(([0], np.cumsum(lengths[:-1] + 1)))
    ends = starts + lengths
    flags = _ASCII[np.minimum(points, 127)]
    wide = points > 127
    if wide.any():  # numpy's string ufuncs classify code points as str.isspace / str.isdecimal do
        chars = points[wide].view("U1")
        flags[wide] = _SPACE * np.strings.isspace(chars) + _DIGIT * np.strings.isdecimal(chars)
    is_space = (flags & _SPACE).astype(bool)
    word_start = np.zeros(len(points), dtype=bool)
    word_start[1:] = ~is_space[1:] & is_space[:-1]

    def count(mask: np.ndarray) -> np.ndarray:
        total = np.concatenate(([0], np.cumsum(mask.astype(bool), dtype=np.int64)))
        return np.asarray(total[ends] - total[starts], dtype=float)

    return {
        "chars": lengths.astype(float),
        "words": count(word_start),
        "upper": count(flags & _UPPER),
        "digits": count(flags & _DIGIT),
        "punct": count(flags & _PUNCT),
    }
