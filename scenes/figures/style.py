"""The one figure style of every static figure and PDF geomdl writes: camera-ready fonts and print sizes.

- Fonts: TrueType (``pdf.fonttype 42``) in every PDF, never Type 3 (which many venues reject); DejaVu Sans with
  its own mathtext glyphs, so a label such as ``"$T_1(X)$"`` is typeset with no TeX installation.
- Sizes: a figure is as wide as one column (``column``, 3.4 in) or the text width of a page (``page``, 7.0 in)
  of a two-column paper, and its text is 7-9 pt at that size (ticks 7, labels and legends 8, titles 8.5).
  :func:`use_size` chooses the preset (``geomdl --size column|page``); figure modules ask :func:`figure` or
  :func:`subplots` for a canvas and :func:`columns` for how many panels fit side by side.

:mod:`scenes.figures.figure_io` applies the style (``matplotlib.rcParams``) once for the whole process when it
is imported; this module itself imports no matplotlib (the CLI checks ``--size`` with it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from geomdl.errors import UsageError

SIZES = {"column": 3.4, "page": 7.0}   # inches: one column of a two-column paper, a page's text width
MAX_COLUMNS = {"column": 2, "page": 4}  # panels side by side at that width
FONT_TYPES = {"pdf.fonttype": 42, "ps.fonttype": 42}   # TrueType glyphs in PDF/PS, no Type 3
RC = {
    **FONT_TYPES,
    "font.family": "DejaVu Sans", "mathtext.fontset": "dejavusans",
    "font.size": 8, "axes.titlesize": 8.5, "axes.labelsize": 8, "xtick.labelsize": 7, "ytick.labelsize": 7,
    "legend.fontsize": 7, "figure.titlesize": 9, "legend.frameon": False,
    "axes.linewidth": 0.6, "lines.linewidth": 1.2, "lines.markersize": 4, "xtick.major.width": 0.6,
    "ytick.major.width": 0.6, "xtick.major.size": 2.5, "ytick.major.size": 2.5,
    "axes.spines.top": False, "axes.spines.right": False,
    "savefig.dpi": 300, "figure.dpi": 150, "savefig.pad_inches": 0.02,
}
_state: dict[str, str] = {}
ENV = "GEOMDL_FIGURE_SIZE"    # the default preset (``geomdl --size`` sets it for the whole command)


def apply() -> None:
    """Set :data:`RC` in ``matplotlib.rcParams`` (:mod:`scenes.figures.figure_io` does it on import)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    matplotlib.rcParams.update(RC)


def check_size(name: str) -> str:
    if name not in SIZES:
        raise UsageError(f"unknown figure size {name!r}; known: column (3.4 in, one column), page (7.0 in)")
    return name


def use_size(name: str) -> None:
    """Make ``name`` (``column`` or ``page``) the width of every figure drawn from now on (in this process and,
    through :data:`ENV`, its workers)."""
    _state["size"] = check_size(name)
    os.environ[ENV] = name


@contextlib.contextmanager
def size(name: str) -> Iterator[None]:
    """The preset ``name`` inside the block only."""
    old, old_env = _state.get("size"), os.environ.get(ENV)
    use_size(name)
    try:
        yield
    finally:
        _state.pop("size", None)
        if old is not None:
            _state["size"] = old
        if old_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = old_env


def current() -> str:
    """The preset in use: the last :func:`use_size`, else :data:`ENV`, else ``page``."""
    return _state.get("size") or check_size(os.environ.get(ENV) or "page")


def width() -> float:
    """Figure width in inches of the current preset."""
    return SIZES[current()]


def columns(n: int, most: int | None = None) -> int:
    """How many of ``n`` panels go side by side at the current width (at most ``most``)."""
    cap = MAX_COLUMNS[current()] if most is None else min(most, MAX_COLUMNS[current()])
    return max(1, min(n, cap))


def figure(aspect: float = 0.62, rows: int = 1, cols: int = 1, extra: float = 0.0, **kw):
    """A figure of the current width whose panels are ``aspect`` (height / width) each, in a ``rows x cols``
    grid, plus ``extra`` inches (a suptitle, a legend row); constrained layout."""
    import matplotlib.pyplot as plt  # noqa: PLC0415

    w = width()
    h = w / cols * aspect * rows + extra
    return plt.figure(figsize=(w, h), layout="constrained", **kw)


def subplots(rows: int = 1, cols: int = 1, aspect: float = 0.62, extra: float = 0.0, **kw):
    """``plt.subplots`` on a :func:`figure` canvas: ``(fig, axes)``."""
    fig = figure(aspect, rows, cols, extra)
    axes = fig.subplots(rows, cols, **kw)
    return fig, axes


def axes3(ax, names: tuple[str, str, str] | list[str]) -> None:
    """A 3-D panel readable at print size: three ticks an axis, small pads, the three axes named."""
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415

    for axis, name in zip((ax.xaxis, ax.yaxis, ax.zaxis), names, strict=True):
        axis.set_major_locator(MaxNLocator(3))
        axis.set_tick_params(pad=-2, labelsize=6)
        axis.labelpad = -8
        axis.set_label_text(name, fontsize=7)
    ax.view_init(elev=22, azim=-60)
    ax.set_box_aspect(None, zoom=0.85)


def wrap(text: str, size_pt: float = 9.0, inches: float | None = None) -> str:
    """``text`` broken into lines that fit ``inches`` (default: the figure width) at ``size_pt`` points, never
    inside a ``$...$`` formula; existing line breaks are kept."""
    import textwrap  # noqa: PLC0415

    chars = max(12, int((inches or width()) * 72 / (0.56 * size_pt)))
    out = []
    for para in text.split("\n"):
        words, cur, math = [], "", False
        for tok in para.split(" "):      # keep formulas whole: join the tokens of one $...$ with spaces
            cur = f"{cur} {tok}" if math else tok
            math = cur.count("$") % 2 == 1
            if not math:
                words.append(cur.replace(" ", "\0"))
        if math:
            words.append(cur.replace(" ", "\0"))
        lines = textwrap.wrap(" ".join(words), chars, break_long_words=False, break_on_hyphens=False) or [""]
        out += [ln.replace("\0", " ") for ln in lines]
    return "\n".join(out)


def class_name(j: int) -> str:
    """The human-facing name of the class with label ``j``: classes are numbered from 1, as in the math."""
    return f"class {int(j) + 1}"


def sci(v: float) -> str:
    """A threshold or tolerance typeset: ``1e-06`` -> ``$10^{-6}$``, ``2.5e-3`` -> ``$2.5 \\times 10^{-3}$``,
    ``0.5`` -> ``0.5`` (mathtext; plain ``%g`` between 0.01 and 1000)."""
    import math  # noqa: PLC0415

    if v == 0 or not math.isfinite(v) or 1e-2 <= abs(v) < 1e3:
        return f"{v:g}"
    e = math.floor(math.log10(abs(v)))
    m = v / 10**e
    if round(m, 6) in (1.0, -1.0):
        return f"${'-' if m < 0 else ''}10^{{{e}}}$"
    return f"${m:g} \\times 10^{{{e}}}$"
