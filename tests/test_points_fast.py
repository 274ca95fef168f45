"""The ~100k-point frame's fast paths against what they replace: the comet colours' ``_set_colors`` against
``LineCollection.set_colors``, the frame model's one-pass finiteness test against the row-by-row one."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.collections import LineCollection

from scenes.backends.mpl_renderer import _set_colors
from scenes.clips.truncation_speed import _all_finite

COLOURS = ["#1f77b4", "#D62728", "#00000080", "#ffffff", "tab:green", "red", "0.5", "none", "None"]


_RGBA_BEFORE: dict[str, tuple] = {}


def _set_colors_before(art: LineCollection, colors: list) -> None:
    """``scenes.backends.mpl_renderer._set_colors`` as of 8a11d7d, verbatim (its own table)."""
    from matplotlib.colors import to_rgba  # noqa: PLC0415

    if not colors or not all(isinstance(c, str) for c in colors) or any(c.lower() == "none" for c in set(colors)):
        art.set_colors(colors)
        return
    if len(_RGBA_BEFORE) > 65536:   # (faded colours are many strings: keep the table bounded)
        _RGBA_BEFORE.clear()
    for c in set(colors).difference(_RGBA_BEFORE):
        _RGBA_BEFORE[c] = to_rgba(c)
    art.set_colors(np.array([_RGBA_BEFORE[c] for c in colors]))


def _collection(k: int) -> LineCollection:
    return LineCollection([np.array([[0.0, i], [1.0, i]]) for i in range(k)], alpha=None)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(COLOURS), min_size=0, max_size=60), st.sampled_from([None, 0.4]),
       st.sampled_from(["list", "tuple", "mixed", "unhashable"]))
def test_set_colors_is_set_colors(colours, alpha, kind):
    """Repeated strings (a comet's shades gathered from a table), all distinct, "none", non-strings, lists and
    tuples: the same edge colours (values, dtype, shape) and alpha as the function before; for lists of strings
    (what the renderer passes) also as matplotlib's own ``set_colors``."""
    if kind == "tuple":
        colours = tuple(colours)
    elif kind == "mixed" and colours:
        colours = [*colours[:-1], (0.2, 0.4, 0.6, 1.0)]
    elif kind == "unhashable" and colours:
        colours = [*colours[:-1], [0.2, 0.4, 0.6, 1.0]]
    k = max(len(colours), 1)
    got, before, own = _collection(k), _collection(k), _collection(k)
    for art in (got, before, own):
        art.set_alpha(alpha)
    _set_colors(got, colours)
    _set_colors_before(before, colours)
    own.set_colors(colours)
    wants = [before] + ([own] if kind in ("list", "mixed") else [])
    for want in wants:
        a, b = got.get_edgecolor(), want.get_edgecolor()
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
        assert got.get_alpha() == want.get_alpha()


def test_set_colors_of_a_comet_frame():
    """A real frame's comet trails (hundreds of segments, a few shades each repeated many times)."""
    from scenes.clips.marks import comet_segments  # noqa: PLC0415

    rng = np.random.default_rng(3)
    n = 120
    colours = [["#1f77b4", "#D62728", "#2ca02c"][k] for k in rng.integers(0, 3, n)]
    segs, cols = comet_segments(rng.uniform(0, 10, (n, 2)), rng.uniform(0, 10, (n, 2)), colours, "#ffffff",
                                fade=rng.uniform(0, 1, n))
    assert len(set(cols)) < len(cols)
    got, want = _collection(len(cols)), _collection(len(cols))
    _set_colors(got, cols)
    want.set_colors(cols)
    assert got.get_edgecolor().tobytes() == want.get_edgecolor().tobytes()


def same_splat(a, b) -> bool:
    """The same pixels, colours and alphas to the byte (and the same dtypes and order), or both ``None``."""
    if a is None or b is None:
        return a is b
    return all(u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
               for u, v in ((a.idx, b.idx), (a.rgb, b.rgb), (a.alpha, b.alpha)))


def _rows_finite(xy: np.ndarray) -> tuple[bool, np.ndarray]:
    """The frame model's test before: each row finite in both columns, and whether all are."""
    fin = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])
    return bool(fin.all()), fin


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300), st.integers(0, 2**31 - 1), st.sampled_from(["none", "nan", "inf", "-inf", "huge", "mix"]))
def test_all_finite_is_the_row_test(n, seed, bad):
    """Finite clouds, clouds with NaN or infinities anywhere, and finite values whose sum overflows (1e308):
    the same verdict, and the same rows where not every value is finite."""
    rng = np.random.default_rng(seed)
    xy = rng.normal(5.0, 3.0, (n, 2))
    if n and bad != "none":
        k = rng.integers(1, n + 1)
        at = rng.choice(2 * n, k, replace=False)
        vals = {"nan": [np.nan], "inf": [np.inf], "-inf": [-np.inf], "huge": [1e308, -1e308, 1.7e308],
                "mix": [np.nan, np.inf, -np.inf, 1e308]}[bad]
        xy.reshape(-1)[at] = rng.choice(vals, k)
    finite, fin = _all_finite(xy)
    want, want_fin = _rows_finite(xy)
    assert finite == want
    if fin is None:
        assert finite
    else:
        assert np.array_equal(fin, want_fin)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("at", [0, 1, 2, 8643, 9999])
def test_all_finite_sees_one_bad_value(value, at):
    """One bad value anywhere (first and last rows, either column) among 5000 rows."""
    xy = np.ones((5000, 2))
    xy.reshape(-1)[at] = value
    finite, fin = _all_finite(xy)
    assert not finite and fin is not None and np.flatnonzero(~fin).tolist() == [at // 2]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 40), min_size=1, max_size=5), st.integers(0, 2**31 - 1))
def test_path_views_are_the_paths(sizes, seed):
    """Frame after frame (more segments than kept, fewer, none): the paths are matplotlib's own for the segments
    (vertices, codes, settings), and each view ``_draw_segments`` hands to Agg holds its path's own vertices
    array, codes and simplification settings; after a plain ``set_segments`` none is used."""
    from matplotlib.path import Path  # noqa: PLC0415

    from scenes.backends.mpl_renderer import _set_segments  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    art, own = LineCollection([]), LineCollection([])
    for k in sizes:
        xy = rng.uniform(0, 10, (k, 2, 2))
        _set_segments(art, xy)
        own.set_segments(list(xy))
        got = art.__dict__.get("_path_views")
        paths = art.get_paths()
        assert len(paths) == len(own.get_paths()) == k
        for p, q in zip(paths, own.get_paths(), strict=True):   # matplotlib's own paths: the same everything
            assert type(p) is Path and p.vertices.tobytes() == q.vertices.tobytes() and p.codes is q.codes is None
            assert (p.should_simplify, p.simplify_threshold, p._interpolation_steps, p.readonly) == (
                q.should_simplify, q.simplify_threshold, q._interpolation_steps, q.readonly)
        if k == 0:
            assert got is None
            continue
        assert got[0] is paths and len(got[1]) == len(paths)
        for p, view in zip(paths, got[1], strict=True):
            assert view.vertices is p.vertices and view.codes is p.codes is None
            assert (view.should_simplify, view.simplify_threshold) == (p.should_simplify, p.simplify_threshold)
    art.set_segments([np.zeros((2, 2)), np.ones((2, 2))])
    got = art.__dict__.get("_path_views")
    assert got is None or got[0] is not art.get_paths()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 3000), st.integers(0, 2**31 - 1), st.sampled_from([(2.23, 0.0), (3.35, 1.67)]),
       st.sampled_from(["colour-major", "shuffled", "negative", "huge"]))
def test_int32_drawing_order_is_the_int64_one(n, seed, stamp_size, kind):
    """``splat`` given its drawing order in int32 (as PointRaster makes it) draws what the same order in int64
    does, byte for byte, and what the splat before its speed-up drew; orders beyond int32 (the grids then in
    int64) too."""
    from splat_reference import splat_reference  # noqa: PLC0415

    from scenes.backends import raster  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    xy = rng.normal(40, rng.choice([2.0, 8.0, 30.0]), (n, 2))
    color = rng.integers(0, 4, n)
    if kind == "colour-major":
        order = color * n + np.arange(n)
    elif kind == "shuffled":
        order = rng.permutation(n)
    elif kind == "negative":
        order = rng.permutation(n) - n // 2
    else:
        order = rng.permutation(n).astype(np.int64) * 2**33 + 7
    palette = rng.uniform(0, 1, (4, 3))
    args = (xy, color, palette, 96, 72, *stamp_size)
    if kind == "huge":
        assert same_splat(raster.splat(*args, order=order), splat_reference(*args, order=order))
        return
    got = raster.splat(*args, order=order.astype(np.int32))
    assert same_splat(got, raster.splat(*args, order=order.astype(np.int64)))
    assert same_splat(got, splat_reference(*args, order=order.astype(np.int64)))


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 2000), st.integers(0, 2**31 - 1), st.sampled_from([1, 3, 9, 16]),
       st.sampled_from(["one colour a run", "mixed", "zero weights"]))
def test_run_colours_is_the_table_product(n, seed, P, kind):
    """The per-run colour sums without the (run, colour) table: byte for byte the table and its product."""
    from scenes.backends import raster  # noqa: PLC0415
    from scenes.clips.base import row_matmul  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    run = np.sort(rng.integers(0, max(1, n // 3), n))
    run = np.unique(run, return_inverse=True)[1]                 # runs 0..R-1, each used
    new_run = np.r_[True, run[1:] != run[:-1]]
    starts = np.flatnonzero(new_run)
    cc = rng.integers(0, P, len(starts))[run] if kind != "mixed" else rng.integers(0, P, n)
    wf = rng.uniform(0, 1, n) * (rng.uniform(0, 1, n) < 0.5 if kind == "zero weights" else 1.0)
    palette = rng.uniform(0, 1, (P, 3))
    want = row_matmul(np.bincount(run * P + cc, wf, minlength=len(starts) * P).reshape(-1, P), palette)
    got = raster._run_colours(wf, cc, run, new_run, starts, palette)
    assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()
