"""Experiment ``local-minima``: the toggle points of the clustered construction, recorded for the tour clip
(docs/math.md §5).

``Q`` clustered classes and the zero-loss (CE24) construction. A *toggle pattern* ``p`` in ``{0, 1}^Q`` keeps
layer ``l``'s collapse of its class when ``p[l] = 1`` and shifts the layer's base point back along its cone axis
when ``p[l] = 0`` (the identity on the data), with the output layer refit by least squares
(:func:`geomdl.math.landscape.toggle_network`). The ``2^Q - 1`` patterns other than all ones are the suboptimal
"minima" (docs/math.md §5); all ones is the global minimum (loss ~0) and closes the tour.

For every pattern (most collapses first, the global minimum last) the trace records one snapshot of the toggle
point and, with ``polish`` (default), a second snapshot of where local descent takes it: float64 L-BFGS from the
toggle point (:func:`geomdl.math.landscape.polish`). So the trace has ``S = P`` or ``2 P`` snapshots (``P = 2^Q``); its
``steps`` axis is the tour index ``0..S-1`` (not a training step). Extra arrays:

- ``pattern`` (S, Q) int8: the pattern of each snapshot; ``stage`` (S,) int8: 0 toggle point, 1 after L-BFGS;
- ``collapse_class`` (S, L) int8: the class layer ``l`` collapses at the toggle point (the construction's SLS
  order), -1 where the pattern undoes it;
- ``grad_norm`` (S,): the loss gradient's norm; ``grad_norm_hidden`` (S,): its hidden-layer part;
- ``accuracy`` (S,); ``region_infimum`` (S,): the best affine least-squares loss on the uncollapsed classes
  (:func:`geomdl.math.landscape.affine_ls_loss`), the infimum of the pattern's activation region;
- ``local_minimum`` (S,) int8: 1 when the gradient is below 1e-8 and none of 301 perturbations of size 1e-3
  lowers the loss (:func:`geomdl.math.landscape.minimum_verdict`); meta ``reasons``: per snapshot, why not ("" when it
  is one). Every toggle network is checked by the structural verifier (:mod:`geomdl.math.structure`) before it is
  recorded; meta ``structure_margin`` holds each one's smallest relative margin.

``geometry``: ``clustered`` (balls spanning ``R^M``) or ``flat`` (balls on the affine subspace
``x_1 + .. + x_Q = 1``, base points lifted off it; :func:`geomdl.math.constructions.flat_construction`). The notes'
claim that toggle points are local minima holds exactly where the uncollapsed classes' affine span has
codimension at least the number of collapsed classes (docs/local-minima.md): for ``clustered`` only the pattern
``0..0``; for ``flat`` in ``R^Q`` every pattern with at most one collapse; for ``flat`` with ``m >= 2Q - 2``
every pattern.

Measured (Q=3, 120 points/class, seed 0): clustered: the one- and two-collapse patterns have loss 0.014-0.021
and gradient 0.1-0.4 (not stationary; 100-170 of 301 perturbations lower the loss), ``000`` is stationary
(gradient 2e-14) and a local minimum. Flat (``R^3``): the one-collapse patterns and ``000`` have gradient
<= 3e-13 and no perturbation lowers the loss; the two-collapse patterns have gradient 0.2-0.8.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from geomdl.errors import GeomdlError, UsageError
from geomdl.fields import config, shared
from geomdl.io.trace import Trace, header
from geomdl.math import geometries
from geomdl.nn.train_config import TrainResult

# the recorder, the constructions and the trainer (scipy, torch) are imported where a run needs them: the
# config, its hash and its file name are all that rendering a cached trace needs (no torch, no scipy)

KIND = "local-minima"
STAGES = ("toggle point", "after L-BFGS")


@config
class Config:
    """``geometry`` (clustered or flat), ``q`` classes in ``R^m`` (``None``: ``M = Q``, at least 3),
    ``n_per_class``, ``radius``, ``seed``; ``polish``: also record where L-BFGS goes from each toggle point
    (``polish_iters`` per round, 3 rounds)."""

    geometry = shared("clustered")
    q = shared(3)
    m = shared(None)
    n_per_class = shared(120)
    radius = shared(0.25)
    seed = shared(0)
    polish: bool = True
    polish_iters: int = 600

    def geometry_config(self) -> geometries.GeometryConfig:
        return geometries.GeometryConfig(self.geometry, q=self.q, m=self.m, n_per_class=self.n_per_class,
                                         radius=self.radius, seed=self.seed)

    def validate(self) -> None:
        if self.geometry not in geometries.TOGGLE_GEOMETRIES:
            raise UsageError(f"local-minima toggles the cone construction: geometry must be one of "
                             f"{', '.join(geometries.TOGGLE_GEOMETRIES)} (got {self.geometry!r})")
        if not 2 <= self.q <= 6:
            raise GeomdlError(f"local-minima tours the 2^Q toggle patterns: Q must be in 2..6 (got {self.q})")
        if self.polish_iters < 1:
            raise GeomdlError(f"polish_iters must be >= 1 (got {self.polish_iters})")
        self.geometry_config().validate()


def stem(cfg: Config) -> str:
    return (("" if cfg.geometry == "clustered" else f"{cfg.geometry}_") + f"q{cfg.q}_seed{cfg.seed}"
            + ("" if cfg.polish else "_nopolish"))


def tour_patterns(q: int) -> list[tuple[int, ...]]:
    """The ``2^Q - 1`` suboptimal patterns (most collapses first), then the global minimum (all ones)."""
    from geomdl.math import landscape  # noqa: PLC0415

    return [*landscape.toggle_patterns(q), (1,) * q]


def run(cfg: Config, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, TrainResult]:
    """Build the data, every toggle network (and its L-BFGS end point), record one snapshot each."""
    from geomdl.io.recorder import Recorder, data_arrays, residual_notes  # noqa: PLC0415
    from geomdl.math import constructions, landscape  # noqa: PLC0415

    cfg.validate()
    gcfg = cfg.geometry_config()
    X, labels = geometries.make_data(gcfg)
    X = np.asarray(X, dtype=float)
    q, M = cfg.q, X.shape[1]
    full = geometries.toggle_base(gcfg, X, labels)
    rec = Recorder(X, labels, q)
    extra: dict[str, list] = {k: [] for k in ("pattern", "stage", "grad_norm", "grad_norm_hidden", "accuracy",
                                              "region_infimum", "collapse_class", "local_minimum")}
    reasons, margins = [], []
    rows = []
    for pat in tour_patterns(q):
        net = landscape.toggle_network(X, labels, pat, full)
        margins.append(net.structure.margin)
        nets = [net]
        if cfg.polish:
            nets.append(landscape.polish(net, X, labels, iters=cfg.polish_iters)[0])
        uncollapsed = [j for j in range(q) if not pat[j]]
        inf = landscape.affine_ls_loss(X, labels, uncollapsed, q)
        for stage, nt in enumerate(nets):
            out = nt.outputs(X)
            loss = constructions.mse_loss(out, labels)
            gn, per = landscape.gradient_norms(nt, X, labels)
            rec.record(len(rec), loss, nt.Ws, nt.bs, nt.W_out, nt.b_out)
            extra["pattern"].append(pat)
            extra["collapse_class"].append(net.collapses)
            extra["stage"].append(stage)
            extra["grad_norm"].append(gn)
            extra["grad_norm_hidden"].append(float(np.sqrt(sum(v * v for v in per[:-2]))))
            extra["accuracy"].append(float(np.mean(out.argmax(1) == labels)))
            extra["region_infimum"].append(inf)
            # at an L-BFGS end point the toggle's collapse structure need not hold: no structural reason then
            verdict = landscape.minimum_verdict(nt, X, labels, gn, net.collapses if stage == 0 else None)
            extra["local_minimum"].append(int(verdict["local_minimum"]))
            reasons.append(verdict["reason"])
            if progress is not None:
                progress(len(rec) - 1, loss)
        rows.append("".join(map(str, pat)))
    arrays = rec.arrays()
    arrays.update(pattern=np.array(extra["pattern"], dtype=np.int8), stage=np.array(extra["stage"], dtype=np.int8),
                  collapse_class=np.array(extra["collapse_class"], dtype=np.int8),
                  local_minimum=np.array(extra["local_minimum"], dtype=np.int8),
                  **{k: np.array(extra[k], dtype=float) for k in ("grad_norm", "grad_norm_hidden", "accuracy",
                                                                    "region_infimum")})
    arrays.update(data_arrays(X, labels))
    notes = ["steps is the tour index (one snapshot per toggle pattern and stage), not a training step",
             *residual_notes(arrays, why=" (L-BFGS end points can be rank-deficient)")]
    S = len(arrays["steps"])
    meta = header(
        KIND, cfg.to_dict(), seed=cfg.seed, q=q, m=M, widths=[M] * q, loss="mse", stop_reason="tour",
        stop_message=f"{len(rows)} toggle patterns recorded", final_step=S - 1, notes=notes, patterns=rows,
        stages=list(STAGES), polished=cfg.polish, geometry=cfg.geometry, reasons=reasons, structure_margin=margins,
    )
    final = float(arrays["loss"][-1])
    return Trace(meta=meta, arrays=arrays), TrainResult("tour", S - 1, final, meta["stop_message"])
