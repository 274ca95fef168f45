"""The training config and its checks, without torch (:mod:`geomdl.nn.training` trains): experiment configs
build and validate it when a cached trace is looked up, which must not import torch."""

from __future__ import annotations

import numpy as np

from geomdl.checks import check_choice
from geomdl.errors import GeomdlError
from geomdl.fields import check_fields, config, shared

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
