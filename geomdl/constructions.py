"""Explicit zero-loss constructions and partially truncating networks (spec sections 4 and 5).

Clustered / SLS construction (CE24, spec 4): hidden layer ``l`` is a cone ``(p_l, V_l)`` that collapses class
``order[l]`` to its base point and leaves every other current point (classes not yet collapsed, and the base
points of classes already collapsed) in the forward cone, where the truncation map is the identity.

Our concrete choices (the spec leaves them open):
- the separating hyperplane ``n.x = c`` is the max-margin hyperplane for the L-infinity bound ``|n_i| <= 1``
  (a linear program, scipy HiGHS), then normalised so ``|n| = 1``; its Euclidean margin is ``m``;
- the base point ``p_l`` is the projection of class ``l``'s centroid onto that hyperplane (so the class visibly
  collapses onto a point beside it);
- the rows are ``w_i = n + eta s_i`` with ``s_i`` the unit vertices of a regular simplex in ``n``'s orthogonal
  complement and ``eta = m / (2 R)``, ``R`` the largest distance from ``p_l`` to a current point: every cone
  coordinate of class ``l`` is then ``<= -m/2`` and every other coordinate ``>= m/2``;
- the output layer is the least-squares (min-norm) affine fit of the one-hot targets from the last hidden layer,
  exact because the ``Q`` collapsed points are affinely independent.

Partial truncation (spec 5): since ``W_l n = 1`` (all ones), moving the bias by ``t s 1`` shifts every cone
coordinate by ``t s``; ``s`` is the smallest shift (plus the margin) that puts every current point in the forward
cone ("no collapse"). ``b(t) = (1 - t) b_collapse + t b_identity``. We shift the *cumulative* bias ``b^(l)``
and keep the other layers' cumulative parameters, so the other cones stay where they are in input space; the
per-layer parameters are recomputed from the cumulative ones. The output layer is the one of the full
construction (it maps each base point to its one-hot target), so a partially truncating network has a
positive loss that training can lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from geomdl import geometry
from geomdl.errors import GeomdlError

MARGIN_TOL = 1e-9


@dataclass
class Construction:
    """A network given by cumulative hidden parameters plus an affine output layer.

    ``Wc[l]: (M, M)``, ``bc[l]: (M,)`` cumulative; ``Ws, bs`` the per-layer parameters for the torch model;
    ``W_out: (Q, M)``, ``b_out: (Q,)``; ``normals[l]``, ``shifts[l]``: the cone axis ``n`` and the identity
    shift ``s`` of layer ``l``; ``order[l]``: the class that layer ``l`` collapses; ``t[l]``: bias interpolation
    (0 = full collapse, 1 = identity on the data).
    """

    Wc: list[np.ndarray]
    bc: list[np.ndarray]
    W_out: np.ndarray
    b_out: np.ndarray
    normals: list[np.ndarray]
    shifts: list[float]
    order: list[int]
    t: list[float] = field(default_factory=list)

    @property
    def layers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-layer ``(Ws, bs)``, verified to reproduce the cumulative parameters."""
        return to_layers(self.Wc, self.bc)


def to_layers(Wc: list[np.ndarray], bc: list[np.ndarray], rtol: float = 1e-8) -> tuple[list, list]:
    """Cumulative -> per-layer parameters (spec 2.1), then verify by recomputing the cumulative ones."""
    Ws, bs = geometry.layer_params(Wc, bc)
    Wc2, bc2 = geometry.cumulative_params(Ws, bs)
    for l, (a, b, a2, b2) in enumerate(zip(Wc, bc, Wc2, bc2, strict=False)):
        scale = max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))
        if not (np.allclose(a, a2, rtol=0, atol=rtol * scale) and np.allclose(b, b2, rtol=0, atol=rtol * scale)):
            raise GeomdlError(f"cumulative parameters of layer {l + 1} cannot be converted to per-layer ones "
                              "(W^(l-1) is not of full row rank)")
    return Ws, bs


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


def simplex_in_complement(n: np.ndarray) -> np.ndarray:
    """Rows ``s_1..s_M``: unit vertices of a regular simplex in ``n``'s orthogonal complement. (M, M)

    They sum to zero and span the complement, so ``1 n^T + eta S`` is invertible for ``eta > 0``.
    """
    M = n.shape[0]
    E = np.eye(M) - 1.0 / M                      # centred standard basis: a regular simplex in 1^perp
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    ones = np.ones(M) / np.sqrt(M)
    # orthonormal bases of 1^perp and n^perp (last M-1 columns of a QR with the normal first)
    U = np.linalg.qr(np.c_[ones, np.eye(M)[:, : M - 1]])[0][:, 1:]
    B = np.linalg.qr(np.c_[n, np.eye(M)[:, : M - 1]])[0][:, 1:]
    if np.linalg.matrix_rank(np.c_[n, B]) < M:   # the identity columns were degenerate with n: pick others
        B = np.linalg.svd(np.eye(M) - np.outer(n, n))[0][:, : M - 1]
    return E @ U @ B.T


def collapse_layer(inside: np.ndarray, rest: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One cumulative layer ``(W, b)`` with ``inside`` in the backward cone and ``rest`` in the forward cone.

    Returns ``W: (M, M)``, ``b: (M,)``, the axis ``n`` (``W n = 1``) and the identity shift ``s``.
    ``what`` names the class in the error message when the precondition (linear separability) fails.
    """
    n, c, m = separating_hyperplane(inside, rest)
    if not m > MARGIN_TOL:
        raise GeomdlError(f"{what} is not linearly separable from the remaining points "
                          f"(best margin {m:.3g}); the construction needs it (try tighter clusters)")
    mu = inside.mean(axis=0)
    p = mu + (c - n @ mu) * n
    pts = np.vstack([inside, rest])
    R = float(np.max(np.linalg.norm(pts - p, axis=1)))
    eta = m / (2.0 * R)
    W = n[None, :] + eta * simplex_in_complement(n)
    b = -W @ p
    A = pts @ W.T + b
    shift = float(max(0.0, -A.min()) + m)
    return W, b, n, shift


def refit_output(hidden_last: np.ndarray, labels: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (min-norm) affine map from the last hidden layer ``(N, M_L)`` to one-hot targets."""
    H = np.c_[hidden_last, np.ones(len(hidden_last))]
    Y = np.eye(q)[labels]
    B = np.linalg.lstsq(H, Y, rcond=None)[0]
    return B[:-1].T.copy(), B[-1].copy()


def _check_labels(X: np.ndarray, labels: np.ndarray) -> int:
    if X.ndim != 2 or labels.shape != (X.shape[0],):
        raise GeomdlError(f"data must be X: (N, M) with labels: (N,), got {X.shape} and {labels.shape}")
    q = int(labels.max()) + 1
    present = np.bincount(labels, minlength=q)
    if q < 2 or (present == 0).any():
        raise GeomdlError(f"labels must cover classes 0..Q-1 with Q >= 2 (counts per class: {present.tolist()})")
    return q


def sls_construction(X: np.ndarray, labels: np.ndarray, order: Sequence[int] | None = None) -> Construction:
    """Zero-loss construction for clustered or sequentially linearly separable data (CE24, spec 4).

    ``X: (N, M)``, ``labels: (N,)``; ``order``: the class collapsed by each hidden layer (default ``0..Q-1``).
    Needs ``M >= Q`` for the output fit and, at layer ``l``, class ``order[l]`` separable from the rest.
    """
    X = np.asarray(X, dtype=float)
    q = _check_labels(X, labels)
    M = X.shape[1]
    if M < q:
        raise GeomdlError(f"the construction needs input dimension M >= Q (got M={M}, Q={q})")
    order = list(range(q)) if order is None else [int(j) for j in order]
    if sorted(order) != list(range(q)):
        raise GeomdlError(f"order must be a permutation of 0..{q - 1}, got {order}")
    Wc, bc, normals, shifts = [], [], [], []
    T = X
    for l, j in enumerate(order):
        W, b, n, s = collapse_layer(T[labels == j], T[labels != j], f"class {j} (layer {l + 1})")
        Wc.append(W)
        bc.append(b)
        normals.append(n)
        shifts.append(s)
        T = geometry.truncate(T, W, b)
    Ws, bs = to_layers(Wc, bc)
    W_out, b_out = refit_output(geometry.hidden_activations(X, Ws, bs)[-1], labels, q)
    return Construction(Wc, bc, W_out, b_out, normals, shifts, order, t=[0.0] * q)


def clustered_construction(X: np.ndarray, labels: np.ndarray) -> Construction:
    """The clustered case (a) of spec 4: the SLS construction in the natural order ``0..Q-1``."""
    return sls_construction(X, labels)


def interpolation_for_fraction(X_class: np.ndarray, W: np.ndarray, b: np.ndarray, shift: float,
                               fraction: float) -> tuple[float, int]:
    """Bias interpolation ``t`` so that ``round(fraction * n)`` points of ``X_class: (n, M)`` stay collapsed.

    A point is collapsed at ``t`` iff ``max_i a_i + t s < 0``; sort ``u = max_i a_i`` and cut between the
    ``k``-th and ``(k+1)``-th value. Returns ``(t, k)``.
    """
    if not 0.0 <= fraction <= 1.0:
        raise GeomdlError(f"start fraction must be in [0, 1] (got {fraction})")
    u = np.sort((X_class @ W.T + b).max(axis=1))
    n = len(u)
    k = int(round(fraction * n))
    if k >= n:
        return 0.0, n
    if k == 0:
        cut = u[0] - 0.5 * max(u[-1] - u[0], 1e-3) / n
    else:
        cut = 0.5 * (u[k - 1] + u[k])
    return float(min(1.0, -cut / shift)), k


def partial_construction(X: np.ndarray, labels: np.ndarray, start_fraction: float | Sequence[float],
                         order: Sequence[int] | None = None) -> Construction:
    """A partially truncating network (spec 5): layer ``l`` starts with ``start_fraction[l]`` of its class
    collapsed, obtained by interpolating its cumulative bias between "full collapse" and "no collapse".
    """
    full = sls_construction(X, labels, order)
    q = len(full.order)
    fr = [float(start_fraction)] * q if np.isscalar(start_fraction) else [float(f) for f in start_fraction]
    if len(fr) != q:
        raise GeomdlError(f"need one start fraction per layer ({q}), got {len(fr)}")
    bc, ts = [], []
    for l, j in enumerate(full.order):
        # layers before l leave class j unchanged (it is in their forward cones), so it reaches layer l as X
        t, _ = interpolation_for_fraction(X[labels == j], full.Wc[l], full.bc[l], full.shifts[l], fr[l])
        bc.append(full.bc[l] + t * full.shifts[l] * (full.Wc[l] @ full.normals[l]))
        ts.append(t)
    return Construction(full.Wc, bc, full.W_out, full.b_out, full.normals, full.shifts, full.order, t=ts)
