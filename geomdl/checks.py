"""What every config shares, declared once: the checks (each raises a :class:`GeomdlError` with a one-line
message; an unknown choice is a :class:`UsageError`, exit 2) and :func:`subconfig`, which hands a flat experiment
config's fields to a component's config."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any, TypeVar

from geomdl.errors import GeomdlError, UsageError

SEED_MAX = 2**32 - 1
T = TypeVar("T")


def check_seed(seed: int, name: str = "seed") -> None:
    """Seeds are numpy/torch seeds: integers in ``0..2**32-1``."""
    if not 0 <= seed <= SEED_MAX:
        raise GeomdlError(f"{name} must be in 0..2**32-1 (got {seed})")


def check_choice(value: str, choices: Iterable[str], what: str) -> None:
    """``value`` is one of ``choices``: ``unknown <what> 'x'; known: a, b``."""
    choices = tuple(choices)
    if value not in choices:
        raise UsageError(f"unknown {what} {value!r}; known: {', '.join(choices)}")


def subconfig(cls: type[T], source: Any, **override: Any) -> T:
    """``cls`` (a config dataclass, e.g. ``TrainConfig``) built from the same-named fields of ``source`` (a flat
    experiment config), then ``override``; fields ``source`` lacks keep ``cls``'s defaults. This is how the
    training fields of every experiment reach the trainer: by name, never copied one by one."""
    names = {f.name for f in dataclasses.fields(cls)}
    kw = {n: getattr(source, n) for n in names if hasattr(source, n)}
    return cls(**{**kw, **override})
