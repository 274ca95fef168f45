"""Matplotlib fallback renderer: one reused figure whose artists are updated per frame (no re-plotting).

Draws exactly the primitives of :mod:`scenes.clips.base` in one full-figure Axes spanning the frame model's
figure units (``fig_w x fig_h``, 16 x 9 by default), renders with Agg and hands the RGBA frames to the encoder
(:func:`scenes.backends.export.write_mp4`: yuv420p planes, converted where a frame changed, into libx264).

Only what changes is drawn: the static layers (``FrameModel.static()``: panel frames, axes, fixed text) are
rendered once into a background buffer that each frame restores (blitting); a label is rasterised by
FreeType once per look (text, colour, alpha, place, size: :class:`TextCache`) and afterwards its recorded glyph
images are blended straight into the canvas, the same Agg calls with the same inputs, so a cached label is
bit-identical to a freshly drawn one, and pasted as a block where the pixels under it are those it was
drawn over before; a label seen for the first time reuses the layout of the same text at another place or
colour, plain text its FreeType glyph run, mathtext readouts are laid out without matplotlib's grammar
(:mod:`scenes.backends.fast_mathtext`, the same result), plain text from glyph tables
(:mod:`scenes.backends.fast_text`, the same metrics and glyph runs), a single line by the layout of an earlier
line of the same metrics, its glyphs blended in layers (:func:`blend_glyphs`) straight from the glyph cache
(FreeType's bitmaps kept by the pen position's fraction of a pixel: reused a whole number of pixels away), without
``Text.draw``'s per-call machinery (:meth:`TextCache._draw_direct`); marker-only lines, solid polylines and
segment collections are drawn by the one Agg call their ``draw`` makes; nothing below an opaque title-card cover
is drawn (the canvas is filled with the colour its draw was checked to set); large point clouds are splatted
with numpy (:mod:`scenes.backends.raster`). :func:`render_mpl` with ``jobs > 1`` draws frames in worker
processes (:mod:`scenes.backends.parallel`).
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.artist import Artist  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_rgb, to_rgba  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402
from matplotlib.text import _get_text_metrics_with_cache as _text_metrics  # noqa: E402

from scenes.backends import export, parallel  # noqa: E402
from scenes.backends.fast_mathtext import FastMathTextParser  # noqa: E402
from scenes.backends.fast_text import FastPlainText  # noqa: E402
from scenes.backends.raster import RASTER_MIN, splat  # noqa: E402
from scenes.clips.base import PALETTE, Frame, FrameModel, figure_units  # noqa: E402

DPI = 100
# Text height in figure units -> font size: cap height is about 0.72 em for DejaVu Sans
CAP_HEIGHT = 0.72


PALETTE_RGB = np.array([to_rgb(c) for c in PALETTE])


class _PathView:
    """What Agg's ``draw_path_collection`` reads of a path (its ``vertices``, ``codes``, ``should_simplify`` and
    ``simplify_threshold``, by name) as plain attributes: a Path's are properties, four Python calls a path."""

    __slots__ = ("vertices", "codes", "should_simplify", "simplify_threshold")


def _set_segments(art: LineCollection, xy: np.ndarray) -> None:
    """``art.set_segments(list(xy))`` for ``xy: (K, 2, 2)``: the same paths (each segment's vertices, no codes,
    the settings ``Path()`` gives a 2-vertex path) without ``Path()``'s checks or any work a segment (a frame of
    arrivals has hundreds of comet segments): the collection keeps a buffer of segments and a Path of each row
    (what ``_fast_from_codes_and_verts`` makes: its vertices a view of the row, no codes, writable, the
    settings), the frame's vertices are copied into the buffer and the first ``K`` paths used. Alongside, a
    :class:`_PathView` of each path (the same arrays and settings) for :func:`_draw_segments`."""
    v = np.asarray(xy, dtype=float)
    art.__dict__.pop("_path_views", None)
    if v.ndim != 3 or v.shape[1:] != (2, 2):
        art.set_segments(list(xy))
        return
    if len(v) == 0:
        art.set_segments([])
        return
    first = MplPath(v[0])   # the settings Path() gives a 2-vertex path now (rcParams)
    settings = (first.should_simplify, first.simplify_threshold, first._interpolation_steps)
    pool = art.__dict__.get("_segment_paths")
    k = len(v)
    if pool is None or pool[0] != settings or len(pool[1]) < k:   # (new settings, or more segments than kept)
        cap = max(k, 2 * len(pool[1])) if pool is not None and pool[0] == settings else k
        buf = np.empty((cap, 2, 2))
        paths = [MplPath._fast_from_codes_and_verts(buf[i], None, first) for i in range(cap)]
        views = []
        for p in paths:
            view = _PathView()
            view.vertices, view.codes = p._vertices, None
            view.should_simplify, view.simplify_threshold = first.should_simplify, first.simplify_threshold
            views.append(view)
        pool = art.__dict__["_segment_paths"] = (settings, paths, views, buf)
    _, paths, views, buf = pool
    buf[:k] = v
    art._paths = paths[:k]
    art.__dict__["_path_views"] = (art._paths, views[:k])
    art.stale = True


_RGBA: dict[str, tuple] = {}


def _set_colors(art: LineCollection, colors: list) -> None:
    """``art.set_colors(colors)`` for a list of colour strings: each distinct string converted once (``to_rgba``,
    kept), the rows stacked as ``to_rgba_array`` stacks them, then the same call on that ``(K, 4)`` array (which
    sets the collection's alpha as it would). Anything else (or ``"none"``) goes to ``set_colors`` as given.

    The same list as the one this set last (a frame's trails often have the shades of the frame before), with
    the array this passed still the collection's own colours (nothing set others since; an alpha set since
    recomputed its colours from that array, as ``set_colors`` would), leaves them as they are: what the call
    would set again."""
    kept = art.__dict__.get("_colors_set")
    if (kept is not None and type(colors) is list and art._original_edgecolor is kept[1]
            and len(kept[0]) == len(colors) and kept[0] == colors):
        art.stale = True
        return
    art.__dict__.pop("_colors_set", None)
    try:
        distinct = set(colors)
    except TypeError:      # (an unhashable colour, e.g. a list: as given)
        distinct = None
    # every element a string iff every distinct one is (a hashable non-string is in the set too)
    if (not colors or distinct is None or not all(isinstance(c, str) for c in distinct)
            or any(c.lower() == "none" for c in distinct)):
        art.set_colors(colors)
        return
    if len(_RGBA) > 65536:   # (faded colours are many strings: keep the table bounded)
        _RGBA.clear()
    for c in distinct.difference(_RGBA):
        _RGBA[c] = to_rgba(c)
    if len(distinct) == len(colors):
        rgba = np.array([_RGBA[c] for c in colors])
    else:
        # repeated strings (a comet's shades): the distinct rows once, gathered by index; the same rows as
        # stacking every string's tuple
        names = list(distinct)
        at = {c: k for k, c in enumerate(names)}
        table = np.array([_RGBA[c] for c in names])
        rgba = table.take(np.array([at[c] for c in colors], dtype=np.intp), axis=0)
    art.set_colors(rgba)
    if type(colors) is list and art._original_edgecolor is rgba:
        art.__dict__["_colors_set"] = (list(colors), rgba)


class PointRaster(Artist):
    """A large ``Points`` group splatted straight into the canvas's pixel buffer (:func:`scenes.backends.raster.splat`)
    in place of its markers.

    Discs of ``radius`` px, ringed (``ring`` px, in ``ring_rgb``) for ring groups, drawn colour by colour
    like the per-colour marker lines, each centred on the pixel Agg would snap the marker to.
    """

    def __init__(self, zorder: float, ring_rgb: tuple[float, float, float]):
        super().__init__()
        self.set_zorder(zorder)
        self.ring_rgb = np.asarray(ring_rgb, dtype=float)
        self.xy: np.ndarray | None = None

    def set_points(self, xy: np.ndarray | None, color: np.ndarray, radius: float, ring: float) -> None:
        """``xy: (n, 2)`` figure units (``None``: draw nothing), ``color: (n,)`` palette indices."""
        if xy is None or len(xy) == 0:
            self.xy = None
            return
        self.xy = np.asarray(xy, dtype=float)
        c = np.asarray(color, dtype=np.int64).reshape(-1)
        self.color = c if len(c) and c.min() >= 0 and c.max() < len(PALETTE) else c % len(PALETTE)   # (the same)
        # colour by colour, as the marker lines: the order ``color * n + index``, or none (the order as given, the
        # same ranks) where the colours already come in that order
        c, n = self.color, len(self.xy)
        if np.all(c[1:] >= c[:-1]):
            self.order = None
        elif len(PALETTE) * n < 2**31:     # (as usual) the same integers in int32: half the memory traffic
            self.order = c.astype(np.int32)
            self.order *= np.int32(n)
            self.order += np.arange(n, dtype=np.int32)
        else:
            self.order = c * n + np.arange(n)
        self.radius, self.ring = radius, ring

    def draw(self, renderer) -> None:
        if self.xy is None or not self.get_visible():
            return
        W, H = int(renderer.width), int(renderer.height)
        pix = np.asarray(self.get_transform().transform(self.xy), dtype=float)   # display pixels, y up
        if np.may_share_memory(pix, self.xy) or not pix.flags.writeable:       # (an own copy, changed below)
            pix = np.array(pix, dtype=float)
        # Agg draws a marker centred on the pixel nearest to its position: pixel (round(x), H - round(y)),
        # i.e. (x + 0.5, (H - y) + 0.5) computed in place (the same operations as two new columns)
        pix[:, 0] += 0.5
        np.subtract(H, pix[:, 1], out=pix[:, 1])
        pix[:, 1] += 0.5
        sp = splat(pix, self.color, PALETTE_RGB, W, H, self.radius, self.ring, self.ring_rgb, self.order)
        if sp is None:
            return
        # composited straight into the canvas's pixels (source-over, opaque canvas): no image patch for Agg
        sp.composite_over(np.asarray(renderer.buffer_rgba()))


_NO_POINTS = np.zeros(0, int)


def _by_colour(color: np.ndarray) -> list[np.ndarray]:
    """``[np.flatnonzero(color % len(PALETTE) == c) for c in range(len(PALETTE))]`` for ``color: (n,)`` palette
    indices: integers in one stable sort (each colour's indices in increasing order, as ``flatnonzero`` gives
    them); other values, and a few points (where the sort costs more), by the comprehension itself."""
    color = np.asarray(color)
    P = len(PALETTE)
    if color.dtype.kind not in "iu" or color.ndim != 1 or len(color) <= 32:
        cls = color % P
        return [np.flatnonzero(cls == c) for c in range(P)]
    cls = color % P
    order = np.argsort(cls, kind="stable")
    ends = np.cumsum(np.bincount(cls, minlength=P)).tolist()
    return [order[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


def _marker_only(art) -> bool:
    """Whether ``art`` is a Line2D that :func:`_draw_markers` draws as ``Line2D.draw`` does: markers only (no
    line), default draw style, every marker, no path effects, sketch, filter or rasterisation, at most 1000
    points (above that matplotlib may draw a sub-slice of sorted data), upright 2D data transform."""
    return (type(art) is Line2D and art._lineStyles[art._linestyle] == "_draw_nothing" and bool(art._marker)
            and art._markersize > 0 and art.get_drawstyle() == "default" and art.get_markevery() is None
            and not art.get_path_effects() and art.get_sketch_params() is None and not art.get_rasterized()
            and art.get_agg_filter() is None and art.get_url() is None and art.get_gid() is None
            and np.size(art._xorig) <= 1000 and np.size(art._yorig) <= 1000)


def _draw_markers(art, renderer, affine, looks: dict) -> None:
    """``Line2D.draw(renderer)`` of matplotlib 3.11 for a line :func:`_marker_only` accepts: the same graphics
    context, marker path and transform, data path and ``affine`` (``art.get_transform().get_affine().frozen()``,
    the transform's affine part: ``transData`` of a linear-scaled Axes has no other) and face colour, in the
    same ``draw_markers`` call; what depends on the marker's look only (size, edge width, colours, alpha) is
    kept in ``looks``."""
    if not art.get_visible():
        return
    x = np.asarray(art.convert_xunits(art._xorig), dtype=float).ravel()   # recache's float arrays
    y = np.asarray(art.convert_yunits(art._yorig), dtype=float).ravel()
    xy = np.column_stack(np.broadcast_arrays(x, y)).astype(float)
    if len(xy):
        key = (id(art._marker), art._markersize, art._markeredgewidth, str(art._markeredgecolor),
               str(art._markerfacecolor), art._alpha, art._antialiased)
        look = looks.get(key)
        if look is None:
            from numbers import Real  # noqa: PLC0415

            from matplotlib import cbook  # noqa: PLC0415

            ec = to_rgba(art.get_markeredgecolor(), art._alpha)
            fc = to_rgba(art._get_markerfacecolor(), art._alpha)
            if cbook._str_equal(art._markeredgecolor, "auto") and not cbook._str_lower_equal(
                    art.get_markerfacecolor(), "none"):
                ec = ec[:3] + (fc[3],)
            marker = art._marker
            snap = marker.get_snap_threshold()
            if isinstance(snap, Real):
                snap = renderer.points_to_pixels(art._markersize) >= snap
            trans = marker.get_transform()
            if not cbook._str_equal(marker.get_marker(), ","):
                trans = trans.scale(renderer.points_to_pixels(art._markersize))
            if marker.get_alt_path() is not None or cbook._str_equal(marker.get_marker(), ","):
                look = None
            else:
                # (the marker itself is kept: its id in the key is not reused while the look is cached)
                look = (ec, fc, snap, marker.get_joinstyle(), marker.get_capstyle(), marker.get_path(), trans, marker)
            if len(looks) > 256:
                looks.clear()
            looks[key] = look
        if look is None:   # an alternate (half-filled) marker or pixels: matplotlib draws it
            art.draw(renderer)
            return
        ec, fc, snap, join, cap, marker_path, marker_trans, _ = look
        gc = renderer.new_gc()
        art._set_gc_clip(gc)
        gc.set_url(None)
        gc.set_linewidth(art._markeredgewidth)
        gc.set_antialiased(art._antialiased)
        gc.set_foreground(ec, isRGBA=True)
        gc.set_snap(snap)
        gc.set_joinstyle(join)
        gc.set_capstyle(cap)
        renderer.draw_markers(gc, marker_path, marker_trans, MplPath(xy), affine, fc)
        gc.restore()
    art.stale = False


def _plain_line(art) -> bool:
    """Whether ``art`` is a Line2D that :func:`_draw_line` draws as ``Line2D.draw`` does: a solid line without
    markers, default draw style, no path effects, sketch, filter, rasterisation, url or gid, at most 1000 points
    (no sub-slicing of sorted data)."""
    return (type(art) is Line2D and art._linestyle == "-" and not art._marker and art.get_drawstyle() == "default"
            and not art.get_path_effects() and art.get_sketch_params() is None and not art.get_rasterized()
            and art.get_agg_filter() is None and art.get_url() is None and art.get_gid() is None
            and np.size(art._xorig) <= 1000 and np.size(art._yorig) <= 1000)


def _draw_line(art, renderer, affine) -> None:
    """``Line2D.draw(renderer)`` of matplotlib 3.11 for a line :func:`_plain_line` accepts: the same path (the
    line's own, recached as ``draw`` recaches it; the upright data transform has no non-affine part), ``affine``
    (as in :func:`_draw_markers`), graphics context and ``draw_path`` call."""
    if not art.get_visible():
        return
    if art._invalidy or art._invalidx:
        art.recache()
    art.ind_offset = 0
    path = art._path
    if len(path.vertices):
        gc = renderer.new_gc()
        art._set_gc_clip(gc)
        gc.set_url(None)
        gc.set_antialiased(art._antialiased)
        gc.set_linewidth(art._linewidth)
        gc.set_joinstyle(art._solidjoinstyle)
        gc.set_capstyle(art._solidcapstyle)
        gc.set_snap(art.get_snap())
        gc.set_foreground(to_rgba(art._color, art._alpha), isRGBA=True)
        if art._linewidth > 0:
            gc.set_dashes(*art._dash_pattern)
        else:
            gc.set_dashes(0, None)
        renderer.draw_path(gc, path, affine)
        gc.restore()
    art.stale = False


def _plain_collection(art) -> bool:
    """Whether ``art`` is a LineCollection that :func:`_draw_segments` draws as ``Collection.draw`` does: no
    hatch, gap colour, sketch, path effects, filter, rasterisation, units or colour mapping, several paths (a
    single path may go to matplotlib's ``draw_markers`` shortcut), affine transforms."""
    return (type(art) is LineCollection and art._hatch is None and art._gapcolor is None
            and art.get_sketch_params() is None and not art.get_path_effects() and not art.get_rasterized()
            and art.get_agg_filter() is None and art.get_gid() is None and not art.have_units()
            and art.get_transform().is_affine and art.get_offset_transform().is_affine
            and len(art.get_paths()) > 1 and art.get_array() is None)


def _draw_segments(art, renderer) -> None:
    """``Collection.draw(renderer)`` of matplotlib 3.11 for a collection :func:`_plain_collection` accepts: the
    same graphics context and the one ``draw_path_collection`` call that draws (without the empty probe call
    that asks the renderer whether it takes hatch colours: Agg's does)."""
    if not art.get_visible():
        return
    if len(art.get_offsets()) == 0:
        art.stale = False
        return
    art.update_scalarmappable()
    transform, offset_trf, offsets, paths = art._prepare_points()
    gc = renderer.new_gc()
    art._set_gc_clip(gc)
    gc.set_snap(art.get_snap())
    if art._joinstyle:
        gc.set_joinstyle(art._joinstyle)
    if art._capstyle:
        gc.set_capstyle(art._capstyle)
    views = art.__dict__.get("_path_views")
    if views is not None and views[0] is paths and len(views[1]) == len(paths):   # as _set_segments left them
        paths = views[1]
    renderer.draw_path_collection(gc, transform.frozen(), paths, art.get_transforms(), offsets, offset_trf,
                                  art.get_facecolor(), art.get_edgecolor(), art._linewidths, art._linestyles,
                                  art._antialiaseds, art._urls, "screen", hatchcolors=art.get_hatchcolor())
    gc.restore()
    art.stale = False


class _Kept(np.ndarray):
    """A glyph image that nothing changes once made (GlyphCache's bitmaps, blend_glyphs' layers): a recording
    keeps it as it is (other images, e.g. a buffer FreeType reuses, are copied)."""


class _RecordingRenderer:
    """Stands in for Agg's C++ renderer while a text artist draws: forwards every call and records the two that
    text drawing makes (glyph images and, for mathtext, rule boxes) so that they can be replayed."""

    def __init__(self, real):
        self.real = real
        self.calls: list[tuple] = []

    def draw_text_image(self, image, x, y, angle, gc):
        kept = image if isinstance(image, _Kept) else np.array(image, copy=True)
        self.calls.append((0, kept, x, y, angle, gc))
        self.real.draw_text_image(image, x, y, angle, gc)

    def draw_path(self, gc, path, transform, rgb_face=None):
        self.calls.append((1, gc, path, transform, rgb_face))
        self.real.draw_path(gc, path, transform, rgb_face)

    def __getattr__(self, name):
        return getattr(self.real, name)


@dataclass
class _Look:
    """One label look: its recorded Agg calls; ``box``: the pixel rows/columns they can touch (``None`` when a
    call is not a glyph image); ``under``: those pixels before the latest replay, ``block``: after it."""

    calls: list[tuple]
    box: tuple[int, int, int, int] | None
    under: np.ndarray | None = None
    block: np.ndarray | None = None


def _glyph_box(calls: list[tuple], height: int, width: int) -> tuple[int, int, int, int] | None:
    """Rows ``r0:r1``, columns ``c0:c1`` (top-down buffer) covering every recorded glyph image, padded by a
    pixel and clipped to the canvas: Agg's ``draw_text_image(image, x, y)`` blends ``image`` into rows
    ``y - h .. y - 1`` and columns ``x .. x + w - 1``. ``None`` if a call is not a glyph image (mathtext rules)
    or nothing is inked."""
    if any(c[0] != 0 for c in calls):
        return None
    ink = [c for c in calls if c[1].size]          # a blank glyph (a space) blends nothing, wherever it is put
    if not ink:
        return None
    r0 = min(int(c[3]) - c[1].shape[0] for c in ink) - 1
    r1 = max(int(c[3]) for c in ink) + 1
    c0 = min(int(c[2]) for c in ink) - 1
    c1 = max(int(c[2]) + c[1].shape[1] for c in ink) + 1
    r0, c0, r1, c1 = max(r0, 0), max(c0, 0), min(r1, height), min(c1, width)
    return (r0, r1, c0, c1) if r0 < r1 and c0 < c1 else None


class GlyphCache:
    """FreeType glyph bitmaps by everything FreeType is given: font file, size, dpi, glyph, slant, extend, the
    pen position's fraction of a pixel in 1/64 px and the load flags, so a cached bitmap is the one FreeType
    would render.

    FreeType loads (and hints) a glyph at the origin, then moves its outline by the pen position (26.6
    integers) and rasterises it into the box of whole pixels around it: a position a whole number of pixels
    away gives the same bitmap that many pixels away (``tests/test_fast_text.py`` checks it against FreeType),
    so a bitmap is kept by the position's fraction, its ``left``/``top`` relative to the whole pixels. A glyph
    at another fraction is rendered again (hinting: a sub-pixel move changes the bitmap).

    Installed on a drawer's Agg renderer in place of its ``_draw_text_glyphs_and_boxes`` (matplotlib >= 3.11
    draws text glyph by glyph through it; other versions keep their own text path): labels seen for the first
    time, such as a step counter, still lay out through matplotlib, but the glyphs they share with earlier
    labels at the same sub-pixel place (digits in fixed slots) are not rasterised again. Rotated, mathtext or
    non-antialiased text goes through matplotlib's own method."""

    PARAMS = ["gc", "x", "y", "angle", "glyphs", "boxes"]

    def __init__(self, renderer, size: int = 8192):
        self.renderer, self.size = renderer, size
        self.original = renderer._draw_text_glyphs_and_boxes
        # (dpi, load flags) -> (font, size, slant, extend) -> (glyph, x fraction, y fraction) -> (bitmap, left, top);
        # fonts of one file share a table (by_file)
        self.tables: dict[tuple, dict[tuple, dict]] = {}
        self.by_file: dict[tuple, dict] = {}
        self.matrices: dict[tuple, np.ndarray] = {}     # FreeType's transform by (slant, extend)
        # origin (x, height - y, dpi, flags) -> glyph tuple -> (row, column, bitmap or None, the glyph's FreeType
        # settings): labels drawn at one place again and again (readouts) skip the pen arithmetic
        self.spots: dict[tuple, dict[tuple, tuple]] = {}
        self.hits = self.misses = self.count = 0

    def _table(self, font, size, dpi, slant, extend, flags) -> dict:
        key = (font.fname, size, dpi, slant, extend, flags)
        table = self.by_file.get(key)
        if table is None:
            table = self.by_file[key] = {}
        return table

    def _clear(self) -> None:
        self.tables.clear()
        self.by_file.clear()
        self.spots.clear()
        self.count = 0

    @classmethod
    def install(cls, renderer) -> GlyphCache | None:
        import inspect  # noqa: PLC0415

        method = getattr(renderer, "_draw_text_glyphs_and_boxes", None)
        if method is None or list(inspect.signature(method).parameters) != cls.PARAMS:
            return None
        cache = cls(renderer)
        renderer._draw_text_glyphs_and_boxes = cache.draw
        return cache

    def draw(self, gc, x, y, angle, glyphs, boxes) -> None:
        """matplotlib 3.11's ``RendererAgg._draw_text_glyphs_and_boxes`` for upright antialiased text without
        rule boxes, each glyph's bitmap taken from the cache when FreeType has rendered it before."""
        if angle != 0 or boxes or not gc.get_antialiased():
            return self.original(gc, x, y, angle, glyphs, boxes)
        blend_glyphs(self.renderer._renderer, self._place(x, y, glyphs), gc)
        return None

    def draw_recorded(self, gc, x, y, glyphs) -> list[tuple]:
        """:meth:`draw` of upright antialiased glyphs without rule boxes, blended straight into the canvas;
        returns the ``draw_text_image`` calls made, as :class:`_RecordingRenderer` records them."""
        calls: list[tuple] = []
        blend_glyphs(self.renderer._renderer, self._place(x, y, glyphs), gc, calls)
        return calls

    def _place(self, x, y, glyphs) -> list[tuple[int, int, np.ndarray]]:
        """``(row, column, bitmap)`` of each inked glyph (top-left corner, top-down buffer), rendered by FreeType
        where not cached; the fonts left as matplotlib's loop leaves them."""
        from matplotlib.backends.backend_agg import get_hinting_flag  # noqa: PLC0415
        from matplotlib.ft2font import RenderMode  # noqa: PLC0415

        r = self.renderer
        load_flags = get_hinting_flag()
        height, dpi = r.height, r.dpi
        rows = int(height)
        hy = height - y
        tables = self.tables.get((dpi, load_flags))
        if tables is None:
            tables = self.tables[(dpi, load_flags)] = {}
        spots = self.spots.get((x, hy, dpi, load_flags))
        if spots is None:
            if len(self.spots) > 256:
                self.spots.clear()
            spots = self.spots[(x, hy, dpi, load_flags)] = {}
        last = None
        placed = []
        n = 0
        for g in glyphs:
            n += 1
            spot = spots.get(g)
            if spot is not None:   # this glyph at this offset from this origin before: the same bitmap and place
                if spot[2] is not None:
                    placed.append(spot[:3])
                last = spot[3]
                continue
            font, size, glyph_index, slant, extend, dx, dy = g
            px, py = round(0x40 * (x + dx)), round(0x40 * (hy + dy))   # the pen position FreeType is given
            table = tables.get((font, size, slant, extend))
            if table is None:
                table = tables[(font, size, slant, extend)] = self._table(font, size, dpi, slant, extend, load_flags)
            got = table.get((glyph_index, px & 63, py & 63))
            if got is None:
                self.misses += 1
                n -= 1
                font.set_size(size, dpi)
                font._set_transform(self._matrix(slant, extend), [px, py])
                bitmap = font._render_glyph(glyph_index, load_flags, RenderMode.NORMAL)
                got = (np.array(bitmap.buffer, copy=True).view(_Kept), bitmap.left - (px >> 6),
                       bitmap.top - (py >> 6))
                self.count += 1
                if self.count > self.size:   # bounded: start afresh (a bitmap is the same when rendered again)
                    self._clear()
                    tables = self.tables[(dpi, load_flags)] = {}
                table[(glyph_index, px & 63, py & 63)] = got
                last = None
            else:
                last = (font, size, slant, extend, px, py)
            buffer, left, top = got
            row, col = rows - top - (py >> 6), left + (px >> 6)
            if buffer.size:   # a blank glyph (a space) blends nothing
                placed.append((row, col, buffer))
            if len(spots) < 1024:
                spots[g] = (row, col, buffer if buffer.size else None, (font, size, slant, extend, px, py))
        self.hits += n
        if last is not None:   # leave the font as matplotlib's loop would: sized and placed for the last glyph
            font, size, slant, extend, px, py = last
            font.set_size(size, dpi)
            font._set_transform(self._matrix(slant, extend), [px, py])
        return placed

    def _matrix(self, slant: float, extend: float) -> np.ndarray:
        """FreeType's transform for ``slant`` and ``extend``, as matplotlib's loop computes it."""
        matrix = self.matrices.get((slant, extend))
        if matrix is None:
            matrix = self.matrices[(slant, extend)] = (
                0x10000 * np.eye(2) @ [[extend, extend * slant], [0, 1]]).round().astype(int)
        return matrix


def blend_glyphs(real, placed: list[tuple[int, int, np.ndarray]], gc, calls: list | None = None) -> None:
    """Blend glyph images into the canvas as one ``draw_text_image`` per glyph in order would, in fewer calls.

    ``placed``: ``(row, column, image)`` of each glyph, top-left corner in the top-down buffer, in drawing order.
    Agg's upright ``draw_text_image`` blends each pixel of the image's box source-over with the gc's colour at
    the pixel's coverage, and a pixel of coverage 0 is left as it is (``fixed_blender_rgba_plain``: nothing
    to blend at alpha 0). So glyphs whose boxes do not overlap can be blended as one image holding each of them
    in its box: every pixel gets the same single blend (or none). Each glyph goes into the layer after the
    highest layer holding an earlier glyph whose box overlaps its own, so a pixel that several glyphs cover
    is blended by them in their order; the layers are blended in order, one call each (a label of 20 glyphs:
    typically 2 calls; ``calls``, if given, gets each call as :class:`_RecordingRenderer` records it). The
    earlier glyphs are scanned from the latest back, and the scan stops where none before reaches the glyph's
    first column (a running maximum of the right edges): a line of text checks its neighbours only."""
    if len(placed) < 2:
        for r0, c0, img in placed:
            real.draw_text_image(img, c0, r0 + img.shape[0], 0, gc)
            if calls is not None:
                calls.append((0, img, c0, r0 + img.shape[0], 0, gc))
        return
    R0, R1, C0, C1, K = [], [], [], [], []
    reach = []          # reach[j]: max(C1[:j + 1])
    layers: list[list] = []
    top_c1 = None
    for r0, c0, img in placed:
        h, w = img.shape
        r1, c1 = r0 + h, c0 + w
        k = 0
        j = len(K) - 1
        while j >= 0 and reach[j] > c0:
            if K[j] >= k and C0[j] < c1 and C1[j] > c0 and R0[j] < r1 and r0 < R1[j]:
                k = K[j] + 1
            j -= 1
        R0.append(r0)
        R1.append(r1)
        C0.append(c0)
        C1.append(c1)
        K.append(k)
        top_c1 = c1 if top_c1 is None or c1 > top_c1 else top_c1
        reach.append(top_c1)
        if k == len(layers):
            layers.append([])
        layers[k].append((r0, r1, c0, c1, img))
    for layer in layers:
        if len(layer) == 1:
            r0, r1, c0, c1, img = layer[0]
            real.draw_text_image(img, c0, r1, 0, gc)
            if calls is not None:
                calls.append((0, img, c0, r1, 0, gc))
            continue
        top, bottom = min(g[0] for g in layer), max(g[1] for g in layer)
        left, right = min(g[2] for g in layer), max(g[3] for g in layer)
        image = np.zeros((bottom - top, right - left), np.uint8).view(_Kept)
        for r0, r1, c0, c1, img in layer:
            image[r0 - top:r1 - top, c0 - left:c1 - left] = img
        real.draw_text_image(image, left, bottom, 0, gc)
        if calls is not None:
            calls.append((0, image, left, bottom, 0, gc))


def _draw_plain_text(renderer, gc, x: float, y: float, s: str, prop, angle: float, mtext,
                     runs: OrderedDict | None, fast: FastPlainText | None = None) -> None:
    """``RendererAgg.draw_text`` of matplotlib 3.11 for text without math, the glyph run of ``s`` (FreeType's
    layout at the font's size, position-independent) taken from ``runs`` when laid out before, else from
    ``fast``'s glyph tables (:mod:`scenes.backends.fast_text`: the same run) where it handles ``s``."""
    renderer._draw_text_glyphs_and_boxes(gc, x, y, angle, _plain_glyphs(renderer, s, prop, mtext, runs, fast), [])


def _plain_glyphs(renderer, s: str, prop, mtext, runs: OrderedDict | None, fast: FastPlainText | None):
    """The glyphs ``RendererAgg.draw_text`` hands its glyph loop for plain text ``s`` (:func:`_draw_plain_text`),
    ``(font, size, glyph index, slant, extend, dx, dy)`` each."""
    from matplotlib.backends.backend_agg import get_hinting_flag  # noqa: PLC0415

    # the font object, sized and cleared only where matplotlib's layout is run below (the glyph loop sets the
    # size for each glyph it renders and leaves the font as matplotlib's loop does)
    font = fast.font(prop) if fast is not None else renderer._prepare_font(prop)
    flags = get_hinting_flag()
    features = mtext.get_fontfeatures() if mtext is not None else None
    language = mtext.get_language() if mtext is not None else None
    size = prop.get_size_in_points()
    key = (font, size, renderer.dpi, s, flags, features, language)
    run = runs.get(key) if runs is not None else None
    if run is None:
        got = fast.run(s, prop) if fast is not None and features is None and language is None else None
        if got is not None and got[0] is font:
            run = [(f, g, gx, gy) for f, g, gx, gy in got[1]]
        else:
            font = renderer._prepare_font(prop)
            run = [(item.ft_object, item.glyph_index, item.x, item.y)
                   for item in font._layout(s, flags=flags, features=features, language=language)]
        if runs is not None:
            runs[key] = run
            if len(runs) > 4096:
                runs.popitem(last=False)
    return [(f, size, g, 0, 1, gx, gy) for f, g, gx, gy in run]


def _anchor_and_gc(art, renderer) -> tuple[float, float, float, object] | None:
    """What ``Text.draw`` (matplotlib 3.11) computes before drawing a label's lines: ``(posx, posy, canvas
    height, graphics context)``, the anchor in display pixels; ``None`` where the anchor is not finite."""
    posx, posy = art.get_transform().transform((float(art.convert_xunits(art._x)),
                                                float(art.convert_yunits(art._y))))
    if not (np.isfinite(posx) and np.isfinite(posy)):
        return None
    _, canvash = renderer.get_canvas_width_height()
    gc = renderer.new_gc()
    gc.set_foreground(to_rgba(art.get_color()), isRGBA=True)
    gc.set_alpha(art.get_alpha())
    gc.set_url(art._url)
    gc.set_antialiased(art._antialiased)
    gc.set_snap(art.get_snap())
    art._set_gc_clip(gc)
    return posx, posy, canvash, gc


def _draw_laid_out(art, info: list, renderer, runs: OrderedDict | None = None,
                   fast: FastPlainText | None = None) -> None:
    """``Text.draw(renderer)`` of matplotlib 3.11 for an upright label without box, path effects or TeX, with
    its position-independent layout ``info`` (``art._get_layout(renderer)[1]``) given: the same positions, the
    same graphics context, the same ``draw_text`` calls (plain text's glyph runs cached in ``runs``)."""
    art._renderer = renderer
    if not art.get_visible() or art.get_text() == "":
        return
    placed = _anchor_and_gc(art, renderer)
    if placed is None:
        return
    posx, posy, canvash, gc = placed
    angle = art.get_rotation()
    for line, _wad, (x, y) in info:
        x = x + posx
        y = y + posy
        if renderer.flipy():
            y = canvash - y
        clean_line, ismath = art._preprocess_math(line)
        mtext = art if len(info) == 1 else None
        if ismath or not hasattr(renderer, "_prepare_font"):
            renderer.draw_text(gc, x, y, clean_line, art._fontproperties, angle, ismath=ismath, mtext=mtext)
        else:
            _draw_plain_text(renderer, gc, x, y, clean_line, art._fontproperties, angle, mtext, runs, fast)
    gc.restore()
    art.stale = False


def _plain(art) -> bool:
    """Whether :func:`_draw_laid_out` draws ``art`` as ``Text.draw`` does (else ``Text.draw`` is called)."""
    return (art.get_rotation() == 0 and art._bbox_patch is None and not art.get_path_effects()
            and not art.get_usetex() and not np.ma.is_masked(art._x) and not np.ma.is_masked(art._y))


class TextCache:
    """Labels drawn once per look: ``key -> _Look``, least recently used evicted.

    A label's pixels depend only on its text, colour, alpha, anchor, alignment and size (all in the key), on the
    canvas (one per drawer) and on the pixels under it. The first draw of a look runs matplotlib's text path
    (layout, FreeType glyph rendering) with the canvas's renderer recording its calls; a later draw replays the
    recorded glyph blends, the same Agg calls with the same inputs, skipping layout and rasterisation. The
    blends read and write only the pixels of the look's box, so where those pixels are what they were before the
    latest replay (checked, not assumed: the static background, an opaque title-card cover, ...) the result is
    the block that replay left: it is pasted. Either way the pixels are exactly those of matplotlib's own text
    path. A single-line label seen for the first time is drawn by :meth:`_draw_direct` (its layout, glyph run or
    mathtext glyphs, then the glyph cache's blends, which are its recording), without ``Text.draw``'s per-call
    machinery or a recording renderer. ``hits``/``misses``/``pastes``/``direct`` count draws."""

    def __init__(self, size: int = 2048):
        self.size = size
        self.entries: OrderedDict[tuple, _Look] = OrderedDict()
        self.layouts: OrderedDict[tuple, list] = OrderedDict()
        self.runs: OrderedDict[tuple, list] = OrderedDict()
        self.by_metrics: OrderedDict[tuple, list] = OrderedDict()   # single lines' layouts by their metrics
        self.fast: FastPlainText | None = None     # plain text's glyph tables, once installed on the renderer
        self.hits = self.misses = self.pastes = 0
        self.direct = 0     # misses drawn by _draw_direct

    def _draw(self, art, shape: tuple, renderer) -> None:
        """``art.draw(renderer)``, its layout taken from :attr:`layouts` when a label of the same ``shape``
        (text, alignment, size: what the layout depends on, not the place or colour) was laid out before."""
        if not _plain(art):
            art.draw(renderer)
            return
        _draw_laid_out(art, self._info(art, shape, renderer), renderer, self.runs, self.fast)

    def _info(self, art, shape: tuple, renderer) -> list:
        """The layout of ``art`` (:meth:`_layout`), kept by ``shape``."""
        info = self.layouts.get(shape)
        if info is None:
            info = self.layouts[shape] = self._layout(art, shape, renderer)
            if len(self.layouts) > self.size:
                self.layouts.popitem(last=False)
        else:
            self.layouts.move_to_end(shape)
        return info

    def _draw_direct(self, art, shape: tuple, renderer) -> list[tuple] | None:
        """:meth:`_draw` of a visible single-line label (plain text or mathtext without rules) drawn upright and
        antialiased by the renderer's :class:`GlyphCache`: the same layout, position, graphics context, glyphs
        and FreeType calls in the same order as :func:`_draw_laid_out`, the glyph loop's blends made straight
        into the canvas; returns them as :class:`_RecordingRenderer` records them. ``None``: another label,
        nothing drawn (the caller records :meth:`_draw`)."""
        glyphs = getattr(renderer._draw_text_glyphs_and_boxes, "__self__", None)
        if (not isinstance(glyphs, GlyphCache) or glyphs.renderer is not renderer or not _plain(art)
                or not art.get_visible() or art.get_text() == "" or not hasattr(renderer, "_prepare_font")
                or not renderer.flipy()):
            return None
        info = self._info(art, shape, renderer)
        if len(info) != 1:
            return None
        ((line, _wad, (x, y)),) = info
        clean, ismath = art._preprocess_math(line)
        if ismath not in (True, False):
            return None
        art._renderer = renderer
        placed = _anchor_and_gc(art, renderer)
        if placed is None:
            return None
        posx, posy, canvash, gc = placed
        if art.get_rotation() != 0 or not gc.get_antialiased():
            gc.restore()
            return None
        x = x + posx
        y = canvash - (y + posy)
        prop = art._fontproperties
        if ismath:
            parse = renderer.mathtext_parser.parse(clean, renderer.dpi, prop, antialiased=gc.get_antialiased())
            if parse.rects:
                return None
            run = [(font, size, glyph, 0, 1, dx, dy) for font, size, _char, glyph, dx, dy in parse.glyphs]
        else:
            run = _plain_glyphs(renderer, clean, prop, art, self.runs, self.fast)
        calls = glyphs.draw_recorded(gc, x, y, run)
        gc.restore()
        art.stale = False
        return calls

    def _layout(self, art, shape: tuple, renderer) -> list:
        """``art._get_layout(renderer)[1]``. A single line's layout depends on its text only through the line's
        metrics (width, height, descent: ``Text._get_layout`` places a line by them, by the font's ascent and
        descent and the alignment), so a line with the metrics of one laid out before (``step 17 / 1487`` after
        ``step 12 / 1487``: digits share one advance) takes that layout with its own text."""
        text = art.get_text()
        if "\n" in text or art.get_wrap() or art.get_usetex():
            return art._get_layout(renderer)[1]
        clean, ismath = art._preprocess_math(text)
        if not clean:
            return art._get_layout(renderer)[1]
        dpi = art.get_figure(root=True).dpi
        wad = _text_metrics(renderer, clean, art._fontproperties, ismath=ismath, dpi=dpi)   # matplotlib's cache
        mkey = (wad, ismath, dpi, *shape[1:])
        got = self.by_metrics.get(mkey)
        if got is None:
            got = self.by_metrics[mkey] = art._get_layout(renderer)[1]
            if len(self.by_metrics) > self.size:
                self.by_metrics.popitem(last=False)
            return got
        ((_, line_wad, xy),) = got
        return [(text, line_wad, xy)]

    def draw(self, art, key: tuple, renderer, canvas: np.ndarray, background: np.ndarray) -> None:
        """Draw ``art`` (a Text whose look is ``key``: text, colour, alpha, x, y, ha, va, size) on ``renderer``;
        ``canvas``: its pixels ``(H, W, 4)`` (a writable view); ``background`` (the static background's pixels)
        is no longer needed: a block is pasted wherever the pixels under it are those of the replay that drew it."""
        look = self.entries.get(key)
        if look is None:
            self.misses += 1
            calls = self._draw_direct(art, (key[0], *key[5:]), renderer)
            if calls is None:
                rec = _RecordingRenderer(renderer._renderer)
                renderer._renderer = rec
                try:
                    self._draw(art, (key[0], *key[5:]), renderer)
                finally:
                    renderer._renderer = rec.real
                calls = rec.calls
            else:
                self.direct += 1
            self.entries[key] = _Look(calls, _glyph_box(calls, *canvas.shape[:2]))
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
            return
        self.hits += 1
        self.entries.move_to_end(key)
        under = None
        if look.box is not None:
            r0, r1, c0, c1 = look.box
            under = canvas[r0:r1, c0:c1]
            if look.under is not None and np.array_equal(under, look.under):
                canvas[r0:r1, c0:c1] = look.block
                self.pastes += 1
                return
            under = under.copy()
        real = renderer._renderer
        for c in look.calls:
            if c[0] == 0:
                real.draw_text_image(c[1], c[2], c[3], c[4], c[5])
            else:
                real.draw_path(c[1], c[2], c[3], c[4])
        if under is not None:
            look.under, look.block = under, canvas[r0:r1, c0:c1].copy()


class MplFrameDrawer:
    """Owns the figure and one artist per primitive name; :meth:`draw` updates them for a frame.

    ``cache_text=False`` draws every label through matplotlib's text path every frame and every artist by its
    own ``draw`` (the reference the cached text path and the direct marker draw are tested against)."""

    def __init__(self, frames: FrameModel, width: int, height: int, cache_text: bool = True):
        self.frames = frames
        self.text_cache = TextCache() if cache_text else None
        self.label_keys: dict[str, tuple] = {}
        self.marker_looks: dict[tuple, tuple | None] = {}
        self.width, self.height = width, height
        self.fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        self.fig.patch.set_facecolor(frames.theme["bg"])
        self.ax = self.fig.add_axes((0, 0, 1, 1))
        self.fig_w, self.fig_h = figure_units(frames)
        self.ax.set_xlim(0, self.fig_w)
        self.ax.set_ylim(0, self.fig_h)
        self.ax.set_axis_off()
        self.ax.set_facecolor(frames.theme["bg"])
        self.unit_pt = height / DPI * 72 / self.fig_h      # points per figure unit
        self.artists: dict[str, object] = {}
        self._looks: dict[str, tuple] = {}      # segments' (width, alpha), polylines' (width, colour) as last set
        self._colour_names: dict[str, list[str]] = {}   # point group -> its per-colour artists' names
        self._animated = False
        self._cover_opaque: bool | None = None
        self._cover_rgba: np.ndarray | None = None
        self._draw_items(frames.static())
        # the static part's mathtext too (the same layouts): matplotlib's grammar is then never built for a
        # clip whose labels stay inside the subset (~0.2 s a process)
        self.mathtext = FastMathTextParser.install(self.fig.canvas.get_renderer()) if cache_text else None
        # blitting: the static part is rendered once; each frame restores it and draws only dynamic artists
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)
        self.background_pixels = np.asarray(self.fig.canvas.buffer_rgba()).copy()
        self.glyph_cache = GlyphCache.install(self.fig.canvas.get_renderer()) if cache_text else None
        self.plain_text = FastPlainText.install(self.fig.canvas.get_renderer()) if cache_text else None
        if self.text_cache is not None:
            self.text_cache.fast = self.plain_text
        self.static_names = set(self.artists)
        self._animated = True

    def _new(self, name: str, art):
        art.set_animated(self._animated)
        self.artists[name] = art
        return art

    def _touch(self, name: str, art):
        self.touched.append(name)
        return art

    def _lw(self, w: float) -> float:
        return max(0.5, w * self.unit_pt)

    def _draw_items(self, f: Frame) -> None:
        """Update the artists of ``f``'s primitives; ``self.touched``: their names in drawing order."""
        th = self.frames.theme
        self.touched: list[str] = []
        for seg in f.segments:
            art = self.artists.get(seg.name)
            if art is None:
                art = LineCollection([], linewidths=self._lw(seg.width), alpha=seg.alpha, zorder=1)
                self.ax.add_collection(art)
                self._new(seg.name, art)
                self._looks[seg.name] = (seg.width, seg.alpha)
            elif self._looks[seg.name] != (seg.width, seg.alpha):   # a look that changes: as this frame says
                art.set_linewidth(self._lw(seg.width))
                art.set_alpha(seg.alpha)
                self._looks[seg.name] = (seg.width, seg.alpha)
            _set_segments(art, seg.xy)
            _set_colors(art, seg.colors)
            self._touch(seg.name, art)
        for pl in f.lines:
            art = self.artists.get(pl.name)
            if art is None:
                (art,) = self.ax.plot([], [], color=pl.color, lw=self._lw(pl.width), zorder=2,
                                      solid_capstyle="round")
                self._new(pl.name, art)
                self._looks[pl.name] = (pl.width, pl.color)
            elif self._looks[pl.name] != (pl.width, pl.color):
                art.set_linewidth(self._lw(pl.width))
                art.set_color(pl.color)
                self._looks[pl.name] = (pl.width, pl.color)
            art.set_data(pl.xy[:, 0], pl.xy[:, 1])
            self._touch(pl.name, art)
        for pts in f.points:
            # one Line2D of markers per (group, colour): Agg's cached-marker path is ~5x faster than scatter;
            # a large group is drawn as one image instead (scenes.backends.raster), with the same discs in the
            # same order
            diameter = 2 * pts.radius * self.unit_pt
            edge = (0.0 if not pts.ring else max(0.6, 0.25 * diameter) if pts.ring_width is None
                    else max(0.6, pts.ring_width * self.unit_pt))
            big = len(pts.xy) >= RASTER_MIN
            ras = self.artists.get(f"{pts.name}/raster")
            if ras is None:   # created with the group, so it keeps the group's place in the drawing order
                ras = PointRaster(zorder=4 if pts.ring else 3, ring_rgb=to_rgb(th["collapsed"]))
                self.ax.add_artist(ras)
                self._new(f"{pts.name}/raster", ras)
            ras.set_points(pts.xy if big else None, pts.color, diameter / 2 * DPI / 72, edge * DPI / 72)
            self._touch(f"{pts.name}/raster", ras)
            names = self._colour_names.get(pts.name)
            if names is None:
                names = self._colour_names[pts.name] = [f"{pts.name}/{c}" for c in range(len(PALETTE))]
            sels = [_NO_POINTS] * len(PALETTE) if big else _by_colour(pts.color)
            for c, name in enumerate(names):
                sel = sels[c]
                art = self.artists.get(name)
                if art is None:
                    if len(sel) == 0:
                        continue
                    (art,) = self.ax.plot([], [], "o", ms=diameter, mfc=PALETTE[c], ls="none",
                                          zorder=4 if pts.ring else 3,
                                          mec=th["collapsed"] if pts.ring else "none",
                                          mew=edge)
                    self._new(name, art)
                elif art.get_markersize() != diameter or art.get_markeredgewidth() != edge:   # may change
                    art.set_markersize(diameter)
                    art.set_markeredgewidth(edge)
                art.set_data(pts.xy[sel, 0], pts.xy[sel, 1])
                self._touch(name, art)
        if f.card or f.cover > 0 or "cover" in self.artists:
            cover = self.artists.get("cover")
            if cover is None:
                cover = Rectangle((0, 0), self.fig_w, self.fig_h, facecolor=th["bg"], edgecolor="none", zorder=10)
                self.ax.add_patch(cover)
                self._new("cover", cover)
            cover.set_alpha(f.cover)
            cover.set_visible(f.cover > 0)
            self._touch("cover", cover)
        for lab, z in [(lab, 5) for lab in f.labels] + [(lab, 11) for lab in f.card]:
            art = self.artists.get(lab.name)
            key = (lab.text, lab.color, lab.alpha, lab.x, lab.y, lab.ha, lab.va, lab.size)
            if art is not None and self.label_keys.get(lab.name) == key:   # as last set: nothing to update
                self._touch(lab.name, art)
                continue
            if art is None:
                art = self.ax.text(lab.x, lab.y, lab.text, color=lab.color, ha=lab.ha, va=lab.va, zorder=z,
                                   fontsize=lab.size * self.unit_pt / CAP_HEIGHT, family="DejaVu Sans")
                self._new(lab.name, art)
            else:  # labels keep their name across frames; anything about them may change (what did is set)
                old = self.label_keys.get(lab.name) or (None,) * 8
                if lab.text != old[0]:
                    art.set_text(lab.text)
                if lab.color != old[1]:
                    art.set_color(lab.color)
                if (lab.x, lab.y) != old[3:5]:
                    art.set_position((lab.x, lab.y))
                if lab.size != old[7]:
                    art.set_fontsize(lab.size * self.unit_pt / CAP_HEIGHT)   # e.g. a count badge that grows
                if lab.ha != old[5]:
                    art.set_horizontalalignment(lab.ha)
                if lab.va != old[6]:
                    art.set_verticalalignment(lab.va)
            art.set_alpha(lab.alpha)
            art.set_visible(lab.alpha > 0)
            self.label_keys[lab.name] = key
            self._touch(lab.name, art)

    def draw(self, i: int) -> np.ndarray:
        """RGBA ``(H, W, 4) uint8`` of frame ``i`` (a view of the canvas buffer: copy it to keep it).

        Depends on frame ``i`` alone (the static background, then the primitives of ``frames.frame(i)`` by
        z-order, ties in the frame's order), not on the frames drawn before: frames can be drawn in any order
        and in several processes (:mod:`scenes.backends.parallel`)."""
        self._draw_items(self.frames.frame(i))
        canvas = self.fig.canvas
        renderer = canvas.get_renderer()
        pixels = np.asarray(renderer.buffer_rgba())
        cache = self.text_cache
        arts = self.artists
        order = sorted(((n, arts[n]) for n in dict.fromkeys(self.touched)
                        if n not in self.static_names and arts[n].get_visible()), key=lambda na: na[1].get_zorder())
        cover = arts.get("cover")
        if cover is not None and cover.get_visible() and cover.get_alpha() == 1 and self._cover_hides(renderer):
            # an opaque title-card cover: nothing below shows, and it sets every pixel to its colour (checked)
            k = [n for n, _ in order].index("cover")
            if cache is not None:
                pixels.view(np.uint32).fill(self._cover_rgba.view(np.uint32)[0])   # (one word a pixel: fast)
                k += 1
            order = order[k:]
        else:
            canvas.restore_region(self.background)
        data = self.ax.transData
        affine = data.get_affine().frozen()
        for name, art in order:
            if cache is not None and name in self.label_keys:
                cache.draw(art, self.label_keys[name], renderer, pixels, self.background_pixels)
            elif cache is not None and art.get_transform() is data and _marker_only(art):
                _draw_markers(art, renderer, affine, self.marker_looks)
            elif cache is not None and art.get_transform() is data and _plain_line(art):
                _draw_line(art, renderer, affine)
            elif cache is not None and _plain_collection(art):
                _draw_segments(art, renderer)
            else:
                art.draw(renderer)
        return pixels

    def _cover_hides(self, renderer) -> bool:
        """Whether the title-card cover at alpha 1 sets every pixel of the canvas to the background colour
        (checked once, on a canvas filled with another colour), so that nothing drawn below it can show."""
        if self._cover_opaque is None:
            pixels = np.asarray(renderer.buffer_rgba())
            saved = pixels.copy()
            bg = np.rint(255 * np.array(to_rgba(self.frames.theme["bg"]))).astype(np.uint8)
            pixels[...] = 255 - bg
            self.artists["cover"].draw(renderer)
            self._cover_opaque = bool((pixels == bg).all())
            self._cover_rgba = bg   # what the cover's draw sets every pixel to, when it hides
            pixels[...] = saved
        return self._cover_opaque

    def close(self) -> None:
        plt.close(self.fig)


def iter_frames(frames: FrameModel, width: int, height: int,
                progress: Callable[[int, int], None] | None = None, jobs: int = 1) -> Iterator[np.ndarray]:
    """RGBA frames ``(height, width, 4) uint8`` in order, drawn in-process or (``jobs > 1``) by worker
    processes (:func:`scenes.backends.parallel.parallel_frames`); each is valid until the next is asked for."""
    def make_drawer():
        drawer = MplFrameDrawer(frames, width, height)
        return drawer.draw, drawer.close

    return parallel.parallel_frames(make_drawer, frames.n_frames, (height, width, 4), jobs, progress)


def render_mpl(frames: FrameModel, out_path: Path, quality: str,
               progress: Callable[[int, int], None] | None = None, jobs: int = 1) -> Path:
    """Render every frame to an MP4 at ``out_path`` (atomic); ``jobs``: processes drawing frames."""
    q = export.quality(quality)
    with contextlib.closing(iter_frames(frames, q.width, q.height, progress, jobs)) as it:
        return export.write_mp4(it, out_path, q.width, q.height, frames.fps, pix_fmt_in="rgba")


def render_mpl_png(frames: FrameModel, out_path: Path, quality: str, index: int = -1) -> Path:
    """One frame (default: the last) as PNG."""
    q = export.quality(quality)
    drawer = MplFrameDrawer(frames, q.width, q.height)
    try:
        rgb = drawer.draw(index % frames.n_frames)[..., :3].copy()
    finally:
        drawer.close()
    return export.write_png(rgb, out_path)
