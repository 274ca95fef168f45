"""export.FramePipe: frames spliced into the encoder's pipe arrive as written, even when the caller overwrites a
frame's memory as soon as ``send`` returns (the drawer's canvas is the next frame's), and the MP4 is the one an
ordinary ``write`` gives, byte for byte."""

from __future__ import annotations

import fcntl
import os
import subprocess
import threading

import numpy as np
import pytest

from scenes.backends import export

F_SETPIPE_SZ = 1031


def can_splice() -> bool:
    r, w = os.pipe()
    try:
        return export.FramePipe(w).vmsplice is not None
    finally:
        os.close(r)
        os.close(w)


spliced = pytest.mark.skipif(not can_splice(), reason="no vmsplice (not Linux)")


def frames_of(sizes: list[int], seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, n, dtype=np.uint8) for n in sizes]


def send_all(pipe: export.FramePipe, frames: list[np.ndarray]) -> None:
    """Send every frame from one reused buffer, overwritten (0xFF) the moment ``send`` returns."""
    buf = np.empty(max(len(f) for f in frames), np.uint8)
    for f in frames:
        view = buf[:len(f)]
        view[:] = f
        pipe.send(view)
        buf[:] = 0xFF


@pytest.mark.parametrize("pipe_size", [None, 4096, 1 << 20])
@pytest.mark.parametrize("seed", [0, 1])
def test_a_reader_gets_every_byte_sent(tmp_path, pipe_size, seed):
    """Through a real child (``cat``), frames larger and smaller than the pipe, several pipe capacities."""
    out = tmp_path / "got.bin"
    with out.open("wb") as sink:
        proc = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=sink)
    fd = proc.stdin.fileno()
    if pipe_size is not None:
        fcntl.fcntl(fd, F_SETPIPE_SZ, pipe_size)
    sizes = [720 * 1280 * 4, 3 * (1 << 20) + 17, 100, 65536, 65537, 480 * 854 * 3] * 3
    frames = frames_of(sizes, seed)
    send_all(export.FramePipe(fd), frames)
    proc.stdin.close()
    assert proc.wait() == 0
    assert out.read_bytes() == b"".join(f.tobytes() for f in frames)


def read_exactly(fd: int, n: int) -> bytes:
    got = bytearray()
    while len(got) < n:
        chunk = os.read(fd, n - len(got))
        assert chunk, "pipe closed early"
        got += chunk
    return bytes(got)


def splice_race(tail: bool) -> tuple[bytes, bytes]:
    """One frame through a pipe whose reader reads all but the last ``capacity / 2`` bytes, waits until ``send``
    has returned and the frame's memory is overwritten, then reads the rest. ``tail=False``: the broken variant
    that splices the whole frame (no copied tail). Returns (frame, what the reader got)."""
    r, w = os.pipe()
    try:
        pipe = export.FramePipe(w)
        frame = frames_of([8 * pipe.capacity + 123], 7)[0]
        expected = frame.tobytes()
        if not tail:
            pipe.capacity = 0
        returned = threading.Event()

        def writer():
            pipe.send(frame)
            frame[:] = 0xFF
            returned.set()

        t = threading.Thread(target=writer)
        t.start()
        head = read_exactly(r, len(expected) - export.FramePipe(w).capacity // 2)
        assert returned.wait(10)
        rest = read_exactly(r, len(expected) - len(head))
        t.join()
        return expected, head + rest
    finally:
        os.close(r)
        os.close(w)


@spliced
def test_a_frame_overwritten_after_send_arrives_as_sent():
    expected, got = splice_race(tail=True)
    assert got == expected


@spliced
def test_the_race_is_real_without_the_copied_tail():
    """The check above can fail: splicing the whole frame hands the reader overwritten bytes."""
    expected, got = splice_race(tail=False)
    assert got != expected and got[-100:] == b"\xff" * 100


def test_a_refused_splice_falls_back_to_write(tmp_path):
    """A stdin that is a file, not a pipe: no splice, every byte written."""
    path = tmp_path / "f.bin"
    frames = frames_of([300000, 5], 3)
    with path.open("wb") as fh:
        pipe = export.FramePipe(fh.fileno())
        assert pipe.vmsplice is None
        for f in frames:
            pipe.send(f)
    assert path.read_bytes() == b"".join(f.tobytes() for f in frames)


def test_the_mp4_is_the_one_plain_writes_give(tmp_path, monkeypatch):
    """Same encoder input, same MP4 bytes: frames from one reused buffer, spliced vs written."""
    rng = np.random.default_rng(5)
    imgs = [rng.integers(0, 256, (120, 160, 4), dtype=np.uint8) for _ in range(12)]

    def reused():
        buf = np.empty_like(imgs[0])
        for im in imgs:
            buf[:] = im
            yield buf
            buf[:] = 0

    export.write_mp4(reused(), tmp_path / "spliced.mp4", 160, 120, 15, pix_fmt_in="rgba")
    init = export.FramePipe.__init__

    def plain(self, fd):
        init(self, fd)
        self.vmsplice = None

    monkeypatch.setattr(export.FramePipe, "__init__", plain)
    export.write_mp4(iter(imgs), tmp_path / "written.mp4", 160, 120, 15, pix_fmt_in="rgba")
    assert (tmp_path / "spliced.mp4").read_bytes() == (tmp_path / "written.mp4").read_bytes()


@spliced
def test_grow_pipe_asks_for_a_megabyte_within_the_systems_limit():
    r, w = os.pipe()
    try:
        before = fcntl.fcntl(w, export.F_GETPIPE_SZ)
        cap = export.grow_pipe(w)
        limit = int(open("/proc/sys/fs/pipe-max-size").read())
        assert cap == fcntl.fcntl(w, export.F_GETPIPE_SZ) >= min(export.PIPE_BYTES, limit)
        assert cap >= before
        assert export.grow_pipe(w) == cap   # already grown: left as it is
    finally:
        os.close(r)
        os.close(w)


def test_grow_pipe_leaves_what_is_not_a_pipe(tmp_path):
    with (tmp_path / "f.bin").open("wb") as fh:
        assert export.grow_pipe(fh.fileno()) is None


@spliced
def test_the_encoders_pipe_is_grown_before_the_first_frame(tmp_path, monkeypatch):
    """write_mp4 hands FramePipe a pipe of PIPE_BYTES (the default 64 KiB costs the headline ~0.45 s of CPU)."""
    seen = []
    init = export.FramePipe.__init__

    def record(self, fd):
        seen.append(fcntl.fcntl(fd, export.F_GETPIPE_SZ))
        init(self, fd)

    monkeypatch.setattr(export.FramePipe, "__init__", record)
    img = np.zeros((120, 160, 4), np.uint8)
    export.write_mp4(iter([img] * 3), tmp_path / "a.mp4", 160, 120, 15, pix_fmt_in="rgba")
    limit = int(open("/proc/sys/fs/pipe-max-size").read())
    assert seen == [min(export.PIPE_BYTES, limit)] or (seen and seen[0] >= export.PIPE_BYTES)
