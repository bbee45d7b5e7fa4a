"""``agentk bench``: benchmark the agent against humans (mounted by ``agentk.cli``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agentk.bench.humans import MetaKaggle, load_dated_leaderboards, rate_against_humans
from agentk.bench.report import build_report
from agentk.errors import AgentKError, UserInputError

__all__ = ["app"]

app = typer.Typer(help="Benchmark against humans: leaderboards, medals, percentiles and Elo-MMR.")


def _parse_scores(pairs: list[str], scores_json: Path | None) -> dict[str, float]:
    scores: dict[str, float] = {}
    if scores_json is not None:
        try:
            data = json.loads(scores_json.read_text())
        except (OSError, ValueError) as exc:
            raise UserInputError(f"cannot read agent scores {scores_json}: {exc}") from exc
        if not isinstance(data, dict):
            raise UserInputError(f"{scores_json} must hold a JSON object {{competition: score}}")
        scores.update({str(k): float(v) for k, v in data.items()})
    for pair in pairs:
        name, sep, value = pair.partition("=")
        try:
            scores[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise UserInputError(f"--score expects COMPETITION=SCORE, got {pair!r}")
    return scores


@app.command()
def humans(
    leaderboards: Annotated[
        Path, typer.Option(help="Folder of dated leaderboards with a _contests.csv index (kaggle-named layout).")
    ],
    score: Annotated[
        list[str] | None, typer.Option("--score", help="The agent's score, COMPETITION=SCORE; repeatable.")
    ] = None,
    scores_json: Annotated[
        Path | None, typer.Option(help="JSON object {competition: score} with the agent's scores.")
    ] = None,
    min_contests: Annotated[int, typer.Option(help="Humans need this many rated contests to count.")] = 3,
    meta_kaggle: Annotated[
        Path | None, typer.Option(help="Folder with Meta Kaggle Teams/TeamMemberships/Users/Competitions CSVs.")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write report.md and SVG plots to this folder.")] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "AgentK against humans",
) -> None:
    """Rate the agent and the humans with Elo-MMR across competitions and print (or write) a report."""
    try:
        scores = _parse_scores(score or [], scores_json)
        boards = load_dated_leaderboards(leaderboards)
        meta = MetaKaggle.load(meta_kaggle) if meta_kaggle is not None else None
        result = rate_against_humans(boards, scores, min_contests=min_contests, meta=meta)
        report = build_report(result, title=title)
    except AgentKError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if out is None:
        typer.echo(report.markdown)
        return
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(report.markdown)
    for name, svg in report.plots.items():
        (out / name).write_text(svg)
    typer.echo(f"wrote {out / 'report.md'} and {len(report.plots)} plots")
