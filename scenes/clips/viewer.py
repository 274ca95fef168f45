"""The data model of the interactive viewer (``geomdl render SCENE --format html``): a trace turned into 3-D
panels over its snapshots, in the same projection and views as the clips, ready to be written into a page.

No drawing and no HTML here (that is :mod:`scenes.backends.html_viewer`): only arrays.

- Truncation-picture kinds (``truncation-speed``, ``layers``, ``cones``, ``local-minima``, ``perturbation``,
  ``network``): the panels are the input ``X``, then ``T_l(X)`` for every hidden layer ``l`` with its cone
  (base point and edge rays), then the outputs. Coordinates, panel views (centre, radius) and edge rays are
  those of :class:`scenes.clips.layer_trace.LayerTraceView`, which the ``training`` and ``layers`` clips draw:
  ``M = 3`` shows input space itself, larger ``M`` the PCA fitted once on ``X`` (stored in the trace).
- ``flows``: one panel per flow, the outputs ``x_r(s) in R^Q`` at each grid time with their whole trajectories
  and the targets, in the projection of :class:`scenes.clips.flows.FlowsFrames`.

Each panel is a cube ``centre +- half`` (``half`` = 1.1 view radii, as far as the clips' panels reach);
points outside it are pinned to its surface along the ray from the centre, as the clips pin them to the panel
border. Coordinates are quantised to 16 bits per panel cube (:func:`quantise`); when the page would exceed its
size budget, snapshots, then points, are decimated evenly (:func:`plan`), and the model says so in ``notes``.
Collapsed counts are always computed from every point of the trace, decimated or not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geomdl.errors import GeomdlError
from scenes.clips.base import CLASS_COLORS, class_color

QMAX = 32767            # int16 code of the cube's face; -32768 marks a missing (NaN) coordinate
MISSING = -32768
HALF = 1.1              # panel cube half-size in view radii
MIN_SNAPSHOTS = 24      # decimate points rather than go below this many snapshots
PANEL_KINDS = ("truncation-speed", "layers", "cones", "local-minima", "perturbation", "network")
# the clip whose title-card lines (the run's parameters) head the page, per trace kind
CARD_LINES = {"truncation-speed": "scenes.clips.truncation_speed:TruncationFrames",
              "layers": "scenes.clips.training:TrainingFrames", "network": "scenes.clips.training:TrainingFrames",
              "cones": "scenes.clips.cones:ConesFrames", "local-minima": "scenes.clips.local_minima:LocalMinimaFrames",
              "perturbation": "scenes.clips.perturbation:PerturbationFrames", "flows": "scenes.clips.flows:FlowsFrames"}
STEP_NAMES = {"local-minima": "tour stop", "cones": "layer construction", "flows": "grid point"}


@dataclass
class Panel:
    """One 3-D panel. ``pos``: ``(S, n, 3)`` positions per snapshot (``(1, n, 3)`` when fixed), inside the cube
    ``center +- half`` (pinned); ``k``: ``(S, n)`` truncation state per point (layer panels) or ``None``;
    ``width``: the layer's width ``M_l`` (a point is collapsed when ``k == width``); ``base``: ``(S, 3)`` base
    points (pinned), ``base_off``: ``(S,)`` whether the base point lies outside the cube; ``rays``: ``(S, R, 2,
    3)`` edge-ray segments clipped to the cube; ``extra``: named fixed point sets ``(m, 3)`` (targets, reference
    base points); ``trails``: ``(n, T, 3)`` whole trajectories (flows)."""

    key: str
    title: str
    color: str
    center: np.ndarray
    half: float
    axes: list[str]
    pos: np.ndarray
    k: np.ndarray | None = None
    width: int | None = None
    layer: int | None = None
    base: np.ndarray | None = None
    base_off: np.ndarray | None = None
    rays: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    trails: np.ndarray | None = None


@dataclass
class ViewerModel:
    """What the page shows. ``steps``/``loss``: ``(S,)`` of the snapshots kept; ``scalars``: name -> ``(S,)``
    readouts; ``counts``: ``(S, L, Q)`` collapsed points per layer and class (all points), ``class_sizes``:
    ``(Q,)``; ``labels``/``index``: ``(n,)`` class and trace index of each point drawn; ``snapshots``: the
    trace's snapshot index of each kept snapshot."""

    kind: str
    title: str
    lines: list[str]
    step_name: str
    steps: np.ndarray
    loss: np.ndarray
    scalars: dict[str, np.ndarray]
    counts: np.ndarray | None
    class_sizes: np.ndarray
    labels: np.ndarray
    index: np.ndarray
    snapshots: np.ndarray
    panels: list[Panel]
    Q: int
    n_total: int
    s_total: int
    notes: list[str]
    meta: dict
    palette: list[str] = field(default_factory=lambda: list(CLASS_COLORS))


# -- sizes and decimation ------------------------------------------------------------------------------------

def plan(S: int, N: int, bytes_per_point_snapshot: float, fixed_bytes: float, budget: float,
         labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Snapshots and points to keep so that ``fixed_bytes + n * s * bytes_per_point_snapshot <= budget``.

    Snapshots go first (evenly spaced, the first and last kept) down to ``min(S, MIN_SNAPSHOTS)``; then points
    (evenly within each class, so every class keeps its share). Returns sorted index arrays ``(s,)``, ``(n,)``.
    """
    room = max(budget - fixed_bytes, 0.0)
    s_keep = S
    if N * S * bytes_per_point_snapshot > room:
        s_keep = max(min(S, MIN_SNAPSHOTS), int(room // max(N * bytes_per_point_snapshot, 1e-9)))
        s_keep = min(s_keep, S)
    snaps = np.unique(np.round(np.linspace(0, S - 1, max(s_keep, 1))).astype(np.int64)) if S > 1 else np.zeros(1, int)
    n_keep = N
    if N * len(snaps) * bytes_per_point_snapshot > room:
        n_keep = max(len(np.unique(labels)), int(room // max(len(snaps) * bytes_per_point_snapshot, 1e-9)))
    return snaps, thin_points(labels, n_keep)


def thin_points(labels: np.ndarray, n_keep: int) -> np.ndarray:
    """About ``n_keep`` point indices, evenly spaced within each class (every class keeps at least one)."""
    N = len(labels)
    if n_keep >= N:
        return np.arange(N)
    keep = []
    for j in np.unique(labels):
        idx = np.flatnonzero(labels == j)
        m = max(1, int(round(len(idx) * n_keep / N)))
        keep.append(idx[np.unique(np.round(np.linspace(0, len(idx) - 1, m)).astype(np.int64))])
    return np.sort(np.concatenate(keep))


def pin(P: np.ndarray, center: np.ndarray, half: float) -> tuple[np.ndarray, np.ndarray]:
    """Points ``P: (..., 3)`` outside the cube ``center +- half`` moved onto its surface (along the ray from the
    centre); returns the pinned points and the ``(...)`` mask of those moved. NaN stays NaN."""
    d = P - center
    k = np.max(np.abs(d), axis=-1) / half
    off = np.isfinite(k) & (k > 1)
    out = np.array(P, dtype=float)
    out[off] = center + d[off] / k[off, None]
    return out, off


def quantise(P: np.ndarray, center: np.ndarray, half: float) -> np.ndarray:
    """Int16 codes of points ``P: (..., 3)`` inside the cube: ``round((P - center) / half * QMAX)``, with
    :data:`MISSING` for NaN. Decoding ``center + code / QMAX * half`` is within ``half / (2 QMAX)``."""
    q = np.rint(np.clip((P - center) / half, -1.0, 1.0) * QMAX)
    q = np.where(np.isfinite(q), q, MISSING)
    return q.astype("<i2")


def dequantise(q: np.ndarray, center: np.ndarray, half: float) -> np.ndarray:
    """Inverse of :func:`quantise` (NaN for :data:`MISSING`), what the page's script computes."""
    q = np.asarray(q)
    out = center + q.astype(float) / QMAX * half
    return np.where(q == MISSING, np.nan, out)


def clip_rays(base: np.ndarray, ends: np.ndarray, center: np.ndarray, half: float) -> np.ndarray:
    """Segments ``base -> ends`` shortened to end inside the cube. ``base: (..., 3)`` (inside), ``ends:
    (..., R, 3)``; returns ``(..., R, 2, 3)``."""
    b = np.broadcast_to(base[..., None, :], ends.shape)
    d = ends - b
    with np.errstate(divide="ignore", invalid="ignore"):
        hi = np.where(d > 0, (center + half - b) / d, np.inf)
        lo = np.where(d < 0, (center - half - b) / d, np.inf)
    t = np.clip(np.min(np.minimum(hi, lo), axis=-1), 0.0, 1.0)
    return np.stack([b, b + t[..., None] * d], axis=-2)


# -- building the model --------------------------------------------------------------------------------------

def has_panels(trace) -> bool:
    kind = trace.meta.get("kind")
    return kind == "flows" or (kind in PANEL_KINDS and ("truncated" in trace.arrays
                                                        or "truncated_proj" in trace.arrays))


def build(trace, budget_bytes: float, scene_lines: list[str] | None = None, view: str = "input") -> ViewerModel:
    """The viewer model of ``trace`` within ``budget_bytes`` of point data (positions and truncation states as
    the page stores them: base64 of int16/int8). ``view``: ``input`` (the truncation picture ``T_l(X)``) or
    ``layer`` (each layer's activations in its own PCA, as ``--view layer``). A kind without per-layer panels
    is a :class:`GeomdlError`."""
    kind = trace.meta.get("kind")
    if kind == "flows":
        if view != "input":
            raise GeomdlError("a flows trace has only the output view")
        return _build_flows(trace, budget_bytes, scene_lines)
    if not has_panels(trace):
        raise GeomdlError(f"a {kind!r} trace has no per-layer panels to view; the viewer draws "
                          f"{', '.join((*PANEL_KINDS, 'flows'))} traces")
    return _build_layers(trace, budget_bytes, scene_lines, view)


def _b64(nbytes: float) -> float:
    return nbytes * 4.0 / 3.0


def _build_layers(trace, budget: float, scene_lines: list[str] | None, view: str) -> ViewerModel:
    from scenes.clips.layer_trace import LayerTraceView  # noqa: PLC0415

    v = LayerTraceView(trace, view)
    a, meta = trace.arrays, trace.meta
    kind = meta.get("kind")
    Q = int(meta["Q"])
    if v.L < 1:
        raise GeomdlError("this trace has no hidden layer: the viewer has no layer panel to draw")
    kbytes = 2 if a["k_trunc"].dtype.itemsize > 1 or int(np.max(v.widths)) > 127 else 1
    per = _b64(6 * (v.L + 1) + kbytes * v.L)            # layer panels and outputs move; X is fixed
    R = v.E3.shape[2]
    fixed = _b64(6 * v.N + v.S * v.L * 6 * (1 + 2 * R))   # input panel; base points and rays of every snapshot
    snaps, idx = plan(v.S, v.N, per, fixed, budget, v.labels)

    # collapsed counts per layer and class, from every point
    onehot = v.labels[None, :] == np.arange(Q)[:, None]                                   # (Q, N)
    counts = np.einsum("sln,qn->slq", v.collapsed.astype(np.int64), onehot.astype(np.int64))[snaps]
    sizes = onehot.sum(axis=1)

    views = panel_views(kind, v, view)
    panels: list[Panel] = []
    c0, r0 = views[0]
    h0 = HALF * r0
    X3, _ = pin(v.X3[idx], c0, h0)
    panels.append(Panel("input", "input $X$", "fg", c0, h0, list(v.axis_names), X3[None]))
    k_all = a["k_trunc"].astype(np.int64)
    for l in range(v.L):
        c, r = views[l + 1]
        h = HALF * r
        P, _ = pin(v.T3[snaps][:, l][:, idx], c, h)
        B, off = pin(v.P3[snaps][:, l], c, h)
        ends = v.P3[snaps][:, l][:, None, :] + r * v.E3[snaps][:, l]                     # (S, R, 3)
        live = np.any(v.E3[snaps][:, l] != 0, axis=-1)                                   # (S, R)
        rays = clip_rays(B, ends, c, h)
        rays[~live] = np.nan
        rays[off] = np.nan                                                                # off view: no rays
        extra = {}
        if "reference_base_points" in a and "truncated" in a and view == "input":
            ref = _project_full(trace, np.asarray(a["reference_base_points"], dtype=float)[l][None])
            extra["construction's base point"] = pin(ref, c, h)[0]
        title = (f"layer {l + 1}: $x^{{({l + 1})}}$ (its own PCA)" if view == "layer"
                 else f"layer {l + 1}: $T_{{{l + 1}}}(X)$")
        panels.append(Panel(f"layer{l + 1}", title, class_color(l), c, h,
                            list(v.axis_names), P, k=k_all[snaps][:, l][:, idx], width=int(v.widths[l]),
                            layer=l + 1, base=B, base_off=off, rays=rays, extra=extra))
    oc, orad = v.out_center, v.out_radius
    ho = HALF * orad
    O3, _ = pin(v.O3[snaps][:, idx], oc, ho)
    panels.append(Panel("outputs", f"outputs in $R^{{{v.K}}}$", "fg", oc, ho, list(v.out_axes), O3,
                        extra={"targets": pin(v.Y3, oc, ho)[0]}))

    scalars = {name: np.asarray(vals, dtype=float)[snaps] for name, vals in v.scalars.items()}
    for name, arr in a.items():          # every other per-snapshot number the trace records (e.g. grad_norm)
        if (name not in scalars and name not in ("steps", "loss") and arr.ndim == 1 and len(arr) == v.S
                and arr.dtype.kind in "fiu"):
            scalars[name] = np.asarray(arr, dtype=float)[snaps]
    notes = _notes(len(snaps), v.S, len(idx), v.N)
    if v.M > 3:
        notes.append(f"$M = {v.M}$: every panel shows the PCA to 3-D fitted once on $X$ (stored in the trace)")
    pic = meta.get("picture") or {}
    if pic and not pic.get("exact", True):
        notes.append("approximate input-space picture at layer(s) "
                     f"{', '.join(map(str, pic.get('approximate_layers', [])))} (see the trace's notes)")
    return ViewerModel(kind, _title(trace), scene_lines or [], STEP_NAMES.get(kind, "step"), v.steps[snaps],
                       v.loss[snaps], scalars, counts, sizes, v.labels[idx], idx, snaps, panels, Q, v.N, v.S,
                       notes, meta)


def panel_views(kind: str, v, view: str = "input") -> list[tuple[np.ndarray, float]]:
    """``(centre, radius)`` of the input and layer panels, as the clip of ``kind`` frames them: one view for
    every panel, centred on the data mean with radius 1.1 max ``|X|`` (``truncation-speed``, ``local-minima``,
    ``perturbation``: :class:`~scenes.clips.truncation_speed.TruncationFrames`), the construction's view
    (``cones``: :class:`~scenes.clips.cones.ConesFrames`), else each panel's own view over all snapshots
    (:class:`~scenes.clips.layer_trace.LayerTraceView`, as the ``training`` clip)."""
    if view == "input" and kind in ("truncation-speed", "local-minima", "perturbation"):
        X3 = v.X3[np.isfinite(v.X3).all(axis=1)]
        r = 1.1 * float(np.max(np.linalg.norm(X3, axis=1), initial=0.0)) or 1.0
        return [(np.zeros(3), r)] * (v.L + 1)
    if view == "input" and kind == "cones":
        c = v.X3.mean(axis=0)
        rx = float(np.max(np.linalg.norm(v.X3 - c, axis=1))) or 1.0
        P = v.P3[0][np.isfinite(v.P3[0]).all(axis=1)]
        rp = float(np.max(np.linalg.norm(P - c, axis=1), initial=0.0))
        return [(c, 1.1 * max(rx, min(rp, 1.8 * rx)))] * (v.L + 1)
    return list(v.panel_view)


def _project_full(trace, P: np.ndarray) -> np.ndarray:
    """Input-space points of a full trace in the 3-D coordinates :class:`LayerTraceView` uses."""
    a = trace.arrays
    M = a["X"].shape[1]
    if M == 3:
        mean, comps = a["X"].mean(axis=0), np.eye(3)
    else:
        mean, comps = a["pca_mean"], a["pca_components"]
    return (P - mean) @ comps.T


def _build_flows(trace, budget: float, scene_lines: list[str] | None) -> ViewerModel:
    from scenes.clips.flows import FlowsFrames  # noqa: PLC0415

    fr = FlowsFrames(trace, fps=1, duration=2.0, card_seconds=0.0)
    a, meta = trace.arrays, trace.meta
    outs = np.asarray(a["outputs"], dtype=float)                         # (F, S, N, Q)
    F, S, N = outs.shape[:3]
    labels = a["labels"].astype(np.int64)
    valid = np.asarray(a["valid"], dtype=bool) if "valid" in a else np.isfinite(outs).all(axis=(2, 3))
    last = [int(np.flatnonzero(valid[f])[-1]) if valid[f].any() else 0 for f in range(F)]
    # a stopped flow keeps its last state
    P3 = np.stack([fr._to3(np.where(valid[f][:, None, None], outs[f], outs[f][last[f]][None]))
                   for f in range(F)])                                   # (F, S, N, 3)
    Y3 = fr._to3(np.asarray(a["Y"], dtype=float))
    pts = np.concatenate([P3.reshape(-1, 3), Y3, np.zeros((1, 3))])
    pts = pts[np.isfinite(pts).all(axis=1)]
    center = 0.5 * (pts.min(0) + pts.max(0))
    radius = float(np.max(np.linalg.norm(pts - center, axis=1))) or 1.0
    half = 1.02 * radius
    trail_T = min(S, 40)
    per = _b64(6 * F)
    fixed = _b64(F * N * trail_T * 6)
    snaps, idx = plan(S, N, per, fixed, budget, labels)
    tgrid = np.unique(np.round(np.linspace(0, S - 1, trail_T)).astype(np.int64))
    labels_meta = meta.get("labels") or [f"flow {f + 1}" for f in range(F)]
    axes = ["y1", "y2", "y3"] if int(meta["Q"]) == 3 else ["PC1", "PC2", "PC3"]
    panels = []
    for f in range(F):
        color = "#0072B2" if f == fr.fs else "#D55E00" if f == fr.fa else CLASS_COLORS[(f + 5) % len(CLASS_COLORS)]
        P, _ = pin(P3[f][snaps][:, idx], center, half)
        tr3, _ = pin(np.swapaxes(P3[f][tgrid][:, idx], 0, 1), center, half)
        panels.append(Panel(f"flow{f + 1}", str(labels_meta[f]), color, center, half, axes, P,
                            extra={"targets": pin(Y3, center, half)[0]}, trails=tr3))
    cost = np.asarray(a["cost"], dtype=float)
    scalars = {f"cost: {labels_meta[f]}": cost[f][snaps] for f in range(F)}
    scalars["flow time s"] = np.asarray(a["s"], dtype=float)[snaps]
    Q = int(meta["Q"])
    sizes = np.bincount(labels, minlength=Q)
    notes = _notes(len(snaps), S, len(idx), N)
    if Q != 3:
        notes.append(f"$Q = {Q}$: outputs shown in a fixed 3-D PCA of the targets and the initial outputs")
    loss = cost[fr.fs][snaps] if fr.fs is not None else cost[0][snaps]
    return ViewerModel("flows", _title(trace), scene_lines or [], STEP_NAMES["flows"],
                       np.asarray(a["steps"])[snaps], loss, scalars, None, sizes, labels[idx], idx, snaps,
                       panels, Q, N, S, notes, meta)


def _notes(s: int, S: int, n: int, N: int) -> list[str]:
    out = [f"{s} of {S} snapshots" + ("" if s == S else " (evenly spaced: decimated to fit the page size)")
           + f"; {n} of {N} points" + ("" if n == N else " (evenly within each class: decimated to fit the "
                                                          "page size; counts use every point)"),
           "coordinates quantised to 16 bits per panel (error below 1/65534 of a panel's width); points "
           "outside a panel are pinned to its faces"]
    return out


def _title(trace) -> str:
    meta = trace.meta
    kind = meta.get("kind", "?")
    what = {"truncation-speed": "Truncation during training", "layers": "Training, layer by layer",
            "cones": "A zero-loss construction, layer by layer", "local-minima": "A tour of the toggle points",
            "perturbation": "A perturbed construction retrained", "network": "Your network, layer by layer",
            "flows": "Gradient flows in output space"}.get(kind, kind)
    if meta.get("title"):
        what = f"{meta['title']}: {what[0].lower()}{what[1:]}"
    return f"{what}  ·  Q = {meta.get('Q', '?')}, M = {meta.get('M', '?')}  ·  seed {meta.get('seed', '?')}"
