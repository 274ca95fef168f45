"""The frame vocabulary every clip is drawn in, and the frame-model contract both renderers rely on.

Everything is in *figure units*: x in [0, 16], y in [0, 9], origin bottom-left. A frame model (one module per
scene in :mod:`scenes.clips`) turns a trace into :class:`Frame` values made of :class:`Points`, :class:`Segments`,
:class:`Polyline` and :class:`Label`; a renderer (:mod:`scenes.backends`) maps these to its own coordinates and
draws them; it computes nothing about the trace itself. This is what keeps Manim and matplotlib at parity (same
trace in, same content out). A frame model provides what :class:`FrameModel` lists, nothing else is used.

Shared here: the palette and themes, the clip timeline and title card, panel grid and camera, and small
geometry helpers of the panels (pinning off-view points, arrow heads, clipping segments, dropping repeats).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

# Okabe-Ito: colour-blind-safe categorical palette (classes, and the layer that collapses that class)
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#F0E442", "#999999"]
THEMES = {
    "light": {"bg": "#FFFFFF", "fg": "#1A1A1A", "muted": "#8C8C8C", "panel": "#BBBBBB", "collapsed": "#000000"},
    "dark": {"bg": "#111111", "fg": "#F2F2F2", "muted": "#8C8C8C", "panel": "#555555", "collapsed": "#FFFFFF"},
}
FIG_W, FIG_H = 16.0, 9.0


@runtime_checkable
class FrameModel(Protocol):
    """The frame-model contract: all that both renderers use of a clip. A scene's frame model is built as
    ``Model(trace, fps=..., duration=..., theme=...)`` (``theme`` a key of :data:`THEMES`) and provides:

    - ``fps``: frames per second; ``n_frames``: the clip's frame count (title card and holds included);
    - ``theme``: the colours, ``THEMES[theme]`` (``bg`` is the background);
    - ``static()``: a :class:`Frame` of what every frame shares (borders, titles, axes), drawn once;
    - ``frame(i)``: the :class:`Frame` of frame ``i`` in ``0..n_frames-1``, a pure function of ``i``.

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


def class_color(j: int) -> str:
    return PALETTE[j % len(PALETTE)]


@dataclass
class Points:
    """A point cloud: ``xy: (n, 2)`` figure units, ``color: (n,)`` palette indices, ``radius`` in figure units."""

    name: str
    xy: np.ndarray
    color: np.ndarray
    radius: float
    ring: bool = False  # drawn as a ring (outline in the theme's 'collapsed' colour) on top of the class colour


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

    def __init__(self, lines: list[str], fps: int, theme: dict, seconds: float = 2.0, fade: float = 0.6):
        self.lines = lines
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
        y = 5.6
        for k, text in enumerate(self.lines):
            big = k == 0
            f.card.append(Label(f"card{k}", FIG_W / 2, y, text, 0.42 if big else 0.24,
                                th["fg"] if big else th["muted"], "center", "center", alpha=a))
            y -= 0.95 if big else 0.5
        return f


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def contains(self, xy: np.ndarray) -> np.ndarray:
        return ((xy[:, 0] >= self.x) & (xy[:, 0] <= self.x + self.w)
                & (xy[:, 1] >= self.y) & (xy[:, 1] <= self.y + self.h))

    def border(self) -> np.ndarray:
        x0, y0, x1, y1 = self.x, self.y, self.x + self.w, self.y + self.h
        c = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return np.array([[c[i], c[(i + 1) % 4]] for i in range(4)])


def camera_basis(azimuth: float, elevation: float) -> np.ndarray:
    """Screen ``right`` and ``up`` vectors (2, 3) of an orthographic camera (angles in radians)."""
    ca, sa, ce, se = np.cos(azimuth), np.sin(azimuth), np.cos(elevation), np.sin(elevation)
    return np.array([[-sa, ca, 0.0], [-ca * se, -sa * se, ce]])


def panel_grid(n: int, area: Rect, gap: float = 0.25, rows: int | None = None) -> list[Rect]:
    """``n`` square panels in ``area``, row by row: one row for up to 2 panels, else two (or ``rows``)."""
    rows = rows or (1 if n <= 2 else 2)
    cols = int(np.ceil(n / rows))
    w = (area.w - gap * (cols - 1)) / cols
    h = (area.h - gap * (rows - 1)) / rows
    side = min(w, h)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x = area.x + c * (w + gap) + (w - side) / 2
        y = area.y + area.h - (r + 1) * h - r * gap + (h - side) / 2
        out.append(Rect(x, y, side, side))
    return out


def fmt_loss(v: float) -> str:
    """A loss or cost for a readout, typeset: ``$2.779 \\times 10^{-2}$`` (four significant digits)."""
    return tex_sci(v, 3)


def _unique_points(xy: np.ndarray, color: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop exact repeats (same place, same colour): collapsed points all sit on their base point, and
    drawing the same marker hundreds of times costs time and changes nothing. Drawing order is kept."""
    if len(xy) < 2:
        return xy, color
    # one int64 key per point from (x, y rounded to 1e-6, colour), each field offset to start at 0: sorting
    # it is ~10x faster than np.unique(axis=0) on 100k points; the 2D path is kept for huge spans
    fields = [np.rint(np.ascontiguousarray(xy[:, 0], dtype=float) * 1e6),
              np.rint(np.ascontiguousarray(xy[:, 1], dtype=float) * 1e6), np.asarray(color, dtype=float)]
    lo = [float(v.min()) for v in fields]
    span = [float(v.max()) - a + 1.0 for v, a in zip(fields, lo, strict=True)]
    bits = [int(np.ceil(np.log2(max(s, 2.0)))) if np.isfinite(s) else 64 for s in span]
    if sum(bits) > 62:
        _, first = np.unique(np.c_[np.round(xy, 6), color], axis=0, return_index=True)
        keep = np.sort(first)
        return xy[keep], color[keep]
    key = np.zeros(len(xy), np.int64)
    for v, a, b in zip(fields, lo, bits, strict=True):
        key <<= b
        key |= (v - a).astype(np.int64)
    ks = np.sort(key)
    rep = ks[1:][ks[1:] == ks[:-1]]                              # sorted: each repeated key, once per repeat
    if len(rep) == 0:
        return xy, color
    repeated = rep[np.r_[True, rep[1:] != rep[:-1]]]             # keys that occur more than once
    if len(repeated) <= 32:   # typically: the few base points that collapsed points sit on
        keep = np.ones(len(xy), bool)
        for k in repeated:
            keep[np.flatnonzero(key == k)[1:]] = False
        return xy[keep], color[keep]
    perm = np.argsort(key)
    ks = key[perm]
    first = np.minimum.reduceat(perm, np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]))
    keep = np.zeros(len(xy), bool)
    keep[first] = True
    return xy[keep], color[keep]


def arrival_trails(start: np.ndarray, end: np.ndarray, labels: np.ndarray, color_of, min_len: float = 1e-3
                   ) -> tuple[np.ndarray, list[str]]:
    """Trails of arriving points: segments ``start -> end`` (``(n, 2)`` each) whose start is finite and that are
    longer than ``min_len``, ``(k, 2, 2)``, and their colours ``color_of(label)`` (called once per class).

    The loop ``for p0, p1, k in zip(start, end, labels): if isfinite(p0).all() and norm(p1 - p0) > min_len``
    in one pass over the arrays: the same segments and colours (a length within 1e-9 of ``min_len`` is
    measured again with ``np.linalg.norm`` itself, so the kept set is the loop's)."""
    start, end = np.asarray(start, dtype=float).reshape(-1, 2), np.asarray(end, dtype=float).reshape(-1, 2)
    d = end - start
    with np.errstate(invalid="ignore"):
        length = np.sqrt(d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1])
        keep = np.isfinite(start).all(axis=1) & (length > min_len)
        near = np.flatnonzero(np.abs(length - min_len) <= 1e-9)
    for i in near:
        keep[i] = bool(np.isfinite(start[i]).all() and np.linalg.norm(end[i] - start[i]) > min_len)
    labels = np.asarray(labels)[keep]
    colors: dict = {}
    out = []
    for k in labels.tolist():
        c = colors.get(k)
        if c is None:
            c = colors[k] = color_of(k)
        out.append(c)
    return np.stack([start[keep], end[keep]], axis=1), out


def nice_ceil(x: float) -> int:
    """Smallest of 1, 2, 2.5, 5 times a power of ten that is >= x."""
    mag = 10 ** np.floor(np.log10(max(x, 1.0)))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= x:
            return int(m * mag)
    return int(10 * mag)


def _chevron(at: np.ndarray, direction: np.ndarray, size: float, offset: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two segments forming an arrow head ``offset`` beyond ``at``, pointing along ``direction`` (off-view)."""
    d = direction / max(float(np.linalg.norm(direction)), 1e-300)
    n = np.array([-d[1], d[0]])
    tip = at + offset * d
    return [(tip - size * (d + 0.6 * n), tip), (tip - size * (d - 0.6 * n), tip)]


def _clip_to(panel: Rect, p: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Shorten segment ``p -> e`` so that it ends inside ``panel`` (``p`` inside)."""
    d = e - p
    t = 1.0
    for k, (lo, hi) in enumerate([(panel.x, panel.x + panel.w), (panel.y, panel.y + panel.h)]):
        if d[k] > 0:
            t = min(t, (hi - p[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (lo - p[k]) / d[k])
    return p + max(t, 0.0) * d


# -- shared by the clips' panels and readouts (talk-grade: typeset math, readable sizes, build-up) ------------
TEXT_MIN = 0.19   # smallest text height: font size = height / 0.72 figure units = 14 px at 480p (9 units = 480 px)
ADVANCE = 0.62    # mean advance of a DejaVu Sans character, in text heights (measured on the readouts)


def text_width(text: str, size: float) -> float:
    """About how wide ``text`` is drawn at text height ``size``, in figure units (mathtext counted by what it
    shows: ``$\\lambda_{1}$`` as two characters)."""
    import re  # noqa: PLC0415

    shown = re.sub(r"\\[A-Za-z]+", "x", text)
    shown = re.sub(r"[${}_^]", "", shown)
    return ADVANCE * size * len(shown)


def fit_text_size(text: str, size: float, room: float) -> float:
    """The text height, at most ``size`` and at least :data:`TEXT_MIN`, at which ``text`` fits ``room`` units."""
    w = text_width(text, size)
    return size if w <= room else max(TEXT_MIN, size * room / w)


@functools.lru_cache(maxsize=8192)
def mix(color: str, other: str, t: float) -> str:
    """Hex colour ``(1 - t) color + t other`` (``t`` clipped to [0, 1]): fades without an alpha channel
    (cached: frame models ask for the same fades every frame)."""
    a = np.array([int(color.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)], dtype=float)
    b = np.array([int(other.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)], dtype=float)
    t = float(np.clip(t, 0.0, 1.0))
    c = np.rint((1 - t) * a + t * b).astype(int)
    return "#" + "".join(f"{v:02X}" for v in c)


def tex_sci(v: float, digits: int = 2) -> str:
    """``v`` in typeset scientific notation, e.g. ``$8.73 \\times 10^{-4}$`` (mathtext; plain text for inf/nan)."""
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "$0$"
    e = int(np.floor(np.log10(abs(v))))
    m = v / 10.0**e
    if round(abs(m), digits) >= 10:
        m, e = m / 10, e + 1
    return f"${m:.{digits}f} \\times 10^{{{e}}}$"


def tex_pow10(e: int) -> str:
    return f"$10^{{{int(e)}}}$"


def class_name(j: int) -> str:
    """A class as a reader numbers it: ``labels`` value ``j`` (0-based) is class ``j + 1`` of the math."""
    return f"class {int(j) + 1}"


def view_rect(panel: Rect, title_h: float = 0.42, inset: float = 0.05) -> Rect:
    """The drawing area of a panel: the panel less a title strip of ``title_h`` at its top (titles sit there,
    so nothing pinned into the view can land on them) and a small ``inset``."""
    return Rect(panel.x + inset, panel.y + inset, panel.w - 2 * inset, panel.h - title_h - 2 * inset)


def bounding_sphere(*clouds: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (3,) and radius of a sphere around every finite row of ``clouds`` (arrays ``(..., 3)``): the centre
    of their bounding box, the radius the largest distance from it (1 when there is nothing finite)."""
    pts = np.concatenate([np.asarray(c, dtype=float).reshape(-1, 3) for c in clouds])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        return np.zeros(3), 1.0
    c = (pts.min(axis=0) + pts.max(axis=0)) / 2
    r = float(np.max(np.linalg.norm(pts - c, axis=1)))
    return c, (r if r > 0 else 1.0)


def circle_segments(c: np.ndarray, r: float, n: int = 32) -> np.ndarray:
    """``(n, 2, 2)`` segments of a circle of radius ``r`` about ``c`` (a ripple, a ring)."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    p = np.c_[c[0] + r * np.cos(a), c[1] + r * np.sin(a)]
    return np.stack([p[:-1], p[1:]], axis=1)


def nice_ticks(hi: float, n: int = 4) -> list[float]:
    """Round ticks ``0, d, 2d, ... <= hi`` with at most about ``n + 1`` of them (``d`` = 1, 2, 2.5 or 5 x 10^k)."""
    if hi <= 0:
        return [0.0]
    raw = hi / max(n, 1)
    mag = 10 ** np.floor(np.log10(raw))
    d = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    return [float(k * d) for k in range(int(np.floor(hi / d + 1e-9)) + 1)]


def tick_text(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def badge_radius(r0: float, n: int, full: int, grow: float = 1.6) -> float:
    """Marker radius of a base point with ``n`` points on it: ``r0`` when empty, ``(1 + grow) r0`` at ``full``
    (area proportional to the count)."""
    return float(r0 * (1.0 + grow * np.sqrt(max(n, 0) / max(full, 1))))


def badge_anchor(p: np.ndarray, view: Rect, r: float, w: float = 0.55, h: float = 0.3) -> tuple[float, float, str]:
    """Where a count badge of about ``w x h`` goes next to a marker of radius ``r`` at ``p``: to its upper right,
    or mirrored to the left / below when that would leave ``view``. Returns ``(x, y, ha)``."""
    right = p[0] + r + 0.05 + w <= view.x + view.w
    x = p[0] + r + 0.05 if right else p[0] - r - 0.05
    y = p[1] + r + 0.02 + h / 2
    if y + h / 2 > view.y + view.h:
        y = p[1] - r - 0.02 - h / 2
    return float(x), float(y), "left" if right else "right"
