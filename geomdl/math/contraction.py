"""The contraction rate of truncation, as T. Chen states the speed of truncation (arXiv 2501.07400: clusters
"are progressively ... truncated at an exponential rate that increases with the number of data points that
have already been truncated").

Definitions, for hidden layer ``l`` and class ``j`` of a recorded run (truncation map ``T_l``, base point
``p_l(t)`` of layer ``l``'s cone, ``t`` = gradient-flow time ``lr x step``):

- ``n(t)``: the number of class-``j`` points *collapsed* at layer ``l`` (every coordinate cut: ``T_l(x) =
  p_l(t)``, ``k_trunc = M_l``);
- ``s(t)``: the **spread about the base point of the class's not-yet-collapsed points**, the root-mean-square
  distance ``sqrt(mean |T_l(x) - p_l(t)|^2)`` over the class-``j`` points ``x`` that are not collapsed;
- ``lambda(t) = -d/dt log s(t)``: the contraction rate (``s ~ e^{-lambda t}`` while ``lambda`` is constant).

Estimator (:func:`contraction_rates`): between consecutive snapshots ``t_k < t_{k+1}``, over the *same*
points ``A_k`` = class-``j`` points collapsed at neither snapshot (a point that collapses leaves the set;
comparing spreads over different sets would count its leaving as contraction),
``lambda_k = -(log s_{k+1}(A_k) - log s_k(A_k)) / (t_{k+1} - t_k)``, attributed to the midpoint
``t = (t_k + t_{k+1}) / 2`` and ``n = (n_k + n_{k+1}) / 2``. It is the exact mean of ``lambda`` over the interval
(exact for an exponential ``s``; for a smooth ``lambda`` within ``O(dt^2)`` of ``lambda`` at the midpoint).
Intervals with fewer than ``min_points`` points in ``A_k`` are left out (NaN).

Aggregation over seeds (:func:`binned_ci`, :func:`slope_ci`): the claim predicts that ``lambda`` grows with ``n``.
Per seed, the mean ``lambda`` in bins of ``n`` and the least-squares slope of ``lambda`` against ``n``; over
seeds, the mean with a 95% Student-t confidence interval.
"""

from __future__ import annotations

import numpy as np

from geomdl.errors import GeomdlError


def spread(T: np.ndarray, base: np.ndarray, mask: np.ndarray) -> float:
    """RMS distance of the rows ``T[mask]`` (``T: (N, M)``, ``mask: (N,)`` bool) from ``base: (M,)``;
    NaN for an empty set."""
    P = T[mask]
    return float(np.sqrt(np.mean(np.sum((P - base) ** 2, axis=1)))) if len(P) else float("nan")


def contraction_rates(times: np.ndarray, T: np.ndarray, base: np.ndarray, collapsed: np.ndarray,
                      members: np.ndarray, min_points: int = 3) -> dict[str, np.ndarray]:
    """Rates of one (layer, class) over a run. ``times: (S,)`` increasing; ``T: (S, N, M)`` the truncated
    points of the layer, ``base: (S, M)`` its base points, ``collapsed: (S, N)`` bool, ``members: (N,)`` bool
    (the class). Returns ``t``, ``n``, ``rate``, ``points`` (each ``(S-1,)``: interval midpoints, collapsed
    count at the midpoint, ``lambda``, size of the common set ``A_k``) and ``n_at`` ``(S,)``, ``s_at`` ``(S,)``
    (the count and the spread of the not-collapsed points at each snapshot)."""
    times = np.asarray(times, dtype=float)
    S = len(times)
    if T.shape[0] != S or base.shape[0] != S or collapsed.shape[0] != S:
        raise GeomdlError(f"contraction_rates: {S} times but arrays of {T.shape[0]}, {base.shape[0]}, "
                          f"{collapsed.shape[0]} snapshots")
    if S >= 2 and not np.all(np.diff(times) > 0):
        raise GeomdlError("contraction_rates: times must increase")
    members = np.asarray(members, dtype=bool)
    n_at = (collapsed & members).sum(axis=1).astype(float)
    s_at = np.array([spread(T[k], base[k], members & ~collapsed[k]) for k in range(S)])
    rate, pts = np.full(max(S - 1, 0), np.nan), np.zeros(max(S - 1, 0), dtype=int)
    for k in range(S - 1):
        A = members & ~collapsed[k] & ~collapsed[k + 1]
        pts[k] = int(A.sum())
        if pts[k] < min_points:
            continue
        s0, s1 = spread(T[k], base[k], A), spread(T[k + 1], base[k + 1], A)
        if s0 > 0 and s1 > 0:
            rate[k] = -(np.log(s1) - np.log(s0)) / (times[k + 1] - times[k])
    return {"t": (times[:-1] + times[1:]) / 2, "n": (n_at[:-1] + n_at[1:]) / 2, "rate": rate, "points": pts,
            "n_at": n_at, "s_at": s_at}


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the finite values of ``x`` (NaN bounds for fewer than 2)."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (float(x.mean()) if len(x) else float("nan")), float("nan"), float("nan")
    m, se = x.mean(), x.std(ddof=1) / np.sqrt(len(x))
    from scipy import stats  # noqa: PLC0415 - only the intervals need it: the clips' readout stays scipy-free

    h = stats.t.ppf(0.5 + level / 2, len(x) - 1) * se
    return float(m), float(m - h), float(m + h)


def binned_ci(per_seed: list[tuple[np.ndarray, np.ndarray]], edges: np.ndarray) -> list[dict]:
    """``per_seed``: one ``(n, rate)`` pair of arrays per seed (all its (layer, class) intervals pooled).
    For each bin ``[edges[i], edges[i+1])`` of ``n``: each seed's mean rate there, then their mean and 95% CI
    over the seeds that have data in the bin. Returns one dict per bin (``n_low``, ``n_high``, ``seeds``,
    ``intervals``, ``rate_mean``, ``rate_ci_low``, ``rate_ci_high``)."""
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        means, count = [], 0
        for n, r in per_seed:
            sel = (n >= lo) & (n < hi) & np.isfinite(r)
            if sel.any():
                means.append(float(r[sel].mean()))
                count += int(sel.sum())
        m, a, b = mean_ci(np.array(means))
        rows.append({"n_low": float(lo), "n_high": float(hi), "seeds": len(means), "intervals": count,
                     "rate_mean": m, "rate_ci_low": a, "rate_ci_high": b})
    return rows


def slope(n: np.ndarray, rate: np.ndarray) -> float:
    """Least-squares slope of ``rate`` against ``n`` over the finite pairs (NaN if ``n`` does not vary)."""
    ok = np.isfinite(n) & np.isfinite(rate)
    if ok.sum() < 3 or np.ptp(n[ok]) == 0:
        return float("nan")
    from scipy import stats  # noqa: PLC0415

    return float(stats.linregress(n[ok], rate[ok]).slope)


def slope_ci(per_seed: list[tuple[np.ndarray, np.ndarray]]) -> dict:
    """Each seed's slope of ``lambda`` against ``n`` (:func:`slope`), their mean and 95% CI, and the verdict:
    ``grows`` when the CI is above 0, ``falls`` when below, ``inconclusive`` otherwise."""
    slopes = np.array([slope(n, r) for n, r in per_seed])
    m, lo, hi = mean_ci(slopes)
    verdict = ("grows with n" if np.isfinite(lo) and lo > 0 else
               "falls as n grows" if np.isfinite(hi) and hi < 0 else "inconclusive (the CI contains 0)")
    return {"seeds": int(np.isfinite(slopes).sum()), "slope_mean": m, "slope_ci_low": lo, "slope_ci_high": hi,
            "verdict": verdict, "slopes": slopes}
