"""Shared fixtures: one small recorded truncation-speed run (~0.1 s), reused by trace and recorder tests."""

from __future__ import annotations

import pytest
from hypothesis import settings

from geomdl.experiments import truncation_speed as ts
from geomdl.machine import usable_cores

# Derandomised: the same examples on every machine and run, so the suite gives one verdict everywhere.
settings.register_profile("geomdl", derandomize=True, print_blob=True)
settings.load_profile("geomdl")


@pytest.hookimpl(optionalhook=True)      # a hook of pytest-xdist: without it installed, nothing to do
def pytest_xdist_auto_num_workers(config):
    """``-n auto`` (the README's test command): one worker per core this process may use, its cgroup CPU quota
    included (pytest-xdist counts the affinity only: in a container given 2 CPUs of a 64-core host, 64 workers)."""
    return usable_cores()


SMALL = dict(q=3, n_per_class=12, steps=30, snapshots=4)


@pytest.fixture(scope="session")
def small_run():
    """``(trace, result, cfg)`` of a tiny, healthy truncation-speed run (Q=3, M=3, 36 points, 30 GD steps)."""
    cfg = ts.TruncationSpeedConfig(**SMALL)
    trace, result = ts.run(cfg)
    assert result.stop_reason == "budget", result
    return trace, result, cfg
