"""Large point clouds rasterised with numpy: anti-aliased disc stamps splatted into an RGBA patch.

Both renderers draw a ``Points`` group of at least :data:`RASTER_MIN` points this way (smaller groups keep
their native markers). Drawing markers one by one costs O(points) in the rasteriser (Agg ~1.4 us a marker,
pycairo called from Python ~10 us), while a dense cloud covers far fewer pixels than it has points: at 720p
the 100k points of a dense frame land on ~20k distinct pixels.

What is drawn (what the marker paths draw; ``tests/test_raster.py`` compares them):

- a point is a disc of radius ``radius`` px in its colour, or for a ring group a disc of radius ``radius``
  with an outline ``ring`` px wide centred on that radius in ``ring_rgb`` (matplotlib's edged marker);
- a disc is centred on the pixel that holds its point. Agg snaps markers to the nearest pixel centre, and the
  matplotlib renderer shifts positions by half a pixel to land on the same pixel; Cairo draws at the exact
  place, so under Manim a disc moves by up to half a pixel (unbiased);
- the painter's algorithm in drawing order, a stamp's coverage of a pixel being its alpha there (as Agg
  blends each marker; Cairo fills one colour's discs as a single path, so overlapping fringes of one colour
  blend slightly less there); where several points land on one pixel only the last is drawn (it covers the
  others; their anti-aliased fringes would have been blended twice).

``RASTER_MIN``: below it the marker paths keep their exact look (and Agg's markers are as fast); the golden
frames use small clouds and are drawn by the marker paths.

Cost: O(points) to snap and merge repeats (the last point at each pixel by a maximum of drawing keys on a grid;
in drawing order as they come when the keys increase, else one sort of U packed keys); a few passes over a grid of
the rows and columns that some stamp reaches (in int16 where the ranks fit) to find, per pixel, the last stamp
covering it fully (nothing below it shows: a maximum over the full-coverage footprint, taken row by row) and the
stamps that show nowhere (in a dense cloud most: a minimum of that over the stamp's footprint); then only the
stamps that show are expanded into (pixel, stamp pixel) contributions (stamp pixel by stamp pixel: the
broadcasts run along the long axis), one sort of those left ((pixel, drawing order) packed in a uint32 where it
fits, else with the stamp pixel in an int64) and a segmented composite (each pixel's run summed as
``np.add.reduceat`` sums it, by ``bincount`` below 9 terms: :func:`_run_sums`; its colour without each
contribution's where the stamps' colours come in drawing order); no per-point Python.
``tests/test_raster.py`` checks every step against the splat before these shortcuts (kept in the tests), byte
for byte. The palette product goes through BLAS in blocks of rows
(:func:`scenes.clips.base.row_matmul`: one thread, as the rest of a renderer's frame).

With numba the same splat is made by compiled kernels instead (:mod:`scenes.backends.raster_numba`, imported on
the first splat; the two splats of the points benchmark's ~100k-point frame 3.3 -> 2.4 ms): the same integers and
float operations in the same order, numpy's ``exp``, ``expm1``, BLAS product and long ``reduceat`` runs between
them; the numpy passes above (:func:`_splat_numpy`) are the path without numba and the reference the kernels are
tested against byte for byte (``tests/test_splat_numba.py``), and make what the kernels leave out (colours outside
the palette, one drawing key twice, grids beyond :data:`NUMBA_MAX_GRID`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from scenes.clips.base import row_matmul

RASTER_MIN = 4000       # groups with at least this many points are rasterised here
SUPERSAMPLE = 8         # coverage of a stamp pixel: fraction of SUPERSAMPLE^2 sub-samples inside the disc
LOG_OPAQUE = -30.0      # log transmittance floor: a fully covering stamp (transmittance 0) counts as e^-30
PACK_BITS = (32, 62)    # splat's sort keys: (pixel, rank) in a uint32, else (pixel, rank, stamp pixel) in an int64


_INFO = {t: np.iinfo(t) for t in (np.int16, np.int32, np.int64)}   # (np.iinfo made once)


@dataclass(frozen=True)
class Stamp:
    """Coverage tables of one marker on a ``(2K+1) x (2K+1)`` pixel box centred on a pixel centre.

    ``fill``: coverage of the inner (fill) disc, ``ring``: of the ring colour drawn below it; a pixel's
    premultiplied colour is ``fill * F + ring * G`` (fill colour ``F``, ring colour ``G``) and its alpha
    ``alpha = fill + ring``. All ``(2K+1)**2`` flat, row-major (dy, dx). ``log_t``: ``log(1 - alpha)``, floored at
    :data:`LOG_OPAQUE` (a lookup per contribution instead of a logarithm: the same values elementwise).
    """

    K: int
    fill: np.ndarray
    ring: np.ndarray
    alpha: np.ndarray
    log_t: np.ndarray

    @property
    def side(self) -> int:
        return 2 * self.K + 1


def _coverage(r: float, K: int) -> np.ndarray:
    """Fraction of each pixel of the box inside the disc of radius ``r`` centred on the box's centre pixel."""
    n = SUPERSAMPLE
    sub = (np.arange(n) + 0.5) / n - 0.5                         # sub-sample offsets inside a pixel
    c = np.arange(-K, K + 1, dtype=float)
    x = (c[:, None] + sub[None, :]).reshape(-1)                  # (side * n,) sample coordinates
    inside = (x[:, None] ** 2 + x[None, :] ** 2) <= r * r        # (side*n, side*n)
    side = 2 * K + 1
    return inside.reshape(side, n, side, n).mean(axis=(1, 3)).reshape(-1)


@lru_cache(maxsize=32)
def stamp(radius: float, ring: float = 0.0) -> Stamp:
    """The stamp of a disc of ``radius`` px; with ``ring > 0`` an outline of that width centred on the radius
    (inner fill radius ``radius - ring/2``, outer edge ``radius + ring/2``)."""
    radius, ring = float(radius), float(ring)
    outer = radius + ring / 2
    K = int(np.ceil(outer + 0.5))
    if ring > 0:
        a_out = _coverage(outer, K)
        a_in = _coverage(max(radius - ring / 2, 0.0), K)
        fill, under = a_in, (1 - a_in) * a_out                   # fill drawn over the ring's disc
    else:
        fill, under = _coverage(radius, K), np.zeros((2 * K + 1) ** 2)
    alpha = fill + under
    return Stamp(K, fill, under, alpha, np.log(np.maximum(1.0 - alpha, np.exp(LOG_OPAQUE))))


def _runs(offsets: np.ndarray) -> list[tuple[int, int, int]]:
    """``offsets: (m, 2)`` integer ``(dy, dx)`` -> ``[(dy, dx0, dx1)]``: maximal runs of consecutive ``dx``."""
    out = []
    for dy in np.unique(offsets[:, 0]).tolist():
        xs = np.sort(offsets[offsets[:, 0] == dy, 1])
        cut = np.flatnonzero(np.diff(xs) != 1) + 1
        for run in np.split(xs, cut):
            out.append((int(dy), int(run[0]), int(run[-1])))
    return out


@lru_cache(maxsize=64)
def _mask_runs(mask: bytes, K: int) -> tuple[tuple[int, int, int], ...]:
    """:func:`_runs` of the ``(dy, dx)`` offsets of a stamp mask (``(2K+1)**2`` bools as bytes), cached: a few
    stamps are used over and over."""
    dy, dx = np.divmod(np.flatnonzero(np.frombuffer(mask, dtype=bool)), 2 * K + 1)
    return tuple(_runs(np.c_[dy - K, dx - K]))


def _shift(op, dst: np.ndarray, src: np.ndarray, o: int) -> None:
    """``dst[p] = op(dst[p], src[p - o])`` where ``0 <= p - o < len`` (flat shift, in place)."""
    if o >= 0:
        op(dst[o:], src[:len(src) - o], out=dst[o:])
    else:
        op(dst[:o], src[-o:], out=dst[:o])


def _footprint(op, R: np.ndarray, mask: np.ndarray, K: int, gw: int, empty: int) -> np.ndarray:
    """``out[p] = op`` (``np.maximum`` or ``np.minimum``) over the offsets ``o`` of the stamp pixels in ``mask``
    (``(2K+1)**2`` flat bool, row-major) of ``R[p - o]``, flat indices on a grid ``gw`` wide; terms outside the
    array are left out (``empty`` where none is left).

    The footprint taken row by row: ``H_a[p] = op(R[p - a .. p + a])`` built up one pixel at a time (one
    operation each, two for ``H_1``; ``R`` padded with ``op``'s identity), then one shifted operation of ``H_a``
    per row of the footprint: a disc of 37 pixels in 11 passes over the grid instead of 37. Max and min are
    exact: the same integers as offset by offset (``tests/test_raster.py``)."""
    runs = _mask_runs(np.asarray(mask, dtype=bool).tobytes(), K)
    if not all(x0 == -x1 for _, x0, x1 in runs):      # not symmetric in dx: one shifted operation per offset
        out = np.full_like(R, empty)
        for y, x0, x1 in runs:
            for x in range(x0, x1 + 1):
                _shift(op, out, R, y * gw + x)
        return out
    # R padded at both ends with op's identity (a term outside the array is left out): every window read
    # below lies inside the padded array
    info = _INFO.get(R.dtype.type) or (np.iinfo(R.dtype) if R.dtype.kind in "iu" else np.finfo(R.dtype))
    ident = info.min if op is np.maximum else info.max
    pad = K * gw + K
    H = {0: np.concatenate([np.full(pad, ident, R.dtype), R, np.full(pad, ident, R.dtype)])}
    for a in range(1, max((x1 for _, _, x1 in runs), default=0) + 1):
        prev = H[a - 1]
        h = np.empty_like(prev)
        h[0], h[-1] = prev[0], prev[-1]                           # (inside the padding: never read)
        op(prev[:-2], prev[2:], out=h[1:-1])                     # H_{a-1} at p -+ 1: [p-a, p+a-2] u [p-a+2, p+a]
        if a == 1:                                               # ... leaves out p itself when a = 1
            op(h[1:-1], prev[1:-1], out=h[1:-1])
        H[a] = h
    n = len(R)
    out = None
    for y, _, x1 in runs:      # out[p] = op(out[p], H_a[p + pad - y gw]) = op over the run's R[p - y gw - x]
        term = H[x1][pad - y * gw:pad - y * gw + n]
        if out is None:        # (the first run's terms with empty: no filled array to start from)
            out = op(term, R.dtype.type(empty))
        else:
            op(out, term, out=out)
    return np.full_like(R, empty) if out is None else out

def _reached(u: np.ndarray, length: int, K: int) -> np.ndarray:
    """``u: (m,)`` lines (rows or columns) in ``0..length-1`` -> the sorted lines within ``K`` of one of them."""
    hit = np.zeros(length + 2 * K + 1, np.int32)
    hit[u + (K + 1)] = 1
    c = np.cumsum(hit)                                   # c[l + K + 1] - c[l - K]: hits in [l - K, l + K]
    return (c[2 * K + 1:2 * K + 1 + length] - c[:length] > 0).nonzero()[0]


@dataclass
class Splat:
    """Sparse result: flat pixel indices ``idx: (P,)`` into an ``height x width`` image (row 0 at the top),
    premultiplied ``rgb: (P, 3)`` and ``alpha: (P,)`` in 0..1."""

    width: int
    height: int
    idx: np.ndarray
    rgb: np.ndarray
    alpha: np.ndarray

    def patch(self) -> tuple[int, int, np.ndarray]:
        """``(x0, y0, rgba)``: the bounding box of the drawn pixels as straight-alpha ``(h, w, 4) uint8``, its
        top-left pixel at column ``x0``, row ``y0`` (rows counted from the top)."""
        ys, xs = np.divmod(self.idx, self.width)
        x0, y0 = int(xs.min()), int(ys.min())
        h, w = int(ys.max()) - y0 + 1, int(xs.max()) - x0 + 1
        out = np.zeros((h * w, 4), np.uint8)
        local = (ys - y0) * w + (xs - x0)
        a = self.alpha
        out[local, :3] = np.rint(255 * self.rgb / np.maximum(a, 1e-12)[:, None]).clip(0, 255)
        out[local, 3] = np.rint(255 * a)
        return x0, y0, out.reshape(h, w, 4)

    def composite_over(self, image: np.ndarray) -> None:
        """Draw onto ``image: (height, width, >=3) uint8`` in place (source-over; its alpha is left alone)."""
        if (image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4 and image.flags.c_contiguous
                and self.rgb.dtype == np.float64 and self.alpha.dtype == np.float64 and self.rgb.shape[1:] == (3,)):
            # float64 colours (as splat makes them): the path below channel by channel, each a 1-D pass instead of
            # a broadcast over rows of 3, ``dst`` as float64 (the same value as its float32 below, promoted in
            # the product), and the whole pixels cast back at once (the alpha byte rounded and clipped as it is)
            px = image.reshape(-1).view(np.uint32)
            got = px.take(self.idx).view(np.uint8).reshape(-1, 4).astype(np.float64)
            keep = 1 - self.alpha
            out = np.empty_like(got)
            for ch in range(3):
                np.multiply(self.rgb[:, ch], 255, out=out[:, ch])
                out[:, ch] += got[:, ch] * keep
            out[:, 3] = got[:, 3]                                # (0..255 integers: rint and clip keep them)
            np.rint(out, out=out)
            np.clip(out, 0, 255, out=out)
            px[self.idx] = out.astype(np.uint8).view(np.uint32).reshape(-1)   # (distinct pixels: a put; ~3x faster)
            return
        if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4 and image.flags.c_contiguous:
            # RGBA: whole pixels as uint32 gathered and put back (the pixels are distinct), alpha bytes as read
            px = image.reshape(-1).view(np.uint32)
            got = px.take(self.idx).view(np.uint8).reshape(-1, 4)
            out = 255 * self.rgb + got[:, :3].astype(np.float32) * (1 - self.alpha)[:, None]
            np.rint(out, out=out)                                # (in place: the same values, no copies)
            np.clip(out, 0, 255, out=out)
            got[:, :3] = out
            px[self.idx] = got.view(np.uint32).reshape(-1)
            return
        flat = image.reshape(-1, image.shape[2])
        dst = flat[self.idx, :3].astype(np.float32)
        out = 255 * self.rgb + dst * (1 - self.alpha)[:, None]
        flat[self.idx, :3] = np.rint(out).clip(0, 255).astype(np.uint8)


def _run_colours(wf: np.ndarray, vcolor: np.ndarray, vr: np.ndarray, run: np.ndarray, new_run: np.ndarray,
                 starts: np.ndarray, last_of_run: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """``(R, 3)``: per run (pixel) the sum of its contributions' weights ``wf: (C,)`` times their colours (the
    colour ``vcolor: (V,)`` of the stamp ``vr: (C,)`` of each, indices into ``palette: (P, 3)``); ``run: (C,)``
    each contribution's run (ascending), ``new_run: (C,)`` where one starts, ``starts: (R,)`` those places,
    ``last_of_run: (R,)`` the last contribution of each.

    With at most 16 colours the weights are summed per (run, colour) by ``bincount`` (in order, from 0), then
    multiplied by the palette (:func:`row_matmul`). Where no run mixes colours (as usual: one class a place)
    and the palette is finite, the same numbers without the ``(R, P)`` table: each run's weights summed by
    ``bincount`` (the same terms in the same order) times its colour elementwise, which is that row of the
    product exactly (its other terms are exact zeros, whatever the order or fusing of BLAS's sum). A run's
    contributions come in drawing order, so where the stamps' colours never decrease in drawing order (as the
    renderers draw them: colour by colour) a run mixes colours iff its first and last contributions differ:
    that is checked per run, without each contribution's colour."""
    R, P = len(starts), len(palette)
    if P <= 16 and len(vcolor) > 1 and bool(np.all(vcolor[1:] >= vcolor[:-1])):
        first = vcolor.take(vr.take(starts))
        if np.array_equal(first, vcolor.take(vr.take(last_of_run))) and np.isfinite(palette).all():
            return np.bincount(run, wf, minlength=R)[:, None] * palette.take(first, axis=0)
    cc = vcolor.take(vr)
    if P > 16:
        return np.add.reduceat(wf[:, None] * palette[cc], starts, axis=0)
    mixed = np.not_equal(cc[1:], cc[:-1])                        # a colour change inside a run
    mixed &= ~new_run[1:]
    if not mixed.any() and np.isfinite(palette).all():
        return np.bincount(run, wf, minlength=R)[:, None] * palette.take(cc.take(starts), axis=0)
    return row_matmul(np.bincount(run * P + cc, wf, minlength=R * P).reshape(-1, P), palette)


SEQUENTIAL_RUN = 8     # _run_sums: runs of at most this many terms summed left to right by np.add.reduceat


@lru_cache(maxsize=1)
def _reduceat_is_sequential() -> bool:
    """Whether ``np.add.reduceat`` sums a run of ``2..SEQUENTIAL_RUN`` float64 terms as its first term plus the
    others summed left to right (numpy's pairwise summation is a plain loop below 8 terms), checked once on
    random runs of every such length (:func:`_run_sums` relies on it; else it calls ``reduceat``)."""
    rng = np.random.default_rng(0)
    lens = np.tile(np.arange(1, SEQUENTIAL_RUN + 1), 64)
    x = -rng.exponential(rng.uniform(0.01, 30, lens.sum()))
    starts = np.r_[0, np.cumsum(lens)[:-1]]
    run = np.repeat(np.arange(len(lens)), lens)
    rest = x.copy()
    rest[starts] = 0.0
    want = np.add.reduceat(x, starts)
    got = np.bincount(run, rest, minlength=len(lens)) + x.take(starts)
    return want.tobytes() == got.tobytes()


def _run_sums(x: np.ndarray, starts: np.ndarray, ends: np.ndarray, run: np.ndarray) -> np.ndarray:
    """``np.add.reduceat(x, starts)`` (float64) for runs ``starts[i]:ends[i]`` covering ``x`` in order (``run``:
    each term's run), the same bits at a fraction of its per-run cost: ``reduceat`` adds to a run's first term
    the sum of the others, which numpy sums left to right below 8 terms, as ``bincount`` sums (from 0, in
    order; the first terms zeroed: ``0 + 0 = 0``, ``0 + a = a``); runs of more terms (few) by ``reduceat``
    itself, the same segments on their own. ``x`` has no ``-0.0`` (a log transmittance: below 0, or +0)."""
    if not _reduceat_is_sequential():
        return np.add.reduceat(x, starts)
    rest = x.copy()
    rest[starts] = 0.0
    out = np.bincount(run, rest, minlength=len(starts))
    out += x.take(starts)
    long = np.flatnonzero(ends - starts > SEQUENTIAL_RUN)
    if len(long):
        cut = np.empty(2 * len(long), np.intp)                   # [start, end) of each long run: the even
        cut[0::2] = starts.take(long)                            # segments of reduceat (the last end left
        cut[1::2] = ends.take(long)                              # out where it is the array's end)
        out[long] = np.add.reduceat(x, cut[:-1] if cut[-1] == len(x) else cut)[0::2]
    return out


USE_NUMBA = True          # splat's compiled kernels (scenes.backends.raster_numba) where numba imports
NUMBA_MAX_GRID = 2**23    # ... on a grid (the points' box and a K-pixel margin) of at most this many pixels (4K fits;
                          # its scratch, kept per thread, is 16 bytes a grid pixel)
_NUMBA: list = []         # the kernels' module once imported (None: numba is missing)


def _numba_kernels():
    """:mod:`scenes.backends.raster_numba`, imported on first use (``None`` where numba cannot be imported, or
    refuses its kernels: numba raises ``RuntimeError`` for ``cache=True`` where it finds no writable cache
    folder, neither beside the module nor the user's)."""
    if not _NUMBA:
        try:
            from scenes.backends import raster_numba  # noqa: PLC0415
        except (ImportError, RuntimeError, OSError):
            raster_numba = None
        _NUMBA.append(raster_numba)
    return _NUMBA[0]


def splat(xy: np.ndarray, color: np.ndarray, palette: np.ndarray, width: int, height: int, radius: float,
          ring: float = 0.0, ring_rgb: np.ndarray | None = None, order: np.ndarray | None = None) -> Splat | None:
    """Rasterise points in drawing order.

    ``xy: (n, 2)`` pixel coordinates (x to the right, y down, pixel ``(i, j)`` spanning ``[i, i+1) x [j, j+1)``;
    a point is drawn centred on the pixel that contains it); ``color: (n,)`` indices into ``palette: (k, 3)``
    (fill colours in 0..1); ``radius``, ``ring`` in pixels (see :func:`stamp`); ``ring_rgb: (3,)`` (default
    black); ``order: (n,)`` distinct integers, the drawing order (larger is drawn later; default: as given).
    Points whose stamp misses the image are dropped. Returns ``None`` when nothing is drawn.

    With numba (:data:`USE_NUMBA`) by :func:`_splat_numba`, else (and for what it leaves out) by
    :func:`_splat_numpy`: the same bytes.
    """
    kernels = _numba_kernels() if USE_NUMBA else None
    if kernels is not None:
        got = _splat_numba(kernels, xy, color, palette, width, height, radius, ring, ring_rgb, order)
        if got is not _LEFT_OUT:
            return got
    return _splat_numpy(xy, color, palette, width, height, radius, ring, ring_rgb, order)


_LEFT_OUT = object()      # _splat_numba: not made here (numpy's splat makes it)
COVER_PER_STAMP = 4       # _cover: contributions a stamp its lists are sized for at first (grown where more)
LIST_MAX = 2**31 - 1      # ... up to this many (int32 indices), numpy's splat beyond


def _splat_numba(kernels, xy, color, palette, width, height, radius, ring, ring_rgb, order):
    """:func:`splat` by the kernels of :mod:`scenes.backends.raster_numba` (``kernels``), the same arrays as
    :func:`_splat_numpy` bit for bit, or ``_LEFT_OUT`` where numpy's splat is left to make it: an order or colours
    not one per point, colours outside the palette (numpy's indexing decides), a grid beyond
    :data:`NUMBA_MAX_GRID`, a drawing order whose packed sort key would not fit in an int64, a stamp that covers
    nothing. ``exp``, ``expm1``, the palette product and the runs of more than :data:`SEQUENTIAL_RUN` terms stay
    numpy's, between the kernels (:func:`_numba_floats`)."""
    xy = np.ascontiguousarray(np.asarray(xy, dtype=float).reshape(-1, 2))
    n = len(xy)
    if n == 0:
        return None
    st = stamp(radius, ring)
    color = np.asarray(color, dtype=np.int64).reshape(-1)
    work = kernels.WORK
    if order is None:
        key = color[:0]
    else:
        key = np.asarray(order)
        if key.shape != (n,):
            return _LEFT_OUT
        if key.dtype == np.int32:                                # (the same integers, in scratch: no page faults)
            wide = work.buf("key", n, np.int64)[:n]
            np.copyto(wide, key)
            key = wide
        else:
            key = np.asarray(order, dtype=np.int64)
    if len(color) < n or n >= 2**31 - 1 or not all(isinstance(v, int | np.integer) for v in (width, height)):
        return _LEFT_OUT
    width0, height0 = width, height
    width, height, K = int(width), int(height), st.K
    m, x0, x1, y0, y1 = kernels.bounds(xy, width, height, K)
    if m == 0:
        return None
    gx0, gy0 = x0 - K, y0 - K
    gw, gh = x1 + K + 1 - gx0, y1 + K + 1 - gy0
    if gw * gh > NUMBA_MAX_GRID:
        return _LEFT_OUT
    palette = np.asarray(palette, dtype=float).reshape(-1, 3)
    g = None
    if ring > 0:
        g = np.zeros(3) if ring_rgb is None else np.asarray(ring_rgb, dtype=float)
        if g.shape != (3,):
            return _LEFT_OUT
    if len(palette) == 0:
        return _LEFT_OUT
    full, reach, sidx = _stamp_offsets(radius, ring, gw)
    done = False
    try:
        kept, k, pos, d, top, ra, upos, ucolor = (
            work.buf(name, m, np.int64) for name in ("kept", "k", "pos", "d", "top", "ra", "upos", "ucolor"))
        status, U = kernels.stamps(xy, width, height, K, key, order is not None, color, len(palette), gx0, gy0, gw,
                                   work.grid("win", gw * gh, _INFO[np.int64].min, np.int64), kept, k, pos, d, top,
                                   ra, upos, ucolor)
        if status != kernels.OK:
            done = True
            return _LEFT_OUT
        base, head = work.grid("base", gw * gh, -1), work.grid("head", gw * gh, -1)
        made = _cover(kernels, work, upos, ucolor, U, full, reach, sidx, base, head)
        if made is None:
            done = True
            return _LEFT_OUT
        R, C = made
        nxt, ts, tc = (work.bufs[name] for name in ("nxt", "ts", "tc"))
        if C == 0:   # (a stamp covering nothing: numpy's splat fails as it does)
            done = True
            return _LEFT_OUT
        runpix, starts = work.buf("runpix", R, np.int64), work.buf("starts", R + 1, np.int64)
        cs, cc = work.buf("cs", C, np.int32), work.buf("cc", C, np.int32)
        log_t, above = work.buf("log_t", C, np.float64), work.buf("above", C, np.float64)
        seg, long = work.buf("seg", R, np.float64), work.buf("long", R, np.int64)
        L = kernels.emit(head, nxt, ts, tc, 0, gh - 1, 0, gw - 1, gw, st.log_t, SEQUENTIAL_RUN, runpix, starts, cs,
                         cc, log_t, above, seg, long)
        done = True
    finally:
        if not done:    # (interrupted: the grids may not be clean)
            work.drop_grids()
    return _numba_floats(kernels, work, st, R, C, runpix, starts, cs, cc, log_t, above, seg, long[:L], palette, g,
                         gx0, gy0, gw, width0, height0)


def _cover(kernels, work, upos, ucolor, U, full, reach, sidx, base, head) -> tuple[int, int] | None:
    """:func:`scenes.backends.raster_numba.cover` into the scratch lists ``nxt, ts, tc`` (``work``), made longer
    (doubled, what is listed kept) where they fill up: sized at first for :data:`COVER_PER_STAMP` contributions a
    stamp (a dense cloud at 720p has 3 to 4) -> ``(R, C)``, or ``None`` (the grids dropped) beyond
    :data:`LIST_MAX` of them."""
    cap = COVER_PER_STAMP * U + len(reach)
    lists = [work.buf(name, cap, np.int32) for name in ("nxt", "ts", "tc")]
    v, R, C = kernels.cover(upos, ucolor, U, 0, full, reach, sidx, base, head, *lists, 0, 0)
    while v < U:
        if 2 * len(lists[0]) > LIST_MAX:       # (list indices in int32: left to numpy's splat)
            work.drop_grids()
            return None
        for name, old in zip(("nxt", "ts", "tc"), lists, strict=True):
            work.bufs[name] = np.empty(2 * len(old), np.int32)
            work.bufs[name][:C] = old[:C]
        lists = [work.bufs[name] for name in ("nxt", "ts", "tc")]
        v, R, C = kernels.cover(upos, ucolor, U, v, full, reach, sidx, base, head, *lists, R, C)
    return R, C


def _numba_floats(kernels, work, st, R, C, runpix, starts, cs, cc, log_t, above, seg, long, palette, g, gx0, gy0,
                  gw, width, height):
    """The float part of :func:`_splat_numba`: the ``C`` contributions of its ``R`` runs (``runpix, starts, cs,
    cc``: their first ``R`` / ``C`` entries) with their log sums (``log_t, above``; ``seg: (R,)`` but for the runs
    ``long``, summed here) composited as :func:`_splat_numpy` composites them (``g: (3,)`` the ring colour, or
    ``None``: no ring) -> the ``Splat`` (``width, height`` as given)."""
    log_t, seg = log_t[:C], seg[:R]
    if not _reduceat_is_sequential():
        seg[:] = np.add.reduceat(log_t, starts[:R])
    elif len(long):
        cut = np.empty(2 * len(long), np.intp)                   # as _run_sums: the long runs' own segments
        cut[0::2] = starts.take(long)
        cut[1::2] = starts.take(long + 1)
        seg[long] = np.add.reduceat(log_t, cut[:-1] if cut[-1] == C else cut)[0::2]
    ew = work.buf("ew", C, np.float64)
    np.exp(above[:C], out=ew[:C])
    wf, sr = work.buf("wf", C, np.float64), work.buf("sr", R, np.float64)
    has_ring = g is not None
    out_rgb = np.empty((R, 3))
    mixed = kernels.weights(ew, above, LOG_OPAQUE, cs, cc, starts, R, st.fill, st.ring, has_ring,
                            np.ascontiguousarray(palette), g if has_ring else palette[0], wf, sr, out_rgb)
    P = len(palette)
    if P > 16 or mixed or not np.isfinite(palette).all():   # (else each run's one colour times its weight)
        if P > 16:
            out_rgb = np.add.reduceat(wf[:C, None] * palette[cc[:C]], starts[:R], axis=0)
        else:
            out_rgb = row_matmul(kernels.colour_table(wf, cc, starts, R, P), palette)
        if has_ring:
            out_rgb += sr[:R, None] * g[None, :]
    em1 = work.buf("em1", R, np.float64)
    np.expm1(seg, out=em1[:R])
    idx, out_a, inside, n_in = kernels.finish(seg, em1, LOG_OPAQUE, runpix, R, gx0, gy0, gw, int(width),
                                             int(height))
    if n_in == 0:
        return None
    if n_in == R:
        return Splat(width, height, idx, out_rgb, out_a)
    return Splat(width, height, idx[inside], np.compress(inside, out_rgb, axis=0), out_a[inside])


@lru_cache(maxsize=64)
def _stamp_offsets(radius: float, ring: float, gw: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The stamp's pixels as flat offsets from its centre on a grid ``gw`` wide (int64): its full-cover pixels
    ``(f,)``, its pixels of nonzero alpha ``(a,)``, and those pixels' flat indices into the stamp ``(a,)``."""
    st = stamp(radius, ring)
    full, sidx = np.flatnonzero(st.alpha >= 1.0), np.flatnonzero(st.alpha > 0)
    fdy, fdx = np.divmod(full, st.side)
    ady, adx = np.divmod(sidx, st.side)
    return (fdy - st.K) * gw + (fdx - st.K), (ady - st.K) * gw + (adx - st.K), sidx.astype(np.int64)


def _splat_numpy(xy: np.ndarray, color: np.ndarray, palette: np.ndarray, width: int, height: int, radius: float,
                 ring: float = 0.0, ring_rgb: np.ndarray | None = None,
                 order: np.ndarray | None = None) -> Splat | None:
    """:func:`splat` in numpy passes (the path without numba, and the reference of its kernels)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        return None
    st = stamp(radius, ring)
    K, side = st.K, st.side
    # every stamp meets the image iff the bounding box of the pixels does (floor is monotone: the floor of the
    # extrema is the extrema of the floors; a NaN makes the extrema NaN and the comparisons False: then point
    # by point, as for points off the image). The extrema of the whole array first (fast where a column's are
    # not), then of the columns in int32
    ext = None
    lo, hi = np.floor(xy.min()), np.floor(xy.max())
    if lo > -K - 1 and hi < max(width, height) + K and max(width, height) + K < 2**31 - 1:
        # (no coordinate below 0, as usual: the cast's truncation is the floor)
        ixy = (xy if lo >= 0 else np.floor(xy)).astype(np.int32)
        ix, iy = ixy[:, 0], ixy[:, 1]
        ext = int(ix.min()), int(ix.max()), int(iy.min()), int(iy.max())
    if ext is not None and ext[1] < width + K and ext[3] < height + K:   # (as usual) no selection
        kept = None
    else:
        fxy = np.floor(xy)
        x, y = fxy[:, 0], fxy[:, 1]
        ok = (x > -K - 1) & (x < width + K) & (y > -K - 1) & (y < height + K)   # False for NaN and infinities
        if not ok.any():
            return None
        kept = np.flatnonzero(ok)
        ixy = fxy[kept].astype(np.int64)
        ix, iy = ixy[:, 0], ixy[:, 1]
        ext = int(ix.min()), int(ix.max()), int(iy.min()), int(iy.max())
    n = len(ix)
    if order is None:
        key = np.arange(n)
        ordered = True
    else:
        key = np.asarray(order)
        if key.dtype != np.int32:                                # (int32 keys kept: the same integers)
            key = np.asarray(order, dtype=np.int64)
        key = key if kept is None else key[kept]
        ordered = None                                           # checked below (a pass over the keys)
    # a grid with a K-pixel margin around the points' bounding box: every stamp pixel lands inside it
    gx0, gy0 = ext[0] - K, ext[2] - K
    gw, gh = ext[1] + K + 1 - gx0, ext[3] + K + 1 - gy0
    on_image = gx0 >= 0 and gy0 >= 0 and gx0 + gw <= width and gy0 + gh <= height   # every stamp pixel
    # the grids and indices in int32 where everything fits (half the memory traffic; the same integers)
    k_lo, k_hi = (0, n - 1) if order is None else (int(key.min()), int(key.max()))
    small = gw * gh < 2**31 - 1 and len(xy) < 2**31 - 1 and k_lo > -2**31 and k_hi < 2**31 - 1
    it = np.int32 if small else np.int64
    # each point's grid pixel in intp, the index type of the scatter and gathers below (no conversions there)
    pos = iy - np.intp(gy0)
    pos *= gw
    pos += ix
    pos -= gx0
    key = key.astype(it, copy=False).view(it)   # (the view: numpy's own int dtype, whose fast ufunc.at loop applies)
    # repeats at one pixel: the last one drawn covers the others (same stamp, same place). ``last`` holds the
    # largest key at each position; the point that holds it is the one kept there (keys are distinct)
    last = np.full(gw * gh, _INFO[it].min, it)
    np.maximum.at(last, pos, key)
    top = (key == last.take(pos)).nonzero()[0]                  # one point per distinct position, in array order
    if ordered is None:
        ordered = bool(np.all(key[1:] > key[:-1]))
    if not ordered:   # into drawing order: one sort of (key, index) packed in an int64 (the keys are distinct)
        b_t = max(int(len(top) - 1).bit_length(), 1)
        packed = (key.take(top).astype(np.int64) - k_lo) << b_t
        packed += np.arange(len(top))
        packed.sort()
        top = top.take(packed & ((1 << b_t) - 1))
    upos = pos.take(top).astype(it, copy=False)                  # distinct positions in drawing order
    palette = np.asarray(palette, dtype=float).reshape(-1, 3)
    color = np.asarray(color, dtype=np.int64).reshape(-1)
    ucolor = color[top if kept is None else kept.take(top)]     # palette index per distinct position
    # the culling grids on the rows and columns that some stamp reaches only: every stamp's box stays whole
    # and in place, and a stamp that covers a pixel fully is still found at the same offset from it (the
    # first and last K rows and columns of each block of reached ones hold no centre): the same integers on a
    # grid a few times smaller where the cloud falls apart in clusters (the order of pixels is kept)
    uy, ux = np.divmod(upos, gw)
    rows, cols = _reached(uy, gh, K), _reached(ux, gw, K)
    if len(rows) < gh or len(cols) < gw:
        rmap, cmap = np.zeros(gh, it), np.zeros(gw, it)
        rmap[rows], cmap[cols] = np.arange(len(rows)), np.arange(len(cols))
        gh, gw = len(rows), len(cols)
        upos = rmap.take(uy)
        upos *= gw
        upos += cmap.take(ux)
    else:
        rows = cols = None
    U, SS = len(upos), side * side
    rank = np.arange(U, dtype=it)
    # every (stamp, stamp pixel) pair that covers something: (U, S) pixel indices
    sidx = np.flatnonzero(st.alpha > 0)
    dy, dx = np.divmod(sidx, side)
    off = ((dy - K) * gw + (dx - K)).astype(it)
    # a pixel shows nothing from below the last stamp that covers it fully: drop those contributions.
    # base[p] = max rank of the stamps covering flat pixel p fully = max over the full offsets o of
    # R[p - o], R the rank at each distinct position (-1 elsewhere) (:func:`_footprint`)
    rt = np.int16 if U < 2**15 - 1 else it                       # ranks in int16 where they fit (same integers)
    R = np.full(gw * gh, -1, rt)
    R[upos] = rank
    base = _footprint(np.maximum, R, st.alpha >= 1.0, K, gw, -1)
    # a stamp whose every pixel lies under a later stamp that covers it fully shows nothing (in a dense cloud
    # most do): the lowest base over its pixels, at its centre, is above its rank
    rt_rank = rank.astype(rt)
    shows = (_footprint(np.minimum, base, st.alpha > 0, K, gw, _INFO[rt].max).take(upos) <= rt_rank).nonzero()[0]
    vpos = upos.take(shows)                                       # (V,) centres of the stamps that show
    # (S, V): pixel of each pair of those that show, stamp pixel by stamp pixel (broadcasts along the long axis)
    q = off[:, None] + vpos[None, :]
    visible = base.take(q) <= shows.astype(rt)[None, :]           # not under a later stamp that covers it fully
    # painter's algorithm on what is left: sort by (pixel, drawing order, stamp pixel), composite each pixel's
    # run. A stamp covers a pixel at one stamp pixel only, so (pixel, rank among those that show) orders them
    # all; packed in one integer (bit fields: the same order as the pair; the pairs distinct, so the same
    # sorted keys whatever order they are made in), the stamp pixel found again from the pixel's offset from
    # the stamp's centre
    V = len(shows)
    b_v, b_q = max(int(V - 1).bit_length(), 1), int(gw * gh - 1).bit_length()
    b_s = max(int(SS - 1).bit_length(), 1)
    if b_q + b_v <= PACK_BITS[0]:
        # pixel (q >= 0: every stamp lies inside the grid, so int32 bits are the uint32's) shifted, plus the
        # stamp's column in q: made for every pair (two passes along the long axis), then the visible ones
        # taken (a take: ~4x faster than a boolean mask here)
        key = q.view(np.uint32) << np.uint32(b_v) if q.dtype == np.int32 else q.astype(np.uint32) << np.uint32(b_v)
        key += np.arange(V, dtype=np.uint32)
        key = key.reshape(-1).take(visible.reshape(-1).nonzero()[0])
        key.sort()
        # rank among the stamps that show, grid pixel: below 2^31, so the uint32 bits are the int32's
        vr = (key & np.uint32((1 << b_v) - 1)).view(np.int32)
        cpos = (key >> np.uint32(b_v)).view(np.int32)
        # the stamp's tables by flat offset from the centre (+ K gw + K), so that a contribution's entries are
        # read by that offset at once (the same entries as by its stamp pixel)
        at_off = off.astype(np.intp) + (K * gw + K)
        tables = []
        for tab in (st.log_t, st.fill, st.ring)[:3 if ring > 0 else 2]:
            by_off = np.zeros(2 * (K * gw + K) + 1)
            by_off[at_off] = tab.take(sidx)
            tables.append(by_off)
        cs = vpos.take(vr).astype(np.int32, copy=False)           # (cpos - vpos[vr] + K gw + K: in int32)
        np.subtract(cpos, cs, out=cs)
        cs += np.int32(K * gw + K)
    elif b_q + b_v + b_s <= PACK_BITS[1]:
        # (q << (b_v + b_s)) + (rank << b_s) + stamp pixel as one sum of a per-stamp and a per-stamp-pixel part
        per_stamp = (vpos.astype(np.int64) << (b_v + b_s)) + (np.arange(V, dtype=np.int64) << b_s)
        per_pixel = (off.astype(np.int64) << (b_v + b_s)) + sidx       # (off < 0: a multiple of 2^(b_v + b_s))
        key = (per_pixel[:, None] + per_stamp[None, :]).reshape(-1).take(np.flatnonzero(visible))
        key.sort()
        cs = key & ((1 << b_s) - 1)                              # stamp pixel (flat index into the stamp)
        tables = [st.log_t, st.fill, st.ring]
        vr = (key >> b_s) & ((1 << b_v) - 1)                     # rank among the stamps that show
        cpos = key >> (b_v + b_s)                                # grid pixel
    else:   # (grids and clouds beyond any screen) the same order by a lexicographic sort
        ks, kv = np.nonzero(visible)
        cp = q[ks, kv].astype(np.int64)
        o = np.lexsort((sidx[ks], kv, cp))
        cs, vr, cpos = sidx[ks][o], kv[o], cp[o]
        tables = [st.log_t, st.fill, st.ring]
    vcolor = ucolor.take(shows)                                  # palette index per stamp that shows
    log_t = tables[0].take(cs)                                   # log(1 - alpha), floored: summable
    C = len(cpos)
    new_run = np.empty(C, bool)
    new_run[0] = True
    np.not_equal(cpos[1:], cpos[:-1], out=new_run[1:])
    starts = new_run.nonzero()[0]
    run = new_run.cumsum(dtype=np.intp)                          # run of each contribution (the same integers
    run -= 1                                                     # as cumsum - 1, in place)
    ends = np.empty(len(starts), np.intp)                        # one past each run's last contribution
    ends[:-1] = starts[1:]
    ends[-1] = C
    csum = log_t.cumsum()
    seg_total = _run_sums(log_t, starts, ends, run)              # np.add.reduceat(log_t, starts)
    last_of_run = ends - 1
    above = csum.take(last_of_run).take(run)                     # log transmittance of what lies above each
    above -= csum
    w = np.exp(above)                                            # under a fully covering stamp: hidden
    np.copyto(w, 0.0, where=above <= LOG_OPAQUE)
    wf = tables[1].take(cs)
    wf *= w                                                      # (w * fill: the same products)
    out_rgb = _run_colours(wf, vcolor, vr, run, new_run, starts, last_of_run, palette)
    if ring > 0:
        g = np.zeros(3) if ring_rgb is None else np.asarray(ring_rgb, dtype=float)
        wr = tables[2].take(cs)
        wr *= w
        out_rgb += np.bincount(run, wr, minlength=len(starts))[:, None] * g[None, :]
    out_a = np.where(seg_total <= LOG_OPAQUE, 1.0, -np.expm1(seg_total))
    hy, hx = np.divmod(cpos.take(starts).astype(np.int64, copy=False), gw)
    if rows is not None:
        hy, hx = rows.take(hy), cols.take(hx)
    px, py = hx + gx0, hy + gy0                                  # image pixel of each run
    if on_image:                                                 # (as usual) no selection
        return Splat(width, height, py * width + px, out_rgb, out_a)
    inside = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    if not inside.any():
        return None
    if inside.all():
        return Splat(width, height, py * width + px, out_rgb, out_a)
    return Splat(width, height, (py * width + px)[inside], np.compress(inside, out_rgb, axis=0), out_a[inside])
