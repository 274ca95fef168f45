"""The interactive HTML viewer (scenes/clips/viewer.py, scenes/backends/html_viewer.py, ``--format html``).

Data: quantisation, pinning, ray clipping and decimation against plain numpy, with hypothesis over shapes and
Q = 2..8; the page's embedded data decoded and compared with an independent projection of the trace and
independent collapsed counts. Page: self-contained (no network reference), within 15 MB, written atomically.

Browser: the page is opened in a real headless Chromium started here (selenium + Debian's chromium-driver, which
scripts/setup.sh installs): it loads with no console errors, moving the slider changes the drawn points, a class
toggle hides that class (its colour leaves the rendered panel), a screenshot is not blank. The default suite
runs that on one small trace; ``-m slow`` opens a page of every trace kind, the dark theme, play and the
headline trace's page. Skipped, with the reason, only where chromium, its driver or selenium is missing.
"""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.io.trace import Trace
from scenes.backends import html_viewer as hv
from scenes.clips import viewer as vm

ROOT = Path(__file__).resolve().parent.parent
pytest.importorskip("plotly", reason="the viewer needs plotly (the 'viewer' extra; scripts/setup.sh installs it)")


# -------------------------------------------------------------------------------------------- helpers
def page_json(text: str) -> dict:
    m = re.search(r'<script type="application/json" id="geomdl-data">(.*?)</script>', text, re.S)
    assert m, "no data block in the page"
    return json.loads(m.group(1))


def decode(b64: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype=dtype)


def small_trace(q: int, n_per_class: int = 8, steps: int = 20, snapshots: int = 4) -> Trace:
    from geomdl.experiments import truncation_speed as ts

    cfg = ts.TruncationSpeedConfig(q=q, n_per_class=n_per_class, steps=steps, snapshots=snapshots)
    return ts.run(cfg)[0]


# -------------------------------------------------------------------------------------------- data model
@given(st.integers(1, 200), st.floats(0.01, 100), st.integers(0, 2**31 - 1))
def test_quantise_round_trip(n, half, seed):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=3) * 10
    P = c + rng.uniform(-half, half, size=(n, 3))
    P[rng.random(n) < 0.1] = np.nan
    q = vm.quantise(P, c, half)
    assert q.dtype == np.dtype("<i2")
    back = vm.dequantise(q, c, half)
    ok = np.isfinite(P)
    assert np.array_equal(np.isnan(back), ~ok)
    assert np.all(np.abs(back[ok] - P[ok]) <= half / (2 * vm.QMAX) * (1 + 1e-9) + 1e-12 * np.abs(c).max())


@given(st.integers(1, 100), st.floats(0.1, 10), st.integers(0, 2**31 - 1))
def test_pin_moves_only_outside_points_onto_the_cube_along_their_ray(n, half, seed):
    rng = np.random.default_rng(seed)
    c = rng.normal(size=3)
    P = c + rng.normal(size=(n, 3)) * half * 1.5
    out, off = vm.pin(P, c, half)
    inf = np.max(np.abs(P - c), axis=1)
    assert np.array_equal(off, inf > half)
    assert np.array_equal(out[~off], P[~off])
    assert np.allclose(np.max(np.abs(out[off] - c), axis=1), half)
    # same direction from the centre
    d0, d1 = P[off] - c, out[off] - c
    assert np.allclose(np.cross(d0, d1), 0, atol=1e-9 * max(1.0, half) ** 2)
    assert np.all(np.sum(d0 * d1, axis=1) > 0)


@given(st.integers(1, 12), st.integers(0, 2**31 - 1))
def test_clip_rays_end_inside_the_cube_on_the_same_segment(R, seed):
    rng = np.random.default_rng(seed)
    c, half = np.zeros(3), 1.0
    base = rng.uniform(-0.9, 0.9, size=3)
    ends = base + rng.normal(size=(R, 3)) * 2
    seg = vm.clip_rays(base, ends, c, half)
    assert seg.shape == (R, 2, 3)
    assert np.allclose(seg[:, 0], base)
    assert np.all(np.abs(seg[:, 1]) <= half + 1e-9)
    inside = np.all(np.abs(ends) <= half, axis=1)
    assert np.allclose(seg[inside, 1], ends[inside])
    # the end lies on base -> ends: cross product zero, and not beyond the end
    d, e = ends - base, seg[:, 1] - base
    assert np.allclose(np.cross(d, e), 0, atol=1e-9)
    t = np.sum(d * e, axis=1) / np.sum(d * d, axis=1)
    assert np.all((t >= -1e-12) & (t <= 1 + 1e-12))
    # a ray leaving the cube ends on its surface
    assert np.allclose(np.max(np.abs(seg[~inside, 1]), axis=1), half)


@given(st.integers(1, 400), st.integers(2, 3000), st.integers(2, 8), st.floats(1e3, 5e7), st.integers(0, 99))
def test_plan_fits_the_budget_and_keeps_ends_and_classes(S, N, Q, budget, seed):
    labels = np.random.default_rng(seed).integers(0, Q, N)
    labels[:Q] = np.arange(Q)                                 # every class present
    per, fixed = 30.0, 1000.0
    snaps, idx = vm.plan(S, N, per, fixed, budget, labels)
    assert snaps[0] == 0 and snaps[-1] == S - 1 and np.all(np.diff(snaps) > 0)
    assert np.all(np.diff(idx) > 0) and idx[-1] < N
    assert set(labels[idx]) == set(range(Q))                  # decimation keeps every class
    if fixed + N * S * per <= budget:
        assert len(snaps) == S and len(idx) == N              # nothing dropped when it fits
    elif len(snaps) > min(S, vm.MIN_SNAPSHOTS) or len(idx) > Q:
        assert fixed + len(idx) * len(snaps) * per <= budget * 1.02 + per * len(snaps) * Q
    if len(idx) < N:                                          # points go only after snapshots hit the floor
        assert len(snaps) <= max(min(S, vm.MIN_SNAPSHOTS), 1)
    # each class keeps about its share
    for j in range(Q):
        share = np.mean(labels == j) * len(idx)
        assert abs(np.sum(labels[idx] == j) - share) <= 1 + 0.02 * len(idx)


@pytest.mark.parametrize("q", [2, 4, 8])
def test_page_data_matches_an_independent_projection_and_counts(q):
    tr = small_trace(q)
    a = tr.arrays
    d = page_json(hv.viewer_html(tr))
    S, L, N, M = a["truncated"].shape
    assert d["Q"] == q and len(d["panels"]) == L + 2 and d["steps"] == a["steps"].tolist()
    # independent 3-D coordinates: M = 3 traces show input space centred on the data mean, else the PCA
    if M == 3:
        mean, comps = a["X"].mean(axis=0), np.eye(3)
    else:
        mean, comps = a["pca_mean"], a["pca_components"]
    T3 = (a["truncated"] - mean) @ comps.T
    X3 = (a["X"] - mean) @ comps.T
    for l in range(L + 1):
        p = d["panels"][l]
        c, h = np.array(p["center"]), p["half"]
        pos = decode(p["pos"], "<i2").reshape(p["S"], N, 3)
        got = vm.dequantise(pos, c, h)
        want = X3[None] if l == 0 else T3[:, l - 1]
        inside = np.all(np.abs(want - c) <= h, axis=-1)
        assert inside.mean() > 0.5
        assert np.allclose(got[inside], want[inside], atol=h / vm.QMAX)
        # the others sit on the cube's faces
        assert np.allclose(np.max(np.abs(got[~inside] - c), axis=-1), h, atol=2 * h / vm.QMAX)
        if l:
            k = decode(p["k"], "<i1").reshape(S, N)
            assert np.array_equal(k, a["k_trunc"][:, l - 1])
            assert p["width"] == tr.meta["widths"][l - 1]
    # collapsed counts per layer and class, from k_trunc == width
    widths = np.array(tr.meta["widths"])
    want = np.zeros((S, L, q), int)
    for s in range(S):
        for l in range(L):
            for j in range(q):
                want[s, l, j] = int(np.sum((a["k_trunc"][s, l] == widths[l]) & (a["labels"] == j)))
    assert np.array_equal(np.array(d["counts"]), want)
    assert np.allclose(np.array(d["counts"]) / np.bincount(a["labels"], minlength=q), a["collapsed_frac"])


def network_trace(tmp_path, M: int, widths: list[int], q: int = 3) -> Trace:
    """A recorded user network (kind ``network``, geomdl record): full for small ``M``, projected for large."""
    import torch
    from torch import nn

    from geomdl.io import trace as trace_mod
    from geomdl.io.recorder import Recorder

    rng = np.random.default_rng(0)
    X = np.concatenate([1.5 * rng.standard_normal(M) + 0.4 * rng.standard_normal((15, M)) for _ in range(q)])
    y = np.repeat(np.arange(q), 15)
    torch.manual_seed(0)
    dims, mods = [M, *widths], []
    for a, b in zip(dims[:-1], dims[1:], strict=False):
        mods += [nn.Linear(a, b), nn.ReLU()]
    net = nn.Sequential(*mods, nn.Linear(dims[-1], q)).double()
    rec = Recorder.from_module(net, X, y)
    for s in (0, 4, 8):
        with torch.no_grad():
            for m in net:
                if isinstance(m, nn.Linear):
                    m.bias.add_(0.3)
        rec.snapshot(s)
    return trace_mod.load(rec.save(tmp_path / f"net{M}.npz", title="my net"))


@pytest.mark.parametrize("M, widths", [(2, [100]), (3, [3, 3]), (20, [30, 10])])
@pytest.mark.parametrize("view", ["input", "layer"])
def test_network_traces_wide_square_and_projected(tmp_path, M, widths, view):
    tr = network_trace(tmp_path, M, widths)
    d = page_json(hv.viewer_html(tr, view=view))
    a = tr.arrays
    L, N = len(widths), len(a["X"])
    assert [p["key"] for p in d["panels"]] == ["input", *[f"layer{l + 1}" for l in range(L)], "outputs"]
    assert d["loss"] == [None] * 3                                  # no loss recorded: shown as n/a
    for l in range(L):
        p = d["panels"][l + 1]
        k = decode(p["k"], "<i1" if p["kbytes"] == 1 else "<i2").reshape(3, N)
        assert np.array_equal(k, a["k_trunc"][:, l]) and p["width"] == widths[l]
        if view == "layer":                                         # each layer's activations in its own PCA
            c, h = np.array(p["center"]), p["half"]
            got = vm.dequantise(decode(p["pos"], "<i2").reshape(3, N, 3), c, h)
            want = a["hidden_proj"][:, l]
            inside = np.all(np.abs(want - c) <= h, axis=-1)
            assert np.allclose(got[inside], want[inside], atol=h / vm.QMAX)
    if view == "input" and M > 3:                                   # projected: the stored projections
        p = d["panels"][1]
        c, h = np.array(p["center"]), p["half"]
        got = vm.dequantise(decode(p["pos"], "<i2").reshape(3, N, 3), c, h)
        want = a["truncated_proj"][:, 0]
        inside = np.all(np.abs(want - c) <= h, axis=-1)
        assert inside.any() and np.allclose(got[inside], want[inside], atol=h / vm.QMAX)


def test_decimation_is_said_on_the_page_and_counts_use_every_point(small_run):
    tr = small_run[0]
    js = len(hv.plotly_js()[0].encode())
    # a budget leaving room for 2 snapshots x 10 points or so: both decimations happen
    text = hv.viewer_html(tr, max_mb=(js + hv.OVERHEAD + 3000) / 1e6)
    d = page_json(text)
    N, S = len(tr["X"]), tr.n_snapshots
    assert len(d["labels"]) < N
    assert "decimated" in " ".join(d["notes"])
    assert re.search(rf"{len(d['labels'])} of {N} points", " ".join(d["notes"]))
    assert d["sTotal"] == S
    full = page_json(hv.viewer_html(tr))
    assert f"{S} of {S} snapshots" in full["notes"][0] and "decimated" not in full["notes"][0]
    kept = d["snapshots"]
    assert np.array_equal(np.array(d["counts"]), np.array(full["counts"])[kept])


def test_mathtext_labels_become_html():
    assert hv.html_text("layer 2: $T_{2}(X)$") == "layer 2: <i>T</i><sub>2</sub>(<i>X</i>)"
    assert hv.html_text("$\\lambda$ in R^3") == "<i>λ</i> in R<sup>3</sup>"
    assert hv.html_text("train_acc") == "train_acc"
    assert hv.html_text("<b>&") == "&lt;b&gt;&amp;"


# -------------------------------------------------------------------------------------------- page and API
def test_page_is_self_contained_atomic_and_within_the_limit(small_run, tmp_path):
    tr = small_run[0]
    out = hv.write_viewer(tr, tmp_path / "v.html", theme="dark")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert out.stat().st_size <= hv.MAX_MB * 1e6
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", text)       # nothing loaded from elsewhere
    assert "Plotly" in text and page_json(text)["theme"] == "dark"
    assert [p.name for p in tmp_path.iterdir()] == ["v.html"]                 # no temp file left
    # a failed write leaves the earlier page whole
    bad = Trace({"kind": "mnist-thresholds", "Q": 2, "M": 2}, {"X": np.zeros((2, 2)), "labels": np.arange(2)})
    with pytest.raises(GeomdlError, match="no per-layer panels"):
        hv.write_viewer(bad, out)
    assert out.read_text(encoding="utf-8") == text
    with pytest.raises(GeomdlError, match="over the 5 MB limit|leaves no room"):
        hv.write_viewer(tr, tmp_path / "w.html", max_mb=5)
    assert not (tmp_path / "w.html").exists()


def test_a_kind_without_panels_is_one_line_error():
    bad = Trace({"kind": "nc-feasibility", "Q": 2, "M": 2}, {"X": np.zeros((2, 2)), "labels": np.arange(2)})
    with pytest.raises(GeomdlError) as e:
        hv.viewer_html(bad)
    assert "\n" not in str(e.value) and "'nc-feasibility' trace has no per-layer panels" in str(e.value)


def test_render_api_and_notebook_display(small_run, tmp_path):
    from scenes.render import render

    out = render(small_run[0], fmt="html", out=tmp_path, stem="v")
    assert [p.name for p in out] == ["v.html"]
    inline = out[0]._repr_html_()                                   # a render result displays inline
    assert inline.startswith("<iframe srcdoc=") and "Plotly" in inline
    shown = hv.show(small_run[0])
    assert "<iframe" in shown._repr_html_() and len(shown) <= hv.MAX_MB * 1e6
    assert hv.show(out[0]).page == out[0].read_text(encoding="utf-8")


def test_a_trace_displays_inline_in_ipython(monkeypatch, small_run):
    """scenes registers a text/html formatter for Trace in a running IPython shell (IPython itself may be
    absent here: the shell is a stand-in with IPython's formatter API)."""
    import types

    import scenes

    registered = {}

    class Formatter:
        def for_type_by_name(self, module, name, func):
            registered[(module, name)] = func

    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(formatters={"text/html": Formatter()}))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert scenes.register_notebook_display()
    html = registered[("geomdl.io.trace", "Trace")](small_run[0])
    assert html.startswith("<iframe srcdoc=") and "geomdl-data" in html


def test_importing_geomdl_and_render_does_not_import_plotly():
    code = ("import sys, geomdl, geomdl.io.trace, scenes, scenes.render; "
            "print('plotly' in sys.modules, 'scenes.backends.html_viewer' in sys.modules)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert res.stdout.split() == ["False", "False"], res.stderr


def test_cli_format_html(small_run, tmp_path):
    from test_cli import error_lines, geomdl

    path = small_run[0].save(tmp_path / "t.npz")
    res = geomdl("render", "truncation-speed", "--trace", path, "--format", "html", "--out", tmp_path / "o",
                 cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    page = tmp_path / "o" / "truncation-speed" / "t_viewer_light.html"
    assert page.exists() and str(page) in res.stdout
    assert page_json(page.read_text(encoding="utf-8"))["kind"] == "truncation-speed"
    bad = geomdl("render", "flows", "--trace", path, "--format", "html", "--out", tmp_path / "o", cwd=tmp_path)
    assert bad.returncode == 1 and len(error_lines(bad.stderr)) == 1 and "Traceback" not in bad.stderr


# -------------------------------------------------------------------------------------------- browser
def _browser_missing() -> str | None:
    for exe in ("chromium", "chromedriver"):
        if shutil.which(exe) is None:
            return f"{exe} is not installed (scripts/setup.sh installs Debian's chromium and chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (the dev extra; scripts/setup.sh installs it)"
    return None


needs_browser = pytest.mark.skipif(_browser_missing() is not None, reason=str(_browser_missing()))


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = shutil.which("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader", "--window-size=1400,1000", "--disable-extensions"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=opts)
    driver.set_page_load_timeout(120)
    yield driver
    driver.quit()


def open_page(driver, path: Path, timeout: float = 90) -> list[dict]:
    """Load the page and wait until every panel is drawn; returns the console's errors so far."""
    driver.get(path.resolve().as_uri())
    wait_for(driver, "return document.body.dataset.ready === '1' && document.body.dataset.drawn === "
                     "document.body.dataset.snapshot", timeout)
    return errors(driver)


def errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def wait_for(driver, script: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if driver.execute_script(script):
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for: {script}")


def wait_drawn(driver, s: int, timeout: float = 60) -> None:
    wait_for(driver, f"return document.body.dataset.drawn === '{s}'", timeout)
    time.sleep(0.4)                                  # WebGL frame after the last restyle


def png(element) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB")).astype(int)


def colour_pixels(img: np.ndarray, hex_colour: str, tol: float = 40) -> int:
    rgb = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int(np.sum(np.linalg.norm(img - rgb, axis=-1) < tol))


def layer_x(driver, key: str, trace_index: int = 0) -> list:
    return driver.execute_script(f"return document.getElementById('plot-{key}').data[{trace_index}].x")


@needs_browser
def test_page_in_a_real_browser(browser, small_run, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    from scenes.clips.base import PALETTE

    tr = small_run[0]
    page = hv.write_viewer(tr, tmp_path / "v.html")
    assert open_page(browser, page) == []
    # not blank: the input panel shows every class's colour on the background
    box = browser.find_element(By.ID, "plot-input")
    img = png(box)
    assert len(np.unique(img.reshape(-1, 3), axis=0)) > 20
    for j in range(tr.meta["Q"]):
        assert colour_pixels(img, PALETTE[j]) > 30, f"class {j + 1} not drawn"
    # hover content: each point's index in the trace, its class (from 1) and its truncation state k
    a, w1 = tr.arrays, tr.meta["widths"][0]
    for j in range(tr.meta["Q"]):
        t = browser.execute_script(f"const t=document.getElementById('plot-layer1').data[{j}];"
                                   "return [t.customdata, t.text, t.hovertemplate]")
        idx = np.flatnonzero(a["labels"] == j)
        assert t[0] == idx.tolist() and f"class {j + 1}<" in t[2] and "k = %{text}" in t[2]
        assert [int(x.split(" of ")[0]) for x in t[1]] == a["k_trunc"][0, 0, idx].tolist()
        assert all(x.split(" of ")[1].startswith(str(w1)) for x in t[1])
    # moving the slider (keyboard, as a user) changes the drawn points of the layer panels and the readout
    before_x, before_img = layer_x(browser, "layer1"), png(browser.find_element(By.ID, "plot-layer1"))
    before_text = browser.find_element(By.ID, "readout").text
    slider = browser.find_element(By.ID, "slider")
    slider.send_keys(Keys.END)
    last = tr.n_snapshots - 1
    wait_drawn(browser, last)
    assert browser.execute_script("return document.getElementById('slider').value") == str(last)
    after_x = layer_x(browser, "layer1")
    assert len(after_x) == len(before_x) and not np.allclose(np.array(after_x, float), np.array(before_x, float))
    assert np.abs(png(browser.find_element(By.ID, "plot-layer1")) - before_img).sum() > 0
    text = browser.find_element(By.ID, "readout").text
    assert text != before_text and f"step {int(tr['steps'][-1])}" in text
    shown = browser.execute_script("return Array.from(document.querySelectorAll('#counts tr')).slice(2)"
                                   ".map(r => Array.from(r.cells).slice(1).map(c => parseInt(c.textContent)))")
    widths = np.array(tr.meta["widths"])[:, None]
    want = [[int(np.sum((a["k_trunc"][last, l] == widths[l]) & (a["labels"] == j))) for j in range(tr.meta["Q"])]
            for l in range(tr.n_layers)]
    assert shown == [[*row, sum(row)] for row in want]
    # the class toggle hides class 1 in every panel: its colour leaves the input panel
    orange_before = colour_pixels(png(box), PALETTE[0])
    browser.find_element(By.ID, "class-1").click()
    time.sleep(0.8)
    vis = browser.execute_script("return Array.from(document.querySelectorAll('.plot')).map(d => d.data[0].visible)")
    assert vis == [False] * (tr.n_layers + 2)
    assert colour_pixels(png(box), PALETTE[0]) < 0.05 * orange_before
    assert errors(browser) == []


KINDS = {
    "layers": dict(dataset="clustered", n_per_class=30, steps=40, eval_every=10),
    "flows": dict(n_per_class=3, m=8, widths=(16,), steps=12, tau_max=2.0, alphas=(0.0, 1.0)),
    "cones": dict(geometry="sls", n_per_class=25),
    "local-minima": dict(n_per_class=20, polish_iters=40),
    "perturbation": dict(n_per_class=20, steps=300, snapshots=12),
    "truncation-speed": dict(q=5, n_per_class=12, steps=30, snapshots=5),
}


@pytest.mark.slow
@needs_browser
@pytest.mark.parametrize("kind", [*sorted(KINDS), "network"])
def test_every_kind_in_a_real_browser(browser, kind, tmp_path):
    from selenium.webdriver.common.by import By

    from geomdl import experiments

    if kind == "network":                       # a recorded network wider than its input (geomdl record)
        tr = network_trace(tmp_path, 2, [100, 5])
    else:
        mod = experiments.get(kind)
        tr, result = mod.run(mod.Config(**KINDS[kind]))
        assert not result.failed
    page = hv.write_viewer(tr, tmp_path / f"{kind}.html")
    assert open_page(browser, page) == []
    S = len(tr["steps"])
    n_panels = len(page_json(page.read_text(encoding="utf-8"))["panels"])
    assert len(browser.find_elements(By.CSS_SELECTOR, ".plot")) == n_panels
    drawn = "return Array.from(document.querySelectorAll('.plot')).map(d => d.data.map(t => t.x))"
    if S > 1:
        first = browser.execute_script(drawn)
        browser.execute_script(f"geomdlViewer.draw({S - 1})")
        wait_drawn(browser, S - 1)
        assert browser.execute_script(drawn) != first
    if kind != "flows":        # cones toggle hides base points and rays
        browser.find_element(By.ID, "cones").click()
        time.sleep(0.5)
        assert browser.execute_script("const d=document.getElementById('plot-layer1');"
                                      "return d.data.filter(t=>t.name==='edge rays')[0].visible") is False
    # panel toggle hides a panel; dark theme repaints the background
    browser.find_element(By.ID, "show-input" if kind != "flows" else "show-flow1").click()
    assert not browser.find_element(By.ID, "panel-input" if kind != "flows" else "panel-flow1").is_displayed()
    browser.find_element(By.ID, "theme").click()
    time.sleep(0.8)
    assert browser.execute_script("return document.body.dataset.theme") == "dark"
    img = png(browser.find_elements(By.CSS_SELECTOR, ".plot")[-1])
    assert np.median(img.reshape(-1, 3), axis=0).max() < 60              # dark background
    assert errors(browser) == []


@pytest.mark.slow
@needs_browser
def test_play_advances_the_snapshots(browser, small_run, tmp_path):
    from selenium.webdriver.common.by import By

    page = hv.write_viewer(small_run[0], tmp_path / "v.html")
    open_page(browser, page)
    browser.find_element(By.ID, "play").click()
    last = small_run[0].n_snapshots - 1
    wait_for(browser, f"return document.body.dataset.drawn === '{last}'", 60)
    assert "play" in browser.find_element(By.ID, "play").text            # stopped at the end
    assert errors(browser) == []


@pytest.mark.slow
def test_headline_page_is_within_15_mb(tmp_path):
    from geomdl.experiments import truncation_speed as ts

    tr, result = ts.run(ts.TruncationSpeedConfig(q=3))
    assert not result.failed
    page = hv.write_viewer(tr, tmp_path / "headline.html")
    size = page.stat().st_size
    assert size <= 15e6, size
    d = page_json(page.read_text(encoding="utf-8"))
    assert len(d["labels"]) == len(tr["X"]) and len(d["steps"]) == tr.n_snapshots   # nothing decimated
