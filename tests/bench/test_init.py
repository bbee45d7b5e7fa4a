"""The public surface of agentk.bench."""

from __future__ import annotations

import agentk.bench as bench


def test_all_names_exist_and_are_exported() -> None:
    assert sorted(bench.__all__) == bench.__all__
    for name in bench.__all__:
        assert getattr(bench, name) is not None
    public = {n for n in vars(bench) if (not n.startswith("_") and n[0].isupper()) or n in bench.__all__}
    modules = {"annotations", "elo_mmr", "humans", "leaderboard", "placement", "report", "synthetic", "cli"}
    assert public - modules == set(bench.__all__)
