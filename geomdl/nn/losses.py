"""Training costs on the outputs (docs/math.md §1). ``out: (N, Q)`` tensor, ``labels: (N,)`` int64.

- ``mse``: ``(1/2N) sum_r |x_r - y_{w(r)}|^2`` (the plain MSE of arXiv 2408.01517);
- ``wmse``: CE23/CE24's weighted cost ``sum_j (1/N_j) sum_i |x_{j,i} - y_j|^2``;
- ``ce``: cross-entropy of the softmax of the outputs (mean over points).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from geomdl.checks import choice_error
from geomdl.nn.train_config import LOSSES


def loss_fn(kind: str, out: torch.Tensor, labels: torch.Tensor, q: int) -> torch.Tensor:
    if kind == "ce":
        return F.cross_entropy(out, labels)
    y = F.one_hot(labels, q).to(out.dtype)
    sq = ((out - y) ** 2).sum(dim=1)
    if kind == "mse":
        return 0.5 * sq.mean()
    if kind == "wmse":
        counts = torch.bincount(labels, minlength=q).to(out.dtype)
        return (sq / counts[labels]).sum()
    raise choice_error(kind, LOSSES, "loss")
