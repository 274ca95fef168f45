"""The ``local-minima`` and ``perturbation`` traces and clips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geomdl.errors import GeomdlError
from geomdl.experiments import local_minima as lm
from geomdl.experiments import perturbation as pt
from geomdl.io.trace import load
from geomdl.math import constructions, geometries, landscape
from geomdl.nn.training import TrainConfig
from scenes.clips.local_minima import LocalMinimaFrames, keyframe_positions
from scenes.clips.perturbation import PerturbationFrames
from scenes.render import make_frames

N_PER = 20


@pytest.fixture(scope="module")
def lm_trace():
    torch.set_num_threads(1)
    return lm.run(lm.Config(n_per_class=N_PER, polish_iters=40))[0]


@pytest.fixture(scope="module")
def pt_trace():
    torch.set_num_threads(1)
    return pt.run(pt.Config(n_per_class=N_PER, steps=300, snapshots=12))


def test_tour_order_and_stages(lm_trace):
    pats = lm.tour_patterns(3)
    assert len(pats) == 8 and pats[-1] == (1, 1, 1) and len(set(pats)) == 8
    a = lm_trace.arrays
    assert a["pattern"].shape == (16, 3) and list(a["stage"]) == [0, 1] * 8
    assert [tuple(p) for p in a["pattern"][::2]] == pats
    assert lm_trace.meta["patterns"] == ["".join(map(str, p)) for p in pats]


def test_toggle_losses_match_independent_numpy(lm_trace):
    """The recorded toggle-point losses equal a plain-numpy forward pass of each toggle network."""
    X, labels = lm_trace.arrays["X"], lm_trace.arrays["labels"]
    for s in range(0, 16, 2):
        net = landscape.toggle_network(X, labels, tuple(lm_trace.arrays["pattern"][s]))
        h = X
        for W, b in zip(net.Ws, net.bs, strict=True):
            h = np.maximum(h @ W.T + b, 0.0)
        out = h @ net.W_out.T + net.b_out
        want = 0.5 * np.sum((out - np.eye(3)[labels]) ** 2) / len(X)
        assert lm_trace.arrays["loss"][s] == pytest.approx(want, rel=1e-9, abs=1e-25)


def test_tour_facts(lm_trace):
    """Global minimum ~0; pattern 000 stationary; the collapse patterns are not (measured finding); a layer with
    bit 1 collapses its whole class, a layer with bit 0 none of it."""
    a = lm_trace.arrays
    toggle = a["stage"] == 0
    assert a["loss"][toggle][-1] < 1e-20                      # 111: the global minimum
    pat = a["pattern"]
    none = np.flatnonzero(toggle & (pat.sum(axis=1) == 0))[0]
    assert a["grad_norm"][none] < 1e-10 and a["loss"][none] > 1e-3
    some = toggle & (pat.sum(axis=1) > 0) & (pat.sum(axis=1) < 3)
    assert (a["grad_norm_hidden"][some] > 1e-3).all()
    assert (a["loss"][~toggle] <= a["loss"][toggle] * (1 + 1e-9)).all()   # L-BFGS never goes up
    k = a["k_trunc"].astype(int)
    labels = a["labels"]
    order = a["collapse_class"][-1]                              # 111: layer l collapses class order[l]
    assert sorted(order.tolist()) == [0, 1, 2]
    for s in np.flatnonzero(toggle):
        assert (a["collapse_class"][s] == np.where(pat[s] == 1, order, -1)).all()
        for l in range(3):
            collapsed_l = (k[s, l] == 3) & (labels == order[l])
            assert collapsed_l.sum() == (N_PER if pat[s, l] else 0), (pat[s], l)


def test_local_minima_config_errors():
    with pytest.raises(GeomdlError, match="Q must be in 2..6"):
        lm.run(lm.Config(q=7))
    with pytest.raises(GeomdlError, match="polish_iters"):
        lm.Config(polish_iters=0).validate()


def test_perturbation_replays_the_sweep_trial(pt_trace):
    """The clip's run is trial ``trial`` of a perturbation sweep: same final loss, step and stop reason as
    :func:`landscape.train_loop` (the sweep's per-trial reference)."""
    trace, res = pt_trace
    cfg = pt.Config(**trace.meta["config"])
    X, labels, net = geometries.build(cfg.geometry_config())
    tc = TrainConfig(optimizer="sgd", lr=cfg.lr, steps=cfg.steps, batch_size=cfg.batch_size, loss="mse",
                     loss_threshold=cfg.loss_threshold, stuck_tol=cfg.stuck_tol, patience=cfg.patience)
    ref = landscape.train_loop(net, X, labels, tc, cfg.lam, cfg.seed, [cfg.trial])
    assert res.final_loss == ref.final_loss[0]
    assert res.final_step == ref.steps[0]
    assert landscape.STOP_CODES[res.stop_reason] == ref.stop[0]
    assert trace.arrays["loss"][0] == pytest.approx(ref.initial_loss[0], rel=1e-12)
    assert trace.meta["construction_loss"] == pytest.approx(constructions.mse_loss(net.outputs(X), labels))


def test_perturbation_reference_and_zero_lambda():
    trace, res = pt.run(pt.Config(n_per_class=N_PER, steps=20, snapshots=3, lam=0.0))
    # lambda 0: the construction itself (loss ~0 from the start; base points exactly the construction's)
    assert trace.arrays["loss"][0] < 1e-20
    np.testing.assert_allclose(trace.arrays["base_points"][0], trace.arrays["reference_base_points"], atol=1e-12)


@pytest.mark.parametrize("kw, msg", [({"geometry": "concentric"}, "square layers"), ({"lam": -1.0}, "lam"),
                                     ({"trial": -1}, "trial"), ({"snapshots": 1}, "snapshots")])
def test_perturbation_config_errors(kw, msg):
    with pytest.raises(GeomdlError, match=msg):
        pt.Config(**kw).validate()


def test_keyframe_positions():
    u = keyframe_positions([2, 3, 1], [2, 4], lead=3, tail=2)
    assert len(u) == 3 + 2 + 2 + 3 + 4 + 1 + 2
    assert (np.diff(u) >= 0).all() and u[0] == 0 and u[-1] == 2
    assert set(np.arange(3)) <= set(u.tolist())       # every snapshot is shown still


def test_local_minima_frames(lm_trace, tmp_path):
    lm_trace.save(tmp_path / "lm.npz")
    tr = load(tmp_path / "lm.npz")
    fr = make_frames(tr, 15, 4.0, "dark", scene="local-minima")
    assert isinstance(fr, LocalMinimaFrames)
    u = fr.u
    assert (np.diff(u) >= 0).all() and u[-1] == 15 and np.max(np.diff(u)) < 1.0   # smooth: no jumps
    first, last = fr.frame(fr.card.n_frames + 2), fr.frame(fr.n_frames - 1)
    lab = {x.name: x.text for x in first.labels}
    assert lab["pattern"].endswith("1 1 0") and lab["stage"] == "toggle point"
    lab = {x.name: x.text for x in last.labels}
    assert lab["pattern"] == "pattern 8 of 8:  1 1 1" and lab["stage"] == "after L-BFGS from it"
    assert first.card and first.cover == 0.0 and fr.frame(0).cover == 1.0


def test_perturbation_frames(pt_trace):
    trace, _ = pt_trace
    fr = make_frames(trace, 15, 2.0, "light", scene="perturbation")
    assert isinstance(fr, PerturbationFrames)
    end = {x.name: x for x in fr.frame(fr.n_frames - 1).labels}
    mid = {x.name: x for x in fr.frame(fr.n_hold0 + 3).labels}
    assert end["verdict"].alpha == 1.0 and mid["verdict"].alpha == 0.0
    assert end["verdict"].text in ("re-converged", "did not re-converge")
    assert (end["verdict"].text == "re-converged") == (trace.arrays["loss"][-1] < 1e-6)
    ref = [s for s in fr.frame(fr.n_hold0).segments if s.name == "reference"][0]
    assert len(ref.xy) == 2 * fr.L                     # a cross per layer panel
