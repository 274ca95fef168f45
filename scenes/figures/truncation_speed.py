"""Figures of the truncation-speed study (PNG + vector PDF): ``n(t)`` on a log axis and ``dn/dt`` against ``n``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomdl.nn.health import FAILURES  # noqa: E402
from scenes.clips.base import class_color, mix  # noqa: E402
from scenes.figures import style  # noqa: E402
from scenes.figures.figure_io import save_figure  # noqa: E402


def plot_study(result: dict, out_dir: Path) -> list[Path]:
    """``growth``: n(t) per seed (thin) and median (thick), log scale; ``rate_vs_count``: dn/dt vs n."""
    fracs = [s["start_fraction"] for s in result["summary"]]
    cols = 1 if style.current() == "column" else 2
    fig, axes = style.subplots(2 // cols, cols, aspect=0.8, squeeze=False)
    ax1, ax2 = axes.ravel()
    # one colour per start fraction, light to dark as it grows (every curve is class 1 at layer 1: no class colours)
    shades = [matplotlib.colors.to_hex(c) for c in plt.get_cmap("viridis")(np.linspace(0.78, 0.05, max(len(fracs), 2)))]
    rates = []
    for k, f in enumerate(fracs):
        color = shades[k]
        curves = [c for c in result["curves"]
                  if c["start_fraction"] == f and c["stop_reason"] not in FAILURES]
        if not curves:
            continue
        steps = curves[0]["steps"]
        for c in curves:
            ax1.plot(c["steps"], np.maximum(c["n"], 0.5), color=color, lw=0.6, alpha=0.35)
            dndt = np.gradient(c["n"].astype(float), c["steps"].astype(float))
            ax2.scatter(c["n"], dndt, s=4, color=color, alpha=0.25, linewidths=0)
            rates.append(dndt)
        same = [c for c in curves if len(c["steps"]) == len(steps)]
        med = np.median(np.stack([c["n"] for c in same]), axis=0)
        s = next(x for x in result["summary"] if x["start_fraction"] == f)
        ax1.plot(steps, np.maximum(med, 0.5), color=color, lw=2.2,
                 label=f"start {f:g}: $r$ = {s['rate_mean']:.2e}/step "
                       f"[{s['rate_ci_low']:.1e}, {s['rate_ci_high']:.1e}]")
        # fitted dn/dt = a + c n over the observed range of n (median intercept over the runs)
        ns = np.linspace(med.min(), med.max(), 20)
        a = np.median([np.gradient(c["n"].astype(float), c["steps"].astype(float)).mean() - s["c_mean"] * c["n"].mean()
                       for c in same])
        ax2.plot(ns, a + s["c_mean"] * ns, color=color, lw=2.2,
                 label=f"start {f:g}: $c$ = {s['c_mean']:.1e} [{s['c_ci_low']:.1e}, {s['c_ci_high']:.1e}]")
    ax1.set_yscale("log")
    ax1.set_xlabel("training step")
    ax1.set_ylabel("collapsed points $n(t)$ of class 1\nat layer 1 (log)")
    ax1.set_title("$n(t)$: exponential growth is a straight line", fontsize=8)
    # legends under the axes, where they hide no curve
    ax1.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    ax2.axhline(0, color="#888888", lw=0.8)
    if rates:   # the y axis on the bulk of dn/dt (the first steps' dips would squash the fits onto 0)
        v = np.concatenate(rates)
        v = v[np.isfinite(v)]
        lo, hi = np.percentile(v, [1, 99])
        pad = 0.15 * max(hi - lo, 1e-9)
        lo, hi = min(lo - pad, -pad), max(hi + pad, pad)
        off = int(np.sum((v < lo) | (v > hi)))
        ax2.set_ylim(lo, hi)
        if off:
            ax2.text(0.99, 0.02, f"{off} of {len(v)} points beyond the axis", transform=ax2.transAxes,
                     ha="right", va="bottom", fontsize=6, color="#555555")
    ax2.set_xlabel("$n$ (collapsed points)")
    ax2.set_ylabel("$dn/dt$ (points per step)")
    ax2.set_title("rate against count: the claim predicts slope $c > 0$", fontsize=8)
    ax2.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return save_figure(fig, out_dir / "truncation_speed")


MIN_SEEDS_DRAWN = 5
SETTING_TITLES = {"partial": "partial construction, GD (truncation-speed defaults)",
                  "random": "random initialisation, SGD on clustered data"}


def _why_no_rate(result: dict, setting: str) -> str:
    """What an empty rate panel of ``setting`` says: no pair's count rose enough in any run, or no interval of a
    rising count kept enough points out to measure a spread on (``result["config"]``'s thresholds)."""
    cfg = result.get("config")
    if not any(r.get("pairs") for r in result["runs"] if r["setting"] == setting):
        return (f"no contraction rate measured in this setting:\nin no run did a (layer, class) pair's collapsed"
                f"\ncount rise by min_rise = {getattr(cfg, 'min_rise', '?')} points")
    return (f"no contraction rate measured in this setting:\nno interval of a rising count kept min_points = "
            f"{getattr(cfg, 'min_points', '?')}\npoints out of collapse to measure a spread on")


def plot_contraction(result: dict, out_dir: Path) -> list[Path]:
    """``contraction_rate``: per setting (columns), the contraction rate lambda against the collapsed count n
    over each pair's truncating phase (per-interval estimates faint, per-seed bin means averaged over seeds with
    95% CIs: pooled pairs in black, each (layer, class) measured in >= 5 seeds in colour) and, below, the spread
    s(t) on a log axis (an
    exponential contraction is a straight line; its slope is -lambda)."""
    settings = list(dict.fromkeys(g["setting"] for g in result["summary"]))
    # one column of two panels per setting, each as wide as the column preset: a page puts the settings side by
    # side, a column stacks them (two side by side in 3.4 in leave the panels no room: constrained layout gives up)
    stacked = style.current() == "column" and len(settings) > 1
    if stacked:
        fig = plt.figure(figsize=(style.width(), len(settings) * (2 * 1.8 + 0.55)), layout="constrained")
        grid = fig.subplots(2 * len(settings), 1, squeeze=False)
        axes = np.array([[grid[2 * c, 0] for c in range(len(settings))],
                         [grid[2 * c + 1, 0] for c in range(len(settings))]])
    else:
        fig = plt.figure(figsize=(style.SIZES["column"] * len(settings), 2 * style.SIZES["column"] * 0.85 + 0.3),
                         layout="constrained")
        axes = fig.subplots(2, len(settings), squeeze=False)
    for c, setting in enumerate(settings):
        ax, axs = axes[0, c], axes[1, c]
        rows = [r for r in result["rows"] if r["setting"] == setting and np.isfinite(r["rate"]) and r["rising"]]
        groups = [g for g in result["summary"] if g["setting"] == setting]
        # per-pair curves only for pairs measured in enough seeds (the rest stays in the pooled curve and the CSV)
        groups = [g for g in groups if g["layer"] is None or g["seeds_measured"] >= MIN_SEEDS_DRAWN]
        pairs_all = [g for g in result["summary"] if g["setting"] == setting and g["layer"] is not None]
        if len(pairs_all) == 1 and len(groups) == 2:       # one measured pair: it is the pooled curve
            groups = [g for g in groups if g["layer"] is not None]
        pair_color = {}   # a pair in its class's colour (the CSV's class is the 0-based label); darker when repeated
        for g in (x for x in groups if x["layer"] is not None):
            seen = sum(1 for (_, j) in pair_color if j == g["class"])
            pair_color[(g["layer"], g["class"])] = mix(class_color(int(g["class"])), "#000000", 0.35 * seen)
        if rows:
            n = np.array([r["n"] for r in rows])
            lam = np.array([r["rate"] for r in rows])
            cols = [pair_color.get((r["layer"], r["class"]), "#999999") for r in rows]
            ax.scatter(n, lam, s=3, c=cols, alpha=0.12, linewidths=0, rasterized=True)
            lo, hi = np.percentile(lam, [3, 97])
            means = [b["rate_mean"] for g in groups for b in g["bins"] if b["seeds"] >= 2]
            lo, hi = min([lo, *means]), max([hi, *means])
            pad = 0.25 * (hi - lo + 1e-12)
            ax.set_ylim(lo - pad, hi + pad)
        for k, g in enumerate(groups):
            b = [x for x in g["bins"] if x["seeds"] >= 2]
            if not b:
                continue
            x = np.array([(v["n_low"] + v["n_high"]) / 2 for v in b]) + (k - len(groups) / 2) * 1.2
            m = np.array([v["rate_mean"] for v in b])
            err = np.array([[v["rate_mean"] - v["rate_ci_low"] for v in b], [v["rate_ci_high"] - v["rate_mean"]
                                                                                 for v in b]])
            color = "#000000" if g["layer"] is None else pair_color[(g["layer"], g["class"])]
            name = "pooled" if g["layer"] is None else f"layer {g['layer']}, class {g['class'] + 1}"
            label = (f"{name} ({g['seeds_measured']} seeds): slope {g['slope_mean']:.2g} "
                     f"[{g['slope_ci_low']:.2g}, {g['slope_ci_high']:.2g}]")
            ax.errorbar(x, m, yerr=err, color=color, lw=1.6 if g["layer"] is None else 1.0, marker="o", ms=3.5,
                        capsize=2.5, label=label)
        ax.axhline(0, color="#888888", lw=0.8)
        ax.set_xlabel("$n(t)$: points of the class already collapsed")
        ax.set_ylabel("contraction rate $\\lambda = -d \\log s / dt$")
        ax.set_title(f"{SETTING_TITLES.get(setting, setting)}\n$\\lambda$ against $n$ while the count rises "
                     "(the claim: rising)", fontsize=7)
        if ax.get_legend_handles_labels()[1]:
            ax.legend(fontsize=5.5, loc="upper center", bbox_to_anchor=(0.5, -0.34 if stacked else -0.22),
                      frameon=False)   # below the x label: hides no data
        elif not rows:    # nothing drawn: said, not left as a blank panel
            ax.text(0.5, 0.5, _why_no_rate(result, setting), transform=ax.transAxes, ha="center", va="center",
                    fontsize=6.5, color="#555555")
        for sr in (x for x in result["series"] if x["setting"] == setting):
            ok = np.isfinite(sr["s"]) & (sr["s"] > 0)
            axs.plot(sr["t"][ok], sr["s"][ok], lw=0.7, alpha=0.6,
                     color=pair_color.get((sr["layer"], sr["class"]), "#999999"))
        axs.set_yscale("log")
        if not axs.lines:
            axs.text(0.5, 0.5, "no (layer, class) pair measured:\nno spread to show", transform=axs.transAxes,
                     ha="center", va="center", fontsize=6.5, color="#555555")
        axs.set_xlabel("flow time $t$ = lr $\\times$ step")
        axs.set_ylabel("spread $s(t)$ of the not-collapsed\npoints about the base point (log)")
        axs.set_title(f"$s(t)$ per seed and (layer, class), colours as above\n(grey: pairs in fewer than "
                      f"{MIN_SEEDS_DRAWN} seeds, or never truncating)", fontsize=7)
    return save_figure(fig, out_dir / "contraction_rate")
