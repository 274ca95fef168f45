"""The result of an experiment run that records without training (``cones``, ``local-minima``): the same fields
as :class:`geomdl.nn.training.TrainResult`, which the CLI reports for every trace experiment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RecordResult:
    failed: bool
    message: str
    stop_reason: str
    final_step: int
    final_loss: float
