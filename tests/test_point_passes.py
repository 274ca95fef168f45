"""The frame models' fast per-point passes against plain reference computations (hypothesis over sizes, spreads,
repeats and non-finite points): ``_unique_points`` keeps the first of each (x, y to 1e-6, colour) in order,
``badge_anchor`` picks the corner covering the fewest points, ``text_ink`` is the uncached search; the groups of
bit-identical rows that truncation-speed projects once, the pin, and the frame's point groups against projecting
every point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scenes.clips.base import (
    THEMES,
    Rect,
    _unique_points,
    badge_anchor,
    class_color,
    contrast,
    exact_groups,
    first_of_each,
    mix,
    row_matmul,
    text_ink,
)
from scenes.clips.truncation_speed import TruncationFrames


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


# -- distinct paths, projected once (truncation-speed's frame model) ------------------------------------------

@settings(max_examples=60, deadline=None)
@given(st.integers(0, 300), st.integers(1, 7), st.integers(0, 2**31 - 1), st.floats(0.0, 0.95), st.booleans())
def test_exact_groups_are_the_bit_identical_rows(n, d, seed, rep, odd):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, d))
    if n > 1:   # exact repeats (points on a base point), and values that compare equal with other bits
        src = rng.integers(0, n, int(rep * n))
        rows[rng.integers(0, n, len(src))] = rows[src]
    if odd and n > 3:
        rows[0], rows[1], rows[2] = 0.0, -0.0, np.nan
        rows[3] = np.nan
    first, inv = exact_groups(rows)
    # plain reference: the first row of each distinct byte string, in order
    seen, want_first, want_inv = {}, [], []
    for i, r in enumerate(rows):
        k = r.tobytes()
        if k not in seen:
            seen[k] = len(want_first)
            want_first.append(i)
        want_inv.append(seen[k])
    assert first.tolist() == want_first and inv.tolist() == want_inv
    assert rows[first[inv]].tobytes() == rows.tobytes()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 200), st.integers(0, 2**31 - 1), st.integers(1, 30))
def test_first_of_each_keeps_the_first_per_key(n, seed, k):
    rng = np.random.default_rng(seed)
    key = rng.integers(0, k, n)
    idx = np.flatnonzero(rng.random(n) < 0.6)
    seen, want = set(), []
    for i in idx.tolist():
        if key[i] not in seen:
            seen.add(key[i])
            want.append(i)
    assert first_of_each(idx, key).tolist() == want


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 20000), st.integers(1, 12), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_row_matmul_is_the_product(n, k, m, seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(n, k)), rng.normal(size=(k, m))
    got = row_matmul(a, b, rows=1000)
    assert got.shape == (n, m)
    assert np.allclose(got, a @ b, rtol=1e-12, atol=1e-12)


def _pin_reference(xy, panel, inset):
    """Every point's k = max(|dx| / hx, |dy| / hy); those with k > 1 moved to c + d / k."""
    c = np.array([panel.cx, panel.cy])
    half = np.array([panel.w / 2 - inset, panel.h / 2 - inset])
    out = np.array(xy, dtype=float)
    with np.errstate(all="ignore"):
        for i, p in enumerate(np.asarray(xy, dtype=float)):
            d = p - c
            k = max(abs(d[0]) / half[0], abs(d[1]) / half[1]) if not np.isnan(d).any() else np.nan
            if k > 1:
                out[i] = c + d / k
    return out


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 200), st.integers(0, 2**31 - 1), st.sampled_from([0.0, 0.06, 0.5]), st.booleans())
def test_pin_moves_exactly_the_points_outside(n, seed, inset, edge):
    rng = np.random.default_rng(seed)
    panel = Rect(*rng.uniform(-3, 8, 2), *rng.uniform(1.2, 5, 2))
    xy = rng.normal((panel.cx, panel.cy), rng.uniform(0.1, 4), (n, 2))
    if edge and n:   # on the border, and a rounding either side of it
        hx = panel.w / 2 - inset
        xy[:, 0] = panel.cx + hx * rng.choice([-1, 1], n) * (1 + rng.choice([0.0, 1e-16, -1e-16, 2.3e-16], n))
    if n > 2:
        xy[0], xy[1] = [np.nan, panel.cy], [np.inf, panel.cy]
    with np.errstate(all="ignore"):
        got = TruncationFrames._pin(xy, panel, inset)
    want = _pin_reference(xy, panel, inset)
    assert np.array_equal(got, want, equal_nan=True)


@pytest.fixture(scope="module")
def trunc_frames():
    from geomdl.experiments import truncation_speed as ts  # noqa: PLC0415

    out = {}
    for q in (2, 3, 5, 8):
        cfg = ts.TruncationSpeedConfig(q=q, n_per_class=40, steps=40, snapshots=5, seed=q)
        trace, _ = ts.run(cfg)
        out[q] = trace
    return out


@pytest.mark.parametrize("q", [2, 3, 5, 8])
def test_point_groups_are_those_of_every_point_projected(trunc_frames, q):
    """The frame model projects each distinct path once: its point groups are those of projecting and pinning
    every point of every panel and dropping repeats (the computation before paths were shared)."""
    fr = TruncationFrames(trunc_frames[q], fps=15, duration=2.0, hold_start=0, hold_end=0, card_seconds=0)
    for i in range(0, fr.n_frames, 3):
        f = fr.frame(i)
        u = fr.snapshot_position(i)
        s0, s1, w, sn = fr.bracket(u)
        az, ever = fr.azimuth(i), fr._ever(sn)
        T = (1 - w) * fr.T3[s0] + w * fr.T3[s1]
        pts, ring = ([], []), ([], [])
        for l in range(fr.L + 1):
            if fr.appear(l, i)[0] < 0.35:
                continue
            xy = fr._pin(fr._screen(fr.X3 if l == 0 else T[l - 1], l, az), fr.views[l])
            flag = ever[-1] if l == 0 else ever[l - 1]
            for grp, sel in ((pts, ~flag), (ring, flag)):
                grp[0].append(xy[sel])
                grp[1].append(fr.labels[sel])
        for name, (xs, cs) in (("points", pts), ("collapsed", ring)):
            got = next(p for p in f.points if p.name == name)
            want_xy, want_c = _unique_points(np.concatenate(xs or [np.zeros((0, 2))]),
                                             np.concatenate(cs or [np.zeros(0, np.int64)]))
            assert len(got.xy) == len(want_xy) and np.array_equal(got.color, want_c)
            assert np.allclose(got.xy, want_xy, rtol=0, atol=1e-12)
