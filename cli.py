"""geomdl command line: train small ReLU networks, record their geometry, render clips.

Data flows one way: config -> core (geomdl/) -> trace file (.npz) -> renderer (scenes/) -> media/.
Every bad input ends in a one-line ``error: ...`` and a non-zero exit code, never a traceback.

This module parses, calls the API and prints. Each command's options are declared once, as data, beside what they
configure (:class:`geomdl.experiments.registry.Option`: the experiment options in ``geomdl.experiments.registry``,
each figure/table experiment's in ``geomdl.experiments.studies``, the render options in ``scenes.options``); the
Typer commands are built from those declarations by :func:`command`.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import math
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich import progress as rp
from rich.console import Console

from geomdl.errors import GeomdlError, RunFailedError, fault, install_signal_handlers, interrupted, one_line
from geomdl.experiments import registry
from geomdl.experiments.registry import OUT, TRACE_OPTIONS, Option, option_values
from scenes.options import RENDER_OPTIONS, RUN_OPTIONS, SCENE_OPTIONS

err = Console(stderr=True, highlight=False, soft_wrap=True)
# Click's (or Typer's own copy of Click's) usage and option errors, found from a public Typer class
_CLICK = {c.__name__: c for c in typer.BadParameter.__mro__}
ClickUsageError, ClickException = _CLICK["UsageError"], _CLICK["ClickException"]


def join_multi_values(args: list[str], flags: tuple[str, ...] = ("--digits",)) -> list[str]:
    """``--digits 0 1 2`` -> ``--digits 0,1,2``: the integers that follow a multi-value option become one value.

    (Click options take a fixed number of values; this keeps the natural spelling working. A token that is not
    an integer, e.g. the scene name after the digits, ends the list.)
    """
    out, i = [], 0
    while i < len(args):
        out.append(args[i])
        if args[i] in flags and i + 1 < len(args):
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
    """A command whose multi-value options (``multi_flags``) take ``--digits 0 1 2`` (:func:`join_multi_values`),
    through Click's ``Command.parse_args``: the command line itself (``sys.argv``) is never rewritten."""

    multi_flags: tuple[str, ...] = ()

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        return super().parse_args(ctx, join_multi_values(args, self.multi_flags))


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


experiment_app = typer.Typer(
    no_args_is_help=True, help="Run an experiment that writes figures (PNG + PDF) and tables (CSV) rather than a "
                               "clip. Outputs go to OUT/experiments/<name>/.")


# ---------------------------------------------------------------- commands from option declarations
def _parameter(o: Option) -> inspect.Parameter:
    """The Typer parameter of declaration ``o`` (``None`` default: an optional value)."""
    needed = o.required or o.argument
    kind = o.type if needed or o.default is not None else o.type | None
    info = (typer.Argument(help=o.help) if o.argument else
            typer.Option(o.flags, *([o.short] if o.short else []), help=o.help,
                         **{k: v for k, v in (("min", o.min), ("max", o.max)) if v is not None}))
    return inspect.Parameter(o.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[kind, info],
                             default=inspect.Parameter.empty if needed else o.default)


def command(group: typer.Typer, name: str, options: tuple[Option, ...], help: str | None = None):
    """Register the decorated function as command ``name`` of ``group`` with the declared ``options`` (in that
    order in ``--help``); it is called with every option by name. ``help``: default, its docstring."""

    def register(body: Callable[..., None]) -> Callable[..., None]:
        def run(**given: Any) -> None:
            body(**given)

        params = [_parameter(o) for o in options]
        run.__signature__ = inspect.Signature(params)   # what Typer reads (a public inspect feature)
        run.__annotations__ = {p.name: p.annotation for p in params}
        run.__name__, run.__doc__ = body.__name__, help or body.__doc__
        multi = tuple(o.flags for o in options if o.multi)
        cls = type("MultiValueCommand", (MultiValueCommand,), {"multi_flags": multi}) if multi else None
        group.command(name, cls=cls)(run)
        return body

    return register


def progress_bar() -> rp.Progress:
    return rp.Progress(rp.TextColumn("{task.description}"), rp.BarColumn(), rp.MofNCompleteColumn(),
                       rp.TextColumn("{task.fields[info]}"), rp.TimeElapsedColumn(), rp.TextColumn("eta"),
                       rp.TimeRemainingColumn(), console=err, transient=False)


class TrainingBar:
    """A progress bar of training that appears on the first step (a cached run shows none). With a loss
    ``target`` (the lowest threshold, where the run stops) it counts percent of the way there, so its ETA is
    toward that stop or the step budget, whichever comes first (``geomdl.nn.thresholds.progress_share``)."""

    def __init__(self, total: int | None, target: float | None = None):
        self.total, self.target, self.bar, self.task = total, target, None, None
        self.first, self.done = float("nan"), 0.0

    def __call__(self, step: int, loss: float) -> None:
        if self.bar is None:
            self.bar = progress_bar()
            self.bar.start()
            what = "training" if self.target is None else f"training to loss {self.target:g} (%)"
            self.task = self.bar.add_task(what, total=self.total if self.target is None else 100, info="")
        if self.target is not None:
            from geomdl.nn.thresholds import progress_share  # noqa: PLC0415  (torch: only once training runs)

            if not math.isfinite(self.first) and math.isfinite(loss):
                self.first = loss
            self.done = max(self.done, progress_share(step, loss, self.total, self.first, self.target))
            if step % 10 == 0:
                self.bar.update(self.task, completed=int(100 * self.done), info=f"step {step}, loss {loss:.3e}")
        elif step % 10 == 0 or step == self.total:
            self.bar.update(self.task, completed=step, info=f"loss {loss:.3e}")

    def close(self, result=None) -> None:
        if self.bar is not None:
            if result is not None:
                done = result.final_step if self.target is None else 100
                self.bar.update(self.task, completed=done,
                                info=f"loss {result.final_loss:.3e} ({result.stop_reason})")
            self.bar.stop()

    @classmethod
    def of(cls, cfg) -> TrainingBar:
        thresholds = getattr(cfg, "thresholds", None)
        return cls(getattr(cfg, "steps", None), min(thresholds) if thresholds else None)


class CliUI:
    """The :class:`geomdl.experiments.registry.StudyUI` of ``geomdl experiment``: rich progress bars on stderr,
    result lines on stdout, figures drawn by the ``scenes.figures`` function named."""

    @contextlib.contextmanager
    def bar(self, label: str, total: int | None, info: str = "") -> Iterator[Callable[..., None]]:
        with progress_bar() as bar:
            task = bar.add_task(label, total=total, info=info)

            def update(done: int, total: int | None = None, info: str | None = None, label: str | None = None):
                kw = {"total": total, "info": info, "description": label}
                bar.update(task, completed=done, **{k: v for k, v in kw.items() if v is not None})

            yield update

    def echo(self, line: str) -> None:
        typer.echo(line)

    def note(self, line: str) -> None:
        err.print(line)

    def draw(self, figure: str, *args: Any) -> list[Path]:
        module, function = figure.split(":")
        return getattr(importlib.import_module(module), function)(*args)


def failed(result, path: Path | None) -> RunFailedError:
    return RunFailedError(f"training failed: {result.message}" + (f" (trace kept for inspection: {path})" if path
                                                                    else ""))


def echo_files(files) -> None:
    for f in files:
        typer.echo(str(f))


# ---------------------------------------------------------------- commands
app.add_typer(experiment_app, name="experiment")


@command(app, "list", ())
def list_cmd() -> None:
    """List the scenes you can render and the experiments you can run, with their parameters."""
    from geomdl.experiments import catalogue_lines  # noqa: PLC0415
    from scenes.render import SCENES  # noqa: PLC0415

    typer.echo("Scenes (geomdl render SCENE):")
    echo_files([f"  {s.name:<18} {s.about}" for s in SCENES.values()] + catalogue_lines())


@command(app, "train", (*registry.TRAIN_OPTIONS, *TRACE_OPTIONS, OUT))
def train(experiment: str, trace: Path | None, force: bool, out: Path, **given: Any) -> None:
    """Train and record a trace (no rendering). The same options always give the same trace on CPU.

    A failed run (diverged, dead network, or degenerate: fewer distinct output clusters than classes, or accuracy
    below its start) keeps its trace for inspection and exits 3 with the reason, unless --force."""
    from geomdl import experiments  # noqa: PLC0415

    values = option_values(TRACE_OPTIONS, given)
    mod = experiments.get(experiment)
    cfg = experiments.make_config(mod, values, values.pop("sets"))
    path = experiments.trace_file(trace, out, mod.KIND, cfg)
    bar, result = TrainingBar.of(cfg), None
    bar(0, float("nan"))
    try:
        tr, result = experiments.run(mod.KIND, progress=bar, cfg=cfg)
    finally:
        bar.close(result)
    path = tr.save(path)
    if result.failed:
        if not force:
            raise failed(result, path)
        err.print(f"warning: training failed ({result.stop_reason}), kept because of --force: {result.message}")
    err.print(f"trace: {path}  ({result.stop_reason}: {result.message})")
    typer.echo(str(path))


@command(app, "render", (*SCENE_OPTIONS, *RENDER_OPTIONS, *RUN_OPTIONS, *TRACE_OPTIONS, OUT))
def render(scene: str, trace: Path | None, retrain: bool, force: bool, view: str, jobs: int | None, out: Path,
           **given: Any) -> None:
    """Render a clip into OUT/<scene>/ (training first unless a cached or given trace exists).

    The trace is cached under OUT/traces/ keyed by the config hash: re-rendering never retrains.
    """
    from geomdl import experiments  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415
    from scenes.backends.parallel import check_jobs  # noqa: PLC0415
    from scenes.render import FORMATS, RenderOptions, scene_spec  # noqa: PLC0415
    from scenes.render import render as render_clip  # noqa: PLC0415

    spec = scene_spec(scene)
    opts = RenderOptions.of(**option_values(RENDER_OPTIONS, given))   # checked before training
    jobs = check_jobs(jobs)
    spec.check_view(view)
    spec.check_count_scale(opts.count_scale)
    if trace is not None:
        tr = spec.load_trace(trace)
        ensure_writable_dir(out / spec.name)
        stem = f"{trace.stem}{'_layerview' if view == 'layer' else ''}_{opts.tail}"
    else:
        values = option_values(TRACE_OPTIONS, given)
        mod = experiments.get(spec.experiment)
        cfg = experiments.make_config(mod, values, values.pop("sets"))
        ensure_writable_dir(out / spec.name)   # before training: an unwritable output fails early
        bar, run = TrainingBar.of(cfg), None
        try:
            run = experiments.cached_run(mod.KIND, cfg, out=out, retrain=retrain, progress=bar)
        finally:
            bar.close(run.result if run else None)
        if run.note:
            err.print(run.note)
        if run.cached:
            err.print(f"using cached trace {run.path} (--retrain to train again)")
        elif run.result.failed and not force:
            raise failed(run.result, run.path)
        tr, stem = run.trace, None   # render() names it <scene>_<experiments.output_stem(...)>_<renderer>_<...>
    if tr.failed and not force:  # a cached or given trace of a failed run: refused like a fresh one
        msg = tr.meta.get("stop_message") or tr.meta.get("stop_reason")
        raise RunFailedError(f"not rendering a failed run: {msg} (use --force to render it anyway)")
    if opts.notice:
        err.print(opts.notice)
    with progress_bar() as bar:
        drawn = any(FORMATS[f].frames for f in opts.formats)   # html alone: a page from the trace, no renderer
        task = bar.add_task(f"rendering ({opts.renderer})" if drawn else "writing the viewer page", total=None, info="")
        echo_files(render_clip(tr, scene=spec.name, out=out, options=opts, stem=stem, force=force, view=view,
                               progress=lambda i, n: bar.update(task, completed=i, total=n), jobs=jobs))


@command(app, "record", registry.RECORD_OPTIONS)
def record(model: Path, data: Path, trace: Path, title: str | None, note: list[str] | None, float32: bool) -> None:
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
        raise RunFailedError(f"recorded a failed run: {meta['stop_message']} (trace kept for inspection: {path})")
    typer.echo(str(path))


@command(app, "construct", registry.CONSTRUCT_OPTIONS)
def construct(geometry: str, q: int | None, n_per_class: int, seed: int, check: bool, figure: bool,
              out: Path) -> None:
    """Build the explicit zero-loss network of a data geometry (docs/math.md §4) and describe it."""
    from geomdl.errors import UsageError  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415
    from geomdl.math import geometries  # noqa: PLC0415
    from scenes.figures.geometries import draw_construction, draw_geometries  # noqa: PLC0415

    if geometry == "all" and (not figure or q is not None):
        raise UsageError("--geometry all is for --figure (every geometry with its default Q)")
    files, sets = [], []
    for g in geometries.GEOMETRIES if geometry == "all" else (geometry,):
        cfg = geometries.GeometryConfig(g, q=q if q is not None else geometries.default_q(g),
                                        n_per_class=n_per_class, seed=seed)
        X, labels, net = geometries.build(cfg)
        sets.append((f"({'abcd'[len(sets)]}) {g}", X, labels))
        if geometry != "all":
            echo_files(geometries.describe_lines(X, labels, net))
        if figure:
            files += draw_construction(X, labels, net, f"{net.name}: zero-loss construction",
                                       ensure_writable_dir(out / "constructions") / g)
    if geometry == "all":
        files += draw_geometries(sets, out / "constructions" / "geometries")
    echo_files(files)
    if check and geometry != "all":
        c = geometries.check_construction(X, labels, net)
        typer.echo(f"loss {c.loss:.3e} (torch model {c.torch_loss:.3e}), accuracy {c.accuracy:.1%}")
        if not c.exact:
            raise GeomdlError(f"check failed: loss {c.loss:.3g}, accuracy {c.accuracy:.1%}")


def _study_command(name: str, study) -> None:
    """``geomdl experiment NAME``: the study's options -> ``configure`` -> ``run`` (it prints as it goes)."""

    @command(experiment_app, name, study.options, help=inspect.cleandoc(study.help))
    def run_study(**given: Any) -> None:
        values = option_values(study.options, given)
        out, sets = values.pop("out"), values.pop("sets", None)
        study.run(study.configure(values, sets), out, CliUI())


for _name, _exp in registry.registered("experiment").items():   # every figure/table experiment, in registry order
    _study_command(_name, _exp.load())


def main() -> None:  # pragma: no cover - convenience for `python cli.py`
    app()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
