"""Sequential linear separability (SLS, CE24's definition; docs/math.md §3 (b)).

Labelled data ``X: (N, M)``, ``labels: (N,)`` in ``0..Q-1`` is SLS in the order ``(j_1, ..., j_Q)`` when, for
every step ``k``, class ``j_k`` is strictly linearly separable from the union of the classes ``j_{k+1}..j_Q``
that come after it. (The last class has nothing left to separate from; its margin is reported as ``inf``.)

Search: greedy, and it needs no backtracking. If class ``a`` is separable from a set ``S`` of classes it is
separable from every subset of ``S``. So if an SLS order of the remaining classes ``R`` exists and some class
``a`` in ``R`` is separable from ``R \\ {a}``, then the order restricted to ``R \\ {a}`` is still an SLS order of
``R \\ {a}``: picking ``a`` never rules out a completion. At every step we therefore pick, among the remaining
classes that are separable from the others, the one with the **largest margin** (ties: the smallest label),
and fail only when none is separable; then no SLS order exists at all (of the data, or of any remaining
sub-collection containing those classes).

Separability and margins use the max-margin linear program of
:func:`separating_hyperplane` (scipy HiGHS; ``|n_i| <= 1`` bound, then ``n`` normalised):
the margin is the Euclidean distance from that hyperplane to the nearest point, positive iff separable. It is
the exact max-margin for the L-infinity normalisation, a lower bound on the Euclidean (SVM) max-margin. A class
counts as separable when its margin exceeds ``tol`` (default ``1e-9``, relative to the data's scale ``max|x|``).

Note: the cone construction (``constructions.sls_construction``) needs more than SLS of the data: at layer ``k``
the base points of the already collapsed classes must also lie on the far side, and by default
(``toggleable=True``, so that every toggle pattern and partial start works) so must every other class's full
cloud, i.e. each class must be separable from all the others. ``toggleable=False`` needs only SLS plus the base
points. It checks this itself and raises when it fails.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from geomdl.errors import GeomdlError

SEPARABLE_TOL = 1e-9


@dataclass(frozen=True)
class SLSStep:
    """One step of an SLS order: class ``cls`` lies in ``{x : normal.x <= offset - margin}`` and every later
    class in ``{x : normal.x >= offset + margin}``; ``normal: (M,)`` is a unit vector. Last step: ``normal``
    is all zeros and ``margin = inf``."""

    cls: int
    normal: np.ndarray
    offset: float
    margin: float


def separating_hyperplane(inside: np.ndarray, rest: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Max-margin hyperplane with ``n.x < c`` on ``inside: (n1, M)`` and ``n.x > c`` on ``rest: (n2, M)``.

    Returns unit ``n: (M,)``, ``c`` and the Euclidean margin ``m`` (``<= 0`` when not separable).
    LP in ``(n, c, t)``: maximise ``t`` subject to ``n.x - c + t <= 0`` (inside), ``-n.x + c + t <= 0`` (rest),
    ``-1 <= n_i <= 1``.
    """
    M = inside.shape[1]
    A = np.vstack([np.c_[inside, -np.ones(len(inside)), np.ones(len(inside))],
                   np.c_[-rest, np.ones(len(rest)), np.ones(len(rest))]])
    cost = np.zeros(M + 2)
    cost[-1] = -1.0
    bounds = [(-1.0, 1.0)] * M + [(None, None), (None, 10.0)]
    res = linprog(cost, A_ub=A, b_ub=np.zeros(len(A)), bounds=bounds, method="highs")
    if res.status != 0:
        raise GeomdlError(f"the separating-hyperplane linear program failed: {res.message}")
    n, c, t = res.x[:M], res.x[M], res.x[M + 1]
    norm = np.linalg.norm(n)
    if norm == 0:
        return n, c, 0.0
    return n / norm, c / norm, t / norm


def _validate(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[int]]:
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    if X.ndim != 2 or labels.ndim != 1 or len(labels) != len(X):
        raise GeomdlError(f"SLS order needs X: (N, M) and labels: (N,), got shapes {X.shape} and {labels.shape}")
    if len(X) == 0:
        raise GeomdlError("SLS order needs at least one point")
    if not np.isfinite(X).all():
        raise GeomdlError("SLS order needs finite data (X contains NaN or inf)")
    if not np.issubdtype(labels.dtype, np.integer):
        if not (np.isfinite(labels).all() and np.all(labels == np.round(labels))):
            raise GeomdlError("labels must be integers")
        labels = labels.astype(np.int64)
    if labels.min() < 0:
        raise GeomdlError(f"labels must be >= 0 (got {int(labels.min())})")
    classes = sorted(int(c) for c in np.unique(labels))
    if len(classes) < 2:
        raise GeomdlError(f"SLS order needs at least 2 classes (got {len(classes)})")
    return X, labels.astype(np.int64), classes


def sls_steps(X: np.ndarray, labels: np.ndarray, tol: float = SEPARABLE_TOL) -> list[SLSStep]:
    """The SLS order of ``X: (N, M)``, ``labels: (N,)`` with the separating hyperplane of every step.

    Classes are the distinct label values (they need not be contiguous). Raises :class:`GeomdlError` naming
    the classes that are left when no remaining class is separable from the others.
    """
    X, labels, classes = _validate(X, labels)
    scale = max(1.0, float(np.abs(X).max()))
    remaining = list(classes)
    steps: list[SLSStep] = []
    while len(remaining) > 1:
        best: tuple[float, int, np.ndarray, float] | None = None
        margins: dict[int, float] = {}
        for j in remaining:
            inside = X[labels == j]
            rest = X[np.isin(labels, [k for k in remaining if k != j])]
            n, c, m = separating_hyperplane(inside, rest)
            margins[j] = float(m)
            if m > tol * scale and (best is None or m > best[0]):
                best = (float(m), j, n, float(c))
        if best is None:
            detail = ", ".join(f"class {j + 1}: {margins[j]:.3g}" for j in remaining)
            raise GeomdlError(f"the data are not sequentially linearly separable: none of the classes "
                              f"{[k + 1 for k in remaining]} is linearly separable from the others "
                              f"(best margins {detail})")
        m, j, n, c = best
        steps.append(SLSStep(cls=j, normal=n, offset=c, margin=m))
        remaining.remove(j)
    last = remaining[0]
    steps.append(SLSStep(cls=last, normal=np.zeros(X.shape[1]), offset=0.0, margin=float("inf")))
    return steps


def find_sls_order(X: np.ndarray, labels: np.ndarray, tol: float = SEPARABLE_TOL) -> tuple[list[int], list[float]]:
    """An order in which each class is linearly separable from the classes after it, and each step's margin.

    ``X: (N, M)``, ``labels: (N,)`` integer. Returns ``order`` (the Q class labels) and ``margins`` (Q floats,
    Euclidean, the last one ``inf``). Raises :class:`GeomdlError` when no such order exists.
    """
    steps = sls_steps(X, labels, tol)
    return [s.cls for s in steps], [s.margin for s in steps]


def is_sls_order(X: np.ndarray, labels: np.ndarray, order: list[int], tol: float = SEPARABLE_TOL) -> bool:
    """Whether ``order`` (a permutation of the classes) is an SLS order of the data."""
    X, labels, classes = _validate(X, labels)
    if sorted(int(j) for j in order) != classes:
        raise GeomdlError(f"order {list(order)} is not a permutation of the labels {classes}")
    scale = max(1.0, float(np.abs(X).max()))
    for k, j in enumerate(order[:-1]):
        rest = X[np.isin(labels, list(order[k + 1:]))]
        if not separating_hyperplane(X[labels == j], rest)[2] > tol * scale:
            return False
    return True
