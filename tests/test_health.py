"""Degenerate-run detection (geomdl.nn.health): closed-form cases, an independent plain-numpy count, and the hook in
every training experiment (a degenerate run is a failure: stop reason ``degenerate``, trace refused)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.io.trace import Trace
from geomdl.nn import health
from geomdl.nn.training import TrainResult


def brute_force_clusters(outputs, labels, rtol=health.RTOL) -> int:
    """Independent count: classes are merged by repeated passes until nothing changes (transitive closure)."""
    classes = sorted(set(labels.tolist()))
    mus = {c: outputs[labels == c].mean(0) for c in classes}
    spread = np.sqrt(((outputs - outputs.mean(0)) ** 2).sum(1).mean())
    tol = rtol * max(spread, 1e-8 * (1 + np.abs(outputs).max()))
    comp = {c: {c} for c in classes}
    changed = True
    while changed:
        changed = False
        for a in classes:
            for b in classes:
                if b not in comp[a] and np.linalg.norm(mus[a] - mus[b]) <= tol:
                    merged = comp[a] | comp[b]
                    for c in merged:
                        comp[c] = merged
                    changed = True
    return len({frozenset(v) for v in comp.values()})


def one_hot_outputs(q: int, n: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(q), n)
    return np.eye(q)[labels] + noise * rng.standard_normal((q * n, q)), labels


@pytest.mark.parametrize("q", range(2, 9))
def test_healthy_one_hot_outputs(q):
    out, labels = one_hot_outputs(q, 20, 0.05)
    assert health.output_clusters(out, labels) == [[j] for j in range(q)]
    assert health.degenerate_reason(out, labels, q, start_accuracy=1.0) is None


@pytest.mark.parametrize("q", range(2, 9))
def test_classes_sent_to_one_output_are_degenerate(q):
    """Classes 0..q-2 share the output of class 0 (what a too-large step does): 2 clusters."""
    out, labels = one_hot_outputs(q, 20, 0.0)
    out[labels < q - 1] = out[0]
    groups = health.output_clusters(out, labels)
    assert groups == ([list(range(q - 1)), [q - 1]] if q > 2 else [[0], [1]])
    reason = health.degenerate_reason(out, labels, q)
    if q == 2:
        assert reason is None
    else:
        assert reason.startswith(f"degenerate run: 2 distinct output clusters for {q} classes")
        assert "\n" not in reason


def test_constant_output_is_one_cluster():
    labels = np.repeat(np.arange(4), 5)
    out = np.tile([0.25, 0.25, 0.25, 0.25], (20, 1)) + 1e-17 * np.arange(20)[:, None]
    assert health.output_clusters(out, labels) == [[0, 1, 2, 3]]
    assert "1 distinct output clusters for 4 classes" in health.degenerate_reason(out, labels, 4)


def test_accuracy_below_start_is_degenerate_and_equal_is_not():
    out, labels = one_hot_outputs(3, 10, 0.0)
    out[0] = [0, 1, 0]                                  # one point of class 0 misclassified: 29 of 30
    assert health.accuracy(out, labels) == pytest.approx(29 / 30)
    assert health.degenerate_reason(out, labels, 3, start_accuracy=29 / 30) is None
    r = health.degenerate_reason(out, labels, 3, start_accuracy=1.0)
    assert r == "degenerate run: accuracy 96.7% at the end, below its start 100.0%"


def test_verdict_does_not_hinge_on_rtol():
    """Merged classes sit ~1e-16 of the scale apart, distinct ones ~1: any rtol in 1e-9..1e-1 agrees."""
    out, labels = one_hot_outputs(5, 10, 0.0)
    out[labels == 3] = out[labels == 2][0] + 1e-16
    for rtol in (1e-9, 1e-6, 1e-3, 1e-1):
        assert len(health.output_clusters(out, labels, rtol)) == 4


def test_shapes_are_checked():
    with pytest.raises(ValueError):
        health.degenerate_reason(np.zeros((3, 2)), np.zeros(4, int), 2)


@settings(max_examples=60, deadline=None)
@given(q=st.integers(2, 8), n=st.integers(1, 6), seed=st.integers(0, 2**31 - 1),
       n_merge=st.integers(0, 7), scale=st.floats(1e-3, 1e3))
def test_cluster_count_matches_an_independent_count(q, n, seed, n_merge, scale):
    """Random outputs with some classes' centroids forced together, at any scale: the union-find count equals
    the transitive-closure count, and is Q minus the number of merged classes."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(q), n))
    out = scale * rng.standard_normal((len(labels), q))
    merge = rng.choice(q, size=min(n_merge, q - 1), replace=False)
    target = rng.integers(q)
    while target in merge:
        target = (target + 1) % q
    for c in merge:   # shift class c so that its centroid equals the target's
        out[labels == c] += out[labels == target].mean(0) - out[labels == c].mean(0)
    got = len(health.output_clusters(out, labels))
    assert got == brute_force_clusters(out, labels)
    assert got == q - len(merge)
    assert (health.degenerate_reason(out, labels, q) is None) == (len(merge) == 0)


def test_mark_degenerate_keeps_failures_and_the_original_reason():
    out, labels = one_hot_outputs(3, 5, 0.0)
    bad = out.copy()
    bad[labels == 1] = bad[0]
    dead = TrainResult("dead", 3, 0.5, "dead network")
    assert health.mark_degenerate(dead, bad, labels, 3) is None and dead.stop_reason == "dead"
    ok = TrainResult("budget", 10, 0.01, "step budget 10 reached")
    assert health.mark_degenerate(ok, out, labels, 3, 1.0) is None and ok.stop_reason == "budget"
    r = TrainResult("stuck", 10, 0.2, "loss stuck")
    assert health.mark_degenerate(r, bad, labels, 3, 1.0) is not None
    assert r.stop_reason == "degenerate" and r.failed
    assert r.message.endswith("(training stopped: stuck: loss stuck)")
    assert Trace(meta={"stop_reason": "degenerate"}).failed
    assert set(health.FAILURES) == {"diverged", "dead", "degenerate"}


def test_degenerate_truncation_speed_run_is_a_failure():
    """Q=5, seed 1 with the old fixed lr 0.01 ends stuck with two output clusters (one for classes 0, 2, 3, one
    for 1, 4): stop reason degenerate, the verdict in the trace's metadata, the renderers refuse it unless
    forced."""
    from geomdl import experiments
    from geomdl.errors import GeomdlError
    from scenes.render import check_renderable

    tr, res = experiments.run("truncation-speed", q=5, seed=1, lr=0.01, steps=1200, snapshots=5)
    assert res.stop_reason == "degenerate" and res.failed, res.message
    assert "distinct output clusters for 5 classes" in res.message and "(training stopped: stuck" in res.message
    assert tr.meta["stop_reason"] == "degenerate" and tr.failed
    assert tr.meta["health"]["output_clusters"] < 5 and tr.meta["health"]["start_accuracy"] == 1.0
    with pytest.raises(GeomdlError, match="degenerate"):
        check_renderable(tr)
    check_renderable(tr, force=True)


def test_healthy_layers_run_records_its_health():
    from geomdl import experiments

    tr, res = experiments.run("layers", dataset="clustered", q=3, n_per_class=40, steps=300,
                              thresholds=(0.1,))
    assert not res.failed, res.message
    assert tr.meta["health"]["output_clusters"] == 3
