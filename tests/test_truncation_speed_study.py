"""The truncation-speed study: fits against closed-form curves, and a tiny end-to-end run."""

from __future__ import annotations

import subprocess
import sys
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
