"""HARD-style disagreement augmentation for tables (after "Hard Augmentations for Robust Distillation").

Candidates are real training rows, perturbed three ways: numeric jitter scaled per feature (its standard
deviation; integer columns stay integers), categorical swaps drawn from the values observed in the column, and
interpolation between two rows (numbers mixed, every other column taken from either row). The candidates
where the teacher and the current student disagree most are kept and labelled by the teacher.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from agentk.competitions import Modality

JITTER = 0.15  # numeric noise, in standard deviations of the feature
SWAP = 0.15  # chance that a categorical value is replaced by one drawn from the column


def perturb(frame: pd.DataFrame, columns: dict[str, Modality], n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` synthetic rows made from ``frame`` (the raw training rows), in ``frame``'s columns and dtypes."""
    base = frame.iloc[rng.integers(0, len(frame), size=n)].reset_index(drop=True).copy()
    other = frame.iloc[rng.integers(0, len(frame), size=n)].reset_index(drop=True)
    # A third of the rows are interpolations, the rest jittered/swapped copies.
    mix = rng.random(n) < 1 / 3
    lam = rng.random(n)
    for name, modality in columns.items():
        if modality is Modality.NUMERIC:
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)
            finite = values[np.isfinite(values)]
            if finite.size == 0:
                continue
            a = pd.to_numeric(base[name], errors="coerce").to_numpy(dtype=float)
            b = pd.to_numeric(other[name], errors="coerce").to_numpy(dtype=float)
            scale = float(finite.std())
            jittered = a + rng.normal(scale=JITTER * scale, size=n)
            mixed = np.where(np.isnan(b), a, lam * a + (1 - lam) * b)
            out = np.where(mix, mixed, jittered)
            out = np.clip(out, finite.min(), finite.max())
            if np.all(finite == np.round(finite)):
                out = np.round(out)
            base[name] = out
        elif modality in (Modality.CATEGORICAL, Modality.DATETIME, Modality.TEXT):
            # Swaps draw from observed values (so the row stays plausible); interpolated rows take either parent.
            take_other = np.where(mix, rng.random(n) < 0.5, False)
            if modality is Modality.CATEGORICAL:
                observed = frame[name].dropna().to_numpy()
                if observed.size:
                    swap = ~mix & (rng.random(n) < SWAP)
                    drawn = observed[rng.integers(0, observed.size, size=n)]
                    values = base[name].to_numpy(dtype=object).copy()
                    values[swap] = drawn[swap]
                    values[take_other] = other[name].to_numpy(dtype=object)[take_other]
                    base[name] = (
                        pd.Series(values, dtype=frame[name].dtype) if _castable(values, frame[name]) else values
                    )
                    continue
            values = base[name].to_numpy(dtype=object).copy()
            values[take_other] = other[name].to_numpy(dtype=object)[take_other]
            base[name] = pd.Series(values).astype(frame[name].dtype, errors="ignore")
    return base


def _castable(values: np.ndarray, like: pd.Series) -> bool:
    try:
        pd.Series(values, dtype=like.dtype)
    except (TypeError, ValueError):
        return False
    return True


def disagreement(teacher: np.ndarray, student: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Per-row disagreement: total variation between class probabilities, or ``|difference| / scale``."""
    teacher = np.asarray(teacher, dtype=float)
    student = np.asarray(student, dtype=float)
    if teacher.ndim == 2:
        return np.asarray(0.5 * np.abs(teacher - student).sum(axis=1), dtype=float)
    return np.asarray(np.abs(teacher - student) / scale, dtype=float)
