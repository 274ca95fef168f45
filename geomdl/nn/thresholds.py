"""Train until each of several loss thresholds is reached (or stuck), snapshotting on the way.

Mini-batch SGD over shuffled epochs (or full-batch GD), on the costs of :mod:`geomdl.nn.losses`. Every
``eval_every`` steps the full training loss is computed; snapshots are taken at evaluations:

- ``start`` (step 0), then on a geometric schedule (``snapshot_ratio``: steps ~ ``eval_every * ratio^k``), so
  early training (where most changes happen) is dense;
- ``threshold`` — the first evaluation whose loss is below a threshold (one snapshot serves every threshold it
  crosses; each crossing is reported with the threshold);
- ``final`` — the last state, whatever the stop reason.

Stop reasons (as :mod:`geomdl.nn.training`): ``threshold`` (every threshold reached), ``stuck`` (the best loss did not
improve by a relative ``stuck_tol`` over ``patience`` steps), ``budget`` (``max_steps``), ``diverged``,
``dead`` (a hidden layer zero on every training point); the experiments mark a run ``degenerate`` after training
(:mod:`geomdl.nn.health`). ``diverged``, ``dead`` and ``degenerate`` are the failures
(:data:`geomdl.nn.health.FAILURES`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from geomdl.nn.losses import loss_fn
from geomdl.nn.model import ReLUMLP
from geomdl.nn.train_config import ThresholdTrainConfig  # noqa: F401 (re-exported; declared without torch)
from geomdl.nn.training import TrainResult, dead_layer, sgd_update

OPTIMIZERS = ("sgd", "gd")


# on_snapshot(step, loss, tags): tags like ["start"], ["threshold:0.05", "threshold:0.01"], ["final"]
SnapshotFn = Callable[[int, float, list[str]], None]


def train_to_thresholds(model: ReLUMLP, X: np.ndarray, targets: np.ndarray, cfg: ThresholdTrainConfig,
                        on_snapshot: SnapshotFn, progress: Callable[[int, float], None] | None = None
                        ) -> tuple[TrainResult, dict[float, tuple[int, float]]]:
    """Train ``model`` in place on ``X: (N, M)`` with target indices ``targets: (N,)`` (output coordinates).

    Returns the result and ``reached``: threshold -> (step, loss) of the snapshot that first went below it.
    Deterministic on CPU for a given seed (epoch permutations from a seeded generator).
    """
    cfg.validate()
    p0 = next(model.parameters())
    dev, dt = p0.device, p0.dtype
    Xt = torch.as_tensor(X, dtype=dt, device=dev)
    yt = torch.as_tensor(targets, dtype=torch.int64, device=dev)
    k_out = model.out.out_features
    N = len(Xt)
    params = list(model.parameters())
    buffers: list[torch.Tensor | None] = [None] * len(params)
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed)
    pending = cfg.sorted_thresholds
    reached: dict[float, tuple[int, float]] = {}
    next_sched = float(cfg.eval_every)
    best, best_step = np.inf, 0
    perm, pos = None, N
    step = 0
    reason, message, lv = "budget", f"step budget {cfg.max_steps} reached", float("nan")

    def evaluate() -> tuple[float, list[torch.Tensor]]:
        with torch.no_grad():
            hidden, out = model.forward_all(Xt)
            return float(loss_fn(cfg.loss, out, yt, k_out)), hidden

    while True:
        if step % cfg.eval_every == 0 or step >= cfg.max_steps:
            lv, hidden = evaluate()
            if progress is not None:
                progress(step, lv)
            if not np.isfinite(lv):
                reason, message = "diverged", f"loss became {lv} at step {step}; try a smaller learning rate"
                break
            tags = []
            if step == 0:
                tags.append("start")
            crossed = [t for t in pending if lv < t]
            for t in crossed:
                reached[t] = (step, lv)
                tags.append(f"threshold:{t:g}")
            pending = [t for t in pending if t not in crossed]
            if step >= next_sched:
                tags.append("schedule")
                while next_sched <= step:
                    next_sched *= cfg.snapshot_ratio
            dl = dead_layer(hidden)
            if tags and dl is None:
                on_snapshot(step, lv, tags)
            if dl is not None:
                reason = "dead"
                message = (f"dead network at step {step}: every point is collapsed in hidden layer {dl + 1} "
                           f"(constant output, loss {lv:.4g}); try a smaller learning rate")
                break
            if not pending:
                reason, message = "threshold", f"every threshold reached (loss {lv:.3g} at step {step})"
                break
            if lv < best * (1 - cfg.stuck_tol):
                best, best_step = lv, step
            elif step - best_step >= cfg.patience:
                reason = "stuck"
                message = (f"loss stuck: best {best:.4g} not improved by {cfg.stuck_tol:g} (relative) over "
                           f"{cfg.patience} steps; thresholds not reached: {', '.join(f'{t:g}' for t in pending)}")
                break
            if step >= cfg.max_steps:
                message = (f"step budget {cfg.max_steps} reached; thresholds not reached: "
                           f"{', '.join(f'{t:g}' for t in pending)}")
                break
        for p in params:
            p.grad = None
        if cfg.optimizer == "sgd":
            if pos >= N:
                perm = torch.randperm(N, generator=gen).to(dev)
                pos = 0
            idx = perm[pos: pos + cfg.batch_size]
            pos += cfg.batch_size
            loss = loss_fn(cfg.loss, model(Xt[idx]), yt[idx], k_out)
        else:
            loss = loss_fn(cfg.loss, model(Xt), yt, k_out)
        loss.backward()
        sgd_update(params, buffers, cfg.lr, cfg.momentum)
        step += 1
    if reason != "diverged":  # NaN parameters have no geometry; at a step already snapshotted the caller
        on_snapshot(step, lv, ["final"])  # merges the tag into that snapshot
    return TrainResult(stop_reason=reason, final_step=step, final_loss=lv, message=message), reached


def progress_share(step: int, loss: float, max_steps: int | None, first_loss: float, target: float) -> float:
    """Share in [0, 1] of a run to a loss ``target`` that is done at ``step`` with ``loss``: the larger of the
    step budget used (``step / max_steps``) and the way down from ``first_loss`` to ``target`` on a log axis
    (``log(first_loss / loss) / log(first_loss / target)``); a progress bar's ETA then aims at whichever stop
    comes first. Non-finite losses count as no progress on the loss axis."""
    by_steps = step / max_steps if max_steps else 0.0
    by_loss = 0.0
    if np.isfinite(loss) and np.isfinite(first_loss) and first_loss > target > 0 and loss > 0:
        by_loss = float(np.log(first_loss / loss) / np.log(first_loss / target))
    return float(np.clip(max(by_steps, by_loss), 0.0, 1.0))
