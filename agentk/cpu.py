"""How many cores are free now, for choosing how many threads a model (or a local LLM server) uses.

OpenMP libraries (LightGBM, XGBoost, llama.cpp) slow down many-fold when their threads outnumber the free
cores, and waste half a 2-core machine when they take one core that is not busy. The one-minute load
average answers the question badly right after other work ends (it decays over minutes: a benchmark's
second run saw a load of 1.1 on an idle 2-core machine and trained on one thread), so on Linux the busy
share is measured from ``/proc/stat`` over a quarter of a second; elsewhere the load average stands in.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_STAT = Path("/proc/stat")


def _cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies over all cores since boot; None where ``/proc/stat`` cannot be read."""
    try:
        fields = _STAT.read_text(encoding="ascii").splitlines()[0].split()
    except (OSError, IndexError, UnicodeDecodeError):
        return None
    if not fields or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def busy_cores(window: float = 0.25) -> float:
    """Cores' worth of CPU time in use, measured over ``window`` seconds (the load average as a fallback)."""
    first = _cpu_times()
    if first is not None:
        time.sleep(window)
        second = _cpu_times()
        if second is not None and second[1] > first[1]:
            share = (second[0] - first[0]) / (second[1] - first[1])
            return share * (os.cpu_count() or 1)
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def free_cores(most: int | None = None) -> int:
    """Cores not busy now, between 1 and ``most`` (default: every core)."""
    cores = os.cpu_count() or 1
    free = cores - int(busy_cores() + 0.5)
    return max(1, min(most if most is not None else cores, free))
