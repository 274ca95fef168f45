"""Cumulative layers of any width and how ``W^+`` is applied to them; the chain ``T_l(X)`` by the forward pass.

The one linear-algebra kernel of the recorder (:mod:`geomdl.io.recorder`), for every MLP shape (docs/math.md §2.1-2.4b):
784 x 784 MNIST layers, square clustered layers, narrowing layers and layers wider than the input. For every
cumulative layer ``W^(l): (M_l, M)``:

- the rank comes from the singular values alone (``svd(..., compute_uv=False)``, about half the cost of a
  full SVD), with the same tolerance as :func:`geomdl.math.truncation.pinv_and_rank`;
- square and invertible in float64 (``s_min > INVERT_RTOL * s_max``; the default MNIST network: ``M_l = M =
  784``): ``W^+ = W^{-1}`` is never formed; one
  LU factorisation (``scipy.linalg.lu_factor``, ~20x cheaper than an SVD at 784) is reused for the truncated
  data, the base point ``p = -W^{-1} b``, projected edge directions
  ``C W^{-1}`` (a solve with ``W^T`` for the ``k`` projection rows ``C``) and for any further data set
  (held-out digits) through :meth:`SolvedChain.truncate`;
- otherwise (narrower or wider layers, singular ``W``) one SVD gives ``W^+`` (:func:`pinv_and_rank`'s rule).

The truncated data come from the network's real forward pass (docs/math.md §2.4b): ``T_l(x) = (W^(l))^+ (x^(l) -
b^(l))`` with ``x^(l)`` the actual activation, and the truncation state ``k`` from the real pre-activations
``z^(l) = W_l x^(l-1) + b_l``. For full-row-rank layers this is the chain ``T_l = tau_{W^(l), b^(l)} o
T_{l-1}`` of docs/math.md §2.4 (then ``z^(l) = W^(l) T_{l-1}(x) + b^(l)``); for wide layers it is the least-squares
preimage of the activation, and the representation residual ``|x^(l) - (W^(l) T_l(x) + b^(l))|`` says how far
the activation is from the M-dimensional image the input-space picture can show. Chaining ``tau`` with a wide
``W^+`` would compound that approximation, so it is never done. Collapse is exact at any width: a point with
every ``z_i < 0`` has ``x^(l) = 0`` and preimage the base point.

Rank and inverse use different tolerances, on purpose. ``rank`` is the foundation's numerical rank
(singular values above ``1e-10 * max(M_l, M) * s_max``). Cumulative products of random 784 x 784 layers are
often *ill-conditioned* (``s_min / s_max`` ~ 1e-8 at initialisation for ``W^(3)``) without being singular: the
numerical rank then says 783, yet ``W^{-1}`` exists and the LU solve applies it to ~``cond * 1e-16``
accuracy. Dropping that direction (a truncated pseudo-inverse) would make the picture wrong by up to ~0.1
(the representation residual shows it), while the inverse gives residuals ~1e-9. So the inverse is used
whenever ``s_min > INVERT_RTOL * s_max`` (1e-13), and the residual reports how exact the picture is.

One :class:`SolvedChain` is built per snapshot and cached by the caller (a snapshot's training data, test data,
metrics and figures all use the same factorisations).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from geomdl.math import truncation as geometry

INVERT_RTOL = 1e-13


@dataclass
class LayerSolve:
    """Cumulative layer ``W: (M_l, M)``, ``b: (M_l,)`` with a way to apply ``W^+``.

    ``lu``: LU factors when ``W`` is square and invertible, else ``None`` and ``pinv: (M, M_l)`` is set.
    ``svals``: singular values (descending); ``rank``: numerical rank (``-1`` when ``W`` is not finite).
    """

    W: np.ndarray
    b: np.ndarray
    rank: int
    svals: np.ndarray
    lu: tuple | None = None
    pinv: np.ndarray | None = None

    @classmethod
    def build(cls, W: np.ndarray, b: np.ndarray) -> LayerSolve:
        W = np.asarray(W, dtype=float)
        b = np.asarray(b, dtype=float)
        if not np.isfinite(W).all():
            return cls(W, b, -1, np.full(min(W.shape), np.nan), pinv=np.full(W.T.shape, np.nan))
        m, n = W.shape
        if m == n:
            s = np.linalg.svd(W, compute_uv=False)
            rank = int((s > _tol(W, s)).sum())
            if s.size and s[-1] > INVERT_RTOL * s[0]:
                return cls(W, b, rank, s, lu=sla.lu_factor(W, check_finite=False))
        U, s, Vt = np.linalg.svd(W, full_matrices=False)    # same rule as geometry.pinv_and_rank, one SVD
        keep = s > _tol(W, s)
        return cls(W, b, int(keep.sum()), s, pinv=(Vt[keep].T / s[keep]) @ U[:, keep].T)

    @property
    def width(self) -> int:
        return self.W.shape[0]

    def apply_pinv(self, Z: np.ndarray) -> np.ndarray:
        """``W^+ z`` for every row ``z`` of ``Z: (N, M_l)`` -> ``(N, M)``."""
        if self.lu is not None:
            return sla.lu_solve(self.lu, Z.T, check_finite=False).T
        return Z @ self.pinv.T

    def project_edges(self, C: np.ndarray) -> np.ndarray:
        """Edges ``v_i = W^+ e_i`` seen through the rows of ``C: (k, M)``: ``(C W^+)^T``, shape ``(M_l, k)``."""
        if self.lu is not None:
            return sla.lu_solve(self.lu, C.T, trans=1, check_finite=False)
        return (C @ self.pinv).T

    @property
    def base_point(self) -> np.ndarray:
        """``p = -W^+ b: (M,)``."""
        return -self.apply_pinv(self.b[None, :])[0]

    def edges(self) -> np.ndarray:
        """All edges as columns ``(M, M_l)`` (forms ``W^+``: only for small layers or tests)."""
        return self.apply_pinv(np.eye(self.width)).T


@dataclass
class ChainResult:
    """The chain on one data set ``X: (N, M)``: ``truncated[l] = T_{l+1}(X): (N, M)``, ``k[l]: (N,)`` the number
    of negative pre-activations, ``residual: (L,)`` the representation residual of every layer, ``hidden[l]:
    (N, M_l)`` the activations ``x^(l)`` of the forward pass, ``residual_active: (L,)`` the residual over the
    points that layer does not collapse (a collapsed point is drawn exactly, at the base point, at any width)."""

    truncated: list[np.ndarray]
    k: list[np.ndarray]
    residual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hidden: list[np.ndarray] = field(default_factory=list)
    residual_active: np.ndarray = field(default_factory=lambda: np.zeros(0))


@dataclass
class SolvedChain:
    """A network's hidden layers ``Ws[l]: (M_l, M_{l-1})``, ``bs[l]: (M_l,)`` and one :class:`LayerSolve` of
    the cumulative ``W^(l), b^(l)`` per hidden layer (built once)."""

    layers: list[LayerSolve]
    Ws: list[np.ndarray]
    bs: list[np.ndarray]

    @classmethod
    def from_layers(cls, Ws: list[np.ndarray], bs: list[np.ndarray]) -> SolvedChain:
        Ws = [np.asarray(W, dtype=float) for W in Ws]
        bs = [np.asarray(b, dtype=float) for b in bs]
        Wc, bc = geometry.cumulative_params(Ws, bs)
        return cls([LayerSolve.build(W, b) for W, b in zip(Wc, bc, strict=True)], Ws, bs)

    @property
    def ranks(self) -> np.ndarray:
        return np.array([ly.rank for ly in self.layers], dtype=np.int64)

    @property
    def widths(self) -> list[int]:
        return [ly.width for ly in self.layers]

    def base_points(self) -> np.ndarray:
        """``(L, M)``."""
        return np.stack([ly.base_point for ly in self.layers])

    def truncate(self, X: np.ndarray, hidden: list[np.ndarray] | None = None) -> ChainResult:
        """``T_l(X)`` for every hidden layer by the forward pass (docs/math.md §2.4b), the truncation state from the
        real
        pre-activations, and the representation residual ``max_r |x_r^(l) - (W^(l) T_l(x_r) + b^(l))|`` per
        layer. ``hidden``: ignored (kept for callers that computed the activations; they are recomputed here
        together with the pre-activations)."""
        h = np.asarray(X, dtype=float)
        out, ks, res, acts, active = [], [], [], [], []
        for W, b, ly in zip(self.Ws, self.bs, self.layers, strict=True):
            z = h @ W.T + b
            ks.append((z < 0).sum(axis=1).astype(np.int64))
            h = np.maximum(z, 0.0)
            acts.append(h)
            T = ly.apply_pinv(h - ly.b)
            out.append(T)
            R = h - (T @ ly.W.T + ly.b)
            r2 = np.einsum("ni,ni->n", R, R)
            res.append(float(np.sqrt(np.max(r2))) if len(h) else 0.0)
            live = ks[-1] < ly.width                   # collapsed points are exact at any width (the base point)
            active.append(float(np.sqrt(np.max(r2[live]))) if live.any() else 0.0)
        return ChainResult(truncated=out, k=ks, residual=np.array(res), hidden=acts, residual_active=np.array(active))


def _tol(W: np.ndarray, s: np.ndarray) -> float:
    """Singular values at or below this count as zero (as in :func:`geomdl.math.truncation.pinv_and_rank`)."""
    return geometry.RANK_RTOL * max(W.shape) * (float(s[0]) if s.size else 0.0)
