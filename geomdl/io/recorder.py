"""Snapshot recorder: the geometry of any ReLU MLP on its data at chosen training steps (docs/math.md §2.4b,
§2.5; docs/trace.md).

One recorder for every MLP shape: any depth ``L >= 1``, hidden widths wider than, equal to or narrower than the
input, 784-wide MNIST layers included. At each snapshot it computes, in float64 numpy from the network's current
parameters (:class:`geomdl.math.wide_chain.SolvedChain`: LU solves for square layers, one SVD otherwise):

- the real forward pass ``x^(l)``, the truncated data ``T_l(X) = (W^(l))^+ (x^(l) - b^(l))`` and the truncation
  state ``k_{l,r} = #{i: z_i^(l) < 0}`` from the real pre-activations (docs/math.md §2.4b);
- cumulative ``W^(l), b^(l)``, cones (base points and edges), per-class collapsed / partially truncated
  fractions, distances to the base point and within-class variances, outputs;
- the representation residual and the rank (and extreme singular values) of every ``W^(l)``: when the residual
  is not ~0 the input-space picture is approximate, and the trace says so;
- the exact layer-space view: ``x^(l)`` projected by a PCA fitted once per layer on the first snapshot.

Snapshots stream to a spool folder on disk (one raw file per array; appended in blocks of at most 64 MiB of
snapshots), so memory stays bounded whatever the number of snapshots; :meth:`Recorder.save` streams the spool
into the trace file, :meth:`Recorder.arrays` reads it back for the experiments that build a trace in memory.
``store="float32"`` keeps the per-point arrays (truncated data, outputs, layer-space view) in float32.

User API (``docs/api.md``)::

    rec = Recorder.from_module(model, X, y)      # nn.Sequential of Linear/ReLU, or a module listing them
    for step in ...:                              # the user's own training loop
        ...
        rec.snapshot(step, loss)
    rec.save("run.npz", title="my net")           # a trace of kind "network": geomdl render training --trace
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geomdl.checks import check_classes_present, check_hidden_layers
from geomdl.errors import GeomdlError
from geomdl.io import projection
from geomdl.math import wide_chain
from geomdl.math.wide_chain import ChainResult, SolvedChain

KIND = "network"
STORES = ("float64", "float32")
PROJECT_ABOVE = 16          # inputs of more dimensions are stored projected (truncated_proj, ...) by default
RESIDUAL_RTOL = 1e-6        # residual above this times max(1, |x^(l)|) = an approximate input-space picture
# per-point arrays stored in float32 when asked (the bulk of a trace)
BULK = ("truncated", "truncated_proj", "outputs", "hidden_proj")


@dataclass
class SnapshotGeometry:
    """What one snapshot computed, for callers that derive more from it (MNIST metrics): the chain (its
    factorisations), the chain's result on the training data (``truncated``, ``k``, ``residual``, ``hidden``)
    and the outputs ``(N, K)``."""

    step: int
    loss: float
    chain: SolvedChain
    result: ChainResult
    outputs: np.ndarray
    arrays: dict[str, np.ndarray]


class _Spool:
    """Per-key raw files in a private temp folder; every snapshot appends one array of a fixed shape per key.

    Snapshots are buffered in memory up to ``buffer_bytes`` (default 64 MiB) and then appended to the files, so
    memory stays bounded whatever the number of snapshots, and small recordings never touch the disk.
    """

    def __init__(self, parent: str | None = None, buffer_bytes: int = 64 << 20):
        self.parent = parent
        self.dir: Path | None = None
        self.meta: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        self.count = 0
        self.on_disk = 0                       # snapshots already in the files
        self.buf: dict[str, list[np.ndarray]] = {}
        self.buf_bytes = 0
        self.limit = int(buffer_bytes)
        self._fin = None

    def append(self, row: dict[str, np.ndarray]) -> None:
        if self.count == 0:
            self.meta = {k: (np.shape(v), np.asarray(v).dtype) for k, v in row.items()}
            self.buf = {k: [] for k in row}
        arrs = {}
        for k, v in row.items():
            v = np.ascontiguousarray(v, dtype=self.meta[k][1])
            if v.shape != self.meta[k][0]:
                raise GeomdlError(f"snapshot array {k!r} has shape {v.shape}, earlier snapshots {self.meta[k][0]}")
            arrs[k] = v
        for k, v in arrs.items():
            self.buf[k].append(v)
            self.buf_bytes += v.nbytes
        self.count += 1
        if self.buf_bytes > self.limit:
            self.flush()

    def flush(self) -> None:
        """Append the buffered snapshots to the files (the folder is made on first use)."""
        if not self.buf_bytes and self.on_disk == self.count:
            return
        if self.dir is None:
            self.dir = Path(tempfile.mkdtemp(prefix="geomdl-rec-", dir=self.parent))
            self._fin = weakref.finalize(self, shutil.rmtree, str(self.dir), True)
        for k, vals in self.buf.items():
            with open(self.dir / f"{k}.raw", "ab") as fh:
                for v in vals:
                    fh.write(memoryview(v).cast("B"))
            vals.clear()
        self.buf_bytes = 0
        self.on_disk = self.count

    def shape(self, key: str) -> tuple[int, ...]:
        return (self.count, *self.meta[key][0])

    def read(self, key: str) -> np.ndarray:
        shape, dt = self.meta[key]
        parts = []
        if self.on_disk:
            parts.append(np.fromfile(self.dir / f"{key}.raw", dtype=dt).reshape(self.on_disk, *shape))
        if self.buf.get(key):
            parts.append(np.stack(self.buf[key]))
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def read_row(self, key: str, i: int) -> np.ndarray:
        """Snapshot ``i`` (negative: from the end) of ``key`` alone, without reading the others."""
        shape, dt = self.meta[key]
        i = i % self.count
        if i >= self.on_disk:
            return self.buf[key][i - self.on_disk]
        n = int(np.prod(shape, dtype=np.int64))
        return np.fromfile(self.dir / f"{key}.raw", dtype=dt, count=n, offset=i * n * dt.itemsize).reshape(shape)

    def stream_npy(self, key: str, fh, chunk: int = 1 << 24) -> None:
        """Write the stacked array ``(S, ...)`` as ``.npy`` bytes to ``fh`` without loading it."""
        shape, dt = self.meta[key]
        np.lib.format.write_array_header_2_0(fh, {"descr": np.lib.format.dtype_to_descr(dt), "fortran_order": False,
                                                  "shape": (self.count, *shape)})
        if self.on_disk:
            with open(self.dir / f"{key}.raw", "rb") as src:
                while True:
                    buf = src.read(chunk)
                    if not buf:
                        break
                    fh.write(buf)
        for v in self.buf.get(key, []):
            fh.write(memoryview(v).cast("B"))

    def close(self) -> None:
        self.buf = {k: [] for k in self.buf}
        self.buf_bytes = 0
        if self._fin is not None:
            self._fin()


def _class_groups(labels: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order sorting the points by class, the start of each class in it, and the class sizes."""
    order = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels, minlength=q)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return order, starts, sizes


class Recorder:
    """Collect snapshots of a ReLU MLP on ``X: (N, M)``, ``labels: (N,)`` (``q`` classes, each non-empty).

    ``project``: store the truncation picture projected to the trace's PCA (``truncated_proj``, ...) instead
    of the full ``truncated`` (default: when ``M > 16``); ``pca``: ``(mean (M,), components (3, M))`` to use
    (default: the identity for ``M <= 3``, else the PCA of ``X``); ``store``: ``float64`` or ``float32`` for
    the per-point arrays; ``layer_view``: also record the layer-space view ``hidden_proj`` (on by default for
    :meth:`from_module`); ``spool_dir``: where the snapshot spool lives (default: the system temp folder);
    ``buffer_bytes``: snapshots held in memory before they are appended to the spool (default 64 MiB);
    ``device``: a ``torch.device`` (e.g. CUDA) on which each snapshot's products, factorisations and chain run
    in float64 (:class:`~geomdl.math.wide_chain.SolvedChain`; default ``None``: numpy/scipy on the CPU, the
    same results to float rounding).
    Layers narrower than ``max(M, M_l)`` are NaN-padded in ``W_cum``, ``b_cum``, ``edges``, ``edges_proj``.
    """

    def __init__(self, X: np.ndarray, labels: np.ndarray, q: int, *, project: bool | None = None,
                 pca: tuple[np.ndarray, np.ndarray] | None = None, store: str = "float64",
                 layer_view: bool = False, spool_dir: str | None = None, buffer_bytes: int = 64 << 20,
                 device=None):
        if store not in STORES:
            raise GeomdlError(f"unknown store {store!r}; known: {', '.join(STORES)}")
        self.X = np.asarray(X, dtype=float)
        self.labels = np.asarray(labels).astype(np.int64)
        self.q = int(q)
        N, M = self.X.shape
        if len(self.labels) != N or (N and (self.labels.min() < 0 or self.labels.max() >= self.q)):
            raise GeomdlError(f"labels must be 0..{self.q - 1}, one per point")
        self.order, self.starts, self.class_sizes = _class_groups(self.labels, self.q)
        self.sorted = bool(np.all(self.order == np.arange(N)))     # already grouped by class: no permutation
        self._sorted_labels = self.labels[self.order]
        check_classes_present(self.class_sizes)
        self.store = store
        self.device = device
        self.layer_view = bool(layer_view)
        self.projected = (M > PROJECT_ABOVE) if project is None else bool(project)
        if pca is None:
            pca = (np.zeros(M), np.eye(3, M)) if M <= 3 else projection.fit_pca(self.X, 3)
        self.pca_mean, self.pca_components = (np.asarray(p, dtype=float) for p in pca)
        Xc = self._class_sum(self.X[None])[0] / self.class_sizes[:, None]
        sqd = ((self.X - Xc[self.labels]) ** 2).sum(1)
        self.class_var = np.bincount(self.labels, weights=sqd, minlength=self.q) / self.class_sizes
        self.class_spread = np.sqrt(self.class_var)
        self.widths: list[int] | None = None
        self.out_dim: int | None = None
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.health_rows: list[dict] = []
        self._spool = _Spool(spool_dir, buffer_bytes)
        self._layer_pca: tuple[np.ndarray, np.ndarray] | None = None
        self._model = None
        self.source = "a Python training loop"

    # ------------------------------------------------------------------------------------------ user API
    @classmethod
    def from_module(cls, model, X, y, *, check: bool = True, **kw) -> Recorder:
        """A recorder for the torch module ``model`` on the data ``X: (N, M)``, ``y: (N,)`` (labels ``0..Q-1``).

        ``model``: an ``nn.Sequential`` of Linear and ReLU layers (alternating, ending with the output Linear),
        a module whose only layers are Linear (and ReLU) modules applied as a ReLU MLP in registration order,
        or a TorchScript module of either. Any other layer type is an error naming it; so is data that does not
        fit the model, NaN/inf in ``X``, labels not ``0..Q-1`` or an empty class. ``check``: verify the
        module's outputs against the Linear/ReLU chain on the data (default). ``kw``: as :class:`Recorder`.
        Then call :meth:`snapshot` from the training loop and :meth:`save` at the end.
        """
        from geomdl.data.user_data import check_data  # noqa: PLC0415
        from geomdl.nn import modules  # noqa: PLC0415

        Ws, bs = modules.linear_layers(model)
        X, y, q = check_data(X, y, in_dim=Ws[0].shape[1])
        if check:
            modules.check_outputs(model, X, Ws, bs)
        rec = cls(X, y, q, **{"layer_view": True, **kw})
        rec._model = model
        return rec

    def snapshot(self, step: int, loss: float | None = None) -> SnapshotGeometry:
        """Record the module given to :meth:`from_module` as it is now, at training step ``step`` (increasing),
        with its training ``loss`` when known (else NaN)."""
        if self._model is None:
            raise GeomdlError("snapshot() needs a recorder made by Recorder.from_module(model, X, y); "
                              "use record(step, loss, Ws, bs, W_out, b_out) otherwise")
        from geomdl.nn import modules  # noqa: PLC0415

        Ws, bs = modules.linear_layers(self._model)
        return self.record(step, float("nan") if loss is None else float(loss), Ws[:-1], bs[:-1], Ws[-1], bs[-1])

    # ------------------------------------------------------------------------------------------ recording
    def _class_sum(self, A: np.ndarray) -> np.ndarray:
        """Per-class sums over axis 1 of ``A: (L, N, ...)`` -> ``(L, Q, ...)`` (one pass over the points)."""
        return np.add.reduceat(A if self.sorted else A[:, self.order], self.starts, axis=1)

    def _class_stats(self, T: np.ndarray, k: np.ndarray, P: np.ndarray, w: np.ndarray):
        """Per layer and class, over the points: collapsed and partially truncated counts, the sum of distances
        to the base point, the sums of ``T`` and of ``|T|^2``; ``T: (L, N, M)``, ``k: (L, N)``, ``P: (L, M)``,
        ``w: (L, 1)`` -> ``(L, Q)`` x 3, ``(L, Q, M)``, ``(L, Q)``.

        One pass over the points in blocks of the class-sorted order whose temporaries take at most 1 MiB
        (linear in N at a constant cost per point: cache-resident, no fresh N-sized temporaries); within a
        block, sums over its runs of one class (``reduceat``), no per-class loop and no ``(N, Q)`` products."""
        L, N, M = T.shape
        out = [np.zeros((L, self.q)) for _ in range(3)] + [np.zeros((L, self.q, M)), np.zeros((L, self.q))]
        coll, part, dist, sums, sq = out
        rows = max(64, wide_chain.CHUNK_BYTES // (8 * L * (M + 4)))
        lab = self._sorted_labels
        for a in range(0, N, rows):
            sel = slice(a, a + rows) if self.sorted else self.order[a:a + rows]
            Tc, kc, lc = T[:, sel], k[:, sel], lab[a:a + rows]
            starts = np.concatenate([[0], np.flatnonzero(lc[1:] != lc[:-1]) + 1])
            cls = lc[starts]                                      # distinct: the block is class-sorted
            D = Tc - P[:, None, :]
            per = np.stack([kc == w, (kc > 0) & (kc < w), np.sqrt(np.einsum("lni,lni->ln", D, D)),
                            np.einsum("lni,lni->ln", Tc, Tc)], dtype=float)           # (4, L, n)
            red = np.add.reduceat(per, starts, axis=2)                                 # (4, L, runs)
            for acc, r in zip((coll, part, dist, sq), (red[0], red[1], red[2], red[3]), strict=True):
                acc[:, cls] += r
            sums[:, cls] += np.add.reduceat(Tc, starts, axis=1)
        return out

    def record(self, step: int, loss: float, Ws: list[np.ndarray], bs: list[np.ndarray],
               W_out: np.ndarray, b_out: np.ndarray) -> SnapshotGeometry:
        """Snapshot the network given by per-layer float64 parameters ``Ws[l]: (M_l, M_{l-1})``, ``bs[l]``,
        ``W_out: (K, M_L)``, ``b_out: (K,)``. Returns what was computed."""
        X, M = self.X, self.X.shape[1]
        step = int(step)
        widths = [int(np.shape(W)[0]) for W in Ws]
        check_hidden_layers(widths)
        if self.widths is None:
            if np.shape(Ws[0])[1] != M:
                raise GeomdlError(f"the network's first layer takes {np.shape(Ws[0])[1]} inputs, the data have {M}")
            self.widths, self.out_dim = widths, int(np.shape(W_out)[0])
        elif widths != self.widths or int(np.shape(W_out)[0]) != self.out_dim:
            raise GeomdlError(f"snapshot at step {step}: widths {widths} with {np.shape(W_out)[0]} outputs, earlier "
                              f"snapshots {self.widths} with {self.out_dim}")
        if step < 0:
            raise GeomdlError(f"snapshot steps must be >= 0 (got {step})")
        if self.steps and step <= self.steps[-1]:
            raise GeomdlError(f"snapshot steps must increase (step {step} after {self.steps[-1]})")
        L, wmax = len(widths), max(M, *widths)
        chain = SolvedChain.from_layers(Ws, bs, device=self.device)
        cr = chain.truncate(X)                                      # blocks of points: linear in N
        out = cr.hidden[-1] @ np.asarray(W_out, dtype=float).T
        out += np.asarray(b_out, dtype=float)
        T, k = cr.T, cr.K                                           # (L, N, M), (L, N)
        P = chain.base_points()                                     # (L, M)
        sizes = self.class_sizes
        coll, part, dist, sums, sq = self._class_stats(T, k, P, np.array(widths)[:, None])
        collapsed, partial = coll / sizes, part / sizes             # counts / class sizes
        dist = dist / sizes / np.maximum(self.class_spread, 1e-300)
        means = sums / sizes[None, :, None]
        wvar = np.maximum(sq / sizes - (means ** 2).sum(axis=2), 0.0) / np.maximum(self.class_var, 1e-300)
        scale = np.array([float(h.max()) if h.size else 0.0 for h in cr.hidden])   # x^(l) >= 0: its max is |x|'s
        svals = [ly.svals for ly in chain.layers]
        kdt = np.int8 if wmax <= 127 else np.int16 if wmax <= 32767 else np.int32
        bulk = np.float32 if self.store == "float32" else np.float64
        b_pad = np.full((L, wmax), np.nan)
        for l, ly in enumerate(chain.layers):
            b_pad[l, : ly.width] = ly.b
        row: dict[str, np.ndarray] = {"b_cum": b_pad, "base_points": P}
        mean, comps = self.pca_mean, self.pca_components
        if self.projected:
            E = np.full((L, wmax, comps.shape[0]), np.nan)
            for l, ly in enumerate(chain.layers):
                E[l, : ly.width] = ly.project_edges(comps)
            row.update(truncated_proj=projection.project(T, mean, comps).astype(bulk, copy=False),
                       base_points_proj=projection.project(P, mean, comps), edges_proj=E)
        else:
            W_pad = np.full((L, wmax, M), np.nan)
            E_pad = np.full((L, M, wmax), np.nan)
            for l, ly in enumerate(chain.layers):
                W_pad[l, : ly.width] = ly.W
                E_pad[l, :, : ly.width] = ly.edges()
            row.update(W_cum=W_pad, edges=E_pad, truncated=T.astype(bulk, copy=False))
        row.update(
            outputs=out.astype(bulk, copy=False), k_trunc=k.astype(kdt), collapsed_frac=collapsed, partial_frac=partial,
            dist_to_base=dist, within_var=wvar, residual=cr.residual, rank=chain.ranks,
            smin=np.array([s[-1] if s.size else np.nan for s in svals]),
            smax=np.array([s[0] if s.size else np.nan for s in svals]),
            act_scale=scale, residual_active=cr.residual_active,
        )
        if self.layer_view:
            row["hidden_proj"] = self._layer_view(cr.hidden).astype(bulk, copy=False)
        self._spool.append(row)
        self.steps.append(step)
        self.losses.append(float(loss))
        self.health_rows.append({"step": step, "loss": float(loss), "finite": bool(np.isfinite(out).all()),
                                 "dead": [l for l in range(L) if scale[l] == 0.0]})
        return SnapshotGeometry(step, float(loss), chain, cr, out, row)

    def _layer_view(self, hidden: list[np.ndarray]) -> np.ndarray:
        """``x^(l)`` projected by the PCA of each layer's first-snapshot activations: ``(L, N, 3)``
        (docs/math.md §2.4b)."""
        wmax = max(self.X.shape[1], *(h.shape[1] for h in hidden))
        if self._layer_pca is None:
            means = np.full((len(hidden), wmax), np.nan)
            comps = np.full((len(hidden), 3, wmax), np.nan)
            for l, h in enumerate(hidden):
                m, c = projection.fit_pca(np.nan_to_num(h), 3) if h.shape[1] > 3 else (np.zeros(h.shape[1]),
                                                                                       np.eye(3, h.shape[1]))
                means[l, : h.shape[1]], comps[l, :, : h.shape[1]] = m, c
            self._layer_pca = (means, comps)
        means, comps = self._layer_pca
        return np.stack([(h - means[l, : h.shape[1]]) @ comps[l, :, : h.shape[1]].T for l, h in enumerate(hidden)])

    # ------------------------------------------------------------------------------------------ results
    def __len__(self) -> int:
        return len(self.steps)

    @property
    def last_step(self) -> int | None:
        return self.steps[-1] if self.steps else None

    def _fixed_arrays(self) -> dict[str, np.ndarray]:
        out = {"steps": np.array(self.steps, dtype=np.int64), "loss": np.array(self.losses, dtype=np.float64)}
        if self._layer_pca is not None:
            out["hidden_pca_mean"], out["hidden_pca_components"] = self._layer_pca
        return out

    def arrays(self) -> dict[str, np.ndarray]:
        """Every recorded array stacked over the snapshots (read back from the spool)."""
        out = {k: self._spool.read(k) for k in self._spool.meta}
        out["rank"] = out["rank"].astype(np.int64)
        out.update(self._fixed_arrays())
        return out

    def data_arrays(self) -> dict[str, np.ndarray]:
        """``X``, ``labels`` and the trace's PCA (see :func:`data_arrays`)."""
        return {"X": self.X, "labels": self.labels, "pca_mean": self.pca_mean, "pca_components": self.pca_components}

    def picture(self) -> dict:
        """How exact the input-space picture is: the largest residual over the points a layer does not collapse
        (collapsed points sit exactly at the base point at any width), relative to ``max(1, |x^(l)|)``, per layer
        over the snapshots, and the layers where it is approximate (docs/math.md §2.4, 2.4b)."""
        res = self._spool.read("residual_active")      # collapse is exact at any width: judge the other points
        scale = np.maximum(1.0, self._spool.read("act_scale"))
        rel = np.nanmax(np.where(np.isfinite(res), res / scale, np.nan), axis=0) if len(self) else np.zeros(0)
        approx = [int(l) + 1 for l in np.flatnonzero(~(rel <= RESIDUAL_RTOL))] if len(self) else []
        finite = res[np.isfinite(res)]
        return {"exact": not approx, "max_residual": float(finite.max()) if finite.size else float("nan"),
                "relative_residual": [float(v) for v in rel], "approximate_layers": approx,
                "rank": [int(r) for r in self._spool.read("rank")[-1]] if len(self) else []}

    def health(self) -> tuple[str, str, list[str]]:
        """``(stop_reason, message, warnings)`` of the recorded run: ``diverged`` (non-finite loss or outputs),
        ``dead`` (at the last snapshot some hidden layer is zero on every point), ``degenerate``
        (:func:`geomdl.nn.health.degenerate_reason` on the last snapshot's outputs: fewer distinct output clusters
        than classes, or accuracy below the first snapshot's), else ``recorded``."""
        warnings = []
        for r in self.health_rows:
            if not r["finite"] or not (np.isnan(r["loss"]) or np.isfinite(r["loss"])):
                msg = f"diverged network: non-finite loss or outputs at step {r['step']}"
                return "diverged", msg, [msg]
        last = self.health_rows[-1] if self.health_rows else None
        if last and last["dead"]:
            l = last["dead"][0]
            msg = (f"dead network at step {last['step']}: every point is collapsed in hidden layer {l + 1} "
                   "(constant output, no gradient reaches the earlier layers)")
            return "dead", msg, [f"dead network: hidden layer {l + 1} is zero on every point at step {last['step']}"]
        verdict = self.health_summary()
        if verdict is not None and verdict["reason"]:
            msg = f"{verdict['reason']} at step {self.steps[-1]}"
            return "degenerate", msg, [msg]
        dead_before = [r for r in self.health_rows if r["dead"]]
        if dead_before:
            warnings.append(f"hidden layer {dead_before[0]['dead'][0] + 1} was dead (zero on every point) at step "
                            f"{dead_before[0]['step']}")
        return "recorded", f"{len(self)} snapshots recorded", warnings

    def health_summary(self) -> dict | None:
        """The degenerate-run verdict (:mod:`geomdl.nn.health`) on the outputs of the classes (output ``j`` is class
        ``j``): ``reason`` (``None`` = healthy) and :func:`geomdl.nn.health.summary`; ``None`` when the network has
        fewer outputs than classes (no verdict)."""
        from geomdl.nn import health  # noqa: PLC0415

        if not len(self) or self.out_dim < self.q:
            return None
        first = self._spool.read_row("outputs", 0)[:, : self.q].astype(float)
        final = self._spool.read_row("outputs", -1)[:, : self.q].astype(float)
        if not (np.isfinite(first).all() and np.isfinite(final).all()):
            return None                                            # diverged: reported as such
        acc0 = health.accuracy(first, self.labels) if len(self) > 1 else None
        return {"reason": health.degenerate_reason(final, self.labels, self.q, acc0),
                **health.summary(final, self.labels, acc0)}

    def meta(self, title: str | None = None, notes: list[str] | str | None = None, loss: str | None = None,
             source: str | None = None, extra: dict | None = None) -> dict:
        """The trace header of a ``network`` trace: everything in it comes from what was recorded."""
        from geomdl.io.trace import SCHEMA, now_iso, package_versions  # noqa: PLC0415

        if not len(self):
            raise GeomdlError("no snapshots recorded: call snapshot(step, loss) at least once before save()")
        user_notes = [notes] if isinstance(notes, str) else list(notes or [])
        reason, message, warnings = self.health()
        pic = self.picture()
        N, M = self.X.shape
        notes_out = list(warnings)
        if not pic["exact"]:
            notes_out.append(f"representation residual up to {pic['max_residual']:.2g} at layers "
                             f"{', '.join(map(str, pic['approximate_layers']))}: the input-space truncation picture "
                             "is approximate there (the activations leave the image of W^(l)); the layer-space "
                             "view is exact")
        views = [("input space, approximate" if l + 1 in pic["approximate_layers"] else "input space, exact")
                 for l in range(len(self.widths))]
        config = {"title": title, "widths": self.widths, "M": M, "N": N, "Q": self.q, "output_dim": self.out_dim,
                  "snapshots": len(self), "first_step": self.steps[0], "last_step": self.steps[-1],
                  "store": self.store, "projected": self.projected, "source": source or self.source}
        meta = {
            "schema": SCHEMA, "kind": KIND, "created": now_iso(), "config": config, "seed": None,
            "versions": package_versions(), "Q": self.q, "M": M, "widths": list(self.widths),
            "output_dim": self.out_dim, "loss": loss or "not given", "stop_reason": reason, "stop_message": message,
            "final_step": self.steps[-1], "notes": notes_out + user_notes, "user_notes": user_notes,
            "warnings": warnings, "title": title, "source": source or self.source, "projected": self.projected,
            "dataset": "network", "picture": pic, "views": views,
            "health": None if reason == "diverged" else self.health_summary(),
            "layer_view": ("x^(l) projected by a PCA fitted once per layer on the first snapshot's activations "
                           "(exact at any width)") if self.layer_view else None,
        }
        meta.update(extra or {})
        return meta

    def trace(self, **meta_kw):
        """The recorded run as an in-memory :class:`~geomdl.io.trace.Trace` of kind ``network`` (``meta_kw`` as
        :meth:`meta`); :meth:`save` writes the same without holding it in memory."""
        from geomdl.io.trace import Trace  # noqa: PLC0415

        arrays = self.arrays()
        arrays.update(self.data_arrays())
        tr = Trace(meta=self.meta(**meta_kw), arrays=arrays)
        tr.validate()
        return tr

    def save(self, path: str | Path, title: str | None = None, notes: list[str] | str | None = None,
             loss: str | None = None, source: str | None = None, extra: dict | None = None) -> Path:
        """Write the trace (kind ``network``) to ``path`` (``.npz`` added when missing), atomically, streaming the
        snapshots from disk. ``title`` and ``notes`` go on the clip's title card. Returns the path."""
        import json  # noqa: PLC0415

        from geomdl.io.atomic import atomic_path  # noqa: PLC0415
        from geomdl.io.trace import Trace  # noqa: PLC0415

        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        meta = self.meta(title=title, notes=notes, loss=loss, source=source, extra=extra)
        self.saved_meta = meta
        fixed = {**self.data_arrays(), **self._fixed_arrays()}
        # validate the header and shapes before writing anything (zero-strided stand-ins, no memory)
        shapes = {k: np.broadcast_to(np.zeros((), dt), self._spool.shape(k)) for k, (_, dt) in self._spool.meta.items()}
        Trace(meta=meta, arrays={**shapes, **fixed}).validate(str(path))
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
            with zf.open("meta.npy", "w") as fh:
                np.lib.format.write_array(fh, np.array(json.dumps(meta, sort_keys=True)))
            for k, v in fixed.items():
                with zf.open(f"{k}.npy", "w", force_zip64=True) as fh:
                    np.lib.format.write_array(fh, np.ascontiguousarray(v), allow_pickle=False)
            for k in self._spool.meta:
                with zf.open(f"{k}.npy", "w", force_zip64=True) as fh:
                    self._spool.stream_npy(k, fh)
        return path

    def close(self) -> None:
        """Remove the snapshot spool (also done when the recorder is garbage-collected)."""
        self._spool.close()


def network_stem(meta: dict) -> str:
    """The run part of a ``network`` trace's output file names, from its facts: ``<title>_w100-50_n300_q3``."""
    import re  # noqa: PLC0415

    title = re.sub(r"[^A-Za-z0-9]+", "-", str(meta.get("title") or "network")).strip("-").lower()[:40] or "network"
    widths = "-".join(str(w) for w in meta.get("widths", []))
    N = (meta.get("config") or {}).get("N", "")
    return f"{title}_w{widths}_n{N}_q{meta.get('Q', '')}"


def data_arrays(X: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """The trace's data arrays: ``X: (N, M)``, ``labels: (N,)`` and the fixed PCA of ``X`` to ``R^3``
    (``pca_mean: (M,)``, ``pca_components: (3, M)``) that every renderer uses for ``M > 3``."""
    mean, comps = projection.fit_pca(X, 3)
    return {"X": X, "labels": np.asarray(labels), "pca_mean": mean, "pca_components": comps}


def residual_notes(arrays: dict[str, np.ndarray], tol: float = 1e-6, why: str = "") -> list[str]:
    """A trace note when the representation residual (math.md §2.4) exceeds ``tol``: the picture is then approximate."""
    res = arrays.get("residual")
    bad = float(np.nanmax(res)) if res is not None and res.size else 0.0
    if bad > tol:
        return [f"representation residual up to {bad:.2g}{why}: the truncation picture is approximate"]
    return []
