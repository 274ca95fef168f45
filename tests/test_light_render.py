"""The light render path: re-rendering a cached trace (``geomdl render`` or ``scenes.render.render``) imports
neither torch nor scipy, for every scene; the config, its hash and the cache path come from torch-free modules.
Each scene's trace is first made by a render of a tiny config (``TINY`` of the frame-model contract test)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_scene_contract import TINY

from scenes.render import SCENES

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "scipy")
# local-minima at Q = 2 (4 patterns): its clip holds every state 2.5 s, so Q = 3 draws twice the frames here
LIGHT = {"local-minima": {**TINY["local-minima"], "q": 2}}
RENDER = ["--renderer", "matplotlib", "--quality", "l", "--duration", "1", "--jobs", "1"]


def render_args(scene: str) -> list[str]:
    """``geomdl render SCENE`` with its experiment's tiny config, as ``--set KEY=VALUE`` (tuples comma-joined)."""
    sets = []
    for key, value in LIGHT.get(SCENES[scene].experiment, TINY[SCENES[scene].experiment]).items():
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        sets += ["--set", f"{key}={text}"]
    return ["render", scene, *sets, *RENDER]

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
files = render(sys.argv[1], scene=sys.argv[2], out=sys.argv[3], renderer="matplotlib", quality="l", duration=1.0,
               jobs=1)
print(json.dumps({"files": [str(f) for f in files], "heavy": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


def python(code: str, *args: str, cwd: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]), NO_COLOR="1")
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module", params=sorted(SCENES))
def cached(request, tmp_path_factory):
    """``(scene, output folder, trace)``: the folder's trace cache holds the tiny run of the scene's experiment
    (made by a first render, which imports torch or scipy to train or construct)."""
    scene = request.param
    out = tmp_path_factory.mktemp(f"light-{scene}")
    first = python(PROBE, json.dumps([*render_args(scene), "--out", str(out)]), cwd=out)
    assert first["code"] == 0
    assert first["heavy"]                       # the run needs torch or scipy: the probe can see an import
    traces = list((out / "traces").glob("*.npz"))
    assert len(traces) == 1
    return scene, out, traces[0]


def test_cached_cli_render_imports_no_torch_or_scipy(cached):
    scene, out, _ = cached
    again = python(PROBE, json.dumps([*render_args(scene), "--out", str(out)]), cwd=out)
    assert again == {"code": 0, "heavy": []}, scene
    assert len(list((out / "traces").glob("*.npz"))) == 1      # the cached trace was used, not a second run


def test_api_render_of_a_trace_file_imports_no_torch_or_scipy(cached, tmp_path):
    scene, _, trace = cached
    got = python(API_PROBE, str(trace), scene, str(tmp_path), cwd=tmp_path)
    assert got["heavy"] == [], scene
    assert [Path(f).suffix for f in got["files"]] == [".mp4"] and Path(got["files"][0]).stat().st_size > 0
