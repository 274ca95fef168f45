"""The training config, its checks and the result of a run, without torch (:mod:`geomdl.nn.training` trains):
experiment configs build and validate it when a cached trace is looked up, and experiment modules name
:class:`TrainResult`, which must not import torch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from geomdl.checks import check_choice
from geomdl.errors import GeomdlError
from geomdl.fields import check_fields, config, shared
from geomdl.nn.health import FAILURES

LOSSES = ("mse", "wmse", "ce")     # the training costs of :mod:`geomdl.nn.losses`
OPTIMIZERS = ("gd", "sgd")


@config
class TrainConfig:
    """How to train. ``steps`` is the budget (optimizer updates); for SGD one step is one mini-batch."""

    optimizer = shared("gd")
    lr = shared(0.005)
    steps = shared(3000)
    batch_size = shared(64)
    momentum = shared(0.0)
    loss = shared("mse")
    loss_threshold = shared(1e-8)
    stuck_tol = shared(1e-6)
    patience = shared(1000)
    seed = shared(0)

    def validate(self) -> None:
        check_training(self)
        check_fields(self, "steps")


def check_training(cfg) -> None:
    """The training fields every trainer's config shares (``optimizer``, ``loss``, ``lr``, ``batch_size``,
    ``momentum``, ``patience``, ``stuck_tol``), checked once for all of them."""
    check_choice(cfg.optimizer, OPTIMIZERS, "optimizer")
    check_choice(cfg.loss, LOSSES, "loss")
    if not (np.isfinite(cfg.lr) and cfg.lr > 0):
        raise GeomdlError(f"learning rate must be a positive number (got {cfg.lr})")
    if cfg.batch_size < 1:
        raise GeomdlError(f"batch size must be >= 1 (got {cfg.batch_size})")
    if not 0.0 <= cfg.momentum < 1.0:
        raise GeomdlError(f"momentum must be in [0, 1) (got {cfg.momentum})")
    if cfg.patience < 1:
        raise GeomdlError(f"patience must be >= 1 (got {cfg.patience})")
    if not cfg.stuck_tol >= 0:
        raise GeomdlError(f"stuck_tol must be >= 0 (got {cfg.stuck_tol})")


@config
class ThresholdTrainConfig:
    """How to train. ``max_steps`` counts optimizer updates (a mini-batch for SGD)."""

    loss = shared("mse")
    thresholds = shared((0.1, 0.05, 0.01))
    optimizer = shared("sgd")
    lr = shared(0.05)
    batch_size = shared(64)
    momentum = shared(0.0)
    max_steps = shared(20000)
    eval_every = shared(5)
    snapshot_ratio = shared(1.35)
    stuck_tol = shared(1e-3)
    patience = shared(3000)
    seed = shared(0)

    def validate(self) -> None:
        check_training(self)
        if not self.thresholds:
            raise GeomdlError("give at least one loss threshold")
        if not all(np.isfinite(t) and t > 0 for t in self.thresholds):
            raise GeomdlError(f"loss thresholds must be positive numbers (got {list(self.thresholds)})")
        check_fields(self, "max_steps")
        if self.eval_every < 1:
            raise GeomdlError(f"eval_every must be >= 1 (got {self.eval_every})")
        if not self.snapshot_ratio > 1.0:
            raise GeomdlError(f"snapshot ratio must be > 1 (got {self.snapshot_ratio})")

    @property
    def sorted_thresholds(self) -> list[float]:
        return sorted({float(t) for t in self.thresholds}, reverse=True)


@dataclass
class TrainResult:
    """How a run ended: every experiment's ``run`` returns one beside its trace (a run that records without
    training, e.g. ``cones``, says so in ``stop_reason``). ``failed``: diverged, dead or degenerate
    (:data:`geomdl.nn.health.FAILURES`)."""

    stop_reason: str
    final_step: int
    final_loss: float
    message: str

    @property
    def failed(self) -> bool:
        return self.stop_reason in FAILURES
