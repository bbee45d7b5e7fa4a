"""Blending out-of-fold predictions: a weight search scored by the metric itself."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pandas as pd

from agentk.tools.cv import CVResult
from agentk.tools.target import TargetCodec

_STEP = 0.05


def blend(results: list[CVResult], y: pd.Series, codec: TargetCodec) -> CVResult:
    """The best convex combination of complete results on a weight grid (scored out of fold)."""
    start = time.monotonic()
    usable = [r for r in results if r.complete]
    if not usable:
        raise ValueError("no complete cross-validated result to blend")
    best = usable[0]
    for r in usable[1:]:
        if codec.metric.better(r.cv_score, best.cv_score):
            best = r
    best_weights = tuple(1.0 if r is best else 0.0 for r in usable)
    best_score = best.cv_score
    if len(usable) > 1:
        grid = np.round(np.arange(0, 1 + 1e-9, _STEP), 2)
        for weights in itertools.product(grid, repeat=len(usable) - 1):
            last = 1 - sum(weights)
            if last < -1e-9:
                continue
            w = (*weights, max(last, 0.0))
            oof = sum(wi * r.oof for wi, r in zip(w, usable, strict=True))
            s = codec.score(y, np.asarray(oof))
            if codec.metric.better(s, best_score):
                best_score, best_weights = s, w
    oof = np.asarray(sum(wi * r.oof for wi, r in zip(best_weights, usable, strict=True)))
    test = np.asarray(sum(wi * r.test for wi, r in zip(best_weights, usable, strict=True)))
    named = {r.name: float(wi) for wi, r in zip(best_weights, usable, strict=True)}
    return CVResult("blend", oof, test, float(best_score), time.monotonic() - start, True, [], {"weights": named})
