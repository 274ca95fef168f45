"""The multi-run studies and the perturbation sweep, serially and with ``--scheduler local:N``: wall time, same results.

Each study is run by the CLI in a fresh process (``geomdl experiment <study> ... --out DIR``), as a user runs it,
once serially and once with ``--scheduler local:N`` (N worker processes started by the command: their start-up
is part of the figure), alternating in ``--rounds`` rounds so both see the same machine load. Printed per study:
the median wall time of each, the speed-up (median of the rounds' serial / parallel ratios), the CPU time of the
command with its workers, and whether every CSV the two wrote is the same bytes (the studies' results do not
depend on where their runs ran; ``tests/test_parallel_studies.py`` checks the same in the suite).
``--baseline REV`` also runs ``local:N`` with git revision ``REV``'s code in every round (before/after).

    .venv/bin/python benchmarks/bench_studies.py [--studies truncation-speed,contraction-rate,nc-feasibility,perturb]
        [--workers 2] [--rounds 3] [--baseline REV]

(``perturb``: the perturbation sweep, ``experiment perturb``, its chunks written as they arrive.)
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from revisions import baseline_tree  # noqa: E402

# each study at its defaults but where a default run takes many minutes on 2 cores (the figure is a ratio)
STUDIES: dict[str, list[str]] = {
    "truncation-speed": ["--seeds", "4", "--steps", "600"],
    "contraction-rate": ["--seeds", "4"],
    "nc-feasibility": ["--trials", "6"],
    "perturb": ["--mode", "train", "--steps", "300", "--trials", "400", "--chunk", "50", "--lambdas", "0.1,1"],
}


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run(study: str, extra: list[str], out: Path, scheduler: str | None, tree: Path = ROOT) -> tuple[float, float]:
    """``(wall s, CPU s)`` of one ``geomdl experiment`` command of the code in ``tree`` (its workers' CPU
    included: they are its children, waited for before it exits)."""
    cmd = [sys.executable, str(tree / "cli.py"), "experiment", study, *extra, "--out", str(out)]
    if scheduler:
        cmd += ["--scheduler", scheduler]
    c0, t0 = children_cpu(), time.perf_counter()
    p = subprocess.run(cmd, cwd=tree, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(tree)})
    wall, cpu = time.perf_counter() - t0, children_cpu() - c0
    if p.returncode:
        sys.exit(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return wall, cpu


def csvs(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.csv"))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", default=",".join(STUDIES), help="comma-separated (default: %(default)s)")
    ap.add_argument("--workers", type=int, default=2, help="N of --scheduler local:N (default: 2)")
    ap.add_argument("--rounds", type=int, default=3, help="serial/parallel pairs per study (default: 3)")
    ap.add_argument("--baseline", default=None, help="also run local:N with git revision REV's code")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_tree(args.baseline, Path(tmp)) if args.baseline else None
        for study in args.studies.split(","):
            if study not in STUDIES:
                sys.exit(f"unknown study {study!r} (known: {', '.join(STUDIES)})")
            ser, par, old, same = [], [], [], True
            for r in range(args.rounds):
                a, b = Path(tmp, f"{study}_{r}_serial"), Path(tmp, f"{study}_{r}_local")
                ser.append(run(study, STUDIES[study], a, None))
                par.append(run(study, STUDIES[study], b, f"local:{args.workers}"))
                ca, cb = csvs(a), csvs(b)
                same = same and bool(ca) and ca == cb
                line = (f"{study} round {r}: serial {ser[-1][0]:.1f} s, local:{args.workers} {par[-1][0]:.1f} s "
                        f"({len(ca)} CSVs, {'same' if ca == cb else 'DIFFERENT'})")
                if base is not None:
                    old.append(run(study, STUDIES[study], Path(tmp, f"{study}_{r}_base"), f"local:{args.workers}",
                                   base))
                    line += f"; {args.baseline} local:{args.workers} {old[-1][0]:.1f} s"
                print(line, flush=True)
            speed = [f"{statistics.median(s[0] / p[0] for s, p in zip(ser, ps, strict=True)):.2f}x"
                     for ps in ([par] + ([old] if old else []))]
            rows.append([study, " ".join(STUDIES[study]), f"{statistics.median(s[0] for s in ser):.1f}",
                         f"{statistics.median(p[0] for p in par):.1f}", " / ".join(speed),
                         f"{statistics.median(s[1] for s in ser):.1f} / {statistics.median(p[1] for p in par):.1f}",
                         "yes" if same else "NO"])
    vs = f" (/ {args.baseline}'s)" if args.baseline else ""
    head = ["study", "options", "serial wall s", f"local:{args.workers} wall s", f"speed-up, median of rounds{vs}",
            "CPU s serial / parallel", "same CSVs"]
    print("\n| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if not all(r[-1] == "yes" for r in rows):
        sys.exit(1)


if __name__ == "__main__":
    main()
