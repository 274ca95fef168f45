"""Renderer-agnostic frame model of the ``cones`` clip: a zero-loss construction layer by layer.

Input: a ``cones`` trace (:mod:`geomdl.experiments.cones`, one snapshot). After a title card, for each hidden layer
``l = 1..L``:

1. *cone*: layer ``l``'s cone appears: its base point, ringed by an expanding, fading ripple, then its edge rays
   (its distinct unit normals: a layer whose units share a normal draws it once, and the readout says so) growing
   out of it (colour: the class the layer collapses, i.e. the class with the largest collapsed fraction at that
   layer; grey when none). A base point on an earlier one (concentric: ``p_2`` on ``p_1``) covers it;
2. *truncation*: the data move from ``T_{l-1}(X)`` to ``T_l(X)`` (smooth, eased linear interpolation); the points
   collapsed at this layer are drawn as rings and converge onto the base point one after another (nearest first,
   setting off over the first half of the move), so that its count and the table rise through the move;
3. a short hold. Earlier cones stay, faint.

One main 3D panel of input space (``M = 3``; the trace's PCA for ``M > 3``) with a slowly orbiting orthographic
camera (same projection as :class:`scenes.clips.truncation_speed.TruncationFrames`), and a readout on the right:
layer ``l`` of ``L``, the phase, collapsed counts per class for every layer done so far, and the construction's
loss. The camera is framed to the data, every ``T_l(X)``, the base points and the first ``RAY_FRAME`` of each ray
(those within ``FRAME_CAP`` data radii; further ones are pinned to the border of the view, with a chevron) as the
orbiting camera sees them (their screen boxes over the whole orbit, so they fill the panel), and the panel's
title sits above the view, so nothing is pinned onto it. Each base point grows with the points sitting on it
(area proportional to the count) and carries a count badge; the points a layer collapses leave a trail while they
move onto it, and the base point ripples as they arrive. Every readable state holds >= 2.5 s. Layers wider than
``M`` draw all their unit normals (``edges_all``) as rays; the trace notes say the picture is approximate there,
and so does the readout.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    FIG_H,
    FIG_W,
    GREY,
    TEXT_MIN,
    THEMES,
    Frame,
    Label,
    Points,
    Rect,
    Segments,
    TitleCard,
    _chevron,
    _clip_to,
    _unique_points,
    badge_anchor,
    badge_box,
    badge_radius,
    bounding_sphere,
    camera_basis,
    circle_segments,
    class_color,
    class_name,
    comet_segments,
    figure_size,
    fit_first,
    fit_text_size,
    fit_title,
    is_wide,
    mix,
    ray_samples,
    smoothstep,
    tex_sci,
    text_ink,
    text_width,
    view_rect,
)

HOLD_MIN = 2.5      # seconds each readable state (a layer's result) holds, at least
FRAME_CAP = 2.5     # the camera takes in base points and rays up to this many data radii from the data
BASE_RING = 0.03    # ring width of a base point (figure units): thin, so that its class colour reads at any size
COLLAPSED_RING = 0.016   # ring width of a collapsed point: a cluster of them stays in its class colour
RAY_FRAME = 0.4     # the camera takes in this much of each ray (the rest may run to the view's border)
FRAME_FILL = 0.9    # the camera's view of the data and base points fills this much of the panel's width or height
WIDE_FADE = 0.55    # the rays of a layer wider than M (all its unit normals) are mixed this far towards the background
BADGE_INK = 0.5     # a count badge's colour: its class's, mixed this far towards the foreground
BURIED = 2          # during its layer's move, a badge whose place still covers more points or trail ends is not drawn
STAGGER = 0.5       # a layer's collapsed points set off one after another over this share of its move, nearest first
SHORT_NAMES = {"clustered": "(a) clustered balls", "sls": "(b) SLS slabs", "nonsep": "(c) wedge and chevron",
               "concentric": "(d) ball and shell"}
GEOMETRY_NAMES = {"clustered": "(a) clustered balls", "sls": "(b) sequentially linearly separable slabs",
                  "nonsep": "(c) wedge and chevron (not linearly separable)",
                  "concentric": "(d) concentric ball and shell"}


def _distinct(D: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """The rows of ``D: (K, 3)`` (unit directions) without repeats (within ``tol``), in their first order."""
    keep: list[int] = []
    for k in range(len(D)):
        if all(np.abs(D[k] - D[j]).max() > tol for j in keep):
            keep.append(k)
    return D[keep]


def covered(box: tuple[float, float, float, float], pts: np.ndarray, pad: float = 0.04) -> int:
    """How many of ``pts: (K, 2)`` lie in ``box = (x0, y0, x1, y1)`` grown by ``pad`` (non-finite ones: none)."""
    x0, y0, x1, y1 = box
    return int(np.count_nonzero((pts[:, 0] > x0 - pad) & (pts[:, 0] < x1 + pad)
                                & (pts[:, 1] > y0 - pad) & (pts[:, 1] < y1 + pad)))


class ConesFrames:
    """Frames of the ``cones`` clip. ``duration``: seconds of the layer-by-layer animation, split evenly over the
    layers (20% cone, 33% truncation, 47% hold), each layer given at least ``HOLD_MIN / 0.47`` seconds so that its
    result holds >= 2.5 s; after the title card and ``hold_start`` seconds in which the panel builds up."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light", hold_start: float = 1.2,
                 hold_end: float = 1.5, orbit_deg_per_s: float = 4.5, elevation_deg: float = 25.0,
                 azimuth_deg: float = 30.0, card_seconds: float = 2.0, aspect: float | None = None):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        self.tr = trace
        self.fps = int(fps)
        self.theme = THEMES[theme]
        self.fig_w, self.fig_h = figure_size(aspect)
        a, meta = trace.arrays, trace.meta
        self.labels = np.asarray(a["labels"]).astype(int)
        self.N, self.M = a["X"].shape
        self.L = a["truncated"].shape[1]
        self.Q = int(meta["Q"])
        self.widths = np.array((meta.get("widths") or [self.M] * self.L)[: self.L])
        self.loss = float(a["loss"][0])
        self.card = TitleCard(self.card_lines(trace), self.fps, self.theme, card_seconds,
                              size=(self.fig_w, self.fig_h)) if card_seconds > 0 else None
        n_card = self.card.n_frames if self.card else 0
        per = max(3, int(round(max(duration / max(self.L, 1), HOLD_MIN / 0.47) * fps)))
        self.n_cone = max(1, int(round(0.20 * per)))
        self.n_move = max(1, int(round(0.33 * per)))
        self.n_hold = max(1, per - self.n_cone - self.n_move)
        self.n_layer = self.n_cone + self.n_move + self.n_hold
        self.n_card = n_card
        self.n_build = max(1, int(round(0.8 * hold_start * fps)))
        self.n_hold0 = n_card + int(round(hold_start * fps))
        self.n_frames = self.n_hold0 + self.L * self.n_layer + int(round(hold_end * fps))
        self.elev, self.azim0 = np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)
        self.orbit = np.deg2rad(orbit_deg_per_s) * self.n_frames / self.fps     # a steady orbit

        # collapse state of the one snapshot
        k = a["k_trunc"][0].astype(np.int64)                                  # (L, N)
        self.collapsed = k == self.widths[:, None]                             # (L, N)
        self.counts = np.stack([np.bincount(self.labels[c], minlength=self.Q) for c in self.collapsed])  # (L, Q)
        self.class_sizes = np.bincount(self.labels, minlength=self.Q)
        frac = a["collapsed_frac"][0]
        self.layer_class = [int(np.argmax(frac[l])) if frac[l].max() > 0 else -1 for l in range(self.L)]

        # 3D coordinates
        if self.M == 3:
            self.mean, self.comps = np.zeros(3), np.eye(3)
            self.axis_names = ["x1", "x2", "x3"]
        else:
            self.mean, self.comps = a["pca_mean"], a["pca_components"]
            self.axis_names = ["PC1", "PC2", "PC3"]
        self.X3 = self._to3(a["X"])
        self.T3 = np.concatenate([self.X3[None], self._to3(a["truncated"][0])])  # (L+1, N, 3): T_0 = X
        self.P3 = self._to3(a["base_points"][0])                                # (L, 3)
        E = a["edges_all"][0] if "edges_all" in a else a["edges"][0]           # (L, M, K) edges as columns
        E3 = np.swapaxes(E, 1, 2) @ self.comps.T                               # (L, K, 3)
        n = np.linalg.norm(E3, axis=-1, keepdims=True)
        ok = np.isfinite(n) & (n > 1e-12)
        self.E3 = np.where(ok, E3 / np.where(ok, n, 1.0), np.nan)
        # the rays each layer draws: its distinct unit normals (concentric's 2-unit layer has one normal twice)
        self.rays3 = [_distinct(self.E3[ll][np.isfinite(self.E3[ll]).all(axis=1)]) for ll in range(self.L)]
        # when each collapsed point sets off in its layer's move (share of the move, nearest to the base point
        # first), so that they arrive one after another and the table counts up through the move
        self.start = np.zeros((self.L, self.N))
        for ll in range(self.L):
            idx = np.flatnonzero(self.collapsed[ll])
            if len(idx) > 1:
                d = np.linalg.norm(self.T3[ll][idx] - self.P3[ll], axis=1)
                rank = np.empty(len(idx))
                rank[np.argsort(d, kind="stable")] = np.arange(len(idx))
                self.start[ll, idx] = STAGGER * rank / (len(idx) - 1)
        # camera framed to the data, every T_l(X), the base points and the rays' starts (those within FRAME_CAP
        # data radii of the data: further ones are pinned to the view's border, with a chevron)
        c0, rx = bounding_sphere(self.T3)
        self.ray_len = 0.5 * rx
        cand = [self.P3.reshape(-1, 3)] + [(self.P3[ll] + RAY_FRAME * self.ray_len * self.E3[ll]).reshape(-1, 3)
                                            for ll in range(self.L)]
        cand = np.concatenate(cand)
        cand = cand[np.isfinite(cand).all(axis=1)]
        near = cand[np.linalg.norm(cand - c0, axis=1) <= FRAME_CAP * rx]
        self.centre, r = bounding_sphere(self.T3, near)
        self.radius = 1.04 * r
        self._layout()
        self._frame_camera(np.concatenate([self.T3.reshape(-1, 3), near]))

    def _layout(self) -> None:
        """The panel, the readout lines' places (``self.at[name] = (x, y)``, text ending left of
        ``self.room[name]``) and the table of collapsed points, for the canvas. 16:9 and wide canvases: the
        panel on the left, the readout on the right (on a wide canvas other than 16:9 the panel gives up width
        until the table's columns fit). Square-ish canvases: the panel at the top left with the table beside it
        and the readout lines below, or (many classes: whichever leaves the larger panel) the readout lines
        beside the panel and the table below it across the canvas; portrait: the panel at the top, everything
        else below it."""
        W, H = self.fig_w, self.fig_h
        self.is_16x9 = (W, H) == (FIG_W, FIG_H)
        wide = is_wide(W, H)
        self.title_y = 8.62 if wide else H - 0.38
        L = self.L
        digits = len(str(int(self.class_sizes.max())))
        cell = text_width("0" * digits, 0.22) + 0.2          # a compact column: the count and room to the next
        room = {}
        if wide:
            side, rx = 8.1, 9.0
            if not self.is_16x9:   # the panel gives up width until the table's columns fit beside it
                need = text_width(f"layer {L}", 0.22) + 0.25 + self.Q * cell + 0.15
                side = float(np.clip(W - 0.15 - need - 0.9, 4.5, 8.1))
                rx = 0.3 + side + 0.6
            self.panel = Rect(0.3, 0.3 + (8.1 - side) / 2, side, side)
            self.at = {"layer": (rx, 7.75), "phase": (rx, 7.15), "width": (rx, 6.6), "table_title": (rx, 5.55),
                       "loss": (rx, 1.2), "note": (rx, 0.7)}
            heads_y, rows_y0, table_x, table_right = 5.1, 4.6, rx, W - 0.15
            self.row_pitch = min(0.48, (4.6 - 1.7) / max(L - 1, 1))            # the last row above the loss
            col0 = table_x + (1.6 if self.is_16x9 else min(1.6, text_width(f"layer {L}", 0.22) + 0.25))
        else:
            pitch = min(0.42, 2.6 / max(L, 1))
            table_h = 0.95 + pitch * L                                           # title, heads, rows
            lines_h = 2.35                                                       # layer, phase, width / loss / note
            table_w = text_width(f"layer {L}", 0.2) + 0.2 + self.Q * (text_width("0" * digits, TEXT_MIN) + 0.12)
            m = 0.3
            portrait = H / W >= 1.5
            lines_w = 3.4                                                        # readout lines beside the panel
            beside = min(H - 0.8 - lines_h - 0.35, W - 2 * m - max(2.6, table_w) - 0.3)
            under = min(H - 0.8 - table_h - 0.4, W - 2 * m - lines_w - 0.3)
            if portrait:    # everything under the panel: the readout lines, then the table
                side = min(W - 2 * m, H - 0.8 - lines_h - table_h - 0.6)
                self.panel = Rect((W - side) / 2, H - 0.8 - side, side, side)
                top = self.panel.y - 0.25
                x = m + 0.05
                tbl = top - lines_h - 0.1
                table_x, table_right = x, W - 0.15
            elif under > beside:   # the lines beside the panel, the table below it (many classes)
                side = under
                pitch = min(0.42, max(pitch, (H - 0.8 - side - 0.4 - 0.95 - 0.35) / max(L, 1)))  # spare height
                self.panel = Rect(m, H - 0.8 - side, side, side)
                x = self.panel.x + side + 0.3
                top = self.panel.y + side + 0.05
                tbl = self.panel.y - 0.1
                table_x, table_right = m + 0.05, W - 0.15
                room = {k: W - 0.12 for k in ("layer", "phase", "width", "loss", "note", "table_title")}
            else:           # the table beside the panel, the lines under it
                side = beside
                self.panel = Rect(m, H - 0.8 - side, side, side)
                top = self.panel.y - 0.25
                x = m + 0.05
                tbl = self.panel.y + side - 0.05
                table_x, table_right = self.panel.x + side + 0.3, W - 0.15
            self.at = {"layer": (x, top - 0.25), "phase": (x, top - 0.8), "width": (x, top - 1.3),
                       "loss": (x, top - 1.75), "note": (x, top - 2.15), "table_title": (table_x, tbl - 0.2)}
            heads_y, rows_y0 = tbl - 0.65, tbl - 0.65 - pitch
            self.row_pitch = pitch
            drop = (rows_y0 - pitch * (L - 1) - 0.45) / 2 if portrait else 0.0   # centred under the title
            if drop > 0.05:
                self.panel = Rect(self.panel.x, self.panel.y - drop, self.panel.w, self.panel.h)
                self.at = {k: (x_, y_ - drop) for k, (x_, y_) in self.at.items()}
                heads_y, rows_y0 = heads_y - drop, rows_y0 - drop
            row_w = text_width(f"layer {L}", 0.2) + 0.2
            col0 = table_x + row_w
        self.room = room or {k: (table_x - 0.2 if not wide and k != "table_title" and xy[1] > self.panel.y
                                 else W - 0.12) for k, xy in self.at.items()}
        self.view = view_rect(self.panel, 0.45)
        self.point_r = 0.045 * (self.panel.w / 8.1) ** 0.5
        self.heads_y, self.rows_y0 = heads_y, rows_y0
        # the table of collapsed points: one column a class, as many as fit the picture (Q up to 8); when
        # "120/120" no longer fits a column, the heads are the class numbers and the cells the counts alone
        self.row_size = 0.22 if wide else 0.2
        self.col_pitch = min(1.45, (table_right - col0) / self.Q)
        self.col_x = [col0 + self.col_pitch * j for j in range(self.Q)]
        self.compact = text_width("000/000", 0.22) > 0.9 * self.col_pitch
        self.table_x = table_x

    def fit(self, name: str, text: str, size: float) -> float:
        """Text height of readout line ``name``: ``size``, made to fit its room on canvases other than 16:9."""
        return size if self.is_16x9 else fit_text_size(text, size, self.room[name] - self.at[name][0])

    def fit_line(self, name: str, texts: list[str], size: float) -> tuple[str, float]:
        """The first of ``texts`` (a line, then shorter spellings) that fits line ``name``'s room at least at
        :data:`TEXT_MIN`, and its height; 16:9: the first, as it is."""
        if self.is_16x9:
            return texts[0], size
        room = self.room[name] - self.at[name][0]
        return fit_first(texts, size, room)

    @staticmethod
    def card_lines(trace) -> list[str]:
        meta, cfg = trace.meta, trace.meta.get("config", {})
        g = meta.get("geometry", cfg.get("geometry", "?"))
        N = len(trace.arrays["X"])
        widths = meta.get("widths", [])
        lines = [
            "Zero-loss construction: cones layer by layer",
            f"{GEOMETRY_NAMES.get(g, g)}: $Q = {meta['Q']}$ classes, {N} points in $\\mathbb{{R}}^{{{meta['M']}}}$",
            f"{meta.get('construction', '?')}: hidden widths {', '.join(str(w) for w in widths)}",
            f"loss {tex_sci(float(meta.get('construction_loss', trace.arrays['loss'][0])))} (MSE), seed "
            f"{meta.get('seed', '?')}, geomdl {meta.get('versions', {}).get('geomdl', '')}",
        ]
        if not meta.get("square", True):
            lines.append("layers wider than $M$: approximate picture (see the trace notes)")
        return lines

    # -- geometry ---------------------------------------------------------------------------------
    def _to3(self, P: np.ndarray) -> np.ndarray:
        return (np.asarray(P, dtype=float) - self.mean) @ self.comps.T

    def _frame_camera(self, C3: np.ndarray, n_az: int = 64) -> None:
        """Scale and pan of the camera, framed to ``C3: (K, 3)`` as the camera sees it over the whole orbit, not
        to a bounding sphere: ``self.scale`` (figure units per data unit), the largest that fits every view's
        bounding box of ``C3`` into :data:`FRAME_FILL` of the view, and per azimuth the box's centre
        (``self._pan_az``, ``self._pan``: ``(n_az, 2)``, interpolated between samples), so that the data and the
        base points fill the panel whichever way the geometry spreads."""
        az = self.azim0 + self.orbit * np.linspace(0.0, 1.0, n_az)
        lo, hi = [], []
        for a in az:
            uv = C3 @ camera_basis(a, self.elev).T
            lo.append(uv.min(axis=0))
            hi.append(uv.max(axis=0))
        lo, hi = np.array(lo), np.array(hi)
        ext = np.maximum((hi - lo).max(axis=0), 1e-12)
        self.scale = FRAME_FILL * min(self.view.w / ext[0], self.view.h / ext[1])
        self._pan_az, self._pan = az, 0.5 * (lo + hi)

    def _screen(self, P3: np.ndarray, az: float) -> np.ndarray:
        B = camera_basis(az, self.elev)
        v = self.view
        pan = np.array([np.interp(az, self._pan_az, self._pan[:, k]) for k in range(2)])
        return (P3 @ B.T - pan) * self.scale + np.array([v.cx, v.cy])

    def _pin(self, xy: np.ndarray, inset: float = 0.06) -> np.ndarray:
        p = self.view
        c = np.array([p.cx, p.cy])
        d = xy - c
        half = np.array([p.w / 2 - inset, p.h / 2 - inset])
        kk = np.max(np.abs(d) / half, axis=1, keepdims=True)
        return np.where(kk > 1, c + d / np.maximum(kk, 1e-300), xy)

    def progress(self, ll: int, t: float) -> np.ndarray:
        """``(N,)`` eased progress (0..1) of each point in layer ``ll``'s move at its progress ``t`` (0..1): the
        points it collapses set off one after another (``self.start``, over :data:`STAGGER` of the move, nearest
        to the base point first) and each travels for the rest of the move's length; the others move together.
        All 1 at ``t = 1``."""
        own = np.clip((t - self.start[ll]) / (1.0 - STAGGER), 0.0, 1.0)
        return np.where(self.collapsed[ll], smoothstep(own), smoothstep(t))

    def arrived(self, ll: int, t: float) -> np.ndarray:
        """``(N,)``: the points layer ``ll`` collapses that are on its base point at move progress ``t`` (0..1):
        those whose distance to it, ``(1 - e_k) |T_ll(x) - p_ll|`` in figure units (``e_k``: their
        :meth:`progress`), is within its marker (the radius it has with all of them on it). All of them at
        ``t = 1``: the counts then are the layer's."""
        s = self.scale
        cc = self.layer_class[ll]
        r = badge_radius(2.2 * self.point_r, int(self.collapsed[ll].sum()),
                         int(self.class_sizes[cc]) if cc >= 0 else self.N)
        d = np.linalg.norm(self.T3[ll] - self.P3[ll], axis=1) * s
        if t >= 1.0:
            return self.collapsed[ll].copy()
        return self.collapsed[ll] & ((1.0 - self.progress(ll, t)) * d <= r)

    def azimuth(self, i: int) -> float:
        return self.azim0 + self.orbit * i / max(1, self.n_frames - 1)

    def state(self, i: int) -> tuple[int, str, float]:
        """``(layer index l (0-based, -1 before the first), phase in start|cone|move|hold|end, progress 0..1)``."""
        j = i - self.n_hold0
        if j < 0:
            return -1, "start", 0.0
        l, r = divmod(j, self.n_layer)
        if l >= self.L:
            return self.L - 1, "end", 1.0
        if r < self.n_cone:
            return l, "cone", (r + 1) / self.n_cone
        r -= self.n_cone
        if r < self.n_move:
            return l, "move", (r + 1) / self.n_move
        return l, "hold", 1.0

    def layer_color(self, l: int) -> str:
        c = self.layer_class[l]
        return class_color(c) if c >= 0 else self.theme["muted"]

    def build(self, i: int) -> float:
        """Opacity of the panel as it builds up after the title card (0..1)."""
        return float(smoothstep((i - self.n_card) / self.n_build))

    # -- frames -------------------------------------------------------------------------------------
    def static(self) -> Frame:
        th, f = self.theme, Frame()
        meta = self.tr.meta
        g = meta.get("geometry", "?")
        title = f"Cones of the zero-loss construction  ·  {SHORT_NAMES.get(g, g)}"
        size = 0.30
        if not self.is_16x9:
            title, size = fit_title(title, 0.30, self.fig_w - 0.7)
        f.labels.append(Label("title", 0.35, self.title_y, title, size, th["fg"], "left", "center"))
        loss, size = self.fit_line("loss", [f"construction loss {tex_sci(self.loss)}", f"loss {tex_sci(self.loss)}"],
                                   0.26)
        f.labels.append(Label("loss", *self.at["loss"], loss, size, th["fg"]))
        notes = (["exact truncation picture"] if meta.get("square", True)
                 else ["layers wider than $M$: approximate picture", "approximate picture"])
        note, size = self.fit_line("note", notes, 0.2)
        f.labels.append(Label("note", *self.at["note"], note, size, th["muted"]))
        of = f" (of {int(self.class_sizes.max())})" if self.compact else ""
        tt, size = self.fit_line("table_title", [f"collapsed points per class{of}", f"collapsed{of}"], 0.24)
        f.labels.append(Label("table_title", *self.at["table_title"], tt, size, th["fg"]))
        if self.compact:
            f.labels.append(Label("class_word", self.table_x, self.heads_y, "class", 0.22, th["fg"]))
        for j in range(self.Q):
            f.labels.append(Label(f"class_head{j}", self.col_x[j], self.heads_y, str(j + 1) if self.compact else
                                  class_name(j), 0.22, text_ink(class_color(j), th), "left"))
        return f

    def frame(self, i: int) -> Frame:
        th, f = self.theme, Frame()
        l, phase, t = self.state(i)
        az = self.azimuth(i)
        e = float(smoothstep(t))
        b = self.build(i)
        # the panel: border and title, faded in after the card
        proj = "input space $\\mathbb{R}^3$" if self.M == 3 else f"PCA of $\\mathbb{{R}}^{{{self.M}}}$"
        f.segments.append(Segments("frames", self.panel.border(), [mix(th["panel"], th["bg"], 1 - b)] * 4, 0.012))
        f.labels.append(Label("panel", self.panel.x + 0.15, self.panel.y + self.panel.h - 0.24, proj, 0.22,
                              mix(th["muted"], th["bg"], 1 - b), alpha=1.0 if b > 0 else 0.0))
        # data positions
        if l < 0:
            P = self.T3[0]
        elif phase == "cone":
            P = self.T3[l]
        elif phase == "move":
            ek = self.progress(l, t)[:, None]
            P = (1 - ek) * self.T3[l] + ek * self.T3[l + 1]
        else:
            P = self.T3[l + 1]
        done = l if phase in ("start", "cone") else l + 1        # layers whose truncation has (started to) run
        ring = np.zeros(self.N, bool)
        if done > 0:
            ring = self.collapsed[:done].any(axis=0)
        xy = self._pin(self._screen(P, az))
        ok = np.isfinite(xy).all(axis=1) & (b >= 0.35)

        # axes from the origin of the view's coordinates (grow with the build-up)
        segs, seg_c = [], []
        o3 = self._to3(np.zeros((1, self.M)))[0] if self.M == 3 else self.centre
        a0 = self._screen(o3[None], az)[0]
        for end in self._screen(o3 + 0.6 * self.radius * np.eye(3), az):
            if self.view.contains(a0[None])[0] and b > 0:
                segs.append([a0, _clip_to(self.view, a0, a0 + b * (end - a0))])
                seg_c.append(th["panel"])
        f.segments.append(Segments("axes", np.array(segs).reshape(-1, 2, 2), seg_c, 0.016))

        # cones: past (faint) and current (growing rays); base points sized by the points on them, with badges
        past, past_c, now, now_c, wide, wide_c = [], [], [], [], [], []
        ripples, ripple_c, trails, trail_c = [], [], [], []
        taken = []      # the boxes of the badges drawn so far (layer order): a badge keeps clear of them
        markers = []    # the base points drawn so far: (centre, radius)
        for ll in range(self.L):
            shown = ll <= l
            grow = e if (ll == l and phase == "cone") else 1.0
            p = self._screen(self.P3[ll][None], az)[0]
            inside = bool(self.view.contains(p[None])[0])
            c = self.layer_color(ll)
            cc = self.layer_class[ll]
            n_on = int(self.collapsed[ll].sum()) if ll < done else 0
            if ll == l and phase == "move":      # those already drawn on the base point (the table's row too)
                n_on = int(self.arrived(ll, t).sum())
            r_base = badge_radius(2.2 * self.point_r, n_on, int(self.class_sizes[cc]) if cc >= 0 else self.N)
            q = p if inside else self._pin(p[None], inset=r_base + 0.2)[0]
            if shown:       # on an earlier base point (its centre under this marker): cover it, not a double ring
                for q0, r0 in markers:
                    d0 = float(np.linalg.norm(q - q0))
                    if d0 < r0:
                        r_base = max(r_base, d0 + r0 + 0.01)
            rays = []
            if shown and inside:
                dirs = self.rays3[ll]
                many = len(dirs) > self.M     # a wide layer: all its unit normals, drawn short, thin and light
                length = self.ray_len * (0.6 if many else 1.0)
                for end in self._screen(self.P3[ll] + grow * length * dirs, az):
                    seg = [p, _clip_to(self.view, p, end)]
                    rays.append(seg)
                    if many:
                        wide.append(seg)
                        wide_c.append(mix(c, th["bg"], WIDE_FADE if ll == l else 1 - 0.35 * (1 - WIDE_FADE)))
                    else:
                        (now if ll == l else past).append(seg)
                        (now_c if ll == l else past_c).append(c)
            elif shown:   # pinned: a chevron points to where the base point really is
                for u0, u1 in _chevron(q, p - q, 0.1, r_base + 0.06):
                    now.append([u0, u1])
                    now_c.append(c)
            if shown:
                markers.append((q, r_base))
            f.points.append(Points(f"base{ll}", q[None] if shown else np.zeros((0, 2)),
                                   np.array([cc if cc >= 0 else GREY] if shown else [], dtype=int),
                                   r_base * (grow if ll == l and phase == "cone" else 1.0), ring=True,
                                   ring_width=BASE_RING))
            sg = np.zeros((0, 2, 2))
            if ll == l and phase == "move":
                mv = np.flatnonzero(self.collapsed[ll] & ok)
                start = self._pin(self._screen(self.T3[ll][mv], az))
                far = np.linalg.norm(xy[mv] - start, axis=1) > 1e-3
                sg, sc = comet_segments(start[far], xy[mv[far]],
                                        [text_ink(class_color(int(k)), th) for k in self.labels[mv[far]]], th["bg"])
                trails.append(sg)
                trail_c += sc
                if e > 0.5:   # a ripple as they arrive: an expanding, fading ring
                    ph = (e - 0.5) / 0.5
                    ripples.append(circle_segments(q, r_base * (1.15 + 1.2 * ph)))
                    ripple_c += [mix(c, th["bg"], ph)] * len(ripples[-1])
            # off the data, the axes, this cone's rays and the trails onto it, so that it reads; in a darker shade
            # than its class's points (it may still sit among them while they arrive)
            bw = max(0.55, text_width(f"{n_on}", 0.22))
            ends = ray_samples(sg, 2)
            bx, by, ha = badge_anchor(q, self.view, r_base, w=bw, taken=taken,
                                      avoid=np.concatenate([xy[ok], ray_samples(rays + segs), ends]))
            # while its points still converge from all around it (concentric: the ball onto its centre), the badge
            # cannot keep clear of them: not drawn until the hold (the table counts them meanwhile)
            buried = len(sg) > 0 and covered(badge_box(bx, by, ha, w=bw), np.concatenate([xy[ok], ends])) > BURIED
            drawn = shown and n_on > 0 and not buried
            f.labels.append(Label(f"badge{ll}", bx, by, f"{n_on}", 0.22, mix(c, th["fg"], BADGE_INK), ha,
                                  alpha=1.0 if drawn else 0.0))
            if drawn:
                taken.append(badge_box(bx, by, ha, w=bw))
            if ll == l and phase == "cone" and shown:   # the new base point rings out as its cone appears
                ripples.append(circle_segments(q, r_base * (1.2 + 1.6 * e)))
                ripple_c += [mix(c, th["bg"], e)] * len(ripples[-1])
        f.segments.append(Segments("cones_past", np.array(past).reshape(-1, 2, 2), past_c, 0.014, alpha=0.35))
        f.segments.append(Segments("cone_now", np.array(now).reshape(-1, 2, 2), now_c, 0.03))
        f.segments.append(Segments("cone_wide", np.array(wide).reshape(-1, 2, 2), wide_c, 0.012))
        f.segments.append(Segments("trails", np.concatenate(trails) if trails else np.zeros((0, 2, 2)), trail_c,
                                   0.022))
        f.segments.append(Segments("ripples", np.concatenate(ripples) if ripples else np.zeros((0, 2, 2)),
                                   ripple_c, 0.03))

        f.points.append(Points("points", *_unique_points(xy[ok & ~ring], self.labels[ok & ~ring]), self.point_r))
        f.points.append(Points("collapsed", *_unique_points(xy[ok & ring], self.labels[ok & ring]),
                               self.point_r * 1.15, ring=True, ring_width=COLLAPSED_RING))

        # readout
        short = None   # a shorter spelling of the phase, for narrow canvases
        if l < 0:
            head, sub = f"layer 0 of {self.L}", "the data $X$"
        elif phase == "end":
            head, sub = f"layer {self.L} of {self.L}", "done: every class sits on a base point" \
                if self.collapsed.any(axis=0).all() else "done"
            short = "done"
        else:
            head = f"layer {l + 1} of {self.L}"
            cc = self.layer_class[l]
            what = (f"{int(self.counts[l, cc])} / {int(self.class_sizes[cc])} of {class_name(cc)}" if cc >= 0
                    else "nothing")
            sub = {"cone": f"the cone of layer {l + 1} appears",
                   "move": f"$T_{{{l}}} \\to T_{{{l + 1}}}$: collapses {what}",
                   "hold": f"$T_{{{l + 1}}}(X)$: {what} on $p_{{{l + 1}}}$"}[phase]
            short = {"cone": f"cone of layer {l + 1}", "move": f"$T_{{{l}}} \\to T_{{{l + 1}}}$: {what}",
                     "hold": f"$T_{{{l + 1}}}(X)$: {what}"}[phase]
        f.labels.append(Label("layer", *self.at["layer"], head, self.fit("layer", head, 0.36), th["fg"]))
        sub, size = self.fit_line("phase", [sub] + ([short] if short else []), 0.24)
        f.labels.append(Label("phase", *self.at["phase"], sub, size, th["fg"]))
        w = int(self.widths[max(l, 0)])
        k = len(self.rays3[max(l, 0)])
        wtxts = ([f"width {w}: its {w} unit normals, drawn light"] if w > self.M else
                 [f"width {w}: its {w} units share {'one normal' if k == 1 else f'{k} normals'}"] if k < w else []) \
            + [f"width {w}"]
        wtxt, size = self.fit_line("width", wtxts if l >= 0 else [f"input dimension $M = {self.M}$"], 0.22)
        f.labels.append(Label("width", *self.at["width"], wtxt, size, th["muted"]))
        y0 = self.rows_y0
        for ll in range(self.L):
            y = y0 - self.row_pitch * ll
            shown = ll < done
            f.labels.append(Label(f"row{ll}", self.table_x, y, f"layer {ll + 1}", self.row_size, th["fg"],
                                  alpha=1.0 if shown else 0.4))
            cnt = self.counts[ll]
            if ll == l and phase == "move":      # counting up with the points arriving on the base point
                cnt = np.bincount(self.labels[self.arrived(ll, t)], minlength=self.Q)
            for j in range(self.Q):
                n = int(cnt[j])
                txt = ("–" if not shown else str(n) if self.compact else f"{n}/{int(self.class_sizes[j])}")
                f.labels.append(Label(f"cnt{ll}_{j}", self.col_x[j], y, txt,
                                      fit_text_size(txt, 0.22, 0.9 * self.col_pitch), text_ink(class_color(j), th),
                                      alpha=1.0 if shown else 0.4))
        return self.card.apply(f, i) if self.card else f
