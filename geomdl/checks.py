"""The checks every config shares, declared once: each raises :class:`GeomdlError` with a one-line message."""

from __future__ import annotations

from collections.abc import Iterable

from geomdl.errors import GeomdlError

SEED_MAX = 2**32 - 1


def check_seed(seed: int, name: str = "seed") -> None:
    """Seeds are numpy/torch seeds: integers in ``0..2**32-1``."""
    if not 0 <= seed <= SEED_MAX:
        raise GeomdlError(f"{name} must be in 0..2**32-1 (got {seed})")


def check_choice(value: str, choices: Iterable[str], what: str) -> None:
    """``value`` is one of ``choices``: ``unknown <what> 'x'; known: a, b``."""
    choices = tuple(choices)
    if value not in choices:
        raise GeomdlError(f"unknown {what} {value!r}; known: {', '.join(choices)}")
