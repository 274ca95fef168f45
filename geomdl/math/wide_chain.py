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
from typing import Any

import numpy as np
import scipy.linalg as sla

from geomdl.math import truncation as geometry

INVERT_RTOL = 1e-13
CHUNK_BYTES = 1 << 20       # temporaries of one block of points (SolvedChain.truncate, the recorder): cache-sized


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
    device: Any = None      # a torch.device: ``lu`` = (LU, pivots) and ``pinv`` are float64 tensors there

    @classmethod
    def build(cls, W: np.ndarray, b: np.ndarray, device: Any = None, Wt: Any = None) -> LayerSolve:
        """The solve of ``(W, b)``: in numpy/scipy, or with ``device`` (a ``torch.device``) in torch float64
        on it (``Wt``: ``W`` already there), with the same rank, inverse and pseudo-inverse rules."""
        W = np.asarray(W, dtype=float)
        b = np.asarray(b, dtype=float)
        if device is not None and np.isfinite(W).all():
            return cls._build_torch(W, b, device, Wt)
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

    @classmethod
    def _build_torch(cls, W: np.ndarray, b: np.ndarray, device: Any, Wt: Any) -> LayerSolve:
        import torch  # noqa: PLC0415

        Wt = torch.as_tensor(W, dtype=torch.float64, device=device) if Wt is None else Wt
        m, n = W.shape
        if m == n:
            st = torch.linalg.svdvals(Wt)
            s = st.cpu().numpy()
            rank = int((s > _tol(W, s)).sum())
            if s.size and s[-1] > INVERT_RTOL * s[0]:
                return cls(W, b, rank, s, lu=torch.linalg.lu_factor(Wt), device=device)
        U, st, Vh = torch.linalg.svd(Wt, full_matrices=False)
        s = st.cpu().numpy()
        keep = torch.as_tensor(s > _tol(W, s), device=device)
        pinv = (Vh[keep].T / st[keep]) @ U[:, keep].T
        return cls(W, b, int(keep.sum()), s, pinv=pinv, device=device)

    @property
    def width(self) -> int:
        return self.W.shape[0]

    def apply_pinv(self, Z: np.ndarray) -> np.ndarray:
        """``W^+ z`` for every row ``z`` of ``Z: (N, M_l)`` -> ``(N, M)``."""
        if self.device is not None:
            return self.apply_pinv_torch(_tensor(Z, self.device)).cpu().numpy()
        if self.lu is not None:
            return sla.lu_solve(self.lu, Z.T, check_finite=False).T
        return Z @ self.pinv.T

    def apply_pinv_torch(self, Z):
        """:meth:`apply_pinv` of a float64 tensor ``Z`` on :attr:`device`, staying there."""
        import torch  # noqa: PLC0415

        if self.lu is not None:
            return torch.linalg.lu_solve(*self.lu, Z.T).T
        return Z @ self.pinv.T

    def project_edges(self, C: np.ndarray) -> np.ndarray:
        """Edges ``v_i = W^+ e_i`` seen through the rows of ``C: (k, M)``: ``(C W^+)^T``, shape ``(M_l, k)``."""
        if self.device is not None:
            import torch  # noqa: PLC0415

            Ct = _tensor(C, self.device)
            if self.lu is not None:
                return torch.linalg.lu_solve(*self.lu, Ct.T, adjoint=True).cpu().numpy()
            return (Ct @ self.pinv).T.cpu().numpy()
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
    points that layer does not collapse (a collapsed point is drawn exactly, at the base point, at any width);
    ``T``/``K``: the same truncated data and counts stacked, when the chain computed them."""

    truncated: list[np.ndarray]
    k: list[np.ndarray]
    residual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hidden: list[np.ndarray] = field(default_factory=list)
    residual_active: np.ndarray = field(default_factory=lambda: np.zeros(0))
    T: np.ndarray | None = None      # (L, N, M): ``truncated`` as one array (its rows are the views)
    K: np.ndarray | None = None      # (L, N): ``k`` as one array


@dataclass
class SolvedChain:
    """A network's hidden layers ``Ws[l]: (M_l, M_{l-1})``, ``bs[l]: (M_l,)`` and one :class:`LayerSolve` of
    the cumulative ``W^(l), b^(l)`` per hidden layer (built once)."""

    layers: list[LayerSolve]
    Ws: list[np.ndarray]
    bs: list[np.ndarray]
    device: Any = None      # a torch.device: products, factorisations and the chain run there (float64)

    @classmethod
    def from_layers(cls, Ws: list[np.ndarray], bs: list[np.ndarray], device: Any = None) -> SolvedChain:
        """The chain of hidden layers ``Ws``, ``bs``; ``device``: a ``torch.device`` (e.g. CUDA) on which the
        cumulative products, the factorisations and :meth:`truncate` run in torch float64 (``None``: numpy and
        scipy on the CPU). Both give the same results to float rounding."""
        Ws = [np.asarray(W, dtype=float) for W in Ws]
        bs = [np.asarray(b, dtype=float) for b in bs]
        if device is None:
            Wc, bc = geometry.cumulative_params(Ws, bs)
            return cls([LayerSolve.build(W, b) for W, b in zip(Wc, bc, strict=True)], Ws, bs)
        layers, Wt, bt = [], None, None
        for W, b in zip(Ws, bs, strict=True):
            Wl, bl = _tensor(W, device), _tensor(b, device)
            Wt, bt = (Wl, bl) if Wt is None else (Wl @ Wt, Wl @ bt + bl)
            layers.append(LayerSolve.build(Wt.cpu().numpy(), bt.cpu().numpy(), device, Wt))
        return cls(layers, Ws, bs, device)

    @property
    def ranks(self) -> np.ndarray:
        return np.array([ly.rank for ly in self.layers], dtype=np.int64)

    @property
    def widths(self) -> list[int]:
        return [ly.width for ly in self.layers]

    def base_points(self) -> np.ndarray:
        """``(L, M)``."""
        return np.stack([ly.base_point for ly in self.layers])

    def truncate(self, X: np.ndarray, hidden: list[np.ndarray] | None = None,
                 chunk_bytes: int | None = None) -> ChainResult:
        """``T_l(X)`` for every hidden layer by the forward pass (docs/math.md §2.4b), the truncation state from the
        real pre-activations, and the representation residual ``max_r |x_r^(l) - (W^(l) T_l(x_r) + b^(l))|`` per
        layer. ``hidden``: ignored (kept for callers that computed the activations; they are recomputed here
        together with the pre-activations).

        Linear in ``N`` at a constant cost per point: the points go through the layers in blocks of rows whose
        temporaries (pre-activations, solves, residuals) take at most ``chunk_bytes`` (default
        :data:`CHUNK_BYTES`, 1 MiB: they stay in
        the CPU caches and are reused, instead of one fresh N-row array per operation, each costing page faults),
        written into outputs allocated once: ``truncated[l]`` are views of one ``(L, N, M)`` array
        (:attr:`ChainResult.T`), ``k[l]`` of one ``(L, N)``. Every point's arithmetic is its own, so the
        results do not depend on the block size (to rounding: a BLAS may round a product of another shape
        differently)."""
        X = np.asarray(X, dtype=float)
        if self.device is not None:
            return self._truncate_torch(X)
        N, M = X.shape
        L = len(self.layers)
        T = np.empty((L, N, M))
        K = np.empty((L, N), dtype=np.int64)
        acts = [np.empty((N, ly.width)) for ly in self.layers]
        r2max = np.zeros(L)
        r2live = np.zeros(L)
        rows = max(64, int(CHUNK_BYTES if chunk_bytes is None else chunk_bytes) // (8 * max(M, *self.widths)))
        for a in range(0, N, rows):
            h = X[a:a + rows]
            for l, (W, b, ly) in enumerate(zip(self.Ws, self.bs, self.layers, strict=True)):
                z = h @ W.T
                z += b
                k = (z < 0).sum(axis=1)
                K[l, a:a + rows] = k
                h = np.maximum(z, 0.0, out=acts[l][a:a + rows])
                np.subtract(h, ly.b, out=z)                          # z := x^(l) - b^(l)
                Tl = ly.apply_pinv(z)
                T[l, a:a + rows] = Tl
                R = Tl @ ly.W.T
                R += ly.b
                R -= h
                r2 = np.einsum("ni,ni->n", R, R)
                r2max[l] = np.maximum(r2max[l], r2.max())          # NaN propagates, as max over all points
                live = k < ly.width                # collapsed points are exact at any width (the base point)
                if live.any():
                    r2live[l] = np.maximum(r2live[l], r2[live].max())
        return ChainResult(truncated=list(T), k=list(K), residual=np.sqrt(r2max), hidden=acts,
                           residual_active=np.sqrt(r2live), T=T, K=K)


    def _truncate_torch(self, X: np.ndarray) -> ChainResult:
        """:meth:`truncate` in torch float64 on :attr:`device` (all points at once), results back as numpy."""
        import torch  # noqa: PLC0415

        h = _tensor(X, self.device)
        T, K, acts, res, active = [], [], [], [], []
        for W, b, ly in zip(self.Ws, self.bs, self.layers, strict=True):
            if ly.device is None:             # a non-finite layer: its NaN solve is numpy's
                ly = LayerSolve(ly.W, ly.b, ly.rank, ly.svals, pinv=_tensor(ly.pinv, self.device), device=self.device)
            z = h @ _tensor(W, self.device).T + _tensor(b, self.device)
            k = (z < 0).sum(dim=1)
            h = torch.clamp_min(z, 0.0)
            bl = _tensor(ly.b, self.device)
            Tl = ly.apply_pinv_torch(h - bl)
            r2 = ((Tl @ _tensor(ly.W, self.device).T + bl - h) ** 2).sum(dim=1)
            live = k < ly.width
            res.append(r2.max() if len(h) else torch.zeros((), dtype=torch.float64, device=self.device))
            active.append(r2[live].max() if bool(live.any()) else torch.zeros_like(res[-1]))
            T.append(Tl)
            K.append(k)
            acts.append(h)
        Tn = torch.stack(T).cpu().numpy()
        Kn = torch.stack(K).cpu().numpy().astype(np.int64)
        return ChainResult(truncated=list(Tn), k=list(Kn), residual=torch.stack(res).sqrt().cpu().numpy(),
                           hidden=[a.cpu().numpy() for a in acts],
                           residual_active=torch.stack(active).sqrt().cpu().numpy(), T=Tn, K=Kn)


def _tensor(a, device):
    """``a`` as a float64 torch tensor on ``device``."""
    import torch  # noqa: PLC0415

    return torch.as_tensor(np.asarray(a, dtype=float), dtype=torch.float64, device=device)


def _tol(W: np.ndarray, s: np.ndarray) -> float:
    """Singular values at or below this count as zero (as in :func:`geomdl.math.truncation.pinv_and_rank`)."""
    return geometry.RANK_RTOL * max(W.shape) * (float(s[0]) if s.size else 0.0)
