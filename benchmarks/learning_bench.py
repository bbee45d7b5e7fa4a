"""Learning across runs, measured: each competition with an empty memory, then again leave-one-out.

Usage:
    python benchmarks/learning_bench.py [FOLDER ...] [--budget 120] [--out DIR]

Pass 1 runs every competition with its own empty memory (a fresh AGENTK_HOME). Pass 2 runs each one again
with a fresh memory into which the pass-1 memories of the *other* competitions were imported (leave-one-out:
nothing learnt on the competition itself). Per competition it prints both passes side by side: final CV and
test score, and the seconds from the run's start until a model first reached pass 1's best CV score
("-": never within the budget). Default folders: the seven in ../shared/competitions.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "competitions"
_SCORED = ("score", "trial", "ensemble")


def _curve(run_dir: Path) -> list[tuple[float, float]]:
    """``(seconds since start, CV score)`` of every scored model of a run, in order."""
    from agentk.runs import read_events

    events = read_events(run_dir / "events.jsonl")
    start = datetime.fromisoformat(events[0].ts)
    out = []
    for e in events:
        score = e.data.get("cv_score")
        if (
            e.type in _SCORED
            and isinstance(score, (int, float))
            and (e.type != "trial" or e.data.get("state") == "COMPLETE")
        ):
            out.append(((datetime.fromisoformat(e.ts) - start).total_seconds(), float(score)))
    return out


def _reach(curve: list[tuple[float, float]], target: float, higher: bool) -> float | None:
    for seconds, score in curve:
        if (score >= target - 1e-12) if higher else (score <= target + 1e-12):
            return seconds
    return None


def _run(folder: Path, home: Path, budget: float) -> dict[str, Any]:
    from agentk.agent import run_competition
    from agentk.config import Settings

    settings = Settings(home=home)
    outcome = run_competition(str(folder), budget=budget, settings=settings)
    result = dict(outcome.result)
    result["run_dir"] = str(outcome.out_dir)
    result["curve"] = _curve(outcome.out_dir)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/agentk-learning"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    from memory_store import open_store

    folders = args.folders or sorted(p for p in DEFAULT_ROOT.iterdir() if (p / "metric.txt").is_file())
    out: Path = args.out
    rows: dict[str, dict[str, Any]] = {}
    for folder in folders:  # pass 1: empty memory each
        home = out / "pass1" / folder.name
        result = _run(folder, home, args.budget)
        with open_store(str(home / "memory.db")) as store:
            store.export_jsonl(out / "pass1" / f"{folder.name}.memory.jsonl")
        rows[folder.name] = {"first": result}
        print(f"pass 1 {folder.name}: CV {result.get('cv_score')} test {result.get('test_score')}", flush=True)
    for folder in folders:  # pass 2: memory from the other competitions only
        home = out / "pass2" / folder.name
        home.mkdir(parents=True, exist_ok=True)
        with open_store(str(home / "memory.db")) as store:
            for other in folders:
                if other != folder:
                    store.import_jsonl(out / "pass1" / f"{other.name}.memory.jsonl")
            imported = store.count()
        result = _run(folder, home, args.budget)
        result["imported_items"] = imported
        rows[folder.name]["second"] = result
        print(f"pass 2 {folder.name}: CV {result.get('cv_score')} test {result.get('test_score')}", flush=True)

    header = (
        f"{'competition':<44} {'metric':<9} {'CV empty':>9} {'CV LOO':>9} {'test empty':>10} {'test LOO':>9} "
        f"{'t-best empty':>12} {'t-best LOO':>10} {'items':>6}"
    )
    print(header)
    for name, row in rows.items():
        first, second = row["first"], row["second"]
        higher = bool(first.get("higher_is_better", True))
        scores = [s for _, s in first["curve"]]
        target = (max(scores) if higher else min(scores)) if scores else None
        t1 = _reach(first["curve"], target, higher) if target is not None else None
        t2 = _reach(second["curve"], target, higher) if target is not None else None

        def fmt(value: Any, digits: int = 5) -> str:
            return "-" if value is None else f"{value:.{digits}f}"

        print(
            f"{name:<44} {first.get('metric')!s:<9} {fmt(first.get('cv_score')):>9} {fmt(second.get('cv_score')):>9} "
            f"{fmt(first.get('test_score')):>10} {fmt(second.get('test_score')):>9} "
            f"{fmt(t1, 1):>12} {fmt(t2, 1):>10} {second.get('imported_items', 0):>6}"
        )
    (out / "learning.json").write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
