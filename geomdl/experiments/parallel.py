"""Where the independent runs of a study go: here one after another, on ``N`` local worker processes
(``local:N``) or on a running Dask cluster (an address; Dask is the optional ``cluster`` extra). The one
``--scheduler`` option of ``geomdl experiment perturb``, ``local-minima``, ``truncation-speed``,
``contraction-rate`` and ``nc-feasibility``; importing this module imports neither Dask nor torch.

:func:`map_runs` and the perturbation sweep (:mod:`geomdl.experiments.sweep`) give ``local:N`` to a pool of
processes forked from this one (:func:`forked_results`; on Linux, elsewhere a local Dask cluster): they start
with what this process has imported, so a worker costs milliseconds, not the few seconds of a Dask worker that
imports torch and the study again (on 2 cores a local Dask cluster made a 25 s truncation-speed study slower,
0.75x: ``benchmarks/bench_studies.py``)."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import re
import signal
import sys
from collections.abc import Callable, Iterator
from typing import Any

from geomdl.errors import GeomdlError, RunFailedError, UsageError
from geomdl.machine import usable_cores

SCHEDULER_FORMS = "tcp://HOST:PORT (a running Dask scheduler) or local:N (start N local worker processes)"
MAX_LOCAL_WORKERS = 256
_ADDRESS = re.compile(r"^(?:(?:tcp|tls|ws|wss)://)?(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}$")


def check_scheduler(address: str | None) -> int | None:
    """Check a ``--scheduler`` value before any work: ``None`` (run here), ``local:N`` (returns ``N``) or a
    scheduler address with its port. A malformed one is a :class:`UsageError`."""
    if address is None:
        return None
    if address == "local" or address.startswith("local:"):
        text = address.partition(":")[2] or str(min(usable_cores(), MAX_LOCAL_WORKERS))
        if not text.isdigit() or not 1 <= int(text) <= MAX_LOCAL_WORKERS:
            raise UsageError(f"--scheduler {address!r}: local:N needs a number of workers N in "
                             f"1..{MAX_LOCAL_WORKERS}")
        return int(text)
    if not _ADDRESS.match(address):
        raise UsageError(f"--scheduler {address!r} is not a scheduler address; give {SCHEDULER_FORMS}")
    return None


def forks_here(n_local: int | None) -> bool:
    """Whether ``local:N`` (``n_local``, from :func:`check_scheduler`) runs on processes forked from this one:
    on Linux; elsewhere (fork is not safe on macOS, absent on Windows) on a local Dask cluster."""
    return n_local is not None and sys.platform.startswith("linux")


def _client(address, timeout: float, what: str):
    """A Dask client of ``address`` (an address or a LocalCluster). A client that fails half way (unreachable,
    not a Dask scheduler: a TCP service answering garbage) is closed at once, so it never hangs the exit."""
    from distributed import Client  # noqa: PLC0415

    holder: list = []

    class _Tracked(Client):
        def __init__(self, *a, **kw):
            holder.append(self)
            super().__init__(*a, **kw)

    try:
        return _Tracked(address, timeout=f"{timeout}s", set_as_default=False)
    except GeomdlError:
        raise
    except Exception as e:  # noqa: BLE001 - whatever the other end did, one line and no hang
        for c in holder:
            with contextlib.suppress(Exception):
                c.close(timeout=2)
        why = "MemoryError: it answered something that is not the Dask protocol" if isinstance(
            e, (MemoryError, OverflowError)) else f"{type(e).__name__}: {e}"
        raise GeomdlError(f"cannot reach the Dask scheduler at {what} ({why})") from None


def _connect(address: str, timeout: float = 10.0):
    """``(client, cluster or None)``: a client of the scheduler at ``address``, or of a LocalCluster of ``N``
    single-threaded worker processes started here for ``local:N`` (closed with the client)."""
    try:
        import distributed  # noqa: F401, PLC0415
    except ImportError:
        raise GeomdlError("--scheduler needs Dask, an optional extra: pip install -e '.[cluster]' (scripts/setup.sh "
                          "installs it)") from None
    n = check_scheduler(address)
    # Dask logs lost connections with tracebacks on stderr; geomdl reports them itself, in one line
    for name in ("distributed", "distributed.client", "distributed.comm", "distributed.core"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    if n is None:
        return _client(address, timeout, repr(address)), None
    from distributed import LocalCluster  # noqa: PLC0415

    try:
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR)
    except Exception as e:  # noqa: BLE001
        raise GeomdlError(f"cannot start a local Dask cluster of {n} workers ({type(e).__name__}: {e})") from None
    try:
        return _client(cluster, timeout, f"local:{n}"), cluster
    except BaseException:
        with contextlib.suppress(Exception):
            cluster.close(timeout=5)
        raise


def _close(client, cluster) -> None:
    with contextlib.suppress(Exception):
        client.close(timeout=5)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=5)


def _lost(e: BaseException) -> bool:
    """An exception that means the cluster went away (not a task's own error)."""
    names = {c.__name__ for c in type(e).__mro__}
    return bool(names & {"CancelledError", "FutureCancelledError", "CommClosedError", "TimeoutError", "OSError",
                         "StreamClosedError", "KilledWorker"})


def _call_one_thread(fn: Callable, args: tuple):
    """``fn(*args)`` with one torch thread and one BLAS thread (the thread policy of every run,
    :func:`geomdl.experiments.one_thread`: results bit-identical wherever it runs)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    torch = sys.modules.get("torch")      # imported with fn's module when fn uses it; else nothing to set
    with threadpool_limits(limits=1, user_api="blas"):
        if torch is None:
            return fn(*args)
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args)
        finally:
            torch.set_num_threads(threads)


def map_runs(fn: Callable, args: list[tuple], scheduler: str | None = None,
             progress: Callable[[int, int], None] | None = None, what: str = "runs",
             connect_timeout: float = 10.0) -> list:
    """``[fn(*a) for a in args]``, the independent runs of a study, in ``args`` order whatever order they finish
    in. ``scheduler``: ``None`` runs them here one after another; ``local:N`` on ``N`` local worker processes;
    a scheduler address on that Dask cluster (``--scheduler``, as :func:`run_sweep`). ``fn`` must be a
    module-level function and ``args`` picklable; every run uses one torch thread, so the results are the
    same bit for bit either way. ``progress(done, total)``. A run's own error is raised as it is; a lost
    cluster is a :class:`RunFailedError` (nothing is written: the study runs again from the start)."""
    n_local = check_scheduler(scheduler)
    total = len(args)
    if progress is not None:
        progress(0, total)
    if not scheduler or total == 0:
        out = []
        for a in args:
            out.append(_call_one_thread(fn, tuple(a)))
            if progress is not None:
                progress(len(out), total)
        return out
    if forks_here(n_local):
        return _map_forked(fn, args, n_local, progress, what)
    client, cluster = _connect(scheduler, connect_timeout)
    try:
        from distributed import as_completed  # noqa: PLC0415

        futures = [client.submit(_call_one_thread, fn, tuple(a), pure=False) for a in args]
        index = {f.key: i for i, f in enumerate(futures)}
        results: list = [None] * total
        done = 0
        try:
            for fut in as_completed(futures, loop=client.loop):
                results[index[fut.key]] = fut.result()     # a run's own error is raised here, as it is
                done += 1
                if progress is not None:
                    progress(done, total)
        except (GeomdlError, KeyboardInterrupt):
            raise
        except Exception as e:  # noqa: BLE001 - the scheduler or its workers went away
            if any(f.status == "error" for f in futures if f.done()) and not _lost(e):
                raise
            raise RunFailedError(f"lost the Dask scheduler {scheduler!r} after {done} of {total} {what} "
                                 f"({type(e).__name__}); run the command again") from None
        return results
    finally:
        _close(client, cluster)


def _quiet_worker() -> None:
    """A forked worker's signals: Ctrl-C is the parent's to handle (it stops the workers), and SIGTERM, SIGHUP
    end a worker at once (not the parent's handlers, which would print a traceback from each)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)


def _map_forked(fn: Callable, args: list[tuple], n: int, progress: Callable[[int, int], None] | None,
                what: str) -> list:
    """:func:`map_runs` on ``local:N`` (:func:`forked_results`), in ``args`` order."""
    total = len(args)
    results: list = [None] * total
    with contextlib.closing(forked_results(fn, args, n, what)) as finished:
        for done, (i, r) in enumerate(finished, 1):
            results[i] = r
            if progress is not None:
                progress(done, total)
    return results


def forked_results(fn: Callable, args: list[tuple], n: int, what: str = "runs",
                   hint: str = "run the command again") -> Iterator[tuple[int, Any]]:
    """``(i, fn(*args[i]))`` as each run finishes, on a pool of ``min(n, len(args))`` processes forked from this
    one (Linux only), one run per task, each with one torch and one BLAS thread (as the torch DataLoader's forked
    workers: no thread pool of this process is entered in a child). A run's own error is raised as it is; a
    worker that dies (killed, out of memory) is a :class:`RunFailedError` ending in ``hint``. Use it under
    :func:`contextlib.closing`: closing it early (an error or Ctrl-C in the caller's loop) stops the workers."""
    from concurrent.futures import ProcessPoolExecutor, as_completed  # noqa: PLC0415
    from concurrent.futures.process import BrokenProcessPool  # noqa: PLC0415

    total = len(args)
    done = 0
    pool = ProcessPoolExecutor(max_workers=max(1, min(n, total)), mp_context=multiprocessing.get_context("fork"),
                               initializer=_quiet_worker)
    try:
        futures = {pool.submit(_call_one_thread, fn, tuple(a)): i for i, a in enumerate(args)}
        try:
            for fut in as_completed(futures):
                result = fut.result()                      # a run's own error is raised here, as it is
                done += 1
                yield futures[fut], result
        except BrokenProcessPool:
            raise RunFailedError(f"a local worker process died after {done} of {total} {what} (killed, or out "
                                 f"of memory?); {hint}") from None
    except BaseException:       # an error, Ctrl-C, SIGTERM, the caller closing early: no run goes on without it
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
