"""Geometry of the marks in a panel: the camera, arrow heads, clipping to a
view, comet trails, circles, count badges and where they go."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from . import point_passes
from .colour import _mix_level
from .layout import Rect


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


def _clip_to(panel: Rect, p: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Shorten segment ``p -> e`` so that it ends inside ``panel`` (``p`` inside)."""
    d = e - p
    if getattr(p, "dtype", None) == np.float64 and d.dtype == np.float64 and d.shape == (2,):
        # float64 points: the same arithmetic on Python floats (IEEE doubles), without numpy scalars
        (px, py), (dx, dy) = p.tolist(), d.tolist()
        t = 1.0
        for dk, pk, lo, hi in ((dx, px, panel.x, panel.x + panel.w), (dy, py, panel.y, panel.y + panel.h)):
            if dk > 0:
                t = min(t, (hi - pk) / dk)
            elif dk < 0:
                t = min(t, (lo - pk) / dk)
        return p + max(t, 0.0) * d
    t = 1.0
    for k, (lo, hi) in enumerate([(panel.x, panel.x + panel.w), (panel.y, panel.y + panel.h)]):
        if d[k] > 0:
            t = min(t, (hi - p[k]) / d[k])
        elif d[k] < 0:
            t = min(t, (lo - p[k]) / d[k])
    return p + max(t, 0.0) * d


def bounding_sphere(*clouds: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (3,) and radius of a sphere around every finite row of ``clouds`` (arrays ``(..., 3)``): the centre
    of their bounding box, the radius the largest distance from it (1 when there is nothing finite)."""
    pts = np.concatenate([np.asarray(c, dtype=float).reshape(-1, 3) for c in clouds])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) == 0:
        return np.zeros(3), 1.0
    c = (pts.min(axis=0) + pts.max(axis=0)) / 2
    r = float(np.max(np.linalg.norm(pts - c, axis=1)))
    return c, (r if r > 0 else 1.0)


def comet_segments(start: np.ndarray, end: np.ndarray, colors: list[str], bg: str, pieces: int = 4,
                   fade: np.ndarray | None = None, levels: int = 8, index: np.ndarray | None = None
                   ) -> tuple[np.ndarray, list[str]]:
    """Trails as comets: each ``start[k] -> end[k]`` (``(n, 2)`` each) cut into ``pieces`` segments whose colour
    goes from faint at the tail (``start``) to ``colors[k]`` at the head (``end``), all faded towards ``bg`` by
    ``fade[k]`` in [0, 1] (0: none; e.g. the trail's age). Returns ``(n * pieces, 2, 2)`` segments and their
    colours (quantised to ``levels`` shades, so that repeated frames reuse the same strings).

    ``index``: ``(n,)`` integers, trail ``k``'s colour is ``colors[index[k]]`` (``colors`` then the few distinct
    colours, e.g. one a class): the same segments and colours as passing ``[colors[i] for i in index]``, without
    a Python step per trail."""
    start, end = np.asarray(start, dtype=float).reshape(-1, 2), np.asarray(end, dtype=float).reshape(-1, 2)
    n = len(start)
    if n == 0:
        return np.zeros((0, 2, 2)), []
    fade = np.zeros(n) if fade is None else np.clip(np.asarray(fade, dtype=float), 0.0, 1.0)
    t, strength = _comet_steps(pieces)      # the cut points, and each piece's strength: tail faint, head full
    pts = start[:, None, :] + t[None, :, None] * (end - start)[:, None, :]         # (n, pieces + 1, 2)
    segs = np.stack([pts[:, :-1], pts[:, 1:]], axis=2).reshape(-1, 2, 2)
    away = 1.0 - strength[None, :] * (1.0 - fade[:, None])                          # (n, pieces): toward bg
    lv = np.rint(away * levels).astype(int)
    if index is not None:
        index = np.asarray(index, dtype=np.int64).reshape(n)
        if n * pieces > len(colors) * (levels + 1) and 0 <= lv.min() and lv.max() <= levels:
            # every colour's shades in a table, looked up at once: the strings the steps below give
            table = np.array([_mix_level(c, bg, v, levels) for c in colors for v in range(levels + 1)], dtype=object)
            return segs, table[index[:, None] * (levels + 1) + lv].ravel().tolist()
        colors = [colors[i] for i in index.tolist()]
    if n * pieces <= 2 * len(set(colors)) * (levels + 1) or not (0 <= lv.min() and lv.max() <= levels):
        cols = [_mix_level(colors[k], bg, int(lv[k, m]), levels) for k in range(n) for m in range(pieces)]
        return segs, cols
    # a table of each colour's shades (few colours, levels + 1 shades), indexed: the same strings
    ids: dict[str, int] = {}
    cid = np.array([ids.setdefault(c, len(ids)) for c in colors], dtype=np.int64)
    table = [_mix_level(c, bg, v, levels) for c in ids for v in range(levels + 1)]
    flat = (cid[:, None] * (levels + 1) + lv).ravel().tolist()
    return segs, [table[k] for k in flat]


@lru_cache(maxsize=8)
def _comet_steps(pieces: int) -> tuple[np.ndarray, np.ndarray]:
    """``linspace(0, 1, pieces + 1)`` and ``(arange(pieces) + 1) / pieces`` (read-only, shared)."""
    t = np.linspace(0.0, 1.0, pieces + 1)
    strength = (np.arange(pieces) + 1.0) / pieces
    t.flags.writeable = strength.flags.writeable = False
    return t, strength


def circle_segments(c: np.ndarray, r: float, n: int = 32) -> np.ndarray:
    """``(n, 2, 2)`` segments of a circle of radius ``r`` about ``c`` (a ripple, a ring)."""
    cos, sin = _unit_circle(n)
    p = np.empty((n + 1, 2))
    p[:, 0] = c[0] + r * cos
    p[:, 1] = c[1] + r * sin
    return np.stack([p[:-1], p[1:]], axis=1)


@lru_cache(maxsize=16)
def _unit_circle(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``cos`` and ``sin`` of ``n + 1`` angles from 0 to 2 pi (read-only: shared by every call)."""
    a = np.linspace(0, 2 * np.pi, n + 1)
    cos, sin = np.cos(a), np.sin(a)
    cos.flags.writeable = sin.flags.writeable = False
    return cos, sin


def badge_radius(r0: float, n: int, full: int, grow: float = 1.6) -> float:
    """Marker radius of a base point with ``n`` points on it: ``r0`` when empty, ``(1 + grow) r0`` at ``full``
    (area proportional to the count)."""
    return float(r0 * (1.0 + grow * np.sqrt(max(n, 0) / max(full, 1))))


BADGE_GAP_X = 0.16   # figure units: the least room between two badges side by side (more than two spaces)
BADGE_GAP_Y = 0.02   # and between two badges one above the other


def badge_box(x: float, y: float, ha: str, w: float = 0.55, h: float = 0.3) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)``: the box :func:`badge_anchor` keeps for a badge of about ``w x h`` anchored at ``(x, y)``
    with ``ha`` (``left``: it starts at ``x``; ``right``: it ends there), vertically centred."""
    x0 = x if ha == "left" else x - w
    return float(x0), float(y - h / 2), float(x0 + w), float(y + h / 2)


def badge_anchor(p: np.ndarray, view: Rect, r: float, w: float = 0.55, h: float = 0.3,
                 avoid: np.ndarray | list[np.ndarray] | None = None,
                 taken: list[tuple[float, float, float, float]] | None = None,
                 weights: np.ndarray | list[np.ndarray | None] | None = None) -> tuple[float, float, str]:
    """Where a count badge of about ``w x h`` goes next to a marker of radius ``r`` at ``p``: to its upper right,
    or mirrored to the left / below when that would leave ``view``. With ``avoid`` (``(K, 2)`` figure units: the
    panel's points, samples along its rays), the corner (upper right, upper left, lower right, lower left) inside
    ``view`` whose box covers the fewest of them, the first in that order on a tie: the badge is not drawn over
    the data. With ``taken`` (the :func:`badge_box` boxes of the badges already placed in this frame, in the
    frame's order), only corners whose box keeps clear of every taken box (:data:`BADGE_GAP_X` side by side,
    :data:`BADGE_GAP_Y` above / below) compete; when none of the four is clear, the same four moved outward by
    one badge height at a time, up to the view's border, the first step that has a clear one. Without a clear
    place anywhere in the view (a view full of badges), the corners as without ``taken``. Deterministic.

    ``weights`` (``(K,)`` non-negative integers): ``avoid[k]`` counts as ``weights[k]`` points (the same as
    repeating it that often: a frame model passes each distinct position once, with the number of points on
    it). ``avoid`` may also be a list of such arrays (taken together), ``weights`` then a list with an entry
    for each (``None``: weight 1). Returns ``(x, y, ha)``."""
    right = p[0] + r + 0.05 + w <= view.x + view.w
    x = p[0] + r + 0.05 if right else p[0] - r - 0.05
    y = p[1] + r + 0.02 + h / 2
    if y + h / 2 > view.y + view.h:
        y = p[1] - r - 0.02 - h / 2
    fallback = (float(x), float(y), "left" if right else "right")
    taken = [t for t in (taken or ())]
    groups = _avoid_groups(avoid, weights)
    if not groups and not taken:
        return fallback

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

    def fewest(boxes: list[tuple[float, float, str, float]]) -> tuple[float, float, str] | None:
        """The box covering the fewest of the points, the first on a tie."""
        if not boxes:
            return None
        # one pass over the points keeps those near any box (a slightly wider superset: the counts below are
        # the same); non-finite points never count (their comparisons are False)
        eps = 1e-6
        bx0 = min(b[3] for b in boxes) - 0.04 - eps
        bx1 = max(b[3] for b in boxes) + w + 0.04 + eps
        by0 = min(b[1] for b in boxes) - h / 2 - 0.04 - eps
        by1 = max(b[1] for b in boxes) + h / 2 + 0.04 + eps
        px, py, wx, wy, wts = _near(groups, bx0, bx1, by0, by1)
        in_x, in_y = {}, {}     # a box's column and row tests, shared by the boxes on the same side / row
        best, best_n = None, None
        weighted = len(wts) > 0
        for xx, yy, side, x0 in boxes:
            if x0 not in in_x:
                in_x[x0] = ((px > x0 - 0.04) & (px < x0 + w + 0.04),
                            (wx > x0 - 0.04) & (wx < x0 + w + 0.04) if weighted else None)
            if yy not in in_y:
                in_y[yy] = (np.abs(py - yy) < h / 2 + 0.04, np.abs(wy - yy) < h / 2 + 0.04 if weighted else None)
            n = int(np.count_nonzero(in_x[x0][0] & in_y[yy][0]))
            if weighted:
                n += int(wts[in_x[x0][1] & in_y[yy][1]].sum())
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
            best = fewest([b for b in ring if clear(b)])
            if best is not None:
                return best
            if not ring:
                break       # every corner this far out (and further) is outside the view
            lift += step
    best = fewest(corners(0.0)) if groups else None
    return best if best is not None else fallback


def _avoid_groups(avoid, weights) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """``badge_anchor``'s ``avoid`` and ``weights`` as ``[(pts (K, 2) float, weights (K,) int or None)]``, the
    empty groups left out."""
    if avoid is None:
        return []
    if isinstance(avoid, (list, tuple)) and (len(avoid) == 0 or np.ndim(avoid[0]) == 2):
        wl = [None] * len(avoid) if weights is None else list(weights)
    else:
        avoid, wl = [avoid], [weights]
    out = []
    for a, wt in zip(avoid, wl, strict=True):
        if not (isinstance(a, np.ndarray) and a.dtype == np.float64 and a.ndim == 2 and a.shape[1] == 2):
            a = np.asarray(a, dtype=float).reshape(-1, 2)
        if len(a):
            if wt is not None and not (isinstance(wt, np.ndarray) and wt.dtype == np.int64 and wt.shape == (len(a),)):
                wt = np.asarray(wt, dtype=np.int64).reshape(len(a))
            out.append((a, wt))
    return out


NEAR_STRIPE = 4096   # _near: groups of this many points are cut to a stripe first, smaller ones joined and tested


def near_kernels(n: int):
    """The numba kernels :func:`_near` tests a group of ``n`` points with (one pass over its rows as they are),
    or ``None``: below :data:`~scenes.clips.point_passes.JIT_MIN` and :data:`NEAR_STRIPE` points, or without
    numba (then its numpy passes, which read each column contiguously)."""
    return point_passes.jit_kernels() if n >= max(NEAR_STRIPE, point_passes.JIT_MIN) else None


def _near(groups, bx0: float, bx1: float, by0: float, by1: float
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The points of ``groups`` strictly inside ``(bx0, bx1) x (by0, by1)``, as columns: ``(ux, uy, wx, wy, k)``,
    ``ux, uy: (K,)`` those of the unweighted groups, ``wx, wy: (J,)`` those of the weighted ones and ``k: (J,)``
    their weights (each column contiguous: the tests on them read no interleaved rows). A group's points may
    come in either memory order (a column-major ``(n, 2)``, e.g. ``cols.T`` of ``cols: (2, n)``, is read
    column by column). Groups of :data:`~scenes.clips.point_passes.JIT_MIN` points and more (and at least
    :data:`NEAR_STRIPE`): one numba pass over both columns (the same points), where numba can be imported."""
    ux, uy, wx, wy, wk, small = [], [], [], [], [], []
    for a, wt in groups:
        jit = near_kernels(len(a))
        if jit is not None:           # numba: both tests in one pass (either memory order)
            sel, x, y = jit.inside_box(a[:, 0], a[:, 1], bx0, bx1, by0, by1)
        elif len(a) >= NEAR_STRIPE:   # a stripe first: the y test on its points only
            ax = a[:, 0]
            sel = np.flatnonzero((ax > bx0) & (ax < bx1))
            ay = np.take(a[:, 1], sel)
            inside = (ay > by0) & (ay < by1)
            sel = sel[inside]
            x, y = np.take(ax, sel), ay[inside]
        elif wt is None:
            small.append(a)
            continue
        else:
            ax, ay = a[:, 0], a[:, 1]
            sel = np.flatnonzero((ax > bx0) & (ax < bx1) & (ay > by0) & (ay < by1))
            x, y = np.take(ax, sel), np.take(ay, sel)
        if wt is None:
            ux.append(x)
            uy.append(y)
        else:
            wx.append(x)
            wy.append(y)
            wk.append(np.take(wt, sel))
    if small:                         # joined: one test of every point
        a = small[0] if len(small) == 1 else np.concatenate(small)
        ax, ay = a[:, 0], a[:, 1]
        inside = (ax > bx0) & (ax < bx1) & (ay > by0) & (ay < by1)
        ux.append(ax[inside])
        uy.append(ay[inside])

    def cat(x: list, dtype=float) -> np.ndarray:
        return np.zeros(0, dtype) if not x else x[0] if len(x) == 1 else np.concatenate(x)

    return cat(ux), cat(uy), cat(wx), cat(wy), cat(wk, np.int64)


def ray_samples(rays: list, n: int = 12) -> np.ndarray:
    """``(len(rays) * n, 2)``: points along each segment ``[start, end]`` of ``rays`` (what a badge avoids)."""
    if not len(rays):
        return np.zeros((0, 2))
    r = np.asarray(rays, dtype=float).reshape(-1, 2, 2)
    t, t1 = _ray_t(n)
    return (r[:, None, 0] * t1 + r[:, None, 1] * t).reshape(-1, 2)


@lru_cache(maxsize=8)
def _ray_t(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``t`` and ``1 - t``, ``(1, n, 1)``, for ``n`` samples from 0 to 1 (read-only, shared)."""
    t = np.linspace(0.0, 1.0, n)[None, :, None]
    t1 = 1 - t
    t.flags.writeable = t1.flags.writeable = False
    return t, t1
