"""The config vocabulary: every field that more than one config shares, declared once (name, type, meaning,
check), and :func:`config`, the decorator that builds a flat, frozen config dataclass from it.

An experiment picks the shared fields it uses and their defaults, and declares only its own fields::

    @config
    class Config:
        geometry: str = "clustered"     # its own field: annotated as usual
        q = shared(None)                # a shared field: type, meaning and check come from FIELDS
        lr = shared(0.05)

The result is a plain ``@dataclass(frozen=True)`` with the fields in the order written, and ``to_dict()`` /
``from_dict(d)`` (:func:`to_dict`, :func:`from_dict`: tuples stored as lists and back), so ``--set lr=0.02``,
``geomdl list`` and the config hashes (trace cache keys) see an ordinary flat config. A shared field whose default
is ``None`` is optional (annotation ``T | None``; ``None`` means "chosen automatically", as each config documents).
:func:`check_fields` runs the checks of named shared fields; training fields are checked together by
:func:`geomdl.nn.training.check_training` (one place for lr > 0, batch size, momentum, patience, ...).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geomdl.checks import (
    check_device,
    check_dtype,
    check_n_per_class,
    check_q,
    check_seed,
    check_seeds,
    check_snapshots,
    check_steps,
)
from geomdl.errors import GeomdlError


def _check_max_steps(value: int) -> None:
    check_steps(value, "max steps")


@dataclass(frozen=True)
class Field:
    """One shared config field: ``type`` (annotation text, without ``| None``), what it means, its check."""

    type: str
    doc: str
    check: Callable[[Any], None] | None = None


FIELDS: dict[str, Field] = {
    # seed / dtype / device
    "seed": Field("int", "numpy/torch seed, 0..2**32-1", check_seed),
    "dtype": Field("str", "torch dtype of the network: float32 or float64", check_dtype),
    "device": Field("str", "torch device: auto, cpu or cuda", check_device),
    # data (clustered classes)
    "q": Field("int", "number of classes Q", check_q),
    "m": Field("int", "input dimension M (None: the geometry's default)"),
    "n_per_class": Field("int", "points per class", check_n_per_class),
    "radius": Field("float", "cluster radius"),
    "geometry": Field("str", "data geometry / zero-loss construction: clustered, flat, sls, nonsep, concentric, ..."),
    "gap": Field("float", "margin between neighbouring classes"),
    "cluster_kind": Field("str", "shape of each cluster: ball or sphere"),
    # data (digits / a user's file)
    "digits": Field("tuple[int, ...]", "MNIST digits, one class each"),
    "data": Field("str", "path of the user's own data (.npz with X and y, .npy, .csv)"),
    "n_per_digit": Field("int", "images per digit (None: all)"),
    "test_fraction": Field("float", "fraction of each class held out for testing"),
    # model
    "widths": Field("tuple[int, ...]", "hidden layer widths (None: the experiment's default)"),
    "output_dim": Field("int", "output dimension (None: Q)"),
    # training (checked by geomdl.nn.training.check_training and the trainer's config)
    "loss": Field("str", "training loss: mse, wmse or ce"),
    "optimizer": Field("str", "gd (full batch) or sgd (mini-batches)"),
    "lr": Field("float", "learning rate (step size), > 0"),
    "steps": Field("int", "step budget: optimizer updates (for a flow: integrator steps), >= 1", check_steps),
    "max_steps": Field("int", "step budget of a run to loss thresholds, >= 1", _check_max_steps),
    "batch_size": Field("int", "mini-batch size for SGD, >= 1"),
    "momentum": Field("float", "heavy-ball momentum in [0, 1)"),
    "loss_threshold": Field("float", "stop once the loss is below this"),
    "stuck_tol": Field("float", "relative loss change below which a run counts as stuck, >= 0"),
    "patience": Field("int", "steps without progress before a run is stopped as stuck, >= 1"),
    "thresholds": Field("tuple[float, ...]", "loss thresholds at which snapshots are recorded"),
    "eval_every": Field("int", "evaluate the loss every this many steps"),
    "snapshot_ratio": Field("float", "geometric spacing of the snapshots between thresholds"),
    # gradient flows (geomdl.math.gradient_flows.FlowConfig)
    "tau_max": Field("float", "flow time horizon (rescaled time tau)"),
    "integrator": Field("str", "ODE integrator: euler or rk4"),
    "solver": Field("str", "linear solver of the adapted flow's pseudo-inverse"),
    "least_squares": Field("bool", "solve the adapted flow by least squares instead of the pseudo-inverse"),
    "rank_rtol": Field("float", "relative tolerance of the rank of the Jacobian D"),
    "trap_eps": Field("float", "distance below which a flow counts as trapped"),
    "grid": Field("str", "time grid of the recorded flow: t (uniform in t) or s"),
    # repetitions
    "trials": Field("int", "trials per setting, >= 1"),
    "seeds": Field("int", "number of seeds 0..seeds-1", check_seeds),
    "start_fractions": Field("tuple[float, ...]", "fraction of each class truncated at the start, per hidden layer"),
    # recording
    "snapshots": Field("int", "number of recorded snapshots, >= 2", check_snapshots),
    "spacing": Field("str", "snapshot spacing over the steps: linear or log"),
}


@dataclass(frozen=True)
class _Shared:
    default: Any


def shared(default: Any) -> Any:
    """A shared field (its name is the attribute's name) with this config's ``default``."""
    return _Shared(default)


def config(cls: type) -> type:
    """``@dataclass(frozen=True)`` over ``cls`` after turning each ``name = shared(default)`` into the field
    ``name: FIELDS[name].type = default`` in place (the order written is the field order). A shared field
    annotated in the class body, or a ``shared`` name missing from :data:`FIELDS`, is a programming error."""
    own = dict(cls.__dict__.get("__annotations__", {}))
    annotations: dict[str, Any] = {}
    placed = set()
    for name, value in list(cls.__dict__.items()):
        if isinstance(value, _Shared):
            if name not in FIELDS:
                raise TypeError(f"{cls.__name__}.{name}: not a shared field (geomdl.fields.FIELDS)")
            if name in own:
                raise TypeError(f"{cls.__name__}.{name}: a shared field is not annotated again")
            t = FIELDS[name].type
            annotations[name] = t if value.default is not None else f"{t} | None"
            setattr(cls, name, value.default)
            placed.add(name)
        elif name in own:
            annotations[name] = own[name]
            placed.add(name)
    for name, t in own.items():           # own fields without a default (none today) keep their place first
        if name not in placed:
            annotations = {name: t, **annotations}
    for name in annotations:
        if name in FIELDS and name in own:
            raise TypeError(f"{cls.__name__}.{name}: declared in geomdl.fields.FIELDS; write {name} = shared(...)")
    cls.__annotations__ = annotations
    for name, method in (("to_dict", to_dict), ("from_dict", classmethod(from_dict))):
        if name in cls.__dict__:
            raise TypeError(f"{cls.__name__}.{name}: every @config has it (geomdl.fields.{name}); not written again")
        setattr(cls, name, method)
    return dataclass(frozen=True)(cls)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def to_dict(cfg: Any) -> dict:
    """The fields of config ``cfg`` as JSON-ready values (tuples as lists, a nested config as a dict): what a
    trace stores as ``meta["config"]`` and what the config hash (the trace cache key) is computed from.
    ``cfg.to_dict()``."""
    return _plain(dataclasses.asdict(cfg))


def from_dict(cls: type, d: dict, strict: bool = False) -> Any:
    """The config of class ``cls`` from ``d`` (e.g. a trace's ``meta["config"]``): lists back to tuples; keys
    ``cls`` does not have are left out (a trace of an older version), or with ``strict`` refused.
    ``Cls.from_dict(d)``."""
    names = {f.name for f in dataclasses.fields(cls)}
    if strict and set(d) - names:
        raise GeomdlError(f"{cls.__name__} has no fields {sorted(set(d) - names)}")
    return cls(**{k: tuple(_tuples(v)) if isinstance(v, list) else v for k, v in d.items() if k in names})


def _tuples(items: list) -> list:
    return [tuple(_tuples(v)) if isinstance(v, list) else v for v in items]


def check_fields(cfg: Any, *names: str) -> None:
    """Run the checks of the shared fields ``names`` of ``cfg``, in that order."""
    for name in names:
        check = FIELDS[name].check
        if check is not None:
            check(getattr(cfg, name))

