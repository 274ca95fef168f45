"""Explicit zero-loss constructions and partially truncating networks (spec math.md sections 4 and 5).

Losses, accuracies and truncation counts are computed here with a plain numpy forward pass (per-layer
parameters), independent of geomdl.math.truncation, and again through the torch model.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError
from geomdl.math import constructions, separation
from geomdl.nn.losses import loss_fn
from geomdl.nn.model import ReLUMLP


def forward(X, Ws, bs, W_out, b_out):
    """Plain forward pass: pre-activations of every hidden layer and the outputs."""
    pres, h = [], X
    for W, b in zip(Ws, bs, strict=True):
        a = h @ W.T + b
        pres.append(a)
        h = np.maximum(a, 0.0)
    return pres, h @ W_out.T + b_out


def mse(out, labels):
    Y = np.eye(out.shape[1])[labels]
    return 0.5 * np.mean(np.sum((out - Y) ** 2, axis=1))


def wmse(out, labels):
    Y = np.eye(out.shape[1])[labels]
    q = out.shape[1]
    return sum(np.sum((out[labels == j] - Y[labels == j]) ** 2) / np.sum(labels == j) for j in range(q))


def torch_outputs(X, Ws, bs, W_out, b_out):
    model = ReLUMLP(X.shape[1], [W.shape[0] for W in Ws], W_out.shape[0]).double()
    model.load_arrays(Ws, bs, W_out, b_out)
    with torch.no_grad():
        return model(torch.as_tensor(X)).numpy(), model


clustered_cases = st.tuples(
    st.integers(2, 6),                      # Q
    st.integers(0, 2),                      # extra input dimensions: M = Q + extra
    st.integers(2, 40),                     # points per class
    st.sampled_from(["ball", "gauss"]),
    st.floats(0.02, 0.6),                   # radius (balls); Gaussians use radius / 8 to stay separable
    st.integers(0, 2**31 - 1),              # seed
)


def make_clustered(case):
    q, extra, n, kind, radius, seed = case
    r = radius if kind == "ball" else radius / 8
    cfg = data.ClusteredConfig(q=q, m=q + extra, n_per_class=n, radius=r, kind=kind, seed=seed)
    return data.clustered(cfg)


@settings(deadline=None, max_examples=60)
@given(clustered_cases)
def test_clustered_construction_zero_loss_numpy_and_torch(case):
    X, labels = make_clustered(case)
    q = case[0]
    con = constructions.clustered_construction(X, labels)
    Ws, bs = con.layers
    assert len(Ws) == q and all(W.shape == (X.shape[1], X.shape[1]) for W in Ws)
    assert con.W_out.shape == (q, X.shape[1]) and con.b_out.shape == (q,)
    _, out = forward(X, Ws, bs, con.W_out, con.b_out)
    assert mse(out, labels) < 1e-10
    assert wmse(out, labels) < 1e-10
    assert np.array_equal(out.argmax(1), labels)
    out_t, model = torch_outputs(X, Ws, bs, con.W_out, con.b_out)
    np.testing.assert_allclose(out_t, out, atol=1e-9)
    yt = torch.as_tensor(labels)
    for kind in ("mse", "wmse"):
        assert float(loss_fn(kind, torch.as_tensor(out_t), yt, q)) < 1e-10
    assert np.array_equal(out_t.argmax(1), labels)
    # the torch model's parameters are exactly what was loaded
    Ws2, bs2, Wo2, bo2 = model.layer_arrays()
    for a, b in zip([*Ws2, *bs2, Wo2, bo2], [*Ws, *bs, con.W_out, con.b_out], strict=True):
        np.testing.assert_array_equal(a, b)


@settings(deadline=None, max_examples=40)
@given(clustered_cases, st.randoms(use_true_random=False))
def test_each_layer_collapses_exactly_its_class(case, rnd):
    X, labels = make_clustered(case)
    q, M = case[0], X.shape[1]
    order = list(range(q))
    rnd.shuffle(order)
    con = constructions.sls_construction(X, labels, order)
    assert con.order == order and con.t == [0.0] * q
    Ws, bs = con.layers
    pres, out = forward(X, Ws, bs, con.W_out, con.b_out)
    assert mse(out, labels) < 1e-10
    for l, j in enumerate(order):
        k = (pres[l] < 0).sum(axis=1)
        assert (k[labels == j] == M).all(), f"layer {l + 1} does not collapse all of class {j}"
        assert (k[labels != j] == 0).all(), f"layer {l + 1} truncates points outside class {j}"
    # cumulative parameters: W^(l) n_l = 1 (the cone axis), and per-layer params reproduce them
    for l in range(q):
        np.testing.assert_allclose(con.Wc[l] @ con.normals[l], np.ones(M), atol=1e-9)
        assert abs(np.linalg.norm(con.normals[l]) - 1) < 1e-12
    Wc = [Ws[0]]
    for W in Ws[1:]:
        Wc.append(W @ Wc[-1])
    for a, b in zip(Wc, con.Wc, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-8)


def test_construction_collapses_each_class_to_its_base_point():
    X, labels = data.clustered(data.ClusteredConfig(q=4, n_per_class=50, seed=3))
    con = constructions.clustered_construction(X, labels)
    T = X.copy()
    bases = []
    for W, b in zip(con.Wc, con.bc, strict=True):  # the truncation chain, written out (square: inv)
        V = np.linalg.inv(W)
        T = (np.maximum(T @ W.T + b, 0) - b) @ V.T
        bases.append(-V @ b)
    for j in range(4):
        np.testing.assert_allclose(T[labels == j], np.broadcast_to(bases[j], (50, X.shape[1])), atol=1e-9)
    assert min(np.linalg.norm(bases[i] - bases[j]) for i in range(4) for j in range(i)) > 1e-3


FRACTIONS = [0.0, 0.1, 0.22, 0.5, 0.73, 0.9, 1.0]


@pytest.mark.parametrize("fraction", FRACTIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_partial_construction_start_counts(fraction, seed):
    q, n = 3, 60
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=n, seed=seed))
    con = constructions.partial_construction(X, labels, fraction)
    Ws, bs = con.layers
    pres, out = forward(X, Ws, bs, con.W_out, con.b_out)
    want = round(fraction * n)
    for l in range(q):
        k = (pres[l] < 0).sum(axis=1)
        got = int((k[labels == l] == X.shape[1]).sum())
        assert abs(got - want) <= 1, f"layer {l + 1}: {got} collapsed, wanted {want}"
        assert 0.0 <= con.t[l] <= 1.0
    if fraction == 1.0:
        assert con.t == [0.0] * q and mse(out, labels) < 1e-10
    else:
        assert all(t > 0 for t in con.t)
        assert mse(out, labels) > 1e-6   # a partially truncating network has a positive loss


@settings(deadline=None, max_examples=25)
@given(st.integers(2, 6), st.integers(5, 80), st.data())
def test_partial_construction_start_counts_random(q, n, draw):
    fractions = draw.draw(st.lists(st.floats(0.0, 1.0), min_size=q, max_size=q), label="fractions")
    seed = draw.draw(st.integers(0, 2**31 - 1), label="seed")
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=n, seed=seed))
    con = constructions.partial_construction(X, labels, fractions)
    pres, _ = forward(X, *con.layers, con.W_out, con.b_out)
    for l, f in enumerate(fractions):
        got = int(((pres[l] < 0).sum(axis=1)[labels == l] == X.shape[1]).sum())
        assert abs(got - round(f * n)) <= 1, (l, f, got)


def test_partial_construction_per_layer_fractions_and_other_layers_unchanged():
    n = 80
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=n, seed=5))
    con = constructions.partial_construction(X, labels, [0.22, 1.0, 0.5])
    assert con.t[0] > 0 and con.t[1] == 0.0 and con.t[2] > 0
    # the bias moves along W n = 1: every cone coordinate shifts by the same t * s; undoing the shifts gives the
    # full construction with the same weights, whose least-squares output layer is the partial network's
    bc0 = [b - t * s * (W @ nrm) for W, b, t, s, nrm in zip(con.Wc, con.bc, con.t, con.shifts, con.normals,
                                                             strict=True)]
    np.testing.assert_array_equal(bc0[1], con.bc[1])
    for l in range(3):
        np.testing.assert_allclose(con.bc[l] - bc0[l], con.t[l] * con.shifts[l], rtol=1e-12)
    Ws0, bs0 = constructions.to_layers(con.Wc, bc0)
    _, out0 = forward(X, Ws0, bs0, con.W_out, con.b_out)
    assert mse(out0, labels) < 1e-10
    pres, _ = forward(X, *con.layers, con.W_out, con.b_out)
    counts = [int(((pres[l] < 0).sum(1)[labels == l] == 3).sum()) for l in range(3)]
    assert abs(counts[0] - round(0.22 * n)) <= 1 and counts[1] == n and abs(counts[2] - n // 2) <= 1
    # every point of another class passes every layer unchanged (all pre-activations > 0)
    for l in range(3):
        assert (pres[l][labels != l] > 0).all()


def test_partial_construction_t_one_is_identity_on_the_data():
    """The identity shift s puts every current point in the forward cone (docs/math.md §5, "no collapse")."""
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=40, seed=2))
    full = constructions.clustered_construction(X, labels)
    for l in range(3):
        b_id = full.bc[l] + full.shifts[l] * (full.Wc[l] @ full.normals[l])
        assert ((X @ full.Wc[l].T + b_id) > 0).all()


@pytest.mark.parametrize("bad", [-0.1, 1.5, [0.5, 0.5]])
def test_partial_construction_bad_fractions(bad):
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=20, seed=0))
    with pytest.raises(GeomdlError):
        constructions.partial_construction(X, labels, bad)


def test_overlapping_classes_raise_naming_the_class():
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=50, radius=2.0, seed=0))
    with pytest.raises(GeomdlError, match=r"class 1 .*not linearly separable"):
        constructions.clustered_construction(X, labels)


def test_identical_points_in_two_classes_raise():
    rng = np.random.default_rng(0)
    P = rng.standard_normal((20, 3))
    X, labels = np.vstack([P, P]), np.repeat([0, 1], 20)
    with pytest.raises(GeomdlError, match=r"class 1\b"):
        constructions.clustered_construction(X, labels)


def test_second_layer_failure_names_its_class():
    """Class 1 (label 0) is separable from the rest, classes 2 and 3 are mixed: the error is about class 2, layer 2."""
    rng = np.random.default_rng(1)
    c0 = np.array([5.0, 0, 0]) + 0.1 * rng.standard_normal((30, 3))
    mixed = np.array([0, 1.0, 0]) + 0.3 * rng.standard_normal((60, 3))
    X, labels = np.vstack([c0, mixed]), np.repeat([0, 1, 2], 30)
    with pytest.raises(GeomdlError, match=r"class 2 \(layer 2\)"):
        constructions.clustered_construction(X, labels)
    # in another order, the first layer already fails on class 3 (label 2)
    with pytest.raises(GeomdlError, match=r"class 3 \(layer 1\)"):
        constructions.sls_construction(X, labels, order=[2, 0, 1])


def test_construction_input_checks():
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=10, seed=0))
    with pytest.raises(GeomdlError, match="M >= Q"):
        constructions.clustered_construction(X[:, :2], labels)
    with pytest.raises(GeomdlError, match="permutation"):
        constructions.sls_construction(X, labels, order=[0, 0, 1])
    with pytest.raises(GeomdlError):
        constructions.clustered_construction(X[labels != 1], labels[labels != 1])  # class 1 missing
    with pytest.raises(GeomdlError):
        constructions.clustered_construction(X, labels[:-1])


def test_to_layers_refuses_rank_deficient_cumulative():
    Wc = [np.array([[1.0, 0.0], [1.0, 0.0]]), np.eye(2)]
    bc = [np.zeros(2), np.zeros(2)]
    with pytest.raises(GeomdlError, match="layer 2"):
        constructions.to_layers(Wc, bc)


@st.composite
def unit_normals(draw):
    M = draw(st.integers(2, 8))
    special = draw(st.sampled_from(["random", "e1", "eM", "ones", "-e1"]))
    if special == "random":
        n = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).standard_normal(M)
    elif special == "ones":
        n = np.ones(M)
    else:
        n = np.zeros(M)
        n[0 if special in ("e1", "-e1") else M - 1] = -1.0 if special == "-e1" else 1.0
    return n / np.linalg.norm(n)


@settings(deadline=None, max_examples=60)
@given(unit_normals(), st.floats(1e-3, 1.0))
def test_simplex_in_complement(n, eta):
    M = n.shape[0]
    S = constructions.simplex_in_complement(n)
    assert S.shape == (M, M)
    np.testing.assert_allclose(np.linalg.norm(S, axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(S @ n, 0.0, atol=1e-12)
    np.testing.assert_allclose(S.sum(axis=0), 0.0, atol=1e-12)
    # a regular simplex: equal pairwise angles, cos = -1/(M-1); it spans n's complement (rank M-1)
    G = S @ S.T
    np.testing.assert_allclose(G[~np.eye(M, dtype=bool)], -1.0 / (M - 1), atol=1e-12)
    assert np.linalg.matrix_rank(S) == M - 1
    W = n[None, :] + eta * S
    np.testing.assert_allclose(W @ n, np.ones(M), atol=1e-12)
    assert np.linalg.svd(W, compute_uv=False).min() > 1e-3 * eta


@settings(deadline=None, max_examples=30)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_collapse_layer_margins(M, seed):
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(M)
    direction /= np.linalg.norm(direction)
    inside = rng.standard_normal((25, M)) - 4 * direction
    rest = rng.standard_normal((40, M)) + 4 * direction
    inside, rest = inside[inside @ direction < -1], rest[rest @ direction > 1]
    n, c, m = separation.separating_hyperplane(inside, rest)
    # the LP bounds |n_i| <= 1 (not |n|), so the Euclidean margin is only >= 1/sqrt(M) here; it is the true
    # margin of the returned hyperplane, attained on both sides (else moving c would improve it)
    assert abs(np.linalg.norm(n) - 1) < 1e-12 and m >= 1 / np.sqrt(M) - 1e-7
    assert abs((c - inside @ n).min() - m) < 1e-6 and abs((rest @ n - c).min() - m) < 1e-6
    W, b, n2, s = constructions.collapse_layer(inside, rest, "class X")
    A_in, A_rest = inside @ W.T + b, rest @ W.T + b
    assert (A_in <= -m / 2 + 1e-7).all() and (A_rest >= m / 2 - 1e-7).all()
    np.testing.assert_allclose(W @ n2, np.ones(M), atol=1e-12)
    assert s > 0 and (np.vstack([A_in, A_rest]) + s >= m - 1e-7).all()


def test_load_arrays_shape_mismatch_is_a_clear_error():
    model = ReLUMLP(3, [3, 3], 2).double()
    Ws = [np.eye(3), np.eye(3)]
    bs = [np.zeros(3), np.zeros(3)]
    with pytest.raises(GeomdlError, match="does not fit"):
        model.load_arrays(Ws, bs, np.zeros((3, 3)), np.zeros(3))
