"""The frame vocabulary every clip is drawn in, and the frame-model contract both renderers rely on.

Everything is in *figure units*, origin bottom-left: x in [0, 16], y in [0, 9] for the 16:9 picture; a canvas of
another aspect (``--resolution 1080x1080``) is :func:`figure_size` units (its short side 9), and each frame model
lays its panels and readouts out for it (its ``fig_w x fig_h``). A frame model (one module per
scene in :mod:`scenes.clips`) turns a trace into :class:`Frame` values made of :class:`Points`, :class:`Segments`,
:class:`Polyline` and :class:`Label`; a renderer (:mod:`scenes.backends`) maps these to its own coordinates and
draws them; it computes nothing about the trace itself. This is what keeps Manim and matplotlib at parity (same
trace in, same content out). A frame model provides what :class:`FrameModel` lists, nothing else is used.

Defined here: the primitives, the contract, the clip timeline and the title card. The helpers every frame model
uses live in modules of their own and are importable from here too (``from scenes.clips.base import ...``, the
one import a frame model needs): :mod:`~scenes.clips.colour` (palette, themes, readable colours),
:mod:`~scenes.clips.layout` (canvases of any aspect, panel grids, where readouts and charts go),
:mod:`~scenes.clips.text` (text widths, wrapping, number formats), :mod:`~scenes.clips.marks` (camera, arrow
heads, clipping, comet trails, count badges) and :mod:`~scenes.clips.point_passes` (exact passes over point
arrays: dropping repeats, row blocks, groups of identical rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from .colour import (  # noqa: F401
    CLASS_COLORS,
    GREY,
    PALETTE,
    TEXT_CONTRAST,
    THEMES,
    _mix_level,
    _text_ink,
    class_color,
    contrast,
    luminance,
    mix,
    text_ink,
)
from .layout import (  # noqa: F401
    ASPECT_RANGE,
    ASPECT_TOL,
    FIG_H,
    FIG_W,
    SHORT_SIDE,
    Layout,
    Move,
    Rect,
    figure_size,
    figure_units,
    fitted_layout,
    grid_shape,
    is_wide,
    layout,
    panel_grid,
    view_rect,
)
from .marks import (  # noqa: F401
    BADGE_GAP_X,
    BADGE_GAP_Y,
    _chevron,
    _clip_to,
    badge_anchor,
    badge_box,
    badge_radius,
    bounding_sphere,
    camera_basis,
    circle_segments,
    comet_segments,
    ray_samples,
)
from .point_passes import (  # noqa: F401
    _MIX,
    BLAS_ROWS,
    JIT_MIN,
    _first_of_runs,
    _gather,
    _members,
    _repeated,
    _unique_points,
    exact_groups,
    first_of_each,
    jit_kernels,
    row_hash,
    row_matmul,
    unique_gathered,
)
from .text import (  # noqa: F401
    ADVANCE,
    ADVANCES,
    TEXT_MIN,
    _greedy_wrap,
    _kind,
    _words,
    class_name,
    fit_first,
    fit_text_size,
    fit_title,
    fmt_loss,
    nice_ceil,
    nice_ticks,
    sci_exponent,
    tex_pow10,
    tex_sci,
    text_width,
    tick_text,
    wrap_text,
)


@runtime_checkable
class FrameModel(Protocol):
    """The frame-model contract: all that both renderers use of a clip. A scene's frame model is built as
    ``Model(trace, fps=..., duration=..., theme=..., aspect=...)`` (``theme`` a key of :data:`THEMES`; ``aspect``
    the canvas's width / height, ``None``: 16:9; a model without ``aspect`` is drawn 16:9 and letterboxed) and
    provides:

    - ``fps``: frames per second; ``n_frames``: the clip's frame count (title card and holds included);
    - ``theme``: the colours, ``THEMES[theme]`` (``bg`` is the background);
    - ``static()``: a :class:`Frame` of what every frame shares (borders, titles, axes), drawn once;
    - ``frame(i)``: the :class:`Frame` of frame ``i`` in ``0..n_frames-1``, a pure function of ``i``;
    - optionally ``fig_w``, ``fig_h``: the figure units it is laid out in (:func:`figure_size`; default 16 x 9),
      which renderers map onto the whole picture.

    Primitives keep their ``name`` from frame to frame, so that a renderer can update them in place.
    """

    fps: int
    n_frames: int
    theme: dict

    def static(self) -> Frame: ...

    def frame(self, i: int) -> Frame: ...


def smoothstep(t):
    """Eased progress ``3 t^2 - 2 t^3`` of ``t`` clipped to [0, 1] (a float or an array)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def clip_timeline(fps: int, duration: float, hold_start: float, hold_end: float,
                  lead_frames: int = 0) -> tuple[int, int, int, int]:
    """Frame counts of a clip: ``(n_hold0, n_anim, n_hold1, n_frames)``.

    ``lead_frames`` (e.g. a title card) come first, then ``hold_start`` seconds still, ``duration`` seconds of
    animation (at least 2 frames) and ``hold_end`` seconds still. The animation position of frame ``i`` is
    ``min(max(i - n_hold0, 0), n_anim - 1) / (n_anim - 1)``.
    """
    n_hold0 = lead_frames + int(round(hold_start * fps))
    n_anim = max(2, int(round(duration * fps)))
    n_hold1 = int(round(hold_end * fps))
    return n_hold0, n_anim, n_hold1, n_hold0 + n_anim + n_hold1


@dataclass
class Points:
    """A point cloud: ``xy: (n, 2)`` figure units, ``color: (n,)`` palette indices, ``radius`` in figure units."""

    name: str
    xy: np.ndarray
    color: np.ndarray
    radius: float
    ring: bool = False  # drawn as a ring (outline in the theme's 'collapsed' colour) on top of the class colour
    ring_width: float | None = None  # the ring's width in figure units; None: a quarter of the diameter


@dataclass
class Segments:
    """``xy: (K, 2, 2)`` line segments; ``colors``: K hex strings; ``width`` in figure units."""

    name: str
    xy: np.ndarray
    colors: list[str]
    width: float
    alpha: float = 1.0


@dataclass
class Polyline:
    name: str
    xy: np.ndarray
    color: str
    width: float


@dataclass
class Label:
    """Text anchored at ``(x, y)``: ``ha`` in left|center|right, ``va`` in bottom|center|top; ``size`` = height."""

    name: str
    x: float
    y: float
    text: str
    size: float
    color: str
    ha: str = "left"
    va: str = "center"
    alpha: float = 1.0


@dataclass
class Frame:
    """One frame's primitives. ``cover`` (0..1) is the opacity of a background-coloured sheet drawn over
    everything else, and ``card`` the labels drawn on top of it: a title card that fades out."""

    points: list[Points] = field(default_factory=list)
    segments: list[Segments] = field(default_factory=list)
    lines: list[Polyline] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    cover: float = 0.0
    card: list[Label] = field(default_factory=list)


class TitleCard:
    """A title card of ``seconds`` (full) plus ``fade`` seconds (fading out) at the start of a clip.

    ``lines``: the title, then parameter lines. Frame models call :meth:`apply` in ``frame(i)``; card labels
    keep their names in every frame (alpha 0 once faded) so renderers can update them in place.
    """

    def __init__(self, lines: list[str], fps: int, theme: dict, seconds: float = 2.0, fade: float = 0.6,
                 size: tuple[float, float] = (FIG_W, FIG_H)):
        self.lines = lines
        self.size = size       # the canvas in figure units: lines too long for it are wrapped, then fitted
        self.n_full = int(round(seconds * fps))
        self.n_fade = max(1, int(round(fade * fps)))
        self.theme = theme

    @property
    def n_frames(self) -> int:
        return self.n_full + self.n_fade

    def alpha(self, i: int) -> float:
        if i < self.n_full:
            return 1.0
        return float(max(0.0, 1.0 - (i - self.n_full + 1) / self.n_fade))

    def apply(self, f: Frame, i: int) -> Frame:
        a = self.alpha(i)
        f.cover = a
        th = self.theme
        w, h = self.size
        room = w - 0.3
        rows = []      # (text, size, is the title)
        for k, text in enumerate(self.lines):
            big = k == 0
            size = 0.42 if big else 0.24
            keep = (w, h) == (FIG_W, FIG_H) or text_width(text, size) <= room   # 16:9: its lines as they are
            for part in ([text] if keep else wrap_text(text, size, room)):
                rows.append((part, size if keep else fit_text_size(part, size, room), big))
        steps = [(0.55 if k + 1 < len(rows) and rows[k + 1][2] else 0.95) if big else 0.5
                 for k, (_, _, big) in enumerate(rows)]
        y = min(h / 2 + 1.1, h - 0.8)
        span = sum(steps[:-1])
        squeeze = 1.0
        if y - span < 0.6:            # a short canvas: the block from the top, its lines closer (and smaller)
            y = h - 0.7
            squeeze = min(1.0, (h - 1.3) / max(span, 1e-9))
        for k, (text, size, big) in enumerate(rows):
            f.card.append(Label(f"card{k}", w / 2, y, text, size if squeeze == 1.0 else max(0.75 * size, size *
                                                                                           squeeze),
                                th["fg"] if big else th["muted"], "center", "center", alpha=a))
            y -= steps[k] * squeeze
        return f
