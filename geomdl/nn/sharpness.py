"""Sharpness: the largest Hessian eigenvalue of the training loss at the current parameters.

Full-batch GD with step ``lr`` on a loss whose Hessian has top eigenvalue ``lambda_max`` is stable near a
point only when ``lr < 2 / lambda_max`` (on a quadratic, the error along the top eigenvector is multiplied by
``1 - lr lambda_max`` per step). Experiments that pick their step size from the start use
:func:`stable_lr`.
"""

from __future__ import annotations

import numpy as np
import torch

from geomdl.errors import GeomdlError
from geomdl.nn.losses import loss_fn


def top_hessian_eigenvalue(model: torch.nn.Module, X: np.ndarray, labels: np.ndarray, loss: str,
                           iters: int = 200, rtol: float = 1e-6, seed: int = 0) -> float:
    """``lambda_max`` of the Hessian of ``loss`` (full batch, ``X: (N, M)``, ``labels: (N,)``) with respect to
    every parameter of ``model``, by power iteration on Hessian-vector products (double backward).

    Power iteration converges to the eigenvalue of largest magnitude; its absolute value is returned (near a
    minimum the Hessian's large eigenvalues are positive). Stops when the Rayleigh quotient changes by less than
    ``rtol`` (relative) or after ``iters`` products. The start vector comes from a generator seeded with
    ``seed``: deterministic on CPU.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    p0 = params[0]
    Xt = torch.as_tensor(X, dtype=p0.dtype, device=p0.device)
    yt = torch.as_tensor(labels, dtype=torch.int64, device=p0.device)
    q = model.out.out_features
    value = loss_fn(loss, model(Xt), yt, q)
    grads = torch.autograd.grad(value, params, create_graph=True)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    v = [torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device) for p in params]
    lam = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((x * x).sum() for x in v))
        if not torch.isfinite(norm) or norm == 0:
            break
        v = [x / norm for x in v]
        hv = torch.autograd.grad(grads, params, v, retain_graph=True)
        new = float(sum((a * b).sum() for a, b in zip(hv, v, strict=True)).detach())
        v = [h.detach() for h in hv]
        done = abs(new - lam) <= rtol * abs(new)
        lam = new
        if done:
            break
    if not np.isfinite(lam):
        raise GeomdlError("the loss's Hessian is not finite at the start: cannot choose a stable step size")
    return abs(lam)


def stable_lr(sharpness: float, scale: float) -> float:
    """``scale / sharpness`` rounded to 3 significant digits (so that the value, and the run, does not hinge on
    the last bits of the eigenvalue); ``scale < 2`` is inside GD's stability bound ``2 / sharpness``."""
    if not (np.isfinite(sharpness) and sharpness > 0):
        raise GeomdlError(f"cannot choose a step size from a sharpness of {sharpness}")
    return float(f"{scale / sharpness:.3g}")
