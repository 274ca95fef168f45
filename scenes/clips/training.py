"""Frame model of the ``training`` clip: the per-layer picture evolving over the training snapshots.

Panels ``X, T_1(X), ..., T_L(X)`` and the output layer in ``R^K`` (3D for K = 3, no projection; PCA of the final
outputs for K > 3), animated over the training snapshots (positions interpolated linearly between snapshots),
each layer's cone overlaid (edge rays and its base point, whose marker grows with the points collapsed onto it,
the count beside it; points collapsing between two snapshots leave a trail toward it). Each ``T_l(X)`` panel
and the outputs panel zoom with their data (:func:`zoom_views`: every point in view in every frame; the outputs'
reference points pinned with a chevron while far), a scale bar giving each one's scale.
Right column (or, where the panels come out larger so, under them: portrait, a column from the grid's free cell,
else two rows): step, per layer the points collapsed
per class ("116 / 200 of class 1"), and three live charts against the step (log axis, :func:`step_ticks`): the
loss (log), the train and test accuracy, and NC1 and delta_P (log) where recorded, their values in the titles.
The trace is read by :class:`scenes.clips.layer_trace.LayerTraceView`.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    FIG_W,
    TEXT_MIN,
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
    badge_anchor,
    bounding_sphere,
    class_color,
    clip_timeline,
    figure_size,
    fit_first,
    fit_text_size,
    fit_title,
    fmt_loss,
    is_wide,
    layout,
    ray_samples,
    tex_sci,
    text_ink,
    text_width,
)
from scenes.clips.layer_trace import (
    SIZE_LEVELS,
    LayerClip,
    class_counts,
    collapse_text,
    dataset_name,
    facing_camera,
    fmt_num,
    growing_marker,
    layer_view_lines,
    run_lines,
    stage_math,
)

PALETTE_ACC = "#0072B2"     # accuracy curves and their titles, drawn at ACC_CONTRAST (text_ink)
ACC_CONTRAST = 4.5          # the accuracy blue against the background (dark theme: lightened, 3.6 -> 4.6)
DELTA_P_COLOR = "#8E6CD8"   # delta_P (violet: no class colour)
MAX_LAYER_LINES = 4         # per-layer collapse readouts listed (deeper networks: the deepest ones)
COL_X = 12.35               # the right column's left edge (16:9 units): the panels take the 12 units before it
ZOOM_EASE = 0.5             # seconds: the time constant of a panel's zoom in (its centre eased over half of it)
KEY_BAND = 3.15             # the step and the key under the panels, beside a column of charts (portrait)
ROW_BAND = 2.4              # height of a row of charts under the panels, with its titles and ticks
KEY_LINES = ["ringed: collapsed", "marker size, number:", "  points on base point", "trail: collapsing now",
             "each panel zooms:", "  the bar is its scale"]


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


def zoom_views(T: np.ndarray, P: np.ndarray, u: np.ndarray, half: int = 2, release: float = 5.0, cap: float = 2.5,
               floor: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One panel's view at each animation position ``u: (J,)`` (in snapshots, ``0 .. S - 1``), eased over the
    positions, for points ``T: (S, N, 3)`` and the base point ``P: (S, 3)`` (or several, ``(S, B, 3)``, framed
    together: the outputs' reference points; non-finite rows left out), both interpolated linearly between
    snapshots as the clip draws them: centres ``(J, 3)``, radii ``(J,)`` and ``(J,)`` whether the base point is
    framed.

    At each position the base point is framed where it lies (all of them lie) within ``cap`` times the radius of the
    points' bounding sphere of its centre (farther, it is pinned to the border with a chevron, as in the other
    clips' framing, and the points keep the panel). The centre is the moving average over ``2 half + 1`` positions
    of the bounding-box centre of the points and the framed base point; ``need[j]``, the largest distance of those
    from it. The radius zooms out as the data need (``radius[j] = need[j]`` while that grows) and in eased, relaxing
    toward the need with time constant ``release`` positions: ``radius[j] = max(need[j], need[j] + exp(-1 / release)
    (radius[j - 1] - need[j]))``, so ``radius[j] >= need[j]``: every point, and the framed base point, is within the
    radius of the centre at every position. Radii are at least ``floor`` times the largest (a collapsed layer is not
    magnified without end)."""
    T, P, u = np.asarray(T, dtype=float), np.asarray(P, dtype=float), np.asarray(u, dtype=float)
    S, J, k = len(T), len(u), max(int(half), 0)
    P = P.reshape(S, -1, 3)                                   # (S, B, 3)
    s0 = np.clip(np.floor(u).astype(int), 0, S - 1)
    s1 = np.minimum(s0 + 1, S - 1)
    w = u - s0

    def at(j: int) -> tuple[np.ndarray, np.ndarray]:
        """The points (finite rows) and the base point at position ``j``, as :meth:`TrainingFrames.frame`."""
        pts = ((1 - w[j]) * T[s0[j]] + w[j] * T[s1[j]]).reshape(-1, 3)
        return pts[np.isfinite(pts).all(axis=1)], (1 - w[j]) * P[s0[j]] + w[j] * P[s1[j]]

    def smooth(x: np.ndarray) -> np.ndarray:      # moving average over 2k + 1 positions (fewer at the ends)
        cs = np.concatenate([np.zeros((1, *x.shape[1:])), np.cumsum(x, axis=0)])
        lo, hi = np.maximum(np.arange(J) - k, 0), np.minimum(np.arange(J) + k + 1, J)
        return (cs[hi] - cs[lo]) / (hi - lo).reshape(-1, *([1] * (x.ndim - 1)))

    framed = np.zeros(J, dtype=bool)
    box = np.zeros((J, 3))
    for j in range(J):
        pts, p = at(j)
        if len(pts) == 0:
            continue
        c0 = (pts.min(axis=0) + pts.max(axis=0)) / 2
        r0 = float(np.max(np.linalg.norm(pts - c0, axis=1)))
        framed[j] = bool(np.isfinite(p).all() and (np.linalg.norm(p - c0, axis=1) <= cap * r0).all())
        box[j] = bounding_sphere(pts, p)[0] if framed[j] else c0
    c = smooth(box)
    need = np.zeros(J)
    for j in range(J):
        pts, p = at(j)
        if framed[j]:
            pts = np.concatenate([pts, p])
        if len(pts):
            need[j] = float(np.max(np.linalg.norm(pts - c[j], axis=1)))
    r = need.copy()
    a = float(np.exp(-1.0 / release)) if release > 0 else 0.0
    for j in range(1, J):          # out as fast as the data need, in eased (relaxing toward the need)
        r[j] = max(need[j], need[j] + a * (r[j - 1] - need[j]))
    top = float(r.max()) if J else 0.0
    r = np.maximum(r, max(floor * top, 1e-12)) if top > 0 else np.ones(J)
    return c, r, framed


def scale_length(radius: float, most: float = 0.8) -> float:
    """A scale bar's length in data units: the largest 1, 2 or 5 times a power of ten that is at most
    ``most x radius`` (so that the bar spans 0.32 to 0.8 of the radius)."""
    x = most * float(radius)
    mag = 10.0 ** np.floor(np.log10(x))
    return float(next(m * mag for m in (5.0, 2.0, 1.0) if m * mag <= x * (1 + 1e-12)))


def scale_text(v: float) -> str:
    """A scale bar's length as text: ``0.05``, ``20``, ``$2 \\times 10^{-4}$`` (mathtext beyond 1e-3..1e4)."""
    return f"{v:g}" if 1e-3 <= v < 1e4 else tex_sci(v, 0)


def step_ticks(last: int, width: float, size: float = 0.19, pad: float = 0.15, end_right: bool = False,
               most: int = 4) -> list[tuple[int, float]]:
    """Labelled ticks ``(step, x)`` of a log step axis of ``width`` (``x = width log10(1 + t) / log10(1 + last)``):
    0 and the last step, then the decades, then (while fewer than ``most``) 5 and 2 times a decade, larger ones
    first, each kept only where its label (:func:`scenes.clips.base.text_width` at ``size``) stays ``pad`` clear
    of the labels kept; ``end_right``: the last label ends at the axis's end instead of being centred on it."""
    last = max(int(last), 0)
    x_hi = max(np.log10(1.0 + last), 1e-9)

    def box(t: int) -> tuple[float, float]:
        x, w = width * np.log10(1.0 + t) / x_hi, text_width(str(t), size)
        return (x - w, x) if (end_right and t == last) else (x - w / 2, x + w / 2)

    kept = sorted({0, last})
    decades = [10**k for k in range(0, 12) if 10**k < last]
    others = sorted((m * 10**k for k in range(0, 12) for m in (2, 5) if m * 10**k < last), reverse=True)
    for group, cap in ((decades, None), (others, most)):
        for t in group:
            if cap is not None and len(kept) >= cap:
                break
            a, b = box(t)
            if all(b + pad <= box(k)[0] or box(k)[1] + pad <= a for k in kept):
                kept.append(t)
    return [(t, float(width * np.log10(1.0 + t) / x_hi)) for t in sorted(kept)]


class TrainingFrames(LayerClip):
    """The per-layer picture evolving over the training snapshots (scene ``training``)."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light",
                 hold_start: float = 0.6, hold_end: float = 2.5, card_seconds: float = 2.0, view: str = "input",
                 aspect: float | None = None):
        super().__init__(trace, fps, theme, view=view)
        v = self.v
        self.fig_w, self.fig_h = figure_size(aspect)
        lines = self.card_lines(trace) if view == "input" else layer_view_lines(self.card_lines(trace))
        self.card = TitleCard(lines, self.fps, self.theme, card_seconds,
                              size=(self.fig_w, self.fig_h)) if card_seconds > 0 else None
        self.n_hold0, self.n_anim, self.n_hold1, self.n_frames = clip_timeline(
            self.fps, duration, hold_start, hold_end, lead_frames=self.card.n_frames if self.card else 0)
        self.shown_layers = list(range(max(0, v.L - MAX_LAYER_LINES), v.L))
        W, H = self.fig_w, self.fig_h
        area = Rect(0.25, 0.2, 11.9, 7.8)                 # the panels take most of the canvas, the charts compact
        n = v.L + 2
        readout, chart = self.side_blocks()
        # wide canvases: the readout column beside the panels; others: beside them or, where the panels come out
        # larger so, under them: a grid with a free last cell (portrait 9:16) gets the three charts in a column
        # from that cell down to the canvas's bottom and the step and the key in the band under the other cells;
        # else the charts in two rows under the panels (each wide enough for 4 ticks), the step beside the last
        self.row = self.column = False
        self.lay = layout(W, H, n, area, readout, chart, gap=0.5, title_y=8.62, side=True)
        self.key = None
        if not is_wide(W, H):
            col = layout(W, H, n, area, Rect(0.0, 0.0, W - 0.6, KEY_BAND), Rect(0.0, 0.0, W - 0.6, 0.0), gap=0.5,
                         title_y=8.62, head=0.7, stack=True)
            plots = self._column_rects(col, W)
            row = layout(W, H, n, area, Rect(0.0, 0.0, W - 0.6, 0.0), Rect(0.0, 0.0, W - 0.6, 2.35 + ROW_BAND),
                         gap=0.5, title_y=8.62, head=0.7, stack=True)
            if plots is not None and col.panels[0].w >= max(row.panels[0].w, self.lay.panels[0].w):
                self.column, self.lay = True, col
                self.plot_loss, self.plot_acc, self.plot_nc = plots
                cell = self.free_cell(col.panels)
                band_top = col.readout.y(KEY_BAND)
                self.x0, self.top_y = 0.35, band_top - 0.22
                self.key = Rect(0.35, 0.25, cell.x - 0.35 - 0.3, band_top - 0.6 - 0.25)
            elif row.panels[0].w > self.lay.panels[0].w:
                self.row, self.lay = True, row
        self.is_16x9 = self.lay.is_16x9
        self.panels = self.lay.panels                                            # names above the panels
        if not self.column:       # a grid with a free last cell holds the key to the markers
            cell = self.free_cell(self.panels)
            self.key = Rect(cell.x, cell.y, cell.w, cell.h) if cell is not None else None
        if self.key is not None and max(text_width(t, TEXT_MIN) for t in KEY_LINES) > self.key.w:
            self.key = None                                                      # too small a cell for it
        self.point_r = 0.027 * (self.panels[0].w / 3.0) ** 0.5      # ~1.5 px at 480p: the clouds read
        if self.row:              # two rows of charts (loss, accuracy; NC), each with its tick margin
            top, cw = self.lay.chart.y1, (W - 0.6 - 0.25) / 2
            self.plot_loss, self.plot_acc, self.plot_nc = (
                Rect(0.3 + (k % 2) * (cw + 0.25) + 0.6, top - 0.45 - 1.0 - (k // 2) * ROW_BAND, cw - 0.6, 1.0)
                for k in range(3))
            self.x0, self.top_y = self.plot_acc.x - 0.55, self.plot_nc.y + self.plot_nc.h + 0.45
        elif not self.column:
            self.x0 = self.lay.readout.x(COL_X)                                 # the right column
            self.plot_loss, self.plot_acc, self.plot_nc = (self.lay.chart.rect(r) for r in self._chart_rects())
            self.top_y = self.lay.readout.y(8.12)
        # each input-space panel's view follows its points and base point over the snapshots (eased), a scale bar
        # says its scale; the input's is one view (the data do not move)
        c0, r0 = bounding_sphere(v.X3)
        u = np.array([self.snapshot_position(self.n_hold0 + j) for j in range(self.n_anim)])
        ease = ZOOM_EASE * self.fps
        self.zoom = [(np.repeat(c0[None], self.n_anim, axis=0), np.full(self.n_anim, r0),
                      np.zeros(self.n_anim, bool))] + [zoom_views(v.T3[:, l], v.P3[:, l], u, int(round(ease / 2)),
                                                                  ease) for l in range(v.L)]
        # the outputs' view zooms too, with the reference outputs as its base points (pinned while far)
        self.zoom.append(zoom_views(v.O3, np.repeat(v.Y3[None], v.S, axis=0), u, int(round(ease / 2)), ease))
        self.logloss = np.log10(np.maximum(v.loss, 1e-12))       # NaN where a user's snapshot gave no loss
        self.loss_lo, self.loss_hi = log_range(v.loss)
        self.nc = {k: v.scalars[k] for k in ("nc1_hidden", "delta_p") if k in v.scalars}
        self.nc_lo, self.nc_hi = log_range(*self.nc.values())
        self.xs = np.log10(1.0 + v.steps.astype(float))
        self.x_hi = max(float(self.xs[-1]), 1e-9)
        self.class_sizes = np.bincount(v.labels, minlength=v.q)[: v.q]
        # the outputs' camera: its orbit starts face-on to the final outputs' best-fit plane
        az_f, self.out_elev = facing_camera(v.O3[-1])
        self.out_az = az_f - self.azim0

    @staticmethod
    def grid_of(panels: list[Rect]) -> tuple[int, int]:
        """``(rows, cols)`` of a panel grid (row by row)."""
        cols = sum(1 for p in panels if abs(p.y - panels[0].y) < 1e-9)
        return int(np.ceil(len(panels) / cols)), cols

    @classmethod
    def free_cell(cls, panels: list[Rect]) -> Rect | None:
        """The free last cell of a panel grid of more than one row (``None``: the grid is full or one row)."""
        rows, cols = cls.grid_of(panels)
        if rows * cols <= len(panels) or rows < 2:
            return None
        p0 = panels[0]
        dx = (panels[1].x - p0.x) if cols > 1 else 0.0
        dy = p0.y - panels[cols].y
        k = rows * cols - 1
        return Rect(p0.x + (k % cols) * dx, p0.y - (k // cols) * dy, p0.w, p0.h)

    def _column_rects(self, lay, W: float) -> tuple[Rect, Rect, Rect] | None:
        """The loss, accuracy and NC charts in a column from the free last cell of ``lay``'s grid down to the
        canvas's bottom (one step axis, labelled under the NC chart; the loss title level with the panel
        names), or ``None`` where the grid has no free cell or the charts would come out smaller than in
        :data:`ROW_BAND` rows (plots narrower than 2.6 or lower than 1 unit)."""
        cell = self.free_cell(lay.panels)
        if cell is None:
            return None
        x, top = cell.x + 0.55, cell.y + cell.h - 0.14
        w = W - 0.3 - 0.25 - x                                   # room for the last step's label
        h = min(1.6, (top - 0.95 - 2 * 1.0) / 3)
        if w < 2.6 or h < 1.0:
            return None
        nc = Rect(x, 0.95, w, h)
        acc = Rect(x, nc.y + h + 1.0, w, h)
        return Rect(x, top - h, w, h), acc, nc

    def _chart_rects(self) -> tuple[Rect, Rect, Rect]:
        """The loss, accuracy and NC charts of the right column (16:9 units), each under its title lines, as tall
        as the readout lines above them leave room for (1 to 1.35 units)."""
        top = 7.7 - 0.36 * (len(self.shown_layers) - 1) - 0.95          # the loss chart's top, under its title
        h = float(np.clip((top - 0.95 - 2.0) / 3, 0.95, 1.35))
        nc = Rect(COL_X + 0.6, 0.95, FIG_W - 0.4 - COL_X - 0.6, h)        # room for the last step's label
        acc = Rect(nc.x, nc.y + nc.h + 1.0, nc.w, h)
        return Rect(nc.x, acc.y + acc.h + 1.0, nc.w, h), acc, nc

    def side_blocks(self) -> tuple[Rect, Rect]:
        """The readout and chart blocks of the right column (16:9 units)."""
        loss, _, nc = self._chart_rects()
        chart = Rect(COL_X - 0.05, nc.y - 0.75, FIG_W - COL_X, loss.y + loss.h + 0.48 - (nc.y - 0.75))
        low = 7.7 - 0.36 * (len(self.shown_layers) - 1) - 0.15
        return Rect(COL_X, low, FIG_W - 0.12 - COL_X, 8.3 - low), chart

    def anim_index(self, i: int) -> int:
        """The animation position (``0 .. n_anim - 1``) frame ``i`` shows (holds: the first or the last)."""
        return min(max(i - self.n_hold0, 0), self.n_anim - 1)

    def view_at(self, l: int, i: int) -> tuple[np.ndarray, float]:
        """Centre ``(3,)`` and radius of panel ``l`` (0: the input, ``L + 1``: the outputs) in frame ``i``
        (:func:`zoom_views`)."""
        c, r, _ = self.zoom[l]
        j = self.anim_index(i)
        return c[j], float(r[j])

    def title_fit(self, texts: list[str], room: float, size: float = 0.19) -> tuple[str, float]:
        """A chart title: the first of ``texts`` that fits ``room`` at least at :data:`TEXT_MIN`, and its height."""
        return fit_first(texts, size, room)

    def fit_line(self, texts: list[str], size: float, x: float) -> tuple[str, float]:
        """The first of ``texts`` that fits the readout's room at ``x`` at least at :data:`TEXT_MIN`, and its
        height."""
        room = self.lay.room_x - x
        return fit_first(texts, size, room)

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
            title = (f"Training  ·  {what}  ·  $M = {v.M}$, widths {'-'.join(map(str, v.widths))}  ·  "
                     f"{meta.get('loss', '?').upper()}  ·  "
                     f"{str(cfg.get('optimizer', '?')).upper()} lr {fmt_num(meta.get('lr', cfg.get('lr', '?')))}  ·  "
                     f"seed {meta.get('seed', '?')}")
        size = 0.22
        if not self.is_16x9:
            title, size = fit_title(title, 0.22, self.fig_w - 0.7)
        f.labels.append(Label("title", 0.35, self.lay.title_y, title, size, th["fg"]))
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
            if not self.is_16x9:
                short = name.split(": ")[-1] if l <= v.L else f"$\\mathbb{{R}}^{{{v.K}}}$"
                room = p.w + 0.3                                                 # up to the next panel's name
                name = next((t for t in [name, short.split(" (")[0]] if text_width(t, TEXT_MIN) <= room),
                            short.split(" (")[0])
                size = fit_text_size(name, 0.19, room)
            else:
                size = 0.19
            f.labels.append(Label(f"panel{l}", p.x, p.y + p.h + 0.2, name, size, color))
        if self.key is not None:
            k = self.key
            pitch = min(0.42, (k.h - 0.2) / len(KEY_LINES))
            for r, text in enumerate(KEY_LINES):
                size = fit_text_size(text, 0.19, k.w)
                f.labels.append(Label(f"key{r}", k.x, k.y + k.h - 0.3 - pitch * r, text, size, th["muted"]))
        # y ticks: decades (log charts), 0 and 1 (accuracy); x ticks below the bottom chart only (same step axis)
        for key, rect, lo, hi in (("loss", self.plot_loss, self.loss_lo, self.loss_hi),
                                  ("nc", self.plot_nc, self.nc_lo, self.nc_hi)):
            for d in decade_ticks(lo, hi, 3 if rect.h >= 0.95 else 2):
                y = rect.y + rect.h * (d - lo) / (hi - lo)
                f.labels.append(Label(f"{key}_y{d}", rect.x - 0.08, y, f"$10^{{{d}}}$", 0.19, th["muted"], "right"))
        pa = self.plot_acc
        f.labels.append(Label("acc_hi", pa.x - 0.08, pa.y + pa.h, "1", 0.19, th["muted"], "right"))
        f.labels.append(Label("acc_lo", pa.x - 0.08, pa.y, "0", 0.19, th["muted"], "right"))
        last = int(v.steps[-1])
        pn = self.plot_nc
        axes = [("", pn)] + ([("loss_", self.plot_loss), ("acc_", pa)] if self.row else [])   # a row: each chart
        for key, rect in axes:
            # charts in a row: the last step's label ends at its chart's edge, clear of the next chart's ticks
            right = self.row and len(axes) > 1
            for t, x in step_ticks(last, rect.w, 0.19, end_right=right):
                f.labels.append(Label(f"x_tick{key}{t}", rect.x + x, rect.y - 0.08, str(t), 0.19, th["muted"],
                                      "right" if right and t == last else "center", "top"))
        if self.row:
            f.labels.append(Label("x_name", pn.cx, pn.y - 0.52, "training step (log axis)", 0.19, th["muted"],
                                  "center", "top"))
        else:
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
        trail_xy, trail_c, bars = [], [], []
        for l, panel in enumerate(self.panels):
            seg0 = len(segs)                     # this panel's axes start here
            view = self.view_at(l, i)
            # the outputs: seen face-on to the final outputs' plane (the orbit camera may see it edge-on)
            pa, pe = (az, None) if l <= v.L else (az + self.out_az, self.out_elev)
            o = v.origin3 if l <= v.L else (np.zeros(3) if v.K <= 3 else None)
            o = o if o is not None and np.linalg.norm(o - view[0]) <= 0.8 * view[1] else None
            for a, e in self.axes_segments(panel, pa, *view, o, pe):   # from the origin while it is in view
                segs.append([a, _clip_to(panel, a, e)])
                seg_c.append(th["muted"])
            # the scale bar: its length in the panel's own units, bottom left (outside the disc the view keeps
            # its points in)
            ln = scale_length(view[1])
            x0, y0 = panel.x + 0.12, panel.y + 0.12
            x1 = x0 + ln * 0.45 * panel.w / view[1]
            bars += [[(x0, y0), (x1, y0)], [(x0, y0 - 0.05), (x0, y0 + 0.05)], [(x1, y0 - 0.05), (x1, y0 + 0.05)]]
            f.labels.append(Label(f"scale{l}", x0, y0 + 0.2, scale_text(ln), 0.19, th["muted"]))
            if l <= v.L:
                data = v.X3 if l == 0 else T[l - 1]
                flag = ever[-1] if l == 0 else ever[l - 1]
                xy = self.pin(self.screen(data, panel, az, *view), panel)
                if l >= 1 and 0 < w < 1:        # collapsing between these two snapshots: a trail toward p_l
                    new = v.collapsed[s1, l - 1] & ~v.collapsed[s0, l - 1] & np.isfinite(xy).all(axis=1)
                    if new.any():
                        a = self.pin(self.screen(v.T3[s0, l - 1][new], panel, az, *view), panel)
                        trail_xy.append(np.stack([a, xy[new]], axis=1))
                        trail_c += [class_color(int(c)) for c in v.labels[new]]
            else:   # the reference outputs: pinned to the border with a chevron toward them while off view
                xy = self.pin(self.screen(O, panel, pa, *view, pe), panel)
                flag = np.zeros(v.N, dtype=bool)
                yt = self.screen(v.Y3, panel, pa, *view, pe)
                for k, y in enumerate(yt):
                    if np.isfinite(y).all() and not panel.contains(y[None])[0]:
                        q = self.pin(y[None], panel, inset=8.0 * self.point_r)[0]
                        for a, b in _chevron(q, y - q, 2.5 * self.point_r, 6.0 * self.point_r):
                            segs.append([a, b])
                            seg_c.append(class_color(k))
                        y = q
                    base_xy.append(y)
                    base_c.append(k)
            ok = np.isfinite(xy).all(axis=1)
            pts_xy.append(xy[ok & ~flag])
            pts_c.append(v.labels[ok & ~flag])
            ring_xy.append(xy[ok & flag])
            ring_c.append(v.labels[ok & flag])
            if 1 <= l <= v.L:
                sg, cl, b = self.cone_segments(P[l - 1], E[l - 1], panel, az, class_color(l - 1), self.point_r,
                                               view)
                segs += sg
                seg_c += cl
                counts = class_counts(v.collapsed[sn, l - 1], v.labels, v.q)
                n_on = int(counts.sum())
                here = np.isfinite(b).all()
                share = n_on / max(1, int(self.class_sizes[int(np.argmax(counts))]))
                f.points += growing_marker(f"base{l}", b if here else None, l - 1, share, self.point_r)
                if here:   # the count beside the marker, at the corner that covers the fewest points and rays
                    level = int(round(float(np.clip(share, 0.0, 1.0)) * (SIZE_LEVELS - 1)))
                    bx, by, ha = badge_anchor(b, panel, self.point_r * (1.6 + 1.1 * level),
                                              w=max(0.3, text_width(str(n_on), 0.19)), h=0.26,
                                              avoid=np.concatenate([xy[ok], ray_samples(segs[seg0:])]))
                else:
                    bx, by, ha = panel.x, panel.y, "left"
                f.labels.append(Label(f"base{l}_n", bx, by, str(n_on), 0.19, th["fg"], ha,
                                      alpha=1.0 if (here and n_on) else 0.0))
        f.segments.append(Segments("axes_and_cones", np.array(segs).reshape(-1, 2, 2), seg_c, 0.014))
        f.segments.append(Segments("scale_bars", np.array(bars, dtype=float).reshape(-1, 2, 2),
                                   [th["muted"]] * len(bars), 0.014))
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
            f.lines.append(Polyline(key, curve(vals, self.plot_acc, 0.0, 1.0),
                                    text_ink(PALETTE_ACC, th, ACC_CONTRAST), width))
        for key, color in (("nc1_hidden", th["fg"]), ("delta_p", DELTA_P_COLOR)):
            vals = self.nc.get(key, np.full(v.S, np.nan))
            logv = np.log10(np.where(vals > 0, vals, np.nan))
            f.lines.append(Polyline(key, curve(logv, self.plot_nc, self.nc_lo, self.nc_hi), color, 0.03))

    def _short_collapse(self, l: int, counts: np.ndarray, j: int) -> list[str]:
        """Shorter spellings of layer ``l``'s collapse line: the largest class ``j`` and how many other classes
        collapse too (many classes: the full line left the readout's room)."""
        more = int(np.count_nonzero(counts)) - 1
        tail = f" (+{more})" if more else ""
        return [f"layer {l + 1}: {int(counts[j])}/{int(self.class_sizes[j])} of class {j + 1}{tail}",
                f"layer {l + 1}: class {j + 1}{tail}"]

    def _readouts(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        th, v = self.theme, self.v
        x0 = self.x0
        step = (1 - w) * v.steps[s0] + w * v.steps[s1]
        loss = float(10 ** ((1 - w) * self.logloss[s0] + w * self.logloss[s1]))   # nan: "not recorded"
        y0 = self.top_y
        wd = len(str(int(v.steps[-1])))        # the step padded to the last one's digits (it does not jump)
        step_text = f"step {int(round(step)):>{wd}d} / {int(v.steps[-1])}"
        f.labels.append(Label("step", x0, y0, step_text, 0.24, th["fg"]))
        none = not v.collapsed[sn].any()    # one line says it for every layer, not L lines
        for r, l in enumerate([] if self.row or self.column else self.shown_layers):
            counts = class_counts(v.collapsed[sn, l], v.labels, v.q)
            j = int(np.argmax(counts))
            what = (collapse_text(counts, self.class_sizes, most=1) if counts.any()
                    else "no points collapsed")      # ("none" alone did not say of what)
            txt, size = self.fit_line([f"layer {l + 1}: {what}", f"layer {l + 1}: {what}".replace(" / ", "/"),
                                       f"layer {l + 1}: none collapsed"] if not counts.any() else
                                      [f"layer {l + 1}: {what}", f"layer {l + 1}: {what}".replace(" / ", "/"),
                                       *self._short_collapse(l, counts, j)], 0.19, x0)
            if none:
                txt, size = self.fit_line(["no points collapsed in any layer", "no points collapsed"], 0.19, x0) \
                    if r == 0 else ("", size)
            f.labels.append(Label(f"collapsed{l}", x0, y0 - 0.42 - 0.36 * r, txt, size,
                                  text_ink(class_color(j), th) if counts.any() else th["muted"]))
        pl, pa, pn = self.plot_loss, self.plot_acc, self.plot_nc
        value = fmt_loss(loss) if np.isfinite(loss) else "not recorded"
        room = pl.w + 0.65
        loss_text, size = self.title_fit(["training loss " + value, "loss " + value], room)
        f.labels.append(Label("loss_title", pl.x - 0.55, pl.y + pl.h + 0.34, loss_text, size, th["fg"]))
        # two title lines over the accuracy and NC charts, each in its curve's colour (the charts' legend)
        acc, tr_acc = v.scalars.get("test_acc"), v.scalars.get("train_acc")
        tr_v = f"{tr_acc[sn]:.3f}" if tr_acc is not None else "n/a"
        te_v = f"{acc[sn]:.3f}" if acc is not None else "n/a"
        acc_lines = (("acc_title", [f"accuracy: train {tr_v}", f"train acc. {tr_v}", f"train {tr_v}"], 0.68),
                     ("acc_test", [f"test {te_v} (thin line)", f"test {te_v} (thin)", f"test {te_v}"], 0.34))
        for name, texts, dy in acc_lines:
            txt, size = self.title_fit(texts, room)
            f.labels.append(Label(name, pa.x - 0.55, pa.y + pa.h + dy, txt, size,
                                  text_ink(PALETTE_ACC, th, ACC_CONTRAST)))
        nc1, dp = self.nc.get("nc1_hidden"), self.nc.get("delta_p")
        nc1_text = "NC1 " + (tex_sci(float(nc1[sn])) if nc1 is not None else "n/a")
        dp_text = "$\\delta_P$ " + (tex_sci(float(dp[sn])) if dp is not None else "n/a")
        f.labels.append(Label("nc1_title", pn.x - 0.55, pn.y + pn.h + 0.34, nc1_text,
                              self.title_fit([nc1_text], room)[1], th["fg"]))
        f.labels.append(Label("dp_title", pn.x - 0.55, pn.y + pn.h + 0.68, dp_text,
                              self.title_fit([dp_text], room)[1], text_ink(DELTA_P_COLOR, th)))
