"""Size limits checked before allocating: a request too large for this machine is a one-line error that says
how much it needs and why, never an allocation traceback or a machine swapping itself to a halt.

The limit is the memory available now (``MemAvailable`` on Linux, else the physical memory; less where the
process's cgroup memory limit leaves less: :mod:`geomdl.machine`), or the environment
variable ``GEOMDL_MEMORY_LIMIT`` (bytes, or with a suffix K, M, G, T: ``GEOMDL_MEMORY_LIMIT=8G``).
"""

from __future__ import annotations

import os

from geomdl.errors import GeomdlError
from geomdl.machine import available_memory

FLOAT_BYTES = 8


def human(nbytes: float) -> str:
    """``1.46 TiB``-style size."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:.3g} {unit}"
        nbytes /= 1024
    return f"{nbytes:.3g} EiB"  # pragma: no cover


def _parse_size(text: str) -> int:
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}.get(text[-1:], 1)
    try:
        return int(float(text[:-1] if mult > 1 else text) * mult)
    except ValueError:
        raise GeomdlError(f"GEOMDL_MEMORY_LIMIT must be a size such as 8G or 500M (got {text!r})") from None


def memory_limit() -> tuple[int | None, str]:
    """``(bytes, where it comes from)``; ``None``: unknown (no check)."""
    env = os.environ.get("GEOMDL_MEMORY_LIMIT")
    if env:
        return _parse_size(env), "limit GEOMDL_MEMORY_LIMIT"
    return available_memory()


def check_memory(nbytes: int, what: str, hint: str) -> None:
    """Refuse ``what`` if it needs more than the memory limit: ``error: <what> needs about X, more than the Y
    <source>; <hint>``."""
    limit, source = memory_limit()
    if limit is not None and nbytes > limit:
        raise GeomdlError(f"{what} needs about {human(nbytes)} of memory, more than the {human(limit)} {source}; "
                          f"{hint}")


def trace_bytes(S: int, L: int, N: int, M: int, Q: int) -> int:
    """Bytes of a full (unprojected) trace's arrays, float64: truncated (S, L, N, M), W_cum and edges
    (S, L, M, M), b_cum and base points (S, L, M), outputs (S, N, Q), k_trunc (S, L, N), X (N, M)."""
    return FLOAT_BYTES * (S * L * N * M + 2 * S * L * M * M + 2 * S * L * M + S * N * Q + S * L * N + N * M)


def check_config_size(cfg) -> None:
    """The memory a trace experiment's config will need, from the fields it has (``q``, ``m``, ``n_per_class``,
    ``snapshots``; ``m`` defaults to ``max(3, q)``, one hidden layer per class): refused before any data is made.
    A config without those fields (e.g. MNIST, whose trace is projected) is not estimated here."""
    q = getattr(cfg, "q", None)
    n = getattr(cfg, "n_per_class", None)
    if not isinstance(q, int) or not isinstance(n, int) or q < 1 or n < 1:
        return
    m = getattr(cfg, "m", None)
    m = m if isinstance(m, int) and m > 0 else max(3, q)
    widths = getattr(cfg, "widths", None)
    L = len(widths) if isinstance(widths, (tuple, list)) and widths else q
    S = getattr(cfg, "snapshots", None)
    S = S if isinstance(S, int) and S > 0 else 2
    N = q * n
    need = trace_bytes(S, L, N, m, q) + FLOAT_BYTES * L * m * m * 8  # plus the network, its gradients, optimizer
    check_memory(need, f"this run (Q={q}, M={m}, N={N} points, {S} snapshots, {L} layers)",
                 "lower --q, --m, --n-per-class or --snapshots")
