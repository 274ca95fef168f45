"""The point splat as it was before its speed-up (geomdl 6a05ca8), kept verbatim as the reference that
``tests/test_raster.py`` compares :func:`scenes.backends.raster.splat` with, byte for byte: the stamp tables,
``_footprint`` and ``Splat`` are the module's own (``_footprint`` has its own offset-by-offset test)."""

from __future__ import annotations

import numpy as np

from scenes.backends.raster import LOG_OPAQUE, Splat, _footprint, stamp
from scenes.clips.base import row_matmul


def splat_reference(xy: np.ndarray, color: np.ndarray, palette: np.ndarray, width: int, height: int,
                    radius: float, ring: float = 0.0, ring_rgb: np.ndarray | None = None,
                    order: np.ndarray | None = None) -> Splat | None:
    """:func:`scenes.backends.raster.splat` as of 6a05ca8, verbatim (the path the current one must match byte
    for byte)."""
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
    # R[p - o], R the rank at each distinct position (-1 elsewhere) (:func:`_footprint`)
    rt = np.int16 if U < 2**15 - 1 else it                       # ranks in int16 where they fit (same integers)
    R = np.full(gw * gh, -1, rt)
    R[upos] = rank
    base = _footprint(np.maximum, R, st.alpha >= 1.0, K, gw, -1)
    # a stamp whose every pixel lies under a later stamp that covers it fully shows nothing (in a dense cloud
    # most do): the lowest base over its pixels, at its centre, is above its rank
    rt_rank = rank.astype(rt)
    shows = np.flatnonzero(_footprint(np.minimum, base, st.alpha > 0, K, gw, np.iinfo(rt).max)[upos] <= rt_rank)
    q = upos[shows][:, None] + off[None, :]                       # (V, S) pixel of each pair of those that show
    visible = base[q] <= rt_rank[shows][:, None]                  # not under a later stamp that covers it fully
    # painter's algorithm on what is left: sort by (pixel, drawing order, stamp pixel), composite each pixel's
    # run. The three packed in one int64 (bit fields: the same order as the product of their ranges)
    b_s, b_u = max(int(SS - 1).bit_length(), 1), max(int(U - 1).bit_length(), 1)
    if int(gw * gh - 1).bit_length() + b_u + b_s <= 62:
        # (q << (b_u + b_s)) + (rank << b_s) + stamp pixel as one sum of a per-stamp and a per-stamp-pixel part
        per_stamp = (upos[shows].astype(np.int64) << (b_u + b_s)) + (shows << b_s)   # (shows: the ranks)
        per_pixel = (off.astype(np.int64) << (b_u + b_s)) + sidx       # (off < 0: a multiple of 2^(b_u + b_s))
        key = np.sort((per_stamp[:, None] + per_pixel[None, :])[visible])
        cs = key & ((1 << b_s) - 1)                              # stamp pixel (flat index into the stamp)
        crank = (key >> b_s) & ((1 << b_u) - 1)                  # drawing rank of the stamp
        cpos = key >> (b_u + b_s)                                # grid pixel
    else:   # (grids and clouds beyond any screen) the same order by a lexicographic sort
        kv, ks = np.nonzero(visible)
        ku, cp = shows[kv], q[kv, ks].astype(np.int64)
        o = np.lexsort((sidx[ks], ku, cp))
        cs, crank, cpos = sidx[ks][o], ku[o].astype(np.int64), cp[o]
    log_t = st.log_t[cs]                                         # log(1 - alpha), floored: summable
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
        out_rgb = row_matmul(np.bincount(run * P + ucolor[crank], wf, minlength=len(starts) * P).reshape(-1, P),
                             palette)
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


def composite_reference(sp: Splat, image: np.ndarray) -> None:
    """``Splat.composite_over`` as of 6a05ca8, verbatim."""
    if image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 4 and image.flags.c_contiguous:
        px = image.reshape(-1).view(np.uint32)
        got = px.take(sp.idx).view(np.uint8).reshape(-1, 4)
        out = 255 * sp.rgb + got[:, :3].astype(np.float32) * (1 - sp.alpha)[:, None]
        got[:, :3] = np.rint(out).clip(0, 255).astype(np.uint8)
        px.put(sp.idx, got.view(np.uint32).reshape(-1))
        return
    flat = image.reshape(-1, image.shape[2])
    dst = flat[sp.idx, :3].astype(np.float32)
    out = 255 * sp.rgb + dst * (1 - sp.alpha)[:, None]
    flat[sp.idx, :3] = np.rint(out).clip(0, 255).astype(np.uint8)


def point_raster_set_points(self, xy, color, radius: float, ring: float) -> None:
    """``PointRaster.set_points`` as of 6a05ca8, verbatim (palette size from the renderer's module)."""
    from scenes.backends.mpl_renderer import PALETTE  # noqa: PLC0415

    if xy is None or len(xy) == 0:
        self.xy = None
        return
    self.xy = np.asarray(xy, dtype=float)
    self.color = np.asarray(color, dtype=np.int64) % len(PALETTE)
    self.order = self.color * len(self.xy) + np.arange(len(self.xy))
    self.radius, self.ring = radius, ring


def point_raster_draw(self, renderer) -> None:
    """``PointRaster.draw`` as of 6a05ca8, verbatim, with the reference splat and composite."""
    from scenes.backends.mpl_renderer import PALETTE_RGB  # noqa: PLC0415

    if self.xy is None or not self.get_visible():
        return
    W, H = int(renderer.width), int(renderer.height)
    pix = np.array(self.get_transform().transform(self.xy), dtype=float)
    pix[:, 0] += 0.5
    np.subtract(H, pix[:, 1], out=pix[:, 1])
    pix[:, 1] += 0.5
    sp = splat_reference(pix, self.color, PALETTE_RGB, W, H, self.radius, self.ring, self.ring_rgb, self.order)
    if sp is None:
        return
    composite_reference(sp, np.asarray(renderer.buffer_rgba()))
