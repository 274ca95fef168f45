"""Manim renderer of the ``truncation-speed`` clip (Cairo renderer, no LaTeX: text is Pango ``Text`` only).

The scene computes nothing about the trace: it draws the primitives of :mod:`scenes.clips.base` (figure units,
16 x 9, origin bottom-left) mapped to Manim coordinates (frame height 8: scale 8/9, centre at (8, 4.5)).
Static items are built once; per frame the dynamic mobjects are updated in place:

- each ``Points`` group is one point-cloud mobject: a :class:`~manim.PMobject`, or for a ``ring`` group a
  :class:`RingCloud` (a PMobject whose class-coloured discs each get a ring in the theme's 'collapsed'
  colour, like the matplotlib renderer's edged markers);
- each ``Segments`` group is one VMobject per colour whose points hold all segments as separate subpaths;
- each ``Polyline`` is one VMobject (``set_points_as_corners``);
- each ``Label`` is a ``Text``, re-created only when its text changes (digit-only changes swap cached
  digit glyphs in place, see :class:`LabelFactory`).

Point clouds are drawn as antialiased discs by a small :class:`~manim.Camera` subclass (stock Cairo Manim
paints them as unblended pixel squares), with diameter ``stroke_width`` pixels.

:func:`render_manim` renders into a private temporary media folder (always removed) and copies the MP4
(H.264, yuv420p) atomically to its destination, so an interrupted render leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable
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
    Text,
    VGroup,
    VMobject,
    linear,
    tempconfig,
)
from manim.constants import CapStyleType, LineJointType

from geomdl.errors import GeomdlError
from geomdl.io.atomic import atomic_path
from scenes.backends import export
from scenes.backends.raster import RASTER_MIN, splat
from scenes.clips.base import FIG_H, FIG_W, PALETTE, Frame, FrameModel, Label, Points, Segments

FRAME_HEIGHT = 8.0                    # Manim's default frame height (Manim units)
UNIT = FRAME_HEIGHT / FIG_H           # Manim units per figure unit
FONT = "DejaVu Sans"                  # same family as the matplotlib renderer
DIGITS = "0123456789"
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


class DiscCamera(Camera):
    """Cairo camera that draws each point of a PMobject as an antialiased disc of diameter ``thickness`` px.

    (Stock Cairo Manim paints unblended pixel squares.) Points of one colour are filled as one Cairo path;
    a :class:`RingCloud` is drawn point by point with its ring. A cloud of at least ``RASTER_MIN`` opaque
    points is splatted with numpy instead (:func:`scenes.backends.raster.splat`: the same discs and order, each
    centred on the pixel that holds it), since Cairo calls cost ~10 us a point from Python.
    """

    def display_point_cloud(self, pmobject, points, rgbas, thickness, pixel_array) -> None:
        if len(points) == 0:
            return
        if len(points) >= RASTER_MIN and np.all(np.asarray(rgbas)[:, 3] >= 1.0):
            self._display_raster(pmobject, points, rgbas, thickness, pixel_array)
            return
        ctx = self.get_cairo_context(pixel_array)
        px = self.frame_width / self.pixel_width                     # Manim units per pixel
        r = 0.5 * thickness * px
        xy = self.transform_points_pre_display(pmobject, points)[:, :2].tolist()
        rgbas = np.asarray(rgbas, dtype=float)
        tau = 2 * np.pi
        if isinstance(pmobject, RingCloud):
            # ring = outer disc in the ring colour, then the inner disc in the point's colour (two fills are
            # ~3x cheaper than fill + stroke); the ring is centred on the radius like a matplotlib edge
            half = 0.5 * pmobject.ring_px * px
            r_out, r_in = r + half, max(r - half, 0.25 * px)
            ring = _cairo_rgba(pmobject.ring_rgba)
            fills = rgbas[:, [2, 1, 0, 3]].tolist()
            for (x, y), fill in zip(xy, fills, strict=True):
                ctx.new_path()
                ctx.arc(x, y, r_out, 0.0, tau)
                ctx.set_source_rgba(*ring)
                ctx.fill()
                ctx.arc(x, y, r_in, 0.0, tau)
                ctx.set_source_rgba(*fill)
                ctx.fill()
            return
        index = getattr(pmobject, "palette_index", None)
        if index is not None and len(index) == len(rgbas):
            # colour by colour in palette order, as the matplotlib renderer's marker lines (parity: the same
            # class ends on top where clouds overlap)
            uniq, inverse = np.unique(index, return_inverse=True)
            uniq = PALETTE_RGBA[uniq]
        else:
            uniq, inverse = np.unique(rgbas, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        for k, color in enumerate(uniq):
            ctx.new_path()
            for j in np.flatnonzero(inverse == k).tolist():
                x, y = xy[j]
                ctx.move_to(x + r, y)
                ctx.arc(x, y, r, 0.0, tau)
            ctx.set_source_rgba(*_cairo_rgba(color))
            ctx.fill()

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
        if index is not None and len(index) == len(rgbas):   # set with rgbas by TruncationScene: no sort needed
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

    ``run_time = (n - 0.5) / fps`` makes Manim's time grid ``arange(0, run_time, 1/fps)`` exactly ``n`` frames.
    """

    def __init__(self, mobject, apply: Callable[[int], None], n_frames: int, fps: int):
        self._apply, self._n, self._fps = apply, n_frames, fps
        super().__init__(mobject, run_time=(n_frames - 0.5) / fps, rate_func=linear,
                         suspend_mobject_updating=False)

    def begin(self) -> None:  # no starting copy of the (large) mobject: nothing is interpolated from it
        self.interpolate(0)

    def interpolate_mobject(self, alpha: float) -> None:
        i = int(round(alpha * self.run_time * self._fps))
        self._apply(min(max(i, 0), self._n - 1))


class LabelFactory:
    """Builds ``Text`` labels anchored like matplotlib, and updates digits in place.

    ``Label.size`` is the cap height. A strut 'H' is rendered in front of the text to find the baseline and
    cap height (the ink box varies with the string), then dropped; ``ha`` aligns the ink of the rest.

    Creating a ``Text`` costs ~30 ms (Pango -> SVG -> parse), too slow for readouts that change every frame.
    When a label's new text differs from the shown one only in digits (same length), the changed glyphs
    are swapped for copies of cached digit glyphs: DejaVu Sans digits are tabular (one advance width), so a
    digit slot keeps its origin and the rest of the line does not move. Anything else re-creates the Text.
    """

    def __init__(self):
        self.cap_per_fs = Text("H", font=FONT, font_size=48).height / 48
        self._digits: dict[tuple[float, str], tuple[list[VMobject], float]] = {}

    def font_size(self, lab: Label) -> float:
        return lab.size * UNIT / self.cap_per_fs

    def make(self, lab: Label) -> VGroup:
        t = Text("H" + lab.text, font=FONT, font_size=self.font_size(lab), color=lab.color)
        strut, glyphs = t.submobjects[0], VGroup(*t.submobjects[1:])
        if len(glyphs) == 0:
            return glyphs
        base, cap = strut.get_bottom()[1], strut.get_top()[1]
        yref = {"bottom": base, "center": (base + cap) / 2, "top": cap}[lab.va]
        xl, xr = glyphs.get_left()[0], glyphs.get_right()[0]
        xref = {"left": xl, "center": (xl + xr) / 2, "right": xr}[lab.ha]
        target = to_manim(np.array([lab.x, lab.y]))
        glyphs.shift(np.array([target[0] - xref, target[1] - yref, 0.0]))
        return glyphs

    def _digit_glyphs(self, fs: float, color: str) -> tuple[list[VMobject], float]:
        key = (round(fs, 6), color)
        if key not in self._digits:
            digits = Text(DIGITS, font=FONT, font_size=fs, color=color).submobjects
            zeros = Text("00", font=FONT, font_size=fs, color=color).submobjects
            advance = zeros[1].get_left()[0] - zeros[0].get_left()[0]
            ok = len(digits) == 10 and len(zeros) == 2
            # plain VMobjects: copying an SVG glyph also deep-copies its parsed SVG path (~10x slower)
            plain = [VMobject().set_points(d.points.copy()).match_style(d) for d in digits]
            self._digits[key] = (plain if ok else [], advance)
        return self._digits[key]

    def update_digits(self, old: Label, new: Label, glyphs: VGroup) -> bool:
        """Swap changed digits of ``old``'s glyphs in place for ``new``; False where that is not possible."""
        if (len(old.text) != len(new.text) or (old.x, old.y, old.size, old.color, old.ha, old.va)
                != (new.x, new.y, new.size, new.color, new.ha, new.va)):
            return False
        changes, g = [], 0
        for a, b in zip(old.text, new.text, strict=True):
            if a.isspace() or b.isspace():
                if a != b:
                    return False
                continue
            if a != b:
                if not (a in DIGITS and b in DIGITS):
                    return False
                changes.append((g, int(a), int(b)))
            g += 1
        if g != len(glyphs.submobjects):      # ligatures or other glyph/char mismatch: re-create
            return False
        cache, advance = self._digit_glyphs(self.font_size(new), new.color)
        if not cache:
            return False
        for g, a, b in changes:
            old_glyph, ref_a = glyphs.submobjects[g], cache[a]
            # same glyph shape 'a' in the label and in the cache gives the offset; tabular digits the advance
            dx = old_glyph.get_left()[0] - ref_a.get_left()[0] + (a - b) * advance
            dy = old_glyph.get_bottom()[1] - ref_a.get_bottom()[1]
            glyphs.submobjects[g] = cache[b].copy().shift(np.array([dx, dy, 0.0]))
        return True


class TruncationScene(Scene):
    """Plain 2D scene drawing a frame model (:class:`~scenes.clips.base.FrameModel`; projection is done there)."""

    def __init__(self, frames: FrameModel, progress: Callable[[int, int], None] | None = None,
                 **kwargs):
        self.frames = frames
        self.progress = progress
        kwargs.setdefault("camera_class", DiscCamera)
        super().__init__(**kwargs)

    # -- unit conversions ---------------------------------------------------------------------------
    def _px_per_unit(self) -> float:
        """Pixels per figure unit."""
        return self.camera.pixel_height / FIG_H

    def _stroke(self, width: float) -> float:
        """Line width in figure units -> Manim ``stroke_width`` (at least ``MIN_LINE_PX`` pixels)."""
        w = max(width * self._px_per_unit(), MIN_LINE_PX) / self._px_per_unit() * UNIT
        return w / CAIRO_LINE_WIDTH_MULTIPLE

    # -- builders -----------------------------------------------------------------------------------
    def _segments_group(self, seg: Segments, parent: Group) -> None:
        """One VMobject per colour, holding all that colour's segments as separate straight subpaths."""
        group = self._seg_groups.get(seg.name)
        if group is None:
            group = {}
            self._seg_groups[seg.name] = group
        colors = np.asarray(seg.colors)
        xy = np.asarray(seg.xy, dtype=float).reshape(-1, 2, 2)
        ok = np.isfinite(xy).all(axis=(1, 2))
        colors, xy = colors[ok], xy[ok]
        for c in dict.fromkeys(colors.tolist()) | dict.fromkeys(group):
            mob = group.get(c)
            sel = xy[colors == c]
            if mob is None:
                if len(sel) == 0:
                    continue
                mob = VMobject(stroke_color=c, stroke_width=self._stroke(seg.width), stroke_opacity=seg.alpha,
                               fill_opacity=0.0, cap_style=CapStyleType.ROUND)
                group[c] = mob
                parent.add(mob)
            if len(sel) == 0:
                mob.clear_points()
                continue
            p0, p1 = to_manim(sel[:, 0]), to_manim(sel[:, 1])
            d = p1 - p0
            mob.points = np.stack([p0, p0 + d / 3, p0 + 2 * d / 3, p1], axis=1).reshape(-1, 3)

    def _points_group(self, pts: Points, parent: Group) -> None:
        mob = self._pt_groups.get(pts.name)
        r_px = pts.radius * self._px_per_unit()
        if mob is None:
            if pts.ring:
                mob = RingCloud(self._collapsed_rgba, max(0.8, RING_FRACTION * r_px), stroke_width=2 * r_px)
            else:
                mob = PMobject(stroke_width=2 * r_px)
            self._pt_groups[pts.name] = mob
            parent.add(mob)
        elif mob.stroke_width != 2 * r_px:   # a group's radius may change from frame to frame
            mob.stroke_width = 2 * r_px
            if pts.ring:
                mob.ring_px = max(0.8, RING_FRACTION * r_px)
        xy = np.asarray(pts.xy, dtype=float).reshape(-1, 2)
        ok = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
        mob.points = to_manim(xy[ok])
        mob.palette_index = np.asarray(pts.color, dtype=int).reshape(-1)[ok] % len(PALETTE)   # for the raster path
        mob.rgbas = PALETTE_RGBA[mob.palette_index]

    def _draw(self, f: Frame, layers: dict[str, Group]) -> None:
        for seg in f.segments:
            self._segments_group(seg, layers["segments"])
        for pl in f.lines:
            mob = self._lines.get(pl.name)
            if mob is None:
                mob = VMobject(stroke_color=pl.color, stroke_width=self._stroke(pl.width), fill_opacity=0.0,
                               joint_type=LineJointType.ROUND, cap_style=CapStyleType.ROUND)
                self._lines[pl.name] = mob
                layers["lines"].add(mob)
            xy = np.asarray(pl.xy, dtype=float).reshape(-1, 2)
            xy = xy[np.isfinite(xy).all(axis=1)]
            if len(xy) >= 2:
                mob.set_points_as_corners(to_manim(xy))
            else:
                mob.clear_points()
        for pts in f.points:
            self._points_group(pts, layers["rings" if pts.ring else "points"])
        if f.card or f.cover > 0 or self._cover is not None:
            if self._cover is None:
                self._cover = Rectangle(width=FIG_W * UNIT * 1.05, height=FIG_H * UNIT * 1.05, stroke_width=0,
                                        fill_color=self.frames.theme["bg"], fill_opacity=1.0)
                layers["cover"].add(self._cover)
            self._cover.set_fill(opacity=f.cover)
        for lab, layer in [(lab, "labels") for lab in f.labels] + [(lab, "card") for lab in f.card]:
            holder = self._labels.get(lab.name)
            if holder is None:
                holder = VGroup()
                self._labels[lab.name] = holder
                layers[layer].add(holder)
            shown = self._label_shown.get(lab.name)
            if shown == lab:
                continue
            if shown is not None and shown == dataclasses.replace(lab, alpha=shown.alpha):
                holder.set_fill(opacity=lab.alpha)   # fading only: no new glyphs
            elif shown is None or not self._text.update_digits(shown, lab, holder.submobjects[0]):
                holder.submobjects = [self._text.make(lab)]
                holder.set_fill(opacity=lab.alpha)
            self._label_shown[lab.name] = lab

    # -- scene --------------------------------------------------------------------------------------
    def get_moving_and_static_mobjects(self, animations):
        """Moving: the dynamic root itself, so its family (labels are swapped) is re-read every frame.

        Manim's default flattens the family once per ``play``, which would keep drawing replaced labels.
        """
        moving, static = super().get_moving_and_static_mobjects(animations)
        root = getattr(self, "_dynamic_root", None)
        return ([root] if root is not None else moving), static

    def construct(self) -> None:
        fr = self.frames
        self.camera.background_color = ManimColor(fr.theme["bg"])
        self.camera.init_background()
        self._collapsed_rgba = _rgba(fr.theme["collapsed"])
        self._text = LabelFactory()
        self._seg_groups: dict[str, dict[str, VMobject]] = {}
        self._pt_groups: dict[str, PMobject] = {}
        self._lines: dict[str, VMobject] = {}
        self._labels: dict[str, VGroup] = {}
        self._label_shown: dict[str, Label] = {}
        self._cover = None

        def layers() -> dict[str, Group]:
            # drawing order as in the matplotlib renderer: segments, lines, points, rings, labels
            return {k: Group() for k in ("segments", "lines", "points", "rings", "labels", "cover", "card")}

        static = layers()
        self._draw(fr.static(), static)
        static_root = Group(*static.values())
        self.add(static_root)    # before the dynamic root: Cairo caches it as the background image

        dynamic = layers()
        dynamic_root = Group(*dynamic.values())
        self._dynamic_root = dynamic_root
        self.add(dynamic_root)
        shown = {"last": -1}

        def apply(i: int) -> None:
            if i == shown["last"]:
                return
            self._draw(fr.frame(i), dynamic)
            shown["last"] = i
            if self.progress is not None:
                self.progress(i + 1, fr.n_frames)

        apply(0)
        self.play(_PlayFrames(dynamic_root, apply, fr.n_frames, fr.fps))


def manim_config(frames: FrameModel, q: export.Quality, media_dir: Path) -> dict:
    """Manim's config for rendering ``frames`` at quality ``q`` into ``media_dir`` (use with ``tempconfig``)."""
    return {
        "media_dir": str(media_dir),
        "pixel_width": q.width,
        "pixel_height": q.height,
        "frame_rate": frames.fps,
        "frame_height": FRAME_HEIGHT,
        "frame_width": FRAME_HEIGHT * q.width / q.height,
        "background_color": frames.theme["bg"],
        "verbosity": "WARNING",
        "progress_bar": "none",
        "disable_caching": True,
        "preview": False,
        "format": "mp4",
        "output_file": "clip",
        "video_codec": "libx264",
        "pixel_format": "yuv420p",
        "video_encoder_options": {"crf": "20", "preset": "veryfast"},
    }


def render_manim(frames: FrameModel, out_path: Path, quality: str,
                 progress: Callable[[int, int], None] | None = None) -> Path:
    """Render the clip of ``frames`` to an H.264 (yuv420p) MP4 at ``out_path`` (atomic); returns the path.

    ``quality``: Manim's presets ``l`` (854x480), ``m`` (1280x720), ``h`` (1920x1080), ``k`` (3840x2160).
    The frame rate is ``frames.fps`` and the clip has ``frames.n_frames`` frames. ``progress(i, n)`` is
    called after frame ``i`` (1-based) of ``n`` has been drawn.
    """
    q = export.quality(quality)
    out_path = Path(out_path)
    media_dir = Path(tempfile.mkdtemp(prefix="geomdl-manim-"))
    try:
        cfg = manim_config(frames, q, media_dir)
        with tempconfig(cfg):
            scene = TruncationScene(frames, progress=progress)
            scene.render()
            clip = Path(scene.renderer.file_writer.movie_file_path)
        if not clip.is_file():
            raise GeomdlError(f"Manim did not write the clip (expected {clip})")
        with atomic_path(out_path) as tmp:
            shutil.copyfile(clip, tmp)
    finally:
        shutil.rmtree(media_dir, ignore_errors=True)
    return out_path

