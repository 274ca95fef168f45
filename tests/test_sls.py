"""SLS-order finder (geomdl.math.separation). Separation is checked independently: with plain numpy on the returned
hyperplanes, and by brute force over all orders with a different LP (hard-margin feasibility, free normal)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from geomdl.errors import GeomdlError
from geomdl.math import separation as sls


def separable_feasibility(A: np.ndarray, B: np.ndarray) -> bool:
    """Strict separability by feasibility of ``w.a - c <= -1`` (a in A), ``w.b - c >= 1`` (b in B), w free."""
    M = A.shape[1]
    G = np.vstack([np.c_[A, -np.ones(len(A))], np.c_[-B, np.ones(len(B))]])
    res = linprog(np.zeros(M + 1), A_ub=G, b_ub=-np.ones(len(G)), bounds=[(None, None)] * (M + 1),
                  method="highs")
    return res.status == 0


def brute_force_orders(X, labels):
    classes = sorted(set(labels.tolist()))
    good = []
    for perm in itertools.permutations(classes):
        if all(separable_feasibility(X[labels == j], X[np.isin(labels, perm[k + 1:])])
               for k, j in enumerate(perm[:-1])):
            good.append(list(perm))
    return good


def check_steps(X, labels, steps):
    """Plain-numpy check of every step's hyperplane and margin."""
    order = [s.cls for s in steps]
    assert sorted(order) == sorted(set(labels.tolist()))
    for k, s in enumerate(steps[:-1]):
        assert abs(np.linalg.norm(s.normal) - 1.0) < 1e-9
        proj_in = X[labels == s.cls] @ s.normal
        proj_rest = X[np.isin(labels, order[k + 1:])] @ s.normal
        assert s.margin > 0
        assert proj_in.max() <= s.offset - s.margin + 1e-7
        assert proj_rest.min() >= s.offset + s.margin - 1e-7
        # the margin is the distance to the nearest point (the LP is tight)
        gap = min(s.offset - proj_in.max(), proj_rest.min() - s.offset)
        assert gap == pytest.approx(s.margin, rel=1e-6, abs=1e-9)
    assert steps[-1].margin == float("inf")


def planted(seed: int, q: int, m: int, n: int, gap: float):
    """Points in [-1, 1]^m labelled by planted halfspaces: class order[k] = the points with u_k.x < c_k - gap
    among those not yet labelled; points within ``gap`` of any planted plane are dropped."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, m))
    labels = np.full(n, -1)
    order = rng.permutation(q)
    keep = np.ones(n, bool)
    for k in range(q - 1):
        u = rng.standard_normal(m)
        u /= np.linalg.norm(u)
        free = labels < 0
        proj = X @ u
        c = np.median(proj[free]) if free.any() else 0.0
        keep &= ~(free & (np.abs(proj - c) < gap))
        labels[free & (proj < c - gap)] = order[k]
    labels[labels < 0] = order[-1]
    return X[keep], labels[keep], order


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.integers(2, 4), st.floats(0.02, 0.2))
def test_planted_sls_data_is_found_and_verified(seed, q, m, gap):
    X, labels, _ = planted(seed, q, m, 200, gap)
    if len(set(labels.tolist())) < 2:
        return
    steps = sls.sls_steps(X, labels)
    check_steps(X, labels, steps)
    assert min(s.margin for s in steps) >= gap / np.sqrt(m) - 1e-9   # LP margin >= planted half-gap / sqrt(M)
    order, margins = sls.find_sls_order(X, labels)
    assert order == [s.cls for s in steps] and margins == [s.margin for s in steps]
    assert sls.is_sls_order(X, labels, order)


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.integers(4, 12))
def test_finder_agrees_with_brute_force(seed, q, n_clusters):
    """Random unions of small clusters with random labels: an order is found iff brute force finds one."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-1, 1, (n_clusters, 2))
    cl = rng.integers(0, q, n_clusters)
    cl[:q] = np.arange(q)                                  # every class present
    X = np.concatenate([c + 0.03 * rng.standard_normal((5, 2)) for c in centres])
    labels = np.repeat(cl, 5)
    good = brute_force_orders(X, labels)
    if good:
        order, _ = sls.find_sls_order(X, labels)
        assert order in good
        check_steps(X, labels, sls.sls_steps(X, labels))
    else:
        with pytest.raises(GeomdlError, match="not sequentially linearly separable"):
            sls.find_sls_order(X, labels)


def test_xor_has_no_order():
    X = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], float)
    labels = np.array([0, 0, 1, 1])
    with pytest.raises(GeomdlError, match=r"none of the classes \[1, 2\]"):
        sls.find_sls_order(X, labels)


def test_middle_class_comes_first_never():
    """Three slabs on a line: the middle class is not separable from the two outer ones."""
    rng = np.random.default_rng(0)
    X = np.concatenate([np.c_[rng.uniform(a, a + 1, 30), rng.uniform(-1, 1, 30)] for a in (0, 2, 4)])
    labels = np.repeat([0, 1, 2], 30)
    order, margins = sls.find_sls_order(X, labels)
    assert order[0] in (0, 2) and len(order) == 3
    assert margins[0] == pytest.approx(0.5, abs=0.1)
    assert not sls.is_sls_order(X, labels, [1, 0, 2])
    assert sls.is_sls_order(X, labels, [0, 1, 2]) and sls.is_sls_order(X, labels, [2, 1, 0])


def test_stuck_after_first_step_reports_remaining_classes():
    """Class 2 is separable, then classes 0 and 1 form an XOR: the error names them."""
    X = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1], [10, 0], [10, 1]], float)
    labels = np.array([0, 0, 1, 1, 2, 2])
    with pytest.raises(GeomdlError, match=r"\[1, 2\]"):
        sls.find_sls_order(X, labels)


def test_non_contiguous_labels_and_errors():
    X = np.array([[0.0, 0], [0, 1], [5, 0], [5, 1]])
    order, margins = sls.find_sls_order(X, np.array([3, 3, 7, 7]))
    assert sorted(order) == [3, 7] and margins[0] == pytest.approx(2.5) and margins[1] == float("inf")
    with pytest.raises(GeomdlError, match="at least 2 classes"):
        sls.find_sls_order(X, np.zeros(4, int))
    with pytest.raises(GeomdlError, match="shapes"):
        sls.find_sls_order(X, np.zeros(3, int))
    with pytest.raises(GeomdlError, match="finite"):
        sls.find_sls_order(np.full((4, 2), np.nan), np.array([0, 0, 1, 1]))
    with pytest.raises(GeomdlError, match=">= 0"):
        sls.find_sls_order(X, np.array([-1, -1, 0, 0]))
    with pytest.raises(GeomdlError, match="permutation"):
        sls.is_sls_order(X, np.array([0, 0, 1, 1]), [0, 2])
