"""Healthy truncation-speed defaults for Q = 2..8 (issue 11): the automatic step size 1.5 / sharpness keeps the
loss below 2x its start and Q distinct output clusters; the sharpness estimator against the full Hessian."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geomdl.errors import GeomdlError
from geomdl.experiments import truncation_speed as ts
from geomdl.nn import sharpness
from geomdl.nn.losses import loss_fn
from geomdl.nn.model import build_model


def full_hessian_max_eig(model, X, labels, loss):
    """Independent: the whole Hessian of the flattened parameters by torch.func, then numpy's eigvalsh."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    sizes = [p.numel() for p in model.parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    Xt, yt = torch.as_tensor(X), torch.as_tensor(labels, dtype=torch.int64)

    def f(flat):
        parts = torch.split(flat, sizes)
        params = {n: t.reshape(s) for n, t, s in zip(names, parts, shapes, strict=True)}
        out = torch.func.functional_call(model, params, (Xt,))
        return loss_fn(loss, out, yt, model.out.out_features)

    H = torch.autograd.functional.hessian(f, flat0).numpy()
    return float(np.max(np.abs(np.linalg.eigvalsh((H + H.T) / 2))))


@pytest.mark.parametrize(("q", "seed", "loss"), [(2, 0, "mse"), (3, 1, "mse"), (4, 2, "wmse"), (3, 0, "ce")])
def test_power_iteration_matches_the_full_hessian(q, seed, loss):
    from geomdl.data import synthetic as data
    from geomdl.math import constructions

    cfg = ts.TruncationSpeedConfig(q=q, seed=seed, n_per_class=15, loss=loss)
    X, labels = data.clustered(cfg.data_config())
    con = constructions.partial_construction(X, labels, cfg.layer_fractions())
    M = X.shape[1]
    model = build_model(M, [M] * q, q, dtype="float64", seed=seed)
    model.load_arrays(*con.layers, con.W_out, con.b_out)
    lam = sharpness.top_hessian_eigenvalue(model, X, labels, loss, iters=2000, rtol=1e-10)
    assert lam == pytest.approx(full_hessian_max_eig(model, X, labels, loss), rel=1e-5)


def test_stable_lr_rounds_and_rejects_bad_sharpness():
    assert sharpness.stable_lr(187.3, 1.5) == 0.00801
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(GeomdlError):
            sharpness.stable_lr(bad, 1.5)


def check_healthy(q: int, seed: int, **kw) -> tuple[float, object]:
    """``(max loss / start loss over every step, (trace, result))``."""
    losses = []
    tr, res = ts.run(ts.TruncationSpeedConfig(q=q, seed=seed, snapshots=31, **kw),
                     progress=lambda step, loss: losses.append(loss))
    assert len(losses) == res.final_step + 1
    return float(np.max(losses) / losses[0]), (tr, res)


@pytest.mark.parametrize("q", range(2, 9))
def test_default_step_is_healthy_early(q):
    """The blow-ups of a too-large step come in the first tens of steps (lr 0.01 at Q=6: the loss x10 within
    100 steps). With the defaults, the first 150 steps of seeds 0 and 1 keep the loss at most 2x its start and Q
    distinct output clusters."""
    for seed in (0, 1):
        ratio, (tr, res) = check_healthy(q, seed, steps=150)
        assert ratio <= 2.0, (q, seed, ratio)
        assert not res.failed, res.message
        assert tr.meta["health"]["output_clusters"] == q
        assert tr.meta["sharpness"] > 0 and tr.meta["lr"] == pytest.approx(1.5 / tr.meta["sharpness"], rel=5e-3)


def test_the_early_check_can_fail():
    """The same check catches the old fixed step: lr 0.01 at Q=6 blows the loss up within 150 steps."""
    ratio, _ = check_healthy(6, 0, lr=0.01, steps=150)
    assert ratio > 2.0


def test_automatic_steps_follow_the_flow_time():
    cfg = ts.TruncationSpeedConfig(q=3, lr=0.01)
    assert ts.resolve_steps(cfg, 0.01) == 1200
    assert ts.resolve_steps(ts.TruncationSpeedConfig(), 0.0081) == 1482
    assert ts.resolve_steps(ts.TruncationSpeedConfig(), 1e-9) == ts.MAX_AUTO_STEPS
    assert ts.resolve_steps(ts.TruncationSpeedConfig(steps=77), 0.5) == 77


def test_q_beyond_the_checked_range_needs_an_explicit_lr():
    with pytest.raises(GeomdlError, match=r"checked for Q = 2\.\.8 only .*--lr"):
        ts.TruncationSpeedConfig(q=9).validate()
    ts.TruncationSpeedConfig(q=9, lr=0.001).validate()
    with pytest.raises(GeomdlError, match="lr_scale"):
        ts.TruncationSpeedConfig(lr_scale=2.5).validate()


@pytest.mark.slow
@pytest.mark.parametrize("q", range(2, 9))
def test_default_survey_seeds_0_to_4(q):
    """The full survey of docs/results.md: every default run (full length) of seeds 0-4 is healthy."""
    for seed in range(5):
        ratio, (tr, res) = check_healthy(q, seed)
        assert ratio <= 2.0 and not res.failed and tr.meta["health"]["output_clusters"] == q, (q, seed, res.message)
