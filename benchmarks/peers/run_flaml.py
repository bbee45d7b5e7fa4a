"""Train FLAML AutoML on one competition within a time budget and write a submission.

Runs inside benchmarks/peers/.venv-flaml (see setup_envs.sh); never imports agentk.

    .venv-flaml/bin/python run_flaml.py --train T --test T --sample S --target Y --id ID \
        --metric accuracy --direction higher --budget 600 --out submission.csv
"""

from __future__ import annotations

import sys
import time
from typing import Any

import peer_common as pc


def automl_kwargs(spec: pc.MetricSpec, y: Any) -> dict[str, Any]:
    """AutoML.fit arguments for an AgentK metric: task and FLAML metric name.

    FLAML label-encodes string targets in sorted order, so its binary metrics (f1, roc_auc) score the larger
    label as positive, and 0/1 or False/True targets keep 1/True as positive: AgentK's convention.
    """
    task = "regression" if pc.problem_type(spec, y) == "regression" else "classification"
    return {"task": task, "metric": spec.flaml}


def main(argv: list[str] | None = None) -> int:
    started = time.monotonic()
    args = pc.parse_args(__doc__ or "", argv)
    spec, X, y, X_test, sample, ids = pc.load_inputs(args)

    from flaml import AutoML

    kwargs = automl_kwargs(spec, y)
    automl = AutoML()
    fit_s = pc.fit_seconds(args.budget, started)
    print(f"flaml: fitting for {fit_s:.0f} s ({kwargs})", flush=True)
    fit_start = time.monotonic()
    automl.fit(
        X_train=X,
        y_train=pc.encode_target(y, spec),
        time_budget=fit_s,
        seed=args.seed,
        verbose=1,
        log_file_name="",
        **kwargs,
    )
    fit_wall = time.monotonic() - fit_start
    labels = proba = values = None
    if spec.kind == "label":
        labels = automl.predict(X_test)
    elif spec.kind in ("proba", "multi_proba"):
        import pandas as pd

        proba = pd.DataFrame(automl.predict_proba(X_test), columns=list(automl.classes_))
    else:
        values = pc.decode_values(automl.predict(X_test), spec)
    submission = pc.make_submission(
        sample, ids, spec, labels=labels, proba=proba, values=values, positive=pc.positive_class(y)
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    submission.to_csv(args.out, index=False)
    pc.report(
        {
            "peer": "flaml",
            "best_model": automl.best_estimator,
            "val_score": automl.best_loss,  # FLAML's loss: lower is better
            "fit_s": fit_wall,
            "time_budget": fit_s,
            "wall_s": time.monotonic() - started,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
