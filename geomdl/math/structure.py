"""Structural verifier: what each hidden layer of a ReLU network does to each class, from the parameters alone.

Independent of how a network was built: it needs only the per-layer parameters ``Ws[l]: (M_l, M_{l-1})``,
``bs[l]: (M_l,)``, the data ``X: (N, M)`` and ``labels: (N,)``. It runs the plain forward pass and, at every
hidden layer ``l``, looks at each point's pre-activation ``a = W_l x^(l-1) + b_l`` (for square full-rank layers
these are the cone coordinates ``W^(l) T_{l-1}(x) + b^(l)`` of the truncation picture, docs/math.md §2):

- **collapsed**: every ``a_i < 0`` (the point is sent to the layer's base point; all units off);
- **unchanged**: every ``a_i > 0`` (the point is in the forward cone, where the truncation map is the identity);
- **partially truncated**: anything else (some units off, or a coordinate exactly 0: a tie).

A :class:`Claim` says, per layer and class, how many points must be collapsed and whether the others must pass
unchanged. :func:`verify` counts, checks the claim, and measures its **margin**: the smallest distance from 0 of
the pre-activations the claim depends on (``-max_i a_i`` of a point claimed collapsed, ``min_i a_i`` of one
claimed unchanged, ``max_i a_i`` of one claimed not collapsed), divided by the layer's scale ``max |a|`` over
the data. A claim that fails, or holds with a relative margin below ``min_margin`` (default ``1e-6``: a
floating-point tie, whose outcome depends on the machine's rounding), raises :class:`GeomdlError` naming the
layer, the class and the count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from geomdl.errors import GeomdlError

MIN_MARGIN = 1e-6
STATES = ("collapsed", "unchanged", "partially truncated")


@dataclass(frozen=True)
class Claim:
    """``collapsed: (L, Q)`` int: how many points of class ``c`` layer ``l`` collapses (``-1``: no claim about
    that layer and class); ``passes: (L, Q)`` bool: its other points must pass unchanged (``False``: they must
    only not be collapsed, e.g. the partially truncating layer of a partial start)."""

    collapsed: np.ndarray
    passes: np.ndarray

    @classmethod
    def collapse_pattern(cls, collapses: Sequence[int], counts: Sequence[int]) -> Claim:
        """Layer ``l`` collapses all of class ``collapses[l]`` (``-1``: none) and passes every other point
        unchanged. ``counts[c]``: points in class ``c``."""
        L, q = len(collapses), len(counts)
        col = np.zeros((L, q), dtype=np.int64)
        for l, c in enumerate(collapses):
            if c >= 0:
                col[l, c] = counts[c]
        return cls(col, np.ones((L, q), dtype=bool))

    def describe(self, l: int, c: int, n: int) -> str:
        k = int(self.collapsed[l, c])
        if k < 0:
            return "no claim"
        rest = "unchanged" if self.passes[l, c] else "not collapsed"
        if k == 0:
            return f"all {n} {rest}"
        if k == n:
            return f"all {n} collapsed"
        return f"{k} collapsed, {n - k} {rest}"


@dataclass(frozen=True)
class Structure:
    """Per hidden layer and class: ``counts: (L, Q, 3)`` points collapsed / unchanged / partially truncated
    (:data:`STATES`); ``margin``: the smallest relative margin of the claim (``inf`` without claims) and where it
    is attained (``margin_layer``, ``margin_class``, 0-based); ``scales: (L,)`` the layers' ``max |a|``;
    ``unit``: what the labels are ("class", or "piece" for a construction that splits classes)."""

    counts: np.ndarray
    margin: float
    margin_layer: int
    margin_class: int
    scales: np.ndarray
    unit: str = "class"

    def summary(self) -> str:
        if not np.isfinite(self.margin):
            return "structure: no claim checked"
        return (f"structure verified: every layer collapses exactly its claimed points; smallest margin "
                f"{self.margin:.3g} of the layer's scale (layer {self.margin_layer + 1}, "
                f"{self.unit} {self.margin_class + 1})")

    def table(self) -> list[str]:
        """One line per layer: ``collapsed/unchanged/partial`` counts of every class."""
        out = []
        for l, row in enumerate(self.counts):
            cells = "  ".join(f"{c + 1}: {r[0]}/{r[1]}/{r[2]}" for c, r in enumerate(row))
            out.append(f"layer {l + 1} (collapsed/unchanged/partial per {self.unit})  {cells}")
        return out


def pre_activations(X: np.ndarray, Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Plain numpy forward pass: ``a_l = W_l x^(l-1) + b_l`` of every hidden layer, ``(N, M_l)`` each."""
    h, out = np.asarray(X, dtype=float), []
    for W, b in zip(Ws, bs, strict=True):
        a = h @ np.asarray(W, dtype=float).T + np.asarray(b, dtype=float)
        out.append(a)
        h = np.maximum(a, 0.0)
    return out


def states(a: np.ndarray) -> np.ndarray:
    """``(N,)`` int8 per point: 0 collapsed (all ``a_i < 0``), 1 unchanged (all ``> 0``), 2 partially truncated."""
    return np.where((a < 0).all(axis=1), 0, np.where((a > 0).all(axis=1), 1, 2)).astype(np.int8)


def count(X: np.ndarray, labels: np.ndarray, Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray],
          q: int | None = None) -> np.ndarray:
    """``(L, Q, 3)`` counts of collapsed / unchanged / partially truncated points per layer and class."""
    labels = np.asarray(labels)
    q = int(labels.max()) + 1 if q is None else q
    pres = pre_activations(X, Ws, bs)
    out = np.zeros((len(pres), q, 3), dtype=np.int64)
    for l, a in enumerate(pres):
        s = states(a)
        for c in range(q):
            out[l, c] = np.bincount(s[labels == c], minlength=3)[:3]
    return out


def verify(X: np.ndarray, labels: np.ndarray, Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray], claim: Claim,
           what: str = "the network", min_margin: float = MIN_MARGIN, unit: str = "class") -> Structure:
    """Count, check ``claim`` and measure its margin (module docstring). Raises :class:`GeomdlError` (one line:
    layer, class, count) when the claim is false or holds only by a margin below ``min_margin``."""
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    pres = pre_activations(X, Ws, bs)
    L, q = claim.collapsed.shape
    if L != len(pres):
        raise GeomdlError(f"{what}: the claim covers {L} layers, the network has {len(pres)}")
    counts = np.zeros((L, q, 3), dtype=np.int64)
    scales = np.array([float(np.abs(a).max()) if a.size else 0.0 for a in pres])
    best = (np.inf, -1, -1)
    for l, a in enumerate(pres):
        s = states(a)
        scale = scales[l] if scales[l] > 0 else 1.0
        u, v = a.max(axis=1), a.min(axis=1)
        for c in range(q):
            sel = labels == c
            n = int(sel.sum())
            counts[l, c] = np.bincount(s[sel], minlength=3)[:3]
            k = int(claim.collapsed[l, c])
            if k < 0 or n == 0:
                continue
            got = counts[l, c]
            want = claim.describe(l, c, n)
            if got[0] != k or (claim.passes[l, c] and got[1] != n - k):
                raise GeomdlError(f"{what}: layer {l + 1}, {unit} {c + 1}: {got[0]} collapsed, {got[1]} unchanged, "
                                  f"{got[2]} partially truncated of {n} (claim: {want})")
            uc, vc = u[sel], v[sel]
            coll = uc < 0
            parts = [-uc[coll], (vc if claim.passes[l, c] else uc)[~coll]]
            m = min(float(p.min()) for p in parts if p.size) / scale
            if m < best[0]:
                best = (m, l, c)
            if not m >= min_margin:
                raise GeomdlError(f"{what}: layer {l + 1}, {unit} {c + 1}: the claim ({want}) holds only by a relative "
                                  f"margin {m:.2g} < {min_margin:g} (a floating-point tie)")
    return Structure(counts, float(best[0]), int(best[1]), int(best[2]), scales, unit)
