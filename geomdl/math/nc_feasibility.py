"""Exact neural-collapse feasibility for two-layer ReLU networks (docs/math.md §9; Hong & Ling, arXiv 2409.01832).

A first-layer neuron ``sigma(w . x + b)`` gives a *collapsed feature for class k* when it equals 1 on every point
of class ``k`` and 0 (truncated) on every other point, i.e. when

    w . x_i + b = 1  for every x_i of class k,      w . x_j + b <= 0  for every x_j of another class.   (*)

This is a linear feasibility problem in ``(w, b) in R^{d+1}`` and is answered exactly by linear programming,
never by thresholding a trained network. **Choice** (Hong & Ling leave it open): a *data set* is NC-feasible iff
(*) is feasible for **every** class (one such neuron per class gives the collapsed features ``H = Ybar``).

How (*) is decided, for class ``k`` (``scipy.optimize.linprog``, HiGHS):

1. the margin LP ``max delta`` s.t. ``w . x_i + b = 1`` (class k), ``w . x_j + b + delta <= 0`` (others),
   ``delta <= 1``. It is always feasible (``w = 0, b = 1, delta = -1``) and bounded, and (*) holds iff its
   optimum ``delta* >= 0``. (In practice ``delta*`` is ``+1`` or ``-1``: once (*) is feasible, the free
   directions of ``(w, b)`` push the other classes as far below 0 as the bound allows, so it is a yes/no answer;
   ``|delta*| <= tol`` would flag a numerically borderline instance, decided by whichever check verifies);
2. verification, independent of the solver's claim: a feasible answer is checked in numpy on the returned
   ``(w, b)`` (residuals below the tolerance); an infeasible one by a **Farkas certificate** from a second LP:
   ``lambda >= 0`` on the other points and ``mu`` on class k with ``sum_j lambda_j (x_j, 1) = sum_i mu_i (x_i, 1)``
   and ``sum_i mu_i = 1``, which makes (*) impossible (``0 >= sum lambda_j (w.x_j + b) = sum mu_i (w.x_i + b)
   = 1``), also checked in numpy. An answer whose check fails is counted as ``ambiguous`` and reported.

Tolerance: ``tol = 1e-7`` by default (HiGHS's primal/dual feasibility tolerances are set to it); a residual
passes when it is at most ``tol * (1 + |z|_2 max_i |(x_i, 1)|_2)`` (scale of the numbers involved), and
``delta*`` within ``tol`` of 0 is reported as ``borderline`` (decided by the certificate that verifies).

Two facts used as checks: generic class-k points with ``n_k >= d + 1`` span ``R^d`` affinely, so no hyperplane
holds them and (*) is infeasible (needs ``d >= n_k``); points in general position with ``d + 1 >= N`` make
``[X, 1]`` surjective, so (*) is feasible. For pure noise Hong & Ling's threshold is ``d / n > (K + 1) / 2``
(counting argument: ``n`` equalities leave ``d + 1 - n`` dimensions to place ``(K - 1) n`` points on one side,
Cover's capacity ``2 (d + 1 - n)``).

The sweep over ``d/n`` and ``sigma`` that runs these LPs, its tables and confidence intervals:
:mod:`geomdl.experiments.nc_feasibility_sweep`.

Gaussian mixture (choice): ``K`` classes of ``n`` points each in ``R^d``, means ``mu_k`` independent and uniform
on the unit sphere, ``x = mu_k + sigma z`` with ``z ~ N(0, I_d)`` (per-coordinate noise ``sigma``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from geomdl.checks import check_classes_present
from geomdl.errors import GeomdlError


@dataclass
class ClassAnswer:
    """The answer for one class: ``feasible`` (verified unless ``ambiguous``), the LP margin ``delta*``, the
    neuron ``(w, b)`` of the margin LP, the check residual, and whether it was verified."""

    k: int
    feasible: bool
    margin: float
    w: np.ndarray = field(repr=False)
    b: float
    residual: float
    verified: bool
    borderline: bool


def _highs(tol: float) -> dict:
    return {"primal_feasibility_tolerance": tol, "dual_feasibility_tolerance": tol}


def _split(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=float)
    labels = np.asarray(labels)
    if X.ndim != 2 or labels.shape != (len(X),):
        raise GeomdlError(f"X must be (N, d) with labels (N,), got {X.shape} and {labels.shape}")
    if not np.isfinite(X).all():
        raise GeomdlError("X has non-finite entries")
    Xk, Xo = X[labels == k], X[labels != k]
    check_classes_present({k: len(Xk)})
    return Xk, Xo


def margin_lp(X: np.ndarray, labels: np.ndarray, k: int, tol: float = 1e-7) -> tuple[float, np.ndarray, float]:
    """Solve ``max delta`` s.t. ``w.x_i + b = 1`` (class k), ``w.x_j + b + delta <= 0`` (others), ``delta <= 1``.

    Returns ``(delta*, w: (d,), b)``. Raises :class:`GeomdlError` if HiGHS fails (it cannot be infeasible)."""
    Xk, Xo = _split(X, labels, k)
    d = X.shape[1]
    c = np.zeros(d + 2)
    c[-1] = -1.0
    A_eq = np.c_[Xk, np.ones(len(Xk)), np.zeros(len(Xk))]
    A_ub = np.c_[Xo, np.ones(len(Xo)), np.ones(len(Xo))] if len(Xo) else None
    bounds = [(None, None)] * (d + 1) + [(None, 1.0)]
    res = linprog(c, A_ub=A_ub, b_ub=np.zeros(len(Xo)) if len(Xo) else None, A_eq=A_eq, b_eq=np.ones(len(Xk)),
                  bounds=bounds, method="highs", options=_highs(tol))
    if res.status != 0:
        raise GeomdlError(f"the margin LP of class {k + 1} did not solve ({res.message}); it is always feasible and "
                          "bounded, so this is a numerical failure")
    z = res.x
    return float(z[-1]), z[:d], float(z[d])


def farkas_certificate(X: np.ndarray, labels: np.ndarray, k: int, tol: float = 1e-7
                       ) -> tuple[np.ndarray, np.ndarray] | None:
    """``(lambda: (n_other,), mu: (n_k,))`` with ``lambda >= 0``, ``sum mu = 1`` and ``sum_j lambda_j (x_j, 1) =
    sum_i mu_i (x_i, 1)`` (proves (*) infeasible), or ``None`` when the LP finds none."""
    Xk, Xo = _split(X, labels, k)
    if len(Xo) == 0:
        return None
    nk, no = len(Xk), len(Xo)
    Pk, Po = np.c_[Xk, np.ones(nk)], np.c_[Xo, np.ones(no)]
    A_eq = np.r_[np.c_[Po.T, -Pk.T], np.r_[np.zeros(no), np.ones(nk)][None]]
    b_eq = np.r_[np.zeros(Pk.shape[1]), 1.0]
    c = np.r_[np.ones(no), np.zeros(nk)]                    # the least total weight on the other points
    bounds = [(0, None)] * no + [(None, None)] * nk
    res = linprog(c, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs", options=_highs(tol))
    if res.status != 0:
        return None
    return res.x[:no], res.x[no:]


def _scale(P: np.ndarray, z: np.ndarray) -> float:
    return 1.0 + float(np.linalg.norm(P, axis=1).max()) * float(np.linalg.norm(z))


def check_neuron(X: np.ndarray, labels: np.ndarray, k: int, w: np.ndarray, b: float, tol: float = 1e-7
                 ) -> tuple[bool, float]:
    """Does ``(w, b)`` satisfy (*) for class ``k`` (up to the scaled tolerance)? Returns ``(ok, residual)``."""
    Xk, Xo = _split(X, labels, k)
    eq = np.abs(Xk @ w + b - 1.0).max()
    ub = max(0.0, float((Xo @ w + b).max())) if len(Xo) else 0.0
    resid = max(float(eq), ub)
    P = np.c_[np.asarray(X, dtype=float), np.ones(len(X))]
    return resid <= tol * _scale(P, np.r_[w, b]), resid


def check_certificate(X: np.ndarray, labels: np.ndarray, k: int, lam: np.ndarray, mu: np.ndarray,
                      tol: float = 1e-7) -> tuple[bool, float]:
    """Is ``(lambda, mu)`` a Farkas certificate of infeasibility of (*) (up to the scaled tolerance)?"""
    Xk, Xo = _split(X, labels, k)
    Pk, Po = np.c_[Xk, np.ones(len(Xk))], np.c_[Xo, np.ones(len(Xo))]
    resid = max(float(np.abs(Po.T @ lam - Pk.T @ mu).max()), abs(float(mu.sum()) - 1.0),
                max(0.0, float(-lam.min())) if len(lam) else 0.0)
    scale = _scale(np.r_[Pk, Po], np.r_[lam, mu])
    return resid <= tol * scale and float(mu.sum()) > 0.5, resid


def class_feasibility(X: np.ndarray, labels: np.ndarray, k: int, tol: float = 1e-7,
                      verify: bool = True) -> ClassAnswer:
    """Decide (*) for class ``k`` (see the module docstring); ``verify`` checks the answer independently."""
    delta, w, b = margin_lp(X, labels, k, tol)
    feasible = delta >= -tol
    borderline = abs(delta) <= tol
    resid, verified = float("nan"), False
    if verify:
        if feasible:
            verified, resid = check_neuron(X, labels, k, w, b, tol)
            if not verified and borderline:                  # at the boundary: let the certificate decide
                cert = farkas_certificate(X, labels, k, tol)
                if cert is not None:
                    ok, r = check_certificate(X, labels, k, *cert, tol)
                    if ok:
                        feasible, verified, resid = False, True, r
        else:
            cert = farkas_certificate(X, labels, k, tol)
            if cert is not None:
                verified, resid = check_certificate(X, labels, k, *cert, tol)
    return ClassAnswer(k, bool(feasible), float(delta), w, float(b), float(resid), bool(verified), bool(borderline))


def dataset_feasibility(X: np.ndarray, labels: np.ndarray, q: int, tol: float = 1e-7, verify: bool = True,
                        all_classes: bool = True) -> tuple[bool, list[ClassAnswer]]:
    """A data set is NC-feasible iff (*) is feasible for every class ``0..q-1``. With ``all_classes=False`` the
    classes after the first infeasible one are skipped (the data-set answer is already known)."""
    answers = []
    for k in range(q):
        a = class_feasibility(X, labels, k, tol, verify)
        answers.append(a)
        if not a.feasible and not all_classes:
            break
    return all(a.feasible for a in answers) and len(answers) == q, answers


def gaussian_mixture(q: int, n: int, d: int, sigma: float, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray]:
    """``q`` classes of ``n`` points in ``R^d``: means uniform on the unit sphere, ``x = mu_k + sigma z``.
    Returns ``X: (q n, d)``, ``labels: (q n,)`` (classes contiguous)."""
    if q < 2 or n < 1 or d < 1 or not (sigma >= 0 and np.isfinite(sigma)):
        raise GeomdlError(f"need q >= 2, n >= 1, d >= 1, sigma >= 0 (got q={q}, n={n}, d={d}, sigma={sigma})")
    mu = rng.standard_normal((q, d))
    mu /= np.maximum(np.linalg.norm(mu, axis=1, keepdims=True), 1e-300)
    X = np.repeat(mu, n, axis=0) + sigma * rng.standard_normal((q * n, d))
    return X, np.repeat(np.arange(q), n)


# ----------------------------------------------------------------------------------------- the sweep
