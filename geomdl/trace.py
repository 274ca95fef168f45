"""The trace file: the one interface between the core and every renderer (``shared/spec/trace.md``).

One ``.npz`` file (no pickled objects: it loads with ``allow_pickle=False``) holding the arrays and, under the
key ``meta``, a 0-d unicode array with the JSON metadata. Written atomically.

Projected traces (large ``M``, e.g. MNIST with ``M = 784``; ``meta["projected"] = true``) store, instead of the
full ``truncated`` (S, L, N, M), ``W_cum`` (S, L, M, M) and ``edges`` (S, L, M, M):

- ``truncated_proj`` (S, L, N, 3): ``T_l(X)`` projected with the trace's PCA (``(T - pca_mean) @ pca_components.T``);
- ``base_points_proj`` (S, L, 3): base points projected the same way;
- ``edges_proj`` (S, L, M, 3): edge ``v_i`` of layer ``l`` as a projected direction ``pca_components @ v_i`` (no
  centring), NaN rows past the layer's width ``M_l``.

``k_trunc`` may then be int16 (784-wide layers count up to 784 cut coordinates). Every other required array
keeps its name and meaning, so the schema is unchanged.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geomdl import __version__
from geomdl.atomic import atomic_path
from geomdl.errors import GeomdlError
from geomdl.health import FAILURES

SCHEMA = 1

# key -> number of dimensions (S snapshots, L layers, N points, M input dim, Q classes)
REQUIRED = {
    "X": 2, "labels": 1, "steps": 1, "loss": 1, "W_cum": 4, "b_cum": 3, "base_points": 3, "edges": 4,
    "truncated": 4, "outputs": 3, "k_trunc": 3, "collapsed_frac": 3, "residual": 2, "rank": 2,
    "pca_mean": 1, "pca_components": 2,
}
# projected traces (large M): these replace the full arrays below (see the module docstring)
PROJECTED = {"truncated_proj": 4, "base_points_proj": 3, "edges_proj": 4}
PROJECTED_REPLACES = ("truncated", "W_cum", "edges")
# Trace kinds that record something other than the truncation picture declare their own required arrays
# (kind -> {key: ndim}); their other arrays are documented by the experiment module that writes them.
KIND_REQUIRED: dict[str, dict[str, int]] = {
    # geomdl.experiments.flows (F flows, S grid points): outputs (F, S, N, Q), cost (F, S), flow time s (S,)
    "flows": {"X": 2, "labels": 1, "steps": 1, "s": 1, "alphas": 1, "outputs": 4, "cost": 2},
}
# ---- kind "network" (geomdl.recorder: any user ReLU MLP; issue 13) -----------------------------------------
# The truncation-picture arrays above (full or projected), with layers of any width: ``W_cum`` (S, L, E, M),
# ``b_cum`` (S, L, E), ``edges`` (S, L, M, E), ``edges_proj`` (S, L, E, 3), E = max(M, widths), NaN-padded.
# In addition the per-layer picture's exactness and the exact layer-space view (spec 2.4b):
NETWORK_KIND = "network"
NETWORK_REQUIRED = {"residual": 2, "rank": 2, "act_scale": 2, "residual_active": 2}
NETWORK_META = ("widths", "picture", "views", "stop_reason")
# -------------------------------------------------------------------------------------------------------------
META_KEYS = ("schema", "kind", "created", "config", "seed", "versions", "Q", "M", "widths", "loss",
             "stop_reason", "notes")


def package_versions() -> dict[str, str]:
    import torch  # noqa: PLC0415 (the core depends on torch anyway; imported here to keep trace reading light)
    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "geomdl": __version__}


def config_hash(kind: str, config: dict) -> str:
    """Short stable hash of an experiment config (cache key): canonical JSON + schema + package version."""
    blob = json.dumps({"kind": kind, "config": config, "schema": SCHEMA, "geomdl": __version__},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


@dataclass
class Trace:
    """``meta``: the JSON metadata; ``arrays``: name -> numpy array (see trace.md for names and shapes)."""

    meta: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.arrays[key]

    def __contains__(self, key: str) -> bool:
        return key in self.arrays

    @property
    def n_snapshots(self) -> int:
        return len(self.arrays["steps"])

    @property
    def n_layers(self) -> int:
        return self.arrays["truncated" if "truncated" in self.arrays else "truncated_proj"].shape[1]

    @property
    def projected(self) -> bool:
        """A projected trace (``truncated_proj`` instead of ``truncated``; see the module docstring)."""
        return "truncated" not in self.arrays and "truncated_proj" in self.arrays

    @property
    def q(self) -> int:
        return int(self.meta["Q"])

    @property
    def failed(self) -> bool:
        """A failed run: stop reason ``diverged``, ``dead`` or ``degenerate`` (:data:`geomdl.health.FAILURES`)."""
        return self.meta.get("stop_reason") in FAILURES

    def validate(self, source: str = "trace") -> None:
        """Check names, dimensions and the shapes that must agree; raise :class:`GeomdlError` if not."""
        if self.meta.get("kind") in KIND_REQUIRED:
            self._validate_kind(source)
            return
        required = dict(REQUIRED)
        if self.projected:
            for k in PROJECTED_REPLACES:
                required.pop(k)
            required.update(PROJECTED)
        missing = [k for k in required if k not in self.arrays]
        if missing:
            raise GeomdlError(f"{source} is missing arrays {missing}: not a complete geomdl trace")
        for k, nd in required.items():
            if self.arrays[k].ndim != nd:
                raise GeomdlError(f"{source}: array {k!r} has {self.arrays[k].ndim} dimensions, expected {nd}")
        N, M = self.arrays["X"].shape
        tkey = "truncated_proj" if self.projected else "truncated"
        S, L = self.arrays[tkey].shape[:2]
        expect = {"labels": (N,), "steps": (S,), "loss": (S,), "base_points": (S, L, M), "k_trunc": (S, L, N),
                  "residual": (S, L), "rank": (S, L)}
        if self.projected:
            E = max([M, *[int(w) for w in (self.meta.get("widths") or [])]])   # layers wider than M (kind network)
            expect.update({"truncated_proj": (S, L, N, 3), "base_points_proj": (S, L, 3), "edges_proj": (S, L, E, 3)})
        else:
            expect["truncated"] = (S, L, N, M)
        for k, shape in expect.items():
            if self.arrays[k].shape != shape:
                raise GeomdlError(f"{source}: array {k!r} has shape {self.arrays[k].shape}, expected {shape}")
        if S < 1:
            raise GeomdlError(f"{source} holds no snapshots")
        for k in ("schema", "Q", "M", "kind"):
            if k not in self.meta:
                raise GeomdlError(f"{source}: metadata lacks {k!r}")
        if self.meta.get("kind") == NETWORK_KIND:
            self._validate_network(source, S, L, N)

    def _validate_network(self, source: str, S: int, L: int, N: int) -> None:
        """Kind ``network``: its extra arrays and header (see :data:`NETWORK_REQUIRED`, :data:`NETWORK_META`)."""
        for k in NETWORK_META:
            if k not in self.meta:
                raise GeomdlError(f"{source}: metadata lacks {k!r}")
        if len(self.meta["widths"]) != L:
            raise GeomdlError(f"{source}: metadata lists {len(self.meta['widths'])} widths for {L} recorded layers")
        for k in NETWORK_REQUIRED:
            if k not in self.arrays:
                raise GeomdlError(f"{source} is missing array {k!r}: not a complete network trace")
            if self.arrays[k].shape != (S, L):
                raise GeomdlError(f"{source}: array {k!r} has shape {self.arrays[k].shape}, expected {(S, L)}")
        if "hidden_proj" in self.arrays and self.arrays["hidden_proj"].shape != (S, L, N, 3):
            raise GeomdlError(f"{source}: array 'hidden_proj' has shape {self.arrays['hidden_proj'].shape}, "
                              f"expected {(S, L, N, 3)}")

    def _validate_kind(self, source: str) -> None:
        """Validation of a trace kind listed in :data:`KIND_REQUIRED`: names, dimensions, metadata, and that
        ``X``, ``labels`` and the leading axes of ``outputs`` / ``cost`` agree."""
        required = KIND_REQUIRED[self.meta["kind"]]
        missing = [k for k in required if k not in self.arrays]
        if missing:
            raise GeomdlError(f"{source} is missing arrays {missing}: not a complete {self.meta['kind']} trace")
        for k, nd in required.items():
            if self.arrays[k].ndim != nd:
                raise GeomdlError(f"{source}: array {k!r} has {self.arrays[k].ndim} dimensions, expected {nd}")
        N = self.arrays["X"].shape[0]
        if "outputs" in required and "cost" in required:
            F, S = self.arrays["cost"].shape
            expect = {"labels": (N,), "steps": (S,), "s": (S,), "alphas": (F,)}
            for k, shape in expect.items():
                if k in self.arrays and self.arrays[k].shape != shape:
                    raise GeomdlError(f"{source}: array {k!r} has shape {self.arrays[k].shape}, expected {shape}")
            if self.arrays["outputs"].shape[:3] != (F, S, N):
                raise GeomdlError(f"{source}: array 'outputs' has shape {self.arrays['outputs'].shape}, expected "
                                  f"({F}, {S}, {N}, Q)")
            if S < 1:
                raise GeomdlError(f"{source} holds no snapshots")
        for k in ("schema", "Q", "M", "kind"):
            if k not in self.meta:
                raise GeomdlError(f"{source}: metadata lacks {k!r}")

    def save(self, path: str | Path) -> Path:
        """Write atomically to ``path`` (``.npz`` added when missing)."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        self.validate()
        meta = json.dumps(self.meta, sort_keys=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, meta=np.array(meta), **self.arrays)
        return path


def load(path: str | Path) -> Trace:
    """Load and validate a trace. Every failure is a one-line :class:`GeomdlError`, never a traceback."""
    path = Path(path)
    if not path.exists():
        raise GeomdlError(f"trace file {path} does not exist")
    if path.is_dir():
        raise GeomdlError(f"trace path {path} is a folder, not a trace file")
    if not zipfile.is_zipfile(path):
        try:
            with open(path, "rb") as fh:
                starts_like_zip = fh.read(4) == b"PK\x03\x04"
        except OSError as e:
            raise GeomdlError(f"cannot read trace file {path}: {e.strerror or e}") from None
        if starts_like_zip:  # a cut-off write or download: the zip's central directory at the end is missing
            raise GeomdlError(f"{path} is truncated or corrupt (an .npz archive whose end is missing)")
        raise GeomdlError(f"{path} is not a geomdl trace (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "meta" not in z.files:
                raise GeomdlError(f"{path} is an .npz file but not a geomdl trace (no 'meta' entry)")
            meta = json.loads(str(z["meta"][()]))
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except GeomdlError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError) as e:
        raise GeomdlError(f"{path} is truncated or corrupt ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or "schema" not in meta:
        raise GeomdlError(f"{path}: metadata is not a geomdl trace header")
    if meta["schema"] != SCHEMA:
        raise GeomdlError(f"{path} has trace schema {meta['schema']}, this geomdl reads schema {SCHEMA}; "
                          "re-create it with `geomdl train`")
    tr = Trace(meta=meta, arrays=arrays)
    tr.validate(str(path))
    return tr
