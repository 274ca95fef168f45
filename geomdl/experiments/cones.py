"""Experiment ``cones``: one recorded snapshot of a geometry's zero-loss construction (docs/math.md §4).

Builds the data of ``geometry`` (:mod:`geomdl.math.geometries`: clustered, sls, nonsep, concentric) and its exact
construction, and records a single snapshot (``S = 1``, step 0, loss = the construction's MSE): cumulative
parameters, cones, the truncation chain ``T_l(X)``, collapsed fractions per class, outputs. No training.

Square layers (clustered, sls, nonsep): recorded by :class:`geomdl.io.recorder.Recorder`; the picture is exact
(representation residual ~0).

Layers wider than ``M`` (concentric: ``K = 50`` rows in ``R^3``, then a rank-deficient 2-unit layer) have no
square cone, so the trace stores a documented *approximate* picture (said in ``meta["notes"]``):

- ``k_trunc[l, r]``: the number of inactive units of the REAL layer ``l`` at ``x_r`` (pre-activation ``<= 0``
  of the plain forward pass), so ``collapsed_frac`` (all units inactive, ``h_l(x_r) = 0``) is the construction's
  true collapse (concentric: the ball at layer 2, nothing at layer 1);
- ``T_l(x) = p_l`` when ``x`` is collapsed at layer ``l``, else ``T_{l-1}(x)`` (a non-collapsed point is kept
  where it is: the wide first layer is injective on the data, and at layer 2 the shell keeps all units active);
- base point ``p_l = -(W^(l))^+ b^(l)`` when the cumulative ``W^(l)`` has rank ``M``, else the centroid of the
  collapsed points' ``T_{l-1}`` (the origin for the ball), else ``pinv`` again;
- ``W_cum``/``b_cum``: the first ``M`` rows (NaN-padded when narrower); ``edges``: the first ``M`` unit normals
  (rows of ``W^(l)``, normalised) as columns; ``edges_all`` (S, L, M, K_max): all of them (NaN-padded), which
  the ``cones`` clip draws as the layer's rays;
- ``residual``: the representation residual of the ``pinv`` truncation chain (docs/math.md §2.4), large here, which is
  why the picture above is used instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from geomdl.errors import GeomdlError
from geomdl.fields import config, shared
from geomdl.io.trace import Trace, header
from geomdl.math import geometries
from geomdl.math import truncation as geometry
from geomdl.nn.train_config import TrainResult

if TYPE_CHECKING:
    from geomdl.math import constructions

# the recorder, the constructions and the trainer (scipy, torch) are imported where a run needs them: the
# config, its hash and its file name are all that rendering a cached trace needs (no torch, no scipy)

KIND = "cones"


@config
class Config:
    """``geometry`` (clustered | sls | nonsep | concentric), ``q`` classes (``None``: 3, or 2 for the two-class
    geometries), input dimension ``m`` (``None``: 3, or Q when Q > 3), ``n_per_class`` points per class,
    ``radius`` (clustered only), ``seed``."""

    geometry = shared("clustered")
    q = shared(None)
    m = shared(None)
    n_per_class = shared(120)
    radius = shared(0.25)
    seed = shared(0)

    def geometry_config(self) -> geometries.GeometryConfig:
        q = self.q if self.q is not None else (geometries.default_q(self.geometry)
                                               if self.geometry in geometries.GEOMETRIES else 3)
        return geometries.GeometryConfig(geometry=self.geometry, q=q, m=self.m, n_per_class=self.n_per_class,
                                         radius=self.radius, seed=self.seed)

    def validate(self) -> None:
        if not (self.radius > 0 and np.isfinite(self.radius)):
            raise GeomdlError(f"radius must be a positive number (got {self.radius})")
        if self.m is not None and self.m < 2:
            raise GeomdlError(f"M must be >= 2 (got {self.m})")
        self.geometry_config().validate()


def stem(cfg: Config) -> str:
    g = cfg.geometry_config()
    return f"{g.geometry}_q{g.q}_seed{g.seed}"


def wide_arrays(X: np.ndarray, labels: np.ndarray, q: int, net: constructions.Network) -> dict[str, np.ndarray]:
    """The approximate one-snapshot arrays of a network with non-square layers (module docstring).

    ``X: (N, M)``, ``labels: (N,)``. Returns arrays with a leading snapshot axis of length 1.
    """
    X = np.asarray(X, dtype=float)
    N, M = X.shape
    L = len(net.Ws)
    Wc, bc = geometry.cumulative_params(net.Ws, net.bs)
    chain = geometry.truncation_chain(X, Wc, bc)
    hidden = geometry.hidden_activations(X, net.Ws, net.bs)
    pre, h = [], X
    for W, b in zip(net.Ws, net.bs, strict=True):
        a = h @ W.T + b
        pre.append(a)
        h = np.maximum(a, 0.0)
    widths = [W.shape[0] for W in net.Ws]
    kmax = max(widths)
    k = np.stack([(a <= 0).sum(axis=1) for a in pre])                       # (L, N)
    T = np.empty((L, N, M))
    P = np.empty((L, M))
    prev = X
    for l in range(L):
        col = k[l] == widths[l]
        Wp, rank = geometry.pinv_and_rank(Wc[l])
        if rank == M or not col.any():
            P[l] = -Wp @ bc[l]
        else:
            P[l] = prev[col].mean(axis=0)
        T[l] = np.where(col[:, None], P[l], prev)
        prev = T[l]
    W_pad = np.full((L, M, M), np.nan)
    b_pad = np.full((L, M), np.nan)
    E_pad = np.full((L, M, M), np.nan)
    E_all = np.full((L, M, kmax), np.nan)
    for l in range(L):
        r = min(M, widths[l])
        W_pad[l, :r] = Wc[l][:r]
        b_pad[l, :r] = bc[l][:r]
        n = np.linalg.norm(Wc[l], axis=1, keepdims=True)
        U = np.where(n > 1e-12, Wc[l] / np.maximum(n, 1e-300), np.nan)      # unit normals (M_l, M)
        E_all[l, :, : widths[l]] = U.T
        E_pad[l, :, :r] = U[:r].T
    onehot = (labels[:, None] == np.arange(q)[None, :]).astype(float)
    sizes = np.maximum(onehot.sum(axis=0), 1)
    wid = np.array(widths)[:, None]
    collapsed = ((k == wid).astype(float) @ onehot) / sizes
    partial = (((k > 0) & (k < wid)).astype(float) @ onehot) / sizes
    out = net.outputs(X)
    arr = {
        "W_cum": W_pad, "b_cum": b_pad, "base_points": P, "edges": E_pad, "edges_all": E_all, "truncated": T,
        "outputs": out, "k_trunc": k.astype(np.int16 if kmax > 127 else np.int8), "collapsed_frac": collapsed,
        "partial_frac": partial, "residual": geometry.representation_residual(hidden, chain, Wc, bc),
        "rank": np.array(chain.rank, dtype=np.int64),
    }
    return {key: v[None] for key, v in arr.items()}


def run(cfg: Config, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, TrainResult]:
    """Build the data and the construction, record one snapshot. Returns the trace and the result."""
    from geomdl.io.recorder import Recorder, data_arrays, residual_notes  # noqa: PLC0415
    from geomdl.math import constructions  # noqa: PLC0415

    cfg.validate()
    gcfg = cfg.geometry_config()
    X, labels, net = geometries.build(gcfg)
    X = np.asarray(X, dtype=float)
    q, M = gcfg.q, X.shape[1]
    loss = constructions.mse_loss(net.outputs(X), labels)
    square = all(W.shape[0] == M for W in net.Ws)
    notes = list(net.notes)
    if square:
        rec = Recorder(X, labels, q)
        rec.record(0, loss, net.Ws, net.bs, net.W_out, net.b_out)
        arrays = rec.arrays()
    else:
        arrays = wide_arrays(X, labels, q, net)
        arrays.update(steps=np.zeros(1, dtype=np.int64), loss=np.array([loss], dtype=np.float64))
        notes.append("non-square layers: approximate picture (collapsed points drawn at a representative base "
                     "point, the others kept; first M rows of W_cum stored, all unit normals in edges_all); "
                     f"pinv-chain representation residual up to {float(np.nanmax(arrays['residual'])):.3g}")
    if square:
        notes += residual_notes(arrays)
    arrays.update(data_arrays(X, labels))
    if progress is not None:
        progress(0, loss)
    meta = header(
        KIND, cfg.to_dict(), seed=gcfg.seed, q=q, m=M, widths=net.widths, loss="mse", stop_reason="construction",
        stop_message=f"{net.name} construction, loss {loss:.3g}", final_step=0, notes=notes, geometry=gcfg.geometry,
        construction=net.name, collapses=[int(c) for c in net.collapses], square=square,
        n_per_class=gcfg.n_per_class, construction_loss=loss,
    )
    result = TrainResult("construction", 0, loss, f"{net.name} construction, loss {loss:.3g}")
    return Trace(meta=meta, arrays=arrays), result
