"""Label outlines (``scenes.backends.glyphs``) against matplotlib's own ``TextPath`` and plain-numpy Bezier maths.

The Manim renderer draws every label from these outlines; they must be exactly the glyphs, places, kerning and
mathtext layout that matplotlib draws (renderer parity), also where readouts are laid out by swapping digits.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.path import Path as MplPath
from matplotlib.textpath import TextPath

from scenes.backends import glyphs

MATH = [r"$T_1(X)$", r"$\mathbb{R}^3$", r"$e^{-2s/N}$", r"$\frac{1}{2}\sqrt{x}$", "layer 2: $T_2(X)$",
        r"$|D^T g| / |g|$", r"$p_\ell$", r"$\lambda = 0.31$"]


def textpath_curves(text: str) -> np.ndarray:
    """matplotlib's outline of ``text`` at font size 1, as cubic curves (blank text: none; ``TextPath`` itself
    fails on a path without vertices)."""
    if not text.strip():
        return np.zeros((0, 4, 2))
    tp = TextPath((0, 0), text, size=1.0, prop=glyphs._PROP)
    return glyphs.cubics(tp.vertices, tp.codes)


def same_outline(text: str) -> None:
    got, want = glyphs.outline(text).curves, textpath_curves(text)
    assert got.shape == want.shape, (text, got.shape, want.shape)
    np.testing.assert_allclose(got, want, atol=1e-12, err_msg=text)


@pytest.mark.parametrize("text", ["H", "step      0 / 1487", "loss 1.234e-03", "layer 1:  116 / 200 of class 1",
                                  "AV To fi fl ffi", "price \\$5", "a $ b", " ", ""] + MATH)
def test_outline_is_matplotlibs(text):
    same_outline(text)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="0123456789 ./:-+eEAVTfilsptyr|()%,", min_size=1, max_size=24))
def test_outline_is_matplotlibs_for_any_text(text):
    """Random readouts, digit-heavy: the digit-swapping layout gives what laying each string out gives."""
    same_outline(text)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10**7), st.floats(1e-12, 1e3, allow_nan=False), st.integers(1, 8))
def test_readouts_that_change_every_frame(step, loss, cls):
    for text in (f"step {step:>7d} / 10000000", f"loss {loss:.3e}", f"{step % 997:4d} / 997 of class {cls}"):
        same_outline(text)


def bezier(ctrl: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Points ``(len(t), 2)`` of the Bezier curve with control points ``ctrl: (k, 2)`` (de Casteljau)."""
    pts = np.repeat(ctrl[None], len(t), axis=0).astype(float)
    while pts.shape[1] > 1:
        pts = (1 - t)[:, None, None] * pts[:, :-1] + t[:, None, None] * pts[:, 1:]
    return pts[:, 0]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(-50, 50)), min_size=3, max_size=9))
def test_cubics_trace_the_same_curve(pts):
    """A path of a line, a quadratic and (if there are points left) more quadratics: each cubic traces the
    segment it replaces, and the contour is closed back to its start."""
    v = np.array(pts, dtype=float)
    n_quad = (len(v) - 2) // 2
    codes = [MplPath.MOVETO, MplPath.LINETO] + [MplPath.CURVE3] * (2 * n_quad)
    v = v[: len(codes)]
    cub = glyphs.cubics(np.r_[v, [[0.0, 0.0]]], np.r_[codes, MplPath.CLOSEPOLY])
    t = np.linspace(0, 1, 11)
    np.testing.assert_allclose(bezier(cub[0], t), v[0] + t[:, None] * (v[1] - v[0]), atol=1e-9)
    for k in range(n_quad):
        p0, q, p1 = v[1 + 2 * k], v[2 + 2 * k], v[3 + 2 * k]
        np.testing.assert_allclose(bezier(cub[1 + k], t), bezier(np.array([p0, q, p1]), t), atol=1e-9)
    for a, b in zip(cub[:-1], cub[1:], strict=True):          # one contour: each curve starts where one ends
        np.testing.assert_array_equal(a[-1], b[0])
    np.testing.assert_allclose(cub[-1][-1], v[0])              # closed back to its start


def test_parse_follows_matplotlib():
    assert glyphs.parse("$x$") == ("$x$", True)
    assert glyphs.parse("a $ b") == ("a $ b", False)          # one dollar: plain text
    assert glyphs.parse("\\$5 and \\$6") == ("$5 and $6", False)


@pytest.mark.parametrize("ha", ["left", "center", "right"])
@pytest.mark.parametrize("va", ["bottom", "center", "top"])
def test_placed_anchors_by_ink_and_cap_height(ha, va):
    size, x, y = 0.3, 4.0, 2.0
    c = glyphs.placed("HHH", x, y, size, ha, va).reshape(-1, 2)
    x0, x1, y0, y1 = c[:, 0].min(), c[:, 0].max(), c[:, 1].min(), c[:, 1].max()
    assert y1 - y0 == pytest.approx(size)                      # text height = the height of H
    assert {"left": x0, "center": (x0 + x1) / 2, "right": x1}[ha] == pytest.approx(x)
    assert {"bottom": y0, "center": (y0 + y1) / 2, "top": y1}[va] == pytest.approx(y)


@pytest.mark.parametrize("text", ["  marker size", "   +3", " x"])
def test_leading_spaces_indent_as_in_matplotlib(text):
    """A left-aligned label's leading spaces move its ink right by their advance, as matplotlib lays it out
    (the key's indented lines); the unindented text is anchored by its ink as before."""
    size = 0.3
    em = size / glyphs.cap_height()
    want = (textpath_curves(text)[..., 0].min() - textpath_curves(text.lstrip())[..., 0].min()) * em
    got = glyphs.placed(text, 1.0, 2.0, size)[..., 0].min() - glyphs.placed(text.lstrip(), 1.0, 2.0, size)[..., 0].min()
    assert want > 0.05 * size
    assert got == pytest.approx(want, abs=1e-9)


def test_math_is_typeset_not_plain():
    """``$T_1(X)$`` sets the 1 lowered and smaller, unlike the plain string ``T_1(X)``."""
    math, plain = glyphs.outline("$T_1(X)$"), glyphs.outline("T_1(X)")
    assert math.y0 < -0.1 and plain.curves.shape != math.curves.shape
    assert (math.x1 - math.x0) < (plain.x1 - plain.x0)


@pytest.mark.parametrize("text", [r"$a^$", r"$\foo$ of x"])
def test_bad_mathtext_is_drawn_as_its_characters(text):
    """matplotlib refuses it; the outline is the plain string, dollars included (what ``\\$`` spells)."""
    with pytest.raises(ValueError):
        TextPath((0, 0), text, size=1.0, prop=glyphs._PROP)
    np.testing.assert_allclose(glyphs.outline(text).curves, textpath_curves(text.replace("$", r"\$")), atol=1e-12)
