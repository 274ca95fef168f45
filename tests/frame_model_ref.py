"""The truncation-speed frame model as it was at 6a05ca8 (before its per-frame cost was cut), kept verbatim as
the reference that ``test_frame_model_exact.py`` compares the current frame models with: the methods of
``TruncationFrames`` that draw a frame, and the helpers they call (text widths, badge placement, point passes),
copied unchanged. Not used by the package."""



from __future__ import annotations

import re

import numpy as np

from scenes.clips.base import GREY, TEXT_MIN, Frame, Label, Points, Polyline, Rect, Segments
from scenes.clips.colour import _mix_level, class_color, mix, text_ink
from scenes.clips.local_minima import LocalMinimaFrames
from scenes.clips.perturbation import PerturbationFrames
from scenes.clips.text import ADVANCE, ADVANCES, class_name
from scenes.clips.truncation_speed import TruncationFrames

_MIX = np.uint64(0x9E3779B97F4A7C15)
BADGE_GAP_X, BADGE_GAP_Y = 0.16, 0.02


def camera_basis(azimuth: float, elevation: float) -> np.ndarray:
    """Screen ``right`` and ``up`` vectors (2, 3) of an orthographic camera (angles in radians)."""
    ca, sa, ce, se = np.cos(azimuth), np.sin(azimuth), np.cos(elevation), np.sin(elevation)
    return np.array([[-sa, ca, 0.0], [-ca * se, -sa * se, ce]])


def _chevron(at: np.ndarray, direction: np.ndarray, size: float, offset: float) -> list[tuple[np.ndarray, np.ndarray]]:
    """Two segments forming an arrow head ``offset`` beyond ``at``, pointing along ``direction`` (off-view)."""
    d = direction / max(float(np.linalg.norm(direction)), 1e-300)
    n = np.array([-d[1], d[0]])
    tip = at + offset * d
    return [(tip - size * (d + 0.6 * n), tip), (tip - size * (d - 0.6 * n), tip)]


def badge_radius(r0: float, n: int, full: int, grow: float = 1.6) -> float:
    """Marker radius of a base point with ``n`` points on it: ``r0`` when empty, ``(1 + grow) r0`` at ``full``
    (area proportional to the count)."""
    return float(r0 * (1.0 + grow * np.sqrt(max(n, 0) / max(full, 1))))


def tex_sci(v: float, digits: int = 2) -> str:
    """``v`` in typeset scientific notation, e.g. ``$8.73 \\times 10^{-4}$`` (mathtext; plain text for inf/nan)."""
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "$0$"
    e = int(np.floor(np.log10(abs(v))))
    m = v / 10.0**e
    if round(abs(m), digits) >= 10:
        m, e = m / 10, e + 1
    return f"${m:.{digits}f} \\times 10^{{{e}}}$"


def _rows(xy: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """``xy[sel]`` for ``xy: (n, 2)`` and ``sel`` indices or a boolean mask: the same rows, ~10x faster on 100k
    points than fancy indexing (``np.take`` / ``np.compress`` along axis 0)."""
    sel = np.asarray(sel)
    return np.compress(sel, xy, axis=0) if sel.dtype == bool else np.take(xy, sel, axis=0)


def _remember(cache: dict, key, value, entries: int):
    """``cache[key] = value``, the oldest entry dropped beyond ``entries``; returns ``value``."""
    cache[key] = value
    if len(cache) > entries:
        del cache[next(iter(cache))]
    return value


def _cat(xy: list[np.ndarray], color: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated point groups ``(n, 2)``, ``(n,)`` (empty arrays for no groups)."""
    if not xy:
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    return np.concatenate(xy), np.concatenate(color)


def _kind(ch: str) -> str:
    if ch.isdigit():
        return "digit"
    if ch.isalpha():
        return "upper" if ch.isupper() else "lower"
    if ch == " ":
        return "space"
    if ch in ".,:;|!'·":
        return "punct"
    if ch in "()[]/-":
        return "bracket"
    if ch in "=+×<>≤≥−":
        return "op"
    return "other"


def text_width(text: str, size: float, exact: bool = True) -> float:
    """About how wide ``text`` is drawn at text height ``size``, in figure units (mathtext counted by what it
    shows: ``$\\lambda_{1}$`` as two characters): :data:`ADVANCE` per character, or with ``exact`` each
    character's kind's DejaVu Sans advance (:data:`ADVANCES`: within a few percent of the drawn width)."""

    shown = re.sub(r"\\(mathrm|mathbb|mathbf|mathcal|mathit|left|right|,|;|!)", "", text)
    shown = re.sub(r"\\(times|leq|geq|to|propto|cdot|cdots)", "=", shown)
    shown = re.sub(r"\\[A-Za-z]+", "x", shown)
    shown = re.sub(r"[${}_^]", "", shown)
    if not exact:
        return ADVANCE * size * len(shown)
    return size * sum(ADVANCES[_kind(c)] for c in shown)


def fit_text_size(text: str, size: float, room: float) -> float:
    """The text height, at most ``size`` and at least :data:`TEXT_MIN`, at which ``text`` fits ``room`` units."""
    w = text_width(text, size)
    return size if w <= room else max(TEXT_MIN, size * room / w)


def smoothstep(t):
    """Eased progress ``3 t^2 - 2 t^3`` of ``t`` clipped to [0, 1] (a float or an array)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _clip_to(panel: Rect, p: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Shorten segment ``p -> e`` so that it ends inside ``panel`` (``p`` inside)."""
    d = e - p
    t = 1.0
    for k, (lo, hi) in enumerate([(panel.x, panel.x + panel.w), (panel.y, panel.y + panel.h)]):
        if d[k] > 0:
            t = min(t, (hi - p[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (lo - p[k]) / d[k])
    return p + max(t, 0.0) * d


def comet_segments(start: np.ndarray, end: np.ndarray, colors: list[str], bg: str, pieces: int = 4,
                   fade: np.ndarray | None = None, levels: int = 8) -> tuple[np.ndarray, list[str]]:
    """Trails as comets: each ``start[k] -> end[k]`` (``(n, 2)`` each) cut into ``pieces`` segments whose colour
    goes from faint at the tail (``start``) to ``colors[k]`` at the head (``end``), all faded towards ``bg`` by
    ``fade[k]`` in [0, 1] (0: none; e.g. the trail's age). Returns ``(n * pieces, 2, 2)`` segments and their
    colours (quantised to ``levels`` shades, so that repeated frames reuse the same strings)."""
    start, end = np.asarray(start, dtype=float).reshape(-1, 2), np.asarray(end, dtype=float).reshape(-1, 2)
    n = len(start)
    if n == 0:
        return np.zeros((0, 2, 2)), []
    fade = np.zeros(n) if fade is None else np.clip(np.asarray(fade, dtype=float), 0.0, 1.0)
    t = np.linspace(0.0, 1.0, pieces + 1)
    pts = start[:, None, :] + t[None, :, None] * (end - start)[:, None, :]         # (n, pieces + 1, 2)
    segs = np.stack([pts[:, :-1], pts[:, 1:]], axis=2).reshape(-1, 2, 2)
    strength = (np.arange(pieces) + 1.0) / pieces                                    # tail faint, head full
    away = 1.0 - strength[None, :] * (1.0 - fade[:, None])                          # (n, pieces): toward bg
    lv = np.rint(away * levels).astype(int)
    cols = [_mix_level(colors[k], bg, int(lv[k, m]), levels) for k in range(n) for m in range(pieces)]
    return segs, cols


def circle_segments(c: np.ndarray, r: float, n: int = 32) -> np.ndarray:
    """``(n, 2, 2)`` segments of a circle of radius ``r`` about ``c`` (a ripple, a ring)."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    p = np.c_[c[0] + r * np.cos(a), c[1] + r * np.sin(a)]
    return np.stack([p[:-1], p[1:]], axis=1)


def badge_anchor(p: np.ndarray, view: Rect, r: float, w: float = 0.55, h: float = 0.3,
                 avoid: np.ndarray | None = None,
                 taken: list[tuple[float, float, float, float]] | None = None) -> tuple[float, float, str]:
    """Where a count badge of about ``w x h`` goes next to a marker of radius ``r`` at ``p``: to its upper right,
    or mirrored to the left / below when that would leave ``view``. With ``avoid`` (``(K, 2)`` figure units: the
    panel's points, samples along its rays), the corner (upper right, upper left, lower right, lower left) inside
    ``view`` whose box covers the fewest of them, the first in that order on a tie: the badge is not drawn over
    the data. With ``taken`` (the :func:`badge_box` boxes of the badges already placed in this frame, in the
    frame's order), only corners whose box keeps clear of every taken box (:data:`BADGE_GAP_X` side by side,
    :data:`BADGE_GAP_Y` above / below) compete; when none of the four is clear, the same four moved outward by
    one badge height at a time, up to the view's border, the first step that has a clear one. Without a clear
    place anywhere in the view (a view full of badges), the corners as without ``taken``. Deterministic.
    Returns ``(x, y, ha)``."""
    right = p[0] + r + 0.05 + w <= view.x + view.w
    x = p[0] + r + 0.05 if right else p[0] - r - 0.05
    y = p[1] + r + 0.02 + h / 2
    if y + h / 2 > view.y + view.h:
        y = p[1] - r - 0.02 - h / 2
    fallback = (float(x), float(y), "left" if right else "right")
    taken = [t for t in (taken or ())]
    if (avoid is None or len(avoid) == 0) and not taken:
        return fallback
    a = np.zeros((0, 2)) if avoid is None else np.asarray(avoid, dtype=float).reshape(-1, 2)

    def corners(lift: float) -> list[tuple[float, float, str, float]]:
        """The four corners ``lift`` further from the marker, those inside the view: (x, y, ha, left edge)."""
        out = []
        for yy in (p[1] + r + 0.02 + lift + h / 2, p[1] - r - 0.02 - lift - h / 2):
            for side in ("left", "right"):
                xx = p[0] + r + 0.05 if side == "left" else p[0] - r - 0.05
                x0 = xx if side == "left" else xx - w
                if x0 < view.x or x0 + w > view.x + view.w or yy - h / 2 < view.y or yy + h / 2 > view.y + view.h:
                    continue
                out.append((xx, yy, side, x0))
        return out

    def fewest(boxes: list[tuple[float, float, str, float]], pts: np.ndarray) -> tuple[float, float, str] | None:
        """The box covering the fewest of ``pts``, the first on a tie."""
        if not boxes:
            return None
        # one pass over the points keeps those near any box (a slightly wider superset: the counts below are
        # the same); non-finite points never count (their comparisons are False)
        eps = 1e-6
        bx0 = min(b[3] for b in boxes) - 0.04 - eps
        bx1 = max(b[3] for b in boxes) + w + 0.04 + eps
        by0 = min(b[1] for b in boxes) - h / 2 - 0.04 - eps
        by1 = max(b[1] for b in boxes) + h / 2 + 0.04 + eps
        ax, ay = pts[:, 0], pts[:, 1]
        pts = pts[(ax > bx0) & (ax < bx1) & (ay > by0) & (ay < by1)]
        best, best_n = None, None
        for xx, yy, side, x0 in boxes:
            n = int(np.count_nonzero((pts[:, 0] > x0 - 0.04) & (pts[:, 0] < x0 + w + 0.04)
                                     & (np.abs(pts[:, 1] - yy) < h / 2 + 0.04)))
            if best_n is None or n < best_n:
                best, best_n = (float(xx), float(yy), side), n
        return best

    def clear(b: tuple[float, float, str, float]) -> bool:
        x0, y0, x1, y1 = b[3], b[1] - h / 2, b[3] + w, b[1] + h / 2
        return all(x0 >= t[2] + BADGE_GAP_X or x1 <= t[0] - BADGE_GAP_X or y0 >= t[3] + BADGE_GAP_Y
                   or y1 <= t[1] - BADGE_GAP_Y for t in taken)

    if taken:
        step, lift = h + BADGE_GAP_Y, 0.0
        reach = max(view.w, view.h) + h
        while lift <= reach:
            ring = corners(lift)
            best = fewest([b for b in ring if clear(b)], a)
            if best is not None:
                return best
            if not ring:
                break       # every corner this far out (and further) is outside the view
            lift += step
    best = fewest(corners(0.0), a) if len(a) else None
    return best if best is not None else fallback


def ray_samples(rays: list, n: int = 12) -> np.ndarray:
    """``(len(rays) * n, 2)``: points along each segment ``[start, end]`` of ``rays`` (what a badge avoids)."""
    if not len(rays):
        return np.zeros((0, 2))
    r = np.asarray(rays, dtype=float).reshape(-1, 2, 2)
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    return (r[:, None, 0] * (1 - t) + r[:, None, 1] * t).reshape(-1, 2)


def _unique_points(xy: np.ndarray, color: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop exact repeats (same place, same colour): collapsed points all sit on their base point, and
    drawing the same marker hundreds of times costs time and changes nothing. Drawing order is kept."""
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
    lo = [float(v.min()) for v in fields]
    span = [float(v.max()) - a + 1.0 for v, a in zip(fields, lo, strict=True)]
    bits = [int(np.ceil(np.log2(max(s, 2.0)))) if np.isfinite(s) else 64 for s in span]
    if sum(bits) > 62:
        _, first = np.unique(np.c_[np.round(xy, 6), color], axis=0, return_index=True)
        keep = np.sort(first)
        return np.take(xy, keep, axis=0), color[keep]
    # key = ((x - lo_x) << b_y | (y - lo_y)) << b_c | (colour - lo_c): every field a non-negative integer
    # below 2^bits (integers in float64, exact), the same as converting each field to int64 first
    fx -= lo[0]
    key = fx.astype(np.int64)
    key <<= bits[1]
    fy -= lo[1]
    key |= fy.astype(np.int64)
    key <<= bits[2]
    key |= (fc - int(lo[2])) if fc.dtype == np.int64 else (fc - lo[2]).astype(np.int64)
    ks = np.sort(key)
    rep = ks[1:][ks[1:] == ks[:-1]]                              # sorted: each repeated key, once per repeat
    if len(rep) == 0:
        return xy, color
    repeated = rep[np.r_[True, rep[1:] != rep[:-1]]]             # keys that occur more than once
    # only the points with a repeated key (typically those on the few base points) are looked at: each
    # one's repeated key found (a comparison pass per key when few, else a binary search among them), the
    # first of each kept (a stable sort of the small key ids) instead of an argsort of every key
    at, cid = _members(key, repeated)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(repeated))] = False
    keep = np.ones(len(xy), bool)
    keep[at[drop]] = False
    return np.compress(keep, xy, axis=0), color[keep]


def _first_of_runs(cid: np.ndarray, n_ids: int) -> np.ndarray:
    """``cid: (m,)`` ids in ``0..n_ids-1`` -> ``(n_ids,)`` the position of each id's first occurrence (each id
    occurs). A stable sort of the ids (radix for 16-bit ids: one pass)."""
    small = cid.astype(np.uint16) if n_ids <= 2**16 else cid
    order = np.argsort(small, kind="stable")
    srt = small[order]
    return order[np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])]


def _repeated(k: np.ndarray) -> np.ndarray:
    """The values of ``k: (m,)`` that occur more than once, ascending (one sort: fast for 64-bit integers)."""
    ks = np.sort(k)
    rep = ks[1:][ks[1:] == ks[:-1]]
    return rep[np.r_[True, rep[1:] != rep[:-1]]] if len(rep) else rep


def _members(k: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(at, cid)``: the positions of ``k`` whose value is one of ``values`` (ascending, distinct), ascending,
    and the index of that value in ``values``."""
    if len(values) <= 16:   # (as usual) a few: one comparison pass each beats a binary search per element
        hit = [np.flatnonzero(k == v) for v in values]
        at = np.concatenate(hit)
        cid = np.repeat(np.arange(len(values)), [len(x) for x in hit])
        order = np.argsort(at, kind="stable")
        return at[order], cid[order]
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


def first_of_each(idx: np.ndarray, key: np.ndarray) -> np.ndarray:
    """``idx: (m,)`` ascending indices -> those of them whose ``key`` (an ``(n,)`` int array, indexed by
    ``idx``) does not occur at an earlier one of ``idx`` (ascending)."""
    if len(idx) < 2:
        return idx
    k = key[idx]
    values = _repeated(k)
    if len(values) == 0:
        return idx
    at, cid = _members(k, values)
    drop = np.ones(len(at), bool)
    drop[_first_of_runs(cid, len(values))] = False              # the first of each repeated key stays
    keep = np.ones(len(idx), bool)
    keep[at[drop]] = False
    return idx[keep]


class RefTruncationFrames(TruncationFrames):
    """``TruncationFrames`` drawing its frames with the 6a05ca8 code."""

    def _screen(self, P3: np.ndarray, l: int, azim: float, centred: bool = False) -> np.ndarray:
        """Screen positions (figure units) of ``P3: (..., 3)`` in panel ``l``'s view (``centred``: ``P3`` is
        already ``P3 - c``, ``c`` the panel camera's centre)."""
        B = camera_basis(azim, self.elev)
        v = self.views[l]
        c, r = self.cams[l]
        s = 0.48 * min(v.w, v.h) / r
        xy = (P3 if centred else P3 - c) @ B.T     # ((P3 - c) @ B.T) * s + centre, in place: the same values
        xy *= s
        xy += np.array([v.cx, v.cy])
        return xy

    @staticmethod

    def _pin(xy: np.ndarray, panel: Rect, inset: float = 0.06) -> np.ndarray:
        """Move points outside ``panel`` onto its border (along the ray from the panel centre): a point is outside
        when ``k = max(|x - cx| / hx, |y - cy| / hy) > 1`` (``hx, hy``: the half sizes less ``inset``), and goes
        to ``c + (p - c) / k``."""
        c = np.array([panel.cx, panel.cy])
        half = np.array([panel.w / 2 - inset, panel.h / 2 - inset])
        out = np.array(xy, dtype=float)
        # k and the move computed only for the points beyond a box a hair (1e-9 relative) inside the panel's:
        # a superset of those with k > 1 (k > 1 needs |x - cx| > hx (1 - 2^-53)), without two divisions
        # and a subtraction per point; NaN compares False (its k is NaN: never moved)
        m = 1e-9 * (np.abs(c) + np.abs(half))
        lo, hi = c - half + m, c + half - m
        x, y = out[:, 0], out[:, 1]
        near = np.flatnonzero((x < lo[0]) | (x > hi[0]) | (y < lo[1]) | (y > hi[1]))
        if len(near):
            d = out[near] - c
            k = np.maximum(np.abs(d[:, 0]) / half[0], np.abs(d[:, 1]) / half[1])   # faster than max(axis=1)
            far = k > 1                                                            # usually few: move only those
            out[near[far]] = c + d[far] / k[far, None]
        return out

    def appear(self, l: int, i: int) -> tuple[float, float]:
        """Build-up of panel ``l`` at frame ``i``: ``(opacity of the panel, length fraction of its rays)``;
        the panels appear one after the other over the first :attr:`n_build` frames after the card."""
        t = (i - self.n_build0) / self.n_build
        start = 0.5 * l / max(self.L, 1)
        x = (t - start) / 0.5
        return float(smoothstep(2 * x)), float(smoothstep(2 * x - 1))

    def frame(self, i: int) -> Frame:
        f = Frame()
        u = self.snapshot_position(i)
        s0, s1, w, sn = self.bracket(u)
        self.draw_panel_frames(f, i, sn)
        self.draw_panels(f, s0, s1, w, sn, self.azimuth(i), i)
        self.draw_readout(f, s0, s1, w, sn)
        return self.card.apply(f, i) if self.card else f

    def draw_panel_frames(self, f: Frame, i: int, sn: int) -> None:
        """Panel borders and titles (in the strip above each view), faded in by the build-up."""
        th = self.theme
        segs, cols = [], []
        for l, p in enumerate(self.panels):
            a, _ = self.appear(l, i)
            segs.append(p.border())
            cols += [mix(th["panel"], th["bg"], 1 - a)] * 4
            wide = p.w >= 2.9           # room for "layer l: T_l(X)"
            name = ("input $X$" if wide else "$X$") if l == 0 else (
                f"layer {l}: $T_{{{l}}}(X)$" if wide else f"$T_{{{l}}}(X)$")
            color = th["fg"] if l == 0 else text_ink(self.layer_color(l - 1, sn), th)
            f.labels.append(Label(f"panel{l}", p.x + 0.12, p.y + p.h - 0.21, name, 0.22, mix(color, th["bg"], 1 - a),
                                  "left", "center", alpha=1.0 if a > 0 else 0.0))
        f.segments.append(Segments("panel_frames", np.concatenate(segs), cols, 0.012))

    def draw_panels(self, f: Frame, s0: int, s1: int, w: float, sn: int, az: float, i: int = 10**9) -> None:
        """The 3D panels (X, then T_l(X) per layer) with axes, cones, base points, interpolated at ``w``; base
        points sized by and badged with their counts, arrivals trailed, the build-up of frame ``i`` applied."""
        th = self.theme
        P = (1 - w) * self.P3[s0] + w * self.P3[s1]          # (L, 3)
        E = (1 - w) * self.E3[s0] + w * self.E3[s1]          # (L, M, 3)
        col = self.collapsed[sn]                              # (L, N)
        ever = self._ever(sn)                                 # collapsed at some layer <= l
        # arrivals: collapsed now at a layer, not trail_seconds ago; their trail starts where they were then
        u_then = self.snapshot_position(i - int(round(self.trail_seconds * self.fps)))
        t0, t1, w_then, s_then = self.bracket(u_then)
        then = self.collapsed[s_then]
        u_now = self.snapshot_position(i)
        period = max(1, int(round(self.ripple_seconds * self.fps)))
        pulse = (i % period) / period

        pts_xy, pts_c, ring_xy, ring_c, segs, seg_c = [], [], [], [], [], []
        trails, trail_c, ripples, ripple_c = [], [], [], []
        axis_len = 0.75 * self.radius
        for l in range(self.L + 1):
            view = self.views[l]
            seg0 = len(segs)      # this panel's axes, rays and chevrons start here (what its badge avoids)
            a, grow = self.appear(l, i)
            if a <= 0:
                if l >= 1:
                    f.points.append(Points(f"base{l}", np.zeros((0, 2)), np.zeros(0, int), self.point_r,
                                           ring=True))
                    f.labels.append(Label(f"badge{l}", view.cx, view.cy, "", TEXT_MIN, th["fg"], alpha=0.0))
                continue
            # coordinate axes from the origin (input space) or the data mean (PCA), when it is in view
            a0 = self._screen(self.origin3[None], l, az)[0]
            if view.contains(a0[None])[0]:
                for e in self._screen(self.origin3 + axis_len * np.eye(3), l, az):
                    segs.append([a0, _clip_to(view, a0, a0 + grow * (e - a0))])
                    seg_c.append(mix(th["muted"], th["bg"], 1 - a))
            flag = ever[-1] if l == 0 else ever[l - 1]
            # the panel's points (X, or T_l(X) interpolated at w) projected and pinned once per distinct path:
            # points whose positions at both snapshots are the same bits (those sitting on a base point) get
            # the same screen position, so it is computed for the first of them and gathered for the others
            first, inv, A0, A1 = self._paths(s0, s1, l)
            if l == 0:
                xy_rep = self._pin(self._screen(A0, l, az, centred=True), view)    # A0: X - c, computed once
            else:
                # (1 - w) A0 + w A1 - c, in place: the same operations as the expression, fewer fresh arrays
                D = np.multiply(A0, 1 - w)
                D += np.multiply(A1, w)
                D -= self.cams[l][0]
                xy_rep = self._pin(self._screen(D, l, az, centred=True), view)
            xy = xy_rep if len(first) == len(inv) else np.take(xy_rep, inv, axis=0)
            ok = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])   # faster than .all(axis=1) on 100k points
            if a >= 0.35:
                if ok.all():   # (as always with finite data) the split depends on the snapshots alone: cached
                    # without the points that repeat an earlier one of their group (same path, same class):
                    # _unique_points below would drop them (their screen positions are the same bits)
                    pl_g, pl_c, rg_g, rg_c = self._split(sn, l, flag, s0, s1)
                    pts_xy.append(np.take(xy_rep, pl_g, axis=0))
                    ring_xy.append(np.take(xy_rep, rg_g, axis=0))
                else:
                    plain, ringed = ok & ~flag, ok & flag
                    pl_c, rg_c = self.labels[plain], self.labels[ringed]
                    pts_xy.append(_rows(xy, plain))
                    ring_xy.append(_rows(xy, ringed))
                pts_c.append(pl_c)
                ring_c.append(rg_c)
            if l == 0:
                continue
            j = self.layer_class_at(l - 1, sn)
            c = self.layer_color(l - 1, sn)
            new = np.flatnonzero(col[l - 1] & ~then[l - 1] & ok)
            if len(new) and a >= 0.35:
                # where the new points were trail_seconds ago (self.positions(u_then), of these points only)
                then3 = (1 - w_then) * self.T3[t0, l - 1, new] + w_then * self.T3[t1, l - 1, new]
                start = self._pin(self._screen(then3, l, az), view)
                keep = np.isfinite(start).all(axis=1) & (np.linalg.norm(xy[new] - start, axis=1) > 1e-3)
                # age of each arrival: from the first snapshot it sits on the base point, as a fraction of the
                # trail window (a comet fades as it ages, instead of vanishing at once)
                arrived = s_then + np.argmax(self.collapsed[s_then:sn + 1, l - 1][:, new[keep]], axis=0)
                age = (u_now - arrived) / max(u_now - u_then, 1e-9)
                sg, sc = comet_segments(start[keep], xy[new[keep]],
                                        [text_ink(class_color(int(k)), th) for k in self.labels[new[keep]]],
                                        th["bg"], fade=0.75 * np.clip(age, 0.0, 1.0))
                trails.append(sg)
                trail_c += sc
            p3 = P[l - 1]
            p = self._screen(p3[None], l, az)[0]
            inside = bool(view.contains(p[None])[0])
            n_on = int(self.counts[sn, l - 1])
            full = int(self.class_sizes[j]) if j >= 0 else self.N
            r_base = badge_radius(2.6 * self.point_r, n_on, full)
            ends = self._screen(p3 + 0.6 * self.radius * E[l - 1], l, az)
            for e in ends:
                if inside and np.any(E[l - 1]) and grow > 0:
                    segs.append([p, _clip_to(view, p, p + grow * (e - p))])
                    seg_c.append(mix(c, th["bg"], 1 - a))
            if inside:
                q = p
            else:  # pinned to the view's border, with a chevron pointing to where it really is
                q = self._pin(p[None], view, inset=r_base + 5.0 * self.point_r)[0]
                for u0, u1 in _chevron(q, p - q, 2.5 * self.point_r, r_base + 2.5 * self.point_r):
                    segs.append([u0, u1])
                    seg_c.append(mix(c, th["bg"], 1 - a))
            f.points.append(Points(f"base{l}", q[None], np.array([j if j >= 0 else GREY]), r_base * a, ring=True))
            # the badge: the count, and "+k" (bold) for the k points that arrived in the last trail_seconds
            badge = f"{n_on}" + (f" $\\mathbf{{+{len(new)}}}$" if len(new) else "")
            # off the panel's points, axes and rays, so that the badge reads (labels are drawn over them)
            avoid = np.concatenate([_rows(xy, ok), ray_samples(segs[seg0:])]) if a >= 0.35 else None
            bx, by, ha = badge_anchor(q, view, r_base, w=max(0.55, text_width(badge, 0.21)), avoid=avoid)
            f.labels.append(Label(f"badge{l}", bx, by, badge, 0.21, mix(c, th["fg"], 0.25), ha,
                                  alpha=1.0 if (a >= 0.35 and n_on > 0) else 0.0))
            if len(new):    # a ripple while points arrive: an expanding, fading ring
                ripples.append(circle_segments(q, r_base * (1.1 + 1.7 * pulse)))
                ripple_c += [mix(text_ink(c, th), th["bg"], pulse)] * len(ripples[-1])
        f.segments.append(Segments("axes_and_cones", np.array(segs).reshape(-1, 2, 2), seg_c, 0.02))
        f.segments.append(Segments("trails", np.concatenate(trails) if trails else np.zeros((0, 2, 2)), trail_c,
                                   0.035))
        f.segments.append(Segments("ripples", np.concatenate(ripples) if ripples else np.zeros((0, 2, 2)),
                                   ripple_c, 0.045))
        f.points.append(Points("points", *_unique_points(*_cat(pts_xy, pts_c)), self.point_r))
        f.points.append(Points("collapsed", *_unique_points(*_cat(ring_xy, ring_c)), self.point_r * 1.5, ring=True))

    def _ever(self, sn: int) -> np.ndarray:
        """``(L, N)``: collapsed at snapshot ``sn`` at some layer <= l (cached per snapshot)."""
        cache = self.__dict__.setdefault("_ever_cache", {})
        if sn not in cache:
            cache[sn] = np.logical_or.accumulate(self.collapsed[sn], axis=0)
        return cache[sn]

    def _paths(self, s0: int, s1: int, l: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Panel ``l``'s points between snapshots ``s0`` and ``s1`` as distinct paths (:func:`exact_groups` of
        their positions at both): ``(first, inv, A0, A1)``, ``A0, A1: (G, 3)`` the first point of each path
        at ``s0`` and ``s1`` (panel 0: ``X - c`` for both, ``c`` its camera's centre). Cached for the panels of
        the last two intervals (frames come in order)."""
        key = (0, 0, 0) if l == 0 else (s0, s1, l)
        cache = self.__dict__.setdefault("_paths_cache", {})
        got = cache.pop(key, None)       # (re-inserted below: the least recently used entry goes first)
        if got is not None:
            cache[key] = got
        else:
            if l == 0:
                first, inv = exact_groups(self.X3)
                A0 = np.take(self.X3, first, axis=0) - self.cams[0][0]
                A1 = A0
            else:
                T0, T1 = self.T3[s0, l - 1], self.T3[s1, l - 1]
                # the rows' hash from each snapshot's (kept for the next interval, which shares s1)
                h = row_hash(T1, self._snapshot_hash(s0, l))
                first, inv = exact_groups(np.concatenate([T0, T1], axis=1), h)
                A0, A1 = np.take(T0, first, axis=0), np.take(T1, first, axis=0)
            got = _remember(cache, key, (first, inv, A0, A1), 2 * (self.L + 1))   # two intervals' panels
        return got

    def _snapshot_hash(self, s: int, l: int) -> np.ndarray:
        """:func:`row_hash` of panel ``l``'s points at snapshot ``s`` (the last two kept)."""
        cache = self.__dict__.setdefault("_hash_cache", {})
        got = cache.get((s, l))
        if got is None:
            got = _remember(cache, (s, l), row_hash(self.T3[s, l - 1]), 2 * (self.L + 1))
        return got

    def _split(self, sn: int, l: int, flag: np.ndarray, s0: int = 0, s1: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Panel ``l``'s points at snapshot ``sn`` split by ``flag`` (collapsed), each without the points that
        repeat an earlier one of the same path (:meth:`_paths`, between ``s0`` and ``s1``) and class: the
        paths of the plain ones (rows of ``A0``), their labels, those of the ringed ones, their labels (cached
        for the panels of the last two intervals, both nearest snapshots)."""
        key = (sn, l) if l == 0 else (sn, l, s0, s1)
        cache = self.__dict__.setdefault("_split_cache", {})
        got = cache.pop(key, None)
        if got is not None:
            cache[key] = got
        else:
            _, inv, _, _ = self._paths(s0, s1, l)
            lab = self.labels
            lo = int(lab.min()) if len(lab) else 0
            path_class = inv * (int(lab.max()) - lo + 1 if len(lab) else 1) + (lab - lo)
            plain = first_of_each(np.flatnonzero(~flag), path_class)
            ringed = first_of_each(np.flatnonzero(flag), path_class)
            got = _remember(cache, key, (inv[plain], lab[plain], inv[ringed], lab[ringed]), 4 * (self.L + 1))
        return got

    def draw_readout(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        """The live count chart and the step / loss / per-class count / contraction-rate readouts."""
        pl = self.plot
        upto = np.append(self.steps[: s0 + 1].astype(float), (1 - w) * self.steps[s0] + w * self.steps[s1])
        for l in range(self.L):
            ys = np.append(self.counts[: s0 + 1, l].astype(float),
                           (1 - w) * self.counts[s0, l] + w * self.counts[s1, l])
            xy = np.c_[self.step_x(upto, pl), pl.y + pl.h * self.count_y(ys, self.plot_ymax)]
            f.lines.append(Polyline(f"count{l}", xy, self.layer_color(l, sn), 0.035))
        step = (1 - w) * self.steps[s0] + w * self.steps[s1]
        loss = float(np.exp((1 - w) * np.log(max(self.loss[s0], 1e-300)) + w * np.log(max(self.loss[s1], 1e-300))))
        self.step_loss_counts(f, step, loss, sn, *self.readout_xy, first=1.05, row=0.42, size=0.22, u=s0 + w)

    def count_text(self, l: int, sn: int) -> str:
        """``layer 1: 116 / 200 of class 1`` (plus the points of other classes on the base point, if any)."""
        j = self.layer_class_at(l, sn)
        if j < 0:
            return f"layer {l + 1}: no class collapses"
        n = int(self.class_counts[sn, l, j])
        other = int(self.counts[sn, l]) - n
        return (f"layer {l + 1}: {n} / {int(self.class_sizes[j])} of {class_name(j)}"
                + (f" (+{other})" if other else ""))

    def step_loss_counts(self, f: Frame, step: float, loss: float, sn: int, x: float, y: float, first: float,
                         row: float, size: float, u: float | None = None) -> None:
        """Readout at ``(x, y)``: the step, the loss, then per layer the points of its class collapsed (snapshot
        ``sn``) and, where known, the contraction rate around ``u`` (two lines a layer for up to 3 layers, one
        beyond), the first ``first`` below ``y``; text height ``size``."""
        th = self.theme
        f.labels.append(Label("step", x, y, f"step {int(round(step))} / {self.step_max}", 0.26, th["fg"]))
        f.labels.append(Label("loss", x, y - 0.45, f"loss {tex_sci(loss)}", 0.26, th["fg"]))
        two = self.rates is not None and self.two_line()
        pitch = 0.68 if two else min(row, 2.2 / max(self.L - 1, 1))     # the rows end above the chart
        sz = size if self.L <= 4 else TEXT_MIN
        room = self.lay.room_x - x                        # to the right edge of the picture (or the chart)
        lines = []
        for l in range(self.L):
            txt = self.count_text(l, sn)
            rate = self.rate_at(l, sn if u is None else u) if self.rates is not None else float("nan")
            per = "" if self.rate_unit == "t" else " per step"
            rtxt = (f"contraction rate $\\lambda_{{{l + 1}}} = {rate:.2g}${per}" if np.isfinite(rate)
                    else f"$\\lambda_{{{l + 1}}}$: none left to contract")
            if self.rates is not None and not two:
                txt += f"   $\\lambda$ {rate:.2g}" if np.isfinite(rate) else ""
            if text_width(txt, TEXT_MIN) > room:          # too long even small: the compact spelling
                txt = txt.replace(" / ", "/").replace("   ", "  ")
            lines.append((txt, rtxt))
        sizes = [fit_text_size(txt, sz, room) for txt, _ in lines]
        if not self.lay.is_16x9:                          # one size for every layer's line
            sizes = [min(sizes)] * len(sizes)
        for l, ((txt, rtxt), size_l) in enumerate(zip(lines, sizes, strict=True)):
            yl = y - first - pitch * l
            f.labels.append(Label(f"count_label{l}", x, yl, txt, size_l, text_ink(self.layer_color(l, sn), th)))
            if two:
                f.labels.append(Label(f"rate_label{l}", x + 0.25, yl - 0.31, rtxt, TEXT_MIN, th["muted"]))

    def rate_at(self, l: int, u: float) -> float:
        """Layer ``l``'s contraction rate around fractional snapshot ``u``: the mean of the finite interval rates
        over :attr:`rate_seconds` of animation (NaN when none)."""
        if self.rates is None:
            return float("nan")
        k = self.window_snapshots()
        lo, hi = max(0, int(np.floor(u - k))), min(self.S - 1, int(np.ceil(u + k)))
        r = self.rates[l, lo:max(hi, lo + 1)]
        r = r[np.isfinite(r)]
        return float(r.mean()) if len(r) else float("nan")


class RefPerturbationFrames(PerturbationFrames, RefTruncationFrames):
    """``PerturbationFrames`` on the reference panels and readout lines."""


class RefLocalMinimaFrames(LocalMinimaFrames, RefTruncationFrames):
    """``LocalMinimaFrames`` on the reference panels."""
