"""Text as the frame models size it: widths from DejaVu Sans advances, wrapping and fitting, and the
number formats of readouts and ticks (mathtext)."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np


def fmt_loss(v: float) -> str:
    """A loss or cost for a readout, typeset: ``$2.779 \\times 10^{-2}$`` (four significant digits)."""
    return tex_sci(v, 3)


def nice_ceil(x: float) -> int:
    """Smallest of 1, 2, 2.5, 5 times a power of ten that is >= x."""
    mag = 10 ** np.floor(np.log10(max(x, 1.0)))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= x:
            return int(m * mag)
    return int(10 * mag)


# -- shared by the clips' panels and readouts (talk-grade: typeset math, readable sizes, build-up) ------------
TEXT_MIN = 0.19   # smallest text height: font size = height / 0.72 figure units = 14 px at 480p (9 units = 480 px)
ADVANCE = 0.62    # mean advance of a DejaVu Sans character, in text heights (measured on the readouts)
# DejaVu Sans advances in text heights (cap height 0.729 em), by kind of character (measured with FreeType)
ADVANCES = {"digit": 0.873, "lower": 0.773, "upper": 0.923, "space": 0.436, "punct": 0.455, "bracket": 0.516,
            "op": 1.149, "other": 0.85}


_MATH_NONE = re.compile(r"\\(mathrm|mathbb|mathbf|mathcal|mathit|left|right|,|;|!)")
_MATH_OP = re.compile(r"\\(times|leq|geq|to|propto|cdot|cdots)")
_MATH_CMD = re.compile(r"\\[A-Za-z]+")
_MATH_MARKUP = re.compile(r"[${}_^]")


def _kind(ch: str) -> str:
    if ch.isdigit():
        return "digit"
    if ch.isalpha():
        return "upper" if ch.isupper() else "lower"
    if ch == " ":
        return "space"
    if ch in ".,:;|!'·":
        return "punct"
    if ch in "()[]/-":
        return "bracket"
    if ch in "=+×<>≤≥−":
        return "op"
    return "other"


def text_width(text: str, size: float, exact: bool = True) -> float:
    """About how wide ``text`` is drawn at text height ``size``, in figure units (mathtext counted by what it
    shows: ``$\\lambda_{1}$`` as two characters): :data:`ADVANCE` per character, or with ``exact`` each
    character's kind's DejaVu Sans advance (:data:`ADVANCES`: within a few percent of the drawn width). The
    width per unit of height is cached by text (frame models measure the same readouts every frame)."""
    return size * _unit_width(text) if exact else ADVANCE * size * _shown_len(text)


def _shown(text: str) -> str:
    """What of ``text`` is drawn, a character per shown character (mathtext commands as one or none)."""
    shown = _MATH_NONE.sub("", text)
    shown = _MATH_OP.sub("=", shown)
    shown = _MATH_CMD.sub("x", shown)
    return _MATH_MARKUP.sub("", shown)


@lru_cache(maxsize=8192)
def _unit_width(text: str) -> float:
    """:func:`text_width` of ``text`` at height 1 with ``exact``: the sum of its shown characters' advances."""
    return sum(ADVANCES[_kind(c)] for c in _shown(text))


@lru_cache(maxsize=8192)
def _shown_len(text: str) -> int:
    return len(_shown(text))


def _words(text: str) -> list[str]:
    """``text`` split at spaces outside ``$...$`` math."""
    words, cur, math = [], "", False
    for ch in text:
        if ch == "$":
            math = not math
        if ch == " " and not math:
            words.append(cur)
            cur = ""
        else:
            cur += ch
    words.append(cur)
    return [w for w in words if w]


def _greedy_wrap(words: list[str], size: float, room: float) -> list[str]:
    lines: list[str] = []
    for wd in words:
        if lines and text_width(lines[-1] + " " + wd, size) <= room:
            lines[-1] += " " + wd
        else:
            lines.append(wd)
    return lines


def wrap_text(text: str, size: float, room: float) -> list[str]:
    """``text`` broken at spaces (never inside ``$...$`` math) into as few lines as fit ``room`` units at text
    height ``size``, as even in width as that number of lines allows; a word longer than the room gets a line
    of its own."""
    words = _words(text)
    lines = _greedy_wrap(words, size, room)
    if 1 < len(lines) < len(words):   # balanced: the narrowest room that keeps as few lines
        total = text_width(" ".join(words), size)
        for r in np.linspace(total / len(lines), room, 12)[:-1]:
            cand = _greedy_wrap(words, size, float(r))
            if len(cand) == len(lines):
                return cand
    return lines


def fit_title(text: str, size: float, room: float, sep: str = "  ·  ") -> tuple[str, float]:
    """A title and its text height fitted to ``room``: ``size`` or smaller (:func:`fit_text_size`), its last
    ``sep``-separated parts left off while it does not fit even at :data:`TEXT_MIN`."""
    parts = text.split(sep)
    while len(parts) > 1 and text_width(sep.join(parts), TEXT_MIN) > room:
        parts.pop()
    text = sep.join(parts)
    return text, fit_text_size(text, size, room)


def fit_text_size(text: str, size: float, room: float) -> float:
    """The text height, at most ``size`` and at least :data:`TEXT_MIN`, at which ``text`` fits ``room`` units."""
    w = text_width(text, size)
    return size if w <= room else max(TEXT_MIN, size * room / w)


def fit_first(texts: list[str], size: float, room: float) -> tuple[str, float]:
    """The first of ``texts`` (a line, then shorter spellings of it) that fits ``room`` units at least at
    :data:`TEXT_MIN` (the last if none does), and its text height (:func:`fit_text_size`, at most ``size``)."""
    txt = next((t for t in texts if text_width(t, TEXT_MIN) <= room), texts[-1])
    return txt, fit_text_size(txt, size, room)


def _sci(v: float, digits: int) -> tuple[float, int]:
    """``(m, e)``: ``v = m 10^e`` with ``|m|`` in [1, 10) once rounded to ``digits`` decimals (finite, non-zero)."""
    e = int(np.floor(np.log10(abs(v))))
    m = v / 10.0**e
    if round(abs(m), digits) >= 10:
        m, e = m / 10, e + 1
    return m, e


def sci_exponent(v: float, digits: int = 2) -> int:
    """The power of ten :func:`tex_sci` writes ``v`` with (0 for 0, inf and nan)."""
    return _sci(v, digits)[1] if np.isfinite(v) and v != 0 else 0


def tex_sci(v: float, digits: int = 2) -> str:
    """``v`` in typeset scientific notation, e.g. ``$8.73 \\times 10^{-4}$`` (mathtext; plain text for inf/nan)."""
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "$0$"
    m, e = _sci(v, digits)
    return f"${m:.{digits}f} \\times 10^{{{e}}}$"


def tex_pow10(e: int) -> str:
    return f"$10^{{{int(e)}}}$"


def class_name(j: int) -> str:
    """A class as a reader numbers it: ``labels`` value ``j`` (0-based) is class ``j + 1`` of the math."""
    return f"class {int(j) + 1}"


def nice_ticks(hi: float, n: int = 4) -> list[float]:
    """Round ticks ``0, d, 2d, ... <= hi`` with at most about ``n + 1`` of them (``d`` = 1, 2, 2.5 or 5 x 10^k)."""
    if hi <= 0:
        return [0.0]
    raw = hi / max(n, 1)
    mag = 10 ** np.floor(np.log10(raw))
    d = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    return [float(k * d) for k in range(int(np.floor(hi / d + 1e-9)) + 1)]


def tick_text(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"
