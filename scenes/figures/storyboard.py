"""The storyboard: key frames of a clip drawn as vector graphics (PDF) and PNG, from the frame model.

Each panel is one frame drawn with matplotlib from the primitives of :mod:`scenes.clips.base` (the same content
both renderers draw), so lines, points and typeset labels stay sharp at any zoom; point groups of
``RASTER_MIN`` points or more are embedded as images (a PDF of 50 000 vector discs helps nobody). The title card
is skipped: the panels run from the first frame after it to the last frame of the clip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from scenes.backends.raster import RASTER_MIN
from scenes.clips.base import PALETTE, Frame, FrameModel, figure_units
from scenes.figures import style
from scenes.figures.figure_io import save_figure

CAP_HEIGHT = 0.72     # DejaVu Sans cap height / em: a Label's ``size`` is its cap height (as both renderers)


def first_after_card(frames: FrameModel) -> int:
    """The first frame no title card covers (``cover == 0`` and no card labels showing)."""
    for i in range(frames.n_frames):
        f = frames.frame(i)
        if f.cover <= 0 and not any(lab.alpha > 0 for lab in f.card):
            return i
    return frames.n_frames - 1


def key_frames(frames: FrameModel, n: int) -> list[int]:
    """``n`` frame indices evenly spaced from the end of the title card to the last frame (both included)."""
    start, last = first_after_card(frames), frames.n_frames - 1
    return sorted({int(round(v)) for v in np.linspace(start, last, max(1, n))})


def draw_frame(ax, frames: FrameModel, f: Frame, unit_pt: float) -> None:
    """Draw ``frames.static()`` and the frame ``f`` onto ``ax`` (figure units, 16 x 9 or the model's
    ``fig_w x fig_h``); ``unit_pt``: points per figure unit at the panel's printed size."""
    th = frames.theme
    FIG_W, FIG_H = figure_units(frames)
    ax.set_xlim(0, FIG_W)
    ax.set_ylim(0, FIG_H)
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.add_patch(Rectangle((0, 0), FIG_W, FIG_H, facecolor=th["bg"], edgecolor="#BBBBBB", lw=0.5, zorder=0))
    for part in (frames.static(), f):
        for seg in part.segments:
            ax.add_collection(LineCollection(list(seg.xy), colors=seg.colors, linewidths=max(0.2, seg.width * unit_pt),
                                             alpha=seg.alpha, zorder=1, capstyle="round"))
        for pl in part.lines:
            ax.plot(pl.xy[:, 0], pl.xy[:, 1], color=pl.color, lw=max(0.2, pl.width * unit_pt), zorder=2,
                    solid_capstyle="round")
        for pts in part.points:
            if len(pts.xy) == 0:
                continue
            d = 2 * pts.radius * unit_pt
            colors = [PALETTE[int(c) % len(PALETTE)] for c in pts.color]
            ax.scatter(pts.xy[:, 0], pts.xy[:, 1], s=d * d, c=colors, marker="o", zorder=4 if pts.ring else 3,
                       edgecolors=th["collapsed"] if pts.ring else "none",
                       linewidths=max(0.15, 0.25 * d) if pts.ring else 0.0,
                       rasterized=len(pts.xy) >= RASTER_MIN)
        for lab in part.labels:
            if lab.alpha > 0:
                ax.text(lab.x, lab.y, lab.text, color=lab.color, ha=lab.ha, va=lab.va, alpha=lab.alpha, zorder=5,
                        fontsize=lab.size * unit_pt / CAP_HEIGHT)
    if f.cover > 0:
        ax.add_patch(Rectangle((0, 0), FIG_W, FIG_H, facecolor=th["bg"], alpha=f.cover, edgecolor="none", zorder=10))
        for lab in f.card:
            if lab.alpha > 0:
                ax.text(lab.x, lab.y, lab.text, color=lab.color, ha=lab.ha, va=lab.va, alpha=lab.alpha, zorder=11,
                        fontsize=lab.size * unit_pt / CAP_HEIGHT)


def write_storyboard(frames: FrameModel, out_stem: Path, n: int = 6, cols: int = 2, title: str = "",
                     dpi: int = 200) -> list[Path]:
    """``<out_stem>.png`` and ``<out_stem>.pdf`` (vector) of ``n`` key frames (:func:`key_frames`), ``cols`` a row,
    each labelled with its time in the clip; the figure is a page wide (:data:`style.SIZES`). Atomic, as a pair."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    idx = key_frames(frames, n)
    FIG_W, FIG_H = figure_units(frames)
    rows = int(np.ceil(len(idx) / cols))
    w = style.SIZES["page"]
    gap = 0.05
    pw = (w - gap * (cols + 1)) / cols            # panel width, inches
    ph = pw * FIG_H / FIG_W
    head, cap = (0.3 if title else 0.05), 0.2       # title row; the time caption under each panel
    fig = plt.figure(figsize=(w, head + rows * (ph + cap) + gap))
    unit_pt = pw * 72 / FIG_W
    H = fig.get_figheight()
    for k, i in enumerate(idx):
        r, c = divmod(k, cols)
        x0 = gap + c * (pw + gap)
        y0 = H - head - (r + 1) * (ph + cap) + cap
        ax = fig.add_axes((x0 / w, y0 / H, pw / w, ph / H))
        draw_frame(ax, frames, frames.frame(i), unit_pt)
        fig.text((x0 + pw / 2) / w, (y0 - 0.03) / H, f"t = {i / frames.fps:.1f} s", ha="center", va="top",
                 fontsize=7, color="#444444")
    if title:
        fig.text(0.5, 1 - 0.05 / H, title, ha="center", va="top", fontsize=9)
    return save_figure(fig, out_stem, dpi=dpi)
