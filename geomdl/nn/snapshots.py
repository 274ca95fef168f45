"""Which training steps to snapshot: every k steps, or log-spaced (dense early, sparse late)."""

from __future__ import annotations

import numpy as np

from geomdl.checks import check_snapshots, check_steps
from geomdl.errors import UsageError

SPACINGS = ("linear", "log")


def snapshot_steps(steps: int, count: int, spacing: str = "linear") -> np.ndarray:
    """Sorted unique steps in ``0..steps`` (both ends included), about ``count`` of them. (S,) int64

    ``linear``: every ``max(1, steps // (count - 1))`` steps; ``log``: ``0`` and ``geomspace(1, steps)``.
    """
    if spacing not in SPACINGS:
        raise UsageError(f"unknown snapshot spacing {spacing!r}; known: {', '.join(SPACINGS)}")
    check_snapshots(count)
    check_steps(steps)
    if spacing == "linear":
        every = max(1, steps // (count - 1))
        s = np.arange(0, steps + 1, every)
    else:
        s = np.concatenate([[0], np.round(np.geomspace(1, steps, count - 1))])
    return np.unique(np.append(s, steps).astype(np.int64))
