"""``--jobs``: frames drawn by worker processes (``scenes.backends.parallel``) give the serial clip, and the
matplotlib drawer's shortcuts (cached labels, a frame drawn from its own primitives only) change no pixel."""

from __future__ import annotations

import os

import imageio_ffmpeg
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.experiments import truncation_speed as ts
from scenes.backends import parallel
from scenes.backends.mpl_renderer import MplFrameDrawer, render_mpl
from scenes.render import make_frames

CONFIG = dict(q=3, n_per_class=30, lr=0.01, steps=60, snapshots=7)
W, H = 854, 480

needs_fork = pytest.mark.skipif(not parallel.can_fork(), reason="no fork start method here: --jobs draws serially")


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
    assert parallel.check_jobs(None) == parallel.available_cores() >= 1
    assert parallel.check_jobs(3) == 3
    for bad in (0, -2, 1.5, "2", True):
        with pytest.raises(GeomdlError, match="jobs must be a positive whole number"):
            parallel.check_jobs(bad)


@needs_fork
def test_jobs2_clip_equals_serial_clip(frames, tmp_path):
    """Decoded frames of a 2-process render equal the serial render's (within codec tolerance: in fact the same
    frames reach the same encoder), and the frame count is exact."""
    serial = render_mpl(frames, tmp_path / "j1.mp4", "l", jobs=1)
    seen = []
    par = render_mpl(frames, tmp_path / "j2.mp4", "l", jobs=2, progress=lambda i, n: seen.append((i, n)))
    a, b = decoded(serial), decoded(par)
    assert len(a) == len(b) == frames.n_frames
    diff = max(float(np.abs(x.astype(int) - y.astype(int)).mean()) for x, y in zip(a, b, strict=True))
    assert diff <= 0.5, diff
    assert seen == [(i + 1, frames.n_frames) for i in range(frames.n_frames)]
    w, h, fps, n = __import__("scenes.backends.export", fromlist=["video_size"]).video_size(par)
    assert (w, h, fps, n) == (W, H, 15.0, frames.n_frames)


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
@pytest.mark.parametrize(("how", "needle"), [("raise", "ValueError: frame model broke"),
                                            ("die", "died (exit status 9)")])
def test_worker_failure_is_one_line_and_writes_nothing(frames, tmp_path, how, needle):
    out = tmp_path / "clip.mp4"
    with pytest.raises(GeomdlError, match="frame worker") as e:
        render_mpl(Failing(frames, 13, how), out, "l", jobs=2)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()]   # no temporary clip left behind
