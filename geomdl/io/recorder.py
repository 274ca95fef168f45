"""Snapshot recorder: the geometry of a network on its data at chosen training steps (docs/math.md §2.5, docs/trace.md).

At each snapshot it computes, in float64 numpy from the model's current parameters: cumulative ``W^(l), b^(l)``,
cones (base points and edges), the truncation chain ``T_l(X)``, the truncation state ``k_{l,r}``, per-class
collapsed / partially truncated fractions, distances to the base point and within-class variances, outputs,
the representation residual and the rank of every ``W^(l)``.
"""

from __future__ import annotations

import numpy as np

from geomdl.io import projection
from geomdl.math import truncation as geometry


class Recorder:
    """Collect snapshots; :meth:`arrays` stacks them into the trace arrays of ``docs/trace.md``.

    ``X: (N, M)``, ``labels: (N,)``; ``q`` classes. Layers narrower than ``M`` are NaN-padded.
    """

    def __init__(self, X: np.ndarray, labels: np.ndarray, q: int):
        self.X = np.asarray(X, dtype=float)
        self.labels = np.asarray(labels)
        self.q = q
        self.class_masks = [self.labels == j for j in range(q)]
        self.class_sizes = np.array([m.sum() for m in self.class_masks])
        self.class_spread = np.array([np.sqrt(((self.X[m] - self.X[m].mean(0)) ** 2).sum(1).mean())
                                      for m in self.class_masks])
        self.class_var = self.class_spread ** 2
        self.onehot = np.stack(self.class_masks, axis=1).astype(float)                 # (N, Q)
        self.class_avg = self.onehot / np.maximum(self.class_sizes, 1)
        self.rows: dict[str, list] = {}

    def record(self, step: int, loss: float, Ws: list[np.ndarray], bs: list[np.ndarray],
               W_out: np.ndarray, b_out: np.ndarray) -> None:
        """Snapshot the network given by per-layer float64 parameters."""
        X, _N, M, L = self.X, len(self.X), self.X.shape[1], len(Ws)
        Wc, bc = geometry.cumulative_params(Ws, bs)
        chain = geometry.truncation_chain(X, Wc, bc)
        hidden = geometry.hidden_activations(X, Ws, bs)
        out = hidden[-1] @ W_out.T + b_out

        W_pad = np.full((L, M, M), np.nan)
        b_pad = np.full((L, M), np.nan)
        E_pad = np.full((L, M, M), np.nan)
        for l in range(L):
            ml = Wc[l].shape[0]
            W_pad[l, :ml] = Wc[l]
            b_pad[l, :ml] = bc[l]
            E_pad[l, :, :ml] = chain.cones[l].edges
        # per-class statistics, vectorised with the normalised one-hot matrix C: (N, Q)
        widths = np.array([W.shape[0] for W in Wc])[:, None]
        k = np.stack(chain.k)                                       # (L, N)
        T = np.stack(chain.truncated)                               # (L, N, M)
        P = np.stack([c.base for c in chain.cones])                 # (L, M)
        C = self.class_avg
        # fractions as integer counts / class sizes, so a fully collapsed class records exactly 1.0
        collapsed = ((k == widths).astype(float) @ self.onehot) / np.maximum(self.class_sizes, 1)    # (L, Q)
        partial = (((k > 0) & (k < widths)).astype(float) @ self.onehot) / np.maximum(self.class_sizes, 1)
        dist = (np.linalg.norm(T - P[:, None, :], axis=2) @ C) / np.maximum(self.class_spread, 1e-300)
        means = np.einsum("nq,lnm->lqm", C, T)                      # class means of T_l(X)
        sq = (T ** 2).sum(axis=2) @ C                               # mean squared norm per class
        wvar = np.maximum(sq - (means ** 2).sum(axis=2), 0.0) / np.maximum(self.class_var, 1e-300)
        row = {
            "steps": step,
            "loss": loss,
            "W_cum": W_pad,
            "b_cum": b_pad,
            "base_points": P,
            "edges": E_pad,
            "truncated": T,
            "outputs": out,
            "k_trunc": k.astype(np.int8),
            "collapsed_frac": collapsed,
            "partial_frac": partial,
            "dist_to_base": dist,
            "within_var": wvar,
            "residual": geometry.representation_residual(hidden, chain, Wc, bc),
            "rank": np.array(chain.rank),
        }
        for key, val in row.items():
            self.rows.setdefault(key, []).append(val)

    def __len__(self) -> int:
        return len(self.rows.get("steps", []))

    @property
    def last_step(self) -> int | None:
        return self.rows["steps"][-1] if len(self) else None

    def arrays(self) -> dict[str, np.ndarray]:
        out = {k: np.stack([np.asarray(v) for v in vals]) for k, vals in self.rows.items()}
        out["steps"] = out["steps"].astype(np.int64)
        out["rank"] = out["rank"].astype(np.int64)
        out["loss"] = out["loss"].astype(np.float64)
        return out


def data_arrays(X: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The trace's data arrays: ``X: (N, M)``, ``labels: (N,)`` and the fixed PCA of ``X`` to ``R^3``
    (``pca_mean: (M,)``, ``pca_components: (3, M)``) that every renderer uses for ``M > 3``."""
    mean, comps = projection.fit_pca(X, 3)
    return {"X": X, "labels": np.asarray(labels), "pca_mean": mean, "pca_components": comps}


def residual_notes(arrays: dict[str, np.ndarray], tol: float = 1e-6, why: str = "") -> list[str]:
    """A trace note when the representation residual (math.md §2.4) exceeds ``tol``: the picture is then approximate."""
    res = arrays.get("residual")
    bad = float(np.nanmax(res)) if res is not None and res.size else 0.0
    if bad > tol:
        return [f"representation residual up to {bad:.2g}{why}: the truncation picture is approximate"]
    return []
