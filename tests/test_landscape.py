"""Loss-landscape experiments (docs/math.md §5): perturbations (batched vs a loop of models), toggle patterns, sweeps
(local vs a real Dask LocalCluster, incremental writes, resume) and the CLI's handling of bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.experiments import sweep
from geomdl.math import constructions, geometries, landscape
from geomdl.nn.training import TrainConfig

GEOMDL = [sys.executable, "-c", "import cli; cli.app()"]


@pytest.fixture(scope="module")
def clustered():
    torch.set_num_threads(1)
    return geometries.build(geometries.GeometryConfig("clustered", q=3, n_per_class=60, seed=2))


def test_perturbation_is_exact_in_size_and_reproducible(clustered):
    X, labels, net = clustered
    rng, _ = landscape.trial_seeds(7, 3)
    pert = landscape.perturb(net.tensors(), 0.25, rng)
    for a, b in zip(pert, net.tensors(), strict=True):
        assert np.linalg.norm(a - b) == pytest.approx(0.25, rel=1e-12)
    rng2, _ = landscape.trial_seeds(7, 3)
    for a, b in zip(pert, landscape.perturb(net.tensors(), 0.25, rng2), strict=True):
        np.testing.assert_array_equal(a, b)



def _numpy_perturbed(tensors, lam, seed, trial):
    """docs/math.md §5 in plain numpy: every tensor ``T + lam G/|G|_F`` (its own Frobenius norm), the ``G`` drawn
    in model order from ``default_rng(SeedSequence([seed, trial]))``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, trial]))
    out = []
    for T in tensors:
        G = rng.standard_normal(T.shape)
        out.append(T + lam * G / np.sqrt(np.sum(G * G)))
    return out


def _numpy_mse(tensors, X, labels, q):
    h = X
    for W, b in zip(tensors[0:-2:2], tensors[1:-2:2], strict=True):
        h = np.maximum(h @ W.T + b, 0.0)
    out = h @ tensors[-2].T + tensors[-1]
    return 0.5 * np.mean(np.sum((out - np.eye(q)[labels]) ** 2, axis=1))


@settings(max_examples=20, deadline=None, derandomize=True)
@given(q=st.integers(2, 8), seed=st.integers(0, 2**32 - 1), start=st.integers(0, 10_000),
       lam=st.floats(1e-3, 1.0))
def test_sweep_perturbation_is_per_tensor_with_the_documented_stream(q, seed, start, lam):
    """The sweep's own task (run_chunk, eval mode) against the plain-numpy perturbation: each tensor moves by
    exactly ``lam`` (not ``lam`` in total: a global normalisation would move each by ``lam/sqrt(2L+2)`` on
    average), along the documented random stream, and the ``initial_loss`` column is the loss of that network."""
    cfg = sweep.SweepConfig(q=q, n_per_class=12, seed=seed, lambdas=(lam,), trials=3, mode="eval")
    X, labels, net = geometries.build(cfg.geometry_config())
    base = net.tensors()
    trials = range(start, start + 3)
    stacks, _ = landscape.perturbed_stack(net, lam, seed, trials)
    res = sweep.run_chunk(json.dumps(cfg.to_dict()), 0, start, start + 3)
    for k, trial in enumerate(trials):
        want = _numpy_perturbed(base, lam, seed, trial)
        for T, P, S in zip(base, want, stacks, strict=True):
            np.testing.assert_allclose(S[k].numpy(), P, rtol=1e-13, atol=1e-15)
            assert np.linalg.norm(S[k].numpy() - T) == pytest.approx(lam, rel=1e-9)
        total = np.sqrt(sum(np.sum((S[k].numpy() - T) ** 2) for T, S in zip(base, stacks, strict=True)))
        assert total == pytest.approx(lam * np.sqrt(len(base)), rel=1e-9)
        assert res["initial_loss"][k] == pytest.approx(_numpy_mse(want, X, labels, q), rel=1e-9, abs=1e-15)

@pytest.mark.parametrize("geometry", geometries.GEOMETRIES)
def test_eval_mode_returns_to_zero_loss_as_lambda_shrinks(geometry):
    X, labels, net = geometries.build(geometries.GeometryConfig(geometry, q=geometries.default_q(geometry),
                                                                n_per_class=50, seed=1))
    cfg = TrainConfig()
    med = []
    for lam in (1e-2, 1e-4, 1e-7):
        res = landscape.run_trials(net, X, labels, lam, 0, range(20), "eval", cfg)
        med.append(np.median(res.final_loss))
    assert med[0] > med[1] > med[2]
    assert med[2] < 1e-10
    # quadratic in lambda near a zero-loss minimum (same directions at every lambda)
    assert med[1] / med[2] == pytest.approx((1e-4 / 1e-7) ** 2, rel=0.05)


@pytest.mark.parametrize(("optimizer", "momentum", "loss"), [("sgd", 0.0, "mse"), ("gd", 0.0, "mse"),
                                                          ("sgd", 0.5, "mse"), ("gd", 0.5, "mse"),
                                                          ("sgd", 0.0, "ce"), ("gd", 0.5, "wmse")])
def test_batched_trials_equal_the_per_trial_loop(clustered, optimizer, momentum, loss):
    """MSE uses the hand-written backward, the other losses autograd; momentum and frozen (stopped) trials
    through the flat parameter buffer; all against training.train one model at a time."""
    X, labels, net = clustered
    cfg = TrainConfig(optimizer=optimizer, lr=0.02, steps=120, patience=40, stuck_tol=1e-3, loss_threshold=1e-6,
                      momentum=momentum, loss=loss)
    trials = [0, 3, 4, 9, 11]
    batched = landscape.run_trials(net, X, labels, 0.2, 5, trials, "train", cfg, block=2)
    loop = landscape.train_loop(net, X, labels, cfg, 0.2, 5, trials)
    np.testing.assert_allclose(batched.initial_loss, loop.initial_loss, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(batched.final_loss, loop.final_loss, rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(batched.stop, loop.stop)
    np.testing.assert_array_equal(batched.steps, loop.steps)
    np.testing.assert_allclose(batched.accuracy, loop.accuracy)
    assert len(set(batched.stop.tolist())) >= 1
    # the same command and chunking gives the same bits; another block size the same results up to rounding
    # (batched products of different batch sizes may round differently on some BLAS builds)
    same = landscape.run_trials(net, X, labels, 0.2, 5, trials, "train", cfg, block=2)
    np.testing.assert_array_equal(same.final_loss, batched.final_loss)
    again = landscape.run_trials(net, X, labels, 0.2, 5, trials, "train", cfg, block=5)
    np.testing.assert_allclose(again.final_loss, batched.final_loss, rtol=1e-9, atol=1e-14)
    np.testing.assert_array_equal(again.stop, batched.stop)


@settings(max_examples=25, deadline=None)
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=3), q=st.integers(2, 8), m=st.integers(1, 5),
       trials=st.integers(1, 4), n=st.integers(1, 30), shared=st.booleans(), seed=st.integers(0, 2**31))
def test_hand_written_mse_gradients_equal_autograd(widths, q, m, trials, n, shared, seed):
    g = torch.Generator().manual_seed(seed)
    dims = [m, *widths, q]
    params = []
    for a, b in zip(dims[:-1], dims[1:], strict=False):
        params += [torch.randn(trials, b, a, generator=g, dtype=torch.float64),
                   torch.randn(trials, b, generator=g, dtype=torch.float64)]
    X = torch.randn((n, m) if shared else (trials, n, m), generator=g, dtype=torch.float64)
    labels = torch.randint(0, q, (n,), generator=g)
    Y = torch.nn.functional.one_hot(labels, q).to(torch.float64).T
    got = landscape.mse_grads(params, X.T if shared else X.transpose(1, 2), Y)
    leaves = [p.clone().requires_grad_(True) for p in params]
    _, out = landscape.batched_forward(leaves, X)
    want = torch.autograd.grad(landscape.batched_loss("mse", out, labels, q, Y).sum(), leaves)
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_batched_loss_matches_losses_module(clustered):
    X, labels, net = clustered
    params, _ = landscape.perturbed_stack(net, 0.3, 0, range(4))
    from geomdl.nn.losses import loss_fn
    from geomdl.nn.model import ReLUMLP

    for kind in ("mse", "wmse", "ce"):
        _, out = landscape.batched_forward(params, torch.as_tensor(X))
        got = landscape.batched_loss(kind, out, torch.as_tensor(labels), 3)
        for t in range(4):
            m = ReLUMLP(3, [3, 3, 3], 3).double()
            ten = [p[t].numpy() for p in params]
            m.load_arrays(ten[0:-2:2], ten[1:-2:2], ten[-2], ten[-1])
            with torch.no_grad():
                ref = loss_fn(kind, m(torch.as_tensor(X)), torch.as_tensor(labels), 3)
            assert float(got[t]) == pytest.approx(float(ref), rel=1e-12)


def test_toggle_patterns_losses_and_gradients():
    X, labels = geometries.make_data(geometries.GeometryConfig("clustered", q=3, n_per_class=80, seed=0))
    pats = landscape.toggle_patterns(3)
    assert len(pats) == 2**3 - 1 and (1, 1, 1) not in pats and len(set(pats)) == 7
    for pat in pats:
        net = landscape.toggle_network(X, labels, pat)
        loss = constructions.mse_loss(net.outputs(X), labels)
        assert loss > 1e-4                                      # suboptimal
        counts = landscape.collapsed_counts(net, X, labels)
        for l, v in enumerate(pat):                             # the pattern really is what it says
            assert counts[l] == (80 if v else -1)
            if not v:   # identity layer: every point strictly in the forward cone
                pre = X
                for W, b in zip(net.Ws[: l + 1], net.bs[: l + 1], strict=True):
                    pre_a = pre @ W.T + b
                    pre = np.maximum(pre_a, 0)
                assert (pre_a[labels == l] > 0).all()
        gn, per = landscape.gradient_norms(net, X, labels)
        assert np.hypot(per[-2], per[-1]) < 1e-10               # least-squares output layer: stationary there
        if sum(pat) == 0:
            # no collapse: the network is the least-squares affine map, a true stationary point
            assert gn < 1e-10
            assert loss == pytest.approx(landscape.affine_ls_loss(X, labels, [0, 1, 2], 3), rel=1e-9)
        else:
            # with a collapse the refit output alone does not make the point stationary (measured finding:
            # the hidden layers up to the last collapsing one carry a gradient), see the report
            assert gn > 1e-3


def test_polishing_a_single_collapse_reaches_the_region_infimum():
    X, labels = geometries.make_data(geometries.GeometryConfig("clustered", q=3, n_per_class=80, seed=0))
    net = landscape.toggle_network(X, labels, (1, 0, 0))
    _, loss, gn = landscape.polish(net, X, labels)
    inf = landscape.affine_ls_loss(X, labels, [1, 2], 3)
    assert inf > 1e-4
    assert loss == pytest.approx(inf, rel=1e-6)
    assert gn < 1e-5
    with pytest.raises(GeomdlError, match="toggle pattern"):
        landscape.toggle_network(X, labels, (1, 2, 0))


# ---------------------------------------------------------------- sweeps
SMALL = dict(n_per_class=30, trials=6, chunk=3, steps=60, lambdas=(0.05, 0.5), patience=20)


def test_sweep_writes_chunks_and_resumes_without_loss_or_duplicates(tmp_path):
    cfg = sweep.SweepConfig(**SMALL)
    full = sweep.run_sweep(cfg, tmp_path / "a")
    rows = full["rows"]
    assert len(rows) == 12 and len({(r[3], r[4]) for r in rows}) == 12
    assert full["computed"] == 4 and full["reused"] == 0
    # simulate an interruption: two chunks and the assembled tables missing
    b = tmp_path / "b"
    shutil.copytree(tmp_path / "a", b)
    for p in sorted((b / "chunks").glob("*.csv"))[1:3]:
        p.unlink()
    (b / "results.csv").unlink()
    with pytest.raises(GeomdlError, match="already holds a sweep"):
        sweep.run_sweep(cfg, b)
    res = sweep.run_sweep(cfg, b, resume=True)
    assert res["computed"] == 2 and res["reused"] == 2
    assert (b / "results.csv").read_text() == (tmp_path / "a" / "results.csv").read_text()
    # a different config is refused on resume, and so is a damaged chunk (which is left in place)
    with pytest.raises(GeomdlError, match="different config"):
        sweep.run_sweep(sweep.SweepConfig(**{**SMALL, "trials": 9}), b, resume=True)
    bad = sorted((b / "chunks").glob("*.csv"))[0]
    bad.write_text(bad.read_text()[:40])
    with pytest.raises(GeomdlError, match="corrupt results file"):
        sweep.run_sweep(cfg, b, resume=True)
    assert bad.exists()


def test_sweep_summary_fraction(tmp_path):
    cfg = sweep.SweepConfig(**{**SMALL, "mode": "eval", "lambdas": (1e-8, 1.0), "zero_tol": 1e-10})
    res = sweep.run_sweep(cfg, tmp_path)
    frac = {r["lambda"]: r["fraction_returned"] for r in res["summary"]}
    assert frac[1e-8] == 1.0 and frac[1.0] == 0.0


@pytest.mark.parametrize("bad", [dict(lambdas=(0.0,)), dict(lambdas=(float("nan"),)), dict(lambdas=(-1.0,)),
                                 dict(trials=0), dict(geometry="spiral"), dict(q=1), dict(mode="fast"),
                                 dict(geometry="concentric", q=3), dict(base="111"), dict(base="10"),
                                 dict(geometry="sls", base="100")])
def test_sweep_config_rejects_bad_input(bad):
    with pytest.raises(GeomdlError):
        sweep.SweepConfig(**bad).validate()


def test_dask_local_cluster_equals_local_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    cfg = sweep.SweepConfig(**{**SMALL, "geometry": "sls"})
    sweep.run_sweep(cfg, tmp_path / "local")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as lc:
        remote = sweep.run_sweep(cfg, tmp_path / "dask", scheduler=lc.scheduler_address)
    assert remote["computed"] == 4
    assert (tmp_path / "dask" / "results.csv").read_text() == (tmp_path / "local" / "results.csv").read_text()


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    pytest.importorskip("distributed")
    with pytest.raises(GeomdlError, match="cannot reach the Dask scheduler"):
        sweep.run_sweep(sweep.SweepConfig(**SMALL), tmp_path, scheduler="tcp://127.0.0.1:9", connect_timeout=1)


def test_scheduler_without_dask_is_a_one_line_error(tmp_path, monkeypatch):
    """Dask is an optional extra: without it, --scheduler says how to install it, before any chunk runs."""
    monkeypatch.setitem(sys.modules, "distributed", None)      # `import distributed` now raises ImportError
    with pytest.raises(GeomdlError, match=r"needs Dask, an optional extra: pip install -e '\.\[cluster\]'") as e:
        sweep.run_sweep(sweep.SweepConfig(**SMALL), tmp_path / "s", scheduler="tcp://127.0.0.1:9", connect_timeout=1)
    assert "\n" not in str(e.value) and not (tmp_path / "s" / "results.csv").exists()


# ---------------------------------------------------------------- CLI
def run_cli(*args, cwd):
    return subprocess.run([*GEOMDL, *args], capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"})


def test_cli_construct_check_and_bad_lambda(tmp_path):
    r = run_cli("construct", "--geometry", "nonsep", "--check", "--n-per-class", "40", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "accuracy 100.0%" in r.stdout
    r = run_cli("experiment", "perturb", "--lambdas", "0.1,-1", "--out", str(tmp_path / "bad"), cwd=tmp_path)
    assert r.returncode != 0 and "positive" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad" / "experiments" / "perturb").exists() or not any(
        (tmp_path / "bad" / "experiments" / "perturb").rglob("*.csv"))


@pytest.mark.slow
def test_cli_perturb_outputs_and_bad_input(tmp_path):
    r = run_cli("experiment", "perturb", "--geometry", "concentric", "--lambdas", "0.001,0.1", "--trials", "4",
                "--mode", "eval", "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "o" / "experiments" / "perturb" / "concentric_zero-loss_eval"
    for name in ("results.csv", "summary.csv", "perturbation_histograms.png", "perturbation_histograms.pdf"):
        assert (folder / name).exists()
    for args, msg in [(["--lambdas", "0,1"], "positive"), (["--lambdas", "nan"], "positive"),
                      (["--trials", "0"], ">= 1"), (["--geometry", "spiral"], "unknown geometry")]:
        r = run_cli("experiment", "perturb", *args, "--out", str(tmp_path / "bad"), cwd=tmp_path)
        assert r.returncode != 0 and msg in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()[-1]) > 0
    r = run_cli("experiment", "local-minima", "--q", "1", cwd=tmp_path)
    assert r.returncode != 0 and "Q must be >= 2" in r.stderr
