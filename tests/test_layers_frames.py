"""The ``layers`` and ``training`` clips' frame models (rendering is covered elsewhere): title cards, per-class
collapse readouts against numpy, growing base-point markers, stage holds, the one-scale morph, text size."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.experiments import layers as layers_exp
from geomdl.experiments import truncation_speed as ts
from geomdl.nn.thresholds import progress_share
from scenes.clips.base import Rect, camera_basis
from scenes.clips.layer_trace import (
    SIZE_LEVELS,
    class_counts,
    collapse_text,
    facing_camera,
    growing_marker,
    widest_view,
)
from scenes.clips.layers import LayersFrames
from scenes.clips.training import TrainingFrames

FPS = 10


@pytest.fixture(scope="module")
def traces():
    torch.set_num_threads(1)
    t_ts, _ = ts.run(ts.TruncationSpeedConfig(q=3, n_per_class=20, steps=30, snapshots=4))
    t_layers, _ = layers_exp.run(layers_exp.LayersConfig(dataset="clustered", n_per_class=30, steps=40,
                                                         eval_every=10))
    return {"truncation-speed": t_ts, "layers": t_layers}


@pytest.mark.parametrize("cls", [LayersFrames, TrainingFrames])
@pytest.mark.parametrize("kind", ["truncation-speed", "layers"])
def test_card_shows_the_run_and_fades(traces, cls, kind):
    tr = traces[kind]
    fr = cls(tr, fps=FPS, duration=1.0, card_seconds=1.0)
    bare = cls(tr, fps=FPS, duration=1.0, card_seconds=0)
    assert fr.card is not None and bare.card is None
    assert fr.n_frames == bare.n_frames + fr.card.n_frames          # the card comes first, the clip is unchanged
    text = "\n".join(fr.card_lines(tr))
    cfg = tr.meta["config"]
    lr = tr.meta.get("lr", cfg["lr"])          # truncation-speed records its resolved (automatic) step size
    assert f"lr {lr:g}" in text and f"seed {tr.meta['seed']}" in text and "geomdl" in text
    assert ("clustered" in text) and (("zero-loss construction" in text) == (kind == "truncation-speed"))
    if kind == "layers":
        assert "loss thresholds: 0.1" in text and f"at most {cfg['steps']} steps" in text
    f0 = fr.frame(0)
    assert f0.cover == 1.0 and [lab.text for lab in f0.card] == fr.card_lines(tr)
    mid = fr.frame(fr.card.n_full + fr.card.n_fade // 2)
    assert 0 < mid.cover < 1 and all(0 < lab.alpha < 1 for lab in mid.card)
    after = fr.frame(fr.card.n_frames)
    assert after.cover == 0 and all(lab.alpha == 0 for lab in after.card)
    # after the card, the clip shows what the card-less clip shows at the same point of its timeline
    a, b = fr.frame(fr.n_frames - 1), bare.frame(bare.n_frames - 1)
    assert [lab.text for lab in a.labels] == [lab.text for lab in b.labels]


# -- collapse made visible, pacing, camera, text size (issue: talk-grade clips) ---------------------------------

MIN_TEXT = 0.19      # label height in figure units: 14 px at 480p (9 figure units = 480 px, cap height 0.72 em)


def test_collapse_text_numbers_classes_from_one():
    sizes = np.array([200, 200, 200])
    assert collapse_text(np.array([0, 116, 3]), sizes) == "116 / 200 of class 2, 3 / 200 of class 3"
    assert collapse_text(np.array([5, 4, 3]), sizes, most=1) == "5 / 200 of class 1, + 2 more classes"
    assert collapse_text(np.zeros(3, int), sizes) == "none"


@given(share=st.floats(0, 1), r0=st.floats(0.01, 0.1))
@settings(max_examples=30, deadline=None, derandomize=True)
def test_growing_marker_one_group_of_stable_names(share, r0):
    groups = growing_marker("b", np.array([1.0, 2.0]), 2, share, r0)
    assert [g.name for g in groups] == [f"b_s{k}" for k in range(SIZE_LEVELS)]
    full = [g for g in groups if len(g.xy)]
    assert len(full) == 1 and full[0].color.tolist() == [2]
    radii = [g.radius for g in groups]
    assert radii == sorted(radii) and len(set(radii)) == SIZE_LEVELS     # larger share, larger marker
    assert all(len(g.xy) == 0 for g in growing_marker("b", None, 0, share, r0))


@given(q=st.integers(2, 8), seed=st.integers(0, 50))
@settings(max_examples=20, deadline=None, derandomize=True)
def test_class_counts_match_numpy(q, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, q, 300)
    flag = rng.random(300) < 0.4
    expect = [int(np.sum(flag & (labels == j))) for j in range(q)]
    assert class_counts(flag, labels, q).tolist() == expect


def test_progress_share_aims_at_the_first_stop():
    assert progress_share(0, 0.3, 20000, 0.3, 0.01) == 0.0
    assert progress_share(500, 0.01, 20000, 0.3, 0.01) == 1.0                 # the threshold: done
    half = progress_share(500, np.sqrt(0.3 * 0.01), 20000, 0.3, 0.01)        # half way on the log axis
    assert abs(half - 0.5) < 1e-12
    assert progress_share(15000, 0.2, 20000, 0.3, 0.01) == 0.75              # the budget is nearer
    assert progress_share(10, float("nan"), None, 0.3, 0.01) == 0.0


def test_mnist_default_is_narrow_and_784_one_option_away():
    cfg = layers_exp.LayersConfig()
    assert cfg.resolved_widths == layers_exp.MNIST_WIDTHS and cfg.to_dict()["widths"] == list(layers_exp.MNIST_WIDTHS)
    wide = layers_exp.LayersConfig(widths=(784, 784, 784))
    assert wide.mnist_config().widths == (784, 784, 784) and layers_exp.stem(wide) != layers_exp.stem(cfg)
    assert layers_exp.LayersConfig(dataset="clustered").resolved_widths is None        # Q layers of width 3


@pytest.mark.parametrize("kind", ["truncation-speed", "layers"])
def test_layers_holds_each_stage_and_morphs_on_one_scale(traces, kind):
    fr = LayersFrames(traces[kind], fps=FPS, duration=2.0, card_seconds=0)
    held = {}
    for i in range(fr.n_frames):
        k, t = fr.stage_of(i)
        if t == 0:
            held[k] = held.get(k, 0) + 1
    assert sorted(held) == list(range(fr.n_stages))
    assert all(n >= 2.5 * FPS for n in held.values()), held                  # every readable state >= 2.5 s
    for k in range(fr.v.L):
        views = [fr.move_camera(k, t) for t in np.linspace(0, 1, 41)]
        morph = [vw for vw, m in views if 0 < m < 1]
        assert morph and all(np.array_equal(c, morph[0][0]) and r == morph[0][1] for c, r in morph)
        # that one scale frames both stages and the layer's base point, at every azimuth of the orbit
        c, r = morph[0]
        pts = np.concatenate([fr.stage3[k], fr.stage3[k + 1]])
        for az in (fr.azimuth(0), fr.azimuth(fr.n_frames - 1)):
            xy = fr.screen(pts, fr.big, az, c, r)
            assert fr.big.contains(xy).mean() >= 0.98
            bp = fr.v.P3[fr.s, k]
            if np.isfinite(bp).all():
                assert fr.big.contains(fr.screen(bp[None], fr.big, az, c, r))[0]


def test_collapse_readouts_per_class(traces):
    tr = traces["truncation-speed"]            # a construction: layer l collapses points of class l
    a = tr.arrays
    collapsed = a["k_trunc"][-1] == np.array(tr.meta["widths"])[:, None]              # (L, N)
    fr = TrainingFrames(tr, fps=FPS, duration=1.0, card_seconds=0)
    texts = {lab.name: lab.text for lab in fr.frame(fr.n_frames - 1).labels}
    sizes = np.bincount(a["labels"])
    for l in range(collapsed.shape[0]):
        n = np.bincount(a["labels"][collapsed[l]], minlength=len(sizes))
        j = int(np.argmax(n))
        want = f"{n[j]} / {sizes[j]} of class {j + 1}" if n.any() else "no points collapsed"
        assert texts[f"collapsed{l}"].startswith(f"layer {l + 1}: {want}")
    first = fr.frame(0).labels          # no layer has collapsed a point yet: one line says so, not L lines
    if not (a["k_trunc"][0] == np.array(tr.meta["widths"])[:, None]).any():
        lines = [lab.text for lab in first if lab.name.startswith("collapsed") and lab.text]
        assert lines == ["no points collapsed in any layer"]
    lay = LayersFrames(tr, fps=FPS, duration=1.0, card_seconds=0)
    last_hold = lay.n_hold0 + (lay.hold + lay.per_move) * 1 + lay.hold // 2      # holding at T_1(X)
    text = {lab.name: lab.text for lab in lay.frame(last_hold).labels}["info2"]
    n = np.bincount(a["labels"][collapsed[0]], minlength=len(sizes))
    assert text == (collapse_text(n, sizes) + " on it" if n.any() else "no points on it")


@pytest.mark.parametrize("cls", [LayersFrames, TrainingFrames])
def test_text_is_readable_and_typeset(traces, cls):
    fr = cls(traces["layers"], fps=FPS, duration=1.0, card_seconds=1.0)
    labels = fr.static().labels + [lab for i in (0, fr.n_frames // 2, fr.n_frames - 1) for lab in fr.frame(i).labels]
    small = [(lab.name, lab.size) for lab in labels if lab.size < MIN_TEXT]
    assert not small
    texts = " ".join(lab.text for lab in labels)
    assert "$T_{1}(X)$" in texts and "T1(X)" not in texts and "R^" not in texts
    assert texts.count("$") % 2 == 0


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(5, 60))
def test_widest_view_and_facing_camera_see_a_plane_face_on(seed, n):
    """A planar cloud, rotated at random: facing_camera looks along the plane's normal (plain numpy: the normal of
    the rotated plane), and widest_view maps it isometrically up to one scale (pairwise distances in proportion),
    inside its panel; a camera basis given as ``like`` only turns or mirrors the picture."""
    rng = np.random.default_rng(seed)
    R, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    flat = np.c_[rng.normal(size=(n, 2)) * [2.0, 1.0], np.zeros(n)]
    P = flat @ R.T + rng.normal(size=3)
    az, el = facing_camera(P, keep=1.0)
    view_dir = np.cross(*camera_basis(az, el))
    normal = R[:, 2]
    assert abs(abs(view_dir @ normal) - 1.0) < 1e-6
    panel = Rect(1.0, 2.0, 3.0, 3.0)
    for like in (None, camera_basis(0.3, 0.4)):
        xy = widest_view(P, panel, keep=1.0, like=like)
        d2 = np.linalg.norm(xy[:, None] - xy[None], axis=-1)
        d3 = np.linalg.norm(P[:, None] - P[None], axis=-1)
        k = d2[d3 > 1e-9] / d3[d3 > 1e-9]
        assert np.ptp(k) <= 1e-6 * k.max()
        assert (xy >= [1.0 - 1e-9, 2.0 - 1e-9]).all() and (xy <= [4.0 + 1e-9, 5.0 + 1e-9]).all()
