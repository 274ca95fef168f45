"""The ~100k-point frame's fast paths against what they replace: the comet colours' ``_set_colors`` against
``LineCollection.set_colors`` (also when a list is set again), the frame model's one-pass finiteness test
against the row-by-row one, the splat's run colours against the (run, colour) table product and its run sums
against ``np.add.reduceat``."""

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


def _runs_of_stamps(rng, n: int, P: int, kind: str, monotone: bool):
    """Contributions as ``splat`` makes them: ``vr: (C,)`` the stamp of each, ascending (drawing order) inside
    each run, runs ``run: (C,)`` 0..R-1 ascending; ``vcolor: (V,)`` the stamps' colours, non-decreasing in
    drawing order (as the renderers draw) or not; ``one colour a run``: every stamp of a run the same colour."""
    V = max(1, n // 2)
    vcolor = rng.integers(0, P, V)
    if monotone:
        vcolor = np.sort(vcolor)
    R = max(1, n // 3)
    run = np.sort(rng.integers(0, R, n))
    if kind == "one colour a run":   # the stamps of a run drawn from one colour's
        by = [np.flatnonzero(vcolor == c) for c in range(P)]
        pick = rng.choice([c for c in range(P) if len(by[c])], R)
        vr = np.array([rng.choice(by[pick[r]]) for r in run.tolist()], dtype=np.int64)
    else:
        vr = rng.integers(0, V, n)
    pairs = np.unique(run * V + vr)                              # (run, stamp) ascending, each once
    run, vr = np.divmod(pairs, V)
    run = np.unique(run, return_inverse=True)[1]                 # runs 0..R-1, each used
    new_run = np.r_[True, run[1:] != run[:-1]]
    starts = np.flatnonzero(new_run)
    last_of_run = np.r_[starts[1:], len(run)] - 1
    return vcolor, vr, run, new_run, starts, last_of_run


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 2000), st.integers(0, 2**31 - 1), st.sampled_from([1, 3, 9, 16, 20]),
       st.sampled_from(["one colour a run", "mixed", "zero weights"]), st.booleans())
def test_run_colours_is_the_table_product(n, seed, P, kind, monotone):
    """The per-run colour sums without the (run, colour) table, or without each contribution's colour where
    the stamps' colours never decrease in drawing order: byte for byte the table and its product (above 16
    colours: the sum of each run's weighted colours)."""
    from scenes.backends import raster  # noqa: PLC0415
    from scenes.clips.base import row_matmul  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    vcolor, vr, run, new_run, starts, last_of_run = _runs_of_stamps(rng, n, P, kind, monotone)
    C = len(run)
    cc = vcolor[vr]
    wf = rng.uniform(0, 1, C) * (rng.uniform(0, 1, C) < 0.5 if kind == "zero weights" else 1.0)
    palette = rng.uniform(0, 1, (P, 3))
    if P <= 16:
        want = row_matmul(np.bincount(run * P + cc, wf, minlength=len(starts) * P).reshape(-1, P), palette)
    else:
        want = np.add.reduceat(wf[:, None] * palette[cc], starts, axis=0)
    got = raster._run_colours(wf, vcolor, vr, run, new_run, starts, last_of_run, palette)
    assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


def test_run_colours_sees_a_run_that_mixes_colours_in_between():
    """A run whose first and last contributions share a colour but not the one between (stamps' colours out
    of drawing order): summed per colour, not as one colour (the shortcut holds only for colours in order)."""
    from scenes.backends import raster  # noqa: PLC0415

    vcolor, vr = np.array([0, 1, 0]), np.array([0, 1, 2])
    run, new_run = np.zeros(3, np.intp), np.array([True, False, False])
    starts, last_of_run = np.array([0]), np.array([2])
    palette = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    got = raster._run_colours(np.array([0.25, 0.5, 0.25]), vcolor, vr, run, new_run, starts, last_of_run, palette)
    assert got.tolist() == [[0.5, 0.5, 0.0]]


def _run_sums_case(rng, n: int, spread: float):
    lens = rng.geometric(rng.uniform(0.05, 0.95), max(1, n))       # runs of 1 term to dozens (beyond 8 too)
    x = -rng.exponential(spread, lens.sum())
    if rng.random() < 0.3:   # log transmittances as the stamps' tables make them (floored), +0 among them
        x = np.log(np.maximum(1.0 - rng.choice([0.0, 0.25, 0.5, 1 / 3, 0.999, 1.0], len(x)), np.exp(-30.0)))
    starts = np.r_[0, np.cumsum(lens)[:-1]]
    ends = np.r_[starts[1:], len(x)]
    run = np.repeat(np.arange(len(lens)), lens)
    return x, starts, ends, run


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 3000), st.integers(0, 2**31 - 1), st.sampled_from([0.01, 1.0, 30.0, 1e6]))
def test_run_sums_are_reduceat(n, seed, spread):
    """``_run_sums`` (bincount for runs of up to 8 terms, reduceat for longer ones): ``np.add.reduceat``'s bits."""
    from scenes.backends import raster  # noqa: PLC0415

    x, starts, ends, run = _run_sums_case(np.random.default_rng(seed), n, spread)
    assert raster._reduceat_is_sequential()
    want = np.add.reduceat(x, starts)
    got = raster._run_sums(x, starts, ends, run)
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_run_sums_of_nine_terms_need_reduceat(monkeypatch):
    """Deliberately broken: bincount for runs of 9 terms too (numpy sums 8 terms and more pairwise) gives other
    bits, which the test above would see; and a numpy whose reduceat is not a plain loop below 8 terms is
    answered by reduceat itself."""
    from scenes.backends import raster  # noqa: PLC0415

    rng = np.random.default_rng(3)
    x = -rng.exponential(3.0, 9 * 400)
    starts = np.arange(0, len(x), 9)
    ends, run = starts + 9, np.repeat(np.arange(400), 9)
    want = np.add.reduceat(x, starts)
    assert raster._run_sums(x, starts, ends, run).tobytes() == want.tobytes()
    monkeypatch.setattr(raster, "SEQUENTIAL_RUN", 9)
    assert raster._run_sums(x, starts, ends, run).tobytes() != want.tobytes()
    monkeypatch.setattr(raster, "_reduceat_is_sequential", lambda: False)
    assert raster._run_sums(x, starts, ends, run).tobytes() == want.tobytes()


def _state(art: LineCollection, original: bool = True) -> tuple:
    e = art.get_edgecolor()
    return (e.dtype, e.shape, e.tobytes(), art.get_alpha(),
            np.asarray(art._original_edgecolor).tobytes() if original else None)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["same", "new", "shade", "alpha", "other", "copy"]),
                          st.integers(0, 2**31 - 1)), min_size=1, max_size=8))
def test_set_colors_again_is_set_colors(steps):
    """Frame after frame: the same list again (as a new list or the same object), another list, one shade
    changed, an alpha set in between, colours set by someone else in between: after every step the
    collection's colours, alpha and the colours it keeps are those of ``_set_colors`` converting every time,
    its colours and alpha those of matplotlib's ``set_colors``."""
    rng = np.random.default_rng(len(steps))
    shades = ["#F7F0E0", "#E6D1A1", "#DEC282", "#1f77b4", "#D62728"]
    colours = [shades[k] for k in rng.integers(0, len(shades), 40)]
    got, ref, own = _collection(40), _collection(40), _collection(40)

    def set_all():
        got.stale = ref.stale = False
        _set_colors(got, colours)
        ref.__dict__.pop("_colors_set", None)                   # (no list kept: converted every time)
        _set_colors(ref, colours)
        own.set_colors(colours)
        assert got.stale and ref.stale
        assert _state(got) == _state(ref)
        assert _state(got, False) == _state(own, False)

    set_all()
    for kind, seed in steps:
        r = np.random.default_rng(seed)
        if kind == "new":
            colours = [shades[k] for k in r.integers(0, len(shades), 40)]
        elif kind == "shade":
            colours = list(colours)
            colours[int(r.integers(0, 40))] = shades[int(r.integers(0, len(shades)))]
        elif kind == "copy":
            colours = list(colours)
        elif kind == "alpha":
            a = float(r.choice([0.3, 1.0]))
            for art in (got, ref, own):
                art.set_alpha(a)
        elif kind == "other":
            c = r.uniform(0, 1, (40, 4))
            for art in (got, ref, own):
                art.set_color(c)
        set_all()


def test_set_colors_again_sees_colours_set_in_between(monkeypatch):
    """Deliberately broken: leaving the colours alone on an equal list without checking that nothing set
    others since leaves someone else's colours (the test above would see it)."""
    from scenes.backends import mpl_renderer as mr  # noqa: PLC0415

    colours = ["#F7F0E0", "#E6D1A1"] * 10
    art = _collection(20)
    mr._set_colors(art, colours)
    art.set_color(np.zeros((20, 4)))
    mr._set_colors(art, list(colours))
    assert art.get_edgecolor()[:, 0].tolist() == [mr._RGBA["#F7F0E0"][0], mr._RGBA["#E6D1A1"][0]] * 10
    art.set_color(np.zeros((20, 4)))
    kept = art.__dict__["_colors_set"]
    monkeypatch.setattr(art, "_original_edgecolor", kept[1])   # (the check fooled: as if nothing set others)
    mr._set_colors(art, list(colours))
    assert not art.get_edgecolor().any()
