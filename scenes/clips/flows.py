"""Renderer-agnostic frame model of the ``flows`` clip (a ``flows`` trace, :mod:`geomdl.experiments.flows`).

Layout (figure units, 16 x 9): two 3D panels side by side, the standard gradient flow (``alpha = 0``) on the
left and the adapted flow on the right: every output ``x_r(s) in R^Q`` moves towards its one-hot target
(rings), leaving a trail (straight lines under the adapted flow, curves under the standard one). On the right,
readouts (flow time, costs, trapping ratio, rank of ``D``) and the cost of both flows on a log axis against
``s/N``, with the law ``e^{-2s/N} C(0)`` dashed.

Which adapted flow: the paper's ``alpha = 1`` flow (arXiv 2408.01517) when the trace has it, else the kink-freezing one.

Clip time is the reparametrisation of arXiv 2408.01517, ``t = 1 - e^{-s/N}`` (uniform in ``t`` from 0 to
``1 - e^{-s_max/N}``): under the adapted flow every output then moves at constant speed along its straight line
``(1 - t) x_r(0) + t y_r``. Positions between recorded grid points are interpolated linearly in ``s``.

Projection: ``Q = 3`` shows ``R^3`` itself; other ``Q`` a fixed 3D PCA of the targets and the initial outputs
(``Q = 2`` is drawn flat). A fixed orthographic camera with a slow orbit (azimuth turning, fixed elevation);
a fixed scale from all recorded outputs and the targets, so frames are comparable.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    FIG_W,
    THEMES,
    Frame,
    Label,
    Points,
    Polyline,
    Rect,
    Segments,
    TitleCard,
    camera_basis,
    class_color,
    clip_timeline,
    figure_size,
    fit_first,
    fit_text_size,
    fit_title,
    fitted_layout,
    fmt_loss,
    is_wide,
)

# the two flows' own colours, apart from the class colours (Okabe-Ito, scenes.clips.base.PALETTE) that the
# outputs, trails and targets carry: violet and crimson, readable on both themes
STANDARD_COLOR = "#8E6CD8"
ADAPTED_COLOR = "#E0245E"
TRAIL_POINTS = 80          # at most this many recorded positions per trail (older ones thinned)


def pick_flows(trace) -> tuple[int, int]:
    """Indices of the standard flow and of the adapted flow drawn by the clip."""
    alphas, freeze = trace.arrays["alphas"], trace.arrays["freeze"]
    std = [f for f in range(len(alphas)) if alphas[f] == 0.0 and not freeze[f]]
    ad = [f for f in range(len(alphas)) if alphas[f] == 1.0 and not freeze[f]]
    ad += [f for f in range(len(alphas)) if freeze[f]]
    if not std or not ad:
        from geomdl.errors import GeomdlError  # noqa: PLC0415

        raise GeomdlError("the flows clip needs the standard flow (alpha 0) and an adapted flow (alpha 1) in the "
                          f"trace; it has alphas {list(map(float, alphas))}")
    return std[0], ad[0]


class FlowsFrames:
    """Frames of the flows clip for one ``flows`` trace (``fps``, ``duration`` of the animated part, holds)."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, hold_start: float = 0.6,
                 hold_end: float = 1.6, theme: str = "light", orbit_deg: float = 40.0, elevation_deg: float = 24.0,
                 azimuth_deg: float = 35.0, card_seconds: float = 2.0, aspect: float | None = None):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        self.tr = trace
        self.fps = int(fps)
        self.theme = THEMES[theme]
        self.fig_w, self.fig_h = figure_size(aspect)
        self.card = TitleCard(self.card_lines(trace), self.fps, self.theme, card_seconds,
                              size=(self.fig_w, self.fig_h)) if card_seconds > 0 else None
        self.n_hold0, self.n_anim, self.n_hold1, self.n_frames = clip_timeline(
            self.fps, duration, hold_start, hold_end, self.card.n_frames if self.card else 0)
        self.orbit, self.elev, self.azim0 = np.deg2rad(orbit_deg), np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)

        a, meta = trace.arrays, trace.meta
        self.fs, self.fa = pick_flows(trace)
        self.summ = [meta["flows"][self.fs], meta["flows"][self.fa]]
        self.labels = a["labels"]
        self.N = len(self.labels)
        self.q = int(meta["Q"])
        self.s = a["s"].astype(float)
        self.S = len(self.s)
        # last valid grid point of each flow (a flow stopped early keeps its last state)
        self.last = [int(np.flatnonzero(a["valid"][f])[-1]) for f in (self.fs, self.fa)]
        self.cost = [a["cost"][f] for f in (self.fs, self.fa)]
        self.trap = [a["trap_ratio"][f] for f in (self.fs, self.fa)]
        self.rank = [a["rank"][f] for f in (self.fs, self.fa)]
        self.predicted = a["predicted"]
        outs = [np.nan_to_num(a["outputs"][f]) for f in (self.fs, self.fa)]      # (S, N, Q)
        Y = a["Y"]
        self.P3 = [self._to3(o) for o in outs]                                    # (S, N, 3)
        self.Y3 = self._to3(Y)
        pts = np.concatenate([p[: l + 1].reshape(-1, 3) for p, l in zip(self.P3, self.last, strict=True)]
                             + [self.Y3, np.zeros((1, 3))])
        self.center = 0.5 * (pts.min(0) + pts.max(0))
        self.radius = 1.08 * float(np.max(np.linalg.norm(pts - self.center, axis=1))) or 1.0
        self.tau_max = self.s[-1] / self.N
        self.t_max = 1.0 - np.exp(-self.tau_max)

        # layout
        self.lay, s = fitted_layout(self.fig_w, self.fig_h, self.side_blocks, 2, Rect(0.3, 0.35, 10.5, 7.6),
                                    lo=0.55, hi=1.5, min_chart=0.85, head=0.75)
        self.is_16x9 = self.lay.is_16x9
        self.title_y = self.lay.title_y
        self.panels = self.lay.panels
        self.plot = self.lay.chart.rect(self._chart_rect(s))
        self.readout_xy = (self.lay.readout.x(11.55), self.lay.readout.y(8.0))
        self.point_r = 0.045
        good = np.concatenate([c[: l + 1] for c, l in zip(self.cost, self.last, strict=True)] + [self.predicted])
        good = good[np.isfinite(good) & (good > 0)]
        self.log_lo = float(np.floor(np.log10(good.min())))
        self.log_hi = float(np.ceil(np.log10(good.max())))
        if self.log_hi <= self.log_lo:
            self.log_hi = self.log_lo + 1

    # -- layout (16:9 units; scenes.clips.base.layout moves the blocks onto other canvases) -----------------
    @staticmethod
    def _chart_rect(s: float) -> Rect:
        return Rect(11.55, 0.95, 4.1, 3.5 * s)

    def side_blocks(self, s: float) -> tuple[Rect, Rect]:
        pl = self._chart_rect(s)
        chart = Rect(pl.x - 0.8, pl.y - 0.64, pl.w + 0.95, pl.h + 0.64 + (0.4 if is_wide(self.fig_w, self.fig_h)
                                                                        else 0.55))
        width = FIG_W - 0.12 - 11.55 if is_wide(self.fig_w, self.fig_h) else 4.3
        return Rect(11.55, 8.0 - 2.45, width, 2.65), chart

    def fit(self, text: str, size: float, x: float) -> float:
        """Text height of a readout line at ``x``: ``size``, fitted to the room on canvases other than 16:9."""
        return size if self.is_16x9 else fit_text_size(text, size, self.lay.room_x - x)

    def _line(self, f: Frame, name: str, x: float, y: float, text: str, size: float, color: str) -> None:
        """A readout line, fitted to the room on canvases other than 16:9."""
        f.labels.append(Label(name, x, y, text, self.fit(text, size, x), color))

    # -- helpers ------------------------------------------------------------------------------------
    def _to3(self, P: np.ndarray) -> np.ndarray:
        q = self.q
        if q == 3:
            return np.asarray(P, dtype=float)
        if q < 3:
            pad = np.zeros((*P.shape[:-1], 3 - q))
            return np.concatenate([P, pad], axis=-1)
        a = self.tr.arrays
        ref = np.concatenate([a["Y"], np.nan_to_num(a["outputs"][0, 0])])
        mean = ref.mean(0)
        _, _, Vt = np.linalg.svd(ref - mean, full_matrices=False)
        return (np.asarray(P) - mean) @ Vt[:3].T

    def _screen(self, P3: np.ndarray, panel: Rect, azim: float) -> np.ndarray:
        B = camera_basis(azim, self.elev)
        xy = (P3 - self.center) @ B.T * (0.47 * panel.w / self.radius)
        return xy + np.array([panel.cx, panel.cy])

    def _px(self, tau: np.ndarray) -> np.ndarray:
        return self.plot.x + self.plot.w * np.asarray(tau) / self.tau_max

    def _py(self, c: np.ndarray) -> np.ndarray:
        lc = np.log10(np.maximum(np.asarray(c, dtype=float), 10 ** (self.log_lo - 3)))
        lc = np.clip(lc, self.log_lo, self.log_hi)
        return self.plot.y + self.plot.h * (lc - self.log_lo) / (self.log_hi - self.log_lo)

    def clip_t(self, i: int) -> float:
        """The reparametrised time ``t`` of frame ``i`` (uniform over the animated part)."""
        j = min(max(i - self.n_hold0, 0), self.n_anim - 1)
        return self.t_max * j / (self.n_anim - 1)

    def grid_position(self, i: int) -> float:
        """Fractional grid index ``u`` in ``[0, S-1]`` of frame ``i`` (``s = -N ln(1 - t)``)."""
        t = self.clip_t(i)
        s = -self.N * np.log1p(-t) if t < 1 else self.s[-1]
        return float(np.interp(s, self.s, np.arange(self.S)))

    def azimuth(self, i: int) -> float:
        return self.azim0 + self.orbit * i / max(1, self.n_frames - 1)

    @staticmethod
    def card_lines(trace) -> list[str]:
        cfg, meta = trace.meta.get("config", {}), trace.meta
        N = len(trace.arrays["X"])
        lines = [
            "Gradient flows in output space: standard vs adapted",
            f"$Q = {meta['Q']}$ clustered classes in $\\mathbb{{R}}^{{{meta['M']}}}$, {N} points; outputs $x$ in "
            f"$\\mathbb{{R}}^{{{meta['Q']}}}$",
            f"{meta.get('activation', 'relu')} network, hidden widths {cfg.get('widths', '?')}: $K = {meta.get('K')}$ "
            f"parameters $\\geq QN = {meta.get('QN')}$ outputs",
            r"standard: $\dot\theta = -D^\top \nabla_x C$      adapted: $\dot\theta = -D^+ \nabla_x C$",
            f"cost {meta.get('loss', 'mse')}, {str(cfg.get('integrator', '')).upper()} to $s$ = "
            f"{cfg.get('tau_max', '?')} $N$, {cfg.get('dtype', '')}, seed {meta.get('seed', '?')}",
            "clip time $t = 1 - e^{-s/N}$: the adapted flow moves on straight lines at constant speed",
        ]
        return [ln for ln in lines if ln]

    # -- static and dynamic content -----------------------------------------------------------------
    def static(self) -> Frame:
        th, f = self.theme, Frame()
        meta = self.tr.meta
        title = (f"Standard vs adapted gradient flow  ·  $Q = {self.q}$, $N = {self.N}$, $K = {meta.get('K')}$  ·  "
                 f"seed {meta.get('seed')}")
        size = 0.28
        if not self.is_16x9:
            title, size = fit_title(title, 0.28, self.fig_w - 0.7)
        f.labels.append(Label("title", 0.35, self.title_y, title, size, th["fg"], "left", "center"))
        borders = [p.border() for p in [*self.panels, self.plot]]
        segs = list(np.concatenate(borders))
        colors = [th["panel"]] * len(segs)
        pl = self.plot
        for d in range(int(self.log_lo), int(self.log_hi) + 1):
            y = float(self._py(10.0 ** d))
            segs.append(np.array([[pl.x, y], [pl.x + pl.w, y]]))
            colors.append(th["panel"])
            f.labels.append(Label(f"ytick{d}", pl.x - 0.08, y, f"$10^{{{d}}}$", 0.19, th["muted"], "right", "center"))
        f.segments.append(Segments("frames", np.array(segs), colors, 0.012))
        # the law e^{-2s/N} C(0), dashed (on its own uniform grid in s/N: even dashes)
        tau = self.s / self.N
        fine = np.linspace(0.0, self.tau_max, 121)
        law = np.exp(np.interp(fine, tau, np.log(np.maximum(self.predicted, 1e-300))))
        xy = np.c_[self._px(fine), self._py(law)]
        dash = [xy[k:k + 2] for k in range(0, len(xy) - 1, 2)]
        f.segments.append(Segments("law", np.array(dash).reshape(-1, 2, 2), [th["muted"]] * len(dash), 0.03))
        names = [r"standard gradient flow  ($\alpha = 0$)", self._adapted_name()]
        for k, p in enumerate(self.panels):
            f.labels.append(Label(f"panel{k}", p.x, p.y + p.h + 0.28, names[k],
                                  0.22 if self.is_16x9 else fit_text_size(names[k], 0.22, p.w),
                                  STANDARD_COLOR if k == 0 else ADAPTED_COLOR))
        ptitle = "cost $C$ (log) against $s/N$"
        tx = pl.x if self.lay.wide else pl.x - 0.55
        f.labels.append(Label("plot_title", tx, pl.y + pl.h + (0.25 if self.lay.wide else 0.4), ptitle,
                              self.fit(ptitle, 0.2, tx),
                              th["fg"], "left", "center"))
        f.labels.append(Label("plot_x0", pl.x, pl.y - 0.2, "0", 0.19, th["muted"], "center", "center"))
        f.labels.append(Label("plot_x1", pl.x + pl.w, pl.y - 0.2, f"{self.tau_max:g}", 0.19, th["muted"],
                              "center", "center"))
        f.labels.append(Label("plot_xl", pl.cx, pl.y - 0.5, "flow time $s/N$", 0.19, th["muted"], "center", "center"))
        # legend of the chart: the two flows (solid) and the law (dashed)
        f.labels.append(Label("legend_std", pl.x + 0.1, pl.y + 0.62, "standard", 0.19, STANDARD_COLOR))
        f.labels.append(Label("legend_ad", pl.x + 0.1, pl.y + 0.25, "adapted", 0.19, ADAPTED_COLOR))
        f.labels.append(Label("legend_law", pl.x + pl.w - 0.1, pl.y + pl.h - 0.25, "dashed: $e^{-2s/N}C(0)$", 0.19,
                              th["muted"], "right"))
        return f

    def _adapted_name(self) -> str:
        s = self.summ[1]
        return "adapted flow, kinks frozen" if s.get("kinks") == "freeze" else r"adapted flow  ($\alpha = 1$)"

    def frame(self, i: int) -> Frame:
        th, f = self.theme, Frame()
        u = self.grid_position(i)
        az = self.azimuth(i)
        pts_xy, pts_c, trail, trail_c, axes = [], [], [], [], []
        start_xy, start_c = [], []
        for k, panel in enumerate(self.panels):
            uk = min(u, float(self.last[k]))
            s0 = int(np.floor(uk))
            s1 = min(s0 + 1, self.last[k])
            w = uk - s0
            P = self.P3[k]
            cur = (1 - w) * P[s0] + w * P[s1]                             # (N, 3)
            # coordinate axes from the origin of R^Q
            o = self._screen(np.zeros((1, 3)), panel, az)[0]
            for e in self._screen(0.35 * np.eye(3), panel, az):
                axes.append([o, e])
            # trail: recorded positions up to s0 (thinned), then the current position
            idx = np.arange(s0 + 1)
            if len(idx) > TRAIL_POINTS:
                idx = np.unique(np.r_[np.round(np.linspace(0, s0, TRAIL_POINTS)).astype(int), s0])
            path = np.concatenate([P[idx], cur[None]])                     # (T, N, 3)
            sxy = self._screen(path, panel, az)                            # (T, N, 2)
            if len(sxy) >= 2:
                seg = np.stack([sxy[:-1], sxy[1:]], axis=2)                 # (T-1, N, 2, 2)
                seg = seg.transpose(1, 0, 2, 3).reshape(-1, 2, 2)
                trail.append(seg)
                trail_c += [class_color(int(c)) for c in np.repeat(self.labels, len(sxy) - 1)]
            pts_xy.append(sxy[-1])
            pts_c.append(self.labels)
            start_xy.append(sxy[0])
            start_c.append(self.labels)
        f.segments.append(Segments("axes", np.array(axes).reshape(-1, 2, 2), [th["muted"]] * len(axes), 0.018))
        f.segments.append(Segments("trails", np.concatenate(trail) if trail else np.zeros((0, 2, 2)), trail_c,
                                   0.022, alpha=0.75))
        f.points.append(Points("starts", np.concatenate(start_xy), np.concatenate(start_c), self.point_r * 0.55))
        f.points.append(Points("outputs", np.concatenate(pts_xy), np.concatenate(pts_c), self.point_r))
        tgt_xy = np.concatenate([self._screen(self.Y3[self.labels == j][:1], p, az)
                                 for p in self.panels for j in range(self.q)])
        f.points.append(Points("targets", tgt_xy, np.tile(np.arange(self.q), 2), self.point_r * 2.6, ring=True))

        # cost curves up to the current grid position
        tau = self.s / self.N
        for k, (name, color) in enumerate((("cost_std", STANDARD_COLOR), ("cost_ad", ADAPTED_COLOR))):
            uk = min(u, float(self.last[k]))
            s0 = int(np.floor(uk))
            s1 = min(s0 + 1, self.last[k])
            w = uk - s0
            xs = tau[: s0 + 1]
            ys = self.cost[k][: s0 + 1]
            if s1 > s0:
                xs = np.append(xs, (1 - w) * tau[s0] + w * tau[s1])
                ys = np.append(ys, np.exp((1 - w) * np.log(max(ys[-1], 1e-300))
                                          + w * np.log(max(self.cost[k][s1], 1e-300))))
            f.lines.append(Polyline(name, np.c_[self._px(xs), self._py(ys)], color, 0.035))

        # readouts
        s_now = float(np.interp(u, np.arange(self.S), self.s))
        t_now = 1.0 - np.exp(-s_now / self.N)
        x0, y = self.readout_xy
        vals = []
        for k in range(2):
            uk = min(u, float(self.last[k]))
            n = int(round(uk))
            c = float(np.exp(np.interp(uk, np.arange(self.S), np.log(np.maximum(np.nan_to_num(self.cost[k],
                                                                                                 nan=1e-300),
                                                                                       1e-300)))))
            vals.append((c, float(self.trap[k][n]), int(self.rank[k][n])))
        eps = self.summ[0]["trap_eps"]
        trapped = "  trapped" if vals[0][1] < eps else ""
        self._line(f, "time", x0, y, f"$s/N$ = {s_now / self.N:.2f}    $t$ = {t_now:.3f}", 0.22, th["fg"])
        self._line(f, "cost_std_text", x0, y - 0.5, f"standard  $C$ = {fmt_loss(vals[0][0])}", 0.2,
                              STANDARD_COLOR)
        self._line(f, "trap_text", x0 + 0.3, y - 0.88, f"$|D^\\top g|/|g|$ = {vals[0][1]:.3f}{trapped}", 0.19,
                              STANDARD_COLOR)
        self._line(f, "cost_ad_text", x0, y - 1.38, f"adapted   $C$ = {fmt_loss(vals[1][0])}", 0.2,
                              ADAPTED_COLOR)
        law = float(np.interp(u, np.arange(self.S), self.predicted))
        self._line(f, "law_text", x0 + 0.3, y - 1.76, f"law $e^{{-2s/N}}C(0)$ = {fmt_loss(law)}", 0.19,
                              ADAPTED_COLOR)
        qn = self.tr.meta["QN"]
        # the rank of D along both flows ("a | b" did not say which is which); of QN when it differs
        if vals[0][2] == vals[1][2]:
            ranks = [f"rank $D$ = {vals[0][2]} of $QN$ = {qn} (both)", f"rank $D$ = {vals[0][2]} of {qn} (both)"]
        else:
            ranks = [f"rank $D$: {vals[0][2]} standard, {vals[1][2]} adapted",
                     f"rank $D$: {vals[0][2]} std., {vals[1][2]} adapted"]
        room = self.lay.room_x - x0      # to the chart beside it, or the edge (large Q: three-digit ranks)
        rank, size = fit_first(ranks, 0.19, room)
        self._line(f, "rank_text", x0, y - 2.3, rank, size, th["fg"])
        return self.card.apply(f, i) if self.card else f
