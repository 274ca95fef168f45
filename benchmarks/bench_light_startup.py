"""Start-up to the first frame of a cached re-render, two source trees side by side (interleaved rounds).

    .venv/bin/python benchmarks/bench_light_startup.py --before /tmp/before [--rounds 5]

``--before``: a checkout of the tree to compare with (e.g. ``git archive <commit> | tar -x -C /tmp/before``);
the "after" tree is this one. Each timed run is a fresh process rendering one still at t = 0 of a cached trace
(``geomdl render SCENE ... --format png --at 0 --jobs 1``, 480p, matplotlib): imports, config, hash, cached
trace, frame model, one frame drawn and written. The traces are made once by this tree before anything is timed;
both trees hash the configs the same (the cache key), so both read them. CPU time is the finished child's user +
system time; ratios are taken within each round, medians reported.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENES = {"cones": ["--set", "geometry=sls", "--set", "n_per_class=15"],
          "layers": ["--set", "dataset=clustered", "--set", "n_per_class=20", "--set", "steps=20",
                     "--set", "eval_every=10"]}
CLI = "import sys; sys.argv = ['geomdl', *sys.argv[1:]]; import cli; cli.main()"


def run(tree: Path, scene: str, out: Path) -> tuple[float, float]:
    """``(wall s, CPU s)`` of one cached still render of ``scene`` by the code of ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree), NO_COLOR="1")
    shutil.rmtree(out / scene, ignore_errors=True)
    cmd = [sys.executable, "-c", CLI, "render", scene, *SCENES[scene], "--renderer", "matplotlib",
           "--quality", "l", "--format", "png", "--at", "0", "--jobs", "1", "--out", str(out)]
    r0, t = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    p = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True)
    wall, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise SystemExit(f"error: {tree}: render {scene} failed: {p.stderr.strip().splitlines()[-1:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", type=Path, required=True, help="the source tree to compare with")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    trees = {"before": args.before.resolve(), "after": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for scene in SCENES:                 # record once: the timed renders all read the cached trace
            run(ROOT, scene, out)
        got = {(s, t): [] for s in SCENES for t in trees}
        for _ in range(args.rounds):
            for s in SCENES:
                for t, tree in trees.items():
                    got[(s, t)].append(run(tree, s, out))
        if len(list((out / "traces").glob("*.npz"))) != len(SCENES):
            raise SystemExit("error: a timed render recorded a trace instead of reading the cached one")
    print(f"load average {' '.join(f'{v:.1f}' for v in os.getloadavg())}, {args.rounds} rounds")
    print("| scene | before CPU s | after CPU s | before / after CPU | before wall s | after wall s |")
    print("|---|---|---|---|---|---|")
    for s in SCENES:
        b, a = got[(s, "before")], got[(s, "after")]
        ratio = statistics.median([x[1] / y[1] for x, y in zip(b, a, strict=True)])
        med = lambda v, i: statistics.median(x[i] for x in v)  # noqa: E731
        print(f"| {s} | {med(b, 1):.2f} | {med(a, 1):.2f} | {ratio:.2f}x | {med(b, 0):.2f} | {med(a, 0):.2f} |")


if __name__ == "__main__":
    main()
