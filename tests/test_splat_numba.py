"""The splat's numba kernels (scenes.backends.raster_numba) against its numpy passes (raster._splat_numpy, the path
without numba): the same ``Splat`` byte for byte (pixels, colours, alphas, dtypes, order), or ``None`` alike, on
random clouds (hypothesis), on the cases the kernels leave to numpy, and on every splat of real clips."""

from __future__ import annotations

import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from drawing import RefusedImport, point_frames, recorded_splats
from hypothesis import given, settings
from hypothesis import strategies as st

from scenes.backends import raster

pytest.importorskip("numba")
from scenes.backends import raster_numba  # noqa: E402

STAMPS = [(1.2, 0.0), (2.23, 0.0), (3.35, 1.67), (1.0, 0.6), (4.6, 0.0), (0.7, 0.0), (2.0, 3.0)]


def same_splat(a: raster.Splat | None, b: raster.Splat | None) -> bool:
    """The same pixels, colours and alphas to the byte (and the same dtypes, shapes and order), or both ``None``."""
    if a is None or b is None:
        return a is b
    return (a.width, a.height) == (b.width, b.height) and all(
        u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
        for u, v in ((a.idx, b.idx), (a.rgb, b.rgb), (a.alpha, b.alpha)))


def by_numba(xy, color, palette, width, height, radius, ring=0.0, ring_rgb=None, order=None) -> raster.Splat | None:
    """The kernels' splat (not numpy's where they would leave it: that fails the test)."""
    got = raster._splat_numba(raster_numba, xy, color, palette, width, height, radius, ring, ring_rgb, order)
    assert got is not raster._LEFT_OUT
    return got


def cloud(seed: int, n: int, n_colours: int, clusters: int, off_image: float, bad: str, order_kind: str):
    """A random cloud: dense clusters (repeats at one pixel), some points off the image, NaN / inf / huge
    coordinates, a palette, colours and a drawing order (``None``, increasing, shuffled; int64 or int32)."""
    rng = np.random.default_rng(seed)
    W, H = int(rng.integers(8, 200)), int(rng.integers(8, 150))
    centres = rng.uniform((0, 0), (W, H), (clusters, 2))
    xy = centres[rng.integers(0, clusters, n)] + rng.normal(0, rng.choice([0.7, 3.0, 15.0]), (n, 2))
    if n > 3:
        xy[rng.integers(0, n, n // 3)] = xy[rng.integers(0, n, n // 3)]       # repeats at one pixel
    far = rng.random(n) < off_image
    xy[far] = rng.uniform(-300, 300, (far.sum(), 2))                           # some off the image
    if bad != "none" and n > 1:
        at = rng.integers(0, n, max(n // 10, 1))
        xy[at, rng.integers(0, 2, len(at))] = {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "huge": 1e300}[bad]
    palette = rng.uniform(0, 1, (n_colours, 3))
    color = rng.integers(0, n_colours, n)
    if rng.random() < 0.5:
        color = np.sort(color)                                                 # colour by colour (as drawn)
    order = {"none": None, "increasing": np.cumsum(rng.integers(1, 5, n)) - 40,
             "shuffled": rng.permutation(n) * 3 - 11, "int32": (rng.permutation(n) * 7 + 3).astype(np.int32),
             "colour major": color * n + np.arange(n)}[order_kind]
    return xy, color, palette, W, H, order


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 500), st.integers(0, 2**31 - 1), st.sampled_from(STAMPS),
       st.sampled_from([1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 40]), st.integers(1, 4), st.floats(0.0, 0.3),
       st.sampled_from(["none", "nan", "inf", "-inf", "huge"]),
       st.sampled_from(["none", "increasing", "shuffled", "int32", "colour major"]),
       st.sampled_from([None, (0.1, 0.2, 0.3)]))
def test_numba_splat_is_the_numpy_splat(n, seed, stamp_size, n_colours, clusters, off_image, bad, order_kind,
                                        ring_rgb):
    """Random clouds: the kernels' splat is numpy's byte for byte (every colour count, with the palette's product
    by run colour, by (run, colour) table or by ``reduceat`` above 16 colours; rings; orders given or not)."""
    radius, ring = stamp_size
    xy, color, palette, W, H, order = cloud(seed, n, n_colours, clusters, off_image, bad, order_kind)
    g = None if ring_rgb is None else np.array(ring_rgb)
    args = (xy, color, palette, W, H, radius, ring, g, order)
    assert same_splat(by_numba(*args), raster._splat_numpy(*args))


@pytest.mark.parametrize("pack", [(32, 62), (0, 62), (0, 0)])   # numpy's uint32 keys, int64 keys, lexsort
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300), st.integers(0, 2**31 - 1), st.sampled_from(STAMPS), st.sampled_from([3, 20]))
def test_numba_splat_is_each_numpy_packing(pack, n, seed, stamp_size, n_colours):
    """numpy's splat with each of its sort-key packings (the branches of clouds too large for the first): the
    kernels' bytes."""
    radius, ring = stamp_size
    xy, color, palette, W, H, order = cloud(seed, n, n_colours, 2, 0.1, "none", "shuffled")
    args = (xy, color, palette, W, H, radius, ring, None, order)
    old = raster.PACK_BITS
    raster.PACK_BITS = pack
    try:
        want = raster._splat_numpy(*args)
    finally:
        raster.PACK_BITS = old
    assert same_splat(by_numba(*args), want)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
@settings(max_examples=40, deadline=None)
@given(st.integers(2, 200), st.integers(0, 2**31 - 1), st.sampled_from(STAMPS))
def test_mixed_and_non_finite_palettes(n, seed, stamp_size):
    """Runs mixing colours (the (run, colour) table through BLAS), palettes with NaN or inf (the table, not each
    run's one colour), colours not in drawing order: numpy's bytes."""
    radius, ring = stamp_size
    rng = np.random.default_rng(seed)
    xy = rng.normal(20, 2.0, (n, 2))
    palette = rng.uniform(0, 1, (5, 3))
    if seed % 3 == 0:
        palette[rng.integers(0, 5), rng.integers(0, 3)] = [np.nan, np.inf, -np.inf][seed % 9 // 3]
    color = rng.integers(0, 5, n)
    for order in (None, rng.permutation(n)):
        args = (xy, color, palette, 40, 40, radius, ring, None, order)
        assert same_splat(by_numba(*args), raster._splat_numpy(*args))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 4), st.booleans())
def test_long_runs_of_faint_stamps(seed, K, ring):
    """Stamps of faint coverage everywhere (no full cover: every contribution shows), dense clouds: runs of many
    more than 8 terms whose sums (numpy's pairwise ``reduceat``) reach the alpha's bits (at real stamps such runs lie
    under the floor or near alpha 1, where the last bits of their sums do not show)."""
    rng = np.random.default_rng(seed)
    side = 2 * K + 1
    alpha = rng.uniform(0.002, 0.2, side * side)
    fill = alpha * rng.uniform(0.3, 1.0, side * side) if ring else alpha
    faint = raster.Stamp(K, fill, alpha - fill, alpha, np.log(1.0 - alpha))
    radius = 10.0 + seed % 1000 / 1000                     # (a size of its own: no stamp cached under it)
    n = int(rng.integers(50, 400))
    xy = rng.normal(30, rng.uniform(1.0, 4.0), (n, 2))
    args = (xy, rng.integers(0, 3, n), rng.uniform(0, 1, (3, 3)), 60, 60, radius, 1.0 if ring else 0.0, None,
            rng.permutation(n))
    real_stamp, real_offsets = raster.stamp, raster._stamp_offsets
    raster.stamp = lambda r, g=0.0: faint
    raster._stamp_offsets = lru_cache(maxsize=None)(real_offsets.__wrapped__)
    try:
        got, want = by_numba(*args), raster._splat_numpy(*args)
    finally:
        raster.stamp, raster._stamp_offsets = real_stamp, real_offsets
    assert same_splat(got, want)


def test_empty_and_off_image_clouds():
    """No points, every point off the image or NaN, stamps reaching the image from its margin only: ``None`` or
    the same splat."""
    pal = np.eye(3)
    cases = [np.zeros((0, 2)), np.array([[-50.0, 3.0], [np.nan, 1.0], [5.0, 1e9]]),
             np.array([[-3.5, 10.0], [25.2, -2.9]]), np.array([[-4.0, -4.0]])]
    for xy in cases:
        for radius, ring in STAMPS:
            args = (xy, np.zeros(len(xy), int), pal, 24, 20, radius, ring)
            assert same_splat(by_numba(*args), raster._splat_numpy(*args))
    assert by_numba(cases[1], np.zeros(3, int), pal, 24, 20, 2.0) is None


@pytest.mark.parametrize("case", ["colour out of range", "negative colour", "one key twice", "grid too large",
                                  "colours too few", "order too long", "width a float", "ring colour (1, 3)"])
def test_what_the_kernels_leave_to_numpy(case, monkeypatch):
    """Inputs outside the kernels' cases are left to numpy's splat (the same result or error, as it decides)."""
    rng = np.random.default_rng(5)
    n = 300
    xy, color, palette, order = rng.normal(30, 4, (n, 2)), rng.integers(0, 3, n), rng.uniform(0, 1, (3, 3)), None
    W, H, ring, ring_rgb = 64, 60, 1.6, None
    xy[[4, 7, 9]] = [[3.5, 3.5], [55.5, 8.5], [8.5, 50.5]]       # (alone: each drawn)
    if case == "colour out of range":
        color[7] = 3
    elif case == "negative colour":
        color[7] = -1
    elif case == "one key twice":
        order = rng.permutation(n)
        order[4] = order[9]
    elif case == "grid too large":
        monkeypatch.setattr(raster, "NUMBA_MAX_GRID", 100)
    elif case == "colours too few":
        color = color[:-1]
    elif case == "order too long":
        order = np.arange(n + 1)
    elif case == "width a float":
        W = 64.0
    else:
        ring_rgb = np.array([[0.1, 0.2, 0.3]])
    args = (xy, color, palette, W, H, 3.0, ring, ring_rgb, order)
    assert raster._splat_numba(raster_numba, *args) is raster._LEFT_OUT
    try:
        want = raster._splat_numpy(*args)
    except (IndexError, ValueError) as e:
        with pytest.raises(type(e)):
            raster.splat(*args)
        return
    assert same_splat(raster.splat(*args), want)


def test_lists_grown_and_grids_left_clean(monkeypatch):
    """Contribution lists sized for none at first (grown over and over, what is listed kept), a fresh scratch
    space: numpy's bytes; and every grid is left clean (the next call's starting state)."""
    monkeypatch.setattr(raster_numba, "WORK", raster_numba.Work())
    monkeypatch.setattr(raster, "COVER_PER_STAMP", 0)
    rng = np.random.default_rng(2)
    for radius, ring in STAMPS:
        xy, color = rng.normal(50, 6, (900, 2)), rng.integers(0, 4, 900)
        args = (xy, color, rng.uniform(0, 1, (4, 3)), 100, 90, radius, ring, None, rng.permutation(900))
        assert same_splat(by_numba(*args), raster._splat_numpy(*args))
        bufs = raster_numba.WORK.bufs
        assert (bufs["win"] == np.iinfo(np.int64).min).all()
        assert (bufs["base"] == -1).all() and (bufs["head"] == -1).all()


def test_lists_beyond_their_limit_are_left_to_numpy(monkeypatch):
    """Contributions beyond the lists' limit (int32 indices): numpy's splat makes it, the grids are dropped (made
    anew, clean) and the next splat is the kernels' again, numpy's bytes."""
    monkeypatch.setattr(raster_numba, "WORK", raster_numba.Work())
    monkeypatch.setattr(raster, "COVER_PER_STAMP", 0)
    rng = np.random.default_rng(4)
    args = (rng.normal(40, 5, (700, 2)), rng.integers(0, 3, 700), np.eye(3), 80, 80, 2.23, 0.0, None, None)
    monkeypatch.setattr(raster, "LIST_MAX", 200)
    assert raster._splat_numba(raster_numba, *args) is raster._LEFT_OUT
    assert "head" not in raster_numba.WORK.bufs and same_splat(raster.splat(*args), raster._splat_numpy(*args))
    monkeypatch.setattr(raster, "LIST_MAX", 2**31 - 1)
    assert same_splat(by_numba(*args), raster._splat_numpy(*args))


@pytest.mark.parametrize("refusal", ["no numba", "no cache folder"])
def test_without_numba_the_numpy_splat_runs(monkeypatch, refusal):
    """Where ``import numba`` fails, or numba refuses the cached kernels, the kernels are not used: numpy's
    splat draws."""
    import scenes.backends  # noqa: PLC0415

    monkeypatch.setattr(raster, "_NUMBA", [])
    monkeypatch.delitem(sys.modules, "scenes.backends.raster_numba")
    monkeypatch.delattr(scenes.backends, "raster_numba")
    if refusal == "no numba":
        monkeypatch.setitem(sys.modules, "numba", None)          # (import numba raises ImportError)
    else:
        monkeypatch.setattr(sys, "meta_path", [RefusedImport("scenes.backends.raster_numba", RuntimeError(
            "cannot cache function 'stamps': no locator available for file 'raster_numba.py'")), *sys.meta_path])
    assert raster._numba_kernels() is None
    rng = np.random.default_rng(0)
    args = (rng.normal(30, 5, (500, 2)), rng.integers(0, 3, 500), np.eye(3), 64, 64, 2.2)
    calls = []
    real = raster._splat_numpy
    monkeypatch.setattr(raster, "_splat_numpy", lambda *a: calls.append(1) or real(*a))
    assert same_splat(raster.splat(*args), real(*args)) and calls


def test_numba_is_imported_on_the_first_splat_only():
    """Importing the renderers does not import numba (a render without large clouds never pays its import)."""
    code = ("import sys; import scenes.backends.raster, scenes.backends.mpl_renderer; "
            "print('numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"


def _recorded_calls(n_per_class: int, n_frames: int, monkeypatch, raster_min: int) -> list[tuple]:
    """The ``splat`` calls (arguments) of the matplotlib renderer drawing the first ``n_frames`` truncation-speed
    frames of a trace (the points benchmark's clip) at 720p, the groups of ``raster_min`` points or more
    rasterised."""
    return recorded_splats(point_frames(n_per_class, n_frames), monkeypatch, raster_min)


def _check_calls(calls: list[tuple]) -> None:
    assert calls
    for args in calls:
        assert same_splat(by_numba(*args), raster._splat_numpy(*args))
        shuffled = (*args[:8], np.random.default_rng(len(args[0])).permutation(len(args[0])))
        assert same_splat(by_numba(*shuffled), raster._splat_numpy(*shuffled))


def test_splats_of_a_real_clip(monkeypatch):
    """Every splat of a real clip (dense classes, many points a pixel, rings; orders as drawn and shuffled)."""
    _check_calls(_recorded_calls(1000, 12, monkeypatch, 0))


@pytest.mark.slow
def test_splats_of_the_100k_points_benchmark_clip(monkeypatch):
    """Every splat of the points benchmark's ~100k-point clip (its 30 frames at 720p)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_scenes import POINTS_N_PER_CLASS  # noqa: PLC0415

    from scenes.backends.raster import RASTER_MIN  # noqa: PLC0415

    _check_calls(_recorded_calls(POINTS_N_PER_CLASS["100k"], 30, monkeypatch, RASTER_MIN))
