"""Frame model of the ``layers`` clip: the final snapshot's data moving through the layers.

One large panel where the data move through the truncations ``X = T_0 -> T_1 -> ... -> T_L`` and then into the
output space, with the cone of the layer being applied drawn as the data move; thumbnails of every stage on the
right. The trace is read by :class:`scenes.clips.layer_trace.LayerTraceView`.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    Frame,
    Label,
    Points,
    Rect,
    Segments,
    TitleCard,
    _unique_points,
    class_color,
    clip_timeline,
    fmt_loss,
)
from scenes.clips.layer_trace import LayerClip, dataset_name, layer_view_lines, run_lines


class LayersFrames(LayerClip):
    """The final snapshot's data moving through the layers, then into the output space (scene ``layers``)."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light", hold: float = 0.35,
                 card_seconds: float = 2.0, view: str = "input"):
        super().__init__(trace, fps, theme, orbit_deg=30.0, view=view)
        v = self.v
        lines = self.card_lines(trace) if view == "input" else layer_view_lines(self.card_lines(trace))
        self.card = TitleCard(lines, self.fps, self.theme, card_seconds) if card_seconds > 0 else None
        self.n_lead = self.card.n_frames if self.card else 0
        self.n_stages = v.L + 2                          # X, T_1..T_L, outputs
        self.n_moves = self.n_stages - 1
        total = max(2 * self.n_moves, int(round(duration * fps)))
        self.hold = max(1, int(round(hold * fps)))
        self.per_move = max(2, (total - self.hold * (self.n_moves + 1)) // self.n_moves)
        n_stages = self.hold * (self.n_moves + 1) + self.per_move * self.n_moves   # the stage sequence
        self.n_hold0, self.n_anim, _, self.n_frames = clip_timeline(self.fps, n_stages / self.fps, 0.0, 0.0,
                                                                    lead_frames=self.n_lead)
        self.big = Rect(0.5, 0.4, 7.8, 7.8)
        n = self.n_stages
        cols = 2 if n <= 4 else 3
        rows = int(np.ceil(n / cols))
        side = min((6.7 - 0.3 * (cols - 1)) / cols, (4.8 - 0.45 * (rows - 1)) / rows)   # info text below
        self.thumbs = [Rect(9.0 + (k % cols) * (side + 0.3), 7.7 - (k // cols + 1) * side - (k // cols) * 0.45,
                            side, side) for k in range(n)]
        self.point_r = 0.03
        self.thumb_r = 0.014
        s = v.S - 1
        self.stage3 = [v.X3, *[v.T3[s, l] for l in range(v.L)]]   # input-space stages
        self.out3 = v.O3[s]

    @staticmethod
    def card_lines(trace) -> list[str]:
        """Title and parameters of the run, for the title card."""
        title = "Data through the layers: T_0 -> ... -> T_L"
        if trace.meta.get("kind") == "network" and trace.meta.get("title"):
            title = f"{trace.meta['title']}: through the layers"
        return [ln for ln in [title, *run_lines(trace)] if ln]

    def stage_of(self, i: int) -> tuple[int, float]:
        """``(k, w)``: moving from stage ``k`` to ``k + 1`` with eased progress ``w`` (0 during holds and the
        title card, which shows stage 0)."""
        period = self.hold + self.per_move
        k, r = divmod(max(i - self.n_hold0, 0), period)
        if k >= self.n_moves:
            return self.n_moves, 0.0
        if r < self.hold:
            return k, 0.0
        t = (r - self.hold + 1) / self.per_move
        return k, float(0.5 - 0.5 * np.cos(np.pi * min(t, 1.0)))

    def stage_name(self, k: int) -> str:
        if k == 0:
            return "input X = T0(X)"
        if k <= self.v.L:
            if self.v.view == "layer":
                return f"x^({k}): layer {k}'s activations (its own PCA, exact)"
            approx = k in (self.tr.meta.get("picture") or {}).get("approximate_layers", [])
            return f"T{k}(X): after layer {k}'s truncation" + (" (approximate: see residual)" if approx else "")
        return f"outputs x^(L+1) in R^{self.v.K}"

    def _view(self, k: int, w: float) -> tuple[np.ndarray, float]:
        """View (centre, radius) between input-space stages ``k`` and ``k + 1`` (radius interpolated in log)."""
        fv = self.v.final_view
        (c0, r0), (c1, r1) = fv[k], fv[min(k + 1, self.v.L)]
        return (1 - w) * c0 + w * c1, float(np.exp((1 - w) * np.log(r0) + w * np.log(r1)))

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
        f.labels.append(Label("title", 0.35, 8.6, title, 0.22, th["fg"]))
        borders = [p.border() for p in [self.big, *self.thumbs]]
        f.segments.append(Segments("frames", np.concatenate(borders), [th["panel"]] * 4 * len(borders), 0.012))
        for k, p in enumerate(self.thumbs):
            name = "X" if k == 0 else ((f"x^({k})" if v.view == "layer" else f"T{k}(X)") if k <= v.L else "outputs")
            f.labels.append(Label(f"thumb{k}", p.x + 0.06, p.y + p.h - 0.14, name, 0.14,
                                  class_color(k - 1) if 1 <= k <= v.L else th["fg"]))
        return f

    def frame(self, i: int) -> Frame:
        th, v, f = self.theme, self.v, Frame()
        k, w = self.stage_of(i)
        az = self.azimuth(i)
        s = v.S - 1
        into_out = k == v.L and w > 0 or k == self.n_stages - 1
        out_view = (v.out_center, v.out_radius)
        if k < v.L:                     # both stages in input space: move the points and the view together
            view = self._view(k, w)
            P = (1 - w) * self.stage3[k] + w * self.stage3[k + 1]
            xy = self.screen(P, self.big, az, *view)
        elif k == v.L and w > 0:        # T_L(X) -> outputs: different spaces, interpolate on screen
            view = out_view
            a = self.screen(self.stage3[k], self.big, az, *v.final_view[k])
            b = self.screen(self.out3, self.big, az, *out_view)
            xy = (1 - w) * a + w * b
        elif k == self.n_stages - 1:
            view = out_view
            xy = self.screen(self.out3, self.big, az, *out_view)
        else:
            view = v.final_view[k]
            xy = self.screen(self.stage3[k], self.big, az, *view)
        xy = self.pin(xy, self.big)
        # the layer being applied (k -> k+1) or the last one applied (holding at stage k)
        layer = k + 1 if (w > 0 and k + 1 <= v.L) else (k if 1 <= k <= v.L else 0)
        flag = v.collapsed[s, layer - 1] if layer >= 1 else np.zeros(v.N, dtype=bool)
        segs, seg_c, base_xy, base_c = [], [], [], []
        origin = (np.zeros(3) if v.K <= 3 else None) if into_out else v.origin3
        for sg in self.axes_segments(self.big, az, *view, origin):
            segs.append(sg)
            seg_c.append(th["muted"])
        if layer >= 1 and not into_out:
            sg, cl, bp = self.cone_segments(v.P3[s, layer - 1], v.E3[s, layer - 1], self.big, az,
                                            class_color(layer - 1), self.point_r, view)
            segs += sg
            seg_c += cl
            if np.isfinite(bp).all():
                base_xy.append(bp)
                base_c.append(layer - 1)
        if into_out:
            yt = self.screen(v.Y3, self.big, az, *out_view)
            base_xy.extend(yt)
            base_c.extend(range(len(yt)))
        # thumbnails (static positions of every stage, same orbit) and a marker on the current stage
        t_xy, t_c = [], []
        for j, p in enumerate(self.thumbs):
            c3, r3 = (v.out_center, v.out_radius) if j > v.L else v.final_view[j]
            P = self.stage3[j] if j <= v.L else self.out3
            sx = self.pin(self.screen(P, p, az, c3, r3), p, inset=0.03)
            t_xy.append(sx)
            t_c.append(v.labels)
        cur = self.thumbs[min(k + (1 if w >= 0.5 else 0), self.n_stages - 1)]
        segs += list(np.array([[[cur.x - 0.06, cur.y - 0.06], [cur.x + cur.w + 0.06, cur.y - 0.06]],
                               [[cur.x - 0.06, cur.y + cur.h + 0.06], [cur.x + cur.w + 0.06, cur.y + cur.h + 0.06]],
                               [[cur.x - 0.06, cur.y - 0.06], [cur.x - 0.06, cur.y + cur.h + 0.06]],
                               [[cur.x + cur.w + 0.06, cur.y - 0.06], [cur.x + cur.w + 0.06, cur.y + cur.h + 0.06]]]))
        seg_c += [th["fg"]] * 4
        f.segments.append(Segments("axes_and_cones", np.array(segs).reshape(-1, 2, 2), seg_c, 0.016))
        ok = np.isfinite(xy).all(axis=1)
        f.points.append(Points("points", *_unique_points(xy[ok & ~flag], v.labels[ok & ~flag]), self.point_r))
        f.points.append(Points("collapsed", *_unique_points(xy[ok & flag], v.labels[ok & flag]), self.point_r * 1.4,
                               ring=True))
        txy, tc = np.concatenate(t_xy), np.concatenate(t_c)
        f.points.append(Points("thumb_points", *_unique_points(txy, tc), self.thumb_r))
        f.points.append(Points("base_points", np.array(base_xy).reshape(-1, 2), np.array(base_c, dtype=int),
                               self.point_r * 3.0, ring=True))
        name = self.stage_name(k) if w < 0.5 else self.stage_name(k + 1)
        f.labels.append(Label("stage", self.big.x + 0.12, self.big.y + self.big.h - 0.22, name, 0.2, th["fg"]))
        if 1 <= layer <= v.L and not into_out:
            res = self.tr.arrays["residual"][s, layer - 1]
            rank = self.tr.arrays["rank"][s, layer - 1]
            info = f"layer {layer}: {int(v.counts[s, layer - 1])} of {v.N} points collapsed (ringed)"
            info2 = f"rank W^({layer}) {int(rank)}/{int(v.widths[layer - 1])}, residual {res:.1e}"
        elif into_out:
            info, info2 = "output layer (affine)", "large rings: reference outputs y_j"
        else:
            info, info2 = f"{v.N} training points, coloured by class", ""
        f.labels.append(Label("info", 9.0, 2.55, info, 0.17, th["fg"]))
        f.labels.append(Label("info2", 9.0, 2.15, info2, 0.17, th["muted"]))
        return self.card.apply(f, i) if self.card else f
