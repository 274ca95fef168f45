"""Batched perturbation trials vs a per-trial loop of models (target: >= 20x at 1000 trials x 500 steps).

Setting: clustered Q=3 (200 points per class, radius 0.25, M=3), its zero-loss construction, lambda=0.1,
SGD (lr 0.01, batch 64, MSE, float64, 1 thread), exactly 500 steps per trial (early stopping off). Batched:
``geomdl.math.landscape.run_trials`` on all ``--trials`` trials (blocks of 200 stacked trials), every round at
the full size. Loop: the same trials one model at a time with ``geomdl.nn.training.train`` (identical
mini-batches), on ``--loop-trials`` of them per round (default 100: trials ``r*100 .. r*100+99`` in round
``r``) and extrapolated linearly to ``--trials`` (a trial's cost does not depend on the others; the per-trial
times of the rounds are printed so the spread is visible); ``--loop-trials 1000`` runs the loop on every
trial instead (~3-4 minutes a round on a 2-core machine). Rounds interleave the two methods, so both see the
same machine load; the speed-up is the median over rounds of the per-round ratio, in CPU time of this process
(``time.process_time``: other jobs on a shared machine do not count) and in wall time. The two must agree on
the trials both ran (max |final loss difference| and stop reasons are printed).

``--baseline REV`` also times the batched trials of git revision ``REV`` (its ``geomdl/math/landscape.py``
loaded beside the current package) in every round, for the before/after table.

    .venv/bin/python benchmarks/bench_perturb.py [--trials 1000] [--steps 500] [--loop-trials 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from geomdl.math import geometries, landscape
from geomdl.nn.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def landscape_at(rev: str):
    """``geomdl/math/landscape.py`` of git revision ``rev``, loaded as a module of its own."""
    src = subprocess.run(["git", "show", f"{rev}:geomdl/math/landscape.py"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "landscape_baseline.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("landscape_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def timed(f):
    w, c = time.perf_counter(), time.process_time()
    out = f()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--loop-trials", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--baseline", default=None, help="git revision whose batched trials to time as well")
    args = ap.parse_args()
    old = landscape_at(args.baseline) if args.baseline else None
    base_rows = []
    torch.set_num_threads(1)
    X, labels, net = geometries.build(geometries.GeometryConfig("clustered", q=3))
    cfg = TrainConfig(optimizer="sgd", lr=0.01, steps=args.steps, batch_size=64, loss="mse", loss_threshold=0.0,
                      patience=args.steps + 1)
    trials = list(range(args.trials))
    n_loop = min(args.loop_trials, args.trials)
    rows, diffs, same_stop = [], [], True
    for r in range(args.rounds):
        batched, bw, bc = timed(lambda: landscape.run_trials(net, X, labels, 0.1, 0, trials, "train", cfg))
        if old is not None:
            ob, obw, obc = timed(lambda: old.run_trials(net, X, labels, 0.1, 0, trials, "train", cfg))
            base_rows.append((obw, obc))
            print(f"round {r + 1}: baseline {args.baseline} batched {obw:.2f} s wall / {obc:.2f} s CPU "
                  f"(max |final loss - current|: {np.max(np.abs(ob.final_loss - batched.final_loss)):.1e})",
                  flush=True)
        start = (r * n_loop) % args.trials
        sub = trials[start:start + n_loop]
        loop, lw, lc = timed(lambda sub=sub: landscape.train_loop(net, X, labels, cfg, 0.1, 0, sub))
        scale = args.trials / len(sub)
        rows.append((bw, bc, lw * scale, lc * scale))
        diffs.append(float(np.max(np.abs(batched.final_loss[start:start + len(sub)] - loop.final_loss))))
        same_stop &= bool(np.array_equal(batched.stop[start:start + len(sub)], loop.stop))
        print(f"round {r + 1}: batched {bw:.2f} s wall / {bc:.2f} s CPU; loop on trials {start}..{start + len(sub) - 1}"
              f" {lw:.2f} s wall / {lc:.2f} s CPU -> x{scale:g}: ratio {lw * scale / bw:.1f}x wall, "
              f"{lc * scale / bc:.1f}x CPU", flush=True)
    steps = args.trials * args.steps
    med = [statistics.median(c) for c in zip(*rows, strict=True)]
    print(f"\n{'method':<34}{'trials':>8}{'steps':>7}{'wall s':>9}{'CPU s':>8}{'us/trial-step (CPU)':>21}")
    print(f"{'batched (run_trials)':<34}{args.trials:>8}{args.steps:>7}{med[0]:>9.2f}{med[1]:>8.2f}"
          f"{1e6 * med[1] / steps:>21.1f}")
    label = "per-trial loop (training.train)" + ("" if n_loop == args.trials else "*")
    print(f"{label:<34}{args.trials:>8}{args.steps:>7}{med[2]:>9.2f}{med[3]:>8.2f}{1e6 * med[3] / steps:>21.1f}")
    if base_rows:
        ow, oc = (statistics.median(c) for c in zip(*base_rows, strict=True))
        print(f"{'baseline ' + args.baseline + ' batched':<34}{args.trials:>8}{args.steps:>7}{ow:>9.2f}{oc:>8.2f}"
              f"{1e6 * oc / steps:>21.1f}")
        print(f"baseline speed-up (median of rounds): "
              f"{statistics.median(lc / o[1] for (_, _, _, lc), o in zip(rows, base_rows, strict=True)):.1f}x CPU")
    ratio_c = statistics.median(lc / bc for _, bc, _, lc in rows)
    ratio_w = statistics.median(lw / bw for bw, _, lw, _ in rows)
    print(f"speed-up (median of {args.rounds} interleaved rounds): {ratio_c:.1f}x CPU time, {ratio_w:.1f}x wall "
          f"(target >= 20x: {'met' if ratio_c >= 20 else 'not met'})")
    if n_loop != args.trials:
        print(f"* measured on {n_loop} trials per round and scaled to {args.trials}")
    print(f"max |final loss batched - loop|: {max(diffs):.2e}; stop reasons equal: {same_stop}")


if __name__ == "__main__":
    main()
