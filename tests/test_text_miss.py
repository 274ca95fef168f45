"""The label path for labels seen for the first time (TextCache misses) gives matplotlib's own pixels: glyph
bitmaps reused a whole number of pixels away, labels drawn without matplotlib's per-call text machinery."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from drawing import blends_both_ways, twin_labels  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.backends.backend_agg import get_hinting_flag  # noqa: E402
from matplotlib.font_manager import FontProperties, findfont, get_font  # noqa: E402
from matplotlib.ft2font import RenderMode  # noqa: E402

from scenes.clips.base import THEMES  # noqa: E402

_FONTS = [FontProperties(family="DejaVu Sans"), FontProperties(family="DejaVu Sans", style="italic"),
          FontProperties(family="DejaVu Sans", weight="bold")]


def _render(font, glyph: int, size: float, dpi: float, matrix, px: int, py: int):
    font.set_size(size, dpi)
    font._set_transform(matrix, [px, py])
    bm = font._render_glyph(glyph, get_hinting_flag(), RenderMode.NORMAL)
    return np.array(bm.buffer, copy=True), bm.left, bm.top


@settings(max_examples=300, deadline=None)
@given(c=st.characters(min_codepoint=33, max_codepoint=0x17F), font=st.integers(0, 2), size=st.floats(5.0, 40.0),
       dpi=st.sampled_from([72, 100, 150]), px=st.integers(-200, 90000), py=st.integers(-200, 60000),
       shape=st.sampled_from([(0.0, 1.0), (0.25, 1.0), (0.0, 1.3)]))
def test_a_whole_pixel_move_moves_freetypes_bitmap(c, font, size, dpi, px, py, shape):
    """What :class:`GlyphCache` relies on: FreeType's bitmap of a glyph at pen position ``(px, py)`` (1/64 px) is
    its bitmap at the position's fraction ``(px & 63, py & 63)``, ``px >> 6`` / ``py >> 6`` pixels away."""
    f = get_font(findfont(_FONTS[font]))
    glyph = f.get_char_index(ord(c))
    slant, extend = shape
    matrix = (0x10000 * np.eye(2) @ [[extend, extend * slant], [0, 1]]).round().astype(int)
    buf, left, top = _render(f, glyph, size, dpi, matrix, px, py)
    buf0, left0, top0 = _render(f, glyph, size, dpi, matrix, px & 63, py & 63)
    assert np.array_equal(buf, buf0)
    assert (left, top) == (left0 + (px >> 6), top0 + (py >> 6))


_text = st.one_of(st.integers(0, 9999).map(str), st.integers(1, 99).map(lambda n: f"$\\mathbf{{+{n}}}$"),
                  st.integers(0, 99999).map(lambda n: f"step {n} / 1487"),
                  st.text(alphabet="AVWTo-.,:;ijl1 ", min_size=1, max_size=12),
                  st.tuples(st.integers(1, 9), st.integers(0, 99), st.integers(1, 6)).map(
                      lambda t: f"loss ${t[0]}.{t[1]:02d} \\times 10^{{-{t[2]}}}$"))
# places: the same place again (readouts), whole-pixel moves (bitmaps reused), other fractions of a pixel
_place = st.sampled_from([(17, 30, 0.0, 0.0), (17, 30, 0.25, 0.5), (18, 31, 0.25, 0.5), (121, 77, 0.3713, 0.91),
                          (40, 30, 0.015625, 0.640625), (139, 45, 0.25, 0.5)])


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.tuples(_text, _place), min_size=2, max_size=14), theme=st.sampled_from(sorted(THEMES)),
       ha=st.sampled_from(["left", "center", "right"]), va=st.sampled_from(["baseline", "center", "top"]),
       size=st.sampled_from([9.0, 14.4, 21.3]), colour=st.sampled_from(["fg", "muted"]),
       alpha=st.sampled_from([1.0, 0.55]))
def test_moving_labels_are_matplotlibs_pixels(labels, theme, ha, va, size, colour, alpha):
    """A label drawn at place after place by one cache (glyph bitmaps reused where a glyph comes back at the same
    fraction of a pixel, layouts and glyph runs reused, drawn by the direct miss path) has the pixels of
    ``Text.draw`` on a canvas of its own, each time."""
    th = THEMES[theme]
    figs, arts, rs, backgrounds, cache, glyphs = twin_labels(th, 0, 0, "0", 360, 140, color=th[colour], ha=ha,
                                                             va=va, fontsize=size, zorder=5)
    try:
        for s, (x, y, fx, fy) in [*labels, labels[0]]:   # the last one again: its recorded blends replayed
            x, y = x + fx, y + fy
            for art in arts:
                art.set_text(s)
                art.set_position((x, y))
                art.set_alpha(alpha)
            pix = []
            for k, r in enumerate(rs):
                np.asarray(r.buffer_rgba())[...] = backgrounds[k]
                if k == 0:
                    cache.draw(arts[0], (s, th[colour], alpha, x, y, ha, va, size), r,
                               np.asarray(r.buffer_rgba()), None)
                else:
                    arts[1].draw(r)
                pix.append(np.asarray(r.buffer_rgba()).copy())
            assert np.array_equal(pix[0], pix[1]), (s, x, y)
        assert glyphs.misses > 0 and cache.hits >= 1
        assert cache.direct == cache.misses   # every miss took the direct path (none has mathtext rules)
    finally:
        for fig, _ in figs:
            plt.close(fig)


_run = st.lists(st.tuples(st.integers(-4, 9), st.integers(-3, 3), st.integers(1, 12), st.integers(1, 14),
                          st.integers(0, 2**31)), min_size=2, max_size=24)


@settings(max_examples=200, deadline=None)
@given(run=_run, colour=st.sampled_from(["#1A1A1A", "#C0392B"]), alpha=st.sampled_from([None, 0.6]),
       bg=st.sampled_from(sorted(THEMES)))
def test_a_line_of_glyphs_blends_as_glyph_by_glyph(run, colour, alpha, bg):
    """``blend_glyphs`` on glyphs placed as a line of text places them (each a few columns after the previous
    one, overlapping it by up to 4 columns, or going back): the pixels of one ``draw_text_image`` per glyph."""
    placed, c, r = [], 4, 30
    for step, dr, w, h, seed in run:
        c, r = max(c + step, -3), r + dr
        img = np.random.default_rng(seed).integers(0, 256, (h, w)).astype(np.uint8)
        img[img < 40] = 0
        placed.append((r - h, c, img))
        c += w - 4                       # the next glyph starts up to 4 columns before this one's right edge
    got, want = blends_both_ways(placed, colour, alpha, bg, 200, 60)
    assert np.array_equal(got, want)
