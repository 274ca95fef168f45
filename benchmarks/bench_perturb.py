"""Batched perturbation trials vs a per-trial loop of models (target: >= 20x).

Setting: clustered Q=3 (200 points per class, radius 0.25, M=3), its zero-loss construction, lambda=0.1,
SGD (lr 0.01, batch 64, MSE, float64, 1 thread), exactly 500 steps per trial (early stopping off). Batched:
``geomdl.math.landscape.run_trials`` on all trials (blocks of 200 stacked trials). Loop: the same trials one model
at a time with ``geomdl.nn.training.train`` (identical mini-batches); by default on the first ``--loop-trials``
(100) and extrapolated linearly to the full count (a trial's cost does not depend on the others), or on
all of them with ``--loop-trials 1000``. Batched timings are medians of ``--repeats``. The two must agree on
the trials both ran (max |final loss difference| is printed).

    .venv/bin/python benchmarks/bench_perturb.py [--trials 1000] [--steps 500] [--loop-trials 100]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from geomdl.math import geometries, landscape
from geomdl.nn.training import TrainConfig


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--loop-trials", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    X, labels, net = geometries.build(geometries.GeometryConfig("clustered", q=3))
    cfg = TrainConfig(optimizer="sgd", lr=0.01, steps=args.steps, batch_size=64, loss="mse", loss_threshold=0.0,
                      patience=args.steps + 1)
    trials = list(range(args.trials))
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        batched = landscape.run_trials(net, X, labels, 0.1, 0, trials, "train", cfg)
        times.append(time.perf_counter() - t0)
    t_batched = statistics.median(times)
    n_loop = min(args.loop_trials, args.trials)
    t0 = time.perf_counter()
    loop = landscape.train_loop(net, X, labels, cfg, 0.1, 0, trials[:n_loop])
    t_loop_measured = time.perf_counter() - t0
    t_loop = t_loop_measured * args.trials / n_loop
    diff = float(np.max(np.abs(batched.final_loss[:n_loop] - loop.final_loss)))
    steps = args.trials * args.steps
    print(f"{'method':<34}{'trials':>8}{'steps':>7}{'time (s)':>11}{'us/trial-step':>15}")
    print(f"{'batched (run_trials)':<34}{args.trials:>8}{args.steps:>7}{t_batched:>11.2f}"
          f"{1e6 * t_batched / steps:>15.1f}")
    label = "per-trial loop (training.train)" + ("" if n_loop == args.trials else "*")
    print(f"{label:<34}{args.trials:>8}{args.steps:>7}{t_loop:>11.2f}{1e6 * t_loop / steps:>15.1f}")
    print(f"speed-up: {t_loop / t_batched:.1f}x (target >= 20x); batched runs: "
          f"{', '.join(f'{t:.2f}' for t in times)} s")
    if n_loop != args.trials:
        print(f"* measured on {n_loop} trials ({t_loop_measured:.2f} s) and scaled to {args.trials}")
    print(f"max |final loss batched - loop| over {n_loop} trials: {diff:.2e}; stop reasons equal: "
          f"{bool(np.array_equal(batched.stop[:n_loop], loop.stop))}")


if __name__ == "__main__":
    main()
