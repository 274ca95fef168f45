"""Renderers: they read a recorded trace and draw it. They never train.

- ``frames``: the renderer-agnostic frame model (layout, projection, interpolation, readouts) in figure
  units (16 x 9). Both renderers draw exactly what it returns, so they show the same content.
- ``mpl_renderer``: matplotlib fallback, one reused figure, frames piped to ffmpeg.
- ``manim_scenes``: Manim scene(s), one point-cloud mobject per group, updated per frame.
- ``export``: encode / GIF / PNG, atomic writes into ``media/``.
"""
