"""The peer geomdl's matplotlib renderer is measured against: what a user writes by hand with
``matplotlib.animation.FuncAnimation`` + ``FFMpegWriter``.

Run:  .venv/bin/python benchmarks/peer_funcanimation.py TRACE.npz OUT.mp4 [--quality m] [--duration 8]

Same trace, same frames: the geometry of each frame comes from geomdl's frame model
(``scenes.render.make_frames``), so both draw the same points, segments, curves and text at the same size and
frame count; the peer draws them the way the matplotlib documentation shows, and well: one figure, every artist
created once and updated per frame (``PathCollection.set_offsets``/``set_facecolors`` with an RGBA array for
each point group, ``LineCollection.set_segments``, ``Line2D.set_data``, ``Text.set_text``), no re-plotting, the
whole figure drawn each frame (``blit=False``, as ``Animation.save`` does), written by ``FFMpegWriter`` with
geomdl's encoder settings (libx264, yuv420p, CRF 20, preset veryfast; the ffmpeg of ``imageio-ffmpeg``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import imageio_ffmpeg
import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.animation import FFMpegWriter, FuncAnimation  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenes.backends import export  # noqa: E402
from scenes.clips.base import FIG_H, FIG_W, PALETTE  # noqa: E402

DPI = 100
PALETTE_RGBA = np.array([to_rgba(c) for c in PALETTE])


def render_peer(frames, out: Path, quality: str) -> Path:
    """Every frame of ``frames`` (a geomdl frame model) to ``out`` by FuncAnimation + FFMpegWriter."""
    q = export.quality(quality)
    plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    th = frames.theme
    fig = plt.figure(figsize=(q.width / DPI, q.height / DPI), dpi=DPI, facecolor=th["bg"])
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, FIG_W), ylim=(0, FIG_H), facecolor=th["bg"])
    ax.set_axis_off()
    unit_pt = q.height / DPI * 72 / FIG_H
    arts: dict[str, object] = {}

    def update(f):
        for seg in f.segments:
            if seg.name not in arts:
                arts[seg.name] = ax.add_collection(LineCollection([], linewidths=max(0.5, seg.width * unit_pt),
                                                                  alpha=seg.alpha, zorder=1))
            arts[seg.name].set_segments(list(seg.xy))
            arts[seg.name].set_colors(seg.colors)
        for pl in f.lines:
            if pl.name not in arts:
                (arts[pl.name],) = ax.plot([], [], color=pl.color, lw=max(0.5, pl.width * unit_pt), zorder=2)
            arts[pl.name].set_data(pl.xy[:, 0], pl.xy[:, 1])
        for pts in f.points:
            d = 2 * pts.radius * unit_pt
            if pts.name not in arts:
                arts[pts.name] = ax.scatter([], [], s=d * d, zorder=4 if pts.ring else 3,
                                            edgecolors=th["collapsed"] if pts.ring else "none",
                                            linewidths=max(0.6, 0.25 * d) if pts.ring else 0)
            arts[pts.name].set_offsets(pts.xy)
            arts[pts.name].set_facecolors(PALETTE_RGBA[pts.color % len(PALETTE)])   # (n, 4) array, no parsing
        if f.card or f.cover > 0 or "cover" in arts:
            if "cover" not in arts:
                arts["cover"] = ax.add_patch(Rectangle((0, 0), FIG_W, FIG_H, facecolor=th["bg"], zorder=10))
            arts["cover"].set_alpha(f.cover)
            arts["cover"].set_visible(f.cover > 0)
        for lab, z in [(lab, 5) for lab in f.labels] + [(lab, 11) for lab in f.card]:
            if lab.name not in arts:
                arts[lab.name] = ax.text(0, 0, "", ha=lab.ha, va=lab.va, zorder=z, family="DejaVu Sans",
                                         fontsize=lab.size * unit_pt / 0.72)
            t = arts[lab.name]
            t.set_text(lab.text)
            t.set_position((lab.x, lab.y))
            t.set_color(lab.color)
            t.set_alpha(lab.alpha)
            t.set_visible(lab.alpha > 0)
        return list(arts.values())

    update(frames.static())
    arts.clear()    # the static artists stay on the axes, drawn with everything else every frame
    anim = FuncAnimation(fig, lambda i: update(frames.frame(i)), frames=frames.n_frames, blit=False,
                         cache_frame_data=False)
    writer = FFMpegWriter(fps=frames.fps, codec="libx264",
                          extra_args=["-pix_fmt", "yuv420p", "-crf", "20", "-preset", "veryfast"])
    anim.save(str(out), writer=writer, dpi=DPI)
    plt.close(fig)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trace", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--quality", default="m", choices=list(export.QUALITIES))
    ap.add_argument("--duration", type=float, default=8.0)
    args = ap.parse_args()
    from geomdl.io import trace as trace_mod  # noqa: PLC0415
    from scenes.render import make_frames  # noqa: PLC0415

    q = export.quality(args.quality)
    frames = make_frames(trace_mod.load(args.trace), q.fps, args.duration, "light")
    print(render_peer(frames, args.out, args.quality))


if __name__ == "__main__":
    main()
