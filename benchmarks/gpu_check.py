"""Train every GPU-capable zoo model on the same data on CUDA and on CPU, and print the speed-up.

    python benchmarks/gpu_check.py                 # 100k rows x 30 numbers + 3 categories, < 5 min on a GPU box
    python benchmarks/gpu_check.py --rows 20000    # a quick look on a laptop

Each model trains a fixed amount of work (rounds or epochs, no early stopping) through the zoo's own
``fit`` so both devices do the same thing; the table shows seconds, seconds per round/epoch, the speed-up
per round/epoch and the hold-out AUC of both runs (they should agree closely). A short warm-up fit on
CUDA comes first so one-off start-up (CUDA context, kernels) is not counted.

Without a usable CUDA GPU it says so, prints the CPU timings and exits 0. With a GPU, it exits 1 when
any CUDA run failed (e.g. LightGBM finds no OpenCL platform, or xgboost is the CPU-only build); the
row says why.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from agentk.competitions import Modality
from agentk.tools.device import cuda_available
from agentk.tools.zoo import MODELS, ZooModel

# Fixed work per model: no validation rows, so no early stopping, and the same rounds on both devices.
WORK: dict[str, dict[str, Any]] = {
    "xgboost": {"max_rounds": 400, "max_depth": 8, "learning_rate": 0.05},
    "catboost": {"max_rounds": 400, "depth": 8, "learning_rate": 0.05, "border_count": 128},
    "lightgbm": {"max_rounds": 300, "num_leaves": 127, "learning_rate": 0.05},
    "mlp": {"epochs_without_valid": 4, "batch_size": 1024, "hidden": 512, "layers": 3},
}
WARM_UP = {
    "xgboost": {"max_rounds": 5},
    "catboost": {"max_rounds": 5},
    "lightgbm": {"max_rounds": 5},
    "mlp": {"epochs_without_valid": 1},
}


@dataclass
class Run:
    seconds: float = float("nan")
    units: int = 0
    auc: float = float("nan")
    error: str = ""

    @property
    def per_unit(self) -> float:
        return self.seconds / self.units if self.units else float("nan")


def make_data(rows: int, features: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, dict[str, Modality]]:
    """A binary task with non-linear numeric signal, interactions and three categorical columns."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, features)).astype(np.float32)
    cats = {f"cat{k}": rng.integers(0, levels, size=rows) for k, levels in enumerate((10, 100, 1000))}
    effect = rng.normal(size=1000)
    logit = (
        np.sin(2 * x[:, 0])
        + x[:, 1] * x[:, 2]
        + 0.5 * np.abs(x[:, 3])
        + 0.3 * x[:, 4:10].sum(axis=1)
        + effect[cats["cat0"]]
        + 0.5 * effect[cats["cat1"]]
    )
    y = (logit + rng.logistic(size=rows) > 0).astype(int)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(features)])
    for name, codes in cats.items():
        frame[name] = pd.Series(codes).map(lambda v: f"v{v}").astype(str)
    columns = {c: (Modality.CATEGORICAL if c.startswith("cat") else Modality.NUMERIC) for c in frame.columns}
    return frame, y, columns


def units_of(model: ZooModel) -> int:
    """Boosting rounds or epochs actually trained."""
    if hasattr(model, "net_"):
        return int(model.epochs_)
    booster = getattr(model, "booster_", None)
    if booster is not None:
        if hasattr(booster, "num_boosted_rounds"):
            return int(booster.num_boosted_rounds())
        return int(booster.current_iteration())
    return int(model.model_.tree_count_)


def train_once(
    name: str,
    device: str,
    params: dict[str, Any],
    data: tuple[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray],
    columns: dict[str, Modality],
    n_jobs: int,
) -> Run:
    X, y, X_test, y_test = data
    model = MODELS[name].factory(
        columns=columns, task_type="binary", n_classes=2, params=params, device=device, n_jobs=n_jobs, seed=0
    )
    try:
        start = time.monotonic()
        model.fit(X, y)
        seconds = time.monotonic() - start
        auc = float(roc_auc_score(y_test, model.predict_model(X_test)))
    except Exception as exc:  # a failed backend is a row in the report, not the end of the check
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        traceback.print_exc(file=sys.stderr)
        return Run(error=f"{type(exc).__name__}: {first[:90]}")
    return Run(seconds, units_of(model), auc)


def build_info() -> list[str]:
    lines = []
    try:
        import torch

        lines.append(f"torch {torch.__version__} (CUDA build: {torch.version.cuda or 'no'})")
    except ImportError:
        lines.append("torch: not installed (the `torch` extra)")
    import xgboost

    lines.append(f"xgboost {xgboost.__version__} (USE_CUDA: {xgboost.build_info().get('USE_CUDA', False)})")
    import catboost
    import lightgbm

    lines.append(f"catboost {catboost.__version__}; lightgbm {lightgbm.__version__} (GPU via OpenCL)")
    return lines


def fmt(value: float, spec: str) -> str:
    return "-" if np.isnan(value) else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--models", default=",".join(WORK), help="comma-separated subset of " + ", ".join(WORK))
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    started = time.monotonic()
    gpu = cuda_available()
    for line in build_info():
        print(line)
    print(f"CUDA GPU usable: {gpu}; CPU threads: {args.n_jobs}; rows: {args.rows} x {args.features} + 3 categories")
    frame, y, columns = make_data(args.rows, args.features)
    cut = int(0.8 * len(frame))
    data = (frame.iloc[:cut], y[:cut], frame.iloc[cut:], y[cut:])
    names = [m for m in args.models.split(",") if m]
    unknown = [m for m in names if m not in WORK or m not in MODELS]
    if unknown:
        print(f"unknown or unavailable models: {unknown} (torch missing for mlp?)", file=sys.stderr)
        names = [m for m in names if m not in unknown]

    results: dict[str, tuple[Run, Run | None]] = {}
    for name in names:
        cpu = train_once(name, "cpu", WORK[name], data, columns, args.n_jobs)
        print(f"{name:9s} cpu  {fmt(cpu.seconds, '.1f')} s {cpu.error}", flush=True)
        cuda: Run | None = None
        if gpu:
            warm = (frame.iloc[:2000], y[:2000], frame.iloc[:500], y[:500])
            train_once(name, "cuda", WARM_UP[name], warm, columns, args.n_jobs)
            cuda = train_once(name, "cuda", WORK[name], data, columns, args.n_jobs)
            print(f"{name:9s} cuda {fmt(cuda.seconds, '.1f')} s {cuda.error}", flush=True)
        results[name] = (cpu, cuda)

    print()
    header = f"{'model':9s} {'units':>5s} {'cpu s':>7s} {'cuda s':>7s} {'speed-up':>8s} {'cpu AUC':>7s}"
    header += f" {'cuda AUC':>8s}  notes"
    print(header)
    print("-" * len(header))
    failed = []
    for name, (cpu, cuda) in results.items():
        speedup = cpu.per_unit / cuda.per_unit if cuda is not None and not cuda.error else float("nan")
        notes = "; ".join(
            n
            for n in (
                f"cpu failed: {cpu.error}" if cpu.error else "",
                f"cuda failed: {cuda.error}" if cuda is not None and cuda.error else "",
                "no GPU" if cuda is None else "",
                f"units cpu/cuda {cpu.units}/{cuda.units}" if cuda is not None and cuda.units != cpu.units else "",
            )
            if n
        )
        if cuda is not None and cuda.error:
            failed.append(name)
        print(
            f"{name:9s} {cpu.units:5d} {fmt(cpu.seconds, '7.1f')} {fmt(cuda.seconds if cuda else np.nan, '7.1f')} "
            f"{fmt(speedup, '7.1f') + 'x' if not np.isnan(speedup) else '       -'} {fmt(cpu.auc, '7.4f')} "
            f"{fmt(cuda.auc if cuda else np.nan, '8.4f')}  {notes}"
        )
    print(f"\ntotal {time.monotonic() - started:.0f} s")
    if not gpu:
        print("no usable CUDA GPU on this machine: CPU timings only")
        return 0
    if failed:
        print(f"CUDA runs failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
