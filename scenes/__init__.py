"""Renderers: they read a recorded trace and draw it. They never train.

- ``frames``: the renderer-agnostic frame model (layout, projection, interpolation, readouts) in figure
  units (16 x 9). Both renderers draw exactly what it returns, so they show the same content.
- ``mpl_renderer``: matplotlib fallback, one reused figure, frames piped to ffmpeg.
- ``manim_scenes``: the Manim scene of every clip (``FrameScene``): static layers drawn once, one mobject per
  primitive updated per frame, labels typeset from matplotlib's glyph outlines (``glyphs``).
- ``export``: encode / GIF / PNG, atomic writes into ``media/``.
"""
