"""Renderer-agnostic frame model of the ``truncation-speed`` clip.

Everything is in *figure units*: x in [0, 16], y in [0, 9], origin bottom-left. A renderer maps these to its
own coordinates and draws the returned primitives; it computes nothing about the trace itself. This is what
keeps Manim and matplotlib at parity (same trace in, same content out).

Layout: a grid of 3D panels on the left (input data ``X``, then ``T_l(X)`` for every hidden layer ``l``), a
readout (title, step, loss, collapsed counts) and a live plot of the collapsed count per layer on the right.

Projection: for ``M = 3`` the panels show input space itself; for ``M > 3`` the trace's PCA (fitted once on
``X``) maps every snapshot and layer to ``R^3``. A slow orbit (azimuth turning, fixed elevation) is applied
with an orthographic camera. The scale is fixed from ``X`` and the base points so frames are comparable.

Between snapshots, positions are interpolated linearly (smooth motion); collapse flags and counts are taken
from the nearest snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Okabe-Ito: colour-blind-safe categorical palette (classes, and the layer that collapses that class)
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#F0E442", "#999999"]
THEMES = {
    "light": {"bg": "#FFFFFF", "fg": "#1A1A1A", "muted": "#8C8C8C", "panel": "#BBBBBB", "collapsed": "#000000"},
    "dark": {"bg": "#111111", "fg": "#F2F2F2", "muted": "#8C8C8C", "panel": "#555555", "collapsed": "#FFFFFF"},
}
FIG_W, FIG_H = 16.0, 9.0


def smoothstep(t):
    """Eased progress ``3 t^2 - 2 t^3`` of ``t`` clipped to [0, 1] (a float or an array)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def clip_timeline(fps: int, duration: float, hold_start: float, hold_end: float,
                  lead_frames: int = 0) -> tuple[int, int, int, int]:
    """Frame counts of a clip: ``(n_hold0, n_anim, n_hold1, n_frames)``.

    ``lead_frames`` (e.g. a title card) come first, then ``hold_start`` seconds still, ``duration`` seconds of
    animation (at least 2 frames) and ``hold_end`` seconds still. The animation position of frame ``i`` is
    ``min(max(i - n_hold0, 0), n_anim - 1) / (n_anim - 1)``.
    """
    n_hold0 = lead_frames + int(round(hold_start * fps))
    n_anim = max(2, int(round(duration * fps)))
    n_hold1 = int(round(hold_end * fps))
    return n_hold0, n_anim, n_hold1, n_hold0 + n_anim + n_hold1


def class_color(j: int) -> str:
    return PALETTE[j % len(PALETTE)]


@dataclass
class Points:
    """A point cloud: ``xy: (n, 2)`` figure units, ``color: (n,)`` palette indices, ``radius`` in figure units."""

    name: str
    xy: np.ndarray
    color: np.ndarray
    radius: float
    ring: bool = False  # drawn as a ring (outline in the theme's 'collapsed' colour) on top of the class colour


@dataclass
class Segments:
    """``xy: (K, 2, 2)`` line segments; ``colors``: K hex strings; ``width`` in figure units."""

    name: str
    xy: np.ndarray
    colors: list[str]
    width: float
    alpha: float = 1.0


@dataclass
class Polyline:
    name: str
    xy: np.ndarray
    color: str
    width: float


@dataclass
class Label:
    """Text anchored at ``(x, y)``: ``ha`` in left|center|right, ``va`` in bottom|center|top; ``size`` = height."""

    name: str
    x: float
    y: float
    text: str
    size: float
    color: str
    ha: str = "left"
    va: str = "center"
    alpha: float = 1.0


@dataclass
class Frame:
    """One frame's primitives. ``cover`` (0..1) is the opacity of a background-coloured sheet drawn over
    everything else, and ``card`` the labels drawn on top of it: a title card that fades out."""

    points: list[Points] = field(default_factory=list)
    segments: list[Segments] = field(default_factory=list)
    lines: list[Polyline] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    cover: float = 0.0
    card: list[Label] = field(default_factory=list)


class TitleCard:
    """A title card of ``seconds`` (full) plus ``fade`` seconds (fading out) at the start of a clip.

    ``lines``: the title, then parameter lines. Frame models call :meth:`apply` in ``frame(i)``; card labels
    keep their names in every frame (alpha 0 once faded) so renderers can update them in place.
    """

    def __init__(self, lines: list[str], fps: int, theme: dict, seconds: float = 2.0, fade: float = 0.6):
        self.lines = lines
        self.n_full = int(round(seconds * fps))
        self.n_fade = max(1, int(round(fade * fps)))
        self.theme = theme

    @property
    def n_frames(self) -> int:
        return self.n_full + self.n_fade

    def alpha(self, i: int) -> float:
        if i < self.n_full:
            return 1.0
        return float(max(0.0, 1.0 - (i - self.n_full + 1) / self.n_fade))

    def apply(self, f: Frame, i: int) -> Frame:
        a = self.alpha(i)
        f.cover = a
        th = self.theme
        y = 5.6
        for k, text in enumerate(self.lines):
            big = k == 0
            f.card.append(Label(f"card{k}", FIG_W / 2, y, text, 0.42 if big else 0.24,
                                th["fg"] if big else th["muted"], "center", "center", alpha=a))
            y -= 0.95 if big else 0.5
        return f


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def contains(self, xy: np.ndarray) -> np.ndarray:
        return ((xy[:, 0] >= self.x) & (xy[:, 0] <= self.x + self.w)
                & (xy[:, 1] >= self.y) & (xy[:, 1] <= self.y + self.h))

    def border(self) -> np.ndarray:
        x0, y0, x1, y1 = self.x, self.y, self.x + self.w, self.y + self.h
        c = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return np.array([[c[i], c[(i + 1) % 4]] for i in range(4)])


def camera_basis(azimuth: float, elevation: float) -> np.ndarray:
    """Screen ``right`` and ``up`` vectors (2, 3) of an orthographic camera (angles in radians)."""
    ca, sa, ce, se = np.cos(azimuth), np.sin(azimuth), np.cos(elevation), np.sin(elevation)
    return np.array([[-sa, ca, 0.0], [-ca * se, -sa * se, ce]])


def panel_grid(n: int, area: Rect, gap: float = 0.25) -> list[Rect]:
    rows = 1 if n <= 2 else 2
    cols = int(np.ceil(n / rows))
    w = (area.w - gap * (cols - 1)) / cols
    h = (area.h - gap * (rows - 1)) / rows
    side = min(w, h)
    out = []
    for i in range(n):
        r, c = divmod(i, cols)
        x = area.x + c * (w + gap) + (w - side) / 2
        y = area.y + area.h - (r + 1) * h - r * gap + (h - side) / 2
        out.append(Rect(x, y, side, side))
    return out


def fmt_loss(v: float) -> str:
    return f"{v:.3e}" if np.isfinite(v) else str(v)


def meta_lr(meta: dict) -> str:
    """The step size a truncation-speed run used: the resolved ``meta["lr"]`` (automatic step sizes leave
    ``config["lr"]`` at ``None``), else the configured one."""
    lr = meta.get("lr", meta.get("config", {}).get("lr"))
    return "?" if lr is None else f"{lr:g}" if isinstance(lr, (int, float)) else str(lr)


def _lr_text(meta: dict) -> str:
    auto = meta.get("config", {}).get("lr", 0) is None and meta.get("sharpness")
    return (f"lr {meta_lr(meta)} (= {meta['config'].get('lr_scale', '?')} / sharpness {meta['sharpness']:.3g})"
            if auto else f"lr {meta_lr(meta)}")


class TruncationFrames:
    """Frames of the truncation clip for one trace.

    ``fps`` and ``duration`` (seconds of animated training) fix the frame count; ``hold_start`` and
    ``hold_end`` seconds show the first and last snapshot still (the camera keeps orbiting).
    """

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, hold_start: float = 0.6,
                 hold_end: float = 1.4, theme: str = "light", orbit_deg: float = 50.0,
                 elevation_deg: float = 30.0, azimuth_deg: float = 20.0, card_seconds: float = 2.0):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        self.tr = trace
        self.fps = int(fps)
        self.theme = THEMES[theme]
        self.card = TitleCard(self.card_lines(trace), self.fps, self.theme, card_seconds) if card_seconds > 0 else None
        self.n_hold0, self.n_anim, self.n_hold1, self.n_frames = clip_timeline(
            self.fps, duration, hold_start, hold_end, self.card.n_frames if self.card else 0)
        self.orbit = np.deg2rad(orbit_deg)
        self.elev = np.deg2rad(elevation_deg)
        self.azim0 = np.deg2rad(azimuth_deg)

        a = trace.arrays
        self.labels = a["labels"]
        self.steps = a["steps"]
        self.loss = a["loss"]
        self.S, self.L = a["truncated"].shape[:2]
        self.N, self.M = a["X"].shape
        widths = trace.meta.get("widths") or [self.M] * self.L
        self.widths = np.array(widths[: self.L])
        # collapsed flags (S, L, N) and counts per layer (S, L)
        self.collapsed = a["k_trunc"].astype(np.int64) == self.widths[None, :, None]
        self.counts = self.collapsed.sum(axis=2)
        # 3D coordinates: raw input space for M == 3, the stored PCA otherwise (M < 3 is zero-padded)
        if self.M == 3:
            self.mean, self.comps = a["X"].mean(axis=0), np.eye(3)
            self.axis_names = ["x1", "x2", "x3"]
        else:
            self.mean, self.comps = a["pca_mean"], a["pca_components"]
            self.axis_names = ["PC1", "PC2", "PC3"]
        self.X3 = self._to3(a["X"])
        self.T3 = self._to3(a["truncated"])                 # (S, L, N, 3)
        self.P3 = self._to3(a["base_points"])               # (S, L, 3)
        E = np.nan_to_num(np.swapaxes(a["edges"], 2, 3))    # (S, L, M_l -> M, M): edge i as a row
        E3 = E @ self.comps.T                                # directions: no centring
        n = np.linalg.norm(E3, axis=-1, keepdims=True)
        self.E3 = np.where(n > 0, E3 / np.maximum(n, 1e-300), 0.0)
        # fixed scale from the input data (base points and truncated data that leave the view are pinned
        # to the panel border, see _pin)
        self.radius = 1.1 * float(np.max(np.linalg.norm(self.X3, axis=1))) or 1.0
        self.origin3 = self._to3(np.zeros((1, self.M)))[0] if self.M == 3 else np.zeros(3)

        # layout
        self.title_y = 8.55
        self.panels = panel_grid(self.L + 1, Rect(0.3, 0.35, 9.9, 7.6))
        self.plot = Rect(11.3, 0.95, 4.3, 3.6)
        self.point_r = 0.028 * (self.panels[0].w / 3.7) ** 0.5
        self.plot_ymax = nice_ceil(1.08 * max(1, int(self.counts.max())))  # headroom: a full count stays visible
        self.step_max = max(1, int(self.steps[-1]))

    @staticmethod
    def card_lines(trace) -> list[str]:
        """Title and parameters of the run, for the title card."""
        cfg, meta = trace.meta.get("config", {}), trace.meta
        N = len(trace.arrays["X"])
        fr = cfg.get("start_fractions", [])
        lines = [
            "Speed of truncation during training",
            f"Q = {meta['Q']} clustered classes in R^{meta['M']}, {N} points "
            f"({cfg.get('cluster_kind', 'ball')}s of radius {cfg.get('radius', '?')})",
            f"ReLU network, {len(meta.get('widths', []))} hidden layers of width {meta['M']}, started from the "
            f"zero-loss construction",
            "layer 1 starts with " + ", ".join(f"{f:g}" for f in fr) + " of its class collapsed" if fr else "",
            f"{str(cfg.get('optimizer', '?')).upper()}, {_lr_text(meta)}, {str(meta.get('loss', '?')).upper()}, "
            f"{meta.get('steps', cfg.get('steps', '?'))} steps, seed {meta.get('seed', '?')}, {cfg.get('dtype', '')}",
            f"stopped: {meta.get('stop_reason', '?')}   ·   geomdl {meta.get('versions', {}).get('geomdl', '')}",
        ]
        return [ln for ln in lines if ln]

    # -- geometry helpers -------------------------------------------------------------------------
    def _to3(self, P: np.ndarray) -> np.ndarray:
        return (P - self.mean) @ self.comps.T

    def _screen(self, P3: np.ndarray, panel: Rect, azim: float) -> np.ndarray:
        B = camera_basis(azim, self.elev)
        s = 0.45 * panel.w / self.radius
        xy = P3 @ B.T * s
        return xy + np.array([panel.cx, panel.cy])

    @staticmethod
    def _pin(xy: np.ndarray, panel: Rect, inset: float = 0.06) -> np.ndarray:
        """Move points outside ``panel`` onto its border (along the ray from the panel centre)."""
        c = np.array([panel.cx, panel.cy])
        d = xy - c
        half = np.array([panel.w / 2 - inset, panel.h / 2 - inset])
        k = np.maximum(np.abs(d[:, 0]) / half[0], np.abs(d[:, 1]) / half[1])     # faster than max(axis=1)
        out = np.array(xy, dtype=float)
        far = np.flatnonzero(k > 1)                                                # usually few: move only those
        out[far] = c + d[far] / k[far, None]
        return out

    def snapshot_position(self, i: int) -> float:
        """Fractional snapshot index ``u`` in ``[0, S-1]`` of frame ``i``."""
        j = min(max(i - self.n_hold0, 0), self.n_anim - 1)
        return j / (self.n_anim - 1) * (self.S - 1)

    def azimuth(self, i: int) -> float:
        return self.azim0 + self.orbit * i / max(1, self.n_frames - 1)

    # -- static and dynamic content -------------------------------------------------------------
    def static(self) -> Frame:
        """What every frame shares: panel borders and titles, the plot box, axis labels, the title."""
        th, f = self.theme, Frame()
        cfg = self.tr.meta.get("config", {})
        title = (f"Truncation during training  ·  Q={self.tr.meta['Q']}, M={self.M}  ·  "
                 f"{cfg.get('optimizer', '?').upper()} lr={meta_lr(self.tr.meta)}  ·  "
                 f"{self.tr.meta.get('loss', '?').upper()}  ·  seed {self.tr.meta.get('seed', '?')}")
        self.static_panels(f, title, [self.plot])
        pl = self.plot
        f.labels.append(Label("plot_title", pl.x, pl.y + pl.h + 0.25, "collapsed points per layer", 0.2,
                              th["fg"], "left", "center"))
        f.labels.append(Label("plot_x0", pl.x, pl.y - 0.2, "0", 0.16, th["muted"], "center", "center"))
        f.labels.append(Label("plot_x1", pl.x + pl.w, pl.y - 0.2, f"{self.step_max}", 0.16, th["muted"],
                              "center", "center"))
        f.labels.append(Label("plot_xl", pl.cx, pl.y - 0.45, "training step", 0.16, th["muted"], "center",
                              "center"))
        f.labels.append(Label("plot_y1", pl.x - 0.1, pl.y + pl.h, f"{self.plot_ymax}", 0.16, th["muted"],
                              "right", "center"))
        f.labels.append(Label("plot_y0", pl.x - 0.1, pl.y, "0", 0.16, th["muted"], "right", "center"))
        return f

    def static_panels(self, f: Frame, title: str, boxes: list[Rect]) -> Frame:
        """The clip's title, the borders of the layer panels and of ``boxes``, and the panels' names."""
        th = self.theme
        f.labels.append(Label("title", 0.35, self.title_y, title, 0.30, th["fg"], "left", "center"))
        borders = [p.border() for p in [*self.panels, *boxes]]
        f.segments.append(Segments("frames", np.concatenate(borders), [th["panel"]] * 4 * len(borders), 0.012))
        for l, p in enumerate(self.panels):
            name = "input X" if l == 0 else f"layer {l}: T{l}(X)"
            color = th["fg"] if l == 0 else class_color(l - 1)
            f.labels.append(Label(f"panel{l}", p.x + 0.12, p.y + p.h - 0.16, name, 0.22, color, "left", "top"))
        return f

    def frame(self, i: int) -> Frame:
        f = Frame()
        s0, s1, w, sn = self.bracket(self.snapshot_position(i))
        self.draw_panels(f, s0, s1, w, sn, self.azimuth(i))
        self.draw_readout(f, s0, s1, w, sn)
        return self.card.apply(f, i) if self.card else f

    def bracket(self, u: float) -> tuple[int, int, float, int]:
        """Snapshots around the fractional position ``u``: ``(s0, s1, weight of s1, nearest)``."""
        s0 = min(int(np.floor(u)), self.S - 1)
        s1 = min(s0 + 1, self.S - 1)
        return s0, s1, float(u - s0), min(int(round(u)), self.S - 1)

    def draw_panels(self, f: Frame, s0: int, s1: int, w: float, sn: int, az: float) -> None:
        """The 3D panels (X, then T_l(X) per layer) with axes, cones, base points, interpolated at ``w``."""
        th = self.theme
        T = (1 - w) * self.T3[s0] + w * self.T3[s1]          # (L, N, 3)
        P = (1 - w) * self.P3[s0] + w * self.P3[s1]          # (L, 3)
        E = (1 - w) * self.E3[s0] + w * self.E3[s1]          # (L, M, 3)
        col = self.collapsed[sn]                              # (L, N)
        ever = np.logical_or.accumulate(col, axis=0)          # collapsed at some layer <= l

        pts_xy, pts_c, ring_xy, ring_c, segs, seg_c, base_xy, base_c = [], [], [], [], [], [], [], []
        axis_len = 0.75 * self.radius
        for l, panel in enumerate(self.panels):
            # coordinate axes from the origin (input space) or the data mean (PCA)
            ends = self.origin3 + axis_len * np.eye(3)
            a0 = self._screen(self.origin3[None], panel, az)[0]
            for e in self._screen(ends, panel, az):
                segs.append([a0, e])
                seg_c.append(th["muted"])
            data = self.X3 if l == 0 else T[l - 1]
            flag = ever[-1] if l == 0 else ever[l - 1]
            xy = self._pin(self._screen(data, panel, az), panel)
            ok = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])   # faster than .all(axis=1) on 100k points
            plain, ringed = ok & ~flag, ok & flag
            pts_xy.append(xy[plain])
            pts_c.append(self.labels[plain])
            ring_xy.append(xy[ringed])
            ring_c.append(self.labels[ringed])
            if l >= 1:
                p3 = P[l - 1]
                p = self._screen(p3[None], panel, az)[0]
                inside = bool(panel.contains(p[None])[0])
                ends = self._screen(p3 + 0.6 * self.radius * E[l - 1], panel, az)
                c = class_color(l - 1)
                for e in ends:
                    if inside and np.any(E[l - 1]):
                        segs.append([p, _clip_to(panel, p, e)])
                        seg_c.append(c)
                if inside:
                    base_xy.append(p)
                else:  # pinned to the border, with a chevron pointing to where it really is
                    q = self._pin(p[None], panel, inset=8.0 * self.point_r)[0]
                    base_xy.append(q)
                    for a, b in _chevron(q, p - q, 2.5 * self.point_r, 6.0 * self.point_r):
                        segs.append([a, b])
                        seg_c.append(c)
                base_c.append(l - 1)
        f.segments.append(Segments("axes_and_cones", np.array(segs), seg_c, 0.02))
        f.points.append(Points("points", *_unique_points(np.concatenate(pts_xy), np.concatenate(pts_c)),
                               self.point_r))
        f.points.append(Points("collapsed", *_unique_points(np.concatenate(ring_xy), np.concatenate(ring_c)),
                               self.point_r * 1.5, ring=True))
        f.points.append(Points("base_points", np.array(base_xy).reshape(-1, 2), np.array(base_c, dtype=int),
                               self.point_r * 3.2, ring=True))

    def draw_readout(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        """The live collapsed-count plot and the step / loss / count readouts."""
        # live plot: counts per layer up to u (interpolated last point)
        pl = self.plot
        for l in range(self.L):
            xs = self.steps[: s0 + 1].astype(float)
            ys = self.counts[: s0 + 1, l].astype(float)
            if s1 > s0:
                xs = np.append(xs, (1 - w) * self.steps[s0] + w * self.steps[s1])
                ys = np.append(ys, (1 - w) * self.counts[s0, l] + w * self.counts[s1, l])
            xy = np.c_[pl.x + pl.w * xs / self.step_max, pl.y + pl.h * ys / self.plot_ymax]
            f.lines.append(Polyline(f"count{l}", xy, class_color(l), 0.035))

        # readouts
        step = (1 - w) * self.steps[s0] + w * self.steps[s1]
        loss = float(np.exp((1 - w) * np.log(max(self.loss[s0], 1e-300)) + w * np.log(max(self.loss[s1], 1e-300))))
        self.step_loss_counts(f, step, loss, sn, 11.3, 8.0, first=1.05, row=0.42, size=0.22)

    def step_loss_counts(self, f: Frame, step: float, loss: float, sn: int, x: float, y: float, first: float,
                         row: float, size: float) -> None:
        """Readout at ``(x, y)``: the step, the loss, then one row per layer with its collapsed count (snapshot
        ``sn``), the first ``first`` below ``y`` and ``row`` apart, text height ``size``."""
        th = self.theme
        f.labels.append(Label("step", x, y, f"step {int(round(step)):>6d} / {self.step_max}", 0.26, th["fg"]))
        f.labels.append(Label("loss", x, y - 0.45, f"loss {fmt_loss(loss)}", 0.26, th["fg"]))
        for l in range(self.L):
            f.labels.append(Label(f"count_label{l}", x, y - first - row * l,
                                  f"layer {l + 1}: {int(self.counts[sn, l]):4d} / {self.N} collapsed", size,
                                  class_color(l)))


def _unique_points(xy: np.ndarray, color: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop exact repeats (same place, same colour): collapsed points all sit on their base point, and
    drawing the same marker hundreds of times costs time and changes nothing. Drawing order is kept."""
    if len(xy) < 2:
        return xy, color
    # one int64 key per point from (x, y rounded to 1e-6, colour), each field offset to start at 0: sorting
    # it is ~10x faster than np.unique(axis=0) on 100k points; the 2D path is kept for huge spans
    fields = [np.rint(np.ascontiguousarray(xy[:, 0], dtype=float) * 1e6),
              np.rint(np.ascontiguousarray(xy[:, 1], dtype=float) * 1e6), np.asarray(color, dtype=float)]
    lo = [float(v.min()) for v in fields]
    span = [float(v.max()) - a + 1.0 for v, a in zip(fields, lo, strict=True)]
    bits = [int(np.ceil(np.log2(max(s, 2.0)))) if np.isfinite(s) else 64 for s in span]
    if sum(bits) > 62:
        _, first = np.unique(np.c_[np.round(xy, 6), color], axis=0, return_index=True)
        keep = np.sort(first)
        return xy[keep], color[keep]
    key = np.zeros(len(xy), np.int64)
    for v, a, b in zip(fields, lo, bits, strict=True):
        key <<= b
        key |= (v - a).astype(np.int64)
    ks = np.sort(key)
    rep = ks[1:][ks[1:] == ks[:-1]]                              # sorted: each repeated key, once per repeat
    if len(rep) == 0:
        return xy, color
    repeated = rep[np.r_[True, rep[1:] != rep[:-1]]]             # keys that occur more than once
    if len(repeated) <= 32:   # typically: the few base points that collapsed points sit on
        keep = np.ones(len(xy), bool)
        for k in repeated:
            keep[np.flatnonzero(key == k)[1:]] = False
        return xy[keep], color[keep]
    perm = np.argsort(key)
    ks = key[perm]
    first = np.minimum.reduceat(perm, np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]]))
    keep = np.zeros(len(xy), bool)
    keep[first] = True
    return xy[keep], color[keep]


def nice_ceil(x: float) -> int:
    """Smallest of 1, 2, 2.5, 5 times a power of ten that is >= x."""
    mag = 10 ** np.floor(np.log10(max(x, 1.0)))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if m * mag >= x:
            return int(m * mag)
    return int(10 * mag)


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
