"""Frames drawn on every core: worker processes draw blocks of frames, one encoder receives them in order.

``--jobs N`` (``render(..., jobs=N)``) with ``N > 1``: :func:`parallel_frames` forks ``N`` workers; worker ``w``
draws the blocks ``w, w + N, w + 2N, ...`` of :data:`BLOCK` consecutive frames (each worker has its own
drawer, so per-worker caches see runs of neighbouring frames) into its own small ring of shared-memory frame
slots; the parent hands the frames to the one encoder (:func:`scenes.backends.export.write_mp4`) in frame
order. The clip is therefore the serial clip: same frames (a drawer's frame depends on that frame alone), same
encoder, same frame count and timestamps, bit for bit (``tests/test_parallel.py`` checks it on decoded
frames).

Both renderers draw through it (``make_drawer``: :class:`scenes.backends.mpl_renderer.MplFrameDrawer` or
:class:`scenes.backends.manim_scenes.ManimFrameDrawer`): whatever can draw frame ``i`` as an array.

Faults: a worker that fails sends its one-line message and the render fails with it
(:class:`~geomdl.errors.RunFailedError`, exit status 3; no clip published); a worker that dies is reported by
its exit status; Ctrl-C or any error in the parent terminates the workers. Workers ignore SIGINT (the parent
owns the interrupt), never run the parent's exit handlers, and stop by themselves if the parent is gone.

Workers are forked (they inherit the frame model, nothing is pickled): on a platform without ``fork`` the
frames are drawn serially.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Callable, Iterator

import numpy as np

from geomdl.errors import GeomdlError, RunFailedError
from geomdl.machine import usable_cores

BLOCK = 4        # consecutive frames a worker draws before the next worker's block
SLOTS = BLOCK + 2  # shared-memory frame slots per worker (frames drawn ahead of the encoder): at least a block,
                   # so that a worker draws its next block while the encoder takes the others' blocks
POLL_S = 0.2     # how often a waiting parent checks that its workers are alive


def check_jobs(jobs: int | None) -> int:
    """``None`` -> every core this process may use (its affinity and cgroup CPU quota:
    :func:`geomdl.machine.usable_cores`); else a positive integer, or a one-line error."""
    if jobs is None:
        return usable_cores()
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise GeomdlError(f"jobs must be a positive whole number of processes (got {jobs!r})")
    return jobs


def can_fork() -> bool:
    return "fork" in mp.get_all_start_methods()


def worker_count(jobs: int, n_frames: int) -> int:
    """Workers worth starting: at most one per block of frames; 1 means draw in-process."""
    if not can_fork():
        return 1
    return max(1, min(jobs, -(-n_frames // BLOCK)))


def assigned(w: int, jobs: int, n_frames: int) -> list[int]:
    """The frames worker ``w`` of ``jobs`` draws, in order: blocks ``w, w + jobs, ...`` of :data:`BLOCK`."""
    return [i for b in range(w, -(-n_frames // BLOCK), jobs) for i in range(b * BLOCK, min((b + 1) * BLOCK, n_frames))]


def owner(i: int, jobs: int) -> int:
    return (i // BLOCK) % jobs


def _worker(w: int, jobs: int, n_frames: int, make_drawer, shape, buf, free, filled, errors, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)       # the parent owns Ctrl-C and terminates the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        slots = np.frombuffer(buf, np.uint8).reshape(SLOTS, *shape)
        draw, close = make_drawer()
        try:
            for m, i in enumerate(assigned(w, jobs, n_frames)):
                while not free.acquire(timeout=POLL_S):
                    if os.getppid() != parent:           # the parent was killed (SIGKILL): nobody to draw for
                        os._exit(1)
                img = draw(i)
                if img.shape != shape or img.dtype != np.uint8:
                    raise GeomdlError(f"frame {i} has shape {img.shape} ({img.dtype}), expected {shape} uint8")
                np.copyto(slots[m % SLOTS], img)
                filled.release()
        finally:
            close()
    except BaseException as e:   # noqa: BLE001 - every failure becomes the render's one-line message
        msg = str(e) if isinstance(e, GeomdlError) else f"{type(e).__name__}: {e}"
        errors.put((w, msg))
        raise SystemExit(1) from None


def parallel_frames(make_drawer: Callable[[], tuple[Callable[[int], np.ndarray], Callable[[], None]]],
                    n_frames: int, shape: tuple[int, ...], jobs: int,
                    progress: Callable[[int, int], None] | None = None) -> Iterator[np.ndarray]:
    """Frames ``0 .. n_frames - 1`` in order, each ``shape`` uint8, drawn by ``jobs`` forked workers.

    ``make_drawer()`` runs in each worker and returns ``(draw, close)``: ``draw(i)`` the frame ``i`` (it may
    return a view it overwrites later: it is copied at once), ``close()`` frees the drawer. A yielded frame is
    a view of shared memory, valid until the next one is requested. ``progress(i, n)`` after each frame."""
    jobs = worker_count(jobs, n_frames)
    if jobs == 1:
        draw, close = make_drawer()
        try:
            for i in range(n_frames):
                yield draw(i)
                if progress is not None:
                    progress(i + 1, n_frames)
        finally:
            close()
        return
    ctx = mp.get_context("fork")
    size = int(np.prod(shape))
    bufs = [ctx.RawArray("B", SLOTS * size) for _ in range(jobs)]
    free = [ctx.Semaphore(SLOTS) for _ in range(jobs)]
    filled = [ctx.Semaphore(0) for _ in range(jobs)]
    errors = ctx.SimpleQueue()
    procs = [ctx.Process(target=_worker, args=(w, jobs, n_frames, make_drawer, tuple(shape), bufs[w], free[w],
                                               filled[w], errors, os.getpid()), daemon=True)
             for w in range(jobs)]
    slots = [np.frombuffer(b, np.uint8).reshape(SLOTS, *shape) for b in bufs]
    count = [0] * jobs
    try:
        for p in procs:
            p.start()
        for i in range(n_frames):
            w = owner(i, jobs)
            while not filled[w].acquire(timeout=POLL_S):
                _check_workers(procs, errors)
            yield slots[w][count[w] % SLOTS]
            count[w] += 1
            free[w].release()
            if progress is not None:
                progress(i + 1, n_frames)
        for p in procs:
            p.join()
        _check_workers(procs, errors, done=True)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
        for p in procs:
            if p.pid is not None:
                p.join()


def _check_workers(procs, errors, done: bool = False) -> None:
    """Raise the first worker's failure (its message, else its exit status) as a :class:`RunFailedError`."""
    if not errors.empty():
        w, msg = errors.get()
        raise RunFailedError(f"frame worker {w + 1} of {len(procs)} failed: {msg}")
    for w, p in enumerate(procs):
        if p.exitcode not in (None, 0) or (done and p.exitcode is None):
            how = f"signal {-p.exitcode}" if p.exitcode is not None and p.exitcode < 0 else f"exit status {p.exitcode}"
            raise RunFailedError(f"frame worker {w + 1} of {len(procs)} died ({how})")
