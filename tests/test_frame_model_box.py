"""The truncation-speed frame model's per-interval screen box (no pin or finite pass where every point is
known to be well inside its view), its cached arrivals, the repeat keys bounded by the frame model and the
badges' column-wise tests give the same frames as the reference (``frame_model_ref.py``: the 6a05ca8 code,
verbatim), and the helpers the same results as the 1314caa code they replace (verbatim below): ~1k points for
Q = 2..8, a dense trace (~12k points, with repeats dropped; ~100k points with ``-m slow``), traces with points
far out (pinned: no box) and hypothesis over bounds, layouts, weights and azimuths. Broken variants (a box that
skips a needed pin, a copy that drops the wrong row, arrivals cached without their earlier snapshot) are told
apart."""

from __future__ import annotations

import functools

import frame_model_ref as old
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_frame_model_exact import assert_same_frames, cloud_with_repeats, odd_trace, same

from geomdl.experiments import truncation_speed as ts
from scenes.clips import marks, point_passes
from scenes.clips.base import Rect, badge_anchor
from scenes.clips.point_passes import HASH_MIN, _field_hash, _first_of_runs, _repeated, _unique_points
from scenes.clips.truncation_speed import TruncationFrames

KW = dict(fps=30, duration=1.0, hold_start=0.2, hold_end=0.2, card_seconds=0)


# -- the 1314caa helpers, verbatim ------------------------------------------------------------------------
def unique_points_1314(xy: np.ndarray, color: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop exact repeats (same place, same colour): collapsed points all sit on their base point, and
    drawing the same marker hundreds of times costs time and changes nothing. Drawing order is kept."""
    if len(xy) < 2:
        return xy, color
    # one int64 key per point from (x, y rounded to 1e-6, colour), each field offset to start at 0: sorting
    # it is ~10x faster than np.unique(axis=0) on 100k points; the 2D path is kept for huge spans
    # (each field built in place: fresh 100k-point temporaries cost more than the arithmetic)
    fx = np.multiply(xy[:, 0], 1e6, dtype=float)
    fy = np.multiply(xy[:, 1], 1e6, dtype=float)
    np.rint(fx, out=fx)
    np.rint(fy, out=fy)
    c = np.asarray(color)
    fc = c if c.dtype == np.int64 else c.astype(float)     # int64 colours: the same integers, no float copy
    fields = [fx, fy, fc]
    lo = [float(v.min()) for v in fields]
    span = [float(v.max()) - a + 1.0 for v, a in zip(fields, lo, strict=True)]
    bits = [int(np.ceil(np.log2(max(s, 2.0)))) if np.isfinite(s) else 64 for s in span]
    if sum(bits) > 62:
        _, first = np.unique(np.c_[np.round(xy, 6), color], axis=0, return_index=True)
        keep = np.sort(first)
        return np.take(xy, keep, axis=0), color[keep]
    if len(xy) >= HASH_MIN:
        # many points: first the points whose 32-bit hash of the three fields repeats (sorting 32-bit hashes
        # takes half the time of sorting the 64-bit keys); only their keys are built and compared below
        fx += 0.0      # -0.0 -> 0.0: equal fields, equal bits
        fy += 0.0
        h = _field_hash(fx, fy, fc if fc.dtype == np.int64 else fc + 0.0)
        values = _repeated(h)
        if len(values) == 0:
            return xy, color
        sub, _ = members_1314(h, values)                    # ascending: the candidates, in drawing order
        fx, fy, fc = fx[sub], fy[sub], fc[sub]
    else:
        sub = None
    # key = ((x - lo_x) << b_y | (y - lo_y)) << b_c | (colour - lo_c): every field a non-negative integer
    # below 2^bits (integers in float64, exact), the same as converting each field to int64 first
    fx -= lo[0]
    key = fx.astype(np.int64)
    key <<= bits[1]
    fy -= lo[1]
    key |= fy.astype(np.int64)
    key <<= bits[2]
    key |= (fc - int(lo[2])) if fc.dtype == np.int64 else (fc - lo[2]).astype(np.int64)
    repeated = _repeated(key)                                    # keys that occur more than once
    if len(repeated) == 0:
        return xy, color
    # only the points with a repeated key (typically those on the few base points) are looked at: each
    # one's repeated key found (a comparison pass per key when few, else a binary search among them), the
    # first of each kept (a stable sort of the small key ids) instead of an argsort of every key
    at, cid = members_1314(key, repeated)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(repeated))] = False
    keep = np.ones(len(xy), bool)
    keep[at[drop] if sub is None else sub[at[drop]]] = False
    return np.compress(keep, xy, axis=0), color[keep]


def members_1314(k: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, cid)``: the positions of ``k`` whose value is one of ``values`` (ascending, distinct), ascending,
    and the index of that value in ``values``."""
    if len(values) <= 16:   # (as usual) a few: one comparison pass each beats a binary search per element
        hit = [np.flatnonzero(k == v) for v in values]
        at = np.concatenate(hit)
        cid = np.repeat(np.arange(len(values)), [len(x) for x in hit])
        order = np.argsort(at, kind="stable")
        return at[order], cid[order]
    cid = np.minimum(np.searchsorted(values, k), len(values) - 1)
    at = np.flatnonzero(values[cid] == k)
    return at, cid[at]


def near_1314(groups, bx0: float, bx1: float, by0: float, by1: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The points of ``groups`` strictly inside ``(bx0, bx1) x (by0, by1)``: ``(U, W, k)``, ``U: (K, 2)`` those
    of the unweighted groups, ``W: (J, 2)`` those of the weighted ones and ``k: (J,)`` their weights."""
    u, wp, wk, small = [], [], [], []
    for a, wt in groups:
        if len(a) >= marks.NEAR_STRIPE:     # a stripe first: the y test on its points only
            sel = np.flatnonzero((a[:, 0] > bx0) & (a[:, 0] < bx1))
            ay = np.take(a[:, 1], sel)
            sel = sel[(ay > by0) & (ay < by1)]
        elif wt is None:
            small.append(a)
            continue
        else:
            ax, ay = a[:, 0], a[:, 1]
            sel = np.flatnonzero((ax > bx0) & (ax < bx1) & (ay > by0) & (ay < by1))
        if wt is None:
            u.append(np.take(a, sel, axis=0))
        else:
            wp.append(np.take(a, sel, axis=0))
            wk.append(np.take(wt, sel))
    if small:                         # joined: one test of every point
        a = small[0] if len(small) == 1 else np.concatenate(small)
        ax, ay = a[:, 0], a[:, 1]
        u.append(a[(ax > bx0) & (ax < bx1) & (ay > by0) & (ay < by1)])

    def cat(x: list, empty: np.ndarray) -> np.ndarray:
        return empty if not x else x[0] if len(x) == 1 else np.concatenate(x)

    return cat(u, np.zeros((0, 2))), cat(wp, np.zeros((0, 2))), cat(wk, np.zeros(0, np.int64))



# -- whole frames against the reference ----------------------------------------------------------------------
def record(q: int, n: int, m: int | None = None, snapshots: int = 4, steps: int = 60, seed: int | None = None):
    torch.set_num_threads(1)
    return ts.run(ts.TruncationSpeedConfig(q=q, m=m or max(q, 3), n_per_class=n, steps=steps, snapshots=snapshots,
                                           seed=q if seed is None else seed))[0]


@pytest.fixture(scope="module")
def traces():
    cache = {}

    def get(q: int, n: int, **kw):
        key = (q, n, tuple(sorted(kw.items())))
        if key not in cache:
            cache[key] = record(q, n, **kw)
        return cache[key]

    return get


def boxes_taken(fr: TruncationFrames) -> list[bool]:
    """Per panel and interval, whether the frames take the box (no pin or finite pass)."""
    fr.frame(0)
    return [fr._screen_box(s, min(s + 1, fr.S - 1), l) is not None for s in range(fr.S - 1) for l in range(fr.L + 1)]


@pytest.mark.parametrize("q", [2, 3, 4, 5, 6, 7, 8])
def test_about_1k_points_are_the_reference(traces, q):
    """~1k points a frame (the benchmark's small clip for Q = 3), input space and PCA."""
    tr = traces(q, 120 if q <= 3 else 1000 // q, m=3 if q <= 3 else q + 1)
    new = TruncationFrames(tr, **KW)
    assert any(boxes_taken(new))
    assert_same_frames(new, old.RefTruncationFrames(tr, **KW))


def test_dense_points_are_the_reference(traces):
    """~12k points a panel: repeats dropped by the bounded keys (a few rows, copied around), weighted badges."""
    tr = traces(3, 4000)
    new, ref = TruncationFrames(tr, **KW), old.RefTruncationFrames(tr, **KW)
    assert all(boxes_taken(new))
    assert_same_frames(new, ref)


@pytest.mark.slow
def test_about_100k_points_are_the_reference(traces):
    """The benchmark's ~100k-point clip (Q = 3, 12000 points a class), every frame."""
    tr = traces(3, 12000)
    kw = dict(fps=30, duration=2.0, hold_start=0, hold_end=0, card_seconds=0)
    new = TruncationFrames(tr, **kw)
    assert all(boxes_taken(new))
    assert_same_frames(new, old.RefTruncationFrames(tr, **kw))


@pytest.mark.parametrize("q", [2, 3, 6])
def test_points_far_out_take_no_box_and_are_the_reference(traces, q):
    tr = odd_trace(traces(q, 30, m=3 if q < 4 else None), seed=q)
    new = TruncationFrames(tr, **KW)
    assert not all(boxes_taken(new))
    with np.errstate(all="ignore"):
        assert_same_frames(new, old.RefTruncationFrames(tr, **KW))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2), st.floats(0.0, 1.0), st.floats(-10.0, 10.0), st.integers(0, 3))
def test_screen_box_holds_every_screen_position(s0, w, az, l):
    """Wherever the box is given, every point's projection at any weight and azimuth lies in it, and the pin
    leaves every one where it is."""
    fr = box_frames()
    box = fr._screen_box(s0, s0 + 1, l)
    if box is None:
        return
    first, inv, A0, A1 = fr._paths(s0, s0 + 1, l)
    D = A0 if l == 0 else fr._centred(s0, s0 + 1, w, l, A0, A1)
    xy = fr._screen(D, l, az, centred=True)
    assert np.all((xy[:, 0] >= box[0]) & (xy[:, 0] <= box[1]) & (xy[:, 1] >= box[2]) & (xy[:, 1] <= box[3]))
    assert fr._pin_into(xy.copy(), fr.views[l]).tobytes() == xy.tobytes()


@functools.lru_cache(maxsize=1)
def box_frames() -> TruncationFrames:
    return TruncationFrames(record(3, 200), **KW)


# -- the helpers against the 1314caa code ----------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**31 - 1), st.sampled_from([1e-7, 1e-3, 1.0, 50.0]),
       st.integers(1, 12), st.floats(0.0, 0.9), st.sampled_from([np.float64, np.float32]),
       st.sampled_from([(4096, 32), (2, 32), (2, 3)]), st.sampled_from([0, 2, 64]),
       st.sampled_from(["none", "tight", "loose", "huge"]), st.sampled_from(["int64", "int32", "float"]))
def test_unique_points_with_bounds_is_the_1314caa_code(n, seed, spread, n_colors, rep, dtype, hashing, slices,
                                                       bounds, ctype):
    """With the frame model's bounds (tight, loose or too wide for one key) or none; every path (hash pass or
    not, drops copied as slices or through a mask); signed zeros."""
    rng, xy, color = cloud_with_repeats(n, seed, spread, n_colors, rep, dtype, ctype)
    b = None
    if bounds != "none" and n:
        lo, hi = xy.astype(float).min(axis=0), xy.astype(float).max(axis=0)
        pad = {"tight": 0.0, "loose": float(rng.uniform(0, 5)) * spread, "huge": 1e12}[bounds]
        b = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad, float(color.min()) - 2 * (pad > 0),
             float(color.max()) + 3 * (pad > 0))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(point_passes, "HASH_MIN", hashing[0])
        mp.setattr(point_passes, "HASH_BITS", hashing[1])
        mp.setattr(point_passes, "WITHOUT_SLICES", slices)
        got = _unique_points(xy, color, b)
        want = unique_points_1314(xy, color)
    assert same(list(got), list(want)) is None
    assert same(list(got), list(old._unique_points(xy, color))) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 40), st.integers(0, 2**31 - 1), st.sampled_from([np.uint32, np.int64]))
def test_members_is_the_1314caa_code(n, n_values, seed, dtype):
    rng = np.random.default_rng(seed)
    k = rng.integers(0, 2 * n_values + 3, n).astype(dtype)
    values = np.unique(rng.choice(k, min(n_values, n)))
    got, want = point_passes._members(k, values), members_1314(k, values)
    assert same(list(got), list(want)) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 9000), st.integers(0, 3), st.booleans(), st.sampled_from([2, 4096]))
def test_near_and_badges_read_columns_as_the_1314caa_code(seed, n, groups, bad, stripe):
    """``_near``'s columns are the 1314caa rows; a badge placed over a column-major panel goes where it goes over
    the same points row-major (and where the reference puts it over every point repeated by its weight)."""
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0.0, 4.0, (n, 2))
    if bad and n:
        pts[rng.integers(0, n, 3)] = np.nan
    k = rng.integers(1, 4, n)
    cut = np.sort(rng.integers(0, n + 1, groups))
    parts = [(a, None if j % 2 else w) for j, (a, w) in enumerate(zip(np.split(pts, cut), np.split(k, cut),
                                                                    strict=True))]
    parts = [(a if j % 3 else np.ascontiguousarray(a.T).T, w) for j, (a, w) in enumerate(parts)]
    box = tuple(sorted(rng.uniform(0.0, 4.0, 2))) + tuple(sorted(rng.uniform(0.0, 4.0, 2)))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(marks, "NEAR_STRIPE", stripe)
        ux, uy, wx, wy, wk = marks._near(parts, *box)
        U, W, K = near_1314(parts, *box)
        assert same([ux, uy, wx, wy, wk], [U[:, 0].copy(), U[:, 1].copy(), W[:, 0].copy(), W[:, 1].copy(), K]) is None
        p, view = rng.uniform(1.0, 3.0, 2), Rect(0.0, 0.0, 4.0, 4.0)
        cols = np.ascontiguousarray(pts.T).T
        got = badge_anchor(p, view, 0.1, avoid=[cols, pts[:5]], weights=[None, k[:5]])
        assert got == badge_anchor(p, view, 0.1, avoid=[pts, pts[:5]], weights=[None, k[:5]])
        assert got == old.badge_anchor(p, view, 0.1, avoid=np.concatenate([pts, np.repeat(pts[:5], k[:5], axis=0)]))


# -- the comparisons tell broken variants apart ------------------------------------------------------------------
class _BoxAlways(TruncationFrames):
    """A box wherever the points are finite, even far out: the pins it needs are skipped."""

    def _screen_box(self, s0, s1, l):
        v = self.views[l]
        return (v.x, v.x + v.w, v.y, v.y + v.h) if np.isfinite(max(self._reach(s0, l), self._reach(s1, l))) else None


class _StaleArrivals(TruncationFrames):
    """Arrivals cached without the snapshot trail_seconds ago."""

    def _arrivals(self, sn, s_then, l):
        cache = self.__dict__.setdefault("_stale", {})
        if (sn, l) not in cache:
            cache[(sn, l)] = super()._arrivals(sn, s_then, l)
        return cache[(sn, l)]


def _without_off_by_one(a, gone):
    return np.delete(a, np.minimum(np.asarray(gone) + 1, len(a) - 1), axis=0)


def test_broken_variants_are_told_apart(traces):
    def differs(new, ref):
        return any(same(new.frame(i), ref.frame(i)) for i in range(new.n_frames))

    tr = odd_trace(traces(3, 30, m=3), seed=3)
    with np.errstate(all="ignore"):
        assert differs(_BoxAlways(tr, **KW), old.RefTruncationFrames(tr, **KW))
    tr, kw = traces(3, 120), dict(KW, fps=10, duration=4.0)     # (trails shorter than the clip)
    assert differs(_StaleArrivals(tr, **kw), old.RefTruncationFrames(tr, **kw))
    tr = traces(3, 4000)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(point_passes, "_JIT", False)        # (the numpy path: numba's drops no rows through _without)
        mp.setattr(point_passes, "_without", _without_off_by_one)
        assert differs(TruncationFrames(tr, **KW), old.RefTruncationFrames(tr, **KW))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(0, 2**31 - 1), st.integers(1, 6), st.integers(1, 9), st.booleans(),
       st.sampled_from([2, 8]))
def test_comet_colours_by_index_are_the_reference(n, seed, pieces, n_colors, nan, levels):
    """Colours given as a few names and an index per trail: the segments and colours of the names spelled out
    (and the reference's), over both of its paths (few trails one at a time, many from a table) and NaN ages."""
    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    names = [f"#{v:06X}" for v in rng.integers(0, 2**24, n_colors).tolist()]
    names[-1] = names[0]                                        # (two names may be the same colour)
    index = rng.integers(0, n_colors, n)
    fade = rng.uniform(-0.5, 1.5, n)
    if nan and n:
        fade[rng.integers(0, n)] = np.nan
    spelled = [names[i] for i in index]
    with np.errstate(invalid="ignore"):
        got = marks.comet_segments(start, end, names, "#FFFFFF", pieces, fade=fade, levels=levels, index=index)
        want = marks.comet_segments(start, end, spelled, "#FFFFFF", pieces, fade=fade, levels=levels)
        ref = old.comet_segments(start, end, spelled, "#FFFFFF", pieces, fade=fade, levels=levels)
    assert same(list(got), list(want)) is None and same(list(got), list(ref)) is None
