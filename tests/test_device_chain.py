"""The torch (GPU) path of the recorder's chain against the numpy/scipy path, run here on the CPU as a torch
device: the same code a CUDA device runs (``--device auto`` on a GPU), results equal to float rounding.
``benchmarks/gpu_check.py`` compares real CUDA runs with CPU runs on a GPU machine."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.io.recorder import Recorder
from geomdl.math.wide_chain import SolvedChain

CPU = torch.device("cpu")


def layers(rng, M, widths, singular=False):
    dims = [M, *widths]
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) / np.sqrt(dims[i]) + np.eye(dims[i + 1], dims[i])
          for i in range(len(widths))]
    if singular:
        Ws[0][-1] = Ws[0][0]                        # a repeated row: rank-deficient from layer 1 on
    return Ws, [0.3 * rng.standard_normal(w) for w in widths]


@settings(deadline=None, max_examples=30)
@given(M=st.integers(1, 7), data=st.data())
def test_torch_chain_equals_numpy_chain(M, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1), label="seed"))
    L = data.draw(st.integers(1, 3), label="L")
    widths = [data.draw(st.integers(1, M + 2), label="w") for _ in range(L)]
    singular = data.draw(st.booleans(), label="singular") and widths[0] >= 2
    Ws, bs = layers(rng, M, widths, singular)
    X = rng.standard_normal((data.draw(st.integers(0, 50), label="N"), M))
    ref, got = SolvedChain.from_layers(Ws, bs), SolvedChain.from_layers(Ws, bs, device=CPU)
    np.testing.assert_array_equal(got.ranks, ref.ranks)
    for a, b in zip(got.layers, ref.layers, strict=True):
        assert (a.lu is None) == (b.lu is None)
        np.testing.assert_allclose(a.W, b.W, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(a.svals, b.svals, rtol=1e-9, atol=1e-12)
        scale = max(1.0, float(np.abs(b.edges()).max()))
        np.testing.assert_allclose(a.edges(), b.edges(), rtol=0, atol=1e-8 * scale)
        np.testing.assert_allclose(a.base_point, b.base_point, rtol=0, atol=1e-8 * scale)
        C = rng.standard_normal((3, M))
        np.testing.assert_allclose(a.project_edges(C), b.project_edges(C), rtol=0, atol=1e-8 * scale)
    r, g = ref.truncate(X), got.truncate(X)
    for key in ("T", "K"):
        assert getattr(g, key).shape == getattr(r, key).shape
    np.testing.assert_array_equal(g.K, r.K)
    scale = max(1.0, float(np.abs(r.T).max())) if r.T.size else 1.0
    np.testing.assert_allclose(g.T, r.T, rtol=0, atol=1e-8 * scale)
    for a, b in zip(g.hidden, r.hidden, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g.residual, r.residual, rtol=0, atol=1e-8 * scale)
    np.testing.assert_allclose(g.residual_active, r.residual_active, rtol=0, atol=1e-8 * scale)


@pytest.mark.parametrize("project", [False, True])
def test_recorder_on_a_torch_device_equals_the_cpu_recorder(project):
    rng = np.random.default_rng(3)
    q, M = 3, 5
    labels = rng.permutation(np.repeat(np.arange(q), 30))
    X = np.eye(M)[labels] + 0.4 * rng.standard_normal((len(labels), M))
    Ws, bs = layers(rng, M, [M, 4, M])
    W_out, b_out = rng.standard_normal((q, M)), rng.standard_normal(q)
    recs = [Recorder(X, labels, q, project=project, layer_view=True, device=d) for d in (None, CPU)]
    for r in recs:
        for step in (0, 3):
            r.record(step, 0.5, Ws, bs, W_out, b_out)
    a, b = (r.arrays() for r in recs)
    assert a.keys() == b.keys()
    for k in a:
        if a[k].dtype.kind == "f":
            np.testing.assert_allclose(b[k], a[k], rtol=1e-8, atol=1e-9, equal_nan=True, err_msg=k)
        else:
            np.testing.assert_array_equal(b[k], a[k], err_msg=k)


def test_mnist_records_on_the_training_device(monkeypatch):
    """The MNIST experiment hands its training device to the recorder (a GPU: the chain runs there); forced onto
    the torch path here, its metrics equal the numpy path's."""
    from geomdl.data import mnist
    from geomdl.experiments import mnist_thresholds as mx

    assert mx.chain_device(torch.device("cpu")) is None
    assert mx.chain_device(torch.device("cuda", 0)) == torch.device("cuda", 0)
    d = mnist.load_digits((0, 1), source="auto", test_fraction=0.25, n_per_digit=40, seed=0)
    cfg = mx.MnistConfig(digits=(0, 1), source="auto", n_per_digit=40, thresholds=(0.2,), max_steps=60,
                         widths=(16, 8))
    ref = mx.run(cfg, data=d)
    seen = []
    monkeypatch.setattr(mx, "chain_device", lambda dev: seen.append(dev) or CPU)
    got = mx.run(cfg, data=d)
    assert seen and seen[0].type == "cpu"
    assert len(got.snapshots) == len(ref.snapshots)
    for s, t in zip(got.snapshots, ref.snapshots, strict=True):
        np.testing.assert_allclose(s.truncated_proj, t.truncated_proj, rtol=1e-7, atol=1e-8)
        np.testing.assert_array_equal(s.k_trunc, t.k_trunc)
        for k, v in t.metrics.items():
            np.testing.assert_allclose(s.metrics[k], v, rtol=1e-6, atol=1e-8, equal_nan=True, err_msg=k)
