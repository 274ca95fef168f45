"""Tiny runs of the experiments for tests that need real traces: trained once per test module, cached by name."""

from __future__ import annotations

from collections.abc import Callable

import torch

from geomdl import experiments


def trace_cache(configs: dict[str, dict], experiment_of: Callable[[str], str] = lambda name: name):
    """A function ``name -> trace`` of the run of experiment ``experiment_of(name)`` with config
    ``configs[name]``, each run once (torch on one thread: the traces do not depend on the machine's cores)."""
    torch.set_num_threads(1)
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            mod = experiments.get(experiment_of(name))
            cache[name] = mod.run(mod.Config(**configs[name]))[0]
        return cache[name]

    return get
