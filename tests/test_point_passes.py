"""The frame models' fast per-point passes against plain reference computations (hypothesis over sizes, spreads,
repeats and non-finite points): ``_unique_points`` keeps the first of each (x, y to 1e-6, colour) in order,
``badge_anchor`` picks the corner covering the fewest points, ``text_ink`` is the uncached search."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from scenes.clips.base import THEMES, Rect, _unique_points, badge_anchor, class_color, contrast, mix, text_ink


def _unique_reference(xy: np.ndarray, color: np.ndarray) -> np.ndarray:
    """Indices of the first point of each (rint(x * 1e6), rint(y * 1e6), colour), in order (finite inputs)."""
    seen, keep = set(), []
    for i, (x, y) in enumerate(np.asarray(xy, dtype=float)):
        k = (float(np.rint(x * 1e6)), float(np.rint(y * 1e6)), int(color[i]))
        if k not in seen:
            seen.add(k)
            keep.append(i)
    return np.array(keep, dtype=int)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(0, 2**31 - 1), st.sampled_from([1e-7, 1e-3, 1.0, 50.0]),
       st.integers(1, 12), st.floats(0.0, 0.9), st.sampled_from([np.float64, np.float32]))
def test_unique_points_keeps_the_first_of_each_repeat(n, seed, spread, n_colors, rep, dtype):
    rng = np.random.default_rng(seed)
    xy = (rng.normal(size=(n, 2)) * spread).astype(dtype)
    color = rng.integers(0, n_colors, n)
    if n > 1:   # exact repeats, as collapsed points on their base point
        src = rng.integers(0, n, int(rep * n))
        dst = rng.integers(0, n, len(src))
        xy[dst], color[dst] = xy[src], color[src]
    got_xy, got_c = _unique_points(xy, color)
    keep = _unique_reference(xy, color) if n >= 2 else np.arange(n)
    assert got_xy.dtype == xy.dtype and got_xy.shape == (len(keep), 2)
    assert np.array_equal(got_xy, xy[keep]) and np.array_equal(got_c, color[keep])


def _anchor_reference(p, view, r, w, h, avoid):
    """``badge_anchor`` with ``avoid`` as a brute-force count over every finite point."""
    a = avoid[np.isfinite(avoid).all(axis=1)]
    best, best_n = None, None
    for yy in (p[1] + r + 0.02 + h / 2, p[1] - r - 0.02 - h / 2):
        for side in ("left", "right"):
            xx = p[0] + r + 0.05 if side == "left" else p[0] - r - 0.05
            x0 = xx if side == "left" else xx - w
            if x0 < view.x or x0 + w > view.x + view.w or yy - h / 2 < view.y or yy + h / 2 > view.y + view.h:
                continue
            cnt = sum(1 for u, v in a if x0 - 0.04 < u < x0 + w + 0.04 and abs(v - yy) < h / 2 + 0.04)
            if best_n is None or cnt < best_n:
                best, best_n = (float(xx), float(yy), side), cnt
    return best if best is not None else badge_anchor(p, view, r, w=w, h=h)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 300), st.booleans())
def test_badge_anchor_counts_as_brute_force(seed, n, bad):
    rng = np.random.default_rng(seed)
    view = Rect(*rng.uniform(0, 4, 2), *rng.uniform(1, 5, 2))
    p = np.array([rng.uniform(view.x - 0.3, view.x + view.w + 0.3), rng.uniform(view.y - 0.3, view.y + view.h + 0.3)])
    r, w = rng.uniform(0, 0.3), rng.uniform(0.3, 1.0)
    avoid = np.c_[rng.uniform(p[0] - 1.5, p[0] + 1.5, n), rng.uniform(p[1] - 1.0, p[1] + 1.0, n)]
    if bad and n:
        avoid[rng.integers(0, n, 3)] = [np.nan, p[1]]
        avoid[rng.integers(0, n, 3)] = [p[0] + r + 0.1, np.inf]
    assert badge_anchor(p, view, r, w=w, avoid=avoid) == _anchor_reference(p, view, r, w, 0.3, avoid)


def test_text_ink_is_the_search():
    for theme in THEMES.values():
        for j in range(8):
            c = class_color(j)
            want = next((mix(c, theme["fg"], 0.05 * k) for k in range(21)
                         if contrast(mix(c, theme["fg"], 0.05 * k), theme["bg"]) >= 3.0), theme["fg"])
            assert text_ink(c, theme) == want == text_ink(c, dict(theme))
