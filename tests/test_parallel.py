"""``--jobs``: frames drawn by worker processes (``scenes.backends.parallel``) give the serial clip, for both
renderers (exact frame count and timestamps), and the drawers' shortcuts (matplotlib's cached labels, Manim's
replayed paths and kept label pixels, a frame drawn from its own primitives only) change no pixel."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess

import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomdl.errors import GeomdlError, RunFailedError
from geomdl.experiments import truncation_speed as ts
from geomdl.machine import usable_cores
from scenes.backends import parallel
from scenes.backends.mpl_renderer import MplFrameDrawer, render_mpl
from scenes.render import make_frames

CONFIG = dict(q=3, n_per_class=30, lr=0.01, steps=60, snapshots=7)
W, H = 854, 480

needs_fork = pytest.mark.skipif(not parallel.can_fork(), reason="no fork start method here: --jobs draws serially")
needs_manim = pytest.mark.skipif(importlib.util.find_spec("manim") is None, reason="Manim is not installed")


def render(renderer: str, frames, path, jobs: int, quality: str = "l", **kw):
    """``render_mpl`` or ``render_manim`` of ``frames``."""
    if renderer == "manim":
        from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

        return render_manim(frames, path, quality, jobs=jobs, **kw)
    return render_mpl(frames, path, quality, jobs=jobs, **kw)


def frame_times(path) -> list[float]:
    """Presentation time (s) of every frame of a clip, in decoding order: ffprobe's, else PyAV's."""
    exe = shutil.which("ffprobe")
    if exe:
        out = subprocess.run([exe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                              "frame=pts_time", "-of", "json", str(path)], capture_output=True, text=True,
                             check=True, timeout=120).stdout
        return [float(f["pts_time"]) for f in json.loads(out)["frames"]]
    import av  # noqa: PLC0415  (installed with Manim)

    with av.open(str(path)) as box:
        return [float(f.pts * f.time_base) for f in box.decode(video=0)]


@pytest.fixture(scope="module")
def frames():
    trace, _ = ts.run(ts.TruncationSpeedConfig(**CONFIG))
    return make_frames(trace, 15, 1.0, "light")


def decoded(path) -> list[np.ndarray]:
    """Every decoded frame of a clip, ``(H, W, 3) uint8``, by reading the stream to its end."""
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]


@given(jobs=st.integers(1, 8), n=st.integers(0, 120))
def test_every_frame_drawn_once_in_order(jobs, n):
    """The workers' frame lists partition 0..n-1, each increasing, and ``owner`` says whose each frame is."""
    lists = [parallel.assigned(w, jobs, n) for w in range(jobs)]
    assert sorted(i for lst in lists for i in lst) == list(range(n))
    for w, lst in enumerate(lists):
        assert lst == sorted(lst)
        assert all(parallel.owner(i, jobs) == w for i in lst)


def test_check_jobs():
    assert parallel.check_jobs(None) == usable_cores() >= 1
    assert parallel.check_jobs(3) == 3
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(GeomdlError, match="jobs must be a positive whole number"):
            parallel.check_jobs(bad)


@needs_fork
@pytest.mark.parametrize("renderer", ["matplotlib", pytest.param("manim", marks=needs_manim)])
def test_jobs2_clip_equals_serial_clip(frames, tmp_path, renderer):
    """Decoded frames of a 2-process render equal the serial render's (within codec tolerance: in fact the same
    frames reach the same encoder), the frame count is exact and frame k is shown at k / fps."""
    serial = render(renderer, frames, tmp_path / "j1.mp4", 1)
    seen = []
    par = render(renderer, frames, tmp_path / "j2.mp4", 2, progress=lambda i, n: seen.append((i, n)))
    a, b = decoded(serial), decoded(par)
    assert len(a) == len(b) == frames.n_frames
    diff = max(float(np.abs(x.astype(int) - y.astype(int)).mean()) for x, y in zip(a, b, strict=True))
    assert diff <= 0.5, diff
    assert (np.abs(a[0].astype(int) - a[-1].astype(int)).mean()) > 1.0     # the clip moves: frames differ
    assert seen == [(i + 1, frames.n_frames) for i in range(frames.n_frames)]
    w, h, fps, n = __import__("scenes.backends.export", fromlist=["video_size"]).video_size(par)
    assert (w, h, fps, n) == (W, H, 15.0, frames.n_frames)
    for clip in (serial, par):
        assert frame_times(clip) == pytest.approx([k / 15 for k in range(frames.n_frames)], abs=1e-3)


@needs_manim
def test_manim_frames_depend_on_that_frame_alone(frames):
    """Manim's drawer gives the same pixels for a frame whatever it drew before: in order, in reverse, and in
    the blocks a worker of ``--jobs 3`` draws (jumping ahead), bit for bit (replayed paths and kept label
    pixels are what drawing afresh gives)."""
    from scenes.backends.manim_scenes import ManimFrameDrawer  # noqa: PLC0415

    n = frames.n_frames
    a = ManimFrameDrawer(frames, W, H)
    try:
        fwd = [a.draw(i).copy() for i in range(n)]
    finally:
        a.close()
    orders = [list(reversed(range(n))), parallel.assigned(1, 3, n), [n - 1, 0, n // 2, 1, n // 2 + 1]]
    for order in orders:
        b = ManimFrameDrawer(frames, W, H)
        try:
            for i in order:
                assert np.array_equal(b.draw(i), fwd[i]), (i, order[:6])
        finally:
            b.close()
    assert len({f.tobytes() for f in fwd}) > n // 3          # a moving clip, not one picture


def test_frames_depend_on_their_own_primitives_only(frames):
    """A frame drawn after any other frame (here: in reverse order, by a second drawer) has the same pixels."""
    idx = list(range(0, frames.n_frames, 7))
    a, b = MplFrameDrawer(frames, W, H), MplFrameDrawer(frames, W, H)
    try:
        fwd = {i: a.draw(i).copy() for i in idx}
        for i in reversed(idx):
            assert np.array_equal(b.draw(i), fwd[i]), i
    finally:
        a.close()
        b.close()


def test_cached_labels_are_bit_identical(frames):
    """Replaying a label's recorded glyph blends gives exactly the pixels of matplotlib's full text path."""
    a, b = MplFrameDrawer(frames, W, H), MplFrameDrawer(frames, W, H, cache_text=False)
    try:
        for i in range(frames.n_frames):
            assert np.array_equal(a.draw(i), b.draw(i)), i
        assert a.text_cache.hits > a.text_cache.misses > 0   # the clip reuses labels: the cache was exercised
    finally:
        a.close()
        b.close()


class Failing:
    """A frame model that fails at frame ``bad`` (raising, or killing its process)."""

    def __init__(self, frames, bad: int, how: str):
        self.inner, self.bad, self.how = frames, bad, how
        self.fps, self.n_frames, self.theme = frames.fps, frames.n_frames, frames.theme

    def static(self):
        return self.inner.static()

    def frame(self, i):
        if i == self.bad:
            if self.how == "die":
                os._exit(9)
            raise ValueError("frame model broke")
        return self.inner.frame(i)


@needs_fork
@pytest.mark.parametrize("renderer", ["matplotlib", pytest.param("manim", marks=needs_manim)])
@pytest.mark.parametrize(("how", "needle"), [("raise", "ValueError: frame model broke"),
                                            ("die", "died (exit status 9)")])
def test_worker_failure_is_one_line_and_writes_nothing(frames, tmp_path, how, needle, renderer):
    """A worker that raises or dies fails the render with one line, exit status 3 (a failed run), no file."""
    out = tmp_path / "clip.mp4"
    with pytest.raises(RunFailedError, match="frame worker") as e:
        render(renderer, Failing(frames, 13, how), out, 2)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert e.value.exit_code == 3
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()]   # no temporary clip left behind


@pytest.mark.slow
@needs_fork
@pytest.mark.parametrize("renderer", ["matplotlib", pytest.param("manim", marks=needs_manim)])
def test_jobs3_headline_clip_is_the_serial_clip(tmp_path, renderer):
    """The default truncation-speed run at 720p30 (title card, 8 s, holds) on 3 processes (blocks that do not
    divide evenly): the same file as the serial render, byte for byte, with every frame at k / fps."""
    trace, _ = ts.run(ts.TruncationSpeedConfig(q=3))
    fr = make_frames(trace, 30, 8.0, "light")
    one = render(renderer, fr, tmp_path / "j1.mp4", 1, quality="m")
    three = render(renderer, fr, tmp_path / "j3.mp4", 3, quality="m")
    assert one.read_bytes() == three.read_bytes()
    assert frame_times(three) == pytest.approx([k / 30 for k in range(fr.n_frames)], abs=1e-3)
