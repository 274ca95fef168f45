"""Is a finished training run healthy? Pure functions over the network's outputs (no torch, no training).

A run can end without diverging (NaN loss) and without a dead layer (every point collapsed) and still be
useless as a result: the network no longer tells the classes apart, or it ends worse than it started. Such a
run is **degenerate**, a failure like ``diverged`` and ``dead``: its trace is kept for inspection, but the CLI
exits 3 and the renderers refuse it unless forced (``--force`` / ``force=True``).

A run is degenerate when (checked in this order):

1. **fewer distinct output clusters than Q.** The output cluster of class ``j`` is represented by its centroid
   ``mu_j`` = mean of the outputs of class ``j``'s points. Two classes are *not distinct* when
   ``|mu_j - mu_k| <= rtol * scale``, where ``scale`` is the output scale: the root-mean-square distance of all
   outputs from their global mean (floored at ``1e-8 * (1 + max |output|)`` so that a constant output, whose
   spread is rounding noise, counts as one cluster). Classes are grouped by single linkage under that relation
   (``j ~ k ~ l`` puts ``j`` and ``l`` together); the number of groups is the number of distinct clusters. The
   default ``rtol = 1e-3``: a run that maps several classes to one point (the failure seen with too large a
   step, where whole classes sit at one base point of a later layer) has centroid distances of ~1e-16 of the
   scale, a healthy one ~1 (one-hot targets are ``sqrt 2`` apart), so the verdict does not depend on the exact
   value of ``rtol`` over many orders of magnitude;
2. **accuracy below its start**: fewer training points classified correctly (``argmax`` of the outputs
   equals the label) at the end than at the start, when the starting accuracy is given.

:data:`FAILURES` lists every failed stop reason (``diverged``, ``dead``, ``degenerate``); training modules,
traces and renderers all use it. The main entry point is :func:`degenerate_reason` (``None`` = healthy, else a
one-line reason); :func:`mark_degenerate` applies it to a training result.
"""

from __future__ import annotations

import numpy as np

FAILURES = ("diverged", "dead", "degenerate")
RTOL = 1e-3


def _check(outputs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    outputs = np.asarray(outputs, dtype=float)
    labels = np.asarray(labels)
    if outputs.ndim != 2 or labels.ndim != 1 or len(outputs) != len(labels):
        raise ValueError(f"outputs must be (N, Q) and labels (N,), got {outputs.shape} and {labels.shape}")
    return outputs, labels


def output_scale(outputs: np.ndarray) -> float:
    """RMS distance of the outputs ``(N, Q)`` from their mean, floored at ``1e-8 * (1 + max |output|)``."""
    outputs = np.asarray(outputs, dtype=float)
    spread = float(np.sqrt(np.mean(np.sum((outputs - outputs.mean(0)) ** 2, axis=1)))) if len(outputs) else 0.0
    floor = 1e-8 * (1.0 + (float(np.abs(outputs).max()) if outputs.size else 0.0))
    return max(spread, floor)


def output_clusters(outputs: np.ndarray, labels: np.ndarray, rtol: float = RTOL) -> list[list[int]]:
    """Groups of classes whose output centroids are within ``rtol * output_scale`` (single linkage).

    ``outputs: (N, Q)``, ``labels: (N,)``; only classes present in ``labels`` are grouped. Returns the groups
    as sorted lists of class labels, ordered by their smallest label.
    """
    outputs, labels = _check(outputs, labels)
    classes = [int(c) for c in np.unique(labels)]
    if not classes:
        return []
    mus = np.stack([outputs[labels == c].mean(0) for c in classes])
    tol = rtol * output_scale(outputs)
    close = np.linalg.norm(mus[:, None, :] - mus[None, :, :], axis=-1) <= tol
    group = list(range(len(classes)))          # union-find over the "close" relation

    def root(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(close, 1)), strict=True):
        group[root(int(i))] = root(int(j))
    out: dict[int, list[int]] = {}
    for i, c in enumerate(classes):
        out.setdefault(root(i), []).append(c)
    return sorted((sorted(g) for g in out.values()), key=lambda g: g[0])


def accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of points whose ``argmax`` output is their label (``outputs: (N, Q)``, ``labels: (N,)``)."""
    outputs, labels = _check(outputs, labels)
    return float(np.mean(outputs.argmax(1) == labels)) if len(labels) else float("nan")


def degenerate_reason(outputs: np.ndarray, labels: np.ndarray, q: int, start_accuracy: float | None = None,
                      rtol: float = RTOL) -> str | None:
    """``None`` if the final outputs ``(N, Q)`` of a run on ``labels (N,)`` with ``q`` classes are healthy,
    else a one-line reason (fewer than ``q`` distinct output clusters, or accuracy below ``start_accuracy``).

    >>> import numpy as np
    >>> degenerate_reason(np.eye(3)[[0, 1, 2]], np.array([0, 1, 2]), 3) is None
    True
    >>> degenerate_reason(np.eye(3)[[0, 1, 1]], np.array([0, 1, 2]), 3)
    'degenerate run: 2 distinct output clusters for 3 classes (one output for classes 2, 3); accuracy 66.7%'
    """
    outputs, labels = _check(outputs, labels)
    groups = output_clusters(outputs, labels, rtol)
    acc = accuracy(outputs, labels)
    if len(groups) < q:
        shared = [", ".join(str(c + 1) for c in g) for g in groups if len(g) > 1]   # classes from 1
        what = (f" (one output for classes {shared[0]}" + "".join(f"; one for {t}" for t in shared[1:]) + ")"
                if shared else "")
        return (f"degenerate run: {len(groups)} distinct output clusters for {q} classes{what}; "
                f"accuracy {acc:.1%}")
    if start_accuracy is not None and np.isfinite(start_accuracy):
        n = len(labels)
        if round(acc * n) < round(float(start_accuracy) * n):
            return f"degenerate run: accuracy {acc:.1%} at the end, below its start {float(start_accuracy):.1%}"
    return None


def summary(outputs: np.ndarray, labels: np.ndarray, start_accuracy: float | None = None) -> dict:
    """What the verdict rests on, for a trace's metadata: ``output_clusters`` (number of distinct clusters),
    ``accuracy`` (final) and ``start_accuracy`` (``None`` when not given)."""
    return {"output_clusters": len(output_clusters(outputs, labels)), "accuracy": accuracy(outputs, labels),
            "start_accuracy": None if start_accuracy is None else float(start_accuracy)}


def check_run(result, start_outputs: np.ndarray | None, final_outputs: np.ndarray, labels: np.ndarray,
              q: int) -> dict:
    """:func:`mark_degenerate` with the start accuracy taken from ``start_outputs (N, Q)`` (``None``: no
    accuracy check); returns :func:`summary` for the trace's metadata."""
    acc0 = None if start_outputs is None else accuracy(start_outputs, labels)
    mark_degenerate(result, final_outputs, labels, q, acc0)
    return summary(final_outputs, labels, acc0)


def mark_degenerate(result, outputs: np.ndarray, labels: np.ndarray, q: int,
                    start_accuracy: float | None = None) -> str | None:
    """If ``result`` (a :class:`geomdl.nn.training.TrainResult`) did not fail already and the run is degenerate,
    set ``stop_reason = "degenerate"`` and prefix the reason to its message (the original stop reason is kept
    in the message). Returns the reason (``None``: healthy or already failed)."""
    if result.stop_reason in FAILURES:
        return None
    reason = degenerate_reason(outputs, labels, q, start_accuracy)
    if reason is not None:
        result.message = f"{reason} (training stopped: {result.stop_reason}: {result.message})"
        result.stop_reason = "degenerate"
    return reason
