"""End-to-end tests of the ``geomdl`` command: the real installed command in a subprocess, tiny configs.

Each test runs in its own ``tmp_path`` (as cwd) with ``--out tmp_path/media``. One small render, made once per
module, trains and caches a trace that the other tests copy (so they render without training) or pass with
``--trace``. Videos are checked by decoding them (``tests/videos.py``): codec, size, rate, frame count,
non-blank frames that change over time.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import videos

SCENE = "truncation-speed"
# a tiny run: 120 points, 60 GD steps, 7 snapshots (trains in well under a second)
SMALL = ["--steps", "60", "--snapshots", "7", "--n-per-class", "40"]
# ... rendered at 480p15 with 1 s of animation (plus the holds at both ends: 45 frames)
CLIP = ["--duration", "1", "--quality", "l"]
MPL = ["--renderer", "matplotlib"]
LOW = {"width": 854, "height": 480, "fps": 15}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# ---------------------------------------------------------------------------------------------- helpers
def geomdl_command() -> list[str]:
    exe = Path(sys.executable).with_name("geomdl")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("geomdl")
    if found:
        return [found]
    pytest.fail("the `geomdl` command is not installed (pip install -e .)")


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TTY_INTERACTIVE", "TTY_COMPATIBLE", "FORCE_COLOR")}
    env.update(NO_COLOR="1", **extra)
    return env


def geomdl(*args: str | Path, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess:
    """Run ``geomdl ARGS`` to completion; stdout and stderr as text."""
    return subprocess.run([*geomdl_command(), *map(str, args)], cwd=cwd, env=cli_env(), capture_output=True,
                          text=True, timeout=timeout)


def clean_lines(text: str) -> list[str]:
    """Lines as a terminal would show them: escape codes dropped, only what follows the last ``\\r``."""
    return [ANSI.sub("", line).split("\r")[-1] for line in text.splitlines()]


def error_lines(stderr: str) -> list[str]:
    return [line for line in clean_lines(stderr) if line.startswith("error:")]


def describe(proc: subprocess.CompletedProcess) -> str:
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, describe(proc)
    assert "Traceback" not in proc.stderr, describe(proc)
    assert not error_lines(proc.stderr), describe(proc)


def assert_one_line_error(proc: subprocess.CompletedProcess, code: int | None = None, *needles: str) -> str:
    """Exit code != 0 (or == ``code``), no traceback, exactly one ``error:`` line; returns that line."""
    assert proc.returncode != 0, describe(proc)
    if code is not None:
        assert proc.returncode == code, describe(proc)
    assert "Traceback" not in proc.stderr + proc.stdout, describe(proc)
    errs = error_lines(proc.stderr)
    assert len(errs) == 1, describe(proc)
    for needle in needles:
        assert needle in errs[0], describe(proc)
    return errs[0]


def files_under(root: Path) -> set[str]:
    """Every file (not folder) below ``root``, as relative POSIX paths."""
    if not root.exists():
        return set()
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if not p.is_dir()}


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if ".tmp-" in p.name] if root.exists() else []


def printed_paths(proc: subprocess.CompletedProcess) -> list[Path]:
    return [Path(line) for line in proc.stdout.splitlines() if line.strip()]


def with_cache(out: Path, trace: Path) -> Path:
    """A fresh output folder holding ``trace`` in its trace cache (so a render of SMALL finds it)."""
    (out / "traces").mkdir(parents=True)
    shutil.copy2(trace, out / "traces" / trace.name)
    return out


def expected_frames(trace: Path, fps: int, duration: float) -> int:
    from geomdl.io.trace import load  # noqa: PLC0415
    from scenes.render import make_frames  # noqa: PLC0415

    return make_frames(load(trace), fps, duration, "light").n_frames


def check_clip(path: Path, n_frames: int, width: int = 854, height: int = 480, fps: int = 15) -> None:
    """``path`` is an H.264 yuv420p MP4 of the given size and rate, every frame present, frames drawn and moving."""
    assert path.is_file() and path.stat().st_size > 0, path
    info = videos.probe(path)
    assert info.codec == "h264", info
    assert info.pix_fmt == "yuv420p", info
    assert (info.width, info.height) == (width, height), info
    assert info.fps == pytest.approx(fps), info
    assert info.n_frames == n_frames, info
    assert info.duration == pytest.approx(n_frames / fps, abs=1.5 / fps), info
    frames = videos.read_frames(path)
    assert frames.shape == (n_frames, height, width, 3)
    for i in (0, n_frames // 2, n_frames - 1):
        assert not videos.is_blank(frames[i], min_std=10.0), f"frame {i} of {path.name} is blank"
    assert videos.mean_abs_diff(frames[0], frames[-1]) > 1.0, "first and last frames are the same"
    distinct = sum(videos.mean_abs_diff(a, b) > 0.05 for a, b in zip(frames[:-1], frames[1:], strict=True))
    assert distinct >= n_frames // 3, f"only {distinct} of {n_frames - 1} frame changes"


def load_npz(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as z:
        meta = json.loads(str(z["meta"][()]))
        return meta, {k: z[k] for k in z.files if k != "meta"}


def assert_same_trace(a: Path, b: Path) -> None:
    meta_a, arr_a = load_npz(a)
    meta_b, arr_b = load_npz(b)
    assert sorted(arr_a) == sorted(arr_b)
    for k in arr_a:
        assert arr_a[k].dtype == arr_b[k].dtype, k
        np.testing.assert_array_equal(arr_a[k], arr_b[k], err_msg=k)  # NaN == NaN here (unused edges)
    for k in ("config", "seed", "Q", "M", "stop_reason", "kind"):
        assert meta_a.get(k) == meta_b.get(k), k


# ---------------------------------------------------------------------------------------------- fixtures
@dataclass
class Run:
    cwd: Path
    out: Path
    proc: subprocess.CompletedProcess
    elapsed: float


@pytest.fixture(scope="module")
def first_render(tmp_path_factory) -> Run:
    """One tiny matplotlib render into an empty output folder: trains, caches the trace, writes the MP4."""
    cwd = tmp_path_factory.mktemp("first")
    out = cwd / "media"
    t0 = time.perf_counter()
    proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--out", out, cwd=cwd)
    run = Run(cwd, out, proc, time.perf_counter() - t0)
    assert_ok(proc)
    return run


@pytest.fixture(scope="module")
def cached_trace(first_render) -> Path:
    """The small trace the first render trained and cached (do not modify: copy it)."""
    traces = sorted((first_render.out / "traces").glob("*.npz"))
    assert len(traces) == 1, traces
    return traces[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Run:
    """``geomdl train`` of the same small config, written to an explicit ``--trace`` path."""
    cwd = tmp_path_factory.mktemp("train")
    out = cwd / "media"
    t0 = time.perf_counter()
    proc = geomdl("train", SCENE, *SMALL, "--trace", cwd / "custom" / "run.npz", "--out", out, cwd=cwd)
    run = Run(cwd, out, proc, time.perf_counter() - t0)
    assert_ok(proc)
    return run


# ---------------------------------------------------------------------------------------------- 1. MP4
def test_render_trains_caches_and_writes_one_mp4(first_render, cached_trace):
    run = first_render
    clip_dir = run.out / SCENE
    (mp4,) = printed_paths(run.proc)
    assert mp4.suffix == ".mp4" and mp4.parent == clip_dir, mp4
    assert mp4.name.startswith(f"{SCENE}_q3_seed0_gd_lrauto_steps60_") and "_matplotlib_light_480p15" in mp4.name
    assert files_under(clip_dir) == {mp4.name}
    assert cached_trace.parent == run.out / "traces" and cached_trace.name.startswith(f"{SCENE}_")
    assert "training" in run.proc.stderr and "using cached trace" not in run.proc.stderr
    assert not temp_files(run.out)
    assert files_under(run.cwd) == {f"media/{p}" for p in files_under(run.out)}, "files written outside --out"


def test_mp4_matplotlib_decodes_and_moves(first_render, cached_trace):
    (mp4,) = printed_paths(first_render.proc)
    check_clip(mp4, expected_frames(cached_trace, LOW["fps"], 1.0), **LOW)


def manim_missing() -> str | None:
    if importlib.util.find_spec("manim") is None:
        return "Manim is not installed"
    if importlib.util.find_spec("scenes.backends.manim_scenes") is None:
        return "scenes/backends/manim_scenes.py does not exist yet"
    return None


MANIM_MISSING = manim_missing()
needs_manim = pytest.mark.skipif(MANIM_MISSING is not None, reason=MANIM_MISSING or "")


def import_render_manim():
    """``render_manim``; skips only when Manim itself cannot be imported (a broken scenes module fails)."""
    pytest.importorskip("manim")
    from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

    return render_manim


@needs_manim
def test_mp4_manim_decodes_and_moves(tmp_path, cached_trace):
    import_render_manim()
    out = with_cache(tmp_path / "media", cached_trace)
    proc = geomdl("render", SCENE, *SMALL, *CLIP, "--renderer", "manim", "--out", out, cwd=tmp_path, timeout=300)
    assert_ok(proc)
    assert "using cached trace" in proc.stderr
    (mp4,) = printed_paths(proc)
    assert mp4.parent == out / SCENE and "_manim_light_480p15" in mp4.name, mp4
    check_clip(mp4, expected_frames(cached_trace, LOW["fps"], 1.0), **LOW)
    assert files_under(out / SCENE) == {mp4.name}
    # Manim's own media/ and partial-movie folders must not be left in the cwd or OUT
    assert files_under(tmp_path) == {f"media/{p}" for p in files_under(out)}
    assert sorted(p.name for p in out.iterdir()) == ["traces", SCENE]


@needs_manim
def test_render_manim_api(tmp_path, monkeypatch, cached_trace):
    """``render_manim(frames, out_path, quality, progress)``: the MP4, every frame, progress up to n of n."""
    render_manim = import_render_manim()
    from geomdl.io.trace import load  # noqa: PLC0415
    from scenes.render import make_frames  # noqa: PLC0415

    monkeypatch.chdir(tmp_path)
    frames = make_frames(load(cached_trace), LOW["fps"], 1.0, "dark")
    calls: list[tuple[int, int]] = []
    dest = tmp_path / "clips" / "clip.mp4"
    dest.parent.mkdir()
    got = render_manim(frames, dest, "l", progress=lambda i, n: calls.append((i, n)))
    assert Path(got) == dest
    check_clip(dest, frames.n_frames, **LOW)
    assert calls and calls[-1] == (frames.n_frames, frames.n_frames), calls[-3:]
    assert [i for i, _ in calls] == sorted(i for i, _ in calls)
    assert Path.cwd() == tmp_path
    assert files_under(tmp_path) == {"clips/clip.mp4"}, "stray files (Manim media, partial movies, temp files)"


# ---------------------------------------------------------------------------------------------- 2. GIF, PNG
def test_format_gif_writes_mp4_and_looping_gif(tmp_path, cached_trace):
    out = with_cache(tmp_path / "media", cached_trace)
    proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--format", "gif", "--out", out, cwd=tmp_path)
    assert_ok(proc)
    paths = printed_paths(proc)
    assert sorted(p.suffix for p in paths) == [".gif", ".mp4"], paths
    mp4, gif = sorted(paths, key=lambda p: p.suffix != ".mp4")
    assert mp4.stem == gif.stem and mp4.parent == gif.parent == out / SCENE
    assert files_under(out / SCENE) == {mp4.name, gif.name}
    assert videos.probe(mp4).n_frames == expected_frames(cached_trace, LOW["fps"], 1.0)
    g = videos.read_gif(gif)
    assert (g.width, g.height) == (854, 480)
    assert g.n_frames > 1
    assert g.loop == 0, "the GIF must loop forever"
    assert not videos.is_blank(g.frames[-1], min_std=10.0)
    assert videos.mean_abs_diff(g.frames[0], g.frames[-1]) > 1.0


def test_format_png_writes_the_last_frame(tmp_path, cached_trace):
    out = with_cache(tmp_path / "media", cached_trace)
    proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--format", "png", "--out", out, cwd=tmp_path)
    assert_ok(proc)
    (png,) = printed_paths(proc)
    assert png.suffix == ".png" and png.parent == out / SCENE
    assert files_under(out / SCENE) == {png.name}, "--format png writes the PNG only"
    img = videos.read_png(png)
    assert img.shape[:2] == (480, 854) and img.dtype == np.uint8
    assert not videos.is_blank(img[..., :3], min_std=10.0)


# ---------------------------------------------------------------------------------------------- 3. traces
def test_rerender_uses_the_cached_trace(tmp_path, cached_trace):
    out = with_cache(tmp_path / "media", cached_trace)
    cached = out / "traces" / cached_trace.name
    before = cached.stat()
    proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--format", "png", "--out", out, cwd=tmp_path)
    assert_ok(proc)
    assert "using cached trace" in proc.stderr
    assert "training" not in proc.stderr, "a cached trace must not be trained again"
    after = cached.stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (before.st_ino, before.st_mtime_ns, before.st_size)
    assert files_under(out / "traces") == {cached_trace.name}


def test_count_scale_on_the_cli(tmp_path, cached_trace):
    """``--count-scale linear`` draws truncation-speed's count chart on a linear axis, into its own file; a bad
    value, or a scene without that chart, is a one-line usage error."""
    from PIL import Image

    out = with_cache(tmp_path / "media", cached_trace)
    stills = {}
    for scale in ("log", "linear"):
        proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--at", "3", "--count-scale", scale, "--out", out,
                      cwd=tmp_path)
        assert_ok(proc)
        (png,) = [p for p in (out / SCENE).glob("*.png") if p.name not in {q.name for q in stills.values()}]
        assert ("_linear_" in png.name) == (scale == "linear"), png.name
        stills[scale] = png
    a, b = (np.asarray(Image.open(stills[k]).convert("L"), dtype=float) for k in ("log", "linear"))
    chart = (slice(int(480 * (9 - 4.3) / 9), int(480 * (9 - 1.0) / 9)), slice(int(854 * 11.0 / 16), 854))
    assert np.abs(a[chart] - b[chart]).mean() > 0.5, "the chart does not change with the scale"
    left = (slice(0, 480), slice(0, int(854 * 10 / 16)))
    assert np.abs(a[left] - b[left]).mean() < 0.05, "the panels change with the chart's scale"
    assert_one_line_error(geomdl("render", SCENE, *SMALL, "--count-scale", "cubic", "--out", out, cwd=tmp_path), 2,
                          "unknown count scale 'cubic'", "log, linear")
    assert_one_line_error(geomdl("render", "cones", "--count-scale", "linear", "--out", out, cwd=tmp_path), 2,
                          "--count-scale is for truncation-speed")
    assert "--count-scale" in geomdl("render", "--help", cwd=tmp_path).stdout


def test_retrain_trains_again_and_replaces_the_cache(tmp_path, cached_trace):
    out = with_cache(tmp_path / "media", cached_trace)
    cached = out / "traces" / cached_trace.name
    ino = cached.stat().st_ino
    proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--format", "png", "--retrain", "--out", out, cwd=tmp_path)
    assert_ok(proc)
    assert "training" in proc.stderr and "using cached trace" not in proc.stderr
    assert cached.stat().st_ino != ino, "the cache file was not rewritten"
    assert files_under(out / "traces") == {cached_trace.name}
    assert_same_trace(cached, cached_trace)  # same config, same seed: the same trace again
    assert not temp_files(out)


def test_train_then_render_the_trace(tmp_path, trained):
    path = trained.cwd / "custom" / "run.npz"
    assert printed_paths(trained.proc) == [path]
    assert path.is_file() and not files_under(trained.out), "--trace given: nothing goes to OUT/traces"
    out = tmp_path / "media"
    proc = geomdl("render", SCENE, "--trace", path, *CLIP, *MPL, "--format", "png", "--out", out, cwd=tmp_path)
    assert_ok(proc)
    assert "training" not in proc.stderr
    (png,) = printed_paths(proc)
    assert png == out / SCENE / "run_matplotlib_light_480p15.png"
    assert files_under(out) == {f"{SCENE}/{png.name}"}, "rendering a given trace caches nothing"
    assert videos.read_png(png).shape[:2] == (480, 854)


def test_train_is_deterministic_and_shares_the_render_cache(tmp_path, trained, cached_trace):
    out = tmp_path / "media"
    proc = geomdl("train", SCENE, *SMALL, "--out", out, cwd=tmp_path)
    assert_ok(proc)
    (path,) = printed_paths(proc)
    # `geomdl train` writes where `geomdl render` looks for its cache
    assert path == out / "traces" / cached_trace.name
    # three independent runs of one config (train --trace, train, render) give identical arrays
    assert_same_trace(path, trained.cwd / "custom" / "run.npz")
    assert_same_trace(path, cached_trace)


# ---------------------------------------------------------------------------------------------- 4. bad input
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory, cached_trace) -> dict[str, Path]:
    """Files that are not usable traces, and a regular file to put an output folder under."""
    d = tmp_path_factory.mktemp("bad")
    data = cached_trace.read_bytes()
    (d / "half.npz").write_bytes(data[: len(data) // 2])
    png = d / "image.png"
    from PIL import Image  # noqa: PLC0415

    Image.new("RGB", (8, 8), "white").save(png)
    np.savez(d / "foreign.npz", a=np.arange(3), b=np.eye(2))
    (d / "afile").write_text("a regular file\n")
    (d / "folder.npz").mkdir()
    return {"half": d / "half.npz", "png": png, "foreign": d / "foreign.npz", "file": d / "afile",
            "folder": d / "folder.npz"}


R = ["render", SCENE]
T = ["train", SCENE]
DEGENERATE = ["--q", "5", "--seed", "1", "--lr", "0.01", "--steps", "1200"]
# (id, argv; {out} is the output folder, {half} {png} {foreign} {file} {folder} the bad files), exit code
# (None: any non-zero), substrings of the error line, files allowed to appear in OUT (globs)
BAD = [
    ("q1", [*R, "--q", "1"], 1, ["Q", "1"], []),
    ("q0", [*R, "--q", "0"], 1, ["Q", "0"], []),
    ("q-3", [*R, "--q", "-3"], 1, ["Q", "-3"], []),
    ("q-abc", [*R, "--q", "abc"], 2, ["--q"], []),
    ("steps0", [*R, "--steps", "0"], 1, ["steps"], []),
    ("lr-1", [*R, "--lr", "-1"], 1, ["learning rate"], []),
    ("seed-1", [*R, "--seed", "-1"], 2, ["--seed"], []),
    ("duration0", [*R, "--duration", "0"], 1, ["duration"], []),
    ("duration-inf", [*R, "--duration", "inf"], 1, ["duration"], []),
    ("unknown-scene", ["render", "nosuch"], 2, ["nosuch", SCENE], []),
    ("unknown-experiment", ["train", "nosuch"], 2, ["nosuch", SCENE], []),
    ("missing-scene", ["render"], 2, ["scene"], []),
    ("unknown-option", [*R, "--bogus"], 2, ["--bogus"], []),
    ("format-avi", [*R, "--format", "avi"], 2, ["avi", "mp4"], []),
    ("quality-z", [*R, "--quality", "z"], 2, ["'z'", "l, m, h, k"], []),
    ("renderer-x", [*R, "--renderer", "x"], 2, ["'x'", "matplotlib"], []),
    ("trace-missing", [*R, "--trace", "{out}/../nope.npz"], 1, ["does not exist"], []),
    ("trace-truncated", [*R, "--trace", "{half}"], 1, ["truncated"], []),
    ("trace-png", [*R, "--trace", "{png}"], 1, ["not a geomdl trace"], []),
    ("trace-foreign-npz", [*R, "--trace", "{foreign}"], 1, ["not a geomdl trace"], []),
    ("trace-folder", [*R, "--trace", "{folder}"], 1, ["folder"], []),
    ("out-under-file", [*R, "--out", "{file}/media"], 1, ["afile"], []),
    ("out-is-file", [*R, "--out", "{file}"], 1, ["afile"], []),
    ("train-trace-under-file", [*T, "--trace", "{file}/run.npz"], 1, ["afile"], []),
    ("train-out-under-file", [*T, "--out", "{file}/media"], 1, ["afile"], []),
    # lr 0.05 kills the default network at step 2: exit 3, the trace kept for inspection, no clip
    ("dead-render", [*R, "--lr", "0.05", *CLIP, *MPL], 3, ["dead"], ["traces/*.npz"]),
    ("dead-train", [*T, "--lr", "0.05"], 3, ["dead"], ["traces/*.npz"]),
    # the old fixed lr 0.01 at Q=5, seed 1 ends with fewer output clusters than classes: degenerate, refused like a
    # dead run (how many is the CPU's rounding: 2 on one machine, 4 on another)
    ("degenerate-render", [*R, *DEGENERATE, *CLIP, *MPL], 3, ["degenerate", "distinct output clusters for 5 classes"],
     ["traces/*.npz"]),
    ("degenerate-train", [*T, *DEGENERATE], 3, ["degenerate", "trace kept"], ["traces/*.npz"]),
    ("q9-auto-lr", [*T, "--q", "9"], 1, ["Q = 2..8", "--lr"], []),
]


@dataclass
class BadRun:
    cwd: Path
    out: Path
    before: set[str]
    proc: subprocess.CompletedProcess


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory, bad_files) -> dict[str, BadRun]:
    """Every BAD case, run concurrently (most of their time is Python and torch starting up).

    Each runs in its own cwd whose OUT already holds an earlier clip, which must survive.
    """
    runs: dict[str, tuple[BadRun, list[str]]] = {}
    for case_id, argv, *_ in BAD:
        cwd = tmp_path_factory.mktemp(f"bad-{case_id}")
        out = cwd / "media"
        (out / SCENE).mkdir(parents=True)
        (out / SCENE / "earlier.mp4").write_bytes(b"an earlier clip, must survive")
        args = [a.format(out=out, **bad_files) for a in argv]
        if "--out" not in args:
            args += ["--out", str(out)]
        runs[case_id] = (BadRun(cwd, out, files_under(out), None), args)

    def run(item: tuple[BadRun, list[str]]) -> None:
        bad, args = item
        bad.proc = geomdl(*args, cwd=bad.cwd)

    with ThreadPoolExecutor(max_workers=min(8, max(2, os.cpu_count() or 2))) as pool:
        list(pool.map(run, runs.values()))
    return {case_id: bad for case_id, (bad, _) in runs.items()}


@pytest.mark.parametrize(("case_id", "code", "needles", "allowed"),
                         [pytest.param(c[0], *c[2:], id=c[0]) for c in BAD])
def test_bad_input_is_one_line_error_and_writes_nothing(bad_runs, bad_files, case_id, code, needles, allowed):
    bad = bad_runs[case_id]
    assert_one_line_error(bad.proc, code, *needles)
    after = files_under(bad.out)
    new = after - bad.before
    assert all(any(Path(f).match(g) for g in allowed) for f in new), f"new files in OUT: {sorted(new)}"
    assert bad.before <= after, "an existing file was removed"
    assert (bad.out / SCENE / "earlier.mp4").read_bytes() == b"an earlier clip, must survive"
    assert not temp_files(bad.out) and not temp_files(bad_files["file"].parent)
    assert files_under(bad.cwd) == {f"media/{f}" for f in after}, "files written outside OUT"
    assert not bad.proc.stdout.strip(), "nothing on stdout for a failed command"


def test_dead_network_is_not_rendered_even_from_its_trace(tmp_path):
    """The kept trace of a dead run renders only with --force (one-line error, exit 3, otherwise); train --force
    keeps it and exits 0."""
    out = tmp_path / "media"
    proc = geomdl("train", SCENE, "--lr", "0.05", "--out", out, cwd=tmp_path)
    assert_one_line_error(proc, 3, "dead", "trace kept")
    proc = geomdl("train", SCENE, "--lr", "0.05", "--force", "--out", out, cwd=tmp_path)
    assert_ok(proc)
    assert "warning: training failed (dead)" in proc.stderr
    (trace,) = (out / "traces").glob("*.npz")
    proc = geomdl("render", SCENE, "--trace", trace, *CLIP, *MPL, "--format", "png", "--out", out, cwd=tmp_path)
    assert_one_line_error(proc, 3, "--force")
    assert not files_under(out / SCENE)
    proc = geomdl("render", SCENE, "--trace", trace, *CLIP, *MPL, "--format", "png", "--force", "--out", out,
                  cwd=tmp_path)
    assert_ok(proc)
    (png,) = printed_paths(proc)
    assert videos.read_png(png).shape[:2] == (480, 854)


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_out_is_one_line_error(tmp_path):
    out = tmp_path / "media"
    out.mkdir()
    out.chmod(0o555)
    try:
        proc = geomdl("render", SCENE, *SMALL, *CLIP, *MPL, "--out", out, cwd=tmp_path)
        assert_one_line_error(proc, 1, str(out))
        assert not files_under(out)
    finally:
        out.chmod(0o755)


# ---------------------------------------------------------------------------------------------- 5. Ctrl-C
def _child_signals(ignore: tuple[int, ...]) -> None:
    """In a test's child before exec: SIGINT, SIGTERM and SIGHUP at their defaults even where the test runner
    inherited them ignored (a run under ``nohup`` ignores SIGHUP, and an ignored signal stays ignored across exec),
    then ``ignore`` ignored, as a user's ``nohup geomdl ...`` would."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN if sig in ignore else signal.SIG_DFL)


class Live:
    """``geomdl`` in its own process group, as if in a terminal (live progress on stderr, read as it comes)."""

    def __init__(self, *args: str | Path, cwd: Path, ignore: tuple[int, ...] = ()):
        self.proc = subprocess.Popen(
            [*geomdl_command(), *map(str, args)], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=cli_env(TTY_INTERACTIVE="1", TTY_COMPATIBLE="1", COLUMNS="120"), start_new_session=True,
            preexec_fn=lambda: _child_signals(ignore))
        self.err = bytearray()
        self.out = bytearray()
        self._readers = [threading.Thread(target=self._read, args=(f, buf), daemon=True)
                         for f, buf in ((self.proc.stderr, self.err), (self.proc.stdout, self.out))]
        for r in self._readers:
            r.start()

    @staticmethod
    def _read(pipe, buf: bytearray) -> None:
        while chunk := os.read(pipe.fileno(), 65536):
            buf += chunk

    @property
    def stderr(self) -> str:
        return bytes(self.err).decode(errors="replace")

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match:
        """Wait until the (live) stderr matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if m := re.search(pattern, ANSI.sub("", self.stderr)):
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"never saw {pattern!r} (exit {self.proc.returncode}); stderr:\n{self.stderr}")

    def ctrl_c(self, timeout: float = 60) -> subprocess.CompletedProcess:
        """SIGINT to the whole process group, as a terminal's Ctrl-C does; waits for the exit."""
        assert self.proc.poll() is None, f"finished before Ctrl-C (exit {self.proc.returncode}):\n{self.stderr}"
        os.killpg(self.proc.pid, signal.SIGINT)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"still running {timeout} s after Ctrl-C; stderr:\n{self.stderr}")
        self.close()
        return subprocess.CompletedProcess(self.proc.args, self.proc.returncode, bytes(self.out).decode(),
                                           self.stderr)

    def close(self) -> None:
        for r in self._readers:
            r.join(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.close()


def assert_interrupted(proc: subprocess.CompletedProcess, out: Path, before: set[str]) -> None:
    assert proc.returncode == 130, describe(proc)
    assert "Traceback" not in proc.stderr, describe(proc)
    errs = error_lines(proc.stderr)
    assert len(errs) == 1 and errs[0].startswith("error: interrupted"), describe(proc)
    assert files_under(out) == before, f"left behind: {sorted(files_under(out) - before)}"
    assert not temp_files(out)
    assert not proc.stdout.strip()


def test_ctrl_c_during_training(tmp_path):
    out = tmp_path / "media"
    live = Live("render", SCENE, *SMALL, "--steps", "2000000", *CLIP, *MPL, "--out", out, cwd=tmp_path)
    try:
        live.wait_for(r"training.*?\b[1-9][0-9]*/2000000")  # the progress bar has moved
        proc = live.ctrl_c()
    finally:
        live.kill()
    assert_interrupted(proc, out, set())
    assert files_under(tmp_path) == set()


def test_ctrl_c_during_a_study_on_local_workers(tmp_path):
    """Ctrl-C while a study runs on 2 forked workers: exit 130, one line (no worker's traceback), nothing
    written, no worker left running."""
    out = tmp_path / "media"
    live = Live("experiment", "truncation-speed", "--seeds", "4", "--steps", "600", "--scheduler", "local:2",
                "--out", out, cwd=tmp_path)
    try:
        live.wait_for(r"runs.*?\b[0-9]+/12\b")                  # the study's runs are under way
        time.sleep(1.0)
        proc = live.ctrl_c()
    finally:
        live.kill()
    assert_interrupted(proc, out, set())
    left = subprocess.run(["pgrep", "-g", str(live.proc.pid)], capture_output=True, text=True).stdout.split()
    assert not left, f"workers still running: {left}"


def test_ctrl_c_during_a_sweep_on_local_workers_keeps_its_chunks(tmp_path):
    """Ctrl-C while the perturbation sweep's chunks run on 2 forked workers: exit 130, one line, no worker left;
    the chunks that had arrived are kept whole and --resume finishes the sweep from them."""
    out = tmp_path / "media"
    argv = ["experiment", "perturb", "--mode", "train", "--steps", "300", "--trials", "40", "--chunk", "2",
            "--lambdas", "0.1,1", "--scheduler", "local:2", "--out", out]
    live = Live(*argv, cwd=tmp_path)
    try:
        live.wait_for(r"trials.*?\b([1-9][0-9]*)/80\b")                # chunks have arrived
        proc = live.ctrl_c()
    finally:
        live.kill()
    assert proc.returncode == 130 and "Traceback" not in proc.stderr, describe(proc)
    errs = error_lines(proc.stderr)
    assert len(errs) == 1 and errs[0].startswith("error: interrupted"), describe(proc)
    left = subprocess.run(["pgrep", "-g", str(live.proc.pid)], capture_output=True, text=True).stdout.split()
    assert not left, f"workers still running: {left}"
    folder = out / "experiments" / "perturb" / "clustered_zero-loss_train"
    kept = sorted((folder / "chunks").glob("*.csv"))
    assert 1 <= len(kept) < 40 and not temp_files(out) and not (folder / "results.csv").exists()
    assert all(len(p.read_text().splitlines()) == 3 for p in kept)        # a header and its 2 trials each
    done = geomdl(*argv, "--resume", cwd=tmp_path)
    assert done.returncode == 0, describe(done)
    assert f"{40 - len(kept)} chunks computed, {len(kept)} reused" in done.stdout + done.stderr


@pytest.mark.parametrize("renderer", ["matplotlib", "manim"])
def test_ctrl_c_during_rendering(tmp_path, cached_trace, renderer):
    """Ctrl-C while frames are drawn on 2 processes and encoded: exit 130, one line, nothing half-written."""
    if renderer == "manim":
        import_render_manim()
    out = with_cache(tmp_path / "media", cached_trace)
    (out / SCENE).mkdir()
    (out / SCENE / "earlier.mp4").write_bytes(b"an earlier clip, must survive")
    before = files_under(out)
    n = expected_frames(cached_trace, LOW["fps"], 120.0)
    live = Live("render", SCENE, *SMALL, "--duration", "120", "--quality", "l", "--renderer", renderer,
                "--jobs", "2", "--out", out, cwd=tmp_path)
    try:
        live.wait_for(rf"rendering \({renderer}\).*?\b[1-9][0-9]*/{n}\b")  # frames are being encoded
        assert temp_files(out / SCENE), "the clip should be in progress in a temp file"
        proc = live.ctrl_c()
    finally:
        live.kill()
    assert "using cached trace" in proc.stderr
    assert_interrupted(proc, out, before)
    assert (out / SCENE / "earlier.mp4").read_bytes() == b"an earlier clip, must survive"
    assert_same_trace(out / "traces" / cached_trace.name, cached_trace)


# ---------------------------------------------------------------------------------------------- 6. list, help
def test_list_shows_the_scene_and_experiment(tmp_path):
    proc = geomdl("list", cwd=tmp_path)
    assert_ok(proc)
    lines = proc.stdout.splitlines()
    assert any(line.split()[:1] == [SCENE] for line in lines), proc.stdout
    assert "Scenes" in proc.stdout and "Experiments" in proc.stdout
    assert not files_under(tmp_path)


@pytest.mark.parametrize("command", ["render", "train"])
def test_help_lists_the_options(tmp_path, command):
    proc = subprocess.run([*geomdl_command(), command, "--help"], cwd=tmp_path, env=cli_env(COLUMNS="200"),
                          capture_output=True, text=True, timeout=60)
    assert_ok(proc)
    text = proc.stdout
    options = ["--q", "--seed", "--steps", "--lr", "--out", "--trace"]
    if command == "render":
        options += ["--quality", "--format", "--renderer", "--duration", "--retrain"]
    for opt in options:
        assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", text), f"{opt} missing from help:\n{text}"
    assert not files_under(tmp_path)


def test_no_arguments_prints_help(tmp_path):
    proc = geomdl(cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert "render" in proc.stdout and "train" in proc.stdout and "list" in proc.stdout


# ---------------------------------------------------------------------------------------------- slow
@pytest.mark.slow
def test_quick_start_default_render(tmp_path):
    """README's quick start with every default (1200 steps, 121 snapshots, 720p30, 8 s, auto renderer)."""
    out = tmp_path / "media"
    proc = geomdl("render", SCENE, "--q", "3", "--out", out, cwd=tmp_path, timeout=900)
    assert_ok(proc)
    (mp4,) = printed_paths(proc)
    renderer = "manim" if importlib.util.find_spec("manim") else "matplotlib"  # what auto picks
    assert f"_{renderer}_light_720p30" in mp4.name, mp4
    (trace,) = (out / "traces").glob("*.npz")
    check_clip(mp4, expected_frames(trace, 30, 8.0), width=1280, height=720, fps=30)
    assert files_under(out) == {f"{SCENE}/{mp4.name}", f"traces/{trace.name}"}
