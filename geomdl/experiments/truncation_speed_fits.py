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

from geomdl.errors import GeomdlError, UsageError
from geomdl.experiments import truncation_speed as ts
from geomdl.fields import check_fields, config, shared
from geomdl.io.atomic import atomic_path, ensure_writable_dir
from geomdl.nn.health import FAILURES as FAILED


@config
class StudyConfig:
    """``base``: the experiment config shared by all runs; ``start_fractions``: the layer-1 start fractions;
    ``seeds``: how many seeds (``0..seeds-1``) per fraction; ``rise``: the fit window ends when ``n`` reaches
    this fraction of its total rise; ``scheduler``: where the independent runs go (``None``: here, one after
    another; ``local:N``: N local worker processes; a Dask scheduler address), same results either way."""

    base: ts.TruncationSpeedConfig = ts.TruncationSpeedConfig(snapshots=241)
    start_fractions = shared((0.1, 0.22, 0.4))
    seeds = shared(10)
    rise: float = 0.9
    scheduler = shared(None)

    def validate(self) -> None:
        from geomdl.experiments.parallel import check_scheduler  # noqa: PLC0415

        check_scheduler(self.scheduler)
        check_fields(self, "seeds")
        if not self.start_fractions or not all(0.0 < f < 1.0 for f in self.start_fractions):
            raise GeomdlError(f"start fractions must be in (0, 1) (got {list(self.start_fractions)})")
        if not 0.0 < self.rise <= 1.0:
            raise GeomdlError(f"rise must be in (0, 1] (got {self.rise})")
        self.base.validate()

    @classmethod
    def parse(cls, base: ts.TruncationSpeedConfig, start_fractions: str, seeds: int, rise: float,
              scheduler: str | None = None) -> StudyConfig:
        """The validated study config from command-line text (``start_fractions``: comma-separated)."""
        try:
            fr = tuple(float(v) for v in start_fractions.split(",") if v.strip())
        except ValueError:
            raise UsageError(f"--start-fractions must be comma-separated numbers, got {start_fractions!r}") from None
        cfg = cls(base=base, start_fractions=fr, seeds=seeds, rise=rise, scheduler=scheduler)
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


def study_run(base: ts.TruncationSpeedConfig, f: float, seed: int) -> dict:
    """One run of the study (here or on a worker): the ``truncation-speed`` experiment at layer-1 start
    fraction ``f`` and ``seed``; returns the collapsed count ``n(t)`` of layer 1's own class (class 0) and the
    stop reason (plain arrays: cheap to ship)."""
    run_cfg = replace(base, start_fractions=(f,), seed=seed)
    tr, res = ts.run(run_cfg)
    steps = tr["steps"]
    n_class = np.bincount(tr["labels"], minlength=run_cfg.q)
    n = np.round(tr["collapsed_frac"][:, 0, 0] * n_class[0]).astype(int)
    return {"start_fraction": f, "seed": seed, "steps": steps, "n": n, "stop_reason": res.stop_reason,
            "failed": res.failed}


def run_study(cfg: StudyConfig, progress: Callable[[int, int], None] | None = None) -> dict:
    """Run every (fraction, seed) (on ``cfg.scheduler``); return ``{"curves": [...], "fits": [RunFit...],
    "summary": [...]}``."""
    from geomdl.experiments.parallel import map_runs  # noqa: PLC0415

    cfg.validate()
    runs = map_runs(study_run, [(cfg.base, f, seed) for f in cfg.start_fractions for seed in range(cfg.seeds)],
                    cfg.scheduler, progress)
    curves, fits = [], []
    for r in runs:
        failed = r.pop("failed")
        curves.append(r)
        if not failed:
            f, seed, steps, n = r["start_fraction"], r["seed"], r["steps"], r["n"]
            start, end, rate, r2, c, c_r2 = fit_run(steps, n, cfg.rise)
            fits.append(RunFit(f, seed, 1, r["stop_reason"], int(n[0]), int(n[start]), int(n[-1]),
                               int(steps[start]), int(steps[end - 1]), rate, r2, c, c_r2))
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


# =================================================================================================================
# The contraction rate lambda(t) = -d/dt log s(t) against the number already truncated n(t) (T. Chen,
# arXiv 2501.07400; definitions and estimator in geomdl.math.contraction), in two settings:
#   partial: the truncation-speed experiment (partial construction, GD, its defaults);
#   random:  random initialisation (PyTorch's default, re-drawn while some hidden layer is dead on the data, as
#            the layers experiment does) trained by SGD on the same clustered data: truncation starts near zero.
# Time is gradient-flow time t = lr x step, so runs with different step sizes share one axis. The claim is about
# clusters being truncated: the aggregates (bins, slopes) use each pair's truncating phase only, from the lowest
# collapsed count before its peak to the first time it reaches the peak (as the log-linear fits above); every
# interval is in contraction_rates.csv with its "rising" flag.

CONTRACTION_SETTINGS = ("partial", "random")


@config
class ContractionConfig:
    """``q`` classes, ``seeds`` runs per setting (seeds ``0..seeds-1``). ``partial``: the truncation-speed
    config (its ``q`` and ``seed`` are replaced). ``random_*``: SGD step, budget, batch and snapshots of the
    random-initialisation runs. A (layer, class) pair is measured when its collapsed count varies by at least
    ``min_rise`` points over the run; rates need ``min_points`` not-collapsed points; ``bin_width``: width of
    the ``n`` bins of the confidence intervals."""

    q = shared(3)
    seeds = shared(10)
    settings: tuple[str, ...] = CONTRACTION_SETTINGS
    partial: ts.TruncationSpeedConfig = ts.TruncationSpeedConfig(snapshots=241)
    n_per_class = shared(200)
    random_lr: float = 0.02
    random_steps: int = 6000
    random_batch: int = 64
    random_snapshots: int = 301
    min_rise: int = 20
    min_points: int = 3
    bin_width: int = 20
    scheduler = shared(None)

    def validate(self) -> None:
        from geomdl.experiments.parallel import check_scheduler  # noqa: PLC0415

        check_scheduler(self.scheduler)
        check_fields(self, "seeds")
        if not self.settings or any(s not in CONTRACTION_SETTINGS for s in self.settings):
            raise GeomdlError(f"settings must be among {', '.join(CONTRACTION_SETTINGS)} (got {list(self.settings)})")
        if self.min_rise < 1 or self.min_points < 2 or self.bin_width < 1:
            raise GeomdlError("min_rise >= 1, min_points >= 2 and bin_width >= 1 are required")
        if not (self.random_lr > 0 and self.random_steps >= 1 and self.random_batch >= 1
                and self.random_snapshots >= 3):
            raise GeomdlError("random_lr > 0, random_steps >= 1, random_batch >= 1, random_snapshots >= 3 required")
        replace(self.partial, q=self.q, n_per_class=self.n_per_class).validate()

    @classmethod
    def parse(cls, q: int, seeds: int, setting: str, sets: list[str] | None = None,
              scheduler: str | None = None) -> ContractionConfig:
        """The validated config from command-line values: ``setting`` ``partial``, ``random`` or ``both``;
        ``sets``: ``KEY=VALUE`` texts for the other fields (not ``partial`` or ``settings``)."""
        from geomdl.experiments import build_config  # noqa: PLC0415

        if setting not in (*CONTRACTION_SETTINGS, "both"):
            raise UsageError(f"unknown --setting {setting!r}; known: {', '.join(CONTRACTION_SETTINGS)}, both")
        chosen = CONTRACTION_SETTINGS if setting == "both" else (setting,)
        return build_config(cls, "contraction-rate", {"q": q, "seeds": seeds, "settings": chosen,
                                                      "scheduler": scheduler}, sets,
                            hidden=("partial", "settings", "scheduler"))


def random_init_run(q: int, seed: int, n_per_class: int, lr: float, steps: int, batch: int, snapshots_: int):
    """SGD from a random initialisation on the clustered data (Q hidden layers of width ``M = max(3, Q)``),
    recorded; returns ``(arrays, labels, result, lr)``. The init is PyTorch's default with seed ``seed + 7919 k``,
    the first ``k`` whose hidden layers are all alive on the data (deterministic)."""
    import torch  # noqa: PLC0415

    from geomdl.data import synthetic as data  # noqa: PLC0415
    from geomdl.io.recorder import Recorder  # noqa: PLC0415
    from geomdl.math import truncation as geometry  # noqa: PLC0415
    from geomdl.nn import health, snapshots  # noqa: PLC0415
    from geomdl.nn.model import build_model  # noqa: PLC0415
    from geomdl.nn.training import TrainConfig, train  # noqa: PLC0415

    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=n_per_class, seed=seed))
    M = X.shape[1]
    for k in range(100):
        model = build_model(M, [M] * q, q, seed=(seed + 7919 * k) % 2**32)
        Ws, bs, _, _ = model.layer_arrays()
        if all((h > 0).any() for h in geometry.hidden_activations(X, Ws, bs)):
            break
    else:
        raise GeomdlError(f"no live random initialisation in 100 draws (Q={q}, seed {seed})")
    torch.manual_seed(seed)
    rec = Recorder(X, labels, q)
    at = snapshots.snapshot_steps(steps, snapshots_, "linear")
    cfg = TrainConfig(optimizer="sgd", lr=lr, steps=steps, batch_size=batch, seed=seed, patience=10 * steps)
    result = train(model, X, labels, cfg, snapshot_at=at, recorder=rec)
    arrays = rec.arrays()
    if result.stop_reason != "diverged":
        health.check_run(result, arrays["outputs"][0], arrays["outputs"][-1], labels, q)
    return arrays, labels, result, lr


def measured_pairs(k_trunc: np.ndarray, labels: np.ndarray, widths: list[int], q: int, min_rise: int):
    """(layer, class) pairs whose collapsed count varies by at least ``min_rise`` over the snapshots and that
    have not-collapsed points at some snapshot. ``k_trunc: (S, L, N)``."""
    out = []
    for l, w in enumerate(widths):
        coll = k_trunc[:, l, :] == w
        for j in range(q):
            n = coll[:, labels == j].sum(axis=1)
            if n.max() - n.min() >= min_rise and n.min() < (labels == j).sum():
                out.append((l, j))
    return out


def contraction_run(cfg: ContractionConfig, setting: str, seed: int) -> tuple[dict, list[dict], list[dict]]:
    """One run of the contraction-rate study (here or on a worker): ``(run row, series, interval rows)`` of
    ``setting`` at ``seed``."""
    from geomdl.math import contraction  # noqa: PLC0415

    rows, series = [], []
    if setting == "partial":
        tr, res = ts.run(replace(cfg.partial, q=cfg.q, n_per_class=cfg.n_per_class, seed=seed))
        arrays, labels, lr = tr.arrays, tr["labels"], float(tr.meta["lr"])
    else:
        arrays, labels, res, lr = random_init_run(cfg.q, seed, cfg.n_per_class, cfg.random_lr,
                                                  cfg.random_steps, cfg.random_batch, cfg.random_snapshots)
    widths = [arrays["truncated"].shape[-1]] * arrays["truncated"].shape[1]
    pairs = [] if res.failed else measured_pairs(arrays["k_trunc"], labels, widths, cfg.q, cfg.min_rise)
    run_row = {"setting": setting, "seed": seed, "stop_reason": res.stop_reason, "lr": lr,
               "final_step": res.final_step, "final_loss": res.final_loss, "pairs": len(pairs),
               "message": res.message if res.failed else ""}
    t = arrays["steps"].astype(float) * lr
    for l, j in pairs:
        r = contraction.contraction_rates(t, arrays["truncated"][:, l], arrays["base_points"][:, l],
                                          arrays["k_trunc"][:, l, :] == widths[l], labels == j, cfg.min_points)
        series.append({"setting": setting, "seed": seed, "layer": l + 1, "class": j, "t": t,
                       "n": r["n_at"], "s": r["s_at"]})
        # the truncating phase: from the lowest count before the peak to the first time at the peak
        # (intervals [k, k+1] inside it); an un-collapsing pair (peak at the start) has none
        start, end = rising_window(r["n_at"], 1.0)
        rising_ok = r["n_at"].max() > r["n_at"][start]
        for k in range(len(r["t"])):
            rows.append({"setting": setting, "seed": seed, "layer": l + 1, "class": j,
                         "t": float(r["t"][k]), "n": float(r["n"][k]), "rate": float(r["rate"][k]),
                         "points": int(r["points"][k]),
                         "rising": bool(rising_ok and start <= k and k + 1 <= end - 1)})
    return run_row, series, rows


def run_contraction_study(cfg: ContractionConfig, progress: Callable[[int, int], None] | None = None) -> dict:
    """Every (setting, seed): rates of every measured (layer, class). Returns ``{"rows": [...] (one per
    interval), "series": [...] (n(t), s(t) per pair), "runs": [...], "summary": [...] (per setting: the pooled
    pairs, then each (layer, class) measured in at least 2 seeds: binned rates with CIs, slope of lambda against
    n with its CI and verdict), "config"}``."""
    from geomdl.experiments.parallel import map_runs  # noqa: PLC0415
    from geomdl.math import contraction  # noqa: PLC0415

    cfg.validate()
    rows, series, runs = [], [], []
    jobs = [(cfg, setting, seed) for setting in cfg.settings for seed in range(cfg.seeds)]
    for run_row, run_series, run_rows in map_runs(contraction_run, jobs, cfg.scheduler, progress):
        runs.append(run_row)
        series += run_series
        rows += run_rows
    edges = np.arange(0, cfg.n_per_class + cfg.bin_width, cfg.bin_width, dtype=float)
    summary = []
    for setting in cfg.settings:
        mine = [r for r in rows if r["setting"] == setting]
        pair_seeds: dict[tuple[int, int], set[int]] = {}
        for r in mine:
            if r["rising"]:
                pair_seeds.setdefault((r["layer"], r["class"]), set()).add(r["seed"])
        groups = [("pooled", None)] + [(f"layer {l} class {j + 1}", (l, j))   # a name: classes from 1
                                       for (l, j), sd in sorted(pair_seeds.items()) if len(sd) >= 2]
        for name, pair in groups:
            sel = [r for r in mine if r["rising"] and (pair is None or (r["layer"], r["class"]) == pair)]
            per_seed = []
            for seed in range(cfg.seeds):
                rs = [r for r in sel if r["seed"] == seed]
                if rs:
                    per_seed.append((np.array([r["n"] for r in rs]), np.array([r["rate"] for r in rs])))
            sl = contraction.slope_ci(per_seed)
            finite = np.concatenate([r[np.isfinite(r)] for _, r in per_seed]) if per_seed else np.array([])
            summary.append({
                "setting": setting, "group": name, "layer": pair[0] if pair else None,
                "class": pair[1] if pair else None,
                "runs": sum(1 for r in runs if r["setting"] == setting),
                "failed_runs": sum(1 for r in runs if r["setting"] == setting and r["stop_reason"] in FAILED),
                "seeds_measured": len(per_seed),
                "rate_median": float(np.median(finite)) if finite.size else float("nan"),
                "positive_fraction": float(np.mean(finite > 0)) if finite.size else float("nan"),
                **{k: v for k, v in sl.items() if k != "slopes"},
                "slopes": [float(x) for x in sl["slopes"]], "bins": contraction.binned_ci(per_seed, edges),
            })
    return {"rows": rows, "series": series, "runs": runs, "summary": summary, "config": cfg}


def contraction_lines(result: dict) -> list[str]:
    """One line per (setting, group): seeds measured, failed runs, median lambda, the slope of lambda against n
    with its 95% CI and the verdict."""
    return [f"{g['setting']}, {g['group']}: {g['seeds_measured']} seeds ({g['failed_runs']} of {g['runs']} "
            f"runs failed); median lambda {g['rate_median']:.3g}; slope of lambda vs n {g['slope_mean']:.3g} "
            f"[{g['slope_ci_low']:.3g}, {g['slope_ci_high']:.3g}] -> {g['verdict']}" for g in result["summary"]]


def write_contraction_tables(result: dict, out_dir: Path) -> list[Path]:
    """``contraction_rates.csv`` (one row per interval), ``contraction_bins.csv`` (binned means, 95% CIs),
    ``contraction_runs.csv`` (one row per run) and ``contraction_summary.json``."""
    ensure_writable_dir(out_dir)
    paths = [out_dir / "contraction_rates.csv", out_dir / "contraction_bins.csv", out_dir / "contraction_runs.csv",
             out_dir / "contraction_summary.json"]
    if not result["rows"]:
        raise GeomdlError("no (layer, class) pair truncated enough to measure a contraction rate in any run")
    _write_csv(paths[0], result["rows"])
    _write_csv(paths[1], [{"setting": g["setting"], "group": g["group"], **b} for g in result["summary"]
                          for b in g["bins"]])
    _write_csv(paths[2], result["runs"])
    cfg = result["config"]
    meta = {"config": {**{k: v for k, v in asdict(cfg).items() if k not in ("partial", "scheduler")},
                       "partial": cfg.partial.to_dict()},
            "summary": [{k: v for k, v in g.items() if k != "bins"} for g in result["summary"]]}
    with atomic_path(paths[3]) as tmp:
        tmp.write_text(json.dumps(meta, indent=2, default=float))
    return paths
