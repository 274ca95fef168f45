"""Renderer-agnostic frame model of the ``truncation-speed`` clip.

Everything is in *figure units*: x in [0, 16], y in [0, 9], origin bottom-left. A renderer maps these to its
own coordinates and draws the returned primitives; it computes nothing about the trace itself. This is what
keeps Manim and matplotlib at parity (same trace in, same content out).

Layout: a grid of 3D panels on the left (input data ``X``, then ``T_l(X)`` for every hidden layer ``l``), a
readout (title, step, loss, per layer the points of its class on its base point and the contraction rate) and a
live chart of the points on each base point (log scale by default: is the collapse exponential?) on the right.

Projection: for ``M = 3`` the panels show input space itself; for ``M > 3`` the trace's PCA (fitted once on
``X``) maps every snapshot and layer to ``R^3``. A slow orbit (azimuth turning, fixed elevation) is applied
with an orthographic camera. Each panel's camera is fixed over the clip and framed to what that panel shows over
the whole run, the data *and* the base points (capped at :data:`FRAME_CAP` times the data's own radius: a base
point further out is pinned to the border of the panel's view, with a chevron pointing to it). Panel titles sit
in a strip above the view, so nothing is pinned onto them.

The collapse made visible: each base point's marker grows with the number of points sitting on it (area
proportional to the count) and carries a count badge; points that arrive on a base point are drawn with a
comet trail (faint tail, full head, fading with age) from where they were
:attr:`TruncationFrames.trail_seconds` of clip time ago, and the base point ripples while points arrive.
After the title card the panels appear one after the other and their cones' rays grow (a build-up both
renderers draw, since it is in the frame model).

Contraction rate (``geomdl.math.contraction``, T. Chen, arXiv 2501.07400): for each layer and the class it
collapses, ``lambda = -d/dt log s`` with ``s`` the RMS distance of the class's not-yet-collapsed points from
the base point and ``t = lr x step`` the gradient-flow time, estimated from the trace's ``truncated`` and
``base_points`` arrays between snapshots and averaged over :attr:`TruncationFrames.rate_seconds` of animation;
shown where it is defined.

Between snapshots, positions are interpolated linearly (smooth motion); collapse flags and counts are taken
from the nearest snapshot.
"""

from __future__ import annotations

import numpy as np

from geomdl.errors import GeomdlError
from geomdl.math.contraction import contraction_rates
from scenes.clips import marks
from scenes.clips.base import (
    FIG_W,
    GREY,
    JIT_MIN,
    TEXT_MIN,
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
    badge_anchor,
    badge_radius,
    bounding_sphere,
    camera_basis,
    circle_segments,
    class_color,
    class_name,
    clip_timeline,
    comet_segments,
    exact_groups,
    figure_size,
    first_of_each,
    fit_first,
    fit_text_size,
    fit_title,
    fitted_layout,
    is_wide,
    jit_kernels,
    mix,
    nice_ceil,
    nice_ticks,
    ray_samples,
    row_hash,
    tex_sci,
    text_ink,
    text_width,
    tick_text,
    unique_gathered,
    view_rect,
)

WEIGHTED_AVOID = 4096  # from this many points a panel's badge avoids each distinct position once, weighted
FRAME_CAP = 2.5        # a panel's camera takes in base points up to this many data radii from the data
COUNT_SCALES = ("log", "linear")


def meta_lr(meta: dict) -> str:
    """The step size a truncation-speed run used: the resolved ``meta["lr"]`` (automatic step sizes leave
    ``config["lr"]`` at ``None``), else the configured one."""
    lr = meta.get("lr", meta.get("config", {}).get("lr"))
    return "?" if lr is None else f"{lr:g}" if isinstance(lr, (int, float)) else str(lr)


def _lr_text(meta: dict) -> str:
    auto = meta.get("config", {}).get("lr", 0) is None and meta.get("sharpness")
    return (f"lr {meta_lr(meta)} (= {meta['config'].get('lr_scale', '?')} / sharpness {meta['sharpness']:.3g})"
            if auto else f"lr {meta_lr(meta)}")


def counts_by_class(collapsed: np.ndarray, labels: np.ndarray, Q: int) -> np.ndarray:
    """Collapsed points per class: ``collapsed: (S, L, N)`` bool, ``labels: (N,)`` in ``0..Q-1`` ->
    ``(S, L, Q)`` int counts."""
    onehot = np.eye(Q, dtype=np.int64)[np.asarray(labels, dtype=np.int64)]        # (N, Q)
    return np.einsum("sln,nq->slq", collapsed.astype(np.int64), onehot)


def _rows(xy: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """``xy[sel]`` for ``xy: (n, 2)`` and ``sel`` indices or a boolean mask: the same rows, ~10x faster on 100k
    points than fancy indexing (``np.take`` / ``np.compress`` along axis 0)."""
    sel = np.asarray(sel)
    return np.compress(sel, xy, axis=0) if sel.dtype == bool else np.take(xy, sel, axis=0)


def _remember(cache: dict, key, value, entries: int):
    """``cache[key] = value``, the oldest entry dropped beyond ``entries``; returns ``value``."""
    cache[key] = value
    if len(cache) > entries:
        del cache[next(iter(cache))]
    return value


def _smooth(t: float) -> float:
    """:func:`smoothstep` of a float, in Python floats (the same IEEE operations, no numpy scalars)."""
    t = min(max(float(t), 0.0), 1.0)
    return t * t * (3 - 2 * t)


def _all_finite(xy: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """Whether every value of ``xy: (n, 2)`` is finite, and ``(n,)`` whether each row is (``None`` when all are).
    A finite sum of the values says so in one pass (an infinity or NaN makes the sum non-finite); otherwise (or
    an overflow) row by row."""
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.add.reduce(xy, axis=None)):
            return True, None
    fin = np.isfinite(xy[:, 0]) & np.isfinite(xy[:, 1])        # faster than .all(axis=1)
    return bool(fin.all()), fin


def _all_float64(*arrays: np.ndarray) -> bool:
    """Whether every one of ``arrays`` is float64 and C-contiguous (what the numba kernels are compiled for)."""
    return all(a.dtype == np.float64 and a.flags.c_contiguous for a in arrays)


def _append(head: np.ndarray, last: float) -> np.ndarray:
    """``np.append(head.astype(float), last)`` for ``head: (n,)``: ``(n + 1,)`` float64."""
    out = np.empty(len(head) + 1)
    out[:-1] = head
    out[-1] = last
    return out


def _inside(r: Rect, p: np.ndarray) -> bool:
    """``r.contains(p[None])[0]`` for one point ``p: (2,)``."""
    x, y = p[0], p[1]
    return bool(x >= r.x and x <= r.x + r.w and y >= r.y and y <= r.y + r.h)


def _cat(xy: list[np.ndarray], color: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated point groups ``(n, 2)``, ``(n,)`` (empty arrays for no groups)."""
    if not xy:
        return np.zeros((0, 2)), np.zeros(0, np.int64)
    return np.concatenate(xy), np.concatenate(color)


class TruncationFrames:
    """Frames of the truncation clip for one trace.

    ``fps`` and ``duration`` (seconds of animated training) fix the frame count; ``hold_start`` and
    ``hold_end`` seconds show the first and last snapshot still (the camera keeps orbiting; the panels build up
    during the first ``build_seconds``). ``count_scale``: ``log`` (default) or ``linear`` y axis of the chart.
    """

    show_rates = True          # the contraction-rate readout (subclasses whose snapshots are no time series: off)
    min_chart = 0.7            # narrow canvases: the chart keeps at least this share of its 16:9 width
    trail_seconds = 1.2        # arrivals keep a comet trail from where they were this long ago, fading with age
    ripple_seconds = 0.6       # period of the ripple of a base point while points arrive
    rate_seconds = 0.6         # the contraction-rate readout averages over this much animation

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, hold_start: float = 1.6,
                 hold_end: float = 1.4, theme: str = "light", orbit_deg: float = 50.0,
                 elevation_deg: float = 30.0, azimuth_deg: float = 20.0, card_seconds: float = 2.0,
                 build_seconds: float = 1.4, count_scale: str = "log", aspect: float | None = None):
        if theme not in THEMES:
            raise ValueError(f"unknown theme {theme!r}")
        if count_scale not in COUNT_SCALES:
            raise ValueError(f"unknown count_scale {count_scale!r}; known: {', '.join(COUNT_SCALES)}")
        self.tr = trace
        self.fps = int(fps)
        self.theme = THEMES[theme]
        self.count_scale = count_scale
        self.fig_w, self.fig_h = figure_size(aspect)
        self.card = TitleCard(self.card_lines(trace), self.fps, self.theme, card_seconds,
                              size=(self.fig_w, self.fig_h)) if card_seconds > 0 else None
        self.n_hold0, self.n_anim, self.n_hold1, self.n_frames = clip_timeline(
            self.fps, duration, hold_start, hold_end, self.card.n_frames if self.card else 0)
        self.n_build0 = self.card.n_frames if self.card else 0
        self.n_build = max(1, int(round(build_seconds * self.fps)))
        self.orbit = np.deg2rad(orbit_deg)
        self.elev = np.deg2rad(elevation_deg)
        self.azim0 = np.deg2rad(azimuth_deg)

        a = trace.arrays
        self.labels = np.asarray(a["labels"]).astype(np.int64)
        self.steps = a["steps"]
        self.loss = a["loss"]
        self.S, self.L = a["truncated"].shape[:2]
        self.N, self.M = a["X"].shape
        self.Q = int(trace.meta.get("Q", int(self.labels.max()) + 1))
        widths = trace.meta.get("widths") or [self.M] * self.L
        self.widths = np.array(widths[: self.L])
        # collapsed flags (S, L, N), counts per layer (S, L) and per layer and class (S, L, Q)
        self.collapsed = a["k_trunc"].astype(np.int64) == self.widths[None, :, None]
        self.counts = self.collapsed.sum(axis=2)
        self.class_counts = counts_by_class(self.collapsed, self.labels, self.Q)
        self.class_sizes = np.bincount(self.labels, minlength=self.Q)
        # the class each layer collapses: the one with the most collapsed points there over the run (-1: none)
        tot = self.class_counts.sum(axis=0)                                     # (L, Q)
        self.layer_class = np.where(tot.max(axis=1) > 0, tot.argmax(axis=1), -1)
        # 3D coordinates: raw input space for M == 3, the stored PCA otherwise (M < 3 is zero-padded)
        if self.M == 3:
            self.mean, self.comps = a["X"].mean(axis=0), np.eye(3)
            self.axis_names = ["x1", "x2", "x3"]
        else:
            self.mean, self.comps = a["pca_mean"], a["pca_components"]
            self.axis_names = ["PC1", "PC2", "PC3"]
        self.X3 = self._to3(a["X"])
        self.T3 = self._to3(a["truncated"])                 # (S, L, N, 3)
        self.P3 = self._to3(a["base_points"])               # (S, L, 3)
        E = np.nan_to_num(np.swapaxes(a["edges"], 2, 3))    # (S, L, M_l -> M, M): edge i as a row
        E3 = E @ self.comps.T                                # directions: no centring
        n = np.linalg.norm(E3, axis=-1, keepdims=True)
        self.E3 = np.where(n > 0, E3 / np.maximum(n, 1e-300), 0.0)
        self.radius = 1.1 * float(np.max(np.linalg.norm(self.X3, axis=1))) or 1.0    # the data's scale
        self.origin3 = self._to3(np.zeros((1, self.M)))[0] if self.M == 3 else np.zeros(3)

        # layout: panels (title strip + view), one fixed camera per panel framed to its data and base points
        # the canvas: the 16:9 layout, or the panels and the right column re-arranged for its aspect
        self.lay, self.chart_scale = fitted_layout(self.fig_w, self.fig_h, self.side_blocks, self.L + 1,
                                                   Rect(0.3, 0.35, 9.9, 7.6), lo=0.45, min_chart=self.min_chart)
        self.title_y = self.lay.title_y
        self.panels = self.lay.panels
        self.views = [view_rect(p) for p in self.panels]
        self.cams = [self._frame_camera(l) for l in range(self.L + 1)]
        self.place_side(self.lay, self.chart_scale)
        self.point_r = 0.028 * (self.panels[0].w / 3.7) ** 0.5
        self.plot_ymax = nice_ceil(1.08 * max(1, int(self.counts.max())))  # headroom: a full count stays visible
        self.step_max = max(1, int(self.steps[-1]))
        self.rate_unit = "t"
        self.rates = self._rates() if self.show_rates else None

    # -- layout: the right column's blocks in 16:9 units (scenes.clips.base.layout moves them) ----------------
    @property
    def legend_cols(self) -> int:
        """Legend entries a row, under the chart's x axis: three (two under a narrow canvas's narrower chart)."""
        return 3 if is_wide(self.fig_w, self.fig_h) else 2

    def _chart_rect(self, s: float) -> Rect:
        legend_rows = -(-self.L // self.legend_cols)
        return Rect(11.3, 1.13 + 0.32 * legend_rows, 4.3, (3.07 - 0.32 * legend_rows) * s)

    def side_blocks(self, s: float) -> tuple[Rect, Rect]:
        """The 16:9 boxes around the readout and around the chart (plot height ``s`` times its 16:9 one)."""
        pl = self._chart_rect(s)
        legend_rows = -(-self.L // self.legend_cols)
        bottom = pl.y - 0.95 - 0.32 * (legend_rows - 1) - 0.14
        chart = Rect(pl.x - 0.8, bottom, 5.45, pl.y + pl.h + 0.42 - bottom)     # the last x tick overhangs
        return self.readout_block(), chart

    def two_line(self) -> bool:
        """The count and the rate of each layer on two lines (up to 3 layers, beside the panels)."""
        return self.show_rates and self.L <= 3 and is_wide(self.fig_w, self.fig_h)

    def readout_block(self) -> Rect:
        two = self.two_line()
        pitch = 0.68 if two else min(0.42, 2.2 / max(self.L - 1, 1))
        low = 8.0 - 1.05 - pitch * (self.L - 1) - (0.31 if two else 0.0) - 0.15
        width = FIG_W - 0.12 - 10.9 if is_wide(self.fig_w, self.fig_h) else 4.7
        return Rect(10.9, low, width, 8.2 - low)

    def fit(self, text: str, size: float, x: float) -> float:
        """Text height of a readout line at ``x``: ``size``, made to fit the readout's room on canvases other
        than 16:9 (whose layout is kept as it is)."""
        return size if self.lay.is_16x9 else fit_text_size(text, size, self.lay.room_x - x)

    def fit_line(self, texts: list[str], size: float, x: float) -> tuple[str, float]:
        """The first of ``texts`` (a readout line, then shorter spellings of it) that fits the readout's room at
        ``x`` at least at :data:`TEXT_MIN`, and its height (:meth:`fit`); 16:9: the first, as it is."""
        if self.lay.is_16x9:
            return texts[0], size
        room = self.lay.room_x - x
        return fit_first(texts, size, room)

    def place_side(self, lay, s: float) -> None:
        """The chart and readout places on the canvas of layout ``lay``."""
        self.plot = lay.chart.rect(self._chart_rect(s))
        self.readout_xy = (lay.readout.x(10.9), lay.readout.y(8.0))

    @staticmethod
    def card_lines(trace) -> list[str]:
        """Title and parameters of the run, for the title card."""
        cfg, meta = trace.meta.get("config", {}), trace.meta
        N = len(trace.arrays["X"])
        fr = cfg.get("start_fractions", [])
        lines = [
            "Speed of truncation during training",
            f"$Q = {meta['Q']}$ clustered classes in $\\mathbb{{R}}^{{{meta['M']}}}$, {N} points "
            f"({cfg.get('cluster_kind', 'ball')}s of radius {cfg.get('radius', '?')})",
            f"ReLU network, {len(meta.get('widths', []))} hidden layers of width {meta['M']}, started from the "
            f"zero-loss construction",
            "layer 1 starts with " + ", ".join(f"{f:g}" for f in fr) + " of class 1 collapsed" if fr else "",
            f"{str(cfg.get('optimizer', '?')).upper()}, {_lr_text(meta)}, {str(meta.get('loss', '?')).upper()}, "
            f"{meta.get('steps', cfg.get('steps', '?'))} steps, seed {meta.get('seed', '?')}, {cfg.get('dtype', '')}",
            "$\\lambda$: contraction rate, the spread of a class's points not yet collapsed "
            "$\\propto e^{-\\lambda t}$, $t = \\mathrm{lr} \\times \\mathrm{step}$",
            f"stopped: {meta.get('stop_reason', '?')}   ·   geomdl {meta.get('versions', {}).get('geomdl', '')}",
        ]
        return [ln for ln in lines if ln]

    # -- geometry helpers -------------------------------------------------------------------------
    def _to3(self, P: np.ndarray) -> np.ndarray:
        return (P - self.mean) @ self.comps.T

    def _frame_camera(self, l: int) -> tuple[np.ndarray, float]:
        """Centre (3,) and radius of panel ``l``'s fixed camera: a sphere around what the panel shows over the
        run (``X``; or every snapshot of ``T_l(X)`` and of the base point ``p_l``); points and base points further
        than :data:`FRAME_CAP` data radii out are left out of the framing (they are pinned)."""
        if l == 0:
            return bounding_sphere(self.X3)
        data = self.T3[:, l - 1].reshape(-1, 3)
        data = data[np.linalg.norm(data, axis=1) <= FRAME_CAP * self.radius]   # outliers are pinned, not framed
        c, r = bounding_sphere(data)
        r = max(r, 0.25 * self.radius)            # a layer that collapses everything: keep a sensible scale
        P = self.P3[:, l - 1]
        P = P[np.isfinite(P).all(axis=1)]
        near = P[np.linalg.norm(P - c, axis=1) <= FRAME_CAP * r]
        c2, r2 = bounding_sphere(data, near)
        return c2, 1.06 * r2

    def _screen(self, P3: np.ndarray, l: int, azim: float, centred: bool = False) -> np.ndarray:
        """Screen positions (figure units) of ``P3: (..., 3)`` in panel ``l``'s view (``centred``: ``P3`` is
        already ``P3 - c``, ``c`` the panel camera's centre). The product is numpy's (BLAS); from :data:`JIT_MIN`
        rows its scale and shift is one numba pass (:func:`scenes.clips.point_jit.scale_shift`, the same
        operations)."""
        BT, s, centre = self._projection(l, azim)
        xy = (P3 if centred else P3 - self.cams[l][0]) @ BT   # ((P3 - c) @ B.T) * s + centre, in place
        jit = (jit_kernels() if xy.ndim == 2 and len(xy) >= JIT_MIN and xy.flags.c_contiguous
               and _all_float64(xy, centre) else None)
        if jit is not None:         # one pass: the same product and sum, row by row
            jit.scale_shift(xy, s, float(centre[0]), float(centre[1]))
            return xy
        xy *= s
        if xy.ndim == 2 and len(xy) > 64 and xy.flags.c_contiguous:
            xy += self._tiled(centre, len(xy))      # the same sums, without a broadcast over rows of 2
        else:
            xy += centre
        return xy

    def _tiled(self, v: np.ndarray, n: int) -> np.ndarray:
        """``(n, len(v))``: ``v`` in every row, read-only (an array as long as the longest asked for is kept
        per vector: adding it is the same as broadcasting ``v``, and much faster for short rows)."""
        cache = self.__dict__.setdefault("_tiles", {})
        key = (len(v), v.tobytes())
        got = cache.get(key)
        if got is None or len(got) < n:
            got = np.tile(v, (max(n, self.N), 1))
            got.flags.writeable = False
            cache[key] = got
        return got[:n]

    def _projection(self, l: int, azim: float) -> tuple[np.ndarray, float, np.ndarray]:
        """``(B.T, s, centre)`` of panel ``l``'s view at azimuth ``azim``: the camera basis (transposed), the scale
        and the view's centre (the basis of the last azimuth asked for and each panel's scale kept)."""
        got = self.__dict__.get("_basis")
        if got is None or got[0] != azim:
            got = self.__dict__["_basis"] = (azim, camera_basis(azim, self.elev))
        s, centre = self._view_fit(l)
        return got[1].T, s, centre

    def _view_fit(self, l: int) -> tuple[float, np.ndarray]:
        """Panel ``l``'s view scale and centre ``(2,)`` (the same at every azimuth; kept per panel)."""
        fit = self.__dict__.setdefault("_fits", {})
        sc = fit.get(l)
        if sc is None:
            v, (_, r) = self.views[l], self.cams[l]
            sc = fit[l] = (0.48 * min(v.w, v.h) / r, np.array([v.cx, v.cy]))
        return sc

    @staticmethod
    def _pin(xy: np.ndarray, panel: Rect, inset: float = 0.06) -> np.ndarray:
        """Move points outside ``panel`` onto its border (along the ray from the panel centre): a point is outside
        when ``k = max(|x - cx| / hx, |y - cy| / hy) > 1`` (``hx, hy``: the half sizes less ``inset``), and goes
        to ``c + (p - c) / k``."""
        return TruncationFrames._pin_into(np.array(xy, dtype=float), panel, inset)

    @staticmethod
    def _pin_into(out: np.ndarray, panel: Rect, inset: float = 0.06) -> np.ndarray:
        """:meth:`_pin` in place on ``out: (n, 2)`` float64 (a fresh array the caller owns); returns it."""
        c = np.array([panel.cx, panel.cy])
        half = np.array([panel.w / 2 - inset, panel.h / 2 - inset])
        # k and the move computed only for the points beyond a box a hair (1e-9 relative) inside the panel's:
        # a superset of those with k > 1 (k > 1 needs |x - cx| > hx (1 - 2^-53)), without two divisions
        # and a subtraction per point; NaN compares False (its k is NaN: never moved)
        m = 1e-9 * (np.abs(c) + np.abs(half))
        lo, hi = c - half + m, c + half - m
        x, y = out[:, 0], out[:, 1]
        near = np.flatnonzero((x < lo[0]) | (x > hi[0]) | (y < lo[1]) | (y > hi[1]))
        if len(near):
            d = out[near] - c
            k = np.maximum(np.abs(d[:, 0]) / half[0], np.abs(d[:, 1]) / half[1])   # faster than max(axis=1)
            far = k > 1                                                            # usually few: move only those
            out[near[far]] = c + d[far] / k[far, None]
        return out

    def _rates(self) -> np.ndarray | None:
        """Contraction rate of each layer's class per snapshot interval, ``(L, S-1)`` (NaN where undefined), in
        units of gradient-flow time ``t = lr x step`` (of steps when the trace has no numeric lr); None when
        the snapshots are no time series."""
        if self.S < 2 or not np.all(np.diff(self.steps) > 0):
            return None
        lr = self.tr.meta.get("lr", self.tr.meta.get("config", {}).get("lr"))
        self.rate_unit = "t" if isinstance(lr, (int, float)) and lr > 0 else "step"
        times = self.steps.astype(float) * (float(lr) if self.rate_unit == "t" else 1.0)
        T = np.asarray(self.tr.arrays["truncated"], dtype=float)
        B = np.asarray(self.tr.arrays["base_points"], dtype=float)
        out = np.full((self.L, self.S - 1), np.nan)
        for l in range(self.L):
            j = int(self.layer_class[l])
            if j < 0:
                continue
            try:
                out[l] = contraction_rates(times, T[:, l], B[:, l], self.collapsed[:, l], self.labels == j)["rate"]
            except GeomdlError:
                continue
        return out

    def rate_at(self, l: int, u: float) -> float:
        """Layer ``l``'s contraction rate around fractional snapshot ``u``: the mean of the finite interval rates
        over :attr:`rate_seconds` of animation (NaN when none)."""
        if self.rates is None:
            return float("nan")
        k = self.window_snapshots()
        lo, hi = max(0, int(np.floor(u - k))), min(self.S - 1, int(np.ceil(u + k)))
        owner, cache = self.__dict__.get("_rate_cache", (None, None))
        if owner is not self.rates:              # (cached per window for these rates)
            owner, cache = self.__dict__["_rate_cache"] = (self.rates, {})
        got = cache.get((l, lo, hi))
        if got is None:
            r = self.rates[l, lo:max(hi, lo + 1)]
            r = r[np.isfinite(r)]
            got = cache[(l, lo, hi)] = float(r.mean()) if len(r) else float("nan")
        return got

    def window_snapshots(self) -> float:
        """Snapshots covered by :attr:`rate_seconds` of animation (the contraction-rate readout's window)."""
        return max(1.0, self.rate_seconds * self.fps * (self.S - 1) / max(self.n_anim - 1, 1))

    def snapshot_position(self, i: int) -> float:
        """Fractional snapshot index ``u`` in ``[0, S-1]`` of frame ``i``."""
        j = min(max(i - self.n_hold0, 0), self.n_anim - 1)
        return j / (self.n_anim - 1) * (self.S - 1)

    def azimuth(self, i: int) -> float:
        return self.azim0 + self.orbit * i / max(1, self.n_frames - 1)

    def appear(self, l: int, i: int) -> tuple[float, float]:
        """Build-up of panel ``l`` at frame ``i``: ``(opacity of the panel, length fraction of its rays)``;
        the panels appear one after the other over the first :attr:`n_build` frames after the card."""
        t = (i - self.n_build0) / self.n_build
        start = 0.5 * l / max(self.L, 1)
        x = (t - start) / 0.5
        return _smooth(2 * x), _smooth(2 * x - 1)

    def layer_color(self, l: int, sn: int) -> str:
        """Colour of layer ``l`` (0-based) at snapshot ``sn``: its class's."""
        c = int(self.layer_class[l])
        return class_color(c) if c >= 0 else self.theme["muted"]

    def layer_class_at(self, l: int, sn: int) -> int:
        return int(self.layer_class[l])

    # -- static and dynamic content -------------------------------------------------------------
    def static(self) -> Frame:
        """What every frame shares: the title, the chart box, its ticks, axis labels and legend."""
        f = Frame()
        cfg = self.tr.meta.get("config", {})
        title = (f"Truncation during training  ·  $Q = {self.tr.meta['Q']}$, $M = {self.M}$  ·  "
                 f"{cfg.get('optimizer', '?').upper()}, {self.tr.meta.get('loss', '?').upper()}  ·  "
                 f"seed {self.tr.meta.get('seed', '?')}")
        self.static_panels(f, title, [])
        title = "on each base point" + (" (log scale)" if self.count_scale == "log" else "")
        self.count_chart(f, self.plot, title, self.plot_ymax)
        return f

    def count_y(self, n: np.ndarray, top: float) -> np.ndarray:
        """Chart height fraction of counts ``n`` (chart top ``top``): ``log10(1 + n)`` on the log scale."""
        n = np.asarray(n, dtype=float)
        if self.count_scale == "log":
            return np.log10(1 + np.maximum(n, 0)) / np.log10(1 + top)
        return n / top

    def count_ticks(self, top: float) -> list[float]:
        if self.count_scale == "log":
            t = [0.0] + [10.0**k for k in range(int(np.floor(np.log10(top))) + 1)]
            t = t if top / t[-1] < 3 else [*t, float(top)]
        else:
            t = nice_ticks(top, 4)
        if self.lay.is_16x9:
            return t
        keep, last = [], -1.0        # a short chart: ticks whose labels would touch are left out (the ends stay)
        for k, v in enumerate(t):
            y = float(self.count_y(v, top)) * self.plot.h
            if k in (0, len(t) - 1) or y - last >= 0.3 and float(self.count_y(t[-1], top)) * self.plot.h - y >= 0.3:
                keep.append(v)
                last = y
        return keep

    def step_x(self, steps: np.ndarray, r: Rect) -> np.ndarray:
        return r.x + r.w * np.asarray(steps, dtype=float) / self.step_max

    def count_chart(self, f: Frame, pl: Rect, title: str, top: float) -> None:
        """Axes, grid, ticks, axis labels and the legend (one entry per layer) of a count chart in ``pl``."""
        th = self.theme
        grid = [[[pl.x, pl.y + pl.h * y], [pl.x + pl.w, pl.y + pl.h * y]]
                for y in self.count_y(np.array(self.count_ticks(top)), top)]
        f.segments.append(Segments("chart_grid", np.array(grid).reshape(-1, 2, 2),
                                   [mix(th["panel"], th["bg"], 0.55)] * len(grid), 0.01))
        f.segments.append(Segments("chart_axes", np.array([[[pl.x, pl.y], [pl.x + pl.w, pl.y]],
                                                           [[pl.x, pl.y], [pl.x, pl.y + pl.h]]]),
                                   [th["panel"]] * 2, 0.014))
        tx = pl.x if self.lay.wide else pl.x - 0.55          # narrow canvases: over the tick labels too
        if not self.lay.is_16x9:
            short = title.replace(" (log scale)", " (log)")
            title = next((t for t in (title, short, short.replace("on each base point", "on base points"))
                          if text_width(t, TEXT_MIN) <= self.fig_w - 0.12 - tx), short)
        f.labels.append(Label("plot_title", tx, pl.y + pl.h + 0.28, title,
                              fit_text_size(title, 0.22, self.fig_w - 0.12 - tx), th["fg"]))
        for k, v in enumerate(self.count_ticks(top)):
            f.labels.append(Label(f"plot_y{k}", pl.x - 0.1, pl.y + pl.h * float(self.count_y(v, top)),
                                  tick_text(v), TEXT_MIN, th["muted"], "right"))
        end = float(self.step_max)        # the last step's tick, and round ticks whose labels stay clear of it
        clear = float(self.step_x(end, pl)) - text_width(tick_text(end), TEXT_MIN) / 2 - 0.15
        xt = [v for v in nice_ticks(self.step_max, 3) if v <= 0.86 * self.step_max
              and float(self.step_x(v, pl)) + text_width(tick_text(v), TEXT_MIN) / 2 <= clear] + [end]
        for k, v in enumerate(xt):
            f.labels.append(Label(f"plot_x{k}", float(self.step_x(v, pl)), pl.y - 0.24, tick_text(v), TEXT_MIN,
                                  th["muted"], "center"))
        f.labels.append(Label("plot_xl", pl.cx, pl.y - 0.56, "training step", TEXT_MIN, th["muted"], "center"))
        # legend: a swatch and "layer l" per layer (in its class's colour), three to a row
        segs, cols = [], []
        for l in range(self.L):
            r, c = divmod(l, self.legend_cols)
            x, y = pl.x - 0.55 + 1.45 * c, pl.y - 0.95 - 0.32 * r
            segs.append([[x, y], [x + 0.28, y]])
            j = int(self.layer_class[l])
            cols.append(class_color(j) if j >= 0 else th["muted"])
            f.labels.append(Label(f"legend{l}", x + 0.36, y, f"layer {l + 1}", TEXT_MIN, th["fg"]))
        f.segments.append(Segments("legend_swatches", np.array(segs).reshape(-1, 2, 2), cols, 0.05))

    def static_panels(self, f: Frame, title: str, boxes: list[Rect]) -> Frame:
        """The clip's title and the borders of ``boxes`` (the layer panels build up in :meth:`draw_panel_frames`)."""
        th = self.theme
        if not self.lay.is_16x9:
            title, size = fit_title(title, 0.30, self.fig_w - 0.7)
        else:
            size = 0.30
        f.labels.append(Label("title", 0.35, self.title_y, title, size, th["fg"], "left", "center"))
        if boxes:
            borders = [p.border() for p in boxes]
            f.segments.append(Segments("frames", np.concatenate(borders), [th["panel"]] * 4 * len(borders), 0.012))
        return f

    def draw_panel_frames(self, f: Frame, i: int, sn: int) -> None:
        """Panel borders and titles (in the strip above each view), faded in by the build-up."""
        th = self.theme
        borders, names = self._panel_borders()
        cols = []
        for l, p in enumerate(self.panels):
            a, _ = self.appear(l, i)
            cols += [mix(th["panel"], th["bg"], 1 - a)] * 4
            color = th["fg"] if l == 0 else text_ink(self.layer_color(l - 1, sn), th)
            f.labels.append(Label(f"panel{l}", p.x + 0.12, p.y + p.h - 0.21, names[l], 0.22,
                                  mix(color, th["bg"], 1 - a), "left", "center", alpha=1.0 if a > 0 else 0.0))
        f.segments.append(Segments("panel_frames", borders.copy(), cols, 0.012))

    def _panel_borders(self) -> tuple[np.ndarray, list[str]]:
        """The panels' borders ``(4 (L + 1), 2, 2)`` (read-only) and titles (computed once)."""
        got = self.__dict__.get("_borders")
        if got is None:
            names = []
            for l, p in enumerate(self.panels):
                wide = p.w >= 2.9           # room for "layer l: T_l(X)"
                names.append(("input $X$" if wide else "$X$") if l == 0 else (
                    f"layer {l}: $T_{{{l}}}(X)$" if wide else f"$T_{{{l}}}(X)$"))
            borders = np.concatenate([p.border() for p in self.panels])
            borders.flags.writeable = False
            got = self.__dict__["_borders"] = (borders, names)
        return got

    def frame(self, i: int) -> Frame:
        f = Frame()
        u = self.snapshot_position(i)
        s0, s1, w, sn = self.bracket(u)
        self.draw_panel_frames(f, i, sn)
        self.draw_panels(f, s0, s1, w, sn, self.azimuth(i), i)
        self.draw_readout(f, s0, s1, w, sn)
        return self.card.apply(f, i) if self.card else f

    def bracket(self, u: float) -> tuple[int, int, float, int]:
        """Snapshots around the fractional position ``u``: ``(s0, s1, weight of s1, nearest)``."""
        s0 = min(int(np.floor(u)), self.S - 1)
        s1 = min(s0 + 1, self.S - 1)
        return s0, s1, float(u - s0), min(int(round(u)), self.S - 1)

    def positions(self, u: float) -> np.ndarray:
        """Truncated points ``(L, N, 3)`` at fractional snapshot ``u``."""
        s0, s1, w, _ = self.bracket(u)
        return (1 - w) * self.T3[s0] + w * self.T3[s1]

    def draw_panels(self, f: Frame, s0: int, s1: int, w: float, sn: int, az: float, i: int = 10**9) -> None:
        """The 3D panels (X, then T_l(X) per layer) with axes, cones, base points, interpolated at ``w``; base
        points sized by and badged with their counts, arrivals trailed, the build-up of frame ``i`` applied."""
        th = self.theme
        P = (1 - w) * self.P3[s0] + w * self.P3[s1]          # (L, 3)
        E = (1 - w) * self.E3[s0] + w * self.E3[s1]          # (L, M, 3)
        ever = self._ever(sn)                                 # collapsed at some layer <= l
        # arrivals: collapsed now at a layer, not trail_seconds ago; their trail starts where they were then
        u_then = self.snapshot_position(i - int(round(self.trail_seconds * self.fps)))
        t0, t1, w_then, s_then = self.bracket(u_then)
        u_now = self.snapshot_position(i)
        period = max(1, int(round(self.ripple_seconds * self.fps)))
        pulse = (i % period) / period

        pts_xy, pts_c, ring_xy, ring_c, segs, seg_c, boxes = [], [], [], [], [], [], []
        trails, trail_c, ripples, ripple_c = [], [], [], []
        for l in range(self.L + 1):
            view = self.views[l]
            seg0 = len(segs)      # this panel's axes, rays and chevrons start here (what its badge avoids)
            a, grow = self.appear(l, i)
            if a <= 0:
                if l >= 1:
                    f.points.append(Points(f"base{l}", np.zeros((0, 2)), np.zeros(0, int), self.point_r,
                                           ring=True))
                    f.labels.append(Label(f"badge{l}", view.cx, view.cy, "", TEXT_MIN, th["fg"], alpha=0.0))
                continue
            shown = a >= 0.35
            # coordinate axes from the origin (input space) or the data mean (PCA), when it is in view
            a0 = self._screen(self.origin3[None], l, az)[0]
            if _inside(view, a0):
                axis_c = mix(th["muted"], th["bg"], 1 - a)
                for e in self._screen(self._axis_ends(), l, az):
                    segs.append([a0, _clip_to(view, a0, a0 + grow * (e - a0))])
                    seg_c.append(axis_c)
            flag = ever[-1] if l == 0 else ever[l - 1]
            # the panel's points (X, or T_l(X) interpolated at w) projected and pinned once per distinct path:
            # points whose positions at both snapshots are the same bits (those sitting on a base point) get
            # the same screen position, so it is computed for the first of them and gathered for the others
            first, inv, A0, A1 = self._paths(s0, s1, l)
            if l == 0:
                D = A0                                        # A0: X - c, computed once
            else:
                D = self._centred(s0, s1, w, l, A0, A1)
            xy_rep = self._screen(D, l, az, centred=True)
            xy_rep = xy_rep if xy_rep.dtype == np.float64 else xy_rep.astype(float)
            # a box that holds every point's screen position, well inside the view (known per interval from
            # how far the points are from the camera's centre): none is pinned, every one is finite
            box = self._screen_box(s0, s1, l) if 0.0 <= w <= 1.0 else None
            if box is None:
                xy_rep = self._pin_into(xy_rep, view)
                finite, fin = _all_finite(xy_rep)
            else:
                finite, fin = True, None
            repeats = len(first) != len(inv)
            if finite:
                xy, ok = None, None   # every point finite: each point's position is its path's (gathered as needed)
            else:
                xy = np.take(xy_rep, inv, axis=0) if repeats else xy_rep
                ok = np.take(fin, inv) if repeats else fin
            if shown:
                if finite:   # (as always with finite data) the split depends on the snapshots alone: cached
                    # without the points that repeat an earlier one of their group (same path, same class):
                    # _unique_points below would drop them (their screen positions are the same bits)
                    pl_g, pl_c, rg_g, rg_c = self._split(sn, l, flag, s0, s1)
                    pts_xy.append((xy_rep, pl_g))
                    ring_xy.append((xy_rep, rg_g))
                    boxes.append(box)
                else:
                    boxes.append(None)
                    plain, ringed = ok & ~flag, ok & flag
                    pl_c, rg_c = self.labels[plain], self.labels[ringed]
                    pts_xy.append(_rows(xy, plain))
                    ring_xy.append(_rows(xy, ringed))
                pts_c.append(pl_c)
                ring_c.append(rg_c)
            if l == 0:
                continue
            j = self.layer_class_at(l - 1, sn)
            c = self.layer_color(l - 1, sn)
            c_faded = mix(c, th["bg"], 1 - a)
            new = self._arrivals(sn, s_then, l)
            new = new if finite else new[ok[new]]
            if len(new) and shown:
                # where the new points were trail_seconds ago (self.positions(u_then), of these points only)
                then3 = (1 - w_then) * self.T3[t0, l - 1, new] + w_then * self.T3[t1, l - 1, new]
                start = self._pin(self._screen(then3, l, az), view)
                xy_new = np.take(xy_rep, inv[new] if repeats else new, axis=0) if finite else xy[new]
                keep = np.isfinite(start).all(axis=1) & (np.linalg.norm(xy_new - start, axis=1) > 1e-3)
                kept = new[keep]
                # age of each arrival: from the first snapshot it sits on the base point, as a fraction of the
                # trail window (a comet fades as it ages, instead of vanishing at once)
                arrived = s_then + np.argmax(self.collapsed[s_then:sn + 1, l - 1][:, kept], axis=0)
                age = (u_now - arrived) / max(u_now - u_then, 1e-9)
                names, known = self._ink_table()
                sg, sc = comet_segments(start[keep], xy_new[keep], names, th["bg"], fade=0.75 * np.clip(age, 0.0, 1.0),
                                        index=np.searchsorted(known, self.labels[kept]))
                trails.append(sg)
                trail_c += sc
            p3 = P[l - 1]
            p = self._screen(p3[None], l, az)[0]
            inside = _inside(view, p)
            n_on = int(self.counts[sn, l - 1])
            full = int(self.class_sizes[j]) if j >= 0 else self.N
            r_base = badge_radius(2.6 * self.point_r, n_on, full)
            if inside and grow > 0 and np.any(E[l - 1]):
                for e in self._screen(p3 + 0.6 * self.radius * E[l - 1], l, az):
                    segs.append([p, _clip_to(view, p, p + grow * (e - p))])
                    seg_c.append(c_faded)
            if inside:
                q = p
            else:  # pinned to the view's border, with a chevron pointing to where it really is
                q = self._pin(p[None], view, inset=r_base + 5.0 * self.point_r)[0]
                for u0, u1 in _chevron(q, p - q, 2.5 * self.point_r, r_base + 2.5 * self.point_r):
                    segs.append([u0, u1])
                    seg_c.append(c_faded)
            f.points.append(Points(f"base{l}", q[None], np.array([j if j >= 0 else GREY]), r_base * a, ring=True))
            # the badge: the count, and "+k" (bold) for the k points that arrived in the last trail_seconds
            badge = f"{n_on}" + (f" $\\mathbf{{+{len(new)}}}$" if len(new) else "")
            # off the panel's points, axes and rays, so that the badge reads (labels are drawn over them): each
            # distinct position once, counted as the points on it (the same counts as every point)
            if not shown:
                avoid, weights = None, None
            elif finite and repeats and len(inv) >= WEIGHTED_AVOID:
                # each path once, and those of several points again, weighted by their other points
                multi, extra = self._shared_paths(s0, s1, l)
                # column-major (the badge's tests read x and y each from contiguous memory; the same values),
                # unless numba tests them (one pass over the rows as they are)
                cols = xy_rep if marks.near_kernels(len(xy_rep)) is not None else np.ascontiguousarray(xy_rep.T).T
                avoid = [cols, np.take(xy_rep, multi, axis=0), ray_samples(segs[seg0:])]
                weights = [None, extra, None]
            elif finite:     # (few points: every point's position, as it is)
                avoid = np.concatenate([np.take(xy_rep, inv, axis=0) if repeats else xy_rep,
                                        ray_samples(segs[seg0:])])
                weights = None
            else:
                avoid, weights = np.concatenate([_rows(xy, ok), ray_samples(segs[seg0:])]), None
            bx, by, ha = badge_anchor(q, view, r_base, w=max(0.55, text_width(badge, 0.21)), avoid=avoid,
                                      weights=weights)
            f.labels.append(Label(f"badge{l}", bx, by, badge, 0.21, mix(c, th["fg"], 0.25), ha,
                                  alpha=1.0 if (shown and n_on > 0) else 0.0))
            if len(new):    # a ripple while points arrive: an expanding, fading ring
                ripples.append(circle_segments(q, r_base * (1.1 + 1.7 * pulse)))
                ripple_c += [mix(text_ink(c, th), th["bg"], pulse)] * len(ripples[-1])
        f.segments.append(Segments("axes_and_cones", np.array(segs).reshape(-1, 2, 2), seg_c, 0.02))
        f.segments.append(Segments("trails", np.concatenate(trails) if trails else np.zeros((0, 2, 2)), trail_c,
                                   0.035))
        f.segments.append(Segments("ripples", np.concatenate(ripples) if ripples else np.zeros((0, 2, 2)),
                                   ripple_c, 0.045))
        # every point of the groups in their panels' boxes (when all are known): the bounds of the repeats' keys
        bounds = None
        if boxes and all(b is not None for b in boxes):
            lab_lo, lab_hi = self._label_range()
            bounds = (min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes),
                      max(b[3] for b in boxes), lab_lo, lab_hi)
        for name, xy_parts, c_parts, r in (("points", pts_xy, pts_c, self.point_r),
                                           ("collapsed", ring_xy, ring_c, self.point_r * 1.5)):
            f.points.append(Points(name, *unique_gathered(xy_parts, c_parts, bounds), r, ring=name == "collapsed"))

    def _label_range(self) -> tuple[int, int]:
        """The least and greatest label (the colours of the panels' points)."""
        got = self.__dict__.get("_label_range_")
        if got is None:
            got = self.__dict__["_label_range_"] = ((int(self.labels.min()), int(self.labels.max()))
                                                    if len(self.labels) else (0, 0))
        return got

    def _arrivals(self, sn: int, s_then: int, l: int) -> np.ndarray:
        """Panel ``l``'s points collapsed at snapshot ``sn`` and not at ``s_then`` (ascending; cached)."""
        cache = self.__dict__.setdefault("_arrivals_cache", {})
        key = (sn, s_then, l)
        got = cache.get(key)
        if got is None:
            got = _remember(cache, key, np.flatnonzero(self.collapsed[sn, l - 1] & ~self.collapsed[s_then, l - 1]),
                            4 * (self.L + 1))
        return got

    def _reach(self, s: int, l: int) -> float:
        """The largest distance of panel ``l``'s points at snapshot ``s`` (panel 0: ``X``) from its camera's centre
        (NaN or inf when some point is not finite; cached)."""
        cache = self.__dict__.setdefault("_reach_cache", {})
        key = 0 if l == 0 else (s, l)
        got = cache.get(key)
        if got is None:
            P = self.X3 if l == 0 else self.T3[s, l - 1]
            with np.errstate(over="ignore", invalid="ignore"):
                d = P - self._tiled(self.cams[l][0], len(P))
                d *= d
                got = cache[key] = float(np.sqrt(np.max(d @ np.ones(3)))) if len(d) else 0.0
        return got

    def _screen_box(self, s0: int, s1: int, l: int) -> tuple[float, float, float, float] | None:
        """``(x0, x1, y0, y1)``: a box that holds the screen position of every point of panel ``l`` between
        snapshots ``s0`` and ``s1`` (at any weight in [0, 1] and azimuth) and that :meth:`_pin_into` leaves alone
        (every point inside it is kept where it is), or ``None`` when there is none (points far out or not
        finite).

        A point's offset from the camera's centre is ``D = (1 - w) (A0 - c) + w (A1 - c)``, so ``|D| <= R``, the
        larger reach (:meth:`_reach`) of the two snapshots; the camera's two screen axes are unit vectors, so
        each screen coordinate is within ``s R`` of the view's centre (``s``: the view's scale). The bound is
        widened far beyond the rounding of the computed positions (relative 1e-9, absolute 1e-9 of the
        coordinates' size; the rounding is ~1e-15)."""
        R = max(self._reach(s0, l), self._reach(s1, l))
        if not np.isfinite(R):
            return None
        v = self.views[l]
        s, centre = self._view_fit(l)
        cx, cy = float(centre[0]), float(centre[1])
        c = float(np.max(np.abs(self.cams[l][0])))
        b = s * (R * (1.0 + 1e-9) + 1e-9 * (R + 3.0 * c)) + 1e-9 * (1.0 + abs(cx) + abs(cy))
        # the box _pin_into leaves alone (its default inset): every coordinate within it stays as it is
        inset = 0.06
        half = (v.w / 2 - inset, v.h / 2 - inset)
        lo = [pc - h + 1e-9 * (abs(pc) + abs(h)) for pc, h in zip((v.cx, v.cy), half, strict=True)]
        hi = [pc + h - 1e-9 * (abs(pc) + abs(h)) for pc, h in zip((v.cx, v.cy), half, strict=True)]
        box = (cx - b, cx + b, cy - b, cy + b)
        if not (box[0] >= lo[0] and box[1] <= hi[0] and box[2] >= lo[1] and box[3] <= hi[1]):
            return None
        return box

    def _centred(self, s0: int, s1: int, w: float, l: int, A0: np.ndarray, A1: np.ndarray) -> np.ndarray:
        """``(1 - w) A0 + w A1 - c`` (``c``: panel ``l``'s camera centre), read-only; the last one per panel kept
        (a still frame, in the holds, asks for the same one again). From :data:`JIT_MIN` rows one numba pass
        (:func:`scenes.clips.point_jit.lerp_centred`: the same products, sum and difference)."""
        cache = self.__dict__.setdefault("_centred_cache", {})
        got = cache.get(l)
        if got is not None and got[0] == (s0, s1, w) and got[1] is A0:
            return got[2]
        c = self.cams[l][0]
        jit = jit_kernels() if len(A0) >= JIT_MIN and _all_float64(A0, A1, c) else None
        if jit is not None:     # one pass: the same products, sum and difference, row by row
            D = jit.lerp_centred(A0, A1, 1 - w, w, c, np.empty(A0.shape))
        else:   # in place: the same operations as the expression, fewer fresh arrays
            D = np.multiply(A0, 1 - w)
            D += np.multiply(A1, w)
            D -= self._tiled(c, len(D))    # (the same differences as broadcasting c, much faster)
        D.flags.writeable = False
        cache[l] = ((s0, s1, w), A0, D)
        return D

    def _axis_ends(self) -> np.ndarray:
        """``(3, 3)``: the ends of the coordinate axes drawn from the origin, ``0.75`` data radii long."""
        got = self.__dict__.get("_axis_ends_")
        if got is None:
            got = self.__dict__["_axis_ends_"] = self.origin3 + (0.75 * self.radius) * np.eye(3)
        return got

    def _class_inks(self) -> dict[int, str]:
        """Label value -> the text ink of its class colour on this theme (what an arriving point's trail is)."""
        got = self.__dict__.get("_inks")
        if got is None:
            got = self.__dict__["_inks"] = {int(k): text_ink(class_color(int(k)), self.theme)
                                            for k in np.unique(self.labels)}
        return got

    def _ink_table(self) -> tuple[list[str], np.ndarray]:
        """:meth:`_class_inks` as a list and the labels it is for (ascending): label ``known[k]``'s ink is
        ``names[k]``."""
        got = self.__dict__.get("_ink_table_")
        if got is None:
            inks = self._class_inks()
            known = np.array(sorted(inks), dtype=np.int64)
            got = self.__dict__["_ink_table_"] = ([inks[int(k)] for k in known], known)
        return got

    def _shared_paths(self, s0: int, s1: int, l: int) -> tuple[np.ndarray, np.ndarray]:
        """The distinct paths of :meth:`_paths` that several points share (ascending) and how many points each
        has beyond one: ``(K,)``, ``(K,)`` (typically the few on the base points)."""
        first, inv, _, _ = self._paths(s0, s1, l)
        key = (0, 0, 0) if l == 0 else (s0, s1, l)
        cache = self.__dict__.setdefault("_shared_cache", {})
        got = cache.get(key)
        if got is None or got[0] is not inv:
            size = np.bincount(inv, minlength=len(first))
            multi = np.flatnonzero(size > 1)
            extra = size[multi] - 1
            got = _remember(cache, key, (inv, multi, extra), 2 * (self.L + 1))
        return got[1], got[2]

    def _ever(self, sn: int) -> np.ndarray:
        """``(L, N)``: collapsed at snapshot ``sn`` at some layer <= l (cached per snapshot)."""
        cache = self.__dict__.setdefault("_ever_cache", {})
        if sn not in cache:
            cache[sn] = np.logical_or.accumulate(self.collapsed[sn], axis=0)
        return cache[sn]

    def _paths(self, s0: int, s1: int, l: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Panel ``l``'s points between snapshots ``s0`` and ``s1`` as distinct paths (:func:`exact_groups` of
        their positions at both): ``(first, inv, A0, A1)``, ``A0, A1: (G, 3)`` the first point of each path
        at ``s0`` and ``s1`` (panel 0: ``X - c`` for both, ``c`` its camera's centre). Cached for the panels of
        the last two intervals (frames come in order)."""
        key = (0, 0, 0) if l == 0 else (s0, s1, l)
        cache = self.__dict__.setdefault("_paths_cache", {})
        got = cache.pop(key, None)       # (re-inserted below: the least recently used entry goes first)
        if got is not None:
            cache[key] = got
        else:
            if l == 0:
                first, inv = exact_groups(self.X3)
                A0 = np.take(self.X3, first, axis=0) - self.cams[0][0]
                A1 = A0
            else:
                T0, T1 = self.T3[s0, l - 1], self.T3[s1, l - 1]
                # the rows' hash from each snapshot's (kept for the next interval, which shares s1)
                h = row_hash(T1, self._snapshot_hash(s0, l))
                first, inv = exact_groups(np.concatenate([T0, T1], axis=1), h)
                A0, A1 = np.take(T0, first, axis=0), np.take(T1, first, axis=0)
            got = _remember(cache, key, (first, inv, A0, A1), 2 * (self.L + 1))   # two intervals' panels
        return got

    def _snapshot_hash(self, s: int, l: int) -> np.ndarray:
        """:func:`row_hash` of panel ``l``'s points at snapshot ``s`` (the last two kept)."""
        cache = self.__dict__.setdefault("_hash_cache", {})
        got = cache.get((s, l))
        if got is None:
            got = _remember(cache, (s, l), row_hash(self.T3[s, l - 1]), 2 * (self.L + 1))
        return got

    def _split(self, sn: int, l: int, flag: np.ndarray, s0: int = 0, s1: int = 0
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Panel ``l``'s points at snapshot ``sn`` split by ``flag`` (collapsed), each without the points that
        repeat an earlier one of the same path (:meth:`_paths`, between ``s0`` and ``s1``) and class: the
        paths of the plain ones (rows of ``A0``), their labels, those of the ringed ones, their labels (cached
        for the panels of the last two intervals, both nearest snapshots)."""
        key_ = (sn, l) if l == 0 else (sn, l, s0, s1)
        cache = self.__dict__.setdefault("_split_cache", {})
        got = cache.pop(key_, None)
        if got is not None:
            cache[key_] = got
        else:
            first, inv, _, _ = self._paths(s0, s1, l)
            lab = self.labels
            if len(first) == len(inv):        # a path a point: no point repeats another
                plain, ringed = np.flatnonzero(~flag), np.flatnonzero(flag)
            else:
                # the first point of each (path, class, flag), in order, split by flag: the same as the first
                # of each (path, class) among the plain points and among the ringed ones
                lo = int(lab.min()) if len(lab) else 0
                span = int(lab.max()) - lo + 1 if len(lab) else 1
                jit = jit_kernels() if len(inv) >= JIT_MIN and 2 * span * len(first) <= 2**26 else None
                if jit is not None:     # numba: each key's first point by a table of the keys seen
                    keep = jit.first_keys(inv, lab, lo, span, flag.astype(np.int64), 2 * span * len(first))
                else:
                    key = inv * span + (lab - lo)
                    key <<= 1
                    key |= flag
                    keep = first_of_each(np.arange(len(key)), key)
                ring_k = flag[keep]
                plain, ringed = keep[~ring_k], keep[ring_k]
            got = _remember(cache, key_, (inv[plain], lab[plain], inv[ringed], lab[ringed]), 4 * (self.L + 1))
        return got

    def draw_readout(self, f: Frame, s0: int, s1: int, w: float, sn: int) -> None:
        """The live count chart and the step / loss / per-class count / contraction-rate readouts."""
        pl = self.plot
        upto = _append(self.steps[: s0 + 1], (1 - w) * self.steps[s0] + w * self.steps[s1])
        x = self.step_x(upto, pl)                                  # (the same for every layer's line)
        for l in range(self.L):
            ys = _append(self.counts[: s0 + 1, l], (1 - w) * self.counts[s0, l] + w * self.counts[s1, l])
            xy = np.empty((len(x), 2))                             # np.c_[x, y], filled in place
            xy[:, 0] = x
            xy[:, 1] = pl.y + pl.h * self.count_y(ys, self.plot_ymax)
            f.lines.append(Polyline(f"count{l}", xy, self.layer_color(l, sn), 0.035))
        step = (1 - w) * self.steps[s0] + w * self.steps[s1]
        loss = float(np.exp((1 - w) * np.log(max(self.loss[s0], 1e-300)) + w * np.log(max(self.loss[s1], 1e-300))))
        self.step_loss_counts(f, step, loss, sn, *self.readout_xy, first=1.05, row=0.42, size=0.22, u=s0 + w)

    def _layer_lines(self, sn: int, rates: list[float], two: bool, sz: float, room: float
                     ) -> tuple[list[tuple[str, str]], list[float]]:
        """:meth:`step_loss_counts`' per layer lines ``(count text, rate text)`` and the count texts' sizes."""
        lines = []
        for l, rate in enumerate(rates):
            txt = self.count_text(l, sn)
            per = "" if self.rate_unit == "t" else " per step"
            rtxt = (f"contraction rate $\\lambda_{{{l + 1}}} = {rate:.2g}${per}" if np.isfinite(rate)
                    else f"$\\lambda_{{{l + 1}}}$: none left to contract")
            if self.rates is not None and not two:
                txt += f"   $\\lambda$ {rate:.2g}" if np.isfinite(rate) else ""
            if text_width(txt, TEXT_MIN) > room:          # too long even small: the compact spelling
                txt = txt.replace(" / ", "/").replace("   ", "  ")
            lines.append((txt, rtxt))
        sizes = [fit_text_size(txt, sz, room) for txt, _ in lines]
        if not self.lay.is_16x9:                          # one size for every layer's line
            sizes = [min(sizes)] * len(sizes)
        return lines, sizes

    def count_text(self, l: int, sn: int) -> str:
        """``layer 1: 116 / 200 of class 1`` (plus the points of other classes on the base point, if any)."""
        j = self.layer_class_at(l, sn)
        if j < 0:
            return f"layer {l + 1}: no class collapses"
        n = int(self.class_counts[sn, l, j])
        other = int(self.counts[sn, l]) - n
        return (f"layer {l + 1}: {n} / {int(self.class_sizes[j])} of {class_name(j)}"
                + (f" (+{other})" if other else ""))

    def step_loss_counts(self, f: Frame, step: float, loss: float, sn: int, x: float, y: float, first: float,
                         row: float, size: float, u: float | None = None) -> None:
        """Readout at ``(x, y)``: the step, the loss, then per layer the points of its class collapsed (snapshot
        ``sn``) and, where known, the contraction rate around ``u`` (two lines a layer for up to 3 layers, one
        beyond), the first ``first`` below ``y``; text height ``size``."""
        th = self.theme
        f.labels.append(Label("step", x, y, f"step {int(round(step))} / {self.step_max}", 0.26, th["fg"]))
        f.labels.append(Label("loss", x, y - 0.45, f"loss {tex_sci(loss)}", 0.26, th["fg"]))
        two = self.rates is not None and self.two_line()
        pitch = 0.68 if two else min(row, 2.2 / max(self.L - 1, 1))     # the rows end above the chart
        sz = size if self.L <= 4 else TEXT_MIN
        room = self.lay.room_x - x                        # to the right edge of the picture (or the chart)
        rates = [self.rate_at(l, sn if u is None else u) if self.rates is not None else float("nan")
                 for l in range(self.L)]
        # the lines' texts and sizes: the same for the frames of a snapshot with the same rates (cached)
        key = (sn, x, size, two, sz, tuple(map(repr, rates)))    # (repr: each float its own, -0.0 and NaN too)
        cache = self.__dict__.setdefault("_lines_cache", {})
        got = cache.get(key)
        if got is None:
            got = _remember(cache, key, self._layer_lines(sn, rates, two, sz, room), 4 * self.L + 8)
        lines, sizes = got
        for l, ((txt, rtxt), size_l) in enumerate(zip(lines, sizes, strict=True)):
            yl = y - first - pitch * l
            f.labels.append(Label(f"count_label{l}", x, yl, txt, size_l, text_ink(self.layer_color(l, sn), th)))
            if two:
                f.labels.append(Label(f"rate_label{l}", x + 0.25, yl - 0.31, rtxt, TEXT_MIN, th["muted"]))
