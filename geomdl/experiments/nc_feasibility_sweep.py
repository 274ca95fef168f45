"""The neural-collapse feasibility sweep (``geomdl experiment nc-feasibility``, docs/math.md §9): Gaussian mixtures
over a grid of ``d/n`` and ``sigma``, every data set decided by :func:`geomdl.math.nc_feasibility.dataset_feasibility`
(exact LPs, every answer verified); feasible fractions with Wilson intervals; CSV tables."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geomdl.checks import check_n_per_class
from geomdl.errors import GeomdlError, UsageError
from geomdl.fields import check_fields, config, shared
from geomdl.io.atomic import atomic_path, ensure_writable_dir
from geomdl.math.nc_feasibility import dataset_feasibility, gaussian_mixture


@config
class FeasibilityConfig:
    """The phase-diagram sweep: ``ratios`` of ``d / n`` (``d = round(ratio n)``), noise levels ``sigmas``,
    ``trials`` data sets per cell, ``K`` classes of ``n`` points."""

    classes: int = 3
    n: int = 20
    ratios: tuple[float, ...] = tuple(np.round(np.linspace(0.5, 3.0, 11), 4))
    sigmas: tuple[float, ...] = tuple(float(f"{v:.3g}") for v in np.logspace(-2, 1, 10))
    trials = shared(40)
    seed = shared(0)
    tol: float = 1e-7
    verify: bool = True
    all_classes: bool = True

    def validate(self) -> None:
        if self.classes < 2:
            raise GeomdlError(f"need at least 2 classes (got {self.classes})")
        check_n_per_class(self.n)
        if not self.ratios or any(not (r > 0 and math.isfinite(r)) for r in self.ratios):
            raise GeomdlError(f"ratios d/n must be positive numbers (got {list(self.ratios)})")
        if not self.sigmas or any(not (s >= 0 and math.isfinite(s)) for s in self.sigmas):
            raise GeomdlError(f"sigmas must be non-negative numbers (got {list(self.sigmas)})")
        if self.trials < 1:
            raise GeomdlError(f"trials must be >= 1 (got {self.trials})")
        check_fields(self, "seed")
        if not (0 < self.tol < 1e-2):
            raise GeomdlError(f"tol must be in (0, 1e-2) (got {self.tol})")
        if max(self.dims()) > 5000:
            raise GeomdlError(f"dimension d = {max(self.dims())} too large for this sweep (max 5000)")

    def dims(self) -> list[int]:
        return [max(1, int(round(r * self.n))) for r in self.ratios]

    @classmethod
    def parse(cls, ratios: str, sigmas: str, **fields) -> FeasibilityConfig:
        """The validated config from command-line text: ``ratios`` a linear grid, ``sigmas`` a grid of powers of
        ten when given as ``LO:HI:COUNT`` (see :func:`parse_grid`)."""
        cfg = cls(ratios=parse_grid(ratios, "ratios", False), sigmas=parse_grid(sigmas, "sigmas", True), **fields)
        cfg.validate()
        return cfg


def parse_grid(text: str, name: str, log: bool) -> tuple[float, ...]:
    """``"a,b,c"`` or ``START:STOP:COUNT`` (linear, or powers of ten when ``log``) -> the grid values."""
    try:
        if ":" in text:
            a, b, c = text.split(":")
            lo, hi, count = float(a), float(b), int(c)
            if log and max(abs(lo), abs(hi)) > 300:   # 10^308 is the largest float
                raise GeomdlError(f"--{name} {text!r}: exponents must be within -300..300 (powers of ten)")
            with np.errstate(all="ignore"):
                vals = np.logspace(lo, hi, count) if log else np.linspace(lo, hi, count)
            vals = tuple(float(f"{v:.4g}") for v in vals)
        else:
            vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise UsageError(f"--{name} must be comma-separated numbers or START:STOP:COUNT, got {text!r}") from None
    if not all(np.isfinite(vals)):
        raise GeomdlError(f"--{name} must be finite numbers, got {text!r}")
    return vals


def run_sweep(cfg: FeasibilityConfig, progress: Callable[[int, int], None] | None = None) -> dict:
    """Every (ratio, sigma) cell, ``trials`` data sets each. Deterministic in ``seed`` (one
    ``SeedSequence([seed, i_ratio, i_sigma, trial])`` per data set).

    Returns ``cells`` (one dict per cell) and ``trials`` (one dict per data set)."""
    cfg.validate()
    dims = cfg.dims()
    total = len(dims) * len(cfg.sigmas) * cfg.trials
    cells, rows, done = [], [], 0
    for i, (ratio, d) in enumerate(zip(cfg.ratios, dims, strict=True)):
        for j, sigma in enumerate(cfg.sigmas):
            feas, cls_feas, amb, border = [], [], 0, 0
            for t in range(cfg.trials):
                rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, i, j, t]))
                X, labels = gaussian_mixture(cfg.classes, cfg.n, d, sigma, rng)
                ok, answers = dataset_feasibility(X, labels, cfg.classes, cfg.tol, cfg.verify, cfg.all_classes)
                n_amb = sum(cfg.verify and not a.verified for a in answers)
                n_border = sum(a.borderline for a in answers)
                amb += n_amb
                border += n_border
                feas.append(ok)
                cls_feas += [a.feasible for a in answers]
                rows.append({"ratio": ratio, "d": d, "sigma": sigma, "trial": t, "feasible": ok,
                             "classes_feasible": sum(a.feasible for a in answers), "classes_solved": len(answers),
                             "min_margin": min(a.margin for a in answers), "ambiguous": n_amb,
                             "borderline": n_border})
                done += 1
                if progress is not None:
                    progress(done, total)
            p = float(np.mean(feas))
            lo, hi = wilson(sum(feas), len(feas))
            cells.append({"ratio": ratio, "d": d, "sigma": sigma, "trials": cfg.trials, "feasible_fraction": p,
                          "ci_low": lo, "ci_high": hi, "class_feasible_fraction": float(np.mean(cls_feas)),
                          "ambiguous": amb, "borderline": border})
    return {"config": cfg.to_dict(), "cells": cells, "trials": rows}


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    den = 1 + z * z / n
    c = (p + z * z / (2 * n)) / den
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, c - h), min(1.0, c + h)


def grid_arrays(result: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``ratios (R,)``, ``sigmas (S,)``, data-set and class feasible fractions ``(S, R)`` from a sweep result."""
    cfg = result["config"]
    R, S = len(cfg["ratios"]), len(cfg["sigmas"])
    frac = np.array([c["feasible_fraction"] for c in result["cells"]]).reshape(R, S).T
    cls = np.array([c["class_feasible_fraction"] for c in result["cells"]]).reshape(R, S).T
    return np.array(cfg["ratios"]), np.array(cfg["sigmas"]), frac, cls


def write_tables(result: dict, out_dir: Path) -> list[Path]:
    """``nc_feasibility_grid.csv`` (one row per cell) and ``nc_feasibility_trials.csv`` (one per data set)."""
    out_dir = ensure_writable_dir(Path(out_dir))
    paths = []
    for name, rows in (("nc_feasibility_grid.csv", result["cells"]), ("nc_feasibility_trials.csv",
                                                                       result["trials"])):
        p = out_dir / name
        with atomic_path(p) as tmp, open(tmp, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            for r in rows:
                w.writerow({k: (str(v).lower() if isinstance(v, (bool, np.bool_)) else v) for k, v in r.items()})
        paths.append(p)
    return paths


def summary_lines(cfg: FeasibilityConfig, result: dict) -> list[str]:
    """One line per ``d/n`` (the feasible fraction over sigma), then the verification tally."""
    lines = []
    for r in cfg.ratios:
        cells = [c for c in result["cells"] if c["ratio"] == r]
        lines.append(f"d/n = {r:<5g} (d = {cells[0]['d']:>4}): feasible fraction over sigma "
                     + " ".join(f"{c['feasible_fraction']:.2f}" for c in cells))
    amb = sum(c["ambiguous"] for c in result["cells"])
    border = sum(c["borderline"] for c in result["cells"])
    lines.append(f"tolerance {cfg.tol:g}; {amb} answers not verified, {border} borderline; sigma grid: "
                 + ", ".join(f"{s:g}" for s in cfg.sigmas))
    return lines
