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
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from geomdl.math import truncation as geometry  # noqa: E402
from scenes.clips.base import class_color  # noqa: E402
from scenes.figures.figure_io import save_figure as save  # noqa: E402


def _scatter3(ax, P, labels, size=4, alpha=0.7):
    P3 = np.c_[P, np.zeros((len(P), max(0, 3 - P.shape[1])))][:, :3]
    ax.scatter(P3[:, 0], P3[:, 1], P3[:, 2], s=size, c=[class_color(int(j)) for j in labels], alpha=alpha,
               depthshade=False, linewidths=0)
    ax.tick_params(labelsize=6)


def _cone(ax, p, V, color, length):
    p3 = np.r_[p, np.zeros(max(0, 3 - len(p)))][:3]
    ax.scatter(*p3, s=40, c=color, edgecolors="k", linewidths=0.8, depthshade=False)
    for i in range(V.shape[1]):
        v = V[:, i] / max(np.linalg.norm(V[:, i]), 1e-300)
        e = p3 + length * np.r_[v, np.zeros(max(0, 3 - len(v)))][:3]
        ax.plot([p3[0], e[0]], [p3[1], e[1]], [p3[2], e[2]], color=color, lw=1.2)


def draw_construction(X: np.ndarray, labels: np.ndarray, net, title: str, stem: Path) -> list[Path]:
    """One figure of the network ``net`` (a :class:`geomdl.math.constructions.Network`) on its data."""
    out = net.outputs(X)
    if net.Wc is None:
        return _draw_wide(X, labels, net, out, title, stem)
    L = len(net.Wc)
    chain = geometry.truncation_chain(X, net.Wc, net.bc)
    ps, Vs = net.cones()
    length = 0.35 * float(np.ptp(X, axis=0).max())
    n = L + 2
    fig = plt.figure(figsize=(3.0 * n, 3.3))
    ax = fig.add_subplot(1, n, 1, projection="3d")
    _scatter3(ax, X, labels)
    for l in range(L):
        _cone(ax, ps[l], Vs[l], class_color(max(net.collapses[l], 0) + 3) if net.q == 2 else
              class_color(max(net.collapses[l], 0)), length)
    ax.set_title("data and cones", fontsize=8)
    for l in range(L):
        ax = fig.add_subplot(1, n, l + 2, projection="3d")
        _scatter3(ax, chain.truncated[l], labels, size=6)
        coll = int(chain.collapsed(l).sum())
        ax.set_title(f"T_{l + 1}(X): layer {l + 1} collapses {net.collapses[l]}\n({coll} points at p_{l + 1})",
                     fontsize=7)
    ax = fig.add_subplot(1, n, n, projection="3d" if net.q >= 3 else None)
    if net.q >= 3:
        _scatter3(ax, out, labels, size=10)
    else:
        ax.scatter(out[:, 0], out[:, 1], s=10, c=[class_color(int(j)) for j in labels])
        ax.set_aspect("equal")
    ax.set_title(f"outputs (loss {0.5 * np.mean(np.sum((out - np.eye(net.q)[labels]) ** 2, 1)):.1e})", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, stem)


def _draw_wide(X, labels, net, out, title, stem):
    s = np.maximum(X @ net.Ws[0].T + net.bs[0], 0).sum(axis=1)
    a, b = -net.bs[1][0], -net.bs[1][1]
    fig = plt.figure(figsize=(10.5, 3.3))
    ax = fig.add_subplot(1, 3, 1, projection="3d")
    _scatter3(ax, X, labels)
    ax.set_title(f"data; layer 1: K={net.Ws[0].shape[0]} directions", fontsize=8)
    ax = fig.add_subplot(1, 3, 2)
    for j in (0, 1):
        ax.hist(s[labels == j], bins=30, color=class_color(j), alpha=0.8, label=["ball", "shell"][j])
    ax.axvline(a, color="k", ls="--", lw=1)
    ax.axvline(b, color="k", ls=":", lw=1)
    ax.set_xlabel("radius proxy s(x) = sum_k relu(u_k . x)", fontsize=8)
    ax.set_title(f"layer 2 cuts at a={a:.3g} (max on ball), b={b:.3g} (min on shell)", fontsize=8)
    ax.legend(fontsize=7)
    ax = fig.add_subplot(1, 3, 3)
    ax.scatter(out[:, 0], out[:, 1], s=10, c=[class_color(int(j)) for j in labels])
    ax.set_title(f"outputs (loss {0.5 * np.mean(np.sum((out - np.eye(2)[labels]) ** 2, 1)):.1e})", fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save(fig, stem)


def draw_geometries(datasets: list[tuple[str, np.ndarray, np.ndarray]], stem: Path) -> list[Path]:
    """One 3D panel per data set: ``(title, X, labels)``."""
    fig = plt.figure(figsize=(3.3 * len(datasets), 3.4))
    for k, (name, X, labels) in enumerate(datasets):
        ax = fig.add_subplot(1, len(datasets), k + 1, projection="3d")
        _scatter3(ax, X, labels, size=5)
        ax.set_title(name, fontsize=8)
    fig.tight_layout()
    return save(fig, stem)
