"""The truncation-speed study: fits against closed-form curves, and a tiny end-to-end run."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.experiments import truncation_speed as ts
from geomdl.experiments import truncation_speed_fits as study

GEOMDL = str(Path(sys.executable).with_name("geomdl"))


@settings(deadline=None, max_examples=30)
@given(r=st.floats(1e-3, 2e-2), n0=st.floats(2.0, 20.0))
def test_exponential_curve_gives_its_rate_and_accelerates(r, n0):
    t = np.arange(0, 400, 4)
    n = n0 * np.exp(r * t)
    start, end, rate, r2, c, _ = study.fit_run(t, n, rise=0.9)
    assert start == 0
    assert rate == pytest.approx(r, rel=1e-6)
    assert r2 == pytest.approx(1.0, abs=1e-9)
    assert c > 0  # dn/dt = r n
    assert study.verdict(c * 0.5, c * 2).startswith("accelerating")


def test_saturating_curve_decelerates():
    t = np.arange(0, 1000, 5)
    n = 200 - 150 * np.exp(-t / 150)          # dn/dt = (200 - n)/150: slope -1/150
    _, _, _, _, c, c_r2 = study.fit_run(t, n, rise=0.9)
    assert c == pytest.approx(-1 / 150, rel=0.05)
    assert c_r2 > 0.99
    assert study.verdict(-0.01, -0.001).startswith("decelerating")
    assert study.verdict(-0.01, 0.01).startswith("inconclusive")


def test_rising_window_starts_at_the_dip():
    n = np.array([40, 30, 20, 25, 40, 60, 80, 95, 100, 100])
    start, end = study.rising_window(n, 0.9)
    assert start == 2
    assert n[end - 1] >= 20 + 0.9 * 80 and n[end - 2] < 20 + 0.9 * 80


def test_mean_ci_contains_the_mean_and_narrows():
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 0.1, 50)
    m, lo, hi = study.mean_ci(x)
    assert lo < m < hi and lo < 1.0 < hi
    m2, lo2, hi2 = study.mean_ci(x[:5])
    assert hi2 - lo2 > hi - lo


def test_bad_study_configs():
    with pytest.raises(GeomdlError, match="at least 2 seeds"):
        study.StudyConfig(seeds=1).validate()
    with pytest.raises(GeomdlError, match="start fractions"):
        study.StudyConfig(start_fractions=(0.0,)).validate()


def test_small_study_end_to_end(tmp_path):
    base = ts.TruncationSpeedConfig(steps=80, snapshots=17, n_per_class=40)
    cfg = study.StudyConfig(base=base, start_fractions=(0.2, 0.5), seeds=2)
    result = study.run_study(cfg)
    assert len(result["curves"]) == 4
    assert {s["start_fraction"] for s in result["summary"]} == {0.2, 0.5}
    c = result["curves"][0]
    assert c["n"][0] == 8  # round(0.2 * 40) collapsed at the start
    study.write_tables(result, tmp_path)
    assert (tmp_path / "counts.csv").read_text().count("\n") == 1 + 4 * 17


def test_cli_experiment_writes_figures_and_tables(tmp_path):
    proc = subprocess.run([GEOMDL, "experiment", "truncation-speed", "--seeds", "2", "--start-fractions", "0.2",
                           "--steps", "60", "--snapshots", "13", "--set", "n_per_class=30", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "experiments" / "truncation-speed"
    for name in ("counts.csv", "fits.csv", "summary.csv", "summary.json", "truncation_speed.png",
                 "truncation_speed.pdf"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "truncation_speed.pdf").read_bytes()[:4] == b"%PDF"
    assert "start 0.2:" in proc.stdout


def test_cli_experiment_bad_input(tmp_path):
    proc = subprocess.run([GEOMDL, "experiment", "truncation-speed", "--seeds", "1", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")] == [
        "error: need at least 2 seeds for a confidence interval (got 1)"]


# ---------------------------------------------------------------- contraction rate (issue 11)
from geomdl.math import contraction  # noqa: E402


def synthetic_layer(t, s_of_t, n_of_t, N=60, M=3, seed=0):
    """Points of one class at base + s(t) r_i u_i (fixed directions u_i, radii r_i), the first n(t) of them
    collapsed onto the base point (which moves: the rate must not depend on it). Returns T, base, collapsed."""
    rng = np.random.default_rng(seed)
    U = rng.standard_normal((N, M))
    U /= np.linalg.norm(U, axis=1, keepdims=True)
    radii = rng.uniform(0.5, 1.5, N)
    S = len(t)
    base = np.stack([np.array([np.sin(x), np.cos(x), 0.1 * x]) for x in t])
    T = base[:, None, :] + s_of_t[:, None, None] * radii[None, :, None] * U[None]
    collapsed = np.arange(N)[None, :] < np.floor(n_of_t)[:, None]
    T[collapsed] = np.broadcast_to(base[:, None, :], T.shape)[collapsed]
    assert T.shape == (S, N, M)
    return T, base, collapsed


@settings(deadline=None, max_examples=25)
@given(lam=st.floats(0.05, 3.0), dt=st.floats(0.01, 0.5))
def test_exact_exponential_gives_its_rate(lam, dt):
    t = np.arange(40) * min(dt, 10 / (39 * lam))             # s falls to e^-10 at most (rounding stays small)
    n = np.minimum(np.arange(40), 50).astype(float)          # points keep collapsing: the common sets change
    T, base, coll = synthetic_layer(t, np.exp(-lam * t), n)
    r = contraction.contraction_rates(t, T, base, coll, np.ones(60, bool))
    assert np.allclose(r["rate"], lam, rtol=1e-7)
    assert np.allclose(r["n"], (n[:-1] + n[1:]) / 2)


def test_rate_growing_with_n_is_recovered_with_its_slope():
    """lambda = a + b n with n(t) = n0 + k t: s = exp(-(a + b n0) t - b k t^2 / 2). Over each interval the
    estimate is the interval mean of lambda, i.e. lambda at the midpoint, where n is the midpoint count."""
    a, b, n0, k = 0.2, 0.01, 5.0, 20.0
    t = np.linspace(0, 2, 41)
    n = n0 + k * t
    s = np.exp(-(a + b * n0) * t - b * k * t ** 2 / 2)
    rng_n = np.floor(n)      # the collapsed set (integer) does not enter the spread's formula here
    T, base, coll = synthetic_layer(t, s, rng_n, N=80)
    r = contraction.contraction_rates(t, T, base, coll, np.ones(80, bool))
    t_mid = (t[:-1] + t[1:]) / 2
    assert np.allclose(r["rate"], a + b * (n0 + k * t_mid), rtol=1e-7)
    assert contraction.slope(n0 + k * t_mid, r["rate"]) == pytest.approx(b, rel=1e-6)
    per_seed = [(n0 + k * t_mid, r["rate"] + 0.001 * i) for i in range(5)]
    out = contraction.slope_ci(per_seed)
    assert out["verdict"] == "grows with n" and out["slope_mean"] == pytest.approx(b, rel=1e-6)


def test_saturating_spread_has_a_falling_rate():
    """s = s_inf + (s0 - s_inf) e^{-c t}: lambda(t) = c (s - s_inf) / s falls to 0; the interval estimate is
    within O(dt^2) of lambda at the midpoint."""
    c, s0, s_inf = 1.5, 1.0, 0.2
    t = np.linspace(0, 4, 401)
    s = s_inf + (s0 - s_inf) * np.exp(-c * t)
    T, base, coll = synthetic_layer(t, s, np.zeros_like(t))
    r = contraction.contraction_rates(t, T, base, coll, np.ones(60, bool))
    tm = (t[:-1] + t[1:]) / 2
    sm = s_inf + (s0 - s_inf) * np.exp(-c * tm)
    assert np.allclose(r["rate"], c * (sm - s_inf) / sm, atol=1e-4)
    assert np.all(np.diff(r["rate"]) < 0)
    per_seed = [(np.linspace(0, 50, len(tm)), r["rate"] * (1 + 0.01 * i)) for i in range(4)]
    assert contraction.slope_ci(per_seed)["verdict"] == "falls as n grows"


def test_rates_need_enough_points_and_increasing_times():
    t = np.arange(5.0)
    T, base, coll = synthetic_layer(t, np.exp(-t), np.array([0, 50, 58, 59, 60.0]))
    r = contraction.contraction_rates(t, T, base, coll, np.ones(60, bool), min_points=3)
    assert r["points"].tolist() == [10, 2, 1, 0]
    assert np.isfinite(r["rate"][0]) and np.isnan(r["rate"][1:]).all()
    with pytest.raises(GeomdlError, match="increase"):
        contraction.contraction_rates(t[::-1], T, base, coll, np.ones(60, bool))


def test_binned_ci_averages_per_seed_means():
    per_seed = [(np.array([1.0, 2.0, 15.0]), np.array([1.0, 3.0, 10.0])),
                (np.array([5.0, 12.0]), np.array([4.0, np.nan]))]
    rows = contraction.binned_ci(per_seed, np.array([0.0, 10.0, 20.0]))
    assert rows[0]["seeds"] == 2 and rows[0]["rate_mean"] == pytest.approx((2.0 + 4.0) / 2)
    assert rows[0]["rate_ci_low"] < 3.0 < rows[0]["rate_ci_high"]
    assert rows[1]["seeds"] == 1 and np.isnan(rows[1]["rate_ci_low"])


def test_small_contraction_study_end_to_end(tmp_path):
    from test_figures import check

    from scenes.figures import style
    from scenes.figures.truncation_speed import _why_no_rate, plot_contraction

    cfg = study.ContractionConfig(q=3, seeds=2, n_per_class=40, min_rise=4, bin_width=10, random_steps=400,
                                  random_snapshots=41, random_lr=0.02,
                                  partial=ts.TruncationSpeedConfig(snapshots=41, steps=300))
    res = study.run_contraction_study(cfg)
    assert {r["setting"] for r in res["runs"]} == {"partial", "random"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # (an empty panel's legend warns: a blank panel must say why instead)
        files = study.write_contraction_tables(res, tmp_path) + plot_contraction(res, tmp_path)
        for name in ("column", "page"):     # within the preset's width (a column stacks the two settings)
            with style.size(name):
                check(plot_contraction(res, tmp_path / name), name)
    assert all(f.exists() and f.stat().st_size > 0 for f in files)
    assert {f.name for f in files} >= {"contraction_rates.csv", "contraction_rate.png", "contraction_rate.pdf"}
    partial = next(g for g in res["summary"] if g["setting"] == "partial" and g["group"] == "pooled")
    assert partial["seeds_measured"] == 2
    # this tiny random setting measures no pair: its empty panels say so, with the threshold
    assert not any(r["pairs"] for r in res["runs"] if r["setting"] == "random")
    assert "min_rise = 4" in _why_no_rate(res, "random")
    some = {**res, "runs": [{**r, "pairs": 1} for r in res["runs"]]}
    assert f"min_points = {cfg.min_points}" in _why_no_rate(some, "random")


def test_bad_contraction_configs():
    for bad in (dict(seeds=1), dict(settings=("nope",)), dict(min_points=1), dict(random_lr=0.0)):
        with pytest.raises(GeomdlError):
            study.ContractionConfig(**bad).validate()


@pytest.mark.parametrize(("args", "needle", "code"), [
    (["--setting", "nope"], "unknown --setting 'nope'", 2),
    (["--seeds", "1"], "need at least 2 seeds", 1),
    (["--set", "bogus=1"], "contraction-rate has no parameter 'bogus'", 2),
    (["--set", "random_lr=fast"], "bad value 'fast' for random_lr", 2),
    (["--q", "9"], "checked for Q = 2..8 only", 1),
])
def test_cli_contraction_rate_bad_input(tmp_path, args, needle, code):
    proc = subprocess.run([GEOMDL, "experiment", "contraction-rate", *args, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == code, proc.stderr   # 2: a usage error (unknown choice, unparseable value)
    errs = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(errs) == 1 and needle in errs[0], proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "experiments").exists()
