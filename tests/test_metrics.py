"""Metrics (docs/math.md §7): closed-form cases, an independent plain-numpy computation, and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.math import metrics


def simplex_etf(q: int, d: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
    """``(Q, D)`` centred means forming a simplex ETF, rotated into ``R^D`` (D >= Q)."""
    E = np.sqrt(q / (q - 1)) * (np.eye(q) - 1.0 / q)                     # (Q, Q): rows are the ETF
    R = np.linalg.qr(rng.standard_normal((d, d)))[0][:, :q]               # orthonormal columns (D, Q)
    return scale * E @ R.T


def blobs(q: int, d: int, n: int, noise: float, rng: np.random.Generator):
    means = rng.standard_normal((q, d)) * 3
    labels = np.repeat(np.arange(q), n)
    H = means[labels] + noise * rng.standard_normal((q * n, d))
    return H, labels


# ---------------------------------------------------------------------------------------------- references
def nc1_reference(H, labels, q):
    """tr(Sigma_W Sigma_B^+)/Q with explicit D x D matrices (Papyan et al.), mean-of-means global mean."""
    mu = np.stack([H[labels == j].mean(0) for j in range(q)])
    mg = mu.mean(0)
    D = H - mu[labels]
    Sw = D.T @ D / len(H)
    Sb = sum(np.outer(m - mg, m - mg) for m in mu) / q
    return np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10)) / q


def cdnv_reference(H, labels, q):
    vals = []
    for i in range(q):
        for j in range(i + 1, q):
            Hi, Hj = H[labels == i], H[labels == j]
            vi = np.mean(np.sum((Hi - Hi.mean(0)) ** 2, axis=1))
            vj = np.mean(np.sum((Hj - Hj.mean(0)) ** 2, axis=1))
            vals.append((vi + vj) / (2 * np.sum((Hi.mean(0) - Hj.mean(0)) ** 2)))
    return np.mean(vals)


def delta_p_reference(T, labels, q):
    Xbar = np.stack([T[labels == j].mean(0) for j in range(q)], axis=1)   # (M, Q)
    P = np.linalg.pinv(Xbar)
    return max(np.linalg.norm(P @ (T[r] - Xbar[:, labels[r]])) for r in range(len(T)))


# ---------------------------------------------------------------------------------------------- closed forms
@pytest.mark.parametrize("q,d", [(2, 2), (3, 3), (3, 10), (5, 8), (10, 12)])
def test_exact_simplex_etf_has_zero_nc2_error(q, d):
    rng = np.random.default_rng(q * 100 + d)
    M = simplex_etf(q, d, rng, scale=2.5) + rng.standard_normal(d)       # arbitrary global offset
    labels = np.repeat(np.arange(q), 4)
    H = M[labels]
    nc2 = metrics.nc2(H, labels, q)
    assert nc2["equinorm"] == pytest.approx(0, abs=1e-12)
    assert nc2["equiangular_std"] == pytest.approx(0, abs=1e-12)
    assert nc2["max_cos_dev"] == pytest.approx(0, abs=1e-12)
    assert nc2["mean_cos_dev"] == pytest.approx(0, abs=1e-12)


def test_non_etf_has_positive_nc2_error():
    labels = np.array([0, 1, 2])
    H = np.array([[1.0, 0, 0], [0, 2.0, 0], [0, 0, 0.5]])
    nc2 = metrics.nc2(H, labels, 3)
    assert nc2["equinorm"] > 0.1 and nc2["max_cos_dev"] > 0.01


@pytest.mark.parametrize("q,d", [(2, 3), (3, 3), (4, 20)])
def test_identical_within_class_points_have_zero_nc1_and_cdnv(q, d):
    rng = np.random.default_rng(d)
    means = rng.standard_normal((q, d))
    labels = np.repeat(np.arange(q), 7)
    H = means[labels]
    assert metrics.nc1_trace_pinv(H, labels, q) == pytest.approx(0, abs=1e-20)
    assert metrics.cdnv(H, labels, q) == pytest.approx(0, abs=1e-20)
    # the nearest class centre is the class itself: a correct classifier disagrees nowhere
    assert metrics.nc4(H, labels, q, labels) == 0.0
    assert metrics.nc4(H, labels, q, (labels + 1) % q) == 1.0


@pytest.mark.parametrize("scale", [1.0, 0.01, 30.0])
def test_classifier_equal_to_class_means_has_zero_nc3(scale):
    rng = np.random.default_rng(3)
    H, labels = blobs(3, 6, 20, 0.3, rng)
    mu = metrics.class_means(H, labels, 3)
    W = scale * (mu - mu.mean(0))
    assert metrics.nc3(H, labels, 3, W) == pytest.approx(0, abs=1e-12)
    assert metrics.nc3(H, labels, 3, -W) == pytest.approx(2.0)            # opposite direction: |2 A| = 2


def test_delta_p_is_zero_when_every_class_is_collapsed():
    rng = np.random.default_rng(0)
    for m, q in [(3, 3), (784, 3), (10, 4)]:
        base = rng.standard_normal((q, m))
        labels = np.repeat(np.arange(q), 5)
        out = metrics.delta_p(base[labels], labels, q)
        assert out["sup"] == pytest.approx(0, abs=1e-12) and out["mean"] == pytest.approx(0, abs=1e-12)


def test_metric_d_equals_nearest_mean_when_y_and_means_are_identity():
    rng = np.random.default_rng(1)
    for q in (2, 3, 5):
        T = rng.standard_normal((200, q)) * 2
        means = np.eye(q)
        assert np.array_equal(metrics.metric_d_classify(T, means, np.eye(q)), metrics.ncc_predict(T, means))
        # and d is the Euclidean distance then
        A = metrics.metric_d_matrix(means, np.eye(q))
        assert np.allclose(A, np.eye(q))


def test_metric_d_against_a_direct_computation():
    rng = np.random.default_rng(2)
    q, m, k = 3, 7, 10
    means = rng.standard_normal((q, m))
    Y = np.eye(k)[:, [0, 4, 6]]
    T = rng.standard_normal((50, m))
    Pinv = np.linalg.pinv(means.T)
    ref = np.array([np.argmin([np.linalg.norm(Y @ Pinv @ (t - mu)) for mu in means]) for t in T])
    assert np.array_equal(metrics.metric_d_classify(T, means, Y), ref)


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(GeomdlError, match=r"every label 0\.\.2 \(classes 1\.\.3\)"):
        metrics.nc1_trace_pinv(np.zeros((4, 2)), np.array([0, 0, 1, 1]), 3)
    with pytest.raises(GeomdlError, match="Q >= 2"):
        metrics.cdnv(np.zeros((4, 2)), np.zeros(4, dtype=int), 1)
    with pytest.raises(GeomdlError, match="classifier rows"):
        metrics.nc3(np.eye(3), np.arange(3), 3, np.zeros((2, 3)))


# ---------------------------------------------------------------------------------------------- references + properties
@settings(max_examples=40, deadline=None)
@given(q=st.integers(2, 5), d=st.integers(2, 9), n=st.integers(2, 12), noise=st.floats(0.01, 3.0),
       seed=st.integers(0, 10_000))
def test_nc1_and_cdnv_match_plain_numpy(q, d, n, noise, seed):
    rng = np.random.default_rng(seed)
    H, labels = blobs(q, d, n, noise, rng)
    assert metrics.nc1_trace_pinv(H, labels, q) == pytest.approx(nc1_reference(H, labels, q), rel=1e-6, abs=1e-12)
    assert metrics.cdnv(H, labels, q) == pytest.approx(cdnv_reference(H, labels, q), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(q=st.integers(2, 4), d=st.integers(2, 8), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 10_000))
def test_nc_metrics_are_invariant_to_rotation_translation_and_scale(q, d, scale, seed):
    rng = np.random.default_rng(seed)
    H, labels = blobs(q, d, 6, 0.5, rng)
    R = np.linalg.qr(rng.standard_normal((d, d)))[0]
    H2 = scale * H @ R.T + rng.standard_normal(d)
    assert metrics.nc1_trace_pinv(H2, labels, q) == pytest.approx(metrics.nc1_trace_pinv(H, labels, q), rel=1e-6)
    assert metrics.cdnv(H2, labels, q) == pytest.approx(metrics.cdnv(H, labels, q), rel=1e-8)
    a, b = metrics.nc2(H, labels, q), metrics.nc2(H2, labels, q)
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-6, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(q=st.integers(2, 5), extra=st.integers(0, 6), noise=st.floats(0.0, 2.0), seed=st.integers(0, 10_000))
def test_delta_p_matches_plain_numpy(q, extra, noise, seed):
    rng = np.random.default_rng(seed)
    T, labels = blobs(q, q + extra, 5, noise, rng)
    assert metrics.delta_p(T, labels, q)["sup"] == pytest.approx(delta_p_reference(T, labels, q), rel=1e-8,
                                                                 abs=1e-10)


@settings(max_examples=30, deadline=None)
@given(q=st.integers(2, 4), seed=st.integers(0, 10_000))
def test_delta_p_and_metric_d_are_invariant_to_invertible_maps_when_m_equals_q(q, seed):
    """With M = Q the barycentric coordinates (Xbar^red)^{-1} x do not depend on the linear frame."""
    rng = np.random.default_rng(seed)
    T, labels = blobs(q, q, 8, 0.4, rng)
    A = rng.standard_normal((q, q)) + 3 * np.eye(q)
    T2 = T @ A.T
    assert metrics.delta_p(T2, labels, q)["sup"] == pytest.approx(metrics.delta_p(T, labels, q)["sup"], rel=1e-6)
    mu, mu2 = metrics.class_means(T, labels, q), metrics.class_means(T2, labels, q)
    test = rng.standard_normal((40, q))
    Y = np.eye(q)
    assert np.array_equal(metrics.metric_d_classify(test, mu, Y), metrics.metric_d_classify(test @ A.T, mu2, Y))


# ---------------------------------------------------------------------------------------------- NC names (issue 11)
def test_papyan_equiangularity_closed_form():
    """Rows e1, (e1+e2)/sqrt2, e2: cosines 1/sqrt2, 0, 1/sqrt2; 1/(Q-1) = 1/2. Papyan's mean |cos + 1/2| is
    (2 (1/sqrt2 + 1/2) + 1/2) / 3, the worst pair 1/sqrt2 + 1/2, the std of the cosines sqrt(2)/3."""
    V = np.array([[1.0, 0.0], [1.0, 1.0] / np.sqrt(2), [0.0, 1.0]])
    r = metrics.equinorm_equiangularity(V)
    c = 1 / np.sqrt(2)
    assert r["mean_cos_dev"] == pytest.approx((2 * (c + 0.5) + 0.5) / 3, rel=1e-12)
    assert r["max_cos_dev"] == pytest.approx(c + 0.5, rel=1e-12)
    assert r["equiangular_std"] == pytest.approx(np.std([c, 0.0, c]), rel=1e-12)
    assert r["equinorm"] == pytest.approx(0.0, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(q=st.integers(2, 8), d=st.integers(2, 9), seed=st.integers(0, 2**31 - 1))
def test_mean_cos_dev_matches_plain_numpy(q, d, seed):
    V = np.random.default_rng(seed).standard_normal((q, d))
    cos = [V[i] @ V[j] / np.linalg.norm(V[i]) / np.linalg.norm(V[j]) for i in range(q) for j in range(i + 1, q)]
    dev = [abs(c + 1 / (q - 1)) for c in cos]
    r = metrics.equinorm_equiangularity(V)
    assert r["mean_cos_dev"] == pytest.approx(np.mean(dev), rel=1e-9, abs=1e-12)
    assert r["max_cos_dev"] == pytest.approx(max(dev), rel=1e-9, abs=1e-12)
    assert r["mean_cos_dev"] <= r["max_cos_dev"] + 1e-15


def test_nc1_global_mean_variants_closed_form():
    """1-D, two classes of sizes 2 and 8: {-1, 1} (mean 0) and {3, 5} x 4 (mean 4); Sigma_W = 1.
    Mean of class means 2: Sigma_B = (2^2 + 2^2)/2 = 4, NC1 = 1/4/2 = 1/8 (rhubarbwu/neural-collapse).
    Data mean 3.2: Sigma_B = (3.2^2 + 0.8^2)/2 = 5.44, NC1 = 1/(2 * 5.44) (tding1's validate_NC.py)."""
    labels = np.array([0] * 2 + [1] * 8)
    H = np.array([-1.0, 1.0] + [3.0, 5.0] * 4)[:, None]
    assert metrics.nc1_trace_pinv(H, labels, 2) == pytest.approx(1 / 8, rel=1e-12)
    assert metrics.nc1_trace_pinv_data_mean(H, labels, 2) == pytest.approx(1 / (2 * 5.44), rel=1e-12)
    with pytest.raises(GeomdlError, match="global mean"):
        metrics.nc1_trace_pinv(H, labels, 2, global_mean="median")


def nc1_data_mean_reference(H, labels, q):
    """tding1/Neural-Collapse validate_NC.py, in plain numpy: mu_G the mean of all features."""
    mu = np.stack([H[labels == j].mean(0) for j in range(q)])
    mg = H.mean(0)
    D = H - mu[labels]
    Sw = D.T @ D / len(H)
    Sb = sum(np.outer(m - mg, m - mg) for m in mu) / q
    return np.trace(Sw @ np.linalg.pinv(Sb, rcond=1e-10)) / q


@settings(max_examples=40, deadline=None)
@given(q=st.integers(2, 8), d=st.integers(2, 10), seed=st.integers(0, 2**31 - 1))
def test_nc1_variants_match_references_and_agree_on_balanced_classes(q, d, seed):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 12, size=q)
    labels = np.repeat(np.arange(q), sizes)
    H = 3 * rng.standard_normal((q, d))[labels] + rng.standard_normal((len(labels), d))
    assert metrics.nc1_trace_pinv(H, labels, q) == pytest.approx(nc1_reference(H, labels, q), rel=1e-6)
    assert metrics.nc1_trace_pinv_data_mean(H, labels, q) == pytest.approx(nc1_data_mean_reference(H, labels, q),
                                                                           rel=1e-6)
    bal = np.repeat(np.arange(q), 5)
    Hb = 3 * rng.standard_normal((q, d))[bal] + rng.standard_normal((len(bal), d))
    assert metrics.nc1_trace_pinv(Hb, bal, q) == pytest.approx(metrics.nc1_trace_pinv_data_mean(Hb, bal, q),
                                                               rel=1e-9)
