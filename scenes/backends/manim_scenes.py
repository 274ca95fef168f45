"""Manim renderer of every scene (Cairo renderer, no LaTeX: labels are typeset from matplotlib's glyph outlines).

The renderer computes nothing about the trace: it draws the primitives of :mod:`scenes.clips.base` (figure
units, origin bottom-left: 16 x 9, or the frame model's ``fig_w x fig_h``) mapped to Manim coordinates (scale
8/9 Manim units a figure unit, figure (8, 4.5) at Manim's origin; the camera frame is centred on the figure: a
16:9 frame has height 8).
:class:`FrameMobjects` shows what changes, once per frame, and nothing else:

- the frame model's ``static()`` frame (panel frames, axes, chart, titles) is drawn once into a background
  image, which every frame starts from (copied; nothing of it is redrawn);
- per frame the dynamic mobjects are updated in place, one mobject per primitive (never one per glyph or per
  segment): each ``Points`` group one point-cloud mobject (a :class:`~manim.PMobject`, or for a ``ring`` group a
  :class:`RingCloud`); each ``Segments`` group one VMobject per colour holding all its segments as subpaths;
  each ``Polyline`` one VMobject; each ``Label`` one VMobject holding the whole line's glyph outlines;
- a label's outline comes from :mod:`scenes.backends.glyphs` (matplotlib's text layout and mathtext, cached by
  text), so ``"$T_1(X)$"`` is typeset, in the matplotlib renderer's font; its points change only when its text
  or place does;
- :class:`FrameCamera` turns a VMobject into a Cairo path with one call per Bezier curve (Manim's own path code
  does per-subpath numpy work; the curves of all the VMobjects it draws in one batch are sorted into subpaths,
  lines and curves in one numpy pass, :func:`path_rows`), replays the path of a VMobject that did not change,
  and paints a label from pixels it drew once (a label whose text did not change is one paint);
- while the title card covers the frame fully, only the card is drawn.

What a frame shows depends on that frame alone (each layer holds the frame's own primitives, in its order;
replayed paths and kept pixels are exactly what drawing afresh gives), so :class:`ManimFrameDrawer` can draw
any frame, in any order, in any process.

Point clouds are drawn as antialiased discs by :class:`DiscCamera` (stock Cairo Manim paints them as
unblended pixel squares), with diameter ``stroke_width`` pixels: Cairo-drawn sprites, one painted box a point.

:func:`render_manim` draws the clip, or a range of its frames, with :class:`ManimFrameDrawer` in ``jobs``
processes (:mod:`scenes.backends.parallel`) and pipes the frames to one encoder
(:func:`scenes.backends.export.write_mp4`: atomic, the encoder's exit status checked), so an interrupted or
failed render leaves nothing behind. :class:`FrameScene` is the same drawing as a Manim ``Scene`` (Manim's scene
loop and file writer).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
from manim import (
    Animation,
    Camera,
    Group,
    ManimColor,
    PMobject,
    Rectangle,
    Scene,
    VMobject,
    linear,
    tempconfig,
)
from manim.constants import CapStyleType, LineJointType

from geomdl.errors import GeomdlError
from scenes.backends import export, glyphs
from scenes.backends.raster import RASTER_MIN, splat
from scenes.clips.base import FIG_H, FIG_W, PALETTE, Frame, FrameModel, Label, Points, Segments, figure_units

FRAME_HEIGHT = 8.0                    # Manim's default frame height (Manim units)
UNIT = FRAME_HEIGHT / FIG_H           # Manim units per figure unit
MIN_LINE_PX = 1.0                     # thinnest stroke drawn, in pixels (hairlines vanish at 480p)
RING_FRACTION = 0.5                   # ring width / dot radius (matplotlib: edge width 0.25 * diameter)
CAIRO_LINE_WIDTH_MULTIPLE = 0.01      # Manim's Cairo camera: stroke_width 1 == 0.01 Manim units


def to_manim(xy: np.ndarray) -> np.ndarray:
    """Figure units ``(..., 2)`` -> Manim points ``(..., 3)``."""
    xy = np.asarray(xy, dtype=float)
    out = np.zeros((*xy.shape[:-1], 3))
    out[..., 0] = (xy[..., 0] - FIG_W / 2) * UNIT
    out[..., 1] = (xy[..., 1] - FIG_H / 2) * UNIT
    return out


def _rgba(color: str, alpha: float = 1.0) -> np.ndarray:
    return np.array([*ManimColor(color).to_rgb(), alpha], dtype=float)


PALETTE_RGBA = np.array([_rgba(c) for c in PALETTE])


def _pack(rgbas: np.ndarray) -> np.ndarray:
    """RGBA rows in 0..1 -> one int64 each (8 bits a channel): sorts like the rows do."""
    return np.rint(np.asarray(rgbas, dtype=float) * 255).astype(np.int64) @ np.array([1 << 24, 1 << 16, 1 << 8, 1])


class RingCloud(PMobject):
    """Point cloud whose discs each get an outline ring of one colour (``ring_rgba``, ``ring_px`` wide).

    Drawn point by point (fill, then ring) like matplotlib's edged markers, so overlapping collapsed points
    keep their individual rings instead of merging into one outlined blob.
    """

    def __init__(self, ring_rgba: np.ndarray, ring_px: float, **kwargs):
        super().__init__(**kwargs)
        self.ring_rgba = np.asarray(ring_rgba, dtype=float)
        self.ring_px = float(ring_px)


def _cairo_rgba(rgba) -> tuple[float, float, float, float]:
    """Manim's pixel array is RGBA while Cairo's ARGB32 is BGRA in memory: swap red/blue like Manim does."""
    r, g, b, a = (float(v) for v in rgba)
    return b, g, r, a


SUBPIXEL = 4        # point sprites are drawn at 1/SUBPIXEL pixel steps (positions off by <= 1/8 px)


def _sprite_half(r: float, ring: tuple | None) -> int:
    """Half side (px) of the sprite of a disc of radius ``r`` px (with its ring): it holds the antialiased edge."""
    return int(np.ceil(r + (0.5 * ring[1] if ring else 0.0) + 1.0))


@lru_cache(maxsize=4096)
def _sprite(rgba: tuple, r: float, ring: tuple | None, phase: int):
    """A point's disc as a small Cairo surface, drawn by Cairo (its antialiasing): radius ``r`` px in ``rgba``
    (RGBA 0..1), for a ring group ``ring = (ring rgba, ring px)``: the outer disc in the ring colour, then the
    inner disc (a ring centred on the radius, as a matplotlib marker edge). Its centre sits at
    ``(K + (phase // SUBPIXEL + 0.5) / SUBPIXEL, K + (phase % SUBPIXEL + 0.5) / SUBPIXEL)``, the middle of the
    sub-pixel cell that a point falls in; painted at the point's pixel minus ``K`` it lands at that place."""
    import cairo  # noqa: PLC0415

    K = _sprite_half(r, ring)
    side = 2 * K + 1
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, side, side)
    ctx = cairo.Context(surface)
    cx = K + (phase // SUBPIXEL + 0.5) / SUBPIXEL
    cy = K + (phase % SUBPIXEL + 0.5) / SUBPIXEL
    tau = 2 * np.pi
    if ring is not None:
        ring_rgba, ring_px = ring
        half = 0.5 * ring_px
        ctx.arc(cx, cy, r + half, 0.0, tau)
        ctx.set_source_rgba(*_cairo_rgba(ring_rgba))
        ctx.fill()
        r = max(r - half, 0.25)
    ctx.arc(cx, cy, r, 0.0, tau)
    ctx.set_source_rgba(*_cairo_rgba(rgba))
    ctx.fill()
    surface.flush()
    return surface


def _distinct(index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(index, return_inverse=True)`` of ``(n,)`` integers (by counting where they are small and
    not negative)."""
    if index.dtype.kind in "iu" and len(index) and 0 <= index.min() and index.max() < 4096:
        present = np.bincount(index) > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[index]
    uniq, inverse = np.unique(index, return_inverse=True)
    return uniq, inverse.reshape(-1)


def paint_surface(ctx, surface, x0: int, y0: int) -> None:
    """Composite ``surface`` source-over into ``ctx`` with its corner at ``(x0, y0)`` (the current user space;
    whole pixels under an identity matrix): exactly the fill of its box (``paint()`` of a source with
    ``EXTEND_NONE``: Cairo bounds the operation by the source's extents), one call fewer."""
    ctx.set_source_surface(surface, x0, y0)
    ctx.paint()


def paint_discs(ctx, dx: np.ndarray, dy: np.ndarray, kind: np.ndarray, order: np.ndarray, colors: list,
                r: float, ring: tuple | None) -> None:
    """Paint discs of radius ``r`` px (with ``ring``: see :func:`_sprite`) into ``ctx`` (its matrix the
    identity): disc ``j`` centred at device pixel ``(dx[j], dy[j])`` (``(n,)`` floats; a point that is not
    finite is skipped) in colour ``colors[kind[j]]`` (RGBA 0..1), in the order ``order`` (indices into the
    points), each one source-over on what is drawn before it.

    Each disc is its sprite (per colour and sub-pixel place, cached) painted with its corner at the disc's
    pixel minus the sprite's half side. The sprites are looked up once per distinct (colour, place) of the
    cloud, not once a point; a sprite is painted with ``paint()`` (the source's extents bound what Cairo
    composites, so it is exactly the fill of the sprite's box).
    """
    order = np.asarray(order)
    order = order[np.isfinite(dx[order]) & np.isfinite(dy[order])]
    if len(order) == 0:
        return
    px, py = dx[order], dy[order]
    ix, iy = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    phase = (np.floor((px - ix) * SUBPIXEL) * SUBPIXEL + np.floor((py - iy) * SUBPIXEL)).astype(np.int64)
    s2 = SUBPIXEL * SUBPIXEL
    keys, which = np.unique(np.asarray(kind, dtype=np.int64)[order] * s2 + phase, return_inverse=True)
    sprites = np.empty(len(keys), dtype=object)
    sprites[:] = [_sprite(colors[k // s2], r, ring, k % s2) for k in keys.tolist()]
    K = _sprite_half(r, ring)
    set_source, paint = ctx.set_source_surface, ctx.paint
    for s, x0, y0 in zip(sprites[which.reshape(-1)].tolist(), (ix - K).tolist(), (iy - K).tolist(), strict=True):
        set_source(s, x0, y0)
        paint()


class DiscCamera(Camera):
    """Cairo camera that draws each point of a PMobject as an antialiased disc of diameter ``thickness`` px.

    (Stock Cairo Manim paints unblended pixel squares.) Each disc is a sprite (:func:`_sprite`: drawn once
    by Cairo per colour, size and sub-pixel place, looked up once per distinct pair of those in a cloud, then
    painted: ~4x cheaper than filling an arc; :func:`paint_discs`), colour by colour (a :class:`RingCloud`:
    point by point, each disc with its ring). A cloud of at least ``RASTER_MIN`` opaque points is splatted with
    numpy instead (:func:`scenes.backends.raster.splat`: the same discs and order, each centred on the pixel
    that holds it), which costs less per point there.
    """

    def display_point_cloud(self, pmobject, points, rgbas, thickness, pixel_array) -> None:
        if len(points) == 0:
            return
        if len(points) >= RASTER_MIN and np.all(np.asarray(rgbas)[:, 3] >= 1.0):
            self._display_raster(pmobject, points, rgbas, thickness, pixel_array)
            return
        ctx = self.get_cairo_context(pixel_array)
        P = self.transform_points_pre_display(pmobject, points)
        m = ctx.get_matrix()                                          # Manim units -> device pixels
        dx, dy = m.xx * P[:, 0] + m.xy * P[:, 1] + m.x0, m.yx * P[:, 0] + m.yy * P[:, 1] + m.y0
        rgbas = np.asarray(rgbas, dtype=float)
        ring = isinstance(pmobject, RingCloud)
        index = getattr(pmobject, "palette_index", None)
        if ring:        # each point's own colour: the distinct rows by their bytes (their order does not matter)
            rows = np.ascontiguousarray(rgbas).view(np.dtype((np.void, rgbas.itemsize * rgbas.shape[1])))
            first, kind = np.unique(rows.reshape(-1), return_index=True, return_inverse=True)[1:]
            uniq = rgbas[first]
        elif index is not None and len(index) == len(rgbas):
            # colour by colour in palette order, as the matplotlib renderer's marker lines (parity: the
            # same class ends on top where clouds overlap)
            uniq, kind = _distinct(np.asarray(index).reshape(-1))
            uniq = PALETTE_RGBA[uniq]
        else:
            uniq, kind = np.unique(rgbas, axis=0, return_inverse=True)
        kind = kind.reshape(-1)
        # a ring cloud point by point (each disc with its ring), any other colour by colour
        order = np.arange(len(rgbas)) if ring else np.argsort(kind, kind="stable")
        colors = [tuple(c) for c in np.asarray(uniq).tolist()]
        ring_spec = (tuple(pmobject.ring_rgba.tolist()), float(pmobject.ring_px)) if ring else None
        ctx.new_path()          # Manim fills and strokes with *_preserve: the last mobject's path is still set
        ctx.save()
        ctx.identity_matrix()
        paint_discs(ctx, dx, dy, kind, order, colors, 0.5 * thickness, ring_spec)
        ctx.restore()

    def _display_raster(self, pmobject, points, rgbas, thickness, pixel_array) -> None:
        """The cloud as numpy-splatted discs, composited straight into the (RGBA, opaque) pixel array."""
        pw, ph = self.pixel_width, self.pixel_height
        P = self.transform_points_pre_display(pmobject, points)
        fc = self.frame_center
        # the Cairo context's matrix (see Camera.get_cairo_context): Manim units -> pixels, y down
        xy = np.c_[(P[:, 0] - fc[0]) * pw / self.frame_width + pw / 2,
                   ph / 2 - (P[:, 1] - fc[1]) * ph / self.frame_height]
        rgbas = np.asarray(rgbas, dtype=float)
        index = getattr(pmobject, "palette_index", None)
        if index is not None and len(index) == len(rgbas):   # set with rgbas by FrameScene: no sort needed
            color, palette, rank = index, PALETTE_RGBA[:, :3], index
        else:
            packed = _pack(rgbas)
            uniq, color = np.unique(packed, return_index=True, return_inverse=True)[1:]
            color = color.reshape(-1)
            palette, rank = rgbas[uniq, :3], color
        if isinstance(pmobject, RingCloud):     # point by point, as the Cairo path
            ring, ring_rgb, order = pmobject.ring_px, pmobject.ring_rgba[:3], None
        else:                                    # colour by colour, in the Cairo path's order
            ring, ring_rgb, order = 0.0, None, rank * len(rank) + np.arange(len(rank))
        sp = splat(xy, color, palette, pw, ph, 0.5 * thickness, ring, ring_rgb, order)
        if sp is None:
            return
        surface = self.get_cairo_context(pixel_array).get_target()
        surface.flush()                          # Cairo's pending drawing lands before ours
        sp.composite_over(pixel_array)
        surface.mark_dirty()


class _PlayFrames(Animation):
    """Drives the scene: at scene time ``t`` shows frame ``round(t * fps)`` of the model (linear time).

    ``run_time = (n - 0.5) / fps`` makes Manim's time grid ``arange(0, run_time, 1/fps)`` exactly ``n`` frames
    (one frame: ``1 / fps``, the shortest run time Manim accepts, whose grid is ``[0]``).
    """

    def __init__(self, mobject, apply: Callable[[int], None], n_frames: int, fps: int):
        self._apply, self._n, self._fps = apply, n_frames, fps
        super().__init__(mobject, run_time=max(n_frames - 0.5, 1.0) / fps, rate_func=linear,
                         suspend_mobject_updating=False)

    def begin(self) -> None:  # no starting copy of the (large) mobject: nothing is interpolated from it
        self.interpolate(0)

    def interpolate_mobject(self, alpha: float) -> None:
        i = int(round(alpha * self.run_time * self._fps))
        self._apply(min(max(i, 0), self._n - 1))


def label_points(lab: Label) -> np.ndarray:
    """Manim points ``(4n, 3)`` (cubic Bezier: anchor, handle, handle, anchor) of a label's glyph outlines.

    The outline is matplotlib's (:mod:`scenes.backends.glyphs`: its layout and mathtext, the matplotlib
    renderer's font, text height ``Label.size``), anchored at ``(x, y)`` by ``ha`` (the ink's left, centre or
    right) and ``va`` (baseline, half the cap height, cap height).
    """
    curves = glyphs.placed(lab.text, lab.x, lab.y, lab.size, lab.ha, lab.va)
    return to_manim(curves.reshape(-1, 2))


@dataclasses.dataclass
class _Drawn:
    """What :class:`FrameCamera` keeps of a VMobject it drew: the points its path was built from (the array and
    a copy), the camera matrix, the Cairo path; once drawn unchanged, its pixels (``sprite`` at device pixel
    ``(x0, y0)``) and the style they were drawn in."""

    points: np.ndarray
    copy: np.ndarray
    matrix: tuple
    path: object
    extents: tuple = (0.0, 0.0, 0.0, 0.0)      # the path's box, in device pixels
    style: tuple | None = None
    sprite: object = None
    x0: int = 0
    y0: int = 0


class FrameCamera(DiscCamera):
    """:class:`DiscCamera` that builds a VMobject's Cairo path once while it does not change, and paints a label
    from its own pixels.

    A VMobject's path is built with one Cairo call per curve (straight ones as lines), with Manim's subpaths
    (a new subpath where a curve does not start at the previous one's end; closed where it ends at its start)
    and Manim's fill and strokes, so anything a stock camera draws is drawn the same. For each VMobject drawn in
    the last frame the camera keeps the path and a copy of the points it was built from; drawn again with equal
    points the kept path is replayed. The paths to build in one batch of VMobjects (Manim's
    ``display_multiple_vectorized_mobjects``) are worked out together (:func:`path_rows`: what each one's path is
    does not depend on the others). A VMobject with ``keep_pixels = True`` (:class:`FrameMobjects` sets it on
    labels) is always drawn into a small surface of its own and painted from it (source-over: the same pixels
    as drawing it there, within rounding), from its first frame on; the surface is kept while its points and
    style stay equal (a label whose text did not change is one paint). So a frame's pixels are a function of
    its mobjects alone, whatever frames the camera drew before: frames can be drawn in any order, in several
    processes (:mod:`scenes.backends.parallel`). A VMobject that leaves no ink (all its colours transparent: a
    faded label) is not drawn.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kept: dict[int, _Drawn] = {}     # id(vmobject) -> what the last frame drew of it
        self._used: dict[int, _Drawn] = {}
        self._rows: dict[int, tuple] = {}      # id(vmobject) -> (points, matrix, path rows) worked out ahead
        self._inks: dict[int, bool] = {}       # id(vmobject) -> whether it leaves ink, worked out ahead

    def capture_mobjects(self, mobjects, **kwargs) -> None:
        super().capture_mobjects(mobjects, **kwargs)
        self._kept, self._used = self._used, {}   # keep what this frame drew, forget the rest

    @staticmethod
    def _inked(vmobject) -> bool:
        """Whether ``vmobject`` leaves ink: a fill, stroke or background stroke (of width > 0) with a colour that
        is not transparent."""
        def ink(v, width: float = 1.0) -> bool:
            return v is not None and width > 0 and bool((np.asarray(v)[:, 3] > 0).any())

        return (ink(getattr(vmobject, "fill_rgbas", None))
                or ink(getattr(vmobject, "stroke_rgbas", None), vmobject.get_stroke_width())
                or ink(getattr(vmobject, "background_stroke_rgbas", None), vmobject.get_stroke_width(True)))

    @staticmethod
    def _style(vmobject) -> tuple:
        """Everything besides the path that decides a VMobject's pixels."""
        def rgbas(name: str) -> bytes:
            v = getattr(vmobject, name, None)
            return b"" if v is None else np.ascontiguousarray(v, dtype=float).tobytes()

        return (rgbas("fill_rgbas"), rgbas("stroke_rgbas"), rgbas("background_stroke_rgbas"),
                vmobject.get_stroke_width(), vmobject.get_stroke_width(True), vmobject.joint_type,
                vmobject.cap_style)

    def _kept_path(self, ctx, vmobject) -> _Drawn | None:
        """What the last frame drew of ``vmobject``, where its points and the camera are unchanged."""
        d = self._kept.get(id(vmobject)) or self._used.get(id(vmobject))
        points = vmobject.points
        if (d is not None and d.points is points and d.matrix == tuple(ctx.get_matrix())
                and len(points) == len(d.copy) and np.array_equal(points, d.copy)):
            return d
        return None

    def display_vectorized(self, vmobject, ctx):
        key = id(vmobject)
        if not (self._inks.pop(key) if key in self._inks else self._inked(vmobject)):
            return self
        if not getattr(vmobject, "keep_pixels", False) or vmobject.get_background_image() is not None:
            return super().display_vectorized(vmobject, ctx)    # builds (or replays) and keeps the path
        style = self._style(vmobject)
        d = self._kept_path(ctx, vmobject)
        if d is None:
            d = self._new_drawn(ctx, vmobject)
            ctx.new_path()
        self._used[id(vmobject)] = d
        if d.style != style:
            self._draw_sprite(d, vmobject, ctx)
            d.style = style
        if d.sprite is not None:
            ctx.new_path()          # Manim fills and strokes with *_preserve: the last mobject's path is still set
            ctx.save()
            ctx.identity_matrix()
            paint_surface(ctx, d.sprite, d.x0, d.y0)
            ctx.restore()
        return self

    def _draw_sprite(self, d: _Drawn, vmobject, ctx) -> None:
        """Draw ``vmobject`` (path ``d.path``) as Manim does, into a transparent surface over its device box."""
        import cairo  # noqa: PLC0415

        x0, y0, x1, y1 = d.extents
        corners = [(x0, y0), (x1, y1)]
        pad = 2 + int(np.ceil(max(vmobject.get_stroke_width(), vmobject.get_stroke_width(True))
                              * self.cairo_line_width_multiple * self.pixel_width / self.frame_width))
        X0 = max(int(np.floor(min(c[0] for c in corners))) - pad, 0)
        Y0 = max(int(np.floor(min(c[1] for c in corners))) - pad, 0)
        X1 = min(int(np.ceil(max(c[0] for c in corners))) + pad, self.pixel_width)
        Y1 = min(int(np.ceil(max(c[1] for c in corners))) + pad, self.pixel_height)
        if X1 <= X0 or Y1 <= Y0:
            d.sprite = None
            return
        surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, X1 - X0, Y1 - Y0)
        c2 = cairo.Context(surface)
        c2.translate(-X0, -Y0)      # the path is in device pixels: shifted by whole pixels, exactly
        c2.append_path(d.path)
        m = ctx.get_matrix()        # line widths are in Manim units, as in the camera's context
        c2.set_matrix(cairo.Matrix(m.xx, m.yx, m.xy, m.yy, m.x0 - X0, m.y0 - Y0))
        self.apply_stroke(c2, vmobject, background=True)
        self.apply_fill(c2, vmobject)
        self.apply_stroke(c2, vmobject)
        surface.flush()
        d.sprite, d.x0, d.y0 = surface, X0, Y0

    def set_cairo_context_path(self, ctx, vmobject):
        d = self._kept_path(ctx, vmobject)
        if d is not None:
            ctx.new_path()
            ctx.save()
            ctx.identity_matrix()
            ctx.append_path(d.path)
            ctx.restore()           # the path stays (it is not part of Cairo's saved state)
        else:
            d = self._new_drawn(ctx, vmobject)
        self._used[id(vmobject)] = d
        return self

    def _new_drawn(self, ctx, vmobject) -> _Drawn:
        """Build ``vmobject``'s path in ``ctx`` (left there) and keep it.

        The path is built in device pixels (the camera's matrix applied here, Cairo's own set to the identity
        while building), so that the kept copy (``copy_path``, in user units) replays the very same path:
        Cairo keeps device coordinates in 24.8 fixed point, which doubles hold exactly. A path built under the
        camera's matrix would come back through its inverse, a rounding away from the original."""
        matrix = tuple(ctx.get_matrix())
        ctx.save()
        ctx.identity_matrix()
        self._build_path(ctx, vmobject, matrix)
        path = ctx.copy_path()
        extents = ctx.path_extents()
        ctx.restore()
        points = vmobject.points
        return _Drawn(points, points.copy(), matrix, path, extents=extents)

    def display_multiple_vectorized_mobjects(self, vmobjects, pixel_array) -> None:
        """Manim's, after the path rows of every VMobject here whose path is to be built are worked out in one
        pass (:func:`path_rows`; a VMobject's path is built from them, or from its own rows where they were
        not worked out here)."""
        if len(vmobjects) > 1:
            ctx = self.get_cairo_context(pixel_array)
            matrix = tuple(ctx.get_matrix())
            todo, curves, tols = [], [], []
            for vm in vmobjects:
                inked = self._inks[id(vm)] = self._inked(vm)
                points = vm.points
                nppcc = vm.n_points_per_cubic_curve
                n = len(points) // nppcc * nppcc
                if not inked or nppcc != 4 or n == 0 or self._kept_path(ctx, vm) is not None:
                    continue
                c = self.transform_points_pre_display(vm, points[:n])
                if len(c) != n:          # not finite: Manim's stand-in point (built on its own, as before)
                    continue
                todo.append((vm, points))
                curves.append(c[:, :2].reshape(-1, 4, 2))
                tols.append(vm.tolerance_for_point_equality)
            if len(todo) > 1:
                for (vm, points), rows in zip(todo, path_rows(curves, tols, matrix), strict=True):
                    self._rows[id(vm)] = (points, matrix, rows)
        try:
            super().display_multiple_vectorized_mobjects(vmobjects, pixel_array)
        finally:
            self._rows.clear()
            self._inks.clear()

    def _build_path(self, ctx, vmobject, ctx_matrix: tuple) -> None:
        """The VMobject's curves as the Cairo path (what Manim's ``set_cairo_context_path`` draws), its points
        mapped by ``ctx_matrix`` (``xx, yx, xy, yy, x0, y0``) here: one Cairo call per curve (see
        :func:`path_rows`)."""
        ctx.new_path()
        kept = self._rows.pop(id(vmobject), None)
        if kept is not None and kept[0] is vmobject.points and kept[1] == ctx_matrix:
            rows = kept[2]
        else:
            nppcc = vmobject.n_points_per_cubic_curve
            points = vmobject.points
            n = len(points) // nppcc * nppcc
            if n == 0:
                return
            c4 = self.transform_points_pre_display(vmobject, points[:n])[:, :2].reshape(-1, nppcc, 2)
            rows = path_rows([c4], [vmobject.tolerance_for_point_equality], ctx_matrix)[0]
        move_to, line_to, curve_to, close_path = ctx.move_to, ctx.line_to, ctx.curve_to, ctx.close_path
        flags, coords = rows
        nx = iter(coords).__next__
        for f in flags:
            if f & 1:
                move_to(nx(), nx())
            if f & 2:
                line_to(nx(), nx())
            else:
                curve_to(nx(), nx(), nx(), nx(), nx(), nx())
            if f & 4:
                close_path()


def path_rows(curves: list, tols: list, matrix: tuple) -> list:
    """The Cairo path of each of several VMobjects, worked out for all of them in one pass: for each, ``(flags,
    coords)``, a curve's flags (``int``) and, one curve after the other, the device coordinates its Cairo calls
    take: ``x0, y0`` (where it starts a subpath: ``move_to``), then ``x1, y1`` (straight: ``line_to``) or
    ``h1x, h1y, h2x, h2y, x1, y1`` (``curve_to``). (Only the floats the calls take are made: most of the cost.)

    ``curves[k]``: VMobject ``k``'s cubic Bezier curves ``(m_k, c, 2)`` (``m_k >= 1``; anchor, handles, anchor;
    Manim units, finite), ``tols[k]`` its ``tolerance_for_point_equality``; ``matrix`` (``xx, yx, xy, yy, x0,
    y0``) maps them to device pixels. ``flags``: 1 the curve starts a subpath (Manim's subpaths: a new
    one where a curve does not start at the previous curve's end, by Manim's point equality, ``np.isclose``),
    2 it is straight (its handles lie on its chord: drawn as that line, the same ink; Cairo strokes lines faster
    than curves), 4 it ends its subpath where the subpath began (closed: ``close_path``). What each VMobject's
    path is does not depend on the others'."""
    counts = [len(c) for c in curves]
    c4 = np.concatenate(curves) if len(curves) > 1 else np.asarray(curves[0])
    m = len(c4)
    tol = np.repeat(np.asarray(tols, dtype=float), counts)
    x, y = c4[..., 0], c4[..., 1]                      # (m, c) each
    ax0, ay0, ax1, ay1 = x[:, 0], y[:, 0], x[:, -1], y[:, -1]

    # Manim's point equality in 2D (np.isclose; NaN never close), coordinate by coordinate. (Sums and
    # reductions over the two coordinates are written out: the same sums, in the same order.)
    def close(i, j, t):    # the start of curves i vs the end of curves j
        return ((np.abs(ax0[i] - ax1[j]) <= t + 1e-5 * np.abs(ax1[j]))
                & (np.abs(ay0[i] - ay1[j]) <= t + 1e-5 * np.abs(ay1[j])))

    bounds = np.cumsum([0, *counts])
    new = np.ones(m, bool)                             # a curve that starts a subpath
    new[1:] = ~close(slice(1, None), slice(None, -1), tol[1:])
    new[bounds[:-1]] = True                            # each VMobject's first curve
    last = np.r_[new[1:], True]                        # a curve that ends one
    starts = np.flatnonzero(new)
    closed = np.zeros(m, bool)                         # ... and closes it (ends where it began)
    closed[last] = close(starts, last, tol[last])
    dx, dy = ax1 - ax0, ay1 - ay0
    rx, ry = x[:, 1:-1] - ax0[:, None], y[:, 1:-1] - ay0[:, None]     # the handles from the start (m, c - 2)
    cross = np.abs(rx * dy[:, None] - ry * dx[:, None])
    along = rx * dx[:, None] + ry * dy[:, None]
    dd = (dx * dx + dy * dy)[:, None]
    straight = ((cross <= 1e-9 * dd) & (along >= 0) & (along <= dd)).all(axis=1)
    straight &= (dd[:, 0] > 0) | ((rx == 0) & (ry == 0)).all(axis=1)    # a loop from a point back to it is curved
    flags = new * 1 + straight * 2 + closed * 4
    xx, yx, xy, yy, x0, y0 = matrix
    dev = np.empty((m, 2 * c4.shape[1]))
    dev[:, 0::2] = xx * x + xy * y + x0
    dev[:, 1::2] = yx * x + yy * y + y0
    need = np.ones((m, 2 * c4.shape[1]), bool)
    need[:, 0:2] = new[:, None]
    need[:, 2:-2] = ~straight[:, None]
    flat = dev[need].tolist()
    ends = np.r_[0, np.cumsum(need.sum(axis=1))][bounds].tolist()
    fl = flags.tolist()
    b = bounds.tolist()
    return [(fl[b[k]:b[k + 1]], flat[ends[k]:ends[k + 1]]) for k in range(len(curves))]


LAYERS = ("segments", "lines", "points", "rings", "labels", "cover", "card")   # drawing order (as matplotlib's)


class FrameMobjects:
    """The mobjects that show a frame model's frames through a Manim camera, updated in place per frame.

    ``static_root``: the frame model's ``static()`` frame (drawn once, into the camera's background image);
    ``dynamic_root``: what :meth:`show` sets to frame ``i``. One mobject per primitive, kept by its name across
    frames and updated in place; each layer holds exactly the current frame's primitives, in the frame's
    order (a primitive absent from a frame is not drawn), so what a frame shows depends on that frame alone,
    not on the frames shown before it. While the title card covers the frame fully only the card is shown.
    ``progress(k, n)`` is called by :meth:`show` with ``k = i + 1 - start``.
    """

    def __init__(self, frames: FrameModel, camera: Camera, progress: Callable[[int, int], None] | None = None,
                 start: int = 0, stop: int | None = None):
        self.frames, self.camera, self.progress = frames, camera, progress
        self.start, self.stop = check_range(frames, start, stop)
        fw, fh = figure_units(frames)    # the camera frame centred on the figure (Manim's origin: figure (8, 4.5))
        camera.frame_center = np.array([(fw - FIG_W) / 2 * UNIT, (fh - FIG_H) / 2 * UNIT, 0.0])
        camera.pixel_array_to_cairo_context = {}     # contexts made before this hold the old centre
        camera.background_color = ManimColor(frames.theme["bg"])
        camera.init_background()
        self._collapsed_rgba = _rgba(frames.theme["collapsed"])
        self._seg_groups: dict[str, dict[str, VMobject]] = {}
        self._pt_groups: dict[str, PMobject] = {}
        self._lines: dict[str, VMobject] = {}
        self._labels: dict[str, VMobject] = {}
        self._label_shown: dict[str, Label] = {}
        self._cover = None
        static = {k: Group() for k in LAYERS}
        self._draw(frames.static(), static)
        self.static_root = Group(*static.values())
        self._dynamic = {k: Group() for k in LAYERS}
        self.dynamic_root = Group(*self._dynamic.values())
        self._below = [self._dynamic[k] for k in LAYERS[:5]]
        self._on_top = [self._dynamic["cover"], self._dynamic["card"]]
        self._last, self._covered = -1, False

    # -- unit conversions ---------------------------------------------------------------------------
    def _px_per_unit(self) -> float:
        """Pixels per figure unit."""
        return self.camera.pixel_height / figure_units(self.frames)[1]

    def _stroke(self, width: float) -> float:
        """Line width in figure units -> Manim ``stroke_width`` (at least ``MIN_LINE_PX`` pixels)."""
        w = max(width * self._px_per_unit(), MIN_LINE_PX) / self._px_per_unit() * UNIT
        return w / CAIRO_LINE_WIDTH_MULTIPLE

    # -- builders: each appends the mobjects it shows to ``shown`` (the layer's members, in order) ----
    def _segments_group(self, seg: Segments, shown: list) -> None:
        """One VMobject per colour, holding all that colour's segments as separate straight subpaths."""
        group = self._seg_groups.setdefault(seg.name, {})
        colors = np.asarray(seg.colors)
        xy = np.asarray(seg.xy, dtype=float).reshape(-1, 2, 2)
        ok = np.isfinite(xy).all(axis=(1, 2))
        colors, xy = colors[ok], xy[ok]
        p0, p1 = to_manim(xy[:, 0]), to_manim(xy[:, 1])        # every segment as a straight cubic curve
        d = p1 - p0
        curves = np.stack([p0, p0 + d / 3, p0 + 2 * d / 3, p1], axis=1)
        present = list(dict.fromkeys(colors.tolist()))     # the frame's colours, in the order they first appear
        for c in present:
            mob = group.get(c)
            if mob is None:
                mob = VMobject(stroke_color=c, stroke_width=self._stroke(seg.width), stroke_opacity=seg.alpha,
                               fill_opacity=0.0, cap_style=CapStyleType.ROUND)
                group[c] = mob
            mob.points = (curves if len(present) == 1 else curves[colors == c]).reshape(-1, 3)
            shown.append(mob)

    def _points_group(self, pts: Points, shown: list) -> None:
        mob = self._pt_groups.get(pts.name)
        r_px = pts.radius * self._px_per_unit()
        ring_px = max(0.8, RING_FRACTION * r_px if pts.ring_width is None
                      else pts.ring_width * self._px_per_unit())
        if mob is None:
            if pts.ring:
                mob = RingCloud(self._collapsed_rgba, ring_px, stroke_width=2 * r_px)
            else:
                mob = PMobject(stroke_width=2 * r_px)
            self._pt_groups[pts.name] = mob
        else:   # a group's radius (and ring) may change from frame to frame
            mob.stroke_width = 2 * r_px
            if pts.ring:
                mob.ring_px = ring_px
        xy = np.asarray(pts.xy, dtype=float).reshape(-1, 2)
        ok = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
        mob.points = to_manim(xy[ok])
        mob.palette_index = np.asarray(pts.color, dtype=int).reshape(-1)[ok] % len(PALETTE)   # for the raster path
        mob.rgbas = PALETTE_RGBA[mob.palette_index]
        shown.append(mob)

    def _draw(self, f: Frame, layers: dict[str, Group]) -> None:
        """Set ``layers`` (a :data:`LAYERS` dict of groups) to show the primitives of ``f``."""
        shown: dict[str, list] = {k: [] for k in LAYERS}
        for seg in f.segments:
            self._segments_group(seg, shown["segments"])
        for pl in f.lines:
            mob = self._lines.get(pl.name)
            if mob is None:
                mob = VMobject(stroke_color=pl.color, stroke_width=self._stroke(pl.width), fill_opacity=0.0,
                               joint_type=LineJointType.ROUND, cap_style=CapStyleType.ROUND)
                self._lines[pl.name] = mob
            xy = np.asarray(pl.xy, dtype=float).reshape(-1, 2)
            xy = xy[np.isfinite(xy).all(axis=1)]
            if len(xy) >= 2:
                mob.set_points_as_corners(to_manim(xy))
                shown["lines"].append(mob)
        for pts in f.points:
            self._points_group(pts, shown["rings" if pts.ring else "points"])
        if f.card or f.cover > 0:
            if self._cover is None:
                fw, fh = figure_units(self.frames)
                self._cover = Rectangle(width=fw * UNIT * 1.05, height=fh * UNIT * 1.05, stroke_width=0,
                                        fill_color=self.frames.theme["bg"], fill_opacity=1.0)
                self._cover.move_to(self.camera.frame_center)
            self._cover.set_fill(opacity=f.cover)
            shown["cover"].append(self._cover)
        for lab, layer in [(lab, "labels") for lab in f.labels] + [(lab, "card") for lab in f.card]:
            mob = self._labels.get(lab.name)
            if mob is None:
                mob = VMobject(fill_color=lab.color, fill_opacity=lab.alpha, stroke_width=0.0)
                mob.keep_pixels = True      # FrameCamera paints it from its own pixels while it is unchanged
                self._labels[lab.name] = mob
            shown[layer].append(mob)
            was = self._label_shown.get(lab.name)
            if was == lab:
                continue
            if was is None or (was.text, was.x, was.y, was.size, was.ha, was.va) != (
                    lab.text, lab.x, lab.y, lab.size, lab.ha, lab.va):
                mob.points = label_points(lab)
            if was is None or (was.color, was.alpha) != (lab.color, lab.alpha):
                mob.set_fill(lab.color, opacity=lab.alpha)
            self._label_shown[lab.name] = lab
        for k in LAYERS:
            layers[k].submobjects = shown[k]

    def show(self, i: int) -> None:
        """Set :attr:`dynamic_root` to frame ``i`` of the frame model."""
        if i == self._last:
            return
        f = self.frames.frame(i)
        covered = f.cover >= 1.0
        if covered:   # a full title card hides everything under it: draw the card only
            self._draw(Frame(cover=f.cover, card=f.card), self._dynamic)
        else:
            self._draw(f, self._dynamic)
        if covered != self._covered:
            self.dynamic_root.submobjects = self._on_top if covered else self._below + self._on_top
            self._covered = covered
        self._last = i
        if self.progress is not None:
            self.progress(i + 1 - self.start, self.stop - self.start)


class FrameScene(Scene):
    """The 2D scene of any clip, for Manim's own scene loop and file writer: shows a frame model
    (:class:`~scenes.clips.base.FrameModel`; projection is done there) through :class:`FrameMobjects`, its
    frames ``start .. stop - 1`` (default: all). :func:`render_manim` draws the same frames with the same
    camera without Manim's scene loop (:class:`ManimFrameDrawer`)."""

    def __init__(self, frames: FrameModel, progress: Callable[[int, int], None] | None = None,
                 start: int = 0, stop: int | None = None, **kwargs):
        self.frames = frames
        self.progress = progress
        self.start, self.stop = check_range(frames, start, stop)
        kwargs.setdefault("camera_class", FrameCamera)
        super().__init__(**kwargs)

    def get_moving_and_static_mobjects(self, animations):
        """Moving: the dynamic root itself, so its family (labels are swapped) is re-read every frame.

        Manim's default flattens the family once per ``play``, which would keep drawing replaced labels.
        """
        moving, static = super().get_moving_and_static_mobjects(animations)
        mobs = getattr(self, "mobs", None)
        return ([mobs.dynamic_root] if mobs is not None else moving), static

    def construct(self) -> None:
        self.mobs = mobs = FrameMobjects(self.frames, self.camera, self.progress, self.start, self.stop)
        self.add(mobs.static_root)    # before the dynamic root: Cairo caches it as the background image
        self.add(mobs.dynamic_root)
        mobs.show(self.start)
        self.play(_PlayFrames(mobs.dynamic_root, lambda k: mobs.show(self.start + k), self.stop - self.start,
                              self.frames.fps))


def drawing_config(frames: FrameModel, width: int, height: int) -> dict:
    """Manim's config for drawing ``frames`` at ``width x height`` pixels (use with ``tempconfig``)."""
    return {
        "pixel_width": width,
        "pixel_height": height,
        "frame_rate": frames.fps,
        "frame_height": FRAME_HEIGHT * figure_units(frames)[1] / FIG_H,
        "frame_width": FRAME_HEIGHT * figure_units(frames)[1] / FIG_H * width / height,
        "background_color": frames.theme["bg"],
        "verbosity": "WARNING",
        "progress_bar": "none",
        "disable_caching": True,
        "preview": False,
    }


class ManimFrameDrawer:
    """Frames of a frame model drawn by Manim's Cairo camera (:class:`FrameCamera`), as RGBA arrays.

    What Manim's scene loop does for each frame of :class:`FrameScene`, without it: the static frame drawn once
    into a background image; per frame, the background copied into the camera's pixels and the frame's
    mobjects (:class:`FrameMobjects`) drawn over it. :meth:`draw` depends on the frame alone, so any frames, in
    any order, in any process, give the same pixels. Manim's config is set (``tempconfig``) from construction
    until :meth:`close`."""

    def __init__(self, frames: FrameModel, width: int, height: int):
        self._config = contextlib.ExitStack()
        self._config.enter_context(tempconfig(drawing_config(frames, width, height)))
        try:
            self.camera = FrameCamera()
            self.mobs = FrameMobjects(frames, self.camera)
            self.camera.reset()
            self.camera.capture_mobjects([self.mobs.static_root])
            self.background = self.camera.pixel_array.copy()
        except BaseException:
            self._config.close()
            raise

    def draw(self, i: int) -> np.ndarray:
        """RGBA ``(height, width, 4) uint8`` of frame ``i`` (the camera's pixels: copy them to keep them)."""
        self.mobs.show(i)
        self.camera.set_frame_to_background(self.background)
        self.camera.capture_mobjects([self.mobs.dynamic_root])
        return self.camera.pixel_array

    def close(self) -> None:
        self._config.close()


def check_range(frames: FrameModel, start: int = 0, stop: int | None = None) -> tuple[int, int]:
    """``(start, stop)`` of a frame range of ``frames`` (``stop`` default: ``frames.n_frames``); a range that is
    empty or outside ``0 .. n_frames`` is a :class:`GeomdlError`."""
    n = frames.n_frames
    stop = n if stop is None else stop
    if not (isinstance(start, int) and isinstance(stop, int) and 0 <= start < stop <= n):
        raise GeomdlError(f"frame range [{start}, {stop}) is not a non-empty range of the clip's {n} frames")
    return start, stop


def manim_config(frames: FrameModel, q: export.Quality, media_dir: Path) -> dict:
    """Manim's config for rendering :class:`FrameScene` with Manim's own scene loop and file writer at quality
    ``q`` into ``media_dir`` (use with ``tempconfig``)."""
    return {
        **drawing_config(frames, q.width, q.height),
        "media_dir": str(media_dir),
        "format": "mp4",
        "output_file": "clip",
        "video_codec": "libx264",
        "pixel_format": "yuv420p",
        "video_encoder_options": {"crf": "20", "preset": "veryfast"},
    }


def render_manim(frames: FrameModel, out_path: Path, quality: str | export.Quality,
                 progress: Callable[[int, int], None] | None = None, start: int = 0,
                 stop: int | None = None, jobs: int = 1) -> Path:
    """Render frames ``start .. stop - 1`` of ``frames`` (default: the whole clip) to an H.264 (yuv420p) MP4
    at ``out_path`` (atomic, the encoder's exit status checked); returns the path.

    ``quality``: Manim's presets ``l`` (854x480), ``m`` (1280x720), ``h`` (1920x1080), ``k`` (3840x2160), or a
    resolved :class:`~scenes.backends.export.Quality` (its size is used). The frame rate is ``frames.fps``;
    the file holds ``stop - start`` frames, frame ``k`` of it being the clip's frame ``start + k``.
    ``progress(i, n)`` is called after the range's frame ``i`` (1-based) of ``n = stop - start`` is drawn.
    ``jobs``: processes drawing frames (:func:`scenes.backends.parallel.parallel_frames`: each a
    :class:`ManimFrameDrawer`; one encoder, :func:`scenes.backends.export.write_mp4`, receives the frames in
    order). A frame's pixels do not depend on the frames drawn before it, so the clip is the same for any
    ``jobs``, byte for byte.
    """
    from scenes.backends import parallel  # noqa: PLC0415

    q = export.quality(quality)
    start, stop = check_range(frames, start, stop)

    def make_drawer():
        drawer = ManimFrameDrawer(frames, q.width, q.height)
        return (lambda k: drawer.draw(start + k)), drawer.close

    it = parallel.parallel_frames(make_drawer, stop - start, (q.height, q.width, 4), jobs, progress)
    with contextlib.closing(it):
        return export.write_mp4(it, Path(out_path), q.width, q.height, frames.fps, pix_fmt_in="rgba")
