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

Cost: O(points) to snap and merge repeats, O(distinct pixels x stamp area) to find, per pixel, the last stamp
covering it fully (``np.maximum.at``: nothing below it shows), then one sort of the few contributions left
(pixel, drawing order) and a segmented composite; no per-point Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

RASTER_MIN = 4000       # groups with at least this many points are rasterised here
SUPERSAMPLE = 8         # coverage of a stamp pixel: fraction of SUPERSAMPLE^2 sub-samples inside the disc
LOG_OPAQUE = -30.0      # log transmittance floor: a fully covering stamp (transmittance 0) counts as e^-30


@dataclass(frozen=True)
class Stamp:
    """Coverage tables of one marker on a ``(2K+1) x (2K+1)`` pixel box centred on a pixel centre.

    ``fill``: coverage of the inner (fill) disc, ``ring``: of the ring colour drawn below it; a pixel's
    premultiplied colour is ``fill * F + ring * G`` (fill colour ``F``, ring colour ``G``) and its alpha
    ``alpha = fill + ring``. All ``(2K+1)**2`` flat, row-major (dy, dx).
    """

    K: int
    fill: np.ndarray
    ring: np.ndarray
    alpha: np.ndarray

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
    return Stamp(K, fill, under, fill + under)


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
        if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4 and image.flags.c_contiguous:
            # RGBA: whole pixels as uint32 gathered and put back (the pixels are distinct), alpha bytes as read
            px = image.reshape(-1).view(np.uint32)
            got = px.take(self.idx).view(np.uint8).reshape(-1, 4)
            out = 255 * self.rgb + got[:, :3].astype(np.float32) * (1 - self.alpha)[:, None]
            got[:, :3] = np.rint(out).clip(0, 255).astype(np.uint8)
            px.put(self.idx, got.view(np.uint32).reshape(-1))
            return
        flat = image.reshape(-1, image.shape[2])
        dst = flat[self.idx, :3].astype(np.float32)
        out = 255 * self.rgb + dst * (1 - self.alpha)[:, None]
        flat[self.idx, :3] = np.rint(out).clip(0, 255).astype(np.uint8)


def splat(xy: np.ndarray, color: np.ndarray, palette: np.ndarray, width: int, height: int, radius: float,
          ring: float = 0.0, ring_rgb: np.ndarray | None = None, order: np.ndarray | None = None) -> Splat | None:
    """Rasterise points in drawing order.

    ``xy: (n, 2)`` pixel coordinates (x to the right, y down, pixel ``(i, j)`` spanning ``[i, i+1) x [j, j+1)``;
    a point is drawn centred on the pixel that contains it); ``color: (n,)`` indices into ``palette: (k, 3)``
    (fill colours in 0..1); ``radius``, ``ring`` in pixels (see :func:`stamp`); ``ring_rgb: (3,)`` (default
    black); ``order: (n,)`` distinct integers, the drawing order (larger is drawn later; default: as given).
    Points whose stamp misses the image are dropped. Returns ``None`` when nothing is drawn.
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    st = stamp(radius, ring)
    K, side = st.K, st.side
    fxy = np.floor(xy)
    x, y = fxy[:, 0], fxy[:, 1]
    ok = (x > -K - 1) & (x < width + K) & (y > -K - 1) & (y < height + K)   # False for NaN and infinities
    if ok.all():     # (as usual) every point's stamp meets the image: no selection
        kept = None
        ixy = fxy.astype(np.int64)
    else:
        if not ok.any():
            return None
        kept = np.flatnonzero(ok)
        ixy = fxy[kept].astype(np.int64)
    ix, iy = ixy[:, 0], ixy[:, 1]
    n = len(ix)
    if order is None:
        key = np.arange(n)
    else:
        key = np.asarray(order, dtype=np.int64)
        key = key if kept is None else key[kept]
    # a grid with a K-pixel margin around the points' bounding box: every stamp pixel lands inside it
    gx0, gy0 = int(ix.min()) - K, int(iy.min()) - K
    gw, gh = int(ix.max()) + K + 1 - gx0, int(iy.max()) + K + 1 - gy0
    # the grids and indices in int32 where everything fits (half the memory traffic; the same integers)
    small = gw * gh < 2**31 - 1 and len(xy) < 2**31 - 1 and int(key.min()) > -2**31 and int(key.max()) < 2**31 - 1
    it = np.int32 if small else np.int64
    pos = iy - gy0
    pos *= gw
    pos += ix - gx0
    pos = pos.astype(it)
    key = key.astype(it)
    # repeats at one pixel: the last one drawn covers the others (same stamp, same place)
    last = np.full(gw * gh, np.iinfo(it).min, it)
    np.maximum.at(last, pos, key)
    upos = np.flatnonzero(last > np.iinfo(it).min).astype(it)
    ukey = last[upos]
    by_rank = np.argsort(ukey)
    upos, ukey = upos[by_rank], ukey[by_rank]                   # distinct positions in drawing order
    # the colour of the point drawn last at each distinct position
    top = np.flatnonzero(key == last[pos])
    winner = np.empty(gw * gh, it)                               # read only at the distinct positions
    winner[pos[top]] = top if kept is None else kept[top]
    palette = np.asarray(palette, dtype=float).reshape(-1, 3)
    ucolor = np.asarray(color, dtype=np.int64).reshape(-1)[winner[upos]]   # palette index per distinct position
    U, SS = len(upos), side * side
    rank = np.arange(U, dtype=it)
    # every (stamp, stamp pixel) pair that covers something: (U, S) pixel indices
    sidx = np.flatnonzero(st.alpha > 0)
    dy, dx = np.divmod(sidx, side)
    off = ((dy - K) * gw + (dx - K)).astype(it)
    # a pixel shows nothing from below the last stamp that covers it fully: drop those contributions.
    # base[p] = max rank of the stamps covering flat pixel p fully = max over the full offsets o of
    # R[p - o], R the rank at each distinct position (-1 elsewhere): shifted maxima of one image, the same
    # integers as a scatter-max of (upos + o) but without ufunc.at
    base = np.full(gw * gh, -1, it)
    R = np.full(gw * gh, -1, it)
    R[upos] = rank
    for o in off[st.alpha[sidx] >= 1.0].tolist():
        if o >= 0:
            np.maximum(base[o:], R[:len(R) - o], out=base[o:])
        else:
            np.maximum(base[:o], R[-o:], out=base[:o])
    kept_flat = np.flatnonzero(rank[:, None] >= base[upos[:, None] + off[None, :]])  # (2D nonzero is slower)
    ku, ks = np.divmod(kept_flat, len(sidx))                                          # kept (stamp, stamp pixel)
    # painter's algorithm on what is left: sort by (pixel, drawing order), composite each pixel's run
    key = np.sort(((upos[ku].astype(np.int64) + off[ks]) * U + ku) * SS + sidx[ks])
    cs = key % SS
    rest = key // SS
    crank, cpos = rest % U, rest // U
    a = st.alpha[cs]
    log_t = np.log(np.maximum(1.0 - a, np.exp(LOG_OPAQUE)))     # log transmittance (floored: summable)
    new_run = np.r_[True, cpos[1:] != cpos[:-1]]
    starts = np.flatnonzero(new_run)
    ends = np.r_[starts[1:], len(cpos)]
    csum = np.cumsum(log_t)
    seg_total = np.add.reduceat(log_t, starts)
    above = np.repeat(csum[ends - 1], ends - starts) - csum      # log transmittance of what lies above each
    w = np.where(above <= LOG_OPAQUE, 0.0, np.exp(above))       # under a fully covering stamp: hidden
    run = np.cumsum(new_run) - 1
    P, wf = len(palette), w * st.fill[cs]
    if P <= 16:   # few colours: weights summed per (run, palette colour), then one small matrix product
        out_rgb = np.bincount(run * P + ucolor[crank], wf, minlength=len(starts) * P).reshape(-1, P) @ palette
    else:
        out_rgb = np.add.reduceat(wf[:, None] * palette[ucolor[crank]], starts, axis=0)
    if ring > 0:
        g = np.zeros(3) if ring_rgb is None else np.asarray(ring_rgb, dtype=float)
        out_rgb += np.bincount(run, w * st.ring[cs], minlength=len(starts))[:, None] * g[None, :]
    out_a = np.where(seg_total <= LOG_OPAQUE, 1.0, -np.expm1(seg_total))
    hy, hx = np.divmod(cpos[starts], gw)
    px, py = hx + gx0, hy + gy0                                  # image pixel of each run
    inside = (px >= 0) & (px < width) & (py >= 0) & (py < height)
    if not inside.any():
        return None
    if inside.all():
        return Splat(width, height, py * width + px, out_rgb, out_a)
    return Splat(width, height, (py * width + px)[inside], np.compress(inside, out_rgb, axis=0), out_a[inside])
