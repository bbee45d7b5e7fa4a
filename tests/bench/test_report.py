"""The humans report: markdown and SVG plots, built without I/O."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

from agentk.bench import DatedLeaderboard, Leaderboard, build_report, rate_against_humans


def _boards() -> list[DatedLeaderboard]:
    people = [f"h{i}" for i in range(30)]
    out = []
    for day in (1, 2, 3):
        lb = Leaderboard.from_scores([float(30 - i) for i in range(30)], higher_is_better=True, team_names=people)
        out.append(DatedLeaderboard(lb, dt.date(2021, 3, day), f"c{day}"))
    return out


def test_report_has_the_agent_table_and_three_valid_svgs() -> None:
    result = rate_against_humans(_boards(), {"c1": 31.0, "c3": 10.0}, min_contests=3)
    report = build_report(result, title="T", note="stand-in scores")
    assert report.markdown.startswith("# T")
    assert "stand-in scores" in report.markdown
    assert "| c1 | 2021-03-01 |" in report.markdown and "| c3 | 2021-03-03 |" in report.markdown
    assert "1 gold" in report.markdown
    assert set(report.plots) == {"rating_trajectory.svg", "percentiles.svg", "human_distribution.svg"}
    for name, svg in report.plots.items():
        assert ET.fromstring(svg).tag.endswith("svg"), name
        assert f"]({name})" in report.markdown


def test_report_without_agent() -> None:
    report = build_report(rate_against_humans(_boards(), {}, min_contests=3))
    assert "no rated contest" in report.markdown
    assert set(report.plots) == {"human_distribution.svg"}
    ET.fromstring(report.plots["human_distribution.svg"])
