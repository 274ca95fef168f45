"""Passes over a frame's point arrays, exact and linear in the points: dropping repeats, products in
row blocks, row hashes and the groups of rows with the same bits (projected once).

From :data:`JIT_MIN` rows some passes run as numba kernels (:mod:`scenes.clips.point_jit`: the same IEEE
operations in the same order, so the same bits), imported on first use; without numba, the numpy code."""

from __future__ import annotations

import threading

import numpy as np

JIT_MIN = 4096     # from this many rows a pass runs its numba kernel (fewer: numpy; numba is not even imported)
SEEN_PER_ROW = 32  # unique_gathered: bits of its hash set a row (tests lower it: many candidates, compared exactly)
SEEN_MIN_LOG = 12
_JIT: object = None    # scenes.clips.point_jit once imported; False: numba cannot be imported (numpy from then on)


def jit_kernels():
    """:mod:`scenes.clips.point_jit` (importing numba on the first call), or ``None`` without numba (or where it
    refuses the kernels: ``RuntimeError`` for ``cache=True`` with no writable cache folder)."""
    global _JIT
    if _JIT is None:
        try:
            from scenes.clips import point_jit  # noqa: PLC0415 (lazy: ~0.3 s of numba's import)
        except (ImportError, RuntimeError, OSError):
            _JIT = False
        else:
            _JIT = point_jit
    return _JIT or None


_SCRATCH = threading.local()


def _scratch(name: str, n: int, dtype) -> np.ndarray:
    """``(n,)`` of ``dtype``, uninitialised: this thread's working array ``name`` (grown as needed, kept: fresh
    arrays of 100k rows cost their pages' first touch on every frame)."""
    kept = _SCRATCH.__dict__.get(name)
    if kept is None or len(kept) < n:
        kept = _SCRATCH.__dict__[name] = np.empty(max(n, 2 * len(kept) if kept is not None else n), dtype)
    return kept[:n]


def _gather(parts: list) -> np.ndarray:
    """The rows of ``parts`` concatenated (``(n, 2)`` float64): each part an array, or ``(src, idx)`` for
    ``np.take(src, idx, axis=0)``, gathered straight into the result (no array of its own)."""
    n = sum(len(q[1]) if isinstance(q, tuple) else len(q) for q in parts)
    out = np.empty((n, 2))
    at = 0
    for q in parts:
        k = len(q[1]) if isinstance(q, tuple) else len(q)
        if isinstance(q, tuple):
            np.take(q[0], q[1], axis=0, out=out[at:at + k])
        else:
            out[at:at + k] = q
        at += k
    return out


def unique_gathered(parts: list, colors: list[np.ndarray], bounds: tuple[float, ...] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """``_unique_points(_gather(parts), np.concatenate(colors), bounds)`` (``colors``: each part's ``(k,)``).

    From :data:`JIT_MIN` rows, with ``bounds`` that hold every point (as :func:`_unique_points` asks) and bound
    keys of at most 62 bits, every part ``(src, idx)`` of float64 rows and int64 colours: numba passes
    (:mod:`scenes.clips.point_jit`): one gathers each row with its key and marks those whose key's hash came
    before (a bit set), then only if some are marked, the rows whose hash may be theirs are compared by key
    and the repeats dropped (instead of a gather, a sort of hashes and a copy without the repeats). The same
    rows: :func:`_unique_points` keeps the first row of each key (its keys are distinct for distinct fields
    within the bounds, so the hashes' candidates hold every repeat)."""
    n = sum(len(q[1]) if isinstance(q, tuple) else len(q) for q in parts)
    fast = (JIT_MIN <= n < 2**27 and bounds is not None and all(
        isinstance(q, tuple) and q[0].dtype == np.float64 and q[0].ndim == 2 and q[0].shape[1] == 2
        and q[1].dtype == np.int64 for q in parts) and all(c.dtype == np.int64 for c in colors))
    jit, got = jit_kernels() if fast else None, None
    if jit is not None:
        c0, c1 = float(bounds[4]), float(bounds[5])
        if np.isfinite(c0) and np.isfinite(c1):
            got = _bounded_bits(bounds, (float(np.floor(c0)), float(np.ceil(c1))))
    if got is None:
        return _unique_points(_gather(parts), np.concatenate(colors) if colors else np.zeros(0, np.int64), bounds)
    lo, bits = got
    size = 1 << max(SEEN_MIN_LOG, int(SEEN_PER_ROW * n - 1).bit_length())   # the hash set's bits: ~1/32 false
    # candidates (a set of 32 bits a row stays in a core's L2 cache; its random reads and writes are most of the pass)
    seen = _scratch("seen", size // 64, np.uint64)
    seen.fill(0)
    shift = np.uint64(65 - size.bit_length())
    out_xy, out_c = np.empty((n, 2)), np.empty(n, np.int64)
    hashes, cands = _scratch("hashes", n, np.uint32), _scratch("cands", n, np.int64)   # (each hash < 2^32)
    m, n_cand = 0, 0
    for (src, idx), col in zip(parts, colors, strict=True):
        src, idx, col = (np.ascontiguousarray(a) for a in (src, idx, col))      # (one compiled layout)
        m, n_cand = jit.gather_keys(src, idx, col, lo[0], lo[1], int(lo[2]), bits[1], bits[2], seen, shift,
                                    out_xy, out_c, hashes, cands, m, n_cand)
    if n_cand:
        m = jit.drop_repeats(hashes, cands[:n_cand], size.bit_length() - 1, out_xy, out_c, lo[0], lo[1], int(lo[2]),
                             bits[1], bits[2])
    return out_xy[:m], out_c[:m]


def _unique_points(xy: np.ndarray, color: np.ndarray, bounds: tuple[float, ...] | None = None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Drop exact repeats (same place, same colour): collapsed points all sit on their base point, and
    drawing the same marker hundreds of times costs time and changes nothing. Drawing order is kept.

    ``bounds``: ``(x0, x1, y0, y1, c0, c1)`` with every ``x`` in ``[x0, x1]``, ``y`` in ``[y0, y1]`` and colour in
    ``[c0, c1]`` (finite; a frame model knows them without a pass over the points): the fields' offsets are taken
    from them instead of each field's minimum and maximum. The points kept are the same either way (the keys
    only have to be distinct for distinct fields; where the bounds' keys would be too wide, the exact ones)."""
    if len(xy) < 2:
        return xy, color
    # one int64 key per point from (x, y rounded to 1e-6, colour), each field offset to start at 0: sorting
    # it is ~10x faster than np.unique(axis=0) on 100k points; the 2D path is kept for huge spans
    # (each field built in place: fresh 100k-point temporaries cost more than the arithmetic)
    fx = np.multiply(xy[:, 0], 1e6, dtype=float)
    fy = np.multiply(xy[:, 1], 1e6, dtype=float)
    np.rint(fx, out=fx)
    np.rint(fy, out=fy)
    c = np.asarray(color)
    fc = c if c.dtype == np.int64 else c.astype(float)     # int64 colours: the same integers, no float copy
    fields = [fx, fy, fc]
    lo, bits = _field_bits(fields, bounds)
    if sum(bits) > 62:
        _, first = np.unique(np.c_[np.round(xy, 6), color], axis=0, return_index=True)
        keep = np.sort(first)
        return np.take(xy, keep, axis=0), color[keep]
    if len(xy) >= HASH_MIN:
        # many points: first the points whose 32-bit hash of the three fields repeats (sorting 32-bit hashes
        # takes half the time of sorting the 64-bit keys); only their keys are built and compared below
        if lo[0] <= 0.0:
            fx += 0.0      # -0.0 -> 0.0: equal fields, equal bits (no field at or below 0: no zero to fix)
        if lo[1] <= 0.0:
            fy += 0.0
        h = _field_hash(fx, fy, fc if fc.dtype == np.int64 else fc + 0.0)
        values = _repeated(h)
        if len(values) == 0:
            return xy, color
        sub, _ = _members(h, values)                    # ascending: the candidates, in drawing order
        fx, fy, fc = fx[sub], fy[sub], fc[sub]
    else:
        sub = None
    # key = ((x - lo_x) << b_y | (y - lo_y)) << b_c | (colour - lo_c): every field a non-negative integer
    # below 2^bits (integers in float64, exact), the same as converting each field to int64 first
    fx -= lo[0]
    key = fx.astype(np.int64)
    key <<= bits[1]
    fy -= lo[1]
    key |= fy.astype(np.int64)
    key <<= bits[2]
    key |= (fc - int(lo[2])) if fc.dtype == np.int64 else (fc - lo[2]).astype(np.int64)
    repeated = _repeated(key)                                    # keys that occur more than once
    if len(repeated) == 0:
        return xy, color
    # only the points with a repeated key (typically those on the few base points) are looked at: each
    # one's repeated key found (a comparison pass per key when few, else a binary search among them), the
    # first of each kept (a stable sort of the small key ids) instead of an argsort of every key
    at, cid = _members(key, repeated)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(repeated))] = False
    gone = at[drop] if sub is None else sub[at[drop]]
    return _without(xy, gone), _without(c, gone)


def _field_bits(fields: list[np.ndarray], bounds: tuple[float, ...] | None) -> tuple[list[float], list[int]]:
    """:func:`_unique_points`' fields' offsets and widths: ``lo`` (each field's least value, or a lower bound of
    it from ``bounds``) and the bits of each field's span above it (64: not finite)."""
    if bounds is not None:
        c0, c1 = float(bounds[4]), float(bounds[5])
        # colours other than int64 (whose keys truncate) from their own least and greatest value
        colours = ((float(np.floor(c0)), float(np.ceil(c1))) if fields[2].dtype == np.int64 and np.isfinite(c0)
                   and np.isfinite(c1) else (float(fields[2].min()), float(fields[2].max())))
        got = _bounded_bits(bounds, colours)
        if got is not None:
            return got
    lo = [float(v.min()) for v in fields]
    hi = [float(v.max()) for v in fields]
    return lo, _bits(lo, hi)


def _bounded_bits(bounds: tuple[float, ...], colours: tuple[float, float]) -> tuple[list[float], list[int]] | None:
    """:func:`_field_bits` from ``bounds`` and the colour field's ``(lo, hi)``: ``(lo, bits)``, or ``None`` where
    the keys would be too wide (more than 62 bits, or a field's offset values not all exact in float64)."""
    x0, x1, y0, y1 = (float(b) for b in bounds[:4])
    # the same rounding as the fields' (monotone: a bound's field bounds every point's field)
    lo = [float(np.rint(np.float64(x0) * 1e6)), float(np.rint(np.float64(y0) * 1e6)), colours[0]]
    hi = [float(np.rint(np.float64(x1) * 1e6)), float(np.rint(np.float64(y1) * 1e6)), colours[1]]
    bits = _bits(lo, hi)
    return (lo, bits) if sum(bits) <= 62 and max(bits) <= 52 else None


def _bits(lo: list[float], hi: list[float]) -> list[int]:
    span = [b - a + 1.0 for a, b in zip(lo, hi, strict=True)]
    return [int(np.ceil(np.log2(max(s, 2.0)))) if np.isfinite(s) else 64 for s in span]


WITHOUT_SLICES = 64   # _without: up to this many rows dropped, the kept runs copied as slices (else a mask)


def _without(a: np.ndarray, gone: np.ndarray) -> np.ndarray:
    """``a`` without the rows ``gone`` (ascending, distinct indices): ``np.delete(a, gone, axis=0)``, a fresh
    array. Few rows: the runs between them copied as they are (no mask over every row)."""
    if len(gone) > WITHOUT_SLICES:
        keep = np.ones(len(a), bool)
        keep[gone] = False
        return np.compress(keep, a, axis=0)
    out = np.empty((len(a) - len(gone),) + a.shape[1:], a.dtype)
    at, start = 0, 0
    for g in gone.tolist():
        k = g - start
        out[at:at + k] = a[start:g]
        at += k
        start = g + 1
    out[at:] = a[start:]
    return out


HASH_MIN = 4096     # _unique_points: from this many points, candidates for repeats by a 32-bit hash first
HASH_BITS = 32      # the hash's bits (tests lower it: every point a candidate, the exact keys decide)
_K1, _K2, _K3 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9)


def _field_hash(fx: np.ndarray, fy: np.ndarray, fc: np.ndarray) -> np.ndarray:
    """``(n,)`` uint32 (:data:`HASH_BITS` bits): a hash of the bits of three ``(n,)`` 8-byte fields (equal
    fields, equal hashes)."""
    h = fx.view(np.uint64) * _K1
    h ^= fy.view(np.uint64)
    h *= _K2
    h ^= fc.view(np.uint64)
    h *= _K3
    h >>= np.uint64(64 - HASH_BITS)
    return h.astype(np.uint32)


BLAS_ROWS = 4096   # row_matmul: rows a product at most (small enough that BLAS computes it on one thread)


def row_matmul(a: np.ndarray, b: np.ndarray, rows: int = BLAS_ROWS) -> np.ndarray:
    """``a @ b`` for ``a: (n, k)``, ``b: (k, m)`` (float64) computed ``rows`` rows at a time: each row of the
    result is computed by the same BLAS kernel either way (tested), but a product of many rows is split over
    BLAS threads (OpenBLAS above ~2.6e5 multiply-adds), whose start and spin-waiting cost 20-60x the product
    itself in a renderer that draws frames on one core (and the other cores' time when measured as CPU)."""
    a = np.asarray(a)
    if len(a) <= rows or a.ndim != 2:
        return a @ b
    out = np.empty((len(a), np.shape(b)[1]), np.result_type(a, b))
    for i in range(0, len(a), rows):
        np.matmul(a[i:i + rows], b, out=out[i:i + rows])
    return out


_MIX = np.uint64(0x9E3779B97F4A7C15)


def _first_of_runs(cid: np.ndarray, n_ids: int) -> np.ndarray:
    """``cid: (m,)`` ids in ``0..n_ids-1`` -> ``(n_ids,)`` the position of each id's first occurrence (each id
    occurs). A stable sort of the ids (radix for 16-bit ids: one pass)."""
    small = cid.astype(np.uint16) if n_ids <= 2**16 else cid
    order = np.argsort(small, kind="stable")
    srt = small[order]
    return order[np.flatnonzero(_starts(srt))]


def _starts(srt: np.ndarray) -> np.ndarray:
    """``(m,)`` bool: where a run of equal values of ``srt: (m,)`` starts (``np.r_[True, srt[1:] != srt[:-1]]``)."""
    out = np.empty(len(srt), bool)
    if len(srt):
        out[0] = True
        np.not_equal(srt[1:], srt[:-1], out=out[1:])
    return out


def _repeated(k: np.ndarray) -> np.ndarray:
    """The values of ``k: (m,)`` that occur more than once, ascending (one sort: fast for 64-bit integers)."""
    ks = np.sort(k)
    rep = ks[1:][ks[1:] == ks[:-1]]
    return rep[_starts(rep)] if len(rep) else rep


def _members(k: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, cid)``: the positions of ``k`` whose value is one of ``values`` (ascending, distinct), ascending,
    and the index of that value in ``values``."""
    if 0 < len(values) <= 16:   # (as usual) a few: one comparison pass each beats a binary search per element
        hit = k == values[0]
        eq = np.empty_like(hit)
        for v in values[1:]:
            hit |= np.equal(k, v, out=eq)
        at = np.flatnonzero(hit)                 # (the values are distinct: each position matches one of them)
        return at, np.searchsorted(values, np.take(k, at))
    cid = np.minimum(np.searchsorted(values, k), len(values) - 1)
    at = np.flatnonzero(values[cid] == k)
    return at, cid[at]


def row_hash(rows: np.ndarray, h: np.ndarray | None = None) -> np.ndarray:
    """``(n,)`` uint64: a hash of the bits of each row of ``rows: (n, d)`` float64, continuing ``h`` (the hash of
    other columns of the same rows) when given: ``row_hash(b, row_hash(a))`` hashes the rows of ``[a, b]``."""
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    cols = np.ascontiguousarray(rows.reshape(n, -1).T if n else rows.reshape(0, 0)).view(np.uint64)
    out = np.zeros(n, np.uint64) if h is None else h.copy()     # (d, n): each pass over contiguous memory
    for col in cols:
        out ^= out >> np.uint64(31)
        out ^= col
        out *= _MIX
    return out


def exact_groups(rows: np.ndarray, h: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows that are bit for bit the same: ``rows: (n, d)`` float64 -> ``(first, inv)``, ``first: (G,)`` the
    index of the first row of each distinct row (ascending), ``inv: (n,)`` the group of each row
    (``rows[first[inv]]`` is ``rows``, bit for bit). ``h``: :func:`row_hash` of ``rows`` if known.

    Only bit-identical rows share a group (``0.0`` and ``-0.0`` do not; identical NaNs do), so any row-wise
    computation gives a group's rows the same result: a frame model computes it on ``rows[first]`` and
    gathers with ``inv``. One 64-bit hash of each row's bits; only the rows whose hash repeats (typically the
    many points on a few base points) are grouped, each checked against the first row with its hash (one
    that differs, a hash collision, keeps a group of its own)."""
    rows = np.asarray(rows, dtype=np.float64)
    n = len(rows)
    idx = np.arange(n)
    if n < 2 or rows[0].size == 0:
        return idx, idx
    h = row_hash(rows) if h is None else h
    values = _repeated(h)
    if len(values) == 0:
        return idx, idx
    at, cid = _members(h, values)
    lead = idx.copy()
    lead[at] = at[_first_of_runs(cid, len(values))][cid]      # the first row with the same hash
    bits = rows.reshape(n, -1).view(np.uint64) if rows.flags.c_contiguous else \
        np.ascontiguousarray(rows).reshape(n, -1).view(np.uint64)
    same = (np.take(bits, at, axis=0) == np.take(bits, lead[at], axis=0)).all(axis=1)
    bad = at[~same]
    lead[bad] = bad                                              # a collision: a group of its own
    is_first = lead == idx
    gid = np.cumsum(is_first) - 1                                # the group number of each first row
    return np.flatnonzero(is_first), gid[lead]


FIRST_SMALL = 2048   # first_of_each: up to this many indices, np.unique's first indices (fewer calls)


def first_of_each(idx: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``idx: (m,)`` ascending indices -> those of them whose ``key`` (an ``(n,)`` int array, indexed by
    ``idx``) does not occur at an earlier one of ``idx`` (ascending)."""
    if len(idx) < 2:
        return idx
    k = key[idx]
    if len(idx) <= FIRST_SMALL:   # few: the first index of each key (a stable sort), in order
        _, at = np.unique(k, return_index=True)
        return idx[np.sort(at)] if len(at) < len(idx) else idx
    values = _repeated(k)
    if len(values) == 0:
        return idx
    at, cid = _members(k, values)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(values))] = False              # the first of each repeated key stays
    keep = np.ones(len(idx), bool)
    keep[at[drop]] = False
    return idx[keep]
