"""Run AgentK over competition folders with a fixed budget each and print a table against the baseline.

Usage:
    python benchmarks/suite.py [FOLDER ...] [--budget 300] [--out DIR] [--json FILE] [--peers autogluon,flaml]
        [--seed N]

Default folders: the seven competitions in ../shared/competitions. Each row: CV score, test score, rank /
teams and percent of humans beaten on the main leaderboard, medal, wall time, and the same figures for the
default baseline in the folder's baseline/baseline.json.

With --peers, each competition is also run by the named peer AutoML systems (AutoGluon best_quality, FLAML) with
the same budget, each from its own virtual environment (build them with benchmarks/peers/setup_envs.sh), graded
by AgentK's grader; the table gains test score, rank, beats % and wall time per peer. A peer that is not
installed, fails or times out shows its state instead of a score.

The systems need not run in one sitting: ``--skip-agent --peers autogluon --json peers.json`` runs only the
peers, and ``--peer-rows peers.json`` later fills each competition's peer cells from that file (same budget
checked) instead of running them again, so every run still gets the whole machine to itself.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_ROOT = REPO.parent / "shared" / "competitions"


def _baseline(folder: Path) -> dict[str, object]:
    path = folder / "baseline" / "baseline.json"
    if not path.is_file():
        return {}
    data = json.loads(path.read_text())
    board = data["leaderboards"][0]
    return {
        "score": data["score"],
        "rank": board["rank"],
        "teams": board["teams"],
        "beats_pct": board["beats_pct"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folders", nargs="*", type=Path)
    parser.add_argument("--budget", type=float, default=300.0)
    parser.add_argument("--out", type=Path, default=Path("/tmp/agentk-suite"))
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--seed", type=int, default=None, help="the runs' seed (default: the configured one)")
    parser.add_argument(
        "--peers", default="", help="comma-separated peer AutoML systems to run alongside: autogluon,flaml"
    )
    parser.add_argument("--skip-agent", action="store_true", help="run only the peers (rows without AgentK)")
    parser.add_argument(
        "--peer-rows", type=Path, default=None, help="JSON written by an earlier --json: reuse its peer results"
    )
    args = parser.parse_args(argv)
    if args.json:  # made now: a missing folder must not lose the figures after hours of work
        args.json.parent.mkdir(parents=True, exist_ok=True)
    sys.path.insert(0, str(REPO))
    from agentk.agent import run_competition
    from agentk.competitions import load_folder
    from benchmarks.peers import format_cell, parse_peers, run_peer

    try:
        peers = parse_peers(args.peers)
    except ValueError as exc:
        parser.error(str(exc))

    folders = args.folders or sorted(p for p in DEFAULT_ROOT.iterdir() if (p / "public").is_dir())
    saved = _saved_peers(args.peer_rows, args.budget) if args.peer_rows else {}
    rows = []
    for folder in folders:
        start = time.monotonic()
        if args.skip_agent:
            r: dict[str, Any] = {"state": "SKIPPED", "metric": load_folder(folder).metric()[0]}
        else:
            r = run_competition(str(folder), budget=args.budget, out=args.out / folder.name, seed=args.seed).result
        wall = time.monotonic() - start
        p = (r.get("placements") or [{}])[0]
        row = {
            "competition": folder.name,
            "state": r["state"],
            "metric": r.get("metric"),
            "cv": r.get("cv_score"),
            "test": r.get("test_score"),
            "rank": p.get("rank"),
            "teams": p.get("teams"),
            "beats_pct": p.get("beats_pct"),
            "medal": p.get("medal"),
            "wall_s": wall,
            "error": r.get("error"),
            "baseline": _baseline(folder),
            "budget": args.budget,
        }
        if peers:
            reuse = saved.get(folder.name, {})
            row["peers"] = {
                name: reuse.get(name) or run_peer(name, folder, args.budget, args.out / folder.name / "peers")
                for name in peers
            }
        rows.append(row)
        print(json.dumps(row), flush=True)
    print()
    peer_head = "".join(f" {p} test | {p} rank | {p} beats % | {p} wall s |" for p in peers)
    print(
        "| competition | metric | CV | test | rank / teams | beats % | medal | wall s | baseline test | "
        "baseline rank | baseline beats % |" + peer_head
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * (4 * len(peers)))
    for r in rows:
        b = r["baseline"]
        fmt = lambda v, d=5: "-" if v is None else (f"{v:.{d}f}" if isinstance(v, float) else str(v))  # noqa: E731
        peer_cells = ""
        for p in peers:
            pr = r["peers"][p]
            peer_cells += (
                f" {format_cell(pr)} | {pr['rank'] or '-'} / {pr['teams'] or '-'} | {fmt(pr['beats_pct'], 1)} | "
                f"{pr['wall_s']:.0f} |"
            )
        print(
            f"| {r['competition']} | {r['metric']} | {fmt(r['cv'])} | {fmt(r['test'])} | {r['rank']} / {r['teams']} | "
            f"{fmt(r['beats_pct'], 1)} | {r['medal'] or '-'} | {r['wall_s']:.0f} | {fmt(b.get('score'))} | "
            f"{b.get('rank', '-')} / {b.get('teams', '-')} | {fmt(b.get('beats_pct'), 1)} |" + peer_cells
        )
    beats = sorted(r["beats_pct"] for r in rows if r["beats_pct"] is not None)
    agent_ran = [r for r in rows if r["state"] != "SKIPPED"]
    if beats:
        print(
            f"\nmedian beats %: {beats[len(beats) // 2]:.1f}; valid submissions: "
            f"{sum(r['state'] == 'SUCCEEDED' for r in rows)}/{len(rows)}"
        )
    for p in peers:
        wins = sum(_better(r, r["peers"][p]) for r in agent_ran)
        if agent_ran:
            print(f"AgentK better than {p} on {wins}/{len(agent_ran)} (test score; a failed peer counts as beaten)")
        results = [r["peers"][p] for r in rows]
        peer_beats = sorted(x["beats_pct"] for x in results if x["beats_pct"] is not None)
        median = f"{peer_beats[len(peer_beats) // 2]:.1f}" if peer_beats else "-"
        print(
            f"{p}: median beats %: {median}; valid submissions: "
            f"{sum(x['state'] == 'SUCCEEDED' for x in results)}/{len(results)}"
        )
        for r, x in zip(rows, results, strict=True):
            if x["state"] != "SUCCEEDED":
                print(f"  {p} {x['state']} on {r['competition']}: {x['error']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["state"] in ("SUCCEEDED", "SKIPPED") for r in rows) else 1


def _saved_peers(path: Path, budget: float) -> dict[str, dict[str, Any]]:
    """competition -> {peer: row} from an earlier --json file; refuses rows measured at another budget."""
    saved: dict[str, dict[str, Any]] = {}
    for row in json.loads(path.read_text()):
        if float(row.get("budget", budget)) != budget:
            raise SystemExit(f"{path}: {row['competition']} was measured at budget {row.get('budget')}, not {budget:g}")
        saved[row["competition"]] = dict(row.get("peers") or {})
    return saved


def _better(agent: dict[str, Any], peer: dict[str, Any]) -> bool:
    """AgentK's test score beats the peer's (direction from the metric's leaderboard ranks when both placed)."""
    if agent.get("test") is None:
        return False
    if peer.get("test") is None:
        return True
    if agent.get("rank") is not None and peer.get("rank") is not None and agent["rank"] != peer["rank"]:
        return bool(agent["rank"] < peer["rank"])
    from agentk.competitions.metrics import get_metric

    higher = get_metric(agent["metric"]).higher_is_better
    return bool(agent["test"] > peer["test"]) if higher else bool(agent["test"] < peer["test"])


if __name__ == "__main__":
    raise SystemExit(main())
