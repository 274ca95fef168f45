"""Gradient flows in output space (docs/math.md §8; Chen & Muñoz Ewald, arXiv 2408.01517).

Parameters ``theta in R^K``, stacked outputs ``x[theta] in R^{QN}`` (layout of :mod:`geomdl.math.jacobian`),
targets ``y`` (the one-hot ``y_{w(r)}`` of each point, stacked the same way), Jacobian ``D = dx/dtheta: (QN, K)``
and ``g = grad_x C: (QN,)``. With ``s`` the flow time, the flows integrated here are the homotopy

    theta' = -((1 - alpha) I + alpha Pen[D] Pen[D^T]) grad_theta C = -((1 - alpha) D^T g + alpha D^+ g),

``alpha in [0, 1]``: ``alpha = 0`` is the standard gradient flow ``theta' = -grad_theta C = -D^T g``,
``alpha = 1`` the adapted (Penrose) flow ``theta' = -D^+ g`` (``Pen[D] Pen[D^T] D^T = D^+ D D^+ = D^+``).
In output space ``x' = D theta' = -((1 - alpha) D D^T + alpha P) g`` with ``P = D D^+`` the orthoprojector onto
``range D`` (``P = I`` when ``rank D = QN``).

Cost and the exponential law. The costs are quadratic, ``C = 1/2 sum_i a_i (x_i - y_i)^2``, ``g = a * (x - y)``:

- ``mse``, the paper's ``C = |x - y|^2 / (2N)``: ``a_i = 1/N`` for every row, so along the adapted flow with
  ``rank D = QN``, ``x' = -(x - y)/N``, ``x(s) - y = e^{-s/N} (x(0) - y)`` and **exactly**
  ``C(s) = e^{-2s/N} C(0)``; this is the normalisation that gives the paper's rate (and the default);
- ``wmse``, CE23/CE24's ``C = sum_j (1/N_j) sum_i |x_{j,i} - y_j|^2``: ``a = 2/N_j`` for the rows of class ``j``,
  so each class decays at its own rate, ``x_{j,i}(s) - y_j = e^{-2s/N_j}(...)``, and ``C(s)`` is a sum of
  ``e^{-4s/N_j}`` terms (for balanced classes ``e^{-4Qs/N} C(0)``): **not** the ``e^{-2s/N}`` law.
:func:`predicted_cost` gives the exact adapted-flow prediction for either cost; the reported law error is
``max_s |C(s) / C_pred(s) - 1|``. Outputs move on straight lines: ``x_r(s) = (1 - t_r) x_r(0) + t_r y_r`` with
``t_r = 1 - e^{-a_r s}`` (``t = 1 - e^{-s/N}`` for ``mse``); cross-entropy has no such law and is refused.

Solving for ``D^+ g`` (never an explicit inverse), ``solver``:

- ``lstsq``: ``torch.linalg.lstsq(D, g)`` with LAPACK ``gelsd`` (SVD based, minimum-norm, rank-revealing with
  ``rcond = rank_rtol``); CPU only (CUDA's ``lstsq`` only does overdetermined systems);
- ``svd``: ``D = U S V^T``, ``D^+ g = V S^+ U^T g`` cutting ``s_i <= rank_rtol * s_max``; any device;
- ``cholesky``: ``D D^T psi = g`` by a Cholesky factorisation, ``D^+ g = D^T psi``; cheapest, but squares the
  condition number and needs ``rank D = QN`` (a failed factorisation is reported as a rank collapse);
- ``auto``: ``lstsq`` on CPU, ``svd`` on CUDA.

Rank-deficient (least-squares) variant (paper, "overparametrized with rank loss"): ``theta' = D^T Psi`` with
``Psi = argmin |D D^T Psi + g|^2``. Every minimiser gives the same ``D^T Psi`` (minimisers differ by
``ker D D^T = ker D^T``), and the minimum-norm one is ``Psi = -(D D^T)^+ g``, so ``D^T Psi = -D^+ g`` with the
pseudo-inverse: the same formula as above with a rank cut (``rank_rtol``), and ``x' = -P g``. It is used only
when asked (``least_squares=True``). Without it the adapted/homotopy flows (``alpha > 0``) require
``rank D = QN``: ``K < QN`` (underparametrized) or a rank-deficient ``D(theta_0)`` is a :class:`GeomdlError`
before anything runs, and a rank drop during the flow stops that flow with ``stop_reason = "rank-collapse"``
(recorded, never hidden). Rank is the number of singular values above ``rank_rtol * s_max`` (default
``1e-9``: a float64 ``D`` that is singular in exact arithmetic shows singular values near ``1e-16 s_max``).

Integrator (our choice): explicit **RK4** (default) or **Euler** in the flow time ``s`` over a
fixed grid ``0 = s_0 < ... < s_steps = tau_max N`` recorded at every point: ``grid="t"`` (default) uniform in
the paper's time ``t = 1 - e^{-s/N}`` (dense early, where the flows move fast; the clip's time axis), or
``grid="s"`` uniform in ``s``. Each grid interval is split into ``substeps`` equal sub-steps; ``substeps = 0``
(default) chooses them at the start of the interval from (a) stability of the linearised output dynamics,
whose fastest rate is ``max(a) ((1 - alpha) s_max(D)^2 + alpha)``: sub-step ``<= 0.5 c / rate`` (``c = 2``
Euler, ``2.785`` RK4 on the negative real axis), and (b) accuracy: sub-step ``<= 0.1 / max(a)`` (a tenth of
the adapted flow's time constant, ``N`` for ``mse``); capped at ``max_substeps``. A sub-step is also shortened
so that it never moves ``theta`` by more than ``max_dtheta`` (near-singular ``D`` makes ``|D^+ g|`` huge and
the output-space rates above meaningless); an interval that would need more than ``max_substeps`` sub-steps
stops the flow with ``stop_reason = "stiff"`` (reported, like a rank collapse). Euler on ``grid="s"`` with
``substeps = 1`` and ``alpha = 0`` is plain full-batch gradient descent with learning rate ``tau_max N /
steps``, step for step.

ReLU kinks (measured; not in the paper). The law needs ``x(theta)`` differentiable along the orbit, which the
paper assumes (smooth ``sigma``). With ReLU, ``-D^+ g`` drives pre-activations ``z`` of some (point, unit)
pairs onto their kink ``z = 0`` from both sides: the orbit chatters along the kink (a Filippov sliding mode),
where the two one-sided Jacobians differ and the sliding point's outputs do not move with ``-g``. This is not
integration error (refining the step does not reduce it; with ``softplus`` it does). ``kinks="cross"`` (default:
the paper's flow as defined) lets it happen and counts it (sign changes between sub-steps; a pair that changed
sign ``>= 3`` times is chattering). ``kinks="freeze"`` is a region-preserving adapted flow: of the velocities
with ``D theta' = -g`` it takes the least-norm one that keeps every pre-activation about to reach its kink
(within ``kink_lookahead`` sub-steps) where it is (``grad z . theta' = 0``), solved with the extra rows by
:func:`gram_min_norm`; the activation pattern never changes, ``x(theta)`` is smooth along the orbit and the law
holds to integration accuracy (when those constraints are incompatible with ``D theta' = -g`` the unconstrained
step is taken and counted as ``kink_infeasible``).

Recorded along the orbit (per grid point): outputs, cost, ``rank D``, its extreme singular values, the
trapping ratio ``rho = |D^T g| / |g|`` (paper: the standard flow is trapped where ``rho < trap_eps``; for
``mse`` ``rho^2`` is the standard flow's instantaneous cost decay rate relative to the adapted flow's, since
``dC/ds = -|D^T g|^2`` vs ``-|P g|^2``), ``|theta - theta_0|``, the kink crossings, and the neural-collapse
quantities of the outputs (:func:`output_collapse`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import jvp, vjp, vmap

from geomdl.checks import choice_error
from geomdl.errors import GeomdlError, UsageError
from geomdl.math import metrics
from geomdl.math.flow_config import (  # noqa: F401 (re-exported)
    ACCURACY,
    ACTIVATIONS,
    CHATTER,
    COSTS,
    GRIDS,
    INTEGRATORS,
    KINKS,
    SOLVERS,
    STABILITY,
    STOP_REASONS,
    FlowConfig,
    check_activation,
    check_solver,
)
from geomdl.math.jacobian import ParamLayout, flat_params, jacobian, outputs_and_vjp
from geomdl.nn.model import ReLUMLP, resolve_device, resolve_dtype


class FlowMLP(ReLUMLP):
    """The network of math.md §1 (hidden layers ``sigma(W x + b)``, affine output) with any hidden widths (the flows
    need ``K >= QN``, so layers wider than the input are the point here) and a choice of ``sigma``:
    ``relu`` (docs/math.md §1) or ``softplus`` ``log(1 + e^{beta z}) / beta``, a smooth stand-in that satisfies the
    paper's smoothness hypothesis (used to separate the effect of ReLU kinks from integration error).
    Parameter names and order are those of :class:`~geomdl.nn.model.ReLUMLP`.
    """

    def __init__(self, in_dim: int, widths: list[int], out_dim: int, activation: str = "relu",
                 beta: float = 5.0):
        check_activation(activation)
        super().__init__(in_dim, widths, out_dim)
        self.activation, self.beta = activation, float(beta)

    def sigma(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z) if self.activation == "relu" else torch.nn.functional.softplus(z, beta=self.beta)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = self.sigma(layer(x))
        return self.out(x)

    def forward_all(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        hs = []
        for layer in self.hidden:
            x = self.sigma(layer(x))
            hs.append(x)
        return hs, self.out(x)


def build_flow_model(in_dim: int, widths: list[int] | tuple[int, ...], q: int, activation: str = "relu",
                     beta: float = 5.0, dtype: str = "float64", device: str = "cpu", seed: int = 0) -> FlowMLP:
    """A seeded :class:`FlowMLP` (PyTorch's default initialisation) on the resolved device and dtype."""
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise GeomdlError(f"hidden widths must be positive and at least one layer is needed (got {widths})")
    torch.manual_seed(seed)
    model = FlowMLP(in_dim, widths, q, activation, beta)
    return model.to(device=resolve_device(device), dtype=resolve_dtype(dtype))


def preactivation_map(model: nn.Module, X: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """``theta: (K,) -> z: (N * U,)``, every hidden pre-activation ``W_l x^(l-1) + b_l`` of every point (row-major
    ``(N, U)``, ``U`` = sum of hidden widths), or ``None`` for a model without ``hidden`` linear layers."""
    hidden = getattr(model, "hidden", None)
    if hidden is None:
        return None
    layout = ParamLayout.of(model)
    n_layers = len(hidden)
    sigma = getattr(model, "sigma", torch.relu)

    def zmap(theta: torch.Tensor) -> torch.Tensor:
        p = layout.unflatten(theta)
        h, out = X, []
        for i in range(n_layers):
            z = h @ p[f"hidden.{i}.weight"].T + p[f"hidden.{i}.bias"]
            out.append(z)
            h = sigma(z)
        return torch.cat(out, dim=1).reshape(-1)

    return zmap


def preactivation_signs(model: nn.Module, X: torch.Tensor, theta: torch.Tensor) -> np.ndarray | None:
    """``z > 0`` for every hidden unit and point at parameters ``theta``: ``(N, U)`` bool, or ``None`` for a
    model without ``hidden`` linear layers. A ReLU kink is crossed where a sign changes."""
    zmap = preactivation_map(model, X)
    if zmap is None:
        return None
    with torch.no_grad():
        return (zmap(theta) > 0).reshape(X.shape[0], -1).cpu().numpy()


class TooStiff(Exception):
    """A grid interval needs more than ``max_substeps`` sub-steps (parameter speed too high)."""

    def __init__(self, speed: float):
        super().__init__(f"parameter speed {speed:.3g}")
        self.speed = speed


class NonFinite(Exception):
    """``D`` or ``g`` is not finite: the flow has diverged."""


class RankCollapse(Exception):
    """Raised inside a strict (not least-squares) flow when ``rank D < QN``."""

    def __init__(self, rank: int, full: int):
        super().__init__(f"rank D = {rank} < QN = {full}")
        self.rank, self.full = rank, full


# ------------------------------------------------------------------------------------------- costs
def targets(labels: np.ndarray, q: int) -> np.ndarray:
    """One-hot targets ``y_{w(r)}`` stacked point by point. ``(N * Q,)``"""
    return np.eye(q)[np.asarray(labels)].reshape(-1)


def cost_weights(cost: str, labels: np.ndarray, q: int) -> np.ndarray:
    """``a: (N * Q,)`` with ``C = 1/2 sum_i a_i (x_i - y_i)^2`` (see the module docstring)."""
    labels = np.asarray(labels)
    n = len(labels)
    if cost == "mse":
        a = np.full(n, 1.0 / n)
    elif cost == "wmse":
        counts = np.bincount(labels, minlength=q).astype(float)
        a = 2.0 / counts[labels]
    else:
        raise UsageError(f"unknown flow cost {cost!r}; known: {', '.join(COSTS)}")
    return np.repeat(a, q)


def predicted_cost(s: np.ndarray, x0: np.ndarray, y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Adapted flow with full-rank ``D``: ``C(s) = 1/2 sum_i a_i (x0_i - y_i)^2 e^{-2 a_i s}``. ``(S,)``

    For ``mse`` (all ``a_i = 1/N``) this is ``e^{-2s/N} C(0)``.
    """
    s = np.asarray(s, dtype=float)[:, None]
    return 0.5 * (a * (x0 - y) ** 2 * np.exp(-2.0 * a * s)).sum(axis=1)


def straight_line_errors(s: np.ndarray, outputs: np.ndarray, y: np.ndarray, a: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray]:
    """How far the outputs are from the adapted flow's straight lines.

    ``outputs: (S, N, Q)``, ``y: (N*Q,)``, ``a: (N*Q,)`` (constant within a point). Returns, per grid point:
    ``line_dist: (S,)``, the largest distance of an output ``x_r(s)`` from the line through ``x_r(0)`` and
    ``y_r``; ``interp_err: (S,)``, the largest ``|x_r(s) - ((1 - t_r) x_r(0) + t_r y_r)|`` with
    ``t_r = 1 - e^{-a_r s}`` (the paper's time change; ``t = 1 - e^{-s/N}`` for ``mse``).
    """
    S, N, Q = outputs.shape
    Y = y.reshape(N, Q)
    ar = a.reshape(N, Q)[:, 0]
    x0 = outputs[0]
    d = Y - x0                                                   # (N, Q) direction of each line
    dn = np.linalg.norm(d, axis=1, keepdims=True)
    u = np.where(dn > 0, d / np.maximum(dn, 1e-300), 0.0)
    rel = outputs - x0                                           # (S, N, Q)
    along = (rel * u).sum(axis=2, keepdims=True)
    line_dist = np.linalg.norm(rel - along * u, axis=2).max(axis=1)
    t = 1.0 - np.exp(-np.asarray(s, dtype=float)[:, None] * ar[None, :])        # (S, N)
    ideal = (1 - t)[..., None] * x0 + t[..., None] * Y
    interp_err = np.linalg.norm(outputs - ideal, axis=2).max(axis=1)
    return line_dist, interp_err


# ------------------------------------------------------------------------------------ neural collapse
def output_collapse(outputs: np.ndarray, labels: np.ndarray, q: int) -> dict[str, np.ndarray]:
    """Neural-collapse quantities of the outputs ``(S, N, Q)`` over time.

    - ``within_var: (S, Q)``: ``V_j = (1/N_j) sum_i |x_{j,i} - xbar_j|^2`` (within-class variance);
    - ``mean_dist: (S, Q)``: ``|xbar_j - y_j|`` (distance of the class mean to its one-hot target);
    - ``nc1: (S,)``: :func:`geomdl.math.metrics.nc1_trace_pinv` of the outputs (``tr(Sigma_W Sigma_B^+) / Q``; NaN
      where the class means coincide).

    Along the adapted flow (``mse``, full rank) ``V_j(s) = e^{-2s/N} V_j(0)`` and ``mean_dist_j(s) =
    e^{-s/N} mean_dist_j(0)``: both collapse at the uniform rate (CE23's split of the weighted cost into
    these two sums is exact: ``C_wmse = sum_j V_j + sum_j mean_dist_j^2``). Rows with non-finite outputs
    (after a flow stopped) are NaN.
    """
    outputs = np.asarray(outputs, dtype=float)
    labels = np.asarray(labels)
    S = outputs.shape[0]
    within = np.full((S, q), np.nan)
    mdist = np.full((S, q), np.nan)
    nc1 = np.full(S, np.nan)
    eye = np.eye(q)
    ok = np.isfinite(outputs).all(axis=(1, 2))
    for j in range(q):
        xj = outputs[:, labels == j]                      # (S, N_j, Q)
        if xj.shape[1] == 0:
            continue
        mj = xj.mean(axis=1)
        within[:, j] = ((xj - mj[:, None]) ** 2).sum(axis=2).mean(axis=1)
        mdist[:, j] = np.linalg.norm(mj - eye[j][: outputs.shape[2]], axis=1)
    for k in np.flatnonzero(ok):
        nc1[k] = metrics.nc1_trace_pinv(outputs[k], labels, q)
    within[~ok], mdist[~ok] = np.nan, np.nan
    return {"within_var": within, "mean_dist": mdist, "nc1": nc1}


# ------------------------------------------------------------------------------------------ solves
def resolve_solver(solver: str, device: torch.device) -> str:
    if solver == "auto":
        return "lstsq" if device.type == "cpu" else "svd"
    if solver == "lstsq" and device.type != "cpu":
        raise GeomdlError("solver 'lstsq' (LAPACK gelsd) runs on CPU only; use solver 'svd' or 'cholesky' on CUDA")
    return solver


def penrose_apply(D: torch.Tensor, g: torch.Tensor, solver: str, rank_rtol: float,
                  least_squares: bool) -> tuple[torch.Tensor, int]:
    """``(D^+ g: (K,), rank)`` for ``D: (QN, K)``, ``g: (QN,)`` (least squares; no explicit inverse).

    Raises :class:`RankCollapse` when ``rank D < QN`` unless ``least_squares`` (then the rank-cut
    pseudo-inverse is applied: the paper's least-squares ``Psi``). ``cholesky`` reports ``rank = QN`` when the
    factorisation succeeds (it does not measure the rank) and ``-1`` when it fails.
    """
    n = D.shape[0]
    if solver == "cholesky":
        L, info = torch.linalg.cholesky_ex(D @ D.T)
        if int(info) != 0:
            if least_squares:
                raise GeomdlError("solver 'cholesky' cannot do the least-squares (rank-deficient) flow: "
                                  "D D^T is singular; use solver 'lstsq' or 'svd'")
            raise RankCollapse(-1, n)
        psi = torch.cholesky_solve(g[:, None], L)[:, 0]
        return D.T @ psi, n
    if solver == "lstsq":
        sol = torch.linalg.lstsq(D, g[:, None], rcond=rank_rtol, driver="gelsd")
        rank = int(sol.rank)
        v = sol.solution[:, 0]
    elif solver == "svd":
        U, S, Vh = torch.linalg.svd(D, full_matrices=False)
        keep = S > rank_rtol * S[0]
        rank = int(keep.sum())
        coef = torch.where(keep, (U.T @ g) / torch.where(keep, S, torch.ones_like(S)), torch.zeros_like(S))
        v = Vh.T @ coef
    else:
        raise choice_error(solver, SOLVERS, "solver")
    if rank < n and not least_squares:
        raise RankCollapse(rank, n)
    return v, rank


def gram_min_norm(A: torch.Tensor, b: torch.Tensor, rtol: float = 1e-12) -> torch.Tensor:
    """Minimum-norm solution ``A^T (A A^T)^+ b`` of a consistent wide system ``A u = b`` via the symmetric
    eigen-decomposition of the Gram matrix ``A A^T`` (eigenvalues ``<= rtol * max`` cut: dependent rows).
    Much cheaper than an SVD of ``A`` when ``A`` has far more columns than rows; it squares the condition
    number, which is why the plain adapted flow uses :func:`penrose_apply` and only the kink-freezing
    solve (whose dependent constraint rows are exactly redundant) uses this."""
    lam, V = torch.linalg.eigh(A @ A.T)
    keep = lam > rtol * lam[-1]
    c = V.T @ b
    c = torch.where(keep, c / torch.where(keep, lam, torch.ones_like(lam)), torch.zeros_like(c))
    return A.T @ (V @ c)


def numerical_rank(sv: torch.Tensor, rank_rtol: float) -> int:
    return int((sv > rank_rtol * sv[0]).sum()) if sv.numel() else 0


# ------------------------------------------------------------------------------------------- flows
@dataclass
class FlowResult:
    """One integrated flow. Arrays over the ``S`` recorded grid points (``S = steps + 1`` unless stopped early;
    rows after a stop are NaN and ``valid`` is False there).

    ``s: (S,)`` flow time; ``outputs: (S, N, Q)``; ``cost, predicted: (S,)``; ``rank: (S,)`` int;
    ``sigma_min, sigma_max: (S,)`` extreme singular values of ``D``; ``trap_ratio: (S,)`` = ``|D^T g|/|g|``;
    ``theta_dist: (S,)`` = ``|theta(s) - theta_0|``; ``substeps: (S-1,)`` sub-steps used per interval;
    ``kink_crossings: (S-1,)`` ReLU sign changes (unit, point) between consecutive sub-steps in each interval;
    ``kink_flips: (N, U)`` how often each (point, hidden unit) pre-activation changed sign over the flow
    (``U`` = sum of hidden widths; empty for smooth activations).
    """

    config: FlowConfig
    K: int
    QN: int
    s: np.ndarray
    outputs: np.ndarray
    cost: np.ndarray
    predicted: np.ndarray
    rank: np.ndarray
    sigma_min: np.ndarray
    sigma_max: np.ndarray
    trap_ratio: np.ndarray
    theta_dist: np.ndarray
    substeps: np.ndarray
    kink_crossings: np.ndarray
    valid: np.ndarray
    stop_reason: str
    message: str
    theta: np.ndarray = field(repr=False, default=None)
    kink_flips: np.ndarray = field(repr=False, default=None)
    kink_frozen_max: int = 0
    kink_infeasible: int = 0
    summary: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.stop_reason == "diverged"


class _Field:
    """The vector field of one flow: ``theta -> theta'`` (and the diagnostics at a grid point)."""

    def __init__(self, model: nn.Module, X: torch.Tensor, y: torch.Tensor, a: torch.Tensor, cfg: FlowConfig,
                 solver: str):
        self.model, self.X, self.y, self.a, self.cfg, self.solver = model, X, y, a, cfg, solver
        self.evals = 0
        self.h = 0.0                     # current sub-step (the kink look-ahead needs it)
        self.zmap = preactivation_map(model, X) if cfg.kinks == "freeze" and cfg.alpha > 0 else None
        if cfg.kinks == "freeze" and cfg.alpha > 0 and self.zmap is None:
            raise GeomdlError("kinks='freeze' needs a network with hidden linear layers (model.hidden)")
        self.kink_infeasible = 0
        self.frozen_max = 0
        self.frozen_prev = torch.zeros(0, dtype=torch.bool, device=X.device)
        if self.zmap is not None:
            with torch.no_grad():
                n_z = self.zmap(flat_params(model)).numel()
            self.frozen_prev = torch.zeros(n_z, dtype=torch.bool, device=X.device)

    def grad_x(self, x: torch.Tensor) -> torch.Tensor:
        return self.a * (x - self.y)

    def velocity(self, theta: torch.Tensor, use_jacobian: bool | None = None) -> torch.Tensor:
        """``theta' = -((1 - alpha) D^T g + alpha D^+ g)``. ``alpha = 0`` uses one backward pass (``D^T g``
        without forming ``D``) unless ``use_jacobian``."""
        self.evals += 1
        alpha = self.cfg.alpha
        x, pull = outputs_and_vjp(self.model, self.X, theta)
        g = self.grad_x(x)
        if alpha == 0.0 and not use_jacobian:
            return -pull(g)
        D = jacobian(self.model, self.X, theta)
        if not (bool(torch.isfinite(D).all()) and bool(torch.isfinite(g).all())):
            raise NonFinite()
        v = (1.0 - alpha) * (D.T @ g) if alpha < 1.0 else torch.zeros_like(theta)
        if alpha > 0.0:
            u, _ = penrose_apply(D, g, self.solver, self.cfg.rank_rtol, self.cfg.least_squares)
            if self.zmap is not None:
                u = self.freeze_kinks(theta, D, g, u)
            v = v + alpha * u
        return -v

    def freeze_kinks(self, theta: torch.Tensor, D: torch.Tensor, g: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Region-preserving adapted component (``kinks="freeze"``): ``u`` with ``D u = g`` of least norm such that
        no pre-activation that would reach its kink within ``kink_lookahead`` sub-steps moves towards it
        (``grad z_i . u = 0`` for those: an active set, warm-started from the previous evaluation's and grown
        until no pair is left to freeze). Then the orbit keeps its activation pattern, ``x(theta)`` stays smooth
        along it, and ``x' = -g`` exactly (up to the solve's residual)."""
        base = u
        gn = max(float(torch.linalg.vector_norm(g)), 1e-300)
        base_miss = float(torch.linalg.vector_norm(D @ u - g)) / gn   # > 0 only for the least-squares variant
        z, dz = jvp(self.zmap, (theta,), (-u,))                 # velocity of the adapted part is -u
        heading = (z * dz < 0) | ((z == 0) & (dz != 0))
        near = z.abs() <= self.cfg.kink_lookahead * self.h * dz.abs()
        frozen = (heading & near) | (self.frozen_prev & ~(z * dz > 0))
        if not bool(frozen.any()):
            self.frozen_prev = frozen
            return u
        _, pull = vjp(self.zmap, theta)
        grad_rows = vmap(lambda e: pull(e)[0])
        A, have = D, torch.zeros_like(frozen)
        for _ in range(self.cfg.kink_iters):
            idx = torch.nonzero(frozen & ~have).flatten()        # rows not computed yet at this theta
            E = torch.zeros(len(idx), z.numel(), dtype=z.dtype, device=z.device)
            E[torch.arange(len(idx)), idx] = 1.0
            A = torch.cat([A, grad_rows(E)])                     # (QN + |frozen|, K)
            have = have | frozen
            rhs = torch.cat([g, torch.zeros(len(A) - len(g), dtype=g.dtype, device=g.device)])
            u = gram_min_norm(A, rhs)
            miss = float(torch.linalg.vector_norm(D @ u - g)) / gn
            if miss > base_miss + 1e-8:                         # constraints incompatible with x' = -P g
                self.kink_infeasible += 1
                self.frozen_prev = torch.zeros_like(frozen)
                return base
            _, dz = jvp(self.zmap, (theta,), (-u,))
            heading = (z * dz < 0) | ((z == 0) & (dz != 0))
            new = heading & (z.abs() <= self.cfg.kink_lookahead * self.h * dz.abs()) & ~frozen
            if not bool(new.any()):
                break
            frozen = frozen | new
        self.frozen_prev = frozen
        self.frozen_max = max(self.frozen_max, int(frozen.sum()))
        return u

    def diagnostics(self, theta: torch.Tensor) -> dict:
        """Outputs, cost, rank and singular values of ``D``, trapping ratio at ``theta``."""
        x, _ = outputs_and_vjp(self.model, self.X, theta)
        g = self.grad_x(x)
        D = jacobian(self.model, self.X, theta)
        sv = torch.linalg.svdvals(D)
        gn = float(torch.linalg.vector_norm(g))
        return {
            "x": x.detach().cpu().numpy(), "cost": float(0.5 * (self.a * (x - self.y) ** 2).sum()),
            "rank": numerical_rank(sv, self.cfg.rank_rtol), "sigma_min": float(sv[-1]) if len(sv) else 0.0,
            "sigma_max": float(sv[0]) if len(sv) else 0.0,
            "trap_ratio": float(torch.linalg.vector_norm(D.T @ g)) / gn if gn > 0 else 0.0,
        }


def _step(fieldfn: Callable[[torch.Tensor], torch.Tensor], theta: torch.Tensor, h: float,
          integrator: str, k1: torch.Tensor | None = None) -> torch.Tensor:
    """One Euler or classical RK4 step of size ``h`` (``k1``: the field at ``theta`` when already known)."""
    k1 = fieldfn(theta) if k1 is None else k1
    if integrator == "euler":
        return theta + h * k1
    k2 = fieldfn(theta + 0.5 * h * k1)
    k3 = fieldfn(theta + 0.5 * h * k2)
    k4 = fieldfn(theta + h * k3)
    return theta + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)


def flow_grid(cfg: FlowConfig, N: int) -> np.ndarray:
    """The recorded grid ``s_0 = 0 < ... < s_steps = tau_max N``. ``(steps + 1,)``

    ``grid="s"``: uniform in ``s``; ``grid="t"``: uniform in the paper's time ``t = 1 - e^{-s/N}``
    (``s_k = -N ln(1 - k t_max / steps)``, ``t_max = 1 - e^{-tau_max}``): dense where the flows move fast."""
    k = np.arange(cfg.steps + 1) / cfg.steps
    if cfg.grid == "s":
        return cfg.tau_max * N * k
    t_max = -np.expm1(-cfg.tau_max)
    s = -N * np.log1p(-t_max * k)
    s[-1] = cfg.tau_max * N
    return s


def check_overparametrized(K: int, QN: int, cfg: FlowConfig) -> None:
    """The adapted/homotopy flow needs ``K >= QN`` unless the least-squares variant is asked for."""
    if cfg.alpha > 0 and K < QN and not cfg.least_squares:
        raise GeomdlError(
            f"underparametrized: K = {K} parameters < QN = {QN} outputs, so rank D < QN and D D^T is singular: "
            f"the adapted flow (alpha = {cfg.alpha:g}) is undefined; ask for the least-squares variant "
            "(least_squares=True, e.g. --set least_squares=true) or use a wider network")


def integrate(model: nn.Module, X: np.ndarray, labels: np.ndarray, cfg: FlowConfig,
              progress: Callable[[int, float], None] | None = None) -> FlowResult:
    """Integrate one flow of the homotopy from the model's current parameters (the model is left unchanged).

    ``X: (N, M)``, ``labels: (N,)``; the model maps ``R^M -> R^Q``. ``progress(k, cost)`` after grid point ``k``.
    """
    cfg.validate()
    p0 = next(model.parameters())
    dev, dt = p0.device, p0.dtype
    solver = resolve_solver(cfg.solver, dev)
    labels = np.asarray(labels)
    Xt = torch.as_tensor(np.asarray(X), dtype=dt, device=dev)
    with torch.no_grad():
        q = int(model(Xt[:1]).shape[-1])
    if labels.min() < 0 or labels.max() >= q:
        raise GeomdlError(f"labels must be in 0..{q - 1} for a network with {q} outputs")
    N = len(labels)
    y_np, a_np = targets(labels, q), cost_weights(cfg.cost, labels, q)
    y = torch.as_tensor(y_np, dtype=dt, device=dev)
    a = torch.as_tensor(a_np, dtype=dt, device=dev)
    theta0 = flat_params(model)
    K, QN = theta0.numel(), N * q
    check_overparametrized(K, QN, cfg)
    fld = _Field(model, Xt, y, a, cfg, solver)

    S = cfg.steps + 1
    s = flow_grid(cfg, N)
    rec = {k: np.full(S, np.nan) for k in ("cost", "sigma_min", "sigma_max", "trap_ratio", "theta_dist")}
    rank = np.full(S, -1, dtype=np.int64)
    outputs = np.full((S, N, q), np.nan)
    subs = np.zeros(S - 1, dtype=np.int64)
    valid = np.zeros(S, dtype=bool)
    stop, message = "completed", f"flow integrated to s = {s[-1]:.4g} (s/N = {cfg.tau_max:g})"
    limit = STABILITY[cfg.integrator]
    amax = float(a_np.max())

    theta = theta0.clone()
    prev_sign = preactivation_signs(model, Xt, theta0)
    track_kinks = prev_sign is not None and getattr(model, "activation", "relu") == "relu"
    flips = np.zeros_like(prev_sign, dtype=np.int64) if track_kinks else None
    crossings = np.zeros(S - 1, dtype=np.int64)
    for k in range(S):
        d = fld.diagnostics(theta)
        outputs[k] = d["x"].reshape(N, q)
        for key in ("cost", "sigma_min", "sigma_max", "trap_ratio"):
            rec[key][k] = d[key]
        rank[k] = d["rank"]
        rec["theta_dist"][k] = float(torch.linalg.vector_norm(theta - theta0))
        valid[k] = True
        if not np.isfinite(d["cost"]) or not np.isfinite(d["x"]).all():
            stop, message = "diverged", f"outputs became non-finite at s = {s[k]:.4g}; use more steps"
            valid[k] = False
            break
        if progress is not None:
            progress(k, d["cost"])
        if cfg.alpha > 0 and d["rank"] < QN and not cfg.least_squares:
            stop = "rank-collapse"
            where = "at the start" if k == 0 else f"at s = {s[k]:.4g} (s/N = {s[k] / N:.4g})"
            message = (f"rank D = {d['rank']} < QN = {QN} {where}: the adapted flow is undefined there; "
                       "ask for the least-squares variant (least_squares=True)")
            if k == 0:
                raise GeomdlError(message)
            break
        if k == S - 1:
            break
        ds = s[k + 1] - s[k]
        if cfg.substeps > 0:
            n_sub = cfg.substeps
        else:
            rate = amax * ((1.0 - cfg.alpha) * d["sigma_max"] ** 2 + cfg.alpha)
            need = max(ds * rate / (0.5 * limit), ds * amax / ACCURACY)
            n_sub = int(min(cfg.max_substeps, max(1, np.ceil(need))))
        subs[k] = n_sub
        h = ds / n_sub
        fld.h = h
        try:
            left, used = ds, 0
            while left > 1e-12 * ds:
                fld.h = min(h, left)
                k1 = fld.velocity(theta)
                speed = float(torch.linalg.vector_norm(k1))
                hk = min(h, left, cfg.max_dtheta / speed if speed > 0 else h)
                if used >= cfg.max_substeps or (hk < left and (left - hk) / hk > cfg.max_substeps - used):
                    raise TooStiff(speed)
                fld.h = hk
                theta = _step(fld.velocity, theta, hk, cfg.integrator, k1)
                left -= hk
                used += 1
                if not bool(torch.isfinite(theta).all()):
                    break
                if track_kinks:
                    sign = preactivation_signs(model, Xt, theta)
                    changed = sign != prev_sign
                    flips += changed
                    crossings[k] += int(changed.sum())
                    prev_sign = sign
            subs[k] = used
        except TooStiff as e:
            stop = "stiff"
            message = (f"the parameter speed |theta'| = {e.speed:.3g} between s = {s[k]:.4g} and {s[k + 1]:.4g} "
                       f"needs more than max_substeps = {cfg.max_substeps} sub-steps of |dtheta| <= "
                       f"{cfg.max_dtheta:g} (D nearly singular: sigma_min = {d['sigma_min']:.3g}); flow stopped")
            break
        except NonFinite:
            stop, message = "diverged", f"D or grad_x C became non-finite between s = {s[k]:.4g} and {s[k + 1]:.4g}"
            break
        except RankCollapse as e:
            stop = "rank-collapse"
            message = (f"rank D dropped below QN = {QN} (rank {e.rank if e.rank >= 0 else '< QN'}) between "
                       f"s = {s[k]:.4g} and {s[k + 1]:.4g}: the adapted flow is undefined there; ask for the "
                       "least-squares variant (least_squares=True)")
            break
        if not bool(torch.isfinite(theta).all()):
            stop, message = "diverged", f"parameters became non-finite between s = {s[k]:.4g} and {s[k + 1]:.4g}"
            break

    x0 = outputs[0].reshape(-1)
    pred = predicted_cost(s, x0, y_np, a_np)
    res = FlowResult(config=cfg, K=K, QN=QN, s=s, outputs=outputs, cost=rec["cost"], predicted=pred, rank=rank,
                     sigma_min=rec["sigma_min"], sigma_max=rec["sigma_max"], trap_ratio=rec["trap_ratio"],
                     theta_dist=rec["theta_dist"], substeps=subs, kink_crossings=crossings, valid=valid,
                     stop_reason=stop, message=message, theta=theta.detach().cpu().numpy(),
                     kink_flips=flips if track_kinks else np.zeros((N, 0), dtype=np.int64),
                     kink_frozen_max=fld.frozen_max, kink_infeasible=fld.kink_infeasible)
    res.summary = summarize(res, labels, q, y_np, a_np)
    return res


def summarize(res: FlowResult, labels: np.ndarray, q: int, y: np.ndarray, a: np.ndarray) -> dict:
    """The checks the issue asks for, as plain numbers (NaN where not applicable)."""
    v = res.valid
    s, N = res.s[v], len(labels)
    out = res.outputs[v]
    line_dist, interp_err = straight_line_errors(s, out, y, a)
    scale = float(np.linalg.norm(out[0] - y.reshape(out.shape[1:]), axis=1).max())
    law = np.abs(res.cost[v] / res.predicted[v] - 1.0)
    trapped = res.trap_ratio[v] < res.config.trap_eps
    dwell = np.diff(s)                                     # time spent in each interval, from its start state
    deficient = res.rank[v] < res.QN
    nc = output_collapse(out, labels, q)
    hit = np.flatnonzero(res.kink_crossings[: max(len(s) - 1, 0)] > 0)
    first_kink = float(s[hit[0]]) if len(hit) else float("nan")      # the interval starting here crosses one
    upto = hit[0] + 1 if len(hit) else len(s)
    law_before = float(law[:upto].max())
    wv, md = nc["within_var"], nc["mean_dist"]
    with np.errstate(divide="ignore", invalid="ignore"):
        wv_rate = -np.log(wv[-1] / wv[0]) / (s[-1] / N) if len(s) > 1 else np.full(q, np.nan)
        md_rate = -np.log(md[-1] / md[0]) / (s[-1] / N) if len(s) > 1 else np.full(q, np.nan)
    return {
        "alpha": res.config.alpha, "cost": res.config.cost, "K": res.K, "QN": res.QN,
        "stop_reason": res.stop_reason, "s_end": float(s[-1]), "tau_end": float(s[-1] / N),
        "cost_0": float(res.cost[0]), "cost_end": float(res.cost[v][-1]),
        "law_rel_err_max": float(law.max()),
        "line_dist_max": float(line_dist.max()), "interp_err_max": float(interp_err.max()),
        "line_dist_rel": float(line_dist.max() / scale) if scale > 0 else float("nan"),
        "rank_min": int(res.rank[v].min()), "rank_max": int(res.rank[v].max()),
        "rank_deficient_first_s": float(s[deficient][0]) if deficient.any() else float("nan"),
        "sigma_min_min": float(np.nanmin(res.sigma_min[v])),
        "trap_eps": res.config.trap_eps, "trap_ratio_min": float(np.nanmin(res.trap_ratio[v])),
        "trapped_first_s": float(s[trapped][0]) if trapped.any() else float("nan"),
        "trapped_fraction": float((dwell * trapped[:-1]).sum() / dwell.sum()) if len(s) > 1 else float(trapped[0]),
        "within_var_rate": [float(r) for r in np.atleast_1d(wv_rate)],
        "mean_dist_rate": [float(r) for r in np.atleast_1d(md_rate)],
        "theta_dist_end": float(res.theta_dist[v][-1]),
        "kink_crossings": int(res.kink_crossings.sum()),
        "kink_pairs_crossed": int((res.kink_flips > 0).sum()),
        "kink_pairs_chattering": int((res.kink_flips >= CHATTER).sum()),
        "first_kink_s": first_kink, "law_rel_err_before_kink": law_before,
        "kinks": res.config.kinks, "kink_frozen_max": res.kink_frozen_max,
        "kink_infeasible": res.kink_infeasible,
        "substeps_total": int(res.substeps.sum()),
    }
