"""The figure/table experiments (``geomdl experiment NAME``), each a :class:`~geomdl.experiments.registry.Study`:
its options as data, ``configure`` (option values -> validated config) and ``run`` (the work, the tables, the
figures through ``ui.draw``, the result lines). The science lives in the modules they call; this module only
wires options to them, so that the CLI, a notebook and a test run a study the same way::

    from geomdl.experiments import studies
    cfg = studies.NC_FEASIBILITY.configure({"trials": 5})
    files = studies.NC_FEASIBILITY.run(cfg, "media", studies.QuietUI())   # tables only: QuietUI draws nothing

Imports of the study modules happen inside the functions: ``geomdl --help`` reads the options without torch.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from geomdl.errors import RunFailedError
from geomdl.experiments.registry import OUT, SEED, SET, TRACE_OPTION, Option, StudyUI
from geomdl.io.atomic import atomic_group, ensure_writable_dir


class QuietUI:
    """A :class:`StudyUI` for notebooks and tests: no progress bars, lines printed, no figures drawn (pass a UI
    whose ``draw`` imports ``scenes.figures`` for those, as the CLI does)."""

    @contextlib.contextmanager
    def bar(self, label: str, total: int | None, info: str = "") -> Iterator[Callable[..., None]]:
        yield lambda *a, **k: None

    def echo(self, line: str) -> None:
        print(line)

    def note(self, line: str) -> None:
        print(line, file=sys.stderr)

    def draw(self, figure: str, *args: Any) -> list[Path]:
        return []


@dataclass(frozen=True)
class StudySpec:
    """A :class:`~geomdl.experiments.registry.Study` made of two functions."""

    help: str
    options: tuple[Option, ...]
    configure_fn: Callable[[dict[str, Any], list[str] | None], Any]
    run_fn: Callable[[Any, Path, StudyUI], list[Path]]

    def configure(self, values: dict[str, Any], sets: list[str] | None = None) -> Any:
        defaults = {o.field: o.default for o in self.options if not o.argument}
        return self.configure_fn({**defaults, **values}, sets)

    def run(self, cfg: Any, out: str | Path, ui: StudyUI) -> list[Path]:
        return self.run_fn(cfg, Path(out), ui)


def _one_set(name: str, out: Path, ui: StudyUI, run: Callable[[Callable[[int, int], None]], Any],
             total: int | None, write: Callable[[Any, Path], list[Path]], figures: str,
             lines: Callable[[Any], list[str]], label: str = "runs", info: str = "", every: int = 1,
             threaded: bool = True, notes: int = 0) -> list[Path]:
    """The body of most studies: ``run(progress)`` with a progress bar of ``total`` units (updated every
    ``every``), then ``write(result, folder)`` and the figure function ``figures(result, folder)`` as one
    atomic set in ``out/experiments/<name>/``, then ``lines(result)`` (the last ``notes`` of them as notes)
    and the files written."""
    from geomdl.experiments import one_thread  # noqa: PLC0415

    folder = ensure_writable_dir(out / "experiments" / name)
    with one_thread() if threaded else contextlib.nullcontext(), ui.bar(label, total, info) as update:
        result = run(lambda i, n: update(i) if i % every == 0 or i == n else None)
    with atomic_group():   # tables and figures: one set
        files = write(result, folder) + ui.draw(figures, result, folder)
    text = lines(result)
    for line in text[:len(text) - notes]:
        ui.echo(line)
    for line in text[len(text) - notes:]:
        ui.note(line)
    return _echo_files(ui, files)


def _echo_files(ui: StudyUI, files: list[Path]) -> list[Path]:
    for f in files:
        ui.echo(str(f))
    return files


def _make(module: str, values: dict[str, Any], names: tuple[str, ...], sets: list[str] | None):
    """The validated config of trace-experiment module ``module`` from the ``names`` of ``values``."""
    import importlib  # noqa: PLC0415

    from geomdl.experiments import make_config  # noqa: PLC0415

    return make_config(importlib.import_module(module), {k: values[k] for k in names}, sets)


STUDY_SCHEDULER = Option(
    "--scheduler", help="Run the study's independent runs on a Dask scheduler at this address (e.g. "
                        "tcp://10.0.0.5:8786) or on N local worker processes (local:N; local = every core); the "
                        "same results as here. An address needs the cluster extra. (default: here, one run after "
                        "another)")


# ---------------------------------------------------------------- truncation-speed
def _ts_configure(v: dict, sets: list[str] | None):
    from geomdl.experiments import truncation_speed_fits as study  # noqa: PLC0415

    base = _make("geomdl.experiments.truncation_speed", v, ("q", "steps", "lr", "optimizer", "loss", "snapshots"),
                 sets)
    return study.StudyConfig.parse(base, v["start_fractions"], v["seeds"], v["rise"], v["scheduler"])


def _ts_run(cfg, out: Path, ui: StudyUI) -> list[Path]:
    from geomdl.experiments import truncation_speed_fits as study  # noqa: PLC0415

    return _one_set("truncation-speed", out, ui, lambda p: study.run_study(cfg, progress=p),
                    len(cfg.start_fractions) * cfg.seeds, study.write_tables,
                    "scenes.figures.truncation_speed:plot_study", study.summary_lines)


TRUNCATION_SPEED = StudySpec(
    """Measure the speed of truncation: n(t) per start fraction and seed, log-linear growth rates with 95% CIs,
    and dn/dt against n (the claim "the rate grows with the number already truncated" predicts a positive slope).

    Writes counts.csv, fits.csv, summary.csv/.json and truncation_speed.png/.pdf to OUT/experiments/truncation-speed/.
    """,
    (TRACE_OPTION["q"], Option("--seeds", int, 10, "Seeds per start fraction (>= 2)."),
     Option("--start-fractions", str, "0.1,0.22,0.4", "Layer-1 start fractions, comma-separated, each in (0, 1)."),
     TRACE_OPTION["steps"], TRACE_OPTION["lr"], TRACE_OPTION["optimizer"], TRACE_OPTION["loss"],
     Option("--snapshots", int, 241, "Snapshots per run (time resolution of n(t))."),
     Option("--rise", float, 0.9, "Fit window: until n reaches this fraction of its rise."), STUDY_SCHEDULER, SET,
     OUT),
    _ts_configure, _ts_run)


# ---------------------------------------------------------------- contraction-rate
def _cr_configure(v: dict, sets: list[str] | None):
    from geomdl.experiments import truncation_speed_fits as study  # noqa: PLC0415

    return study.ContractionConfig.parse(v["q"], v["seeds"], v["setting"], sets, v["scheduler"])


def _cr_run(cfg, out: Path, ui: StudyUI) -> list[Path]:
    from geomdl.experiments import truncation_speed_fits as study  # noqa: PLC0415

    return _one_set("contraction-rate", out, ui, lambda p: study.run_contraction_study(cfg, progress=p),
                    len(cfg.settings) * cfg.seeds, study.write_contraction_tables,
                    "scenes.figures.truncation_speed:plot_contraction", study.contraction_lines)


CONTRACTION_RATE = StudySpec(
    """The speed of truncation as T. Chen states it (arXiv 2501.07400): per (layer, class), the contraction rate
    lambda = -d/dt log s of the spread s of the not-yet-collapsed points about the base point, against the number
    n already collapsed, with 95% CIs over seeds; the claim predicts lambda growing with n.

    Writes contraction_rates.csv, contraction_bins.csv, contraction_runs.csv, contraction_summary.json and
    contraction_rate.png/.pdf to OUT/experiments/contraction-rate/. Other fields (random_lr, random_steps,
    random_snapshots, min_rise, bin_width, ...) via --set KEY=VALUE.
    """,
    (Option("--q", int, 3, "Number of classes Q (2..8)."),
     Option("--seeds", int, 10, "Runs per setting, seeds 0..SEEDS-1 (>= 2)."),
     Option("--setting", str, "both", "partial (the truncation-speed construction, GD), random (random "
                                      "initialisation, SGD) or both."), STUDY_SCHEDULER, SET, OUT),
    _cr_configure, _cr_run)


# ---------------------------------------------------------------- mnist
def _mnist_configure(v: dict, sets: list[str] | None):
    from geomdl.experiments import mnist_thresholds as mx  # noqa: PLC0415

    base = _make("geomdl.experiments.mnist_thresholds", v, ("thresholds", "widths", "output_dim", "data",
                                                           "n_per_digit", "seed", "lr", "max_steps"), sets)
    from geomdl.experiments.parallel import check_scheduler  # noqa: PLC0415

    check_scheduler(v["scheduler"])
    return mx.MnistExperimentConfig.parse(base, v["digits"], v["loss"], v["sls_digits"]), v["scheduler"]


def _mnist_run(configured: tuple, out: Path, ui: StudyUI) -> list[Path]:
    """``configured``: the experiment config and where its runs go (``--scheduler``: not part of the config)."""
    from geomdl.experiments import mnist_thresholds as mx  # noqa: PLC0415
    from geomdl.experiments import one_thread  # noqa: PLC0415

    cfg, scheduler = configured
    folder = ensure_writable_dir(out / "experiments" / "mnist")
    with one_thread(), ui.bar("mnist", None) as update:
        result = mx.run_experiment(cfg, progress=lambda name, step, v: update(step, info=f"step {step} loss {v:.3e}"),
                                   stage=lambda name: update(0, info="", label=name), scheduler=scheduler)
    with atomic_group():   # tables and figures: one set
        files = mx.write_tables(result, folder) + ui.draw("scenes.figures.mnist:draw_all", result.runs, folder)
    for line in mx.summary_lines(result):
        ui.echo(line)
    return _echo_files(ui, files)


MNIST = StudySpec(
    """MNIST: train with MSE and cross-entropy to each loss threshold; PCA panels of the truncated
    digits with cones, outputs, pixel hyperplanes, neural collapse (NC1-NC4), delta_P, the network metric d; SLS
    check. Writes runs.csv, metrics.csv, layers.csv, sls.csv and figures (PNG + PDF) to OUT/experiments/mnist/.
    """,
    (Option("--digits", list[str], multi=True,
            help="A digit set, e.g. --digits 0 1 2; repeat for several sets (--digits 0 1 2 --digits 0 1 6). "
                 "(default: 0 1 2 and 0 1 6)"),
     Option("--loss", str, "both", "mse, ce (cross-entropy) or both (same data and seed, side by side)."),
     Option("--thresholds", str, "0.1,0.05,0.01", "Loss thresholds to train to, each snapshotted and plotted."),
     Option("--widths", help="Hidden widths, comma-separated, non-increasing, >= Q (e.g. 784,256,64). "
                             "(default: Q layers of 784)"),
     Option("--output-dim", int, help="Q (one output per class) or 10 (one per digit). (default: Q)"),
     TRACE_OPTION["data"],
     Option("--n-per-digit", int, help="Use at most this many digits of each class (before the split). "
                                       "(default: all)"),
     Option("--sls-digits", str, "0,1,6,4", "Digits whose SLS order is checked (default 0,1,6,4: expected SLS in "
                                            "that order); 'none' to skip. The digit sets are always checked."),
     SEED, TRACE_OPTION["lr"],
     Option("--steps", int, field="max_steps", help="Step budget per run. (default: 20000)"), STUDY_SCHEDULER,
     SET, OUT),
    _mnist_configure, _mnist_run)


# ---------------------------------------------------------------- perturbation sweeps and local minima
def _sweep(name: str, base: str, p: SimpleNamespace, out: Path, ui: StudyUI) -> list[Path]:
    """One perturbation sweep around ``base`` (a toggle pattern or ``zero-loss``): results.csv, summary.csv and
    the histograms, one set; the chunks persist alone (``--resume``)."""
    from geomdl.experiments import landscape_study as px  # noqa: PLC0415
    from geomdl.experiments import sweep  # noqa: PLC0415

    cfg = px.sweep_config(p.geometry, p.q, base, p.lambdas, p.trials, p.mode, p.steps, p.lr, p.seed, p.chunk,
                          p.scheduler)
    folder = px.sweep_folder(out, name, p.geometry, base, p.mode)
    with ui.bar(f"{name} {base} ({p.mode})", len(cfg.lambdas) * p.trials, "trials") as update:
        with atomic_group():
            res = sweep.run_sweep(cfg, folder, resume=p.resume, scheduler=p.scheduler,
                                  progress=lambda k, n: update(k, total=n))
            files = res["files"] + ui.draw("scenes.figures.landscape:plot_perturbation", res["files"][0], folder,
                                           f"{p.geometry}, {base}, {p.mode} mode ({p.trials} trials per λ)",
                                           cfg.zero_tol)
    for line in px.sweep_lines(res["summary"], base, cfg.zero_tol):
        ui.echo(line)
    ui.note(f"{res['computed']} chunks computed, {res['reused']} reused, {res['seconds']:.1f} s")
    return files


def _perturb_configure(v: dict, sets: list[str] | None) -> SimpleNamespace:
    from geomdl.experiments import landscape_study as px  # noqa: PLC0415

    px.sweep_config(v["geometry"], v["q"], "zero-loss", v["lambdas"], v["trials"], v["mode"], v["steps"], v["lr"],
                    v["seed"], v["chunk"], v["scheduler"])
    return SimpleNamespace(**v)


def _perturb_run(p: SimpleNamespace, out: Path, ui: StudyUI) -> list[Path]:
    return _echo_files(ui, _sweep("perturb", "zero-loss", p, out, ui))


LAMBDAS = Option("--lambdas", str, "0.01,0.0316,0.1,0.316,1",
                 "Perturbation sizes, comma-separated, each > 0: every tensor T += lambda G/|G|.")
SWEEP_STEPS = Option("--steps", int, 2000, "SGD step budget per trial (train mode).")
SWEEP_LR = Option("--lr", float, 0.01, "SGD learning rate (train mode).")
SWEEP_SEED = Option("--seed", int, 0, "Data and trial seed.", min=SEED.min, max=SEED.max)
SCHEDULER = Option("--scheduler", help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to run the "
                                       "(lambda, chunk) grid (local-minima: and the toggle patterns) on, or local:N "
                                       "to run it on N local worker processes; a cluster's workers need geomdl "
                                       "installed. (default: run here)")
RESUME = Option("--resume", bool, False, "Continue an interrupted sweep in the same output folder (same options): "
                                         "finished chunks are kept.")
MODE_HELP = "train (perturb, then SGD with the training stop rules) or eval (perturb, then evaluate the loss)."

PERTURB = StudySpec(
    """Perturb the zero-loss construction of a geometry (every tensor T += lambda G/|G|) and train or evaluate;
    many trials per lambda, batched. Writes results.csv (one row per trial), summary.csv (fraction back to ~zero
    loss per lambda) and histograms (PNG + PDF) to OUT/experiments/perturb/<geometry>_zero-loss_<mode>/.
    """,
    (Option("--geometry", str, "clustered", "clustered (Q balls), sls (slabs, sequentially separable), nonsep "
                                            "(wedge and chevron, 2 classes) or concentric (ball and shell, 2 "
                                            "classes)."),
     LAMBDAS, Option("--trials", int, 200, "Trials per lambda (>= 1)."), Option("--mode", str, "train", MODE_HELP),
     SWEEP_STEPS, SWEEP_LR, Option("--q", int, help="Classes (clustered/sls). (default: 3, or 2)"), SWEEP_SEED,
     Option("--chunk", int, 50, "Trials per task (unit of parallel work and resume)."), SCHEDULER, RESUME, OUT),
    _perturb_configure, _perturb_run)


def _lm_configure(v: dict, sets: list[str] | None) -> SimpleNamespace:
    from geomdl.experiments import landscape_study as px  # noqa: PLC0415

    px.check_local_minima(v["q"], v["geometry"], v["m"], v["lambdas"], v["trials"], v["mode"], v["steps"], v["lr"],
                          v["seed"], v["chunk"], v["scheduler"])
    return SimpleNamespace(**v)


def _lm_run(p: SimpleNamespace, out: Path, ui: StudyUI) -> list[Path]:
    from geomdl.experiments import landscape_study as px  # noqa: PLC0415
    from geomdl.experiments import one_thread  # noqa: PLC0415

    folder = ensure_writable_dir(out / "experiments" / "local-minima" / ("" if p.geometry == "clustered"
                                                                         else p.geometry))
    ui.note(f"computing the {2 ** p.q - 1} toggle patterns" + (" and polishing each" if p.polish else ""))
    with one_thread():
        rows = px.local_minima_rows(p.q, seed=p.seed, do_polish=p.polish, geometry=p.geometry, m=p.m,
                                    scheduler=p.scheduler)
    with atomic_group():
        files = [px.write_table(rows, folder / "minima.csv")] + ui.draw(
            "scenes.figures.landscape:plot_local_minima", rows, folder,
            f"toggle patterns, {p.geometry} Q={p.q}, seed {p.seed}")
    for line in px.table_lines(rows, p.polish):
        ui.echo(line)
    if p.trials > 0:
        for r in rows:
            files += _sweep("local-minima", r["pattern"], p, out, ui)
    return _echo_files(ui, files)


LOCAL_MINIMA = StudySpec(
    """The 2^Q - 1 toggle patterns of the clustered or flat construction (each layer: full collapse or identity;
    output refit by least squares; no pattern skipped by symmetry): table of losses, gradient norms and the
    local-minimum verdict with its reason (minima.csv, a bar chart), then the perturbation sweep (mode train or
    eval) around each pattern. Every toggle network passes the structural verifier first. Output:
    OUT/experiments/local-minima/ (flat: OUT/experiments/local-minima/flat/).
    """,
    (Option("--q", int, 3, "Number of classes (>= 2)."),
     Option("--geometry", str, "clustered",
            "clustered (balls spanning R^M: only the no-collapse pattern is a minimum) or flat (balls on the plane "
            "x1+..+xQ = 1, base points lifted off it: the patterns with at most M-Q+1 collapses are local minima; "
            "see docs/local-minima.md)."),
     Option("--m", int, help="Input dimension M >= Q (flat: M >= 2Q-2 makes every pattern a local minimum). "
                             "(default: max(3, Q))"),
     LAMBDAS, Option("--trials", int, 200, "Trials per lambda and pattern; 0 = the table only."),
     Option("--mode", str, "eval", MODE_HELP), SWEEP_STEPS, SWEEP_LR, SWEEP_SEED,
     Option("--polish/--no-polish", bool, True, "Also run L-BFGS from each toggle point and report where it ends."),
     Option("--chunk", int, 50, "Trials per task."), SCHEDULER, RESUME, OUT),
    _lm_configure, _lm_run)


# ---------------------------------------------------------------- gradient flows in output space
def _flows_configure(v: dict, sets: list[str] | None):
    return _make("geomdl.experiments.flows", v, ("q", "seed", "n_per_class", "widths", "alphas", "steps", "loss"),
                 sets)


def _flows_run(cfg, out: Path, ui: StudyUI) -> list[Path]:
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.experiments import flows as fx  # noqa: PLC0415

    folder = ensure_writable_dir(out / "experiments" / "flows")
    with ui.bar("training", cfg.steps) as update:
        trace, result = experiments.run(
            "flows", progress=lambda s, loss: update(s, info=f"loss {loss:.3e}") if s % 10 == 0 else None, cfg=cfg)
        update(result.final_step, info=f"loss {result.final_loss:.3e} ({result.stop_reason})")
    with atomic_group():   # trace, tables and figures: one set
        files = ([trace.save(folder / "flows.npz")] + fx.write_tables(trace, folder)
                 + ui.draw("scenes.figures.flows:write_figures", trace, folder))
    for line in fx.summary_lines(trace):
        ui.echo(line)
    for note in trace.meta["notes"]:
        ui.note(f"note: {note}")
    _echo_files(ui, files)
    if result.failed:
        raise RunFailedError(f"training failed: {result.message} (trace kept for inspection: {files[0]})")
    return files


FLOWS = StudySpec(
    """Standard gradient flow, adapted (Penrose) flow and the homotopy between them from one theta_0 (docs/math.md §8).

    Reports the exponential-law error, distance from the straight lines, rank of D, trapping and neural collapse
    per flow; writes flows_summary.csv, flows_series.csv, the trace flows.npz and the figures flows_cost,
    flows_trajectories, flows_diagnostics (PNG + PDF) to OUT/experiments/flows/. Other fields (m, tau_max,
    activation, integrator, solver, least_squares, freeze_adapted, ...) via --set KEY=VALUE.
    """,
    (TRACE_OPTION["q"], SEED, Option("--n-per-class", int, help="Points per class. (default: 10)"),
     Option("--widths", help="Hidden widths, comma-separated. (default: 32,32)"),
     Option("--alphas", help="Homotopy parameters alpha in [0, 1], comma-separated (0 = standard gradient flow, "
                             "1 = adapted flow). (default: 0,0.5,0.9,1)"),
     Option("--steps", int, help="Recorded grid intervals per flow. (default: 100)"),
     Option("--loss", help="mse (C = |x-y|^2/2N: exactly the e^{-2s/N} law) or wmse (CE24's class-weighted). "
                           "(default: mse)"), SET, OUT),
    _flows_configure, _flows_run)


# ---------------------------------------------------------------- neural-collapse feasibility
def _nc_configure(v: dict, sets: list[str] | None):
    from geomdl.experiments import nc_feasibility_sweep as nf  # noqa: PLC0415

    return nf.FeasibilityConfig.parse(v["ratios"], v["sigmas"], classes=v["classes"], n=v["n"], trials=v["trials"],
                                      seed=v["seed"], tol=v["tol"], verify=v["verify"], scheduler=v["scheduler"])


def _nc_run(cfg, out: Path, ui: StudyUI) -> list[Path]:
    from geomdl.experiments import nc_feasibility_sweep as nf  # noqa: PLC0415

    return _one_set("nc-feasibility", out, ui, lambda p: nf.run_sweep(cfg, progress=p),
                    len(cfg.ratios) * len(cfg.sigmas) * cfg.trials, nf.write_tables,
                    "scenes.figures.nc_feasibility:write_figures", lambda r: nf.summary_lines(cfg, r),
                    label="LPs", info="data sets", every=20, threaded=False, notes=1)


NC_FEASIBILITY = StudySpec(
    """Exact neural-collapse feasibility of two-layer ReLU nets on Gaussian mixtures (docs/math.md §9): per class an LP
    for w.x + b = 1 on the class and <= 0 on the others; a data set is feasible iff every class is. Sweeps d/n
    and sigma; writes nc_feasibility_grid.csv, nc_feasibility_trials.csv and the phase diagram
    nc_feasibility_phase (PNG + PDF) to OUT/experiments/nc-feasibility/.
    """,
    (Option("--classes", int, 3, "Number of classes K (>= 2)."), Option("--n", int, 20, "Points per class n (>= 1)."),
     Option("--ratios", str, "0.5:3:11", "Values of d/n, comma-separated, or START:STOP:COUNT (d = round(ratio * "
                                         "n))."),
     Option("--sigmas", str, "-2:1:10", "Noise levels sigma (per coordinate), comma-separated, or logspace "
                                        "LO:HI:COUNT of powers of ten (e.g. -2:1:10 = 0.01 .. 10)."),
     Option("--trials", int, 40, "Data sets per (d/n, sigma) cell (>= 1)."),
     Option("--seed", int, 0, "Seed of the whole sweep.", min=SEED.min, max=SEED.max),
     Option("--tol", float, 1e-7, "LP feasibility tolerance (HiGHS) and residual tolerance of the independent "
                                  "checks."),
     Option("--verify/--no-verify", bool, True, "Check every answer independently (the neuron for yes, a Farkas "
                                                "certificate for no)."), STUDY_SCHEDULER, OUT),
    _nc_configure, _nc_run)
