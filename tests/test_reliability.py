"""Issue 12: nothing lost, nothing half-written, no traceback.

A full disk is simulated without root (no tmpfs in CI): ffmpeg run under a file-size limit (``ulimit -f`` with
SIGXFSZ ignored, so a write fails with EFBIG as it would with ENOSPC), a fake encoder that exits non-zero, or the
whole ``geomdl`` process under ``resource.setrlimit(RLIMIT_FSIZE)``. Every case is the real command in a
subprocess (``tests/test_cli.py``'s helpers) or the real function; the reliability table in
``docs/reliability.md`` lists them.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_cli import (
    CLIP,
    MPL,
    SCENE,
    SMALL,
    Live,
    _child_signals,
    assert_one_line_error,
    cli_env,
    describe,
    error_lines,
    files_under,
    geomdl,
    geomdl_command,
    temp_files,
)

from geomdl.errors import GeomdlError
from geomdl.experiments import sweep
from geomdl.io import atomic
from geomdl.io import trace as trace_mod
from scenes.backends import export

STEM = "run_matplotlib_light_480p15"   # the name a render of --trace run.npz gives its clip


def geomdl_env(*args, cwd: Path, env: dict | None = None, preexec=None, timeout: float = 180):
    return subprocess.run([*geomdl_command(), *map(str, args)], cwd=cwd, env={**cli_env(), **(env or {})},
                          capture_output=True, text=True, timeout=timeout, preexec_fn=preexec)


def file_size_limit(nbytes: int):
    """``preexec_fn``: the process (and its children) may write files of at most ``nbytes`` (a full disk)."""
    def pre() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))
    return pre


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("trace")
    proc = geomdl("train", SCENE, *SMALL, "--trace", d / "run.npz", cwd=d)
    assert proc.returncode == 0, describe(proc)
    return d / "run.npz"


def fake_ffmpeg(tmp_path: Path, body: str) -> dict[str, str]:
    """Environment making every ffmpeg call of geomdl run ``body`` (a bash script; ``$REAL`` = the real one)."""
    script = tmp_path / "fake-ffmpeg"
    script.write_text(f"#!/bin/bash\nREAL={export.ffmpeg_exe()}\n{body}\n")
    script.chmod(0o755)
    return {"IMAGEIO_FFMPEG_EXE": str(script)}


# ---------------------------------------------------------------------------------------------- 1. full disk
FULL_DISK_FFMPEG = 'trap "" XFSZ; ulimit -f 40; exec "$REAL" "$@"'   # files of at most 40 KiB


def test_full_disk_render_fails_and_keeps_the_earlier_clip(tmp_path, small_trace):
    out = tmp_path / "media"
    clip = out / SCENE / f"{STEM}.mp4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"an earlier clip, must survive")
    proc = geomdl_env("render", SCENE, "--trace", small_trace, *CLIP, *MPL, "--duration", "2", "--out", out,
                      cwd=tmp_path, env=fake_ffmpeg(tmp_path, FULL_DISK_FFMPEG))
    line = assert_one_line_error(proc, 1, "ffmpeg failed", "earlier clip is kept")
    assert "File too large" in line or "No space" in line, line
    assert clip.read_bytes() == b"an earlier clip, must survive"
    assert not temp_files(out) and not proc.stdout.strip()


def test_full_disk_render_without_an_earlier_clip_writes_nothing(tmp_path, small_trace):
    out = tmp_path / "media"
    proc = geomdl_env("render", SCENE, "--trace", small_trace, *CLIP, *MPL, "--duration", "2", "--out", out,
                      cwd=tmp_path, env=fake_ffmpeg(tmp_path, FULL_DISK_FFMPEG))
    assert_one_line_error(proc, 1, "ffmpeg failed", "no clip was written")
    assert files_under(out) == set()


@pytest.mark.parametrize(("body", "why"), [
    ('cat > /dev/null; echo "Error writing trailer: No space left on device" >&2; exit 1',  # all frames, then fails
     "No space left on device"),
    ('echo "Error opening output: No space left on device" >&2; exit 1',                    # dies: the pipe breaks
     "No space left on device"),
    ('cat > /dev/null; exit 0', "it wrote nothing"),                                       # "success", no clip
], ids=["trailer", "broken-pipe", "empty"])
def test_write_mp4_checks_the_encoder(tmp_path, monkeypatch, body, why):
    """The encoder's exit status and output are checked before the rename: a broken clip is never published."""
    script = tmp_path / "ffmpeg"
    script.write_text(f"#!/bin/bash\n{body}\n")
    script.chmod(0o755)
    monkeypatch.setattr(export, "ffmpeg_exe", lambda: str(script))
    dest = tmp_path / "clip.mp4"
    dest.write_bytes(b"old")
    frames = (np.zeros((480, 854, 4), np.uint8) for _ in range(200))   # 330 MB: more than any pipe buffer
    with pytest.raises(GeomdlError, match=f"ffmpeg failed to encode clip.mp4: .*{why}; the earlier clip is kept"):
        export.write_mp4(frames, dest, 854, 480, 15, pix_fmt_in="rgba")
    assert dest.read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["clip.mp4", "ffmpeg"]


def test_full_disk_gif_keeps_the_earlier_mp4_and_gif(tmp_path, small_trace):
    """MP4 + GIF are one set: a GIF that cannot be written leaves the earlier MP4 and GIF, not a new MP4."""
    out = tmp_path / "media"
    folder = out / SCENE
    folder.mkdir(parents=True)
    (folder / f"{STEM}.mp4").write_bytes(b"earlier mp4")
    (folder / f"{STEM}.gif").write_bytes(b"earlier gif")
    env = fake_ffmpeg(tmp_path, 'for a in "$@"; do [ "$a" = gif ] && { echo "No space left on device" >&2; '
                                'exit 1; }; done; exec "$REAL" "$@"')
    proc = geomdl_env("render", SCENE, "--trace", small_trace, *CLIP, *MPL, "--format", "gif", "--out", out,
                      cwd=tmp_path, env=env)
    assert_one_line_error(proc, 1, "GIF", "No space left")
    assert snapshot(folder) == {f"{STEM}.mp4": b"earlier mp4", f"{STEM}.gif": b"earlier gif"}


# ---------------------------------------------------------------------------------------------- 2. OSError
def test_full_disk_train_trace_is_one_line(tmp_path, small_trace):
    target = tmp_path / "t.npz"
    target.write_bytes(small_trace.read_bytes())
    before = target.read_bytes()
    proc = geomdl_env("train", SCENE, *SMALL, "--seed", "1", "--trace", target, cwd=tmp_path,
                      preexec=file_size_limit(4096))
    assert_one_line_error(proc, 1, "cannot write", "t.npz", "File too large")
    assert target.read_bytes() == before and not temp_files(tmp_path)


NC = ["experiment", "nc-feasibility", "--classes", "2", "--n", "4", "--ratios", "1,2", "--sigmas", "-1:0:2",
      "--trials", "2"]


def test_full_disk_nc_feasibility_keeps_the_previous_set(tmp_path):
    out = tmp_path / "media"
    assert geomdl(*NC, "--out", out, cwd=tmp_path).returncode == 0
    folder = out / "experiments" / "nc-feasibility"
    before = snapshot(folder)
    assert any(f.endswith(".png") for f in before) and any(f.endswith(".csv") for f in before)
    proc = geomdl_env(*NC, "--seed", "5", "--out", out, cwd=tmp_path, preexec=file_size_limit(8192))
    assert_one_line_error(proc, 1, "cannot write", "File too large")
    assert snapshot(folder) == before, "the tables were replaced without their figures"


PERTURB = ["experiment", "perturb", "--mode", "eval", "--trials", "4", "--chunk", "2", "--lambdas", "0.1,1"]


def test_full_disk_perturb_keeps_chunks_and_resumes(tmp_path):
    out = tmp_path / "media"
    proc = geomdl_env(*PERTURB, "--out", out, cwd=tmp_path, preexec=file_size_limit(8192))
    assert_one_line_error(proc, 1, "cannot write", "File too large")
    folder = out / "experiments" / "perturb" / "clustered_zero-loss_eval"
    assert len(list((folder / "chunks").glob("*.csv"))) == 4, "finished chunks are kept"
    assert not (folder / "results.csv").exists(), "no results.csv without its figures"
    assert not temp_files(out)
    proc = geomdl(*PERTURB, "--resume", "--out", out, cwd=tmp_path)
    assert proc.returncode == 0, describe(proc)
    assert "0 chunks computed, 4 reused" in proc.stderr
    ref = tmp_path / "ref"
    assert geomdl(*PERTURB, "--out", ref, cwd=tmp_path).returncode == 0
    refd = ref / "experiments" / "perturb" / "clustered_zero-loss_eval"
    assert (folder / "results.csv").read_bytes() == (refd / "results.csv").read_bytes()


# ---------------------------------------------------------------------------------------------- 3. signals
@pytest.mark.parametrize(("sig", "code", "name"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")])
def test_signal_during_matplotlib_render(tmp_path, small_trace, sig, code, name):
    out = tmp_path / "media"
    clip = out / SCENE / f"{STEM}.mp4"
    clip.parent.mkdir(parents=True)
    clip.write_bytes(b"an earlier clip, must survive")
    live = Live("render", SCENE, "--trace", small_trace, "--duration", "120", "--quality", "l", *MPL, "--out", out,
                cwd=tmp_path)
    try:
        live.wait_for(r"rendering \(matplotlib\).*?\b[1-9][0-9]*/[0-9]+")
        assert temp_files(out / SCENE), "the clip should be in progress in a temp file"
        os.kill(live.proc.pid, sig)   # the process only (a service manager's stop), not its group
        live.proc.wait(timeout=60)
        live.close()
    finally:
        live.kill()
    assert live.proc.returncode == code, live.stderr
    errs = error_lines(live.stderr)
    assert errs == [f"error: terminated by {name}; no partial output was left behind"], live.stderr
    assert "Traceback" not in live.stderr
    assert not temp_files(out) and clip.read_bytes() == b"an earlier clip, must survive"


def test_an_ignored_sighup_stays_ignored(tmp_path, small_trace):
    """``nohup geomdl render ...``: SIGHUP ignored by the caller stays ignored (only signals at their default
    are turned into a clean exit), so the render goes on to its clip."""
    out = tmp_path / "media"
    live = Live("render", SCENE, "--trace", small_trace, "--duration", "4", "--quality", "l", *MPL, "--out", out,
                cwd=tmp_path, ignore=(signal.SIGHUP,))
    try:
        live.wait_for(r"rendering \(matplotlib\).*?\b[1-9][0-9]*/[0-9]+")
        os.kill(live.proc.pid, signal.SIGHUP)
        live.proc.wait(timeout=120)
        live.close()
    finally:
        live.kill()
    assert live.proc.returncode == 0, live.stderr
    assert (out / SCENE / f"{STEM}.mp4").stat().st_size > 0 and not temp_files(out)

def test_sigterm_during_manim_render_removes_its_temp_folder(tmp_path, small_trace):
    """SIGTERM while Manim's frames are drawn (on 2 processes) and encoded: exit 143, one line, no temp clip, and
    nothing left in the temp folder."""
    pytest.importorskip("manim")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "media"
    proc = subprocess.Popen([*geomdl_command(), "render", SCENE, "--trace", str(small_trace), "--duration", "120",
                             "--quality", "l", "--renderer", "manim", "--jobs", "2", "--out", str(out)],
                            cwd=tmp_path, env={**cli_env(), "TMPDIR": str(tmp)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=lambda: _child_signals(()))
    try:
        deadline = time.monotonic() + 90
        while not temp_files(out) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert temp_files(out), "the clip never started (no temp clip)"
        time.sleep(2)   # well into the frames
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert error_lines(err) == ["error: terminated by SIGTERM; no partial output was left behind"], err
    assert not list(tmp.iterdir()) and not temp_files(out)


def test_sigterm_during_training_leaves_nothing(tmp_path):
    out = tmp_path / "media"
    live = Live("train", SCENE, *SMALL, "--steps", "2000000", "--out", out, cwd=tmp_path)
    try:
        live.wait_for(r"training.*?\b[1-9][0-9]*/2000000")
        os.kill(live.proc.pid, signal.SIGTERM)
        live.proc.wait(timeout=60)
        live.close()
    finally:
        live.kill()
    assert live.proc.returncode == 143, live.stderr
    assert len(error_lines(live.stderr)) == 1 and "Traceback" not in live.stderr
    assert files_under(tmp_path) == set()


# ---------------------------------------------------------------------------------------------- 4. huge requests
@pytest.mark.parametrize(("argv", "needles"), [
    (["train", SCENE, "--q", "1000000000", "--lr", "0.01"], ["needs about", "PiB", "lower --q"]),
    (["experiment", "local-minima", "--q", "40", "--trials", "0"], ["2^40 - 1", "limited to 12"]),
    (["experiment", "perturb", "--q", "100000000", "--trials", "1"], ["needs about", "lower --q"]),
])
def test_huge_requests_are_refused_before_allocating(tmp_path, argv, needles):
    t0 = time.perf_counter()
    proc = geomdl(*argv, "--out", tmp_path / "media", cwd=tmp_path)
    assert_one_line_error(proc, 1, *needles)
    assert time.perf_counter() - t0 < 60 and files_under(tmp_path) == set()


def test_memory_limit_is_the_one_configured(tmp_path):
    """GEOMDL_MEMORY_LIMIT replaces the available memory: the default run (~2 MB of trace) is refused under 1 MiB."""
    proc = geomdl_env("train", SCENE, "--out", tmp_path / "media", cwd=tmp_path, env={"GEOMDL_MEMORY_LIMIT": "1M"})
    assert_one_line_error(proc, 1, "more than the 1 MiB limit GEOMDL_MEMORY_LIMIT")
    from geomdl import experiments  # noqa: PLC0415

    experiments.config(SCENE)   # and it passes with this machine's memory


# ---------------------------------------------------------------------------------------------- 5. hostile traces
def write_npz(path: Path, meta, arrays: dict) -> Path:
    with open(path, "wb") as fh:
        np.savez(fh, meta=np.array(json.dumps(meta) if not isinstance(meta, np.ndarray) else meta), **arrays)
    return path


@pytest.fixture(scope="module")
def base(small_trace):
    tr = trace_mod.load(small_trace)
    return tr.meta, tr.arrays


HOSTILE = {
    "kind-int": (lambda m, a: ({**m, "kind": 5}, a), "metadata 'kind' is 5, expected a string"),
    "kind-list": (lambda m, a: ({**m, "kind": ["x"]}, a), "metadata 'kind'"),
    "truncated-strings": (lambda m, a: (m, {**a, "truncated": a["truncated"].astype(str)}),
                          "'truncated' holds <U"),
    "loss-all-nan": (lambda m, a: (m, {**a, "loss": np.full_like(a["loss"], np.nan)}), "'loss' holds NaN"),
    "X-all-nan": (lambda m, a: (m, {**a, "X": np.full_like(a["X"], np.nan),
                                    "truncated": np.full_like(a["truncated"], np.nan)}), "'X' holds NaN"),
    "truncated-all-nan": (lambda m, a: (m, {**a, "truncated": np.full_like(a["truncated"], np.nan)}),
                          "'truncated' holds NaN"),
    "labels-99": (lambda m, a: (m, {**a, "labels": np.full_like(a["labels"], 99)}),
                  "labels 99..99, but Q=3 (labels 0..2, classes 1..3)"),
    "labels-float": (lambda m, a: (m, {**a, "labels": a["labels"].astype(float)}), "'labels' holds float64"),
    "Q-abc": (lambda m, a: ({**m, "Q": "abc"}, a), "metadata 'Q' is 'abc', expected an integer"),
    "Q-bool": (lambda m, a: ({**m, "Q": True}, a), "metadata 'Q' is True"),
    "Q-1": (lambda m, a: ({**m, "Q": 1}, a), "need Q >= 2"),
    "M-wrong": (lambda m, a: ({**m, "M": 5}, a), "'X' has shape"),
    "schema-string": (lambda m, a: ({**m, "schema": "1"}, a), "metadata 'schema' is '1', expected an integer"),
    "meta-list": (lambda m, a: ([1, 2], a), "metadata is not a geomdl trace header"),
    "notes-string": (lambda m, a: ({**m, "notes": "x"}, a), "metadata 'notes'"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_trace_is_one_line_error(tmp_path, base, case):
    mutate, needle = HOSTILE[case]
    meta, arrays = mutate(*base)
    with pytest.raises(GeomdlError) as info:
        trace_mod.load(write_npz(tmp_path / "t.npz", meta, arrays))
    assert needle in str(info.value) and "\n" not in str(info.value)


def test_pickled_trace_is_called_pickled(tmp_path, base):
    meta, arrays = base
    with pytest.raises(GeomdlError, match="holds pickled Python objects"):
        trace_mod.load(write_npz(tmp_path / "p.npz", meta, {**arrays, "X": np.array([{}], dtype=object)}))


@pytest.mark.parametrize("case", ["truncated-strings", "X-all-nan", "labels-99"])
def test_render_refuses_a_hostile_trace(tmp_path, base, case):
    meta, arrays = HOSTILE[case][0](*base)
    t = write_npz(tmp_path / "t.npz", meta, arrays)
    proc = geomdl("render", SCENE, "--trace", t, *CLIP, *MPL, "--format", "png", "--out", tmp_path / "media",
                  cwd=tmp_path)
    assert_one_line_error(proc, 1, HOSTILE[case][1])
    assert files_under(tmp_path / "media" / SCENE) == set()


def test_every_recorded_kind_validates(small_run):
    """The tables accept what the recorders write (the truncation picture here; the other kinds in their tests)."""
    trace, _, _ = small_run
    trace.validate()
    assert set(trace_mod.TRACE_KINDS) >= {"truncation-speed", "layers", "cones", "local-minima", "perturbation",
                                          "flows"}


def test_a_new_kind_is_one_table_entry(tmp_path):
    kind = trace_mod.TraceKind({"X": trace_mod.ArraySpec(("N", "M"), "f", "all"),
                                "labels": trace_mod.ArraySpec(("N",), "iu", labels=True)},
                               meta={"source": (str, True)})
    trace_mod.register_kind("test-kind", kind)
    try:
        meta = {"schema": trace_mod.SCHEMA, "kind": "test-kind", "Q": 2, "M": 3, "source": "x"}
        good = {"X": np.zeros((4, 3)), "labels": np.array([0, 1, 0, 1])}
        assert trace_mod.load(write_npz(tmp_path / "a.npz", meta, good)).q == 2
        for bad_meta, bad_arrays, needle in [
                ({k: v for k, v in meta.items() if k != "source"}, good, "metadata lacks 'source'"),
                ({**meta, "source": 1}, good, "metadata 'source' is 1"),
                (meta, {**good, "X": np.zeros((4, 2))}, "'X' has shape (4, 2), expected (4, 3)"),
                (meta, {**good, "labels": np.array([0, 1, 2, 1])}, "labels 0..2, but Q=2")]:
            with pytest.raises(GeomdlError) as info:
                trace_mod.load(write_npz(tmp_path / "b.npz", bad_meta, bad_arrays))
            assert needle in str(info.value)
    finally:
        trace_mod.TRACE_KINDS.pop("test-kind")


def _mutations():
    value = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True),
                      st.text(max_size=5), st.lists(st.integers(), max_size=2),
                      st.dictionaries(st.text(max_size=2), st.integers(), max_size=1))
    array_op = st.tuples(st.sampled_from(["drop", "str", "int8", "float32", "bool", "nan", "inf", "scalar",
                                          "truncate", "transpose", "empty"]), st.integers(0, 40))
    meta_op = st.tuples(st.sampled_from(["drop", "set"]), st.integers(0, 40), value)
    return st.lists(st.one_of(array_op.map(lambda t: ("array", *t)), meta_op.map(lambda t: ("meta", *t))),
                    min_size=1, max_size=6)


def _apply(meta: dict, arrays: dict, ops) -> tuple[dict, dict]:
    meta, arrays = dict(meta), dict(arrays)
    for op in ops:
        if op[0] == "array":
            _, kind, i = op
            if not arrays:
                continue
            k = sorted(arrays)[i % len(arrays)]
            a = arrays[k]
            if kind == "drop":
                del arrays[k]
            elif kind == "str":
                arrays[k] = a.astype(str)
            elif kind in ("int8", "float32", "bool"):
                with np.errstate(all="ignore"):
                    arrays[k] = np.nan_to_num(a).astype(kind) if a.dtype.kind == "f" else a.astype(kind)
            elif kind in ("nan", "inf"):
                arrays[k] = np.full(a.shape, np.nan if kind == "nan" else np.inf)
            elif kind == "scalar":
                arrays[k] = np.array(1.5)
            elif kind == "truncate":
                arrays[k] = a[: max(0, len(a) - 1)] if a.ndim else a
            elif kind == "transpose":
                arrays[k] = a.T
            else:
                arrays[k] = np.zeros((0,) * max(a.ndim, 1))
        else:
            _, kind, i, v = op
            keys = sorted(meta) or ["Q"]
            k = keys[i % len(keys)]
            if kind == "drop":
                meta.pop(k, None)
            else:
                meta[k] = v
    return meta, arrays


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(ops=_mutations())
def test_fuzz_load_mutated_traces(tmp_path, base, ops):
    """Random key removals, dtype changes, NaNs, wrong meta types: a trace either loads (and is then usable by
    the renderers' accessors) or is refused with one line; no other exception escapes."""
    meta, arrays = _apply(*base, ops)
    path = write_npz(tmp_path / "fuzz.npz", meta, arrays)
    try:
        tr = trace_mod.load(path)
    except GeomdlError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert tr.q >= 2 and tr.n_snapshots >= 1 and tr.n_layers >= 1
    assert np.isfinite(tr["X"]).all() and tr["labels"].max() < tr.q


# ---------------------------------------------------------------------------------------------- 6. bad data, options
def test_string_labels_in_data(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.zeros((10, 784)), y=np.array(["a"] * 10))
    proc = geomdl("train", "layers", "--data", tmp_path / "d.npz", "--steps", "2", "--out", tmp_path / "m",
                  cwd=tmp_path)
    assert_one_line_error(proc, 1, "labels hold <U1 values")


def test_text_file_as_data_is_not_called_pickled(tmp_path):
    (tmp_path / "d.npz").write_text("hello\n")
    proc = geomdl("train", "layers", "--data", tmp_path / "d.npz", "--steps", "2", "--out", tmp_path / "m",
                  cwd=tmp_path)
    line = assert_one_line_error(proc, 1, "not an .npz archive")
    assert "pickle" not in line


def test_sls_digits_not_digits_is_a_usage_error(tmp_path):
    proc = geomdl("experiment", "mnist", "--sls-digits", "x,y", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 2, "--sls-digits")
    assert files_under(tmp_path) == set()


def test_sweep_json_not_an_object_with_resume(tmp_path):
    folder = tmp_path / "m" / "experiments" / "perturb" / "clustered_zero-loss_eval"
    folder.mkdir(parents=True)
    (folder / "sweep.json").write_text("[1,2]")
    proc = geomdl(*PERTURB, "--resume", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 1, "corrupt sweep file", "JSON list")


# ---------------------------------------------------------------------------------------------- 7. Dask
def test_scheduler_not_an_address_is_quick_and_clean(tmp_path):
    t0 = time.perf_counter()
    proc = geomdl(*PERTURB, "--scheduler", "notaurl", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 2, "notaurl", "tcp://HOST:PORT", "local:N")
    assert time.perf_counter() - t0 < 20 and files_under(tmp_path) == set()


def test_unresolvable_scheduler_host_does_not_hang(tmp_path):
    t0 = time.perf_counter()
    proc = geomdl(*PERTURB, "--scheduler", "tcp://no-such-host.invalid:8786", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 1, "cannot reach the Dask scheduler")
    assert time.perf_counter() - t0 < 40, "a half-built client was left to time out"


@contextlib.contextmanager
def garbage_server():
    """A TCP service on 127.0.0.1 that is not Dask: it answers every connection with 0xff bytes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    stop = threading.Event()

    def serve() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with contextlib.suppress(OSError):
                conn.sendall(b"\xff" * 4096)
                conn.settimeout(2)
                conn.recv(1024)
                conn.sendall(b"\xff" * 4096)
            conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        yield srv.getsockname()[1]
    finally:
        stop.set()
        t.join(timeout=5)
        srv.close()


def test_scheduler_that_is_not_dask_is_one_line(tmp_path):
    with garbage_server() as port:
        t0 = time.perf_counter()
        proc = geomdl(*PERTURB, "--scheduler", f"tcp://127.0.0.1:{port}", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 1, "cannot reach the Dask scheduler", f"127.0.0.1:{port}")
    assert time.perf_counter() - t0 < 40


def _no_dask(*a, **k):
    raise AssertionError("local:N should not start a Dask cluster on Linux")


def test_local_scheduler_equals_the_local_run(tmp_path, monkeypatch):
    """local:2 runs the chunks on forked workers (not Dask, on Linux) with the same rows and files."""
    cfg = sweep.SweepConfig(geometry="clustered", lambdas=(0.1, 1.0), trials=4, chunk=2, mode="eval")
    a = sweep.run_sweep(cfg, tmp_path / "here")
    if sys.platform.startswith("linux"):
        monkeypatch.setattr(sweep, "_connect", _no_dask)
    b = sweep.run_sweep(cfg, tmp_path / "local", scheduler="local:2")
    assert b["computed"] == 4 and a["rows"] == b["rows"]
    for name in ("results.csv", "summary.csv"):
        assert (tmp_path / "local" / name).read_bytes() == (tmp_path / "here" / name).read_bytes()
    with pytest.raises(GeomdlError, match="local:N needs a number of workers"):
        sweep.check_scheduler("local:zero")


_RUN_CHUNK = sweep.run_chunk


def _chunk_or_die(cfg_json: str, lam_index: int, start: int, end: int) -> dict:
    """sweep.run_chunk, except that the worker given lambda 1's second chunk is killed (as by the OOM killer)."""
    if (lam_index, start) == (1, 2):
        time.sleep(0.5)                 # the other chunks finish first
        os.kill(os.getpid(), signal.SIGKILL)
    return _RUN_CHUNK(cfg_json, lam_index, start, end)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="local:N forks on Linux only")
def test_local_worker_killed_mid_sweep_keeps_chunks_and_resumes(tmp_path, monkeypatch):
    cfg = sweep.SweepConfig(geometry="clustered", lambdas=(0.1, 1.0), trials=4, chunk=2, mode="eval")
    ref = sweep.run_sweep(cfg, tmp_path / "ref")
    folder = tmp_path / "s"
    monkeypatch.setattr(sweep, "run_chunk", _chunk_or_die)
    with pytest.raises(sweep.RunFailedError, match=r"died after [0-9] of 4 chunks.*--resume"):
        sweep.run_sweep(cfg, folder, scheduler="local:2")
    kept = sorted(p.name for p in (folder / "chunks").iterdir())
    assert "l1_t2.csv" not in kept and len(kept) >= 1 and not (folder / "results.csv").exists()
    assert not [p for p in folder.rglob("*") if ".tmp" in p.name]
    monkeypatch.undo()
    res = sweep.run_sweep(cfg, folder, resume=True, scheduler="local:2")
    assert res["reused"] == len(kept) and res["computed"] == 4 - len(kept) and res["rows"] == ref["rows"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_scheduler_killed_mid_sweep_keeps_chunks_and_resumes(tmp_path):
    """A real scheduler and worker (processes); the scheduler is killed once chunks are arriving."""
    pytest.importorskip("distributed")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    sched = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                              "--port", str(port), "--no-dashboard"], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    worker = subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", f"tcp://127.0.0.1:{port}",
                               "--nthreads", "1", "--nworkers", "1", "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    out = tmp_path / "m"
    argv = ["experiment", "perturb", "--mode", "train", "--steps", "300", "--trials", "40", "--chunk", "2",
            "--lambdas", "0.1", "--out", out]
    folder = out / "experiments" / "perturb" / "clustered_zero-loss_train"
    try:
        run = subprocess.Popen([*geomdl_command(), *map(str, argv), "--scheduler", f"tcp://127.0.0.1:{port}"],
                               cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while len(list((folder / "chunks").glob("*.csv"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        sched.kill()
        _, err = run.communicate(timeout=120)
    finally:
        for p in (sched, worker):
            if p.poll() is None:
                p.kill()
            p.wait()
    proc = subprocess.CompletedProcess(run.args, run.returncode, "", err)
    assert_one_line_error(proc, 3, "lost the Dask scheduler", "--resume")
    kept = len(list((folder / "chunks").glob("*.csv")))
    assert 2 <= kept < 20
    res = geomdl(*argv, "--resume", cwd=tmp_path, timeout=600)
    assert res.returncode == 0, describe(res)
    assert f"{20 - kept} chunks computed, {kept} reused" in res.stderr


# ---------------------------------------------------------------------------------------------- 8. messages, codes
def test_sigmas_overflow_is_one_line_without_a_warning(tmp_path):
    proc = geomdl("experiment", "nc-feasibility", "--sigmas", "0:400:3", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 1, "--sigmas", "-300..300")
    assert "Warning" not in proc.stderr and "negative" not in proc.stderr


def test_local_minima_bad_mode_before_any_work(tmp_path):
    proc = geomdl("experiment", "local-minima", "--q", "2", "--mode", "fly", "--out", tmp_path / "m", cwd=tmp_path)
    assert_one_line_error(proc, 2, "unknown mode 'fly'")
    assert files_under(tmp_path) == set()


def test_train_trace_existing_folder_is_an_error(tmp_path):
    (tmp_path / "runs").mkdir()
    proc = geomdl("train", SCENE, *SMALL, "--trace", tmp_path / "runs", cwd=tmp_path)
    assert_one_line_error(proc, 1, "is a folder", "runs/run.npz")
    assert files_under(tmp_path) == set()


@pytest.mark.parametrize("argv", [["--q", "abc"], ["--quality", "z"], ["--format", "avi"], ["--renderer", "x"],
                                  ["--theme", "pink"], ["--at", "x", "--format", "png"]])
def test_usage_errors_exit_2(tmp_path, argv):
    assert_one_line_error(geomdl("render", SCENE, *argv, "--out", tmp_path / "m", cwd=tmp_path), 2)


def test_unexpected_errors_are_one_line(monkeypatch, capsys):
    """The last-resort fallback: OSError and MemoryError exit 1, any other exception 3, each one line."""
    import cli  # noqa: PLC0415
    from scenes import render as render_mod  # noqa: PLC0415

    for exc, code, needle in [(OSError(28, "No space left on device", "x.csv"), 1, "No space left on device (x.csv)"),
                              (MemoryError(), 1, "out of memory"), (RuntimeError("boom"), 3, "internal error")]:
        class Boom(dict):
            def values(self, exc=exc):
                raise exc

        monkeypatch.setattr(render_mod, "SCENES", Boom())
        with pytest.raises(SystemExit) as info:
            cli.app(args=["list"])
        err = capsys.readouterr().err
        errs = error_lines(err)
        assert info.value.code == code and len(errs) == 1 and needle in errs[0], err
        assert "Traceback" not in err


# ---------------------------------------------------------------------------------------------- 9. atomic writes
def test_atomic_write_keeps_permissions_and_fsyncs(tmp_path, monkeypatch):
    dest = tmp_path / "a.csv"
    dest.write_text("old")
    dest.chmod(0o640)
    synced = []
    real = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (synced.append(os.path.isdir(f"/proc/self/fd/{fd}")),
                                                         real(fd)))
    with atomic.atomic_path(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new" and (dest.stat().st_mode & 0o777) == 0o640
    assert synced == [False, True], "the file before the rename, the folder after it"
    fresh = tmp_path / "b.csv"
    with atomic.atomic_path(fresh) as tmp:
        tmp.write_text("x")
    umask = os.umask(0)
    os.umask(umask)
    assert (fresh.stat().st_mode & 0o777) == 0o666 & ~umask


def test_atomic_group_failure_keeps_the_previous_set(tmp_path):
    for name in ("a.csv", "b.png"):
        (tmp_path / name).write_text(f"old {name}")
    with pytest.raises(GeomdlError, match="cannot write .*b.png: No space"), atomic.atomic_group() as group:
        with atomic.atomic_path(tmp_path / "a.csv") as tmp:
            tmp.write_text("new a")
        assert (tmp_path / "a.csv").read_text() == "old a.csv"           # staged, not yet in place
        assert group.staged_path(tmp_path / "a.csv").read_text() == "new a"
        with atomic.atomic_path(tmp_path / "b.png"):
            raise OSError(28, "No space left on device")
    assert snapshot(tmp_path) == {"a.csv": b"old a.csv", "b.png": b"old b.png"}


def test_atomic_group_commits_together_and_marks_a_half_done_commit(tmp_path, monkeypatch):
    with atomic.atomic_group():
        for name in ("a.csv", "b.png"):
            with atomic.atomic_path(tmp_path / name) as tmp:
                tmp.write_text(f"v1 {name}")
    assert snapshot(tmp_path) == {"a.csv": b"v1 a.csv", "b.png": b"v1 b.png"}
    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(5, "Input/output error")
        real(src, dst)

    monkeypatch.setattr(atomic.os, "replace", flaky)
    with pytest.raises(GeomdlError, match="the set is incomplete"), atomic.atomic_group():
        for name in ("a.csv", "b.png"):
            with atomic.atomic_path(tmp_path / name) as tmp:
                tmp.write_text(f"v2 {name}")
    files = snapshot(tmp_path)
    assert files["a.csv"] == b"v2 a.csv" and files["b.png"] == b"v1 b.png"
    assert b"a.csv" in files[atomic.MARKER] and b"b.png" in files[atomic.MARKER]   # clearly marked
    assert not [f for f in files if ".tmp-" in f]
    monkeypatch.setattr(atomic.os, "replace", real)
    with atomic.atomic_group():
        for name in ("a.csv", "b.png"):
            with atomic.atomic_path(tmp_path / name) as tmp:
                tmp.write_text(f"v3 {name}")
    assert snapshot(tmp_path) == {"a.csv": b"v3 a.csv", "b.png": b"v3 b.png"}, "a complete set drops the marker"
