"""A user's own data set ``(X, y)``: loading (``.npz`` with ``X`` and ``y``, ``.npy`` or ``.csv`` with the label in
the last column) and the checks every recorder input passes (finite ``X``, labels ``0..Q-1``, no empty class).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from geomdl.errors import GeomdlError

FORMATS = ".npz (arrays X and y), .npy or .csv (one point per row, the class label in the last column)"


def check_data(X, y, in_dim: int | None = None, source: str = "data") -> tuple[np.ndarray, np.ndarray, int]:
    """``X: (N, M)`` float64 and finite, ``y: (N,)`` int64 in ``0..Q-1`` with every class present, ``Q >= 2``.

    Returns ``(X, y, Q)``; ``in_dim``: the model's input dimension ``M`` when known. Raises a one-line
    :class:`GeomdlError` otherwise.
    """
    try:
        X = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise GeomdlError(f"{source}: X is not numeric") from None
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise GeomdlError(f"{source}: X must be a non-empty (N, M) array (got shape {X.shape})")
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise GeomdlError(f"{source}: X holds {int(bad.sum())} NaN or inf values (first at row {r}, column {c})")
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != len(X):
        raise GeomdlError(f"{source}: y must hold one label per point ({len(X)} points, y has shape {y.shape})")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.isfinite(y))):
        raise GeomdlError(f"{source}: labels must be integers 0..Q-1 (got {y.dtype} values)")
    bad = (y != np.round(y)) | (y < 0)   # a fraction or a negative label
    if np.any(bad):
        raise GeomdlError(f"{source}: labels must be integers 0..Q-1 (found {y[bad][0]:g})")
    y = y.astype(np.int64)
    q = int(y.max()) + 1
    counts = np.bincount(y, minlength=q)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        raise GeomdlError(f"{source}: labels must be 0..Q-1 with every class present; label {int(empty[0])} "
                          f"(class {int(empty[0]) + 1}) has "
                          f"no points (labels found: {', '.join(map(str, np.unique(y)[:12]))})")
    if q < 2:
        raise GeomdlError(f"{source}: need at least 2 classes (every label is 0)")
    if in_dim is not None and X.shape[1] != in_dim:
        raise GeomdlError(f"{source}: points have {X.shape[1]} coordinates, the model's first layer takes {in_dim}")
    return X, y, q


def load_data(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` from ``path`` (see :data:`FORMATS`), unchecked (pass it to :func:`check_data`)."""
    path = Path(path)
    if not path.exists():
        raise GeomdlError(f"data file {path} does not exist")
    if path.is_dir():
        raise GeomdlError(f"data path {path} is a folder; give a file: {FORMATS}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as z:
                if "X" not in z.files or "y" not in z.files:
                    raise GeomdlError(f"{path} holds arrays {z.files}; expected X and y")
                return z["X"], z["y"]
        if suffix == ".npy":
            A = np.load(path, allow_pickle=False)
        elif suffix == ".csv":
            A = _read_csv(path)
        else:
            raise GeomdlError(f"unknown data format {path.suffix or '(none)'} of {path}; use {FORMATS}")
    except GeomdlError:
        raise
    except (OSError, ValueError, EOFError) as e:
        raise GeomdlError(f"cannot read data file {path}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") \
            from None
    if A.ndim != 2 or A.shape[1] < 2:
        raise GeomdlError(f"{path}: expected one point per row with the label in the last column (got shape "
                          f"{A.shape})")
    return A[:, :-1], A[:, -1]


def _read_csv(path: Path) -> np.ndarray:
    """Numbers separated by commas, an optional header row (any non-numeric first row)."""
    with open(path, encoding="utf-8") as fh:
        first = fh.readline()
    try:
        [float(v) for v in first.strip().split(",")]
        skip = 0
    except ValueError:
        skip = 1
    A = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
    return A
