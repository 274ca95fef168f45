"""What the truncation-speed, cones, local-minima and perturbation clips claim, checked against plain numpy:
per-class counts, the contraction-rate readout, nothing pinned onto a panel title, holds >= 2.5 s, readable text
sizes and classes numbered from 1 (frame models only; rendering is covered in test_scenes.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_runs import trace_cache

from geomdl import experiments
from scenes.clips.base import FIG_W, TEXT_MIN, badge_radius, bounding_sphere, mix, tex_sci, text_width
from scenes.clips.truncation_speed import counts_by_class
from scenes.render import SCENES

TINY = {
    "truncation-speed": dict(q=3, n_per_class=30, lr=0.01, steps=60, snapshots=7),
    "cones": dict(geometry="sls", n_per_class=15),
    "local-minima": dict(n_per_class=15, polish_iters=20),
    "perturbation": dict(n_per_class=15, steps=60, snapshots=5),
}


@pytest.fixture(scope="module")
def trace_of():
    return trace_cache(TINY, lambda scene: SCENES[scene].experiment)


def model(trace_of, scene: str, **kw):
    return SCENES[scene].frames_class()(trace_of(scene), fps=10, duration=1.0, **kw)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(q=st.integers(2, 8), s=st.integers(1, 4), layers=st.integers(1, 4), n=st.integers(1, 40),
       seed=st.integers(0, 2**31 - 1))
def test_counts_by_class_against_a_loop(q, s, layers, n, seed):
    rng = np.random.default_rng(seed)
    collapsed = rng.random((s, layers, n)) < 0.4
    labels = rng.integers(0, q, n)
    got = counts_by_class(collapsed, labels, q)
    want = np.zeros((s, layers, q), int)
    for a in range(s):
        for b in range(layers):
            for i in range(n):
                want[a, b, labels[i]] += int(collapsed[a, b, i])
    np.testing.assert_array_equal(got, want)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(v=st.floats(1e-300, 1e300), sign=st.sampled_from([1.0, -1.0]))
def test_tex_sci_reads_back(v, sign):
    m, e = re.fullmatch(r"\$(-?[0-9.]+) \\times 10\^\{(-?[0-9]+)\}\$", tex_sci(sign * v)).groups()
    assert 1.0 <= abs(float(m)) < 10.0
    assert float(m) * 10.0 ** int(e) == pytest.approx(sign * v, rel=6e-3)


def test_helpers():
    assert mix("#000000", "#FFFFFF", 0.5) == "#808080" and mix("#123456", "#FFFFFF", 0.0) == "#123456"
    assert badge_radius(1.0, 0, 100) == 1.0 and badge_radius(1.0, 100, 100) == pytest.approx(2.6)
    assert badge_radius(1.0, 25, 100) < badge_radius(1.0, 50, 100)
    c, r = bounding_sphere(np.array([[0.0, 0, 0], [2, 0, 0], [np.nan, 0, 0]]))
    np.testing.assert_allclose(c, [1, 0, 0])
    assert r == pytest.approx(1.0)


def test_per_class_readout_and_contraction_rate(trace_of):
    tr = trace_of("truncation-speed")
    fr = model(trace_of, "truncation-speed")
    a = tr.arrays
    widths = np.array(tr.meta["widths"])
    collapsed = a["k_trunc"] == widths[None, :, None]
    i = fr.n_frames - 1
    sn = fr.bracket(fr.snapshot_position(i))[3]
    texts = {lab.name: lab.text for lab in fr.frame(i).labels}
    finite = 0
    for l in range(fr.L):
        j = int(np.argmax([collapsed[:, l][:, a["labels"] == c].sum() for c in range(fr.Q)]))
        n = int(collapsed[sn, l][a["labels"] == j].sum())
        assert texts[f"count_label{l}"].startswith(f"layer {l + 1}: {n} / {int((a['labels'] == j).sum())} "
                                                   f"of class {j + 1}")
        # the rate: an independent plain-numpy estimate over the same window of snapshot intervals
        t = a["steps"] * float(tr.meta["lr"])
        members = a["labels"] == j
        u = fr.snapshot_position(i)
        k = fr.window_snapshots()
        lo, hi = max(0, int(np.floor(u - k))), min(fr.S - 1, int(np.ceil(u + k)))
        rates = []
        for s in range(lo, max(hi, lo + 1)):
            A = members & ~collapsed[s, l] & ~collapsed[s + 1, l]
            if A.sum() < 3:
                continue
            d0 = np.sqrt(np.mean(np.sum((a["truncated"][s, l][A] - a["base_points"][s, l]) ** 2, axis=1)))
            d1 = np.sqrt(np.mean(np.sum((a["truncated"][s + 1, l][A] - a["base_points"][s + 1, l]) ** 2, axis=1)))
            rates.append(-(np.log(d1) - np.log(d0)) / (t[s + 1] - t[s]))
        got = fr.rate_at(l, u)
        if rates:
            assert got == pytest.approx(np.mean(rates), rel=1e-9)
            assert f"{got:.2g}" in texts[f"rate_label{l}"]
            finite += 1
        else:
            assert np.isnan(got) and "none left" in texts[f"rate_label{l}"]
    assert finite >= 1, "no layer of the test run has a rate to check"


def test_count_chart_scales(trace_of):
    log = model(trace_of, "truncation-speed")
    lin = model(trace_of, "truncation-speed", count_scale="linear")
    top = log.plot_ymax
    np.testing.assert_allclose(log.count_y(np.array([0, 9, top]), top), [0, 1 / np.log10(1 + top), 1])
    np.testing.assert_allclose(lin.count_y(np.array([0, top / 2, top]), top), [0, 0.5, 1])
    with pytest.raises(ValueError, match="count_scale"):
        model(trace_of, "truncation-speed", count_scale="sqrt")


@pytest.mark.parametrize("scene", ["truncation-speed", "local-minima", "perturbation"])
def test_nothing_drawn_on_panel_titles(trace_of, scene):
    """Every point and base point of the layer panels lies in a panel's view, below its title strip."""
    fr = model(trace_of, scene)
    for i in range(fr.n_build0, fr.n_frames, 7):
        f = fr.frame(i)
        for p in f.points:
            if p.name.startswith("chart"):
                continue
            inside = np.zeros(len(p.xy), bool)
            for v in fr.views:
                inside |= v.contains(p.xy)
            assert inside.all(), (scene, i, p.name, p.xy[~inside][:3])
        titles = {lab.name: lab for lab in f.labels if re.fullmatch(r"panel\d+", lab.name)}
        for k, v in enumerate(fr.views):
            assert titles[f"panel{k}"].y > v.y + v.h


def test_cones_points_stay_in_the_view(trace_of):
    fr = model(trace_of, "cones")
    for i in range(fr.n_hold0, fr.n_frames, 5):
        for p in fr.frame(i).points:
            assert fr.view.contains(p.xy).all(), (i, p.name)


def test_holds_last_2_5_seconds(trace_of):
    fr = model(trace_of, "local-minima")
    u = np.array([fr.snapshot_position(i) for i in range(fr.n_frames)])
    for s in range(fr.S):
        assert (u == s).sum() >= 2.5 * fr.fps, f"snapshot {s} holds {(u == s).sum() / fr.fps:.2f} s"
    cones = model(trace_of, "cones")
    assert cones.n_hold >= 2.5 * cones.fps


@pytest.mark.parametrize("scene", list(TINY))
def test_text_is_readable_and_classes_count_from_1(trace_of, scene):
    fr = model(trace_of, scene)
    labels = list(fr.static().labels)
    for i in (0, fr.n_frames // 2, fr.n_frames - 1):
        f = fr.frame(i)
        labels += f.labels + f.card
    for lab in labels:
        assert lab.size >= TEXT_MIN - 1e-12, (lab.name, lab.size, lab.text)
        assert not re.search(r"class 0\b", lab.text), (lab.name, lab.text)
        assert lab.text.count("$") % 2 == 0, (lab.name, lab.text)    # balanced mathtext


def test_build_up(trace_of):
    """After the title card the panels appear one by one, and their rays grow."""
    fr = model(trace_of, "truncation-speed")
    first = [fr.appear(l, fr.n_build0 + fr.n_build // 3) for l in range(fr.L + 1)]
    assert first[0][0] > first[-1][0] and first[-1][0] == 0.0
    assert all(fr.appear(l, fr.n_build0 + fr.n_build) == (1.0, 1.0) for l in range(fr.L + 1))


@pytest.mark.parametrize("q", range(2, 9))
def test_truncation_layout_for_every_q(q):
    """Q = 2..8: every label in the frame, the readout rows apart and above the chart, the legend below it."""
    torch.set_num_threads(1)
    mod = experiments.get("truncation-speed")
    tr = mod.run(mod.Config(q=q, n_per_class=200, lr=0.01, steps=10, snapshots=3))[0]
    fr = SCENES["truncation-speed"].frames_class()(tr, fps=10, duration=1.0)
    f = fr.frame(fr.n_frames - 1)
    labels = {lab.name: lab for lab in [*fr.static().labels, *f.labels]}
    for lab in labels.values():
        assert 0.05 <= lab.y - lab.size / 2 and lab.y + lab.size / 2 <= 8.95, (q, lab.name, lab.y)
        if lab.ha == "left":   # nothing runs off the right edge (readouts with counts of 200 and rates)
            assert lab.x + text_width(lab.text, lab.size) <= FIG_W, (q, lab.name, lab.text)
    rows = sorted((lab.y for n, lab in labels.items() if n.startswith(("count_label", "rate_label"))), reverse=True)
    assert all(a - b >= 1.3 * TEXT_MIN for a, b in zip(rows, rows[1:], strict=False)), (q, rows)
    assert rows[-1] - TEXT_MIN > labels["plot_title"].y, q
    assert all(labels[f"legend{l}"].y < fr.plot.y - 0.5 for l in range(fr.L)), q
    for p in f.points:
        inside = np.zeros(len(p.xy), bool)
        for v in fr.views:
            inside |= v.contains(p.xy)
        assert inside.all(), (q, p.name)


@pytest.mark.parametrize("scene", list(TINY))
def test_point_groups_keep_their_kind(trace_of, scene):
    """A named Points group is a ring group in every frame or in none (renderers create it once, on first use)."""
    fr = model(trace_of, scene)
    kind: dict[str, bool] = {}
    for i in range(0, fr.n_frames, 3):
        for p in fr.frame(i).points:
            assert kind.setdefault(p.name, p.ring) == p.ring, (scene, i, p.name)


def test_arrivals_badged_and_trailed(trace_of):
    """The badge's bold ``+k`` counts the points on the base point now that were not there
    ``trail_seconds`` of animation ago (plain numpy on the trace), and each of them has a comet trail."""
    tr = trace_of("truncation-speed")
    fr = model(trace_of, "truncation-speed")
    a = tr.arrays
    collapsed = a["k_trunc"] == np.array(tr.meta["widths"])[None, :, None]
    seen = 0
    for i in range(fr.n_frames):
        f = fr.frame(i)
        sn = fr.bracket(fr.snapshot_position(i))[3]
        then = fr.bracket(fr.snapshot_position(i - int(round(fr.trail_seconds * fr.fps))))[3]
        badges = {lab.name: lab for lab in f.labels if lab.name.startswith("badge")}
        trails = next(s for s in f.segments if s.name == "trails")
        assert trails.width >= 0.03                                  # about 2 px at 480p
        for l in range(fr.L):
            k = int((collapsed[sn, l] & ~collapsed[then, l]).sum())
            text = badges[f"badge{l + 1}"].text
            if badges[f"badge{l + 1}"].alpha == 0:
                continue
            assert text.startswith(f"{int(collapsed[sn, l].sum())}")
            assert (f"$\\mathbf{{+{k}}}$" in text) == (k > 0), (i, l, k, text)
            seen += k > 0
        assert len(trails.xy) % 4 == 0 and len(trails.colors) == len(trails.xy)
    assert seen > 0, "no arrival in the test run to check"


@settings(max_examples=30, deadline=None, derandomize=True)
@given(n=st.integers(0, 12), pieces=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_comet_segments_run_from_tail_to_head(n, pieces, seed):
    from scenes.clips.base import CLASS_COLORS, comet_segments

    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    colors = [CLASS_COLORS[k % 8] for k in range(n)]
    segs, cols = comet_segments(start, end, colors, "#FFFFFF", pieces=pieces, levels=8)
    assert segs.shape == (n * pieces, 2, 2) and len(cols) == n * pieces
    for k in range(n):
        mine = segs[k * pieces:(k + 1) * pieces]
        np.testing.assert_allclose(mine[0, 0], start[k])
        np.testing.assert_allclose(mine[-1, 1], end[k])
        np.testing.assert_allclose(mine[1:, 0], mine[:-1, 1])              # one unbroken line
        assert cols[(k + 1) * pieces - 1] == colors[k]                     # the head in the full colour
        for m in range(pieces):                                            # the tail fainter, by the book
            assert cols[k * pieces + m] == mix(colors[k], "#FFFFFF", round(8 * (1 - (m + 1) / pieces)) / 8)
    faded, fcols = comet_segments(start, end, colors, "#FFFFFF", pieces=pieces, fade=np.ones(n))
    assert all(c == "#FFFFFF" for c in fcols)


def test_cones_wide_layer_rays_drawn_light():
    """A layer wider than M (concentric: 50 unit normals) draws its rays in the thin, light group, not as a cone."""
    from scenes.clips import cones

    mod = experiments.get(SCENES["cones"].experiment)
    tr = mod.run(mod.Config(geometry="concentric", n_per_class=15))[0]
    fr = SCENES["cones"].frames_class()(tr, fps=10, duration=1.0)
    assert fr.widths[0] > fr.M
    i = fr.n_hold0 + fr.n_cone + fr.n_move + 1                             # layer 1 holds
    f = fr.frame(i)
    seg = {s.name: s for s in f.segments}
    wide, now = seg["cone_wide"], seg["cone_now"]
    assert len(wide.xy) == int(np.isfinite(fr.E3[0]).all(axis=1).sum()) and len(now.xy) == 0
    assert wide.width < now.width
    th = fr.theme
    assert all(c == mix(fr.layer_color(0), th["bg"], cones.WIDE_FADE) for c in wide.colors)
    width = next(lab.text for lab in f.labels if lab.name == "width")
    assert width == f"width {fr.widths[0]}: its {fr.widths[0]} unit normals, drawn light"


def test_cones_table_counts_what_is_drawn(trace_of):
    """The cones table and badge during a layer's move count the points of its class already drawn on the base
    point (within its marker), never more than the picture shows: 0 at the move's start, rising, the layer's
    counts (plain numpy: bincount of the collapsed points' labels) from the last move frame and through the hold.
    The collapsed points set off one after another (nearest to the base point first, over the first half of the
    move, each then travelling for half of it), so the count rises through the move rather than at its end."""
    from scenes.clips import cones

    fr = model(trace_of, "cones")
    s = fr.scale                                    # figure units per data unit (the camera)
    rises = 0
    for ll in range(fr.L):
        start = fr.n_hold0 + ll * fr.n_layer + fr.n_cone
        final = np.bincount(fr.labels[fr.collapsed[ll]], minlength=fr.Q)
        prev = np.zeros(fr.Q, int)
        idx = np.flatnonzero(fr.collapsed[ll])
        d3 = np.linalg.norm(fr.T3[ll][idx] - fr.P3[ll], axis=1)
        off = np.zeros(fr.N)                        # when each collapsed point sets off (share of the move)
        off[idx[np.argsort(d3, kind="stable")]] = cones.STAGGER * np.arange(len(idx)) / max(len(idx) - 1, 1)
        for i in range(start, start + fr.n_move + fr.n_hold):
            f = fr.frame(i)
            row = np.array([int(lab.text.split("/")[0]) for lab in f.labels if lab.name.startswith(f"cnt{ll}_")])
            badge = [lab for lab in f.labels if lab.name == f"badge{ll}"][0]
            assert (row >= prev).all() and (row <= final).all()
            _, phase, t = fr.state(i)
            if phase == "hold" or t == 1.0:
                assert (row == final).all()
            else:   # the collapsed points within the full marker of the base point, by their drawn position
                o = np.where(fr.collapsed[ll], np.clip((t - off) / (1 - cones.STAGGER), 0, 1), t)
                e = (3 * o * o - 2 * o * o * o)[:, None]
                P = (1 - e) * fr.T3[ll] + e * fr.T3[ll + 1]
                drawn = [p for p in f.points if p.name in ("points", "collapsed")]
                xy = np.concatenate([p.xy for p in drawn])
                moving = fr._pin(fr._screen(P[idx], fr.azimuth(i)))      # where the collapsed points are drawn
                assert all((np.abs(xy - m).sum(axis=1) < 1e-9).any() for m in moving)
                d = np.linalg.norm(P - fr.P3[ll], axis=1) * s
                cc = fr.layer_class[ll]
                full = int(fr.class_sizes[cc]) if cc >= 0 else fr.N
                r = badge_radius(2.2 * fr.point_r, int(fr.collapsed[ll].sum()), full)
                on = fr.collapsed[ll] & (d <= r + 1e-9)
                assert (row == np.bincount(fr.labels[on], minlength=fr.Q)).all()
            if row.sum():
                assert int(badge.text) == row.sum()
                # drawn, unless (during the move) its box covers more than a couple of points or trail ends
                trails = next(sg for sg in f.segments if sg.name == "trails").xy.reshape(-1, 2)
                pts = np.concatenate([p.xy for p in f.points if p.name in ("points", "collapsed")] + [trails])
                w = max(0.55, text_width(badge.text, 0.22))
                x0 = badge.x if badge.ha == "left" else badge.x - w
                n_in = int(((pts[:, 0] > x0 - 0.04) & (pts[:, 0] < x0 + w + 0.04)
                            & (np.abs(pts[:, 1] - badge.y) < 0.15 + 0.04)).sum())
                assert badge.alpha == 1.0 or (phase == "move" and n_in > cones.BURIED), (i, n_in)
            rises += int(0 < row.sum() < final.sum())
            prev = row
        assert prev.sum() == fr.collapsed[ll].sum()
    assert rises >= fr.L        # the table counts up through each move (frames with some but not all arrived)


def test_badge_anchor_avoids_the_data():
    """A count badge goes to the first corner (upper right, upper left, lower right, lower left) inside the view
    whose box covers the fewest of the points to avoid; without any, to the upper right."""
    from scenes.clips.base import Rect, badge_anchor, ray_samples

    view, p, r = Rect(0.0, 0.0, 4.0, 4.0), np.array([2.0, 2.0]), 0.1
    first = badge_anchor(p, view, r)
    assert first == badge_anchor(p, view, r, avoid=np.zeros((0, 2)))
    assert np.allclose(first[:2], (2.15, 2.27)) and first[2] == "left"
    rng = np.random.default_rng(0)
    ur = rng.uniform([2.15, 2.12], [2.7, 2.42], (40, 2))           # points on the upper-right box
    assert np.allclose(badge_anchor(p, view, r, avoid=ur)[:2], (1.85, 2.27)) and \
        badge_anchor(p, view, r, avoid=ur)[2] == "right"
    ul = ur - [0.85, 0]                                            # and on the upper-left one: lower right
    low = badge_anchor(p, view, r, avoid=np.concatenate([ur, ul]))
    assert np.allclose(low[:2], (2.15, 1.73)) and low[2] == "left"
    assert badge_anchor(p, view, r, avoid=ur[:3])[2] == "right"    # fewest wins, even if not none
    edge = np.array([3.9, 2.0])                                    # no room on the right: the left side
    assert badge_anchor(edge, view, r, avoid=np.zeros((1, 2)) + 9)[2] == "right"
    seg = ray_samples([[[0.0, 0.0], [1.0, 2.0]]], n=3)
    assert np.allclose(seg, [[0, 0], [0.5, 1.0], [1.0, 2.0]]) and ray_samples([]).shape == (0, 2)
