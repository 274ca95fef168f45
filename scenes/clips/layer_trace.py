"""What the ``layers`` and ``training`` clips share: a trace read in 3D view coordinates, the title-card lines
of a run, and the orbit camera and cone drawing of their panels.

Both clips read a trace in either form (:mod:`geomdl.io.trace`): full (``truncated``, ``base_points``, ``edges``;
e.g. ``truncation-speed``) or projected (``truncated_proj``, ``base_points_proj``, ``edges_proj``; e.g. the MNIST
``layers`` experiment). Coordinates: ``M = 3`` full traces and identity-projected traces show input space itself;
otherwise the PCA fitted once on the original data (stored in the trace) is used for every snapshot and layer.

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
    Points,
    Rect,
    _chevron,
    _clip_to,
    camera_basis,
)
from scenes.clips.truncation_speed import TruncationFrames

MAX_RAYS = 24
VIEWS = ("input", "layer")   # input space T_l(X) (docs/math.md §2.4), or each layer's activations x^(l) in its own PCA


def dataset_name(meta: dict) -> str:
    if meta.get("dataset") == "mnist":
        return f"MNIST digits {' '.join(map(str, meta.get('digits', [])))}"
    if meta.get("dataset") == "clustered":
        return r"clustered balls in $\mathbb{R}^3$"
    if meta.get("dataset") == "own":
        return f"your data ({meta.get('data_name', 'file')})"
    if meta.get("kind") == "network":
        return str(meta.get("title") or "your network")
    return str(meta.get("kind", "?"))


def space(m: int) -> str:
    """``$\\mathbb{R}^{m}$`` as mathtext."""
    return f"$\\mathbb{{R}}^{{{m}}}$"


def fmt_num(v) -> str:
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
            f"Q = {Q} clustered classes in {space(M)}, {N} points ({cfg.get('cluster_kind', 'ball')}s of radius "
            f"{fmt_num(cfg.get('radius', '?'))})",
            f"ReLU network, {len(widths)} hidden layers of width {M}, started from the zero-loss construction",
            "layer 1 starts with " + ", ".join(f"{f:g}" for f in fr) + " of its class collapsed" if fr else "",
            f"{opt}, lr {fmt_num(meta.get('lr', cfg.get('lr', '?')))}, {loss}, "
            f"{meta.get('steps', cfg.get('steps', '?'))} steps, seed {seed}, {cfg.get('dtype', '')}",
            stopped,
        ]
    held = f", {fmt_num(100 * cfg['test_fraction'])}% held out for testing" if "test_fraction" in cfg else ""
    if meta.get("dataset") == "mnist":
        data = f"{dataset_name(meta)} (Q = {Q}): {N} training digits in {space(M)}{held}"
    else:
        data = f"Q = {Q} clustered classes: {N} training points in {space(M)}{held}"
    source = str(meta.get("source", "")).removeprefix("clustered: ")
    out_dim = meta.get("output_dim", Q)
    batch = f", batch {cfg.get('batch_size')}" if str(cfg.get("optimizer")).lower() == "sgd" else ""
    mom = f", momentum {fmt_num(cfg['momentum'])}" if cfg.get("momentum") else ""
    thresholds = cfg.get("thresholds") or []
    reached = meta.get("thresholds_reached", {})
    marks = [f"{t:g} at step {reached[f'{t:g}'][0]}" if f"{t:g}" in reached else f"{t:g} not reached"
             for t in thresholds]
    return [
        data,
        f"data: {source}" if source else "",
        f"ReLU network, random init: {len(widths)} hidden layers (widths {', '.join(map(str, widths))}), "
        f"{out_dim} outputs",
        f"{opt}, lr {fmt_num(cfg.get('lr', '?'))}{batch}{mom}, {loss}, at most {cfg.get('steps', '?')} steps, "
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
            "(the activations leave the image of $W^{(l)}$); the exact layer-space view: --view layer")


def layer_view_lines(lines: list[str]) -> list[str]:
    """Card lines for the layer-space view: the picture lines say what this clip shows instead."""
    out, skip = [], False
    for ln in lines:
        if ln.startswith("APPROXIMATE input-space picture") or ln.startswith("input-space picture exact"):
            out.append("this clip: each layer's activations $x^{(l)}$ in its own PCA (fitted on the first snapshot): "
                       "exact")
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
        f"{N} points in {space(M)}, Q = {meta['Q']} classes"
        + (f"  ·  data: {meta['data_name']}" if meta.get("data_name") else ""),
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


class LayerClip:
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

    def screen(self, P3: np.ndarray, panel: Rect, az: float, center: np.ndarray, radius: float,
               elev: float | None = None) -> np.ndarray:
        B = camera_basis(az, self.elev if elev is None else elev)
        return (P3 - center) @ B.T * (0.45 * panel.w / radius) + np.array([panel.cx, panel.cy])

    pin = staticmethod(TruncationFrames._pin)

    def axes_segments(self, panel: Rect, az: float, center: np.ndarray, radius: float, origin: np.ndarray | None,
                      elev: float | None = None):
        o = center if origin is None else origin
        ends = o + 0.7 * radius * np.eye(3)
        a0 = self.screen(o[None], panel, az, center, radius, elev)[0]
        return [[a0, e] for e in self.screen(ends, panel, az, center, radius, elev)]

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


# -- collapse made visible (both clips) ---------------------------------------------------------------------
SIZE_LEVELS = 5          # base-point markers grow in this many steps with the share of points sitting on them


def growing_marker(prefix: str, xy: np.ndarray | None, color: int, share: float, r0: float) -> list[Points]:
    """A ringed marker at ``xy: (2,)`` whose radius grows with ``share`` in [0, 1] (the fraction of a class
    sitting on it): one :class:`Points` group per size level, all but one empty, so every group keeps one radius
    and one name from frame to frame (renderers update groups in place). ``xy=None``: no marker this frame."""
    level = int(round(float(np.clip(share, 0.0, 1.0)) * (SIZE_LEVELS - 1)))
    out = []
    for b in range(SIZE_LEVELS):
        here = xy is not None and b == level and np.isfinite(xy).all()
        out.append(Points(f"{prefix}_s{b}", np.reshape(xy, (1, 2)) if here else np.zeros((0, 2)),
                          np.array([color] if here else [], dtype=int), r0 * (1.6 + 1.1 * b), ring=True))
    return out


def class_counts(flag: np.ndarray, labels: np.ndarray, q: int) -> np.ndarray:
    """``(q,)`` number of points of each class with ``flag`` set (``flag, labels: (N,)``)."""
    return np.bincount(labels[flag], minlength=q)[:q]


def collapse_text(counts: np.ndarray, sizes: np.ndarray, most: int = 2) -> str:
    """``"116 / 200 of class 1, 3 / 200 of class 2"``: the classes with collapsed points, largest first (at most
    ``most``, then ``"+ k more classes"``), numbered from 1; ``"none"`` when there are none."""
    order = [int(j) for j in np.argsort(-counts, kind="stable") if counts[j] > 0]
    if not order:
        return "none"
    parts = [f"{int(counts[j])} / {int(sizes[j])} of class {j + 1}" for j in order[:most]]
    if len(order) > most:
        k = len(order) - most
        parts.append(f"+ {k} more class{'es' if k > 1 else ''}")
    return ", ".join(parts)


def stage_math(k: int, view: str = "input") -> str:
    """Mathtext name of stage ``k`` of the layer chain: ``$X$``, ``$T_1(X)$``, ... (``$x^{(k)}$`` in layer view)."""
    if k == 0:
        return "$X$"
    return f"$x^{{({k})}}$" if view == "layer" else f"$T_{{{k}}}(X)$"


def framed_view(P: np.ndarray, extra: np.ndarray | None = None, keep: float = 0.99) -> tuple[np.ndarray, float]:
    """Centre and radius of a camera framed to points ``P: (..., 3)`` and every finite ``extra`` point (base
    points): the ``keep`` share of ``P`` nearest their median (stray points get pinned to the border) and all of
    ``extra``, centred on their bounding box, so that no orbit of the camera cuts any of them off."""
    P = P.reshape(-1, 3)
    P = P[np.isfinite(P).all(axis=1)]
    if len(P) == 0:
        return np.zeros(3), 1.0
    d = np.linalg.norm(P - np.median(P, axis=0), axis=1)
    P = P[d <= np.quantile(d, keep)]
    if extra is not None:
        e = extra.reshape(-1, 3)
        P = np.concatenate([P, e[np.isfinite(e).all(axis=1)]])
    c = 0.5 * (P.min(axis=0) + P.max(axis=0))
    r = 1.06 * float(np.max(np.linalg.norm(P - c, axis=1)))
    return c, (r if r > 1e-9 else 1.0)


def widest_view(P: np.ndarray, panel: Rect, keep: float = 0.99, fill: float = 0.86,
                like: np.ndarray | None = None) -> np.ndarray:
    """``(N, 2)`` figure positions of ``P: (N, 3)`` in ``panel`` seen along the cloud's least-spread principal
    axis (an orthographic camera on its two widest principal directions, signs fixed so that each direction's
    largest component is positive), centred and scaled alike on both axes so that the ``keep`` share of the
    points nearest their median fills ``fill`` of the panel; non-finite rows stay NaN. ``like: (2, 3)``, a camera's
    screen basis: the two directions are turned (or mirrored) in their plane to be nearest it, so that the view
    reads as that camera's does. A nearly planar stage
    (the outputs near the reference simplex, a late ``T_l(X)``) then shows its spread instead of its edge."""
    P = np.asarray(P, dtype=float).reshape(-1, 3)
    out = np.full((len(P), 2), np.nan)
    ok = np.isfinite(P).all(axis=1)
    if ok.sum() < 2:
        if ok.any():
            out[ok] = [panel.cx, panel.cy]
        return out
    Q = P[ok]
    d = np.linalg.norm(Q - np.median(Q, axis=0), axis=1)
    core = Q[d <= np.quantile(d, keep)]
    mu = core.mean(axis=0)
    _, _, Vt = np.linalg.svd(core - mu, full_matrices=False)
    B = Vt[:2].copy()
    if len(B) < 2:
        B = np.eye(3)[:2]
    for r in range(2):
        if B[r, np.argmax(np.abs(B[r]))] < 0:
            B[r] = -B[r]
    if like is not None:      # orthogonal Procrustes: the 2 x 2 turn R of B nearest the camera's basis
        U, _, Wt = np.linalg.svd(np.asarray(like, dtype=float) @ B.T)
        B = (U @ Wt) @ B
    uv_core = (core - mu) @ B.T
    lo, hi = uv_core.min(axis=0), uv_core.max(axis=0)
    ext = float(np.max(hi - lo))
    s = fill * min(panel.w, panel.h) / ext if ext > 1e-12 else 1.0
    out[ok] = ((Q - mu) @ B.T - 0.5 * (lo + hi)) * s + np.array([panel.cx, panel.cy])
    return out


def facing_camera(P: np.ndarray, keep: float = 0.99) -> tuple[float, float]:
    """``(azimuth, elevation)`` (radians, elevation >= 0) of an orthographic camera looking along the normal of the
    best-fit plane of ``P: (N, 3)`` (its least-spread principal axis, over the ``keep`` share of the points
    nearest their median): a nearly planar cloud (outputs near the simplex of the reference outputs) is seen
    face-on, and an orbit of a few tens of degrees about it never turns it edge-on."""
    P = np.asarray(P, dtype=float).reshape(-1, 3)
    P = P[np.isfinite(P).all(axis=1)]
    if len(P) < 3:
        return 0.0, float(np.pi / 2)
    d = np.linalg.norm(P - np.median(P, axis=0), axis=1)
    core = P[d <= np.quantile(d, keep)]
    _, _, Vt = np.linalg.svd(core - core.mean(axis=0), full_matrices=True)
    n = Vt[-1] if Vt.shape[0] == 3 and np.isfinite(Vt).all() else np.array([0.0, 0.0, 1.0])
    n = -n if n[2] < 0 else n
    return float(np.arctan2(n[1], n[0])), float(np.arcsin(np.clip(n[2], -1.0, 1.0)))

