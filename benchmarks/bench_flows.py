"""Flows benchmark: the Jacobian D = dx/dtheta and the per-step solve of the adapted flow, N = 30, Q = 3.

Run:  .venv/bin/python benchmarks/bench_flows.py [--repeats 7] [--widths 16 32 64 16,16 32,32 64,64]

Every figure is the median of ``--repeats`` timings (one thread, float64, CPU unless ``--device cuda``). Per
network: ``K`` parameters, ``QN = 90`` outputs, the Jacobian by ``jacrev`` and ``jacfwd``, one backward pass
(``D^T g``, all the standard flow needs), the three solves of ``D^+ g`` (LAPACK gelsd least squares, SVD,
Cholesky of ``D D^T``), and one RK4 step of the standard flow, the adapted flow (four Jacobians + solves) and
the adapted flow with kinks frozen. Ratios are taken within this one run (the machine is shared and noisy).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomdl.data import synthetic as data  # noqa: E402
from geomdl.math import gradient_flows as fl  # noqa: E402
from geomdl.math.jacobian import flat_params, jacobian, outputs_and_vjp  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    fn()                                                   # warm-up (vmap/functorch set-up, allocations)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t)
    return 1e3 * statistics.median(times)


def bench(widths: list[int], repeats: int, device: str) -> dict:
    X, labels = data.clustered(data.ClusteredConfig(q=3, m=10, n_per_class=10, radius=0.25, seed=0))
    model = fl.build_flow_model(10, widths, 3, device=device, seed=0)
    Xt = torch.as_tensor(X, device=model.out.weight.device)
    theta = flat_params(model)
    y = torch.as_tensor(fl.targets(labels, 3), device=Xt.device)
    a = torch.as_tensor(fl.cost_weights("mse", labels, 3), device=Xt.device)
    D = jacobian(model, Xt, theta)
    x, pull = outputs_and_vjp(model, Xt, theta)
    g = a * (x - y)
    row = {"widths": ",".join(map(str, widths)), "K": theta.numel(), "QN": D.shape[0],
           "rank": fl.numerical_rank(torch.linalg.svdvals(D), 1e-9)}
    row["jacrev"] = median_ms(lambda: jacobian(model, Xt, theta, "rev"), repeats)
    row["jacfwd"] = median_ms(lambda: jacobian(model, Xt, theta, "fwd"), max(1, repeats // 3))
    row["D^T g"] = median_ms(lambda: outputs_and_vjp(model, Xt, theta)[1](g), repeats)
    solvers = ("lstsq", "svd", "cholesky") if Xt.device.type == "cpu" else ("svd", "cholesky")
    for s in solvers:
        row[s] = median_ms(lambda s=s: fl.penrose_apply(D, g, s, 1e-9, False), repeats)
    for name, alpha, kinks in (("step std", 0.0, "cross"), ("step adapted", 1.0, "cross"),
                               ("step frozen", 1.0, "freeze")):
        cfg = fl.FlowConfig(alpha=alpha, kinks=kinks)
        fld = fl._Field(model, Xt, y, a, cfg, fl.resolve_solver("auto", Xt.device))
        fld.h = 0.3
        row[name] = median_ms(lambda fld=fld: fl._step(fld.velocity, theta, 0.3, "rk4"), max(3, repeats // 2))
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--widths", nargs="*", default=["16", "32", "64", "16,16", "32,32", "64,64"])
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(1)
    rows = [bench([int(w) for w in spec.split(",")], args.repeats, args.device) for spec in args.widths]
    cols = ["widths", "K", "QN", "rank", "jacrev", "jacfwd", "D^T g", "lstsq", "svd", "cholesky", "step std",
            "step adapted", "step frozen"]
    print(f"# flows benchmark: N=30, Q=3, M=10, float64, 1 thread, {args.device}; median of {args.repeats}; "
          f"times in ms ({platform.processor() or platform.machine()}, torch {torch.__version__})")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in rows:
        print("| " + " | ".join(f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r.get(c, "-"))
                                for c in cols) + " |")
    print()
    for r in rows:
        print(f"{r['widths']:>6}: RK4 adapted step = {r['step adapted'] / r['step std']:.1f}x the standard step; "
              f"jacrev = {r['jacrev'] / r['D^T g']:.1f}x one backward pass; lstsq solve = "
              f"{r['lstsq'] / r['jacrev']:.2f}x the Jacobian; frozen step = "
              f"{r['step frozen'] / r['step adapted']:.1f}x the adapted step")


if __name__ == "__main__":
    main()
