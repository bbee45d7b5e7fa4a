"""Inspector: ``python -m memory_store --db URL list|show ID|search QUERY|stats``.

``app`` is a Typer application; ``agentk memory`` mounts it with ``app.add_typer(cli.app, name="memory")``.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from memory_store._factory import open_store
from memory_store._store import MemoryStore, item_to_json
from memory_store._types import MemoryItem

DB_ENV = "MEMORY_STORE_DB"
DEFAULT_DB = "memory.db"

app = typer.Typer(
    name="memory",
    help="Inspect a memory store (SQLite file, sqlite:/// or postgresql+psycopg:// URL).",
    no_args_is_help=True,
    add_completion=False,
)


class _State:
    db: str = DEFAULT_DB
    schema: str | None = None


_state = _State()


@app.callback()
def _main(
    db: Annotated[
        str,
        typer.Option("--db", envvar=DB_ENV, help="Database: file path, sqlite:/// or postgresql+psycopg:// URL."),
    ] = DEFAULT_DB,
    schema: Annotated[str | None, typer.Option(help="PostgreSQL schema holding the tables.")] = None,
) -> None:
    """Inspect a memory store."""
    _state.db = db
    _state.schema = schema


def _open() -> MemoryStore:
    target = _state.db
    is_url = "://" in target or target.startswith(":")
    if not is_url and not os.path.exists(target):
        raise typer.BadParameter(f"no memory database at {target!r}", param_hint="--db")
    return open_store(target, schema=_state.schema)


def _line(item: MemoryItem, value: float) -> str:
    s = item.stats
    mean = "-" if s.mean is None else f"{s.mean:.3f}"
    text = item.text.replace("\n", " ")
    text = text if len(text) <= 70 else text[:67] + "..."
    return f"{item.id}  {item.kind:<15} {item.scope}  n={s.count} mean={mean} value={value:.3f}  {text}"


@app.command("list")
def list_items(
    scope: Annotated[str | None, typer.Option(help="Only this scope and below.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many items.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """List items, oldest first."""
    with _open() as store:
        for item in store.list_items(scope, kinds=kind or None, limit=limit):
            typer.echo(json.dumps(item_to_json(item)) if as_json else _line(item, store.value(item)))


@app.command()
def show(item_id: Annotated[str, typer.Argument(help="Item id.")]) -> None:
    """Show one item with its payload and reward statistics."""
    with _open() as store:
        found = store.get_many([item_id])
        if not found:
            typer.echo(f"no item {item_id!r}", err=True)
            raise typer.Exit(1)
        record: dict[str, Any] = item_to_json(found[0])
        emb = record.pop("embedding")
        record["embedding_dim"] = None if emb is None else len(emb)
        record["value"] = store.value(found[0])
        typer.echo(json.dumps(record, indent=2, ensure_ascii=False))


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="Query text.")],
    scope: Annotated[str | None, typer.Option(help="Scope to search from.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (repeatable).")] = None,
    k: Annotated[int, typer.Option("-k", min=1, help="Number of hits.")] = 10,
    siblings: Annotated[bool, typer.Option(help="Include sibling scopes.")] = False,
) -> None:
    """Hybrid search (embedding, BM25, value, scope proximity)."""
    with _open() as store:
        hits = store.search(query, scope=scope, kinds=kind or None, k=k, include_siblings=siblings)
        for hit in hits:
            parts = f"sim={hit.similarity:.3f} bm25={hit.bm25:.3f} prox={hit.proximity:.2f}"
            typer.echo(f"{hit.score:.3f} [{parts}]  {_line(hit.item, hit.value)}")
        if not hits:
            typer.echo("no hits", err=True)


@app.command()
def stats() -> None:
    """Counts: items, scopes, kinds, rewarded items, version, embedder."""
    with _open() as store:
        info = store.stats()
        top = sorted(store.scopes().items(), key=lambda kv: (-kv[1], kv[0]))[:20]
        info["top_scopes"] = dict(top)
        typer.echo(json.dumps(info, indent=2))
