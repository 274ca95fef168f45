"""The trace file: the one interface between the core and every renderer (``docs/trace.md``).

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

import collections
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
from geomdl.errors import GeomdlError
from geomdl.io.atomic import atomic_path
from geomdl.nn.health import FAILURES

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
# ---- kind "network" (geomdl.io.recorder: any user ReLU MLP) -----------------------------------------
# The truncation-picture arrays above (full or projected), with layers of any width: ``W_cum`` (S, L, E, M),
# ``b_cum`` (S, L, E), ``edges`` (S, L, M, E), ``edges_proj`` (S, L, E, 3), E = max(M, widths), NaN-padded.
# In addition the per-layer picture's exactness and the exact layer-space view (docs/math.md §2.4b):
NETWORK_KIND = "network"
NETWORK_REQUIRED = {"residual": 2, "rank": 2, "act_scale": 2, "residual_active": 2}
# -------------------------------------------------------------------------------------------------------------
META_KEYS = ("schema", "kind", "created", "config", "seed", "versions", "Q", "M", "widths", "loss",
             "stop_reason", "notes")


# ------------------------------------------------------------------ validation tables (one entry per trace kind)
@dataclass(frozen=True)
class ArraySpec:
    """What one array of a trace must be.

    ``dims``: one entry per axis: a name (``"S"``, ``"L"``, ``"N"``, ``"M"``, ``"Q"``, ``"F"``, ...: every
    array's axis of that name has the same length, and ``M`` / ``Q`` equal ``meta["M"]`` / ``meta["Q"]``), a
    fixed length (``3``), or ``None`` (any length). ``dtype``: the numpy kinds allowed (``"f"`` float, ``"iu"``
    integer, ``"b"`` bool). ``finite``: ``"all"`` every value finite, ``"first"`` the first entry along axis 0
    (the first snapshot, recorded before training) finite, ``"some"`` not every value NaN/inf, ``""`` unchecked
    (arrays padded with NaN). ``labels``: integer class indices in ``0 .. Q-1``.
    """

    dims: tuple[str | int | None, ...]
    dtype: str = "f"
    finite: str = ""
    labels: bool = False


@dataclass(frozen=True)
class TraceKind:
    """The arrays and metadata a trace kind must hold. ``projected``: arrays that replace ``replaces`` in a
    projected trace (``truncated_proj`` is present); ``meta``: metadata keys of this kind -> the JSON type
    (``True``: required)."""

    arrays: dict[str, ArraySpec]
    projected: dict[str, ArraySpec] = field(default_factory=dict)
    replaces: tuple[str, ...] = ()
    meta: dict[str, tuple[type | tuple[type, ...], bool]] = field(default_factory=dict)


_F, _I = "f", "iu"
TRUNCATION_ARRAYS = {
    "X": ArraySpec(("N", "M"), _F, "all"), "labels": ArraySpec(("N",), _I, labels=True),
    "steps": ArraySpec(("S",), _I), "loss": ArraySpec(("S",), _F, "first"),
    "W_cum": ArraySpec(("S", "L", "M", "M")), "b_cum": ArraySpec(("S", "L", "M")),
    "base_points": ArraySpec(("S", "L", "M")), "edges": ArraySpec(("S", "L", "M", "M")),
    "truncated": ArraySpec(("S", "L", "N", "M"), _F, "first"), "outputs": ArraySpec(("S", "N", None), _F, "first"),
    "k_trunc": ArraySpec(("S", "L", "N"), _I), "collapsed_frac": ArraySpec(("S", "L", "Q")),
    "residual": ArraySpec(("S", "L")), "rank": ArraySpec(("S", "L"), _I),
    "pca_mean": ArraySpec(("M",), _F, "all"), "pca_components": ArraySpec((None, "M"), _F, "all"),
}
TRUNCATION_PROJECTED = {
    "truncated_proj": ArraySpec(("S", "L", "N", 3), _F, "first"), "base_points_proj": ArraySpec(("S", "L", 3)),
    "edges_proj": ArraySpec(("S", "L", "M", 3)),
}
TRUNCATION = TraceKind(TRUNCATION_ARRAYS, TRUNCATION_PROJECTED, PROJECTED_REPLACES)
# Every kind's entry (a kind not listed here is validated as the truncation picture, or by KIND_REQUIRED).
TRACE_KINDS: dict[str, TraceKind] = {
    "truncation-speed": TRUNCATION, "layers": TRUNCATION, "cones": TRUNCATION, "perturbation": TRUNCATION,
    "local-minima": TraceKind({**TRUNCATION_ARRAYS, "pattern": ArraySpec(("S", "L"), _I),
                               "stage": ArraySpec(("S",), _I)}, TRUNCATION_PROJECTED, PROJECTED_REPLACES),
    "flows": TraceKind({
        "X": ArraySpec(("N", "M"), _F, "all"), "labels": ArraySpec(("N",), _I, labels=True),
        "steps": ArraySpec(("S",), _I), "s": ArraySpec(("S",), _F, "all"), "alphas": ArraySpec(("F",), _F, "all"),
        "outputs": ArraySpec(("F", "S", "N", None), _F, "some"), "cost": ArraySpec(("F", "S"), _F, "some")}),
}
# kind "network" (geomdl.io.recorder: any user ReLU MLP): the truncation picture with layers of any width, padded
# with NaN to E = max(M, widths) units, plus the picture's exactness per layer (docs/math.md §2.4b)
_NETWORK_WIDE = {"W_cum": ArraySpec(("S", "L", "E", "M")), "b_cum": ArraySpec(("S", "L", "E")),
                 "edges": ArraySpec(("S", "L", "M", "E"))}
TRACE_KINDS[NETWORK_KIND] = TraceKind(
    {**TRUNCATION_ARRAYS, **_NETWORK_WIDE, **{k: ArraySpec(("S", "L"), _I if k == "rank" else _F)
                                               for k in NETWORK_REQUIRED},
     "loss": ArraySpec(("S",), _F)},       # NaN where the user's loop gave no loss
    {**TRUNCATION_PROJECTED, "edges_proj": ArraySpec(("S", "L", "E", 3))}, PROJECTED_REPLACES,
    meta={"widths": (list, True), "picture": (dict, True), "views": (list, True), "stop_reason": (str, True)})
# metadata every trace has: key -> (JSON type, required)
META_TYPES: dict[str, tuple[type | tuple[type, ...], bool]] = {
    "schema": (int, True), "kind": (str, True), "Q": (int, True), "M": (int, True), "created": (str, False),
    "config": (dict, False), "seed": ((int, type(None)), False), "versions": (dict, False), "widths": (list, False),
    "loss": (str, False), "stop_reason": (str, False), "stop_message": (str, False), "notes": (list, False),
    "projected": (bool, False),
}


def register_kind(name: str, kind: TraceKind) -> None:
    """Declare (or replace) the validation table of trace kind ``name``."""
    TRACE_KINDS[name] = kind


def kind_table(kind: str) -> TraceKind:
    """The validation table of ``kind``: :data:`TRACE_KINDS`, else a kind declared only by its dimensions in
    :data:`KIND_REQUIRED` (numeric arrays of those dimensions), else the truncation picture."""
    if kind in TRACE_KINDS:
        return TRACE_KINDS[kind]
    if kind in KIND_REQUIRED:
        return TraceKind({k: ArraySpec((None,) * nd, "fiub") for k, nd in KIND_REQUIRED[kind].items()})
    return TRUNCATION


def _type_name(t) -> str:
    names = {int: "an integer", str: "a string", dict: "an object", list: "a list", bool: "true/false",
             float: "a number", type(None): "null"}
    return " or ".join(names.get(x, x.__name__) for x in (t if isinstance(t, tuple) else (t,)))


def validate_meta(meta, source: str, extra: dict | None = None) -> None:
    """``meta`` is a JSON object whose keys have the types of :data:`META_TYPES` (plus ``extra``), ``Q >= 2`` and
    ``M >= 1``."""
    if not isinstance(meta, dict):
        raise GeomdlError(f"{source}: metadata is not a geomdl trace header (a JSON {type(meta).__name__})")
    for key, (typ, required) in {**META_TYPES, **(extra or {})}.items():
        if key not in meta:
            if required:
                raise GeomdlError(f"{source}: metadata lacks {key!r}")
            continue
        v = meta[key]
        types_ = typ if isinstance(typ, tuple) else (typ,)
        ok = isinstance(v, types_) and not (isinstance(v, bool) and bool not in types_)
        if not ok:
            raise GeomdlError(f"{source}: metadata {key!r} is {v!r:.40}, expected {_type_name(typ)}")
    if meta["Q"] < 2 or meta["M"] < 1:
        raise GeomdlError(f"{source}: metadata says Q={meta['Q']}, M={meta['M']} (need Q >= 2, M >= 1)")


def validate_arrays(arrays: dict[str, np.ndarray], specs: dict[str, ArraySpec], meta: dict, source: str,
                    what: str) -> dict[str, int]:
    """Check every array of ``specs`` against its :class:`ArraySpec`; returns the named axis lengths."""
    missing = [k for k in specs if k not in arrays]
    if missing:
        raise GeomdlError(f"{source} is missing arrays {missing}: not a complete {what}")
    votes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for k, spec in specs.items():
        a = arrays[k]
        if not isinstance(a, np.ndarray):
            raise GeomdlError(f"{source}: entry {k!r} is not an array")
        if a.ndim != len(spec.dims):
            raise GeomdlError(f"{source}: array {k!r} has {a.ndim} dimensions, expected {len(spec.dims)}")
        if a.dtype.kind not in spec.dtype:
            want = {"f": "floats", "iu": "integers", "b": "booleans"}.get(spec.dtype, "numbers")
            raise GeomdlError(f"{source}: array {k!r} holds {a.dtype} values, expected {want}")
        for d, n in zip(spec.dims, a.shape, strict=True):
            if isinstance(d, str):
                votes[d][n] += 1
    # each named axis: M and Q from the metadata, the others the length most arrays agree on (so the message
    # names the odd array out)
    sizes = {d: c.most_common(1)[0][0] for d, c in votes.items()}
    sizes.update(M=meta["M"], Q=meta["Q"])
    for k, spec in specs.items():
        a = arrays[k]
        expect = tuple(sizes[d] if isinstance(d, str) else d if isinstance(d, int) else n
                       for d, n in zip(spec.dims, a.shape, strict=True))
        if a.shape != expect:
            raise GeomdlError(f"{source}: array {k!r} has shape {a.shape}, expected {expect} "
                              f"({', '.join(str(d) for d in spec.dims)})")
        if spec.dtype == _F and spec.finite and a.size:
            part = a if spec.finite == "all" else a[0] if spec.finite == "first" else a
            bad = ~np.isfinite(part)
            if (spec.finite == "some" and bad.all()) or (spec.finite != "some" and bad.any()):
                where = {"all": "", "first": " in its first entry (the first snapshot)", "some": " everywhere"}
                raise GeomdlError(f"{source}: array {k!r} holds NaN or inf{where[spec.finite]}")
        if spec.labels and a.size and (a.min() < 0 or a.max() >= meta["Q"]):
            raise GeomdlError(f"{source}: array {k!r} holds labels {int(a.min())}..{int(a.max())}, but Q="
                              f"{meta['Q']} (labels 0..{meta['Q'] - 1}, classes 1..{meta['Q']})")
    if sizes.get("S", 1) < 1:
        raise GeomdlError(f"{source} holds no snapshots")
    return sizes


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


def header(kind: str, config: dict, *, seed: int, q: int, m: int, widths, loss: str, stop_reason: str,
           stop_message: str, notes: list[str], final_step: int | None = None, **extra) -> dict:
    """The trace header every experiment writes: :data:`META_KEYS` (schema, creation time, package versions
    filled in here), ``stop_message``, ``final_step`` when given, then the kind's own keys ``extra``
    (docs/trace.md)."""
    meta = {"schema": SCHEMA, "kind": kind, "created": now_iso(), "config": config, "seed": int(seed),
            "versions": package_versions(), "Q": int(q), "M": int(m), "widths": [int(w) for w in widths],
            "loss": loss, "stop_reason": stop_reason, "stop_message": stop_message, "notes": list(notes)}
    if final_step is not None:
        meta["final_step"] = int(final_step)
    clash = set(meta) & set(extra)
    if clash:
        raise ValueError(f"header keys given twice: {sorted(clash)}")
    return {**meta, **extra}


@dataclass
class Trace:
    """``meta``: the JSON metadata; ``arrays``: name -> numpy array (see docs/trace.md for names and shapes)."""

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
        """A failed run: stop reason ``diverged``, ``dead`` or ``degenerate`` (:data:`geomdl.nn.health.FAILURES`)."""
        return self.meta.get("stop_reason") in FAILURES

    def validate(self, source: str = "trace") -> None:
        """Check the metadata's types, and every array's name, dimensions, dtype, shape agreement, finiteness
        and label range against its kind's table (:data:`TRACE_KINDS`); raise :class:`GeomdlError` if not."""
        validate_meta(self.meta, source)
        kind = self.meta["kind"]
        table = kind_table(kind)
        validate_meta(self.meta, source, table.meta)
        specs = dict(table.arrays)
        if table.projected and self.projected:
            for k in table.replaces:
                specs.pop(k, None)
            specs.update(table.projected)
        what = "geomdl trace" if table.arrays is TRUNCATION_ARRAYS else f"{kind} trace"
        sizes = validate_arrays(self.arrays, specs, self.meta, source, what)
        if kind == NETWORK_KIND:
            self._validate_network(source, sizes)

    def _validate_network(self, source: str, sizes: dict[str, int]) -> None:
        """Kind ``network`` beyond its table: one width per recorded layer, the padded axis ``E = max(M, widths)``
        and the optional layer-space view ``hidden_proj: (S, L, N, 3)``."""
        widths, L = self.meta["widths"], sizes["L"]
        if len(widths) != L or not all(isinstance(w, int) and w >= 1 for w in widths):
            raise GeomdlError(f"{source}: metadata widths {widths!r:.60} do not give one positive width for each of "
                              f"the {L} recorded layers")
        E = max([sizes["M"], *widths])
        if sizes.get("E", E) != E:
            raise GeomdlError(f"{source}: the layer arrays are padded to {sizes['E']} units, expected max(M, widths) "
                              f"= {E}")
        want = (sizes["S"], L, sizes["N"], 3)
        if "hidden_proj" in self.arrays and self.arrays["hidden_proj"].shape != want:
            raise GeomdlError(f"{source}: array 'hidden_proj' has shape {self.arrays['hidden_proj'].shape}, "
                              f"expected {want}")

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
            meta_text = z["meta"][()]
            if not isinstance(meta_text, str):
                raise GeomdlError(f"{path}: its 'meta' entry is not JSON text: not a geomdl trace")
            meta = json.loads(meta_text)
            arrays = {k: z[k] for k in z.files if k != "meta"}
    except GeomdlError:
        raise
    except (ValueError, zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as e:
        if isinstance(e, ValueError) and ("pickle" in str(e) or "Object arrays" in str(e)):
            raise GeomdlError(f"{path} holds pickled Python objects, which geomdl never loads (a trace holds plain "
                              "arrays only)") from None
        if isinstance(e, json.JSONDecodeError):
            raise GeomdlError(f"{path}: its metadata is not valid JSON ({e}): not a geomdl trace") from None
        raise GeomdlError(f"{path} is truncated or corrupt ({type(e).__name__}: {e})") from None
    except Exception as e:  # noqa: BLE001 - a hostile file must not escape as another exception
        raise GeomdlError(f"{path} is not a readable geomdl trace ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or "schema" not in meta:
        raise GeomdlError(f"{path}: metadata is not a geomdl trace header")
    schema = meta["schema"]
    if not isinstance(schema, int) or isinstance(schema, bool):
        raise GeomdlError(f"{path}: metadata 'schema' is {schema!r:.40}, expected an integer (this geomdl reads "
                          f"schema {SCHEMA})")
    if schema != SCHEMA:
        raise GeomdlError(f"{path} has trace schema {schema}, this geomdl reads schema {SCHEMA}; "
                          "re-create it with `geomdl train`")
    tr = Trace(meta=meta, arrays=arrays)
    try:
        tr.validate(str(path))
    except GeomdlError:
        raise
    except Exception as e:  # noqa: BLE001 - validation of a hostile file must itself never crash
        raise GeomdlError(f"{path} is not a valid geomdl trace ({type(e).__name__}: {e})") from None
    return tr
