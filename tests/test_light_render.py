"""The light render path: re-rendering a cached trace (``geomdl render`` or ``scenes.render.render``) imports
neither torch nor scipy; the config, its hash and the cache path come from torch-free modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "scipy")
ARGS = ["render", "truncation-speed", "--q", "3", "--steps", "60", "--snapshots", "7", "--n-per-class", "30",
        "--renderer", "matplotlib", "--quality", "l", "--duration", "1", "--jobs", "1"]

# runs the CLI in-process, then reports which heavy modules were imported
PROBE = """
import json, sys
sys.argv = ["geomdl", *json.loads(sys.argv[1])]
import cli
try:
    cli.main()
except SystemExit as e:
    code = e.code
else:
    code = 0
print(json.dumps({"code": code, "heavy": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))

API_PROBE = """
import json, sys
from scenes.render import render
files = render(sys.argv[1], out=sys.argv[2], renderer="matplotlib", quality="l", duration=1.0, jobs=1)
print(json.dumps({"files": [str(f) for f in files], "heavy": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


def python(code: str, *args: str, cwd: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """An output folder whose trace cache holds the run of ``ARGS`` (trained by a first render)."""
    out = tmp_path_factory.mktemp("light")
    first = python(PROBE, json.dumps([*ARGS, "--out", str(out)]), cwd=out)
    assert first["code"] == 0
    assert "torch" in first["heavy"]            # training needs torch: the probe can see an import
    traces = list((out / "traces").glob("*.npz"))
    assert len(traces) == 1
    return out, traces[0]


def test_cached_cli_render_imports_no_torch_or_scipy(cached):
    out, _ = cached
    again = python(PROBE, json.dumps([*ARGS, "--out", str(out)]), cwd=out)
    assert again == {"code": 0, "heavy": []}


def test_api_render_of_a_trace_file_imports_no_torch_or_scipy(cached, tmp_path):
    _, trace = cached
    got = python(API_PROBE, str(trace), str(tmp_path), cwd=tmp_path)
    assert got["heavy"] == []
    assert [Path(f).suffix for f in got["files"]] == [".mp4"] and Path(got["files"][0]).stat().st_size > 0
