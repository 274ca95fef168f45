"""Synthetic clustered data (spec math.md section 3a)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError


@settings(deadline=None, max_examples=40)
@given(q=st.integers(2, 6), extra=st.integers(0, 3), n=st.integers(1, 50), radius=st.floats(0.01, 2.0),
       kind=st.sampled_from(data.CLUSTER_KINDS), seed=st.integers(0, 2**31 - 1))
def test_clustered_shapes_labels_and_radius(q, extra, n, radius, kind, seed):
    cfg = data.ClusteredConfig(q=q, m=q + extra, n_per_class=n, radius=radius, kind=kind, seed=seed)
    X, labels = data.clustered(cfg)
    M = q + extra
    assert X.shape == (q * n, M) and X.dtype == np.float64
    assert labels.shape == (q * n,) and labels.dtype == np.int64
    np.testing.assert_array_equal(labels, np.repeat(np.arange(q), n))   # contiguous classes
    assert np.isfinite(X).all()
    if kind == "ball":
        for j in range(q):
            e = np.zeros(M)
            e[j] = 1.0
            assert (np.linalg.norm(X[labels == j] - e, axis=1) <= radius * (1 + 1e-12)).all()


def test_default_dimension():
    assert data.ClusteredConfig(q=2).dim == 3
    assert data.ClusteredConfig(q=3).dim == 3
    assert data.ClusteredConfig(q=5).dim == 5
    assert data.ClusteredConfig(q=3, m=7).dim == 7
    X, _ = data.clustered(data.ClusteredConfig(q=2, n_per_class=4))
    assert X.shape == (8, 3)


@pytest.mark.parametrize("kind", data.CLUSTER_KINDS)
def test_determinism_by_seed(kind):
    cfg = data.ClusteredConfig(q=3, n_per_class=30, kind=kind, seed=11)
    X1, l1 = data.clustered(cfg)
    X2, l2 = data.clustered(cfg)
    assert np.array_equal(X1, X2) and np.array_equal(l1, l2)
    X3, _ = data.clustered(data.ClusteredConfig(q=3, n_per_class=30, kind=kind, seed=12))
    assert not np.allclose(X1, X3)


def test_ball_is_uniform_and_gauss_has_the_given_std():
    """Uniform in the ball: P(|x - e_j| < r/2) = 2^-M; Gaussian: per-coordinate std = radius."""
    M, n, r = 3, 20000, 0.3
    X, labels = data.clustered(data.ClusteredConfig(q=2, m=M, n_per_class=n, radius=r, kind="ball", seed=0))
    d = np.linalg.norm(X[labels == 0] - np.eye(M)[0], axis=1)
    assert abs(np.mean(d < r / 2) - 0.5**M) < 0.01
    assert d.max() > 0.99 * r                                       # fills the ball, not a smaller one
    centred = X[labels == 1] - np.eye(M)[1]
    np.testing.assert_allclose(centred.mean(axis=0), 0.0, atol=0.01)
    X, labels = data.clustered(data.ClusteredConfig(q=2, m=M, n_per_class=n, radius=r, kind="gauss", seed=0))
    centred = X[labels == 0] - np.eye(M)[0]
    np.testing.assert_allclose(centred.std(axis=0), r, rtol=0.03)
    np.testing.assert_allclose(centred.mean(axis=0), 0.0, atol=0.01)


def test_uniform_ball_direct():
    rng = np.random.default_rng(0)
    P = data.uniform_ball(rng, 5000, 4, 2.0)
    assert P.shape == (5000, 4)
    norms = np.linalg.norm(P, axis=1)
    assert norms.max() <= 2.0 and abs(np.mean(norms < 1.0) - 0.5**4) < 0.015


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(q=1), "Q must be >= 2"),
    (dict(q=0), "Q must be >= 2"),
    (dict(q=4, m=3), "M=3 must be >= Q=4"),
    (dict(q=3, m=2), "M=2"),
    (dict(radius=0.0), "radius"),
    (dict(radius=-0.5), "radius"),
    (dict(radius=math.nan), "radius"),
    (dict(radius=math.inf), "radius"),
    (dict(kind="cube"), "unknown cluster kind 'cube'"),
    (dict(n_per_class=0), "points per class"),
])
def test_bad_configs_raise(kwargs, message):
    cfg = data.ClusteredConfig(**kwargs)
    with pytest.raises(GeomdlError, match=message):
        cfg.validate()
    with pytest.raises(GeomdlError, match=message):
        data.clustered(cfg)


# ------------------------------------------------------------------ one-vs-rest separability bound (issue 11)
def simplex_distance(j: int, q: int) -> float:
    """Distance from e_j to the simplex of the other centres, by numerical minimisation over the simplex."""
    from scipy.optimize import minimize  # noqa: PLC0415

    others = np.delete(np.eye(q), j, axis=0)                       # (Q-1, Q)
    e = np.eye(q)[j]
    x0 = np.full(q - 1, 1.0 / (q - 1)) + 0.1 * np.random.default_rng(q).random(q - 1)
    res = minimize(lambda lam: np.sum((e - lam @ others) ** 2), x0 / x0.sum(), method="SLSQP",
                   bounds=[(0, 1)] * (q - 1), constraints=[{"type": "eq", "fun": lambda lam: lam.sum() - 1}],
                   options={"ftol": 1e-14})
    return float(np.sqrt(res.fun))


def separable_one_vs_rest(X, labels, j) -> bool:
    """Hard-margin LP: w.x - b >= 1 on class j, <= -1 on the others (feasible iff strictly separable)."""
    from scipy.optimize import linprog  # noqa: PLC0415

    s = np.where(labels == j, 1.0, -1.0)
    A = -s[:, None] * np.hstack([X, -np.ones((len(X), 1))])
    res = linprog(np.zeros(X.shape[1] + 1), A_ub=A, b_ub=-np.ones(len(X)), bounds=[(None, None)] * (X.shape[1] + 1),
                  method="highs")
    return res.status == 0


@pytest.mark.parametrize("q", range(2, 9))
def test_separability_radius_is_half_the_distance_to_the_other_centres(q):
    bound = data.separability_radius(q)
    assert bound == pytest.approx(math.sqrt(1 + 1 / (q - 1)) / 2)
    assert simplex_distance(0, q) == pytest.approx(2 * bound, rel=1e-6)
    assert {2: 0.7071, 3: 0.6124, 7: 0.5401}.get(q, round(bound, 4)) == round(bound, 4)


@pytest.mark.parametrize("q", range(2, 9))
def test_balls_below_the_bound_are_separable_and_above_it_are_not(q):
    """Sampled balls (points pushed to the sphere, the hardest case) at 0.97 x the bound: every class is LP
    separable from the rest. At 1.03 x: the midpoint between e_j and the other centres' centroid lies in ball j
    and in the convex hull of the other balls (the mean of points of theirs), so no hyperplane separates."""
    bound = data.separability_radius(q)
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=60, radius=0.97 * bound, seed=q))
    centres = np.eye(X.shape[1])[labels]
    D = X - centres
    X = centres + 0.97 * bound * D / np.linalg.norm(D, axis=1, keepdims=True)   # on the spheres
    assert all(separable_one_vs_rest(X, labels, j) for j in range(q))
    r = 1.03 * bound
    m = max(3, q)
    e = np.eye(m)[:q]
    c = e[1:].mean(0)
    p = (e[0] + c) / 2
    assert np.linalg.norm(p - e[0]) <= r
    pts = e[1:] + (p - c)                            # one point of each other ball, their mean is p
    assert np.all(np.linalg.norm(pts - e[1:], axis=1) <= r) and np.allclose(pts.mean(0), p)
    assert not data.separability_radius(q) > r


def test_separability_radius_rejects_q_below_2():
    with pytest.raises(GeomdlError, match="Q must be >= 2"):
        data.separability_radius(1)
