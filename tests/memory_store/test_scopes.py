from __future__ import annotations

import pytest

from memory_store import InvalidScopeError, ancestor_scopes, join_scope, normalize_scope, parent_scope, scope_distance
from memory_store._scopes import is_in_subtree, subtree_bounds


def test_normalize() -> None:
    assert normalize_scope(" global / tabular-binary /titanic ") == "global/tabular-binary/titanic"
    assert join_scope("global", "a/b", "c") == "global/a/b/c"
    for bad in ["", "/", "a//b", "a/", "a/b\x00c", " / "]:
        with pytest.raises(InvalidScopeError):
            normalize_scope(bad)


def test_tree_helpers() -> None:
    s = "global/tb/titanic/run-1/setup"
    assert ancestor_scopes(s) == ["global/tb/titanic/run-1", "global/tb/titanic", "global/tb", "global"]
    assert parent_scope(s) == "global/tb/titanic/run-1" and parent_scope("global") is None
    assert scope_distance(s, s) == 0
    assert scope_distance(s, "global") == 4
    assert scope_distance("global/tb/titanic/run-1", "global/tb/titanic/run-2") == 2
    assert scope_distance("a", "b") == 2
    assert is_in_subtree("a/b/c", "a/b") and is_in_subtree("a/b", "a/b") and not is_in_subtree("a/bc", "a/b")


def test_subtree_bounds_hold_exactly_the_descendants() -> None:
    low, high = subtree_bounds("a/b")
    names = ["a/b", "a/b/c", "a/b/c/d", "a/b c", "a/b-c", "a/b.c", "a/bc", "a/b0", "a/c", "a/b/\uffff"]
    inside = sorted(n for n in names if low <= n < high)
    assert inside == sorted(n for n in names if n.startswith("a/b/"))
