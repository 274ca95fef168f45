"""Perturbation sweeps: the ``(lambda, chunk of trials)`` grid, run here, on local worker processes (``local:N``)
or on a Dask cluster, written incrementally and atomically, resumable.

Layout of a sweep folder ``DIR``:
- ``DIR/sweep.json``: the config (written first; a resumed sweep must have the same one);
- ``DIR/chunks/l<i>_t<start>.csv``: one file per finished task (lambda index ``i``, trials ``start..``),
  written atomically (temp file + rename) the moment the task's result arrives, so an interrupted sweep
  keeps every finished chunk and no chunk is ever half-written;
- ``DIR/results.csv`` (tidy: one row per trial) and ``DIR/summary.csv`` (one row per lambda), assembled from
  the chunks at the end.

Each trial's result depends only on the config, ``lambda`` and its trial index (see :mod:`geomdl.math.landscape`),
and every task runs single-threaded in float64, so the results are identical whether the grid runs in this
process, on local workers or on any Dask cluster (``scheduler="tcp://host:port"``), and whatever the chunk order.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geomdl.checks import subconfig
from geomdl.errors import GeomdlError, RunFailedError
from geomdl.experiments.parallel import (  # noqa: F401 (check_scheduler, map_runs: the sweep's API too)
    SCHEDULER_FORMS,
    _close,
    _connect,
    _lost,
    check_scheduler,
    forked_results,
    forks_here,
    map_runs,
)
from geomdl.fields import config, shared
from geomdl.io.atomic import atomic_path, ensure_writable_dir, staged_path
from geomdl.math import geometries, landscape
from geomdl.nn.training import TrainConfig

DEFAULT_LAMBDAS = (0.01, 0.0316, 0.1, 0.316, 1.0)
COLUMNS = ("geometry", "base", "mode", "lambda", "trial", "initial_loss", "final_loss", "stop_reason", "steps",
           "accuracy", "returned")


def check_lambdas(lambdas) -> None:
    """Perturbation sizes: positive finite numbers."""
    for lam in lambdas:
        if not (isinstance(lam, (int, float)) and math.isfinite(lam) and lam > 0):
            raise GeomdlError(f"every lambda must be a positive number (got {lam})")


@config
class SweepConfig:
    """A perturbation sweep around one explicit network.

    ``geometry``/``q``/``m``/``n_per_class``/``radius``/``seed``: the data and its zero-loss construction
    (:mod:`geomdl.math.geometries`; ``q=None``: 3, or 2 for nonsep/concentric). ``base``: ``"zero-loss"`` (the
    construction) or a toggle pattern such as ``"101"`` (clustered and flat; :func:`landscape.toggle_network`).
    ``lambdas``: perturbation sizes (log grid around 0.1 by default); ``trials`` per lambda; ``mode``:
    ``train`` (perturb, then SGD with the training stop rules) or ``eval`` (perturb, evaluate).
    Training: ``optimizer``, ``lr``, ``steps`` (budget), ``batch_size``, ``loss``, ``loss_threshold`` (stop when
    below), ``stuck_tol`` and ``patience`` (stop when stuck). ``zero_tol``: a trial "returns to zero loss" when
    its final loss is below it. ``chunk``: trials per task (the unit of parallel work and of resumption).
    """

    geometry = shared("clustered")
    q = shared(None)
    m = shared(None)
    n_per_class = shared(200)
    radius = shared(0.25)
    seed = shared(0)
    base: str = "zero-loss"
    lambdas: tuple[float, ...] = DEFAULT_LAMBDAS
    trials = shared(200)
    mode: str = "train"
    optimizer = shared("sgd")
    lr = shared(0.01)
    steps = shared(2000)
    batch_size = shared(64)
    loss = shared("mse")
    loss_threshold = shared(1e-10)
    stuck_tol = shared(1e-6)
    patience = shared(500)
    zero_tol: float = 1e-6
    chunk: int = 50

    def geometry_config(self) -> geometries.GeometryConfig:
        q = self.q if self.q is not None else geometries.default_q(self.geometry)
        return geometries.GeometryConfig(self.geometry, q=q, m=self.m, n_per_class=self.n_per_class,
                                         radius=self.radius, seed=self.seed)

    def train_config(self) -> TrainConfig:
        return subconfig(TrainConfig, self, seed=0)   # ``seed`` is the data's; the trials seed themselves

    def validate(self) -> None:
        self.geometry_config().validate()
        if not self.lambdas:
            raise GeomdlError("give at least one lambda")
        check_lambdas(self.lambdas)
        if len(set(self.lambdas)) != len(self.lambdas):
            raise GeomdlError(f"lambdas must be distinct (got {list(self.lambdas)})")
        if self.trials < 1:
            raise GeomdlError(f"trials per lambda must be >= 1 (got {self.trials})")
        if self.chunk < 1:
            raise GeomdlError(f"chunk must be >= 1 (got {self.chunk})")
        landscape.check_mode(self.mode)
        if not (math.isfinite(self.zero_tol) and self.zero_tol > 0):
            raise GeomdlError(f"zero_tol must be a positive number (got {self.zero_tol})")
        self.train_config().validate()
        if self.base != "zero-loss":
            q = self.geometry_config().q
            geometries.check_toggle_geometry(self.geometry, GeomdlError)
            if len(self.base) != q or set(self.base) - {"0", "1"} or self.base == "1" * q:
                raise GeomdlError(f"base must be 'zero-loss' or a toggle pattern of {q} digits 0/1, not all 1 "
                                  f"(got {self.base!r})")

    def tasks(self) -> list[tuple[int, int, int]]:
        """``(lambda index, first trial, end trial)`` for every task."""
        return [(i, s, min(s + self.chunk, self.trials)) for i in range(len(self.lambdas))
                for s in range(0, self.trials, self.chunk)]


@functools.lru_cache(maxsize=8)
def _problem(cfg_json: str):
    cfg = SweepConfig.from_dict(json.loads(cfg_json), strict=True)
    gcfg = cfg.geometry_config()
    X, labels, net = geometries.build(gcfg)
    if cfg.base != "zero-loss":
        net = landscape.toggle_network(X, labels, [int(c) for c in cfg.base], geometries.toggle_base(gcfg, X, labels))
    return X, labels, net


def run_chunk(cfg_json: str, lam_index: int, start: int, end: int) -> dict:
    """One task (runs in this process or on a Dask worker): the trials ``start..end-1`` at ``lambdas[i]``.
    Returns plain lists (cheap to ship)."""
    import torch  # noqa: PLC0415

    torch.set_num_threads(1)
    cfg = SweepConfig.from_dict(json.loads(cfg_json), strict=True)
    X, labels, net = _problem(cfg_json)
    lam = cfg.lambdas[lam_index]
    res = landscape.run_trials(net, X, labels, lam, cfg.seed, range(start, end), cfg.mode, cfg.train_config())
    return {"lam_index": lam_index, "start": start, "end": end, "initial_loss": res.initial_loss.tolist(),
            "final_loss": res.final_loss.tolist(), "stop": res.stop.tolist(), "steps": res.steps.tolist(),
            "accuracy": res.accuracy.tolist()}


def chunk_path(folder: Path, lam_index: int, start: int) -> Path:
    return folder / "chunks" / f"l{lam_index:03d}_t{start:07d}.csv"


def _fmt(v: float) -> str:
    return repr(float(v))


def chunk_rows(cfg: SweepConfig, r: dict) -> list[list[str]]:
    lam = cfg.lambdas[r["lam_index"]]
    rows = []
    for k, trial in enumerate(range(r["start"], r["end"])):
        stop = int(r["stop"][k])
        final = float(r["final_loss"][k])
        rows.append([cfg.geometry, cfg.base, cfg.mode, _fmt(lam), str(trial), _fmt(r["initial_loss"][k]),
                     _fmt(final), landscape.STOP_NAMES.get(stop, "none"), str(int(r["steps"][k])),
                     _fmt(r["accuracy"][k]), str(int(final < cfg.zero_tol))])
    return rows


def write_csv(path: Path, header: tuple[str, ...] | list[str], rows: list[list[str]], alone: bool = False) -> Path:
    """Write a CSV atomically (``alone``: at once, even inside an :func:`~geomdl.io.atomic.atomic_group`)."""
    with atomic_path(path, alone=alone) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _corrupt(path: Path, why: object) -> GeomdlError:
    return GeomdlError(f"corrupt results file {path} ({why}); move it away to recompute that chunk")


def read_chunk(path: Path, cfg: SweepConfig, lam_index: int, start: int, end: int) -> list[list[str]]:
    """Read and check a finished chunk; a damaged one is a :class:`GeomdlError` naming the file."""
    try:
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise _corrupt(path, e) from None
    if not rows or tuple(rows[0]) != COLUMNS:
        raise _corrupt(path, "wrong header")
    body = rows[1:]
    want = list(range(start, end))
    try:
        trials = [int(r[4]) for r in body]
        lams = {float(r[3]) for r in body}
        for r in body:
            if len(r) != len(COLUMNS):
                raise ValueError("wrong number of fields")
            float(r[5]), float(r[6]), float(r[9]), int(r[8])
    except (ValueError, IndexError) as e:
        raise _corrupt(path, e) from None
    if trials != want or lams != {float(cfg.lambdas[lam_index])}:
        raise _corrupt(path, f"holds trials {trials[:1]}..{trials[-1:]} at lambda {sorted(lams)}, expected "
                             f"{start}..{end - 1} at {cfg.lambdas[lam_index]}")
    return body


def run_sweep(cfg: SweepConfig, folder: Path, resume: bool = False, scheduler: str | None = None,
              progress: Callable[[int, int], None] | None = None, connect_timeout: float = 10.0) -> dict:
    """Run (or resume) the sweep into ``folder``; returns ``{"rows": [...], "summary": [...], "files": [...],
    "computed": n_tasks_run, "reused": n_tasks_kept, "seconds": wall}``.

    Without ``resume``, a folder that already holds a sweep is refused (nothing is overwritten). With it, the
    stored config must equal ``cfg`` and every stored chunk must be intact; only missing chunks run.
    ``progress(done_trials, total_trials)``.
    """
    cfg.validate()
    n_local = check_scheduler(scheduler)
    folder = ensure_writable_dir(Path(folder))
    meta_path = folder / "sweep.json"
    cfg_json = json.dumps(cfg.to_dict(), sort_keys=True)
    tasks = cfg.tasks()
    if meta_path.exists():
        # a sweep that computed nothing yet (e.g. the scheduler was unreachable) may be started again as it was
        fresh = not any((folder / "chunks").glob("*.csv"))
        if not resume and not (fresh and meta_path.read_text() == cfg_json):
            raise GeomdlError(f"{folder} already holds a sweep; use --resume to continue it, or another --out")
        try:
            stored = json.loads(meta_path.read_text())
        except (OSError, ValueError) as e:
            raise GeomdlError(f"corrupt sweep file {meta_path} ({e})") from None
        if not isinstance(stored, dict):
            raise GeomdlError(f"corrupt sweep file {meta_path} (holds a JSON {type(stored).__name__}, not a sweep "
                              "config); move it away to start the sweep again")
        if stored != json.loads(cfg_json):
            diff = sorted(k for k in set(stored) | set(cfg.to_dict()) if stored.get(k) != cfg.to_dict().get(k))
            raise GeomdlError(f"--resume with a different config than the stored sweep (differs in: "
                              f"{', '.join(diff)}); use the same options or another --out")
    else:
        with atomic_path(meta_path, alone=True) as tmp:
            tmp.write_text(cfg_json)
    ensure_writable_dir(folder / "chunks")
    done: dict[tuple[int, int], list[list[str]]] = {}
    for i, s, e in tasks:
        p = chunk_path(folder, i, s)
        if p.exists():
            done[(i, s)] = read_chunk(p, cfg, i, s, e)
    pending = [t for t in tasks if (t[0], t[1]) not in done]
    total = len(cfg.lambdas) * cfg.trials
    n_done = sum(e - s for i, s, e in tasks if (i, s) in done)
    if progress is not None:
        progress(n_done, total)
    t0 = time.perf_counter()

    def accept(r: dict) -> None:
        nonlocal n_done
        rows = chunk_rows(cfg, r)
        write_csv(chunk_path(folder, r["lam_index"], r["start"]), COLUMNS, rows, alone=True)  # kept at once
        done[(r["lam_index"], r["start"])] = rows
        n_done += r["end"] - r["start"]
        if progress is not None:
            progress(n_done, total)

    if pending and forks_here(n_local):     # forked workers (parallel.py)
        hint = f"the finished chunks are kept in {folder / 'chunks'}: run the same command with --resume to finish"
        with contextlib.closing(forked_results(run_chunk, [(cfg_json, *t) for t in pending], n_local, "chunks",
                                               hint)) as finished:
            for _, r in finished:
                accept(r)
    elif pending and scheduler:
        client, cluster = _connect(scheduler, connect_timeout)
        try:
            from distributed import as_completed  # noqa: PLC0415

            futures = [client.submit(run_chunk, cfg_json, i, s, e, pure=False) for i, s, e in pending]
            n_chunks = len(done)
            try:
                for fut in as_completed(futures, loop=client.loop):
                    if fut.status == "error":   # the task itself failed: its own error, not a lost cluster
                        fut.result()
                    accept(fut.result())
            except (GeomdlError, KeyboardInterrupt):
                raise
            except Exception as e:  # noqa: BLE001 - the scheduler or its workers went away
                if any(f.status == "error" for f in futures if f.done()) and not _lost(e):
                    raise
                raise RunFailedError(
                    f"lost the Dask scheduler {scheduler!r} after {len(done) - n_chunks} of {len(pending)} chunks "
                    f"({type(e).__name__}); the {len(done)} finished chunks are kept in {folder / 'chunks'}: "
                    "run the same command with --resume to finish") from None
        finally:
            _close(client, cluster)
    else:
        for i, s, e in pending:
            accept(run_chunk(cfg_json, i, s, e))
    rows = [r for i, s, _ in tasks for r in done[(i, s)]]
    files = [write_csv(folder / "results.csv", COLUMNS, rows)]
    summary = summarize(cfg, rows)
    files.append(write_csv(folder / "summary.csv", list(summary[0]), [[_cell(v) for v in r.values()]
                                                                       for r in summary]))
    return {"rows": rows, "summary": summary, "files": files, "computed": len(pending),
            "reused": len(tasks) - len(pending), "seconds": time.perf_counter() - t0}


def _cell(v) -> str:
    return repr(float(v)) if isinstance(v, float) else str(v)


def summarize(cfg: SweepConfig, rows: list[list[str]]) -> list[dict]:
    """Per lambda: trials, fraction returned to ~zero loss, loss quantiles, stop reasons."""
    out = []
    for lam in cfg.lambdas:
        sel = [r for r in rows if float(r[3]) == float(lam)]
        final = np.array([float(r[6]) for r in sel])
        init = np.array([float(r[5]) for r in sel])
        stops = [r[7] for r in sel]
        out.append({"lambda": float(lam), "trials": len(sel), "fraction_returned": float(np.mean(final < cfg.zero_tol)),
                    "initial_loss_median": float(np.median(init)), "final_loss_median": float(np.median(final)),
                    "final_loss_q10": float(np.quantile(final, 0.1)), "final_loss_q90": float(np.quantile(final, 0.9)),
                    "mean_accuracy": float(np.mean([float(r[9]) for r in sel])),
                    **{f"stop_{k}": stops.count(k) for k in landscape.STOP_CODES}})
    return out


def read_results(path: Path) -> dict[str, np.ndarray]:
    """``results.csv`` as arrays (for figures): lambda, trial, initial_loss, final_loss, returned, stop."""
    with open(staged_path(path), newline="") as fh:   # also while it waits, staged, in an atomic group
        rows = list(csv.reader(fh))[1:]
    return {"lambda": np.array([float(r[3]) for r in rows]), "trial": np.array([int(r[4]) for r in rows]),
            "initial_loss": np.array([float(r[5]) for r in rows]), "final_loss": np.array([float(r[6]) for r in rows]),
            "returned": np.array([int(r[10]) for r in rows]), "stop": np.array([r[7] for r in rows])}
