"""Experiment ``flows`` (docs/math.md §8): standard gradient flow vs the adapted (Penrose) flow and the
homotopy between them, on one small overparametrized network, all from the same ``theta_0``.

Flows run (in this order, each a
:class:`geomdl.math.gradient_flows.FlowConfig`): one per ``alphas`` entry with the slides'
definition ``theta' = -((1 - alpha) D^T g + alpha D^+ g)`` (``kinks="cross"``), plus, when ``freeze_adapted``,
the adapted flow ``alpha = 1`` that keeps every ReLU on its side (``kinks="freeze"``, see below).

What the flows show on the defaults (Q=3, M=10, 10 points per class, widths (32, 32), ReLU, seed 0, float64,
RK4 with 100 steps to s = 4N; measured, see docs/results.md):

- **ReLU kinks break the paper's law.** The theorem's ``x' = -grad_x C`` needs ``x(theta)`` differentiable along
  the orbit. With ReLU the min-norm velocity ``-D^+ g`` drives many (point, unit) pre-activations onto their
  kink and then chatters across it (a Filippov sliding mode): there the two one-sided Jacobians differ and
  ``x_r' != -g_r`` for the sliding point. Refining the step does not help (it is not integration error; with
  softplus, ``activation="softplus"``, the error falls as the step shrinks, ~1e-5 at 100 steps). The tool counts
  the sign changes (``kink_crossings``, pairs that flipped ``>= 3`` times = chattering) and reports the law error.
- **Region-preserving adapted flow** (``kinks="freeze"``): among the velocities with ``D theta' = -g`` take the
  least-norm one that keeps every pre-activation about to reach its kink where it is. The orbit keeps its
  activation pattern, ``x(theta)`` is a polynomial along it, and the law holds to integration accuracy
  (``C(s) = e^{-2s/N} C(0)`` to ~3e-4, outputs on straight lines to ~2e-4 of their length). It costs a few
  times more per step (a Gram solve with one extra row per frozen pair).
- **Standard flow**: fast at first (its rates ``lambda_i(D D^T)/N`` reach ``~100/N``), then slow: the trapping
  ratio ``rho = |D^T g| / |g|`` (``rho^2`` = its instantaneous cost decay rate relative to the adapted flow's)
  stays below ``trap_eps = 0.5`` for most of the run; outputs follow curves, and the within-class variance of
  the outputs *grows* while the class means converge (no uniform neural collapse).

Defaults, and why: ``m=10`` (input dimension): ``rank D <= Q sum_regions min(n_region, M + 1)`` (see
:mod:`geomdl.math.jacobian`), so tight clusters in ``R^3`` give a rank-deficient ``D`` for widths <= 32 (measured:
rank 114 of 180 for widths (16, 16)); with ``M = 10`` every default ``D`` has full rank ``QN = 90``.
``n_per_class=10`` (N = 30): ``K = 1507 >> QN = 90``. ``tau_max=4``: the adapted cost falls by ``e^{-8}``.
``steps=100``: RK4 error well below the effects measured. The outputs live in ``R^Q`` whatever ``M`` is.

Trace arrays (``F`` flows, ``S = steps + 1`` grid points; NaN after a flow stopped, ``valid`` False there):
``X (N, M)``, ``labels (N,)``, ``Y (N, Q)`` targets, ``s (S,)`` flow time, ``steps (S,)`` grid index,
``alphas (F,)``, ``freeze (F,)`` bool, ``outputs (F, S, N, Q)``, ``cost (F, S)``, ``predicted (S,)`` (the
adapted-flow law from the common ``x(0)``), ``rank, sigma_min, sigma_max, trap_ratio, theta_dist, line_dist,
interp_err, nc1 (F, S)``, ``within_var, mean_dist (F, S, Q)``, ``valid (F, S)``, ``substeps, kink_crossings
(F, S-1)``. ``meta["flows"]``: one summary dict per flow (:func:`geomdl.math.gradient_flows.summarize`) with its label.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError
from geomdl.fields import check_fields, config, shared
from geomdl.io.atomic import atomic_path, ensure_writable_dir
from geomdl.io.trace import Trace, header
from geomdl.math import flow_config as fc
from geomdl.nn.train_config import TrainResult

if TYPE_CHECKING:
    import torch

# torch and the flows' integrator are imported where a run needs them: the config, its hash, its file name and
# the tables are all that rendering a cached trace needs (no torch)

KIND = "flows"


@config
class FlowsConfig:
    """Every field has the default described in the module docstring."""

    q = shared(3)
    m = shared(10)
    n_per_class = shared(10)
    radius = shared(0.25)
    cluster_kind = shared("ball")
    widths = shared((32, 32))
    activation: str = "relu"
    alphas: tuple[float, ...] = (0.0, 0.5, 0.9, 1.0)
    freeze_adapted: bool = True
    tau_max = shared(4.0)
    steps = shared(100)
    grid = shared("t")
    integrator = shared("rk4")
    solver = shared("auto")
    least_squares = shared(False)
    rank_rtol = shared(1e-9)
    trap_eps = shared(0.5)
    loss = shared("mse")
    dtype = shared("float64")
    device = shared("cpu")
    seed = shared(0)

    def data_config(self) -> data.ClusteredConfig:
        return data.ClusteredConfig(q=self.q, m=self.m, n_per_class=self.n_per_class, radius=self.radius,
                                    kind=self.cluster_kind, seed=self.seed)

    def flow_configs(self) -> list[fc.FlowConfig]:
        """One per flow, in the order the trace stores them."""
        common = dict(tau_max=self.tau_max, steps=self.steps, grid=self.grid, integrator=self.integrator,
                      solver=self.solver,
                      least_squares=self.least_squares, rank_rtol=self.rank_rtol, trap_eps=self.trap_eps,
                      cost=self.loss)
        out = [fc.FlowConfig(alpha=float(a), kinks="cross", **common) for a in self.alphas]
        if self.freeze_adapted:
            out.append(fc.FlowConfig(alpha=1.0, kinks="freeze", **common))
        return out

    def validate(self) -> None:
        check_fields(self, "seed", "dtype", "device")
        self.data_config().validate()
        if not self.widths or min(self.widths) < 1:
            raise GeomdlError(f"hidden widths must be positive, at least one layer (got {list(self.widths)})")
        fc.check_activation(self.activation)
        if not self.alphas and not self.freeze_adapted:
            raise GeomdlError("no flow to run: give at least one alpha (or freeze_adapted=true)")
        if len(set(self.alphas)) != len(self.alphas):
            raise GeomdlError(f"alphas must be distinct (got {list(self.alphas)})")
        if self.n_per_class * self.q > 400:
            raise GeomdlError(f"N = {self.n_per_class * self.q} points: the flows form a QN x K Jacobian at every "
                              "stage; keep N <= 400 (the defaults use 30)")
        for c in self.flow_configs():
            c.validate()


Config = FlowsConfig


@dataclass
class FlowsRunResult(TrainResult):
    """The run's :class:`~geomdl.nn.training.TrainResult` (worst flow: ``diverged`` fails it) and every flow's
    summary."""

    summaries: list[dict] = field(default_factory=list)


def stem(cfg: FlowsConfig) -> str:
    w = "-".join(str(v) for v in cfg.widths)
    return f"q{cfg.q}_n{cfg.n_per_class}_w{w}_{cfg.activation}_seed{cfg.seed}"


def flow_label(c: fc.FlowConfig) -> str:
    if c.kinks == "freeze":
        return "adapted, kinks frozen"
    if c.alpha == 0.0:
        return "standard (α=0)"
    if c.alpha == 1.0:
        return "adapted (α=1)"
    return f"homotopy α={c.alpha:g}"


def check_adapted_defined(model, Xt: torch.Tensor, N: int, q: int, cfg: FlowsConfig) -> tuple[int, int]:
    """Before running anything: the adapted flow needs ``K >= QN`` and ``rank D(theta_0) = QN`` unless the
    least-squares variant is asked for. Returns ``(K, rank D(theta_0))``."""
    import torch  # noqa: PLC0415

    from geomdl.math import gradient_flows as fl  # noqa: PLC0415
    from geomdl.math.jacobian import jacobian  # noqa: PLC0415

    K = sum(p.numel() for p in model.parameters())
    QN = N * q
    adapted = [c for c in cfg.flow_configs() if c.alpha > 0]
    needs = bool(adapted)
    if needs:
        fl.check_overparametrized(K, QN, adapted[0])
    D = jacobian(model, Xt)
    sv = torch.linalg.svdvals(D)
    rank = fl.numerical_rank(sv, cfg.rank_rtol)
    if needs and rank < QN and not cfg.least_squares:
        raise GeomdlError(f"rank D(theta_0) = {rank} < QN = {QN} (K = {K}): the adapted flow is undefined here; "
                          "ask for the least-squares variant (--set least_squares=true), or raise the input "
                          "dimension m / the widths (tight clusters in low dimension share linear regions)")
    return K, rank


def run(cfg: FlowsConfig, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, FlowsRunResult]:
    """Build data and network, integrate every flow from the same ``theta_0``, record. ``progress(k, cost)``
    advances from 0 to ``cfg.steps`` over all flows together."""
    import torch  # noqa: PLC0415

    from geomdl.math import gradient_flows as fl  # noqa: PLC0415
    from geomdl.nn.model import resolve_device, resolve_dtype  # noqa: PLC0415

    cfg.validate()
    X, labels = data.clustered(cfg.data_config())
    N, M = X.shape
    q = cfg.q
    model = fl.build_flow_model(M, cfg.widths, q, cfg.activation, dtype=cfg.dtype, device=cfg.device,
                                seed=cfg.seed)
    dev = resolve_device(cfg.device)
    Xt = torch.as_tensor(X, dtype=resolve_dtype(cfg.dtype), device=dev)
    K, rank0 = check_adapted_defined(model, Xt, N, q, cfg)
    fcs = cfg.flow_configs()
    F, S = len(fcs), cfg.steps + 1
    results = []
    for i, c in enumerate(fcs):
        def tick(k: int, cost: float, i=i) -> None:
            if progress is not None:
                progress(int((i * S + k) * cfg.steps // (F * S)), cost)
        results.append(fl.integrate(model, X, labels, c, progress=tick))

    y, a = fl.targets(labels, q), fl.cost_weights(cfg.loss, labels, q)
    arrays = {"X": X, "labels": labels, "Y": y.reshape(N, q), "s": results[0].s,
              "steps": np.arange(S, dtype=np.int64), "alphas": np.array([c.alpha for c in fcs]),
              "freeze": np.array([c.kinks == "freeze" for c in fcs]),
              "predicted": results[0].predicted}
    for key in ("outputs", "cost", "rank", "sigma_min", "sigma_max", "trap_ratio", "theta_dist", "valid",
                "substeps", "kink_crossings"):
        arrays[key] = np.stack([getattr(r, key) for r in results])
    line, interp, wv, md, nc1 = [], [], [], [], []
    for r in results:
        ld, ie = fl.straight_line_errors(r.s, np.nan_to_num(r.outputs), y, a)
        ld[~r.valid], ie[~r.valid] = np.nan, np.nan
        line.append(ld)
        interp.append(ie)
        nc = fl.output_collapse(r.outputs, labels, q)
        wv.append(nc["within_var"])
        md.append(nc["mean_dist"])
        nc1.append(nc["nc1"])
    arrays.update(line_dist=np.stack(line), interp_err=np.stack(interp), within_var=np.stack(wv),
                  mean_dist=np.stack(md), nc1=np.stack(nc1))

    summaries = [dict(r.summary, label=flow_label(c)) for r, c in zip(results, fcs, strict=True)]
    notes = [f"{s['label']}: {r.message}" for s, r in zip(summaries, results, strict=True)
             if r.stop_reason != "completed"]
    for s_ in summaries:
        if s_["alpha"] == 1.0 and s_["kink_pairs_chattering"] > 0:
            notes.append(f"{s_['label']}: {s_['kink_pairs_chattering']} (point, unit) pre-activations chattered "
                         f"across their ReLU kink (sliding): the exponential law does not hold there")
    worst = ("diverged" if any(r.stop_reason == "diverged" for r in results) else
             "rank-collapse" if any(r.stop_reason == "rank-collapse" for r in results) else "completed")
    message = "; ".join(f"{s['label']}: cost {s['cost_0']:.3g} -> {s['cost_end']:.3g}" for s in summaries)
    meta = header(
        KIND, cfg.to_dict(), seed=cfg.seed, q=q, m=M, widths=cfg.widths, loss=cfg.loss, stop_reason=worst,
        stop_message=message, notes=notes, N=N, K=K, QN=N * q, rank0=rank0, activation=cfg.activation,
        device=str(dev), flows=summaries, labels=[s["label"] for s in summaries],
    )
    final = min(s["cost_end"] for s in summaries)
    return Trace(meta=meta, arrays=arrays), FlowsRunResult(worst, cfg.steps, final, message, summaries)


# ------------------------------------------------------------------------------------------- tables
SUMMARY_COLUMNS = ("label", "alpha", "kinks", "stop_reason", "tau_end", "cost_0", "cost_end", "law_rel_err_max",
                   "line_dist_max", "line_dist_rel", "interp_err_max", "rank_min", "rank_max",
                   "rank_deficient_first_s", "sigma_min_min", "trap_eps", "trap_ratio_min", "trapped_first_s",
                   "trapped_fraction", "within_var_rate", "mean_dist_rate", "kink_crossings", "kink_pairs_crossed",
                   "kink_pairs_chattering", "kink_frozen_max", "kink_infeasible", "theta_dist_end",
                   "substeps_total", "K", "QN")
SERIES_COLUMNS = ("flow", "label", "alpha", "kinks", "k", "s", "tau", "t", "cost", "predicted", "rank",
                  "sigma_min", "sigma_max", "trap_ratio", "trapped", "line_dist", "interp_err", "nc1",
                  "theta_dist", "valid")


def _fmt(v) -> str:
    if isinstance(v, (list, tuple)):
        return " ".join(_fmt(x) for x in v)
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v)).lower()
    if isinstance(v, (float, np.floating)):
        return "nan" if math.isnan(v) else repr(float(v))
    return str(v)


def write_tables(trace: Trace, out_dir: Path) -> list[Path]:
    """``flows_summary.csv`` (one row per flow: every check) and ``flows_series.csv`` (one row per flow and grid
    point; per-class columns ``within_var_j`` and ``mean_dist_j``). Atomic writes."""
    out_dir = ensure_writable_dir(Path(out_dir))
    a, meta = trace.arrays, trace.meta
    N, q = a["X"].shape[0], meta["Q"]
    paths = []
    p = out_dir / "flows_summary.csv"
    with atomic_path(p) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(SUMMARY_COLUMNS)
        for s in meta["flows"]:
            w.writerow([_fmt(s.get(c, "")) for c in SUMMARY_COLUMNS])
    paths.append(p)
    p = out_dir / "flows_series.csv"
    cls_cols = [f"within_var_{j}" for j in range(q)] + [f"mean_dist_{j}" for j in range(q)]
    with atomic_path(p) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*SERIES_COLUMNS, *cls_cols])
        for f, s in enumerate(meta["flows"]):
            eps = s["trap_eps"]
            for k, sk in enumerate(a["s"]):
                row = [f, s["label"], s["alpha"], s["kinks"], k, sk, sk / N, 1 - math.exp(-sk / N),
                       a["cost"][f, k], a["predicted"][k], a["rank"][f, k], a["sigma_min"][f, k],
                       a["sigma_max"][f, k], a["trap_ratio"][f, k], bool(a["trap_ratio"][f, k] < eps),
                       a["line_dist"][f, k], a["interp_err"][f, k], a["nc1"][f, k], a["theta_dist"][f, k],
                       bool(a["valid"][f, k])]
                row += list(a["within_var"][f, k]) + list(a["mean_dist"][f, k])
                w.writerow([_fmt(v) for v in row])
    paths.append(p)
    return paths


def summary_lines(trace: Trace) -> list[str]:
    """One human-readable line per flow (the CLI prints these)."""
    out = []
    N = trace.arrays["X"].shape[0]
    for s in trace.meta["flows"]:
        line = (f"{s['label']:<24} cost {s['cost_0']:.3g} -> {s['cost_end']:.3g} at s/N={s['tau_end']:g}; "
                f"law err {s['law_rel_err_max']:.2e}; off-line {s['line_dist_rel']:.2e}; rank {s['rank_min']}"
                f"..{s['rank_max']}/{s['QN']}; rho_min {s['trap_ratio_min']:.3g}, trapped "
                f"{s['trapped_fraction']:.0%}")
        if not math.isnan(s["trapped_first_s"]) and s["trapped_fraction"] > 0:
            line += f" from s/N={s['trapped_first_s'] / N:.3g}"
        line += (f"; NC rates (per s/N) var {np.mean(s['within_var_rate']):.3g}, mean "
                 f"{np.mean(s['mean_dist_rate']):.3g}; kink crossings {s['kink_crossings']} "
                 f"({s['kink_pairs_chattering']} chattering)")
        if s["stop_reason"] != "completed":
            line += f"; STOPPED: {s['stop_reason']}"
        out.append(line)
    return out
