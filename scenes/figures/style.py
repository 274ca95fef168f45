"""The one figure style of every static figure and PDF geomdl writes: camera-ready fonts and print sizes.

- Fonts: TrueType (``pdf.fonttype 42``) in every PDF, never Type 3 (which many venues reject); DejaVu Sans with
  its own mathtext glyphs, so a label such as ``"$T_1(X)$"`` is typeset with no TeX installation.
- Sizes: a figure is as wide as one column (``column``, 3.4 in) or the text width of a page (``page``, 7.0 in)
  of a two-column paper, and its text is 7-9 pt at that size (ticks 7, labels and legends 8, titles 8.5).
  :func:`use_size` chooses the preset (``geomdl --size column|page``); figure modules ask :func:`figure` or
  :func:`subplots` for a canvas and :func:`columns` for how many panels fit side by side.

Importing this module applies the style (``matplotlib.rcParams``) once for the whole process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from geomdl.errors import UsageError  # noqa: E402

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
_state = {"size": "page"}


def apply() -> None:
    """Set :data:`RC` in ``matplotlib.rcParams`` (done at import; call again after an ``rcdefaults``)."""
    matplotlib.rcParams.update(RC)


apply()


def check_size(name: str) -> str:
    if name not in SIZES:
        raise UsageError(f"unknown figure size {name!r}; known: column (3.4 in, one column), page (7.0 in)")
    return name


def use_size(name: str) -> None:
    """Make ``name`` (``column`` or ``page``) the width of every figure drawn from now on."""
    _state["size"] = check_size(name)


@contextlib.contextmanager
def size(name: str) -> Iterator[None]:
    """The preset ``name`` inside the block only."""
    old = _state["size"]
    use_size(name)
    try:
        yield
    finally:
        _state["size"] = old


def current() -> str:
    return _state["size"]


def width() -> float:
    """Figure width in inches of the current preset."""
    return SIZES[_state["size"]]


def columns(n: int, most: int | None = None) -> int:
    """How many of ``n`` panels go side by side at the current width (at most ``most``)."""
    cap = MAX_COLUMNS[_state["size"]] if most is None else min(most, MAX_COLUMNS[_state["size"]])
    return max(1, min(n, cap))


def figure(aspect: float = 0.62, rows: int = 1, cols: int = 1, extra: float = 0.0, **kw):
    """A figure of the current width whose panels are ``aspect`` (height / width) each, in a ``rows x cols``
    grid, plus ``extra`` inches (a suptitle, a legend row); constrained layout."""
    w = width()
    h = w / cols * aspect * rows + extra
    return plt.figure(figsize=(w, h), layout="constrained", **kw)


def subplots(rows: int = 1, cols: int = 1, aspect: float = 0.62, extra: float = 0.0, **kw):
    """``plt.subplots`` on a :func:`figure` canvas: ``(fig, axes)``."""
    fig = figure(aspect, rows, cols, extra)
    axes = fig.subplots(rows, cols, **kw)
    return fig, axes


def class_name(j: int) -> str:
    """The human-facing name of the class with label ``j``: classes are numbered from 1, as in the math."""
    return f"class {int(j) + 1}"
