"""How often a local GGUF model's decisions are valid, per answer shape and with or without the policy's advice.

    python benchmarks/llm_decisions.py                       # the bundled 0.5B test model (llm-test extra)
    python benchmarks/llm_decisions.py --model m.gguf --styles nested --advice on --threads 2

For each configuration, LLMReasoner decides on the same run states (setup, optimise at several points,
finalise) and the script prints, per configuration: decisions valid at the first attempt, valid after a
retry, fallbacks, the seconds per decision, and the actions chosen. It measures plumbing and prompt shape,
not decision quality. Timings depend on how busy the cores are (see ``LocalLlamaServer``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from agentk.agent.actions import ACTIONS, ActionSpec
from agentk.agent.reasoners import LLMReasoner, allowed_actions, bundled_model_path, open_chat_model

TASK = {
    "task_type": "binary",
    "metric": "auc",
    "higher_is_better": True,
    "n_rows": 7043,
    "columns": {"numeric": 4, "categorical": 15},
    "target": "Churn",
}
CANDIDATES = ["lightgbm", "linear", "catboost", "xgboost"]
PROFILE = {"step": 1, "action": "profile", "args": {}, "ok": True, "observation": "7043 rows, 21 columns"}
INFER = {"step": 2, "action": "infer_task", "args": {}, "ok": True, "observation": "binary, target Churn; checks ok"}
LGBM = {"step": 3, "action": "train_model", "args": {"model": "lightgbm", "params": {}}, "ok": True}
LINEAR = {"step": 4, "action": "train_model", "args": {"model": "linear", "params": {}}, "ok": True}
R_LGBM = {"model": "lightgbm", "cv_score": 0.842, "complete": True, "seconds": 3.1}
R_LINEAR = {"model": "linear", "cv_score": 0.835, "complete": True, "seconds": 1.2}


def states() -> list[dict[str, Any]]:
    later = {"task": TASK, "candidates": CANDIDATES}
    return [
        {"phase": "setup", "history": [], "results": [], "budget": {"seconds_left": 290, "steps_left": 20}},
        {"phase": "setup", "history": [PROFILE], "results": [], "budget": {"seconds_left": 280, "steps_left": 19}},
        {"phase": "optimise", **later, "history": [PROFILE, INFER], "results": [], "budget": {"seconds_left": 270}},
        {"phase": "optimise", **later, "history": [PROFILE, INFER, LGBM], "results": [R_LGBM]},
        {"phase": "optimise", **later, "history": [PROFILE, INFER, LGBM, LINEAR], "results": [R_LGBM, R_LINEAR]},
        {
            "phase": "finalise",
            **later,
            "history": [PROFILE, INFER, LGBM],
            "results": [R_LGBM],
            "budget": {"steps_left": 2},
        },
    ]


def offered(phase: str) -> dict[str, ActionSpec]:
    if phase == "setup":  # as the loop offers them before the task is inferred
        return {n: s for n, s in ACTIONS.items() if s.phase in ("setup", "any")}
    return allowed_actions(ACTIONS, phase)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a GGUF file (default: the bundled test model)")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "agentk" / "models")
    parser.add_argument("--styles", default="nested,flat")
    parser.add_argument("--advice", default="on,off")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--max-tokens", type=int, default=200)
    parser.add_argument("--retries", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    path = args.model or bundled_model_path(args.cache)
    with open_chat_model(f"local:{path}", timeout_s=args.timeout, max_tokens=args.max_tokens, threads=args.threads) as (
        model,
        spec,
    ):
        for style in args.styles.split(","):
            for advice in args.advice.split(","):
                reasoner = LLMReasoner(
                    model,
                    method=spec.method,
                    retries=args.retries,
                    timeout_s=args.timeout,
                    schema="flat" if style == "flat" else "nested",
                    advice=advice == "on",
                )
                first, chosen, start = 0, [], time.monotonic()
                for state in states():
                    d = reasoner.decide(state, [], offered(state["phase"]))
                    first += d.source == "llm" and d.attempts == 1
                    chosen.append(f"{d.action}{'' if d.source == 'llm' else '*'}")
                s = reasoner.stats()
                print(
                    f"{style:6} advice={advice:3}: {first}/{s['decisions']} valid at once, "
                    f"{s['llm_decisions']}/{s['decisions']} valid, {s['fallbacks']} fallbacks, "
                    f"{s['invalid_answers']} invalid answers, {(time.monotonic() - start) / s['decisions']:.1f}s "
                    f"a decision, tokens {s['tokens_in']}+{s['tokens_out']}; chose {' '.join(chosen)}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
