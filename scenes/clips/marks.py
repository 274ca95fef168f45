"""Geometry of the marks in a panel: the camera, arrow heads, clipping to a
view, comet trails, circles, count badges and where they go."""

from __future__ import annotations

import numpy as np

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
