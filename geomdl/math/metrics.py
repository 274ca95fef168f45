"""Metrics over training (docs/math.md §7): neural collapse NC1-NC4, delta_P, and the CE23 network metric d.

Conventions: features ``H: (N, D)`` one point per row, ``labels: (N,)`` in ``0..Q-1`` (every class present);
class means ``mu_j``, global mean ``mu_G`` = mean of the class means (balanced-data convention of Papyan, Han
& Donoho 2020, so that unbalanced splits do not tilt it; the convention of the rhubarbwu/neural-collapse
package, whose global mean is the mean of its class means); centred means ``m_j = mu_j - mu_G``.

- NC1, variant **``nc1_trace_pinv``** ``= tr(Sigma_W Sigma_B^+) / Q`` with ``Sigma_W = (1/N) sum_r (h_r -
  mu_{y_r})(h_r - mu_{y_r})^T`` and ``Sigma_B = (1/Q) sum_j m_j m_j^T`` (as ``variability_pinv`` of
  rhubarbwu/neural-collapse). Computed without ``D x D`` matrices:
  ``Sigma_B^+ = V diag(Q / s_k^2) V^T`` from the SVD of the ``(Q, D)`` matrix of centred means (singular values
  below ``1e-12 s_max`` dropped). Named variant **``nc1_trace_pinv_data_mean``** (``global_mean="data"``): the
  same with the *data-weighted* global mean ``mu_G = (1/N) sum_r h_r``, as T. Ding's ``validate_NC.py``
  (github.com/tding1/Neural-Collapse) computes it; the two agree on balanced classes and differ otherwise (by 36%
  in the closed-form two-class case of the tests, sizes 2 and 8; median 7% on random 3-class Gaussian data
  of sizes 10, 30, 30). Second variant, **CDNV**
  (Galanti et al. 2022): the mean over class pairs of ``(var_i + var_j) / (2 |mu_i - mu_j|^2)``, ``var_j`` =
  mean squared distance of class ``j`` to its mean.
- NC2 on the centred means (and on classifier rows when given): equinorm ``std(|m_j|) / mean(|m_j|)``;
  equiangularity three ways over the pairwise cosines ``cos(m_i, m_j), i < j``: **``mean_cos_dev``**
  ``= mean |cos + 1/(Q-1)|``, Papyan, Han & Donoho's equiangularity measure ("Prevalence of neural collapse
  during the terminal phase of deep learning training", arXiv 2008.08186, Fig. 5: ``Avg |cos + 1/(C-1)|``);
  ``equiangular_std`` (their Fig. 4: ``Std`` of the cosines); and ``max_cos_dev`` ``= max |cos + 1/(Q-1)|``,
  the worst pair (geomdl's earlier single number). All are 0 for a simplex equiangular tight frame.
- NC3 (self-duality): ``| W^T / |W|_F - M_c / |M_c|_F |_F`` with ``W: (Q, D)`` the classifier rows of the
  classes and ``M_c = [m_1 ... m_Q]: (D, Q)``.
- NC4: the fraction of points where the network's prediction differs from the nearest-class-centre rule
  ``argmin_j |h - mu_j|``.
- ``delta_P`` (CE23): ``sup_r |(Xbar^red)^+ (tau(x_r) - xbar_{y_r})|`` with ``Xbar^red = [xbar_1 ...
  xbar_Q]: (M, Q)`` the class means of the truncated data ``tau(X)``; the pseudo-inverse replaces the inverse
  when ``M != Q`` (it is the inverse when ``M = Q`` and the means are independent). Also the mean over points.
- Network metric (CE23): ``d(x, x') = |Y (Xbar^red)^+ (x - x')|``, ``Y = [y_1 ... y_Q]: (K, Q)`` the reference
  outputs; a point is classified by the nearest truncated class mean in ``d``.
"""

from __future__ import annotations

import numpy as np

from geomdl.errors import GeomdlError

SVD_RTOL = 1e-12


def _check(H: np.ndarray, labels: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    H = np.asarray(H, dtype=float)
    labels = np.asarray(labels)
    if H.ndim != 2 or labels.shape != (len(H),):
        raise GeomdlError(f"metrics need H: (N, D) and labels: (N,), got {H.shape} and {labels.shape}")
    if q < 2:
        raise GeomdlError(f"metrics need Q >= 2 classes (got {q})")
    counts = np.bincount(labels, minlength=q)
    if len(counts) > q or (counts == 0).any():
        raise GeomdlError(f"every label 0..{q - 1} (classes 1..{q}) needs at least one point "
                          f"(counts {counts.tolist()})")
    return H, labels


def class_means(H: np.ndarray, labels: np.ndarray, q: int) -> np.ndarray:
    """``(Q, D)`` class means."""
    H, labels = _check(H, labels, q)
    onehot = np.eye(q)[labels]
    return (onehot.T @ H) / onehot.sum(axis=0)[:, None]


GLOBAL_MEANS = ("classes", "data")


def nc1_trace_pinv(H: np.ndarray, labels: np.ndarray, q: int, global_mean: str = "classes") -> float:
    """``tr(Sigma_W Sigma_B^+) / Q`` (see module docstring); 0 iff every class is a single point.

    ``global_mean``: ``"classes"`` (default; mean of the class means, as rhubarbwu/neural-collapse) or ``"data"``
    (mean of all rows of ``H``, as tding1's ``validate_NC.py``; :func:`nc1_trace_pinv_data_mean`).
    """
    H, labels = _check(H, labels, q)
    if global_mean not in GLOBAL_MEANS:
        raise GeomdlError(f"unknown global mean {global_mean!r}; known: {', '.join(GLOBAL_MEANS)}")
    mu = class_means(H, labels, q)
    Mc = mu - (mu.mean(axis=0) if global_mean == "classes" else H.mean(axis=0))   # (Q, D)
    _, s, Vt = np.linalg.svd(Mc, full_matrices=False)
    keep = s > SVD_RTOL * (s[0] if s.size and s[0] > 0 else 1.0)
    if not keep.any():
        return float("nan")                           # all class means equal: Sigma_B = 0
    D = H - mu[labels]                                 # within-class deviations (N, D)
    proj = D @ Vt[keep].T                              # (N, r)
    # tr(Sigma_W V diag(Q/s^2) V^T) = sum_k (Q / s_k^2) (1/N) sum_r (d_r . v_k)^2
    return float(np.sum((q / s[keep] ** 2) * (proj ** 2).mean(axis=0)) / q)


def nc1_trace_pinv_data_mean(H: np.ndarray, labels: np.ndarray, q: int) -> float:
    """NC1 with the data-weighted global mean (tding1's ``validate_NC.py``): ``nc1_trace_pinv(..., "data")``."""
    return nc1_trace_pinv(H, labels, q, global_mean="data")


def cdnv(H: np.ndarray, labels: np.ndarray, q: int) -> float:
    """Class-distance normalised variance averaged over class pairs ``i < j``."""
    H, labels = _check(H, labels, q)
    mu = class_means(H, labels, q)
    var = np.bincount(labels, weights=((H - mu[labels]) ** 2).sum(axis=1), minlength=q) / np.bincount(labels)
    vals = []
    for i in range(q):
        for j in range(i + 1, q):
            d2 = float(((mu[i] - mu[j]) ** 2).sum())
            vals.append((var[i] + var[j]) / (2 * d2) if d2 > 0 else np.inf)
    return float(np.mean(vals))


def equinorm_equiangularity(V: np.ndarray) -> dict[str, float]:
    """NC2 of the rows ``V: (Q, D)`` (already centred where that applies).

    ``equinorm``: ``std/mean`` of the row norms; ``mean_cos_dev``: Papyan's equiangularity ``mean |cos +
    1/(Q-1)|`` over pairs; ``equiangular_std``: std of the pairwise cosines; ``max_cos_dev``: ``max |cos +
    1/(Q-1)|`` (all 0 for a simplex equiangular tight frame).
    """
    V = np.asarray(V, dtype=float)
    q = len(V)
    norms = np.linalg.norm(V, axis=1)
    if q < 2 or not (norms > 0).all():
        return {"equinorm": float("nan"), "mean_cos_dev": float("nan"), "equiangular_std": float("nan"),
                "max_cos_dev": float("nan")}
    U = V / norms[:, None]
    cos = (U @ U.T)[np.triu_indices(q, k=1)]
    dev = np.abs(cos + 1.0 / (q - 1))
    return {"equinorm": float(norms.std() / norms.mean()), "mean_cos_dev": float(dev.mean()),
            "equiangular_std": float(cos.std()), "max_cos_dev": float(dev.max())}


def nc2(H: np.ndarray, labels: np.ndarray, q: int) -> dict[str, float]:
    """NC2 of the centred class means of ``H``."""
    mu = class_means(H, labels, q)
    return equinorm_equiangularity(mu - mu.mean(axis=0))


def nc3(H: np.ndarray, labels: np.ndarray, q: int, W: np.ndarray) -> float:
    """``| W^T/|W|_F - M_c/|M_c|_F |_F`` for classifier rows ``W: (Q, D)`` (self-duality; 0 when ``W ~ M_c^T``)."""
    mu = class_means(H, labels, q)
    Mc = (mu - mu.mean(axis=0)).T                      # (D, Q)
    W = np.asarray(W, dtype=float)
    if W.shape != (q, Mc.shape[0]):
        raise GeomdlError(f"NC3 needs classifier rows of shape {(q, Mc.shape[0])}, got {W.shape}")
    nw, nm = np.linalg.norm(W), np.linalg.norm(Mc)
    if nw == 0 or nm == 0:
        return float("nan")
    return float(np.linalg.norm(W.T / nw - Mc / nm))


def ncc_predict(H: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Nearest-class-centre prediction ``argmin_j |h - mu_j|`` for each row of ``H: (N, D)``; ``(N,)``."""
    H = np.asarray(H, dtype=float)
    d2 = (H ** 2).sum(1)[:, None] - 2 * H @ means.T + (means ** 2).sum(1)[None, :]
    return np.argmin(d2, axis=1)


def nc4(H: np.ndarray, labels: np.ndarray, q: int, predictions: np.ndarray) -> float:
    """Fraction of points where ``predictions: (N,)`` (the network's) differs from the nearest class centre."""
    mu = class_means(H, labels, q)
    return float(np.mean(ncc_predict(H, mu) != np.asarray(predictions)))


def delta_p(T: np.ndarray, labels: np.ndarray, q: int) -> dict[str, float]:
    """Barycentric deviation of truncated data ``T: (N, M)`` w.r.t. their class means (CE23).

    ``sup`` (CE23's ``delta_P``) and ``mean`` over points of ``|(Xbar^red)^+ (tau(x) - xbar_{y(x)})|``.
    0 when every class is collapsed to one point.
    """
    T, labels = _check(T, labels, q)
    mu = class_means(T, labels, q)                     # (Q, M): rows are xbar_j
    coeff = (T - mu[labels]) @ np.linalg.pinv(mu.T).T  # rows: (Xbar^red)^+ Delta, (N, Q)
    dev = np.linalg.norm(coeff, axis=1)
    return {"sup": float(dev.max()), "mean": float(dev.mean())}


def metric_d_matrix(means: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """``A = Y (Xbar^red)^+: (K, M)`` so that ``d(x, x') = |A (x - x')|``; ``means: (Q, M)``, ``Y: (K, Q)``."""
    return np.asarray(Y, dtype=float) @ np.linalg.pinv(np.asarray(means, dtype=float).T)


def metric_d_classify(T: np.ndarray, means: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Class of each row of ``T: (N, M)`` (truncated points) = nearest truncated class mean in ``d``. ``(N,)``"""
    A = metric_d_matrix(means, Y)
    return ncc_predict(np.asarray(T, dtype=float) @ A.T, means @ A.T)
