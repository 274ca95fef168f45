"""Cumulative parameters, truncation maps, cones and the truncation chain (docs/math.md §2).

All functions are pure numpy (float64) and take one point per row:
``X: (N, M)``; a layer ``W: (M_l, M_{l-1})``, ``b: (M_l,)``; cumulative ``W^(l): (M_l, M)``, ``b^(l): (M_l,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RANK_RTOL = 1e-10


def cumulative_params(Ws: list[np.ndarray], bs: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``W^(l) = W_l W^(l-1)``, ``b^(l) = W_l b^(l-1) + b_l`` (docs/math.md §2.1). Lists of length L."""
    Wc, bc = [], []
    for W, b in zip(Ws, bs, strict=True):
        if not Wc:
            Wc.append(np.array(W, dtype=float))
            bc.append(np.array(b, dtype=float))
        else:
            Wc.append(W @ Wc[-1])
            bc.append(W @ bc[-1] + b)
    return Wc, bc


def layer_params(Wc: list[np.ndarray], bc: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Inverse of :func:`cumulative_params`: ``W_l = W^(l) (W^(l-1))^+``, ``b_l = b^(l) - W_l b^(l-1)``.

    Exact when every ``W^(l-1)`` has full row rank (then ``(W^(l-1))^+`` is a right inverse); the caller
    should verify by recomputing the cumulative parameters (see ``constructions.to_layers``).
    """
    Ws, bs = [], []
    for l, (W, b) in enumerate(zip(Wc, bc, strict=True)):
        if l == 0:
            Ws.append(np.array(W, dtype=float))
            bs.append(np.array(b, dtype=float))
        else:
            Wl = W @ np.linalg.pinv(Wc[l - 1])
            Ws.append(Wl)
            bs.append(b - Wl @ bc[l - 1])
    return Ws, bs


@dataclass(frozen=True)
class Cone:
    """Cone of a layer (math.md §2.3): base point ``p = -W^+ b: (M,)`` and edges ``V = W^+: (M, M_l)`` (columns)."""

    base: np.ndarray
    edges: np.ndarray


def cone(W: np.ndarray, b: np.ndarray) -> Cone:
    """The cone ``(p, V)`` of ``(W, b)``: forward cone ``{Wx + b >= 0}``, backward cone ``{Wx + b <= 0}``."""
    Wp = np.linalg.pinv(W)
    return Cone(base=-Wp @ b, edges=Wp)


def layer_from_cone(base: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Converse of :func:`cone` in the square case (Ewa25 Lemma 2.1): ``W = V^{-1}``, ``b = -W p``."""
    W = np.linalg.inv(edges)
    return W, -W @ base


def truncate(X: np.ndarray, W: np.ndarray, b: np.ndarray, keep_kernel: bool = False,
             Wpinv: np.ndarray | None = None) -> np.ndarray:
    """Truncation map ``tau_{W,b}(x) = W^+ (sigma(W x + b) - b)`` applied to each row. (N, M) -> (N, M).

    ``keep_kernel=True`` gives the variant ``x + W^+ (sigma(Wx+b) - (Wx+b))`` that keeps the component of
    ``x`` in ``ker W`` (same network outputs; only differs when ``W`` is not injective).
    """
    Wp = np.linalg.pinv(W) if Wpinv is None else Wpinv
    A = X @ W.T + b
    if keep_kernel:
        return X + (np.maximum(A, 0.0) - A) @ Wp.T
    return (np.maximum(A, 0.0) - b) @ Wp.T


@dataclass(frozen=True)
class ChainState:
    """The truncation chain of one network on one data set, for every hidden layer ``l = 1..L``.

    ``truncated[l]``: ``T_{l+1}(X): (N, M)``; ``pre[l]``: cone coordinates ``a = W^(l) T_{l-1}(x) + b^(l)``,
    ``(N, M_l)``; ``k[l]``: ``#{i: a_i < 0}`` per point, ``(N,)``; ``cones[l]``: the layer's cone;
    ``rank[l]``: numerical rank of ``W^(l)``.
    """

    truncated: list[np.ndarray]
    pre: list[np.ndarray]
    k: list[np.ndarray]
    cones: list[Cone]
    rank: list[int]

    def collapsed(self, l: int) -> np.ndarray:
        """Boolean ``(N,)``: point fully collapsed at hidden layer index ``l`` (all coordinates cut)."""
        return self.k[l] == self.pre[l].shape[1]


def pinv_and_rank(W: np.ndarray) -> tuple[np.ndarray, int]:
    """Moore-Penrose inverse ``(n, m)`` and numerical rank of ``W: (m, n)`` from one SVD.

    Singular values below ``RANK_RTOL * max(m, n) * s_max`` count as zero (for both results). When ``W`` is
    not finite (a diverging run's cumulative product can overflow) or the SVD fails: all-NaN and rank ``-1``.
    """
    if np.isfinite(W).all():
        try:
            U, s, Vt = np.linalg.svd(W, full_matrices=False)
        except np.linalg.LinAlgError:
            pass
        else:
            tol = RANK_RTOL * max(W.shape) * (s[0] if s.size else 0.0)
            keep = s > tol
            return (Vt[keep].T / s[keep]) @ U[:, keep].T, int(keep.sum())
    return np.full(W.T.shape, np.nan), -1


def matrix_rank(W: np.ndarray) -> int:
    """Numerical rank of ``W``; ``-1`` when it is undefined (``W`` not finite, SVD failed)."""
    return pinv_and_rank(W)[1]


def truncation_chain(X: np.ndarray, Wc: list[np.ndarray], bc: list[np.ndarray],
                     keep_kernel: bool = False) -> ChainState:
    """``T_0 = id``, ``T_l = tau_{W^(l), b^(l)} o T_{l-1}`` (docs/math.md §2.4), with the truncation state of 2.5."""
    T = np.asarray(X, dtype=float)
    truncated, pre, ks, cones, ranks = [], [], [], [], []
    for W, b in zip(Wc, bc, strict=True):
        Wp, rank = pinv_and_rank(W)
        A = T @ W.T + b
        pre.append(A)
        ks.append((A < 0).sum(axis=1).astype(np.int64))
        T = T + (np.maximum(A, 0.0) - A) @ Wp.T if keep_kernel else (np.maximum(A, 0.0) - b) @ Wp.T
        truncated.append(T)
        cones.append(Cone(base=-Wp @ b, edges=Wp))
        ranks.append(rank)
    return ChainState(truncated=truncated, pre=pre, k=ks, cones=cones, rank=ranks)


def representation_residual(hidden: list[np.ndarray], chain: ChainState, Wc: list[np.ndarray],
                            bc: list[np.ndarray]) -> np.ndarray:
    """``max_r |x_r^(l) - (W^(l) T_l(x_r) + b^(l))|`` per layer (docs/math.md §2.4). ``hidden[l]: (N, M_l)`` -> (L,).

    ~0 when every ``W^(l)`` has full row rank: then the truncation picture is exact.
    """
    out = []
    for h, T, W, b in zip(hidden, chain.truncated, Wc, bc, strict=True):
        out.append(float(np.max(np.linalg.norm(h - (T @ W.T + b), axis=1))) if len(h) else 0.0)
    return np.array(out)


def hidden_activations(X: np.ndarray, Ws: list[np.ndarray], bs: list[np.ndarray]) -> list[np.ndarray]:
    """Plain forward pass through the hidden layers: ``x^(l) = sigma(W_l x^(l-1) + b_l)``. List of (N, M_l)."""
    h, out = np.asarray(X, dtype=float), []
    for W, b in zip(Ws, bs, strict=True):
        h = np.maximum(h @ W.T + b, 0.0)
        out.append(h)
    return out
