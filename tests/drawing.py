"""Canvases and glyph blends shared by the drawing tests (matplotlib's Agg), the points benchmark's clip and its
recorded splats, and a refused import (the compiled paths' fallbacks)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba

from scenes.backends.fast_mathtext import FastMathTextParser
from scenes.backends.fast_text import FastPlainText
from scenes.backends.mpl_renderer import GlyphCache, TextCache, blend_glyphs
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


def twin_labels(theme: dict, x: float, y: float, text: str, w: int = 320, h: int = 120, **kw):
    """Two ``w x h`` canvases in ``theme``, each with one animated label ``ax.text(x, y, text, family="DejaVu Sans",
    **kw)``, drawn once (the label left out of the background). The first canvas's renderer gets the matplotlib
    renderer's text fast paths (glyph cache, mathtext and plain-text parsers); the second keeps matplotlib's.
    Returns ``(figs, arts, renderers, backgrounds, cache, glyphs)``: ``cache`` a fresh :class:`TextCache` with
    that plain-text path, ``glyphs`` the first renderer's :class:`GlyphCache`."""
    figs = [canvas(theme, w, h), canvas(theme, w, h)]
    arts = [ax.text(x, y, text, family="DejaVu Sans", **kw) for _, ax in figs]
    for (fig, _), art in zip(figs, arts, strict=True):
        art.set_animated(True)
        fig.canvas.draw()
    rs = [fig.canvas.get_renderer() for fig, _ in figs]
    backgrounds = [np.asarray(r.buffer_rgba()).copy() for r in rs]
    cache = TextCache()
    glyphs = GlyphCache.install(rs[0])
    FastMathTextParser.install(rs[0])
    cache.fast = FastPlainText.install(rs[0])
    return figs, arts, rs, backgrounds, cache, glyphs


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


def point_frames(n_per_class: int, n_frames: int):
    """The points benchmark's truncation-speed clip (Q = 3, 60 GD steps, 4 snapshots; ``n_per_class`` points a
    class): its first ``n_frames`` frames at 30 fps, without title card or holds."""
    from geomdl.experiments import truncation_speed as ts  # noqa: PLC0415
    from scenes.clips.truncation_speed import TruncationFrames  # noqa: PLC0415

    trace, _ = ts.run(ts.TruncationSpeedConfig(n_per_class=n_per_class, steps=60, snapshots=4))
    return TruncationFrames(trace, fps=30, duration=n_frames / 30, hold_start=0, hold_end=0, card_seconds=0)


def recorded_splats(frames, monkeypatch, raster_min: int = 0) -> list[tuple]:
    """The ``splat`` calls (arguments, arrays copied) of the matplotlib renderer drawing every frame of
    ``frames`` at 720p, the point groups of ``raster_min`` points or more rasterised."""
    from scenes.backends import mpl_renderer as mr  # noqa: PLC0415
    from scenes.backends import raster  # noqa: PLC0415

    calls = []

    def spy(*args):
        calls.append(tuple(np.array(a) if isinstance(a, np.ndarray) else a for a in args))
        return raster.splat(*args)

    monkeypatch.setattr(mr, "splat", spy)
    monkeypatch.setattr(mr, "RASTER_MIN", raster_min)
    d = mr.MplFrameDrawer(frames, 1280, 720)
    try:
        for i in range(frames.n_frames):
            d.draw(i)
    finally:
        d.close()
    return calls


class RefusedImport:
    """A ``sys.meta_path`` finder raising ``error`` for module ``name`` (numba's ``RuntimeError`` for a cached
    kernel with no writable cache folder, say)."""

    def __init__(self, name: str, error: Exception):
        self.name, self.error = name, error

    def find_spec(self, name, path=None, target=None):
        if name == self.name:
            raise self.error
        return None
