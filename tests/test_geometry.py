"""geomdl.math.truncation against an independent plain-numpy reference (spec math.md sections 2.1-2.5).

The reference below is written from the formulas, one point at a time, and never calls geomdl.math.truncation:
- cumulative parameters from the closed form ``W^(l) = W_l...W_1``, ``b^(l) = sum_k W_l...W_{k+1} b_k``;
- ``W^+ = W^T (W W^T)^{-1}`` (full row rank), the cone ``p = -W^+ b``, ``v_i = W^+ e_i``;
- ``tau(x) = p + sum_i max(a_i, 0) v_i`` with ``a = W x + b`` (cone coordinates).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.math import truncation as geometry

SETTINGS = settings(deadline=None, max_examples=40)


# ---------------------------------------------------------------- independent reference
def well_conditioned(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A random ``(rows, cols)`` matrix of full rank with singular values in [0.5, 2]."""
    U = np.linalg.qr(rng.standard_normal((rows, rows)))[0]
    V = np.linalg.qr(rng.standard_normal((cols, cols)))[0]
    k = min(rows, cols)
    return U[:, :k] @ np.diag(rng.uniform(0.5, 2.0, k)) @ V[:, :k].T


def random_network(M: int, widths: list[int], N: int, seed: int):
    rng = np.random.default_rng(seed)
    dims = [M, *widths]
    Ws = [well_conditioned(rng, dims[i + 1], dims[i]) for i in range(len(widths))]
    bs = [rng.standard_normal(w) for w in widths]
    X = rng.standard_normal((N, M))
    return X, Ws, bs


def ref_pinv(W: np.ndarray) -> np.ndarray:
    """Moore-Penrose inverse of a full-row-rank matrix: the right inverse ``W^T (W W^T)^{-1}``."""
    return W.T @ np.linalg.inv(W @ W.T)


def ref_cumulative(Ws, bs):
    """Closed form of docs/math.md §2.1, computed term by term (not by the recursion)."""
    Wc, bc = [], []
    for l in range(len(Ws)):
        P = np.eye(Ws[0].shape[1])
        for k in range(l + 1):
            P = Ws[k] @ P
        b = np.zeros(Ws[l].shape[0])
        for k in range(l + 1):
            prod = np.eye(Ws[l].shape[0])
            for m in range(l, k, -1):  # W_l ... W_{k+1}
                prod = prod @ Ws[m]
            b = b + prod @ bs[k]
        Wc.append(P)
        bc.append(b)
    return Wc, bc


def ref_tau(x: np.ndarray, W: np.ndarray, b: np.ndarray, keep_kernel: bool = False) -> np.ndarray:
    """One point: ``p + sum_i max(a_i,0) v_i`` (papers' form) or ``x + sum_i (max(a_i,0) - a_i) v_i``."""
    V = ref_pinv(W)
    a = W @ x + b
    if keep_kernel:
        out = x.copy()
        for i in range(len(a)):
            out = out + (max(a[i], 0.0) - a[i]) * V[:, i]
        return out
    out = -V @ b
    for i in range(len(a)):
        if a[i] > 0:
            out = out + a[i] * V[:, i]
    return out


def ref_forward(x: np.ndarray, Ws, bs):
    """One point: pre-activations and activations of every hidden layer."""
    pres, hs, h = [], [], x
    for W, b in zip(Ws, bs, strict=True):
        a = W @ h + b
        h = np.array([max(ai, 0.0) for ai in a])
        pres.append(a)
        hs.append(h)
    return pres, hs


def ref_chain(x: np.ndarray, Wc, bc, keep_kernel: bool = False):
    """One point: ``T_1(x), ..., T_L(x)``."""
    out, T = [], x
    for W, b in zip(Wc, bc, strict=True):
        T = ref_tau(T, W, b, keep_kernel)
        out.append(T)
    return out


# ---------------------------------------------------------------- strategies
@st.composite
def networks(draw, narrowing: bool = True):
    M = draw(st.integers(2, 6))
    L = draw(st.integers(1, 4))
    N = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    if narrowing:
        widths = sorted((draw(st.integers(1, M)) for _ in range(L)), reverse=True)
    else:
        widths = [M] * L
    return M, widths, N, seed


def scale_of(*arrays) -> float:
    return max(1.0, *(float(np.abs(a).max()) for a in arrays if np.size(a)))


# ---------------------------------------------------------------- 2.1 cumulative parameters
@SETTINGS
@given(networks())
def test_cumulative_params_match_closed_form(net):
    M, widths, N, seed = net
    _, Ws, bs = random_network(M, widths, N, seed)
    Wc, bc = geometry.cumulative_params(Ws, bs)
    rWc, rbc = ref_cumulative(Ws, bs)
    assert len(Wc) == len(bc) == len(widths)
    for l, w in enumerate(widths):
        assert Wc[l].shape == (w, M) and bc[l].shape == (w,)
        np.testing.assert_allclose(Wc[l], rWc[l], rtol=0, atol=1e-12 * scale_of(rWc[l]))
        np.testing.assert_allclose(bc[l], rbc[l], rtol=0, atol=1e-12 * scale_of(rbc[l]))


@SETTINGS
@given(networks(narrowing=False))
def test_layer_params_inverts_cumulative_square(net):
    M, widths, N, seed = net
    _, Ws, bs = random_network(M, widths, N, seed)
    Ws2, bs2 = geometry.layer_params(*geometry.cumulative_params(Ws, bs))
    for W, b, W2, b2 in zip(Ws, bs, Ws2, bs2, strict=True):
        np.testing.assert_allclose(W2, W, rtol=0, atol=1e-9)
        np.testing.assert_allclose(b2, b, rtol=0, atol=1e-9)


@SETTINGS
@given(networks(narrowing=True))
def test_layer_params_inverts_cumulative_narrowing(net):
    M, widths, N, seed = net
    _, Ws, bs = random_network(M, widths, N, seed)
    Ws2, bs2 = geometry.layer_params(*geometry.cumulative_params(Ws, bs))
    for W, b, W2, b2 in zip(Ws, bs, Ws2, bs2, strict=True):
        assert W2.shape == W.shape and b2.shape == b.shape
        np.testing.assert_allclose(W2, W, rtol=0, atol=1e-9)
        np.testing.assert_allclose(b2, b, rtol=0, atol=1e-9)


def test_layer_params_not_exact_for_rank_deficient_cumulative():
    """A widening first layer (W^(1) not of full row rank) cannot be inverted: the check must notice."""
    rng = np.random.default_rng(0)
    Ws = [rng.standard_normal((3, 2)), rng.standard_normal((3, 3))]
    bs = [rng.standard_normal(3), rng.standard_normal(3)]
    Ws2, _ = geometry.layer_params(*geometry.cumulative_params(Ws, bs))
    assert not np.allclose(Ws2[1], Ws[1], atol=1e-6)


# ---------------------------------------------------------------- 2.2 / 2.3 truncation map and cones
@SETTINGS
@given(M=st.integers(2, 6), data=st.data())
def test_truncate_matches_cone_coordinates(M, data):
    ml = data.draw(st.integers(1, M), label="M_l")
    N = data.draw(st.integers(1, 30), label="N")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    W = well_conditioned(rng, ml, M)
    b = rng.standard_normal(ml)
    X = 2.0 * rng.standard_normal((N, M))
    got = geometry.truncate(X, W, b)
    got_kk = geometry.truncate(X, W, b, keep_kernel=True)
    got_pinv = geometry.truncate(X, W, b, Wpinv=np.linalg.pinv(W))
    assert got.shape == got_kk.shape == (N, M)
    for r in range(N):
        np.testing.assert_allclose(got[r], ref_tau(X[r], W, b), rtol=0, atol=1e-10)
        np.testing.assert_allclose(got_kk[r], ref_tau(X[r], W, b, keep_kernel=True), rtol=0, atol=1e-10)
    np.testing.assert_allclose(got_pinv, got, rtol=0, atol=1e-12)


def test_truncate_hand_example():
    """W = I, b = (-1, 0): the plane is cut at x_1 = 1 and x_2 = 0; p = (1, 0)."""
    W, b = np.eye(2), np.array([-1.0, 0.0])
    X = np.array([[2.0, 3.0], [0.0, 3.0], [2.0, -1.0], [0.0, -5.0]])
    want = np.array([[2.0, 3.0], [1.0, 3.0], [2.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(geometry.truncate(X, W, b), want, atol=1e-14)


@SETTINGS
@given(M=st.integers(2, 6), seed=st.integers(0, 2**32 - 1))
def test_cone_base_and_edges(M, seed):
    rng = np.random.default_rng(seed)
    for ml in range(1, M + 1):
        W = well_conditioned(rng, ml, M)
        b = rng.standard_normal(ml)
        c = geometry.cone(W, b)
        V = ref_pinv(W)
        np.testing.assert_allclose(c.base, -V @ b, atol=1e-10)
        np.testing.assert_allclose(c.edges, V, atol=1e-10)
        # the base point is the apex: all cone coordinates zero there; W v_i = e_i
        np.testing.assert_allclose(W @ c.base + b, 0.0, atol=1e-10)
        np.testing.assert_allclose(W @ c.edges, np.eye(ml), atol=1e-10)
    # square case: cone -> layer -> cone round trip (Ewa25 Lemma 2.1)
    W = well_conditioned(rng, M, M)
    b = rng.standard_normal(M)
    c = geometry.cone(W, b)
    W2, b2 = geometry.layer_from_cone(c.base, c.edges)
    np.testing.assert_allclose(W2, W, atol=1e-10)
    np.testing.assert_allclose(b2, b, atol=1e-10)
    p, V = rng.standard_normal(M), well_conditioned(rng, M, M)
    c2 = geometry.cone(*geometry.layer_from_cone(p, V))
    np.testing.assert_allclose(c2.base, p, atol=1e-10)
    np.testing.assert_allclose(c2.edges, V, atol=1e-10)


@SETTINGS
@given(M=st.integers(2, 6), N=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_forward_cone_fixed_backward_cone_collapsed_square(M, N, seed):
    rng = np.random.default_rng(seed)
    p = rng.standard_normal(M)
    V = well_conditioned(rng, M, M)
    W, b = np.linalg.inv(V), -np.linalg.inv(V) @ p
    C = rng.exponential(1.0, (N, M))
    C[rng.random((N, M)) < 0.2] = 0.0          # points on faces of the cone too
    fwd = p + C @ V.T                           # x = p + sum c_i v_i, c >= 0  <=>  W x + b >= 0
    bwd = p - C @ V.T
    assert (fwd @ W.T + b >= -1e-9).all() and (bwd @ W.T + b <= 1e-9).all()
    np.testing.assert_allclose(geometry.truncate(fwd, W, b), fwd, atol=1e-9)
    np.testing.assert_allclose(geometry.truncate(bwd, W, b), np.broadcast_to(p, bwd.shape), atol=1e-9)
    # mixed signs: negative cone coordinates are cut to zero (projection onto a face)
    A = rng.standard_normal((N, M))
    mixed = p + A @ V.T
    np.testing.assert_allclose(geometry.truncate(mixed, W, b), p + np.maximum(A, 0) @ V.T, atol=1e-9)


@SETTINGS
@given(M=st.integers(2, 6), data=st.data())
def test_backward_cone_collapses_to_base_point_narrow(M, data):
    """Narrow layer: the backward cone (plus anything in ker W) is sent to p; the forward cone to its
    projection onto the row space (the papers' form drops the ker W component)."""
    ml = data.draw(st.integers(1, M), label="M_l")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    W = well_conditioned(rng, ml, M)
    b = rng.standard_normal(ml)
    V = ref_pinv(W)
    p = -V @ b
    K = np.eye(M) - V @ W                       # projector onto ker W
    C = rng.exponential(1.0, (20, ml))
    Z = rng.standard_normal((20, M)) @ K.T
    bwd = p - C @ V.T + Z
    np.testing.assert_allclose(geometry.truncate(bwd, W, b), np.broadcast_to(p, (20, M)), atol=1e-9)
    fwd = p + C @ V.T + Z
    np.testing.assert_allclose(geometry.truncate(fwd, W, b), fwd - Z, atol=1e-9)
    np.testing.assert_allclose(geometry.truncate(fwd, W, b, keep_kernel=True), fwd, atol=1e-9)


# ---------------------------------------------------------------- 2.4 / 2.5 the chain
@SETTINGS
@given(networks(narrowing=True))
def test_chain_identity_and_truncation_state(net):
    M, widths, N, seed = net
    X, Ws, bs = random_network(M, widths, N, seed)
    Wc, bc = geometry.cumulative_params(Ws, bs)
    chain = geometry.truncation_chain(X, Wc, bc)
    hidden = geometry.hidden_activations(X, Ws, bs)
    L = len(widths)
    assert len(chain.truncated) == len(chain.pre) == len(chain.k) == len(chain.cones) == len(chain.rank) == L
    assert chain.rank == widths
    for r in range(N):
        pres, hs = ref_forward(X[r], Ws, bs)
        Ts = ref_chain(X[r], Wc, bc)
        for l in range(L):
            tol = 1e-8 * scale_of(hs[l], Ts[l], pres[l])
            np.testing.assert_allclose(hidden[l][r], hs[l], rtol=0, atol=tol)
            np.testing.assert_allclose(chain.truncated[l][r], Ts[l], rtol=0, atol=tol)
            # the chain identity x^(l) = W^(l) T_l(x) + b^(l), in the reference alone
            np.testing.assert_allclose(Wc[l] @ Ts[l] + bc[l], hs[l], rtol=0, atol=tol)
            # cone coordinates are the plain forward pass's pre-activations; k counts their negatives
            np.testing.assert_allclose(chain.pre[l][r], pres[l], rtol=0, atol=tol)
            assert chain.k[l][r] == sum(1 for a in pres[l] if a < 0)
            assert bool(chain.collapsed(l)[r]) == all(a < 0 for a in pres[l])
            if chain.collapsed(l)[r]:
                np.testing.assert_allclose(chain.truncated[l][r], chain.cones[l].base, atol=tol)
    res = geometry.representation_residual(hidden, chain, Wc, bc)
    assert res.shape == (L,)
    assert (res < 1e-8 * scale_of(*hidden)).all(), res


@SETTINGS
@given(networks(narrowing=True))
def test_network_outputs_through_the_chain(net):
    """``x^(L+1) = W_{L+1}(W^(L) T_L(x) + b^(L)) + b_{L+1}`` equals the plain forward pass."""
    M, widths, N, seed = net
    X, Ws, bs = random_network(M, widths, N, seed)
    rng = np.random.default_rng(seed + 1)
    W_out, b_out = rng.standard_normal((2, widths[-1])), rng.standard_normal(2)
    Wc, bc = geometry.cumulative_params(Ws, bs)
    T = geometry.truncation_chain(X, Wc, bc).truncated[-1]
    via_chain = (T @ Wc[-1].T + bc[-1]) @ W_out.T + b_out
    for r in range(N):
        direct = W_out @ ref_forward(X[r], Ws, bs)[1][-1] + b_out
        np.testing.assert_allclose(via_chain[r], direct, rtol=0, atol=1e-8 * scale_of(direct))


@SETTINGS
@given(networks(narrowing=True))
def test_keep_kernel_variant(net):
    M, widths, N, seed = net
    X, Ws, bs = random_network(M, widths, N, seed)
    Wc, bc = geometry.cumulative_params(Ws, bs)
    a = geometry.truncation_chain(X, Wc, bc)
    k = geometry.truncation_chain(X, Wc, bc, keep_kernel=True)
    hidden = geometry.hidden_activations(X, Ws, bs)
    for l in range(len(widths)):
        tol = 1e-8 * scale_of(a.truncated[l], k.truncated[l])
        for r in range(N):
            np.testing.assert_allclose(k.truncated[l][r], ref_chain(X[r], Wc, bc, keep_kernel=True)[l],
                                       rtol=0, atol=tol)
        np.testing.assert_array_equal(a.k[l], k.k[l])
        # same representation x^(l) = W^(l) T_l + b^(l), hence the same network outputs
        np.testing.assert_allclose(k.truncated[l] @ Wc[l].T + bc[l], hidden[l], rtol=0, atol=tol)
        # the two differ only by a component in ker W^(l); the papers' form is its row-space part
        P = ref_pinv(Wc[l]) @ Wc[l]
        np.testing.assert_allclose((k.truncated[l] - a.truncated[l]) @ Wc[l].T, 0.0, atol=tol)
        np.testing.assert_allclose(k.truncated[l] @ P.T, a.truncated[l], rtol=0, atol=tol)
        if widths[l] == M:
            np.testing.assert_allclose(k.truncated[l], a.truncated[l], rtol=0, atol=tol)
    res = geometry.representation_residual(hidden, k, Wc, bc)
    assert (res < 1e-8 * scale_of(*hidden)).all()


def test_keep_kernel_keeps_the_kernel_component():
    """Projection R^3 -> R^2 (drop z): the papers' form sets z to 0, the variant keeps it."""
    W, b = np.eye(3)[:2], np.zeros(2)
    X = np.array([[1.0, 2.0, 5.0], [-1.0, 2.0, -3.0]])
    np.testing.assert_allclose(geometry.truncate(X, W, b), [[1, 2, 0], [0, 2, 0]], atol=1e-14)
    kept = geometry.truncate(X, W, b, keep_kernel=True)
    np.testing.assert_allclose(kept, [[1, 2, 5], [0, 2, -3]], atol=1e-14)


def test_residual_nonzero_for_rank_deficient_layer():
    """W^(1) = [[1,0],[1,0]] has rank 1 < 2 rows: at x = (0.5, 0), a = (0.5, -0.5), x^(1) = (0.5, 0) but
    W^+ (sigma(a) - b) = (0.75, 0) and W T + b = (0.75, -0.25): residual |(0.25, -0.25)| = sqrt(2)/4."""
    W, b = np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0.0, -1.0])
    X = np.array([[0.5, 0.0], [2.0, 0.0]])
    chain = geometry.truncation_chain(X, [W], [b])
    hidden = geometry.hidden_activations(X, [W], [b])
    assert chain.rank == [1]
    np.testing.assert_allclose(chain.truncated[0], [[0.75, 0.0], [2.0, 0.0]], atol=1e-14)
    np.testing.assert_allclose(geometry.representation_residual(hidden, chain, [W], [b]), [np.sqrt(2) / 4])


@SETTINGS
@given(rows=st.integers(1, 6), cols=st.integers(1, 6), data=st.data())
def test_matrix_rank(rows, cols, data):
    r = data.draw(st.integers(0, min(rows, cols)), label="rank")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    A = rng.standard_normal((rows, r)) @ rng.standard_normal((r, cols))
    assert geometry.matrix_rank(A) == r


def test_non_finite_parameters_do_not_crash_the_chain():
    """A diverging run can overflow the cumulative product: NaN geometry and rank -1, not a LinAlgError."""
    W = np.array([[np.inf, 0.0], [0.0, 1.0]])
    chain = geometry.truncation_chain(np.ones((3, 2)), [W], [np.zeros(2)])
    assert chain.rank == [-1]
    assert np.isnan(chain.truncated[0]).all() and np.isnan(chain.cones[0].base).all()
    assert geometry.matrix_rank(np.full((2, 2), np.nan)) == -1
    pinv, rank = geometry.pinv_and_rank(np.full((2, 3), np.nan))
    assert np.isnan(pinv).all() and pinv.shape == (3, 2) and rank == -1


@pytest.mark.parametrize("M", [2, 3, 5])
def test_hidden_activations_are_relu_layers(M):
    X, Ws, bs = random_network(M, [M, M - 1, 1], 10, 7)
    hs = geometry.hidden_activations(X, Ws, bs)
    assert [h.shape for h in hs] == [(10, M), (10, M - 1), (10, 1)]
    for r in range(10):
        for l, h in enumerate(ref_forward(X[r], Ws, bs)[1]):
            np.testing.assert_allclose(hs[l][r], h, atol=1e-12)
