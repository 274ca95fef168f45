"""numba kernels of :func:`scenes.backends.raster.splat`: its integer and index work and its sequential float sums
compiled, loop by loop instead of ~100 numpy passes; imported on the first splat (numba's import costs ~0.2 s,
which a render without large point clouds never pays), compiled once into numba's cache (``cache=True``).

The kernels compute what :func:`scenes.backends.raster._splat_numpy` computes, the same integers and the same
floating-point operations in the same order (no ``fastmath``):

- :func:`bounds`, :func:`stamps`: the points snapped, each pixel's point of the largest drawing key kept (the
  maximum on a grid), in drawing order (the keys as given where they increase, else an LSD radix sort of them:
  the order of numpy's packed (key, index) sort, keys being distinct; two stamps of one key are left to numpy);
- :func:`cover`: per pixel the rank of the last stamp covering it fully, and the (pixel, stamp) contributions not
  under it listed per pixel, latest first (a list head per pixel of the grid);
- :func:`emit`: the pixels in order, each one's list reversed (so in (pixel, drawing order) order, the order of
  numpy's sorted keys), with the log transmittances' running sum (``np.cumsum`` is sequential) and each run's sum
  as ``np.add.reduceat`` makes it below 9 terms (its first term plus the others from 0 left to right; the longer
  runs are summed by ``reduceat`` itself, in numpy);
- :func:`weights`, :func:`colour_table`: the weights' sums per run and per (run, colour) as ``np.bincount``
  makes them (from 0, in order), each run's sum times its one colour (and the ring's), elementwise as numpy.

What numpy computes with its own vector code stays numpy, between the kernels: ``exp``, ``expm1`` (they may differ
from libm's in the last bit), the palette product (BLAS, where a run mixes colours) and the ``reduceat`` sums.
``tests/test_splat_numba.py`` compares the two byte for byte.

Scratch arrays live in a per-thread :class:`Work` kept between calls (grown, never shrunk): a fresh array of a few
hundred kB costs its page faults on every call (the allocator hands large blocks back to the system), about as much
as the loops that fill it. Its grids are kept clean (their fill value everywhere) by the kernels, which undo what
they set; a call interrupted between kernels drops them.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit

OK, EMPTY, FALLBACK = 0, 1, 2      # status: made; nothing on the grid; left to numpy's splat
RADIX_BITS = 11                    # digits of the drawing-order radix sort (2048 buckets a pass)
_INT64_MIN = np.iinfo(np.int64).min
_u = np.uint64                     # an index known to be >= 0 as unsigned: no negative-index wraparound code


class Work(threading.local):
    """Per-thread scratch arrays by name, at least as long as asked (``buf``), and clean grids (``grid``)."""

    def __init__(self):
        self.bufs: dict[str, np.ndarray] = {}

    def buf(self, name: str, n: int, dtype) -> np.ndarray:
        """A scratch array of at least ``n`` entries (contents left over from earlier calls)."""
        b = self.bufs.get(name)
        if b is None or len(b) < n:
            b = np.empty(max(n, 2 * len(b) if b is not None else n, 1024), dtype)
            self.bufs[name] = b
        return b

    def grid(self, name: str, n: int, fill: int, dtype=np.int32) -> np.ndarray:
        """A grid of at least ``n`` entries (int32 or ``dtype``), all ``fill`` (the kernels leave it so)."""
        b = self.bufs.get(name)
        if b is None or len(b) < n:
            b = np.full(max(n, 2 * len(b) if b is not None else n), fill, dtype)
            self.bufs[name] = b
        return b

    def drop_grids(self) -> None:
        """Forget the grids (after a call that may have left them unclean)."""
        for name in ("win", "base", "head"):
            self.bufs.pop(name, None)


WORK = Work()


@njit(cache=True)
def _bit_length(v: int) -> int:
    """``int.bit_length`` of ``v >= 0``."""
    b = 0
    while v > 0:
        v >>= 1
        b += 1
    return b


@njit(cache=True)
def _radix_order(d: np.ndarray, idx: np.ndarray, tmp: np.ndarray, m: int, bits: int) -> np.ndarray:
    """``d[:m]`` int64 in ``0 .. 2**bits - 1`` -> its stable argsort (by value, then position) in ``idx`` or
    ``tmp`` (scratch, ``>= m`` each); returns the one holding it (its first ``m``)."""
    for i in range(m):
        idx[i] = i
    count = np.empty((1 << RADIX_BITS) + 1, np.int64)
    mask = (1 << RADIX_BITS) - 1
    shift = 0
    while shift < bits:
        count[:] = 0
        for i in range(m):
            count[((d[idx[i]] >> shift) & mask) + 1] += 1
        for b in range(1 << RADIX_BITS):
            count[b + 1] += count[b]
        for i in range(m):
            b = (d[idx[i]] >> shift) & mask
            tmp[count[b]] = idx[i]
            count[b] += 1
        idx, tmp = tmp, idx
        shift += RADIX_BITS
    return idx


@njit(cache=True)
def bounds(xy: np.ndarray, width: int, height: int, K: int) -> tuple:
    """``xy: (n, 2)`` -> ``(m, x_min, x_max, y_min, y_max)``: how many points have a stamp that may meet the image
    (the floor of each coordinate within ``K`` pixels of it; NaN and infinities fail) and their pixels' bounding
    box."""
    m = 0
    x0, x1, y0, y1 = np.inf, -np.inf, np.inf, -np.inf
    lo, hx, hy = float(-K - 1), float(width + K), float(height + K)
    for i in range(xy.shape[0]):
        fx, fy = np.floor(xy[i, 0]), np.floor(xy[i, 1])
        ok = fx > lo and fx < hx and fy > lo and fy < hy
        m += ok
        x0 = min(x0, fx) if ok else x0
        x1 = max(x1, fx) if ok else x1
        y0 = min(y0, fy) if ok else y0
        y1 = max(y1, fy) if ok else y1
    if m == 0:
        return 0, 0, -1, 0, -1
    return m, int(x0), int(x1), int(y0), int(y1)


@njit(cache=True)
def stamps(xy: np.ndarray, width: int, height: int, K: int, key: np.ndarray, has_key: bool, color: np.ndarray,
           n_colours: int, gx0: int, gy0: int, gw: int, win: np.ndarray, kept: np.ndarray, k: np.ndarray,
           pos: np.ndarray, d: np.ndarray, top: np.ndarray, ra: np.ndarray, upos: np.ndarray,
           ucolor: np.ndarray) -> tuple:
    """The stamps to draw, in drawing order: of the points :func:`bounds` counts (``xy: (n, 2)``), at each grid
    pixel (origin ``gx0, gy0``, ``gw`` wide) the one holding its largest drawing key (``key: (n,)`` int64 where
    ``has_key``, else the order given), by key -> their grid pixels in ``upos`` and colours (``color`` at the point)
    in ``ucolor`` -> ``(status, U)``. ``FALLBACK`` where a colour is outside ``0 .. n_colours - 1``, two stamps
    have one key (numpy's splat orders them by position) or the splat's packed sort key ``(key - min) <<
    bits(U - 1)`` would not fit in an int64 (numpy's splat decides those). ``win``: a clean grid of int64 minima,
    left clean; ``kept, k, pos, d, top, ra``: scratch (``>= m``, as ``upos`` and ``ucolor``)."""
    lo_x, hx, hy = float(-K - 1), float(width + K), float(height + K)
    ordered = True
    lo, hi = 0, 0
    m = 0
    for i in range(xy.shape[0]):
        fx, fy = np.floor(xy[i, 0]), np.floor(xy[i, 1])
        if fx > lo_x and fx < hx and fy > lo_x and fy < hy:
            kj = key[i] if has_key else m
            if m == 0:
                lo, hi = kj, kj
            else:
                ordered &= kj > k[m - 1]
                lo, hi = min(lo, kj), max(hi, kj)
            p = (int(fy) - gy0) * gw + (int(fx) - gx0)
            q = _u(m)
            kept[q], k[q], pos[q] = i, kj, p
            q = _u(p)
            win[q] = max(win[q], kj)
            m += 1
    U = 0
    for j in range(m):                                           # (every point holding its pixel's largest key)
        kj = k[_u(j)]
        if kj == win[_u(pos[_u(j)])]:
            top[_u(U)] = j
            d[_u(U)] = kj - lo
            U += 1
    for j in range(m):
        win[_u(pos[_u(j)])] = _INT64_MIN
    span = hi - lo
    bits = _bit_length(span)
    if lo == _INT64_MIN or span < 0 or (not ordered and bits + max(_bit_length(U - 1), 1) > 63):
        return FALLBACK, U
    if not ordered:                                              # (else in drawing order as they are)
        by = _radix_order(d, ra, upos, U, bits)                  # (upos: scratch until set below)
        for i in range(1, U):
            if d[by[i]] == d[by[i - 1]]:                         # (two stamps of one key)
                return FALLBACK, U
        for i in range(U):
            ucolor[i] = top[by[i]]
        for i in range(U):
            top[i] = ucolor[i]
    for v in range(U):
        j = top[v]
        c = color[kept[j]]
        if c < 0 or c >= n_colours:
            return FALLBACK, U
        ucolor[v] = c
        upos[v] = pos[j]
    return OK, U


@njit(cache=True)
def cover(upos: np.ndarray, ucolor: np.ndarray, U: int, v0: int, full: np.ndarray, reach: np.ndarray,
          sidx: np.ndarray, base: np.ndarray, head: np.ndarray, nxt: np.ndarray, ts: np.ndarray, tc: np.ndarray,
          R: int, C: int) -> tuple:
    """Stamps centred at ``upos[:U]`` (grid pixels, drawing order) of colours ``ucolor``: ``base`` (a clean grid,
    -1) set to the rank of the last stamp covering each pixel fully (offsets ``full: (f,)``; when ``v0 == 0``),
    then the contributions not below it (offsets ``reach: (a,)``, the stamp pixels of nonzero alpha, ``sidx``
    their flat indices into the stamp) of the stamps from ``v0`` on listed per pixel, latest first, after the
    ``C`` listed before (at ``R`` pixels): ``head`` (a clean grid, -1, where none is listed yet) the last one at each
    pixel, ``nxt`` the one before it, ``ts, tc`` its stamp pixel and colour -> ``(v, R, C)``: the stamps listed up
    to ``v`` (``U``: all; less where the lists are full: to go on from ``v`` with longer ones), at ``R`` pixels,
    ``C`` contributions. ``base`` left clean once all are listed."""
    if v0 == 0:
        for v in range(U):
            c = upos[_u(v)]
            for o in full:
                base[_u(c + o)] = v                              # (ranks increasing: the maximum)
    a = len(reach)
    cap = min(len(nxt), len(ts), len(tc))
    for v in range(v0, U):
        if C + a > cap:
            return v, R, C
        c, col = upos[_u(v)], ucolor[_u(v)]
        for i in range(a):
            p = _u(c + reach[_u(i)])                             # (indices >= 0: unsigned, no wraparound)
            if base[p] <= v:
                h = head[p]
                R += h < 0
                q = _u(C)
                nxt[q], ts[q], tc[q] = h, sidx[_u(i)], col
                head[p] = C
                C += 1
    for v in range(U):
        c = upos[_u(v)]
        for o in full:
            base[_u(c + o)] = -1
    return U, R, C


@njit(cache=True)
def emit(head: np.ndarray, nxt: np.ndarray, ts: np.ndarray, tc: np.ndarray, y0: int, y1: int, x0: int, x1: int,
         gw: int, log_tab: np.ndarray, sequential: int, runpix: np.ndarray, starts: np.ndarray, cs: np.ndarray,
         cc: np.ndarray, log_t: np.ndarray, above: np.ndarray, seg: np.ndarray, long: np.ndarray) -> int:
    """The contributions :func:`cover` listed, by grid pixel (in rows ``y0..y1``, columns ``x0..x1``: every
    stamp's), each pixel's in drawing order (its list reversed): each run's grid pixel in ``runpix`` (ascending),
    where its contributions start in ``starts`` (then ``C``), each contribution's stamp pixel in ``cs`` and its
    stamp's colour in ``cc``; and their log sums: each contribution's log transmittance ``log_t`` (its stamp
    pixel's, ``log_tab[cs]``), the log transmittance above it in its run ``above`` (``csum[last of run] - csum``,
    ``csum`` the running sum of ``log_t`` left to right, as ``np.cumsum``), each run's sum ``seg`` as
    ``np.add.reduceat`` makes it up to ``sequential`` terms (its first term plus the others summed from 0 left to
    right, as ``_run_sums``) and the runs of more terms in ``long`` (their ``seg`` left to ``reduceat``) -> how
    many of those. ``head`` left clean."""
    r, acc, L = 0, 0, 0
    run_sum = 0.0
    for y in range(y0, y1 + 1):
        for p in range(y * gw + x0, y * gw + x1 + 1):
            h = head[_u(p)]
            if h < 0:
                continue
            head[_u(p)] = -1
            runpix[_u(r)], starts[_u(r)] = p, acc
            b = acc
            while h >= 0:                                        # (latest first)
                q = _u(h)
                cs[_u(b)], cc[_u(b)] = ts[q], tc[q]
                h = nxt[q]
                b += 1
            i, j = acc, b - 1
            while i < j:
                cs[i], cs[j] = cs[j], cs[i]
                cc[i], cc[j] = cc[j], cc[i]
                i += 1
                j -= 1
            for j in range(acc, b):
                q = _u(j)
                x = log_tab[_u(cs[q])]
                log_t[q] = x
                run_sum = x if j == 0 else run_sum + x
                above[q] = run_sum                               # (the running sum, until the run's end)
            s = 0.0
            for j in range(acc, b):
                q = _u(j)
                above[q] = run_sum - above[q]
                if j > acc:
                    s += log_t[q]
            seg[r] = s + log_t[acc]
            if b - acc > sequential:
                long[L] = r
                L += 1
            acc = b
            r += 1
    starts[r] = acc
    return L


@njit(cache=True)
def weights(ew: np.ndarray, above: np.ndarray, floor: float, cs: np.ndarray, cc: np.ndarray, starts: np.ndarray,
            R: int, fill_tab: np.ndarray, ring_tab: np.ndarray, has_ring: bool, palette: np.ndarray,
            g: np.ndarray, wf: np.ndarray, sr: np.ndarray, rgb: np.ndarray) -> bool:
    """Each contribution's weight ``w`` (``ew`` = ``exp(above)``, 0 where ``above <= floor``; ``cc`` its colour)
    times its stamp pixel's fill coverage in ``wf``; per run the sum of ``wf`` from 0 in order (``np.bincount``'s)
    times its first contribution's colour in ``palette: (P, 3)``, in ``rgb: (R, 3)``; with ``has_ring`` the sum
    of ``w`` times the ring coverage in ``sr``, and ``rgb`` plus it times ``g: (3,)`` (each product rounded, then
    the sum: numpy's ``rgb += sr[:, None] * g``) -> whether some run mixes colours (then ``rgb`` is not the
    colours)."""
    mixed = False
    for r in range(R):
        a, b = starts[r], starts[r + 1]
        c0 = cc[a]
        s, t = 0.0, 0.0
        for j in range(a, b):
            q = _u(j)
            w = 0.0 if above[q] <= floor else ew[q]
            x = fill_tab[_u(cs[q])] * w
            wf[q] = x
            s += x
            if has_ring:
                t += ring_tab[_u(cs[q])] * w
            mixed |= cc[q] != c0
        sr[r] = t
        for ch in range(3):
            x = s * palette[c0, ch]
            if has_ring:
                x = x + t * g[ch]
            rgb[r, ch] = x
    return mixed


@njit(cache=True)
def colour_table(wf: np.ndarray, cc: np.ndarray, starts: np.ndarray, R: int, P: int) -> np.ndarray:
    """``(R, P)``: per (run, colour) the sum of the weights ``wf`` from 0 in order (``np.bincount`` of
    ``run * P + colour``)."""
    out = np.zeros((R, P))
    for r in range(R):
        for j in range(starts[r], starts[r + 1]):
            out[r, cc[j]] += wf[j]
    return out


@njit(cache=True)
def finish(seg: np.ndarray, em1: np.ndarray, floor: float, runpix: np.ndarray, R: int, gx0: int, gy0: int, gw: int,
           width: int, height: int) -> tuple:
    """``(idx (R,), alpha (R,), inside (R,), n_inside)``: each run's flat image pixel (``runpix`` on the grid at
    ``gx0, gy0``, ``gw`` wide), alpha (1 where ``seg <= floor``, else ``-em1``, ``em1 = expm1(seg)``), whether it
    is on the image and how many are."""
    idx = np.empty(R, np.int64)
    alpha = np.empty(R)
    ok = np.empty(R, np.bool_)
    n = 0
    for r in range(R):
        hy, hx = divmod(runpix[r], gw)
        px, py = hx + gx0, hy + gy0
        idx[r] = py * width + px
        alpha[r] = 1.0 if seg[r] <= floor else -em1[r]
        ok[r] = px >= 0 and px < width and py >= 0 and py < height
        n += ok[r]
    return idx, alpha, ok, n
