"""Training: stop reasons, failure detection, optimizers, losses, determinism (spec math.md 1, 5, 6)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError
from geomdl.experiments import truncation_speed as ts
from geomdl.io.recorder import Recorder
from geomdl.math import constructions
from geomdl.nn.losses import loss_fn
from geomdl.nn.model import ReLUMLP, build_model
from geomdl.nn.training import TrainConfig, dead_layer, train


def setup(fractions=(0.22, 1.0, 1.0), q=3, n=20, seed=0, dtype="float64"):
    """Data and a model loaded with a (partial) construction: a healthy starting point with loss > 0."""
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=n, seed=seed))
    con = constructions.partial_construction(X, labels, list(fractions))
    model = build_model(X.shape[1], [X.shape[1]] * q, q, dtype=dtype)
    model.load_arrays(*con.layers, con.W_out, con.b_out)
    return X, labels, model


def run_logged(model, X, labels, cfg, **kw):
    log = []
    res = train(model, X, labels, cfg, progress=lambda s, v: log.append((s, v)), **kw)
    return res, log


# ---------------------------------------------------------------- stop reasons
def test_threshold_at_step_zero_for_the_exact_construction():
    X, labels, model = setup(fractions=(1.0, 1.0, 1.0))
    rec = Recorder(X, labels, 3)
    res, log = run_logged(model, X, labels, TrainConfig(steps=100), snapshot_at=np.array([0, 50]),
                          recorder=rec)
    assert res.stop_reason == "threshold" and res.final_step == 0 and res.final_loss < 1e-10
    assert not res.failed and log == [(0, res.final_loss)]
    assert len(rec) == 1 and rec.last_step == 0


def test_threshold_stops_at_the_first_step_below_it():
    X, labels, model = setup()
    loss0 = float(loss_fn("mse", model(torch.as_tensor(X)), torch.as_tensor(labels), 3).detach())
    cfg = TrainConfig(lr=0.01, steps=500, loss_threshold=0.9 * loss0, patience=10_000)
    res, log = run_logged(model, X, labels, cfg)
    assert res.stop_reason == "threshold" and res.final_step > 0
    losses = [v for _, v in log]
    assert losses[-1] < cfg.loss_threshold <= min(losses[:-1])
    assert [s for s, _ in log] == list(range(res.final_step + 1))


def test_stuck():
    X, labels, model = setup()
    cfg = TrainConfig(lr=1e-12, steps=100, patience=5, stuck_tol=1e-3)
    res, log = run_logged(model, X, labels, cfg)
    assert res.stop_reason == "stuck" and res.final_step == 5 and not res.failed
    assert len(log) == 6


def test_budget():
    X, labels, model = setup()
    rec = Recorder(X, labels, 3)
    res, log = run_logged(model, X, labels, TrainConfig(lr=0.01, steps=7), snapshot_at=np.array([0, 3]),
                          recorder=rec)
    assert res.stop_reason == "budget" and res.final_step == 7
    assert [s for s, _ in log] == list(range(8))
    assert rec.arrays()["steps"].tolist() == [0, 3, 7]        # requested snapshots plus the final state
    assert res.final_loss == log[-1][1] < log[0][1]


@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_diverged_is_reported_not_raised(optimizer):
    X, labels, model = setup()
    rec = Recorder(X, labels, 3)
    res, log = run_logged(model, X, labels, TrainConfig(lr=1e100, steps=50, optimizer=optimizer),
                          snapshot_at=np.arange(51), recorder=rec)
    assert res.stop_reason == "diverged" and res.failed
    assert not np.isfinite(res.final_loss) and "learning rate" in res.message
    assert all(np.isfinite(v) for _, v in log)              # progress only sees finite losses
    arrays = rec.arrays()                                     # no snapshot of the NaN state
    assert np.isfinite(arrays["loss"]).all() and arrays["steps"].max() < res.final_step


def test_diverged_float32():
    X, labels, model = setup(dtype="float32")
    res = train(model, X, labels, TrainConfig(lr=1e30, steps=20))
    assert res.stop_reason == "diverged"


def test_learning_rate_beyond_the_dtype_is_a_clear_error():
    X, labels, model = setup(dtype="float32")
    with pytest.raises(GeomdlError, match="learning rate"):
        train(model, X, labels, TrainConfig(lr=1e100, steps=5))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_overflowing_parameters_do_not_crash_the_recorder():
    """lr 1e30 in float64: the loss stays finite but W^(l) overflows; reported, not a LinAlgError."""
    trace, res = ts.run(ts.TruncationSpeedConfig(n_per_class=20, steps=50, snapshots=6, lr=1e30))
    assert res.failed
    trace.validate()
    assert trace.failed and trace.meta["notes"]


def test_dead_network_at_step_zero():
    X, labels, model = setup()
    with torch.no_grad():
        model.hidden[1].bias.fill_(-1e3)                      # layer 2 sends every point to 0
    rec = Recorder(X, labels, 3)
    res, log = run_logged(model, X, labels, TrainConfig(steps=100), snapshot_at=np.array([0]), recorder=rec)
    assert res.stop_reason == "dead" and res.failed and res.final_step == 0
    assert "hidden layer 2" in res.message
    assert len(log) == 1
    arrays = rec.arrays()
    assert (arrays["collapsed_frac"][0, 1] > 1 - 1e-12).all()    # the recorded state shows it


def test_dead_network_during_training_is_detected():
    """Module docstring: the default experiment with lr 0.05 kills the network."""
    trace, res = ts.run(ts.TruncationSpeedConfig(lr=0.05))
    assert res.stop_reason == "dead" and res.final_step > 0
    assert trace.failed and trace.meta["stop_reason"] == "dead" and res.message in trace.meta["notes"]
    last = trace["collapsed_frac"][-1]
    assert (last > 1 - 1e-12).all(axis=1).any()              # some layer has every class fully collapsed


def test_dead_layer():
    alive = torch.tensor([[0.0, 1.0], [0.0, 0.0]])
    dead = torch.zeros((2, 2))
    assert dead_layer([alive, alive]) is None
    assert dead_layer([alive, dead, dead]) == 1
    assert dead_layer([dead, alive]) == 0


# ---------------------------------------------------------------- optimizers
@pytest.mark.parametrize(("optimizer", "momentum"), [("gd", 0.0), ("gd", 0.9), ("sgd", 0.0), ("sgd", 0.5)])
def test_optimizers_lower_the_loss(optimizer, momentum):
    X, labels, model = setup()
    before = [p.detach().clone() for p in model.parameters()]
    cfg = TrainConfig(optimizer=optimizer, momentum=momentum, lr=0.01, steps=60, batch_size=16)
    res, log = run_logged(model, X, labels, cfg)
    assert res.stop_reason == "budget" and res.final_step == 60
    assert log[-1][1] < log[0][1]
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_sgd_is_seeded():
    def final_params(seed):
        X, labels, model = setup()
        train(model, X, labels, TrainConfig(optimizer="sgd", lr=0.01, steps=30, batch_size=8, seed=seed))
        return [p.detach().clone() for p in model.parameters()]

    a, b, c = final_params(1), final_params(1), final_params(2)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))


def test_sgd_batch_larger_than_data():
    X, labels, model = setup(n=3)
    res = train(model, X, labels, TrainConfig(optimizer="sgd", lr=0.01, steps=5, batch_size=1000))
    assert res.stop_reason == "budget"


def test_gd_step_is_a_plain_gradient_step():
    """One full-batch GD step equals theta - lr * grad of the full-data loss (no hidden rescaling)."""
    X, labels, model = setup()
    lr = 0.01
    ref = ReLUMLP(3, [3, 3, 3], 3).double()
    ref.load_state_dict(model.state_dict())
    loss = loss_fn("mse", ref(torch.as_tensor(X)), torch.as_tensor(labels), 3)
    grads = torch.autograd.grad(loss, list(ref.parameters()))
    train(model, X, labels, TrainConfig(lr=lr, steps=1))
    for p, p0, g in zip(model.parameters(), ref.parameters(), grads, strict=True):
        torch.testing.assert_close(p.detach(), p0.detach() - lr * g, rtol=0, atol=1e-14)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(optimizer="adam"), "optimizer"),
    (dict(loss="l1"), "loss"),
    (dict(lr=0.0), "learning rate"),
    (dict(lr=-1.0), "learning rate"),
    (dict(lr=float("nan")), "learning rate"),
    (dict(steps=0), "steps"),
    (dict(batch_size=0), "batch size"),
    (dict(momentum=1.0), "momentum"),
    (dict(momentum=-0.1), "momentum"),
    (dict(patience=0), "patience"),
])
def test_train_config_validation(kwargs, message):
    with pytest.raises(GeomdlError, match=message):
        TrainConfig(**kwargs).validate()


# ---------------------------------------------------------------- losses
@settings(deadline=None, max_examples=40)
@given(q=st.integers(2, 6), n=st.integers(1, 30), seed=st.integers(0, 2**31 - 1))
def test_losses_match_hand_formulas(q, n, seed):
    rng = np.random.default_rng(seed)
    labels = np.concatenate([np.arange(q), rng.integers(0, q, n)])      # every class present, unequal sizes
    out = 3 * rng.standard_normal((len(labels), q))
    o, y = torch.as_tensor(out), torch.as_tensor(labels)
    N = len(labels)
    mse = sum(sum((out[r, i] - (i == labels[r])) ** 2 for i in range(q)) for r in range(N)) / (2 * N)
    counts = np.bincount(labels, minlength=q)
    sq = [sum((out[r, i] - (i == labels[r])) ** 2 for i in range(q)) for r in range(N)]
    wmse = sum(sq[r] / counts[labels[r]] for r in range(N))
    ce = sum(np.log(np.exp(out[r]).sum()) - out[r, labels[r]] for r in range(N)) / N
    assert float(loss_fn("mse", o, y, q)) == pytest.approx(mse, rel=1e-12)
    assert float(loss_fn("wmse", o, y, q)) == pytest.approx(wmse, rel=1e-12)
    assert float(loss_fn("ce", o, y, q)) == pytest.approx(ce, rel=1e-10)


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(GeomdlError, match="unknown loss 'hinge'"):
        loss_fn("hinge", torch.zeros((2, 2)), torch.tensor([0, 1]), 2)


# ---------------------------------------------------------------- determinism of a whole experiment
@pytest.mark.parametrize("optimizer", ["gd", "sgd"])
def test_truncation_speed_run_is_bit_identical(optimizer):
    cfg = ts.TruncationSpeedConfig(steps=100, snapshots=11, optimizer=optimizer)
    t1, r1 = ts.run(cfg)
    t2, r2 = ts.run(cfg)
    assert r1 == r2
    assert t1.arrays.keys() == t2.arrays.keys()
    for k in t1.arrays:
        assert t1[k].dtype == t2[k].dtype, k
        assert np.array_equal(t1[k], t2[k], equal_nan=t1[k].dtype.kind == "f"), k
    m1, m2 = dict(t1.meta), dict(t2.meta)
    m1.pop("created"), m2.pop("created")
    assert m1 == m2
    assert t1["steps"].tolist() == list(range(0, 101, 10))
    # and a different seed gives a different run
    t3, _ = ts.run(ts.TruncationSpeedConfig(steps=100, snapshots=11, optimizer=optimizer, seed=1))
    assert not np.array_equal(t1["X"], t3["X"])


def test_truncation_speed_config_round_trip_and_validation():
    cfg = ts.TruncationSpeedConfig(q=4, start_fractions=(0.3, 0.5), lr=0.003)
    assert ts.TruncationSpeedConfig.from_dict(cfg.to_dict()) == cfg
    assert cfg.layer_fractions() == [0.3, 0.5, 1.0, 1.0]
    for bad in (dict(start_fractions=()), dict(start_fractions=(0.1,) * 4), dict(start_fractions=(1.5,)),
                dict(snapshots=1), dict(q=1), dict(lr=0.0)):
        with pytest.raises(GeomdlError):
            ts.TruncationSpeedConfig(**bad).validate()
