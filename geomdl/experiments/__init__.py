"""Experiments: each turns a config into a recorded :class:`geomdl.io.trace.Trace`.

The registry maps an experiment name to its module, imported only when used (keeps ``geomdl --help`` fast).
A *trace experiment* module defines:

- ``KIND``: its name (also the trace's ``meta["kind"]``);
- ``Config``: a frozen dataclass with ``validate()`` and ``to_dict()`` (every field has a default);
- ``run(cfg, progress=None) -> (Trace, result)``, ``result`` having ``failed``, ``message``, ``stop_reason``,
  ``final_step``, ``final_loss``; ``progress(step, loss)`` is called as it goes;
- optionally ``stem(cfg) -> str``: the parameter part of output file names.

The Python API (the CLI is a thin layer over it; see ``docs/api.md``): :func:`config` builds a validated config
from parameters by field name, :func:`run` trains and records (``-> (Trace, result)``), :func:`output_stem` is the
parameter-and-hash part of the file names the CLI and :func:`scenes.render.render` give a run's outputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from geomdl.errors import GeomdlError, UsageError
from geomdl.limits import check_config_size

if TYPE_CHECKING:
    from geomdl.io.trace import Trace
    from geomdl.nn.training import TrainResult


class ExperimentConfig(Protocol):
    """What every experiment config is: a frozen dataclass, every field with a default, flat (so that
    ``--set KEY=VALUE`` reaches every field), checked by ``validate()`` and stored by ``to_dict()``."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    def validate(self) -> None: ...

    def to_dict(self) -> dict: ...


class TraceExperiment(Protocol):
    """The contract of a trace-experiment module (``geomdl train NAME``, the clips): see the module docstring."""

    KIND: str
    Config: type[ExperimentConfig]

    def run(self, cfg: Any, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, TrainResult]: ...


@dataclass(frozen=True)
class ExperimentSpec:
    name: str
    module: str
    about: str

    def load(self) -> types.ModuleType:
        return importlib.import_module(self.module)


TRACE_EXPERIMENTS: dict[str, ExperimentSpec] = {
    "truncation-speed": ExperimentSpec(
        "truncation-speed", "geomdl.experiments.truncation_speed",
        "Partially truncating construction on Q clustered classes, trained with GD and recorded (docs/math.md "
        "§5-§6); lr=None: 1.5 / sharpness at the start, steps=None: ceil(flow_time / lr)."),
    "layers": ExperimentSpec(
        "layers", "geomdl.experiments.layers",
        "A randomly initialised network trained by SGD to loss thresholds on MNIST digits (784-wide layers, "
        "projected trace) or clustered R^3 data; layer geometry, accuracy, NC1, delta_P per snapshot."),
    "flows": ExperimentSpec(
        "flows", "geomdl.experiments.flows",
        "Standard gradient flow vs the adapted (Penrose) flow theta' = -D^+ grad_x C and the homotopy between them "
        "on a small overparametrized net (docs/math.md §8): exponential law, straight lines, rank of D, trapping, NC."),
    "cones": ExperimentSpec(
        "cones", "geomdl.experiments.cones",
        "One recorded snapshot of a geometry's zero-loss construction (--geometry clustered|sls|nonsep|concentric): "
        "cones, truncation chain T_l(X), collapsed fractions per class (docs/math.md §4)."),
    "local-minima": ExperimentSpec(
        "local-minima", "geomdl.experiments.local_minima",
        "The 2^Q - 1 toggle points of the clustered (or --geometry flat) construction (which layers collapse their "
        "class) and the global minimum, each with a local-minimum verdict and where L-BFGS takes it "
        "(docs/math.md §5)."),
    "perturbation": ExperimentSpec(
        "perturbation", "geomdl.experiments.perturbation",
        "One perturbed zero-loss construction (trial --set trial=I of a perturb sweep, size --set lam=X) retrained "
        "by SGD and recorded (docs/math.md §5)."),
}


# `geomdl experiment NAME`: experiments that write figures (PNG + PDF) and tables (CSV); the module holds the
# orchestration, the CLI command only parses and prints. Registered like the trace experiments.
STUDIES: dict[str, ExperimentSpec] = {
    "truncation-speed": ExperimentSpec(
        "truncation-speed", "geomdl.experiments.truncation_speed_fits",
        "n(t) per start fraction and seed, log-linear growth rates with 95% CIs, dn/dt against n (docs/math.md §6)."),
    "contraction-rate": ExperimentSpec(
        "contraction-rate", "geomdl.experiments.truncation_speed_fits",
        "The contraction rate lambda = -d/dt log s against the number n already collapsed, per (layer, class), "
        "partial start and random initialisation, 95% CIs over seeds (T. Chen, arXiv 2501.07400; docs/math.md §6)."),
    "mnist": ExperimentSpec(
        "mnist", "geomdl.experiments.mnist_thresholds",
        "MNIST digit sets trained with MSE and cross-entropy to loss thresholds: layer geometry, NC1-NC4, delta_P, "
        "the network metric d, SLS checks (docs/math.md §7)."),
    "perturb": ExperimentSpec(
        "perturb", "geomdl.experiments.sweep",
        "Perturbation sweeps of a zero-loss construction, trained or evaluated, local or on Dask (docs/math.md §5)."),
    "local-minima": ExperimentSpec(
        "local-minima", "geomdl.experiments.landscape_study",
        "The 2^Q - 1 toggle patterns of the clustered or flat construction and the sweep around each "
        "(docs/math.md §5)."),
    "flows": ExperimentSpec(
        "flows", "geomdl.experiments.flows",
        "All flows from one theta_0, with tables and figures (docs/math.md §8)."),
    "nc-feasibility": ExperimentSpec(
        "nc-feasibility", "geomdl.experiments.nc_feasibility_sweep",
        "Exact neural-collapse feasibility of two-layer ReLU nets on Gaussian mixtures (docs/math.md §9)."),
}


def catalogue_lines() -> list[str]:
    """What ``geomdl list`` prints of the experiments: each trace experiment with its parameters and defaults,
    then each figure/table experiment."""
    lines = ["Experiments (geomdl train EXPERIMENT), with their parameters and defaults:"]
    for name, spec in TRACE_EXPERIMENTS.items():
        cfg = spec.load().Config()
        params = ", ".join(f"{f.name}={getattr(cfg, f.name)!r}" for f in dataclasses.fields(cfg))
        lines += [f"  {name:<18} {spec.about}", f"  {'':<18} {params}"]
    lines.append("Figure and table experiments (geomdl experiment NAME --help):")
    return lines + [f"  {name:<18} {spec.about}" for name, spec in STUDIES.items()]


def get(name: str) -> types.ModuleType:
    if name not in TRACE_EXPERIMENTS:
        raise UsageError(f"unknown experiment {name!r}; known: {', '.join(TRACE_EXPERIMENTS)} (see: geomdl list)")
    return TRACE_EXPERIMENTS[name].load()


def _coerce(text: str, default: Any, annotation: str, key: str) -> Any:
    """Parse a CLI string for a config field, from the field's default value and annotation."""
    try:
        if "tuple" in annotation:
            item = float if "float" in annotation else int if "int" in annotation else str
            return tuple(item(v) for v in text.split(",") if v.strip())
        if isinstance(default, bool) or annotation == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if text.lower() == "none" and "None" in annotation:
            return None
        if isinstance(default, int) or annotation.startswith("int"):
            return int(text)
        if isinstance(default, float) or annotation.startswith("float"):
            return float(text)
    except ValueError:
        raise UsageError(f"bad value {text!r} for {key} (expected {annotation})") from None
    return text


def make_config(module: types.ModuleType, options: dict[str, Any], overrides: list[str] | None = None):
    """Build ``module.Config`` from CLI options (``None`` = the experiment's default) and ``KEY=VALUE`` overrides.

    Strings are parsed by the field's type (comma-separated lists for tuple fields). An option that the
    experiment does not have is a clear error, never silently ignored.
    """
    cls = module.Config
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    kw: dict[str, Any] = {}
    items = [(k, v) for k, v in options.items() if v is not None]
    for ov in overrides or []:
        if "=" not in ov:
            raise UsageError(f"--set expects KEY=VALUE, got {ov!r}")
        k, v = ov.split("=", 1)
        items.append((k.strip().replace("-", "_"), v.strip()))
    for key, value in items:
        if key not in fields:
            raise UsageError(f"experiment {module.KIND!r} has no parameter {key!r}; "
                              f"its parameters: {', '.join(fields)}")
        if isinstance(value, str):
            value = _coerce(value, getattr(defaults, key), str(fields[key].type), key)
        kw[key] = value
    cfg = cls(**kw)
    cfg.validate()
    check_config_size(cfg)
    return cfg


def config(name: str, **params: Any):
    """The validated config of experiment ``name`` (see :data:`TRACE_EXPERIMENTS`), its fields set by ``params``.

    ``params`` go by config field name (``geomdl list`` shows every field and its default); ``None`` keeps the
    default, a list is taken as a tuple, and a string is parsed by the field's type as on the command line
    (``digits="0,1,2"``, ``dtype="float32"``). An unknown experiment or field, or a bad value, raises
    :class:`~geomdl.errors.GeomdlError` with a one-line message that lists the valid names.
    """
    mod = get(name)
    fields = {f.name: f for f in dataclasses.fields(mod.Config)}
    opts = {k: (tuple(v) if isinstance(v, list) and "tuple" in str(fields[k].type) else v) if k in fields else v
            for k, v in params.items()}
    return make_config(mod, opts)


def run(name: str, progress: Callable[[int, float], None] | None = None, *, cfg: Any = None,
        **params: Any) -> tuple[Trace, Any]:
    """Train and record experiment ``name``; returns ``(trace, result)``.

    The config is :func:`config(name, **params) <config>`, or ``cfg`` when given (a config of that experiment,
    e.g. from :func:`config`; then ``params`` must be empty). ``progress(step, loss)`` is called as training
    goes. ``result`` has ``failed``, ``message``, ``stop_reason``, ``final_step`` and ``final_loss``: a failed
    run (diverged, dead network, degenerate: :mod:`geomdl.nn.health`) is returned, not raised, so that it can be
    inspected; :func:`scenes.render.render` refuses to render it unless ``force=True``. Runs on one torch thread
    (restored afterwards), as the CLI does: small networks are fastest that way and CPU results are bit-identical
    between runs and with the CLI.
    """
    mod = get(name)
    if cfg is None:
        cfg = config(name, **params)
    else:
        if params:
            raise GeomdlError(f"run({name!r}): give either cfg or parameters, not both (got {', '.join(params)})")
        if not isinstance(cfg, mod.Config):
            raise GeomdlError(f"run({name!r}): cfg is a {type(cfg).__name__}, not a config of experiment {name!r}")
        cfg.validate()
        check_config_size(cfg)
    with one_thread():
        return mod.run(cfg, progress=progress)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """The thread policy of every run: one torch thread and one BLAS thread for numpy/scipy (both restored
    afterwards). Small networks are fastest that way, CPU results are bit-identical between runs, the CLI and
    notebooks, and a busy machine does not lose ~10x CPU time to spinning BLAS threads (784-wide MNIST
    snapshots: 7.8 s of CPU with 2 OpenBLAS threads on a loaded 2-core machine, 0.75 s with one)."""
    import scipy.linalg  # noqa: F401, PLC0415 (its own BLAS, loaded now so that the limit covers it)
    import torch  # noqa: PLC0415 (kept out of ``geomdl.experiments`` import time)
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        torch.set_num_threads(threads)


def trace_file(trace: Path | None, out: str | Path, kind: str, cfg: Any) -> Path:
    """Where ``geomdl train`` writes a run's trace: ``trace`` (``.npz`` added when missing) or the cache path
    :func:`trace_path`; its folder is created. A folder given as the trace is refused."""
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415

    path = Path(trace) if trace is not None else trace_path(out, kind, cfg)
    if path.is_dir():   # never write FOLDER.npz beside it: say what to give instead
        raise GeomdlError(f"--trace {path} is a folder; give the trace file's name, e.g. --trace {path / 'run.npz'}")
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    ensure_writable_dir(path.parent)
    return path


def trace_path(out: str | Path, kind: str, cfg: Any) -> Path:
    """Where the trace of this run is cached: ``out/traces/<kind>_<config hash>.npz``."""
    from geomdl.io.trace import config_hash  # noqa: PLC0415

    return Path(out) / "traces" / f"{kind}_{config_hash(kind, cfg.to_dict())}.npz"


@dataclass(frozen=True)
class CachedRun:
    """What :func:`cached_run` did: ``result`` is ``None`` when the trace came from the cache; ``note`` says why
    a cached trace was not used, if one was there."""

    trace: Trace
    path: Path
    result: TrainResult | None
    note: str | None = None

    @property
    def cached(self) -> bool:
        return self.result is None


def cached_run(name: str, cfg: Any, out: str | Path = "media", retrain: bool = False,
               progress: Callable[[int, float], None] | None = None) -> CachedRun:
    """The trace of experiment ``name`` with config ``cfg``, from the cache under ``out/traces/`` (keyed by the
    config hash) or, when absent, unusable or ``retrain``, trained, recorded and saved there (a failed run too,
    for inspection). Re-rendering a run never retrains it; ``geomdl render`` and notebooks share the cache."""
    from geomdl.io import trace as trace_mod  # noqa: PLC0415
    from geomdl.io.atomic import ensure_writable_dir  # noqa: PLC0415

    path = trace_path(out, get(name).KIND, cfg)
    note = None
    if path.exists() and not retrain:
        try:
            return CachedRun(trace_mod.load(path), path, None)
        except GeomdlError as e:
            note = f"cached trace unusable ({e}); training again"
    ensure_writable_dir(path.parent)
    tr, result = run(name, progress, cfg=cfg)
    tr.save(path)
    return CachedRun(tr, path, result, note)


def output_stem(kind: str, cfg: Any) -> str:
    """The run part of output file names: ``<parameters>_<6 hex digits of the config hash>``, e.g.
    ``q3_seed0_gd_lr0.01_steps1200_25b60e``. ``cfg``: the experiment's config or its ``to_dict()`` (a trace's
    ``meta["config"]``); both give the same name."""
    from geomdl.io.trace import config_hash  # noqa: PLC0415 (keeps ``geomdl.experiments`` import light)

    mod = get(kind)
    d = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    if not hasattr(cfg, "to_dict"):
        fields = {f.name for f in dataclasses.fields(mod.Config)}
        try:
            cfg = mod.Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in fields})
        except (TypeError, ValueError):
            cfg = None
    params = mod.stem(cfg) if cfg is not None and hasattr(mod, "stem") else f"seed{d.get('seed', 0)}"
    return f"{params}_{config_hash(kind, d)[:6]}"

