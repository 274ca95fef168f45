"""Scene benchmark: every registered scene with both renderers at -ql and -qh against the encode floor, and how
the per-frame cost grows from 1k to 100k points.

Run:  .venv/bin/python benchmarks/bench_scenes.py [--scenes a,b] [--qualities l,h] [--renderers matplotlib,manim]
          [--repeats 3] [--duration 4] [--sections scenes,points] [--quick]

Scenes (``scenes.render.SCENES``, whatever is registered when it runs): one trace per experiment is recorded
once, before anything is timed, with the experiment's default config except where ``BENCH_CONFIGS`` says
otherwise (``layers``/``training``: MNIST digits 0 1 2 as by default, but 128-wide hidden layers and one loss
threshold, 0.1, so it records in ~15 s instead of minutes; the render draws the same 1200 digits). Each render
runs in-process on that trace, like ``bench_foundation.py`` (imports and the trace are not timed), with
``--duration`` seconds of animation (plus each clip's title card and holds: the frame count is in the table),
``--repeats`` times; figures are medians. The encode floor is ``bench_foundation.encode_blank``: the same number
of blank frames at the same size and rate through the same encoder (libx264, yuv420p); ratios are taken within
this run. Size: the MP4 of the last repeat.

Points: ``truncation-speed`` traces (Q=3, 60 GD steps, 4 snapshots) with ``n_per_class`` chosen so that a frame
draws ~1k and ~100k points (the frame model's point groups, after its de-duplication), drawn at 720p without
title card or holds. Per-frame cost = frame model + drawing, *excluding* encoding: matplotlib
``MplFrameDrawer.draw(i)``; Manim the interval between consecutive frames of the scene rendered with
``write_to_movie`` off. Median over the clip's frames; 1k and 100k are measured back to back ``--repeats``
times and the ratio is the median of the paired ratios (the machine's speed drifts). ``--raster-min`` sets
the point count from which both renderers splat point groups with numpy (``scenes.backends.raster``; a huge value
measures the marker paths).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_foundation import encode_blank, median_time  # noqa: E402

from geomdl import experiments  # noqa: E402
from geomdl.experiments import truncation_speed  # noqa: E402
from scenes.backends import export  # noqa: E402
from scenes.render import SCENES, make_frames, manim_available  # noqa: E402

# experiment -> config overrides for the recording (documented in the module docstring)
BENCH_CONFIGS: dict[str, dict] = {
    "layers": {"thresholds": (0.1,), "widths": (128, 128, 128)},
}
POINTS_N_PER_CLASS = {"1k": 120, "100k": 12000}   # Q=3 truncation-speed: ~1.0k and ~100k drawn points per frame
POINTS_TARGET = 2.0


def record(scene_names: list[str]) -> dict[str, object]:
    """One trace per experiment used by ``scene_names`` (recorded once, untimed); scene -> trace."""
    traces: dict[str, object] = {}
    by_exp: dict[str, object] = {}
    for name in scene_names:
        exp = SCENES[name].experiment
        if exp not in by_exp:
            mod = experiments.get(exp)
            cfg = mod.Config(**BENCH_CONFIGS.get(exp, {}))
            t = time.perf_counter()
            tr, result = mod.run(cfg)
            note = f" (run failed: {result.stop_reason}; rendered anyway)" if result.failed else ""
            print(f"recorded {exp} in {time.perf_counter() - t:.1f} s{note}", flush=True)
            by_exp[exp] = tr
        traces[name] = by_exp[exp]
    return traces


def render(frames, renderer: str, quality: str, path: Path) -> Path:
    if renderer == "manim":
        from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

        return render_manim(frames, path, quality)
    from scenes.backends.mpl_renderer import render_mpl  # noqa: PLC0415

    return render_mpl(frames, path, quality)


def bench_scenes(args, tmp: Path) -> list[list[str]]:
    names = args.scenes or list(SCENES)
    unknown = [n for n in names if n not in SCENES]
    if unknown:
        sys.exit(f"unknown scenes: {', '.join(unknown)} (registered: {', '.join(SCENES)})")
    traces = record(names)
    floors: dict[tuple[int, str], float] = {}
    rows = []
    for name in names:
        for qk in args.qualities:
            q = export.quality(qk)
            frames = make_frames(traces[name], q.fps, args.duration, "light", scene=name)
            n = frames.n_frames
            if (n, qk) not in floors:
                floors[(n, qk)] = median_time(lambda n=n, q=q: encode_blank(n, q, tmp / "blank.mp4"), args.repeats)
            floor = floors[(n, qk)]
            for rn in args.renderers:
                out = tmp / f"{name}_{rn}_{qk}.mp4"
                t = median_time(lambda f=frames, rn=rn, qk=qk, out=out: render(f, rn, qk, out), args.repeats)
                size = out.stat().st_size
                rows.append([name, rn, q.tag, str(n), f"{t:.2f}", f"{1e3 * t / n:.1f}", f"{floor:.2f}",
                             f"{t / floor:.1f}x", f"{size / 1024:.0f}"])
                print(" | ".join(rows[-1]), flush=True)
    return rows


def mpl_frame_times(frames, quality: str) -> list[float]:
    from scenes.backends.mpl_renderer import MplFrameDrawer  # noqa: PLC0415

    q = export.quality(quality)
    drawer = MplFrameDrawer(frames, q.width, q.height)
    try:
        drawer.draw(0)
        times = []
        for i in range(frames.n_frames):
            t = time.perf_counter()
            drawer.draw(i)
            times.append(time.perf_counter() - t)
        return times
    finally:
        drawer.close()


def manim_frame_times(frames, quality: str, tmp: Path) -> list[float]:
    """Intervals between consecutive frames of the Manim scene, rendered without writing a movie."""
    from manim import tempconfig  # noqa: PLC0415

    from scenes.backends.manim_scenes import FrameScene, manim_config  # noqa: PLC0415

    stamps: list[float] = []
    cfg = manim_config(frames, export.quality(quality), tmp / "manim-media")
    cfg["write_to_movie"] = False
    with tempconfig(cfg):
        FrameScene(frames, progress=lambda i, n: stamps.append(time.perf_counter())).render()
    return [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]   # frame 0 is drawn before play


def bench_points(args, tmp: Path) -> list[list[str]]:
    from scenes.clips.truncation_speed import TruncationFrames  # noqa: PLC0415

    sizes = {}
    for label, npc in POINTS_N_PER_CLASS.items():
        tr, _ = truncation_speed.run(truncation_speed.TruncationSpeedConfig(n_per_class=npc, steps=60, snapshots=4))
        frames = TruncationFrames(tr, fps=30, duration=args.points_frames / 30, hold_start=0, hold_end=0,
                                  card_seconds=0)
        counts, model = [], []
        for i in range(frames.n_frames):
            t = time.perf_counter()
            f = frames.frame(i)
            model.append(time.perf_counter() - t)
            counts.append(sum(len(p.xy) for p in f.points))
        sizes[label] = (frames, statistics.mean(counts), statistics.median(model))
        print(f"points {label}: N = {3 * npc}, {statistics.mean(counts):.0f} points per frame, frame model "
              f"{1e3 * statistics.median(model):.1f} ms", flush=True)
    rows = []
    lo, hi = sizes["1k"], sizes["100k"]
    rows.append(["frame model only", f"{lo[1]:.0f}", f"{1e3 * lo[2]:.1f}", f"{hi[1]:.0f}", f"{1e3 * hi[2]:.1f}",
                 f"{hi[2] / lo[2]:.1f}x", ""])
    for rn in args.renderers:
        per: dict[str, list[float]] = {"1k": [], "100k": []}
        ratios = []
        for _ in range(args.repeats):   # 1k and 100k measured back to back, the ratio taken per pair
            for label, (frames, _, _) in sizes.items():
                times = mpl_frame_times(frames, "m") if rn == "matplotlib" else manim_frame_times(frames, "m", tmp)
                per[label].append(statistics.median(times))
            ratios.append(per["100k"][-1] / per["1k"][-1])
        ratio = statistics.median(ratios)
        rows.append([f"{rn} (model + draw)", f"{lo[1]:.0f}", f"{1e3 * statistics.median(per['1k']):.1f}",
                     f"{hi[1]:.0f}", f"{1e3 * statistics.median(per['100k']):.1f}", f"{ratio:.1f}x",
                     "met" if ratio <= POINTS_TARGET else "**not met**"])
        print(" | ".join(rows[-1]), flush=True)
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def set_raster_min(n: int) -> None:
    """Override the point count from which both renderers splat point groups (their module-level copies)."""
    import scenes.backends.mpl_renderer as mr  # noqa: PLC0415

    mr.RASTER_MIN = n
    if manim_available():
        import scenes.backends.manim_scenes as ms  # noqa: PLC0415

        ms.RASTER_MIN = n


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    csv = lambda s: [v for v in s.split(",") if v]  # noqa: E731
    ap.add_argument("--scenes", type=csv, default=None, help="comma-separated (default: every registered scene)")
    ap.add_argument("--qualities", type=csv, default=None, help="comma-separated quality keys (default: l,h)")
    ap.add_argument("--renderers", type=csv, default=None, help="comma-separated (default: matplotlib,manim)")
    ap.add_argument("--repeats", type=int, default=None, help="renders per figure (median; default 3)")
    ap.add_argument("--duration", type=float, default=None, help="seconds of animation per clip (default 4)")
    ap.add_argument("--sections", type=csv, default=["scenes", "points"], help="scenes,points")
    ap.add_argument("--points-frames", type=int, default=None, help="frames per points measurement (default 30)")
    ap.add_argument("--raster-min", type=int, default=None, help="override scenes.backends.raster.RASTER_MIN")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repeat, 1 s, -ql, 5 points frames")
    args = ap.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.duration = args.duration or (1.0 if args.quick else 4.0)
    args.qualities = args.qualities or (["l"] if args.quick else ["l", "h"])
    args.points_frames = args.points_frames or (5 if args.quick else 30)
    args.renderers = args.renderers or ["matplotlib", "manim"]
    if "manim" in args.renderers and not manim_available():
        print("Manim is not installed: matplotlib only")
        args.renderers = [r for r in args.renderers if r != "manim"]
    if args.raster_min is not None:
        set_raster_min(args.raster_min)
    truncation_speed.torch_threads()
    tmp = Path(tempfile.mkdtemp(prefix="geomdl-bench-scenes-"))
    try:
        scene_rows = bench_scenes(args, tmp) if "scenes" in args.sections else []
        point_rows = bench_points(args, tmp) if "points" in args.sections else []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.repeats} runs; {args.duration:g} s of animation per clip\n")
    if scene_rows:
        print(table(["scene", "renderer", "quality", "frames", "render s", "ms/frame", "encode floor s",
                     "ratio to floor", "MP4 KiB"], scene_rows) + "\n")
    if point_rows:
        print(table(["720p, per frame, excl. encoding", "points (1k)", "ms", "points (100k)", "ms", "100k / 1k",
                     f"target <= {POINTS_TARGET:g}x"], point_rows))


if __name__ == "__main__":
    main()
