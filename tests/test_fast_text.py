"""Plain text laid out from glyph tables gives matplotlib's own metrics, glyph runs and pixels."""

from __future__ import annotations

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from drawing import blends_both_ways, canvas, twin_labels  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.backends.backend_agg import RendererAgg, get_hinting_flag  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402

from scenes.backends.fast_text import FastPlainText  # noqa: E402
from scenes.backends.mpl_renderer import GlyphCache, TextCache  # noqa: E402
from scenes.clips.base import THEMES  # noqa: E402

# Latin, digits, punctuation, the readouts' characters, kerning pairs (AV, To, -A, LT), ligatures (fl, fi, ffi),
# a soft hyphen, a combining accent, Greek and Cyrillic (other scripts: other shaping runs), a tab
LATIN = "".join(chr(c) for c in range(32, 127)) + "·×÷±°µ¼éÀÿĀŁœƒǅ"
OTHER = "\xad\u0301λΣжЖ\t\u2212\u2013…"
_latin = st.text(alphabet=LATIN, min_size=1, max_size=24)
_any = st.text(alphabet=LATIN + OTHER + "flfiffi", min_size=0, max_size=24)
_size = st.floats(5.0, 48.0)
_dpi = st.sampled_from([72, 100, 150])

_RENDERERS: dict = {}


def _fast(dpi: int) -> FastPlainText:
    """One renderer per dpi with the fast path installed (tables reused across examples, as in a render)."""
    if dpi not in _RENDERERS:
        r = RendererAgg(640, 360, dpi)
        _RENDERERS[dpi] = (r, FastPlainText.install(r))
    return _RENDERERS[dpi][1]


def _reference(fast: FastPlainText, s: str, prop):
    """matplotlib's metrics (the original method) and glyph run (``FT2Font._layout``) of ``s``."""
    metrics = fast.original(s, prop, False)
    font = fast.renderer._prepare_font(prop)
    run = [(it.ft_object, it.glyph_index, it.x, it.y) for it in font._layout(s, flags=get_hinting_flag())]
    return metrics, font, run


@settings(max_examples=400, deadline=None)
@given(s=_latin, size=_size, dpi=_dpi)
def test_latin_strings_match_matplotlib(s, size, dpi):
    fast = _fast(dpi)
    prop = FontProperties(family="DejaVu Sans", size=size)
    metrics, font, run = _reference(fast, s, prop)
    got = fast.metrics(s, prop)
    got_run = fast.run(s, prop)
    ligature = any(len(font._layout(s[i:i + 2], flags=get_hinting_flag())) != 2 for i in range(len(s) - 1))
    if not ligature:   # every string of these characters without a ligature pair (ff, fi, fl) is handled
        assert got is not None and got_run is not None, s
    if got is not None:
        assert got == metrics, s
    if got_run is not None:
        assert got_run[0] is font and got_run[1] == run, s


@settings(max_examples=300, deadline=None)
@given(s=_any, size=_size, dpi=_dpi)
def test_any_string_is_matplotlibs_or_left_to_it(s, size, dpi):
    """Ligatures, marks, invisible characters and other scripts: either the same result or ``None``."""
    fast = _fast(dpi)
    prop = FontProperties(family="DejaVu Sans", size=size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # a glyph missing from the font warns (matplotlib's own path)
        metrics, font, run = _reference(fast, s, prop)
    got, got_run = fast.metrics(s, prop), fast.run(s, prop)
    if got is not None:
        assert got == metrics, s
    if got_run is not None:
        assert got_run[0] is font and got_run[1] == run, s
    if any(c in s for c in OTHER) or not s:
        assert got is None and got_run is None, s


@pytest.mark.parametrize("s", ["step 0 / 1487", "layer 1: 118 / 200 of class 1", "200", "float64",
                               "AVAWAY To -A LT", "stopped: budget   ·   geomdl 0.1.0"])
def test_readouts_and_kerning_pairs(s):
    fast = _fast(100)
    for size in (9.3, 13.89, 22.2):
        prop = FontProperties(family="DejaVu Sans", size=size)
        metrics, font, run = _reference(fast, s, prop)
        got, got_run = fast.metrics(s, prop), fast.run(s, prop)
        assert (got is None) == (got_run is None) == ("fl" in s)   # the ligature: matplotlib lays it out
        assert got is None or (got == metrics and got_run[1] == run)


@settings(max_examples=120, deadline=None)
@given(s=_latin, theme=st.sampled_from(sorted(THEMES)), size=st.floats(6.0, 30.0),
       x=st.floats(10.0, 200.0), y=st.floats(20.0, 100.0), ha=st.sampled_from(["left", "center", "right"]),
       va=st.sampled_from(["baseline", "bottom", "center", "top"]), colour=st.sampled_from(["fg", "muted"]))
def test_drawn_labels_are_matplotlibs_pixels(s, theme, size, x, y, ha, va, colour):
    """A label drawn through the renderer's cached text path (glyph tables, glyph bitmap cache) has exactly the
    pixels of matplotlib's ``Text.draw``, in both themes, at sub-pixel places."""
    th = THEMES[theme]
    figs = []
    try:
        pix = []
        for cached in (True, False):
            fig, ax = canvas(th)
            figs.append(fig)
            art = ax.text(x, y, s, color=th[colour], ha=ha, va=va, fontsize=size, family="DejaVu Sans")
            art.set_animated(True)
            fig.canvas.draw()
            r = fig.canvas.get_renderer()
            if cached:
                cache = TextCache()
                GlyphCache.install(r)
                cache.fast = FastPlainText.install(r)
                cache.draw(art, (s, th[colour], None, x, y, ha, va, size), r,
                           np.asarray(r.buffer_rgba()), None)
                assert cache.fast.fast + cache.fast.slow >= 1
            else:
                art.draw(r)
            pix.append(np.asarray(r.buffer_rgba()).copy())
        assert np.array_equal(pix[0], pix[1]), s
        assert (pix[0] != pix[0][0, 0]).any() or not s.strip()   # something was drawn
    finally:
        for f in figs:
            plt.close(f)


_glyph = st.tuples(st.integers(-6, 60), st.integers(-6, 90), st.integers(0, 14), st.integers(0, 14),
                   st.integers(0, 2**31))


@settings(max_examples=150, deadline=None)
@given(glyphs=st.lists(_glyph, min_size=0, max_size=12), colour=st.sampled_from(["#1A1A1A", "#F2F2F2", "#C0392B"]),
       alpha=st.sampled_from([None, 1.0, 0.5, 0.137]), bg=st.sampled_from(sorted(THEMES)))
def test_blended_layers_are_the_per_glyph_blends(glyphs, colour, alpha, bg):
    """``blend_glyphs`` gives the pixels of one ``draw_text_image`` per glyph in order, for overlapping glyphs,
    glyphs off the canvas's edges, blank glyphs, any colour and alpha, on either theme's background."""
    placed = []
    for r0, c0, h, w, seed in glyphs:
        img = np.random.default_rng(seed).integers(0, 256, (h, w)).astype(np.uint8)
        img[img < 60] = 0                                     # glyphs have uncovered pixels
        placed.append((r0, c0, img))
    got, want = blends_both_ways(placed, colour, alpha, bg, 64, 80)
    assert np.array_equal(got, want)


_readout = st.one_of(
    st.integers(0, 99999).map(lambda n: f"step {n} / 1487"),
    st.tuples(st.integers(1, 9), st.integers(0, 99), st.integers(1, 6)).map(
        lambda t: f"loss ${t[0]}.{t[1]:02d} \\times 10^{{-{t[2]}}}$"),
    st.tuples(st.integers(1, 8), st.integers(-999, 999)).map(
        lambda t: f"contraction rate $\\lambda_{{{t[0]}}} = {t[1] / 1000:.3g}$"),
    st.integers(0, 999).map(str), _latin)


@settings(max_examples=25, deadline=None)
@given(texts=st.lists(_readout, min_size=2, max_size=12), theme=st.sampled_from(sorted(THEMES)),
       ha=st.sampled_from(["left", "center", "right"]), va=st.sampled_from(["baseline", "center", "top"]),
       size=st.sampled_from([9.0, 14.4, 21.3]))
def test_a_sequence_of_readouts_is_matplotlibs(texts, theme, ha, va, size):
    """Readouts drawn one after another by one cache (layouts reused by metrics, glyph runs, bitmaps) have the
    pixels of ``Text.draw`` and the layout of ``Text._get_layout``, frame after frame."""
    th = THEMES[theme]
    figs, arts, rs, backgrounds, cache, _ = twin_labels(th, 31.3, 57.7, texts[0], color=th["fg"], ha=ha, va=va,
                                                        fontsize=size)
    try:
        for s in texts:
            for art in arts:
                art.set_text(s)
            pix = []
            for k, r in enumerate(rs):
                np.asarray(r.buffer_rgba())[...] = backgrounds[k]
                if k == 0:
                    shape = (s, ha, va, size)
                    assert cache._layout(arts[0], shape, r) == arts[1]._get_layout(rs[1])[1], s
                    cache.draw(arts[0], (s, th["fg"], None, 31.3, 57.7, ha, va, size), r,
                               np.asarray(r.buffer_rgba()), None)
                else:
                    arts[1].draw(r)
                pix.append(np.asarray(r.buffer_rgba()).copy())
            assert np.array_equal(pix[0], pix[1]), s
    finally:
        for fig, _ in figs:
            plt.close(fig)


def _same_pixels_as_own_draw(theme: dict, add, direct) -> None:
    """The artist ``add(ax)`` puts on a fresh canvas, drawn by ``direct(art, renderer, ax)`` and by its own
    ``draw``: the same pixels."""
    pix = []
    figs = []
    try:
        for use_direct in (True, False):
            fig, ax = canvas(theme)
            figs.append(fig)
            art = add(ax)
            art.set_animated(True)
            fig.canvas.draw()
            r = fig.canvas.get_renderer()
            if use_direct:
                direct(art, r, ax)
            else:
                art.draw(r)
            pix.append(np.asarray(r.buffer_rgba()).copy())
        assert np.array_equal(pix[0], pix[1])
    finally:
        for f in figs:
            plt.close(f)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 1200), seed=st.integers(0, 2**31), ms=st.floats(0.5, 12.0), mew=st.floats(0.0, 3.0),
       mfc=st.sampled_from(["#1f77b4", "#D62728", "none"]), mec=st.sampled_from(["none", "#000000", "auto"]),
       alpha=st.sampled_from([None, 1.0, 0.4]), nan=st.booleans(), theme=st.sampled_from(sorted(THEMES)))
def test_marker_lines_are_line2d_draws(n, seed, ms, mew, mfc, mec, alpha, nan, theme):
    """The renderer's direct marker draw (``_draw_markers``) gives the pixels of ``Line2D.draw`` (points on and
    off the canvas, NaN points, more than 1000 sorted points left to matplotlib)."""
    from scenes.backends.mpl_renderer import _draw_markers, _marker_only  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    xy = rng.uniform(-20, 340, (n, 2))
    if n > 1000 and seed % 2:
        xy = xy[np.argsort(xy[:, 0])]
    if nan and n:
        xy[rng.integers(0, n, max(1, n // 10))] = np.nan

    def direct(art, r, ax):
        assert _marker_only(art) == (n <= 1000)
        if _marker_only(art):
            _draw_markers(art, r, ax.transData.get_affine().frozen(), {})
        else:
            art.draw(r)

    def add(ax):
        return ax.plot(xy[:, 0], xy[:, 1], "o", ms=ms, mew=mew, mfc=mfc, mec=mec, ls="none", alpha=alpha)[0]

    _same_pixels_as_own_draw(THEMES[theme], add, direct)


@settings(max_examples=60, deadline=None)
@given(k=st.integers(0, 60), seed=st.integers(0, 2**31), lw=st.floats(0.3, 6.0), alpha=st.sampled_from([None, 0.7]),
       colours=st.lists(st.sampled_from(["#1f77b4", "#D62728", "#00000080", "none"]), min_size=1, max_size=4),
       theme=st.sampled_from(sorted(THEMES)))
def test_segment_collections_are_collection_draws(k, seed, lw, alpha, colours, theme):
    """The renderer's direct segment draw (``_draw_segments``) gives the pixels of ``Collection.draw``."""
    from matplotlib.collections import LineCollection  # noqa: PLC0415

    from scenes.backends.mpl_renderer import _draw_segments, _plain_collection, _set_colors, _set_segments  # noqa

    rng = np.random.default_rng(seed)
    segs = rng.uniform(-30, 350, (k, 2, 2))
    cols = [colours[i % len(colours)] for i in range(k)]

    def add(ax):
        art = LineCollection([], linewidths=lw, alpha=alpha, zorder=1)
        ax.add_collection(art)
        _set_segments(art, segs)
        if cols:
            _set_colors(art, cols)
        return art

    def direct(art, r, ax):
        assert _plain_collection(art) == (k > 1)
        (_draw_segments if _plain_collection(art) else type(art).draw)(art, r)

    _same_pixels_as_own_draw(THEMES[theme], add, direct)
