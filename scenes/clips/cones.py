"""Renderer-agnostic frame model of the ``cones`` clip: a zero-loss construction layer by layer.

Input: a ``cones`` trace (:mod:`geomdl.experiments.cones`, one snapshot). After a title card, for each hidden layer
``l = 1..L``:

1. *cone*: layer ``l``'s cone appears: its base point, then its edge rays growing out of it (colour: the class the
   layer collapses, i.e. the class with the largest collapsed fraction at that layer; grey when none);
2. *truncation*: the data move from ``T_{l-1}(X)`` to ``T_l(X)`` (smooth, eased linear interpolation); the points
   collapsed at this layer are drawn as rings and converge onto the base point;
3. a short hold. Earlier cones stay, faint.

One main 3D panel of input space (``M = 3``; the trace's PCA for ``M > 3``) with a slowly orbiting orthographic
camera (same projection as :class:`scenes.clips.truncation_speed.TruncationFrames`), and a readout on the right:
layer ``l`` of ``L``, the phase, collapsed counts per class for every layer done so far, and the construction's
loss. Points and base points that leave the view are pinned to the panel border. Layers wider than ``M`` draw all
their unit normals (``edges_all``) as rays; the trace notes say the picture is approximate there, and so does the
readout.
"""

from __future__ import annotations

import numpy as np

from scenes.clips.base import (
    THEMES,
    Frame,
    Label,
    Points,
    Rect,
    Segments,
    TitleCard,
    _clip_to,
    _unique_points,
    camera_basis,
    class_color,
    fmt_loss,
    smoothstep,
)

SHORT_NAMES = {"clustered": "(a) clustered balls", "sls": "(b) SLS slabs", "nonsep": "(c) wedge and chevron",
               "concentric": "(d) ball and shell"}
GEOMETRY_NAMES = {"clustered": "(a) clustered balls", "sls": "(b) sequentially linearly separable slabs",
                  "nonsep": "(c) wedge and chevron (not linearly separable)",
                  "concentric": "(d) concentric ball and shell"}


class ConesFrames:
    """Frames of the ``cones`` clip. ``duration``: seconds of the layer-by-layer animation (split evenly over the
    layers: 30% cone, 50% truncation, 20% hold), after the title card and a 0.6 s look at the data."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light", hold_start: float = 0.6,
                 hold_end: float = 1.2, orbit_deg: float = 60.0, elevation_deg: float = 25.0,
                 azimuth_deg: float = 30.0, card_seconds: float = 2.0):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        self.tr = trace
        self.fps = int(fps)
        self.theme = THEMES[theme]
        a, meta = trace.arrays, trace.meta
        self.labels = np.asarray(a["labels"]).astype(int)
        self.N, self.M = a["X"].shape
        self.L = a["truncated"].shape[1]
        self.Q = int(meta["Q"])
        self.widths = np.array((meta.get("widths") or [self.M] * self.L)[: self.L])
        self.loss = float(a["loss"][0])
        self.card = TitleCard(self.card_lines(trace), self.fps, self.theme, card_seconds) if card_seconds > 0 else None
        n_card = self.card.n_frames if self.card else 0
        per = max(3, int(round(duration * fps / max(self.L, 1))))
        self.n_cone = max(1, int(round(0.30 * per)))
        self.n_move = max(1, int(round(0.50 * per)))
        self.n_hold = max(1, per - self.n_cone - self.n_move)
        self.n_layer = self.n_cone + self.n_move + self.n_hold
        self.n_hold0 = n_card + int(round(hold_start * fps))
        self.n_frames = self.n_hold0 + self.L * self.n_layer + int(round(hold_end * fps))
        self.orbit, self.elev, self.azim0 = np.deg2rad(orbit_deg), np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)

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
        # view: centred on the data, scale from the data and the base points (capped: far base points are pinned)
        self.centre = self.X3.mean(axis=0)
        rx = float(np.max(np.linalg.norm(self.X3 - self.centre, axis=1))) or 1.0
        rp = float(np.max(np.linalg.norm(self.P3 - self.centre, axis=1))) if self.L else 0.0
        self.radius = 1.1 * max(rx, min(rp, 1.8 * rx))
        self.ray_len = 0.55 * self.radius
        self.panel = Rect(0.3, 0.3, 8.1, 8.1)
        self.point_r = 0.045
        self.rx = 9.0                                                            # readout left edge

    @staticmethod
    def card_lines(trace) -> list[str]:
        meta, cfg = trace.meta, trace.meta.get("config", {})
        g = meta.get("geometry", cfg.get("geometry", "?"))
        N = len(trace.arrays["X"])
        widths = meta.get("widths", [])
        lines = [
            "Zero-loss construction: cones layer by layer",
            f"{GEOMETRY_NAMES.get(g, g)}: Q = {meta['Q']} classes, {N} points in R^{meta['M']}",
            f"{meta.get('construction', '?')}: hidden widths {', '.join(str(w) for w in widths)}",
            f"loss {fmt_loss(float(meta.get('construction_loss', trace.arrays['loss'][0])))} (MSE), seed "
            f"{meta.get('seed', '?')}, geomdl {meta.get('versions', {}).get('geomdl', '')}",
        ]
        if not meta.get("square", True):
            lines.append("layers wider than M: approximate picture (see the trace notes)")
        return lines

    # -- geometry ---------------------------------------------------------------------------------
    def _to3(self, P: np.ndarray) -> np.ndarray:
        return (np.asarray(P, dtype=float) - self.mean) @ self.comps.T

    def _screen(self, P3: np.ndarray, az: float) -> np.ndarray:
        B = camera_basis(az, self.elev)
        s = 0.45 * self.panel.w / self.radius
        return (P3 - self.centre) @ B.T * s + np.array([self.panel.cx, self.panel.cy])

    def _pin(self, xy: np.ndarray, inset: float = 0.06) -> np.ndarray:
        p = self.panel
        c = np.array([p.cx, p.cy])
        d = xy - c
        half = np.array([p.w / 2 - inset, p.h / 2 - inset])
        kk = np.max(np.abs(d) / half, axis=1, keepdims=True)
        return np.where(kk > 1, c + d / np.maximum(kk, 1e-300), xy)

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

    # -- frames -------------------------------------------------------------------------------------
    def static(self) -> Frame:
        th, f = self.theme, Frame()
        meta = self.tr.meta
        g = meta.get("geometry", "?")
        f.labels.append(Label("title", 0.35, 8.62, f"Cones of the zero-loss construction  ·  {SHORT_NAMES.get(g, g)}",
                              0.30, th["fg"], "left", "center"))
        f.segments.append(Segments("frames", self.panel.border(), [th["panel"]] * 4, 0.012))
        proj = "input space" if self.M == 3 else f"PCA of R^{self.M}"
        f.labels.append(Label("panel", self.panel.x + 0.12, self.panel.y + self.panel.h - 0.25, proj, 0.22,
                              th["muted"]))
        f.labels.append(Label("loss", self.rx, 1.2, f"construction loss {fmt_loss(self.loss)}", 0.26, th["fg"]))
        note = "exact truncation picture" if meta.get("square", True) else "layers wider than M: approximate picture"
        f.labels.append(Label("note", self.rx, 0.7, note, 0.2, th["muted"]))
        f.labels.append(Label("table_title", self.rx, 5.55, "collapsed points per class", 0.24, th["fg"]))
        for j in range(self.Q):
            f.labels.append(Label(f"class_head{j}", self.rx + 1.6 + 1.45 * j, 5.1, f"class {j}", 0.22,
                                  class_color(j), "left"))
        return f

    def frame(self, i: int) -> Frame:
        th, f = self.theme, Frame()
        l, phase, t = self.state(i)
        az = self.azimuth(i)
        e = float(smoothstep(t))
        # data positions
        if l < 0:
            P = self.T3[0]
        elif phase == "cone":
            P = self.T3[l]
        elif phase == "move":
            P = (1 - e) * self.T3[l] + e * self.T3[l + 1]
        else:
            P = self.T3[l + 1]
        done = l if phase in ("start", "cone") else l + 1        # layers whose truncation has (started to) run
        ring = np.zeros(self.N, bool)
        if done > 0:
            ring = self.collapsed[:done].any(axis=0)
        xy = self._pin(self._screen(P, az))
        ok = np.isfinite(xy).all(axis=1)

        # axes from the origin of the view's coordinates
        segs, seg_c = [], []
        o3 = self._to3(np.zeros((1, self.M)))[0] if self.M == 3 else self.centre
        a0 = self._screen(o3[None], az)[0]
        for end in self._screen(o3 + 0.6 * self.radius * np.eye(3), az):
            if self.panel.contains(a0[None])[0]:
                segs.append([a0, _clip_to(self.panel, a0, end)])
                seg_c.append(th["panel"])
        f.segments.append(Segments("axes", np.array(segs).reshape(-1, 2, 2), seg_c, 0.016))

        # cones: past (faint) and current (growing rays)
        past, past_c, now, now_c, base_xy, base_c = [], [], [], [], [], []
        for ll in range(max(l + 1, 0)):
            grow = e if (ll == l and phase == "cone") else 1.0
            p = self._screen(self.P3[ll][None], az)[0]
            inside = bool(self.panel.contains(p[None])[0])
            c = self.layer_color(ll)
            if inside:
                dirs = self.E3[ll][np.isfinite(self.E3[ll]).all(axis=1)]
                length = self.ray_len * (0.6 if len(dirs) > self.M else 1.0)   # wide layers: many rays
                for end in self._screen(self.P3[ll] + grow * length * dirs, az):
                    (now if ll == l else past).append([p, _clip_to(self.panel, p, end)])
                    (now_c if ll == l else past_c).append(c)
            base_xy.append(self._pin(p[None], inset=0.15)[0])
            base_c.append(self.layer_class[ll] if self.layer_class[ll] >= 0 else 7)
        f.segments.append(Segments("cones_past", np.array(past).reshape(-1, 2, 2), past_c, 0.014, alpha=0.35))
        f.segments.append(Segments("cone_now", np.array(now).reshape(-1, 2, 2), now_c, 0.03))

        f.points.append(Points("points", *_unique_points(xy[ok & ~ring], self.labels[ok & ~ring]), self.point_r))
        f.points.append(Points("collapsed", *_unique_points(xy[ok & ring], self.labels[ok & ring]),
                               self.point_r * 1.15, ring=True))
        f.points.append(Points("base_points", np.array(base_xy).reshape(-1, 2), np.array(base_c, dtype=int),
                               self.point_r * 2.6, ring=True))

        # readout
        if l < 0:
            head, sub = f"layer 0 of {self.L}", "the data X"
        elif phase == "end":
            head, sub = f"layer {self.L} of {self.L}", "done: every class sits on a base point" \
                if self.collapsed.any(axis=0).all() else "done"
        else:
            head = f"layer {l + 1} of {self.L}"
            cc = self.layer_class[l]
            what = f"class {cc} ({int(self.counts[l, cc])} pts)" if cc >= 0 else "nothing"
            sub = {"cone": f"cone of layer {l + 1} appears", "move": f"T{l} -> T{l + 1}: collapses {what}",
                   "hold": f"T{l + 1}(X): {what} on the base point"}[phase]
        f.labels.append(Label("layer", self.rx, 7.75, head, 0.36, th["fg"]))
        f.labels.append(Label("phase", self.rx, 7.15, sub, 0.24, th["fg"]))
        f.labels.append(Label("width", self.rx, 6.6, f"width {self.widths[max(l, 0)]}" if l >= 0 else
                              f"input dimension {self.M}", 0.22, th["muted"]))
        y0 = 4.6
        for ll in range(self.L):
            y = y0 - 0.48 * ll
            shown = ll < done
            f.labels.append(Label(f"row{ll}", self.rx, y, f"layer {ll + 1}", 0.22, th["fg"],
                                  alpha=1.0 if shown else 0.4))
            for j in range(self.Q):
                txt = f"{int(self.counts[ll, j])}/{int(self.class_sizes[j])}" if shown else "–"
                f.labels.append(Label(f"cnt{ll}_{j}", self.rx + 1.6 + 1.45 * j, y, txt, 0.22, class_color(j),
                                      alpha=1.0 if shown else 0.4))
        return self.card.apply(f, i) if self.card else f
