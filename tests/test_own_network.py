"""Bring your own network (issue 13): the recorder on any MLP shape against an independent numpy computation,
the Python API, ``geomdl record`` from checkpoints, the example script, and every bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_cli import assert_ok, assert_one_line_error, cli_env, geomdl
from torch import nn

from geomdl.errors import GeomdlError
from geomdl.experiments import network
from geomdl.io import trace as trace_mod
from geomdl.io.recorder import Recorder
from scenes.render import make_frames

ROOT = Path(__file__).resolve().parents[1]


def sequential(M: int, widths: list[int], K: int, seed: int = 0, dtype=torch.float64) -> nn.Sequential:
    torch.manual_seed(seed)
    dims, mods = [M, *widths], []
    for a, b in zip(dims[:-1], dims[1:], strict=False):
        mods += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*mods, nn.Linear(dims[-1], K)).to(dtype)


def blobs(M: int, q: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = 1.5 * rng.standard_normal((q, M))
    X = np.concatenate([c + 0.4 * rng.standard_normal((n, M)) for c in centres])
    return X, np.repeat(np.arange(q), n)


def reference(X: np.ndarray, y: np.ndarray, q: int, Ws, bs) -> dict:
    """docs/math.md §2.4b written out independently: plain loops, ``np.linalg.pinv`` with the recorder's rank rule."""
    h, Wc, bc = X, None, None
    out = {"T": [], "k": [], "res": [], "res_live": [], "rank": [], "base": [], "coll": []}
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        z = h @ W.T + b
        h = np.maximum(z, 0)
        Wc = W if Wc is None else W @ Wc
        bc = b if bc is None else W @ bc + b
        s = np.linalg.svd(Wc, compute_uv=False)
        tol = 1e-10 * max(Wc.shape) * s[0]
        P = np.linalg.pinv(Wc, rcond=tol / s[0])
        T = (h - bc) @ P.T
        out["T"].append(T)
        out["k"].append((z < 0).sum(1))
        r = np.linalg.norm(h - (T @ Wc.T + bc), axis=1)
        out["res"].append(np.max(r))
        live = (z >= 0).any(1)                                 # not collapsed: the picture's exactness
        out["res_live"].append(np.max(r[live]) if live.any() else 0.0)
        out["rank"].append(int((s > tol).sum()))
        out["base"].append(-P @ bc)
        out["coll"].append([np.mean((z < 0).all(1)[y == j]) for j in range(q)])
    out["outputs"] = h @ Ws[-1].T + bs[-1]
    return out


def layer_arrays(model):
    lin = [m for m in model if isinstance(m, nn.Linear)]
    return ([m.weight.detach().double().numpy() for m in lin], [m.bias.detach().double().numpy() for m in lin])


# ---------------------------------------------------------------------------------------------- the geometry
@settings(deadline=None, max_examples=40)
@given(M=st.integers(1, 5), widths=st.lists(st.integers(1, 12), min_size=1, max_size=3), q=st.integers(2, 8),
       seed=st.integers(0, 10_000))
def test_recorded_geometry_of_any_shape_matches_numpy(M, widths, q, seed):
    """Wide, square and narrow layers: T_l by the forward pass and the pseudoinverse, k from the real
    pre-activations, residual, rank, base points, collapsed fractions, outputs; collapse exact at any width."""
    X, y = blobs(M, q, 6, seed)
    model = sequential(M, widths, q, seed)
    rec = Recorder.from_module(model, X, y)
    rec.snapshot(0, 1.0)
    a = rec.arrays()
    Ws, bs = layer_arrays(model)
    ref = reference(X, y, q, Ws, bs)
    for l in range(len(widths)):
        scale = 1 + np.abs(ref["T"][l]).max()
        np.testing.assert_allclose(a["truncated"][0, l], ref["T"][l], atol=1e-7 * scale)
        np.testing.assert_array_equal(a["k_trunc"][0, l], ref["k"][l])
        np.testing.assert_allclose(a["residual"][0, l], ref["res"][l], atol=1e-7 * scale)
        np.testing.assert_allclose(a["residual_active"][0, l], ref["res_live"][l], atol=1e-7 * scale)
        assert a["rank"][0, l] == ref["rank"][l]
        np.testing.assert_allclose(a["base_points"][0, l], ref["base"][l],
                                   atol=1e-7 * (1 + np.abs(ref["base"][l]).max()))
        np.testing.assert_allclose(a["collapsed_frac"][0, l], ref["coll"][l], atol=1e-12)
        collapsed = ref["k"][l] == widths[l]                 # exact at any width: the preimage is the base point
        if collapsed.any():
            np.testing.assert_allclose(a["truncated"][0, l][collapsed],
                                       np.broadcast_to(ref["base"][l], (collapsed.sum(), M)), atol=1e-7 * scale)
    np.testing.assert_allclose(a["outputs"][0], ref["outputs"], atol=1e-9 * (1 + np.abs(ref["outputs"]).max()))
    # the picture is exact where the residual is ~0 relative to the activations, and the trace says so
    pic = rec.picture()
    want = [l + 1 for l in range(len(widths)) if not ref["res_live"][l] <= 1e-6 * max(1.0, a["act_scale"][0, l])]
    assert pic["approximate_layers"] == want and pic["exact"] == (not want)
    full_row_rank = all(r == w for r, w in zip(ref["rank"], widths, strict=True))
    if full_row_rank:                                          # narrow or square, full rank: docs/math.md §2.4 exact
        assert pic["exact"]


@pytest.mark.parametrize(("M", "widths"), [(2, [100, 50]), (3, [3, 3]), (5, [4, 3])], ids=["wide", "square", "narrow"])
def test_wide_square_narrow_residuals_and_trace(tmp_path, M, widths):
    X, y = blobs(M, 3, 30)
    rec = Recorder.from_module(sequential(M, widths, 3), X, y)
    for s in (0, 5, 10):
        rec.snapshot(s)
    path = rec.save(tmp_path / "t.npz", title="t", notes=["a note"])
    tr = trace_mod.load(path)
    assert tr.meta["kind"] == "network" and tr.meta["widths"] == widths and tr.meta["config"]["N"] == 90
    assert tr["truncated"].shape == (3, len(widths), 90, M) and tr["hidden_proj"].shape == (3, len(widths), 90, 3)
    assert np.isnan(tr["loss"]).all()                          # no loss given: recorded as unknown
    exact = widths[0] <= M
    assert tr.meta["picture"]["exact"] == exact
    if exact:
        assert tr["residual"].max() < 1e-9
    else:   # 2-D input through 100 wide layers: the activations leave the 2-D image
        assert tr["residual"].max() > 1e-3 and any("approximate" in n for n in tr.meta["notes"])
    lines = make_frames(tr, 15, 2.0, "light", "training").card.lines
    assert any("APPROXIMATE" in ln for ln in lines) != exact and "a note" in lines
    assert not any("construction" in ln for ln in lines)
    for scene in ("training", "layers"):
        for view in ("input", "layer"):
            fr = make_frames(tr, 15, 2.0, "light", scene, view)
            fr.static()
            fr.frame(fr.n_frames - 1)


def test_save_streams_the_same_arrays_as_in_memory_and_float32(tmp_path):
    X, y = blobs(4, 3, 20)
    model = sequential(4, [6, 4], 3)
    recs = [Recorder.from_module(model, X, y), Recorder.from_module(model, X, y, store="float32")]
    for r in recs:
        r.snapshot(0, 0.5)
        r.snapshot(3, 0.25)
    mem = recs[0].trace(title="x")
    disk = trace_mod.load(recs[0].save(tmp_path / "a.npz", title="x"))
    assert set(mem.arrays) == set(disk.arrays)
    for k in mem.arrays:
        np.testing.assert_array_equal(mem[k], disk[k])
    f32 = trace_mod.load(recs[1].save(tmp_path / "b"))
    assert f32["truncated"].dtype == np.float32 and f32["outputs"].dtype == np.float32
    np.testing.assert_allclose(f32["truncated"], disk["truncated"], rtol=1e-6, atol=1e-6)
    assert (tmp_path / "b.npz").exists()


def test_spool_on_disk_reads_back_every_snapshot(tmp_path):
    """A tiny buffer: every snapshot goes to the spool files; arrays, rows and the saved trace agree."""
    X, y = blobs(3, 2, 15)
    model = sequential(3, [4, 3], 2)
    a, b = Recorder.from_module(model, X, y, buffer_bytes=1), Recorder.from_module(model, X, y)
    for s in range(4):
        with torch.no_grad():
            model[0].weight.mul_(1.1)
        a.snapshot(s, 1.0 / (s + 1))
        b.snapshot(s, 1.0 / (s + 1))
    assert a._spool.on_disk == 4 and b._spool.on_disk == 0
    A, B = a.arrays(), b.arrays()
    for k in B:
        np.testing.assert_array_equal(A[k], B[k], err_msg=k)
    np.testing.assert_array_equal(a._spool.read_row("outputs", -1), B["outputs"][-1])
    np.testing.assert_array_equal(a._spool.read_row("outputs", 1), B["outputs"][1])
    tr = trace_mod.load(a.save(tmp_path / "a.npz"))
    np.testing.assert_array_equal(tr["truncated"], B["truncated"])
    assert a.meta()["health"] == b.meta()["health"]


def test_projected_high_dimensional_and_module_listing_its_linear_layers():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(20, 30), nn.Linear(30, 10), nn.Linear(10, 3)])

        def forward(self, x):
            for m in self.layers[:-1]:
                x = torch.relu(m(x))
            return self.layers[-1](x)

    X, y = blobs(20, 3, 10)
    rec = Recorder.from_module(Net().double(), X, y)
    rec.snapshot(0)
    a = rec.arrays()
    assert rec.projected and "truncated" not in a and a["truncated_proj"].shape == (1, 2, 30, 3)
    assert a["edges_proj"].shape == (1, 2, 30, 3)


def test_a_forward_pass_that_is_not_the_relu_chain_is_refused():
    class Tanhy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(3, 5), nn.Linear(5, 2)

        def forward(self, x):
            return self.b(torch.tanh(self.a(x)))

    X, y = blobs(3, 2, 10)
    with pytest.raises(GeomdlError, match="differ from a ReLU chain"):
        Recorder.from_module(Tanhy().double(), X, y)


@pytest.mark.parametrize("layer", [nn.Tanh(), nn.BatchNorm1d(8), nn.Conv1d(1, 1, 1), nn.Dropout()])
def test_non_relu_layer_is_a_one_line_error_naming_it(layer):
    model = nn.Sequential(nn.Linear(3, 8), layer, nn.Linear(8, 2))
    X, y = blobs(3, 2, 5)
    with pytest.raises(GeomdlError, match=type(layer).__name__) as e:
        Recorder.from_module(model, X, y)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("X", "y", "match"), [
    (np.zeros((6, 4)), np.repeat([0, 1], 3), "first layer takes 3"),
    (np.zeros((6, 3)), np.array([0, 1, 2, 0, 1, -1]), "integers 0..Q-1"),
    (np.zeros((6, 3)), np.array([0, 1, 0.5, 0, 1, 1]), "integers 0..Q-1"),
    (np.zeros((6, 3)), np.array([0, 2, 2, 0, 2, 0]), r"label 1 \(class 2\) has no points"),
    (np.full((6, 3), np.nan), np.repeat([0, 1], 3), "NaN or inf"),
    (np.full((6, 3), np.inf), np.repeat([0, 1], 3), "NaN or inf"),
], ids=["dimension", "negative-label", "fractional-label", "empty-class", "nan", "inf"])
def test_bad_data_for_from_module(X, y, match):
    with pytest.raises(GeomdlError, match=match):
        Recorder.from_module(sequential(3, [4], 2), X, y)


def test_snapshot_steps_must_increase_and_save_needs_a_snapshot(tmp_path):
    X, y = blobs(2, 2, 5)
    rec = Recorder.from_module(sequential(2, [3], 2), X, y)
    with pytest.raises(GeomdlError, match="no snapshots"):
        rec.save(tmp_path / "x.npz")
    rec.snapshot(4)
    with pytest.raises(GeomdlError, match="must increase"):
        rec.snapshot(4)
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------- checkpoints
def write_folder(folder: Path, M: int, widths: list[int], n: int, seed: int = 0) -> list[dict]:
    """``epoch_<e>.pt`` for e in 0..n-1 of one model trained a little between them; returns the state dicts."""
    folder.mkdir(parents=True, exist_ok=True)
    model = sequential(M, widths, 3, seed, dtype=torch.float32)
    X, y = blobs(M, 3, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    states = []
    for e in range(n):
        sd = {k: v.clone() for k, v in model.state_dict().items()}
        torch.save({"state_dict": sd, "epoch": e, "loss": 1.0 / (e + 1)}, folder / f"epoch_{e}.pt")
        states.append(sd)
        loss = nn.functional.cross_entropy(model(torch.tensor(X, dtype=torch.float32)), torch.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    return states


def test_checkpoint_folder_round_trip(tmp_path):
    """epoch_0..epoch_11 in natural order (epoch_10 after epoch_9), one snapshot each, equal to recording the
    same states in-process."""
    states = write_folder(tmp_path / "ck", 2, [16, 8], 12)
    X, y = blobs(2, 3, 10)
    np.savez(tmp_path / "data.npz", X=X, y=y)
    path, meta = network.record(tmp_path / "ck", tmp_path / "data.npz", tmp_path / "out.npz", title="ck")
    tr = trace_mod.load(path)
    assert tr["steps"].tolist() == list(range(12)) and meta["config"]["snapshots"] == 12
    np.testing.assert_allclose(tr["loss"], [1.0 / (e + 1) for e in range(12)])
    model = sequential(2, [16, 8], 3, dtype=torch.float32)
    rec = Recorder.from_module(model, X, y)
    for e, sd in enumerate(states):
        model.load_state_dict(sd)
        rec.snapshot(e, 1.0 / (e + 1))
    a = rec.arrays()
    for k in ("truncated", "k_trunc", "residual", "rank", "outputs", "collapsed_frac", "hidden_proj"):
        np.testing.assert_array_equal(tr[k], a[k], err_msg=k)


def test_record_and_render_cli_state_dict_torchscript_and_csv(tmp_path):
    model = sequential(3, [5, 4], 2, dtype=torch.float32)
    torch.save(model.state_dict(), tmp_path / "sd.pt")
    torch.jit.script(model).save(str(tmp_path / "ts.pt"))
    X, y = blobs(3, 2, 15)
    np.savetxt(tmp_path / "data.csv", np.c_[X, y], delimiter=",", header="a,b,c,label", comments="")
    np.save(tmp_path / "data.npy", np.c_[X, y])
    runs = [("record", "--model", tmp_path / "sd.pt", "--data", tmp_path / "data.csv", "--trace", tmp_path / "a"),
            ("record", "--model", tmp_path / "ts.pt", "--data", tmp_path / "data.npy", "--trace",
             tmp_path / "b.npz", "--title", "scripted", "--float32")]
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda a: geomdl(*a, cwd=tmp_path), runs))
    for p in procs:
        assert_ok(p)
    a, b = trace_mod.load(tmp_path / "a.npz"), trace_mod.load(tmp_path / "b.npz")
    np.testing.assert_allclose(a["truncated"], b["truncated"], rtol=1e-5, atol=1e-5)
    assert b.meta["title"] == "scripted" and a.meta["widths"] == [5, 4]
    proc = geomdl("render", "training", "--trace", tmp_path / "b.npz", "--quality", "l", "--renderer", "matplotlib",
                  "--format", "png", "--duration", "1", "--out", tmp_path / "media", cwd=tmp_path)
    assert_ok(proc)
    assert (tmp_path / "media" / "training" / "b_matplotlib_light_480p15.png").exists()


def test_dead_network_warns_and_render_exits_3_unless_forced(tmp_path):
    model = sequential(2, [4, 3], 2, dtype=torch.float32)
    with torch.no_grad():
        model[2].bias.fill_(-100.0)                          # layer 2 zero on every point: a dead network
    torch.save(model.state_dict(), tmp_path / "dead.pt")
    X, y = blobs(2, 2, 10)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    proc = geomdl("record", "--model", tmp_path / "dead.pt", "--data", tmp_path / "d.npz", "--trace",
                  tmp_path / "dead.npz", cwd=tmp_path)
    assert_one_line_error(proc, 3, "dead network", "trace kept")
    tr = trace_mod.load(tmp_path / "dead.npz")
    lines = make_frames(tr, 15, 1, "light", "training").card.lines
    assert tr.failed and any("WARNING: dead network: hidden layer 2 is zero" in ln for ln in lines)
    assert all(len(ln) <= 100 for ln in lines)
    assert tr.meta["picture"]["exact"] is False or tr["residual_active"][:, 1].max() == 0.0
    args = ("render", "layers", "--trace", tmp_path / "dead.npz", "--quality", "l", "--renderer", "matplotlib",
            "--format", "png", "--duration", "1", "--out", tmp_path / "media")
    proc = geomdl(*args, cwd=tmp_path)
    assert_one_line_error(proc, 3, "--force")
    assert not (tmp_path / "media" / "layers").exists() or not any((tmp_path / "media" / "layers").iterdir())
    assert_ok(geomdl(*args, "--force", cwd=tmp_path))


def test_degenerate_network_is_a_failed_run(tmp_path):
    """Every class mapped to one output (zero output weights): degenerate (geomdl.nn.health), refused by render."""
    from scenes.render import render

    model = sequential(2, [6, 4], 3)
    with torch.no_grad():
        model[4].weight.zero_()
    X, y = blobs(2, 3, 10)
    rec = Recorder.from_module(model, X, y)
    rec.snapshot(0)
    tr = trace_mod.load(rec.save(tmp_path / "deg.npz"))
    assert tr.meta["stop_reason"] == "degenerate" and tr.failed and tr.meta["health"]["output_clusters"] == 1
    assert any("WARNING: degenerate" in ln for ln in make_frames(tr, 15, 1, "light", "layers").card.lines)
    with pytest.raises(GeomdlError, match="failed run"):
        render(tr, scene="layers", out=tmp_path, fmt="png", quality="l", renderer="matplotlib")


def _bad_inputs(tmp: Path) -> dict[str, tuple[list, str]]:
    """Every bad input of the issue: case -> (record arguments, a word of the error)."""
    X, y = blobs(3, 2, 10)
    np.savez(tmp / "ok.npz", X=X, y=y)
    np.savez(tmp / "dim.npz", X=np.c_[X, X[:, :1]], y=y)
    np.savez(tmp / "neg.npz", X=X, y=np.where(y == 0, -1, 1))
    np.savez(tmp / "frac.npz", X=X, y=y + 0.5)
    np.savez(tmp / "empty.npz", X=X, y=2 * y)
    Xn = X.copy()
    Xn[3, 1] = np.nan
    np.savez(tmp / "nan.npz", X=Xn, y=y)
    Xi = X.copy()
    Xi[0, 0] = np.inf
    np.savez(tmp / "inf.npz", X=Xi, y=y)
    model = sequential(3, [4], 2, dtype=torch.float32)
    torch.save(model.state_dict(), tmp / "m.pt")
    torch.jit.script(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))).save(str(tmp / "tanh.pt"))
    bn = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    torch.save(bn.state_dict(), tmp / "bn.pt")
    (tmp / "empty_dir").mkdir()
    torch.save(model, tmp / "pickled.pt")
    write_folder(tmp / "mismatch", 3, [4], 2)
    torch.save(sequential(3, [5], 3, dtype=torch.float32).state_dict(), tmp / "mismatch" / "epoch_2.pt")
    m = ["--model", tmp / "m.pt"]
    return {
        "dimension": ([*m, "--data", tmp / "dim.npz"], "first layer takes 3"),
        "labels-negative": ([*m, "--data", tmp / "neg.npz"], "0..Q-1"),
        "labels-fractional": ([*m, "--data", tmp / "frac.npz"], "0..Q-1"),
        "empty-class": ([*m, "--data", tmp / "empty.npz"], "label 1 (class 2) has no points"),
        "nan": ([*m, "--data", tmp / "nan.npz"], "NaN or inf"),
        "inf": ([*m, "--data", tmp / "inf.npz"], "NaN or inf"),
        "checkpoint-mismatch": (["--model", tmp / "mismatch", "--data", tmp / "ok.npz"], "does not match"),
        "non-relu": (["--model", tmp / "tanh.pt", "--data", tmp / "ok.npz"], "Tanh"),
        "batchnorm": (["--model", tmp / "bn.pt", "--data", tmp / "ok.npz"], "BatchNorm"),
        "empty-folder": (["--model", tmp / "empty_dir", "--data", tmp / "ok.npz"], "no epoch_*.pt"),
        "missing-model": (["--model", tmp / "nope.pt", "--data", tmp / "ok.npz"], "does not exist"),
        "pickled-module": (["--model", tmp / "pickled.pt", "--data", tmp / "ok.npz"], "state_dict()"),
        "data-format": ([*m, "--data", tmp / "m.pt"], "unknown data format"),
    }


def test_every_bad_input_is_one_line_error_and_no_trace(tmp_path):
    cases = _bad_inputs(tmp_path)

    def run(item):
        name, (args, _) = item
        return name, geomdl("record", *args, "--trace", tmp_path / "out" / f"{name}.npz", cwd=tmp_path)

    with ThreadPoolExecutor(4) as pool:
        procs = dict(pool.map(run, cases.items()))
    for name, (_, needle) in cases.items():
        assert_one_line_error(procs[name], None, needle)
        assert procs[name].returncode in (1, 2), name
    out = tmp_path / "out"
    assert not out.exists() or not any(out.iterdir()), sorted(out.iterdir())


# ---------------------------------------------------------------------------------------------- layers --data
def test_layers_experiment_on_own_data(tmp_path):
    from geomdl import experiments

    X, y = blobs(2, 3, 20)
    np.savez(tmp_path / "mine.npz", X=X, y=y)
    tr, res = experiments.run("layers", data=str(tmp_path / "mine.npz"), steps=60, thresholds=(1e-9,))
    assert tr.meta["dataset"] == "own" and tr.meta["widths"] == [3, 3, 3] and tr.meta["Q"] == 3
    assert res.stop_reason == "budget"
    assert "own-mine" in experiments.output_stem("layers", tr.meta["config"])
    fr = make_frames(tr, 15, 1.0, "light", "training")
    assert any("your data (mine.npz)" in ln or "mine.npz" in ln for ln in [fr.static().labels[0].text])
    np.savez(tmp_path / "bad.npz", X=X, y=y + 1)
    with pytest.raises(GeomdlError, match=r"label 0 \(class 1\) has no points"):
        experiments.config("layers", data=str(tmp_path / "bad.npz"))


# ---------------------------------------------------------------------------------------------- the example
def test_example_script_records_and_renders_a_clip(tmp_path):
    env = cli_env(PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / "own_network.py"), "--out", str(tmp_path),
                           "--steps", "40", "--n", "30", "--quality", "l", "--renderer", "matplotlib",
                           "--duration", "1"], capture_output=True, text=True, env=env, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    (clip,) = [Path(p) for p in proc.stdout.split()]
    assert clip.exists() and clip.stat().st_size > 1000 and clip.name.startswith("training_2-d-blobs")
    tr = trace_mod.load(tmp_path / "traces" / "own_network.npz")
    assert tr.meta["widths"] == [100, 50] and not tr.meta["picture"]["exact"]


# ---------------------------------------------------------------------------------------------- lightning
def test_lightning_callback_records_a_fit(tmp_path):
    L = pytest.importorskip("lightning")
    from geomdl.lightning import GeomdlCallback

    X, y = blobs(2, 3, 20)

    class Lit(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = sequential(2, [8, 4], 3, dtype=torch.float32)

        def forward(self, x):
            return self.net(x)

        def training_step(self, batch, _):
            xb, yb = batch
            loss = nn.functional.cross_entropy(self.net(xb), yb)
            self.log("train_loss", loss, on_epoch=True, on_step=False)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    ds = torch.utils.data.TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
    cb = GeomdlCallback(X, y, tmp_path / "lit.npz", module="net", title="lit")
    trainer = L.Trainer(max_epochs=3, callbacks=[cb], logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, accelerator="cpu")
    trainer.fit(Lit(), torch.utils.data.DataLoader(ds, batch_size=20))
    tr = trace_mod.load(cb.saved)
    assert tr["steps"].tolist() == [0, 3, 6, 9] and np.isfinite(tr["loss"][1:]).all()
    assert tr.meta["source"] == "lightning" and tr.meta["widths"] == [8, 4]


def test_diverged_network_is_a_failed_run(tmp_path):
    model = sequential(2, [5], 2)
    with torch.no_grad():
        model[2].weight.fill_(1e308)                         # outputs overflow to inf: diverged
    X, y = blobs(2, 2, 10)
    rec = Recorder.from_module(model, X, y, check=False)
    rec.snapshot(0, float("inf"))
    tr = trace_mod.load(rec.save(tmp_path / "div.npz"))
    assert tr.meta["stop_reason"] == "diverged" and tr.failed and tr.meta["health"] is None
