"""Frame model of the ``layers`` clip: the final snapshot's data moving through the layers.

One large panel where the data move through the truncations ``X = T_0 -> T_1 -> ... -> T_L`` on ONE fixed
scale (framed once to every stage and every base point: the points move as each truncation applies, nothing is
rescaled between stages), then into the output space (its own scale, said on screen). The cone of the layer being
applied is drawn as the data move (base point and edge rays); the base point's marker grows with the number of
points collapsed onto it, with the count beside it; points that collapse in the move leave a trail toward the base
point. Each stage holds ``hold`` seconds (2.5 by default, readable in a talk); thumbnails of every stage on the
right, on the same scale; readouts per class ("116 / 200 of class 1"). Layer view (``--view layer``): each
layer's activations in its own PCA, so each stage has its own scale there (different spaces).
The trace is read by :class:`scenes.clips.layer_trace.LayerTraceView`.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    FIG_H,
    FIG_W,
    Frame,
    Label,
    Points,
    Rect,
    Segments,
    TitleCard,
    _unique_points,
    camera_basis,
    class_color,
    clip_timeline,
    figure_size,
    fit_first,
    fit_title,
    fmt_loss,
    is_wide,
    smoothstep,
    text_ink,
)
from scenes.clips.layer_trace import (
    LayerClip,
    class_counts,
    collapse_text,
    dataset_name,
    framed_view,
    growing_marker,
    layer_view_lines,
    run_lines,
    stage_math,
    widest_view,
)

HOLD_SECONDS = 2.5      # every readable state (a stage) holds this long
ZOOM = 0.2              # share of a move spent reframing the camera, before and after the morph


class LayersFrames(LayerClip):
    """The final snapshot's data moving through the layers, then into the output space (scene ``layers``).

    ``duration``: seconds of movement (shared by the ``L + 1`` moves); ``hold``: seconds each stage is held."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light",
                 hold: float = HOLD_SECONDS, card_seconds: float = 2.0, view: str = "input",
                 aspect: float | None = None):
        super().__init__(trace, fps, theme, orbit_deg=30.0, view=view)
        v = self.v
        self.fig_w, self.fig_h = figure_size(aspect)
        lines = self.card_lines(trace) if view == "input" else layer_view_lines(self.card_lines(trace))
        self.card = TitleCard(lines, self.fps, self.theme, card_seconds,
                              size=(self.fig_w, self.fig_h)) if card_seconds > 0 else None
        self.n_lead = self.card.n_frames if self.card else 0
        self.n_stages = v.L + 2                          # X, T_1..T_L, outputs
        self.n_moves = self.n_stages - 1
        self.hold = max(1, int(round(hold * fps)))
        self.per_move = max(2, int(round(duration * fps / self.n_moves)))
        n_seq = self.hold * (self.n_moves + 1) + self.per_move * self.n_moves   # the stage sequence
        self.n_hold0, self.n_anim, _, self.n_frames = clip_timeline(self.fps, n_seq / self.fps, 0.0, 0.0,
                                                                    lead_frames=self.n_lead)
        self._layout()
        s = v.S - 1
        self.s = s
        self.stage3 = [v.X3, *[v.T3[s, l] for l in range(v.L)]]   # input-space stages
        self.out3 = v.O3[s]
        # the camera: each held stage framed to its points and its layer's base point; each move k -> k+1 on ONE
        # scale framed to both stages and the base point (the camera reframes before and after, never during the
        # morph). Layer view: each stage in its own space and scale.
        self.fixed = v.view == "input"
        if self.fixed:
            self.stage_view = [framed_view(self.stage3[k], v.P3[s, k - 1] if k >= 1 else None)
                               for k in range(v.L + 1)]
            self.move_view = [framed_view(np.concatenate([self.stage3[k], self.stage3[k + 1]]), v.P3[s, k])
                              for k in range(v.L)]
        else:
            self.stage_view = list(v.final_view)
            self.move_view = []
        self.class_sizes = np.bincount(v.labels, minlength=v.q)[: v.q]
        # the outputs' thumbnail: still, on their own scale, seen across their two widest principal directions (near
        # the simplex of the y_j they are nearly planar, and the orbit camera sees that plane edge-on)
        like = camera_basis(self.azimuth(self.n_frames - 1), self.elev)   # turned as the big view ends
        self.out_thumb_xy = self.pin(widest_view(self.out3, self.thumbs[-1], like=like), self.thumbs[-1],
                                     inset=0.03)
        self.layer_counts = [class_counts(v.collapsed[s, l], v.labels, v.q) for l in range(v.L)]

    def _layout(self) -> None:
        """The big panel, the thumbnails and the readout's places for the canvas. 16:9 and wide: the big panel
        on the left, thumbnails and readout on the right. Square-ish: the big panel at the top left, the
        thumbnails beside it, the readout under it; portrait: the big panel at the top, the thumbnails and the
        readout under it."""
        W, H = self.fig_w, self.fig_h
        self.is_16x9 = (W, H) == (FIG_W, FIG_H)
        n = self.n_stages
        gap_x, gap_y = 0.3, 0.5                          # room for each thumbnail's name above it
        lines_h = 1.9                                    # three readout lines and the scale note
        if is_wide(W, H):
            self.title_y = 8.62
            self.big = Rect(0.45, 0.35, 7.45, 7.45)
            cols = 2 if n <= 4 else 3 if n <= 6 else 4
            tx, ttop, tw, th_ = 8.6, 7.5, 7.0 + (W - FIG_W), 5.0
            self.info_x, self.scale_xy = 8.6, (8.6, 0.5)
        else:
            self.title_y = H - 0.38
            portrait = H / W >= 1.5
            top = H - 0.75 - 0.45                         # under the title and the stage's name
            if portrait:
                side = min(W - 0.9, top - lines_h - 3.0 - 0.5)
                self.big = Rect((W - side) / 2, top - side, side, side)
                tx, ttop, tw, th_ = 0.45, self.big.y - 0.7, W - 0.9, 2.6
            else:
                side = min(top - lines_h - 0.55, W - 0.9 - 2.7)
                self.big = Rect(0.45, top - side, side, side)
                tx, ttop, tw, th_ = self.big.x + side + 0.35, top - 0.2, W - 0.45 - (self.big.x + side + 0.35), \
                    side - 0.2
            cols = min(range(1, n + 1), key=lambda c: -min((tw - gap_x * (c - 1)) / c,
                                                           (th_ - gap_y * (int(np.ceil(n / c)) - 1))
                                                           / int(np.ceil(n / c))))
            self.info_x = 0.45
            self.scale_xy = None
        rows = int(np.ceil(n / cols))
        side = min((tw - gap_x * (cols - 1)) / cols, (th_ - gap_y * (rows - 1)) / rows)
        self.thumbs = [Rect(tx + (k % cols) * (side + gap_x), ttop - (k // cols + 1) * side - (k // cols) * gap_y,
                            side, side) for k in range(n)]
        if self.is_16x9 or is_wide(W, H):
            self.info_y = min(p.y for p in self.thumbs) - 0.45
        else:
            self.info_y = min([self.big.y] + [p.y for p in self.thumbs if p.y < self.big.y]) - 0.55
            self.scale_xy = (0.45, self.info_y - 1.35)
            drop = max(0.0, (self.scale_xy[1] - 0.45) / 2)       # a tall canvas: the content centred under the title
            if drop > 0.05:
                self.big = Rect(self.big.x, self.big.y - drop, self.big.w, self.big.h)
                self.thumbs = [Rect(p.x, p.y - drop, p.w, p.h) for p in self.thumbs]
                self.info_y -= drop
                self.scale_xy = (0.45, self.scale_xy[1] - drop)
        self.point_r = 0.03 * (self.big.w / 7.45) ** 0.5
        self.thumb_r = 0.02

    def fit_line(self, texts: list[str], size: float, room: float) -> tuple[str, float]:
        """The first of ``texts`` (a line, then shorter spellings) that fits ``room`` at least at
        :data:`TEXT_MIN`, and its height; 16:9: the first, as it is."""
        if self.is_16x9:
            return texts[0], size
        return fit_first(texts, size, room)

    @staticmethod
    def card_lines(trace) -> list[str]:
        """Title and parameters of the run, for the title card."""
        title = r"Data through the layers: $X = T_0(X) \to T_1(X) \to \cdots \to T_L(X)$"
        if trace.meta.get("kind") == "network" and trace.meta.get("title"):
            title = f"{trace.meta['title']}: through the layers"
        return [ln for ln in [title, *run_lines(trace)] if ln]

    def stage_of(self, i: int) -> tuple[int, float]:
        """``(k, t)``: moving from stage ``k`` to ``k + 1``, ``t`` in (0, 1] the share of the move done (0 during
        holds and the title card, which shows stage 0)."""
        period = self.hold + self.per_move
        k, r = divmod(max(i - self.n_hold0, 0), period)
        if k >= self.n_moves:
            return self.n_moves, 0.0
        if r < self.hold:
            return k, 0.0
        return k, float(min((r - self.hold + 1) / self.per_move, 1.0))

    def stage_name(self, k: int) -> str:
        v = self.v
        if k == 0:
            return "$X = T_0(X)$: the training points"
        if k <= v.L:
            if v.view == "layer":
                return f"$x^{{({k})}}$: layer {k}'s activations (its own PCA, exact)"
            approx = k in (self.tr.meta.get("picture") or {}).get("approximate_layers", [])
            return f"{stage_math(k)}: after layer {k}'s truncation" + ("  (approximate)" if approx else "")
        return f"outputs $x^{{(L+1)}}$ in $\\mathbb{{R}}^{{{v.K}}}$ (their own scale)"

    def move_name(self, k: int) -> str:
        """The move from stage ``k`` to ``k + 1``."""
        if k < self.v.L:
            return f"{stage_math(k, self.v.view)} $\\to$ {stage_math(k + 1, self.v.view)}: layer {k + 1} truncates"
        return f"{stage_math(k, self.v.view)} $\\to$ outputs: the affine output layer"

    def static(self) -> Frame:
        th, v, f = self.theme, self.v, Frame()
        meta = self.tr.meta
        what = dataset_name(meta)
        if meta.get("kind") == "network":   # a recorded user network: its loss may not be known
            last = float(v.loss[-1])
            title = (f"Through the layers  ·  {what}  ·  step {int(v.steps[-1])}"
                     + (f", loss {fmt_loss(last)}" if np.isfinite(last) else "")
                     + ("  ·  layer-space view" if v.view == "layer" else ""))
        else:
            title = (f"Through the layers  ·  {what}  ·  {meta.get('loss', '?').upper()}  ·  trained to step "
                     f"{int(v.steps[-1])}, loss {fmt_loss(float(v.loss[-1]))}")
        size = 0.22
        if not self.is_16x9:
            title, size = fit_title(title, 0.22, self.fig_w - 0.7)
        f.labels.append(Label("title", 0.35, self.title_y, title, size, th["fg"]))
        borders = [p.border() for p in [self.big, *self.thumbs]]
        f.segments.append(Segments("frames", np.concatenate(borders), [th["panel"]] * 4 * len(borders), 0.012))
        for k, p in enumerate(self.thumbs):
            name = stage_math(k, v.view) if k <= v.L else "outputs"
            # (clear of the frame drawn 0.06 outside the current stage's thumbnail)
            f.labels.append(Label(f"thumb{k}", p.x, p.y + p.h + 0.28, name, 0.19,
                                  text_ink(class_color(k - 1), th) if 1 <= k <= v.L else th["fg"]))
        scale = ("one scale per move; thumbnails: own scales" if self.fixed
                 else "each layer in its own PCA and scale")
        scale, size = self.fit_line([scale, "thumbnails: own scales" if self.fixed else "own PCA per layer"], 0.19,
                                    self.fig_w - 0.12 - self.scale_xy[0])
        f.labels.append(Label("scale", *self.scale_xy, scale, size, th["muted"]))
        return f

    def frame(self, i: int) -> Frame:
        th, v, f = self.theme, self.v, Frame()
        k, t = self.stage_of(i)
        w = t
        az = self.azimuth(i)
        s = self.s
        into_out = k == v.L and t > 0 or k == self.n_stages - 1
        out_view = (v.out_center, v.out_radius)
        arriving = np.zeros(v.N, dtype=bool)            # points collapsing in this move (trail, ring)
        m = 0.0
        start_xy = None
        if k < v.L:                     # both stages in input space
            view, m = self.move_camera(k, t)
            P = (1 - m) * self.stage3[k] + m * self.stage3[k + 1]
            xy = self.screen(P, self.big, az, *view)
            if 0 < m < 1:
                arriving = v.collapsed[s, k] & (~v.collapsed[s, k - 1] if k >= 1 else True)
                start_xy = self.screen(self.stage3[k], self.big, az, *view)
        elif k == v.L and t > 0:        # T_L(X) -> outputs: different spaces, interpolate on screen
            m = float(smoothstep(t))
            view = out_view
            a = self.screen(self.stage3[k], self.big, az, *self.stage_view[k])
            b = self.screen(self.out3, self.big, az, *out_view)
            xy = (1 - m) * a + m * b
        else:
            view = out_view if k == self.n_stages - 1 else self.stage_view[k]
            xy = self.screen(self.out3 if k == self.n_stages - 1 else self.stage3[k], self.big, az, *view)
        xy = self.pin(xy, self.big)
        # the layer being applied (k -> k+1) or the last one applied (holding at stage k)
        layer = k + 1 if (w > 0 and k + 1 <= v.L) else (k if 1 <= k <= v.L else 0)
        flag = v.collapsed[s, layer - 1] if layer >= 1 and not into_out else np.zeros(v.N, dtype=bool)
        segs, seg_c, base_xy, base_c = [], [], [], []
        origin = (np.zeros(3) if v.K <= 3 else None) if into_out else v.origin3
        for sg in self.axes_segments(self.big, az, *view, origin):
            segs.append(sg)
            seg_c.append(th["muted"])
        bp = None
        if layer >= 1 and not into_out:
            sg, cl, bp = self.cone_segments(v.P3[s, layer - 1], v.E3[s, layer - 1], self.big, az,
                                            class_color(layer - 1), self.point_r, view)
            segs += sg
            seg_c += cl
            if np.isfinite(bp).all():
                base_xy.append(bp)
                base_c.append(layer - 1)
            else:
                bp = None
        if into_out:
            yt = self.screen(v.Y3, self.big, az, *out_view)
            base_xy.extend(yt)
            base_c.extend(range(len(yt)))
        # thumbnails (every stage, same orbit and scale as its big view; the outputs still, across their two widest
        # directions) and a frame on the current stage
        t_xy, t_c = [], []
        for j, p in enumerate(self.thumbs):
            if j > v.L:
                t_xy.append(self.out_thumb_xy)
            else:
                t_xy.append(self.pin(self.screen(self.stage3[j], p, az, *self.stage_view[j]), p, inset=0.03))
            t_c.append(v.labels)
        cur = self.thumbs[min(k + (1 if w >= 0.5 else 0), self.n_stages - 1)]
        g = 0.06
        x0, y0, x1, y1 = cur.x - g, cur.y - g, cur.x + cur.w + g, cur.y + cur.h + g
        segs += [[[x0, y0], [x1, y0]], [[x0, y1], [x1, y1]], [[x0, y0], [x0, y1]], [[x1, y0], [x1, y1]]]
        seg_c += [th["fg"]] * 4
        f.segments.append(Segments("axes_and_cones", np.array(segs, dtype=float).reshape(-1, 2, 2), seg_c, 0.016))
        ok = np.isfinite(xy).all(axis=1)
        trail = ok & arriving
        if start_xy is not None and trail.any():
            tr_xy = np.stack([self.pin(start_xy[trail], self.big), xy[trail]], axis=1)
            tr_c = [class_color(int(c)) for c in v.labels[trail]]
        else:
            tr_xy, tr_c = np.zeros((0, 2, 2)), []
        f.segments.append(Segments("arrivals", tr_xy, tr_c, 0.012, alpha=0.6))
        f.points.append(Points("points", *_unique_points(xy[ok & ~flag], v.labels[ok & ~flag]), self.point_r))
        f.points.append(Points("collapsed", *_unique_points(xy[ok & flag], v.labels[ok & flag]), self.point_r * 1.4,
                               ring=True))
        txy, tc = np.concatenate(t_xy), np.concatenate(t_c)
        f.points.append(Points("thumb_points", *_unique_points(txy, tc), self.thumb_r))
        f.points.append(Points("base_points", np.array(base_xy).reshape(-1, 2), np.array(base_c, dtype=int),
                               self.point_r * 3.0, ring=True))
        # the base point's marker grows with the points sitting on it (after the move), the count beside it
        counts = self.layer_counts[layer - 1] if 1 <= layer <= v.L and not into_out else np.zeros(v.q, int)
        n_on = int(counts.sum()) if (w == 0 or k >= v.L or m >= 0.5) and bp is not None else 0
        j = int(np.argmax(counts)) if counts.any() else 0
        share = n_on / max(1, int(self.class_sizes[j]))
        f.points += growing_marker("on_base", bp if n_on else None, layer - 1 if layer else 0, share, self.point_r)
        badge = bp + np.array([0.18, 0.18]) if (n_on and bp is not None) else np.array([self.big.x, self.big.y])
        f.labels.append(Label("on_base_n", float(badge[0]), float(badge[1]), str(n_on), 0.19, th["fg"],
                              alpha=1.0 if n_on else 0.0))
        name = self.move_name(k) if 0 < w < 1 else self.stage_name(k + (w >= 1))
        short = (self.move_name(k).split(":")[0] if 0 < w < 1 else self.stage_name(k + (w >= 1)).split(":")[0])
        name, name_size = self.fit_line([name, short], 0.21, self.big.w + (0.0 if is_wide(self.fig_w, self.fig_h)
                                                                          else 0.3))
        f.labels.append(Label("zoom", self.big.x + self.big.w, self.big.y - 0.2,
                              f"view radius {view[1]:.3g}" if self.fixed and not into_out else "", 0.19,
                              th["muted"], "right"))
        f.labels.append(Label("stage", self.big.x, self.big.y + self.big.h + 0.27, name, name_size, th["fg"]))
        if 1 <= layer <= v.L and not into_out:
            res = self.tr.arrays["residual"][s, layer - 1]
            rank = self.tr.arrays["rank"][s, layer - 1]
            info = f"base point $p_{{{layer}}}$ of layer {layer}"
            info2 = (collapse_text(counts, self.class_sizes) + " on it") if counts.any() else "no points on it"
            info3 = f"rank $W^{{({layer})}}$ = {int(rank)} / {int(v.widths[layer - 1])}, residual {res:.1e}"
        elif into_out:
            info, info2 = "output layer (affine)", "large rings: the reference outputs $y_j$"
            info3 = ""
        else:
            info = f"{v.N} training points, coloured by class"
            info2 = ", ".join(f"class {j + 1}: {int(c)}" for j, c in enumerate(self.class_sizes[:4]))
            info2 += "  ..." if v.q > 4 else ""
            info3 = ""
        y, x = self.info_y, self.info_x
        room = self.fig_w - 0.12 - x
        info, s1 = self.fit_line([info, info.split(" of layer")[0].split(", coloured")[0]], 0.21, room)
        info2, s2 = self.fit_line([info2, info2.split(", ")[0] + (" ..." if ", " in info2 else "")], 0.21, room)
        info3, s3 = self.fit_line([info3, info3.split(",")[0]], 0.19, room)
        f.labels.append(Label("info", x, y, info, s1, th["fg"]))
        f.labels.append(Label("info2", x, y - 0.45, info2, s2, text_ink(class_color(j), th) if n_on else th["fg"]))
        f.labels.append(Label("info3", x, y - 0.9, info3, s3, th["muted"]))
        return self.card.apply(f, i) if self.card else f

    def move_camera(self, k: int, t: float) -> tuple[tuple[np.ndarray, float], float]:
        """The camera ``(centre, radius)`` and the morph's eased progress ``m`` at share ``t`` of move ``k -> k+1``.

        Input space: the first ``ZOOM`` of the move reframes from stage ``k``'s view to the move's one scale, the
        points then morph on that scale, and the last ``ZOOM`` reframes to stage ``k + 1``'s view (points still).
        Layer view: the points and the view move together (each stage is its own space)."""
        if not self.fixed:
            m = float(smoothstep(t))
            return blend_view(self.stage_view[k], self.stage_view[k + 1], m), m
        if t <= ZOOM:
            return blend_view(self.stage_view[k], self.move_view[k], float(smoothstep(t / ZOOM))), 0.0
        if t >= 1 - ZOOM:
            z = float(smoothstep((t - 1 + ZOOM) / ZOOM))
            return blend_view(self.move_view[k], self.stage_view[k + 1], z), 1.0
        return self.move_view[k], float(smoothstep((t - ZOOM) / (1 - 2 * ZOOM)))


def blend_view(a: tuple[np.ndarray, float], b: tuple[np.ndarray, float], z: float) -> tuple[np.ndarray, float]:
    """Camera between views ``a`` and ``b`` (``z`` in [0, 1]): centre linear, radius in log."""
    return (1 - z) * a[0] + z * b[0], float(np.exp((1 - z) * np.log(a[1]) + z * np.log(b[1])))
