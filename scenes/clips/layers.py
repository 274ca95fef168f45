"""Frame models of the ``layers`` and ``training`` clips, for any recorded trace.

Both read a trace in either form (:mod:`geomdl.io.trace`): full (``truncated``, ``base_points``, ``edges``; e.g.
``truncation-speed``) or projected (``truncated_proj``, ``base_points_proj``, ``edges_proj``; e.g. the MNIST
``layers`` experiment). Coordinates: ``M = 3`` full traces and identity-projected traces show input space itself;
otherwise the PCA fitted once on the original data (stored in the trace) is used for every snapshot and layer.

- :class:`TrainingFrames` (scene ``training``): panels ``X, T_1(X), ..., T_L(X)`` and the output layer in
  ``R^K`` (3D for K = 3, no projection; PCA of the final outputs for K > 3), animated over the training
  snapshots (positions interpolated linearly between snapshots), each layer's cone overlaid (base point and
  edge rays); readouts: step, loss, accuracy, NC1 and delta_P where recorded; live loss and accuracy curves.
- :class:`LayersFrames` (scene ``layers``): the final snapshot; one large panel where the data move through the
  truncations ``X = T_0 -> T_1 -> ... -> T_L`` and then into the output space, with the cone of the layer
  being applied drawn as the data move; thumbnails of every stage on the right.

Cone rays: layers with at most 8 edges draw every edge as a unit direction (like ``truncation-speed``); wider
layers (784 on MNIST) draw the 24 edges with the longest projections, lengths proportional to the projected
length (the longest at 60 % of the view radius), so the rays show which cone directions the picture can see.

The view radius is robust (1.25 x the 98th percentile of the input's distance from the view centre); points
and base points outside a panel are pinned to its border as in :class:`scenes.clips.truncation_speed.TruncationFrames`.
"""

from __future__ import annotations

import numpy as np

from geomdl.errors import GeomdlError
from scenes.clips.base import (
    THEMES,
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
    camera_basis,
    class_color,
    clip_timeline,
    fmt_loss,
    panel_grid,
)
from scenes.clips.truncation_speed import TruncationFrames

MAX_RAYS = 24
VIEWS = ("input", "layer")   # input space T_l(X) (docs/math.md §2.4), or each layer's activations x^(l) in its own PCA


def dataset_name(meta: dict) -> str:
    if meta.get("dataset") == "mnist":
        return f"MNIST digits {' '.join(map(str, meta.get('digits', [])))}"
    if meta.get("dataset") == "clustered":
        return "clustered balls in R^3"
    if meta.get("dataset") == "own":
        return f"your data ({meta.get('data_name', 'file')})"
    if meta.get("kind") == "network":
        return str(meta.get("title") or "your network")
    return str(meta.get("kind", "?"))


def _num(v) -> str:
    return f"{v:g}" if isinstance(v, int | float) and not isinstance(v, bool) else str(v)


def run_lines(trace) -> list[str]:
    """The run's parameters as title-card lines, for a ``layers`` trace (MNIST or clustered) or a
    ``truncation-speed`` trace (both scenes draw either): data, network, training, thresholds or stop reason."""
    meta, cfg = trace.meta, trace.meta.get("config", {})
    N = len(trace.arrays["X"])
    Q, M = meta["Q"], meta["M"]
    widths = list(meta.get("widths") or [])
    seed, version = meta.get("seed", cfg.get("seed", "?")), meta.get("versions", {}).get("geomdl", "")
    opt, loss = str(cfg.get("optimizer", meta.get("optimizer", "?"))).upper(), str(meta.get("loss", "?")).upper()
    stopped = f"stopped: {meta.get('stop_reason', '?')} at step {meta.get('final_step', '?')}   ·   geomdl {version}"
    if meta.get("kind") == "network":
        return network_lines(trace)
    if meta.get("kind") == "truncation-speed":
        fr = cfg.get("start_fractions", [])
        return [
            f"Q = {Q} clustered classes in R^{M}, {N} points ({cfg.get('cluster_kind', 'ball')}s of radius "
            f"{_num(cfg.get('radius', '?'))})",
            f"ReLU network, {len(widths)} hidden layers of width {M}, started from the zero-loss construction",
            "layer 1 starts with " + ", ".join(f"{f:g}" for f in fr) + " of its class collapsed" if fr else "",
            f"{opt}, lr {_num(meta.get('lr', cfg.get('lr', '?')))}, {loss}, "
            f"{meta.get('steps', cfg.get('steps', '?'))} steps, seed {seed}, {cfg.get('dtype', '')}",
            stopped,
        ]
    held = f", {_num(100 * cfg['test_fraction'])}% held out for testing" if "test_fraction" in cfg else ""
    if meta.get("dataset") == "mnist":
        data = f"{dataset_name(meta)} (Q = {Q}): {N} training digits in R^{M}{held}"
    else:
        data = f"Q = {Q} clustered classes: {N} training points in R^{M}{held}"
    source = str(meta.get("source", "")).removeprefix("clustered: ")
    out_dim = meta.get("output_dim", Q)
    batch = f", batch {cfg.get('batch_size')}" if str(cfg.get("optimizer")).lower() == "sgd" else ""
    mom = f", momentum {_num(cfg['momentum'])}" if cfg.get("momentum") else ""
    thresholds = cfg.get("thresholds") or []
    reached = meta.get("thresholds_reached", {})
    marks = [f"{t:g} at step {reached[f'{t:g}'][0]}" if f"{t:g}" in reached else f"{t:g} not reached"
             for t in thresholds]
    return [
        data,
        f"data: {source}" if source else "",
        f"ReLU network, random init: {len(widths)} hidden layers (widths {', '.join(map(str, widths))}), "
        f"{out_dim} outputs",
        f"{opt}, lr {_num(cfg.get('lr', '?'))}{batch}{mom}, {loss}, at most {cfg.get('steps', '?')} steps, "
        f"seed {seed}, {cfg.get('dtype', '')}",
        "loss thresholds: " + ", ".join(marks) if marks else "",
        stopped,
    ]


def picture_line(meta: dict) -> str:
    """How exact the input-space picture is (docs/math.md §2.4b), from the trace's header."""
    pic = meta.get("picture") or {}
    if not pic:
        return ""
    if pic.get("exact"):
        return f"input-space picture exact (representation residual {pic.get('max_residual', 0):.1e})"
    layers = ", ".join(map(str, pic.get("approximate_layers", [])))
    return (f"APPROXIMATE input-space picture at layer(s) {layers}: residual up to {pic.get('max_residual', 0):.2g}\n"
            "(the activations leave the image of W^(l)); the exact layer-space view: --view layer")


def layer_view_lines(lines: list[str]) -> list[str]:
    """Card lines for the layer-space view: the picture lines say what this clip shows instead."""
    out, skip = [], False
    for ln in lines:
        if ln.startswith("APPROXIMATE input-space picture") or ln.startswith("input-space picture exact"):
            out.append("this clip: each layer's activations x^(l) in its own PCA (fitted on the first snapshot): exact")
            skip = ln.startswith("APPROXIMATE")
            continue
        if skip:          # the second line of the approximate-picture note
            skip = False
            continue
        out.append(ln)
    return out


def network_lines(trace) -> list[str]:
    """Title-card lines of a recorded user network (kind ``network``): only facts the recorder measured."""
    meta, a = trace.meta, trace.arrays
    N, M = a["X"].shape
    widths = list(meta.get("widths") or [])
    steps = a["steps"]
    lines = [
        f"{N} points in R^{M}, Q = {meta['Q']} classes" + (f"  ·  data: {meta['data_name']}" if meta.get("data_name")
                                                           else ""),
        f"your ReLU network: {len(widths)} hidden layer{'s' if len(widths) != 1 else ''} (widths "
        f"{', '.join(map(str, widths))}), {meta.get('output_dim', meta['Q'])} outputs",
        (f"{len(steps)} snapshots, steps {int(steps[0])} to {int(steps[-1])}" if len(steps) > 1 else
         f"1 snapshot, step {int(steps[0])}") + f", recorded from {meta.get('source', '?')}",
        *picture_line(meta).split("\n"),
    ]
    import textwrap  # noqa: PLC0415

    warnings = list(meta.get("warnings", []))
    if meta.get("stop_reason") in ("dead", "diverged", "degenerate") and not warnings:
        warnings.append(str(meta.get("stop_message")))
    for w in warnings:                                  # long reasons wrapped to the card's width
        lines += textwrap.wrap(f"WARNING: {w}", 88)
    lines += [str(n) for n in meta.get("user_notes", [])]
    lines.append(f"recorded by geomdl {meta.get('versions', {}).get('geomdl', '')}")
    return lines


def _robust_radius(P: np.ndarray, floor: float = 1e-9) -> float:
    P = P[np.isfinite(P).all(axis=1)]
    if len(P) == 0:
        return 1.0
    r = 1.25 * float(np.quantile(np.linalg.norm(P, axis=1), 0.98))
    return r if r > floor else 1.0


def view_of(P: np.ndarray, extra: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Centre (mean) and robust radius of points ``P: (..., 3)`` (with ``extra`` points, e.g. base points,
    counted in the radius only where that does not more than double it)."""
    P = P.reshape(-1, 3)
    P = P[np.isfinite(P).all(axis=1)]
    if len(P) == 0:
        return np.zeros(3), 1.0
    c = P.mean(axis=0)
    r = _robust_radius(P - c)
    if extra is not None:
        e = extra.reshape(-1, 3)
        e = e[np.isfinite(e).all(axis=1)]
        if len(e):
            re = 1.15 * float(np.max(np.linalg.norm(e - c, axis=1)))
            r = max(r, min(re, 2 * r))
    return c, r


class LayerTraceView:
    """Everything both clips need from a trace, in 3D view coordinates (centred, ``(..., 3)``)."""

    def __init__(self, trace, view: str = "input"):
        a, meta = trace.arrays, trace.meta
        self.tr = trace
        if view not in VIEWS:
            raise GeomdlError(f"unknown view {view!r}; known: {', '.join(VIEWS)}")
        if view == "layer" and "hidden_proj" not in a:
            raise GeomdlError("this trace has no layer-space view (hidden_proj); record it with geomdl record or "
                              "Recorder.from_module")
        self.view = view
        self.labels = a["labels"].astype(np.int64)
        self.steps = a["steps"].astype(np.int64)
        self.loss = a["loss"].astype(float)
        self.N, self.M = a["X"].shape
        self.q = int(meta["Q"])
        projected = "truncated_proj" in a and "truncated" not in a
        if projected:
            mean, comps = a["pca_mean"], a["pca_components"]
            self.X3 = (a["X"] - mean) @ comps.T
            self.T3 = a["truncated_proj"].astype(float)
            self.P3 = a["base_points_proj"].astype(float)
            E = np.nan_to_num(a["edges_proj"].astype(float))              # (S, L, M, 3)
            identity = self.M <= 3 and np.allclose(comps[:, : self.M], np.eye(3, self.M))
            self.axis_names = ["x1", "x2", "x3"] if identity else ["PC1", "PC2", "PC3"]
        else:
            if self.M == 3:
                mean, comps = a["X"].mean(axis=0), np.eye(3)
                self.axis_names = ["x1", "x2", "x3"]
            else:
                mean, comps = a["pca_mean"], a["pca_components"]
                identity = self.M < 3 and np.allclose(comps, np.eye(3, self.M))   # e.g. 2-D inputs as they are
                self.axis_names = ["x1", "x2", "x3"] if identity else ["PC1", "PC2", "PC3"]
            self.X3 = (a["X"] - mean) @ comps.T
            self.T3 = (a["truncated"] - mean) @ comps.T
            self.P3 = (a["base_points"] - mean) @ comps.T
            E = np.nan_to_num(np.swapaxes(a["edges"], 2, 3)) @ comps.T    # (S, L, M, 3): edge i as a row
        self.S, self.L = self.T3.shape[:2]
        self.origin3 = (np.zeros(3) - mean) @ comps.T if (not projected and self.M == 3) else None
        if view == "layer":   # x^(l) in each layer's own PCA (exact at any width); collapsed points sit at x = 0
            hm, hc = a["hidden_pca_mean"], np.nan_to_num(a["hidden_pca_components"])
            self.T3 = a["hidden_proj"].astype(float)
            origin = np.stack([-(np.nan_to_num(hm[l]) @ hc[l].T) for l in range(self.L)])       # (L, 3)
            self.P3 = np.broadcast_to(origin, (self.S, self.L, 3)).copy()
            E = np.zeros((self.S, self.L, 1, 3))                          # no input-space cone in layer space
            self.origin3 = None
        widths = meta.get("widths") or [self.M] * self.L
        self.widths = np.array(widths[: self.L])
        self.collapsed = a["k_trunc"].astype(np.int64) == self.widths[None, :, None]     # (S, L, N)
        self.counts = self.collapsed.sum(axis=2)
        self.E3 = self._rays(E)
        self.radius = _robust_radius(self.X3 - self.X3.mean(axis=0))
        self.center = self.X3.mean(axis=0)
        # per-panel views fixed over training (scene ``training``): the input's, then each layer's over all
        # snapshots; and per-stage views of the final snapshot (scene ``layers``)
        self.panel_view = [(self.center, self.radius)] + [view_of(self.T3[:, l], self.P3[:, l])
                                                          for l in range(self.L)]
        self.final_view = [(self.center, self.radius)] + [view_of(self.T3[-1, l], self.P3[-1, l])
                                                          for l in range(self.L)]
        # outputs in R^K -> 3D: raw for K <= 3 (zero-padded), PCA of the final outputs for K > 3
        out = a["outputs"].astype(float)                                    # (S, N, K)
        self.K = out.shape[2]
        targets = a["targets"].astype(np.int64) if "targets" in a else np.arange(min(self.q, self.K))
        Y = np.eye(self.K)[targets]                                         # (Q, K) reference outputs
        if self.K <= 3:
            pad = np.zeros((self.K, 3))
            pad[:, : self.K] = np.eye(self.K)
            self.O3, self.Y3 = out @ pad, Y @ pad
            self.out_axes = [f"y{i + 1}" for i in range(3)]
        else:
            final = out[-1]
            mu = final.mean(axis=0)
            _, _, Vt = np.linalg.svd(final - mu, full_matrices=False)
            C = np.zeros((3, self.K))
            C[: min(3, len(Vt))] = Vt[:3]
            self.O3, self.Y3 = (out - mu) @ C.T, (Y - mu) @ C.T
            self.out_axes = ["out PC1", "out PC2", "out PC3"]
        self.out_center = self.Y3.mean(axis=0) if self.K <= 3 else np.zeros(3)
        self.out_radius = max(_robust_radius(self.O3[-1] - self.out_center),
                              1.15 * float(np.max(np.linalg.norm(self.Y3 - self.out_center, axis=1))))
        self.scalars = {k: a[k].astype(float) for k in ("train_acc", "test_acc", "nc1_hidden", "delta_p") if k in a}
        if "train_acc" not in self.scalars:   # traces that do not record it: the outputs say it
            pred = np.argmax(out[:, :, targets], axis=2)
            self.scalars["train_acc"] = (pred == self.labels[None, :]).mean(axis=1)

    def _rays(self, E: np.ndarray) -> np.ndarray:
        """Edge rays per snapshot and layer ``(S, L, R, 3)`` as displacement vectors in units of the radius."""
        S, L, M = E.shape[:3]
        n = np.linalg.norm(E, axis=-1)                                       # (S, L, M)
        if M <= 8:
            return np.where(n[..., None] > 0, E / np.maximum(n[..., None], 1e-300), 0.0) * 0.6
        R = min(MAX_RAYS, M)
        out = np.zeros((S, L, R, 3))
        for s in range(S):
            for l in range(L):
                top = np.argsort(-n[s, l])[:R]
                mx = n[s, l, top[0]] if n[s, l, top[0]] > 0 else 1.0
                out[s, l] = E[s, l, top] / mx * 0.6
        return out


class _Base:
    """Shared drawing helpers: orthographic orbit camera, panels, pinning, cone drawing."""

    def __init__(self, trace, fps: int, theme: str, elevation_deg: float = 25.0, azimuth_deg: float = -60.0,
                 orbit_deg: float = 40.0, view: str = "input"):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        self.v = LayerTraceView(trace, view)
        self.tr = trace
        self.fps = int(fps)
        self.theme = THEMES[theme]
        self.elev = np.deg2rad(elevation_deg)
        self.azim0 = np.deg2rad(azimuth_deg)
        self.orbit = np.deg2rad(orbit_deg)

    def azimuth(self, i: int) -> float:
        return self.azim0 + self.orbit * i / max(1, self.n_frames - 1)

    def screen(self, P3: np.ndarray, panel: Rect, az: float, center: np.ndarray, radius: float) -> np.ndarray:
        B = camera_basis(az, self.elev)
        return (P3 - center) @ B.T * (0.45 * panel.w / radius) + np.array([panel.cx, panel.cy])

    pin = staticmethod(TruncationFrames._pin)

    def axes_segments(self, panel: Rect, az: float, center: np.ndarray, radius: float, origin: np.ndarray | None):
        o = center if origin is None else origin
        ends = o + 0.7 * radius * np.eye(3)
        a0 = self.screen(o[None], panel, az, center, radius)[0]
        return [[a0, e] for e in self.screen(ends, panel, az, center, radius)]

    def cone_segments(self, p3: np.ndarray, rays: np.ndarray, panel: Rect, az: float, color: str,
                      point_r: float, view: tuple[np.ndarray, float]) -> tuple[list, list, np.ndarray]:
        """Segments of one cone (rays from the base point, or a chevron when it is off-view) and its marker.

        Rays are in units of the view radius (see :meth:`LayerTraceView._rays`)."""
        center, radius = view
        p = self.screen(p3[None], panel, az, center, radius)[0]
        segs, cols = [], []
        inside = bool(panel.contains(p[None])[0]) if np.isfinite(p).all() else False
        if not np.isfinite(p).all():
            return segs, cols, np.full(2, np.nan)
        if inside:
            ends = self.screen(p3 + radius * rays, panel, az, center, radius)
            for e, r in zip(ends, rays, strict=True):
                if np.any(r):
                    segs.append([p, _clip_to(panel, p, e)])
                    cols.append(color)
            return segs, cols, p
        q = self.pin(p[None], panel, inset=8.0 * point_r)[0]
        for a, b in _chevron(q, p - q, 2.5 * point_r, 6.0 * point_r):
            segs.append([a, b])
            cols.append(color)
        return segs, cols, q


class TrainingFrames(_Base):
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
                     f"{str(cfg.get('optimizer', '?')).upper()} lr {_num(meta.get('lr', cfg.get('lr', '?')))}  ·  "
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


class LayersFrames(_Base):
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
