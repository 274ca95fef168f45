"""The ``training`` clip's frame model: each input-space panel's eased zoom keeps every point (and the base point,
where it is framed) in view (against plain numpy, over random clouds and real runs for several Q), its scale bar
says the scale it is drawn at, the step axes carry at least three labelled ticks that never overlap, at every
aspect (four on portrait), and the accuracy ink reads on both themes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_runs import trace_cache

from scenes.clips.base import class_color, text_width
from scenes.clips.training import TrainingFrames, scale_length, step_ticks, zoom_views

FPS = 6
ASPECTS = [None, 1.0, 9 / 16, 0.8, 1.5]


@pytest.fixture(scope="module")
def trace_of():
    configs = {f"q{q}": dict(dataset="clustered", q=q, n_per_class=12, steps=30, eval_every=5) for q in (2, 3, 4, 6)}
    return trace_cache(configs, lambda name: "layers")


def interpolated(T: np.ndarray, s0: int, s1: int, w: float) -> np.ndarray:
    return (1 - w) * T[s0] + w * T[s1]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), S=st.integers(1, 12), N=st.integers(1, 40), J=st.integers(1, 60),
       half=st.integers(0, 6), release=st.floats(0.0, 20.0), cap=st.floats(1.0, 4.0), B=st.integers(0, 4))
def test_zoom_keeps_every_point_and_the_framed_base_point_in_view(seed, S, N, J, half, release, cap, B):
    """Clouds whose size and place change by decades from snapshot to snapshot, some rows NaN, base points near
    and far: at every animation position, every interpolated point (and the base point, where framed) lies
    within the radius of the centre; the base point is framed exactly where it is within ``cap`` radii of the
    points' bounding sphere (plain numpy). ``B = 0``: one base point ``(S, 3)``; else ``B`` of them ``(S, B, 3)``
    (the outputs' reference points), framed together where all are within ``cap`` radii."""
    rng = np.random.default_rng(seed)
    scale = 10.0 ** rng.uniform(-3, 3, S)
    T = rng.normal(size=(S, N, 3)) * scale[:, None, None] + rng.normal(size=(S, 1, 3)) * 10 * scale[:, None, None]
    T[rng.random((S, N)) < 0.1] = np.nan
    mean = np.array([t[np.isfinite(t).all(axis=1)].mean(axis=0) if np.isfinite(t).all(axis=1).any() else np.zeros(3)
                     for t in T])
    nb = max(B, 1)
    P = mean[:, None] + rng.normal(size=(S, nb, 3)) * scale[:, None, None] * 10.0 ** rng.uniform(-1, 1.5, (S, nb, 1))
    P[rng.random((S, nb)) < 0.2] = np.nan
    P = P[:, 0] if B == 0 else P
    u = np.sort(rng.uniform(0, S - 1, J))
    u[0] = 0.0
    c, r, framed = zoom_views(T, P, u, half=half, release=release, cap=cap)
    assert c.shape == (J, 3) and r.shape == (J,) and framed.shape == (J,) and (r > 0).all()
    needs = []
    for j in range(J):
        s0 = int(np.floor(u[j]))
        s1, w = min(s0 + 1, S - 1), u[j] - s0
        pts = interpolated(T, s0, s1, w)
        pts = pts[np.isfinite(pts).all(axis=1)]
        p = interpolated(P, s0, s1, w).reshape(-1, 3)
        if len(pts) and np.isfinite(p).all():
            mid = (pts.min(axis=0) + pts.max(axis=0)) / 2
            rad = np.sqrt(((pts - mid) ** 2).sum(axis=1)).max()
            d = np.sqrt(((p - mid) ** 2).sum(axis=1))
            if (abs(d - cap * rad) > 1e-9 * np.maximum(d, 1e-300)).all():   # (not on the boundary: a tie)
                assert framed[j] == (d <= cap * rad).all()
        else:
            assert not framed[j]
        if framed[j]:
            pts = np.concatenate([pts, p])
        d = np.sqrt(((pts - c[j]) ** 2).sum(axis=1))
        assert (d <= r[j] * (1 + 1e-9)).all(), (j, d.max(), r[j])
        needs.append(d.max() if len(d) else 0.0)
    assert (r >= 0.05 * r.max() * (1 - 1e-12)).all()          # the zoom's limit
    # out as far as needed and no farther, in eased: the stated rule, from the needs measured here
    raw = np.array(needs)
    a = np.exp(-1.0 / release) if release > 0 else 0.0
    want = raw.copy()
    for j in range(1, J):
        want[j] = max(raw[j], raw[j] + a * (want[j - 1] - raw[j]))
    top = want.max()
    want = np.maximum(want, max(0.05 * top, 1e-12)) if top > 0 else np.ones(J)
    np.testing.assert_allclose(r, want, rtol=1e-6, atol=1e-12 * max(top, 1.0))


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("q", [2, 3, 4, 6])
def test_panels_keep_every_point_in_view_and_bars_tell_the_scale(trace_of, q, aspect):
    """Real runs: in every drawn frame each input-space panel shows all its points and its base point unpinned
    (their positions before pinning, from the trace's arrays, inside the panel), and the scale bar's drawn
    length is its label's value at that frame's scale."""
    fr = TrainingFrames(trace_of(f"q{q}"), fps=FPS, duration=2.0, card_seconds=0, aspect=aspect)
    v = fr.v
    assert len(fr.panels) == v.L + 2
    for i in range(0, fr.n_frames, 2):
        u = fr.snapshot_position(i)
        s0 = int(np.floor(u))
        s1, w = min(s0 + 1, v.S - 1), u - s0
        az = fr.azimuth(i)
        f = fr.frame(i)
        labels = {lab.name: lab for lab in f.labels}
        [bars] = [s for s in f.segments if s.name == "scale_bars"]
        for l in range(v.L + 2):                   # the input, the layers and the outputs
            panel = fr.panels[l]
            c, r = fr.view_at(l, i)
            out = l == v.L + 1
            data = (v.X3 if l == 0 else interpolated(v.O3, s0, s1, w) if out
                    else interpolated(v.T3[:, l - 1], s0, s1, w))
            if fr.zoom[l][2][fr.anim_index(i)]:      # the base point (outputs: all reference points), where framed
                data = np.concatenate([data, v.Y3 if out else interpolated(v.P3[:, l - 1], s0, s1, w)[None]])
            data = data[np.isfinite(data).all(axis=1)]
            xy = fr.screen(data, panel, az + fr.out_az, c, r, fr.out_elev) if out else fr.screen(data, panel, az, c, r)
            assert panel.contains(xy).all(), (q, aspect, i, l)
            # numpy: no point is farther from the centre than the radius
            assert np.sqrt(((data - c) ** 2).sum(axis=1)).max() <= r * (1 + 1e-9)
            bar = bars.xy[3 * l]
            length = float(labels[f"scale{l}"].text.replace("$", "").split(" ")[0]) * (
                10.0 ** int(re.search(r"10\^\{(-?\d+)\}", labels[f"scale{l}"].text).group(1))
                if "10^" in labels[f"scale{l}"].text else 1.0)
            assert length == pytest.approx(scale_length(r))
            assert bar[1, 0] - bar[0, 0] == pytest.approx(length * 0.45 * panel.w / r)
            assert 0.3 * r <= length <= 0.8 * r * (1 + 1e-12)


def test_zoom_follows_a_shrinking_layer(trace_of):
    """A panel's radius changes over the run where its cloud does (not one scale for the whole run), and an
    unchanging input keeps one scale."""
    fr = TrainingFrames(trace_of("q4"), fps=FPS, duration=2.0, card_seconds=0)
    radii = np.array([fr.zoom[l][1] for l in range(fr.v.L + 1)])          # (L + 1, S)
    assert any(fr.zoom[l][2].any() for l in range(1, fr.v.L + 1))         # base points are framed
    assert np.ptp(radii[0]) == 0
    assert (radii[1:].max(axis=1) / radii[1:].min(axis=1) > 1.01).any()


@pytest.mark.parametrize("q", [2, 3, 4, 6])
def test_outputs_zoom_pins_far_reference_outputs(trace_of, q):
    """The outputs panel zooms with the outputs: at a frame where the reference outputs are not framed, each one
    outside the view is drawn on the border (its marker inside the panel) with a chevron in its class colour."""
    fr = TrainingFrames(trace_of(f"q{q}"), fps=FPS, duration=2.0, card_seconds=0)
    v, panel = fr.v, fr.panels[-1]
    assert not fr.zoom[-1][2].all()             # (these short runs: the outputs start far from the targets)
    for i in range(fr.n_frames):
        f = fr.frame(i)
        [base] = [p for p in f.points if p.name == "base_points"]
        assert len(base.xy) == v.K and panel.contains(base.xy).all(), (q, i)
        if not fr.zoom[-1][2][fr.anim_index(i)]:
            c, r = fr.view_at(v.L + 1, i)
            far = ~panel.contains(fr.screen(v.Y3, panel, fr.azimuth(i) + fr.out_az, c, r, fr.out_elev))
            [segs] = [s for s in f.segments if s.name == "axes_and_cones"]
            for k in np.flatnonzero(far):          # a chevron (two strokes) at the pinned marker
                near = np.linalg.norm(segs.xy[:, 0] - base.xy[k], axis=1) < 10 * fr.point_r
                assert sum(near & (np.array(segs.colors) == class_color(k))) >= 2, (q, i, k)


@settings(max_examples=200, deadline=None)
@given(last=st.integers(2, 10**7), width=st.floats(2.0, 12.0), end_right=st.booleans())
def test_step_ticks_are_at_least_three_and_never_overlap(last, width, end_right):
    ticks = step_ticks(last, width, 0.19, end_right=end_right)
    steps = [t for t, _ in ticks]
    assert steps[0] == 0 and steps[-1] == last and steps == sorted(set(steps)) and len(steps) >= 3
    boxes = []
    for t, x in ticks:
        assert x == pytest.approx(width * np.log10(1 + t) / np.log10(1 + last))
        tw = text_width(str(t), 0.19)
        boxes.append((x - tw, x) if (end_right and t == last) else (x - tw / 2, x + tw / 2))
    for (_, a1), (b0, _) in zip(boxes, boxes[1:], strict=False):
        assert a1 + 0.15 <= b0 + 1e-9


@pytest.mark.parametrize("aspect", ASPECTS)
@pytest.mark.parametrize("factor", [1, 203])
def test_every_step_axis_has_three_labelled_ticks(trace_of, aspect, factor):
    tr = trace_of("q4")
    arrays = {**tr.arrays, "steps": np.asarray(tr.arrays["steps"]) * factor}
    fr = TrainingFrames(type(tr)(tr.meta, arrays), fps=FPS, duration=1.0, card_seconds=0, aspect=aspect)
    names = [lab.name for lab in fr.static().labels if lab.name.startswith("x_tick")]
    axes = {re.sub(r"\d+$", "", n) for n in names}
    assert axes == ({"x_tick", "x_tickloss_", "x_tickacc_"} if fr.row else {"x_tick"})
    for a in axes:
        assert sum(re.sub(r"\d+$", "", n) == a for n in names) >= 3, (aspect, a, names)


@pytest.mark.parametrize("q", [2, 3, 4, 6])
@pytest.mark.parametrize("factor", [1, 203])
def test_portrait_charts_carry_four_step_ticks_clear_of_the_panels(trace_of, q, factor):
    """9:16: the charts (a column from the grid's free cell, or two rows under the panels) are wide enough for
    at least 4 labelled step ticks on every axis, and no chart overlaps a panel or the key."""
    tr = trace_of(f"q{q}")
    arrays = {**tr.arrays, "steps": np.asarray(tr.arrays["steps"]) * factor}
    fr = TrainingFrames(type(tr)(tr.meta, arrays), fps=FPS, duration=1.0, card_seconds=0, aspect=9 / 16)
    assert fr.column == (q == 3) and fr.row == (q != 3)      # L = 3: a free grid cell (a column of charts)
    names = [lab.name for lab in fr.static().labels if lab.name.startswith("x_tick")]
    for a in {re.sub(r"\d+$", "", n) for n in names}:
        assert sum(re.sub(r"\d+$", "", n) == a for n in names) >= 4, (q, a, names)

    def apart(a, b) -> bool:
        return a.x + a.w <= b.x or b.x + b.w <= a.x or a.y + a.h <= b.y or b.y + b.h <= a.y

    plots = [fr.plot_loss, fr.plot_acc, fr.plot_nc]
    for p in plots:
        assert 0 < p.x and p.x + p.w < fr.fig_w and 0 < p.y and p.y + p.h < fr.fig_h
        assert all(apart(p, r) for r in [*fr.panels, *([fr.key] if fr.key else [])]), (q, p)
    assert all(apart(a, b) for k, a in enumerate(plots) for b in plots[k + 1:])


def test_accuracy_ink_reads_on_both_themes(trace_of):
    """The accuracy curves and their title lines reach 4.5:1 against the background on light and dark."""
    from scenes.clips.base import THEMES, contrast
    for theme in THEMES:
        fr = TrainingFrames(trace_of("q4"), fps=FPS, duration=1.0, card_seconds=0, theme=theme)
        f = fr.frame(fr.n_frames - 1)
        inks = [ln.color for ln in f.lines if ln.name in ("train_acc", "test_acc")]
        inks += [lab.color for lab in f.labels if lab.name in ("acc_title", "acc_test")]
        assert len(inks) == 4
        assert all(contrast(c, THEMES[theme]["bg"]) >= 4.5 for c in inks), (theme, inks)
