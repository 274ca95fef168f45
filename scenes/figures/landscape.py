"""Figures of the loss-landscape experiments, drawn from the CSV the core wrote (PNG + vector PDF).

- :func:`plot_perturbation`: one histogram of log10(final loss) per lambda, and the fraction of trials that
  returned to ~zero loss against lambda;
- :func:`plot_local_minima`: the toggle patterns' losses (at the toggle point, after polishing, and the
  region's infimum).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from geomdl.experiments.sweep import read_results  # noqa: E402
from scenes.figures import style  # noqa: E402
from scenes.figures.figure_io import save_figure as save  # noqa: E402


def _log_losses(loss: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(log10 of the positive losses, mask of the exact zeros)``: a zero has no logarithm and is counted apart
    (never drawn at an arbitrary floor)."""
    loss = np.asarray(loss, dtype=float)
    zero = loss <= 0
    return np.log10(np.where(zero, 1.0, loss)), zero


def plot_perturbation(results_csv: Path, out_dir: Path, title: str, zero_tol: float, stem: str = "perturbation"
                      ) -> list[Path]:
    """``<stem>_histograms``: per lambda, the histogram of log10(final loss) (exact zeros counted in the panel's
    legend), every panel with its own x tick labels; ``<stem>_fraction``: the fraction back below ``zero_tol``
    and the median final loss against lambda."""
    r = read_results(Path(results_csv))
    lams = np.unique(r["lambda"])
    logs, zero = _log_losses(r["final_loss"])
    pos = logs[~zero]
    tol = np.log10(zero_tol)
    lo = np.floor(min(pos.min(), tol - 1)) if len(pos) else tol - 1
    hi = np.ceil(max(pos.max(), tol + 1)) if len(pos) else tol + 1
    bins = np.linspace(lo, hi, 41)
    n = len(lams)
    cols = style.columns(n, most=3)
    rows = int(np.ceil(n / cols))
    fig, axes = style.subplots(rows, cols, aspect=0.7, extra=0.25, squeeze=False, sharex=True)
    spare = [axes[k // cols][k % cols] for k in range(n, rows * cols)]   # an empty slot takes the legend
    for k, lam in enumerate(lams):
        ax = axes[k // cols][k % cols]
        sel = r["lambda"] == lam
        frac = float(np.mean(r["final_loss"][sel] < zero_tol))
        ax.hist(logs[sel & ~zero], bins=bins, color="#0072B2", label="trials")
        ax.axvline(tol, color="#D55E00", lw=1, ls="--", label=f"zero tol. {style.sci(zero_tol)}")
        nz = int((sel & zero).sum())
        if nz:
            ax.plot([], [], " ", label=f"{nz} exactly 0")
        ax.set_title(f"$\\lambda$ = {lam:g}\n{frac:.0%} of {int(sel.sum())} below tol.")
        ax.set_xlabel("$\\log_{10}$ final loss")
        ax.set_ylabel("trials")
        ax.tick_params(labelbottom=True)      # shared x axis: keep the tick labels on every row
        if nz or (k == 0 and not spare):
            ax.legend(loc="best", handlelength=1.2)
    for ax in spare:
        ax.axis("off")
    if spare:   # in the empty slot, where it hides no bar
        spare[0].legend(*axes[0][0].get_legend_handles_labels(), loc="center", handlelength=1.2, frameon=False)
    fig.suptitle(style.wrap(title))
    files = save(fig, Path(out_dir) / f"{stem}_histograms")

    fig, ax = style.subplots(1, 1, aspect=0.62)
    fr = [float(np.mean(r["final_loss"][r["lambda"] == lam] < zero_tol)) for lam in lams]
    med = np.array([float(np.median(r["final_loss"][r["lambda"] == lam])) for lam in lams])
    (a,) = ax.semilogx(lams, fr, "o-", color="#0072B2", label=f"fraction < {style.sci(zero_tol)}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("$\\lambda$ (perturbation size)")
    ax.set_ylabel(f"fraction with final loss < {style.sci(zero_tol)}")
    ax2 = ax.twinx()
    ax2.spines["right"].set_visible(True)
    ok = med > 0                                   # a median of exactly 0 has no place on a log axis
    (b,) = ax2.loglog(lams[ok], med[ok], "s--", color="#D55E00", label="median final loss")
    ax2.set_ylabel("median final loss", color="#D55E00")
    ax.legend(handles=[a, b], loc="center left")
    ax.set_title(style.wrap(title, 8.5))
    return files + save(fig, Path(out_dir) / f"{stem}_fraction")


def plot_local_minima(rows: list[dict], out_dir: Path, title: str) -> list[Path]:
    """Bars per toggle pattern: the loss at the toggle point, after L-BFGS polishing, and the region's
    infimum, on a log axis. A value that is zero to round-off (below float64 epsilon times the largest loss) is
    marked "0" on the axis, not drawn as a bar down to an arbitrary floor."""
    pats = [r["pattern"] for r in rows]
    x = np.arange(len(rows))
    series = [("loss", "toggle point (LS output)", "#0072B2"), ("polished_loss", "after L-BFGS polish", "#009E73"),
              ("region_infimum", "affine infimum of region", "#E69F00")]
    series = [s for s in series if s[0] in rows[0]]
    vals = {key: np.array([float(r[key]) for r in rows]) for key, _, _ in series}
    zero_below = np.finfo(float).eps * max(float(np.max(v)) for v in vals.values())
    positive = np.concatenate([v[v > zero_below] for v in vals.values()])
    bottom = 10 ** np.floor(np.log10(positive.min())) / 10 if len(positive) else 1e-3
    top = 10 ** np.ceil(np.log10(positive.max())) if len(positive) else 1.0
    fig, ax = style.subplots(1, 1, aspect=0.45 if style.current() == "page" else 0.75)
    w = 0.8 / len(series)
    zeros = 0
    for k, (key, label, color) in enumerate(series):
        v = vals[key]
        xs = x + (k - (len(series) - 1) / 2) * w
        big = v > zero_below
        ax.bar(xs[big], v[big] - bottom, w, bottom=bottom, label=label, color=color)
        for xx in xs[~big]:
            zeros += 1
            ax.text(xx, bottom * 1.3, "0", ha="center", va="bottom", color=color, fontsize=7, fontweight="bold")
    if zeros:
        ax.plot([], [], " ", label=f"0: zero to round-off (< {zero_below:.0e})")
    ax.set_yscale("log")
    ax.set_ylim(bottom, top * 3)
    ax.set_xticks(x, pats, rotation=90 if len(rows) > 16 else 0)
    ax.set_xlabel("toggle pattern (digit $l$ = 1: layer $l$ collapses class $l$)")
    ax.set_ylabel("MSE loss")
    ax.set_title(style.wrap(title, 8.5))
    fig.legend(loc="outside lower center", ncols=2 if style.current() == "column" else len(series) + bool(zeros),
               handlelength=1.0, columnspacing=0.8)
    return save(fig, Path(out_dir) / "local_minima_losses")
