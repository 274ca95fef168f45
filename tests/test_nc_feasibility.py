"""Exact NC feasibility (docs/math.md §9): LP answers checked independently (the neuron for yes, a Farkas certificate
for no), obviously infeasible and obviously feasible constructions, linear-algebra facts as properties, and the
sweep / CLI end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.experiments import nc_feasibility_sweep as sweep
from geomdl.math import nc_feasibility as nf


def test_feasible_answer_gives_a_neuron_that_satisfies_the_constraints():
    rng = np.random.default_rng(0)
    X, labels = nf.gaussian_mixture(3, 5, 12, 0.05, rng)
    ok, answers = nf.dataset_feasibility(X, labels, 3)
    assert ok
    for a in answers:
        z = X @ a.w + a.b                                   # independent numpy check of (*)
        assert np.allclose(z[labels == a.k], 1.0, atol=1e-8)
        assert (z[labels != a.k] <= 1e-8).all()
        relu = np.maximum(z, 0)
        assert np.allclose(relu, (labels == a.k).astype(float), atol=1e-8)   # the collapsed feature itself
        assert a.verified


def test_point_in_the_convex_hull_of_class_k_makes_it_infeasible():
    rng = np.random.default_rng(1)
    Xk = rng.standard_normal((4, 6))
    lam = np.array([0.1, 0.2, 0.3, 0.4])
    other = rng.standard_normal((5, 6))
    X = np.r_[Xk, (lam @ Xk)[None], other]                        # a class-1 point inside the hull of class 0
    labels = np.r_[np.zeros(4, int), np.ones(6, int)]
    a = nf.class_feasibility(X, labels, 0)
    assert not a.feasible and a.verified
    cert = nf.farkas_certificate(X, labels, 0)
    assert cert is not None and nf.check_certificate(X, labels, 0, *cert)[0]
    # the same data without that point: 4 points of class 0 in R^6, 5 others in general position -> feasible
    keep = np.r_[0:4, 5:10]
    b = nf.class_feasibility(X[keep], labels[keep], 0)
    assert b.feasible and b.verified
    assert nf.farkas_certificate(X[keep], labels[keep], 0) is None


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), q=st.integers(2, 4), n=st.integers(1, 4), extra=st.integers(0, 3))
def test_high_dimension_is_always_feasible(seed, q, n, extra):
    """d + 1 >= N points in general position: [X, 1] is onto, so every class has its collapsed neuron."""
    N = q * n
    rng = np.random.default_rng(seed)
    X, labels = nf.gaussian_mixture(q, n, N - 1 + extra, 0.5, rng)
    ok, answers = nf.dataset_feasibility(X, labels, q)
    assert ok and all(a.verified for a in answers)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 5), more=st.integers(1, 3), sigma=st.floats(0.01, 3.0))
def test_class_spanning_the_space_is_infeasible(seed, d, more, sigma):
    """n_k >= d + 1 generic points of class k span R^d affinely: no hyperplane holds them, so (*) fails."""
    rng = np.random.default_rng(seed)
    X, labels = nf.gaussian_mixture(2, d + more, d, sigma, rng)
    a = nf.class_feasibility(X, labels, 0)
    assert not a.feasible and a.verified


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(2, 9), n=st.integers(2, 5), sigma=st.floats(0.01, 2.0))
def test_exactly_one_of_neuron_and_certificate(seed, d, n, sigma):
    """Two different LPs (the margin LP and the Farkas alternative) never both succeed, nor both fail."""
    rng = np.random.default_rng(seed)
    X, labels = nf.gaussian_mixture(2, n, d, sigma, rng)
    delta, w, b = nf.margin_lp(X, labels, 0)
    neuron_ok = delta >= 0 and nf.check_neuron(X, labels, 0, w, b)[0]
    cert = nf.farkas_certificate(X, labels, 0)
    cert_ok = cert is not None and nf.check_certificate(X, labels, 0, *cert)[0]
    assert neuron_ok != cert_ok


def test_gaussian_mixture_shapes_and_determinism():
    X, labels = nf.gaussian_mixture(3, 4, 7, 0.2, np.random.default_rng(5))
    X2, _ = nf.gaussian_mixture(3, 4, 7, 0.2, np.random.default_rng(5))
    assert X.shape == (12, 7) and labels.tolist() == [0] * 4 + [1] * 4 + [2] * 4 and np.array_equal(X, X2)
    Xn, _ = nf.gaussian_mixture(3, 4, 7, 0.0, np.random.default_rng(5))
    assert np.allclose(np.linalg.norm(Xn, axis=1), 1.0)        # sigma 0: the unit means themselves


def test_wilson_interval():
    lo, hi = sweep.wilson(10, 40)
    assert 0 < lo < 0.25 < hi < 1
    assert sweep.wilson(0, 10)[0] == 0 and sweep.wilson(10, 10)[1] == 1


def test_sweep_is_deterministic_and_matches_the_linear_algebra(tmp_path):
    cfg = sweep.FeasibilityConfig(classes=2, n=4, ratios=(0.5, 2.5), sigmas=(0.1, 3.0), trials=6, seed=3)
    r1, r2 = sweep.run_sweep(cfg), sweep.run_sweep(cfg)
    assert r1["cells"] == r2["cells"]
    ratios, sigmas, frac, cls = sweep.grid_arrays(r1)
    assert frac.shape == (2, 2) and (frac[:, 0] == 0).all()     # d = 2 < n = 4: never
    assert (frac[:, 1] == 1).all()                              # d = 10 >= N - 1 = 7: always
    assert sum(c["ambiguous"] for c in r1["cells"]) == 0
    from scenes.figures.nc_feasibility import write_figures

    files = sweep.write_tables(r1, tmp_path) + write_figures(r1, tmp_path)
    assert {f.name for f in files} == {"nc_feasibility_grid.csv", "nc_feasibility_trials.csv",
                                       "nc_feasibility_phase.png", "nc_feasibility_phase.pdf"}
    assert len((tmp_path / "nc_feasibility_trials.csv").read_text().splitlines()) == 1 + 4 * 6


@pytest.mark.parametrize("bad", [dict(classes=1), dict(n=0), dict(ratios=()), dict(ratios=(-1.0,)),
                                 dict(sigmas=(float("nan"),)), dict(trials=0), dict(tol=0.5)])
def test_bad_sweep_config(bad):
    with pytest.raises(GeomdlError):
        sweep.FeasibilityConfig(**bad).validate()


def test_bad_data():
    with pytest.raises(GeomdlError):
        nf.class_feasibility(np.zeros((3, 2)), np.array([1, 1, 1]), 0)
    with pytest.raises(GeomdlError):
        nf.class_feasibility(np.full((2, 2), np.nan), np.array([0, 1]), 0)


def test_cli_nc_feasibility(tmp_path):
    exe = Path(sys.executable).with_name("geomdl")
    res = subprocess.run([str(exe), "experiment", "nc-feasibility", "--classes", "2", "--n", "3", "--ratios",
                          "0.5,3", "--sigmas", "0.1", "--trials", "3", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "feasible fraction over sigma 0.00" in res.stdout and "feasible fraction over sigma 1.00" in res.stdout
    assert (tmp_path / "experiments" / "nc-feasibility" / "nc_feasibility_phase.pdf").exists()
    bad = subprocess.run([str(exe), "experiment", "nc-feasibility", "--ratios", "a:b", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and bad.stderr.startswith("error:") and "Traceback" not in bad.stderr
