"""Speed of truncation, measured (docs/math.md §6; T. Chen, arXiv 2501.07400).

For several start fractions and seeds, run the ``truncation-speed`` experiment (partially truncating
construction, GD) and record the collapsed count ``n_l(t)`` of every partially started layer ``l`` (its own
class ``l``). Then test the claim that clusters are "truncated at an exponential rate that increases with the
number of data points already truncated" (``dn/dt ~ c n``):

- **log-linear fit on the rising part**: for each run, ``log n(t) = a + r t`` by least squares on the window
  from the lowest count before the peak (training first *un*-collapses some points: the first steps move the
  cone; the rise starts from that minimum) to the first snapshot where ``n`` reaches 90% of its rise from
  there (at least 3 points);
  ``r`` is the exponential growth rate; its mean over seeds gets a 95% Student-t confidence interval.
  ``r2`` (coefficient of determination of that fit) says whether the rise looks exponential at all.
- **rate against count**: ``dn/dt`` (central differences over snapshots) regressed on ``n`` over the same
  window: ``dn/dt = a + c n``. The claim predicts ``c > 0``; the fitted ``c`` (mean and 95% CI over seeds)
  says whether it holds here.

The conclusion is computed from the data (``verdict`` in the summary), never assumed: "accelerating" when
the CI of ``c`` is above 0, "decelerating" when below, "inconclusive" otherwise.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from scipy import stats

from geomdl.errors import GeomdlError
from geomdl.experiments import truncation_speed as ts
from geomdl.io.atomic import atomic_path, ensure_writable_dir


@dataclass(frozen=True)
class StudyConfig:
    """``base``: the experiment config shared by all runs; ``start_fractions``: the layer-1 start fractions;
    ``seeds``: how many seeds (``0..seeds-1``) per fraction; ``rise``: the fit window ends when ``n`` reaches
    this fraction of its total rise."""

    base: ts.TruncationSpeedConfig = ts.TruncationSpeedConfig(snapshots=241)
    start_fractions: tuple[float, ...] = (0.1, 0.22, 0.4)
    seeds: int = 10
    rise: float = 0.9

    def validate(self) -> None:
        if self.seeds < 2:
            raise GeomdlError(f"need at least 2 seeds for a confidence interval (got {self.seeds})")
        if not self.start_fractions or not all(0.0 < f < 1.0 for f in self.start_fractions):
            raise GeomdlError(f"start fractions must be in (0, 1) (got {list(self.start_fractions)})")
        if not 0.0 < self.rise <= 1.0:
            raise GeomdlError(f"rise must be in (0, 1] (got {self.rise})")
        self.base.validate()

    @classmethod
    def parse(cls, base: ts.TruncationSpeedConfig, start_fractions: str, seeds: int, rise: float) -> StudyConfig:
        """The validated study config from command-line text (``start_fractions``: comma-separated)."""
        try:
            fr = tuple(float(v) for v in start_fractions.split(",") if v.strip())
        except ValueError:
            raise GeomdlError(f"--start-fractions must be comma-separated numbers, got {start_fractions!r}") from None
        cfg = cls(base=base, start_fractions=fr, seeds=seeds, rise=rise)
        cfg.validate()
        return cfg


@dataclass
class RunFit:
    start_fraction: float
    seed: int
    layer: int
    stop_reason: str
    n0: int
    n_min: int           # the count where the rise starts
    n_end: int
    window_start_step: int
    window_end_step: int
    rate: float          # r in log n = a + r t   (per step)
    r2: float            # R^2 of the log-linear fit
    c: float             # slope of dn/dt against n
    c_r2: float


def rising_window(n: np.ndarray, rise: float) -> tuple[int, int]:
    """``(start, end)`` (end exclusive) of the rising part of ``n``: from the minimum before the peak to the
    first index where ``n`` reaches ``n[start] + rise * (max n - n[start])``; at least 3 points."""
    peak = int(np.argmax(n))
    start = int(np.argmin(n[: peak + 1]))
    top = n[start] + rise * (n.max() - n[start])
    hit = np.flatnonzero(n[start:] >= top)
    end = start + int(hit[0]) + 1 if hit.size and n.max() > n[start] else len(n)
    end = max(end, min(start + 3, len(n)))
    start = min(start, max(0, end - 3))
    return start, end


def fit_run(steps: np.ndarray, n: np.ndarray, rise: float) -> tuple[int, int, float, float, float, float]:
    """Fits on the rising part of ``n(t)``: (window start, end, r, R^2 of the log fit, c, R^2 of the rate fit)."""
    start, end = rising_window(n, rise)
    t, y = steps[start:end].astype(float), n[start:end].astype(float)
    logy = np.log(np.maximum(y, 0.5))
    lf = stats.linregress(t, logy) if np.ptp(t) > 0 else None
    rate, r2 = (lf.slope, lf.rvalue ** 2) if lf is not None else (np.nan, np.nan)
    dndt = np.gradient(n.astype(float), steps.astype(float))[start:end]
    if np.ptp(y) > 0:
        rf = stats.linregress(y, dndt)
        c, c_r2 = rf.slope, rf.rvalue ** 2
    else:
        c, c_r2 = np.nan, np.nan
    return start, end, float(rate), float(r2), float(c), float(c_r2)


def mean_ci(x: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of the finite values of ``x``."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return (float(x.mean()) if len(x) else np.nan), np.nan, np.nan
    m, se = x.mean(), x.std(ddof=1) / np.sqrt(len(x))
    h = stats.t.ppf(0.5 + level / 2, len(x) - 1) * se
    return float(m), float(m - h), float(m + h)


def verdict(lo: float, hi: float) -> str:
    if np.isfinite(lo) and lo > 0:
        return "accelerating (dn/dt grows with n, as claimed)"
    if np.isfinite(hi) and hi < 0:
        return "decelerating (dn/dt falls as n grows: not the claimed exponential phase)"
    return "inconclusive (the CI of the slope of dn/dt against n contains 0)"


def run_study(cfg: StudyConfig, progress: Callable[[int, int], None] | None = None) -> dict:
    """Run every (fraction, seed); return ``{"curves": [...], "fits": [RunFit...], "summary": [...]}``."""
    cfg.validate()
    curves, fits = [], []
    total, done = len(cfg.start_fractions) * cfg.seeds, 0
    for f in cfg.start_fractions:
        for seed in range(cfg.seeds):
            run_cfg = replace(cfg.base, start_fractions=(f,), seed=seed)
            tr, res = ts.run(run_cfg)
            steps = tr["steps"]
            n_class = np.bincount(tr["labels"], minlength=run_cfg.q)
            # layer 1 is the partially started one; its own class is class 0
            n = np.round(tr["collapsed_frac"][:, 0, 0] * n_class[0]).astype(int)
            curves.append({"start_fraction": f, "seed": seed, "steps": steps, "n": n,
                           "stop_reason": res.stop_reason})
            if not res.failed:
                start, end, rate, r2, c, c_r2 = fit_run(steps, n, cfg.rise)
                fits.append(RunFit(f, seed, 1, res.stop_reason, int(n[0]), int(n[start]), int(n[-1]),
                                   int(steps[start]), int(steps[end - 1]), rate, r2, c, c_r2))
            done += 1
            if progress is not None:
                progress(done, total)
    summary = []
    for f in cfg.start_fractions:
        sel = [r for r in fits if r.start_fraction == f]
        rate = mean_ci(np.array([r.rate for r in sel]))
        c = mean_ci(np.array([r.c for r in sel]))
        summary.append({
            "start_fraction": f, "runs": len(sel),
            "failed_runs": sum(1 for cu in curves if cu["start_fraction"] == f) - len(sel),
            "rate_mean": rate[0], "rate_ci_low": rate[1], "rate_ci_high": rate[2],
            "log_fit_r2_median": float(np.median([r.r2 for r in sel])) if sel else np.nan,
            "c_mean": c[0], "c_ci_low": c[1], "c_ci_high": c[2],
            "verdict": verdict(c[1], c[2]),
        })
    return {"curves": curves, "fits": fits, "summary": summary, "config": cfg}


def _write_csv(path: Path, rows: list[dict]) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def write_tables(result: dict, out_dir: Path) -> list[Path]:
    """``counts.csv`` (tidy n(t)), ``fits.csv`` (per run), ``summary.csv`` and ``summary.json``."""
    ensure_writable_dir(out_dir)
    counts = [{"start_fraction": c["start_fraction"], "seed": c["seed"], "step": int(s), "n_collapsed": int(n)}
              for c in result["curves"] for s, n in zip(c["steps"], c["n"], strict=True)]
    paths = [out_dir / "counts.csv", out_dir / "fits.csv", out_dir / "summary.csv", out_dir / "summary.json"]
    _write_csv(paths[0], counts)
    if result["fits"]:
        _write_csv(paths[1], [asdict(r) for r in result["fits"]])
    else:
        paths.remove(paths[1])
    _write_csv(paths[-2], result["summary"])
    cfg = result["config"]
    meta = {"config": {"base": cfg.base.to_dict(), "start_fractions": list(cfg.start_fractions),
                       "seeds": cfg.seeds, "rise": cfg.rise}, "summary": result["summary"]}
    with atomic_path(paths[-1]) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=float))
    return paths


def summary_lines(result: dict) -> list[str]:
    """One line per start fraction: the growth rate and the dn/dt-vs-n slope with their 95% CIs, the verdict."""
    return [f"start {s['start_fraction']:g}: growth rate r = {s['rate_mean']:.3g}/step "
            f"[{s['rate_ci_low']:.3g}, {s['rate_ci_high']:.3g}], log-fit R^2 median "
            f"{s['log_fit_r2_median']:.2f}; dn/dt vs n slope c = {s['c_mean']:.3g} "
            f"[{s['c_ci_low']:.3g}, {s['c_ci_high']:.3g}] -> {s['verdict']}" for s in result["summary"]]
