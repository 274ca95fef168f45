"""Synthetic data geometries (docs/math.md §3). Every generator is seeded and returns ``(X, labels)``.

``X: (N, M)`` float64, one point per row; ``labels: (N,)`` int64 in ``0..Q-1``, classes stored contiguously.
"""

from __future__ import annotations

import numpy as np

from geomdl.checks import check_dim, check_q
from geomdl.errors import GeomdlError, UsageError
from geomdl.fields import check_fields, config, shared

CLUSTER_KINDS = ("ball", "gauss")


@config
class ClusteredConfig:
    """Geometry (a): ``Q`` clusters around the unit vectors ``e_1..e_Q`` of ``R^M``.

    ``kind="ball"``: uniform in the ball of radius ``radius``; ``kind="gauss"``: isotropic Gaussian with
    standard deviation ``radius``. ``m=None`` means ``M = max(3, Q)`` (3D pictures for Q <= 3).
    """

    q = shared(3)
    m = shared(None)
    n_per_class = shared(200)
    radius = shared(0.25)
    kind: str = "ball"
    seed = shared(0)

    @property
    def dim(self) -> int:
        return self.m if self.m is not None else max(3, self.q)

    def validate(self) -> None:
        check_q(self.q, ": one class has nothing to separate")
        if self.dim < self.q:
            raise GeomdlError(f"input dimension M={self.dim} must be >= Q={self.q} (centres are e_1..e_Q)")
        check_fields(self, "n_per_class")
        if not (self.radius > 0 and np.isfinite(self.radius)):
            raise GeomdlError(f"cluster radius must be a positive number (got {self.radius})")
        if self.kind not in CLUSTER_KINDS:
            raise UsageError(f"unknown cluster kind {self.kind!r}; known: {', '.join(CLUSTER_KINDS)}")


def separability_radius(q: int) -> float:
    """``sqrt(1 + 1/(Q-1)) / 2``: balls of a smaller radius around ``e_1..e_Q`` are one-vs-rest linearly
    separable, larger ones are not (see :func:`clustered`)."""
    check_q(q)
    return float(np.sqrt(1.0 + 1.0 / (q - 1)) / 2.0)


def uniform_ball(rng: np.random.Generator, n: int, m: int, radius: float) -> np.ndarray:
    """``n`` points uniform in the ball of radius ``radius`` in ``R^m``: direction * radius * U^(1/m). (n, m)"""
    g = rng.standard_normal((n, m))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    r = radius * rng.random(n) ** (1.0 / m)
    return g * r[:, None]


def clustered(cfg: ClusteredConfig) -> tuple[np.ndarray, np.ndarray]:
    """Geometry (a). Returns ``X: (Q * n_per_class, M)``, ``labels: (Q * n_per_class,)``.

    Guarantee (balls): class ``j`` lies within ``radius`` of ``e_j``. The clusters are pairwise disjoint whenever
    ``radius < 1/sqrt(2)`` (half the distance ``sqrt 2`` between centres), and linearly separable one-vs-rest
    whenever ``radius < separability_radius(Q) = sqrt(1 + 1/(Q-1)) / 2`` (0.707 at Q = 2, 0.612 at Q = 3, 0.540
    at Q = 7, -> 1/2 as Q grows): the convex hull of the other balls is their centres' simplex widened by
    ``radius``, and ``e_j`` is ``sqrt(1 + 1/(Q-1))`` from that simplex (its nearest point is the centroid of
    the other centres), so the balls' hulls are apart iff ``2 radius`` is less than that. The bound is sharp
    for the balls (not for a finite sample of them).
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


# ---------------------------------------------------------------------------------------------------------------
# (a, flat) clusters on a proper affine subspace: the setting where toggle points can be local minima
@config
class FlatConfig:
    """``Q`` clusters around ``e_1..e_Q`` of ``R^M``, all on the ``(Q-1)``-dimensional affine subspace
    ``S = {x : x_1 + ... + x_Q = 1, x_{Q+1} = ... = x_M = 0}`` (for ``Q = M = 3``: the plane
    ``x1 + x2 + x3 = 1``). Class ``j`` is uniform in the ``(Q-1)``-ball of radius ``radius`` around ``e_j`` within
    ``S``. ``m=None`` means ``M = max(3, Q)``; ``S`` has codimension ``M - Q + 1``."""

    q = shared(3)
    m = shared(None)
    n_per_class = shared(120)
    radius = shared(0.25)
    seed = shared(0)

    @property
    def dim(self) -> int:
        return self.m if self.m is not None else max(3, self.q)

    def validate(self) -> None:
        ClusteredConfig(q=self.q, m=self.m, n_per_class=self.n_per_class, radius=self.radius,
                        seed=self.seed).validate()


def flat_basis(q: int, m: int) -> np.ndarray:
    """Orthonormal basis ``(M, Q-1)`` of the directions of the subspace ``S`` of :class:`FlatConfig`."""
    D = np.zeros((m, q - 1))
    for i in range(q - 1):          # e_{i+1} - e_1 span S's directions; orthonormalise
        D[0, i], D[i + 1, i] = -1.0, 1.0
    return np.linalg.qr(D)[0]


def flat_clusters(cfg: FlatConfig) -> tuple[np.ndarray, np.ndarray]:
    """Clusters on the affine subspace ``S`` of :class:`FlatConfig`. ``X: (Q * n_per_class, M)``, labels contiguous.

    Guarantee: every point lies on ``S`` (``x_1 + ... + x_Q = 1`` and ``x_i = 0`` for ``i > Q``, up to rounding)
    within ``radius`` of its centre ``e_j``."""
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    m, n, q = cfg.dim, cfg.n_per_class, cfg.q
    B = flat_basis(q, m)
    blocks, labels = [], []
    for j in range(q):
        centre = np.zeros(m)
        centre[j] = 1.0
        blocks.append(centre + uniform_ball(rng, n, q - 1, cfg.radius) @ B.T)
        labels.append(np.full(n, j, dtype=np.int64))
    return np.concatenate(blocks), np.concatenate(labels)


# ---------------------------------------------------------------------------------------------------------------
# (b) sequentially linearly separable (SLS), not clustered
def sls_normals(q: int, m: int) -> np.ndarray:
    """The default cut directions ``n_0..n_{Q-2}`` of :func:`sls_slabs`: unit vectors at angles
    ``2 pi j / max(Q-1, 3)`` in the ``(x1, x2)`` plane, tilted by ``0.3`` along ``x3`` (when ``M >= 3``) so that
    the slabs are not all vertical. ``(Q-1, M)``."""
    out = np.zeros((q - 1, m))
    k = max(q - 1, 3)
    for j in range(q - 1):
        out[j, 0], out[j, 1] = np.cos(2 * np.pi * j / k), np.sin(2 * np.pi * j / k)
        if m >= 3:
            out[j, 2] = 0.3
    return out / np.linalg.norm(out, axis=1, keepdims=True)


@config
class SLSConfig:
    """Geometry (b): ``Q`` classes cut out of the box ``[-1, 1]^M`` by ``Q-1`` successive hyperplanes.

    Class ``j < Q-1`` is the part of the box (not yet taken by classes ``< j``) with ``n_j.x <= c - gap/2``;
    the last class is what is left with ``n_j.x >= c + gap/2`` for every ``j``. Points closer than ``gap/2``
    to a cut are not sampled. The classes are large convex slabs/wedges spanning the box (not balls).
    ``cut`` is ``c`` (the same for every cut): the slab of class ``j`` is the side of its plane away from the
    origin, ``n_j.x <= c`` with ``c < 0``. ``m=None`` means ``M = max(3, Q)``.

    Guarantee: the data are SLS in the order ``0, 1, ..., Q-1`` with margin ``>= gap/2`` at every step (class
    ``j`` vs classes ``> j``, the hyperplane ``n_j.x = c``).
    """

    q = shared(3)
    m = shared(None)
    n_per_class = shared(200)
    gap = shared(0.2)
    cut: float = -0.25
    seed = shared(0)

    @property
    def dim(self) -> int:
        return self.m if self.m is not None else max(3, self.q)

    def validate(self) -> None:
        check_fields(self, "q")
        check_dim(self.dim)
        check_fields(self, "n_per_class")
        if not (0 < self.gap < 1 and np.isfinite(self.gap)):
            raise GeomdlError(f"gap must be in (0, 1) (got {self.gap})")
        if not (-0.9 < self.cut < 0.9):
            raise GeomdlError(f"cut offset must be in (-0.9, 0.9) (got {self.cut})")


def _rejection(rng: np.random.Generator, n_per_class: int, q: int, m: int, assign, box: float = 1.0,
               what: str = "class") -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n_per_class`` points of every class uniformly from the box ``[-box, box]^m``; ``assign(P)`` gives
    each row's class, ``-1`` to reject it. Deterministic for a given generator state."""
    got: list[list[np.ndarray]] = [[] for _ in range(q)]
    counts = np.zeros(q, dtype=np.int64)
    for _ in range(2000):
        P = rng.uniform(-box, box, (max(4096, 8 * n_per_class * q), m))
        lab = assign(P)
        for j in range(q):
            need = n_per_class - counts[j]
            if need > 0:
                rows = P[lab == j][:need]
                got[j].append(rows)
                counts[j] += len(rows)
        if (counts >= n_per_class).all():
            break
    else:
        empty = [j for j in range(q) if counts[j] < n_per_class]
        raise GeomdlError(f"the region of {what} {empty[0]} is (nearly) empty for these parameters; "
                          "use a smaller gap or another cut offset")
    X = np.concatenate([np.concatenate(g) for g in got])
    return X, np.repeat(np.arange(q), n_per_class).astype(np.int64)


def sls_slabs(cfg: SLSConfig) -> tuple[np.ndarray, np.ndarray]:
    """Geometry (b). ``X: (Q * n_per_class, M)``, ``labels`` contiguous. See :class:`SLSConfig`."""
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    normals = sls_normals(cfg.q, cfg.dim)
    h = cfg.gap / 2

    def assign(P: np.ndarray) -> np.ndarray:
        lab = np.full(len(P), -1)
        free = np.ones(len(P), dtype=bool)
        for j, n in enumerate(normals):
            proj = P @ n
            lab[free & (proj <= cfg.cut - h)] = j
            free &= proj >= cfg.cut + h
        lab[free] = cfg.q - 1
        return lab

    return _rejection(rng, cfg.n_per_class, cfg.q, cfg.dim, assign)


# ---------------------------------------------------------------------------------------------------------------
# (c) two classes, not linearly separable, not concentric: wedge and chevron (Ewa25 Fig. 1a)
@config
class WedgeConfig:
    """Geometry (c) in the ``(x1, x2)`` plane, extruded along ``x3..xM`` by ``|x_i| <= thickness``.

    Class 0 (the *wedge*): ``x2 >= slope |x1| + gap/2`` inside the box ``|x1| <= width``, ``x2 <= top``.
    Class 1 (the *chevron*, around the wedge on both sides): ``slope |x1| - band <= x2 <= slope |x1| - gap/2``
    with ``tip <= |x1| <= width`` (its two arms do not meet below the wedge's apex).

    Guarantees: the boundary lines ``x2 = slope |x1| +- gap/2`` are ``gap / sqrt(1 + slope^2)`` apart, so every
    wedge point is at least that far from every chevron point. The two regions are not linearly separable (the
    midpoint of two chevron points on opposite arms lies inside the wedge's region), and neither class surrounds
    the other. A finite sample is not separable in the ``x1``-``x2`` plane once both arms reach past the wedge's
    sides (checked in the tests with a linear program); in ``M >= 3`` the thin extra coordinates can separate a
    small sample (seen with 20 points per class in ``R^4``), so check a sample before relying on it. Split into its
    left arm, its right arm and the wedge, the data are SLS (arms first): the route the construction takes.
    ``m=None`` means ``M = 3``.
    """

    n_per_class = shared(200)
    m = shared(None)
    slope: float = 1.0
    gap = shared(0.2)
    band: float = 0.6
    tip: float = 0.2
    width: float = 1.0
    top: float = 1.2
    thickness: float = 0.25
    seed = shared(0)

    @property
    def dim(self) -> int:
        return self.m if self.m is not None else 3

    def validate(self) -> None:
        check_dim(self.dim)
        check_fields(self, "n_per_class")
        for name in ("slope", "gap", "band", "width", "top", "thickness"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise GeomdlError(f"{name} must be a positive number (got {v})")
        if not (0 <= self.tip < self.width):
            raise GeomdlError(f"tip must be in [0, width) (got {self.tip})")
        if self.band <= self.gap / 2:
            raise GeomdlError(f"band ({self.band}) must exceed gap/2 ({self.gap / 2}): the chevron would be empty")
        if self.top <= self.gap / 2:
            raise GeomdlError(f"top ({self.top}) must exceed gap/2 ({self.gap / 2}): the wedge would be empty")


def wedge_chevron(cfg: WedgeConfig) -> tuple[np.ndarray, np.ndarray]:
    """Geometry (c). ``X: (2 n_per_class, M)``: wedge (label 0) then chevron (label 1). See :class:`WedgeConfig`."""
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    M = cfg.dim
    lo = -cfg.slope * cfg.width - cfg.band
    hi = max(cfg.top, cfg.slope * cfg.width)
    scale = np.array([cfg.width, max(abs(lo), abs(hi))] + [cfg.thickness] * (M - 2))

    def assign(P: np.ndarray) -> np.ndarray:
        Z = P * scale
        x1, x2 = Z[:, 0], Z[:, 1]
        v = cfg.slope * np.abs(x1)
        lab = np.full(len(P), -1)
        lab[(x2 >= v + cfg.gap / 2) & (x2 <= cfg.top)] = 0
        lab[(x2 <= v - cfg.gap / 2) & (x2 >= v - cfg.band) & (np.abs(x1) >= cfg.tip)] = 1
        return lab

    X, labels = _rejection(rng, cfg.n_per_class, 2, M, assign, what="class")
    return X * scale, labels


def chevron_pieces(X: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Piece labels for the split-into-pieces construction of (c): 0 left arm, 1 right arm (chevron class 1,
    split by the sign of ``x1``), 2 the wedge (class 0). ``(N,)`` int64."""
    pieces = np.full(len(labels), 2, dtype=np.int64)
    arm = labels == 1
    pieces[arm & (X[:, 0] < 0)] = 0
    pieces[arm & (X[:, 0] >= 0)] = 1
    return pieces


# ---------------------------------------------------------------------------------------------------------------
# (d) two concentric classes: ball and spherical shell (Ewa25 Fig. 1b)
@config
class ConcentricConfig:
    """Geometry (d): class 0 uniform in the ball ``|x| <= r_ball``, class 1 uniform in the shell
    ``r_shell_in <= |x| <= r_shell_out`` (uniform in volume), centred at the origin of ``R^M``.

    Guarantees: the classes are ``r_shell_in - r_ball`` apart (radially); they are not linearly separable
    once the shell sample surrounds the ball (any direction has shell points beyond the ball: true with
    overwhelming probability for the default sizes, and checked independently in the tests with a linear
    program). ``m=None`` means ``M = 3``.
    """

    n_per_class = shared(200)
    m = shared(None)
    r_ball: float = 0.5
    r_shell_in: float = 0.8
    r_shell_out: float = 1.0
    seed = shared(0)

    @property
    def dim(self) -> int:
        return self.m if self.m is not None else 3

    def validate(self) -> None:
        check_dim(self.dim)
        check_fields(self, "n_per_class")
        if not (0 < self.r_ball < self.r_shell_in < self.r_shell_out < np.inf):
            raise GeomdlError("need 0 < r_ball < r_shell_in < r_shell_out "
                              f"(got {self.r_ball}, {self.r_shell_in}, {self.r_shell_out})")


def concentric(cfg: ConcentricConfig) -> tuple[np.ndarray, np.ndarray]:
    """Geometry (d). ``X: (2 n_per_class, M)``: ball (label 0) then shell (label 1)."""
    cfg.validate()
    rng = np.random.default_rng(cfg.seed)
    M, n = cfg.dim, cfg.n_per_class
    ball = uniform_ball(rng, n, M, cfg.r_ball)
    g = rng.standard_normal((n, M))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    a, b = cfg.r_shell_in ** M, cfg.r_shell_out ** M
    r = (a + (b - a) * rng.random(n)) ** (1.0 / M)
    return np.concatenate([ball, g * r[:, None]]), np.repeat([0, 1], n).astype(np.int64)
