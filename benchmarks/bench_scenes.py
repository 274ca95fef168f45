"""Scene benchmark: every registered scene with both renderers at -ql and -qh against the encode floor, and how
the per-frame cost grows from 1k to 100k points.

Run:  .venv/bin/python benchmarks/bench_scenes.py [--scenes a,b] [--qualities l,h] [--renderers matplotlib,manim]
          [--repeats 3] [--duration 4] [--sections scenes,points,headline,startup] [--baseline REV] [--no-peer]
          [--quick]

Headline (``--sections headline``): the headline clip (``truncation-speed --q 3``, default config, 8 s of
animation: 378 frames at 720p30, 189 at 480p15) rendered by the matplotlib renderer with ``--jobs 1`` and with
every core, by the hand-written FuncAnimation + FFMpegWriter peer (``benchmarks/peer_funcanimation.py``), and
the encode floor, in interleaved rounds (floor, jobs 1, all cores, peer; ``--repeats`` rounds); each ratio is
taken within its round and the median of the rounds is reported, for wall time and for CPU time (this process
and its finished children: workers, ffmpeg; on a machine shared with other jobs the CPU ratio is the steadier
one). ``cores used``: CPU seconds per wall second.

Start-up (``--sections startup``): a fresh process doing what a warm ``geomdl render truncation-speed --q 3``
does before its first frame (import the CLI and the renderer, build the config, hash it, load the cached
trace), timed as a whole process, interleaved with the same plus ``import torch, scipy.linalg`` (what the
cache lookup used to import); and the whole warm CLI render of one still (``--format png``).

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
``MplFrameDrawer.draw(i)`` (CPU time of the process); Manim the interval between consecutive frames of the
scene rendered with ``write_to_movie`` off. Median over the clip's frames; 1k and 100k are measured back to
back ``--repeats`` times and the ratio is the median of the paired ratios (the machine's speed drifts). The
clip shows its panels one after another (no points in its first frames, then ~1/3, ~2/3, ...), so its median
frame draws ~70k points at the 100k setting (~700 at 1k); the rows ``every panel shown`` take the median over
the frames that draw at least ``FULL_SHARE`` of the clip's largest count in both clips (the last few: ~100k
against ~1.0k points), from the same draws.
``--points-e2e`` adds, clearly apart from that figure, the whole ``render_mpl`` of each points clip to an MP4
(``--jobs 1``: drawer set-up, model, drawing and libx264; CPU of the process and its encoder) per frame, and the
encode floor of the same frame count. ``--raster-min`` sets the point count from which both renderers splat
point groups with numpy (``scenes.backends.raster``; a huge value measures the marker paths).

``--baseline REV`` (headline and points, matplotlib): the same measurements of git revision ``REV`` too (its
tree extracted with ``git archive``, run in a child process on the same trace files), interleaved with the
current tree's: in each headline round after the current ``--jobs 1`` render, in each points repeat after
the current pair; the child reports the render's own CPU and wall time (imports and loading not counted).
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

from bench_foundation import encode_blank, encode_blank_rgb, median_time  # noqa: E402
from revisions import baseline_tree  # noqa: E402

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
FULL_SHARE = 0.9   # points: "every panel shown" = frames with at least this share of the clip's largest count


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
        for i in range(frames.n_frames):   # CPU time: drawing is one thread, and steadier than wall time when
            t = time.process_time()        # the machine is shared
            drawer.draw(i)
            times.append(time.process_time() - t)
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

    sizes, full = {}, {}
    tree = baseline_tree(args.baseline, tmp) if args.baseline and "matplotlib" in args.renderers else None
    paths = []
    for label, npc in POINTS_N_PER_CLASS.items():
        tr, _ = truncation_speed.run(truncation_speed.TruncationSpeedConfig(n_per_class=npc, steps=60, snapshots=4))
        if tree is not None:
            paths.append(tr.save(tmp / f"points_{label}.npz"))
        frames = TruncationFrames(tr, fps=30, duration=args.points_frames / 30, hold_start=0, hold_end=0,
                                  card_seconds=0)
        counts, model = [], []
        for i in range(frames.n_frames):
            t = time.perf_counter()
            f = frames.frame(i)
            model.append(time.perf_counter() - t)
            counts.append(sum(len(p.xy) for p in f.points))
        sizes[label] = (frames, statistics.mean(counts), statistics.median(model))
        full[label] = [i for i, c in enumerate(counts) if c >= FULL_SHARE * max(counts)]
        print(f"points {label}: N = {3 * npc}, {statistics.mean(counts):.0f} points per frame on average "
              f"(median frame {statistics.median(counts):.0f}, largest {max(counts)}), frame model "
              f"{1e3 * statistics.median(model):.1f} ms", flush=True)
    rows = []
    lo, hi = sizes["1k"], sizes["100k"]
    both = sorted(set(full["1k"]) & set(full["100k"]))   # frames with every panel shown in both clips
    big = {label: statistics.mean(sum(len(p.xy) for p in sizes[label][0].frame(i).points) for i in both)
           for label in sizes}
    rows.append(["frame model only", f"{lo[1]:.0f}", f"{1e3 * lo[2]:.1f}", f"{hi[1]:.0f}", f"{1e3 * hi[2]:.1f}",
                 f"{hi[2] / lo[2]:.1f}x", ""])
    def medians(times: list[float]) -> tuple[float, float]:
        """(median over every frame, median over the frames with every panel shown)"""
        return statistics.median(times), statistics.median(times[i] for i in both if i < len(times))

    def add_rows(name: str, per: dict, ratios: list) -> None:
        for k, (what, n1, n2) in enumerate([("", lo[1], hi[1]), (", every panel shown", big["1k"], big["100k"])]):
            ratio = statistics.median(r[k] for r in ratios)
            rows.append([f"{name}{what}", f"{n1:.0f}", f"{1e3 * statistics.median(p[k] for p in per['1k']):.1f}",
                         f"{n2:.0f}", f"{1e3 * statistics.median(p[k] for p in per['100k']):.1f}", f"{ratio:.1f}x",
                         "met" if ratio <= POINTS_TARGET else "**not met**"])
            print(" | ".join(rows[-1]), flush=True)

    for rn in args.renderers:
        per: dict[str, list[tuple[float, float]]] = {"1k": [], "100k": []}
        base: dict[str, list[tuple[float, float]]] = {"1k": [], "100k": []}
        ratios, base_ratios = [], []
        for _ in range(args.repeats):   # 1k and 100k measured back to back, the ratios taken per pair
            for label, (frames, _, _) in sizes.items():
                times = mpl_frame_times(frames, "m") if rn == "matplotlib" else manim_frame_times(frames, "m", tmp)
                per[label].append(medians(times))
            ratios.append(tuple(b / a for a, b in zip(per["1k"][-1], per["100k"][-1], strict=True)))
            if rn == "matplotlib" and tree is not None:
                t1, t2 = (medians(t) for t in run_baseline(tree, "points", "m", str(args.points_frames), paths))
                base["1k"].append(t1)
                base["100k"].append(t2)
                base_ratios.append(tuple(b / a for a, b in zip(t1, t2, strict=True)))
        add_rows(f"{rn} (model + draw)", per, ratios)
        if rn == "matplotlib" and tree is not None:
            add_rows(f"{rn}, baseline {args.baseline}", base, base_ratios)
        if rn == "matplotlib" and args.points_e2e:
            rows += points_end_to_end(args, sizes, tree, paths, tmp)
    return rows


def points_end_to_end(args, sizes: dict, tree: Path | None, paths: list[Path], tmp: Path) -> list[list[str]]:
    """Not the per-frame target's figure: the whole ``render_mpl`` of each points clip to an MP4 (``--jobs 1``:
    drawer set-up, every frame's model and drawing, libx264), CPU seconds of the process and its encoder per
    frame, next to the encode floor (the same number of blank frames through the same encoder)."""
    from scenes.backends.mpl_renderer import render_mpl  # noqa: PLC0415

    q = export.quality("m")
    n = sizes["1k"][0].n_frames
    e2e: dict[str, list[float]] = {"1k": [], "100k": []}
    base: dict[str, list[float]] = {"1k": [], "100k": []}
    floor = []
    for _ in range(args.repeats):
        floor.append(timed(lambda: encode_blank(n, q, tmp / "blank.mp4"))[1] / n)
        for label, (frames, _, _) in sizes.items():
            e2e[label].append(timed(lambda f=frames: render_mpl(f, tmp / "e2e.mp4", "m", jobs=1))[1] / n)
        if tree is not None:
            for label, p in zip(e2e, paths, strict=True):
                base[label].append(run_baseline(tree, "points-e2e", "m", str(args.points_frames), [p])[1] / n)
    med = statistics.median
    rows = [["end to end (draw + encode), CPU / frame, not the target's figure", "",
             f"{1e3 * med(e2e['1k']):.1f}", "", f"{1e3 * med(e2e['100k']):.1f}",
             f"{med(e2e['100k']) / med(e2e['1k']):.1f}x", ""]]
    if tree is not None:
        rows.append([f"end to end, baseline {args.baseline}", "", f"{1e3 * med(base['1k']):.1f}", "",
                     f"{1e3 * med(base['100k']):.1f}", f"{med(base['100k']) / med(base['1k']):.1f}x", ""])
    rows.append([f"encode floor ({n} blank frames), CPU / frame", "", f"{1e3 * med(floor):.1f}", "",
                 f"{1e3 * med(floor):.1f}", "", ""])
    for r in rows:
        print(" | ".join(r), flush=True)
    return rows


BASELINE_CHILD = r"""
import json, resource, statistics, sys, time
root, what, qk, out = sys.argv[1:5]
paths = sys.argv[5:]
sys.path.insert(0, root)
from pathlib import Path
from geomdl.io import trace
from scenes.backends import export
def cpu():
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime
if what == "headline":
    from scenes.render import make_frames
    from scenes.backends.mpl_renderer import render_mpl
    q = export.quality(qk)
    frames = make_frames(trace.load(paths[0]), q.fps, 8.0, "light")
    c, t = cpu(), time.perf_counter()
    render_mpl(frames, Path(out), qk, jobs=1)
    print(json.dumps([time.perf_counter() - t, cpu() - c]))
elif what == "points-e2e":   # the whole render of one points clip: (wall s, CPU s of it and its encoder)
    from scenes.clips.truncation_speed import TruncationFrames
    from scenes.backends.mpl_renderer import render_mpl
    frames = TruncationFrames(trace.load(paths[0]), fps=30, duration=int(out) / 30, hold_start=0, hold_end=0,
                              card_seconds=0)
    c, t = cpu(), time.perf_counter()
    render_mpl(frames, Path(paths[0]).with_suffix(".mp4"), qk, jobs=1)
    print(json.dumps([time.perf_counter() - t, cpu() - c]))
else:   # points: the CPU time of MplFrameDrawer.draw of every frame, per trace
    from scenes.clips.truncation_speed import TruncationFrames
    from scenes.backends.mpl_renderer import MplFrameDrawer
    q = export.quality(qk)
    got = []
    for p in paths:
        frames = TruncationFrames(trace.load(p), fps=30, duration=int(out) / 30, hold_start=0, hold_end=0,
                                  card_seconds=0)
        d = MplFrameDrawer(frames, q.width, q.height)
        d.draw(0)
        times = []
        for i in range(frames.n_frames):
            t = time.process_time()
            d.draw(i)
            times.append(time.process_time() - t)
        d.close()
        got.append(times)
    print(json.dumps(got))
"""


def run_baseline(tree: Path, what: str, qk: str, out: str, paths: list[Path]) -> list[float]:
    import json  # noqa: PLC0415
    import subprocess  # noqa: PLC0415

    got = subprocess.run([sys.executable, "-c", BASELINE_CHILD, str(tree), what, qk, out, *map(str, paths)],
                         check=True, capture_output=True, text=True, cwd=tree)
    return json.loads(got.stdout.strip().splitlines()[-1])


def cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children (workers, encoders)."""
    import resource  # noqa: PLC0415

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def timed(fn) -> tuple[float, float]:
    """``(wall s, CPU s)`` of ``fn()`` (or what ``fn`` returns when it measures itself: a baseline child)."""
    c, t = cpu_seconds(), time.perf_counter()
    got = fn()
    if isinstance(got, list):
        return got[0], got[1]
    return time.perf_counter() - t, cpu_seconds() - c


def bench_headline(args, tmp: Path) -> list[list[str]]:
    from peer_funcanimation import render_peer  # noqa: PLC0415

    from geomdl.machine import usable_cores  # noqa: PLC0415
    from scenes.backends.mpl_renderer import render_mpl  # noqa: PLC0415

    cores = usable_cores()
    tr, _ = truncation_speed.run(truncation_speed.TruncationSpeedConfig(q=3))
    tree = baseline_tree(args.baseline, tmp) if args.baseline else None
    trace_path = tr.save(tmp / "headline.npz") if tree else None
    rows = []
    for qk in args.headline_qualities:
        q = export.quality(qk)
        frames = make_frames(tr, q.fps, 8.0, "light")
        n = frames.n_frames
        runs = {
            "encode floor": lambda n=n, q=q: encode_blank(n, q, tmp / "blank.mp4"),
            "matplotlib --jobs 1": lambda f=frames, qk=qk: render_mpl(f, tmp / "j1.mp4", qk, jobs=1),
            "encode floor, rgb24 into ffmpeg's scaler (until stop 31)":
                lambda n=n, q=q: encode_blank_rgb(n, q, tmp / "blank_rgb.mp4"),
        }
        if tree is not None:
            runs[f"matplotlib --jobs 1, baseline {args.baseline}"] = lambda qk=qk: run_baseline(
                tree, "headline", qk, str(tmp / "base.mp4"), [trace_path])
        if not args.no_peer:
            runs[f"matplotlib --jobs {cores}"] = lambda f=frames, qk=qk: render_mpl(f, tmp / "jn.mp4", qk,
                                                                                     jobs=cores)
            runs["peer: FuncAnimation + FFMpegWriter"] = lambda f=frames, qk=qk: render_peer(f, tmp / "peer.mp4", qk)
        got: dict[str, list[tuple[float, float]]] = {k: [] for k in runs}
        for r in range(args.repeats):      # interleaved rounds: the machine's drift hits all alike
            for name, fn in runs.items():
                got[name].append(timed(fn))
            print(f"{q.tag} round {r + 1}: " + ", ".join(f"{k} {v[-1][0]:.2f} s" for k, v in got.items()),
                  flush=True)
        floor = [w for w, _ in got["encode floor"]]
        j1 = [w for w, _ in got["matplotlib --jobs 1"]]
        jn = [w for w, _ in got.get(f"matplotlib --jobs {cores}", got["matplotlib --jobs 1"])]
        med = lambda xs: statistics.median(xs)  # noqa: E731
        floor_cpu = [c for _, c in got["encode floor"]]
        for name, v in got.items():
            wall = [w for w, _ in v]
            ratio = med([w / f for w, f in zip(wall, floor, strict=True)])
            cpu_ratio = med([c / f for (_, c), f in zip(v, floor_cpu, strict=True)])
            extra = ""
            if name.startswith("matplotlib --jobs") and name != "matplotlib --jobs 1":
                extra = f"{med([a / b for a, b in zip(j1, jn, strict=True)]):.2f}x faster than --jobs 1"
            if name.startswith("peer"):
                extra = f"{med([a / b for a, b in zip(wall, jn, strict=True)]):.2f}x the time of --jobs {cores}"
            if name == "matplotlib --jobs 1":
                old = [c for _, c in got["encode floor, rgb24 into ffmpeg's scaler (until stop 31)"]]
                extra = f"CPU {med([a / b for (_, a), b in zip(v, old, strict=True)]):.2f}x the rgb24 floor"
            if "baseline" in name:
                cur = [c for _, c in got["matplotlib --jobs 1"]]
                extra = f"CPU {med([a / b for (_, a), b in zip(v, cur, strict=True)]):.2f}x the current --jobs 1"
            rows.append([q.tag, str(n), name, f"{med(wall):.2f}", f"{ratio:.2f}x", f"{med([c for _, c in v]):.2f}",
                         f"{cpu_ratio:.2f}x", f"{med([c / w for w, c in v]):.2f}", extra])
            print(" | ".join(rows[-1]), flush=True)
    return rows


STARTUP_PROBE = """
import sys, time
sys.path.insert(0, {root!r})
import cli  # noqa
from geomdl import experiments
from geomdl.io import trace
import scenes.render, scenes.backends.mpl_renderer  # noqa
mod = experiments.get("truncation-speed")
cfg = experiments.make_config(mod, {{"q": 3}}, None)
tr = trace.load(experiments.trace_path({out!r}, mod.KIND, cfg))
if {heavy}:
    import torch, scipy.linalg  # noqa
"""


def bench_startup(args, tmp: Path) -> list[list[str]]:
    import subprocess  # noqa: PLC0415

    out = tmp / "startup"
    geomdl = str(Path(sys.executable).with_name("geomdl"))
    cmd = [geomdl, "render", "truncation-speed", "--q", "3", "--renderer", "matplotlib", "--quality", "l",
           "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True)     # trains once: the renders below are warm
    probes = {"light": STARTUP_PROBE.format(root=str(ROOT), out=str(out), heavy=False),
              "heavy": STARTUP_PROBE.format(root=str(ROOT), out=str(out), heavy=True)}
    runs = {"start-up: imports + config hash + cached trace": [sys.executable, "-c", probes["light"]],
            "  the same + import torch, scipy.linalg": [sys.executable, "-c", probes["heavy"]],
            "warm CLI render of one still (--format png, 480p)": [*cmd, "--format", "png"]}
    got: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(max(3, args.repeats)):
        for name, c in runs.items():
            t = time.perf_counter()
            subprocess.run(c, check=True, capture_output=True)
            got[name].append(time.perf_counter() - t)
    rows = [[name, f"{statistics.median(v):.2f}"] for name, v in got.items()]
    heavy, light = got["  the same + import torch, scipy.linalg"], got["start-up: imports + config hash + cached trace"]
    extra = statistics.median([h - g for h, g in zip(heavy, light, strict=True)])
    rows.append(["  torch + scipy would add", f"{extra:.2f}"])
    for r in rows:
        print(" | ".join(r), flush=True)
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
    ap.add_argument("--sections", type=csv, default=["scenes", "points"], help="scenes,points,headline,startup")
    ap.add_argument("--headline-qualities", type=csv, default=["m", "l"], help="headline: quality keys (m,l)")
    ap.add_argument("--points-frames", type=int, default=None, help="frames per points measurement (default 30)")
    ap.add_argument("--points-e2e", action="store_true",
                    help="points: also the whole render to MP4 per frame (draw + encode; not the target's figure)")
    ap.add_argument("--raster-min", type=int, default=None, help="override scenes.backends.raster.RASTER_MIN")
    ap.add_argument("--baseline", default=None, help="headline, points: also measure git revision REV's renderer")
    ap.add_argument("--no-peer", action="store_true", help="headline: leave out --jobs N and the peer")
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
        headline_rows = bench_headline(args, tmp) if "headline" in args.sections else []
        startup_rows = bench_startup(args, tmp) if "startup" in args.sections else []
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.repeats} runs; {args.duration:g} s of animation per clip\n")
    if scene_rows:
        print(table(["scene", "renderer", "quality", "frames", "render s", "ms/frame", "encode floor s",
                     "ratio to floor", "MP4 KiB"], scene_rows) + "\n")
    if point_rows:
        print(table(["720p, per frame, excl. encoding", "points (1k)", "ms", "points (100k)", "ms", "100k / 1k",
                     f"target <= {POINTS_TARGET:g}x"], point_rows) + "\n")
    if headline_rows:
        print(f"load average while it ran: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(table(["quality", "frames", "what", "wall s", "wall / floor", "CPU s", "CPU / floor", "cores used", ""],
                    headline_rows) + "\n")
    if startup_rows:
        print(table(["start-up (whole process)", "wall s"], startup_rows))


if __name__ == "__main__":
    main()
