"""One flow's config and the flows' names and checks, without torch (:mod:`geomdl.math.gradient_flows`
integrates): the flows experiment builds and validates them when a cached trace is looked up, which must not
import torch."""

from __future__ import annotations

import numpy as np

from geomdl.checks import check_choice
from geomdl.errors import GeomdlError, UsageError
from geomdl.fields import check_fields, config, shared

COSTS = ("mse", "wmse")
ACTIVATIONS = ("relu", "softplus")
KINKS = ("cross", "freeze")
GRIDS = ("t", "s")
ACCURACY = 0.1     # sub-step at most ACCURACY / max(a): a tenth of the adapted flow's time constant (N for mse)
SOLVERS = ("auto", "lstsq", "svd", "cholesky")


def check_activation(name: str) -> None:
    check_choice(name, ACTIVATIONS, "activation")


def check_solver(name: str) -> None:
    check_choice(name, SOLVERS, "solver")
INTEGRATORS = ("euler", "rk4")
STABILITY = {"euler": 2.0, "rk4": 2.785}     # stability interval of each scheme on the negative real axis
STOP_REASONS = ("completed", "rank-collapse", "stiff", "diverged")
CHATTER = 3    # a (point, unit) pre-activation that changes sign this often is sliding along its kink


@config
class FlowConfig:
    """One flow of the homotopy. ``tau_max``: the flow runs over ``s in [0, tau_max * N]``."""

    alpha: float = 1.0
    tau_max = shared(4.0)
    steps = shared(200)
    integrator = shared("rk4")
    substeps: int = 0
    max_substeps: int = 200
    max_dtheta: float = 1.0
    solver = shared("auto")
    least_squares = shared(False)
    rank_rtol = shared(1e-9)
    trap_eps = shared(0.5)
    cost: str = "mse"
    grid = shared("t")
    kinks: str = "cross"
    kink_lookahead: float = 2.0
    kink_iters: int = 8

    def validate(self) -> None:
        if not (np.isfinite(self.alpha) and 0.0 <= self.alpha <= 1.0):
            raise GeomdlError(f"alpha must be in [0, 1] (got {self.alpha}): 0 = standard flow, 1 = adapted flow")
        if not (np.isfinite(self.tau_max) and self.tau_max > 0):
            raise GeomdlError(f"tau_max (flow time s_max / N) must be a positive number (got {self.tau_max})")
        check_fields(self, "steps")
        if self.integrator not in INTEGRATORS:
            raise UsageError(f"unknown integrator {self.integrator!r}; known: {', '.join(INTEGRATORS)}")
        if not (np.isfinite(self.max_dtheta) and self.max_dtheta > 0):
            raise GeomdlError(f"max_dtheta must be a positive number (got {self.max_dtheta})")
        if self.substeps < 0 or self.max_substeps < 1:
            raise GeomdlError(f"substeps must be >= 0 (0 = automatic) and max_substeps >= 1 "
                              f"(got {self.substeps}, {self.max_substeps})")
        check_solver(self.solver)
        if not (np.isfinite(self.rank_rtol) and 0 < self.rank_rtol < 1):
            raise GeomdlError(f"rank_rtol must be in (0, 1) (got {self.rank_rtol})")
        if not (np.isfinite(self.trap_eps) and self.trap_eps > 0):
            raise GeomdlError(f"trap_eps must be a positive number (got {self.trap_eps})")
        if self.grid not in GRIDS:
            raise UsageError(f"unknown grid {self.grid!r}; known: {', '.join(GRIDS)}")
        if self.kinks not in KINKS:
            raise UsageError(f"unknown kink handling {self.kinks!r}; known: {', '.join(KINKS)}")
        if not (np.isfinite(self.kink_lookahead) and self.kink_lookahead > 0) or self.kink_iters < 1:
            raise GeomdlError(f"kink_lookahead must be > 0 and kink_iters >= 1 (got {self.kink_lookahead}, "
                              f"{self.kink_iters})")
        if self.cost not in COSTS:
            hint = " (cross-entropy has no output-space exponential law)" if self.cost == "ce" else ""
            raise UsageError(f"unknown flow cost {self.cost!r}; known: {', '.join(COSTS)}{hint}")
