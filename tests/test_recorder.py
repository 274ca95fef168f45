"""The recorder's arrays against trace.md and independent recomputations (spec math.md 2.5)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.io.projection import fit_pca, project
from geomdl.io.recorder import Recorder

# fractions are counts / class size; allow the rounding of a vectorised sum of 1/n weights
FRAC_TOL = 1e-12


def test_shapes_and_dtypes_match_trace_md(small_run):
    tr, res, cfg = small_run
    S, L, N, M, Q = 4, cfg.q, cfg.q * cfg.n_per_class, 3, cfg.q
    shapes = {
        "X": (N, M), "labels": (N,), "steps": (S,), "loss": (S,), "W_cum": (S, L, M, M), "b_cum": (S, L, M),
        "base_points": (S, L, M), "edges": (S, L, M, M), "truncated": (S, L, N, M), "outputs": (S, N, Q),
        "k_trunc": (S, L, N), "collapsed_frac": (S, L, Q), "residual": (S, L), "rank": (S, L),
        "pca_mean": (M,), "pca_components": (3, M),
        "partial_frac": (S, L, Q), "dist_to_base": (S, L, Q), "within_var": (S, L, Q),
    }
    for k, shape in shapes.items():
        assert tr[k].shape == shape, (k, tr[k].shape, shape)
    assert tr["k_trunc"].dtype == np.int8
    assert tr["labels"].dtype.kind == "i" and tr["steps"].dtype == np.int64 and tr["rank"].dtype == np.int64
    for k in ("loss", "W_cum", "b_cum", "base_points", "edges", "truncated", "outputs", "collapsed_frac",
              "residual", "pca_mean", "pca_components"):
        assert tr[k].dtype == np.float64, k
    assert tr["steps"].tolist() == [0, 10, 20, 30]
    # square, full-rank network: exact picture, nothing padded
    assert (tr["rank"] == M).all() and (tr["residual"] < 1e-9).all()
    for k in ("W_cum", "b_cum", "base_points", "edges", "truncated"):
        assert np.isfinite(tr[k]).all(), k


def test_arrays_agree_with_an_independent_recomputation(small_run):
    """From W_cum, b_cum alone: cones, the chain, k counts, collapsed fractions, outputs' consistency."""
    tr, _, cfg = small_run
    X, labels = tr["X"], tr["labels"]
    S, L = tr["steps"].shape[0], tr["W_cum"].shape[1]
    for s in range(S):
        T = X
        for l in range(L):
            W, b = tr["W_cum"][s, l], tr["b_cum"][s, l]
            V = np.linalg.inv(W)
            np.testing.assert_allclose(tr["edges"][s, l], V, atol=1e-9)
            np.testing.assert_allclose(tr["base_points"][s, l], -V @ b, atol=1e-9)
            A = T @ W.T + b
            np.testing.assert_array_equal(tr["k_trunc"][s, l], (A < 0).sum(axis=1))
            T = (np.maximum(A, 0) - b) @ V.T
            np.testing.assert_allclose(tr["truncated"][s, l], T, atol=1e-9)
            for j in range(cfg.q):
                want = np.mean(tr["k_trunc"][s, l, labels == j] == 3)
                assert tr["collapsed_frac"][s, l, j] == pytest.approx(want, abs=FRAC_TOL)
        # the last hidden layer's representation determines the outputs affinely: same class -> same
        # output once that class is collapsed in the last layer
        collapsed_last = tr["k_trunc"][s, L - 1] == 3
        if collapsed_last.sum() > 1:
            out = tr["outputs"][s][collapsed_last]
            np.testing.assert_allclose(out, np.broadcast_to(out[0], out.shape), atol=1e-9)


def test_collapsed_counts_follow_the_construction(small_run):
    """At step 0 layer 1 has round(0.22 * n) of class 0 collapsed; layers 2, 3 all of their class."""
    tr, _, cfg = small_run
    n = cfg.n_per_class
    c0 = tr["collapsed_frac"][0]
    assert abs(c0[0, 0] * n - round(0.22 * n)) <= 1
    assert c0[1, 1] == pytest.approx(1.0, abs=FRAC_TOL) and c0[2, 2] == pytest.approx(1.0, abs=FRAC_TOL)
    assert c0[0, 1] == c0[0, 2] == 0.0
    assert tr.meta["start_collapsed"] == [round(0.22 * n), n, n]


def random_narrow_params(rng, M, widths, q):
    dims = [M, *widths]
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(len(widths))]
    bs = [0.3 * rng.standard_normal(w) for w in widths]
    return Ws, bs, rng.standard_normal((q, widths[-1])), rng.standard_normal(q)


@settings(deadline=None, max_examples=25)
@given(M=st.integers(3, 6), data=st.data())
def test_narrowing_network_nan_padding(M, data):
    q = 2
    L = data.draw(st.integers(1, 3), label="L")
    widths = sorted((data.draw(st.integers(q, M), label="w") for _ in range(L)), reverse=True)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    N = 15
    X = rng.standard_normal((N, M))
    labels = np.repeat([0, 1], [7, 8])
    rec = Recorder(X, labels, q)
    for step in (0, 5):
        rec.record(step, 0.5, *random_narrow_params(rng, M, widths, q))
    a = rec.arrays()
    assert len(rec) == 2 and rec.last_step == 5
    assert a["W_cum"].shape == (2, L, M, M) and a["edges"].shape == (2, L, M, M)
    assert a["truncated"].shape == (2, L, N, M) and a["outputs"].shape == (2, N, q)
    for l, ml in enumerate(widths):
        assert np.isfinite(a["W_cum"][:, l, :ml, :]).all() and np.isnan(a["W_cum"][:, l, ml:, :]).all()
        assert np.isfinite(a["b_cum"][:, l, :ml]).all() and np.isnan(a["b_cum"][:, l, ml:]).all()
        assert np.isfinite(a["edges"][:, l, :, :ml]).all() and np.isnan(a["edges"][:, l, :, ml:]).all()
        assert np.isfinite(a["base_points"][:, l]).all() and np.isfinite(a["truncated"][:, l]).all()
        assert (a["k_trunc"][:, l] <= ml).all()
        assert (a["rank"][:, l] == ml).all()
        for s in range(2):
            for j in range(q):
                want = np.mean(a["k_trunc"][s, l, labels == j] == ml)
                assert a["collapsed_frac"][s, l, j] == pytest.approx(want, abs=FRAC_TOL)
                kj = a["k_trunc"][s, l, labels == j]
                partial = np.mean((kj > 0) & (kj < ml))
                assert a["partial_frac"][s, l, j] == pytest.approx(partial, abs=FRAC_TOL)
    # full row rank narrowing layers: still an exact picture
    assert (a["residual"] < 1e-8 * max(1.0, np.abs(a["outputs"]).max())).all()


def test_recorder_other_quantities():
    """dist_to_base and within_var on a hand example: layer 1 collapses class 0 entirely onto p."""
    X = np.array([[-1.0, -1.0], [-2.0, -1.0], [1.0, 1.0], [3.0, 1.0]])
    labels = np.array([0, 0, 1, 1])
    rec = Recorder(X, labels, 2)
    rec.record(0, 1.0, [np.eye(2)], [np.zeros(2)], np.eye(2), np.zeros(2))
    a = rec.arrays()
    np.testing.assert_allclose(a["collapsed_frac"][0, 0], [1.0, 0.0], rtol=0, atol=FRAC_TOL)
    np.testing.assert_array_equal(a["k_trunc"][0, 0], [2, 2, 0, 0])
    # class 0 collapsed to p = 0: no spread left; class 1 untouched: its variance ratio is 1
    np.testing.assert_allclose(a["within_var"][0, 0], [0.0, 1.0])
    spread1 = 1.0                                            # points (1,1), (3,1): distances 1 from the mean
    np.testing.assert_allclose(a["dist_to_base"][0, 0], [0.0, np.mean([np.sqrt(2), np.sqrt(10)]) / spread1])
    np.testing.assert_allclose(a["outputs"][0], [[0, 0], [0, 0], [1, 1], [3, 1]])


# ---------------------------------------------------------------- PCA
def test_trace_pca_components_orthonormal(small_run):
    tr = small_run[0]
    C = tr["pca_components"]
    np.testing.assert_allclose(C @ C.T, np.eye(3), atol=1e-12)
    np.testing.assert_allclose(tr["pca_mean"], tr["X"].mean(axis=0), atol=1e-12)


@settings(deadline=None, max_examples=30)
@given(M=st.integers(3, 8), N=st.integers(5, 60), seed=st.integers(0, 2**31 - 1))
def test_fit_pca_is_the_top_eigenspace(M, N, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, M)) * np.linspace(3, 0.5, M) + rng.standard_normal(M)
    mean, C = fit_pca(X, 3)
    np.testing.assert_allclose(C @ C.T, np.eye(3), atol=1e-10)
    evals, evecs = np.linalg.eigh(np.cov(X.T))
    top = evals[::-1][:3]
    np.testing.assert_allclose(np.sum((X - mean) @ C.T * ((X - mean) @ C.T), axis=0) / (N - 1), top,
                               rtol=1e-8, atol=1e-10)
    for i in range(3):                                       # sign convention: largest entry positive
        assert C[i, np.argmax(np.abs(C[i]))] > 0
    P = project(X, mean, C)
    np.testing.assert_allclose(P.mean(axis=0), 0.0, atol=1e-10)


@pytest.mark.parametrize("M", [1, 2])
def test_fit_pca_low_dimension_pads_with_zero_rows(M):
    X = np.random.default_rng(0).standard_normal((20, M))
    _, C = fit_pca(X, 3)
    assert C.shape == (3, M)
    np.testing.assert_allclose(C[:M] @ C[:M].T, np.eye(M), atol=1e-12)
    assert (C[M:] == 0).all()


def reference_snapshot(X, labels, q, Ws, bs, W_out, b_out):
    """Every per-snapshot statistic of the recorder in plain numpy, one class and one layer at a time (no
    blocks, no reduceat): cumulative parameters, pseudo-inverses by np.linalg.pinv (compared only where the
    layer has full row rank), the forward pass, T_l = W^+ (x^(l) - b^(l)), k, per-class fractions, spreads."""
    N, M = X.shape
    out = {k: [] for k in ("truncated", "k_trunc", "collapsed_frac", "partial_frac", "dist_to_base", "within_var",
                           "residual", "residual_active", "act_scale", "base_points")}
    Wc, bc, h = np.eye(M), np.zeros(M), X
    var = np.array([np.mean(np.sum((X[labels == j] - X[labels == j].mean(0)) ** 2, 1)) for j in range(q)])
    for W, b in zip(Ws, bs, strict=True):
        Wc, bc = W @ Wc, W @ bc + b
        z = h @ W.T + b
        h = np.maximum(z, 0)
        Wp = np.linalg.pinv(Wc, rcond=1e-10 * max(Wc.shape))
        T = (h - bc) @ Wp.T
        k = (z < 0).sum(1)
        p = -Wp @ bc
        res = np.linalg.norm(h - (T @ Wc.T + bc), axis=1)
        live = k < W.shape[0]
        out["truncated"].append(T)
        out["k_trunc"].append(k)
        out["base_points"].append(p)
        out["residual"].append(res.max())
        out["residual_active"].append(res[live].max() if live.any() else 0.0)
        out["act_scale"].append(np.abs(h).max())
        rows = {key: [] for key in ("collapsed_frac", "partial_frac", "dist_to_base", "within_var")}
        for j in range(q):
            kj, Tj = k[labels == j], T[labels == j]
            rows["collapsed_frac"].append(np.mean(kj == W.shape[0]))
            rows["partial_frac"].append(np.mean((kj > 0) & (kj < W.shape[0])))
            v = max(var[j], 1e-300)                 # a one-point class has no spread: the recorder's floor
            rows["dist_to_base"].append(np.mean(np.linalg.norm(Tj - p, axis=1)) / max(np.sqrt(var[j]), 1e-300))
            rows["within_var"].append(np.mean(np.sum((Tj - Tj.mean(0)) ** 2, 1)) / v)
        for key, v in rows.items():
            out[key].append(v)
    ref = {k: np.array(v) for k, v in out.items()}
    ref["outputs"] = h @ W_out.T + b_out
    return ref


@settings(deadline=None, max_examples=30)
@given(q=st.integers(2, 8), data=st.data())
def test_snapshot_equals_a_plain_numpy_computation(q, data):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _check_snapshot_against_numpy(q, data, monkeypatch)


def _check_snapshot_against_numpy(q, data, monkeypatch):
    """Q = 2..8; square, narrowing and widening layers; class-sorted and shuffled labels; and blocks of points
    small enough that the blocked passes (the chain, the per-class sums) run over several blocks."""
    from geomdl.io import recorder as recorder_mod
    from geomdl.math import wide_chain

    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    M = data.draw(st.integers(2, 6), label="M")
    L = data.draw(st.integers(1, 3), label="L")
    widths = [data.draw(st.integers(max(1, M - 2), M + 2), label="w") for _ in range(L)]
    n = data.draw(st.integers(2, 40), label="n per class")
    labels = np.repeat(np.arange(q), n)
    if data.draw(st.booleans(), label="shuffle"):
        labels = rng.permutation(labels)
    X = np.eye(max(M, q))[labels, :M] + 0.5 * rng.standard_normal((len(labels), M))
    small = data.draw(st.booleans(), label="small blocks")
    if small:
        monkeypatch.setattr(wide_chain, "CHUNK_BYTES", 64)          # 64-row blocks: several per snapshot
    dims = [M, *widths]
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i]) + np.eye(dims[i + 1], dims[i])
          for i in range(L)]
    bs = [0.3 * rng.standard_normal(w) for w in widths]
    W_out, b_out = rng.standard_normal((q, widths[-1])), rng.standard_normal(q)
    rec = recorder_mod.Recorder(X, labels, q)
    rec.record(0, 0.1, Ws, bs, W_out, b_out)
    a = {k: v[0] for k, v in rec.arrays().items() if k not in ("steps", "loss")}
    ref = reference_snapshot(X, labels, q, Ws, bs, W_out, b_out)
    np.testing.assert_array_equal(a["k_trunc"], ref["k_trunc"])
    np.testing.assert_allclose(a["collapsed_frac"], ref["collapsed_frac"], rtol=0, atol=FRAC_TOL)
    np.testing.assert_allclose(a["partial_frac"], ref["partial_frac"], rtol=0, atol=FRAC_TOL)
    np.testing.assert_allclose(a["outputs"], ref["outputs"], rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(a["act_scale"], ref["act_scale"], rtol=1e-12, atol=0)
    rank_full = all(r == min(w, M) for r, w in zip(a["rank"], widths, strict=True))
    for l, w in enumerate(widths):
        if not rank_full or w > M:    # wide or singular: a least-squares preimage; compare where it is exact
            continue
        scale = max(1.0, np.abs(ref["truncated"][l]).max())
        np.testing.assert_allclose(a["truncated"][l], ref["truncated"][l], rtol=0, atol=1e-8 * scale)
        np.testing.assert_allclose(a["base_points"][l], ref["base_points"][l], rtol=0, atol=1e-8 * scale)
        for key in ("dist_to_base", "within_var"):
            np.testing.assert_allclose(a[key][l], ref[key][l], rtol=1e-7, atol=1e-9)
        np.testing.assert_allclose(a["residual"][l], ref["residual"][l], rtol=0, atol=1e-8 * scale)
        np.testing.assert_allclose(a["residual_active"][l], ref["residual_active"][l], rtol=0, atol=1e-8 * scale)
    # the blocked passes do not depend on the block size (to rounding)
    monkeypatch.setattr(wide_chain, "CHUNK_BYTES", 1 << 30)
    rec2 = recorder_mod.Recorder(X, labels, q)
    rec2.record(0, 0.1, Ws, bs, W_out, b_out)
    b = rec2.arrays()
    for k, v in rec.arrays().items():
        if v.dtype.kind == "f":
            np.testing.assert_allclose(v, b[k], rtol=1e-12, atol=1e-12, equal_nan=True, err_msg=k)
        else:
            np.testing.assert_array_equal(v, b[k], err_msg=k)
