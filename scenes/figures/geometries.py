"""Figures of a data geometry and its zero-loss construction (PNG + vector PDF), from arrays the core made.

Panels: the data in input space (3D, first three coordinates) with the cones of the square layers (base point
and edges, coloured by the class/piece the layer collapses); the data truncated by the first ``l`` layers,
``T_l(X)``, one panel per layer; the outputs. The concentric construction has no square cones: its panels are
the data with the radius proxy's two level values, the proxy ``s(x)`` per class, and the outputs.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from geomdl.math import truncation as geometry  # noqa: E402
from scenes.clips.base import class_color  # noqa: E402
from scenes.figures import style  # noqa: E402
from scenes.figures.figure_io import save_figure as save  # noqa: E402

AXES3 = ("$x_1$", "$x_2$", "$x_3$")


def _scatter3(ax, P, labels, size=4, alpha=0.7, names=AXES3):
    P3 = np.c_[P, np.zeros((len(P), max(0, 3 - P.shape[1])))][:, :3]
    ax.scatter(P3[:, 0], P3[:, 1], P3[:, 2], s=size, c=[class_color(int(j)) for j in labels], alpha=alpha,
               depthshade=False, linewidths=0, rasterized=len(P3) > 3000)
    style.axes3(ax, names)


def _cone(ax, p, V, color, length):
    p3 = np.r_[p, np.zeros(max(0, 3 - len(p)))][:3]
    ax.scatter(*p3, s=28, c=color, edgecolors="k", linewidths=0.7, depthshade=False, zorder=5)
    for i in range(V.shape[1]):
        v = V[:, i] / max(np.linalg.norm(V[:, i]), 1e-300)
        e = p3 + length * np.r_[v, np.zeros(max(0, 3 - len(v)))][:3]
        ax.plot([p3[0], e[0]], [p3[1], e[1]], [p3[2], e[2]], color=color, lw=1.0)


def _class_legend(fig, q: int, unit: str, extra: list | None = None) -> None:
    """One legend under the panels: the classes (numbered from 1, as in the math) and any extra handles."""
    from matplotlib.lines import Line2D  # noqa: PLC0415

    handles = [Line2D([], [], ls="none", marker="o", ms=4, mfc=class_color(j), mec="none", label=f"{unit} {j + 1}")
               for j in range(q)] + list(extra or [])
    ncols = min(len(handles), 6 if style.current() == "page" else 3)
    fig.legend(handles=handles, loc="outside lower center", ncols=ncols, handlelength=1.0,
               columnspacing=1.0)


def draw_construction(X: np.ndarray, labels: np.ndarray, net, title: str, stem: Path) -> list[Path]:
    """One figure of the network ``net`` (a :class:`geomdl.math.constructions.Network`) on its data: the data
    with every layer's cone, ``T_l(X)`` per layer, the outputs; classes numbered from 1."""
    from matplotlib.lines import Line2D  # noqa: PLC0415

    out = net.outputs(X)
    if net.Wc is None:
        return _draw_wide(X, labels, net, out, title, stem)
    unit = net.structure.unit if net.structure is not None else "class"
    L = len(net.Wc)
    chain = geometry.truncation_chain(X, net.Wc, net.bc)
    ps, Vs = net.cones()
    length = 0.35 * float(np.ptp(X, axis=0).max())
    n = L + 2
    cols = style.columns(n, most=3)
    rows = int(np.ceil(n / cols))
    fig = style.figure(aspect=1.0, rows=rows, cols=cols, extra=0.5)
    ax = fig.add_subplot(rows, cols, 1, projection="3d")
    _scatter3(ax, X, labels)

    def cone_color(l: int) -> str:
        return class_color(max(net.collapses[l], 0) + 3) if net.q == 2 else class_color(max(net.collapses[l], 0))

    for l in range(L):
        _cone(ax, ps[l], Vs[l], cone_color(l), length)
    ax.set_title("data $X$ and\nthe cones $(p_l, V_l)$", fontsize=7)
    for l in range(L):
        ax = fig.add_subplot(rows, cols, l + 2, projection="3d")
        _scatter3(ax, chain.truncated[l], labels, size=6)
        coll = int(chain.collapsed(l).sum())
        what = f"{unit} {net.collapses[l] + 1}" if net.collapses[l] >= 0 else "nothing"
        ax.set_title(f"$T_{{{l + 1}}}(X)$: layer {l + 1}\ncollapses {what}: {coll} points at $p_{{{l + 1}}}$",
                     fontsize=7)
    ax = fig.add_subplot(rows, cols, n, projection="3d" if net.q >= 3 else None)
    loss = 0.5 * np.mean(np.sum((out - np.eye(net.q)[labels]) ** 2, 1))
    if net.q >= 3:
        _scatter3(ax, out, labels, size=10, names=("$y_1$", "$y_2$", "$y_3$"))
    else:
        ax.scatter(out[:, 0], out[:, 1], s=10, c=[class_color(int(j)) for j in labels], linewidths=0)
        ax.set_aspect("equal")
        ax.set_xlabel("$y_1$")
        ax.set_ylabel("$y_2$")
    ax.set_title(f"outputs $y$\n(loss {loss:.1e})", fontsize=7)
    base = Line2D([], [], ls="none", marker="o", ms=5, mfc="#BBBBBB", mec="k", mew=0.7, label="base point $p_l$")
    edge = Line2D([], [], color="#777777", lw=1.0, label="cone edges $V_l$")
    _class_legend(fig, net.q, "class", [base, edge])
    fig.suptitle(style.wrap(title))
    return save(fig, stem)


def _draw_wide(X, labels, net, out, title, stem):
    s = np.maximum(X @ net.Ws[0].T + net.bs[0], 0).sum(axis=1)
    a, b = -net.bs[1][0], -net.bs[1][1]
    cols = style.columns(3, most=3)
    rows = int(np.ceil(3 / cols))
    fig = style.figure(aspect=0.9, rows=rows, cols=cols, extra=0.5)
    ax = fig.add_subplot(rows, cols, 1, projection="3d")
    _scatter3(ax, X, labels)
    ax.set_title(f"data $X$\nlayer 1: $K$ = {net.Ws[0].shape[0]} directions", fontsize=7)
    ax = fig.add_subplot(rows, cols, 2)
    for j in (0, 1):
        ax.hist(s[labels == j], bins=30, color=class_color(j), alpha=0.8,
                label=f"class {j + 1} ({['ball', 'shell'][j]})")
    ax.axvline(a, color="k", ls="--", lw=1, label=f"$a$ = {a:.3g} (max on ball)")
    ax.axvline(b, color="k", ls=":", lw=1, label=f"$b$ = {b:.3g} (min on shell)")
    ax.set_xlabel("radius proxy $s(x) = \\sum_k \\mathrm{relu}(u_k \\cdot x)$", fontsize=7)
    ax.set_ylabel("points")
    ax.set_title("layer 2 cuts the proxy\nat $a$ and $b$", fontsize=7)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.38), ncols=1, fontsize=6)
    ax = fig.add_subplot(rows, cols, 3)
    ax.scatter(out[:, 0], out[:, 1], s=10, c=[class_color(int(j)) for j in labels], linewidths=0)
    ax.set_xlabel("$y_1$")
    ax.set_ylabel("$y_2$")
    ax.set_title(f"outputs $y$\n(loss {0.5 * np.mean(np.sum((out - np.eye(2)[labels]) ** 2, 1)):.1e})", fontsize=7)
    fig.suptitle(style.wrap(title))
    return save(fig, stem)


def draw_geometries(datasets: list[tuple[str, np.ndarray, np.ndarray]], stem: Path) -> list[Path]:
    """One 3D panel per data set: ``(title, X, labels)``; one legend of the classes (numbered from 1)."""
    n = len(datasets)
    cols = style.columns(n)
    rows = int(np.ceil(n / cols))
    fig = style.figure(aspect=1.0, rows=rows, cols=cols, extra=0.35)
    for k, (name, X, labels) in enumerate(datasets):
        ax = fig.add_subplot(rows, cols, k + 1, projection="3d")
        _scatter3(ax, X, labels, size=5)
        ax.set_title(name)
    _class_legend(fig, max(int(np.max(lab)) + 1 for _, _, lab in datasets), "class")
    return save(fig, stem)
