"""Record a user's trained network from checkpoints (``geomdl record``): a trace of kind ``network``.

``--model`` is one checkpoint (a TorchScript file, or a ``state_dict`` of an ``nn.Sequential`` of Linear and
ReLU layers: the widths are read from the weight shapes) or a folder of checkpoints ``epoch_*.pt`` (one snapshot
each, in natural order: ``epoch_2`` before ``epoch_10``; the number is the snapshot's step). A checkpoint may
also be a dict holding the state dict under ``state_dict`` / ``model_state_dict`` / ``model``, with optional
``epoch`` / ``step`` and ``loss`` entries. Only ``torch.load(weights_only=True)`` is used: no pickled code runs.

Every bad input is a one-line :class:`GeomdlError` before anything is written; the trace is written atomically
at the end (:meth:`geomdl.io.recorder.Recorder.save`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np

from geomdl.data.user_data import check_data, load_data
from geomdl.errors import GeomdlError
from geomdl.io.recorder import Recorder
from geomdl.nn import modules

CHECKPOINT_GLOB = "epoch_*.pt"
STATE_KEYS = ("state_dict", "model_state_dict", "model")


def checkpoint_files(folder: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``epoch_<n>.pt`` in ``folder``, in natural order of ``n``."""
    found = []
    for p in folder.glob(CHECKPOINT_GLOB):
        m = re.fullmatch(r"epoch_(\d+)\.pt", p.name)
        if not m:
            raise GeomdlError(f"checkpoint {p.name} in {folder}: expected epoch_<number>.pt")
        found.append((int(m.group(1)), p))
    if not found:
        raise GeomdlError(f"folder {folder} holds no {CHECKPOINT_GLOB} checkpoints")
    found.sort()
    steps = [s for s, _ in found]
    if len(set(steps)) != len(steps):
        dup = next(s for s in steps if steps.count(s) > 1)
        raise GeomdlError(f"folder {folder} holds two checkpoints of epoch {dup}")
    return found


def _natural(key: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", key)]


def layers_from_state_dict(sd: dict, source: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights and biases of the Linear layers of a ``state_dict`` (``0.weight``, ``0.bias``, ``2.weight``...)."""
    import torch  # noqa: PLC0415

    groups: dict[str, dict[str, np.ndarray]] = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            raise GeomdlError(f"{source}: entry {k!r} is not a tensor; expected a state_dict of Linear layers")
        name, _, what = k.rpartition(".")
        if what not in ("weight", "bias"):
            raise GeomdlError(f"{source}: entry {k!r} is not a Linear layer's (BatchNorm or another layer type?): "
                              "geomdl records ReLU MLPs of Linear layers")
        groups.setdefault(name, {})[what] = v.detach().cpu().to(torch.float64).numpy()
    if not groups:
        raise GeomdlError(f"{source}: the state_dict is empty")
    names = list(groups)
    if all(re.fullmatch(r"(.*\.)?\d+", n) for n in names):    # nn.Sequential: order by index, step 2
        names.sort(key=_natural)
        idx = [int(n.rsplit(".", 1)[-1]) for n in names]
        if idx != list(range(idx[0], idx[0] + 2 * len(idx), 2)) or idx[0] != 0:
            raise GeomdlError(f"{source}: Linear layers at indices {idx} of the nn.Sequential; expected 0, 2, 4, ... "
                              "(Linear and ReLU alternating)")
    Ws, bs = [], []
    for n in names:
        g = groups[n]
        W = g.get("weight")
        if W is None or W.ndim != 2:
            shape = None if W is None else W.shape
            raise GeomdlError(f"{source}: layer {n!r} has weight shape {shape}: not a Linear layer (Conv, BatchNorm "
                              "or another layer type?); geomdl records ReLU MLPs")
        b = g.get("bias", np.zeros(W.shape[0]))
        if b.shape != (W.shape[0],):
            raise GeomdlError(f"{source}: layer {n!r} bias has shape {b.shape}, expected ({W.shape[0]},)")
        if Ws and W.shape[1] != Ws[-1].shape[0]:
            raise GeomdlError(f"{source}: layer {n!r} takes {W.shape[1]} inputs, the layer before gives "
                              f"{Ws[-1].shape[0]}")
        Ws.append(W)
        bs.append(b)
    if len(Ws) < 2:
        raise GeomdlError(f"{source}: need at least one hidden layer and an output layer (found {len(Ws)} Linear)")
    return Ws, bs


def load_checkpoint(path: Path) -> dict:
    """``{"Ws", "bs", "loss", "step", "module"}`` of one checkpoint (TorchScript or state_dict)."""
    import torch  # noqa: PLC0415

    if not path.exists():
        raise GeomdlError(f"model file {path} does not exist")
    try:
        with warnings.catch_warnings():     # torch >= 2.5 deprecates TorchScript loading; still the format users have
            warnings.simplefilter("ignore", DeprecationWarning)
            mod = torch.jit.load(str(path), map_location="cpu")
    except Exception:  # noqa: BLE001 - not TorchScript: try a state_dict next
        mod = None
    if mod is not None:
        Ws, bs = modules.linear_layers(mod)
        return {"Ws": Ws, "bs": bs, "loss": None, "step": None, "module": mod}
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - one line whatever torch says
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e)).strip()
        if "Weights only load failed" in text or "Unsupported global" in text:
            raise GeomdlError(f"{path} holds pickled Python objects (a whole nn.Module?), which geomdl does not "
                              "unpickle; save model.state_dict() or torch.jit.script(model) instead") from None
        first = text.splitlines()[0] if text else type(e).__name__
        raise GeomdlError(f"cannot read {path} as a TorchScript file or a state_dict: {first[:160]}") from None
    loss = step = None
    if isinstance(obj, dict):
        inner = next((obj[k] for k in STATE_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is not None:
            loss, step = obj.get("loss"), obj.get("step", obj.get("epoch"))
            obj = inner
    if not isinstance(obj, dict):
        raise GeomdlError(f"{path} holds a {type(obj).__name__}, not a state_dict or TorchScript module")
    Ws, bs = layers_from_state_dict(obj, str(path))
    loss = float(loss) if isinstance(loss, int | float) or hasattr(loss, "item") else None
    return {"Ws": Ws, "bs": bs, "loss": loss, "step": step, "module": None}


def _shapes(Ws) -> list[tuple[int, int]]:
    return [tuple(W.shape) for W in Ws]


def record(model: str | Path, data: str | Path, trace: str | Path, title: str | None = None,
           notes: list[str] | None = None, store: str = "float64", project: bool | None = None,
           progress: Callable[[int, int], None] | None = None) -> tuple[Path, dict]:
    """Record the checkpoint(s) ``model`` on the data file ``data`` into the trace ``trace``; returns
    ``(path, meta)``. Nothing is written unless every checkpoint loads and fits the data."""
    model, trace = Path(model), Path(trace)
    X, y = load_data(data)
    if model.is_dir():
        files = checkpoint_files(model)
        first = load_checkpoint(files[0][1])
        source = f"{len(files)} checkpoints in {model.name}/ (epoch_*.pt)"
    else:
        files = [(0, model)]
        first = load_checkpoint(model)
        source = f"checkpoint {model.name}"
    X, y, q = check_data(X, y, in_dim=first["Ws"][0].shape[1], source=str(data))
    if first["module"] is not None:
        modules.check_outputs(first["module"], X, first["Ws"], first["bs"])
    rec = Recorder(X, y, q, project=project, store=store, layer_view=True)
    ref = _shapes(first["Ws"])
    try:
        for i, (step, path) in enumerate(files):
            ck = first if i == 0 else load_checkpoint(path)
            if _shapes(ck["Ws"]) != ref:
                raise GeomdlError(f"checkpoint {path.name} does not match {files[0][1].name}: layer shapes "
                                  f"{_shapes(ck['Ws'])} vs {ref}")
            if len(files) == 1 and isinstance(ck["step"], int):
                step = ck["step"]
            loss = np.nan if ck["loss"] is None else ck["loss"]
            rec.record(step, loss, ck["Ws"][:-1], ck["bs"][:-1], ck["Ws"][-1], ck["bs"][-1])
            if progress is not None:
                progress(i + 1, len(files))
        extra = {"data_name": Path(data).name}
        path = rec.save(trace, title=title, notes=notes, source=source, extra=extra)
        return path, rec.saved_meta
    finally:
        rec.close()


def summary_line(path: Path, meta: dict) -> str:
    """``trace: PATH (N snapshots, widths [...], exact|approximate input-space picture ...)`` for a recorded trace."""
    pic = meta["picture"]
    n = meta["config"]["snapshots"]
    return (f"trace: {path}  ({n} snapshot{'s' if n != 1 else ''}, widths {meta['widths']}, "
            + ("exact input-space picture" if pic["exact"] else
               f"approximate input-space picture at layers {pic['approximate_layers']}, residual up to "
               f"{pic['max_residual']:.2g}") + ")")
