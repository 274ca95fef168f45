"""Manim renderer benchmark: the warm headline render against the encode floor, interleaved, and where its time goes.

Run:  .venv/bin/python benchmarks/bench_manim.py [--trace media/traces/<headline>.npz] [--rounds 3]
          [--qualities l,m] [--profile] [--before DIR]

The trace is the headline run (``geomdl render truncation-speed --q 3``); without ``--trace`` it is recorded
once here, untimed. Each round renders, for every quality, first the encode floor and then the Manim clip, in
process, so that the ratio is taken between neighbouring measurements (the machine's speed drifts):

- encode floor: the clip's frame count of one still image (the clip's last frame drawn once by the matplotlib
  renderer) piped through ``scenes.backends.export.write_mp4``: geomdl's encoder settings (libx264, yuv420p,
  CRF 20, veryfast; the frames converted to yuv420p in Python where they change: here, the first);
- the floor as measured until stop 31: the same still piped as rgb24 into ffmpeg, whose scaler converts every
  frame (``bench_foundation.encode_blank_rgb``); the last column gives Manim's CPU against it;
- Manim: ``render_manim(frames, path, quality)`` with the headline frame model (title card, 8 s, holds).

Both wall time and CPU time (this process's threads plus its finished children, i.e. ffmpeg) are measured;
figures are medians over rounds of the per-round ratio. ``--before DIR``: also, in every round, the same render
by the code in ``DIR`` (e.g. ``git archive <commit> | tar -x -C DIR``: an earlier version of the renderer), in a
subprocess timed around ``render_manim`` alone, so that before and after are measured side by side.
``--profile`` adds one render of the last quality with timers around the parts of the work (share of its wall
time).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_foundation import encode_blank_rgb  # noqa: E402

from scenes.backends import export  # noqa: E402
from scenes.render import make_frames  # noqa: E402


def headline_trace(path: str | None):
    from geomdl.io import trace as trace_mod  # noqa: PLC0415

    if path:
        return trace_mod.load(Path(path))
    from geomdl.experiments import truncation_speed  # noqa: PLC0415

    tr, _ = truncation_speed.run(truncation_speed.TruncationSpeedConfig(q=3))
    return tr


def timed(fn) -> tuple[float, float]:
    """``(wall s, cpu s)`` of ``fn()``: CPU of every thread of this process plus its reaped children."""
    t0, c0, k0 = time.perf_counter(), time.process_time(), os.times()
    fn()
    k1 = os.times()
    children = (k1.children_user - k0.children_user) + (k1.children_system - k0.children_system)
    return time.perf_counter() - t0, time.process_time() - c0 + children


BEFORE = """
import os, sys, time
from pathlib import Path
from geomdl.io import trace as trace_mod
from scenes.render import make_frames
from scenes.backends.manim_scenes import render_manim
tr = trace_mod.load(Path(sys.argv[1]))
fr = make_frames(tr, int(sys.argv[3]), 8.0, "light")
t0, c0, k0 = time.perf_counter(), time.process_time(), os.times()
render_manim(fr, Path(sys.argv[4]), sys.argv[2])
k1 = os.times()
print(time.perf_counter() - t0, time.process_time() - c0 + (k1.children_user - k0.children_user)
      + (k1.children_system - k0.children_system))
"""


def before_render(tree: Path, trace: Path, q: export.Quality, out: Path) -> tuple[float, float]:
    """``(wall s, cpu s)`` of ``render_manim`` as the code in ``tree`` has it, on the same trace and frames."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    res = subprocess.run([sys.executable, "-c", BEFORE, str(trace), q.key, str(q.fps), str(out)], cwd=tree,
                         env=env, check=True, capture_output=True, text=True)
    wall, cpu = res.stdout.split()[-2:]
    return float(wall), float(cpu)


def still(frames, q: export.Quality) -> np.ndarray:
    from scenes.backends.mpl_renderer import MplFrameDrawer  # noqa: PLC0415

    d = MplFrameDrawer(frames, q.width, q.height)
    try:
        return d.draw(frames.n_frames - 1)[:, :, :3].copy()
    finally:
        d.close()


def encode_floor(img: np.ndarray, n: int, q: export.Quality, path: Path) -> None:
    export.write_mp4((img for _ in range(n)), path, q.width, q.height, q.fps)


def time_split(frames, quality: str, tmp: Path) -> list[tuple[str, float]]:
    """One render with timers around the parts of a frame's work (low overhead, unlike a profiler that charges
    every Cairo call); each part's share of the render's wall time."""
    from manim.camera.camera import Camera  # noqa: PLC0415

    from scenes.backends import manim_scenes as ms  # noqa: PLC0415

    spent: dict[str, float] = {}
    scenes: list = []

    def timer(what: str, fn):
        def wrapped(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                spent[what] = spent.get(what, 0.0) + time.perf_counter() - t
        return wrapped

    orig_vec = Camera.display_multiple_vectorized_mobjects

    def vectors(self, vmobjects, pixel_array):
        labels = {id(m) for sc in scenes for m in sc._labels.values()}
        text = [v for v in vmobjects if id(v) in labels]
        timer("drawing labels (Cairo)", orig_vec)(self, text, pixel_array)
        timer("drawing segments and lines (Cairo)", orig_vec)(
            self, [v for v in vmobjects if id(v) not in labels], pixel_array)

    orig_init = ms.FrameMobjects.__init__

    def init(self, *a, **k):
        orig_init(self, *a, **k)
        scenes.append(self)

    patches = [(type(frames), "frame", timer("frame model (frame(i))", type(frames).frame)),
               (ms.FrameMobjects, "_draw", timer("updating mobjects (incl. label outlines)", ms.FrameMobjects._draw)),
               (ms.FrameMobjects, "__init__", init),
               (ms.FrameCamera, "display_point_cloud",
                timer("point clouds (Cairo / raster)", ms.FrameCamera.display_point_cloud)),
               (Camera, "display_multiple_vectorized_mobjects", vectors),
               (Camera, "set_frame_to_background", timer("static background copy", Camera.set_frame_to_background))]
    saved = [(cls, name, cls.__dict__.get(name)) for cls, name, _ in patches]
    try:
        for cls, name, fn in patches:
            setattr(cls, name, fn)
        t0 = time.perf_counter()
        ms.render_manim(frames, tmp / "split.mp4", quality)
        total = time.perf_counter() - t0
    finally:
        for cls, name, fn in saved:
            if fn is None:
                delattr(cls, name)
            else:
                setattr(cls, name, fn)
    out = [(k, v / total) for k, v in spent.items()]
    out.append(("the rest (handing frames to the encoder's pipe, set-up, the encoder's last frames)",
                1 - sum(v for _, v in out)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    csv = lambda s: [v for v in s.split(",") if v]  # noqa: E731
    ap.add_argument("--trace", default=None, help="the headline trace (.npz); default: record it here")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--qualities", type=csv, default=["l", "m"])
    ap.add_argument("--before", default=None, help="a tree of an earlier version, timed side by side")
    ap.add_argument("--profile", action="store_true", help="one timed render of the last quality: where the time goes")
    args = ap.parse_args()
    from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

    tr = headline_trace(args.trace)
    tmp = Path(tempfile.mkdtemp(prefix="geomdl-bench-manim-"))
    try:
        setup = {}
        for qk in args.qualities:
            q = export.quality(qk)
            frames = make_frames(tr, q.fps, 8.0, "light")
            setup[qk] = (q, frames, still(frames, q))
        res: dict[str, dict[str, list]] = {qk: {"floor": [], "manim": [], "before": [], "rgb": []}
                                           for qk in args.qualities}
        if args.before and not args.trace:
            sys.exit("--before needs --trace (the saved headline trace both versions read)")
        for r in range(args.rounds):
            for qk, (q, frames, img) in setup.items():
                res[qk]["floor"].append(timed(lambda img=img, fr=frames, q=q: encode_floor(img, fr.n_frames, q,
                                                                                             tmp / "floor.mp4")))
                res[qk]["manim"].append(timed(lambda fr=frames, qk=qk: render_manim(fr, tmp / "manim.mp4", qk)))
                res[qk]["rgb"].append(timed(lambda img=img, fr=frames, q=q: encode_blank_rgb(
                    fr.n_frames, q, tmp / "floor_rgb.mp4", img)))
                if args.before:
                    res[qk]["before"].append(before_render(Path(args.before), Path(args.trace), q,
                                                           tmp / "before.mp4"))
                f, m = res[qk]["floor"][-1], res[qk]["manim"][-1]
                b = f", before {res[qk]['before'][-1][0] / f[0]:.2f}x wall, " \
                    f"{res[qk]['before'][-1][1] / f[1]:.2f}x cpu" if args.before else ""
                print(f"round {r + 1} {q.tag}: floor {f[0]:.2f} s wall / {f[1]:.2f} s cpu, manim {m[0]:.2f} s wall"
                      f" / {m[1]:.2f} s cpu: {m[0] / f[0]:.2f}x wall, {m[1] / f[1]:.2f}x cpu{b}", flush=True)
        rows = []
        for qk, (q, frames, _) in setup.items():
            fl, ma = res[qk]["floor"], res[qk]["manim"]
            wall = statistics.median(m[0] / f[0] for f, m in zip(fl, ma, strict=True))
            cpu = statistics.median(m[1] / f[1] for f, m in zip(fl, ma, strict=True))
            row = [q.tag, str(frames.n_frames), f"{statistics.median(f[0] for f in fl):.2f}",
                   f"{statistics.median(m[0] for m in ma):.2f}",
                   f"{1e3 * statistics.median(m[0] for m in ma) / frames.n_frames:.1f}", f"{wall:.2f}x", f"{cpu:.2f}x",
                   f"{statistics.median(m[1] / f[1] for f, m in zip(res[qk]['rgb'], ma, strict=True)):.2f}x"]
            if args.before:
                be = res[qk]["before"]
                row += [f"{statistics.median(b[0] / f[0] for f, b in zip(fl, be, strict=True)):.2f}x",
                        f"{statistics.median(b[1] / f[1] for f, b in zip(fl, be, strict=True)):.2f}x"]
            rows.append(row)
        split = time_split(setup[args.qualities[-1]][1], args.qualities[-1], tmp) if args.profile else []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.rounds} interleaved rounds, ratios = median of per-round ratios\n")
    head = ["quality", "frames", "encode floor s", "Manim s", "Manim ms/frame", "Manim / floor (wall)", "(CPU)",
            "Manim / rgb24 floor (CPU; the floor until stop 31)"]
    head += ["before / floor (wall)", "(CPU)"] if args.before else []
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    if split:
        print("\n| where the render's time goes (timers, share of wall time) | share |\n|---|---|")
        for k, v in split:
            print(f"| {k} | {100 * v:.1f}% |")


if __name__ == "__main__":
    main()
