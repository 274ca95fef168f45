"""Another git revision's code, for before/after figures in one run (``--baseline REV`` of the benchmarks)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def baseline_tree(rev: str, tmp: Path) -> Path:
    """The tree of git revision ``rev``, extracted under ``tmp`` (once: a second call returns the same tree)."""
    out = tmp / "baseline"
    if out.exists():
        return out
    out.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out
