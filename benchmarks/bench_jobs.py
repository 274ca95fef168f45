"""``--jobs`` benchmark: both renderers with ``--jobs 1`` and ``--jobs 2`` (or ``--jobs-list``), interleaved, with
the drawing and encoding CPU that bound the speed-up.

Run:  .venv/bin/python benchmarks/bench_jobs.py [--trace media/traces/<headline>.npz] [--rounds 3]
          [--qualities m,l] [--renderers manim,matplotlib] [--jobs-list 1,2] [--set n_per_class=2000]

The trace is the headline run (``geomdl render truncation-speed --q 3``; ``--set`` changes its config, e.g.
more points); without ``--trace`` it is recorded once here, untimed. Each round renders, for every quality and
renderer, the clip with each ``--jobs`` value back to back (the order of the jobs values alternates between
rounds), each render in a fresh process (cold caches, as a CLI render; forked workers would otherwise inherit
the caches a previous render warmed), timed around the call the CLI makes (``render_manim`` / ``render_mpl``)
alone. Per render:

- wall time, and CPU time split into this process (``process_time``: with ``--jobs 1`` the drawing, ``D``, plus
  handing frames to the encoder) and its reaped children (with ``--jobs 1`` the encoder alone, ``E``; with more
  jobs the workers' drawing plus the encoder);
- the load average (1 min) before it, and the cores the machine's other processes used during it (busy CPU
  from ``/proc/stat`` less the render's own), since the machine may be shared; the wall-clock speed-up is also
  given over the quiet rounds alone (others below ``--quiet`` cores during both renders of the pair).

Then the medians over rounds of ``--jobs N`` / ``--jobs 1`` wall and CPU, and the bound of the docs: with
``--jobs 1`` taking at least ``max(D, (D + E) / 2)`` on 2 cores (the encoder runs beside the drawing) and ``--jobs
2`` at least ``(D + E) / 2``, the speed-up is at most ``2 D / (D + E)`` where ``D >= E`` (and 1 where ``D <= E``),
``D`` and ``E`` measured in the ``--jobs 1`` renders of the same round. A serial render does not reach its
``max(D, (D + E) / 2)`` (the drawing thread also hands the frames over), so the measured speed-up can exceed that
bound; the "measured bound" column is the one that holds: the measured ``--jobs 1`` wall over the least wall
``--jobs N`` can take with its measured CPU on the machine's cores.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomdl.machine import usable_cores  # noqa: E402
from scenes.backends import export  # noqa: E402


def headline_trace(path: str | None, sets: list[str]):
    from geomdl.io import trace as trace_mod  # noqa: PLC0415

    if path:
        return trace_mod.load(Path(path))
    from geomdl.experiments import truncation_speed  # noqa: PLC0415

    kw = {"q": 3}
    for s in sets:
        k, v = s.split("=", 1)
        kw[k] = type(getattr(truncation_speed.TruncationSpeedConfig(), k))(v)
    tr, _ = truncation_speed.run(truncation_speed.TruncationSpeedConfig(**kw))
    return tr


ONE = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from geomdl.io import trace as trace_mod
from scenes.backends import export
from scenes.render import make_frames
renderer, quality, jobs, trace, out = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], Path(sys.argv[6])
if renderer == "manim":
    from scenes.backends.manim_scenes import render_manim as fn
else:
    from scenes.backends.mpl_renderer import render_mpl as fn
frames = make_frames(trace_mod.load(Path(trace)), export.quality(quality).fps, 8.0, "light")
def busy():   # CPU seconds the whole machine has spent busy (every process), from /proc/stat
    try:
        v = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    except OSError:
        return float("nan")
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
load = os.getloadavg()[0]
b0, t0, c0, k0 = busy(), time.perf_counter(), time.process_time(), os.times()
fn(frames, out, quality, jobs=jobs)
k1, wall, c1, b1 = os.times(), time.perf_counter() - t0, time.process_time(), busy()
children = (k1.children_user - k0.children_user) + (k1.children_system - k0.children_system)
print(json.dumps({"wall": wall, "self": c1 - c0, "load": load, "children": children, "frames": frames.n_frames,
                  "others": max(0.0, (b1 - b0) - (c1 - c0) - children) / wall}))
"""


def timed(renderer: str, quality: str, jobs: int, trace: Path, out: Path) -> dict:
    """One render in a fresh process (cold caches, as a CLI render), timed around the render call alone: wall
    s, that process's CPU s (every thread), its reaped children's CPU s (workers, the encoder), the 1-min load
    before it, the frame count."""
    res = subprocess.run([sys.executable, "-c", ONE, str(ROOT), renderer, quality, str(jobs), str(trace),
                          str(out)], check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(res.stdout.strip().splitlines()[-1])


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    csv = lambda s: [v for v in s.split(",") if v]  # noqa: E731
    ap.add_argument("--trace", default=None, help="the headline trace (.npz); default: record it here")
    ap.add_argument("--set", dest="sets", action="append", default=[], help="config field=value of the trace")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--qualities", type=csv, default=["m", "l"])
    ap.add_argument("--renderers", type=csv, default=["manim", "matplotlib"])
    ap.add_argument("--jobs-list", type=lambda s: [int(v) for v in csv(s)], default=[1, 2])
    ap.add_argument("--quiet", type=float, default=0.25,
                    help="cores the other processes may use for a round to count as quiet (default 0.25)")
    args = ap.parse_args()
    if args.jobs_list[0] != 1:
        sys.exit("--jobs-list must start with 1 (the reference)")
    tmp = Path(tempfile.mkdtemp(prefix="geomdl-bench-jobs-"))
    trace = Path(args.trace) if args.trace else headline_trace(None, args.sets).save(tmp / "headline.npz")
    nframes: dict[str, int] = {}
    res: dict[tuple, list[dict]] = {}
    same: dict[tuple, set] = {}
    try:
        for r in range(args.rounds):
            for qk in args.qualities:
                for rn in args.renderers:
                    order = args.jobs_list if r % 2 == 0 else list(reversed(args.jobs_list))
                    for j in order:
                        out = tmp / f"{rn}_{qk}_j{j}.mp4"
                        m = timed(rn, qk, j, trace, out)
                        nframes[qk] = m["frames"]
                        res.setdefault((qk, rn, j), []).append(m)
                        same.setdefault((qk, rn), set()).add(digest(out))
                        print(f"round {r + 1} {qk} {rn:10s} --jobs {j}: wall {m['wall']:6.2f} s, cpu self "
                              f"{m['self']:6.2f} + children {m['children']:6.2f} s, load {m['load']:.2f}, other "
                              f"processes used {m['others']:.2f} cores meanwhile", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    med = statistics.median
    print(f"\nmachine: {platform.machine()}, {usable_cores()} usable cores, Python {platform.python_version()}; "
          f"load average now {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("| quality | frames | renderer | --jobs | wall s | CPU s (self + children) | cores used | load (1 min) "
          "| wall speed-up vs --jobs 1 | CPU vs --jobs 1 | D s | E s | 2D/(D+E) bound | measured bound |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for qk in args.qualities:
        n = nframes[qk]
        for rn in args.renderers:
            base = res[(qk, rn, 1)]
            D = med(m["self"] for m in base)
            E = med(m["children"] for m in base)
            bound = 2 * D / (D + E) if D >= E else 1.0
            for j in args.jobs_list:
                ms = res[(qk, rn, j)]
                wall, cpu = med(m["wall"] for m in ms), med(m["self"] + m["children"] for m in ms)
                speed = med(b["wall"] / m["wall"] for b, m in zip(base, ms, strict=True))
                cpur = med((m["self"] + m["children"]) / (b["self"] + b["children"]) for b, m in zip(base, ms,
                                                                                                     strict=True))
                loads = [m["load"] for m in ms]
                # the measured --jobs 1 wall over the least wall --jobs j can take with its measured CPU
                t1 = med(b["wall"] for b in base)
                mbound = t1 / max(cpu / min(j, usable_cores()), D / j)
                print(f"| {export.quality(qk).tag} | {n} | {rn} | {j} | {wall:.2f} | {cpu:.2f} "
                      f"({med(m['self'] for m in ms):.2f} + {med(m['children'] for m in ms):.2f}) | "
                      f"{cpu / wall:.2f} | {min(loads):.1f}-{max(loads):.1f} | "
                      f"{'' if j == 1 else f'{speed:.2f}x'} | {'' if j == 1 else f'{cpur:.2f}x'} | "
                      f"{D:.2f} | {E:.2f} | {'' if j == 1 else f'{bound:.2f}x'} | "
                      f"{'' if j == 1 else f'{mbound:.2f}x'} |")
            lo1 = max(D, (D + E) / 2)
            for j in args.jobs_list[1:]:
                c = med(m["self"] + m["children"] for m in res[(qk, rn, j)])
                lo = max(c / min(j, usable_cores()), D / j)
                print(f"<!-- {qk} {rn} --jobs {j}: on {usable_cores()} free cores --jobs 1 takes >= max(D, (D+E)/2) "
                      f"= {lo1:.2f} s (measured {med(m['wall'] for m in base):.2f} s), --jobs {j} >= its CPU / cores "
                      f"= {lo:.2f} s (measured {med(m['wall'] for m in res[(qk, rn, j)]):.2f} s): speed-up at most "
                      f"~{lo1 / lo:.2f}x with the measured CPU of --jobs {j} ({c / (D + E):.2f}x that of --jobs 1) -->")
    print("\nRounds where the other processes of the machine used < --quiet cores during both renders of the pair "
          "(/proc/stat, less this render's own CPU):")
    for qk in args.qualities:
        for rn in args.renderers:
            base = res[(qk, rn, 1)]
            for j in args.jobs_list[1:]:
                pairs = [(b, m) for b, m in zip(base, res[(qk, rn, j)], strict=True)
                         if max(b["others"], m["others"]) < args.quiet]
                if pairs:
                    sp = [b["wall"] / m["wall"] for b, m in pairs]
                    print(f"  {qk} {rn} --jobs {j}: {len(pairs)} of {len(base)} rounds, wall speed-up median "
                          f"{med(sp):.2f}x (each: {', '.join(f'{v:.2f}' for v in sp)}), others "
                          f"{max(max(b['others'], m['others']) for b, m in pairs):.2f} cores at most")
                else:
                    print(f"  {qk} {rn} --jobs {j}: none of {len(base)} rounds")
    for (qk, rn), ds in same.items():
        print(f"{qk} {rn}: the MP4 is {'byte-identical' if len(ds) == 1 else f'NOT identical ({len(ds)} digests)'}"
              f" for --jobs {','.join(map(str, args.jobs_list))} over {args.rounds} rounds")


if __name__ == "__main__":
    main()
