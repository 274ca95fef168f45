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
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomdl.experiments.sweep import read_results  # noqa: E402
from scenes.figures.figure_io import save_figure as save  # noqa: E402

FLOOR = 1e-30


def plot_perturbation(results_csv: Path, out_dir: Path, title: str, zero_tol: float, stem: str = "perturbation"
                      ) -> list[Path]:
    r = read_results(Path(results_csv))
    lams = np.unique(r["lambda"])
    final = np.maximum(r["final_loss"], FLOOR)
    logs = np.log10(final)
    lo, hi = np.floor(logs.min()), np.ceil(max(logs.max(), np.log10(zero_tol) + 1))
    bins = np.linspace(lo, hi, 41)
    n = len(lams)
    cols = min(n, 4)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows + 0.4), squeeze=False, sharex=True)
    for k, lam in enumerate(lams):
        ax = axes[k // cols][k % cols]
        sel = r["lambda"] == lam
        frac = float(np.mean(r["final_loss"][sel] < zero_tol))
        ax.hist(logs[sel], bins=bins, color="#0072B2")
        ax.axvline(np.log10(zero_tol), color="#D55E00", lw=1, ls="--")
        ax.set_title(f"λ = {lam:g}: {frac:.0%} < {zero_tol:g} (n={int(sel.sum())})", fontsize=9)
        ax.set_xlabel("log10 final loss", fontsize=8)
        ax.tick_params(labelsize=7)
    for k in range(n, rows * cols):
        axes[k // cols][k % cols].axis("off")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    files = save(fig, Path(out_dir) / f"{stem}_histograms")

    fig, ax = plt.subplots(figsize=(4.2, 3.0))
    fr = [float(np.mean(r["final_loss"][r["lambda"] == lam] < zero_tol)) for lam in lams]
    med = [float(np.median(final[r["lambda"] == lam])) for lam in lams]
    ax.semilogx(lams, fr, "o-", color="#0072B2", label="fraction < zero_tol")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("λ (perturbation size)")
    ax.set_ylabel(f"fraction with final loss < {zero_tol:g}")
    ax2 = ax.twinx()
    ax2.loglog(lams, med, "s--", color="#D55E00", label="median final loss")
    ax2.set_ylabel("median final loss", color="#D55E00")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return files + save(fig, Path(out_dir) / f"{stem}_fraction")


def plot_local_minima(rows: list[dict], out_dir: Path, title: str) -> list[Path]:
    pats = [r["pattern"] for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(1.0 * len(rows) + 2.5, 3.2))
    w = 0.27
    ax.bar(x - w, [max(r["loss"], FLOOR) for r in rows], w, label="toggle point (LS output)", color="#0072B2")
    if "polished_loss" in rows[0]:
        ax.bar(x, [max(r["polished_loss"], FLOOR) for r in rows], w, label="after L-BFGS polish", color="#009E73")
    ax.bar(x + w, [max(r["region_infimum"], FLOOR) for r in rows], w, label="affine infimum of region",
           color="#E69F00")
    ax.set_yscale("log")
    ax.set_xticks(x, pats)
    ax.set_xlabel("toggle pattern (layer l: 1 = collapses class l, 0 = identity)")
    ax.set_ylabel("MSE loss")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return save(fig, Path(out_dir) / "local_minima_losses")
