"""Camera-ready figures: every PDF geomdl writes embeds TrueType fonts only (no Type 3, which many venues
reject), the size presets give figures of one column or one page width, and the human-facing class names start
at 1. Each figure module is exercised on small real inputs (a tiny run of its experiment)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from pdfs import assert_no_type3, font_types

from geomdl.errors import GeomdlError
from scenes.figures import style


def pdf_width_in(pdf: Path) -> float:
    """The page width of a one-page PDF in inches (its MediaBox)."""
    m = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", pdf.read_bytes())
    assert m, f"{pdf}: no MediaBox"
    return (float(m[3]) - float(m[1])) / 72


def pdfs(files) -> list[Path]:
    out = [Path(f) for f in files if Path(f).suffix == ".pdf"]
    assert out, files
    return out


@pytest.fixture(params=["column", "page"])
def size(request):
    with style.size(request.param):
        yield request.param


def check(files, size: str, wide_ok: bool = False) -> None:
    """No Type 3 font in any PDF, and (unless the figure is always a page wide) no wider than the preset."""
    for pdf in pdfs(files):
        assert_no_type3(pdf)
        limit = style.SIZES["page" if wide_ok else size] * 1.06   # tight bounding box: a few points either way
        assert pdf_width_in(pdf) <= limit, f"{pdf.name}: {pdf_width_in(pdf):.2f} in wide for --size {size}"


def test_save_figure_is_truetype_even_if_the_caller_asked_for_type3(tmp_path):
    import matplotlib.pyplot as plt

    from scenes.figures.figure_io import save_figure

    with matplotlib.rc_context({"pdf.fonttype": 3}):
        fig, ax = plt.subplots()
        ax.set_title("$T_1(X)$, $\\lambda = -d \\log s/dt$, $\\mathbb{R}^3$")
        ax.set_xlabel("step")
        ax.legend(handles=ax.plot([0, 1], [0, 1], label="$e^{-2s/N} C(0)$"))
        png, pdf = save_figure(fig, tmp_path / "f")
    assert {t for t in font_types(pdf)} <= {"CID TrueType", "TrueType"}, font_types(pdf)
    assert matplotlib.rcParams["pdf.fonttype"] == 42, "the figure style is on once scenes.figures is imported"


def test_the_font_reader_sees_type3(tmp_path):
    """The check can fail: a PDF saved with Type 3 fonts is reported as such."""
    import matplotlib.pyplot as plt

    with matplotlib.rc_context({"pdf.fonttype": 3}):
        fig, ax = plt.subplots()
        ax.set_title("$x_1$")
        fig.savefig(tmp_path / "t3.pdf")
        plt.close(fig)
    assert "Type 3" in font_types(tmp_path / "t3.pdf")
    with pytest.raises(AssertionError, match="Type 3"):
        assert_no_type3(tmp_path / "t3.pdf")


def test_size_presets():
    with style.size("column"):
        assert style.width() == 3.4 and style.columns(5) == 2
        fig = style.figure(aspect=0.5, rows=2, cols=2)
        assert tuple(fig.get_size_inches()) == pytest.approx((3.4, 1.7))
    with style.size("page"):
        assert style.width() == 7.0 and style.columns(5) == 4 and style.columns(5, most=3) == 3
    with pytest.raises(GeomdlError, match="unknown figure size 'a4'"):
        style.use_size("a4")
    assert style.class_name(0) == "class 1"


@pytest.mark.parametrize("geometry,preset", [("clustered", "page"), ("clustered", "column"), ("sls", "column"),
                                             ("nonsep", "column"), ("concentric", "column"), ("concentric", "page")])
def test_construction_figures(geometry, preset, tmp_path):
    from geomdl.math import geometries
    from scenes.figures.geometries import draw_construction, draw_geometries

    cfg = geometries.GeometryConfig(geometry, q=geometries.default_q(geometry), n_per_class=30, seed=0)
    X, labels, net = geometries.build(cfg)
    with style.size(preset):
        files = draw_construction(X, labels, net, f"{net.name}: zero-loss construction", tmp_path / geometry)
        files += draw_geometries([(geometry, X, labels)], tmp_path / "geometries")
    check(files, preset)


@pytest.fixture(scope="module")
def local_minima_rows():
    from geomdl.experiments import landscape_study as px

    return px.local_minima_rows(3, n_per_class=30, seed=0, do_polish=True)


def test_local_minima_bars_mark_zeros(local_minima_rows, size, tmp_path):
    from scenes.figures.landscape import plot_local_minima

    rows = list(local_minima_rows)
    rows[0] = {**rows[0], "region_infimum": 0.0}
    check(plot_local_minima(rows, tmp_path, "toggle patterns, clustered $Q$=3"), size)


def write_results(path: Path, lams, losses) -> Path:
    """A ``results.csv`` in :func:`geomdl.experiments.sweep.read_results`' column order."""
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["geometry", "base", "mode", "lambda", "trial", "initial_loss", "final_loss", "stop", "steps",
                    "seconds", "returned"])
        for k, (lam, loss) in enumerate(zip(lams, losses, strict=True)):
            w.writerow(["clustered", "zero-loss", "train", lam, k, 1.0, loss, "budget", 10, 0.1, int(loss < 1e-6)])
    return path


def test_perturbation_histograms(size, tmp_path):
    import matplotlib.pyplot as plt

    from scenes.figures import landscape

    rng = np.random.default_rng(0)
    lams = np.repeat([0.01, 0.1, 1.0, 3.0], 20)
    losses = 10 ** rng.uniform(-12, 0, len(lams))
    losses[:5] = 0.0                                          # exact zeros: counted, never drawn at a floor
    csv_path = write_results(tmp_path / "results.csv", lams, losses)
    seen = {}
    orig = plt.Figure.savefig

    def spy(fig, *a, **kw):   # the histogram axes as drawn: every row has x tick labels, no bin below the data
        seen[id(fig)] = [(any(t.get_text() for t in ax.get_xticklabels()), ax.get_xlim())
                         for ax in fig.axes if ax.get_xlabel().startswith("$\\log_{10}$")]
        return orig(fig, *a, **kw)

    plt.Figure.savefig = spy
    try:
        files = landscape.plot_perturbation(csv_path, tmp_path, "clustered, zero-loss, train", 1e-6)
    finally:
        plt.Figure.savefig = orig
    check(files, size)
    [panels] = [v for v in seen.values() if v]
    assert len(panels) == 4 and all(has_ticks for has_ticks, _ in panels), "every histogram row keeps its x tick labels"
    assert all(lo >= -13.5 for _, (lo, _) in panels), "no bin at a 1e-30 floor"


def test_nc_feasibility_figure(size, tmp_path):
    from geomdl.experiments import nc_feasibility_sweep as sweep
    from scenes.figures.nc_feasibility import write_figures

    cfg = sweep.FeasibilityConfig(classes=2, n=4, ratios=(0.5, 2.5), sigmas=(0.1, 3.0), trials=3, seed=3)
    check(write_figures(sweep.run_sweep(cfg), tmp_path), size)


@pytest.fixture(scope="module")
def flows_trace():
    from geomdl.experiments import flows as fx

    return fx.run(fx.FlowsConfig(n_per_class=3, m=8, widths=(16,), steps=12, tau_max=2.0, alphas=(0.0, 1.0)))[0]


def test_flows_figures(flows_trace, size, tmp_path):
    from scenes.figures.flows import write_figures

    check(write_figures(flows_trace, tmp_path), size)


@pytest.fixture(scope="module")
def study_result():
    from geomdl.experiments import truncation_speed as ts
    from geomdl.experiments import truncation_speed_fits as study

    base = ts.TruncationSpeedConfig(steps=40, snapshots=9, n_per_class=20)
    return study.run_study(study.StudyConfig(base=base, start_fractions=(0.2, 0.5), seeds=2))


def test_truncation_speed_study_figure(study_result, size, tmp_path):
    from scenes.figures.truncation_speed import plot_study

    check(plot_study(study_result, tmp_path), size)


def test_storyboard_pdf(small_run, tmp_path):
    from scenes.clips.truncation_speed import TruncationFrames
    from scenes.figures.storyboard import write_storyboard

    fr = TruncationFrames(small_run[0], fps=15, duration=1.0, theme="dark")
    check(write_storyboard(fr, tmp_path / "sb", n=4), "page")
