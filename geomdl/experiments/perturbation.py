"""Experiment ``perturbation``: one perturbed zero-loss construction, retrained by SGD and recorded (docs/math.md §5;
the trajectory behind one sample of the ``geomdl experiment perturb`` histograms).

The data and construction of ``geometry`` (:mod:`geomdl.math.geometries`; square layers only: clustered, sls,
nonsep) are perturbed exactly as trial ``trial`` of a perturbation sweep with seed ``seed``
(:func:`geomdl.math.landscape.trial_seeds`: every tensor ``T += lam G/|G|_F``, the same ``G`` for every ``lam``; SGD
mini-batches from the trial's own seed). So ``geomdl render perturbation --set lam=0.5 --set trial=17`` replays
trial 17 of ``geomdl experiment perturb --lambdas ...,0.5,...`` step for step (same stop rules and defaults as the
sweep: SGD lr 0.01, batch 64, threshold 1e-10, stuck over 500 steps).

Snapshots are log-spaced by default (re-convergence, when it happens, is fast at first). Extra arrays:
``reference_base_points`` (L, M): the unperturbed construction's base points (where the cones should return);
meta ``construction_loss`` and ``initial_loss`` (after the perturbation).

Measured (seed 0, trial 0, 120 points/class, 3000 steps): clustered re-converges at ``lam = 0.1`` (loss
2.9e-7 after 3000 steps) and is dead at step 0 for ``lam >= 0.5`` (some layer collapses every point: reported,
not rendered unless ``--force``); sls gets stuck at loss ~0.17 already at ``lam = 0.1``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from geomdl.checks import subconfig
from geomdl.errors import GeomdlError
from geomdl.fields import check_fields, config, shared
from geomdl.io.trace import Trace, header
from geomdl.math import geometries
from geomdl.nn import snapshots
from geomdl.nn.train_config import TrainConfig, TrainResult

# the recorder, the constructions and the trainer (scipy, torch) are imported where a run needs them: the
# config, its hash and its file name are all that rendering a cached trace needs (no torch, no scipy)

KIND = "perturbation"
SQUARE_GEOMETRIES = ("clustered", "sls", "nonsep")


@config
class Config:
    """Data: ``geometry``, ``q`` (``None``: the geometry's default), ``m``, ``n_per_class``, ``radius``, ``seed``.
    Perturbation: size ``lam``, sweep trial index ``trial``. Training (the sweep's defaults): ``optimizer``,
    ``lr``, ``steps``, ``batch_size``, ``loss``, ``loss_threshold``, ``stuck_tol``, ``patience``. Recording:
    ``snapshots`` steps, ``spacing`` linear|log."""

    geometry = shared("clustered")
    q = shared(None)
    m = shared(None)
    n_per_class = shared(120)
    radius = shared(0.25)
    seed = shared(0)
    lam: float = 0.1
    trial: int = 0
    optimizer = shared("sgd")
    lr = shared(0.01)
    steps = shared(3000)
    batch_size = shared(64)
    loss = shared("mse")
    loss_threshold = shared(1e-10)
    stuck_tol = shared(1e-6)
    patience = shared(500)
    snapshots = shared(121)
    spacing = shared("log")

    def geometry_config(self) -> geometries.GeometryConfig:
        q = self.q if self.q is not None else (geometries.default_q(self.geometry)
                                               if self.geometry in geometries.GEOMETRIES else 3)
        return geometries.GeometryConfig(self.geometry, q=q, m=self.m, n_per_class=self.n_per_class,
                                         radius=self.radius, seed=self.seed)

    def train_config(self, sgd_seed: int = 0) -> TrainConfig:
        return subconfig(TrainConfig, self, seed=sgd_seed)

    def validate(self) -> None:
        if self.geometry not in SQUARE_GEOMETRIES:
            raise GeomdlError(f"the perturbation clip needs square layers: geometry must be one of "
                              f"{', '.join(SQUARE_GEOMETRIES)} (got {self.geometry!r})")
        if not (np.isfinite(self.lam) and self.lam >= 0):
            raise GeomdlError(f"lam must be a number >= 0 (got {self.lam})")
        if self.trial < 0:
            raise GeomdlError(f"trial must be >= 0 (got {self.trial})")
        check_fields(self, "seed")
        self.geometry_config().validate()
        self.train_config().validate()
        snapshots.snapshot_steps(self.steps, self.snapshots, self.spacing)


def stem(cfg: Config) -> str:
    return f"{cfg.geometry}_lam{cfg.lam:g}_trial{cfg.trial}_seed{cfg.seed}_{cfg.optimizer}_lr{cfg.lr:g}"


def run(cfg: Config, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, TrainResult]:
    """Build data and construction, perturb (trial ``trial``), train with SGD, record."""
    from geomdl.io.recorder import Recorder, data_arrays, residual_notes  # noqa: PLC0415
    from geomdl.math import constructions, landscape  # noqa: PLC0415
    from geomdl.nn import health  # noqa: PLC0415
    from geomdl.nn.model import ReLUMLP  # noqa: PLC0415
    from geomdl.nn.training import train  # noqa: PLC0415

    cfg.validate()
    gcfg = cfg.geometry_config()
    X, labels, net = geometries.build(gcfg)
    X = np.asarray(X, dtype=float)
    q, M = gcfg.q, X.shape[1]
    if any(W.shape != (M, M) for W in net.Ws):
        raise GeomdlError(f"the {gcfg.geometry} construction has non-square layers; the perturbation clip needs "
                          "square ones")
    base_loss = constructions.mse_loss(net.outputs(X), labels)
    rng, sgd_seed = landscape.trial_seeds(cfg.seed, cfg.trial)
    ten = landscape.perturb(net.tensors(), cfg.lam, rng)
    model = ReLUMLP(M, net.widths, q).double()
    model.load_arrays(ten[0:-2:2], ten[1:-2:2], ten[-2], ten[-1])

    ref = Recorder(X, labels, q)
    ref.record(0, base_loss, net.Ws, net.bs, net.W_out, net.b_out)
    reference_base = ref.arrays()["base_points"][0]

    rec = Recorder(X, labels, q)
    at = snapshots.snapshot_steps(cfg.steps, cfg.snapshots, cfg.spacing)
    result = train(model, X, labels, cfg.train_config(sgd_seed), snapshot_at=at, recorder=rec, progress=progress)
    if result.stop_reason == "dead" and result.final_step == 0:
        result.message = (f"the perturbation (lam={cfg.lam:g}, trial {cfg.trial}) leaves a dead network before "
                          f"any training: {result.message.split(': ', 1)[-1].split(';')[0]}; try a smaller lam")
    arrays = rec.arrays()
    arrays.update(data_arrays(X, labels), reference_base_points=reference_base)
    verdict = None
    if result.stop_reason != "diverged" and len(rec):  # first snapshot: the perturbed start (step 0)
        verdict = health.check_run(result, arrays["outputs"][0], arrays["outputs"][-1], labels, q)
    notes = ([result.message] if result.failed else []) + residual_notes(arrays)
    meta = header(
        KIND, cfg.to_dict(), seed=cfg.seed, q=q, m=M, widths=net.widths, loss=cfg.loss,
        stop_reason=result.stop_reason, stop_message=result.message, final_step=result.final_step, notes=notes,
        geometry=gcfg.geometry, construction=net.name, construction_loss=base_loss,
        initial_loss=float(arrays["loss"][0]) if len(rec) else float("nan"), sgd_seed=sgd_seed, health=verdict,
    )
    return Trace(meta=meta, arrays=arrays), result
