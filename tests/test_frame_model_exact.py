"""The truncation-speed frame models (and the perturbation and local-minima ones built on its panels) give the same
frames as the code they were made faster from (``frame_model_ref.py``: the 6a05ca8 code, verbatim): the same
primitives in the same order, every array the same bits (dtype, shape, bytes), every label the same string,
place, size, colour and alpha. Over Q = 2..8, input dimensions 3 and PCA, canvases 16:9 / square / portrait,
both themes and count scales, title cards and holds, a few thousand points, traces with pinned, non-finite and
far-away points and base points, and hypothesis over seeds and sizes. A deliberately broken variant (one ulp off
one panel's screen positions; badges placed over the distinct paths unweighted) must be told apart."""

from __future__ import annotations

import copy
import dataclasses

import frame_model_ref as old
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geomdl import experiments
from geomdl.experiments import truncation_speed as ts
from scenes.clips import marks, point_passes
from scenes.clips.base import (
    Frame,
    Rect,
    _unique_points,
    badge_anchor,
    comet_segments,
    exact_groups,
    first_of_each,
    text_width,
)
from scenes.clips.local_minima import LocalMinimaFrames
from scenes.clips.perturbation import PerturbationFrames
from scenes.clips.truncation_speed import TruncationFrames


def same(a, b, where: str = "") -> str | None:
    """``None`` when ``a`` and ``b`` (frames, primitives, lists, arrays, scalars) are the same to the bit, else
    where they first differ."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            return f"{where}: arrays differ ({a.dtype}{a.shape} vs {b.dtype}{b.shape})"
        return None
    if dataclasses.is_dataclass(a):
        if type(a) is not type(b):
            return f"{where}: {type(a).__name__} vs {type(b).__name__}"
        for fl in dataclasses.fields(a):
            got = same(getattr(a, fl.name), getattr(b, fl.name), f"{where}.{getattr(a, 'name', '')}.{fl.name}")
            if got:
                return got
        return None
    if isinstance(a, (list, tuple)):
        if not isinstance(b, (list, tuple)) or len(a) != len(b):
            return f"{where}: lengths {len(a)} vs {len(b) if isinstance(b, (list, tuple)) else b!r}"
        for k, (x, y) in enumerate(zip(a, b, strict=True)):
            got = same(x, y, f"{where}[{k}]")
            if got:
                return got
        return None
    if isinstance(a, float) or isinstance(b, float):    # the same float64 (NaN is NaN; 0.0 is not -0.0)
        if type(a) is not type(b) and not (isinstance(a, float) and isinstance(b, float)):
            return f"{where}: {a!r} vs {b!r}"
        return None if np.float64(a).tobytes() == np.float64(b).tobytes() else f"{where}: {a!r} vs {b!r}"
    return None if (type(a) is type(b) and a == b) else f"{where}: {a!r} vs {b!r}"


def assert_same_frames(new, ref, frames=None) -> None:
    assert new.n_frames == ref.n_frames
    assert same(new.static(), ref.static(), "static") is None
    for i in range(new.n_frames) if frames is None else frames:
        fa, fb = new.frame(i), ref.frame(i)
        assert isinstance(fa, Frame)
        diff = same(fa, fb, f"frame {i}")
        assert diff is None, diff


def record(**cfg):
    torch.set_num_threads(1)
    return ts.run(ts.TruncationSpeedConfig(**cfg))[0]


@pytest.fixture(scope="module")
def traces():
    cache = {}

    def get(q: int, m: int | None = None, n: int = 40, snapshots: int = 6, steps: int = 50, seed: int | None = None):
        key = (q, m, n, snapshots, steps, seed)
        if key not in cache:
            cache[key] = record(q=q, m=m or q, n_per_class=n, steps=steps, snapshots=snapshots,
                                seed=q if seed is None else seed)
        return cache[key]

    return get


# -- whole frames: the frame models against the reference ---------------------------------------------------
@pytest.mark.parametrize("q", [2, 3, 4, 5, 6, 7, 8])
def test_truncation_frames_are_the_reference(traces, q):
    tr = traces(q, m=3 if q <= 3 else q + (q % 2))
    kw = dict(fps=12, duration=2.0, hold_start=0.3, hold_end=0.3, card_seconds=0.5)
    assert_same_frames(TruncationFrames(tr, **kw), old.RefTruncationFrames(tr, **kw))


@pytest.mark.parametrize("opts", [
    dict(aspect=1.0), dict(aspect=9 / 16, theme="dark"), dict(aspect=1.5, count_scale="linear"),
    dict(theme="dark", count_scale="linear", orbit_deg=400.0), dict(aspect=4 / 3, build_seconds=0.2),
])
def test_truncation_frames_on_other_canvases_are_the_reference(traces, opts):
    tr = traces(4, m=6, n=30)
    kw = dict(fps=10, duration=1.5, hold_start=0.2, hold_end=0.2, card_seconds=0.4, **opts)
    assert_same_frames(TruncationFrames(tr, **kw), old.RefTruncationFrames(tr, **kw))


def test_thousands_of_points_are_the_reference(traces):
    """A few thousand points a panel: most of them on the base points, repeats dropped, badges weighted."""
    tr = traces(3, n=1500, snapshots=4, steps=60)
    kw = dict(fps=30, duration=1.0, hold_start=0, hold_end=0, card_seconds=0)
    new, ref = TruncationFrames(tr, **kw), old.RefTruncationFrames(tr, **kw)
    assert_same_frames(new, ref)
    assert max(len(p.xy) for p in new.frame(new.n_frames - 1).points) > 3000


def odd_trace(tr, seed: int = 0):
    """``tr`` with points far outside every panel's frame (pinned), non-finite points, a base point far away
    (pinned, with a chevron) and a point that sits exactly on its base point at one snapshot and not the next."""
    tr = copy.deepcopy(tr)
    rng = np.random.default_rng(seed)
    a = tr.arrays
    T = np.array(a["truncated"], dtype=float)
    S, L, N, _ = T.shape
    far = rng.choice(N, max(2, N // 20), replace=False)
    T[:, :, far] *= 40.0
    T[S // 2:, L - 1, rng.choice(N, 3, replace=False)] = np.nan
    T[1:, 0, rng.choice(N, 2, replace=False)] = np.inf
    Bp = np.array(a["base_points"], dtype=float)
    Bp[:, 0] *= 60.0
    a["truncated"], a["base_points"] = T, Bp
    return tr


@pytest.mark.parametrize("q", [2, 3, 6])
def test_odd_points_are_the_reference(traces, q):
    tr = odd_trace(traces(q, m=3 if q < 4 else None, n=30), seed=q)
    kw = dict(fps=10, duration=2.0, hold_start=0.2, hold_end=0.2, card_seconds=0)
    with np.errstate(all="ignore"):
        assert_same_frames(TruncationFrames(tr, **kw), old.RefTruncationFrames(tr, **kw))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(2, 8), st.integers(8, 60), st.integers(2, 9), st.integers(0, 2**16), st.booleans(),
       st.sampled_from([None, 1.0, 0.6]))
def test_frames_are_the_reference_over_seeds_and_sizes(q, n, snapshots, seed, pca, aspect):
    tr = record(q=q, m=q + 1 if pca else max(q, 3), n_per_class=n, steps=30, snapshots=snapshots, seed=seed)
    kw = dict(fps=8, duration=1.5, hold_start=0.2, hold_end=0.3, card_seconds=0.3, aspect=aspect)
    assert_same_frames(TruncationFrames(tr, **kw), old.RefTruncationFrames(tr, **kw))


@pytest.fixture(scope="module")
def scene_traces():
    torch.set_num_threads(1)
    out = {}
    for name, cfg in (("perturbation", dict(n_per_class=20, steps=300, snapshots=12)),
                      ("local-minima", dict(n_per_class=20, polish_iters=40))):
        mod = experiments.get(name)
        out[name] = mod.run(mod.Config(**cfg))[0]
    return out


def test_perturbation_and_local_minima_frames_are_the_reference(scene_traces):
    for name, new_cls, ref_cls in (("perturbation", PerturbationFrames, old.RefPerturbationFrames),
                                   ("local-minima", LocalMinimaFrames, old.RefLocalMinimaFrames)):
        tr = scene_traces[name]
        for aspect in (None, 1.0):
            assert_same_frames(new_cls(tr, fps=8, duration=2.0, aspect=aspect),
                               ref_cls(tr, fps=8, duration=2.0, aspect=aspect))


# -- the comparison tells a broken variant apart ---------------------------------------------------------
class _UlpOff(TruncationFrames):
    """One ulp off panel 2's screen positions (what a reordered sum could do)."""

    def _screen(self, P3, l, azim, centred=False):
        xy = super()._screen(P3, l, azim, centred)
        return np.nextafter(xy, np.inf) if l == 2 else xy


def test_a_broken_variant_is_told_apart(traces):
    tr = traces(3, n=1500, snapshots=4, steps=60)
    kw = dict(fps=30, duration=1.0, hold_start=0, hold_end=0, card_seconds=0)
    ref = old.RefTruncationFrames(tr, **kw)
    for broken in (_UlpOff(tr, **kw),):
        assert any(same(broken.frame(i), ref.frame(i)) for i in range(broken.n_frames))
    # the badges' weights matter: the corners' boxes hold one path of 50 points (upper right), then 2, 3 and 4
    # paths of one point each (upper left, lower right, lower left): weighted, the upper left box covers fewest
    p, view = np.array([2.0, 2.0]), Rect(0.0, 0.0, 4.0, 4.0)
    rep = np.array([[2.5, 2.45]])
    singles = np.array([[1.5, 2.45], [1.6, 2.45], [2.4, 1.6], [2.5, 1.6], [2.6, 1.6],
                        [1.4, 1.6], [1.5, 1.6], [1.6, 1.6], [1.7, 1.6]])
    pts = np.concatenate([rep, singles])
    got = badge_anchor(p, view, 0.1, avoid=pts, weights=np.r_[50, np.ones(len(singles), int)])
    assert got == old.badge_anchor(p, view, 0.1, avoid=np.concatenate([np.repeat(rep, 50, axis=0), singles]))
    assert got[2] == "right" and got[1] > 2.0
    assert got != badge_anchor(p, view, 0.1, avoid=pts)


# -- the helpers against theirs ---------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(0, 300), st.integers(0, 3), st.booleans(), st.integers(0, 3),
       st.sampled_from([4096, 1, 40]))
def test_weighted_badge_anchor_is_the_repeated_points(seed, n, n_taken, bad, groups, stripe):
    """``badge_anchor(avoid=pts, weights=k)`` (a list of groups or one array) is ``badge_anchor`` of every point
    repeated its weight's times, ``taken`` boxes or not, non-finite points or not, groups cut to a stripe first
    or not."""
    mp = pytest.MonkeyPatch()
    mp.setattr(marks, "NEAR_STRIPE", stripe)
    try:
        _weighted_badge_case(seed, n, n_taken, bad, groups)
    finally:
        mp.undo()


def _weighted_badge_case(seed, n, n_taken, bad, groups):
    rng = np.random.default_rng(seed)
    view = Rect(*rng.uniform(0, 4, 2), *rng.uniform(1, 5, 2))
    p = np.array([rng.uniform(view.x - 0.3, view.x + view.w + 0.3), rng.uniform(view.y - 0.3, view.y + view.h + 0.3)])
    r, w = rng.uniform(0, 0.3), rng.uniform(0.3, 1.0)
    pts = np.c_[rng.uniform(p[0] - 1.5, p[0] + 1.5, n), rng.uniform(p[1] - 1.0, p[1] + 1.0, n)]
    pts = np.round(pts, 1) if seed % 3 == 0 else pts          # points on the boxes' edges
    if bad and n:
        pts[rng.integers(0, n, 3)] = [np.nan, p[1]]
        pts[rng.integers(0, n, 3)] = [p[0] + r + 0.1, np.inf]
    k = rng.integers(0, 6, n)
    taken = [marks.badge_box(*rng.uniform(0, 5, 2), "left") for _ in range(n_taken)]
    want = old.badge_anchor(p, view, r, w=w, avoid=np.repeat(pts, k, axis=0), taken=list(taken))
    assert badge_anchor(p, view, r, w=w, avoid=pts, weights=k, taken=list(taken)) == want
    assert badge_anchor(p, view, r, w=w, avoid=pts.tolist(), weights=k.tolist(), taken=list(taken)) == want
    if groups:
        cut = np.sort(rng.integers(0, n + 1, groups))
        parts, wparts = np.split(pts, cut), np.split(k, cut)
        wparts = [None if (j % 2 and np.all(x == 1)) else x for j, x in enumerate(wparts)]
        assert badge_anchor(p, view, r, w=w, avoid=parts, weights=wparts, taken=list(taken)) == want
    # unweighted: as the reference
    assert badge_anchor(p, view, r, w=w, avoid=pts, taken=list(taken)) == old.badge_anchor(
        p, view, r, w=w, avoid=pts, taken=list(taken))



def cloud_with_repeats(n: int, seed: int, spread: float, n_colors: int, rep: float, dtype, ctype):
    """``(rng, xy (n, 2), color (n,))``: a normal cloud of ``spread`` with about ``rep * n`` points copied onto
    others (exact repeats, colour included) and three set to zeros of either sign or tiny values."""
    rng = np.random.default_rng(seed)
    xy = (rng.normal(size=(n, 2)) * spread).astype(dtype)
    color = rng.integers(0, n_colors, n).astype(ctype)
    if n > 1:
        src = rng.integers(0, n, int(rep * n))
        dst = rng.integers(0, n, len(src))
        xy[dst], color[dst] = xy[src], color[src]
        xy[rng.integers(0, n, 3)] = rng.choice([0.0, -0.0, -1e-7, 4e-7], (3, 2))   # zeros of either sign
    return rng, xy, color

@settings(max_examples=80, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 2**31 - 1), st.sampled_from([1e-7, 1e-3, 1.0, 50.0]),
       st.integers(1, 12), st.floats(0.0, 0.9), st.sampled_from([np.float64, np.float32]), st.booleans(),
       st.sampled_from([(4096, 32), (2, 32), (2, 3), (2, 1)]), st.sampled_from(["int64", "int32", "float"]))
def test_unique_points_is_the_reference(n, seed, spread, n_colors, rep, dtype, huge, hashing, ctype):
    """Also with the 32-bit hash pass from two points on, and with a hash of 3 or 1 bits (nearly every point a
    candidate: the exact keys decide); signed zeros, colours of other types."""
    rng, xy, color = cloud_with_repeats(n, seed, spread, n_colors, rep, dtype, ctype)
    if huge and n > 2:
        xy[0] = [1e12, -1e12]                                   # the 2D path (fields too wide for one key)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(point_passes, "HASH_MIN", hashing[0])
        mp.setattr(point_passes, "HASH_BITS", hashing[1])
        got = _unique_points(xy, color)
    want = old._unique_points(xy, color)
    assert same(list(got), list(want)) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 400), st.integers(1, 7), st.integers(0, 2**31 - 1), st.floats(0.0, 0.95), st.booleans(),
       st.integers(1, 40))
def test_groups_and_first_of_each_are_the_reference(n, d, seed, rep, odd, k):
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(n, d))
    if n > 1:
        src = rng.integers(0, n, int(rep * n))
        rows[rng.integers(0, n, len(src))] = rows[src]
    if odd and n > 3:
        rows[0], rows[1], rows[2] = 0.0, -0.0, np.nan
    assert same(list(exact_groups(rows)), list(old.exact_groups(rows))) is None
    key = rng.integers(0, k, n)
    idx = np.flatnonzero(rng.random(n) < 0.6)
    for small in (2048, 0):       # np.unique's first indices, and the hashed repeats
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(point_passes, "FIRST_SMALL", small)
            assert same(first_of_each(idx, key), old.first_of_each(idx, key)) is None


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 60), st.integers(0, 2**31 - 1), st.integers(1, 6), st.booleans())
def test_comet_segments_are_the_reference(n, seed, pieces, nan):
    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
    palette = ["#E69F00", "#56B4E9", "#009E73", "#123456"]
    colors = [palette[j] for j in rng.integers(0, len(palette), n)]
    fade = rng.uniform(-0.2, 1.2, n)
    if nan and n:
        fade[0] = np.nan
    with np.errstate(invalid="ignore"):
        got = comet_segments(start, end, colors, "#FFFFFF", pieces=pieces, fade=fade)
        want = old.comet_segments(start, end, colors, "#FFFFFF", pieces=pieces, fade=fade)
    assert same(list(got), list(want)) is None


@given(st.lists(st.sampled_from(list("abcXY 019.,:()/-=+$\\{}_^·λ×") + ["\\lambda", "\\mathbf", "\\times"]),
                max_size=40).map("".join), st.sampled_from([0.19, 0.21, 0.22, 0.3]), st.booleans())
def test_text_width_is_the_reference(text, size, exact):
    for _ in range(2):      # computed, then from the cache
        assert same(text_width(text, size, exact), old.text_width(text, size, exact)) is None
