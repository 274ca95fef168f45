"""The torch ReLU MLP: ``L`` hidden ReLU layers and an affine output layer (docs/math.md §1)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from geomdl.checks import (  # noqa: F401 (DEVICES re-exported)
    DEVICES,
    DTYPE_NAMES,
    check_device,
    check_dtype,
    check_hidden_layers,
    check_positive_widths,
)
from geomdl.errors import GeomdlError

DTYPES = {"float32": torch.float32, "float64": torch.float64}
assert tuple(DTYPES) == DTYPE_NAMES


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU is a clear error."""
    check_device(name)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise GeomdlError("--device cuda asked for, but torch sees no CUDA GPU here (use --device cpu or auto)")
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    check_dtype(name)
    return DTYPES[name]


class ReLUMLP(nn.Module):
    """``x^(l) = relu(W_l x^(l-1) + b_l)`` for ``l = 1..L``, then ``W_{L+1} x^(L) + b_{L+1}``.

    ``widths``: hidden widths ``M_1..M_L`` (docs/math.md §1: non-increasing, ``>= Q``; checked by :func:`check_widths`).
    """

    def __init__(self, in_dim: int, widths: list[int], out_dim: int):
        super().__init__()
        dims = [in_dim, *widths]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=False))
        self.out = nn.Linear(dims[-1], out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.hidden:
            x = torch.relu(layer(x))
        return self.out(x)

    def forward_all(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Hidden activations ``[x^(1)..x^(L)]`` and the outputs."""
        hs = []
        for layer in self.hidden:
            x = torch.relu(layer(x))
            hs.append(x)
        return hs, self.out(x)

    def layer_arrays(self) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
        """Per-layer parameters as float64 numpy: hidden ``Ws, bs`` and output ``W_out, b_out``."""
        def a(t: torch.Tensor) -> np.ndarray:
            return t.detach().cpu().to(torch.float64).numpy()
        return ([a(m.weight) for m in self.hidden], [a(m.bias) for m in self.hidden],
                a(self.out.weight), a(self.out.bias))

    @torch.no_grad()
    def load_arrays(self, Ws: list[np.ndarray], bs: list[np.ndarray], W_out: np.ndarray, b_out: np.ndarray) -> None:
        """Copy per-layer numpy parameters into the model (shapes must match)."""
        mods = [*self.hidden, self.out]
        for mod, W, b in zip(mods, [*Ws, W_out], [*bs, b_out], strict=True):
            if tuple(mod.weight.shape) != W.shape or tuple(mod.bias.shape) != b.shape:
                raise GeomdlError(f"parameter shape {W.shape} does not fit layer {tuple(mod.weight.shape)}")
            mod.weight.copy_(torch.as_tensor(W))
            mod.bias.copy_(torch.as_tensor(b))


def check_widths(in_dim: int, widths: list[int], q: int, allow_wide: bool = False) -> None:
    """docs/math.md §1: ``M >= M_1 >= ... >= M_L >= Q``; wider layers make the picture approximate, so refuse them here
    unless ``allow_wide`` (a user's own data: any positive widths, the recorder says how exact the picture is)."""
    check_hidden_layers(widths)
    if allow_wide:
        check_positive_widths(widths)
        return
    chain = [in_dim, *widths]
    if any(b > a for a, b in zip(chain[:-1], chain[1:], strict=False)):
        raise GeomdlError(f"hidden widths must be non-increasing from the input dimension: {chain}")
    if widths[-1] < q:
        raise GeomdlError(f"the last hidden width {widths[-1]} must be >= Q={q}")


def build_model(in_dim: int, widths: list[int], q: int, dtype: str = "float64", device: str = "cpu",
                seed: int = 0, allow_wide: bool = False) -> ReLUMLP:
    """A seeded model on the resolved device and dtype (PyTorch's default init)."""
    check_widths(in_dim, widths, q, allow_wide)
    torch.manual_seed(seed)
    return ReLUMLP(in_dim, widths, q).to(device=resolve_device(device), dtype=resolve_dtype(dtype))
