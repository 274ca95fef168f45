"""Canvases of any aspect (``--resolution 1080x1080``, ``1080x1920``, ``1620x1080`` ...): every scene laid out
for the canvas, checked over the frame model: every label and point inside the figure, no two labels' boxes
overlapping (boxes from :func:`scenes.clips.base.text_width`), the 16:9 layout itself unchanged (its golden
frames, in ``test_golden_frames.py`` and ``test_scenes.py``). Renders at a small square size with each renderer:
the file is that size and the picture fills it (no letterbox bars)."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from goldens import check_parity, downscale, mpl_frames
from hypothesis import given, settings
from hypothesis import strategies as st
from tiny_runs import trace_cache
from videos import is_blank, probe, read_png

from scenes.backends import export, glyphs
from scenes.clips.base import FIG_H, FIG_W, Label, Rect, figure_size, grid_shape, panel_grid, text_width, wrap_text
from scenes.render import SCENES, make_frames, manim_available, render_trace

# a short run of each scene's experiment, with three-digit class sizes where readouts print counts (the longest
# readout lines of a default run)
TINY: dict[str, dict] = {
    "truncation-speed": dict(n_per_class=120, steps=30, snapshots=4),
    "layers": dict(dataset="clustered", n_per_class=120, steps=20, eval_every=10),
    "flows": dict(n_per_class=3, m=8, widths=(16,), steps=6, tau_max=1.0, alphas=(0.0, 1.0)),
    "cones": dict(geometry="sls", n_per_class=120),
    "local-minima": dict(n_per_class=100, polish_iters=20),
    "perturbation": dict(n_per_class=100, steps=60, snapshots=5),
}
ASPECTS = {"16:9": None, "1:1": 1.0, "9:16": 9 / 16, "3:2": 1.5, "4:5": 0.8, "21:9": 21 / 9}


@pytest.fixture(scope="module")
def trace_of():
    return trace_cache(TINY)


def label_box(lab: Label) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)``: the box of ``lab``'s glyph outlines as drawn (matplotlib's layout and mathtext, what
    the Manim backend draws: :func:`scenes.backends.glyphs.placed`)."""
    curves = glyphs.placed(lab.text, lab.x, lab.y, lab.size, lab.ha, lab.va).reshape(-1, 2)
    if len(curves) == 0:
        return lab.x, lab.y, lab.x, lab.y
    (x0, y0), (x1, y1) = curves.min(axis=0), curves.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


HINTED = 0.03   # matplotlib's Agg text hints glyphs to whole pixels: drawn ~1-2.5 % wider than the outlines


def drawn_box(lab: Label) -> tuple[float, float, float, float]:
    """:func:`label_box` widened by what matplotlib's hinting may add to it (:data:`HINTED` of its width, away
    from its anchor): a label whose outlines end just inside the figure can lose its last glyph in the
    matplotlib renderer (at 1080p a local-minima gradient line lost its closing parenthesis)."""
    x0, y0, x1, y1 = label_box(lab)
    grow = HINTED * (x1 - x0)
    if lab.ha == "left":
        return x0, y0, x1 + grow, y1
    if lab.ha == "right":
        return x0 - grow, y0, x1, y1
    return x0 - grow / 2, y0, x1 + grow / 2, y1


def test_text_width_estimates_the_drawn_width():
    """The frame models fit text by :func:`text_width`: it must not underestimate what is drawn (by > 3 %)."""
    for text in ["Truncation during training  ·  $Q = 3$, $M = 3$", "layer 1: 116 / 200 of class 1",
                 "contraction rate $\\lambda_{1} = -3.2$", "loss $1.05 \\times 10^{-2}$", "0123456789",
                 "collapsed points per class (of 120)", "$\\|\\nabla L\\|$ = $1.7 \\times 10^{-1}$"]:
        x0, _, x1, _ = label_box(Label("t", 0.0, 0.0, text, 0.22, "#000000"))
        assert text_width(text, 0.22) >= 0.97 * (x1 - x0), text


def shown(labels: list[Label]) -> list[Label]:
    return [lab for lab in labels if lab.alpha > 0 and lab.text.strip()]


GAP = 0.12   # figure units (6 px at 480p, two spaces): the least room between two labels side by side on one line


def overlaps(a, b, slack: float = 0.02, gap: float = GAP) -> bool:
    """Boxes ``(x0, y0, x1, y1)`` that overlap (by more than ``slack``), or that share a line (their heights
    overlap by half the lower one's) with less than ``gap`` between them: two labels that touch read as one."""
    dy = min(a[3], b[3]) - max(a[1], b[1])
    same_line = dy > 0.5 * min(a[3] - a[1], b[3] - b[1])
    g = gap if same_line else -slack
    return a[0] < b[2] + g and b[0] < a[2] + g and dy > slack


def test_overlaps_catches_touching_labels():
    """The local-minima chart's pattern names 0.525 apart, 0.5 wide (at 16:9 with 8 patterns): touching."""
    a, b = label_box(Label("a", 0.0, 0.0, "110", 0.19, "#000", "center")), \
        label_box(Label("b", 0.525, 0.0, "101", 0.19, "#000", "center"))
    assert a[2] < b[0] and overlaps(a, b)                      # not overlapping, but touching
    c = label_box(Label("c", 0.0, -0.25, "101", 0.19, "#000", "center"))
    assert not overlaps(a, c) and not overlaps(b, c)           # one line lower: fine


def layout_problems(model, frames: list[int]) -> list[str]:
    """What is outside the figure or overlapping in ``model``'s static frame joined with each of ``frames``."""
    W, H = model.fig_w, model.fig_h
    out = []
    static = model.static()
    for i in frames:
        f = model.frame(i)
        card = f.cover >= 1.0
        labels = shown(f.card) if card else shown(static.labels + f.labels)
        for lab in labels:
            x0, y0, x1, y1 = drawn_box(lab)
            if x0 < -0.02 or y0 < -0.02 or x1 > W + 0.02 or y1 > H + 0.02:
                out.append(f"frame {i}: {lab.name} {lab.text!r} outside the {W:g} x {H:g} figure "
                           f"({x0:.2f}, {y0:.2f}, {x1:.2f}, {y1:.2f})")
        for a, b in itertools.combinations(labels, 2):
            if a.name.startswith("badge") and b.name.startswith("badge"):
                continue      # two base points' count badges: where they go follows the data, not the layout
            if overlaps(label_box(a), label_box(b)):
                out.append(f"frame {i}: {a.name} {a.text!r} overlaps {b.name} {b.text!r}")
        if card:
            continue
        for p in static.points + f.points:
            if len(p.xy) and ((p.xy < -1e-6).any() or (p.xy[:, 0] > W + 1e-6).any() or (p.xy[:, 1] > H + 1e-6).any()):
                out.append(f"frame {i}: points {p.name} outside the figure")
        for s in static.segments + f.segments:
            if len(s.xy) and ((s.xy < -0.05).any() or (s.xy[..., 0] > W + 0.05).any()
                              or (s.xy[..., 1] > H + 0.05).any()):
                out.append(f"frame {i}: segments {s.name} outside the figure")
    return out


def picks(model) -> list[int]:
    card = model.card.n_full - 1 if getattr(model, "card", None) else 0
    n = model.n_frames
    return sorted({card, n // 3, n // 2, (2 * n) // 3, n - 1})


def test_figure_size():
    assert figure_size(None) == (FIG_W, FIG_H) == figure_size(854 / 480) == figure_size(16 / 9)
    assert figure_size(1.0) == (9.0, 9.0)
    assert figure_size(9 / 16) == (9.0, 16.0)
    assert figure_size(1.5) == (13.5, 9.0)
    with pytest.raises(ValueError):
        figure_size(10.0)


def test_grid_shape_keeps_the_16x9_grids():
    """The grids the scenes had at 16:9 (one row up to 2 panels, two rows up to 6, three beyond)."""
    area = Rect(0.3, 0.35, 9.9, 7.6)
    for n in range(1, 16):
        old = 1 if n <= 2 else (3 if n > 6 else 2)
        assert grid_shape(n, area)[0] == old, n
    tall = Rect(0.3, 5, 8.4, 10)
    assert grid_shape(3, tall) == (2, 2) and grid_shape(2, tall) == (2, 1)
    for n in range(1, 9):
        ps = panel_grid(n, tall)
        for a, b in itertools.combinations(ps, 2):    # panels never overlap, and stay in the area
            assert a.x + a.w <= b.x + 1e-9 or b.x + b.w <= a.x + 1e-9 or a.y + a.h <= b.y + 1e-9 \
                or b.y + b.h <= a.y + 1e-9
        assert all(p.x >= tall.x - 1e-9 and p.x + p.w <= tall.x + tall.w + 1e-9 for p in ps)


@pytest.mark.parametrize("aspect", list(ASPECTS), ids=list(ASPECTS))
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_scene_fits_the_canvas(scene, aspect, trace_of):
    spec = SCENES[scene]
    model = make_frames(trace_of(spec.experiment), 6, 1.0, "light", scene=scene, aspect=ASPECTS[aspect])
    W, H = figure_size(ASPECTS[aspect])
    assert (model.fig_w, model.fig_h) == (W, H)
    bad = layout_problems(model, picks(model))
    assert not bad, f"{scene} at {aspect}:\n" + "\n".join(bad[:20])


def content_box(img: np.ndarray, bg: int = 250) -> tuple[float, float]:
    """The shares of ``img``'s width and height that its non-background pixels span (light theme: white)."""
    ink = (img < bg).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return (cols[-1] - cols[0] + 1) / img.shape[1], (rows[-1] - rows[0] + 1) / img.shape[0]


@pytest.mark.parametrize("renderer", ["matplotlib", "manim"])
def test_square_render_fills_the_canvas(renderer, trace_of, tmp_path):
    """A 320x320 clip of ``cones`` with each renderer: that size, and its picture spans the canvas (first and
    last frames: no letterbox bars)."""
    if renderer == "manim" and not manim_available():
        pytest.skip("Manim is not installed")
    [mp4] = render_trace(trace_of("cones"), tmp_path, "sq", fmt="mp4", quality="l", renderer=renderer,
                         duration=0.5, fps=4, resolution="320x320", scene="cones", jobs=1)
    info = probe(mp4)
    assert (info.width, info.height) == (320, 320)
    first, last = export.frames_at(mp4, [0.0, 1e9])
    w, h = content_box(last)
    assert w > 0.8 and h > 0.8, (w, h)
    assert not is_blank(last[:40]) and not is_blank(last[-40:]), "the top and bottom rows hold the layout"
    assert content_box(first)[0] > 0.6, "the title card is laid out for the square too"
    if renderer == "manim":   # parity: the matplotlib renderer draws the same square frame
        model = make_frames(trace_of("cones"), 4, 0.5, "light", scene="cones", aspect=1.0)
        last_i = model.n_frames - 1
        ref = mpl_frames(model, [last_i], 320, 320)[last_i]
        check_parity({0: downscale(ref)}, {0: downscale(last)}, "cones 320x320")


def test_portrait_storyboard_and_stills(trace_of, tmp_path):
    """A portrait (9:16) render's stills and storyboard keep the canvas's shape."""
    files = render_trace(trace_of("truncation-speed"), tmp_path, "pt", fmt="storyboard,png", at=[5.0],
                         quality="l", renderer="matplotlib", duration=0.5, fps=4, resolution="180x320", jobs=1)
    png = [f for f in files if f.name == "pt_t005.00.png"][0]
    img = read_png(png)
    assert img.shape == (320, 180, 3) and min(content_box(img)) > 0.8
    board = read_png([f for f in files if f.name.endswith("_storyboard.png")][0])
    assert board.shape[0] > board.shape[1]          # portrait panels: the page is taller than wide


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "class", "$Q = 3$", "$\\mathbb{R}^{3}$,", "600", "points", "(balls", "0.25)",
                                 "contraction", "$e^{-\\lambda t}$"]), min_size=1, max_size=30),
       st.floats(2.0, 15.0), st.sampled_from([0.19, 0.24, 0.42]))
def test_wrap_text_keeps_words_and_fits(words, room, size):
    text = " ".join(words)
    lines = wrap_text(text, size, room)
    assert " ".join(lines).split(" ") == text.split(" ")          # every word, in order, math never split
    for ln in lines:
        assert text_width(ln, size) <= room + 1e-9 or " " not in ln.replace("$Q = 3$", "Q").replace(
            "$e^{-\\lambda t}$", "e")                             # a line overflows only as one word
    if text_width(text, size) <= room:
        assert lines == [text]


@pytest.mark.parametrize("aspect", ["16:9", "1:1", "9:16"])
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_scene_fits_the_canvas_with_long_runs(scene, aspect, trace_of):
    """The same with the step counts of a long run (four-digit tick labels on the step axes: at Q = 8 a square
    truncation-speed chart had its last two ticks run into each other, '50006092')."""
    spec = SCENES[scene]
    tr = trace_of(spec.experiment)
    if "steps" not in tr.arrays:
        pytest.skip(f"{scene}: no step axis")
    model = make_frames(long_run(tr), 6, 1.0, "light", scene=scene, aspect=ASPECTS[aspect])
    bad = layout_problems(model, picks(model))
    assert not bad, f"{scene} at {aspect}:\n" + "\n".join(bad[:20])


def longest_local_minima_readout(tr):
    """``tr`` (a local-minima trace) at its longest readout, whatever the run did on this machine (a tiny run
    lands rank-deficient on some CPUs and not on others): every snapshot's picture approximate (a large
    representation residual: the note for a rank-deficient cumulative ``W^(l)`` shows in every frame) and its
    gradient norms with two-digit exponents (L-BFGS in float64 ends near 1e-14)."""
    a = dict(tr.arrays)
    for name, v in (("residual", 1.0), ("grad_norm", 5.3e-10), ("grad_norm_hidden", 4.8e-11)):
        a[name] = np.full_like(np.asarray(a[name], dtype=float), v)
    return type(tr)(tr.meta, a)


def long_run(tr):
    """``tr`` with the step counts of a long run (five-digit step numbers in readouts and tick labels)."""
    return type(tr)(tr.meta, {**tr.arrays, "steps": np.asarray(tr.arrays["steps"]) * 203})


@pytest.mark.parametrize("aspect", list(ASPECTS), ids=list(ASPECTS))
def test_local_minima_longest_readout_fits(aspect, trace_of):
    """The local-minima readout at its longest fits the canvas. Before: the approximate-picture note ran off the
    right edge at 16:9 and into the chart's tick labels at 1:1, and at 16:9 the gradient line ran off the edge."""
    model = make_frames(longest_local_minima_readout(trace_of("local-minima")), 6, 1.0, "light",
                        scene="local-minima", aspect=ASPECTS[aspect])
    frames = picks(model)
    assert any(lab.name == "approx" and lab.alpha > 0 for i in frames for lab in model.frame(i).labels)
    bad = layout_problems(model, frames)
    assert not bad, f"local-minima at {aspect}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("aspect", ["16:9", "9:16"])
@pytest.mark.parametrize("scene", sorted(SCENES))
def test_nothing_drawn_on_the_border(scene, aspect, trace_of):
    """What the matplotlib renderer draws (hinted text is ~1-2.5 % wider than its outlines) keeps off the frame's
    outermost two pixels, with the scene's own run, a long run's step counts and, for local-minima, its longest
    readout: a label reaching the border is cut there (before: at 16:9 a local-minima gradient line lost its
    closing parenthesis at 1080p; a perturbation chart's five-digit last tick and its verdict line touched the
    right edge)."""
    tr = trace_of(SCENES[scene].experiment)
    variants = {"own run": tr}
    if "steps" in tr.arrays:
        variants["long run"] = long_run(tr)
    if scene == "local-minima":
        variants["longest readout"] = longest_local_minima_readout(tr)
    W, H = figure_size(ASPECTS[aspect])
    height = 480
    width = int(round(height * W / H / 2)) * 2
    bad = []
    for what, t in variants.items():
        model = make_frames(t, 6, 1.0, "light", scene=scene, aspect=ASPECTS[aspect])
        for i, img in mpl_frames(model, picks(model), width, height).items():
            ring = np.concatenate([img[:, :2].reshape(-1, 3), img[:, -2:].reshape(-1, 3),
                                   img[:2].reshape(-1, 3), img[-2:].reshape(-1, 3)]).astype(int)
            n = int((np.abs(ring - img[0, 0].astype(int)).max(axis=1) > 30).sum())
            if n:
                bad.append(f"{what}, frame {i}: {n} border pixels drawn on")
    assert not bad, f"{scene} at {aspect}: " + "; ".join(bad)


@functools.cache
def run_at_q(experiment: str, q: int, **overrides):
    """The tiny run of :data:`TINY` for ``experiment`` at ``Q = q`` (``overrides``: other config values)."""
    from geomdl import experiments  # noqa: PLC0415

    mod = experiments.get(experiment)
    return mod.run(mod.Config(**{**TINY[experiment], "q": q, **overrides}))[0]


def problems_on_every_canvas(scene: str, variants: dict) -> list[str]:
    """:func:`layout_problems` of ``scene`` for each trace of ``variants`` (name -> trace) on every canvas."""
    bad = []
    for what, t in variants.items():
        for aspect in ASPECTS:
            model = make_frames(t, 6, 1.0, "light", scene=scene, aspect=ASPECTS[aspect])
            bad += [f"{what}, {aspect}: {p}" for p in layout_problems(model, picks(model))]
    return bad


@pytest.mark.parametrize("q", [pytest.param(2, marks=pytest.mark.slow), 4, pytest.param(5, marks=pytest.mark.slow),
                               pytest.param(6, marks=pytest.mark.slow)])
def test_local_minima_fits_the_canvas_for_every_q(q):
    """local-minima at every Q it takes (2..6), own readout and longest readout, on every canvas. Before: from
    Q = 4 the pattern line ran off the 16:9 edge, the approximate-picture note (Q = 4) and the layer lines
    (Q = 6) ran into the chart's title beside them, and on square canvases the last pattern's name left the
    figure."""
    tr = run_at_q("local-minima", q, n_per_class=20, polish_iters=2)   # (2^q - 1 L-BFGS runs: kept short)
    bad = problems_on_every_canvas("local-minima", {"own run": tr, "longest readout": longest_local_minima_readout(tr)})
    assert not bad, f"Q = {q}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize("q", [pytest.param(2, marks=pytest.mark.slow), 5, pytest.param(8, marks=pytest.mark.slow)])
@pytest.mark.parametrize("scene", sorted(s for s in SCENES if s != "local-minima"))   # (its own test: Q <= 6)
def test_scene_fits_the_canvas_at_every_q(scene, q):
    """Every scene at Q = 2, 5, 8 (not only the Q = 3 of the other tests), its own run and a long run's step
    counts, on every canvas. Before: perturbation's distances line (one value a layer) ran off the 16:9 edge from
    Q = 5 and its readout into the charts beside it at Q = 8; flows' rank line (three-digit ranks at Q = 8) into
    the chart's tick labels on square canvases; layers' point count line off a 3:2 canvas at Q = 2."""
    tr = run_at_q(SCENES[scene].experiment, q)
    variants = {"own run": tr, **({"long run": long_run(tr)} if "steps" in tr.arrays else {})}
    bad = problems_on_every_canvas(scene, variants)
    assert not bad, f"{scene} at Q = {q}:\n" + "\n".join(bad[:20])
