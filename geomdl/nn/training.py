"""Training with full-batch GD or mini-batch SGD, with stop rules and failure detection (docs/math.md §1).

Stop reasons (recorded in the trace): ``threshold`` (loss below ``loss_threshold``), ``stuck`` (relative loss
decrease below ``stuck_tol`` over ``patience`` steps), ``budget`` (``steps`` done), ``diverged`` (NaN/inf loss),
``dead`` (some hidden layer sends every point to zero: the whole data set is collapsed there, the output is
constant and no gradient reaches the earlier layers). ``diverged`` and ``dead`` are failures: the trace is kept
for inspection but renderers refuse it unless forced. The experiments add a third failure after training,
``degenerate`` (fewer distinct output clusters than classes, or accuracy below its start: :mod:`geomdl.nn.health`);
:data:`FAILURES` lists all three.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import torch

from geomdl.errors import GeomdlError
from geomdl.nn.losses import loss_fn
from geomdl.nn.model import ReLUMLP
from geomdl.nn.train_config import OPTIMIZERS, TrainConfig, TrainResult, check_training  # noqa: F401 (re-exported)

if TYPE_CHECKING:   # the recorder is passed in: the training loop does not depend on trace IO
    from geomdl.io.recorder import Recorder

@torch.no_grad()
def sgd_update(params: list[torch.Tensor], buffers: list, lr: float, momentum: float) -> None:
    """``p -= lr * v`` with ``v = momentum * v + grad`` (heavy ball; plain GD step when momentum is 0).

    The same update as ``torch.optim.SGD`` (no dampening, no Nesterov, no weight decay), written out because
    the first use of ``torch.optim`` imports ``torch._dynamo`` (~1.5 s of start-up per run).
    """
    for i, p in enumerate(params):
        g = p.grad
        if momentum:
            buffers[i] = g.clone() if buffers[i] is None else buffers[i].mul_(momentum).add_(g)
            g = buffers[i]
        p.add_(g, alpha=-lr)


def dead_layer(hidden: list[torch.Tensor]) -> int | None:
    """Index of the first hidden layer whose activations are zero for every point, else ``None``."""
    for l, h in enumerate(hidden):
        if not bool((h > 0).any()):
            return l
    return None


def train(model: ReLUMLP, X: np.ndarray, labels: np.ndarray, cfg: TrainConfig,
          snapshot_at: np.ndarray | None = None, recorder: Recorder | None = None,
          progress: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train ``model`` in place on ``X: (N, M)``, ``labels: (N,)``; snapshot at the steps ``snapshot_at``.

    The final state is always snapshotted (whatever the stop reason). ``progress(step, loss)`` is called
    every step. Deterministic for a given seed on CPU.
    """
    cfg.validate()
    p0 = next(model.parameters())
    dev, dt = p0.device, p0.dtype
    if dt.is_floating_point and cfg.lr > torch.finfo(dt).max:  # torch's SGD step would raise a RuntimeError
        raise GeomdlError(f"learning rate {cfg.lr:g} does not fit the model's dtype {dt} "
                          f"(max {torch.finfo(dt).max:g})")
    Xt = torch.as_tensor(X, dtype=dt, device=dev)
    yt = torch.as_tensor(labels, dtype=torch.int64, device=dev)
    q = model.out.out_features
    N = len(Xt)
    params = list(model.parameters())
    buffers: list[torch.Tensor | None] = [None] * len(params)
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    want = set(int(s) for s in (snapshot_at if snapshot_at is not None else []))
    history = np.empty(cfg.steps + 1)

    def full_pass() -> tuple[list[torch.Tensor], torch.Tensor]:
        hidden, out = model.forward_all(Xt)
        return hidden, loss_fn(cfg.loss, out, yt, q)

    def snap(step: int, loss: float) -> None:
        if recorder is not None and recorder.last_step != step:
            recorder.record(step, loss, *model.layer_arrays())

    step, reason, message = 0, "budget", ""
    while True:
        if cfg.optimizer == "gd":
            hidden, loss = full_pass()
        else:
            with torch.no_grad():
                hidden, loss = full_pass()
        lv = float(loss.detach())
        history[step] = lv
        if not np.isfinite(lv):
            reason, message = "diverged", f"loss became {lv} at step {step}; try a smaller learning rate"
            break
        if step in want:
            snap(step, lv)
        if progress is not None:
            progress(step, lv)
        dl = dead_layer(hidden)
        if dl is not None:
            reason = "dead"
            message = (f"dead network at step {step}: every point is collapsed in hidden layer {dl + 1} "
                       f"(constant output, loss stuck at {lv:.4g}); try a smaller learning rate")
            break
        if lv < cfg.loss_threshold:
            reason, message = "threshold", f"loss {lv:.3g} below the threshold {cfg.loss_threshold:g}"
            break
        if step >= cfg.patience:
            before = history[step - cfg.patience]
            if (before - lv) < cfg.stuck_tol * max(abs(before), 1e-300):
                reason = "stuck"
                message = f"loss decreased by less than {cfg.stuck_tol:g} (relative) over {cfg.patience} steps"
                break
        if step >= cfg.steps:
            reason, message = "budget", f"step budget {cfg.steps} reached"
            break
        for p in params:
            p.grad = None
        if cfg.optimizer == "sgd":
            idx = torch.randint(0, N, (min(cfg.batch_size, N),), generator=gen).to(dev)
            loss = loss_fn(cfg.loss, model(Xt[idx]), yt[idx], q)
        loss.backward()
        sgd_update(params, buffers, cfg.lr, cfg.momentum)
        step += 1
    if reason != "diverged":  # NaN parameters have no geometry to record
        snap(step, lv)
    return TrainResult(stop_reason=reason, final_step=step, final_loss=lv, message=message)
