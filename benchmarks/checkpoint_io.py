"""Seconds to write a run's checkpointed pool (or model file) with joblib.dump and with the C pickler.

Usage: ``python benchmarks/checkpoint_io.py RUN_DIR/checkpoint/pool.joblib [--repeats 3]``. Loads the file
once, then writes it with each writer ``--repeats`` times to a temporary folder and prints the best seconds of
each, the ratio, and the sizes; it also checks that ``joblib.load`` reads the pickled copy back.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import joblib

from agentk.agent.model_io import dump_pickle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", type=Path)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    obj = joblib.load(args.path)
    with tempfile.TemporaryDirectory() as tmp:
        timings: dict[str, float] = {}
        sizes: dict[str, int] = {}
        for name, write in (("joblib.dump", joblib.dump), ("pickle (dump_pickle)", dump_pickle)):
            out = Path(tmp) / name.split()[0]
            best = float("inf")
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                write(obj, out)
                best = min(best, time.perf_counter() - t0)
            timings[name], sizes[name] = best, out.stat().st_size
        joblib.load(Path(tmp) / "pickle")  # the pickled copy reads back through the usual loader
    for name, seconds in timings.items():
        print(f"{name:22s} {seconds:7.2f} s  {sizes[name] / 1e6:7.1f} MB")
    print(f"speed-up: {timings['joblib.dump'] / timings['pickle (dump_pickle)']:.1f}x")


if __name__ == "__main__":
    main()
