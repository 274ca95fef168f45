"""The Linear layers of a user's PyTorch ReLU MLP, checked: ``nn.Sequential`` of Linear/ReLU, a module that lists
its Linear layers (e.g. a ``ModuleList`` applied with ``torch.relu``), or a TorchScript module of either.

Every other layer type (Conv, Tanh, BatchNorm, Dropout, ...) is a one-line :class:`GeomdlError` naming it: the
geometry of docs/math.md §2 is that of affine layers with ReLU between them, nothing else.
"""

from __future__ import annotations

import numpy as np

from geomdl.errors import GeomdlError

ALLOWED = ("Linear", "ReLU")


def type_name(mod) -> str:
    """``Linear``, ``ReLU``, ``Conv2d``...: the class name, also for TorchScript modules (``original_name``)."""
    name = getattr(mod, "original_name", None)
    return str(name) if name else type(mod).__name__


def leaves(model) -> list[tuple[str, object]]:
    """``(qualified name, module)`` of every module without children, in registration order."""
    out = [(n, m) for n, m in model.named_modules() if not any(True for _ in m.children())]
    if not out or (len(out) == 1 and out[0][1] is model and type_name(model) not in ALLOWED):
        raise GeomdlError(f"{type_name(model)} has no Linear layers; geomdl records an nn.Sequential of Linear "
                          "and ReLU (or a module that lists its Linear layers)")
    return out


def linear_layers(model) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Weights ``(M_l, M_{l-1})`` and biases ``(M_l,)`` of every Linear layer, float64, in order.

    ``nn.Sequential``: the layers must alternate Linear, ReLU, ..., Linear (at least one hidden layer). Other
    modules: only Linear and ReLU leaves are allowed; the Linear layers in registration order are the network
    (the last one the output layer), with ReLU assumed between them; :func:`check_outputs` then verifies that
    claim against the module's own forward pass.
    """
    lv = leaves(model)
    for name, m in lv:
        t = type_name(m)
        if t not in ALLOWED:
            raise GeomdlError(f"layer {name or '(model)'} is {t}: geomdl records ReLU MLPs (Linear and ReLU layers "
                              "only)")
    lin = [m for _, m in lv if type_name(m) == "Linear"]
    if type_name(model) == "Sequential":
        kinds = [type_name(m) for _, m in lv]
        want = ["Linear" if i % 2 == 0 else "ReLU" for i in range(len(kinds))]
        if kinds != want or kinds[-1] != "Linear":
            raise GeomdlError(f"nn.Sequential layers {kinds} do not alternate Linear, ReLU, ..., Linear")
    if len(lin) < 2:
        raise GeomdlError(f"need at least one hidden layer and an output layer (found {len(lin)} Linear layer)")
    Ws, bs = [], []
    for i, m in enumerate(lin):
        W = _array(m.weight)
        b = _array(m.bias) if getattr(m, "bias", None) is not None else np.zeros(W.shape[0])
        if i and W.shape[1] != Ws[-1].shape[0]:
            raise GeomdlError(f"Linear layer {i + 1} takes {W.shape[1]} inputs but layer {i} gives "
                              f"{Ws[-1].shape[0]}")
        Ws.append(W)
        bs.append(b)
    return Ws, bs


def _array(t) -> np.ndarray:
    import torch  # noqa: PLC0415

    return t.detach().cpu().to(torch.float64).numpy()


def forward(X: np.ndarray, Ws: list[np.ndarray], bs: list[np.ndarray]) -> np.ndarray:
    """The ReLU MLP's outputs ``(N, K)`` in float64 (ReLU after every layer but the last)."""
    h = np.asarray(X, dtype=float)
    for W, b in zip(Ws[:-1], bs[:-1], strict=True):
        h = np.maximum(h @ W.T + b, 0.0)
    return h @ Ws[-1].T + bs[-1]


def check_outputs(model, X: np.ndarray, Ws: list[np.ndarray], bs: list[np.ndarray], n: int = 256) -> None:
    """The module's own outputs on (up to ``n`` of) the points ``X`` must equal the Linear/ReLU chain's.

    Catches a forward pass that is not that chain (a functional ``tanh``, a skip connection, layers applied
    in another order). Tolerance: ``1e-3`` of the outputs' scale for float32 models, ``1e-9`` for float64.
    """
    import torch  # noqa: PLC0415

    try:
        p = next(iter(model.parameters()))
        dt, dev = p.dtype, p.device
    except StopIteration:  # pragma: no cover - linear_layers found parameters
        dt, dev = torch.float32, "cpu"
    Xs = np.asarray(X[:n], dtype=float)
    try:
        with torch.no_grad():
            got = model(torch.as_tensor(Xs, dtype=dt, device=dev))
    except Exception as e:  # noqa: BLE001 - the user's forward: report it in one line
        raise GeomdlError(f"the model's forward pass failed on the data: {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}") from None
    got = got.detach().cpu().to(torch.float64).numpy() if hasattr(got, "detach") else np.asarray(got)
    want = forward(Xs, Ws, bs)
    if got.shape != want.shape:
        raise GeomdlError(f"the model's outputs have shape {got.shape}, its Linear/ReLU chain gives {want.shape}: "
                          "its forward pass is not a ReLU MLP of its Linear layers")
    tol = (1e-3 if dt != torch.float64 else 1e-9) * max(1.0, float(np.abs(want).max()))
    err = float(np.abs(got - want).max()) if got.size else 0.0
    if not err <= tol:
        raise GeomdlError(f"the model's outputs differ from a ReLU chain of its Linear layers by {err:.3g} "
                          f"(> {tol:.1g}): its forward pass uses something else (another activation, a skip "
                          "connection, another layer order)")
