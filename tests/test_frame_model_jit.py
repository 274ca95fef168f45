"""The frame model's numba passes (:mod:`scenes.clips.point_jit`, from ``point_passes.JIT_MIN`` rows) give the
same bits as the numpy code they stand for (kept as the fallback): the kernels against the numpy expressions
on many values (wide exponents, ties, signed zeros, NaN and inf), :func:`unique_gathered` against
``_unique_points(_gather(...))`` (hypothesis over sizes, repeats, bounds and a hash set small enough that
nearly every row is a candidate), and whole frames with the numba passes run from 2 rows on against the
reference (``frame_model_ref.py``) and against the numpy path: Q = 2..8, PCA, canvases, pinned and non-finite
points, the perturbation and local-minima subclasses, hypothesis over seeds and sizes. Broken variants (a
reassociated centring, repeats kept, the wrong row of a repeat kept) are told apart; without numba the numpy
path runs, and a clip of ~1k points never imports numba."""

from __future__ import annotations

import subprocess
import sys

import frame_model_ref as old
import numpy as np
import pytest
from drawing import RefusedImport
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_frame_model_exact import (  # noqa: F401 (fixtures, and the whole-frame tests run again below)
    assert_same_frames,
    cloud_with_repeats,
    odd_trace,
    record,
    same,
    scene_traces,
    test_odd_points_are_the_reference,
    test_perturbation_and_local_minima_frames_are_the_reference,
    test_thousands_of_points_are_the_reference,
    test_truncation_frames_are_the_reference,
    test_truncation_frames_on_other_canvases_are_the_reference,
    traces,
)
from test_frame_model_exact import test_frames_are_the_reference_over_seeds_and_sizes as over_seeds_and_sizes

import scenes.clips
from scenes.clips import marks, point_passes
from scenes.clips.point_passes import _gather, _unique_points, jit_kernels, unique_gathered
from scenes.clips.truncation_speed import TruncationFrames

jit = jit_kernels()      # (numba is a dependency)
FIXTURE_OK = [HealthCheck.function_scoped_fixture]     # (the autouse fixture below is the same for every example)


@pytest.fixture(autouse=True)
def numba_from_two_rows(monkeypatch):
    """Every pass of at least 2 rows runs its numba kernel (the tests' clips are small)."""
    monkeypatch.setattr(point_passes, "JIT_MIN", 2)
    monkeypatch.setattr("scenes.clips.truncation_speed.JIT_MIN", 2)
    monkeypatch.setattr(marks, "NEAR_STRIPE", 2)


def odd_values(rng, n: int, k: int) -> np.ndarray:
    """``(n, k)`` float64 over many exponents, with ties of rounding, signed zeros, subnormals, NaN and inf."""
    a = rng.normal(size=(n, k)) * 10.0 ** rng.integers(-30, 30, (n, k))
    pick = rng.random((n, k))
    a[pick < 0.05] = rng.choice([0.0, -0.0, 5e-324, -1e-310, np.inf, -np.inf, np.nan, 0.5, 2.5, -1.5], int(
        np.count_nonzero(pick < 0.05)))
    return a


# -- the kernels against the numpy expressions ------------------------------------------------------------
@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(st.integers(0, 5000), st.integers(0, 2**31 - 1), st.floats(-0.5, 1.5))
def test_kernels_are_the_numpy_operations(n, seed, w):
    rng = np.random.default_rng(seed)
    A0, A1, c = odd_values(rng, n, 3), odd_values(rng, n, 3), odd_values(rng, 1, 3)[0]
    with np.errstate(all="ignore"):
        want = np.multiply(A0, 1 - w)
        want += np.multiply(A1, w)
        want -= c
        got = jit.lerp_centred(A0, A1, 1 - w, w, c, np.empty((n, 3)))
        assert same(got, want) is None
        xy, s, centre = odd_values(rng, n, 2), float(odd_values(rng, 1, 1)[0, 0]), odd_values(rng, 1, 2)[0]
        want = xy * s
        want += centre
        assert same(jit.scale_shift(xy.copy(), s, float(centre[0]), float(centre[1])), want) is None
    box = sorted(rng.normal(size=2) * 10.0 ** rng.integers(-3, 3)) + sorted(rng.normal(size=2))
    pts = odd_values(rng, n, 2)
    pts[: n // 2] = rng.uniform(-3.0, 3.0, (n // 2, 2))
    pts = np.round(pts, int(rng.integers(0, 3)))                           # (points on the box's edges too)
    box = [float(np.round(b, 1)) for b in box]
    pts = pts if seed % 2 else np.ascontiguousarray(pts.T).T               # either memory order
    x, y = pts[:, 0], pts[:, 1]
    with np.errstate(invalid="ignore"):
        want = np.flatnonzero((x > box[0]) & (x < box[1]) & (y > box[2]) & (y < box[3]))
    assert same(list(jit.inside_box(x, y, *box)), [want, x[want], y[want]]) is None


def test_no_product_and_sum_is_fused():
    """``a * b + c`` where an FMA (the exact product plus ``c``, rounded once) gives ``-2^-60`` and the rounded
    product plus ``c`` gives ``0``: the kernels round the product first, as numpy."""
    a, b = 1.0 + 2.0**-30, 1.0 - 2.0**-30            # a * b = 1 - 2^-60 exactly: 1.0 rounded
    got = jit.scale_shift(np.array([[a, a]]), b, -1.0, -1.0)
    assert got.tolist() == [[0.0, 0.0]] == (np.array([[a, a]]) * b - 1.0).tolist()
    got = jit.lerp_centred(np.full((1, 3), a), np.full((1, 3), -1.0), b, 1.0, np.zeros(3), np.empty((1, 3)))
    assert got.tolist() == [[0.0] * 3]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURE_OK)
@given(st.integers(0, 3000), st.integers(1, 400), st.integers(1, 9), st.integers(-3, 3), st.integers(0, 2**31 - 1))
def test_first_keys_is_first_of_each(n, n_paths, span, lo, seed):
    """The first row of each (path, class, flag) key: the rows ``first_of_each`` keeps (on either of its paths)."""
    rng = np.random.default_rng(seed)
    inv, lab = rng.integers(0, n_paths, n), rng.integers(lo, lo + span, n)
    flag = rng.random(n) < 0.4
    key = (inv * span + (lab - lo)) << 1 | flag
    for small in (2048, 0):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(point_passes, "FIRST_SMALL", small)
            want = point_passes.first_of_each(np.arange(n), key)
        assert same(jit.first_keys(inv, lab, lo, span, flag.astype(np.int64), 2 * span * n_paths), want) is None


# -- unique_gathered against the numpy passes ---------------------------------------------------------------
@settings(max_examples=80, deadline=None, suppress_health_check=FIXTURE_OK)
@given(st.integers(0, 3000), st.integers(0, 2**31 - 1), st.sampled_from([1e-7, 1e-3, 1.0, 50.0]),
       st.integers(1, 12), st.floats(0.0, 0.9), st.integers(1, 4), st.sampled_from(["tight", "loose", "huge", "none"]),
       st.sampled_from([(32, 12), (1, 6), (0, 6)]))
def test_unique_gathered_is_the_numpy_passes(n, seed, spread, n_colors, rep, n_parts, bounds, seen):
    """Rows gathered from a few sources (each row's path index), repeats of either sign of zero; bounds of the
    frame model (tight or loose), too wide for one key, or none (numpy); a hash set of 32 bits a row, or of
    64 bits in all (nearly every row a candidate: the keys decide)."""
    rng, xy, color = cloud_with_repeats(n, seed, spread, n_colors, rep, np.float64, "int64")
    cut = np.sort(rng.integers(0, n + 1, n_parts - 1))
    parts, colors = [], []
    for rows, cols in zip(np.split(xy, cut), np.split(color, cut), strict=True):
        src, inv = np.unique(rows, axis=0, return_inverse=True)       # each row gathered from a source
        perm = rng.permutation(len(src))
        src, inv = src[perm], np.argsort(perm)[inv.reshape(-1)]
        parts.append((src, inv.astype(np.int64)))
        colors.append(cols)
    b = None
    if bounds != "none" and n:
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        pad = {"tight": 0.0, "loose": float(rng.uniform(0, 5)) * spread, "huge": 1e12}[bounds]
        b = (lo[0] - pad, hi[0] + pad, lo[1] - pad, hi[1] + pad, float(color.min()) - 2 * (pad > 0),
             float(color.max()) + 3 * (pad > 0))
    want = _unique_points(_gather(parts), np.concatenate(colors), b)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(point_passes, "SEEN_PER_ROW", seen[0])
        mp.setattr(point_passes, "SEEN_MIN_LOG", seen[1])
        got = unique_gathered(parts, colors, b)
    assert same(list(got), list(want)) is None


# -- whole frames: numba from 2 rows against the numpy path (the reference: the tests imported above) ---------
@pytest.mark.parametrize("q", [3, 8])
def test_frames_are_the_numpy_path(traces, q):  # noqa: F811
    tr = traces(q, m=3 if q <= 3 else q + 1, n=40)
    kw = dict(fps=12, duration=1.5, hold_start=0.2, hold_end=0.2, card_seconds=0)
    new = TruncationFrames(tr, **kw)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(point_passes, "_JIT", False)
        ref = TruncationFrames(tr, **kw)
        frames = [ref.frame(i) for i in range(ref.n_frames)]
    for i, f in enumerate(frames):
        assert same(new.frame(i), f, f"frame {i}") is None


@pytest.mark.slow
def test_frames_over_seeds_and_sizes_with_numba_are_the_reference():
    over_seeds_and_sizes()


@settings(max_examples=6, deadline=None, suppress_health_check=FIXTURE_OK)
@given(st.integers(0, 2**16), st.booleans())
def test_odd_traces_with_numba_are_the_reference(seed, pca):
    tr = odd_trace(record(q=3, m=4 if pca else 3, n_per_class=25, steps=30, snapshots=4, seed=seed), seed=seed)
    kw = dict(fps=8, duration=1.5, hold_start=0.2, hold_end=0.2, card_seconds=0)
    with np.errstate(all="ignore"):
        assert_same_frames(TruncationFrames(tr, **kw), old.RefTruncationFrames(tr, **kw))


# -- broken variants are told apart ---------------------------------------------------------------------------
class _Reassociated:
    """``A0 v + (A1 w - c)``: the same terms, summed in another order."""

    @staticmethod
    def lerp_centred(A0, A1, v, w, c, out):
        out[:] = A0 * v + (A1 * w - c)
        return out

    def __getattr__(self, name):
        return getattr(jit, name)


class _RepeatsKept:
    """Candidates never compared: every row kept."""

    @staticmethod
    def drop_repeats(hashes, cands, hash_bits, out_xy, out_c, *key):
        return len(hashes)

    def __getattr__(self, name):
        return getattr(jit, name)


class _LastKept:
    """The last row of each repeated key kept instead of the first."""

    @staticmethod
    def drop_repeats(hashes, cands, hash_bits, out_xy, out_c, *key):
        n = len(hashes)
        rows = np.c_[np.rint(out_xy[:n] * 1e6) + 0.0, out_c[:n]]
        _, last = np.unique(rows[::-1], axis=0, return_index=True)
        keep = np.sort(n - 1 - last)
        m = len(keep)
        out_xy[:m], out_c[:m] = out_xy[keep], out_c[keep]
        return m

    def __getattr__(self, name):
        return getattr(jit, name)


def test_broken_variants_are_told_apart(traces):  # noqa: F811
    tr = traces(3, n=1500, snapshots=4, steps=60)
    kw = dict(fps=30, duration=1.0, hold_start=0, hold_end=0, card_seconds=0)
    ref = old.RefTruncationFrames(tr, **kw)
    want = [ref.frame(i) for i in range(ref.n_frames)]
    for broken in (_Reassociated(), _RepeatsKept(), _LastKept()):
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(point_passes, "_JIT", broken)
            new = TruncationFrames(tr, **kw)
            assert any(same(new.frame(i), f) for i, f in enumerate(want)), type(broken).__name__
    # (the same comparison passes with the kernels themselves)
    new = TruncationFrames(tr, **kw)
    assert not any(same(new.frame(i), f) for i, f in enumerate(want))


# -- without numba, and not imported for small clips ---------------------------------------------------------
@pytest.mark.parametrize("refusal", ["no numba", "no cache folder"])
def test_without_numba_the_numpy_path_runs(traces, monkeypatch, refusal):  # noqa: F811
    tr = traces(3, n=1500, snapshots=4, steps=60)
    kw = dict(fps=30, duration=0.4, hold_start=0, hold_end=0, card_seconds=0)
    with_numba = TruncationFrames(tr, **kw)
    if refusal == "no numba":
        monkeypatch.setitem(sys.modules, "numba", None)           # `import numba` raises ImportError
    else:                                                         # numba's refusal of a cached kernel
        monkeypatch.setattr(sys, "meta_path", [RefusedImport("scenes.clips.point_jit", RuntimeError(
            "cannot cache function 'lerp_centred': no locator available")), *sys.meta_path])
    monkeypatch.delitem(sys.modules, "scenes.clips.point_jit")
    monkeypatch.delattr(scenes.clips, "point_jit")
    monkeypatch.setattr(point_passes, "_JIT", None)
    assert jit_kernels() is None and point_passes._JIT is False
    without = TruncationFrames(tr, **kw)
    for i in range(without.n_frames):
        assert same(without.frame(i), with_numba.frame(i), f"frame {i}") is None


def test_a_clip_of_1k_points_does_not_import_numba():
    code = ("import sys\n"
            "from geomdl.experiments import truncation_speed as ts\n"
            "from scenes.clips.truncation_speed import TruncationFrames\n"
            "tr = ts.run(ts.TruncationSpeedConfig(n_per_class=120, steps=20, snapshots=3))[0]\n"
            "fr = TruncationFrames(tr, fps=10, duration=1.0, hold_start=0, hold_end=0, card_seconds=0)\n"
            "[fr.frame(i) for i in range(fr.n_frames)]\n"
            "assert 'numba' not in sys.modules, 'numba imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
