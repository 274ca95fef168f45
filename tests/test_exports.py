"""Export formats beyond MP4: WebM, storyboard (PNG + PDF), PNG stills at chosen times; frame-model parity."""

from __future__ import annotations

import numpy as np
import pytest
from videos import is_blank, probe, read_png

from scenes.backends import export
from scenes.clips.truncation_speed import TruncationFrames
from scenes.render import render_trace


@pytest.fixture(scope="module")
def clip(small_run, tmp_path_factory):
    """A 1 s, 480p15 matplotlib clip of the small run, rendered once."""
    trace = small_run[0]
    out = tmp_path_factory.mktemp("exports")
    [mp4] = render_trace(trace, out, "clip", fmt="mp4", quality="l", renderer="matplotlib", duration=1.0)
    return trace, out, mp4


def test_webm_is_vp9_with_same_frames(clip, tmp_path):
    _, _, mp4 = clip
    webm = export.mp4_to_webm(mp4, tmp_path / "c.webm")
    a, b = probe(mp4), probe(webm)
    assert b.codec == "vp9"
    assert (b.width, b.height) == (854, 480)
    assert abs(b.n_frames - a.n_frames) <= 1


def test_storyboard_png_and_pdf(clip, tmp_path):
    _, _, mp4 = clip
    png, pdf = export.storyboard(mp4, tmp_path / "sb", n=4, cols=2, title="small run")
    assert pdf.read_bytes()[:4] == b"%PDF"
    img = read_png(png)
    assert img.shape[0] > 400 and img.shape[1] > 800
    assert not is_blank(img)


def test_stills_at_times_differ(clip, tmp_path):
    _, _, mp4 = clip
    files = export.stills(mp4, tmp_path, "s", [0.0, 10.0])  # 10 s is past the end: clamped to the last frame
    a, b = (read_png(f) for f in files)
    assert a.shape == b.shape == (480, 854, 3)
    assert not is_blank(a) and not is_blank(b)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.5


def test_render_trace_formats(clip, tmp_path):
    trace = clip[0]
    files = render_trace(trace, tmp_path, "w", fmt="webm", quality="l", renderer="matplotlib", duration=1.0)
    assert [f.suffix for f in files] == [".mp4", ".webm"]
    files = render_trace(trace, tmp_path, "p", fmt="png", quality="l", renderer="matplotlib", duration=1.0,
                         at=[0.2, 0.9])
    assert len(files) == 2 and all(f.suffix == ".png" for f in files)
    assert not list(tmp_path.glob(".*tmp-*"))


def test_gif_frame_rate_is_exact_in_10ms_units():
    for src in (15, 30, 60):
        fps = export.gif_fps(src)
        assert fps <= src
        assert (100 / fps) == int(100 / fps)


def test_frame_model_is_deterministic_and_changes(small_run):
    f1 = TruncationFrames(small_run[0], fps=15, duration=1.0)
    f2 = TruncationFrames(small_run[0], fps=15, duration=1.0)
    a, b = f1.frame(3), f2.frame(3)
    for p, q in zip(a.points, b.points, strict=True):
        assert np.array_equal(p.xy, q.xy)
    first, last = f1.frame(0), f1.frame(f1.n_frames - 1)
    assert [lab.text for lab in first.labels] != [lab.text for lab in last.labels]
