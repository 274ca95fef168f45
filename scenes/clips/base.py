"""The frame vocabulary every clip is drawn in, and the frame-model contract both renderers rely on.

Everything is in *figure units*, origin bottom-left: x in [0, 16], y in [0, 9] for the 16:9 picture; a canvas of
another aspect (``--resolution 1080x1080``) is :func:`figure_size` units (its short side 9), and each frame model
lays its panels and readouts out for it (its ``fig_w x fig_h``). A frame model (one module per
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
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

# The class colours (and the layer that collapses that class), for Q up to 8: Okabe-Ito's first six (M. Okabe,
# K. Ito, "Color Universal Design"), then a violet and a sienna in place of its yellow (1.3:1 on white) and grey
# (reads as "inactive"); the two were chosen for their distance from the six, the flows' colours and the grey
# under normal vision and simulated protan-, deut- and tritanopia (CIELAB distance >= 18 in each; see
# tests/test_palette.py). Every class colour is >= 3.4:1 against the dark background; on white, violet, sienna,
# green, vermillion, purple and blue are >= 3:1, orange and sky blue 2.3:1 (as marks; as text see text_ink).
CLASS_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#A23BEC", "#9D5727"]
GREY = len(CLASS_COLORS)   # palette index of marks that belong to no class (local-minima's other patterns)
PALETTE = [*CLASS_COLORS, "#8C8C8C"]
THEMES = {
    "light": {"bg": "#FFFFFF", "fg": "#1A1A1A", "muted": "#8C8C8C", "panel": "#BBBBBB", "collapsed": "#000000"},
    "dark": {"bg": "#111111", "fg": "#F2F2F2", "muted": "#8C8C8C", "panel": "#555555", "collapsed": "#FFFFFF"},
}
FIG_W, FIG_H = 16.0, 9.0      # the 16:9 picture (the default canvas)
SHORT_SIDE = 9.0              # figure units of a canvas's short side: text keeps its size relative to it
ASPECT_TOL = 0.01             # a canvas within 1 % of 16:9 (854x480 is 1.779) is the 16:9 layout itself
ASPECT_RANGE = (0.25, 4.0)    # width / height of the canvases a frame model lays out


def figure_size(aspect: float | None = None) -> tuple[float, float]:
    """``(width, height)`` in figure units of a canvas of ``aspect = width / height`` pixels: ``(16, 9)`` for
    16:9 (``None``, or within :data:`ASPECT_TOL` of it), else the short side :data:`SHORT_SIDE` and the long
    side in proportion (1:1 -> 9 x 9, 9:16 -> 9 x 16, 3:2 -> 13.5 x 9)."""
    if aspect is None or abs(aspect / (FIG_W / FIG_H) - 1) <= ASPECT_TOL:
        return FIG_W, FIG_H
    aspect = float(aspect)
    if not ASPECT_RANGE[0] <= aspect <= ASPECT_RANGE[1]:
        raise ValueError(f"canvas aspect {aspect:.3g} outside {ASPECT_RANGE[0]}..{ASPECT_RANGE[1]}")
    return (SHORT_SIDE * aspect, SHORT_SIDE) if aspect >= 1 else (SHORT_SIDE, SHORT_SIDE / aspect)


def figure_units(frames) -> tuple[float, float]:
    """The figure units ``(fig_w, fig_h)`` a frame model is laid out in (16 x 9 unless it says otherwise)."""
    return float(getattr(frames, "fig_w", FIG_W)), float(getattr(frames, "fig_h", FIG_H))


def is_wide(w: float, h: float) -> bool:
    """A canvas wide enough for the readout column beside the panels (3:2 and wider); narrower ones (square,
    portrait) put the readouts and charts below the panels."""
    return w / h >= 1.45


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


def class_color(j: int) -> str:
    """The colour of class ``j + 1`` (``labels`` value ``j``); the classes cycle after 8."""
    return CLASS_COLORS[j % len(CLASS_COLORS)]


@lru_cache(maxsize=4096)
def luminance(color: str) -> float:
    """WCAG relative luminance of a hex colour (0 black .. 1 white)."""
    c = np.array([int(color.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)]) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two hex colours (1 .. 21)."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


TEXT_CONTRAST = 3.0   # text in a class colour reaches at least this ratio against the background


def text_ink(color: str, theme: dict, ratio: float = TEXT_CONTRAST) -> str:
    """``color`` for text on ``theme``'s background: mixed towards the foreground just enough (steps of 5%) to
    reach ``ratio`` against the background (orange and sky blue darken on white; nothing changes on dark)."""
    return _text_ink(color, theme["fg"], theme["bg"], float(ratio))


@lru_cache(maxsize=4096)
def _text_ink(color: str, fg: str, bg: str, ratio: float) -> str:
    """:func:`text_ink` by value (called per arriving point: cached)."""
    for k in range(21):
        c = mix(color, fg, 0.05 * k)
        if contrast(c, bg) >= ratio:
            return c
    return fg


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


def grid_shape(n: int, area: Rect, gap: float = 0.25) -> tuple[int, int]:
    """``(rows, cols)`` of the grid of ``n`` square panels in ``area`` whose panels are largest (ties: fewer
    rows): one row of 2 in a 16:9 picture's panel area, 2 x 2 for 3 or 4, one column of 3 in a tall strip."""
    best = None
    for rows in range(1, n + 1):
        cols = int(np.ceil(n / rows))
        if rows > 1 and (rows - 1) * cols >= n:      # an empty last row
            continue
        side = min((area.w - gap * (cols - 1)) / cols, (area.h - gap * (rows - 1)) / rows)
        if best is None or side > best[0] + 1e-9:
            best = (side, rows, cols)
    return best[1], best[2]


def panel_grid(n: int, area: Rect, gap: float = 0.25, rows: int | None = None) -> list[Rect]:
    """``n`` square panels in ``area``, row by row, in the grid :func:`grid_shape` picks (or ``rows`` rows)."""
    rows = rows or grid_shape(n, area, gap)[0]
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
    # (each field built in place: fresh 100k-point temporaries cost more than the arithmetic)
    fx = np.multiply(xy[:, 0], 1e6, dtype=float)
    fy = np.multiply(xy[:, 1], 1e6, dtype=float)
    np.rint(fx, out=fx)
    np.rint(fy, out=fy)
    c = np.asarray(color)
    fc = c if c.dtype == np.int64 else c.astype(float)     # int64 colours: the same integers, no float copy
    fields = [fx, fy, fc]
    lo = [float(v.min()) for v in fields]
    span = [float(v.max()) - a + 1.0 for v, a in zip(fields, lo, strict=True)]
    bits = [int(np.ceil(np.log2(max(s, 2.0)))) if np.isfinite(s) else 64 for s in span]
    if sum(bits) > 62:
        _, first = np.unique(np.c_[np.round(xy, 6), color], axis=0, return_index=True)
        keep = np.sort(first)
        return np.take(xy, keep, axis=0), color[keep]
    # key = ((x - lo_x) << b_y | (y - lo_y)) << b_c | (colour - lo_c): every field a non-negative integer
    # below 2^bits (integers in float64, exact), the same as converting each field to int64 first
    fx -= lo[0]
    key = fx.astype(np.int64)
    key <<= bits[1]
    fy -= lo[1]
    key |= fy.astype(np.int64)
    key <<= bits[2]
    key |= (fc - int(lo[2])) if fc.dtype == np.int64 else (fc - lo[2]).astype(np.int64)
    ks = np.sort(key)
    rep = ks[1:][ks[1:] == ks[:-1]]                              # sorted: each repeated key, once per repeat
    if len(rep) == 0:
        return xy, color
    repeated = rep[np.r_[True, rep[1:] != rep[:-1]]]             # keys that occur more than once
    # only the points with a repeated key (typically those on the few base points) are looked at: each
    # one's repeated key found (a comparison pass per key when few, else a binary search among them), the
    # first of each kept (a stable sort of the small key ids) instead of an argsort of every key
    at, cid = _members(key, repeated)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(repeated))] = False
    keep = np.ones(len(xy), bool)
    keep[at[drop]] = False
    return np.compress(keep, xy, axis=0), color[keep]


BLAS_ROWS = 4096   # row_matmul: rows a product at most (small enough that BLAS computes it on one thread)


def row_matmul(a: np.ndarray, b: np.ndarray, rows: int = BLAS_ROWS) -> np.ndarray:
    """``a @ b`` for ``a: (n, k)``, ``b: (k, m)`` (float64) computed ``rows`` rows at a time: each row of the
    result is computed by the same BLAS kernel either way (tested), but a product of many rows is split over
    BLAS threads (OpenBLAS above ~2.6e5 multiply-adds), whose start and spin-waiting cost 20-60x the product
    itself in a renderer that draws frames on one core (and the other cores' time when measured as CPU)."""
    a = np.asarray(a)
    if len(a) <= rows or a.ndim != 2:
        return a @ b
    out = np.empty((len(a), np.shape(b)[1]), np.result_type(a, b))
    for i in range(0, len(a), rows):
        np.matmul(a[i:i + rows], b, out=out[i:i + rows])
    return out


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _first_of_runs(cid: np.ndarray, n_ids: int) -> np.ndarray:
    """``cid: (m,)`` ids in ``0..n_ids-1`` -> ``(n_ids,)`` the position of each id's first occurrence (each id
    occurs). A stable sort of the ids (radix for 16-bit ids: one pass)."""
    small = cid.astype(np.uint16) if n_ids <= 2**16 else cid
    order = np.argsort(small, kind="stable")
    srt = small[order]
    return order[np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])]


def _repeated(k: np.ndarray) -> np.ndarray:
    """The values of ``k: (m,)`` that occur more than once, ascending (one sort: fast for 64-bit integers)."""
    ks = np.sort(k)
    rep = ks[1:][ks[1:] == ks[:-1]]
    return rep[np.r_[True, rep[1:] != rep[:-1]]] if len(rep) else rep


def _members(k: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, cid)``: the positions of ``k`` whose value is one of ``values`` (ascending, distinct), ascending,
    and the index of that value in ``values``."""
    if len(values) <= 16:   # (as usual) a few: one comparison pass each beats a binary search per element
        hit = [np.flatnonzero(k == v) for v in values]
        at = np.concatenate(hit)
        cid = np.repeat(np.arange(len(values)), [len(x) for x in hit])
        order = np.argsort(at, kind="stable")
        return at[order], cid[order]
    cid = np.minimum(np.searchsorted(values, k), len(values) - 1)
    at = np.flatnonzero(values[cid] == k)
    return at, cid[at]


def row_hash(rows: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
    """``(n,)`` uint64: a hash of the bits of each row of ``rows: (n, d)`` float64, continuing ``h`` (the hash of
    other columns of the same rows) when given: ``row_hash(b, row_hash(a))`` hashes the rows of ``[a, b]``."""
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    cols = np.ascontiguousarray(rows.reshape(n, -1).T if n else rows.reshape(0, 0)).view(np.uint64)
    out = np.zeros(n, np.uint64) if h is None else h.copy()     # (d, n): each pass over contiguous memory
    for col in cols:
        out ^= out >> np.uint64(31)
        out ^= col
        out *= _MIX
    return out


def exact_groups(rows: np.ndarray, h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are bit for bit the same: ``rows: (n, d)`` float64 -> ``(first, inv)``, ``first: (G,)`` the
    index of the first row of each distinct row (ascending), ``inv: (n,)`` the group of each row
    (``rows[first[inv]]`` is ``rows``, bit for bit). ``h``: :func:`row_hash` of ``rows`` if known.

    Only bit-identical rows share a group (``0.0`` and ``-0.0`` do not; identical NaNs do), so any row-wise
    computation gives a group's rows the same result: a frame model computes it on ``rows[first]`` and
    gathers with ``inv``. One 64-bit hash of each row's bits; only the rows whose hash repeats (typically the
    many points on a few base points) are grouped, each checked against the first row with its hash (one
    that differs, a hash collision, keeps a group of its own)."""
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    idx = np.arange(n)
    if n < 2 or rows[0].size == 0:
        return idx, idx
    h = row_hash(rows) if h is None else h
    values = _repeated(h)
    if len(values) == 0:
        return idx, idx
    at, cid = _members(h, values)
    lead = idx.copy()
    lead[at] = at[_first_of_runs(cid, len(values))][cid]      # the first row with the same hash
    bits = rows.reshape(n, -1).view(np.uint64) if rows.flags.c_contiguous else \
        np.ascontiguousarray(rows).reshape(n, -1).view(np.uint64)
    same = (np.take(bits, at, axis=0) == np.take(bits, lead[at], axis=0)).all(axis=1)
    bad = at[~same]
    lead[bad] = bad                                              # a collision: a group of its own
    is_first = lead == idx
    gid = np.cumsum(is_first) - 1                                # the group number of each first row
    return np.flatnonzero(is_first), gid[lead]


def first_of_each(idx: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``idx: (m,)`` ascending indices -> those of them whose ``key`` (an ``(n,)`` int array, indexed by
    ``idx``) does not occur at an earlier one of ``idx`` (ascending)."""
    if len(idx) < 2:
        return idx
    k = key[idx]
    values = _repeated(k)
    if len(values) == 0:
        return idx
    at, cid = _members(k, values)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(values))] = False              # the first of each repeated key stays
    keep = np.ones(len(idx), bool)
    keep[at[drop]] = False
    return idx[keep]


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
# DejaVu Sans advances in text heights (cap height 0.729 em), by kind of character (measured with FreeType)
ADVANCES = {"digit": 0.873, "lower": 0.773, "upper": 0.923, "space": 0.436, "punct": 0.455, "bracket": 0.516,
            "op": 1.149, "other": 0.85}


def _kind(ch: str) -> str:
    if ch.isdigit():
        return "digit"
    if ch.isalpha():
        return "upper" if ch.isupper() else "lower"
    if ch == " ":
        return "space"
    if ch in ".,:;|!'·":
        return "punct"
    if ch in "()[]/-":
        return "bracket"
    if ch in "=+×<>≤≥−":
        return "op"
    return "other"


def text_width(text: str, size: float, exact: bool = True) -> float:
    """About how wide ``text`` is drawn at text height ``size``, in figure units (mathtext counted by what it
    shows: ``$\\lambda_{1}$`` as two characters): :data:`ADVANCE` per character, or with ``exact`` each
    character's kind's DejaVu Sans advance (:data:`ADVANCES`: within a few percent of the drawn width)."""
    import re  # noqa: PLC0415

    shown = re.sub(r"\\(mathrm|mathbb|mathbf|mathcal|mathit|left|right|,|;|!)", "", text)
    shown = re.sub(r"\\(times|leq|geq|to|propto|cdot|cdots)", "=", shown)
    shown = re.sub(r"\\[A-Za-z]+", "x", shown)
    shown = re.sub(r"[${}_^]", "", shown)
    if not exact:
        return ADVANCE * size * len(shown)
    return size * sum(ADVANCES[_kind(c)] for c in shown)


def _words(text: str) -> list[str]:
    """``text`` split at spaces outside ``$...$`` math."""
    words, cur, math = [], "", False
    for ch in text:
        if ch == "$":
            math = not math
        if ch == " " and not math:
            words.append(cur)
            cur = ""
        else:
            cur += ch
    words.append(cur)
    return [w for w in words if w]


def _greedy_wrap(words: list[str], size: float, room: float) -> list[str]:
    lines: list[str] = []
    for wd in words:
        if lines and text_width(lines[-1] + " " + wd, size) <= room:
            lines[-1] += " " + wd
        else:
            lines.append(wd)
    return lines


def wrap_text(text: str, size: float, room: float) -> list[str]:
    """``text`` broken at spaces (never inside ``$...$`` math) into as few lines as fit ``room`` units at text
    height ``size``, as even in width as that number of lines allows; a word longer than the room gets a line
    of its own."""
    words = _words(text)
    lines = _greedy_wrap(words, size, room)
    if 1 < len(lines) < len(words):   # balanced: the narrowest room that keeps as few lines
        total = text_width(" ".join(words), size)
        for r in np.linspace(total / len(lines), room, 12)[:-1]:
            cand = _greedy_wrap(words, size, float(r))
            if len(cand) == len(lines):
                return cand
    return lines


def fit_title(text: str, size: float, room: float, sep: str = "  ·  ") -> tuple[str, float]:
    """A title and its text height fitted to ``room``: ``size`` or smaller (:func:`fit_text_size`), its last
    ``sep``-separated parts left off while it does not fit even at :data:`TEXT_MIN`."""
    parts = text.split(sep)
    while len(parts) > 1 and text_width(sep.join(parts), TEXT_MIN) > room:
        parts.pop()
    text = sep.join(parts)
    return text, fit_text_size(text, size, room)


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


@lru_cache(maxsize=4096)
def _mix_level(color: str, other: str, level: int, levels: int) -> str:
    return mix(color, other, level / levels)


def comet_segments(start: np.ndarray, end: np.ndarray, colors: list[str], bg: str, pieces: int = 4,
                   fade: np.ndarray | None = None, levels: int = 8) -> tuple[np.ndarray, list[str]]:
    """Trails as comets: each ``start[k] -> end[k]`` (``(n, 2)`` each) cut into ``pieces`` segments whose colour
    goes from faint at the tail (``start``) to ``colors[k]`` at the head (``end``), all faded towards ``bg`` by
    ``fade[k]`` in [0, 1] (0: none; e.g. the trail's age). Returns ``(n * pieces, 2, 2)`` segments and their
    colours (quantised to ``levels`` shades, so that repeated frames reuse the same strings)."""
    start, end = np.asarray(start, dtype=float).reshape(-1, 2), np.asarray(end, dtype=float).reshape(-1, 2)
    n = len(start)
    if n == 0:
        return np.zeros((0, 2, 2)), []
    fade = np.zeros(n) if fade is None else np.clip(np.asarray(fade, dtype=float), 0.0, 1.0)
    t = np.linspace(0.0, 1.0, pieces + 1)
    pts = start[:, None, :] + t[None, :, None] * (end - start)[:, None, :]         # (n, pieces + 1, 2)
    segs = np.stack([pts[:, :-1], pts[:, 1:]], axis=2).reshape(-1, 2, 2)
    strength = (np.arange(pieces) + 1.0) / pieces                                    # tail faint, head full
    away = 1.0 - strength[None, :] * (1.0 - fade[:, None])                          # (n, pieces): toward bg
    lv = np.rint(away * levels).astype(int)
    cols = [_mix_level(colors[k], bg, int(lv[k, m]), levels) for k in range(n) for m in range(pieces)]
    return segs, cols


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


BADGE_GAP_X = 0.16   # figure units: the least room between two badges side by side (more than two spaces)
BADGE_GAP_Y = 0.02   # and between two badges one above the other


def badge_box(x: float, y: float, ha: str, w: float = 0.55, h: float = 0.3) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)``: the box :func:`badge_anchor` keeps for a badge of about ``w x h`` anchored at ``(x, y)``
    with ``ha`` (``left``: it starts at ``x``; ``right``: it ends there), vertically centred."""
    x0 = x if ha == "left" else x - w
    return float(x0), float(y - h / 2), float(x0 + w), float(y + h / 2)


def badge_anchor(p: np.ndarray, view: Rect, r: float, w: float = 0.55, h: float = 0.3,
                 avoid: np.ndarray | None = None,
                 taken: list[tuple[float, float, float, float]] | None = None) -> tuple[float, float, str]:
    """Where a count badge of about ``w x h`` goes next to a marker of radius ``r`` at ``p``: to its upper right,
    or mirrored to the left / below when that would leave ``view``. With ``avoid`` (``(K, 2)`` figure units: the
    panel's points, samples along its rays), the corner (upper right, upper left, lower right, lower left) inside
    ``view`` whose box covers the fewest of them, the first in that order on a tie: the badge is not drawn over
    the data. With ``taken`` (the :func:`badge_box` boxes of the badges already placed in this frame, in the
    frame's order), only corners whose box keeps clear of every taken box (:data:`BADGE_GAP_X` side by side,
    :data:`BADGE_GAP_Y` above / below) compete; when none of the four is clear, the same four moved outward by
    one badge height at a time, up to the view's border, the first step that has a clear one. Without a clear
    place anywhere in the view (a view full of badges), the corners as without ``taken``. Deterministic.
    Returns ``(x, y, ha)``."""
    right = p[0] + r + 0.05 + w <= view.x + view.w
    x = p[0] + r + 0.05 if right else p[0] - r - 0.05
    y = p[1] + r + 0.02 + h / 2
    if y + h / 2 > view.y + view.h:
        y = p[1] - r - 0.02 - h / 2
    fallback = (float(x), float(y), "left" if right else "right")
    taken = [t for t in (taken or ())]
    if (avoid is None or len(avoid) == 0) and not taken:
        return fallback
    a = np.zeros((0, 2)) if avoid is None else np.asarray(avoid, dtype=float).reshape(-1, 2)

    def corners(lift: float) -> list[tuple[float, float, str, float]]:
        """The four corners ``lift`` further from the marker, those inside the view: (x, y, ha, left edge)."""
        out = []
        for yy in (p[1] + r + 0.02 + lift + h / 2, p[1] - r - 0.02 - lift - h / 2):
            for side in ("left", "right"):
                xx = p[0] + r + 0.05 if side == "left" else p[0] - r - 0.05
                x0 = xx if side == "left" else xx - w
                if x0 < view.x or x0 + w > view.x + view.w or yy - h / 2 < view.y or yy + h / 2 > view.y + view.h:
                    continue
                out.append((xx, yy, side, x0))
        return out

    def fewest(boxes: list[tuple[float, float, str, float]], pts: np.ndarray) -> tuple[float, float, str] | None:
        """The box covering the fewest of ``pts``, the first on a tie."""
        if not boxes:
            return None
        # one pass over the points keeps those near any box (a slightly wider superset: the counts below are
        # the same); non-finite points never count (their comparisons are False)
        eps = 1e-6
        bx0 = min(b[3] for b in boxes) - 0.04 - eps
        bx1 = max(b[3] for b in boxes) + w + 0.04 + eps
        by0 = min(b[1] for b in boxes) - h / 2 - 0.04 - eps
        by1 = max(b[1] for b in boxes) + h / 2 + 0.04 + eps
        ax, ay = pts[:, 0], pts[:, 1]
        pts = pts[(ax > bx0) & (ax < bx1) & (ay > by0) & (ay < by1)]
        best, best_n = None, None
        for xx, yy, side, x0 in boxes:
            n = int(np.count_nonzero((pts[:, 0] > x0 - 0.04) & (pts[:, 0] < x0 + w + 0.04)
                                     & (np.abs(pts[:, 1] - yy) < h / 2 + 0.04)))
            if best_n is None or n < best_n:
                best, best_n = (float(xx), float(yy), side), n
        return best

    def clear(b: tuple[float, float, str, float]) -> bool:
        x0, y0, x1, y1 = b[3], b[1] - h / 2, b[3] + w, b[1] + h / 2
        return all(x0 >= t[2] + BADGE_GAP_X or x1 <= t[0] - BADGE_GAP_X or y0 >= t[3] + BADGE_GAP_Y
                   or y1 <= t[1] - BADGE_GAP_Y for t in taken)

    if taken:
        step, lift = h + BADGE_GAP_Y, 0.0
        reach = max(view.w, view.h) + h
        while lift <= reach:
            ring = corners(lift)
            best = fewest([b for b in ring if clear(b)], a)
            if best is not None:
                return best
            if not ring:
                break       # every corner this far out (and further) is outside the view
            lift += step
    best = fewest(corners(0.0), a) if len(a) else None
    return best if best is not None else fallback


def ray_samples(rays: list, n: int = 12) -> np.ndarray:
    """``(len(rays) * n, 2)``: points along each segment ``[start, end]`` of ``rays`` (what a badge avoids)."""
    if not len(rays):
        return np.zeros((0, 2))
    r = np.asarray(rays, dtype=float).reshape(-1, 2, 2)
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    return (r[:, None, 0] * (1 - t) + r[:, None, 1] * t).reshape(-1, 2)


# -- canvases of any aspect: the 16:9 layout's blocks moved onto other canvases -------------------------------
@dataclass(frozen=True)
class Move:
    """Where a block laid out in 16:9 figure units goes on the canvas: moved by ``(x1 - x0, y1 - y0)``, and
    its charts ``dw`` wider (narrower when negative; their margins, which hold text, keep their size). The
    identity at 16:9."""

    x0: float = 0.0
    y0: float = 0.0
    x1: float = 0.0
    y1: float = 0.0
    dw: float = 0.0

    def x(self, x: float) -> float:
        return self.x1 + (x - self.x0)

    def y(self, y: float) -> float:
        return self.y1 + (y - self.y0)

    def rect(self, r: Rect) -> Rect:
        """A chart's plot rectangle ``r`` moved, ``dw`` wider."""
        return Rect(self.x(r.x), self.y(r.y), r.w + self.dw, r.h)


@dataclass(frozen=True)
class Layout:
    """A scene laid out for a canvas (:func:`layout`): its panels, where its readout and chart blocks go (each
    a :class:`Move` of its 16:9 place), the title's height, and ``wide``: readouts beside the panels."""

    w: float
    h: float
    panels: list[Rect]
    readout: Move
    chart: Move
    title_y: float
    wide: bool
    grow: float = 0.0   # height the chart block could grow by without making the panels smaller
    room_x: float = FIG_W - 0.12   # the readout's text ends left of this

    @property
    def is_16x9(self) -> bool:
        return (self.w, self.h) == (FIG_W, FIG_H)


def layout(w: float, h: float, n: int, area: Rect, readout: Rect, chart: Rect, gap: float = 0.25,
           rows: int | None = None, title_y: float = 8.55, min_chart: float = 0.7, head: float = 0.45,
           stack: bool | None = None, side: bool | None = None) -> Layout:
    """Lay a scene out on a ``w x h`` canvas from its 16:9 layout: ``n`` panels in ``area``, a readout block
    ``readout`` and a chart block ``chart`` (each the box around all it draws, in 16:9 units; the blocks to the
    right of ``area``), the title at ``title_y``.

    16:9: exactly that. Wide canvases (3:2 and wider, :func:`is_wide`): the same, the panel area and the right
    column moved with the right edge. Others (square, 4:3, portrait): the title at the top, the panels below
    it (:func:`panel_grid` picks rows and columns for the area's shape), the readout and the chart in a band
    below the panels, side by side (the chart narrowed to what is left, at least ``min_chart`` of its width), or
    stacked in a portrait canvas; the panels and the band centred in the height they leave; ``head``: room
    between the title's centre and the panels; ``stack``: the readout above the chart (default: in portrait
    canvases). ``side=True``: the wide arrangement on any canvas (the panel area grown by the canvas's extra
    width and height, the right column moved with the top right corner), for a scene whose panels come out
    larger so than above the band (e.g. on a square canvas)."""
    if (w, h) == (FIG_W, FIG_H):
        return Layout(w, h, panel_grid(n, area, gap, rows), Move(), Move(), title_y, True)
    if side or (side is None and is_wide(w, h)):
        dx, dy = w - FIG_W, h - FIG_H                      # dy = 0 on wide canvases (their short side is 9)
        grown = Rect(area.x, area.y, area.w + dx, area.h + dy)
        mv = Move(0.0, 0.0, dx, dy)
        return Layout(w, h, panel_grid(n, grown, gap, rows), mv, mv, title_y + dy, True, 0.0, w - 0.12)
    m = 0.3
    full = w - 2 * m
    top = h - 0.45                                         # the title's centre
    stacked = h / w >= 1.5 if stack is None else stack
    if stacked:
        cw = min(1.3 * chart.w, full)
        band_h = readout.h + 0.3 + chart.h
        rx, cx = m, m
    else:
        cw = max(min_chart * chart.w, full - readout.w - 0.2)
        band_h = max(readout.h, chart.h)
        rx, cx = m, w - m - cw
    band_top = 0.25 + band_h
    parea = Rect(m, band_top + 0.35, full, top - head - band_top - 0.35)
    rws = rows or grid_shape(n, parea, gap)[0]
    cols = int(np.ceil(n / rws))
    side = min((parea.w - gap * (cols - 1)) / cols, (parea.h - gap * (rws - 1)) / rws)
    extra = max(0.0, parea.h - (rws * side + gap * (rws - 1)))
    spare = max(0.0, parea.w - (cols * side + gap * (cols - 1)))      # the grid as one block, centred
    parea = Rect(parea.x + spare / 2, parea.y + extra / 2, parea.w - spare, parea.h - extra)
    band_top += extra / 2
    ro = Move(readout.x, readout.y + readout.h, rx, band_top)
    ctop = band_top - (readout.h + 0.3 if stacked else 0.0)
    co = Move(chart.x, chart.y + chart.h, cx, ctop, cw - chart.w)
    grow = extra + (0.0 if stacked else max(0.0, readout.h - chart.h))
    room_x = w - m if stacked else cx - 0.15
    return Layout(w, h, panel_grid(n, parea, gap, rws), ro, co, top, False, grow, room_x)


def fitted_layout(w: float, h: float, blocks, n: int, area: Rect, lo: float = 0.6, hi: float = 1.25,
                  **kw) -> tuple[Layout, float]:
    """:func:`layout` with the chart's height chosen for the canvas: ``blocks(s) -> (readout, chart)`` gives the
    16:9 boxes with the chart's plots ``s`` times their 16:9 height. 16:9 and wide canvases: ``s = 1``; others:
    the smallest charts (``s = lo``) first, then the height the panels leave goes to the charts (up to ``hi``).
    Returns the layout and ``s``."""
    lay = layout(w, h, n, area, *blocks(1.0), **kw)
    if lay.wide:
        return lay, 1.0
    base = blocks(lo)
    lay = layout(w, h, n, area, *base, **kw)
    if lay.grow <= 0.05:
        return lay, lo
    unit = blocks(lo + 0.1)[1].h - base[1].h        # chart height per 0.1 of s
    s = min(hi, lo + 0.1 * lay.grow / max(unit, 1e-9))
    return layout(w, h, n, area, *blocks(s), **kw), s
