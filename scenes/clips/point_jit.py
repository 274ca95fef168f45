"""numba kernels of the frame model's per-point passes (:mod:`scenes.clips.point_passes` imports this module
lazily, on the first frame of at least :data:`~scenes.clips.point_passes.JIT_MIN` rows, and runs its numpy
code where numba cannot be imported: the same bits either way).

Each kernel does the IEEE operations of the numpy code it stands for, in the same order, one row at a time
instead of one whole-array pass per operation (no ``fastmath``: LLVM neither fuses ``a * b + c`` into an FMA
nor reorders a sum); the rest is integer and index work, exact by construction. Compiled on first use and
cached on disk (``cache=True``)."""

from __future__ import annotations

import numpy as np
from numba import njit

_MIX = np.uint64(0x9E3779B97F4A7C15)
HOT_LOG = 15                 # drop_repeats: the candidates' hashes, to this many bits (a bit set in L1 cache)
HOT_BITS = 1 << HOT_LOG


@njit(cache=True)
def lerp_centred(A0, A1, v, w, c, out):
    """``out = A0 * v + A1 * w - c`` for ``A0, A1, out: (n, 3)`` float64, ``c: (3,)``: numpy's
    ``D = A0 * v; D += A1 * w; D -= c`` (each product, then the sum, then the difference, rounded)."""
    for i in range(A0.shape[0]):
        for k in range(3):
            out[i, k] = (A0[i, k] * v + A1[i, k] * w) - c[k]
    return out


@njit(cache=True)
def scale_shift(xy, s, cx, cy):
    """In place on ``xy: (n, 2)`` float64: ``xy *= s; xy += (cx, cy)`` (the product rounded, then the sum)."""
    for i in range(xy.shape[0]):
        xy[i, 0] = xy[i, 0] * s + cx
        xy[i, 1] = xy[i, 1] * s + cy
    return xy


@njit(cache=True, inline="always")
def _key(x, y, c, lo0, lo1, lo2, b1, b2):
    """:func:`~scenes.clips.point_passes._unique_points`' key of a row ``(x, y)`` of colour ``c``:
    ``((rint(x 1e6) - lo0) << b1 | (rint(y 1e6) - lo1)) << b2 | (c - lo2)``, each field converted to int64 as
    numpy's ``astype`` does (truncated; the fields are integers)."""
    kx = np.int64(np.rint(x * 1e6) - lo0)
    ky = np.int64(np.rint(y * 1e6) - lo1)
    return (((kx << b1) | ky) << b2) | (c - lo2)


@njit(cache=True)
def gather_keys(src, idx, col, lo0, lo1, lo2, b1, b2, seen, shift, out_xy, out_c, hashes, cands, m, n_cand):
    """Appends the rows ``src[idx]`` (``src: (G, 2)`` float64, ``idx: (k,)``) and their colours ``col: (k,)``
    int64 to ``out_xy: (n, 2)``, ``out_c: (n,)`` from row ``m`` on, each row's key's hash (``64 - shift`` bits)
    to ``hashes: (n,)`` uint32, and to ``cands: (n,)`` from ``n_cand`` on the rows whose hash an earlier row's
    key has (the bit set ``seen``, ``2^(64 - shift)`` bits, says which came before): every repeat of a key, and
    seldom another. Returns ``(rows now in out_xy, candidates now in cands)``. No branch on the data."""
    for j in range(idx.shape[0]):
        r = idx[j]
        x = src[r, 0]
        y = src[r, 1]
        h = (np.uint64(_key(x, y, col[j], lo0, lo1, lo2, b1, b2)) * _MIX) >> shift
        word, bit = h >> np.uint64(6), np.uint64(1) << (h & np.uint64(63))
        c = (seen[word] & bit) != 0
        seen[word] |= bit
        out_xy[m, 0] = x
        out_xy[m, 1] = y
        out_c[m] = col[j]
        hashes[m] = h
        cands[n_cand] = m
        n_cand += c
        m += 1
    return m, n_cand


@njit(cache=True)
def drop_repeats(hashes, cands, hash_bits, out_xy, out_c, lo0, lo1, lo2, b1, b2):
    """Drops, in place, each row of ``out_xy: (n, 2)``, ``out_c: (n,)`` whose key an earlier row has, from
    :func:`gather_keys`' hashes ``hashes: (n,)`` (``hash_bits`` bits) and candidates ``cands: (c,)``
    (ascending): the rows up to the last candidate whose hash has the top bits of a candidate's (a bit set of
    :data:`HOT_BITS`: a superset of the rows whose hash is a candidate's) are compared by key, exactly (a
    table of their keys); the others are no repeat (an earlier row with the same key has the same hash).
    Returns the rows kept (the first ones of ``out_xy``, in order)."""
    n = hashes.shape[0]
    last = cands[-1]
    hot = np.zeros(HOT_BITS // 64, np.uint64)
    top = np.uint64(max(hash_bits - HOT_LOG, 0))
    for j in cands:
        h = np.uint64(hashes[j]) >> top
        hot[h >> np.uint64(6)] |= np.uint64(1) << (h & np.uint64(63))
    at = np.empty(last + 1, np.int64)            # the rows with a hot hash, in order
    k = 0
    for j in range(last + 1):
        h = np.uint64(hashes[j]) >> top
        at[k] = j
        k += (hot[h >> np.uint64(6)] >> (h & np.uint64(63))) & np.uint64(1)
    size, t_shift = 16, np.uint64(60)
    while size < 2 * k:
        size *= 2
        t_shift -= np.uint64(1)
    table = np.empty(size, np.int64)
    used = np.zeros(size, np.bool_)
    mask = np.uint64(size - 1)
    gone = np.empty(k, np.int64)                 # the rows dropped, ascending
    n_gone = 0
    for i in range(k):
        key = _key(out_xy[at[i], 0], out_xy[at[i], 1], out_c[at[i]], lo0, lo1, lo2, b1, b2)
        s = (np.uint64(key) * _MIX) >> t_shift
        while used[s] and table[s] != key:
            s = (s + np.uint64(1)) & mask
        if used[s]:
            gone[n_gone] = at[i]
            n_gone += 1
        else:
            used[s] = True
            table[s] = key
    if n_gone == 0:
        return n
    m, g = gone[0], 0                            # the rows before the first one dropped stay where they are
    for j in range(gone[0], n):
        if g < n_gone and gone[g] == j:
            g += 1
            continue
        out_xy[m, 0] = out_xy[j, 0]
        out_xy[m, 1] = out_xy[j, 1]
        out_c[m] = out_c[j]
        m += 1
    return m


@njit(cache=True)
def inside_box(x, y, x0, x1, y0, y1):
    """``(sel, xs, ys)``: the indices of the points ``(x[i], y[i])`` (``x, y: (n,)``, any strides) with
    ``x0 < x < x1`` and ``y0 < y < y1`` (ascending; NaN is in no box), numpy's ``np.flatnonzero((x > x0) &
    (x < x1) & (y > y0) & (y < y1))``, and their coordinates (``x[sel]``, ``y[sel]``), in one pass without a
    branch on the data."""
    n = x.shape[0]
    sel, xs, ys = np.empty(n, np.int64), np.empty(n), np.empty(n)
    k = 0
    for i in range(n):
        xi, yi = x[i], y[i]
        sel[k] = i
        xs[k] = xi
        ys[k] = yi
        k += (xi > x0) & (xi < x1) & (yi > y0) & (yi < y1)
    return sel[:k], xs[:k], ys[:k]


@njit(cache=True)
def first_keys(inv, lab, lo, span, flag, n_keys):
    """The rows ``j`` (ascending) whose key ``(inv[j] span + lab[j] - lo) 2 + flag[j]`` (``inv, lab, flag: (n,)``
    int64, every key below ``n_keys``) no earlier row has: :func:`~scenes.clips.point_passes.first_of_each` of
    ``np.arange(n)`` and those keys, by a table of the keys seen (integers only)."""
    seen = np.zeros(n_keys, np.bool_)
    keep = np.empty(inv.shape[0], np.int64)
    k = 0
    for j in range(inv.shape[0]):
        key = (inv[j] * span + (lab[j] - lo)) * 2 + flag[j]
        if not seen[key]:
            seen[key] = True
            keep[k] = j
            k += 1
    return keep[:k]
