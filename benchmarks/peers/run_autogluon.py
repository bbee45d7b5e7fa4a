"""Train AutoGluon (presets="best_quality") on one competition within a time budget and write a submission.

Runs inside benchmarks/peers/.venv-autogluon (see setup_envs.sh); never imports agentk.

    .venv-autogluon/bin/python run_autogluon.py --train T --test T --sample S --target Y --id ID \
        --metric accuracy --direction higher --budget 600 --out submission.csv
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import peer_common as pc


def predictor_kwargs(spec: pc.MetricSpec, y: Any) -> dict[str, Any]:
    """TabularPredictor arguments for an AgentK metric: problem type, eval metric, positive class."""
    kind = pc.problem_type(spec, y)
    kwargs: dict[str, Any] = {"problem_type": kind, "eval_metric": spec.autogluon}
    if kind == "binary":
        kwargs["positive_class"] = pc.positive_class(y)
    return kwargs


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = pc.parse_args(__doc__ or "", argv)
    spec, X, y, X_test, sample, ids = pc.load_inputs(args)

    from autogluon.tabular import TabularPredictor

    target = "__target__"
    train = X.assign(**{target: pc.encode_target(y, spec).to_numpy()})
    kwargs = predictor_kwargs(spec, y)
    workdir = Path(tempfile.mkdtemp(prefix="ag-", dir=args.out.parent))
    try:
        predictor = TabularPredictor(label=target, path=str(workdir / "models"), verbosity=2, **kwargs)
        fit_s = pc.fit_seconds(args.budget, started)
        print(f"autogluon: fitting best_quality for {fit_s:.0f} s ({kwargs})", flush=True)
        fit_start = time.monotonic()
        predictor.fit(train, presets="best_quality", time_limit=fit_s)
        fit_wall = time.monotonic() - fit_start
        labels = proba = values = None
        if spec.kind == "label":
            labels = predictor.predict(X_test).to_numpy()
        elif spec.kind in ("proba", "multi_proba"):
            proba = predictor.predict_proba(X_test, as_multiclass=True)
        else:
            values = pc.decode_values(predictor.predict(X_test).to_numpy(), spec)
        submission = pc.make_submission(
            sample, ids, spec, labels=labels, proba=proba, values=values, positive=kwargs.get("positive_class")
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        submission.to_csv(args.out, index=False)
        board = predictor.leaderboard(silent=True)
        pc.report(
            {
                "peer": "autogluon",
                "best_model": predictor.model_best,
                "val_score": float(board["score_val"].iloc[0]),  # AutoGluon's sign: higher is better
                "models": len(board),
                "fit_s": fit_wall,
                "time_limit": fit_s,
                "wall_s": time.monotonic() - started,
            }
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
