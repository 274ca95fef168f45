"""Figures of the ``flows`` experiment (PNG + vector PDF), drawn from its trace (see
:mod:`geomdl.experiments.flows` for the arrays):

- ``flows_cost``: the cost against ``s/N`` on a log axis, one curve per flow (several ``alpha``), with the
  adapted-flow law ``e^{-2s/N} C(0)`` dashed;
- ``flows_trajectories``: the outputs' paths in ``R^Q`` (``Q = 3``: the raw coordinates, one fixed 3D view;
  other ``Q``: a fixed 3D PCA of the targets and initial outputs) for the standard flow and the adapted flows,
  targets (the one-hot ``e_j``) marked; straight lines vs curves;
- ``flows_diagnostics``: rank of ``D`` and its smallest singular value, the trapping ratio ``|D^T g| / |g|``
  with ``trap_eps``, and neural collapse of the outputs (within-class variance and class-mean distance to the
  targets, with the uniform rates ``e^{-2s/N}`` and ``e^{-s/N}``).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from geomdl.io.atomic import ensure_writable_dir  # noqa: E402
from scenes.clips.base import class_color  # noqa: E402
from scenes.figures import style  # noqa: E402
from scenes.figures.figure_io import save_figure  # noqa: E402

FLOW_COLORS = ["#1A1A1A", "#0072B2", "#009E73", "#D55E00", "#CC79A7", "#E69F00", "#56B4E9", "#999999"]


def flow_style(trace, f: int) -> dict:
    """Colour and line style of flow ``f``: the frozen adapted flow dashed in the adapted flow's colour."""
    alphas = trace.arrays["alphas"]
    freeze = trace.arrays["freeze"]
    if freeze[f]:
        return {"color": "#D55E00", "ls": (0, (4, 2)), "lw": 2.0}
    order = sorted(set(float(a) for a, z in zip(alphas, freeze, strict=True) if not z))
    k = order.index(float(alphas[f]))
    if float(alphas[f]) == 1.0:
        return {"color": "#D55E00", "ls": "-", "lw": 1.6}
    return {"color": FLOW_COLORS[k % len(FLOW_COLORS)], "ls": "-", "lw": 1.6}


def to3(points: np.ndarray, trace) -> tuple[np.ndarray, list[str]]:
    """Outputs ``(..., Q)`` -> 3D coordinates for drawing (fixed per trace; linear, so lines stay lines)."""
    q = trace.meta["Q"]
    if q == 3:
        return points, ["$y_1$", "$y_2$", "$y_3$"]
    if q < 3:
        pad = np.zeros((*points.shape[:-1], 3 - q))
        return np.concatenate([points, pad], axis=-1), [f"$y_{i + 1}$" for i in range(q)] + ["0"] * (3 - q)
    ref = np.concatenate([trace.arrays["Y"], trace.arrays["outputs"][0, 0]])
    mean = ref.mean(0)
    _, _, Vt = np.linalg.svd(ref - mean, full_matrices=False)
    return (points - mean) @ Vt[:3].T, ["PC1", "PC2", "PC3"]


def plot_cost(trace, stem: Path) -> list[Path]:
    a, meta = trace.arrays, trace.meta
    N = a["X"].shape[0]
    tau = a["s"] / N
    fig, ax = style.subplots(1, 1, aspect=0.62 if style.current() == "page" else 0.85)
    ax.plot(tau, a["predicted"], color="#888888", lw=3.5, alpha=0.45, label=r"law $e^{-2s/N}C(0)$")
    for f, s in enumerate(meta["flows"]):
        v = a["valid"][f]
        st = flow_style(trace, f)
        ax.plot(tau[v], a["cost"][f][v], color=st["color"], ls=st["ls"], lw=st["lw"],
                label=f"{s['label']} (law err {s['law_rel_err_max']:.1e})")
        if s["stop_reason"] != "completed":
            ax.plot(tau[v][-1], a["cost"][f][v][-1], "x", color=st["color"], ms=9)
    ax.set_yscale("log")
    ax.set_xlabel("flow time $s/N$")
    ax.set_ylabel(f"cost $C$ ({meta['loss']}, log)")
    cfg = meta["config"]
    ax.set_title(style.wrap(f"cost along the homotopy of flows: $Q$={meta['Q']}, $N$={N}, widths {cfg['widths']}, "
                            f"{meta.get('activation', 'relu')}, $K$={meta['K']}", 8.5))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower left")
    return save_figure(fig, stem)


def trajectory_flows(trace) -> list[int]:
    """Which flows the trajectory panels show: the standard flow, the adapted flow(s)."""
    alphas, freeze = trace.arrays["alphas"], trace.arrays["freeze"]
    pick = [f for f in range(len(alphas)) if alphas[f] == 0.0 and not freeze[f]]
    pick += [f for f in range(len(alphas)) if alphas[f] == 1.0 and not freeze[f]]
    pick += [f for f in range(len(alphas)) if freeze[f]]
    return pick or list(range(len(alphas)))


def plot_trajectories(trace, stem: Path, elev: float = 24.0, azim: float = 35.0) -> list[Path]:
    a, meta = trace.arrays, trace.meta
    labels = a["labels"]
    flows = trajectory_flows(trace)
    cols = style.columns(len(flows), most=3)
    rows = int(np.ceil(len(flows) / cols))
    fig = style.figure(aspect=1.0, rows=rows, cols=cols, extra=0.5)
    Y3, names = to3(a["Y"], trace)
    allpts = np.concatenate([to3(a["outputs"][f][a["valid"][f]].reshape(-1, meta["Q"]), trace)[0] for f in flows]
                            + [Y3])
    lo, hi = allpts.min(0), allpts.max(0)
    pad = 0.05 * (hi - lo).max()
    for i, f in enumerate(flows):
        ax = fig.add_subplot(rows, cols, i + 1, projection="3d")
        v = a["valid"][f]
        P, _ = to3(a["outputs"][f][v], trace)          # (S, N, 3)
        for r in range(P.shape[1]):
            c = class_color(labels[r])
            ax.plot(P[:, r, 0], P[:, r, 1], P[:, r, 2], color=c, lw=0.8, alpha=0.8)
        ax.scatter(P[0, :, 0], P[0, :, 1], P[0, :, 2], s=6, c=[class_color(j) for j in labels],
                   depthshade=False)
        ax.scatter(P[-1, :, 0], P[-1, :, 1], P[-1, :, 2], s=10, c="k", marker=".", depthshade=False)
        for j in range(meta["Q"]):
            ax.scatter(*Y3[labels == j][:1].T, s=140, facecolors="none", edgecolors=class_color(j),
                       linewidths=2.0, depthshade=False)
        ax.set_xlim(lo[0] - pad, hi[0] + pad)
        ax.set_ylim(lo[1] - pad, hi[1] + pad)
        ax.set_zlim(lo[2] - pad, hi[2] + pad)
        style.axes3(ax, names)
        ax.view_init(elev=elev, azim=azim)
        s = meta["flows"][f]
        ax.set_title(style.wrap(f"{s['label']}\ndistance from the line: {s['line_dist_max']:.2g}", 8.5,
                                style.width() / cols), fontsize=7)
    fig.legend(handles=[Line2D([], [], ls="none", marker="o", ms=3, mfc="#777777", mec="none", label="$x(0)$"),
                        Line2D([], [], ls="none", marker=".", ms=5, color="k", label="end of the flow"),
                        Line2D([], [], ls="none", marker="o", ms=7, mfc="none", mec="#777777", mew=1.5,
                               label="one-hot target")]
               + [Line2D([], [], color=class_color(j), lw=1.2, label=f"class {j + 1}")
                  for j in range(meta["Q"])], loc="outside lower center",
               ncols=min(6 if style.current() == "page" else 3, 3 + meta["Q"]))
    fig.suptitle(style.wrap(f"outputs in $\\mathbb{{R}}^{meta['Q']}$ from $x(0)$ towards the one-hot targets"))
    return save_figure(fig, stem)


def plot_diagnostics(trace, stem: Path) -> list[Path]:
    a, meta = trace.arrays, trace.meta
    N = a["X"].shape[0]
    tau = a["s"] / N
    QN = meta["QN"]
    cols = 1 if style.current() == "column" else 2
    fig, axes = style.subplots(4 // cols, cols, aspect=0.6 if cols == 1 else 0.75)
    pw = style.width() / cols

    def title(ax, text: str) -> None:
        ax.set_title(style.wrap(text.replace("\n", " "), 7.5, pw), fontsize=7.5)

    ax_r, ax_t, ax_v, ax_m = axes.ravel()
    for f, s in enumerate(meta["flows"]):
        v = a["valid"][f]
        st = dict(flow_style(trace, f))
        ax_r.plot(tau[v], a["sigma_min"][f][v], label=f"{s['label']} (rank {s['rank_min']}..{s['rank_max']})", **st)
        ax_t.plot(tau[v], a["trap_ratio"][f][v], label=s["label"], **st)
        ax_v.plot(tau[v], a["within_var"][f][v].mean(axis=1), label=s["label"], **st)
        ax_m.plot(tau[v], a["mean_dist"][f][v].mean(axis=1), label=s["label"], **st)
        if s["stop_reason"] == "rank-collapse":
            ax_r.plot(tau[v][-1], a["sigma_min"][f][v][-1], "x", color=st["color"], ms=9)
    ax_r.set_yscale("log")
    title(ax_r, f"smallest singular value of $D$\n(rank $QN$ = {QN} unless marked)")
    ax_r.set_ylabel("$\\sigma_{\\min}(D)$")
    eps = meta["flows"][0]["trap_eps"]
    ax_t.axhline(eps, color="#888888", ls=":", lw=1.2, label=f"trap $\\varepsilon$ = {eps:g}")
    ax_t.set_yscale("log")
    title(ax_t, "trapping ratio $\\rho = |D^T \\nabla_x C| / |\\nabla_x C|$\n"
                "($\\rho^2$ = standard / adapted decay rate)")
    ax_t.set_ylabel("$\\rho$")
    v0 = a["within_var"][:, 0].mean(axis=1)
    m0 = a["mean_dist"][:, 0].mean(axis=1)
    ax_v.plot(tau, v0[0] * np.exp(-2 * tau), color="#888888", lw=3.5, alpha=0.45, label=r"$e^{-2s/N}$")
    ax_m.plot(tau, m0[0] * np.exp(-tau), color="#888888", lw=3.5, alpha=0.45, label=r"$e^{-s/N}$")
    ax_v.set_yscale("log")
    ax_m.set_yscale("log")
    title(ax_v, "neural collapse: within-class variance\nof the outputs (mean over classes)")
    ax_v.set_ylabel("within-class variance")
    title(ax_m, "neural collapse: |class mean $-$ target|\n(mean over classes)")
    ax_m.set_ylabel("distance to the target")
    for ax in axes.ravel():
        ax.set_xlabel("flow time $s/N$")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=5.5 if cols == 1 else 6)
    return save_figure(fig, stem)


def write_figures(trace, out_dir: Path) -> list[Path]:
    """All three figures into ``out_dir`` (PNG + PDF each)."""
    out_dir = ensure_writable_dir(Path(out_dir))
    return (plot_cost(trace, out_dir / "flows_cost") + plot_trajectories(trace, out_dir / "flows_trajectories")
            + plot_diagnostics(trace, out_dir / "flows_diagnostics"))
