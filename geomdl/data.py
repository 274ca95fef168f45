"""Synthetic data geometries (spec section 3). Every generator is seeded and returns ``(X, labels)``.

``X: (N, M)`` float64, one point per row; ``labels: (N,)`` int64 in ``0..Q-1``, classes stored contiguously.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomdl.errors import GeomdlError

CLUSTER_KINDS = ("ball", "gauss")


@dataclass(frozen=True)
class ClusteredConfig:
    """Geometry (a): ``Q`` clusters around the unit vectors ``e_1..e_Q`` of ``R^M``.

    ``kind="ball"``: uniform in the ball of radius ``radius``; ``kind="gauss"``: isotropic Gaussian with
    standard deviation ``radius``. ``m=None`` means ``M = max(3, Q)`` (3D pictures for Q <= 3).
    """

    q: int = 3
    m: int | None = None
    n_per_class: int = 200
    radius: float = 0.25
    kind: str = "ball"
    seed: int = 0

    @property
    def dim(self) -> int:
        return self.m if self.m is not None else max(3, self.q)

    def validate(self) -> None:
        if self.q < 2:
            raise GeomdlError(f"Q must be >= 2 (got {self.q}): one class has nothing to separate")
        if self.dim < self.q:
            raise GeomdlError(f"input dimension M={self.dim} must be >= Q={self.q} (centres are e_1..e_Q)")
        if self.n_per_class < 1:
            raise GeomdlError(f"points per class must be >= 1 (got {self.n_per_class})")
        if not (self.radius > 0 and np.isfinite(self.radius)):
            raise GeomdlError(f"cluster radius must be a positive number (got {self.radius})")
        if self.kind not in CLUSTER_KINDS:
            raise GeomdlError(f"unknown cluster kind {self.kind!r}; known: {', '.join(CLUSTER_KINDS)}")


def uniform_ball(rng: np.random.Generator, n: int, m: int, radius: float) -> np.ndarray:
    """``n`` points uniform in the ball of radius ``radius`` in ``R^m``: direction * radius * U^(1/m). (n, m)"""
    g = rng.standard_normal((n, m))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    r = radius * rng.random(n) ** (1.0 / m)
    return g * r[:, None]


def clustered(cfg: ClusteredConfig) -> tuple[np.ndarray, np.ndarray]:
    """Geometry (a). Returns ``X: (Q * n_per_class, M)``, ``labels: (Q * n_per_class,)``.

    Guarantee (balls): class ``j`` lies within ``radius`` of ``e_j``; the clusters are disjoint and
    linearly separable one-vs-rest whenever ``radius < 1/sqrt(2)`` (half the distance between centres).
    Gaussian clusters carry no such guarantee; constructions check separability themselves.
    """
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    m, n = cfg.dim, cfg.n_per_class
    blocks, labels = [], []
    for j in range(cfg.q):
        centre = np.zeros(m)
        centre[j] = 1.0
        if cfg.kind == "ball":
            pts = uniform_ball(rng, n, m, cfg.radius)
        else:
            pts = cfg.radius * rng.standard_normal((n, m))
        blocks.append(centre + pts)
        labels.append(np.full(n, j, dtype=np.int64))
    return np.concatenate(blocks), np.concatenate(labels)
