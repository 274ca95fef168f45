"""Canvases and glyph blends shared by the drawing tests (matplotlib's Agg)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba

from scenes.backends.mpl_renderer import blend_glyphs
from scenes.clips.base import THEMES


def canvas(theme: dict, w: int = 320, h: int = 120):
    """A ``w x h`` px figure at 100 dpi in ``theme``'s background with one full-figure Axes in pixel units."""
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    fig.patch.set_facecolor(theme["bg"])
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, w)
    ax.set_ylim(0, h)
    return fig, ax


def blends_both_ways(placed: list[tuple[int, int, np.ndarray]], colour: str, alpha: float | None, bg: str,
                     w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The RGBA canvas after :func:`blend_glyphs` of ``placed`` and after one ``draw_text_image`` per glyph in
    order, each on a fresh ``w x h`` canvas in theme ``bg``'s background."""
    out = []
    for layered in (True, False):
        r = RendererAgg(w, h, 100)
        np.asarray(r.buffer_rgba())[...] = np.rint(255 * np.array(to_rgba(THEMES[bg]["bg"]))).astype(np.uint8)
        gc = r.new_gc()
        gc.set_foreground(to_rgba(colour), isRGBA=True)
        gc.set_alpha(alpha)
        if layered:
            blend_glyphs(r._renderer, placed, gc)
        else:
            for r0, c0, img in placed:
                r._renderer.draw_text_image(img, c0, r0 + img.shape[0], 0, gc)
        out.append(np.asarray(r.buffer_rgba()).copy())
    return out[0], out[1]
