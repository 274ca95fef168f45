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

import numpy as np

from scenes.clips.base import (
    THEMES,
    Frame,
    Label,
    Points,
    Polyline,
    Rect,
    Segments,
    TitleCard,
    _chevron,
    _clip_to,
    _unique_points,
    camera_basis,
    class_color,
    clip_timeline,
    fmt_loss,
    nice_ceil,
    panel_grid,
)


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
