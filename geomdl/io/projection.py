"""PCA fitted once on the original data and reused for every snapshot and layer (a fixed projection)."""

from __future__ import annotations

import numpy as np


def fit_pca(X: np.ndarray, k: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(M,)`` and top-``k`` principal directions ``(k, M)`` of ``X: (N, M)``.

    Signs are fixed (largest entry of each direction positive) so the projection is deterministic.
    When ``M < k`` the missing rows are zero (a flat picture, not an error).
    """
    X = np.asarray(X, dtype=float)
    mean = X.mean(axis=0)
    _, _, Vt = np.linalg.svd(X - mean, full_matrices=False)
    comps = np.zeros((k, X.shape[1]))
    r = min(k, Vt.shape[0])
    comps[:r] = Vt[:r]
    for i in range(r):
        j = np.argmax(np.abs(comps[i]))
        if comps[i, j] < 0:
            comps[i] *= -1
    return mean, comps


def project(P: np.ndarray, mean: np.ndarray, comps: np.ndarray) -> np.ndarray:
    """Project points ``P: (..., M)`` to ``(..., k)``."""
    return (P - mean) @ comps.T

