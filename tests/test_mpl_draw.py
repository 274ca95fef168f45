"""The matplotlib drawer's non-text shortcuts give the reference pixels: the direct polyline draw is
``Line2D.draw``, the per-colour point selection is ``flatnonzero`` per colour, and whole frames of random
primitives (segments, polylines, points, labels, a fading or opaque title-card cover) drawn by the fast drawer
in any order equal those of the reference drawer (``cache_text=False``: every artist by its own ``draw``)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from drawing import canvas  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from scenes.backends.mpl_renderer import (  # noqa: E402
    MplFrameDrawer,
    _by_colour,
    _draw_line,
    _plain_line,
)
from scenes.clips.base import PALETTE, THEMES, Frame, Label, Points, Polyline, Segments  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(n=st.integers(0, 1200), seed=st.integers(0, 2**31), lw=st.sampled_from([0.0, 0.4, 1.0, 2.5, 7.0]),
       colour=st.sampled_from(["#1f77b4", "#D62728", "#00000080"]), alpha=st.sampled_from([None, 1.0, 0.35]),
       cap=st.sampled_from(["round", "butt", "projecting"]), join=st.sampled_from(["round", "miter", "bevel"]),
       ls=st.sampled_from(["-", "--"]), nan=st.booleans(), theme=st.sampled_from(sorted(THEMES)))
def test_polylines_are_line2d_draws(n, seed, lw, colour, alpha, cap, join, ls, nan, theme):
    """``_draw_line`` gives the pixels of ``Line2D.draw`` (on and off the canvas, NaN breaks, zero width, caps,
    joins); dashed lines and more than 1000 points are left to matplotlib."""
    rng = np.random.default_rng(seed)
    xy = np.cumsum(rng.normal(0, 15, (n, 2)), axis=0) + [160, 60]
    if nan and n:
        xy[rng.integers(0, n, max(1, n // 10))] = np.nan
    pix = []
    figs = []
    try:
        for direct in (True, False):
            fig, ax = canvas(THEMES[theme])
            figs.append(fig)
            (art,) = ax.plot([], [], color=colour, lw=lw, alpha=alpha, solid_capstyle=cap, solid_joinstyle=join,
                             ls=ls)
            art.set_animated(True)
            fig.canvas.draw()
            art.set_data(xy[:, 0], xy[:, 1])
            r = fig.canvas.get_renderer()
            if direct:
                assert _plain_line(art) == (n <= 1000 and ls == "-")
                if _plain_line(art):
                    _draw_line(art, r, ax.transData.get_affine().frozen())
                else:
                    art.draw(r)
            else:
                art.draw(r)
            pix.append(np.asarray(r.buffer_rgba()).copy())
        assert np.array_equal(pix[0], pix[1])
        if n > 1 and not nan and lw > 0.5:
            assert (pix[0] != pix[0][0, 0]).any()   # something was drawn
    finally:
        for f in figs:
            plt.close(f)


@settings(max_examples=200, deadline=None)
@given(color=st.lists(st.integers(-30, 30), max_size=300),
       dtype=st.sampled_from(["int64", "int32", "uint8", "float64"]))
def test_points_by_colour_are_flatnonzero(color, dtype):
    c = np.array(color, dtype=np.int64)
    if dtype == "uint8":
        c = np.abs(c)
    c = c.astype(dtype)
    got = _by_colour(c)
    cls = c % len(PALETTE)
    want = [np.flatnonzero(cls == k) for k in range(len(PALETTE))]
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w)


class RandomFrames:
    """A frame model of random primitives: frames ``0..n-1`` from one seed each (pure in ``i``); the first
    ``card`` frames carry a title card whose cover is opaque, then fades."""
    fig_w, fig_h = 16.0, 9.0

    def __init__(self, seed: int, n: int, card: int, theme: str, vary: bool = False):
        self.seed, self.n_frames, self.card, self.fps, self.vary = seed, n, card, 15, vary
        self.theme = THEMES[theme]

    def static(self) -> Frame:
        return Frame(segments=[Segments("frame", np.array([[[0.2, 0.2], [15.8, 0.2]], [[0.2, 0.2], [0.2, 8.8]]]),
                                        ["#BBBBBB"] * 2, 0.02)],
                     labels=[Label("title", 0.5, 8.5, "random frames", 0.25, self.theme["fg"])])

    def frame(self, i: int) -> Frame:
        rng = np.random.default_rng([self.seed, i])
        k = int(rng.integers(2, 40))
        seg = rng.uniform(-1, 17, (k, 2, 2))
        cols = [["#1f77b4", "#D62728", "#2CA02C", "#8C8C8C"][j % 4] for j in range(k)]
        lines = [Polyline(f"line{j}", np.cumsum(rng.normal(0, 0.4, (int(rng.integers(0, 60)), 2)), axis=0) + 4,
                          ["#1A1A1A", "#D62728"][j], float(rng.uniform(0.005, 0.08))) for j in range(2)]
        m = int(rng.integers(0, 400))
        pts = [Points("pts", rng.uniform(0, 16, (m, 2)) * [1, 9 / 16], rng.integers(0, len(PALETTE), m), 0.05),
               Points("ring", rng.uniform(0, 9, (3, 2)), rng.integers(0, 3, 3), 0.15, ring=True)]
        labels = [Label("step", 12.0, 1.0, f"step {i}", 0.3, self.theme["fg"]),
                  Label("loss", 12.0, 2.0, f"$\\lambda = {rng.uniform():.3f}$", 0.3, "#D62728", alpha=0.8)]
        width, alpha = (float(rng.uniform(0.01, 0.06)), float(rng.uniform(0.3, 1.0))) if self.vary else (0.03, 0.9)
        f = Frame(points=pts, segments=[Segments("segs", seg, cols, width, alpha=alpha)], lines=lines,
                  labels=labels)
        if i < self.card:
            full = max(1, self.card - 3)
            f.cover = 1.0 if i < full else (self.card - i) / 4
            f.card = [Label("card", 8.0, 4.5, "A title card", 0.5, self.theme["fg"], ha="center", alpha=f.cover)]
        return f


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**31), theme=st.sampled_from(sorted(THEMES)), card=st.integers(0, 8),
       order_seed=st.integers(0, 2**31))
def test_random_frames_match_the_reference_drawer(seed, theme, card, order_seed):
    frames = RandomFrames(seed, 12, card, theme)
    fast = MplFrameDrawer(frames, 320, 180)
    ref = MplFrameDrawer(frames, 320, 180, cache_text=False)
    try:
        order = list(range(frames.n_frames))
        np.random.default_rng(order_seed).shuffle(order)
        for i in [*order, *order]:
            assert np.array_equal(fast.draw(i), ref.draw(i)), i
    finally:
        fast.close()
        ref.close()


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**31), order_seed=st.integers(0, 2**31))
def test_a_frame_does_not_depend_on_the_frames_drawn_before(seed, order_seed):
    """Segments whose width and alpha, polylines whose width change from frame to frame: a frame drawn after
    others in any order equals the frame drawn first by a fresh drawer (the contract that lets frames be drawn
    in any order and process). Fails when an artist keeps the look of the frame that created it."""
    frames = RandomFrames(seed, 6, 0, "light", vary=True)
    drawer = MplFrameDrawer(frames, 320, 180)
    try:
        order = list(range(frames.n_frames))
        np.random.default_rng(order_seed).shuffle(order)
        got = {i: drawer.draw(i).copy() for i in order}
    finally:
        drawer.close()
    for i in order[1:]:
        fresh = MplFrameDrawer(frames, 320, 180)
        try:
            assert np.array_equal(fresh.draw(i), got[i]), i
        finally:
            fresh.close()
