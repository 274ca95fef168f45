"""The Jacobian ``D = dx/dtheta`` of all network outputs with respect to all parameters (docs/math.md §8).

Notation (arXiv 2408.01517): ``theta in R^K`` lists every weight and bias of the network in the order of
``model.named_parameters()`` (each tensor flattened row-major); the outputs of the ``N`` points are stacked
point by point, ``x = (x_1^T, ..., x_N^T)^T in R^{QN}`` (row ``r * Q + q`` of ``D`` is output ``q`` of point
``r``), so ``D: (QN, K)`` and ``D[r*Q + q, k] = d x_{r,q} / d theta_k``.

``D`` is computed with ``torch.func``: the network is called functionally (``functional_call``) on parameters
unflattened from one vector ``theta``, and ``jacrev`` (vmap of vector-Jacobian products, one per output row:
the cheap direction when ``K >= QN``, the overparametrized case) or ``jacfwd`` (vmap of Jacobian-vector
products, one per parameter: cheaper when ``K < QN``) differentiates it. ``method="auto"`` picks by shape.

Rank bound worth knowing (used to pick the flows' defaults): inside one linear region of a ReLU network (fixed
activation pattern) every entry of ``D_r = dx_r/dtheta`` is an affine function of the input ``x_r in R^M``, so
the rows of the points sharing a region span at most ``Q (M + 1)`` dimensions:
``rank D <= Q * sum_regions min(n_region, M + 1)``. Low-dimensional, tightly clustered inputs (``M = 3``) with
narrow layers therefore give a rank-deficient ``D`` even when ``K >> QN``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jacfwd, jacrev, vjp

from geomdl.errors import GeomdlError, UsageError

METHODS = ("auto", "rev", "fwd")


@dataclass(frozen=True)
class ParamLayout:
    """Where each parameter tensor sits in the flat vector ``theta``: names, shapes, and start offsets."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    offsets: tuple[int, ...]
    size: int

    @classmethod
    def of(cls, model: nn.Module) -> ParamLayout:
        names, shapes, offsets, k = [], [], [], 0
        for name, p in model.named_parameters():
            names.append(name)
            shapes.append(tuple(p.shape))
            offsets.append(k)
            k += p.numel()
        if k == 0:
            raise GeomdlError("the model has no parameters to differentiate")
        return cls(tuple(names), tuple(shapes), tuple(offsets), k)

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        """``theta: (K,)`` -> ``{name: view of theta with the parameter's shape}``."""
        out = {}
        for name, shape, start in zip(self.names, self.shapes, self.offsets, strict=True):
            n = int(np.prod(shape)) if shape else 1
            out[name] = theta[start:start + n].view(shape)
        return out

    def block(self, name: str) -> slice:
        """The columns of ``D`` (entries of ``theta``) belonging to parameter ``name``."""
        i = self.names.index(name)
        n = int(np.prod(self.shapes[i])) if self.shapes[i] else 1
        return slice(self.offsets[i], self.offsets[i] + n)


def flat_params(model: nn.Module) -> torch.Tensor:
    """All parameters as one detached vector ``theta: (K,)`` (order of ``named_parameters``)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def output_map(model: nn.Module, X: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``theta: (K,) -> x[theta]: (QN,)``, the stacked outputs of the model on ``X: (N, M)`` (pure function)."""
    layout = ParamLayout.of(model)

    def f(theta: torch.Tensor) -> torch.Tensor:
        return functional_call(model, layout.unflatten(theta), (X,)).reshape(-1)

    return f


def jacobian(model: nn.Module, X: torch.Tensor, theta: torch.Tensor | None = None,
             method: str = "auto") -> torch.Tensor:
    """``D = dx/dtheta: (QN, K)`` of ``model`` on ``X: (N, M)`` at ``theta: (K,)`` (default: its parameters).

    ``method``: ``rev`` (``jacrev``), ``fwd`` (``jacfwd``), ``auto`` (``rev`` when ``K >= QN``, else ``fwd``).
    At a ReLU kink (a pre-activation exactly 0) the derivative taken is PyTorch's: ``relu'(0) = 0``.
    """
    if method not in METHODS:
        raise UsageError(f"unknown Jacobian method {method!r}; known: {', '.join(METHODS)}")
    theta = flat_params(model) if theta is None else theta.detach()
    f = output_map(model, X)
    if method == "auto":
        n_out = X.shape[0] * _out_features(model, X)
        method = "rev" if theta.numel() >= n_out else "fwd"
    return (jacrev if method == "rev" else jacfwd)(f)(theta)


def outputs_and_vjp(model: nn.Module, X: torch.Tensor, theta: torch.Tensor
                    ) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """``x[theta]: (QN,)`` and the map ``u: (QN,) -> D^T u: (K,)`` (one backward pass; no ``D`` formed)."""
    x, pull = vjp(output_map(model, X), theta.detach())
    return x, lambda u: pull(u)[0]


def _out_features(model: nn.Module, X: torch.Tensor) -> int:
    out = getattr(model, "out", None)
    if isinstance(out, nn.Linear):
        return out.out_features
    with torch.no_grad():
        return int(model(X[:1]).shape[-1])
