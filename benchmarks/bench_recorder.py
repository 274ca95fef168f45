"""Recorder benchmark: cost of one snapshot against N and Q, and peak memory of a whole recording (issue 13).

Run:  .venv/bin/python benchmarks/bench_recorder.py [--repeats 5] [--baseline REV]

- ``N`` scaling: the truncation-speed network shape (Q = 3 hidden layers of width M = 3), 2,000 and 20,000 points
  per class; the ratio of the per-snapshot times for 10x the points (target: <= 10x, linear).
- ``Q`` scaling: Q = 3 and 8 with M = Q and L = Q layers of width Q at a fixed N = 6,000 points (what one
  snapshot stores, ``T_l(X)``: L x N x M = N Q^2 numbers, is the floor); the exponent ``log(t8/t3)/log(8/3)``
  (target: ~2); and at a fixed 2,000 points per class (N = 2,000 Q: the floor is then Q^3).
- memory: peak resident memory of recording 121 snapshots at 20,000 points per class (Q = 3) and writing the
  trace, in a fresh process each (``ru_maxrss``), minus the same process's memory before recording.

``--baseline REV`` also measures the recorder of git revision ``REV`` (its ``geomdl/io/recorder.py`` and
``geomdl/math/wide_chain.py`` loaded beside the current package, same inputs), interleaved call by call with the
current one, for the before/after table. Every time is the fastest of ``--repeats`` calls in CPU time of the
process (page faults included; on a shared machine other jobs only add time). ``--no-memory`` skips the
memory runs.
One torch/BLAS thread (``OMP_NUM_THREADS=1``), as the CLI runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def recorder_class(baseline: str | None):
    """The current :class:`geomdl.io.recorder.Recorder`, or the one of git revision ``baseline``."""
    if baseline is None:
        from geomdl.io.recorder import Recorder  # noqa: PLC0415

        return Recorder
    def load(rel: str, name: str, replace: tuple[str, str] | None = None):
        src = subprocess.run(["git", "show", f"{baseline}:{rel}"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout
        if replace is not None:
            src = src.replace(*replace)
        path = Path(tempfile.mkdtemp()) / f"{name}.py"
        path.write_text(src)
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        return mod

    # the baseline's own linear-algebra kernel too (when it has one), so that the whole snapshot is the old code
    has_chain = subprocess.run(["git", "cat-file", "-e", f"{baseline}:geomdl/math/wide_chain.py"], cwd=ROOT,
                               capture_output=True).returncode == 0
    if has_chain:
        load("geomdl/math/wide_chain.py", "wide_chain_baseline")
        return load("geomdl/io/recorder.py", "recorder_baseline",
                    ("from geomdl.math.wide_chain import", "from wide_chain_baseline import")).Recorder
    return load("geomdl/io/recorder.py", "recorder_baseline").Recorder


def network(M: int, widths: list[int], q: int, seed: int = 0):
    """Random layers, scaled so that about half the pre-activations are negative (some points truncated)."""
    rng = np.random.default_rng(seed)
    dims = [M, *widths]
    Ws = [rng.standard_normal((b, a)) / np.sqrt(a) + np.eye(b, a) for a, b in zip(dims[:-1], dims[1:], strict=False)]
    bs = [0.1 * rng.standard_normal(b) for b in widths]
    return Ws, bs, rng.standard_normal((q, widths[-1])), rng.standard_normal(q)


def data(M: int, q: int, N: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.arange(N) % q
    X = np.eye(max(M, q))[labels, :M] + 0.25 * rng.standard_normal((N, M))
    return X, labels


def per_snapshot(Recs: list, M: int, q: int, N: int, repeats: int) -> list[float]:
    """Per recorder class in ``Recs``: the fastest of ``repeats`` ``record`` calls (after one warm-up call each),
    in CPU time of this process (page faults included; other jobs on a shared machine are not), the recorders
    interleaved call by call so that they see the same machine."""
    X, y = data(M, q, N)
    params = network(M, [M] * q, q)
    recs = [Rec(X, y, q) for Rec in Recs]
    for r in recs:
        r.record(0, 0.0, *params)
    times = [[] for _ in recs]
    for i in range(repeats):
        for r, ts in zip(recs, times, strict=True):
            t = time.process_time()
            r.record(i + 1, 0.0, *params)
            ts.append(time.process_time() - t)
    for r in recs:
        if hasattr(r, "close"):
            r.close()
    return [min(ts) for ts in times]


MEMORY_CHILD = r"""
import json, resource, sys, tempfile, os
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
import numpy as np
import torch  # imported before the baseline reading: the trace header names its version
import bench_recorder as b
Rec = b.recorder_class({baseline!r})
X, y = b.data(3, 3, {N})
params = b.network(3, [3, 3, 3], 3)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rec = Rec(X, y, 3, **({kw}))
for s in range({S}):
    rec.record(s, 0.0, *params)
out = os.path.join(tempfile.mkdtemp(), "t.npz")
if hasattr(rec, "save"):
    rec.save(out)
else:   # the baseline: stack in memory, then write the trace as the experiments did
    from geomdl.io.recorder import data_arrays
    from geomdl.io.trace import Trace, SCHEMA
    a = rec.arrays()
    a.update(data_arrays(X, y))
    Trace(meta={{"schema": SCHEMA, "kind": "truncation-speed", "Q": 3, "M": 3}}, arrays=a).save(out)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"peak_mib": (peak - before) / 1024, "file_mib": os.path.getsize(out) / 2**20}}))
"""


def memory(baseline: str | None, N: int, S: int, kw: str = "{}") -> dict:
    code = MEMORY_CHILD.format(root=str(ROOT), bench=str(Path(__file__).parent), baseline=baseline, N=N, S=S, kw=kw)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--baseline", default=None, help="git revision whose recorder to measure as well")
    ap.add_argument("--snapshots", type=int, default=121)
    ap.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs (fresh processes)")
    args = ap.parse_args()
    versions = [("current", None)] + ([(f"baseline {args.baseline}", args.baseline)] if args.baseline else [])
    Recs = [recorder_class(rev) for _, rev in versions]
    cases = {"t_small": (3, 3, 6_000), "t_big": (3, 3, 60_000), "t_q8": (8, 8, 6_000), "t_q8c": (8, 8, 16_000)}
    t = {k: per_snapshot(Recs, *c, args.repeats) for k, c in cases.items()}
    rows = []
    for v, (name, rev) in enumerate(versions):
        small, big, q8, q8c = (t[k][v] for k in cases)
        row = {"recorder": name, "t_2k_ms": 1e3 * small, "t_20k_ms": 1e3 * big, "n_ratio": big / small,
               "t_q3_ms": 1e3 * small, "t_q8_ms": 1e3 * q8, "q_exponent": np.log(q8 / small) / np.log(8 / 3),
               "t_q8c_ms": 1e3 * q8c, "qc_exponent": np.log(q8c / small) / np.log(8 / 3)}
        if not args.no_memory:
            mem = memory(rev, 60_000, args.snapshots)
            row.update(peak_mib=mem["peak_mib"], file_mib=mem["file_mib"])
            if rev is None:
                m32 = memory(None, 60_000, args.snapshots, '{"store": "float32"}')
                row.update(peak_f32_mib=m32["peak_mib"], file_f32_mib=m32["file_mib"])
        rows.append(row)
    print("| recorder | 2,000/class | 20,000/class | ratio (10x N) | Q=8 (N=6,000) | exponent in Q (N fixed) | "
          "Q=8 (2,000/class) | exponent in Q (per class) | peak memory, 121 snapshots at 20,000/class | trace file |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        mem = f"{r['peak_mib']:.0f} MiB" if "peak_mib" in r else "-"
        size = f"{r['file_mib']:.0f} MiB" if "file_mib" in r else "-"
        if "peak_f32_mib" in r:
            mem += f" (float32: {r['peak_f32_mib']:.0f} MiB)"
            size += f" (float32: {r['file_f32_mib']:.0f} MiB)"
        print(f"| {r['recorder']} | {r['t_2k_ms']:.2f} ms | {r['t_20k_ms']:.1f} ms | {r['n_ratio']:.1f}x | "
              f"{r['t_q8_ms']:.2f} ms | Q^{r['q_exponent']:.2f} | {r['t_q8c_ms']:.1f} ms | "
              f"Q^{r['qc_exponent']:.2f} | {mem} | {size} |")


if __name__ == "__main__":
    main()
