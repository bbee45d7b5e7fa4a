"""The humans benchmark as a report: markdown plus dependency-free SVG plots.

:func:`build_report` is pure (no I/O) so that the CLI and an API endpoint can both call it; the CLI
writes the returned files.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agentk.bench.humans import HumansResult, kaggle_tier

__all__ = ["Report", "build_report"]

_W, _H, _PAD = 640, 320, 48


@dataclass(frozen=True)
class Report:
    """A rendered report: markdown text and the plot files it links to (name -> SVG text)."""

    markdown: str
    plots: dict[str, str] = field(default_factory=dict)


def _svg(title: str, body: list[str], x_label: str, y_label: str) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" font-family="sans-serif" '
        f'font-size="11"><rect width="100%" height="100%" fill="white"/>'
        f'<text x="{_W / 2}" y="16" text-anchor="middle" font-size="13">{html.escape(title)}</text>'
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - 16}" y2="{_H - _PAD}" stroke="black"/>'
        f'<line x1="{_PAD}" y1="28" x2="{_PAD}" y2="{_H - _PAD}" stroke="black"/>'
        f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle">{html.escape(x_label)}</text>'
        f'<text x="12" y="{_H / 2}" transform="rotate(-90 12 {_H / 2})" text-anchor="middle">'
        f"{html.escape(y_label)}</text>"
    )
    return head + "".join(body) + "</svg>"


def _scale(lo: float, hi: float, a: float, b: float) -> tuple[float, float]:
    span = hi - lo if hi > lo else 1.0
    return (b - a) / span, a - lo * (b - a) / span


def _ticks(lo: float, hi: float, horizontal: bool) -> list[str]:
    out = []
    for v in np.linspace(lo, hi, 5):
        if horizontal:
            k, c = _scale(lo, hi, _PAD, _W - 16)
            x = k * v + c
            out.append(f'<text x="{x:.1f}" y="{_H - _PAD + 14}" text-anchor="middle">{v:.0f}</text>')
        else:
            k, c = _scale(lo, hi, _H - _PAD, 28)
            y = k * v + c
            out.append(f'<text x="{_PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    return out


def histogram_svg(values: np.ndarray, marker: float | None, title: str) -> str:
    """A histogram of ``values`` with a vertical line at ``marker``."""
    points = np.concatenate([values, [] if marker is None else [marker]])
    lo, hi = (float(points.min()), float(points.max())) if points.size else (0.0, 1.0)
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    counts, edges = np.histogram(values, bins=40, range=(lo, hi))
    kx, cx = _scale(lo, hi, _PAD, _W - 16)
    ky, cy = _scale(0, float(counts.max(initial=1)), _H - _PAD, 28)
    body = [
        f'<rect x="{kx * a + cx:.1f}" y="{ky * n + cy:.1f}" width="{max(kx * (b - a) - 1, 1):.1f}" '
        f'height="{(_H - _PAD) - (ky * n + cy):.1f}" fill="#6b8fd6"/>'
        for n, a, b in zip(counts.tolist(), edges[:-1].tolist(), edges[1:].tolist(), strict=True)
    ]
    if marker is not None:
        x = kx * marker + cx
        body.append(f'<line x1="{x:.1f}" y1="28" x2="{x:.1f}" y2="{_H - _PAD}" stroke="#d62728" stroke-width="2"/>')
        body.append(f'<text x="{x + 4:.1f}" y="40" fill="#d62728">agent {marker:.0f}</text>')
    body += _ticks(lo, hi, horizontal=True) + _ticks(0, float(counts.max(initial=1)), horizontal=False)
    return _svg(title, body, "rating (mu)", "humans")


def line_svg(labels: Sequence[str], values: Sequence[float], title: str) -> str:
    """A line through ``values`` (one point per label)."""
    lo, hi = min(values) - 50, max(values) + 50
    kx, cx = _scale(0, max(len(values) - 1, 1), _PAD + 20, _W - 40)
    ky, cy = _scale(lo, hi, _H - _PAD, 28)
    points = " ".join(f"{kx * i + cx:.1f},{ky * v + cy:.1f}" for i, v in enumerate(values))
    body = [f'<polyline points="{points}" fill="none" stroke="#1f77b4" stroke-width="2"/>']
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x, y = kx * i + cx, ky * v + cy
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1f77b4"/>')
        body.append(f'<text x="{x:.1f}" y="{y - 8:.1f}" text-anchor="middle">{v:.0f}</text>')
        body.append(f'<text x="{x:.1f}" y="{_H - _PAD + 14}" text-anchor="middle">{html.escape(label[:18])}</text>')
    body += _ticks(lo, hi, horizontal=False)
    return _svg(title, body, "contest (date order)", "mu")


def bars_svg(labels: Sequence[str], values: Sequence[float], title: str) -> str:
    """Horizontal-axis bars of percentages (0-100) per label."""
    kx, cx = _scale(0, max(len(values), 1), _PAD + 4, _W - 16)
    ky, cy = _scale(0, 100, _H - _PAD, 28)
    width = kx * 0.7
    body = []
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = kx * i + cx
        body.append(
            f'<rect x="{x:.1f}" y="{ky * v + cy:.1f}" width="{width:.1f}" '
            f'height="{(_H - _PAD) - (ky * v + cy):.1f}" fill="#2ca02c"/>'
        )
        body.append(f'<text x="{x + width / 2:.1f}" y="{ky * v + cy - 4:.1f}" text-anchor="middle">{v:.1f}</text>')
        body.append(
            f'<text x="{x + width / 2:.1f}" y="{_H - _PAD + 14}" text-anchor="middle">{html.escape(label[:18])}</text>'
        )
    body += _ticks(0, 100, horizontal=False)
    return _svg(title, body, "competition", "beats % of human teams")


def build_report(result: HumansResult, *, title: str = "AgentK against humans", note: str = "") -> Report:
    """Render ``result`` as markdown with three SVG plots (rating trajectory, human distribution,
    per-competition percentile bars). Pure: writes nothing.
    """
    eligible = result.eligible()
    pool_mu = result.human_mu[eligible]
    lines = [f"# {title}", ""]
    if note:
        lines += [note, ""]
    lines += [
        f"Rated {result.contests} contests ({result.entries:,} entries, {len(result.human_mu):,} humans) "
        f"with exact Elo-MMR in {result.seconds:.2f} s.",
        "",
        "## Human rating distribution",
        "",
        f"Humans with at least {result.min_contests} rated contests: {pool_mu.size:,}.",
        "",
    ]
    if pool_mu.size:
        q = np.percentile(pool_mu, [10, 25, 50, 75, 90])
        lines += [
            "| mean | sd | p10 | p25 | median | p75 | p90 |",
            "|---|---|---|---|---|---|---|",
            f"| {pool_mu.mean():.0f} | {pool_mu.std():.0f} | " + " | ".join(f"{v:.0f}" for v in q) + " |",
            "",
        ]
    plots: dict[str, str] = {}
    agent = result.agent
    if agent is None:
        lines += ["The agent has no rated contest here.", ""]
    else:
        medals = result.medals()
        tier = kaggle_tier(medals["gold"], medals["silver"], medals["bronze"])
        pct = result.percentile
        top = result.top_pct
        lines += [
            "## The agent",
            "",
            f"- mu {agent.mu:.1f}, sigma {agent.sigma:.1f}, display rating {agent.display_rating:.1f} "
            f"after {agent.contests} contests",
            f"- beats {pct:.1f} % of the humans with >= {result.min_contests} contests (top {top:.1f} %)"
            if pct is not None and top is not None
            else f"- no human has >= {result.min_contests} contests",
            f"- medals by Kaggle's progression rules: {medals['gold']} gold, {medals['silver']} silver, "
            f"{medals['bronze']} bronze -> tier {tier}",
            "",
            "| competition | date | score | rank | teams | beats % | top % | medal (MLE-bench) | medal (rank) "
            "| performance | mu after |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in result.agent_contests:
            p = c.placement
            lines.append(
                f"| {c.name} | {c.date} | {p.score:.5g} | {p.rank} | {p.teams} | {p.beats_pct:.1f} | "
                f"{p.top_pct:.1f} | {p.medal or '-'} | {p.medal_by_rank or '-'} | {c.performance:.0f} | {c.mu:.0f} |"
            )
        lines.append("")
        names = [c.name for c in result.agent_contests]
        plots["rating_trajectory.svg"] = line_svg(names, [c.mu for c in result.agent_contests], "Agent rating")
        plots["percentiles.svg"] = bars_svg(
            names, [c.placement.beats_pct for c in result.agent_contests], "Agent placement per competition"
        )
    plots["human_distribution.svg"] = histogram_svg(
        pool_mu, agent.mu if agent else None, f"Humans with >= {result.min_contests} contests"
    )
    lines += ["## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    return Report("\n".join(lines), plots)
