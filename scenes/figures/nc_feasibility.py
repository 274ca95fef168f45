"""Phase diagram of exact neural-collapse feasibility (PNG + vector PDF) from a sweep of
:func:`geomdl.experiments.nc_feasibility_sweep.run_sweep`: the fraction of NC-feasible data sets (every
class) and of feasible classes, over ``d / n`` (x) and the noise ``sigma`` (y, log), black = never feasible,
white = always.
Reference lines: ``d / n = 1`` (below it ``n_k >= d + 1`` generic points span ``R^d``: never feasible) and the
talk's pure-noise threshold ``d / n = (K + 1) / 2``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from geomdl.experiments.nc_feasibility_sweep import grid_arrays  # noqa: E402
from geomdl.io.atomic import ensure_writable_dir  # noqa: E402
from scenes.figures import style  # noqa: E402
from scenes.figures.figure_io import save_figure  # noqa: E402


def _edges(v: np.ndarray, log: bool) -> np.ndarray:
    """Cell edges around sorted centres ``v`` (geometric midpoints on a log axis)."""
    v = np.asarray(v, dtype=float)
    if len(v) == 1:
        return np.array([v[0] / 1.5, v[0] * 1.5]) if log else np.array([v[0] - 0.5, v[0] + 0.5])
    if log:
        lv = np.log(np.maximum(v, 1e-300))
        mid = np.exp((lv[:-1] + lv[1:]) / 2)
        return np.r_[v[0] ** 2 / mid[0], mid, v[-1] ** 2 / mid[-1]]
    mid = (v[:-1] + v[1:]) / 2
    return np.r_[2 * v[0] - mid[0], mid, 2 * v[-1] - mid[-1]]


def plot_phase_diagram(result: dict, stem: Path) -> list[Path]:
    ratios, sigmas, frac, cls = grid_arrays(result)
    cfg = result["config"]
    K, n, trials = cfg["classes"], cfg["n"], cfg["trials"]
    order_r, order_s = np.argsort(ratios), np.argsort(sigmas)
    ratios, sigmas = ratios[order_r], sigmas[order_s]
    frac, cls = frac[np.ix_(order_s, order_r)], cls[np.ix_(order_s, order_r)]
    log = bool(np.all(sigmas > 0))
    xe, ye = _edges(ratios, False), _edges(sigmas, log)
    cols = 1 if style.current() == "column" else 2
    fig, axes = style.subplots(2 // cols, cols, aspect=0.8, extra=0.4, squeeze=False)
    axes = axes.ravel()
    for ax, data, title in ((axes[0], frac, "data set NC-feasible (every class)"),
                            (axes[1], cls, "class feasible (per class)")):
        mesh = ax.pcolormesh(xe, ye, data, cmap="gray", vmin=0, vmax=1, shading="flat")
        if data.shape[0] > 1 and data.shape[1] > 1:
            ax.contour(ratios, sigmas, data, levels=[0.5], colors="#D55E00", linewidths=1.6)
        ax.axvline(1.0, color="#0072B2", ls="--", lw=1.4, label="$d/n = 1$ ($n_k > d$: never)")
        ax.axvline((K + 1) / 2, color="#009E73", ls="--", lw=1.4, label=f"$d/n = (K+1)/2$ = {(K + 1) / 2:g} (noise)")
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("$d/n$ (input dimension / points per class)", fontsize=7)
        ax.set_ylabel("noise $\\sigma$ (per coordinate)")
        ax.set_title(title)
        ax.legend(fontsize=6, loc="upper left", framealpha=0.85, frameon=True)
        fig.colorbar(mesh, ax=ax, shrink=0.9, label="fraction feasible (orange: 0.5)")
    amb = sum(c["ambiguous"] for c in result["cells"])
    fig.suptitle(style.wrap(f"Exact NC feasibility of a 2-layer ReLU net (LP per class, tol {cfg['tol']:g}): "
                            f"Gaussian mixture, means on the unit sphere, $K$={K}, $n$={n} per class, {trials} data "
                            f"sets per cell; {amb} unverified answers"))
    return save_figure(fig, stem)


def write_figures(result: dict, out_dir: Path) -> list[Path]:
    return plot_phase_diagram(result, ensure_writable_dir(Path(out_dir)) / "nc_feasibility_phase")
