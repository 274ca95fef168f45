"""Frame model of the ``training`` clip: the per-layer picture evolving over the training snapshots.

Panels ``X, T_1(X), ..., T_L(X)`` and the output layer in ``R^K`` (3D for K = 3, no projection; PCA of the final
outputs for K > 3), animated over the training snapshots (positions interpolated linearly between snapshots),
each layer's cone overlaid (edge rays and its base point, whose marker grows with the points collapsed onto it,
the count beside it; points collapsing between two snapshots leave a trail toward it). Right column: step, loss,
accuracy, per layer the points collapsed per class ("116 / 200 of class 1"), and three live charts against the
step (log axis): the loss (log), the train and test accuracy, and NC1 and delta_P (log) where recorded.
The trace is read by :class:`scenes.clips.layer_trace.LayerTraceView`.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    Frame,
    Label,
    Points,
    Polyline,
    Rect,
    Segments,
    TitleCard,
    _unique_points,
    class_color,
    clip_timeline,
    fmt_loss,
    panel_grid,
    tex_sci,
    text_ink,
)
from scenes.clips.layer_trace import (
    LayerClip,
    class_counts,
    collapse_text,
    dataset_name,
    fmt_num,
    growing_marker,
    layer_view_lines,
    run_lines,
    stage_math,
)

PALETTE_ACC = "#0072B2"     # accuracy curves
DELTA_P_COLOR = "#8E6CD8"   # delta_P (violet: no class colour)
MAX_LAYER_LINES = 4         # per-layer collapse readouts listed (deeper networks: the deepest ones)


def log_range(*series: np.ndarray) -> tuple[float, float]:
    """Whole decades ``(lo, hi)`` (log10) around the finite positive values of ``series``."""
    vals = np.concatenate([np.asarray(x, dtype=float).ravel() for x in series]) if series else np.zeros(0)
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        return -1.0, 0.0
    lo, hi = float(np.floor(np.log10(vals.min()))), float(np.ceil(np.log10(vals.max())))
    return lo, max(hi, lo + 1)


def decade_ticks(lo: float, hi: float, most: int = 3) -> list[int]:
    """At most ``most`` decades between ``lo`` and ``hi`` (both ends kept)."""
    ds = list(range(int(lo), int(hi) + 1))
    if len(ds) <= most:
        return ds
    return sorted({ds[round(k * (len(ds) - 1) / (most - 1))] for k in range(most)})


class TrainingFrames(LayerClip):
    """The per-layer picture evolving over the training snapshots (scene ``training``)."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light",
                 hold_start: float = 0.6, hold_end: float = 2.5, card_seconds: float = 2.0, view: str = "input"):
        super().__init__(trace, fps, theme, view=view)
        v = self.v
        lines = self.card_lines(trace) if view == "input" else layer_view_lines(self.card_lines(trace))
        self.card = TitleCard(lines, self.fps, self.theme, card_seconds) if card_seconds > 0 else None
        self.n_hold0, self.n_anim, self.n_hold1, self.n_frames = clip_timeline(
            self.fps, duration, hold_start, hold_end, lead_frames=self.card.n_frames if self.card else 0)
        area = Rect(0.3, 0.25, 10.6, 7.55)
        self.panels = panel_grid(v.L + 2, area, gap=0.5)                         # names above the panels
        # an odd number of panels (>= 3, two rows) leaves the grid's last cell free: it holds the key to the markers
        self.key = panel_grid(v.L + 3, area, gap=0.5)[-1] if (v.L + 2) % 2 == 1 else None
        self.point_r = 0.022 * (self.panels[0].w / 3.0) ** 0.5
        self.x0 = 11.45                                                          # the right column
        self.plot_loss = Rect(12.0, 4.65, 3.6, 1.05)
        self.plot_acc = Rect(12.0, 2.85, 3.6, 1.05)
        self.plot_nc = Rect(12.0, 0.95, 3.6, 1.15)
        self.logloss = np.log10(np.maximum(v.loss, 1e-12))       # NaN where a user's snapshot gave no loss
        self.loss_lo, self.loss_hi = log_range(v.loss)
        self.nc = {k: v.scalars[k] for k in ("nc1_hidden", "delta_p") if k in v.scalars}
        self.nc_lo, self.nc_hi = log_range(*self.nc.values())
        self.xs = np.log10(1.0 + v.steps.astype(float))
        self.x_hi = max(float(self.xs[-1]), 1e-9)
        self.class_sizes = np.bincount(v.labels, minlength=v.q)[: v.q]
        self.shown_layers = list(range(max(0, v.L - MAX_LAYER_LINES), v.L))

    @staticmethod
    def card_lines(trace) -> list[str]:
        """Title and parameters of the run, for the title card."""
        title = "Training, layer by layer"
        if trace.meta.get("kind") == "network" and trace.meta.get("title"):
            title = f"{trace.meta['title']}: training, layer by layer"
        return [ln for ln in [title, *run_lines(trace)] if ln]

    def snapshot_position(self, i: int) -> float:
        j = min(max(i - self.n_hold0, 0), self.n_anim - 1)
        return j / (self.n_anim - 1) * (self.v.S - 1)

    def static(self) -> Frame:
        th, v, f = self.theme, self.v, Frame()
        meta = self.tr.meta
        cfg = meta.get("config", {})
        what = dataset_name(meta)
        if meta.get("kind") == "network":   # a recorded user network: only what the recorder knows
            what = what if len(what) <= 32 else what[:31] + "…"
            title = (f"Training  ·  {what}  ·  $\\mathbb{{R}}^{{{v.M}}}$, widths {'-'.join(map(str, v.widths))}  ·  "
                     f"{v.S} snapshots" + ("  ·  APPROXIMATE picture" if v.view == "input" and not
                                           (meta.get("picture") or {}).get("exact", True) else "")
                     + ("  ·  layer-space view" if v.view == "layer" else ""))
        else:
            title = (f"Training  ·  {what}  ·  M={v.M}, widths {'-'.join(map(str, v.widths))}  ·  "
                     f"{meta.get('loss', '?').upper()}  ·  "
                     f"{str(cfg.get('optimizer', '?')).upper()} lr {fmt_num(meta.get('lr', cfg.get('lr', '?')))}  ·  "
                     f"seed {meta.get('seed', '?')}")
        f.labels.append(Label("title", 0.35, 8.62, title, 0.22, th["fg"]))
        plots = [self.plot_loss, self.plot_acc, self.plot_nc]
        borders = [p.border() for p in [*self.panels, *plots]]
        f.segments.append(Segments("frames", np.concatenate(borders), [th["panel"]] * 4 * len(borders), 0.012))
        for l, p in enumerate(self.panels):
            if l == 0:
                name, color = f"input $X$ ({', '.join(v.axis_names[:2])}, ...)", th["fg"]
            elif l <= v.L:
                name = (f"layer {l}: {stage_math(l, 'layer')} (layer PCA)" if v.view == "layer"
                        else f"layer {l}: {stage_math(l)}")
                if v.view == "input" and l in (meta.get("picture") or {}).get("approximate_layers", []):
                    name += " (approx.)"
                color = text_ink(class_color(l - 1), th)
            else:
                name, color = f"outputs in $\\mathbb{{R}}^{{{v.K}}}$", th["fg"]
            f.labels.append(Label(f"panel{l}", p.x, p.y + p.h + 0.2, name, 0.19, color))
        if self.key is not None:
            k = self.key
            lines = ["ringed: collapsed", "marker size, number:", "  points on the base point",
                     "trail: collapsing now"]
            for r, text in enumerate(lines):
                f.labels.append(Label(f"key{r}", k.x, k.y + k.h - 0.3 - 0.42 * r, text, 0.19, th["muted"]))
        # y ticks: decades (log charts), 0 and 1 (accuracy); x ticks below the bottom chart only (same step axis)
        for key, rect, lo, hi in (("loss", self.plot_loss, self.loss_lo, self.loss_hi),
                                  ("nc", self.plot_nc, self.nc_lo, self.nc_hi)):
            for d in decade_ticks(lo, hi):
                y = rect.y + rect.h * (d - lo) / (hi - lo)
                f.labels.append(Label(f"{key}_y{d}", rect.x - 0.08, y, f"$10^{{{d}}}$", 0.19, th["muted"], "right"))
        pa = self.plot_acc
        f.labels.append(Label("acc_hi", pa.x - 0.08, pa.y + pa.h, "1", 0.19, th["muted"], "right"))
        f.labels.append(Label("acc_lo", pa.x - 0.08, pa.y, "0", 0.19, th["muted"], "right"))
        last = int(v.steps[-1])
        ticks = [0] + [10**k for k in range(1, 8) if np.log10(1 + 10**k) < 0.8 * self.x_hi] + [last]
        pn = self.plot_nc
        for t in ticks:
            x = pn.x + pn.w * np.log10(1.0 + t) / self.x_hi
            f.labels.append(Label(f"x_tick{t}", float(x), pn.y - 0.08, str(t), 0.19, th["muted"], "center", "top"))
        f.labels.append(Label("x_name", pn.x + pn.w, pn.y - 0.52, "training step (log axis)", 0.19, th["muted"],
                              "right", "top"))
        return f

    def frame(self, i: int) -> Frame:
        th, v, f = self.theme, self.v, Frame()
        u = self.snapshot_position(i)
        s0 = int(np.floor(u))
        s1 = min(s0 + 1, v.S - 1)
        w = u - s0
        sn = int(round(u))
        az = self.azimuth(i)
        T = (1 - w) * v.T3[s0] + w * v.T3[s1]
        P = (1 - w) * v.P3[s0] + w * v.P3[s1]
        E = (1 - w) * v.E3[s0] + w * v.E3[s1]
        O = (1 - w) * v.O3[s0] + w * v.O3[s1]
        col = v.collapsed[sn]
        ever = np.logical_or.accumulate(col, axis=0)
        pts_xy, pts_c, ring_xy, ring_c, segs, seg_c, base_xy, base_c = [], [], [], [], [], [], [], []
        trail_xy, trail_c = [], []
        for l, panel in enumerate(self.panels):
            if l <= v.L:
                view = v.panel_view[l]
                for sg in self.axes_segments(panel, az, *view, v.origin3):
                    segs.append(sg)
                    seg_c.append(th["muted"])
                data = v.X3 if l == 0 else T[l - 1]
                flag = ever[-1] if l == 0 else ever[l - 1]
                xy = self.pin(self.screen(data, panel, az, *view), panel)
                if l >= 1 and 0 < w < 1:        # collapsing between these two snapshots: a trail toward p_l
                    new = v.collapsed[s1, l - 1] & ~v.collapsed[s0, l - 1] & np.isfinite(xy).all(axis=1)
                    if new.any():
                        a = self.pin(self.screen(v.T3[s0, l - 1][new], panel, az, *view), panel)
                        trail_xy.append(np.stack([a, xy[new]], axis=1))
                        trail_c += [class_color(int(c)) for c in v.labels[new]]
            else:
                for sg in self.axes_segments(panel, az, v.out_center, v.out_radius,
                                             np.zeros(3) if v.K <= 3 else None):
                    segs.append(sg)
                    seg_c.append(th["muted"])
                xy = self.pin(self.screen(O, panel, az, v.out_center, v.out_radius), panel)
                flag = np.zeros(v.N, dtype=bool)
                yt = self.screen(v.Y3, panel, az, v.out_center, v.out_radius)
                base_xy.extend(yt)
                base_c.extend(range(len(yt)))
            ok = np.isfinite(xy).all(axis=1)
            pts_xy.append(xy[ok & ~flag])
            pts_c.append(v.labels[ok & ~flag])
            ring_xy.append(xy[ok & flag])
            ring_c.append(v.labels[ok & flag])
            if 1 <= l <= v.L:
                sg, cl, b = self.cone_segments(P[l - 1], E[l - 1], panel, az, class_color(l - 1), self.point_r,
                                               v.panel_view[l])
                segs += sg
                seg_c += cl
                counts = class_counts(v.collapsed[sn, l - 1], v.labels, v.q)
                n_on = int(counts.sum())
                here = np.isfinite(b).all()
                share = n_on / max(1, int(self.class_sizes[int(np.argmax(counts))]))
                f.points += growing_marker(f"base{l}", b if here else None, l - 1, share, self.point_r)
                at = b + np.array([0.16, 0.16]) if here else np.array([panel.x, panel.y])
                f.labels.append(Label(f"base{l}_n", float(at[0]), float(at[1]), str(n_on), 0.19, th["fg"],
                                      alpha=1.0 if (here and n_on) else 0.0))
        f.segments.append(Segments("axes_and_cones", np.array(segs).reshape(-1, 2, 2), seg_c, 0.014))
        f.segments.append(Segments("arrivals", np.concatenate(trail_xy) if trail_xy else np.zeros((0, 2, 2)),
                                   trail_c, 0.012, alpha=0.6))
        f.points.append(Points("points", *_unique_points(np.concatenate(pts_xy), np.concatenate(pts_c)),
                               self.point_r))
        f.points.append(Points("collapsed", *_unique_points(np.concatenate(ring_xy), np.concatenate(ring_c)),
                               self.point_r * 1.5, ring=True))
        f.points.append(Points("base_points", np.array(base_xy).reshape(-1, 2), np.array(base_c, dtype=int),
                               self.point_r * 3.0, ring=True))
        self._charts(f, s0, s1, w)
        self._readouts(f, s0, s1, w, sn)
        return self.card.apply(f, i) if self.card else f

    def _charts(self, f: Frame, s0: int, s1: int, w: float) -> None:
        """Live curves up to the current position: loss (log), accuracy, NC1 and delta_P (log)."""
        th, v = self.theme, self.v
        xs = list(self.xs[: s0 + 1])
        if s1 > s0:
            xs.append((1 - w) * self.xs[s0] + w * self.xs[s1])
        xs = np.array(xs)

        def curve(vals: np.ndarray, rect: Rect, lo: float, hi: float) -> np.ndarray:
            ys = list(vals[: s0 + 1])
            if s1 > s0:
                ys.append((1 - w) * vals[s0] + w * vals[s1])
            ys = np.clip((np.array(ys) - lo) / (hi - lo), 0, 1)
            xy = np.c_[rect.x + rect.w * xs / self.x_hi, rect.y + rect.h * ys]
            return xy[np.isfinite(xy).all(axis=1)]

        f.lines.append(Polyline("loss_curve", curve(self.logloss, self.plot_loss, self.loss_lo, self.loss_hi),
                                th["fg"], 0.03))
        for key, width in (("train_acc", 0.035), ("test_acc", 0.015)):
            vals = v.scalars.get(key, np.full(v.S, np.nan))
            f.lines.append(Polyline(key, curve(vals, self.plot_acc, 0.0, 1.0), PALETTE_ACC, width))
        for key, color in (("nc1_hidden", th["fg"]), ("delta_p", DELTA_P_COLOR)):
            vals = self.nc.get(key, np.full(v.S, np.nan))
            logv = np.log10(np.where(vals > 0, vals, np.nan))
            f.lines.append(Polyline(key, curve(logv, self.plot_nc, self.nc_lo, self.nc_hi), color, 0.03))

    def _readouts(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        th, v = self.theme, self.v
        x0 = self.x0
        step = (1 - w) * v.steps[s0] + w * v.steps[s1]
        loss = float(10 ** ((1 - w) * self.logloss[s0] + w * self.logloss[s1]))   # nan: "not recorded"
        f.labels.append(Label("step", x0, 8.12, f"step {int(round(step)):>6d} / {int(v.steps[-1])}", 0.24, th["fg"]))
        acc = v.scalars.get("test_acc")
        tr_acc = v.scalars.get("train_acc")
        f.labels.append(Label("acc", x0, 7.7, "accuracy: train " + (f"{tr_acc[sn]:.3f}" if tr_acc is not None else
                                                                    "n/a")
                              + ", test " + (f"{acc[sn]:.3f}" if acc is not None else "n/a"), 0.19, th["fg"]))
        for r, l in enumerate(self.shown_layers):
            counts = class_counts(v.collapsed[sn, l], v.labels, v.q)
            j = int(np.argmax(counts))
            f.labels.append(Label(f"collapsed{l}", x0, 7.3 - 0.36 * r,
                                  f"layer {l + 1}: {collapse_text(counts, self.class_sizes, most=1)}", 0.19,
                                  text_ink(class_color(j), th) if counts.any() else th["muted"]))
        pl, pa, pn = self.plot_loss, self.plot_acc, self.plot_nc
        loss_text = "training loss " + (fmt_loss(loss) if np.isfinite(loss) else "not recorded")
        f.labels.append(Label("loss_title", pl.x - 0.55, pl.y + pl.h + 0.34, loss_text, 0.19, th["fg"]))
        f.labels.append(Label("acc_title", pa.x - 0.55, pa.y + pa.h + 0.34,
                              "accuracy: train, test (thin)", 0.19, PALETTE_ACC))
        nc1, dp = self.nc.get("nc1_hidden"), self.nc.get("delta_p")
        f.labels.append(Label("nc1_title", pn.x - 0.55, pn.y + pn.h + 0.34,
                              "NC1 " + (tex_sci(float(nc1[sn])) if nc1 is not None else "n/a"), 0.19, th["fg"]))
        f.labels.append(Label("dp_title", pn.x + pn.w, pn.y + pn.h + 0.34,
                              "$\\delta_P$ " + (tex_sci(float(dp[sn])) if dp is not None else "n/a"), 0.19,
                              DELTA_P_COLOR, "right"))
