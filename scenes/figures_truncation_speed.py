"""Figures of the truncation-speed study (PNG + vector PDF): ``n(t)`` on a log axis and ``dn/dt`` against ``n``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomdl.health import FAILURES  # noqa: E402
from scenes.figure_io import save_figure  # noqa: E402
from scenes.frames import PALETTE  # noqa: E402


def plot_study(result: dict, out_dir: Path) -> list[Path]:
    """``growth``: n(t) per seed (thin) and median (thick), log scale; ``rate_vs_count``: dn/dt vs n."""
    fracs = [s["start_fraction"] for s in result["summary"]]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for k, f in enumerate(fracs):
        color = PALETTE[k % len(PALETTE)]
        curves = [c for c in result["curves"]
                  if c["start_fraction"] == f and c["stop_reason"] not in FAILURES]
        if not curves:
            continue
        steps = curves[0]["steps"]
        for c in curves:
            ax1.plot(c["steps"], np.maximum(c["n"], 0.5), color=color, lw=0.6, alpha=0.35)
            dndt = np.gradient(c["n"].astype(float), c["steps"].astype(float))
            ax2.scatter(c["n"], dndt, s=4, color=color, alpha=0.25, linewidths=0)
        same = [c for c in curves if len(c["steps"]) == len(steps)]
        med = np.median(np.stack([c["n"] for c in same]), axis=0)
        s = next(x for x in result["summary"] if x["start_fraction"] == f)
        ax1.plot(steps, np.maximum(med, 0.5), color=color, lw=2.2,
                 label=f"start {f:g}: r = {s['rate_mean']:.2e}/step [{s['rate_ci_low']:.1e}, {s['rate_ci_high']:.1e}]")
        # fitted dn/dt = a + c n over the observed range of n (median intercept over the runs)
        ns = np.linspace(med.min(), med.max(), 20)
        a = np.median([np.gradient(c["n"].astype(float), c["steps"].astype(float)).mean() - s["c_mean"] * c["n"].mean()
                       for c in same])
        ax2.plot(ns, a + s["c_mean"] * ns, color=color, lw=2.2,
                 label=f"start {f:g}: c = {s['c_mean']:.1e} [{s['c_ci_low']:.1e}, {s['c_ci_high']:.1e}]")
    ax1.set_yscale("log")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("collapsed points of class 1 at layer 1 (log)")
    ax1.set_title("n(t): exponential growth would be a straight line")
    ax1.legend(fontsize=7, loc="lower right")
    ax2.axhline(0, color="#888888", lw=0.8)
    ax2.set_xlabel("n (collapsed points)")
    ax2.set_ylabel("dn/dt (points per step)")
    ax2.set_title("rate against count: the claim predicts slope c > 0")
    ax2.legend(fontsize=7, loc="upper right")
    return save_figure(fig, out_dir / "truncation_speed")
