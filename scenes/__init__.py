"""Renderers: they read a recorded trace and draw it. They never train.

- ``frames``: the renderer-agnostic frame model (layout, projection, interpolation, readouts) in figure
  units (16 x 9). Both renderers draw exactly what it returns, so they show the same content.
- ``mpl_renderer``: matplotlib fallback, one reused figure, frames piped to ffmpeg.
- ``manim_scenes``: the Manim scene of every clip (``FrameScene``): static layers drawn once, one mobject per
  primitive updated per frame, labels typeset from matplotlib's glyph outlines (``glyphs``).
- ``export``: encode / GIF / PNG, atomic writes into ``media/``.
"""


def register_notebook_display() -> bool:
    """In IPython (a notebook), display a :class:`~geomdl.io.trace.Trace` as its interactive viewer
    (:mod:`scenes.backends.html_viewer`, imported at the first display). Called when :mod:`scenes` is imported,
    and by ``%load_ext scenes``; returns whether a shell was found. The core never imports this."""
    import sys  # noqa: PLC0415

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None:
        return False

    def trace_html(trace) -> str:
        from scenes.backends.html_viewer import trace_html as page  # noqa: PLC0415

        return page(trace)

    shell.display_formatter.formatters["text/html"].for_type_by_name("geomdl.io.trace", "Trace", trace_html)
    return True


def load_ipython_extension(shell) -> None:  # noqa: ARG001  (``%load_ext scenes``)
    register_notebook_display()


register_notebook_display()
