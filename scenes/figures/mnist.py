"""Figures of the MNIST experiment (PNG + vector PDF), drawn from the arrays of finished runs.

- ``layers_<digits>_loss<threshold>`` (``0.05`` written ``0p05``): for one loss threshold, one row per loss
  (MSE, cross-entropy: same data, same seed), columns: the original training digits, ``T_1(X) .. T_L(X)``
  (all in the PCA fitted once on the original training digits: PC1 vs PC2) with each layer's cone
  superimposed (base point, and the 24 edges with the longest projections, drawn from the base point with
  lengths proportional to their projected length), and the output layer in ``R^Q`` (3D for Q = 3, no
  projection; reference outputs ``y_j`` as large rings).
- ``hyperplanes_<digits>_<loss>``: pixel hyperplanes of the first layer at the last threshold
  reached: the 8 units whose positive side separates the classes most (largest spread of the per-class
  fraction of points with ``w.x + b > 0``), each as a 28 x 28 weight image, and the data in PC1/PC2 coloured
  in that hyperplane's colour where ``w.x + b > 0`` (grey elsewhere), with the hyperplane's trace on the PCA
  plane (where it crosses it).
- ``metrics_<digits>``: metrics over training for every loss: loss, accuracies (network train/test, metric d,
  nearest truncated mean), NC1 (``tr(Sigma_W Sigma_B^+)/Q``) and CDNV, NC2, NC3, NC4, ``delta_P``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from scenes.clips.base import class_color  # noqa: E402
from scenes.figures import style  # noqa: E402
from scenes.figures.figure_io import save_figure  # noqa: E402

HYPER_COLORS = ["#D55E00", "#0072B2", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#7F7F7F"]
N_RAYS = 24
LOSS_NAMES = {"mse": "MSE", "ce": "cross-entropy", "wmse": "weighted MSE"}


def _tag(digits) -> str:
    return "".join(map(str, digits))


def _num(x: float) -> str:
    """A number for a file name, without dots (``0.05`` -> ``0p05``)."""
    return f"{x:g}".replace(".", "p")


def _limits(P: np.ndarray, pad: float = 0.08) -> tuple[tuple[float, float], tuple[float, float]]:
    """Robust 2D limits (1st-99th percentiles, padded) so a few far points do not squash the picture."""
    P = P[np.isfinite(P).all(axis=1)]
    lo, hi = np.percentile(P, 1, axis=0), np.percentile(P, 99, axis=0)
    span = np.maximum(hi - lo, 1e-9)
    lo, hi = lo - pad * span, hi + pad * span
    c, half = (lo + hi) / 2, np.max(hi - lo) / 2        # square view
    return (c[0] - half, c[0] + half), (c[1] - half, c[1] + half)


def _scatter(ax, P: np.ndarray, labels: np.ndarray, size: float = 3.0, alpha: float = 0.6) -> None:
    for j in np.unique(labels):
        sel = labels == j
        ax.scatter(P[sel, 0], P[sel, 1], s=size, color=class_color(j), alpha=alpha, linewidths=0,
                   rasterized=len(P) > 2000)


def _scaled_axis(axis, lim, name: str) -> None:
    """Ticks of ``axis`` in units of ``10^k`` when its limits reach ``|10^k| >= 10^3``, the label saying so
    (``PC1 (x 10^4)``); ``name`` alone otherwise."""
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415

    top = max(abs(float(lim[0])), abs(float(lim[1])))
    k = int(np.floor(np.log10(top))) if top > 0 else 0
    if abs(k) >= 3:
        axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / 10.0**k:g}"))
        axis.set_label_text(f"{name} ($\\times 10^{{{k}}}$)", fontsize=6)
    else:
        axis.set_label_text(name, fontsize=6)
    axis.labelpad = 1


def _cone(ax, base: np.ndarray, edges: np.ndarray, color: str, xlim, ylim) -> None:
    """Base point and the longest projected edges (PC1/PC2) of one layer; an arrow when the base is off view."""
    b = base[:2]
    E = np.nan_to_num(edges[:, :2])
    n = np.linalg.norm(E, axis=1)
    top = np.argsort(-n)[:N_RAYS]
    scale = 0.45 * (xlim[1] - xlim[0]) / max(float(n[top[0]]), 1e-300)
    inside = xlim[0] <= b[0] <= xlim[1] and ylim[0] <= b[1] <= ylim[1]
    if inside:
        for i in top:
            ax.plot([b[0], b[0] + scale * E[i, 0]], [b[1], b[1] + scale * E[i, 1]], color=color, lw=0.7, alpha=0.8)
        ax.scatter([b[0]], [b[1]], s=60, facecolor=color, edgecolor="black", linewidths=1.2, zorder=5)
    else:
        c = np.array([(xlim[0] + xlim[1]) / 2, (ylim[0] + ylim[1]) / 2])
        d = b - c
        half = np.array([(xlim[1] - xlim[0]) / 2, (ylim[1] - ylim[0]) / 2]) * 0.9
        k = float(np.max(np.abs(d) / half))
        q = c + d / k
        ax.annotate("", xy=q, xytext=c + d / k * 0.8, arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.5})
        # the coordinates go in a corner of the panel (not at the arrow, where they covered data and ticks)
        ax.text(0.03, 0.03, f"base point off view:\n({b[0]:.3g}, {b[1]:.3g})", fontsize=5.5, color=color,
                transform=ax.transAxes, ha="left", va="bottom",
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.75, "pad": 1.0})


def _output_panel(ax, O: np.ndarray, labels: np.ndarray, targets: np.ndarray) -> None:
    K = O.shape[1]
    if K == 3:
        P, Y, names = O, np.eye(3), ["y1", "y2", "y3"]
    else:   # Q != 3 or 10 outputs: PCA of these outputs to 3D
        mu = O.mean(axis=0)
        _, _, Vt = np.linalg.svd(O - mu, full_matrices=False)
        C = np.zeros((3, K))
        C[: min(3, len(Vt))] = Vt[:3]
        P, Y, names = (O - mu) @ C.T, (np.eye(K)[targets] - mu) @ C.T, ["out PC1", "out PC2", "out PC3"]
    for j in np.unique(labels):
        sel = labels == j
        ax.scatter(P[sel, 0], P[sel, 1], P[sel, 2], s=2, color=class_color(j), alpha=0.5,
                   linewidths=0, depthshade=False)
    Yt = Y if K != 3 else Y[targets]
    for j, y in enumerate(Yt):
        ax.scatter([y[0]], [y[1]], [y[2]], s=80, facecolor="none", edgecolor=class_color(j),
                   linewidths=2, depthshade=False)
    style.axes3(ax, names)     # three ticks an axis, the axes named, readable at print size
    ax.view_init(elev=25, azim=35)


def digit_handles(digits) -> list:
    """Legend entries of the digit classes: ``digit d (class j)``, class ``j`` being the ``j``-th digit given
    (from 1, as everywhere), in its class colour."""
    from matplotlib.lines import Line2D  # noqa: PLC0415

    return [Line2D([], [], ls="none", marker="o", ms=4, mfc=class_color(j), mec="none",
                   label=f"digit {dg} (class {j + 1})") for j, dg in enumerate(digits)]


def plot_layers_at_threshold(runs: list, threshold: float, out_dir: Path) -> list[Path]:
    """One figure: rows = runs (losses) on one digit set, at the snapshot of ``threshold`` (skipped runs that
    never reached it are said so in their row)."""
    L = len(runs[0].widths)
    ncol = L + 2
    w = style.SIZES["page"]     # a row of L + 2 panels needs the page width at any --size
    fig = plt.figure(figsize=(w, w / ncol * 1.45 * len(runs) + 0.7))
    X2 = runs[0].X_proj[:, :2]
    xlim, ylim = _limits(X2)
    for r_i, run in enumerate(runs):
        idx = run.threshold_index().get(threshold)
        name = LOSS_NAMES.get(run.cfg.loss, run.cfg.loss)
        if idx is None:
            ax = fig.add_subplot(len(runs), ncol, r_i * ncol + 1)
            ax.set_axis_off()
            ax.text(0, 0.5, f"{name}: loss {threshold:g} not reached\n({run.result.message})", fontsize=8,
                    transform=ax.transAxes, va="center")
            continue
        s = run.snapshots[idx]
        labels = run.data.y_train
        for c in range(L + 1):
            ax = fig.add_subplot(len(runs), ncol, r_i * ncol + c + 1)
            if c == 0:
                _scatter(ax, X2, labels)
                ax.set_xlim(*xlim)
                ax.set_ylim(*ylim)
                ax.set_title(f"{name}:\noriginal digits $X$", fontsize=6.5)
            else:
                T2 = s.truncated_proj[c - 1][:, :2]
                lx, ly = _limits(T2)
                _scatter(ax, T2, labels)
                _cone(ax, s.base_proj[c - 1], s.edges_proj[c - 1], "black", lx, ly)
                ax.set_xlim(*lx)
                ax.set_ylim(*ly)
                k = s.k_trunc[c - 1]
                ax.set_title(f"$T_{{{c}}}(X)$\nrank {int(s.rank[c - 1])}/{run.widths[c - 1]}, "
                             f"res {s.residual[c - 1]:.0e}\n"
                             f"collapsed {int((k == run.widths[c - 1]).sum())}, partial "
                             f"{int(((k > 0) & (k < run.widths[c - 1])).sum())}", fontsize=6.5)
            ax.tick_params(labelsize=6)
            ax.locator_params(nbins=4)
            _scaled_axis(ax.xaxis, ax.get_xlim(), "PC1")    # large coordinates: the power of ten in the label,
            _scaled_axis(ax.yaxis, ax.get_ylim(), "PC2")    # not an offset text that lands on it
        ax = fig.add_subplot(len(runs), ncol, r_i * ncol + ncol, projection="3d")
        _output_panel(ax, s.outputs, labels, run.targets)
        ax.set_title(f"outputs in $\\mathbb{{R}}^{{{run.out_dim}}}$\n(step {s.step}, loss {s.loss:.3g})", fontsize=6)
    d = runs[0].data
    fig.suptitle(f"Digits {' '.join(map(str, d.digits))} at training loss < {threshold:g}: data truncated by the "
                 f"cumulative layers\n(PCA of the original digits), cones (base point, longest edges), outputs",
                 fontsize=8)
    fig.legend(handles=digit_handles(d.digits), loc="lower center", ncol=len(d.digits), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 0.93))
    return save_figure(fig, out_dir / f"layers_{_tag(d.digits)}_loss{_num(threshold)}")


def select_hyperplanes(W: np.ndarray, b: np.ndarray, X: np.ndarray, labels: np.ndarray, q: int,
                       k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` units with the largest spread of per-class positive-side fractions; ``(indices, fractions (k, Q))``."""
    pos = (X @ W.T + b) > 0                                                 # (N, M_1)
    frac = np.stack([pos[labels == j].mean(axis=0) for j in range(q)], axis=1)   # (M_1, Q)
    spread = frac.max(axis=1) - frac.min(axis=1)
    order = np.lexsort((-np.linalg.norm(W, axis=1), -spread))[:k]
    return order, frac[order]


def plot_hyperplanes(run, out_dir: Path, k: int = 8) -> list[Path]:
    """Pixel hyperplanes of the first layer at the last threshold snapshot (or the final one)."""
    cand = [i for i, s in enumerate(run.snapshots) if s.first_layer is not None]
    th = run.threshold_index()
    idx = th[min(th)] if th else cand[-1]
    s = run.snapshots[idx]
    W, b = s.first_layer
    d = run.data
    units, frac = select_hyperplanes(W, b, d.X_train, d.y_train, d.q, k)
    side = d.side if d.side else int(round(np.sqrt(W.shape[1])))
    X2 = run.X_proj[:, :2]
    xlim, ylim = _limits(X2)
    w = style.SIZES["page"]     # 8 weight images side by side need the page width at any --size
    fig, axes = plt.subplots(2, len(units), figsize=(w, w / len(units) * 2.3 + 0.6))
    axes = np.atleast_2d(axes)
    mean, comps = run.pca_mean, run.pca_components[:2]
    gx = np.linspace(*xlim, 200)
    for c, (u, fr) in enumerate(zip(units, frac, strict=True)):
        color = HYPER_COLORS[c % len(HYPER_COLORS)]
        ax = axes[0, c]
        img = W[u].reshape(side, side) if side * side == W.shape[1] else W[u][None, :]
        vmax = float(np.abs(img).max()) or 1.0
        ax.imshow(img, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_edgecolor(color)
            sp.set_linewidth(3)
        ax.set_title(f"unit {u}\n" + " ".join(f"{dg}:{int(round(100 * f))}%" for dg, f in zip(d.digits, fr,
                                                                                            strict=True)),
                     fontsize=6)   # black text: the light unit colours were hard to read; the frame has it
        ax = axes[1, c]
        pos = (d.X_train @ W[u] + b[u]) > 0
        ax.scatter(X2[~pos, 0], X2[~pos, 1], s=2, color="#CCCCCC", linewidths=0, rasterized=True)
        ax.scatter(X2[pos, 0], X2[pos, 1], s=2, color=color, linewidths=0, rasterized=True)
        # trace of the hyperplane on the PCA plane through the mean: (C w).z = -(w.mean + b)
        a = comps @ W[u]
        rhs = -(W[u] @ mean + b[u])
        if abs(a[1]) > 1e-12:
            ax.plot(gx, (rhs - a[0] * gx) / a[1], color="black", lw=0.8, ls="--")
        elif abs(a[0]) > 1e-12:
            ax.axvline(rhs / a[0], color="black", lw=0.8, ls="--")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xticks([])
        ax.set_yticks([])
        if c == 0:
            ax.set_ylabel("PC2 (coloured where\n$w \\cdot x + b > 0$)", fontsize=6)
    name = LOSS_NAMES.get(run.cfg.loss, run.cfg.loss)
    fig.suptitle(f"First-layer pixel hyperplanes, digits {' '.join(map(str, d.digits))}, {name}, step {s.step} "
                 f"(loss {s.loss:.3g}):\nweights as {side}x{side} images (red +, blue $-$), % of each digit on the + "
                 "side", fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.88))
    return save_figure(fig, out_dir / f"hyperplanes_{_tag(d.digits)}_{run.cfg.loss}")


METRIC_PANELS = [
    ("training loss", [("loss", "loss", "-")], True),
    ("accuracy (test unless marked)", [("test_acc", "network", "-"), ("train_acc", "network (train)", ":"),
                                       ("metric_d_test_acc", "metric d, nearest trunc. mean", "--"),
                                       ("nearest_mean_test_acc", "Euclidean nearest trunc. mean", "-.")], False),
    ("NC1 = $\\mathrm{tr}(\\Sigma_W \\Sigma_B^+)/Q$", [("nc1_trace_pinv_hidden", "last hidden", "-"),
                                        ("nc1_trace_pinv_data_mean_hidden", "last hidden, data-weighted $\\mu_G$", ":"),
                                        ("nc1_trace_pinv_out", "outputs", "--")], True),
    ("CDNV", [("cdnv_hidden", "last hidden", "-"), ("cdnv_out", "outputs", "--")], True),
    ("NC2: $|\\cos + 1/(Q-1)|$, equinorm",
     [("nc2_mean_cos_dev_hidden", "Papyan mean, hidden", "-"), ("nc2_max_cos_dev_hidden", "max, hidden", "-."),
      ("nc2_max_cos_dev_out", "max, outputs", "--"), ("nc2_equinorm_hidden", "equinorm, hidden", ":")], True),
    ("NC3 self-duality", [("nc3_hidden", "last hidden vs classifier", "-")], True),
    ("NC4 (network vs nearest class centre)", [("nc4_hidden", "last hidden", "-"), ("nc4_out", "outputs", "--")],
     False),
    ("$\\delta_P$ (barycentric deviation)", [("delta_p", "sup, last layer", "-"),
                                         ("delta_p_mean_l{L}", "mean, last layer", "--")], True),
]


def plot_metrics(runs: list, out_dir: Path) -> list[Path]:
    """Metrics over training for the runs of one digit set (one colour per loss, one line style per series)."""
    from matplotlib.lines import Line2D  # noqa: PLC0415
    from matplotlib.ticker import NullFormatter  # noqa: PLC0415

    cols = style.columns(len(METRIC_PANELS))
    rows = int(np.ceil(len(METRIC_PANELS) / cols))
    fig, axes = style.subplots(rows, cols, aspect=0.8, extra=0.5 + 0.55 * rows, squeeze=False)   # + legend rows
    colors = {"mse": "#0072B2", "ce": "#D55E00", "wmse": "#009E73"}
    for ax, (title, series, logy) in zip(axes.ravel(), METRIC_PANELS, strict=True):
        for run in runs:
            L = len(run.widths)
            steps = np.array([s.step for s in run.snapshots], dtype=float)
            for key, _label, ls in series:
                key = key.format(L=L)
                vals = np.array([s.loss if key == "loss" else s.metrics.get(key, np.nan) for s in run.snapshots])
                ok = np.isfinite(vals) & (vals > 0 if logy else True)
                ax.plot(steps[ok] + 1, vals[ok], ls=ls, color=colors.get(run.cfg.loss, "#444444"), lw=1.3)
            for st, _ in run.reached.values():
                ax.axvline(st + 1, color=colors.get(run.cfg.loss, "#444444"), lw=0.5, alpha=0.4)
        ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_title(style.wrap(title, 8.5, style.width() / cols), fontsize=7.5)
        ax.tick_params(which="both", labelsize=6)   # minor labels too (a lone "6 x 10^-1" came out large)
        lo, hi = ax.get_ylim()
        if logy and hi > 10 * lo:   # a decade or more: the decades alone (minor labels crowd each other)
            ax.yaxis.set_minor_formatter(NullFormatter())
        if len(series) > 1:   # line styles name the series (colours the losses, in the figure's legend), under
            ax.legend(handles=[Line2D([], [], color="#444444", ls=ls, lw=1.1, label=label)   # the axes: no data hidden
                               for _, label, ls in series], fontsize=5.5, loc="upper center",
                      bbox_to_anchor=(0.5, -0.16), frameon=False, handlelength=2.2)
    losses = list(dict.fromkeys(run.cfg.loss for run in runs))
    fig.legend(handles=[Line2D([], [], color=colors.get(k, "#444444"), lw=2, label=LOSS_NAMES.get(k, k))
                        for k in losses], loc="outside lower center", ncol=len(losses), fontsize=7, frameon=False)
    d = runs[0].data
    fig.suptitle(style.wrap(f"Metrics over training, digits {' '.join(map(str, d.digits))} ({len(d.y_train)} train "
                            f"/ {len(d.y_test)} test digits, {d.source}); x: training step + 1 (log); thin lines: "
                            f"thresholds reached"))
    return save_figure(fig, out_dir / f"metrics_{_tag(d.digits)}")


def draw_all(runs: list, out_dir: Path) -> list[Path]:
    """Every figure of the experiment: per digit set, the threshold panels, hyperplanes and metrics."""
    files: list[Path] = []
    by_digits: dict[tuple, list] = {}
    for r in runs:
        by_digits.setdefault(tuple(r.data.digits), []).append(r)
    for group in by_digits.values():
        thresholds = sorted({t for r in group for t in r.cfg.train_config().sorted_thresholds}, reverse=True)
        for t in thresholds:
            if any(t in r.reached for r in group):
                files += plot_layers_at_threshold(group, t, out_dir)
        for r in group:
            if any(s.first_layer is not None for s in r.snapshots):
                files += plot_hyperplanes(r, out_dir)
        files += plot_metrics(group, out_dir)
    return files
