"""Experiment ``truncation-speed`` (docs/math.md §5, §6).

``Q`` clustered classes (uniform balls around ``e_1..e_Q``), a network that starts from the partially
truncating construction (each hidden layer ``l`` has ``start_fraction`` of class ``l`` collapsed), trained
with full-batch GD (or SGD) on the MSE, recorded at evenly spaced snapshots.

Defaults, and why:
- ``radius=0.25``, ``n_per_class=200``: the data of a first calibration check; clusters well separated (margin ~0.5);
- ``start_fractions=(0.22,)``: layer 1 starts with 44 of its 200 class-1 points collapsed, as in the
  calibration point; layers not listed start fully collapsed (fraction 1: the zero-loss construction's cone).
  Starting every layer partial (0.22, 0.22, 0.22) gives a violent transient (initial loss 3.7, layer 2 loses
  all its collapsed points at once), which hides the effect we want to watch;
- **step size ``lr=None`` (auto): ``lr = lr_scale / lambda_max``** with ``lambda_max`` the largest eigenvalue
  of the loss's Hessian at the start (:mod:`geomdl.nn.sharpness`, power iteration) and ``lr_scale = 1.5``, i.e.
  3/4 of GD's stability bound ``2 / lambda_max``. Why: the sharpness of the partial start grows with Q
  (median over seeds 0-2: ~190 at Q = 3, 210 at Q = 4, 280 at Q = 5, 400 at Q = 6, 590 at Q = 7, 840 at
  Q = 8), so the old fixed ``lr = 0.01`` (1.9 / lambda_max at Q = 3, right at the edge) is past the bound from
  Q = 5 on: the loss jumped 9-55x and 19 of the 20 runs at Q = 5..8 (seeds 0-4) ended dead or
  degenerate. A fixed rescaling with Q would have to be re-tuned for every radius, class size or start
  fraction; the measured sharpness follows them. The cost normalisation is no alternative: CE24's weighted
  cost is, for balanced classes, the MSE times ``2Q`` (it only rescales the step). ``lr_scale = 1.5`` leaves
  room for the sharpness to grow during training (``lr_scale = 1.9`` was healthy too);
  the Q = 2..8 x seeds 0-4 survey in ``docs/results.md`` (and the slow test) checks that the loss never
  exceeds its start and that every run keeps Q distinct output clusters;
- **``steps=None`` (auto): ``ceil(flow_time / lr)``** with ``flow_time = 12`` (the gradient-flow time
  ``lr x steps`` of the original Q = 3 calibration, lr 0.01 for 1200 steps), at most 100000: the same
  amount of training in flow time for every Q, so the slower step at larger Q still shows the truncation
  (Q = 8 runs ~6000 steps). An explicit ``lr`` keeps this rule unless ``steps`` is given too;
- full-batch GD; ``snapshots=121``, linear spacing: equal clip time per training step, so speed-ups are
  visible as speed-ups.

The defaults are checked for Q = 2..8; for Q >= 9 the automatic step size is refused (a one-line error asking
for an explicit ``lr``): nothing says it is healthy there. Any run that ends degenerate (fewer distinct output
clusters than Q, or accuracy below its start; :mod:`geomdl.nn.health`) is a failure, whatever the settings.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from geomdl.checks import subconfig
from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError
from geomdl.fields import check_fields, config, shared
from geomdl.io.recorder import Recorder, data_arrays, residual_notes
from geomdl.io.trace import Trace, header
from geomdl.math import constructions
from geomdl.nn import health, sharpness, snapshots
from geomdl.nn.model import build_model, resolve_device
from geomdl.nn.training import TrainConfig, TrainResult, train

KIND = "truncation-speed"


@config
class TruncationSpeedConfig:
    """Every field has the calibrated default described in the module docstring."""

    q = shared(3)
    m = shared(None)
    n_per_class = shared(200)
    radius = shared(0.25)
    cluster_kind = shared("ball")
    start_fractions = shared((0.22,))
    optimizer = shared("gd")
    lr = shared(None)
    lr_scale: float = 1.5
    steps = shared(None)
    flow_time: float = 12.0
    batch_size = shared(64)
    momentum = shared(0.0)
    loss = shared("mse")
    dtype = shared("float64")
    device = shared("cpu")
    seed = shared(0)
    snapshots = shared(121)
    spacing = shared("linear")

    def data_config(self) -> data.ClusteredConfig:
        return data.ClusteredConfig(q=self.q, m=self.m, n_per_class=self.n_per_class, radius=self.radius,
                                    kind=self.cluster_kind, seed=self.seed)

    def train_config(self, lr: float | None = None, steps: int | None = None) -> TrainConfig:
        """The training config with the step size and budget resolved (``lr``/``steps``: the automatic values
        when the config leaves them ``None``; see :func:`resolve_lr`, :func:`resolve_steps`)."""
        lr = self.lr if self.lr is not None else lr
        steps = self.steps if self.steps is not None else steps
        if lr is None or steps is None:
            raise GeomdlError("train_config() of an automatic lr/steps config needs the resolved values")
        return subconfig(TrainConfig, self, lr=lr, steps=steps)

    def validate(self) -> None:
        check_fields(self, "seed", "dtype", "device")
        self.data_config().validate()
        self.train_config(lr=1.0, steps=1).validate()   # the automatic values are positive by construction
        if self.lr is None:
            if self.q > MAX_CHECKED_Q:
                raise GeomdlError(f"the automatic step size is checked for Q = 2..{MAX_CHECKED_Q} only (got Q = "
                                  f"{self.q}); give --lr explicitly (degenerate runs are still refused)")
            if not (0 < self.lr_scale < 2):
                raise GeomdlError(f"lr_scale must be in (0, 2), inside GD's stability bound 2/lambda_max "
                                  f"(got {self.lr_scale})")
        if self.steps is None and not (self.flow_time > 0 and self.flow_time < float("inf")):
            raise GeomdlError(f"flow_time must be a positive number (got {self.flow_time})")
        fr = self.start_fractions
        if len(fr) == 0 or len(fr) > self.q:
            raise GeomdlError(f"give 1 to Q={self.q} start fractions, one per hidden layer (got {len(fr)})")
        if not all(0.0 <= f <= 1.0 for f in fr):
            raise GeomdlError(f"start fractions must be in [0, 1] (got {list(fr)})")
        check_fields(self, "snapshots")

    def layer_fractions(self) -> list[float]:
        """One start fraction per hidden layer: the given ones, then 1.0 (full collapse)."""
        return [float(f) for f in self.start_fractions] + [1.0] * (self.q - len(self.start_fractions))


Config = TruncationSpeedConfig
MAX_CHECKED_Q = 8
MAX_AUTO_STEPS = 100_000


def resolve_lr(cfg: TruncationSpeedConfig, model, X, labels) -> tuple[float, float | None]:
    """``(lr, lambda_max)``: the configured ``lr``, or ``lr_scale / lambda_max`` at the start (``lambda_max``
    ``None`` when not measured)."""
    if cfg.lr is not None:
        return float(cfg.lr), None
    lam = sharpness.top_hessian_eigenvalue(model, X, labels, cfg.loss, seed=cfg.seed)
    return sharpness.stable_lr(lam, cfg.lr_scale), lam


def resolve_steps(cfg: TruncationSpeedConfig, lr: float) -> int:
    """The configured ``steps``, or ``ceil(flow_time / lr)`` (at most 100000)."""
    if cfg.steps is not None:
        return int(cfg.steps)
    return int(min(MAX_AUTO_STEPS, max(1, math.ceil(cfg.flow_time / lr - 1e-9))))


def stem(cfg: TruncationSpeedConfig) -> str:
    """The parameter part of output file names."""
    lr = "auto" if cfg.lr is None else f"{cfg.lr:g}"
    steps = "auto" if cfg.steps is None else cfg.steps
    return f"q{cfg.q}_seed{cfg.seed}_{cfg.optimizer}_lr{lr}_steps{steps}"


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
    lr, lam = resolve_lr(cfg, model, X, labels)
    steps = resolve_steps(cfg, lr)

    rec = Recorder(X, labels, cfg.q)
    at = snapshots.snapshot_steps(steps, cfg.snapshots, cfg.spacing)
    result = train(model, X, labels, cfg.train_config(lr, steps), snapshot_at=at, recorder=rec, progress=progress)

    arrays = rec.arrays()
    arrays.update(data_arrays(X, labels))
    verdict = None
    if result.stop_reason != "diverged":  # the last snapshot is the final state; the first is step 0
        verdict = health.check_run(result, arrays["outputs"][0], arrays["outputs"][-1], labels, cfg.q)
    notes = ([result.message] if result.failed else []) + residual_notes(arrays)
    meta = header(
        KIND, cfg.to_dict(), seed=cfg.seed, q=cfg.q, m=M, widths=[M] * cfg.q, loss=cfg.loss,
        stop_reason=result.stop_reason, stop_message=result.message, final_step=result.final_step, notes=notes,
        device=str(device), construction_t=con.t, start_collapsed=list(con.start_counts),
        health=verdict, lr=lr, steps=steps, sharpness=lam,
    )
    return Trace(meta=meta, arrays=arrays), result


def torch_threads() -> None:
    """Small networks: one intra-op thread is fastest and keeps CPU results bit-identical run to run."""
    torch.set_num_threads(1)
