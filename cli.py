"""geomdl command line: train small ReLU networks, record their geometry, render clips.

Data flows one way: config -> core (geomdl/) -> trace file (.npz) -> renderer (scenes/) -> media/.
Every bad input ends in a one-line ``error: ...`` and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import click
import typer

try:  # typer >= 0.2x vendors its own copy of click; older releases use click itself
    from typer._click import exceptions as _tcx
except ImportError:  # pragma: no cover
    _tcx = click.exceptions
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from geomdl.errors import GeomdlError

err = Console(stderr=True, highlight=False)


class OneLineErrorTyper(typer.Typer):
    """Typer app whose usage errors, user errors and Ctrl-C end in one line on stderr and exit != 0."""

    def __call__(self, *args, **kwargs):
        try:
            rv = typer.main.get_command(self).main(*args, standalone_mode=False, **kwargs)
        except (_tcx.NoArgsIsHelpError, click.exceptions.NoArgsIsHelpError) as e:
            print(e.ctx.get_help())
            sys.exit(0)
        except (_tcx.UsageError, click.UsageError) as e:
            hint = f" (see: geomdl {e.ctx.command_path.split(' ', 1)[1]} --help)" if e.ctx and " " in (
                e.ctx.command_path or "") else " (see: geomdl --help)"
            print(f"error: {e.format_message()}{hint}", file=sys.stderr)
            sys.exit(2)
        except (typer.Exit, click.exceptions.Exit) as e:
            sys.exit(e.exit_code)
        except (typer.Abort, click.Abort):
            print("error: interrupted; no partial output was left behind", file=sys.stderr)
            sys.exit(130)
        except KeyboardInterrupt:
            print("error: interrupted; no partial output was left behind", file=sys.stderr)
            sys.exit(130)
        except GeomdlError as e:
            print(f"error: {e}", file=sys.stderr)
            sys.exit(1)
        except (_tcx.ClickException, click.ClickException) as e:
            print(f"error: {e.format_message()}", file=sys.stderr)
            sys.exit(e.exit_code)
        # Without standalone mode, click returns the code of a raised typer.Exit instead of exiting, and
        # typer >= 0.2x turns Ctrl-C (KeyboardInterrupt) into Exit(130) itself: exit here, with the message.
        if isinstance(rv, int):
            if rv == 130:
                print("error: interrupted; no partial output was left behind", file=sys.stderr)
            sys.exit(rv)
        return rv


app = OneLineErrorTyper(
    name="geomdl", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Train small ReLU networks, record the geometry of every layer (truncation maps, cones, base points, "
         "collapse) in a trace file, and render it as clips and figures.\n\n"
         "Quick start: geomdl render truncation-speed --q 3",
)


# ---------------------------------------------------------------- scenes and experiments registry
@dataclass(frozen=True)
class SceneInfo:
    name: str
    experiment: str
    about: str


SCENES = {
    "truncation-speed": SceneInfo(
        "truncation-speed", "truncation-speed",
        "Q clustered classes, a network starting partially truncated, trained with GD: clusters collapse "
        "toward their cones' base points; live collapsed-count plot."),
}
EXPERIMENTS = {
    "truncation-speed": "Partially truncating construction on clustered data, trained and recorded "
                        "(spec sections 5-6).",
}


def scene_info(name: str) -> SceneInfo:
    if name not in SCENES:
        raise GeomdlError(f"unknown scene {name!r}; known scenes: {', '.join(SCENES)} (see: geomdl list)")
    return SCENES[name]


def experiment_name(name: str) -> str:
    if name not in EXPERIMENTS:
        raise GeomdlError(f"unknown experiment {name!r}; known: {', '.join(EXPERIMENTS)} (see: geomdl list)")
    return name


# ---------------------------------------------------------------- shared options
QOpt = Annotated[int, typer.Option("--q", help="Number of classes Q (>= 2); also the number of hidden layers.")]
MOpt = Annotated[int, typer.Option("--m", help="Input dimension M (>= Q); 0 means max(3, Q).")]
SeedOpt = Annotated[int, typer.Option("--seed", min=0, max=2**32 - 1,  # numpy and torch reject other seeds
                                       help="Seed for data, construction and training.")]
StepsOpt = Annotated[int, typer.Option("--steps", help="Training step budget (optimizer updates, >= 1).")]
LrOpt = Annotated[float, typer.Option("--lr", help="Learning rate (> 0). 0.02 falls into a bad minimum, "
                                                   "0.05 kills the network (Q=3 defaults).")]
OptimOpt = Annotated[str, typer.Option("--optimizer", help="gd (full batch) or sgd (mini-batches).")]
LossOpt = Annotated[str, typer.Option("--loss", help="mse, wmse (CE24's class-weighted) or ce.")]
StartOpt = Annotated[str, typer.Option(
    "--start-fraction",
    help="Fraction of class l collapsed at the start, per hidden layer l, comma-separated; layers not "
         "listed start fully collapsed (1). Default: layer 1 starts with 22% of class 1 collapsed.")]
RadiusOpt = Annotated[float, typer.Option("--radius", help="Cluster radius (uniform balls around e_j).")]
NOpt = Annotated[int, typer.Option("--n-per-class", help="Points per class.")]
BatchOpt = Annotated[int, typer.Option("--batch-size", help="Mini-batch size for --optimizer sgd.")]
MomOpt = Annotated[float, typer.Option("--momentum", help="SGD momentum in [0, 1).")]
SnapOpt = Annotated[int, typer.Option("--snapshots", help="Number of recorded snapshots (>= 2).")]
SpacingOpt = Annotated[str, typer.Option("--spacing", help="Snapshot spacing: linear (every k steps) or log.")]
DtypeOpt = Annotated[str, typer.Option("--dtype", help="float64 (bit-reproducible) or float32.")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto (CUDA when present), cpu or cuda.")]
OutOpt = Annotated[Path, typer.Option("--out", help="Output folder: clips go to OUT/<scene>/, traces to "
                                                    "OUT/traces/.")]


def parse_fractions(text: str) -> tuple[float, ...]:
    try:
        vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise GeomdlError(f"--start-fraction must be comma-separated numbers in [0, 1], got {text!r}") from None
    if not vals:
        raise GeomdlError("--start-fraction needs at least one number")
    return vals


def build_config(q, m, seed, steps, lr, optimizer, loss, start_fraction, radius, n_per_class, batch_size,
                 momentum, snapshots, spacing, dtype, device):
    from geomdl.experiments.truncation_speed import TruncationSpeedConfig  # noqa: PLC0415
    from geomdl.model import resolve_device, resolve_dtype  # noqa: PLC0415

    resolve_dtype(dtype)
    dev = str(resolve_device(device))
    cfg = TruncationSpeedConfig(
        q=q, m=(m or None), n_per_class=n_per_class, radius=radius, start_fractions=parse_fractions(start_fraction),
        optimizer=optimizer, lr=lr, steps=steps, batch_size=batch_size, momentum=momentum, loss=loss,
        dtype=dtype, device=dev, seed=seed, snapshots=snapshots, spacing=spacing)
    cfg.validate()
    return cfg


def progress_bar() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                    console=err, transient=False)


def run_experiment(cfg):
    """Train and record with a progress bar; returns the trace (failed runs included)."""
    from geomdl.experiments import truncation_speed  # noqa: PLC0415

    truncation_speed.torch_threads()
    with progress_bar() as bar:
        task = bar.add_task("training", total=cfg.steps, info="")

        def tick(step: int, loss: float) -> None:
            if step % 10 == 0 or step == cfg.steps:
                bar.update(task, completed=step, info=f"loss {loss:.3e}")

        trace, result = truncation_speed.run(cfg, progress=tick)
        bar.update(task, completed=result.final_step, info=f"loss {result.final_loss:.3e} ({result.stop_reason})")
    return trace, result


def trace_cache_path(out: Path, cfg) -> Path:
    from geomdl.trace import config_hash  # noqa: PLC0415

    return out / "traces" / f"truncation-speed_{config_hash('truncation-speed', cfg.to_dict())}.npz"


def clip_stem(cfg, renderer: str, theme: str, tag: str) -> str:
    from geomdl.trace import config_hash  # noqa: PLC0415

    h = config_hash("truncation-speed", cfg.to_dict())[:6]
    return (f"truncation-speed_q{cfg.q}_seed{cfg.seed}_{cfg.optimizer}_lr{cfg.lr:g}_steps{cfg.steps}_{h}"
            f"_{renderer}_{theme}_{tag}")


def report_failure(result, path: Path | None) -> None:
    where = f" (trace kept for inspection: {path})" if path else ""
    print(f"error: training failed: {result.message}{where}", file=sys.stderr)  # one line, never wrapped


# ---------------------------------------------------------------- commands
@app.command("list")
def list_cmd() -> None:
    """List the scenes you can render and the experiments you can run."""
    typer.echo("Scenes (geomdl render SCENE):")
    for s in SCENES.values():
        typer.echo(f"  {s.name:<18} {s.about}")
    typer.echo("Experiments (geomdl train EXPERIMENT):")
    for name, about in EXPERIMENTS.items():
        typer.echo(f"  {name:<18} {about}")


@app.command()
def train(
    experiment: Annotated[str, typer.Argument(help="Experiment to run (see: geomdl list).")],
    trace: Annotated[Path | None, typer.Option("--trace", help="Where to write the trace (.npz). "
                                                              "Default: OUT/traces/<experiment>_<hash>.npz")] = None,
    q: QOpt = 3, m: MOpt = 0, seed: SeedOpt = 0, steps: StepsOpt = 1200, lr: LrOpt = 0.01,
    optimizer: OptimOpt = "gd", loss: LossOpt = "mse", start_fraction: StartOpt = "0.22", radius: RadiusOpt = 0.25,
    n_per_class: NOpt = 200, batch_size: BatchOpt = 64, momentum: MomOpt = 0.0, snapshots: SnapOpt = 121,
    spacing: SpacingOpt = "linear", dtype: DtypeOpt = "float64", device: DeviceOpt = "cpu", out: OutOpt = Path("media"),
) -> None:
    """Train and record a trace (no rendering). Re-running with the same options gives the same trace."""
    from geomdl.atomic import ensure_writable_dir  # noqa: PLC0415

    experiment_name(experiment)
    cfg = build_config(q, m, seed, steps, lr, optimizer, loss, start_fraction, radius, n_per_class, batch_size,
                       momentum, snapshots, spacing, dtype, device)
    path = trace if trace is not None else trace_cache_path(out, cfg)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    ensure_writable_dir(path.parent)
    tr, result = run_experiment(cfg)
    path = tr.save(path)
    if result.failed:
        report_failure(result, path)
        raise typer.Exit(3)
    err.print(f"trace: {path}  ({result.stop_reason}: {result.message})")
    typer.echo(str(path))


@app.command()
def render(
    scene: Annotated[str, typer.Argument(help="Scene to render (see: geomdl list).")],
    trace: Annotated[Path | None, typer.Option(
        "--trace", help="Render this recorded trace instead of training (experiment options then unused).")] = None,
    quality: Annotated[str, typer.Option("--quality", help="l 480p15, m 720p30, h 1080p60, k 2160p60.")] = "m",
    fmt: Annotated[str, typer.Option("--format", help="mp4; gif (MP4 plus a looping palette GIF); png "
                                                      "(last frame).")] = "mp4",
    renderer: Annotated[str, typer.Option("--renderer", help="auto (Manim when installed, else matplotlib), "
                                                             "manim or matplotlib.")] = "auto",
    theme: Annotated[str, typer.Option("--theme", help="light or dark (for slides).")] = "light",
    duration: Annotated[float, typer.Option("--duration", help="Seconds of animated training (plus short "
                                                               "holds at both ends).")] = 8.0,
    retrain: Annotated[bool, typer.Option("--retrain", help="Ignore the cached trace and train again.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Render even a failed run (dead or diverged).")] = False,
    q: QOpt = 3, m: MOpt = 0, seed: SeedOpt = 0, steps: StepsOpt = 1200, lr: LrOpt = 0.01,
    optimizer: OptimOpt = "gd", loss: LossOpt = "mse", start_fraction: StartOpt = "0.22", radius: RadiusOpt = 0.25,
    n_per_class: NOpt = 200, batch_size: BatchOpt = 64, momentum: MomOpt = 0.0, snapshots: SnapOpt = 121,
    spacing: SpacingOpt = "linear", dtype: DtypeOpt = "float64", device: DeviceOpt = "cpu", out: OutOpt = Path("media"),
) -> None:
    """Render a clip into OUT/<scene>/ (training first unless a cached or given trace exists).

    The trace is cached under OUT/traces/ keyed by the config hash: re-rendering never retrains.
    """
    from geomdl import trace as trace_mod  # noqa: PLC0415
    from geomdl.atomic import ensure_writable_dir  # noqa: PLC0415
    from scenes import export  # noqa: PLC0415
    from scenes.render import RENDERERS, render_trace, resolve_renderer  # noqa: PLC0415

    info = scene_info(scene)
    qual = export.quality(quality)
    if fmt not in export.FORMATS:
        raise GeomdlError(f"unknown format {fmt!r}; known: {', '.join(export.FORMATS)}")
    if renderer not in RENDERERS:
        raise GeomdlError(f"unknown renderer {renderer!r}; known: {', '.join(RENDERERS)}")
    if theme not in ("light", "dark"):
        raise GeomdlError(f"unknown theme {theme!r}; known: light, dark")
    if not 0 < duration < float("inf"):  # checked before training, not after it
        raise GeomdlError(f"--duration must be a positive number of seconds (got {duration})")
    out_dir = ensure_writable_dir(out / info.name)
    rname, notice = resolve_renderer(renderer)
    if notice:
        err.print(notice)

    if trace is not None:
        tr = trace_mod.load(trace)
        if tr.meta.get("kind") != info.experiment:
            raise GeomdlError(f"{trace} records a {tr.meta.get('kind')!r} run; scene {scene!r} needs "
                              f"{info.experiment!r}")
        stem = f"{trace.stem}_{rname}_{theme}_{qual.tag}"
    else:
        cfg = build_config(q, m, seed, steps, lr, optimizer, loss, start_fraction, radius, n_per_class, batch_size,
                           momentum, snapshots, spacing, dtype, device)
        path = trace_cache_path(out, cfg)
        tr = None
        if path.exists() and not retrain:
            try:
                tr = trace_mod.load(path)
                err.print(f"using cached trace {path} (--retrain to train again)")
            except GeomdlError as e:
                err.print(f"cached trace unusable ({e}); training again")
        if tr is None:
            ensure_writable_dir(path.parent)
            tr, result = run_experiment(cfg)
            tr.save(path)
            if result.failed and not force:
                report_failure(result, path)
                raise typer.Exit(3)
        stem = clip_stem(cfg, rname, theme, qual.tag)

    with progress_bar() as bar:
        task = bar.add_task(f"rendering ({rname})", total=None, info="")

        def tick(i: int, n: int) -> None:
            bar.update(task, completed=i, total=n)

        files = render_trace(tr, out_dir, stem, fmt=fmt, quality=quality, renderer=rname, theme=theme,
                             duration=duration, progress=tick, force=force)
    for f in files:
        typer.echo(str(f))


def main() -> None:  # pragma: no cover - convenience for `python cli.py`
    app()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
