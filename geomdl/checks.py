"""What every config shares, declared once: the checks (each raises a :class:`GeomdlError` with a one-line
message; an unknown choice is a :class:`UsageError`, exit 2) and :func:`subconfig`, which hands a flat experiment
config's fields to a component's config."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from geomdl.errors import GeomdlError, UsageError

SEED_MAX = 2**32 - 1
DEVICES = ("auto", "cpu", "cuda")          # torch devices (geomdl.nn.model.resolve_device)
DTYPE_NAMES = ("float32", "float64")       # torch dtypes (geomdl.nn.model.DTYPES)
T = TypeVar("T")


def check_seed(seed: int, name: str = "seed") -> None:
    """Seeds are numpy/torch seeds: integers in ``0..2**32-1``."""
    if not 0 <= seed <= SEED_MAX:
        raise GeomdlError(f"{name} must be in 0..2**32-1 (got {seed})")


def check_choice(value: str, choices: Iterable[str], what: str) -> None:
    """``value`` is one of ``choices``: ``unknown <what> 'x'; known: a, b``."""
    choices = tuple(choices)
    if value not in choices:
        raise choice_error(value, choices, what)


def choice_error(value: str, choices: Iterable[str], what: str) -> UsageError:
    """The error of an unknown choice (for a dispatch's fall-through branch)."""
    return UsageError(f"unknown {what} {value!r}; known: {', '.join(choices)}")


def check_device(name: str) -> None:
    check_choice(name, DEVICES, "device")


def check_dtype(name: str) -> None:
    check_choice(name, DTYPE_NAMES, "dtype")


def subconfig(cls: type[T], source: Any, **override: Any) -> T:
    """``cls`` (a config dataclass, e.g. ``TrainConfig``) built from the same-named fields of ``source`` (a flat
    experiment config), then ``override``; fields ``source`` lacks keep ``cls``'s defaults. This is how the
    training fields of every experiment reach the trainer: by name, never copied one by one."""
    names = {f.name for f in dataclasses.fields(cls)}
    kw = {n: getattr(source, n) for n in names if hasattr(source, n)}
    return cls(**{**kw, **override})


def check_q(q: int, note: str = "") -> None:
    """At least two classes: ``Q must be >= 2 (got q)`` (+ ``note``)."""
    if q < 2:
        raise GeomdlError(f"Q must be >= 2 (got {q}){note}")


def check_dim(m: int) -> None:
    """An input dimension of at least 2 (the clips draw planes)."""
    if m < 2:
        raise GeomdlError(f"input dimension M must be >= 2 (got {m})")


def check_n_per_class(n: int) -> None:
    if n < 1:
        raise GeomdlError(f"points per class must be >= 1 (got {n})")


def check_steps(steps: int, what: str = "steps") -> None:
    """A step budget (optimizer updates, integrator steps) of at least 1."""
    if steps < 1:
        raise GeomdlError(f"{what} must be >= 1 (got {steps})")


def check_seeds(seeds: int) -> None:
    """A number of seeds with a confidence interval: at least 2."""
    if seeds < 2:
        raise GeomdlError(f"need at least 2 seeds for a confidence interval (got {seeds})")


def check_positive_widths(widths) -> None:
    if any(w < 1 for w in widths):
        raise GeomdlError(f"hidden widths must be positive (got {list(widths)})")


def check_snapshots(count: int) -> None:
    """A recording of at least 2 snapshots (a start and an end)."""
    if count < 2:
        raise GeomdlError(f"need at least 2 snapshots (got {count})")


def check_fraction(f: float) -> None:
    if not 0.0 <= f <= 1.0:
        raise GeomdlError(f"start fraction must be in [0, 1] (got {f})")


def check_hidden_layers(widths) -> None:
    """A ReLU network here has at least one hidden layer (``widths``: the hidden widths, or the hidden layers)."""
    if len(widths) == 0:
        raise GeomdlError("the network needs at least one hidden layer")


def check_classes_present(sizes) -> None:
    """Every class has points: ``sizes`` the number of points per label value, a sequence (label ``k`` at index
    ``k``) or a mapping label -> count."""
    items = sizes.items() if hasattr(sizes, "items") else enumerate(sizes)
    for k, n in items:
        if int(n) == 0:
            raise GeomdlError(f"label {int(k)} (class {int(k) + 1}) has no points")
