"""Experiment ``truncation-speed`` (spec sections 5 and 6, notes of Oct 28).

``Q`` clustered classes (uniform balls around ``e_1..e_Q``), a network that starts from the partially
truncating construction (each hidden layer ``l`` has ``start_fraction`` of class ``l`` collapsed), trained
with full-batch GD (or SGD) on the MSE, recorded at evenly spaced snapshots.

Defaults, and why (calibrated on Q=3, seed 0, float64; spec 6 gives the calibration point lr 0.002 ->
collapsed count 44 -> 133 over 4000 steps, and lr 0.01 -> dead network):
- ``radius=0.25``, ``n_per_class=200``: the spec's calibration data; clusters well separated (margin ~0.5);
- ``start_fractions=(0.22,)``: layer 1 starts with 44 of its 200 class-1 points collapsed, as in the
  calibration point; layers not listed start fully collapsed (fraction 1: the zero-loss construction's cone).
  Starting every layer partial (0.22, 0.22, 0.22) gives a violent transient (initial loss 3.7, layer 2 loses
  all its collapsed points at once), which hides the effect we want to watch;
- ``lr=0.01``, ``steps=1200``, full-batch GD: measured class-1 collapsed count at layer 1
  44 -> 58 -> 72 -> 81 -> 92 -> 102 -> 113 at steps 0/40/80/120/200/400/1000 (growth that slows down: the
  figure shows whatever the data say). lr 0.002 gives 44 -> 75 over 4000 steps (too slow for a clip);
  lr 0.02 falls into a bad minimum (loss stuck at 1/6, layer 1 un-collapses to 4 points); lr 0.05 kills the
  network (every point collapsed in a layer: detected and reported, never rendered as a result);
- ``snapshots=121``, linear spacing: equal clip time per training step, so speed-ups are visible as speed-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, fields

import torch

from geomdl import constructions, data, health, snapshots
from geomdl.errors import GeomdlError
from geomdl.model import DEVICES, build_model, resolve_device, resolve_dtype
from geomdl.recorder import Recorder, data_arrays, residual_notes
from geomdl.trace import SCHEMA, Trace, now_iso, package_versions
from geomdl.training import TrainConfig, TrainResult, train

KIND = "truncation-speed"


@dataclass(frozen=True)
class TruncationSpeedConfig:
    """Every field has the calibrated default described in the module docstring."""

    q: int = 3
    m: int | None = None
    n_per_class: int = 200
    radius: float = 0.25
    cluster_kind: str = "ball"
    start_fractions: tuple[float, ...] = (0.22,)
    optimizer: str = "gd"
    lr: float = 0.01
    steps: int = 1200
    batch_size: int = 64
    momentum: float = 0.0
    loss: str = "mse"
    dtype: str = "float64"
    device: str = "cpu"
    seed: int = 0
    snapshots: int = 121
    spacing: str = "linear"

    def data_config(self) -> data.ClusteredConfig:
        return data.ClusteredConfig(q=self.q, m=self.m, n_per_class=self.n_per_class, radius=self.radius,
                                    kind=self.cluster_kind, seed=self.seed)

    def train_config(self) -> TrainConfig:
        return TrainConfig(optimizer=self.optimizer, lr=self.lr, steps=self.steps, batch_size=self.batch_size,
                           momentum=self.momentum, loss=self.loss, seed=self.seed)

    def validate(self) -> None:
        if not 0 <= self.seed < 2**32:
            raise GeomdlError(f"seed must be in 0..2**32-1 (got {self.seed})")
        resolve_dtype(self.dtype)
        if self.device not in DEVICES:
            raise GeomdlError(f"unknown device {self.device!r}; known: {', '.join(DEVICES)}")
        self.data_config().validate()
        self.train_config().validate()
        fr = self.start_fractions
        if len(fr) == 0 or len(fr) > self.q:
            raise GeomdlError(f"give 1 to Q={self.q} start fractions, one per hidden layer (got {len(fr)})")
        if not all(0.0 <= f <= 1.0 for f in fr):
            raise GeomdlError(f"start fractions must be in [0, 1] (got {list(fr)})")
        if self.snapshots < 2:
            raise GeomdlError(f"need at least 2 snapshots (got {self.snapshots})")

    def layer_fractions(self) -> list[float]:
        """One start fraction per hidden layer: the given ones, then 1.0 (full collapse)."""
        return [float(f) for f in self.start_fractions] + [1.0] * (self.q - len(self.start_fractions))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start_fractions"] = list(self.start_fractions)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> TruncationSpeedConfig:
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in known}
        if "start_fractions" in kw:
            kw["start_fractions"] = tuple(kw["start_fractions"])
        return cls(**kw)


Config = TruncationSpeedConfig


def stem(cfg: TruncationSpeedConfig) -> str:
    """The parameter part of output file names."""
    return f"q{cfg.q}_seed{cfg.seed}_{cfg.optimizer}_lr{cfg.lr:g}_steps{cfg.steps}"


def run(cfg: TruncationSpeedConfig, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, TrainResult]:
    """Build data and the partial construction, train, record. Returns the trace and the training result."""
    cfg.validate()
    X, labels = data.clustered(cfg.data_config())
    con = constructions.partial_construction(X, labels, cfg.layer_fractions())
    Ws, bs = con.layers
    M = X.shape[1]
    device = resolve_device(cfg.device)
    model = build_model(M, [M] * cfg.q, cfg.q, dtype=cfg.dtype, device=str(device), seed=cfg.seed)
    model.load_arrays(Ws, bs, con.W_out, con.b_out)

    rec = Recorder(X, labels, cfg.q)
    at = snapshots.snapshot_steps(cfg.steps, cfg.snapshots, cfg.spacing)
    result = train(model, X, labels, cfg.train_config(), snapshot_at=at, recorder=rec, progress=progress)

    arrays = rec.arrays()
    arrays.update(data_arrays(X, labels))
    verdict = None
    if result.stop_reason != "diverged":  # the last snapshot is the final state; the first is step 0
        verdict = health.check_run(result, arrays["outputs"][0], arrays["outputs"][-1], labels, cfg.q)
    notes = ([result.message] if result.failed else []) + residual_notes(arrays)
    meta = {
        "schema": SCHEMA, "kind": KIND, "created": now_iso(), "config": cfg.to_dict(), "seed": cfg.seed,
        "versions": package_versions(), "Q": cfg.q, "M": M, "widths": [M] * cfg.q, "loss": cfg.loss,
        "stop_reason": result.stop_reason, "stop_message": result.message, "final_step": result.final_step,
        "notes": notes, "device": str(device), "construction_t": con.t,
        "start_collapsed": [int(round(f * cfg.n_per_class)) for f in cfg.layer_fractions()],
        "health": verdict,
    }
    return Trace(meta=meta, arrays=arrays), result


def torch_threads() -> None:
    """Small networks: one intra-op thread is fastest and keeps CPU results bit-identical run to run."""
    torch.set_num_threads(1)
