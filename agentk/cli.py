"""The ``agentk`` command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from agentk.bench.cli import app as bench_app
from agentk.config import get_settings
from agentk.errors import AgentKError, UserInputError
from memory_store.cli import app as memory_app

app = typer.Typer(
    name="agentk",
    help="AgentK: an autonomous data-science agent for Kaggle-style competitions.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
competitions_app = typer.Typer(help="List, inspect and import competitions.", no_args_is_help=True)
runs_app = typer.Typer(help="Inspect recorded runs.", no_args_is_help=True)
app.add_typer(competitions_app, name="competitions")
app.add_typer(runs_app, name="runs")
app.add_typer(bench_app, name="bench", help="Benchmarks against humans: placement, medals, Elo-MMR.")
app.add_typer(memory_app, name="memory", help="Inspect the long/short-term memory (memory_store).")

console = Console()
err_console = Console(stderr=True)


def _report(exc: AgentKError) -> None:
    err_console.print(f"[bold red]error:[/] {exc.message}", highlight=False)
    if exc.hint:
        err_console.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)


def _fmt(value: Any, digits: int = 5) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


@app.command()
def run(
    ref: Annotated[
        str | None,
        typer.Argument(help="A built-in name, a competition folder, a registered slug or a Kaggle URL."),
    ] = None,
    budget: Annotated[float | None, typer.Option(help="Wall-clock budget in seconds.", min=1)] = None,
    out: Annotated[Path | None, typer.Option(help="Run folder (default: AGENTK_HOME/runs/RUN_ID).")] = None,
    folds: Annotated[int | None, typer.Option(help="Cross-validation folds.", min=2, max=20)] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    target: Annotated[str | None, typer.Option(help="Override the target column.")] = None,
    id_column: Annotated[str | None, typer.Option(help="Override the id column.")] = None,
    task_type: Annotated[
        str | None, typer.Option(help="Override the task type (binary, multiclass, regression, ...).")
    ] = None,
    metric: Annotated[str | None, typer.Option(help="Override the metric (a registry name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the result.")] = False,
    llm: Annotated[
        str | None,
        typer.Option(help="Chat model deciding the actions (openai:M, anthropic:M, ollama:M, local:PATH.gguf)."),
    ] = None,
    max_steps: Annotated[int | None, typer.Option(help="Most steps of the agent's loop.", min=1)] = None,
    resume: Annotated[
        str | None, typer.Option(help="Resume an interrupted run from its last finished step (a run id).")
    ] = None,
) -> None:
    """Run the agent on a competition: train, write submission.csv, grade and place it when answers exist."""
    from agentk.agent import resume_run, run_competition
    from agentk.runs import Event

    if (ref is None) == (resume is None):
        raise UserInputError("give either a competition to run or --resume RUN_ID, not both or neither")
    updates: dict[str, object] = {}
    if llm is not None:
        updates["llm"] = llm
    if max_steps is not None:
        updates["max_steps"] = max_steps
    settings = get_settings().model_copy(update=updates) if updates else get_settings()

    overrides = {
        k: v
        for k, v in {
            "target": target,
            "id_column": id_column,
            "task_type": task_type,
            "metric": metric,
        }.items()
        if v
    }

    with console.status("starting", spinner="dots") as status:

        def show(event: Event) -> None:
            if not quiet:
                style = {
                    "error": "bold red",
                    "warning": "yellow",
                    "score": "cyan",
                    "grade": "bold green",
                }.get(event.type, "")
                console.print(
                    f"[dim]{event.ts[11:19]}[/] [{style}]{event.message}[/]"
                    if style
                    else f"[dim]{event.ts[11:19]}[/] {event.message}"
                )
            status.update(event.message[:80])

        if resume is not None:
            outcome = resume_run(resume, on_event=show, settings=settings)
        else:
            assert ref is not None
            outcome = run_competition(
                ref,
                budget=budget,
                out=out,
                folds=folds,
                seed=seed,
                overrides=overrides,
                on_event=show,
                settings=settings,
            )
    _print_result(outcome.result, outcome.out_dir)
    if not outcome.ok:
        raise typer.Exit(code=1)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to bind; a non-loopback address requires an API token.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Local worker processes (default: AGENTK_WORKERS).", min=0)
    ] = None,
) -> None:
    """Serve the REST API and the dashboard, with local workers that execute queued runs."""
    from agentk.api.server import serve as serve_api

    serve_api(host=host, port=port, workers=workers)


@app.command()
def predict(
    data: Annotated[Path, typer.Argument(help="CSV of rows to predict (the id column and the model's inputs).")],
    model: Annotated[Path, typer.Option(help="A run's model.joblib or a distilled student file.")],
    out: Annotated[Path, typer.Option(help="Where to write the predictions (submission format).")],
) -> None:
    """Predict a CSV file with a saved model or student (only load model files you trust: they are pickles)."""
    from agentk.agent.predict import predict_file

    written = predict_file(model, data, out)
    console.print(f"predictions written to {written}")


def _print_result(result: dict[str, Any], out_dir: Path) -> None:
    table = Table(
        title=f"AgentK run {result['run_id']}: {result.get('slug', result['competition'])}", show_header=False
    )
    table.add_row("state", result["state"])
    if result.get("error"):
        table.add_row("error", f"[red]{result['error']}[/]")
    table.add_row(
        "metric",
        f"{result.get('metric', '-')} ({'higher' if result.get('higher_is_better') else 'lower'} is better)",
    )
    table.add_row("model", _fmt(result.get("model")))
    table.add_row("CV score", _fmt(result.get("cv_score")))
    table.add_row("test score", _fmt(result.get("test_score")))
    for p in result.get("placements", []):
        medal = p.get("medal") or "none"
        table.add_row(
            f"placement ({p['leaderboard']})",
            f"rank {p['rank']} of {p['teams']}, beats {p['beats_pct']:.1f}%, top {p['top_pct']:.1f}%, medal: {medal}",
        )
    table.add_row("output", str(out_dir))
    console.print(table)


@competitions_app.command("list")
def competitions_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List built-in and registered competitions."""
    from agentk.competitions import Catalog

    rows = [e.summary() for e in Catalog(get_settings().home).entries()]
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table("slug", "title", "source", "metric", "answers", "leaderboards")
    for r in rows:
        table.add_row(
            r["slug"],
            r["title"],
            r["source"],
            r["metric"] or "?",
            "yes" if r["has_answers"] else "no",
            ", ".join(r["leaderboards"]),
        )
    console.print(table)


@competitions_app.command("show")
def competitions_show(
    ref: Annotated[str, typer.Argument(help="A built-in name, folder or registered slug.")],
) -> None:
    """Show a competition: files, metric and the inferred task."""
    import tempfile

    from agentk.competitions import Catalog, infer_task
    from agentk.competitions._csv import read_table

    entry = Catalog(get_settings().home).resolve(ref)
    console.print_json(json.dumps(entry.summary()))
    with tempfile.TemporaryDirectory() as tmp:
        comp = entry.prepare_workspace(Path(tmp))
        task = infer_task(
            read_table(comp.train, what="train file"),
            read_table(comp.test, what="test file"),
            read_table(comp.sample_submission, what="sample submission"),
            metric=comp.metric,
            higher_is_better=comp.higher_is_better,
            overrides=comp.overrides,
        )
        console.print_json(
            json.dumps({"files": [str(p.relative_to(tmp)) for p in comp.public_files()], "task": task.to_dict()})
        )


@competitions_app.command("import")
def competitions_import(path: Annotated[Path, typer.Argument(help="A competition folder.")]) -> None:
    """Register a competition folder (shared format or MLE-bench prepared layout) by reference."""
    from agentk.competitions import Catalog

    entry = Catalog(get_settings().home).register(path)
    console.print(f"registered [bold]{entry.slug}[/] -> {entry.root}")


@runs_app.command("list")
def runs_list(limit: Annotated[int, typer.Option(min=1, max=1000)] = 20) -> None:
    """List recent runs."""
    from agentk.runs import RunStore

    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    store = RunStore(settings.resolved_database_url)
    table = Table("id", "competition", "state", "cv", "test", "rank/teams", "beats %")
    for r in store.list(limit=limit):
        rank = f"{r.rank}/{r.teams}" if r.rank else "-"
        table.add_row(r.id, r.competition, r.state, _fmt(r.cv_score), _fmt(r.test_score), rank, _fmt(r.beats_pct, 1))
    console.print(table)


def main() -> None:
    """Entry point: user errors print a message and a hint, never a traceback."""
    try:
        app()
    except AgentKError as exc:
        _report(exc)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
