"""Canvases and where things go on them: figure units of any aspect, rectangles, panel grids, the
layout of a scene's panels, readouts and charts on a canvas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

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


def view_rect(panel: Rect, title_h: float = 0.42, inset: float = 0.05) -> Rect:
    """The drawing area of a panel: the panel less a title strip of ``title_h`` at its top (titles sit there,
    so nothing pinned into the view can land on them) and a small ``inset``."""
    return Rect(panel.x + inset, panel.y + inset, panel.w - 2 * inset, panel.h - title_h - 2 * inset)


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
