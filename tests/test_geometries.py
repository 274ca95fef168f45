"""Data geometries (b)-(d) and their zero-loss constructions (spec math.md sections 3 and 4).

Guarantees are checked independently: separability by linear-programming feasibility (a different LP from the
library's), losses by a plain numpy forward pass on the per-layer parameters and again through the torch model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError
from geomdl.math import constructions, geometries
from geomdl.nn.model import ReLUMLP


def separable(A: np.ndarray, B: np.ndarray) -> bool:
    """Strict linear separability: ``w.a - c <= -1`` on A, ``w.b - c >= 1`` on B feasible (w free)."""
    M = A.shape[1]
    G = np.vstack([np.c_[A, -np.ones(len(A))], np.c_[-B, np.ones(len(B))]])
    res = linprog(np.zeros(M + 1), A_ub=G, b_ub=-np.ones(len(G)), bounds=[(None, None)] * (M + 1), method="highs")
    return res.status == 0


def numpy_loss_acc(X, labels, Ws, bs, W_out, b_out):
    h = X
    for W, b in zip(Ws, bs, strict=True):
        h = np.maximum(h @ W.T + b, 0.0)
    out = h @ W_out.T + b_out
    Y = np.eye(W_out.shape[0])[labels]
    return 0.5 * np.mean(np.sum((out - Y) ** 2, axis=1)), np.mean(out.argmax(1) == labels)


def torch_loss(X, labels, net):
    model = ReLUMLP(X.shape[1], net.widths, net.q).double()
    model.load_arrays(net.Ws, net.bs, net.W_out, net.b_out)
    with torch.no_grad():
        out = model(torch.as_tensor(X)).numpy()
    return 0.5 * np.mean(np.sum((out - np.eye(net.q)[labels]) ** 2, axis=1))


def assert_exact(X, labels, net):
    loss, acc = numpy_loss_acc(X, labels, net.Ws, net.bs, net.W_out, net.b_out)
    assert loss < 1e-10 and acc == 1.0, (loss, acc)
    assert torch_loss(X, labels, net) < 1e-10
    if net.Wc is not None:   # per-layer parameters reproduce the cumulative ones
        Wc, bc = [net.Ws[0]], [net.bs[0]]
        for W, b in zip(net.Ws[1:], net.bs[1:], strict=True):
            Wc.append(W @ Wc[-1])
            bc.append(W @ bc[-1] + b)
        for a, b2 in zip(Wc, net.Wc, strict=True):
            np.testing.assert_allclose(a, b2, atol=1e-8)


# ---------------------------------------------------------------- generators and their guarantees
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), q=st.integers(2, 4), n=st.integers(5, 80), gap=st.floats(0.05, 0.4))
def test_sls_slabs_are_sls_in_order_with_margin(seed, q, n, gap):
    X, labels = data.sls_slabs(data.SLSConfig(q=q, n_per_class=n, gap=gap, seed=seed))
    assert X.shape == (q * n, max(3, q)) and np.bincount(labels).tolist() == [n] * q
    normals = data.sls_normals(q, X.shape[1])
    for j in range(q - 1):
        later = labels > j
        proj_j, proj_later = X[labels == j] @ normals[j], X[later] @ normals[j]
        assert proj_j.max() <= -0.25 - gap / 2 + 1e-12 and proj_later.min() >= -0.25 + gap / 2 - 1e-12
        assert separable(X[labels == j], X[later])
    assert (np.abs(X) <= 1).all()


def test_sls_slabs_are_not_clustered():
    """Slabs span the box: each class's extent is comparable to the whole data's (balls of radius 0.25 are not)."""
    X, labels = data.sls_slabs(data.SLSConfig())
    spread = [np.ptp(X[labels == j], axis=0).max() for j in range(3)]
    assert min(spread) > 1.2


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(20, 120), m=st.integers(2, 4))
def test_wedge_chevron_guarantees(seed, n, m):
    cfg = data.WedgeConfig(n_per_class=n, m=m, seed=seed)
    X, labels = data.wedge_chevron(cfg)
    W, C = X[labels == 0], X[labels == 1]
    # distance between the classes (in the x1-x2 plane the boundaries are gap/sqrt(1+slope^2) apart)
    d = np.min(np.linalg.norm(W[:, None, :2] - C[None, :, :2], axis=2))
    assert d >= cfg.gap / np.sqrt(1 + cfg.slope**2) - 1e-12
    pieces = data.chevron_pieces(X, labels)
    if min(np.bincount(pieces, minlength=3)) > 3 and W[:, 1].max() > 0.6:
        assert not separable(W[:, :2], C[:, :2])   # not linearly separable in the x1-x2 plane (in R^M a small
        # sample can be separated through the thin extra coordinates: seed 483, n 20, m 4 is)
        # arms first, then the wedge: SLS
        assert separable(X[pieces == 0], X[pieces != 0]) or separable(X[pieces == 1], X[pieces != 1])


def test_wedge_is_not_concentric_and_not_separable_default():
    X, labels = data.wedge_chevron(data.WedgeConfig())
    assert not separable(X[labels == 0], X[labels == 1])
    # neither class surrounds the other: the wedge's centroid direction has no chevron points beyond it upward
    assert X[labels == 0][:, 1].max() > X[labels == 1][:, 1].max()


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(60, 200), m=st.integers(2, 4))
def test_concentric_guarantees(seed, n, m):
    cfg = data.ConcentricConfig(n_per_class=n, m=m, seed=seed)
    X, labels = data.concentric(cfg)
    r = np.linalg.norm(X, axis=1)
    assert r[labels == 0].max() <= cfg.r_ball + 1e-12
    assert (r[labels == 1] >= cfg.r_shell_in - 1e-12).all() and (r[labels == 1] <= cfg.r_shell_out + 1e-12).all()
    assert not separable(X[labels == 0], X[labels == 1])


@pytest.mark.parametrize("bad", [data.SLSConfig(q=1), data.SLSConfig(gap=0), data.WedgeConfig(band=0.05),
                                 data.ConcentricConfig(r_ball=0.9), data.WedgeConfig(tip=2.0)])
def test_generators_reject_bad_parameters(bad):
    gen = {data.SLSConfig: data.sls_slabs, data.WedgeConfig: data.wedge_chevron,
           data.ConcentricConfig: data.concentric}[type(bad)]
    with pytest.raises(GeomdlError):
        gen(bad)


def test_generators_are_deterministic():
    for cfg, gen in [(data.SLSConfig(seed=3), data.sls_slabs), (data.WedgeConfig(seed=3), data.wedge_chevron),
                     (data.ConcentricConfig(seed=3), data.concentric)]:
        a, b = gen(cfg), gen(cfg)
        np.testing.assert_array_equal(a[0], b[0])


# ---------------------------------------------------------------- constructions
@settings(max_examples=8, deadline=None)
@given(geometry=st.sampled_from(geometries.GEOMETRIES), seed=st.integers(0, 10**6), n=st.integers(10, 150))
def test_every_construction_is_exact(geometry, seed, n):
    cfg = geometries.GeometryConfig(geometry, q=geometries.default_q(geometry), n_per_class=n, seed=seed)
    X, labels, net = geometries.build(cfg)
    assert_exact(X, labels, net)


@pytest.mark.parametrize("q", [2, 3, 4, 5])
def test_sls_and_clustered_constructions_across_q(q):
    for geometry in ("clustered", "sls"):
        X, labels, net = geometries.build(geometries.GeometryConfig(geometry, q=q, n_per_class=60, seed=q))
        assert_exact(X, labels, net)
        assert net.widths == [X.shape[1]] * q


def test_concentric_construction_is_wide_and_checks_its_precondition():
    X, labels = data.concentric(data.ConcentricConfig(n_per_class=100, m=2))
    net = constructions.concentric_construction(X, labels)
    assert net.widths == [8, 2] and net.Wc is None
    assert_exact(X, labels, net)
    # touching classes: ball radius = shell inner radius up to sampling
    X2, l2 = data.concentric(data.ConcentricConfig(n_per_class=300, r_ball=0.79, r_shell_in=0.8, m=3))
    with pytest.raises(GeomdlError, match="K=4 directions does not separate ball and shell"):
        constructions.concentric_construction(X2, l2, k=4)
    # a ball point beyond a shell point on the same ray: no positively homogeneous proxy separates them
    X3 = np.vstack([X2[l2 == 0][:-1], 1.01 * X2[l2 == 1][:1], X2[l2 == 1]])
    with pytest.raises(GeomdlError, match="no first-layer width K <= 4096"):
        constructions.concentric_construction(X3, l2)


@pytest.mark.parametrize("m", [2, 3, 4, 5, 6])
@pytest.mark.parametrize("seed", [0, 3])
def test_concentric_default_width_works_for_m_2_to_6(m, seed):
    """The default first-layer width separates ball and shell with a strict margin in every dimension 2..6 (the
    old fixed max(50, 4M) failed for every M >= 4); checked independently: the ball's largest radius proxy is
    below the layer-2 thresholds, the shell's smallest above, by a quarter of the gap."""
    X, labels = data.concentric(data.ConcentricConfig(n_per_class=200, m=m, seed=seed))
    net = constructions.concentric_construction(X, labels)
    assert_exact(X, labels, net)
    s = np.maximum(X @ net.Ws[0].T, 0).sum(axis=1)
    a2, b2 = -net.bs[1]
    gap = s[labels == 1].min() - s[labels == 0].max()
    assert gap > 0
    assert s[labels == 0].max() <= a2 - gap / 4 * (1 - 1e-9)
    assert s[labels == 1].min() >= b2 + gap / 4 * (1 - 1e-9)
    assert net.structure.margin > 1e-3


def test_concentric_explicit_width_that_fails_names_one_that_works():
    X, labels = data.concentric(data.ConcentricConfig(n_per_class=200, m=5, seed=2))
    bad = next(k for k in (6, 8, 10, 12, 16, 20) if (lambda ab: ab[0] >= ab[1])(
        constructions.radius_proxy_gap(X, labels, k)))
    with pytest.raises(GeomdlError, match=r"use K=\d+ directions"):
        constructions.concentric_construction(X, labels, k=bad)


def test_constructions_refuse_unsupported_data():
    X, labels = data.concentric(data.ConcentricConfig(n_per_class=50))
    with pytest.raises(GeomdlError, match="not SLS|not linearly separable|not sequentially"):
        constructions.sls_placed_construction(X, labels)
    with pytest.raises(GeomdlError, match="exactly two classes"):
        constructions.concentric_construction(*data.clustered(data.ClusteredConfig(q=3, n_per_class=10)))
    with pytest.raises(GeomdlError, match="M=2 < 3"):
        constructions.sls_placed_construction(*data.sls_slabs(data.SLSConfig(q=3, m=2, n_per_class=20)))
    with pytest.raises(GeomdlError):
        geometries.GeometryConfig("concentric", q=3).validate()


# ---------------------------------------------------------------- CE23 family
def test_ce23_global_and_local_ranges():
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=80, radius=0.15, seed=1))
    layers = constructions.ce23_layers(X, labels)   # before any base point exists
    glob = np.array([[-lay.D, -lay.lower] for lay in layers])
    low = np.array([lay.lower for lay in layers])
    assert (glob[:, 0] < glob[:, 1]).all()
    rng = np.random.default_rng(0)
    for _ in range(5):   # any mu in the global range (which shrinks as base points appear): a global minimum
        mu: list[float] = []
        for l in range(3):
            lay = constructions.ce23_layers(X, labels, mu + [-1.0] * (3 - len(mu)))[l]
            assert -lay.D >= glob[l, 0] - 1e-12 and lay.D > lay.lower
            mu.append(float(rng.uniform(-lay.D, -lay.lower)))
        net = constructions.ce23_construction(X, labels, mu)
        assert_exact(X, labels, net)
    # any mu in the local range: the same positive loss (degenerate), equal to the affine least squares
    losses = []
    for scale in (1.01, 2.0, 7.5):
        net = constructions.ce23_construction(X, labels, low * scale)
        losses.append(numpy_loss_acc(X, labels, net.Ws, net.bs, net.W_out, net.b_out)[0])
    H = np.c_[X, np.ones(len(X))]
    Y = np.eye(3)[labels]
    ls = 0.5 * np.mean(np.sum((H @ np.linalg.lstsq(H, Y, rcond=None)[0] - Y) ** 2, axis=1))
    np.testing.assert_allclose(losses, ls, rtol=1e-9)
    from geomdl.math.landscape import gradient_norms

    assert gradient_norms(net, X, labels)[0] < 1e-10          # stationary
    with pytest.raises(GeomdlError, match="neither range"):
        constructions.ce23_construction(X, labels, [0.0, 0.0, 0.0])
    with pytest.raises(GeomdlError, match="M = Q"):
        constructions.ce23_construction(*data.clustered(data.ClusteredConfig(q=2, n_per_class=10)), [1, 1])
    Xw, lw = data.clustered(data.ClusteredConfig(q=3, n_per_class=80, radius=0.5, seed=1))
    with pytest.raises(GeomdlError, match="too wide|not clustered enough"):
        constructions.ce23_construction(Xw, lw, [-0.5, -0.5, -0.5])
