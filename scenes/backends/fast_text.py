"""Plain text laid out from per-glyph tables: the metrics and the glyph run matplotlib's Agg text path computes,
without FreeType laying out each new string.

A readout such as ``step 1234 / 1487`` is a string never seen before in almost every frame, and Agg's text path
lays it out twice through FreeType: ``FT2Font.set_text`` for its metrics (``get_text_width_height_descent``:
the advance, height and descent that ``Text._get_layout`` places it by) and ``FT2Font._layout`` for the glyph
run that ``draw_text`` blends; both shape the string (matplotlib 3.11: libraqm / HarfBuzz) and load and hint
every glyph again, ~0.3 ms a string. For a string of one script run without ligatures both are pair-wise: each
glyph is placed at the previous one's place plus the previous one's hinted advance as the pair's kerning
adjusts it (fractional: ``-A`` steps 5.625 px at 12.3 pt, not the 6 px of the hyphen's advance); the width is
the last place plus the last advance, the height ``max yMax - min yMin`` and the descent ``-min yMin`` of the
glyphs' extents (their boxes move along x only).

The tables are read from matplotlib's own calls and nothing else: a character's advance and extents from
``set_text`` of that character alone, a pair's step from ``set_text`` of the pair (which places glyphs where
``_layout`` does) and from ``_layout`` of the pair (checked to be the two characters' own glyphs on the
baseline); a string is laid out by adding them up (the same 26.6 integers, the same floats). Only strings of
characters of the font's own (no fallback font) are handled, of the letters, digits, punctuation and symbols
of Basic Latin to Latin Extended-B and the plain space (one script run: a string mixing scripts is shaped run
by run, and no kerning crosses a run's end); a pair that is not two glyphs in either call (the ligatures
``ff``, ``fi``, ``fl``) sends every string containing it to matplotlib, as do marks, invisible characters and
other scripts (``tests/test_fast_text.py`` compares metrics, runs and drawn pixels with matplotlib's over random
strings, sizes, dpis and both themes).
"""

from __future__ import annotations

import unicodedata

import numpy as np
from matplotlib.backends.backend_agg import get_hinting_flag

_CATEGORIES = ("L", "N", "P", "S")
# Latin script and the common characters of Basic Latin to Latin Extended-B: one script run for libraqm (a string
# mixing scripts is shaped run by run, and no kerning crosses a run's end, so pairs would not add up)
_LATIN_END = 0x250


class _Tables:
    """One font at one size, dpi and load flags: ``chars``: character -> ``(glyph index, advance, yMin, yMax)``
    (26.6 integers, or ``None``: not handled); ``kern``/``step``: pair -> ``set_text``'s kerning (26.6, nan: not
    handled) / ``_layout``'s step from the first glyph to the second (px, ``None``: not handled)."""

    def __init__(self, font, size: float, dpi: float, flags):
        self.font, self.size, self.dpi, self.flags = font, size, dpi, flags
        self.chars: dict[str, tuple | None] = {}
        self.kern: dict[str, float] = {}
        self.step: dict[str, float | None] = {}

    def _prepare(self) -> None:
        self.font.clear()
        self.font.set_size(self.size, self.dpi)

    def char(self, c: str) -> tuple | None:
        got = self.chars.get(c, False)
        if got is not False:
            return got
        got = None
        if ((c == " " or (ord(c) < _LATIN_END and unicodedata.category(c)[0] in _CATEGORIES))
                and self.font.get_char_index(ord(c))):
            self._prepare()
            self.font.set_text(c, 0.0, flags=self.flags)
            (w, h), d = self.font.get_width_height(), self.font.get_descent()
            got = (self.font.get_char_index(ord(c)), w, -d, h - d)
        self.chars[c] = got
        return got

    def pair(self, ab: str) -> tuple[float, float | None]:
        """``(set_text's kerning, _layout's step)`` of two handled characters."""
        k = self.kern.get(ab)
        if k is None:
            self._prepare()
            xy = np.asarray(self.font.set_text(ab, 0.0, flags=self.flags), dtype=float).reshape(-1, 2)
            two = xy.shape == (2, 2) and xy[0, 0] == 0 and not xy[:, 1].any()
            k = self.kern[ab] = float(xy[1, 0]) - self.chars[ab[0]][1] if two else np.nan
            self._prepare()
            items = self.font._layout(ab, flags=self.flags)
            ok = (len(items) == 2 and all(it.ft_object is self.font and it.y == 0 for it in items)
                  and [it.glyph_index for it in items] == [self.chars[ab[0]][0], self.chars[ab[1]][0]]
                  and items[0].x == 0)
            self.step[ab] = items[1].x - items[0].x if ok else None
        return k, self.step[ab]


class FastPlainText:
    """Installed on an Agg renderer: ``get_text_width_height_descent`` of plain text and :meth:`run` (the glyph run
    ``draw_text`` blends) from :class:`_Tables`, anything not handled through matplotlib. ``fast``/``slow`` count
    strings."""

    def __init__(self, renderer):
        self.renderer = renderer
        self.original = renderer.get_text_width_height_descent
        self.tables: dict[tuple, _Tables] = {}
        self.by_prop: dict[tuple, _Tables] = {}
        self.fast = self.slow = 0

    @classmethod
    def install(cls, renderer) -> FastPlainText | None:
        """Replace ``renderer.get_text_width_height_descent`` (an Agg renderer of matplotlib's FT2Font text path
        with ``_layout``; else ``None``)."""
        if not hasattr(renderer, "_prepare_font") or not hasattr(renderer, "get_text_width_height_descent"):
            return None
        probe = renderer._prepare_font(_default_prop())
        if not hasattr(probe, "_layout") or not hasattr(probe, "set_text"):
            return None
        fast = cls(renderer)
        renderer.get_text_width_height_descent = fast.get_text_width_height_descent
        return fast

    def _tables(self, prop) -> _Tables:
        """The tables of ``renderer._prepare_font(prop)`` at ``prop``'s size: looked up by the properties'
        content (a snapshot is kept: a label's properties change in place), the font prepared only the first
        time (its size and state are set again by whatever uses it next: the glyph loop, mathtext's look-ups,
        matplotlib's own text path)."""
        dpi, flags = self.renderer.dpi, get_hinting_flag()
        t = self.by_prop.get((prop, dpi, flags))
        if t is None:
            font = self.renderer._prepare_font(prop)
            size = prop.get_size_in_points()
            key = (font, size, dpi, flags)
            t = self.tables.get(key)
            if t is None:
                if len(self.tables) > 256:
                    self.tables.clear()
                    self.by_prop.clear()
                t = self.tables[key] = _Tables(font, size, dpi, flags)
            if len(self.by_prop) > 1024:
                self.by_prop.clear()
            self.by_prop[(prop.copy(), dpi, flags)] = t
        return t

    def font(self, prop):
        """The font object ``renderer._prepare_font(prop)`` returns (without preparing it again)."""
        return self._tables(prop).font

    def _glyphs(self, t: _Tables, s: str) -> list | None:
        if not s:
            return None
        out = []
        for c in s:
            g = t.char(c)
            if g is None:
                return None
            out.append(g)
        return out

    def metrics(self, s: str, prop) -> tuple[float, float, float] | None:
        """``get_text_width_height_descent(s, prop, False)`` (px), ``None`` if not handled."""
        t = self._tables(prop)
        gs = self._glyphs(t, s)
        if gs is None:
            return None
        pen, lo, hi = 0.0, gs[0][2], gs[0][3]
        for i in range(1, len(gs)):
            k, _ = t.pair(s[i - 1:i + 1])
            if k != k:   # nan: the pair is not two glyphs in set_text
                return None
            pen += gs[i - 1][1] + k
            g = gs[i]
            if g[2] < lo:
                lo = g[2]
            if g[3] > hi:
                hi = g[3]
        w = pen + gs[-1][1]
        return w / 64.0, (hi - lo) / 64.0, -lo / 64.0

    def run(self, s: str, prop) -> tuple[object, list[tuple]] | None:
        """``(font, [(ft_object, glyph index, x, y), ...])`` as ``font._layout(s, flags=get_hinting_flag())``
        gives it for ``renderer._prepare_font(prop)``; ``None`` if not handled."""
        t = self._tables(prop)
        gs = self._glyphs(t, s)
        if gs is None:
            return None
        font = t.font
        x = 0.0
        out = [(font, gs[0][0], 0.0, 0.0)]
        for i in range(1, len(gs)):
            _, st = t.pair(s[i - 1:i + 1])
            if st is None:
                return None
            x += st
            out.append((font, gs[i][0], x, 0.0))
        return font, out

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath is False:
            got = self.metrics(s, prop)
            if got is not None:
                self.fast += 1
                return got
        self.slow += 1
        return self.original(s, prop, ismath)


def _default_prop():
    from matplotlib.font_manager import FontProperties  # noqa: PLC0415

    return FontProperties(family="DejaVu Sans", size=10)
