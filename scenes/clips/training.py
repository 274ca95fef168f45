"""Frame model of the ``training`` clip: the per-layer picture evolving over the training snapshots.

Panels ``X, T_1(X), ..., T_L(X)`` and the output layer in ``R^K`` (3D for K = 3, no projection; PCA of the final
outputs for K > 3), animated over the training snapshots (positions interpolated linearly between snapshots),
each layer's cone overlaid (base point and edge rays); readouts: step, loss, accuracy, NC1 and delta_P where
recorded; live loss and accuracy curves. The trace is read by :class:`scenes.clips.layer_trace.LayerTraceView`.
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
)
from scenes.clips.layer_trace import LayerClip, dataset_name, fmt_num, layer_view_lines, run_lines


class TrainingFrames(LayerClip):
    """The per-layer picture evolving over the training snapshots (scene ``training``)."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light",
                 hold_start: float = 0.6, hold_end: float = 1.4, card_seconds: float = 2.0, view: str = "input"):
        super().__init__(trace, fps, theme, view=view)
        v = self.v
        lines = self.card_lines(trace) if view == "input" else layer_view_lines(self.card_lines(trace))
        self.card = TitleCard(lines, self.fps, self.theme, card_seconds) if card_seconds > 0 else None
        self.n_hold0, self.n_anim, self.n_hold1, self.n_frames = clip_timeline(
            self.fps, duration, hold_start, hold_end, lead_frames=self.card.n_frames if self.card else 0)
        self.panels = panel_grid(v.L + 2, Rect(0.3, 0.35, 10.4, 7.6))
        self.point_r = 0.022 * (self.panels[0].w / 3.0) ** 0.5
        self.plot_loss = Rect(11.6, 2.9, 4.0, 1.7)
        self.plot_acc = Rect(11.6, 0.6, 4.0, 1.5)
        self.logloss = np.log10(np.maximum(v.loss, 1e-12))       # NaN where a user's snapshot gave no loss
        finite = self.logloss[np.isfinite(self.logloss)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 0.0)
        self.loss_lo, self.loss_hi = np.floor(lo), max(np.ceil(hi), np.floor(lo) + 1)
        self.xs = np.log10(1.0 + v.steps.astype(float))
        self.x_hi = max(float(self.xs[-1]), 1e-9)

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
            title = (f"Training  ·  {what}  ·  R^{v.M}, widths {'-'.join(map(str, v.widths))}  ·  "
                     f"{v.S} snapshots" + ("  ·  APPROXIMATE picture" if v.view == "input" and not
                                           (meta.get("picture") or {}).get("exact", True) else "")
                     + ("  ·  layer-space view" if v.view == "layer" else ""))
        else:
            title = (f"Training  ·  {what}  ·  M={v.M}, {v.L} hidden  ·  "
                     f"{meta.get('loss', '?').upper()}  ·  "
                     f"{str(cfg.get('optimizer', '?')).upper()} lr {fmt_num(meta.get('lr', cfg.get('lr', '?')))}  ·  "
                     f"seed {meta.get('seed', '?')}")
        f.labels.append(Label("title", 0.35, 8.55, title, 0.22, th["fg"]))
        borders = [p.border() for p in [*self.panels, self.plot_loss, self.plot_acc]]
        f.segments.append(Segments("frames", np.concatenate(borders), [th["panel"]] * 4 * len(borders), 0.012))
        for l, p in enumerate(self.panels):
            if l == 0:
                name, color = f"input X ({', '.join(v.axis_names[:2])}, ...)", th["fg"]
            elif l <= v.L:
                name = f"layer {l}: x^({l}) (layer PCA)" if v.view == "layer" else f"layer {l}: T{l}(X)"
                if v.view == "input" and l in (meta.get("picture") or {}).get("approximate_layers", []):
                    name += " (approx.)"
                color = class_color(l - 1)
            else:
                name, color = f"outputs in R^{v.K}", th["fg"]
            f.labels.append(Label(f"panel{l}", p.x + 0.1, p.y + p.h - 0.2, name, 0.19, color))
        for key, rect, text in (("loss", self.plot_loss, "training loss (log10)"),
                                ("acc", self.plot_acc, "accuracy: train (solid), test (thin)")):
            f.labels.append(Label(f"{key}_title", rect.x, rect.y + rect.h + 0.2, text, 0.17, th["fg"]))
            if key == "acc":  # one axis title for both plots (same step axis)
                f.labels.append(Label(f"{key}_x", rect.cx, rect.y - 0.42, "training step (log)", 0.14, th["muted"],
                                      "center"))
        pl = self.plot_loss
        f.labels.append(Label("loss_hi", pl.x - 0.08, pl.y + pl.h, f"1e{int(self.loss_hi)}", 0.14, th["muted"],
                              "right"))
        f.labels.append(Label("loss_lo", pl.x - 0.08, pl.y, f"1e{int(self.loss_lo)}", 0.14, th["muted"], "right"))
        pa = self.plot_acc
        f.labels.append(Label("acc_hi", pa.x - 0.08, pa.y + pa.h, "1", 0.14, th["muted"], "right"))
        f.labels.append(Label("acc_lo", pa.x - 0.08, pa.y, "0", 0.14, th["muted"], "right"))
        # step ticks on the log axis: 0, the decades that leave room, the last step
        last = int(v.steps[-1])
        ticks = [0] + [10**k for k in range(1, 8) if np.log10(1 + 10**k) < 0.85 * self.x_hi] + [last]
        for key, rect in (("loss", self.plot_loss), ("acc", self.plot_acc)):
            for t in ticks:
                x = rect.x + rect.w * np.log10(1.0 + t) / self.x_hi
                f.labels.append(Label(f"{key}_tick{t}", float(x), rect.y - 0.1, str(t), 0.12, th["muted"], "center",
                                      "top"))
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
        for l, panel in enumerate(self.panels):
            if l <= v.L:
                view = v.panel_view[l]
                for s in self.axes_segments(panel, az, *view, v.origin3):
                    segs.append(s)
                    seg_c.append(th["muted"])
                data = v.X3 if l == 0 else T[l - 1]
                flag = ever[-1] if l == 0 else ever[l - 1]
                xy = self.pin(self.screen(data, panel, az, *view), panel)
            else:
                for s in self.axes_segments(panel, az, v.out_center, v.out_radius, np.zeros(3) if v.K <= 3 else None):
                    segs.append(s)
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
                if np.isfinite(b).all():
                    base_xy.append(b)
                    base_c.append(l - 1)
        f.segments.append(Segments("axes_and_cones", np.array(segs).reshape(-1, 2, 2), seg_c, 0.014))
        f.points.append(Points("points", *_unique_points(np.concatenate(pts_xy), np.concatenate(pts_c)),
                               self.point_r))
        f.points.append(Points("collapsed", *_unique_points(np.concatenate(ring_xy), np.concatenate(ring_c)),
                               self.point_r * 1.5, ring=True))
        f.points.append(Points("base_points", np.array(base_xy).reshape(-1, 2), np.array(base_c, dtype=int),
                               self.point_r * 3.0, ring=True))
        # live curves up to u
        xs = list(self.xs[: s0 + 1])
        if s1 > s0:
            xs.append((1 - w) * self.xs[s0] + w * self.xs[s1])
        xs = np.array(xs)

        def curve(vals: np.ndarray, rect: Rect, lo: float, hi: float) -> np.ndarray:
            ys = list(vals[: s0 + 1])
            if s1 > s0:
                ys.append((1 - w) * vals[s0] + w * vals[s1])
            ys = np.clip((np.array(ys) - lo) / (hi - lo), 0, 1)
            return np.c_[rect.x + rect.w * xs / self.x_hi, rect.y + rect.h * ys]

        lc = curve(self.logloss, self.plot_loss, self.loss_lo, self.loss_hi)
        f.lines.append(Polyline("loss_curve", lc[np.isfinite(lc).all(axis=1)], th["fg"], 0.03))
        for key, width in (("train_acc", 0.035), ("test_acc", 0.015)):
            vals = v.scalars.get(key, np.full(v.S, np.nan))
            xy = curve(vals, self.plot_acc, 0.0, 1.0)
            f.lines.append(Polyline(key, xy[np.isfinite(xy).all(axis=1)], PALETTE_ACC, width))
        step = (1 - w) * v.steps[s0] + w * v.steps[s1]
        loss = float(10 ** ((1 - w) * self.logloss[s0] + w * self.logloss[s1]))   # nan: "n/a" below
        y = 8.0
        f.labels.append(Label("step", 11.6, y, f"step {int(round(step)):>6d} / {int(v.steps[-1])}", 0.24, th["fg"]))
        loss_text = "loss " + (fmt_loss(loss) if np.isfinite(loss) else "not recorded")
        f.labels.append(Label("loss", 11.6, y - 0.42, loss_text, 0.24, th["fg"]))
        acc = v.scalars.get("test_acc")
        nc1 = v.scalars.get("nc1_hidden")
        dp = v.scalars.get("delta_p")
        f.labels.append(Label("acc", 11.6, y - 0.84, "test acc " + (f"{acc[sn]:.3f}" if acc is not None else "n/a"),
                              0.2, th["fg"]))
        f.labels.append(Label("nc1", 11.6, y - 1.22, "NC1 (last hidden) " + (f"{nc1[sn]:.3e}" if nc1 is not None
                                                                            else "n/a"), 0.2, th["fg"]))
        f.labels.append(Label("dp", 11.6, y - 1.6, "delta_P " + (f"{dp[sn]:.3e}" if dp is not None else "n/a"),
                              0.2, th["fg"]))
        f.labels.append(Label("counts", 11.6, y - 1.98, "collapsed/layer " + " ".join(
            f"{int(c)}" for c in v.counts[sn]), 0.2, th["fg"]))
        return self.card.apply(f, i) if self.card else f


PALETTE_ACC = "#0072B2"
