"""Loss landscape around explicit networks (docs/math.md §5).

Perturbation: every parameter tensor ``T`` (each ``W_l``, ``b_l``, and the output layer's) gets
``T + lambda G / |G|_F`` with ``G`` standard normal. Trial ``i`` of a sweep with seed ``s`` draws its ``G`` from
``numpy.random.default_rng(SeedSequence([s, i]))``, the same for every ``lambda`` (common random numbers: the
direction is the same, only the size changes), and its SGD mini-batches from a torch generator seeded with
``SeedSequence([s, i, 1])``. So a trial's result depends only on ``(s, i, lambda)``, never on how the trials are
batched or where they run.

Trials are *batched*: the ``T`` trials' parameters are stacked into ``(T, ...)`` tensors and trained together
with batched matrix products; each trial follows exactly the algorithm and stop rules of
:func:`geomdl.nn.training.train` (same mini-batch draws for the same seed), and is frozen when it stops.

Toggle patterns (suboptimal minima, docs/math.md §5): see :func:`toggle_network` and :func:`local_minima_table`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from geomdl.checks import check_choice
from geomdl.errors import GeomdlError, UsageError
from geomdl.math import constructions, structure
from geomdl.math import truncation as geometry
from geomdl.math.constructions import Network
from geomdl.nn.losses import loss_fn
from geomdl.nn.model import ReLUMLP
from geomdl.nn.training import TrainConfig, train

STOP_CODES = {"threshold": 0, "stuck": 1, "budget": 2, "diverged": 3, "dead": 4}
STOP_NAMES = {v: k for k, v in STOP_CODES.items()}
MODES = ("train", "eval")


def check_mode(mode: str) -> None:
    check_choice(mode, MODES, "mode")


def trial_seeds(seed: int, trial: int) -> tuple[np.random.Generator, int]:
    """The perturbation generator and the SGD seed of trial ``trial`` of a sweep with seed ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, trial]))
    sgd = int(np.random.SeedSequence([seed, trial, 1]).generate_state(1, dtype=np.uint64)[0] % (2**63 - 1))
    return rng, sgd


def perturb(tensors: Sequence[np.ndarray], lam: float, rng: np.random.Generator) -> list[np.ndarray]:
    """``T + lam G/|G|_F`` for every tensor (``G`` drawn in order from ``rng``)."""
    out = []
    for T in tensors:
        G = rng.standard_normal(T.shape)
        nG = np.linalg.norm(G)
        out.append(T + lam * G / nG if nG > 0 else T.copy())
    return out


def perturbed_stack(net: Network, lam: float, seed: int, trials: Sequence[int],
                    dtype: torch.dtype = torch.float64) -> tuple[list[torch.Tensor], np.ndarray]:
    """Stacked perturbed parameters ``[(T, *shape)]`` (model order) and the SGD seeds ``(T,)`` of ``trials``."""
    base = net.tensors()
    per, sgd = [], []
    for i in trials:
        rng, s = trial_seeds(seed, int(i))
        per.append(perturb(base, lam, rng))
        sgd.append(s)
    stacks = [torch.as_tensor(np.stack([p[k] for p in per]), dtype=dtype) for k in range(len(base))]
    return stacks, np.array(sgd, dtype=np.int64)


def batched_forward(params: Sequence[torch.Tensor], X: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
    """``params``: ``[W_1 (T, M_1, M), b_1 (T, M_1), ..., W_out (T, Q, M_L), b_out (T, Q)]``; ``X: (N, M)`` shared
    or ``(T, N, M)`` per trial. Returns hidden activations ``[(T, M_l, N)]`` and outputs ``(T, Q, N)``.

    Activations are kept *feature-major* (points last, contiguous): then every layer is one plain batched
    matrix product ``W (T, M_l, M_{l-1}) @ h (T, M_{l-1}, N)`` (or a single matmul for the shared input), about
    3x faster than the point-major layout for these tiny widths."""
    h = X.T if X.dim() == 2 else X.transpose(1, 2)
    hidden = []
    n_hidden = len(params) // 2 - 1
    for l in range(n_hidden + 1):
        W, b = params[2 * l], params[2 * l + 1]
        if h.dim() == 2:   # shared input: one GEMM (T*M_1, M) @ (M, N), not T small ones
            a = (W.reshape(-1, W.shape[2]) @ h).view(W.shape[0], W.shape[1], -1)
        else:
            a = torch.bmm(W, h)
        a = a.add_(b.unsqueeze(2))                          # in place: no second (T, M_l, N) buffer
        if l < n_hidden:
            h = a.relu_()
            hidden.append(h)
        else:
            return hidden, a
    raise AssertionError("unreachable")


def batched_loss(kind: str, out: torch.Tensor, labels: torch.Tensor, q: int,
                 onehot: torch.Tensor | None = None) -> torch.Tensor:
    """Per-trial loss ``(T,)`` with :func:`geomdl.nn.losses.loss_fn`'s definitions; ``out: (T, Q, N)``,
    ``labels: (N,)`` or ``(T, N)``; ``onehot``: the targets ``(Q, N)`` or ``(T, Q, N)`` if already at hand."""
    lab = labels.expand(out.shape[0], -1) if labels.dim() == 1 else labels
    if kind == "ce":
        return torch.nn.functional.cross_entropy(out, lab, reduction="none").mean(dim=1)
    y = onehot if onehot is not None else torch.nn.functional.one_hot(labels, q).to(out.dtype).transpose(-1, -2)
    sq = ((out - y) ** 2).sum(dim=1)                                                # (T, N)
    if kind == "mse":
        return 0.5 * sq.mean(dim=1)
    if kind == "wmse":
        counts = torch.nn.functional.one_hot(lab, q).to(out.dtype).sum(dim=1)      # (T, Q)
        return (sq / torch.gather(counts, 1, lab)).sum(dim=1)
    raise UsageError(f"unknown loss {kind!r}")


@dataclass
class BatchResult:
    """Per trial ``(T,)``: loss before training, final loss, stop code (:data:`STOP_CODES`), final step, and
    final accuracy."""

    initial_loss: np.ndarray
    final_loss: np.ndarray
    stop: np.ndarray
    steps: np.ndarray
    accuracy: np.ndarray


@torch.no_grad()
def _full_pass(params, Xt, yt, q, kind, y=None):
    hidden, out = batched_forward(params, Xt)
    if y is None:
        y = torch.nn.functional.one_hot(yt, q).to(out.dtype).T
    if kind == "mse":   # in place (the step's hot spot): 0.5 * mean_n |out - y|^2
        loss = 0.5 * (out - y).square_().sum(dim=1).mean(dim=1)
    else:
        loss = batched_loss(kind, out, yt, q, y)
    alive = torch.ones(out.shape[0], dtype=torch.bool)
    for h in hidden:
        alive &= h.amax(dim=(1, 2)) > 0
    return loss, alive, out


@torch.no_grad()
def _full_pass_mse_buffered(params, XT, y, bufs):
    """:func:`_full_pass` for the MSE written into preallocated buffers ``bufs`` (one ``(T, M_l, N)`` per layer
    and one for the residual): no large allocation per step (each would cost page faults); the bias is added
    inside the product (``addmm``/``baddbmm``, as ``nn.Linear`` does). The same results as the allocating
    version to float rounding (the bias is summed inside the product instead of after it)."""
    T = params[0].shape[0]
    n_hidden = len(params) // 2 - 1
    h = None
    alive = torch.ones(T, dtype=torch.bool)
    for l in range(n_hidden + 1):
        W, b, buf = params[2 * l], params[2 * l + 1], bufs[l]
        if l == 0:   # bias fused into the product (one pass over the buffer, not two)
            torch.addmm(b.detach().reshape(-1, 1), W.detach().reshape(-1, W.shape[2]), XT,
                        out=buf.view(-1, XT.shape[1]))
        else:
            torch.baddbmm(b.detach().unsqueeze(2), W.detach(), h, out=buf)
        if l < n_hidden:
            buf.relu_()
            alive &= buf.amax(dim=(1, 2)) > 0
        h = buf
    res = torch.sub(h, y, out=bufs[-1])
    loss = 0.5 * res.square_().sum(dim=1).mean(dim=1)
    return loss, alive, h


@torch.no_grad()
def mse_grads(params: Sequence[torch.Tensor], H0: torch.Tensor, Y: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of ``sum_t loss_t`` (the MSE ``0.5 mean_n |out_t - y|^2`` of each trial) with respect to
    ``params`` (:func:`batched_forward`'s layout), by hand-written backpropagation: the same products autograd
    would run, without building its graph (the step's second hot spot). ``H0``: inputs, feature-major, ``(M, N)``
    shared or ``(T, M, N)`` per trial; ``Y``: targets ``(Q, N)`` or ``(T, Q, N)``. The ReLU derivative is
    autograd's (``1`` where the activation is positive, else ``0``)."""
    n_hidden = len(params) // 2 - 1
    T = params[0].shape[0]
    acts = [H0]
    h = H0
    for l in range(n_hidden + 1):
        W, b = params[2 * l], params[2 * l + 1]
        if h.dim() == 2:
            z = torch.addmm(b.reshape(-1, 1), W.reshape(-1, W.shape[2]), h).view(T, W.shape[1], -1)
        else:
            z = torch.baddbmm(b.unsqueeze(2), W, h)
        if l < n_hidden:
            h = z.relu_()
            acts.append(h)
        else:
            out = z
    return backprop(params, acts, out.sub_(Y).div_(out.shape[2]))


def backprop(params: Sequence[torch.Tensor], acts: Sequence[torch.Tensor], g: torch.Tensor) -> list[torch.Tensor]:
    """Backpropagation through :func:`batched_forward`'s network: ``acts = [h_0, h_1, ..., h_L]`` the input and
    hidden activations, feature-major (``h_0``: ``(M, n)`` shared or ``(T, M, n)``; ``h_l: (T, M_l, n)``) and
    ``g: (T, Q, n)`` the gradient of the loss at the outputs. Returns the gradients in ``params``' order."""
    n_hidden = len(params) // 2 - 1
    grads: list[torch.Tensor] = [None] * len(params)        # type: ignore[list-item]
    for l in range(n_hidden, -1, -1):
        h = acts[l]
        grads[2 * l] = torch.matmul(g, h.transpose(-1, -2))  # (T, M_l, M_{l-1})
        grads[2 * l + 1] = g.sum(dim=2)
        if l:
            g = torch.bmm(params[2 * l].transpose(1, 2), g).mul_(h > 0)
    return grads


def _accuracy(out: torch.Tensor, yt: torch.Tensor) -> torch.Tensor:
    return (out.argmax(dim=1) == yt).to(out.dtype).mean(dim=1)


def evaluate_batch(params: Sequence[torch.Tensor], X: np.ndarray, labels: np.ndarray, loss: str = "mse"
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Full-batch loss and accuracy of each stacked network, ``(T,)`` each."""
    dt = params[0].dtype
    q = params[-1].shape[1]
    yt = torch.as_tensor(labels)
    lv, _, out = _full_pass(params, torch.as_tensor(X, dtype=dt), yt, q, loss)
    return lv.numpy().astype(float), _accuracy(out, yt).numpy().astype(float)


def train_batch(params: Sequence[torch.Tensor], X: np.ndarray, labels: np.ndarray, cfg: TrainConfig,
                sgd_seeds: Sequence[int], chunk: int = 100,
                progress: Callable[[int], None] | None = None) -> BatchResult:
    """Train ``T`` stacked networks at once; trial ``t`` behaves as ``training.train(model_t, X, labels, cfg with
    seed=sgd_seeds[t])`` would (same stop rules, same mini-batches), and is frozen once it stops.

    ``params`` are modified in place (they end as the trained parameters). ``chunk``: mini-batch indices are
    drawn for ``chunk`` steps at a time per trial (the same stream as drawing them step by step).
    """
    cfg.validate()
    dt = params[0].dtype
    Xt = torch.as_tensor(X, dtype=dt)
    yt = torch.as_tensor(labels, dtype=torch.int64)
    q = params[-1].shape[1]
    T, N = params[0].shape[0], len(Xt)
    B = min(cfg.batch_size, N)
    given = list(params)
    # every trial's parameters in one row of a flat (T, P) buffer; ``params`` are views of it, so the update
    # (and momentum) is one operation per step, not one per tensor
    flat = torch.cat([p.detach().reshape(T, -1) for p in given], dim=1)
    params, o = [], 0
    for p in given:
        size = p[0].numel()
        params.append(flat[:, o:o + size].view(p.shape))
        o += size
    mom_flat: torch.Tensor | None = None
    gens = [torch.Generator(device="cpu").manual_seed(int(s)) for s in sgd_seeds]
    history = torch.empty((cfg.steps + 1, T), dtype=dt)
    active = torch.ones(T, dtype=torch.bool)
    stop = torch.full((T,), -1, dtype=torch.int64)
    last_step = torch.zeros(T, dtype=torch.int64)
    final = torch.zeros(T, dtype=dt)
    acc_final = torch.zeros(T, dtype=dt)
    init = None
    idx_block = None
    Y = torch.nn.functional.one_hot(yt, q).to(dt).T            # (Q, N)
    YT = Y.T.contiguous()                                       # (N, Q)
    XT = Xt.T.contiguous()
    widths = [params[2 * l].shape[1] for l in range(len(params) // 2)]
    bufs = ([torch.empty((T, w, N), dtype=dt) for w in widths] + [torch.empty((T, q, N), dtype=dt)]
            if cfg.loss == "mse" else None)
    n_hidden = len(params) // 2 - 1
    step = 0
    while True:
        if bufs is not None:
            lv, alive, out_full = _full_pass_mse_buffered(params, XT, Y, bufs)
        else:
            lv, alive, out_full = _full_pass(params, Xt, yt, q, cfg.loss, Y)
        if init is None:
            init = lv.clone()
        history[step] = lv
        # stop rules, in training.train's order; only for trials still running
        newly = torch.zeros(T, dtype=torch.int64) - 1
        finite = torch.isfinite(lv)
        newly = torch.where(~finite, STOP_CODES["diverged"], newly)
        newly = torch.where((newly < 0) & ~alive, STOP_CODES["dead"], newly)
        newly = torch.where((newly < 0) & (lv < cfg.loss_threshold), STOP_CODES["threshold"], newly)
        if step >= cfg.patience:
            before = history[step - cfg.patience]
            stuck = (before - lv) < cfg.stuck_tol * torch.clamp(before.abs(), min=1e-300)
            newly = torch.where((newly < 0) & stuck, STOP_CODES["stuck"], newly)
        if step >= cfg.steps:
            newly = torch.where(newly < 0, STOP_CODES["budget"], newly)
        ending = active & (newly >= 0)
        stop = torch.where(ending, newly, stop)
        last_step = torch.where(ending, step, last_step)
        final = torch.where(ending, lv, final)
        if bool(ending.any()):
            acc_final = torch.where(ending, _accuracy(out_full, yt), acc_final)
        active = active & ~ending
        if progress is not None:
            progress(step)
        if not bool(active.any()):
            break
        # one update for the active trials
        if cfg.optimizer == "sgd":
            k = step % chunk
            if k == 0:
                n = min(chunk, cfg.steps - step)
                idx_block = torch.stack([torch.randint(0, N, (n, B), generator=g) for g in gens])  # (T, n, B)
            idx = idx_block[:, k, :]                                                           # (T, B)
            flat_idx = idx.reshape(-1)
            Xb = Xt.index_select(0, flat_idx).view(T, B, -1)                                     # (T, B, M)
            Yb = YT.index_select(0, flat_idx).view(T, B, q).transpose(1, 2)                     # (T, Q, B)
            if cfg.loss == "mse":   # hand-written backward (gathering the full pass's activations is slower)
                grads = mse_grads(params, Xb.transpose(1, 2), Yb)
            else:
                leaves = [p.detach().requires_grad_(True) for p in params]
                _, out = batched_forward(leaves, Xb)
                loss_t = batched_loss(cfg.loss, out, yt[idx], q, Yb)
                grads = torch.autograd.grad(loss_t.sum(), leaves)
        elif bufs is not None:     # full-batch MSE: the full pass's activations are the step's
            grads = backprop(params, [XT, *bufs[:n_hidden]], torch.sub(out_full, Y).div_(N))
        else:
            leaves = [p.detach().requires_grad_(True) for p in params]
            _, out = batched_forward(leaves, Xt)
            grads = torch.autograd.grad(batched_loss(cfg.loss, out, yt, q, Y).sum(), leaves)
        with torch.no_grad():
            g = torch.cat([gr.reshape(T, -1) for gr in grads], dim=1)                           # (T, P)
            if cfg.momentum:
                mom_flat = g if mom_flat is None else mom_flat.mul_(cfg.momentum).add_(g)
                g = mom_flat
            flat.sub_(cfg.lr * g * active.to(dt).unsqueeze(1))    # stopped trials are frozen
        step += 1
    with torch.no_grad():
        for p, v in zip(given, params, strict=True):    # the trained parameters, in the tensors given
            p.copy_(v)
    return BatchResult(init.numpy().astype(float), final.numpy().astype(float), stop.numpy(), last_step.numpy(),
                       acc_final.numpy().astype(float))


def train_loop(net: Network, X: np.ndarray, labels: np.ndarray, cfg: TrainConfig, lam: float, seed: int,
               trials: Sequence[int]) -> BatchResult:
    """Reference: the same trials one at a time with :func:`geomdl.nn.training.train` (a Python loop of models)."""
    init, final, stop, steps, acc = [], [], [], [], []
    Xt = torch.as_tensor(X, dtype=torch.float64)
    yt = torch.as_tensor(labels)
    for i in trials:
        rng, s = trial_seeds(seed, int(i))
        ten = perturb(net.tensors(), lam, rng)
        model = ReLUMLP(X.shape[1], net.widths, net.q).double()
        model.load_arrays(ten[0:-2:2], ten[1:-2:2], ten[-2], ten[-1])
        with torch.no_grad():
            init.append(float(loss_fn(cfg.loss, model(Xt), yt, net.q)))
        res = train(model, X, labels, TrainConfig(**{**cfg.__dict__, "seed": s}))
        with torch.no_grad():
            acc.append(float((model(Xt).argmax(1) == yt).double().mean()))
        final.append(res.final_loss)
        stop.append(STOP_CODES[res.stop_reason])
        steps.append(res.final_step)
    return BatchResult(np.array(init), np.array(final), np.array(stop), np.array(steps), np.array(acc))


BLOCK = 200


def run_trials(net: Network, X: np.ndarray, labels: np.ndarray, lam: float, seed: int, trials: Sequence[int],
               mode: str, cfg: TrainConfig, progress: Callable[[int], None] | None = None,
               block: int = BLOCK) -> BatchResult:
    """Perturb ``net`` for each of ``trials`` (indices) with size ``lam``, then evaluate (``mode="eval"``) or
    train with ``cfg`` (``mode="train"``). Trials are batched ``block`` at a time (default 200: the stacked
    activations then stay in cache; measured ~45 us per trial-step at 200 vs ~60 at 1000, Q=3 clustered).
    Results do not depend on ``block`` mathematically (each trial's arithmetic is its own); bit for bit they are
    guaranteed only for the same ``block`` (batched products of different batch sizes may round differently on
    some BLAS builds). ``progress(k)``: trials done."""
    check_mode(mode)
    trials = [int(i) for i in trials]
    parts = []
    for start in range(0, len(trials), max(1, block)):
        sub = trials[start:start + max(1, block)]
        params, sgd = perturbed_stack(net, lam, seed, sub)
        if mode == "eval":
            lv, acc = evaluate_batch(params, X, labels, cfg.loss)
            parts.append(BatchResult(lv, lv.copy(), np.full(len(sub), -1), np.zeros(len(sub), dtype=np.int64), acc))
        else:
            parts.append(train_batch(params, X, labels, cfg, sgd))
        if progress is not None:
            progress(start + len(sub))
    return BatchResult(*(np.concatenate([getattr(p, f) for p in parts]) for f in
                         ("initial_loss", "final_loss", "stop", "steps", "accuracy")))


# ---------------------------------------------------------------------------------------------------------------
# Toggle patterns: suboptimal "minima" of the clustered construction (docs/math.md §5)
def toggle_network(X: np.ndarray, labels: np.ndarray, pattern: Sequence[int],
                   full: constructions.Construction | None = None) -> Network:
    """The clustered (CE24) construction with layer ``l`` toggled: ``pattern[l] = 1`` keeps the full collapse
    of class ``order[l]``; ``0`` shifts the layer's base point along its cone axis so that every point is in the
    forward cone (the identity on the data: "no collapse"). The other layers' cones stay where they are in input
    space (cumulative parameters unchanged); they pass every other class wherever the toggled layers left it
    (the construction is ``toggleable``). Output layer: least-squares refit on the last hidden layer.

    ``full``: the construction to toggle (default :func:`constructions.sls_construction` of the data; the flat
    geometry passes its own). The result is verified (:mod:`geomdl.math.structure`): a collapsing layer collapses all
    of its class, a toggled one none, and every other point passes unchanged; ``net.structure`` holds the
    report."""
    full = constructions.sls_construction(X, labels) if full is None else full
    q = len(full.order)
    pattern = [int(v) for v in pattern]
    if len(pattern) != q or any(v not in (0, 1) for v in pattern):
        raise GeomdlError(f"a toggle pattern needs {q} entries, each 0 (no collapse) or 1 (collapse): {pattern}")
    if any(t != 0.0 for t in full.t):
        raise GeomdlError("toggle patterns start from the full construction (every t = 0), not a partial one")
    bc = [full.bc[l] + (1 - pattern[l]) * full.shifts[l] * (full.Wc[l] @ full.normals[l]) for l in range(q)]
    Ws, bs = constructions.to_layers(full.Wc, bc)
    W_out, b_out = constructions.refit_output(geometry.hidden_activations(X, Ws, bs)[-1], labels, q)
    name = "toggle " + "".join(str(v) for v in pattern)
    collapses = [full.order[l] if pattern[l] else -1 for l in range(q)]
    claim = structure.Claim.collapse_pattern(collapses, np.bincount(labels, minlength=q))
    report = structure.verify(X, labels, Ws, bs, claim, f"toggle pattern {''.join(map(str, pattern))}")
    return Network(Ws, bs, W_out, b_out, name, Wc=list(full.Wc), bc=bc, collapses=collapses, structure=report)


MAX_TOGGLE_Q = 12   # 4095 patterns; each is a construction, a least-squares refit and (polished) an L-BFGS run


def check_toggle_q(q: int) -> None:
    """Refuse, before any work, a ``Q`` whose ``2^Q - 1`` toggle patterns cannot be enumerated in reasonable
    time and memory (``Q <= MAX_TOGGLE_Q``)."""
    if q > MAX_TOGGLE_Q:
        raise GeomdlError(f"Q={q} has 2^{q} - 1 = {2 ** q - 1:.3g} toggle patterns, each a construction, a least-"
                          f"squares refit and an L-BFGS polish (about a second each at Q=6); Q is limited to "
                          f"{MAX_TOGGLE_Q} ({2 ** MAX_TOGGLE_Q - 1} patterns)")


def toggle_patterns(q: int) -> list[tuple[int, ...]]:
    """The ``2^Q - 1`` patterns other than "every layer collapses" (the global minimum), most collapses first."""
    check_toggle_q(q)
    pats = [p for p in itertools.product((1, 0), repeat=q) if not all(p)]
    return sorted(pats, key=lambda p: (-sum(p), [-v for v in p]))


def gradient_norms(net: Network, X: np.ndarray, labels: np.ndarray, loss: str = "mse") -> tuple[float, list[float]]:
    """Loss gradient at ``net`` (float64): total Frobenius norm and the norm per tensor (model order)."""
    model = ReLUMLP(X.shape[1], net.widths, net.q).double()
    model.load_arrays(net.Ws, net.bs, net.W_out, net.b_out)
    L = loss_fn(loss, model(torch.as_tensor(X, dtype=torch.float64)), torch.as_tensor(labels), net.q)
    g = torch.autograd.grad(L, list(model.parameters()))
    per = [float(t.norm()) for t in g]
    return float(np.sqrt(sum(v * v for v in per))), per


def affine_ls_loss(X: np.ndarray, labels: np.ndarray, classes: Sequence[int], q: int) -> float:
    """MSE contribution (normalised by all ``N`` points) of the best affine fit of the one-hot targets on the
    points of ``classes`` only: the infimum of a toggle pattern whose uncollapsed classes are ``classes``."""
    sel = np.isin(labels, list(classes))
    if not sel.any():
        return 0.0
    H = np.c_[X[sel], np.ones(int(sel.sum()))]
    Y = np.eye(q)[labels[sel]]
    B = np.linalg.lstsq(H, Y, rcond=None)[0]
    return float(0.5 * np.sum((H @ B - Y) ** 2) / len(X))


def polish(net: Network, X: np.ndarray, labels: np.ndarray, iters: int = 600) -> tuple[Network, float, float]:
    """Local minimisation from ``net`` (float64 L-BFGS with strong Wolfe line search, deterministic): where the
    loss goes from a toggle point when nothing but descent acts. Returns the polished network, its loss and its
    gradient norm."""
    model = ReLUMLP(X.shape[1], net.widths, net.q).double()
    model.load_arrays(net.Ws, net.bs, net.W_out, net.b_out)
    Xt, yt = torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(labels)
    opt = torch.optim.LBFGS(model.parameters(), lr=1, max_iter=iters, history_size=100,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-14, tolerance_change=1e-30)

    def closure():
        opt.zero_grad()
        L = loss_fn("mse", model(Xt), yt, net.q)
        L.backward()
        return L

    for _ in range(3):
        opt.step(closure)
    Ws, bs, W_out, b_out = model.layer_arrays()
    out = Network(Ws, bs, W_out, b_out, net.name + " (polished)", collapses=net.collapses)
    gn, _ = gradient_norms(out, X, labels)
    return out, constructions.mse_loss(out.outputs(X), labels), gn


def collapsed_counts(net: Network, X: np.ndarray, labels: np.ndarray) -> list[int]:
    """Per hidden layer: how many points of the class the layer collapsed (in the toggle point) have every
    unit off there (``-1`` for a layer that collapses nothing)."""
    hs = geometry.hidden_activations(X, net.Ws, net.bs)
    return [int(((h[labels == c] <= 0).all(axis=1)).sum()) if c >= 0 else -1 for h, c in zip(hs, net.collapses,
                                                                                            strict=True)]


GRAD_TOL = 1e-8
PERTURB_TRIALS = 300
PERTURB_SIZE = 1e-3
PERTURB_TOL = 1e-12


def perturbation_test(net: Network, X: np.ndarray, labels: np.ndarray, trials: int = PERTURB_TRIALS,
                      size: float = PERTURB_SIZE, seed: int = 0) -> tuple[int, float]:
    """Perturb every tensor by ``size G/|G|_F`` (:func:`perturb`; trial ``i`` from ``SeedSequence([seed, i])``),
    ``trials`` times, plus once along the negative gradient (same size per tensor), and evaluate the MSE (plain
    numpy). Returns how many perturbations lower the loss by more than ``PERTURB_TOL * max(1, loss)`` and the
    largest decrease found (``<= 0`` when none lowers it)."""
    base = constructions.mse_loss(net.outputs(X), labels)
    tens = net.tensors()
    model = ReLUMLP(X.shape[1], net.widths, net.q).double()
    model.load_arrays(net.Ws, net.bs, net.W_out, net.b_out)
    L = loss_fn("mse", model(torch.as_tensor(X, dtype=torch.float64)), torch.as_tensor(labels), net.q)
    grads = [g.detach().numpy() for g in torch.autograd.grad(L, list(model.parameters()))]
    cands = [[T - size * g / np.linalg.norm(g) if np.linalg.norm(g) > 0 else T for T, g in zip(tens, grads,
                                                                                               strict=True)]]
    for i in range(trials):
        cands.append(perturb(tens, size, np.random.default_rng(np.random.SeedSequence([seed, i]))))
    tol = PERTURB_TOL * max(1.0, base)
    lowered, drop = 0, 0.0
    for ten in cands:
        pnet = Network(ten[0:-2:2], ten[1:-2:2], ten[-2], ten[-1], "perturbed")
        d = base - constructions.mse_loss(pnet.outputs(X), labels)
        lowered += d > tol
        drop = max(drop, d)
    return int(lowered), float(drop)


def span_codimension(X: np.ndarray) -> int:
    """Codimension in ``R^M`` of the affine span of the rows of ``X: (N, M)`` (``M`` for no rows)."""
    if len(X) == 0:
        return X.shape[1]
    return constructions.affine_span(X)[2].shape[1]


def minimum_verdict(net: Network, X: np.ndarray, labels: np.ndarray, grad_norm: float,
                    collapsed: Sequence[int] | None, seed: int = 0) -> dict:
    """Is ``net`` (a toggle point collapsing the classes ``collapsed``) a local minimum? ``local_minimum``: the
    gradient is below ``GRAD_TOL`` and none of the :func:`perturbation_test` perturbations lowers the loss;
    ``reason`` says why not (docs/local-minima.md): the least-squares output cannot reach the collapsed classes'
    targets when the uncollapsed classes' affine span has codimension below the number of collapsed classes."""
    lowered, drop = perturbation_test(net, X, labels, seed=seed)
    q = net.q
    stationary = grad_norm < GRAD_TOL
    if collapsed is None:     # not a toggle point: report the facts only
        local = stationary and lowered == 0
        reason = ("" if local else f"not stationary (|grad| {grad_norm:.1e})" if not stationary else
                  f"{lowered} of {PERTURB_TRIALS + 1} perturbations of size {PERTURB_SIZE:g} lower the loss "
                  f"(by up to {drop:.1e})")
        return {"local_minimum": bool(local), "reason": reason, "perturbations_lowering": lowered,
                "largest_decrease": drop, "uncollapsed_codim": -1, "collapsed_residual": float("nan")}
    collapsed = sorted(int(c) for c in collapsed if c >= 0)
    unc = ~np.isin(labels, collapsed)
    codim = span_codimension(X[unc])
    out = net.outputs(X)
    Y = np.eye(q)[labels]
    res = float(np.abs(out[~unc] - Y[~unc]).max()) if (~unc).any() else 0.0
    local = stationary and lowered == 0
    if local:
        reason = ""
    elif not stationary:
        why = (f"the uncollapsed classes span R^{X.shape[1]}, so the least-squares output fitted on them predicts "
               "~0 for each collapsed class's own target component" if codim == 0 else
               f"the uncollapsed classes lie in an affine subspace of codimension {codim}, too few directions off "
               f"it for {len(collapsed)} collapsed base points")
        reason = (f"not stationary (|grad| {grad_norm:.1e}): the output misses the collapsed class(es) "
                  f"{', '.join(str(c + 1) for c in collapsed)} by {res:.2g}; {why}")
    else:
        reason = (f"stationary, but {lowered} of {PERTURB_TRIALS + 1} perturbations of size {PERTURB_SIZE:g} lower "
                  f"the loss (by up to {drop:.1e}): not a minimum")
    return {"local_minimum": bool(local), "reason": reason, "perturbations_lowering": lowered,
            "largest_decrease": drop, "uncollapsed_codim": codim, "collapsed_residual": res}


def local_minima_table(X: np.ndarray, labels: np.ndarray, do_polish: bool = True,
                       full: constructions.Construction | None = None) -> list[dict]:
    """One row per toggle pattern (all ``2^Q - 1``, none skipped by symmetry): its loss, gradient norm (total,
    and of the output layer alone, which the least-squares refit makes ~0), the infimum over its activation
    region's affine family (:func:`affine_ls_loss` of the uncollapsed classes), the local-minimum verdict
    (:func:`minimum_verdict`) and, with ``do_polish``, the loss, gradient norm and collapsed counts after
    :func:`polish`. ``full``: the construction to toggle (default: the clustered one of the data)."""
    q = int(labels.max()) + 1
    full = constructions.sls_construction(X, labels) if full is None else full
    return [pattern_row(X, labels, pat, full, do_polish) for pat in toggle_patterns(q)]


def pattern_row(X: np.ndarray, labels: np.ndarray, pat: Sequence[int], full: constructions.Construction,
                do_polish: bool = True) -> dict:
    """The row of :func:`local_minima_table` of one toggle pattern ``pat`` (an independent run: the table's
    rows may be computed in any order, anywhere)."""
    q = int(labels.max()) + 1
    net = toggle_network(X, labels, pat, full)
    gn, per = gradient_norms(net, X, labels)
    loss = constructions.mse_loss(net.outputs(X), labels)
    uncollapsed = [j for j in range(q) if j not in net.collapses]
    row = {"pattern": "".join(str(v) for v in pat), "collapsing_layers": sum(pat), "loss": loss,
           "accuracy": float(np.mean(net.outputs(X).argmax(1) == labels)), "grad_norm": gn,
           "grad_norm_output": float(np.hypot(per[-2], per[-1])),
           "grad_norm_hidden": float(np.sqrt(sum(v * v for v in per[:-2]))),
           "region_infimum": affine_ls_loss(X, labels, uncollapsed, q),
           "collapsed_counts": collapsed_counts(net, X, labels),
           "structure_margin": net.structure.margin}
    row.update(minimum_verdict(net, X, labels, gn, net.collapses))
    if do_polish:
        pol, ploss, pgn = polish(net, X, labels)
        row.update(polished_loss=ploss, polished_grad_norm=pgn,
                   polished_collapsed_counts=collapsed_counts(pol, X, labels))
    return row
