"""Frame model of the ``perturbation`` clip (docs/math.md §5).

It reuses the layer panels of :class:`scenes.clips.truncation_speed.TruncationFrames` and replaces its
right-hand readout.

:class:`PerturbationFrames` (``perturbation`` traces, :mod:`geomdl.experiments.perturbation`): SGD from the
perturbed construction. Each layer panel also marks the unperturbed construction's base point (a grey cross:
where the cone would return) and the readout its distance to the current base point per layer; the readout has
step, loss, collapsed counts, a log-loss curve and the collapsed
count curves on a log-step axis when the snapshots are log-spaced (linear otherwise), and the outcome
(re-converged: final loss < 1e-6, the sweep's ``zero_tol``; or the stop reason) once the clip reaches the end.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    FIG_W,
    TEXT_MIN,
    Frame,
    Label,
    Polyline,
    Rect,
    Segments,
    class_color,
    fit_first,
    fit_text_size,
    is_wide,
    tex_pow10,
    tex_sci,
    text_width,
    tick_text,
)
from scenes.clips.truncation_speed import TruncationFrames

ZERO_TOL = 1e-6    # "re-converged" (geomdl.experiments.sweep.SweepConfig.zero_tol)


class PerturbationFrames(TruncationFrames):
    """Frames of the ``perturbation`` clip (module docstring)."""

    show_rates = False     # the readout column has no room for a rate per layer beside the distances

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light",
                 aspect: float | None = None, **kw):
        super().__init__(trace, fps=fps, duration=duration, theme=theme, aspect=aspect, **kw)
        a, meta = trace.arrays, trace.meta
        self.R3 = self._to3(np.asarray(a["reference_base_points"], dtype=float))     # (L, 3)
        self.logx = meta.get("config", {}).get("spacing") == "log"
        self.log_loss = np.log10(np.maximum(self.loss, 1e-300))        # (S,), once (not per frame)
        finite = self.loss[np.isfinite(self.loss) & (self.loss > 0)]
        hi = float(np.log10(finite.max())) if len(finite) else 0.0
        lo = float(np.log10(finite.min())) if len(finite) else -1.0
        self.log_hi = np.ceil(hi)
        self.log_lo = min(np.floor(lo), self.log_hi - 1)
        final = float(self.loss[-1])
        why = {"stuck": "stuck", "budget": "budget", "dead": "dead network",
               "threshold": "threshold"}.get(meta.get("stop_reason"), meta.get("stop_reason"))
        self.verdict = ("re-converged" if final < ZERO_TOL else "did not re-converge",
                        f"loss {tex_sci(final, 1)} at step {int(self.steps[-1])} ({why})")
        # shorter spellings of the detail line, for a long run's step count (five digits ran off the 16:9 edge)
        self.verdict_short = [f"loss {tex_sci(final, 1)}, step {int(self.steps[-1])} ({why})",
                              f"loss {tex_sci(final, 1)}, step {int(self.steps[-1])}"]
        # distance of each layer's base point from the construction's, per snapshot (S, L); in input space
        self.ref_dist = np.linalg.norm(np.asarray(a["base_points"], dtype=float)
                                       - np.asarray(a["reference_base_points"], dtype=float)[None], axis=-1)

    # -- layout (16:9 units; scenes.clips.base.layout moves the blocks onto other canvases) -----------------
    def _pitch(self) -> float:
        """The readout's layer rows apart (:meth:`step_loss_counts`: closer with many layers)."""
        return min(0.36, 2.2 / max(self.L - 1, 1))

    def _readout_low(self) -> float:
        """The foot of the readout (16:9 units): the layer rows, the distances line, the verdict's two lines."""
        return 8.05 - 1.0 - self._pitch() * (self.L - 1) - 0.36 - 0.5 - 0.38 - 0.15

    def _charts(self, s: float) -> tuple[Rect, Rect]:
        """The loss chart and the count chart, their heights ``s`` times the 16:9 ones; beside the readout (wide
        canvases) no higher than its foot (with many layers, Q >= 5, shorter charts)."""
        if is_wide(self.fig_w, self.fig_h):
            s = min(s, (self._readout_low() - 0.05 - 2.05) / 2.6)   # the block's top: 2.05 + 2.6 s
        pl = Rect(11.3, 0.85, 4.3, 1.35 * s)
        return Rect(11.3, pl.y + pl.h + 0.8, 4.3, 1.25 * s), pl

    def side_blocks(self, s: float) -> tuple[Rect, Rect]:
        lp, pl = self._charts(s)
        bottom = pl.y - 0.47 - 0.14
        chart = Rect(pl.x - 0.6, bottom, pl.w + 0.9, lp.y + lp.h + 0.4 - bottom)
        low = self._readout_low()
        wide = is_wide(self.fig_w, self.fig_h)
        width = FIG_W - 0.12 - 11.0 if wide else 4.4
        top = 8.25 if wide else 8.6          # narrow canvases: the key to the grey crosses on the readout's top line
        return Rect(11.0, low, width, top - low), chart

    def place_side(self, lay, s: float) -> None:
        lp, pl = self._charts(s)
        self.loss_plot, self.plot = lay.chart.rect(lp), lay.chart.rect(pl)
        self.readout_xy = (lay.readout.x(11.0), lay.readout.y(8.05))

    @staticmethod
    def card_lines(trace) -> list[str]:
        meta, cfg = trace.meta, trace.meta.get("config", {})
        N = len(trace.arrays["X"])
        return [
            "A perturbed zero-loss construction under SGD",
            f"{meta.get('geometry', '?')} data: $Q = {meta['Q']}$ classes, {N} points in "
            f"$\\mathbb{{R}}^{{{meta['M']}}}$; {meta.get('construction', '?')} construction "
            f"(loss {tex_sci(float(meta.get('construction_loss', 0)))})",
            f"every parameter tensor $\\theta \\to \\theta + \\lambda\\, G / \\|G\\|$,  "
            f"$\\lambda = {cfg.get('lam', '?')}$  (trial {cfg.get('trial', '?')} of a sweep with seed "
            f"{meta.get('seed', '?')})",
            f"loss after the perturbation {tex_sci(float(meta.get('initial_loss', float('nan'))))}",
            f"{str(cfg.get('optimizer', '?')).upper()}, lr {cfg.get('lr', '?')}, batch {cfg.get('batch_size', '?')}, "
            f"{str(meta.get('loss', '?')).upper()}, up to {cfg.get('steps', '?')} steps",
            f"stopped: {meta.get('stop_reason', '?')}   ·   geomdl {meta.get('versions', {}).get('geomdl', '')}",
        ]

    def static(self) -> Frame:
        th, f = self.theme, Frame()
        cfg = self.tr.meta.get("config", {})
        title = (f"Perturbation  ·  {self.tr.meta.get('geometry', '?')}, $Q = {self.tr.meta['Q']}$  ·  "
                 f"$\\lambda = {cfg.get('lam', '?')}$, trial {cfg.get('trial', '?')}  ·  "
                 f"{str(cfg.get('optimizer', '?')).upper()}, lr {cfg.get('lr', '?')}")
        self.static_panels(f, title, [self.plot, self.loss_plot])
        key = "grey cross: the unperturbed construction's base point $p_\\ell$"
        ky = 0.17 if self.lay.wide else self.lay.readout.y(8.42)               # above the readout
        if not self.lay.wide:      # beside the charts: as long as the readout's lines
            key, _ = self.fit_line([key, "grey cross: the unperturbed base point $p_\\ell$",
                                    "grey cross: unperturbed $p_\\ell$"], TEXT_MIN, 0.35)
        f.labels.append(Label("ref_key", 0.35, ky, key, TEXT_MIN, th["muted"]))
        lp, pl = self.loss_plot, self.plot
        f.labels.append(Label("loss_title", lp.x, lp.y + lp.h + 0.27, "loss (log scale)", 0.22, th["fg"]))
        f.labels.append(Label("loss_hi", lp.x - 0.1, lp.y + lp.h, tex_pow10(self.log_hi), TEXT_MIN, th["muted"],
                              "right"))
        f.labels.append(Label("loss_lo", lp.x - 0.1, lp.y, tex_pow10(self.log_lo), TEXT_MIN, th["muted"], "right"))
        ptitle, size = "collapsed points per layer", 0.22
        if not self.lay.is_16x9:
            room = self.fig_w - 0.12 - pl.x
            ptitle = ptitle if text_width(ptitle, TEXT_MIN) <= room else "collapsed per layer"
            size = fit_text_size(ptitle, 0.22, room)
        f.labels.append(Label("plot_title", pl.x, pl.y + pl.h + 0.27, ptitle, size, th["fg"]))
        f.labels.append(Label("plot_y1", pl.x - 0.1, pl.y + pl.h, f"{self.plot_ymax}", TEXT_MIN, th["muted"], "right"))
        f.labels.append(Label("plot_y0", pl.x - 0.1, pl.y, "0", TEXT_MIN, th["muted"], "right"))
        # the last step's tick centred on the axis's end, or ending there if it would leave the room; decade
        # ticks between 0 and it that stay clear of it (the charts share their x extent)
        last, lw = tick_text(self.step_max), text_width(tick_text(self.step_max), TEXT_MIN)
        ha = "center" if pl.x + pl.w + lw / 2 <= self.fig_w - 0.12 else "right"
        clear = pl.x + pl.w - (lw if ha == "right" else lw / 2) - 0.15
        for name, r in (("loss_x", lp), ("plot_x", pl)):
            f.labels.append(Label(f"{name}0", r.x, r.y - 0.2, "0", TEXT_MIN, th["muted"], "center"))
            f.labels.append(Label(f"{name}1", r.x + r.w, r.y - 0.2, last, TEXT_MIN, th["muted"], ha))
        if self.logx:  # decade ticks between 0 and the last step
            for k in range(1, int(np.log10(max(self.step_max, 1))) + 1):
                if (np.log1p(10**k) < 0.85 * np.log1p(self.step_max)
                        and float(self._x(np.array([10**k]), pl)[0]) + text_width(tex_pow10(k), TEXT_MIN) / 2 <= clear):
                    for name, r in (("loss_x", lp), ("plot_x", pl)):
                        f.labels.append(Label(f"{name}_tick{k}", float(self._x(np.array([10**k]), r)[0]), r.y - 0.2,
                                              tex_pow10(k), TEXT_MIN, th["muted"], "center"))
        f.labels.append(Label("plot_xl", pl.cx, pl.y - 0.47, "training step" + (" (log scale)" if self.logx else ""),
                              TEXT_MIN, th["muted"], "center"))
        return f

    def _x(self, steps: np.ndarray, r: Rect) -> np.ndarray:
        s = np.asarray(steps, dtype=float)
        t = np.log1p(s) / np.log1p(self.step_max) if self.logx else s / self.step_max
        return r.x + r.w * t

    def draw_panels(self, f: Frame, s0: int, s1: int, w: float, sn: int, az: float, i: int = 10**9) -> None:
        super().draw_panels(f, s0, s1, w, sn, az, i)
        segs = []
        size = 2.2 * self.point_r
        for l in range(self.L):
            view = self.views[l + 1]
            p = self._screen(self.R3[l][None], l + 1, az)[0]
            if not (np.isfinite(p).all() and view.contains(p[None])[0]) or self.appear(l + 1, i)[0] < 0.35:
                continue
            segs += [[p - size, p + size], [p + size * np.array([1, -1]), p - size * np.array([1, -1])]]
        f.segments.append(Segments("reference", np.array(segs).reshape(-1, 2, 2), [self.theme["muted"]] * len(segs),
                                   0.02))

    def draw_readout(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        th = self.theme
        step = (1 - w) * self.steps[s0] + w * self.steps[s1]
        upto = np.append(self.steps[: s0 + 1].astype(float), step)
        lp, pl = self.loss_plot, self.plot

        def curve(values: np.ndarray) -> np.ndarray:
            return np.append(values[: s0 + 1].astype(float), (1 - w) * values[s0] + w * values[s1])

        logl = self.log_loss
        yl = np.clip((curve(logl) - self.log_lo) / (self.log_hi - self.log_lo), 0, 1)
        f.lines.append(Polyline("loss_curve", np.c_[self._x(upto, lp), lp.y + lp.h * yl], th["fg"], 0.03))
        for l in range(self.L):   # earlier layers drawn wider and first: a line under an equal one shows at its edges
            yc = curve(self.counts[:, l].astype(float)) / self.plot_ymax
            lw = 0.035 * (1.0 + 1.2 * (self.L - 1 - l) / max(self.L - 1, 1))
            f.lines.append(Polyline(f"count{l}", np.c_[self._x(upto, pl), pl.y + pl.h * yc], class_color(l), lw))
        loss = float(10 ** ((1 - w) * logl[s0] + w * logl[s1]))
        x, y = self.readout_xy
        self.step_loss_counts(f, step, loss, sn, x, y, first=1.0, row=0.36, size=0.2, u=s0 + w)
        done = sn == self.S - 1 and s0 == self.S - 1
        d = (1 - w) * self.ref_dist[s0] + w * self.ref_dist[s1]
        yr = y - 1.0 - self._pitch() * (self.L - 1) - 0.36
        # each layer's distance, or (many layers: it would leave the room, on any canvas) the largest
        txt = "$|p_\\ell - p_\\ell^{\\mathrm{constr}}|$: " + "  ".join(f"{v:.2f}" for v in d)
        if text_width(txt, TEXT_MIN) > self.lay.room_x - x:
            far = int(np.argmax(d))
            txt = f"largest $|p_\\ell - p_\\ell^{{\\mathrm{{constr}}}}|$: {d[far]:.2f} (layer {far + 1})"
        f.labels.append(Label("ref_dist", x, yr, txt, self.fit(txt, TEXT_MIN, x), th["muted"]))
        yv = yr - 0.5
        f.labels.append(Label("verdict", x, yv, self.verdict[0], self.fit(self.verdict[0], 0.26, x), th["fg"],
                              alpha=1.0 if done else 0.0))
        # the detail line on every canvas: its full spelling while the estimate fits
        txt, size = fit_first([self.verdict[1], *self.verdict_short], TEXT_MIN, self.lay.room_x - x)
        f.labels.append(Label("verdict_detail", x, yv - 0.38, txt, size, th["muted"], alpha=1.0 if done else 0.0))


__all__ = ["PerturbationFrames"]
