"""Experiments: the Python API over the one registry (:mod:`geomdl.experiments.registry`).

A *trace experiment* (:class:`~geomdl.experiments.registry.TraceExperiment`: ``geomdl train NAME``) turns a config
into a recorded :class:`geomdl.io.trace.Trace`; a *figure/table experiment*
(:class:`~geomdl.experiments.registry.Study`, in :mod:`geomdl.experiments.studies`: ``geomdl experiment NAME``)
writes tables and figures. Both are registered the same way, in ``registry.EXPERIMENTS``, and imported only when
used (keeps ``geomdl --help`` fast).

The Python API (the CLI is a thin layer over it; see ``docs/api.md``): :func:`config` builds a validated config
from parameters by field name, :func:`run` trains and records (``-> (Trace, result)``), :func:`cached_run` adds
the trace cache, :func:`output_stem` is the parameter-and-hash part of the file names the CLI and
:func:`scenes.render.render` give a run's outputs, :func:`study` returns a figure/table experiment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geomdl.errors import GeomdlError, UsageError
from geomdl.experiments.registry import (
    EXPERIMENTS,
    Experiment,
    Study,
    TraceExperiment,
    catalogue_lines,
    lookup,
    registered,
)
from geomdl.limits import check_config_size

if TYPE_CHECKING:
    from geomdl.io.trace import Trace
    from geomdl.nn.training import TrainResult

__all__ = ["EXPERIMENTS", "CachedRun", "Experiment", "Study", "TraceExperiment", "build_config", "cached_run",
           "catalogue_lines", "config", "get", "make_config", "one_thread", "output_stem", "registered", "run",
           "study", "trace_file", "trace_path"]


def get(name: str) -> TraceExperiment:
    """The module of trace experiment ``name`` (``geomdl train NAME``)."""
    return lookup("train", name).load()


def study(name: str) -> Study:
    """The figure/table experiment ``name`` (``geomdl experiment NAME``)."""
    return lookup("experiment", name).load()


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
    """Build ``module.Config`` from CLI options (``None`` = the experiment's default) and ``KEY=VALUE`` overrides
    (:func:`build_config`)."""
    return build_config(module.Config, f"experiment {module.KIND!r}", options, overrides)


def build_config(cls: type, what: str, options: dict[str, Any], overrides: list[str] | None = None,
                 hidden: tuple[str, ...] = ()):
    """The validated config ``cls(...)`` from ``options`` (field -> value; ``None`` = the default) and the
    ``KEY=VALUE`` texts ``overrides`` (``--set``), which may not name the ``hidden`` fields.

    Strings are parsed by the field's type (comma-separated lists for tuple fields). A field that the config
    does not have is a clear error (``<what> has no parameter ...``), never silently ignored.
    """
    fields = {f.name: f for f in dataclasses.fields(cls)}
    shown = [f for f in fields if f not in hidden]
    defaults = cls()
    kw: dict[str, Any] = {}
    items = [(k, v, k in fields) for k, v in options.items() if v is not None]
    for ov in overrides or []:
        if "=" not in ov:
            raise UsageError(f"--set expects KEY=VALUE, got {ov!r}")
        k, v = (x.strip() for x in ov.split("=", 1))
        items.append((k.replace("-", "_"), v, k.replace("-", "_") in shown))
    for key, value, known in items:
        if not known:
            raise UsageError(f"{what} has no parameter {key!r}; its parameters: {', '.join(shown)}")
        if isinstance(value, str):
            value = _coerce(value, getattr(defaults, key), str(fields[key].type), key)
        kw[key] = value
    cfg = cls(**kw)
    cfg.validate()
    check_config_size(cfg)
    return cfg


def config(name: str, **params: Any):
    """The validated config of trace experiment ``name`` (``registered("train")``), its fields set by ``params``.

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
    """The thread policy of every run: one torch thread (restored afterwards). Small networks are fastest that
    way, and CPU results are bit-identical between runs, the CLI and notebooks."""
    import torch  # noqa: PLC0415 (kept out of ``geomdl.experiments`` import time)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
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
        try:
            cfg = mod.Config.from_dict(d)
        except (TypeError, ValueError):
            cfg = None
    params = mod.stem(cfg) if cfg is not None and hasattr(mod, "stem") else f"seed{d.get('seed', 0)}"
    return f"{params}_{config_hash(kind, d)[:6]}"

