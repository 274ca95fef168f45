"""The multi-run studies run their independent runs here or on Dask (``--scheduler local:N`` or an address) with
the same results bit for bit: the truncation-speed study (seeds x start fractions), the contraction-rate study,
the NC-feasibility grid and the local-minima table (its sweeps: tests/test_landscape.py)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from geomdl.errors import GeomdlError, RunFailedError, UsageError
from geomdl.experiments import landscape_study, parallel
from geomdl.experiments import nc_feasibility_sweep as nf
from geomdl.experiments import truncation_speed as ts
from geomdl.experiments import truncation_speed_fits as study
from geomdl.math import landscape


@pytest.fixture(scope="module")
def cluster():
    """One real two-worker LocalCluster (separate processes) for the tests that give an address."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as lc:
        yield lc.scheduler_address


def _square(x: int) -> int:
    return x * x


def _pid(_: int) -> int:
    return os.getpid()


def _fail(x: int) -> int:
    raise GeomdlError(f"run {x} failed")


def test_map_runs_keeps_order_and_reports_progress(cluster):
    seen = []
    assert parallel.map_runs(_square, [(i,) for i in range(7)], cluster, lambda k, n: seen.append((k, n))) == [
        i * i for i in range(7)]
    assert seen[0] == (0, 7) and seen[-1] == (7, 7) and len(seen) == 8
    assert parallel.map_runs(_square, [(3,)], None) == [9]
    assert os.getpid() not in parallel.map_runs(_pid, [(i,) for i in range(4)], cluster)   # on the workers
    with pytest.raises(GeomdlError, match="run 2 failed"):      # a run's own error, as it is, not "lost"
        parallel.map_runs(_fail, [(2,)], cluster)


def _kill_self(x: int) -> int:
    if x == 1:
        os.kill(os.getpid(), 9)
    return x


def _torch_threads(x: int) -> tuple[int, int]:
    import torch  # noqa: PLC0415

    return os.getpid(), torch.get_num_threads()


def test_local_workers_are_forked_processes_in_order():
    """``local:N`` runs on processes forked from this one (no Dask, no re-import): in ``args`` order, in other
    processes, one torch thread each, a run's own error as it is, a worker that dies a RunFailedError."""
    seen = []
    assert parallel.map_runs(_square, [(i,) for i in range(9)], "local:2", lambda k, n: seen.append(k)) == [
        i * i for i in range(9)]
    assert seen == list(range(10))
    ran = parallel.map_runs(_torch_threads, [(i,) for i in range(4)], "local:2")
    assert os.getpid() not in {pid for pid, _ in ran} and {t for _, t in ran} == {1}
    assert len({pid for pid, _ in ran}) <= 2                      # at most N workers
    with pytest.raises(GeomdlError, match="run [23] failed"):    # (the first to fail: as on Dask)
        parallel.map_runs(_fail, [(2,), (3,)], "local:2")
    with pytest.raises(RunFailedError, match="local worker process died"):
        parallel.map_runs(_kill_self, [(0,), (1,), (2,)], "local:2")
    assert parallel.map_runs(_square, [(5,)], "local:3") == [25]  # more workers than runs


def test_bad_scheduler_is_refused_before_any_run():
    for bad in ("local:0", "local:x", "nohost"):
        with pytest.raises(UsageError):
            study.StudyConfig(scheduler=bad).validate()
        with pytest.raises(UsageError):
            nf.FeasibilityConfig(scheduler=bad).validate()
        with pytest.raises(UsageError):
            study.ContractionConfig(scheduler=bad).validate()


def where(name: str, request) -> str:
    """A ``--scheduler`` value: the test cluster's address (``"dask"``) or 2 forked local workers."""
    return request.getfixturevalue("cluster") if name == "dask" else "local:2"


@pytest.mark.parametrize("name", ["dask", "local"])
def test_truncation_speed_study_same_results_elsewhere(name, request):
    base = ts.TruncationSpeedConfig(steps=80, snapshots=17, n_per_class=40)
    here = study.run_study(study.StudyConfig(base=base, start_fractions=(0.2, 0.5), seeds=2))
    there = study.run_study(study.StudyConfig(base=base, start_fractions=(0.2, 0.5), seeds=2,
                                              scheduler=where(name, request)))
    np.testing.assert_equal(there["curves"], here["curves"])
    np.testing.assert_equal([vars(f) for f in there["fits"]], [vars(f) for f in here["fits"]])
    np.testing.assert_equal(there["summary"], here["summary"])


def test_contraction_study_same_results_on_local_workers():
    kw = dict(q=3, seeds=2, n_per_class=40, min_rise=4, bin_width=10, random_steps=300, random_snapshots=31,
              partial=ts.TruncationSpeedConfig(snapshots=31, steps=200))
    here = study.run_contraction_study(study.ContractionConfig(**kw))
    there = study.run_contraction_study(study.ContractionConfig(**kw, scheduler="local:2"))   # 2 forked workers
    for key in ("rows", "series", "runs", "summary"):
        np.testing.assert_equal(there[key], here[key])
    assert here["rows"]


def test_nc_feasibility_grid_same_results_on_dask(cluster, tmp_path):
    kw = dict(classes=2, n=4, ratios=(0.5, 2.5), sigmas=(0.1, 3.0), trials=5, seed=3)
    seen = []
    here = nf.run_sweep(nf.FeasibilityConfig(**kw))
    there = nf.run_sweep(nf.FeasibilityConfig(**kw, scheduler=cluster), progress=lambda k, n: seen.append(k))
    assert there == here
    assert seen[-1] == 4 * 5
    a = nf.write_tables(here, tmp_path / "a")
    b = nf.write_tables(there, tmp_path / "b")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]
    assert "scheduler" not in here["config"]


@pytest.mark.parametrize("name", ["local", pytest.param("dask", marks=pytest.mark.slow)])   # (Dask: 40 s here)
def test_local_minima_table_same_rows_elsewhere(name, request):
    # Q = 2: three patterns (the L-BFGS polish costs seconds a pattern), still more runs than local:2 workers
    here = landscape_study.local_minima_rows(2, n_per_class=20, do_polish=True)
    there = landscape_study.local_minima_rows(2, n_per_class=20, do_polish=True, scheduler=where(name, request))
    np.testing.assert_equal(there, here)
    assert [r["pattern"] for r in here] == ["".join(map(str, p)) for p in landscape.toggle_patterns(2)]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["dask", "local"])
def test_mnist_runs_and_sls_checks_same_results_elsewhere(name, request):
    from geomdl.experiments import mnist_thresholds as mx

    base = mx.MnistConfig(n_per_digit=30, thresholds=(0.2,), max_steps=40, widths=(12, 6))
    kw = dict(base=base, digit_sets=((0, 1), (0, 2)), losses=("mse", "ce"), sls_digits=(0, 1))
    here = mx.run_experiment(mx.MnistExperimentConfig(**kw))
    there = mx.run_experiment(mx.MnistExperimentConfig(**kw), scheduler=where(name, request))
    assert there.sls_rows == here.sls_rows and len(here.sls_rows) == 2
    assert [r.cfg for r in there.runs] == [r.cfg for r in here.runs] and len(here.runs) == 4
    for a, b in zip(there.runs, here.runs, strict=True):
        assert [s.step for s in a.snapshots] == [s.step for s in b.snapshots]
        assert a.reached == b.reached and a.result.final_loss == b.result.final_loss
        for s, t in zip(a.snapshots, b.snapshots, strict=True):
            # bit for bit: run_experiment runs here under the workers' one-thread policy (with this process's
            # two BLAS threads the digits differed by ~1e-7 relative on an AVX-512 Xeon)
            np.testing.assert_array_equal(s.truncated_proj, t.truncated_proj)
            assert s.metrics.keys() == t.metrics.keys()
            for key in s.metrics:
                np.testing.assert_array_equal(s.metrics[key], t.metrics[key], err_msg=key)
    with pytest.raises(UsageError):
        mx.run_experiment(mx.MnistExperimentConfig(**kw), scheduler="local:0")


def test_mnist_runs_here_under_the_workers_thread_policy(monkeypatch):
    """run_experiment's serial path uses one torch and one BLAS thread, as every worker does (the slow test above
    compares the bits), and gives this process its threads back afterwards."""
    import torch
    from threadpoolctl import threadpool_info

    from geomdl.experiments import mnist_thresholds as mx

    seen = []

    def threads():
        blas = frozenset(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")
        seen.append((torch.get_num_threads(), blas))

    monkeypatch.setattr(mx.mnist, "load_digits", lambda *a, **k: "data")
    monkeypatch.setattr(mx, "run", lambda rc, data=None, progress=None: threads() or rc)
    monkeypatch.setattr(mx, "sls_check", lambda ds, base, claimed: threads() or {"digits": ds})
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        base = mx.MnistConfig(n_per_digit=30, thresholds=(0.2,), max_steps=40, widths=(12, 6))
        result = mx.run_experiment(mx.MnistExperimentConfig(base=base, digit_sets=((0, 1),)))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert len(seen) == len(result.runs) + len(result.sls_rows) >= 2
    assert set(seen) == {(1, frozenset({1}))}
