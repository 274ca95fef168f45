"""Experiments ``perturb`` and ``local-minima`` (docs/math.md §5): thin orchestration over
:mod:`geomdl.experiments.sweep` and :mod:`geomdl.math.landscape`, called by
``geomdl experiment perturb|local-minima`` (figures come from ``scenes/figures/landscape.py``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from geomdl.checks import check_q
from geomdl.errors import GeomdlError, UsageError
from geomdl.io.atomic import atomic_path
from geomdl.math import geometries, landscape


def parse_lambdas(text: str) -> tuple[float, ...]:
    """``"0.01,0.1,1"`` -> floats; every value must be a positive finite number."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            out.append(float(part))
        except ValueError:
            raise UsageError(f"--lambdas must be comma-separated numbers, got {part!r}") from None
    if not out:
        raise GeomdlError("--lambdas is empty")
    from geomdl.experiments.sweep import check_lambdas  # noqa: PLC0415

    check_lambdas(out)
    return tuple(out)


def sweep_folder(out: Path, name: str, geometry: str, base: str, mode: str) -> Path:
    return Path(out) / "experiments" / name / f"{geometry}_{base}_{mode}"


def check_toggle_q(q: int) -> None:
    """``Q`` of the toggle-pattern table: >= 2 and small enough to enumerate its ``2^Q - 1`` patterns."""
    check_q(q)
    landscape.check_toggle_q(q)


def local_minima_rows(q: int, n_per_class: int = 200, radius: float = 0.25, seed: int = 0,
                      do_polish: bool = True, geometry: str = "clustered", m: int | None = None,
                      scheduler: str | None = None) -> list[dict]:
    """The toggle-pattern table for ``Q`` classes of the clustered or flat geometry (see
    :func:`landscape.local_minima_table`); one independent run per pattern, on ``scheduler`` (``None``: here;
    ``local:N`` or a Dask address: :func:`geomdl.experiments.parallel.map_runs`), the same rows either way."""
    from geomdl.experiments.parallel import check_scheduler, map_runs  # noqa: PLC0415

    check_scheduler(scheduler)
    check_toggle_q(q)
    geometries.check_toggle_geometry(geometry)
    cfg = geometries.GeometryConfig(geometry, q=q, m=m, n_per_class=n_per_class, radius=radius, seed=seed)
    X, labels = geometries.make_data(cfg)
    full = geometries.toggle_base(cfg, X, labels)
    return map_runs(landscape.pattern_row, [(X, labels, pat, full, do_polish) for pat in landscape.toggle_patterns(q)],
                    scheduler, what="toggle patterns")


def write_table(rows: list[dict], path: Path) -> Path:
    keys = list(rows[0])
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(keys)
        for r in rows:
            w.writerow([json.dumps(v) if isinstance(v, list) else (repr(v) if isinstance(v, float) else
                                                                  int(v) if isinstance(v, bool) else v)
                        for v in (r[k] for k in keys)])
    return path


def table_lines(rows: list[dict], polished: bool) -> list[str]:
    """One line per toggle pattern: loss, gradient norms, region infimum (and where L-BFGS ended), and the
    local-minimum verdict with its reason."""
    out = []
    for r in rows:
        extra = (f"; polished {r['polished_loss']:.3e} (|grad| {r['polished_grad_norm']:.1e})" if polished else "")
        verdict = "local minimum" if r["local_minimum"] else f"not a local minimum: {r['reason']}"
        out.append(f"pattern {r['pattern']}: loss {r['loss']:.4e}, |grad| {r['grad_norm']:.2e} (output layer "
                   f"{r['grad_norm_output']:.1e}), region infimum {r['region_infimum']:.4e}{extra}; {verdict}")
    return out


def sweep_config(geometry: str, q: int | None, base: str, lambdas: str, trials: int, mode: str, steps: int,
                 lr: float, seed: int, chunk: int, scheduler: str | None = None):
    """The validated :class:`sweep.SweepConfig` of one perturbation sweep around ``base`` (``lambdas`` as
    typed: ``"0.01,0.1,1"``); the Dask ``scheduler`` address is checked too."""
    from geomdl.experiments import sweep  # noqa: PLC0415

    cfg = sweep.SweepConfig(geometry=geometry, q=q, seed=seed, base=base, lambdas=parse_lambdas(lambdas),
                            trials=trials, mode=mode, steps=steps, lr=lr, chunk=chunk)
    cfg.validate()
    sweep.check_scheduler(scheduler)
    return cfg


def check_local_minima(q: int, geometry: str, m: int | None, lambdas: str, trials: int, mode: str, steps: int,
                       lr: float, seed: int, chunk: int, scheduler: str | None) -> None:
    """Every option of ``geomdl experiment local-minima``, checked before any work (the table comes first)."""
    if q < 2:
        raise GeomdlError(f"Q must be >= 2 (got {q})")
    if trials < 0:
        raise GeomdlError(f"--trials must be >= 0 (got {trials})")
    check_toggle_q(q)
    parse_lambdas(lambdas)
    if trials > 0:
        sweep_config("clustered", q, "0" * q, lambdas, trials, mode, steps, lr, seed, chunk, scheduler)
    if geometry not in geometries.TOGGLE_GEOMETRIES:
        raise UsageError(f"--geometry must be one of {', '.join(geometries.TOGGLE_GEOMETRIES)} (got {geometry!r})")
    if m is not None and m != max(3, q) and trials > 0:
        raise GeomdlError("--m applies to the table only: use --trials 0 with --m")


def sweep_lines(summary: list[dict], base: str, zero_tol: float) -> list[str]:
    """One line per lambda of a sweep's summary: the fraction of trials back to ~zero loss, median losses."""
    return [f"{base} lambda {r['lambda']:g}: {r['fraction_returned']:.1%} of {r['trials']} back below "
            f"{zero_tol:g}; median final loss {r['final_loss_median']:.3g} (start {r['initial_loss_median']:.3g})"
            for r in summary]
