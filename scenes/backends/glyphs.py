"""Label text as glyph outlines: matplotlib's own text layout and mathtext, turned into cubic Bezier curves.

The Manim renderer draws every :class:`~scenes.clips.base.Label` from these outlines, so labels may hold
matplotlib mathtext (``"$T_1(X)$"``, ``"$\\mathbb{R}^3$"``, ``"$e^{-2s/N}$"``) and come out typeset without a
TeX installation, in the font the matplotlib renderer uses (``FAMILY``; mathtext in matplotlib's
``mathtext.fontset``, DejaVu Sans by default): the two renderers draw the same glyphs.

What is computed is exactly matplotlib's :class:`~matplotlib.textpath.TextPath` of the string (same glyphs,
positions, kerning and mathtext layout; ``tests/test_glyphs.py`` compares them), faster where it matters for
readouts that change every frame: each glyph's outline is converted once (quadratic TrueType segments raised to
cubics, exactly), and a string's outline is cached by its text.

Units: *em* (the font size is 1), the baseline at ``y = 0``, the text's origin at ``x = 0``.
"""

from __future__ import annotations

import logging
import re
import string
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib import cbook
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextToPath, text_to_path

from scenes.backends.fast_mathtext import FastMathTextParser

# mathtext says at INFO level where it takes a glyph from ("Substituting symbol R from STIXGeneral"); Manim's
# logging set-up would print that among the output paths
logging.getLogger("matplotlib.mathtext").setLevel(logging.WARNING)

FAMILY = "DejaVu Sans"        # the matplotlib renderer's family
_PROP = FontProperties(family=FAMILY)
_UNIT = float(text_to_path.FONT_SCALE)    # matplotlib's glyph tables are in units of FONT_SCALE per em
# mathtext laid out by matplotlib's own parse actions without its pyparsing grammar (~7x faster for a string
# never seen, the same result: tests/test_fast_mathtext.py, tests/test_glyphs.py against TextPath); readouts
# such as the loss are a new string every frame. Its own TextToPath, so matplotlib's TextPath is untouched.
_MATH = TextToPath()
FastMathTextParser.install(_MATH)
_GLYPH_PATHS: dict[str, tuple[np.ndarray, np.ndarray]] = {}   # glyph id -> matplotlib (vertices, codes)
_GLYPH_CUBICS: dict[str, np.ndarray] = {}                     # glyph id -> (m, 4, 2) cubic curves


@dataclass(frozen=True)
class Outline:
    """A string's outline. ``curves: (n, 4, 2)``: cubic Bezier control points ``(p0, c1, c2, p1)`` in em units;
    the contours are closed, each a run of curves whose ends meet. ``x0, x1, y0, y1``: the extent of the
    control points (ink box; zeros for blank text)."""

    curves: np.ndarray
    x0: float
    x1: float
    y0: float
    y1: float


def cubics(vertices: np.ndarray, codes: np.ndarray | None) -> np.ndarray:
    """A matplotlib path ``(vertices: (k, 2), codes: (k,))`` as cubic curves ``(n, 4, 2)``.

    Lines become straight cubics (handles at thirds), quadratic segments the equal cubic
    (``c1 = p0 + 2/3 (q - p0)``, ``c2 = p1 + 2/3 (q - p1)``); every contour is closed by a line back to its
    start where it does not end there (``CLOSEPOLY``, or a new ``MOVETO``).
    """
    v = np.asarray(vertices, dtype=float).reshape(-1, 2)
    c = np.full(len(v), MplPath.LINETO, np.uint8) if codes is None else np.asarray(codes)
    if codes is None and len(v):
        c[0] = MplPath.MOVETO
    out: list[tuple] = []
    start = cur = None

    def line(a, b) -> None:
        out.append((a, a + (b - a) / 3, a + 2 * (b - a) / 3, b))

    def close() -> None:
        if start is not None and cur is not None and not np.array_equal(cur, start):
            line(cur, start)

    i, n = 0, len(v)
    while i < n:
        code = c[i]
        if code == MplPath.MOVETO:
            close()
            start = cur = v[i]
            i += 1
        elif code == MplPath.LINETO:
            line(cur, v[i])
            cur = v[i]
            i += 1
        elif code == MplPath.CURVE3:
            q, e = v[i], v[i + 1]
            out.append((cur, cur + 2 / 3 * (q - cur), e + 2 / 3 * (q - e), e))
            cur = e
            i += 2
        elif code == MplPath.CURVE4:
            out.append((cur, v[i], v[i + 1], v[i + 2]))
            cur = v[i + 2]
            i += 3
        elif code == MplPath.CLOSEPOLY:
            close()
            cur = start
            i += 1
        else:   # STOP
            break
    close()
    return np.array(out, dtype=float).reshape(-1, 4, 2)


def parse(text: str) -> tuple[str, bool]:
    """``(string, is_math)`` as matplotlib's ``Text`` reads a label: mathtext when it holds an even number (>= 2)
    of unescaped ``$``; otherwise plain text with ``\\$`` meaning ``$``."""
    if cbook.is_math_text(text):
        return text, True
    return text.replace(r"\$", "$"), False


def _glyph_cubics(key: str) -> np.ndarray:
    cub = _GLYPH_CUBICS.get(key)
    if cub is None:
        verts, codes = _GLYPH_PATHS[key]
        cub = _GLYPH_CUBICS[key] = cubics(verts, codes)
    return cub


_DIGIT = re.compile("[0-9]")
_ASCII = set(string.printable[:95])


def _font():
    return text_to_path._get_font(_PROP)   # what TextToPath.get_text_path lays plain text out with


def _glyph_run(s: str) -> tuple[tuple[str, float, float, float], ...]:
    """matplotlib's glyphs of plain text ``s``: ``(glyph id, x, y, scale)`` in FONT_SCALE units."""
    info, new, _ = text_to_path.get_glyphs_with_font(_font(), s, glyph_map=_GLYPH_PATHS,
                                                     return_new_glyphs_only=True)
    _GLYPH_PATHS.update(new)
    return tuple((gid, float(x), float(y), float(sc)) for gid, x, y, sc in info)


_layout = lru_cache(maxsize=1024)(_glyph_run)
_SWAPPABLE: set[tuple[str, str]] = set()    # character pairs around a digit checked to lay out as with a 0


def _swappable(s: str) -> bool:
    """Whether ``s`` lays out exactly like ``s`` with its digits made ``0``: checked per pair of neighbouring
    characters that holds a digit (a pair's kerning and the left one's advance place the right one), once per
    pair, on a probe string of the new pairs and its digits-made-0 twin."""
    pairs = {(a, b) for a, b in zip(s, s[1:], strict=False) if a.isdigit() or b.isdigit()} - _SWAPPABLE
    if pairs:
        probe = " ".join(a + b for a, b in sorted(pairs))
        x, y = _glyph_run(probe), _glyph_run(_DIGIT.sub("0", probe))
        if len(x) != len(probe) or len(y) != len(probe) or any(p[1:] != q[1:] for p, q in zip(x, y, strict=True)):
            return False
        _SWAPPABLE.update(pairs)
    return True


def _digit_glyph(d: str) -> str:
    gid = _DIGIT_IDS.get(d)
    if gid is None:
        gid = _DIGIT_IDS[d] = _glyph_run(d)[0][0]
    return gid


_DIGIT_IDS: dict[str, str] = {}


def _plain_glyphs(s: str) -> tuple[tuple[str, float, float, float], ...]:
    """:func:`_layout` of ``s``. A readout whose digits change every frame is laid out once per digit pattern
    (its digits made ``0``) and the digits' glyphs swapped in, where :func:`_swappable` shows that this places
    every glyph where laying ``s`` out would."""
    tmpl = _DIGIT.sub("0", s)
    if tmpl == s or not _ASCII.issuperset(s):
        return _layout(s)
    items = _layout(tmpl)
    if len(items) != len(s) or not _swappable(s):   # not one glyph per character (a ligature), or kerned
        return _layout(s)
    return tuple((_digit_glyph(ch), *it[1:]) if ch.isdigit() else it for ch, it in zip(s, items, strict=True))


@lru_cache(maxsize=4096)
def outline(text: str) -> Outline:
    """The outline of ``text`` (plain or mathtext) at font size 1 em; cached by text. Text that is not valid
    mathtext (matplotlib's parser refuses it) is drawn as its plain characters, so that no label stops a
    render."""
    s, math = parse(text)
    info, rects = None, []
    if math:
        try:
            info, new, rects = _MATH.get_glyphs_mathtext(_PROP, s, glyph_map=_GLYPH_PATHS,
                                                                return_new_glyphs_only=True)
            _GLYPH_PATHS.update(new)
        except ValueError:   # not valid mathtext (``"$a^$"``): drawn as the plain characters it holds
            info, rects = None, []
    if info is None:
        info = _plain_glyphs(s if not math else s.replace(r"\$", "$"))
    parts = [_glyph_cubics(gid) * float(scale) + np.array([float(x), float(y)])
             for gid, x, y, scale in info]
    parts += [cubics(verts, codes) for verts, codes in rects]
    parts = [p for p in parts if len(p)]
    if not parts:
        return Outline(np.zeros((0, 4, 2)), 0.0, 0.0, 0.0, 0.0)
    curves = np.concatenate(parts) / _UNIT
    curves.setflags(write=False)
    lo, hi = curves.reshape(-1, 2).min(axis=0), curves.reshape(-1, 2).max(axis=0)
    return Outline(curves, float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1]))


@lru_cache(maxsize=1)
def cap_height() -> float:
    """Height of ``H`` in em (DejaVu Sans: 0.729)."""
    return outline("H").y1


def anchor(out: Outline, ha: str, va: str) -> tuple[float, float]:
    """The point of ``out`` (em units) that a label's ``(x, y)`` names: ``ha`` left|center|right of the ink,
    ``va`` bottom|center|top = the baseline, half the cap height, the cap height (``H``), so that a line's
    vertical place does not depend on its letters."""
    cap = cap_height()
    x = {"left": out.x0, "center": (out.x0 + out.x1) / 2, "right": out.x1}[ha]
    y = {"bottom": 0.0, "center": cap / 2, "top": cap}[va]
    return x, y


def placed(text: str, x: float, y: float, size: float, ha: str = "left", va: str = "center") -> np.ndarray:
    """``(n, 4, 2)`` curves of a label in its own units: text height ``size`` (the height of ``H``: font size
    ``size / cap_height()``), anchored at ``(x, y)`` by ``ha``/``va`` (:func:`anchor`)."""
    out = outline(text)
    em = size / cap_height()
    ax, ay = anchor(out, ha, va)
    if ha == "left" and text[:1] == " " and text.strip(" "):   # leading spaces indent (as in matplotlib):
        ax = outline(text.lstrip(" ")).x0                      # anchored where the unindented ink would start
    return (out.curves - np.array([ax, ay])) * em + np.array([x, y])
