"""Frame model of the ``local-minima`` clip (docs/math.md §5).

It reuses the layer panels of :class:`scenes.clips.truncation_speed.TruncationFrames` (input ``X`` and ``T_l(X)``
for every hidden layer, cones and base points, a slowly orbiting orthographic camera, the trace's fixed PCA for
``M > 3``; positions interpolated between snapshots) and replaces its right-hand readout.

:class:`LocalMinimaFrames` (``local-minima`` traces, :mod:`geomdl.experiments.local_minima`): a tour of the toggle
points. For each pattern the clip holds on the toggle point, then (when the trace has L-BFGS end points) moves
to where L-BFGS takes it and holds there, then moves on to the next pattern; moves are eased (smoothstep). The
readout names the pattern (which layer collapses which class), the stage, loss, gradient norm, accuracy, and a
log-scale lollipop chart of every pattern's loss (dot: toggle point, ring: after L-BFGS; the current pattern
highlighted). Snapshots whose truncation picture is approximate (representation residual > 1e-6: L-BFGS can
make a cumulative ``W^(l)`` rank-deficient) say so in the readout.
"""

from __future__ import annotations

import numpy as np

from geomdl.errors import GeomdlError
from scenes.clips.base import (
    FIG_H,
    FIG_W,
    GREY,
    PALETTE,
    TEXT_MIN,
    Frame,
    Label,
    Points,
    Rect,
    Segments,
    class_color,
    class_name,
    fit_text_size,
    is_wide,
    sci_exponent,
    smoothstep,
    tex_pow10,
    tex_sci,
    text_ink,
    text_width,
)
from scenes.clips.truncation_speed import TruncationFrames

HOLD_MIN = 2.5     # seconds each readable state (a toggle point, where L-BFGS takes it) holds, at least
CHART_W = 4.2      # width of the loss chart at 16:9 (figure units)
NAME_GAP = 0.1     # figure units (5 px at 480p) between two pattern names under the chart
HIGHLIGHT = 5      # palette index of the current pattern's marks (Okabe-Ito blue)
OTHER = GREY       # palette index of the other patterns' marks (the non-class grey)
APPROX_RESIDUAL = 1e-6


def keyframe_positions(holds: list[int], moves: list[int], lead: int, tail: int) -> np.ndarray:
    """Fractional snapshot position of every frame of a tour: ``lead`` frames at snapshot 0, then for snapshot
    ``k``: ``holds[k]`` frames still, and (except after the last) ``moves[k]`` frames of eased motion to
    ``k + 1``; then ``tail`` frames at the last snapshot. Returns ``u: (n_frames,)``."""
    parts = [np.zeros(lead)]
    for k, h in enumerate(holds):
        parts.append(np.full(h, float(k)))
        if k < len(holds) - 1:
            m = moves[k]
            parts.append(k + smoothstep((np.arange(m) + 1) / m))
    parts.append(np.full(tail, float(len(holds) - 1)))
    return np.concatenate(parts)


class LocalMinimaFrames(TruncationFrames):
    """Frames of the ``local-minima`` clip. ``duration``: seconds of the tour, split evenly over the patterns
    (with L-BFGS end points: 40 % toggle point, 10 % move, 40 % end point, 10 % move on; else 80 % hold, 20 %
    move), each pattern given at least the time for every hold to last ``HOLD_MIN`` seconds (2.5 s)."""

    show_rates = False      # the snapshots are a tour of patterns, not a time series
    min_chart = 0.6

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light", hold_end: float = 1.0,
                 orbit_deg_per_s: float = 4.0, card_seconds: float = 2.0, aspect: float | None = None, **kw):
        super().__init__(trace, fps=fps, duration=duration, theme=theme,
                         card_seconds=card_seconds, aspect=aspect, **kw)
        a = trace.arrays
        self.pattern = np.asarray(a["pattern"]).astype(int)           # (S, Q)
        self.stage = np.asarray(a["stage"]).astype(int)               # (S,)
        if "collapse_class" not in a:
            raise GeomdlError("this local-minima trace predates the collapse_class array: record it again "
                              "(geomdl render local-minima --retrain)")
        self.collapse_class = np.asarray(a["collapse_class"]).astype(int)   # (S, L), -1: no collapse
        self.grad = np.asarray(a["grad_norm"], dtype=float)
        self.grad_hidden = np.asarray(a["grad_norm_hidden"], dtype=float)
        self.acc = np.asarray(a["accuracy"], dtype=float)
        # local-minimum verdict per snapshot (traces recorded before it have none: no verdict shown)
        self.local = np.asarray(a["local_minimum"]).astype(int) if "local_minimum" in a else None
        self.reasons = list(trace.meta.get("reasons", []))
        self.residual = np.nanmax(np.asarray(a["residual"], dtype=float), axis=1)
        self.Q = int(trace.meta["Q"])
        self.polished = bool(self.stage.max() > 0)
        # pattern index of each snapshot, and per pattern the snapshot of each stage
        starts = np.flatnonzero(self.stage == 0)
        self.P = len(starts)
        self.pat_of = np.cumsum(self.stage == 0) - 1                  # (S,)
        self.toggle_snap = starts
        self.polish_snap = starts + 1 if self.polished else None
        share = 0.4 if self.polished else 0.8
        per = max(4.0, duration * fps / self.P, HOLD_MIN * fps / share + 1)
        if self.polished:
            holds, moves = [], []
            for _ in range(self.P):
                holds += [round(0.4 * per), round(0.4 * per)]
                moves += [max(2, round(0.1 * per)), max(2, round(0.1 * per))]
        else:
            holds = [round(0.8 * per)] * self.P
            moves = [max(2, round(0.2 * per))] * self.P
        lead = (self.card.n_frames if self.card else 0) + int(round(1.6 * fps))   # the panels build up
        self.u = keyframe_positions(holds, moves, lead, int(round(hold_end * fps)))
        self.n_frames = len(self.u)
        self.orbit = np.deg2rad(orbit_deg_per_s) * self.n_frames / self.fps   # a steady orbit, however long the tour
        # loss chart: log10, four decades below the largest loss (smaller values sit on the floor)
        top = float(np.nanmax(self.loss))
        self.log_top = float(np.ceil(np.log10(max(top, 1e-300))))
        self.log_bot = self.log_top - 4

    # -- layout (16:9 units; scenes.clips.base.layout moves the blocks onto other canvases) -----------------
    def _staggered(self) -> bool:
        """The 16:9 chart names its patterns on two staggered rows (one row would not leave ``NAME_GAP``)."""
        stage = np.asarray(self.tr.arrays["stage"])
        P, Q = int(np.count_nonzero(stage == 0)), int(self.tr.meta["Q"])
        return (P <= 8 and (self.fig_w, self.fig_h) == (FIG_W, FIG_H)
                and text_width("0" * Q, TEXT_MIN) + NAME_GAP > CHART_W / P)

    def _readout_low(self) -> float:
        """The foot of the readout (16:9 units): under its last line, the approximate-picture note."""
        return 7.75 - 2.45 - 0.36 * self.L - 0.15

    def _chart_rect(self, s: float) -> Rect:
        """The chart, its foot high enough for the names and the two key lines under it (the second's
        descenders ended on the 16:9 frame's last pixel row); beside the readout (wide canvases) its title stays
        under the readout's foot, so with many layers (Q = 4..6) the chart is shorter."""
        y = 1.3 if self._staggered() else 1.05
        h = 2.4 * s - 0.1
        if is_wide(self.fig_w, self.fig_h):
            h = min(h, self._readout_low() - 0.46 - y)    # the title's 0.42, and a gap
        return Rect(11.5, y, CHART_W, h)

    def side_blocks(self, s: float) -> tuple[Rect, Rect]:
        pl = self._chart_rect(s)
        polished = bool(np.asarray(self.tr.arrays["stage"]).max() > 0)
        bottom = pl.y - (0.92 if polished else 0.64) - (0.25 if self._staggered() else 0.0)
        wide = is_wide(self.fig_w, self.fig_h)
        chart = Rect(pl.x - 1.0, bottom, pl.w + 1.1, pl.y + pl.h + (0.42 if wide else 0.56) - bottom)
        low = self._readout_low()
        width = FIG_W - 0.12 - 10.75 if wide else 4.8
        return Rect(10.75, low, width, 7.95 - low), chart

    def place_side(self, lay, s: float) -> None:
        self.plot = lay.chart.rect(self._chart_rect(s))
        self.readout_xy = (lay.readout.x(10.75), lay.readout.y(7.75))

    def name_rows(self) -> int:
        """Rows under the chart for every pattern's name, with a gap of ``NAME_GAP`` between names: 1, or 2
        (staggered: every other name one row lower), or 0 (no room: only the current pattern is named)."""
        if self.P > 8:
            return 0
        need = text_width("0" * self.Q, TEXT_MIN) + NAME_GAP
        pitch = self.plot.w / self.P
        return 1 if need <= pitch else 2 if need <= 2 * pitch and self._staggered() else 0

    def names_fit(self) -> bool:
        """Room under the chart for every pattern's name (else only the current one is named)."""
        return self.name_rows() > 0

    def _name_y(self, p: int) -> float:
        """Height of pattern ``p``'s name under the chart (staggered over two rows when they do not fit in one)."""
        return self.plot.y - 0.22 - (0.25 if self.name_rows() == 2 and p % 2 else 0.0)

    def _key_y(self) -> float:
        """Height of the chart's first key line (under the pattern names)."""
        return self.plot.y - (0.77 if self.name_rows() == 2 else 0.52)

    @staticmethod
    def card_lines(trace) -> list[str]:
        meta, cfg = trace.meta, trace.meta.get("config", {})
        q = meta["Q"]
        N = len(trace.arrays["X"])
        flat = meta.get("geometry", "clustered") == "flat"
        where = (f"flat classes on $x_1 + \\dots + x_{{{q}}} = 1$ in $\\mathbb{{R}}^{{{meta['M']}}}$ "
                 "(base points off it)" if flat else f"clustered classes in $\\mathbb{{R}}^{{{meta['M']}}}$")
        lines = [
            "Suboptimal minima: a tour of the toggle points",
            f"$Q = {q}$ {where}, {N} points (balls of radius {cfg.get('radius', '?')}), seed {meta.get('seed', '?')}",
            f"each layer keeps (1) or undoes (0) its collapse: {2**q - 1} patterns, then the global minimum",
            "output layer refit by least squares; MSE loss; classes and layers numbered from 1",
            ("after each toggle point: where L-BFGS (float64) takes it" if meta.get("polished")
             else "toggle points only (no L-BFGS)"),
            f"geomdl {meta.get('versions', {}).get('geomdl', '')}",
        ]
        return lines

    def layer_class_at(self, l: int, sn: int) -> int:
        """The class layer ``l`` collapses in snapshot ``sn``'s pattern (-1: none, the layer is the identity)."""
        return int(self.collapse_class[sn, l]) if self.pattern[sn, l] else -1

    def layer_color(self, l: int, sn: int) -> str:
        c = self.layer_class_at(l, sn)
        return class_color(c) if c >= 0 else self.theme["muted"]

    def snapshot_position(self, i: int) -> float:
        return float(self.u[min(max(i, 0), self.n_frames - 1)])

    def static(self) -> Frame:
        th, f = self.theme, Frame()
        q = self.Q
        title = f"Suboptimal minima  ·  $Q = {q}$  ·  {2**q - 1} toggle points + the global minimum"
        self.static_panels(f, title, [])
        pl = self.plot
        f.segments.append(Segments("chart_axes", np.array([[[pl.x, pl.y], [pl.x + pl.w, pl.y]],
                                                           [[pl.x, pl.y], [pl.x, pl.y + pl.h]]]),
                                   [th["panel"]] * 2, 0.012))
        tx = pl.x if self.lay.wide else pl.x - 0.95            # narrow canvases: over the tick labels too
        ctitle = "loss per pattern (log scale)"
        f.labels.append(Label("chart_title", tx, pl.y + pl.h + (0.28 if self.lay.wide else 0.42), ctitle,
                              self.fit(ctitle, 0.22, tx), th["fg"]))
        ky = self._key_y()
        f.labels.append(Label("chart_key", pl.x, ky, "dot: toggle point", TEXT_MIN, th["muted"]))
        if self.polished:
            f.labels.append(Label("chart_key2", pl.x, ky - 0.28, "ring: after L-BFGS", TEXT_MIN, th["muted"]))
        f.labels.append(Label("chart_top", pl.x - 0.1, pl.y + pl.h, tex_pow10(self.log_top), TEXT_MIN, th["muted"],
                              "right"))
        f.labels.append(Label("chart_mid", pl.x - 0.1, pl.y + pl.h / 2, tex_pow10(self.log_top - 2), TEXT_MIN,
                              th["muted"], "right"))
        f.labels.append(Label("chart_bot", pl.x - 0.1, pl.y, "$\\leq$" + tex_pow10(self.log_bot), TEXT_MIN,
                              th["muted"], "right"))
        return f

    def _chart_x(self, p: int) -> float:
        return self.plot.x + self.plot.w * (p + 0.5) / self.P

    def _chart_y(self, v: float) -> float:
        lv = np.log10(max(v, 1e-300))
        t = (min(max(lv, self.log_bot), self.log_top) - self.log_bot) / (self.log_top - self.log_bot)
        return self.plot.y + self.plot.h * t

    def draw_readout(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        th = self.theme
        cur = int(self.pat_of[sn])
        pat = self.pattern[sn]
        bits = " ".join(map(str, pat))
        glob = bool(pat.all())
        x0, y = self.readout_xy
        txt = f"pattern {cur + 1} of {self.P}:  {bits}"   # fitted on every canvas: Q >= 4 ran off the 16:9 edge
        f.labels.append(Label("pattern", x0, y, txt, fit_text_size(txt, 0.3, self.lay.room_x - x0), th["fg"]))
        stage = "global minimum" if glob and self.stage[sn] == 0 else (
            "toggle point" if self.stage[sn] == 0 else "after L-BFGS from it")
        f.labels.append(Label("stage", x0, y - 0.5, stage, 0.24, th["fg"]))
        loss = float(np.exp((1 - w) * np.log(max(self.loss[s0], 1e-300)) + w * np.log(max(self.loss[s1], 1e-300))))
        f.labels.append(Label("loss", x0, y - 1.0, f"loss {tex_sci(loss)}", 0.26, th["fg"]))
        txt = (f"$\\|\\nabla L\\|$ = {tex_sci(self.grad[sn], 1)}  (hidden "
               f"{tex_sci(self.grad_hidden[sn], 1)})")
        # no room for the hidden layers' norm (which the whole one bounds): on other canvases by the estimate;
        # the 16:9 column holds the line with one-digit exponents only (L-BFGS ends near 1e-14: two digits ran
        # off the right edge, measured on the drawn pixels)
        if (self.lay.is_16x9 and max(abs(sci_exponent(v, 1)) for v in (self.grad[sn], self.grad_hidden[sn])) >= 10
                or not self.lay.is_16x9 and text_width(txt, TEXT_MIN) > self.lay.room_x - x0):
            txt = f"$\\|\\nabla L\\|$ = {tex_sci(self.grad[sn], 1)}"
        f.labels.append(Label("grad", x0, y - 1.42, txt, TEXT_MIN, th["muted"]))
        verdict = ""
        if self.local is not None:
            why = self.reasons[sn] if sn < len(self.reasons) else ""
            verdict = ("  ·  local minimum" if self.local[sn] else
                       "  ·  not stationary" if why.startswith("not stationary") else "  ·  not a minimum")
        txt, size = self.fit_line([f"accuracy {100 * self.acc[sn]:.1f}%{verdict}",
                                   f"acc. {100 * self.acc[sn]:.1f}%{verdict}"], 0.19, x0)
        f.labels.append(Label("acc", x0, y - 1.78, txt, size, th["muted"]))
        for l in range(self.L):
            cls = int(self.collapse_class[sn, l])
            if pat[l]:
                what = f"layer {l + 1}: collapses {class_name(cls)}"
                txt, size = self.fit_line([f"{what} ({int(self.counts[sn, l])} pts)", what], 0.19, x0)
            else:
                txt, size = self.fit_line([f"layer {l + 1}: no collapse (identity)", f"layer {l + 1}: no collapse"],
                                          0.19, x0)
            f.labels.append(Label(f"layer{l}", x0, y - 2.3 - 0.36 * l, txt, size,
                                  text_ink(class_color(cls), th) if pat[l] else th["muted"]))
        approx = self.residual[sn] > APPROX_RESIDUAL
        txt, size = self.fit_line(["rank-deficient layer: approx. picture", "approx. picture (rank-deficient)",
                                   "approximate picture"], TEXT_MIN, x0)
        f.labels.append(Label("approx", x0, y - 2.45 - 0.36 * self.L, txt, size, th["muted"],
                              alpha=1.0 if approx else 0.0))
        # lollipop chart of every pattern's loss
        pl = self.plot
        stems, stem_c, dots, dot_c, rings, ring_c = [], [], [], [], [], []
        for p in range(self.P):
            x = self._chart_x(p)
            c = HIGHLIGHT if p == cur else OTHER
            yt = self._chart_y(self.loss[self.toggle_snap[p]])
            stems.append([[x, pl.y], [x, yt]])
            stem_c.append(PALETTE[c])
            dots.append([x, yt])
            dot_c.append(c)
            if self.polished:
                rings.append([x, self._chart_y(self.loss[self.polish_snap[p]])])
                ring_c.append(c)
        if self.names_fit():  # room for every pattern's name (the current one in its colour)
            for p in range(self.P):
                name = "".join(map(str, self.pattern[self.toggle_snap[p]]))
                f.labels.append(Label(f"chart_x{p}", self._chart_x(p), self._name_y(p), name, TEXT_MIN,
                                      text_ink(PALETTE[HIGHLIGHT], th, 4.5) if p == cur else th["muted"], "center"))
        else:                 # only the current one is named
            name = "".join(map(str, pat))   # under its stem, kept inside the canvas (the last pattern's at the edge)
            x = min(self._chart_x(cur), self.fig_w - 0.12 - text_width(name, TEXT_MIN) / 2)
            f.labels.append(Label("chart_x", x, pl.y - 0.22, name, TEXT_MIN, text_ink(PALETTE[HIGHLIGHT], th, 4.5),
                                  "center"))
        f.segments.append(Segments("chart_stems", np.array(stems), stem_c, 0.03))
        f.points.append(Points("chart_dots", np.array(dots), np.array(dot_c, dtype=int), 0.07))
        if rings:
            f.points.append(Points("chart_rings", np.array(rings), np.array(ring_c, dtype=int), 0.08, ring=True))


__all__ = ["LocalMinimaFrames", "keyframe_positions"]
