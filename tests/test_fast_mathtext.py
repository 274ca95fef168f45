"""The grammar-free mathtext layout gives matplotlib's own result, glyph for glyph and float for float."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.font_manager import FontProperties  # noqa: E402
from matplotlib.ft2font import LoadFlags  # noqa: E402
from matplotlib.mathtext import MathTextParser  # noqa: E402

from scenes.backends import fast_mathtext as fm  # noqa: E402


def reference(s: str, dpi: float, prop: FontProperties):
    """matplotlib's parse of ``s`` (a new parser instance: never a cached result)."""
    return MathTextParser("path")._parse_cached(s, dpi, prop.copy(), True, LoadFlags.NO_HINTING)


def same(a, b) -> bool:
    return (a.width, a.height, a.depth) == (b.width, b.height, b.depth) and list(a.glyphs) == list(b.glyphs) \
        and list(a.rects) == list(b.rects) and repr(a) == repr(b)


READOUTS = [
    "loss $2.779 \\times 10^{-2}$", "loss $1.91 \\times 10^{-3}$", "loss $0$", "$8.73 \\times 10^{4}$",
    "contraction rate $\\lambda_{1} = 0.086$", "contraction rate $\\lambda_{3} = -0.6$",
    "$\\lambda_{2}$: none left to contract", "layer 1: $T_{1}(X)$", "input $X$", "$X$", "$10^{-3}$",
    "layer 2: 116 / 200 of class 1   $\\lambda$ 0.52", "$\\delta_P = 1.2$, $x^2 + y_1^2$", "$-x$", "$a = -b$",
    "$(a + b) \\cdot c$", "$1.5, 2.5$", "$\\lambda_{\\Delta}^{2}$", "$a_{b_{c}}$", "plain text, no math",
    "102 $\\mathbf{+14}$", "7 $\\mathbf{+1}$", "$\\mathrm{d}x$", "$x_{\\mathbf{ab}}^{2}$", "$\\mathbf{}$",
    "$Q = 3$ clustered classes in $\\mathbb{R}^{3}$, 600 points", "$\\mathbb{RN}_{\\mathbb{}}$",
    "$|D^\\top g|/|g|$ = 0.324  trapped", "$\\|\\nabla L\\|$ = $1.7 \\times 10^{-9}$  (hidden $1.5 \\times 10^{-9}$)",
    "$|p_\\ell - p_\\ell^{\\mathrm{constr}}|$: 0.31  0.33", "$X = T_0(X) \\to \\cdots \\to T_L(X)$", "$|-x| + |a|-b$",
    "standard: $\\dot\\theta = -D^\\top \\nabla_x C$      adapted: $\\dot\\theta = -D^+ \\nabla_x C$",
    "every parameter tensor $\\theta \\to \\theta + \\lambda\\, G / \\|G\\|$,  ", "$\\hat{x}_1^2 \\; \\vec v$",
    "$\\dot{\\mathbf{x}} = \\ddot x\\!\\:y\\>z\\/w$", "$\\bar\\tilde a$",
]


@pytest.mark.parametrize("text", READOUTS)
@pytest.mark.parametrize("size", [11.0, 20.8, 31.7])
def test_readouts_match_matplotlib(text, size):
    prop = FontProperties(family="DejaVu Sans", size=size)
    got = fm.parse(text, 100, prop.copy(), LoadFlags.NO_HINTING)
    assert got is not None, text
    assert same(got, reference(text, 100, prop))


@pytest.mark.parametrize("text", [
    "$\\mathit{lr}$", "$\\frac{1}{2}$", "$\\mathbf x$", "$x'$", "$\\sqrt{2}$", "a \\$ b", "$unclosed", "$\\widehat{x}$",
    "$\\sin x$", "$a\\quad b$", "$\\left(x\\right)$", "$\\dotx$", "$\\dot$", "$x^\\,$", "$$", "$x}$", "$é$",
])
def test_outside_the_subset_is_left_to_matplotlib(text):
    prop = FontProperties(family="DejaVu Sans", size=12)
    assert fm.parse(text, 100, prop, LoadFlags.NO_HINTING) is None


_single = st.sampled_from(sorted(fm.SINGLE - set("()[]")))
_named = st.sampled_from(sorted(fm.NAMED))
_atom = st.one_of(_single, _named.map(lambda n: n + " "))


def _tokens(depth: int):
    opens = st.sampled_from(["{", "\\mathbf{", "\\mathrm{", "\\mathbb{"])
    base = _atom if depth == 0 else st.one_of(_atom, st.tuples(opens, _tokens(depth - 1)).map(
        lambda t: t[0] + t[1] + "}"))
    accented = st.tuples(st.sampled_from(sorted(fm.ACCENTS)), base).map(lambda t: f"\\{t[0]} {t[1]}")
    base = st.one_of(base, accented)
    script = st.tuples(base, st.sampled_from(["", "^", "_", "^_", "_^"]), st.lists(base, min_size=2, max_size=2))
    token = script.map(lambda t: t[0] + "".join(op + arg for op, arg in zip(t[1], t[2], strict=False)))
    return st.lists(st.one_of(token, st.just(" "), st.sampled_from(fm.SPACES)), min_size=1, max_size=6).map("".join)


_text = st.text(alphabet="abcXYZ019 :,./=()-", max_size=8)


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(st.tuples(_text, _tokens(1)), min_size=1, max_size=3), tail=_text,
       size=st.floats(6.0, 40.0), dpi=st.sampled_from([72, 100, 150]))
def test_random_strings_match_matplotlib(pieces, tail, size, dpi):
    text = "".join(f"{a}${m}$" for a, m in pieces) + tail
    prop = FontProperties(family="DejaVu Sans", size=size)
    try:
        ref = reference(text, dpi, prop)
    except ValueError:          # matplotlib rejects it (e.g. a double superscript): so must the fast path
        assert fm.parse(text, dpi, prop.copy(), LoadFlags.NO_HINTING) is None
        return
    got = fm.parse(text, dpi, prop.copy(), LoadFlags.NO_HINTING)
    if got is not None:         # None: outside the subset (matplotlib lays it out)
        assert same(got, ref), text


@pytest.mark.parametrize("text", ["$****^*$Y:", "$a*^*$", "$x^{2} = -y_{1}$"])
def test_same_after_other_strings(text):
    """A fontset reused across strings gives each string its own layout (kerning reads the font's current
    size, which a glyph cached from an earlier string would leave unset)."""
    for size in (6.0, 14.0, 6.0):
        for other in ("$x_{1}^{2}$", "loss $1.5 \\times 10^{-2}$"):
            fm.parse(other, 150, FontProperties(family="DejaVu Sans", size=size), LoadFlags.NO_HINTING)
        prop = FontProperties(family="DejaVu Sans", size=size)
        assert same(fm.parse(text, 150, prop.copy(), LoadFlags.NO_HINTING), reference(text, 150, prop))


def test_installed_parser_caches_and_counts():
    from matplotlib.backends.backend_agg import RendererAgg  # noqa: PLC0415

    r = RendererAgg(200, 100, 100)
    p = fm.FastMathTextParser.install(r)
    assert p is not None and r.mathtext_parser is p
    prop = FontProperties(family="DejaVu Sans", size=12)
    a = r.mathtext_parser.parse("loss $1.5 \\times 10^{-2}$", 100, prop)
    b = r.mathtext_parser.parse("loss $1.5 \\times 10^{-2}$", 100, prop)
    c = r.mathtext_parser.parse("$\\mathit{lr}$", 100, prop)
    assert a is b and (p.fast, p.slow) == (1, 1)
    assert same(a, reference("loss $1.5 \\times 10^{-2}$", 100, prop))
    assert same(c, reference("$\\mathit{lr}$", 100, prop))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_a_forked_process_builds_its_own_fontsets():
    """Fontsets hold FreeType fonts that read their files through the process's descriptor: a forked process
    (a ``--jobs`` worker) must not use its parent's."""
    fm.parse("$x_{1}$", 100, FontProperties(family="DejaVu Sans", size=12), LoadFlags.NO_HINTING)
    assert fm._FONTSETS
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child reports how many fontsets it inherited
        os.write(w, bytes([min(len(fm._FONTSETS), 255)]))
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(r, 1) == b"\x00"
    os.close(r)
    os.close(w)
