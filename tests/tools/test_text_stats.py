"""The vectorised text statistics equal the regular-expression counts they replace."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from agentk.tools.text_stats import STATS, text_statistics

_PATTERNS = {"words": r"\S+", "upper": r"[A-Z]", "digits": r"\d", "punct": r"[!?#@]"}


def _by_regex(col: pd.Series) -> dict[str, np.ndarray]:
    text = col.fillna("").astype(str)
    out = {"chars": text.str.len().to_numpy(dtype=float)}
    out |= {stat: text.str.count(pattern).to_numpy(dtype=float) for stat, pattern in _PATTERNS.items()}
    return out


def _assert_same(col: pd.Series) -> None:
    fast, slow = text_statistics(col), _by_regex(col)
    assert list(fast) == list(STATS)
    for stat in STATS:
        np.testing.assert_array_equal(fast[stat], slow[stat], err_msg=stat)


def test_edge_cases_count_as_the_regular_expressions_do() -> None:
    col = pd.Series(
        [
            "",
            None,
            float("nan"),
            "  two  words ",
            "a\nb\tc\rd\x0be\x0cf",  # ASCII whitespace of every kind
            "\u00a0x\u2003y\u3000z",  # non-ASCII spaces separate words
            "\u0660\u0661 Arabic-Indic digits, \U0001d7ce mathematical ones",  # \d is Unicode
            "ÄÖÜ are not [A-Z]; ABC are",
            "emoji \U0001f600!? #tag @user",
            "lone surrogate \ud800 here",
        ],
        dtype=object,
    )
    _assert_same(col)


def test_empty_and_numeric_columns() -> None:
    assert all(len(v) == 0 for v in text_statistics(pd.Series([], dtype=object)).values())
    _assert_same(pd.Series([12.5, None, 3], dtype=object))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30))
def test_any_strings_count_as_the_regular_expressions_do(values: list[str | None]) -> None:
    _assert_same(pd.Series(values, dtype=object))
