"""Mathtext readouts laid out without the grammar: matplotlib's own node builders, driven by a small tokenizer.

A readout such as ``loss $1.91 \\times 10^{-3}$`` or ``contraction rate $\\lambda_{1} = 0.086$`` is new almost
every frame, and matplotlib's mathtext spends ~80% of a parse matching its pyparsing grammar; the boxes it then
builds (``Char``, ``Hlist``, sub/superscripts) and ships are cheap. :func:`parse` reads strings of a small
subset of mathtext with a hand-written tokenizer and calls the parse actions of matplotlib's own
``_mathtext.Parser`` (``non_math``, ``symbol``, ``start_group``/``group``/``end_group``, ``subsuper``, ``math``,
``main``) in the order, with the arguments (string, location, tokens) and on the state stack that the grammar
would give them, then ships the box as ``MathTextParser.parse`` does: the result is the same ``VectorParse``,
glyph for glyph and float for float (``tests/test_fast_mathtext.py`` compares them over random strings of the
subset). Anything outside the subset returns ``None`` and goes through matplotlib unchanged.

The subset, inside ``$...$``: single characters ``[A-Za-z0-9.,:;=+-*/<>()[]|]``, the named symbols of
:data:`NAMED`, groups ``{...}`` (also opened by ``\\mathbf{``, ``\\mathrm{`` or ``\\mathbb{``),
sub- and superscripts ``_`` / ``^`` of a symbol or group, the accents of :data:`ACCENTS` over a placeable
(``\\dot\\theta``), the spaces of :data:`SPACES` (``\\,``) and plain spaces; outside ``$``: any text
without ``\\``. No other commands (``\\frac``, ``\\widehat``, ``\\quad``), primes or escaped dollars.
"""

from __future__ import annotations

import os
import types
from collections import OrderedDict

import matplotlib as mpl
from matplotlib import _mathtext
from matplotlib.ft2font import LoadFlags
from matplotlib.mathtext import MathTextParser

# named symbols handled here: plain symbols of the grammar (none is an accent, function, font or space command)
NAMED = frozenset(r"""\alpha \beta \gamma \delta \epsilon \varepsilon \zeta \eta \theta \vartheta \iota \kappa
\lambda \mu \nu \xi \pi \rho \sigma \tau \upsilon \phi \varphi \chi \psi \omega \Gamma \Delta \Theta \Lambda \Xi
\Pi \Sigma \Upsilon \Phi \Psi \Omega \times \cdot \pm \mp \leq \geq \neq \approx \propto \infty \partial \nabla
\ell \to \in \top \cdots \|""".split())
SINGLE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;=+-*/<>()[]|")
# accents read here (``\dot\theta``: the flows' caption): the narrow ones of the grammar named by letters
ACCENTS = frozenset("dot ddot hat bar tilde vec".split())
# spaces read here (``\lambda\, G``: the perturbation caption): the grammar's spaces of one punctuation mark
SPACES = (r"\,", r"\/", r"\>", r"\:", r"\;", r"\!")
# font commands opening a group (``\mathbf{...}``: the count badges' bold "+k"; ``\mathbb{R}``: the captions' R^M)
FONTS = ("bf", "rm", "bb")


class _Unsupported(Exception):
    """The string is outside the subset: matplotlib parses it."""


def _segments(s: str) -> list[str] | None:
    """``s`` split as the grammar's ``main`` splits it: non-math, ``$math$``, non-math, ... (the math segments
    with their dollars); ``None`` outside the subset (an unclosed ``$``, a backslash outside math)."""
    out, i, start, n = [], 0, 0, len(s)
    while True:
        j = s.find("$", i)
        if j < 0:
            if "\\" in s[start:]:
                return None
            out.append(s[start:])
            return out
        if "\\" in s[start:j]:
            return None
        out.append(s[start:j])
        k = j + 1
        while k < n and s[k] != "$":
            k += 2 if s[k] == "\\" else 1
        if k >= n:
            return None
        out.append(s[j:k + 1])
        i = start = k + 1


class _Math:
    """Tokens of one math segment ``m`` (without its dollars) through the parser's actions."""

    def __init__(self, parser, m: str):
        self.p, self.m, self.i = parser, m, 0

    def skip(self) -> None:
        while self.i < len(self.m) and self.m[self.i] == " ":
            self.i += 1

    def symbol(self):
        """A placeable that is a symbol: ``[node]`` as the ``symbol`` action returns it, or ``None``."""
        m, i = self.m, self.i
        if i >= len(m):
            return None
        if m[i] == "\\":
            if m[i + 1:i + 2] == "|":   # \| (a double bar): the one named symbol that is not letters
                j = i + 2
            else:
                j = i + 1
                while j < len(m) and m[j].isalpha():
                    j += 1
            name = m[i:j]
            if name not in NAMED:
                raise _Unsupported(name)
            self.i = j
            return self.p.symbol(m, i, {"sym": name})
        if m[i] in SINGLE:
            self.i = i + 1
            return self.p.symbol(m, i, {"sym": m[i]})
        return None

    def placeable(self):
        """``[node]`` of a symbol or a group at the current place (after spaces), or ``None``. A group may open
        with a font command of :data:`FONTS` (``\\mathbf{+14}``), as the grammar's ``start_group`` reads it."""
        self.skip()
        accent = self.accent_name()
        if accent is not None:   # the grammar's ``accent``: the name, then a placeable (its ``sym``)
            self.i += 1 + len(accent)
            sym = self.placeable()
            if sym is None or len(sym) != 1:
                raise _Unsupported("accent without one placeable")
            return [self.p.accent({"accent": accent, "sym": sym[0]})]
        font = next((f for f in FONTS if self.m.startswith(f"\\math{f}{{", self.i)), None)
        if font is not None or (self.i < len(self.m) and self.m[self.i] == "{"):
            self.i += 1 if font is None else len(f"\\math{font}{{")
            self.p.start_group({"font": font} if font else {})
            toks = self.tokens(group=True)
            if self.i >= len(self.m) or self.m[self.i] != "}":
                raise _Unsupported("unclosed group")
            self.i += 1
            self.p.end_group()
            return self.p.group({"group": toks} if toks else {})
        return self.symbol()

    def accent_name(self) -> str | None:
        """The accent of :data:`ACCENTS` named at the current place (``\\dot`` not followed by a letter), or
        ``None``."""
        m, i = self.m, self.i
        if not m.startswith("\\", i):
            return None
        j = i + 1
        while j < len(m) and m[j].isalpha():
            j += 1
        return m[i + 1:j] if m[i + 1:j] in ACCENTS else None

    def token(self) -> list:
        """One ``subsuper`` token: a placeable with its scripts (what the action returns, as a list)."""
        self.skip()
        loc = self.i
        nucleus = self.placeable()
        if nucleus is None and (self.i >= len(self.m) or self.m[self.i] not in "^_"):
            raise _Unsupported(self.m[self.i:self.i + 1])
        scripts = []
        while True:
            self.skip()
            if self.i < len(self.m) and self.m[self.i] in "^_":
                op = self.m[self.i]
                self.i += 1
                arg = self.placeable()
                if arg is None:
                    raise _Unsupported("script without a placeable")
                scripts += [op, *arg]
            else:
                break
        if self.i < len(self.m) and self.m[self.i] == "'":
            raise _Unsupported("prime")
        toks = {}
        if nucleus is not None:
            if len(nucleus) != 1:
                raise _Unsupported("nucleus")
            toks["nucleus"] = nucleus[0]
        if scripts:
            toks["subsuper"] = scripts
        got = self.p.subsuper(self.m, loc, toks)
        return got if isinstance(got, list) else [got]

    def tokens(self, group: bool = False) -> list:
        out = []
        while True:
            self.skip()
            if self.i >= len(self.m) or (group and self.m[self.i] == "}"):
                return out
            if self.m[self.i] == "}":
                raise _Unsupported("}")
            space = next((sp for sp in SPACES if self.m.startswith(sp, self.i)), None)
            if space is not None:    # the grammar's ``space``: a token of its own (tried before ``subsuper``)
                self.i += len(space)
                out += self.p.space({"space": space})
                continue
            out += self.token()


def _box(parser, s: str, fontset, fontsize: float, dpi: float):
    """The box ``parser.parse(s, fontset, fontsize, dpi)`` returns, built without the grammar; ``None`` outside
    the subset."""
    segs = _segments(s)
    if segs is None:
        return None
    parser._state_stack = [_mathtext.ParserState(fontset, "default", "rm", fontsize, dpi)]
    parser._em_width_cache = {}
    parser._needs_space_after_subsuper = False
    try:
        toks = []
        for k, seg in enumerate(segs):
            if k % 2 == 0:
                toks += parser.non_math([seg])
            else:
                mth = _Math(parser, seg[1:-1])
                inner = mth.tokens()
                if not inner:                     # the grammar's ``math`` is OneOrMore(token)
                    return None
                toks += parser.math(_List(inner))
        return parser.main(_List(toks))[0]
    except Exception:   # outside the subset, or an action that fails (matplotlib then says why, as it would)
        return None
    finally:
        parser._state_stack = []
        parser._needs_space_after_subsuper = False
        parser._em_width_cache = {}


class _List(list):
    """A token list with the ``as_list`` of pyparsing's results."""

    def as_list(self) -> list:
        return list(self)


_FONTSETS: OrderedDict[tuple, object] = OrderedDict()
if hasattr(os, "register_at_fork"):
    # a forked process must not read font files through its parent's FreeType fonts (they share the file
    # offset): matplotlib clears its own font cache there for the same reason
    os.register_at_fork(after_in_child=_FONTSETS.clear)


class _Infos:
    """A fontset's ``_get_info`` (glyph look-up: font, metrics, FreeType glyph) kept across strings, with the
    FreeType state a new fontset leaves: a new fontset's per-instance cache misses on the first look-up of each
    glyph in a string, and that miss sets the font's size (``font.set_size``) before loading the glyph; kerning is
    then read at whatever size the font was last set to. So the first look-up of a glyph in each string sets the
    font's size as that miss would (the glyph itself, loaded right after a size is set, is the same every time:
    it is kept). ``begin()`` starts a string."""

    def __init__(self, fonts, size: int = 16384):
        self.fonts, self.size = fonts, size
        self.get = types.MethodType(type(fonts)._get_info, fonts)
        self.cache: dict[tuple, list] = {}     # key -> [info, the string it was last looked up in]
        self.string = 0

    def begin(self) -> None:
        self.string += 1

    def __call__(self, *key):
        got = self.cache.get(key)
        if got is None:
            if len(self.cache) > self.size:
                self.cache.clear()
            got = self.cache[key] = [self.get(*key), self.string]
        elif got[1] != self.string:   # its first look-up in this string: the miss would set the size
            got[1] = self.string
            got[0].font.set_size(key[3], key[4])
        return got[0]


def _fontset(prop, load_glyph_flags):
    """The fontset ``MathTextParser`` builds for ``prop`` (a copy), built once (building one costs ~50 font
    look-ups) and handed out as a new one behaves: its glyph look-ups (:class:`_Infos`) call FreeType in the
    same sequence as a new fontset for what matters (kerning is read at whatever size the font was last set
    to, and a glyph cached from an earlier string would skip that setting)."""
    key = (prop, load_glyph_flags)
    fs = _FONTSETS.get(key)
    if fs is None:
        cls = MathTextParser._font_type_mapping.get(prop.get_math_fontfamily())
        if cls is None:
            return None
        fs = _FONTSETS[key] = cls(prop, load_glyph_flags)
        for f in (fs, getattr(fs, "_fallback_font", None)):
            if f is not None:
                f._get_info = _Infos(f)
        if len(_FONTSETS) > 64:
            _FONTSETS.popitem(last=False)
    for f in (fs, getattr(fs, "_fallback_font", None)):   # a new string: every glyph's first look-up sets its size
        if f is not None:
            f._get_info.begin()
    return fs


def parse(s: str, dpi: float, prop, load_glyph_flags):
    """``MathTextParser('path')._parse_cached(s, dpi, prop, antialiased, load_glyph_flags)``'s result
    (``prop`` a ``FontProperties`` copy), or ``None`` when ``s`` is outside the subset."""
    fontset = _fontset(prop, load_glyph_flags)
    if fontset is None:
        return None
    if MathTextParser._parser is None:
        MathTextParser._parser = _mathtext.Parser()
    box = _box(MathTextParser._parser, s, fontset, prop.get_size_in_points(), dpi)
    if box is None:
        return None
    return _mathtext.ship(box).to_vector()


class FastMathTextParser:
    """Stands in for a renderer's ``MathTextParser('path')``: the same results, strings of the subset laid out by
    :func:`parse`, the rest by matplotlib; both cached by everything the result depends on (least recently used
    evicted). ``fast``/``slow`` count the layouts each way."""

    def __init__(self, original: MathTextParser, size: int = 4096):
        self.original, self.size = original, size
        self.results: OrderedDict[tuple, object] = OrderedDict()
        self.fast = self.slow = 0

    @classmethod
    def install(cls, renderer) -> FastMathTextParser | None:
        """Replace ``renderer.mathtext_parser`` (Agg: a vector ``MathTextParser``) with one of these."""
        orig = getattr(renderer, "mathtext_parser", None)
        if not isinstance(orig, MathTextParser) or orig._output_type != "vector":
            return None
        renderer.mathtext_parser = cls(orig)
        return renderer.mathtext_parser

    def parse(self, s, dpi=72, prop=None, *, antialiased=None):
        if prop is None:
            return self.original.parse(s, dpi, prop, antialiased=antialiased)
        prop = prop.copy()
        antialiased = mpl._val_or_rc(antialiased, "text.antialiased")
        flags = LoadFlags.NO_HINTING   # MathTextParser.parse's for vector output
        key = (s, dpi, prop, antialiased, flags)
        got = self.results.get(key)
        if got is not None:
            self.results.move_to_end(key)
            return got
        got = parse(s, dpi, prop, flags)
        if got is None:
            self.slow += 1
            got = self.original.parse(s, dpi, prop, antialiased=antialiased)
        else:
            self.fast += 1
        self.results[key] = got
        if len(self.results) > self.size:
            self.results.popitem(last=False)
        return got

