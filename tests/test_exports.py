"""Export formats beyond MP4 (WebM, GIF, storyboard, PNG stills), several formats from one render, reuse of an
existing MP4 (counted in frames drawn, not timed), stills drawing only their frames, --fps / --resolution /
-ql, the notebook display of a render's result; frame-model determinism."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from pdfs import assert_no_type3
from videos import is_blank, probe, read_png

from geomdl.errors import GeomdlError
from scenes import render as render_mod
from scenes.backends import export, mpl_renderer
from scenes.clips.truncation_speed import TruncationFrames
from scenes.render import Rendered, RenderOptions, render_trace

FAST = dict(quality="l", renderer="matplotlib", duration=1.0, jobs=1)   # one process: its draws are counted


@pytest.fixture(scope="module")
def clip(small_run, tmp_path_factory):
    """A 1 s, 480p15 matplotlib clip of the small run, rendered once."""
    trace = small_run[0]
    out = tmp_path_factory.mktemp("exports")
    [mp4] = render_trace(trace, out, "clip", fmt="mp4", **FAST)
    return trace, out, mp4


@pytest.fixture
def drawn(monkeypatch):
    """Counts the frames the matplotlib renderer draws (every clip, still and subset goes through ``draw``)."""
    count = {"n": 0}
    orig = mpl_renderer.MplFrameDrawer.draw

    def draw(self, i):
        count["n"] += 1
        return orig(self, i)

    monkeypatch.setattr(mpl_renderer.MplFrameDrawer, "draw", draw)
    return count


def n_frames(trace, fps=15, duration=1.0):
    return TruncationFrames(trace, fps=fps, duration=duration).n_frames


def test_webm_is_vp9_with_same_frames(clip, tmp_path):
    _, _, mp4 = clip
    webm = export.mp4_to_webm(mp4, tmp_path / "c.webm")
    a, b = probe(mp4), probe(webm)
    assert b.codec == "vp9"
    assert (b.width, b.height) == (854, 480)
    assert abs(b.n_frames - a.n_frames) <= 1


def test_gif_after_mp4_draws_no_frames(clip, drawn, tmp_path):
    trace, out, mp4 = clip
    before = mp4.stat()
    files = render_trace(trace, out, "clip", fmt="gif", **FAST)
    assert drawn["n"] == 0, "the GIF must be made from the existing MP4, not drawn again"
    assert [f.name for f in files] == ["clip.gif"]
    assert (mp4.stat().st_ino, mp4.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert probe(files[0]).n_frames > 1
    # another duration is another clip: drawn, every frame once
    files = render_trace(trace, tmp_path, "clip", fmt="gif", quality="l", renderer="matplotlib", duration=1.5,
                         jobs=1)
    assert drawn["n"] == n_frames(trace, duration=1.5)
    assert sorted(f.suffix for f in files) == [".gif", ".mp4"]


def test_an_untagged_or_other_mp4_is_not_reused(clip, drawn, tmp_path):
    trace, _, mp4 = clip
    (tmp_path / "clip.mp4").write_bytes(mp4.read_bytes())
    assert export.mp4_tag(tmp_path / "clip.mp4") == export.mp4_tag(mp4) is not None
    render_trace(trace, tmp_path, "clip", fmt="gif", theme="dark", **FAST)   # other theme: other key
    assert drawn["n"] == n_frames(trace)
    drawn["n"] = 0
    render_trace(trace, tmp_path, "clip", fmt="mp4", theme="dark", rerender=True, **FAST)
    assert drawn["n"] == n_frames(trace), "--rerender draws the clip again"
    (tmp_path / "plain.mp4").write_bytes(b"not a video")
    assert export.mp4_tag(tmp_path / "plain.mp4") is None


def test_one_render_writes_every_format(small_run, drawn, tmp_path):
    trace = small_run[0]
    files = render_trace(trace, tmp_path, "all", fmt="mp4,gif,webm,storyboard", **FAST)
    assert [f.name for f in files] == ["all.mp4", "all.gif", "all.webm", "all_storyboard.png",
                                       "all_storyboard.pdf"]
    assert drawn["n"] == n_frames(trace), "the clip is drawn once for all formats"
    assert not list(tmp_path.glob(".*tmp-*"))


def test_storyboard_is_vector_and_skips_the_title_card(small_run, tmp_path):
    from scenes.figures.storyboard import key_frames, write_storyboard

    fr = TruncationFrames(small_run[0], fps=15, duration=1.0)
    idx = key_frames(fr, 6)
    assert idx[0] > 0 and fr.frame(idx[0]).cover == 0 and fr.frame(idx[0] - 1).cover > 0
    assert idx[-1] == fr.n_frames - 1
    png, pdf = write_storyboard(fr, tmp_path / "sb", n=6, title="small run")
    data = pdf.read_bytes()
    assert data[:4] == b"%PDF"
    assert_no_type3(pdf)
    # vector: the panels are drawn as paths and text, not as embedded frames of the clip
    assert b"/Subtype /Image" not in data
    img = read_png(png)
    assert img.shape[1] >= 1200 and not is_blank(img)


def test_stills_draw_only_their_frames(small_run, drawn, tmp_path):
    trace = small_run[0]
    files = render_trace(trace, tmp_path, "s", at=[0.0, 3.0, 99.0], **FAST)   # at implies png
    assert drawn["n"] == 3
    assert [f.name for f in files] == ["s_t000.00.png", "s_t003.00.png", "s_t099.00.png"]
    a, b, c = (read_png(f) for f in files)
    assert a.shape == b.shape == (480, 854, 3)
    assert np.abs(a.astype(int) - b.astype(int)).mean() > 0.5
    # 99 s is past the end: the last frame, the same picture as the clip's last frame
    [mp4] = render_trace(trace, tmp_path, "s", fmt="mp4", **FAST)
    [last] = export.frames_at(mp4, [99.0])
    assert np.abs(last.astype(int) - c.astype(int)).mean() < 3.0
    drawn["n"] = 0
    render_trace(trace, tmp_path, "s", fmt="png", at=[1.0], **FAST)   # now from that MP4
    assert drawn["n"] == 0


def content_box(img: np.ndarray, bg: int = 250) -> tuple[float, float]:
    """The shares of ``img``'s width and height that its non-background pixels span (light theme: white)."""
    ink = (img < bg).any(axis=2)
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return (cols[-1] - cols[0] + 1) / img.shape[1], (rows[-1] - rows[0] + 1) / img.shape[0]


def test_fps_and_resolution_lay_the_scene_out(small_run, tmp_path):
    """``--resolution 320x320``: a square clip laid out for the square (its picture fills it: no letterbox)."""
    trace = small_run[0]
    files = render_trace(trace, tmp_path, "sq", fmt="mp4,png", quality="l", renderer="matplotlib",
                         duration=1.0, fps=10, resolution="320x320")
    info = probe(files[0])
    assert (info.width, info.height, info.fps) == (320, 320, 10)
    assert info.n_frames == n_frames(trace, fps=10)
    img = read_png(files[1])
    assert img.shape == (320, 320, 3)
    w, h = content_box(img)
    assert w > 0.8 and h > 0.8, (w, h)
    assert not is_blank(img[:60]) and not is_blank(img[-60:]), "the top and bottom rows hold the layout"
    [first] = export.frames_at(files[0], [0.0])                     # the title card fills the square too
    assert min(content_box(first)) > 0.5


class SixteenNine(TruncationFrames):
    """A frame model that cannot lay itself out for other canvases (no ``aspect``): letterboxed."""

    def __init__(self, trace, fps: int = 30, duration: float = 8.0, theme: str = "light"):
        super().__init__(trace, fps=fps, duration=duration, theme=theme)


def test_resolution_letterboxes_a_model_without_aspect(small_run, tmp_path, monkeypatch):
    monkeypatch.setattr(render_mod.SceneSpec, "frames_class", lambda self: SixteenNine)
    trace = small_run[0]
    files = render_trace(trace, tmp_path, "lb", fmt="mp4,png", quality="l", renderer="matplotlib",
                         duration=1.0, fps=10, resolution="320x320")
    info = probe(files[0])
    assert (info.width, info.height) == (320, 320)
    img = read_png(files[1])
    assert export.fit_16x9(320, 320) == (320, 180)
    bars = np.r_[img[:60], img[-60:]]
    assert (bars > 250).all(), "the letterbox bars are the light theme's white background"
    assert not is_blank(img[70:250])


@pytest.mark.parametrize("kw,needle", [
    (dict(resolution="1080"), "WIDTHxHEIGHT"), (dict(resolution="1081x1080"), "even"),
    (dict(resolution="8x8"), "16 to"), (dict(fps=0), "fps must be 1 to"), (dict(fps=1000), "fps must be 1 to"),
    (dict(fmt="mp4,avi"), "unknown format 'avi'"), (dict(fmt=","), "no format given"),
    (dict(quality="-qz"), "unknown quality"),
])
def test_bad_output_options(kw, needle):
    with pytest.raises(GeomdlError, match=needle):
        RenderOptions.of(**{"renderer": "matplotlib", **kw})


def test_quality_names_and_tags():
    for k in ("l", "-ql", "low_quality", "480p"):
        assert export.quality(k).tag == "480p15"
    assert export.quality("h", fps=24).tag == "1080p24"
    q = export.quality("m", resolution="1080x1080")
    assert (q.width, q.height, q.canvas, q.tag) == (1080, 1080, None, "1080x1080p30")
    assert export.letterboxed(q, (9.0, 9.0)) is q                    # a model laid out for the square
    lb = export.letterboxed(q, (16.0, 9.0))                           # a 16:9-only model: letterboxed
    assert (lb.width, lb.height, lb.canvas, lb.size, lb.tag) == (1080, 606, (1080, 1080), (1080, 1080),
                                                                 "1080x1080p30")
    assert export.letterboxed(export.quality("l"), (16.0, 9.0)).canvas is None     # 854x480 is 16:9
    assert export.quality("m", resolution="1920x1080").canvas is None
    o = RenderOptions.of(renderer="matplotlib", at="1,2")
    assert o.formats == ("png",) and o.at == (1.0, 2.0)
    assert RenderOptions.of(renderer="matplotlib", fmt="gif", at=[1]).formats == ("gif", "png")
    assert RenderOptions.of(renderer="matplotlib", fmt="gif, mp4,gif").formats == ("gif", "mp4")


def test_cli_short_quality_and_at_imply_stills(small_run, tmp_path):
    """`-ql` is `--quality l`; `--at` alone writes stills (it used to fail with "only applies to fmt='png'")."""
    trace = small_run[0].save(tmp_path / "t.npz")
    exe = Path(sys.executable).with_name("geomdl")
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run([str(exe), "render", "truncation-speed", "--trace", str(trace), "-ql", "--at", "1",
                           "--renderer", "matplotlib", "--duration", "1", "--out", str(tmp_path / "m")],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    [png] = [Path(p) for p in proc.stdout.split()]
    assert png.name == "t_matplotlib_light_480p15_t001.00.png" and read_png(png).shape == (480, 854, 3)


def test_result_displays_inline_in_a_notebook(clip, tmp_path):
    _, out, mp4 = clip
    html = Rendered([mp4])._repr_html_()
    assert html.startswith("<div><video") and "data:video/mp4;base64," in html and str(mp4) in html
    png = export.write_png(np.zeros((4, 4, 3), np.uint8), tmp_path / "x.png")
    assert '<img style="max-width:100%" src="data:image/png;base64,' in Rendered([png])._repr_html_()
    big = Rendered([mp4])
    big.EMBED_MAX = 10
    assert f'src="{mp4}"' in big._repr_html_()


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


def test_render_key_covers_what_the_clip_shows(small_run):
    tr = small_run[0]
    o = RenderOptions.of(renderer="matplotlib", quality="l", duration=1.0)
    k = render_mod.render_key(tr, None, "input", o)
    assert k == render_mod.render_key(tr, "truncation-speed", "input", o)
    others = [RenderOptions.of(renderer="matplotlib", quality="l", duration=2.0),
              RenderOptions.of(renderer="matplotlib", quality="l", duration=1.0, theme="dark"),
              RenderOptions.of(renderer="matplotlib", quality="l", duration=1.0, fps=10),
              RenderOptions.of(renderer="matplotlib", quality="l", duration=1.0, resolution="854x854")]
    assert len({k, *(render_mod.render_key(tr, None, "input", x) for x in others)}) == 5
    arrays = dict(tr.arrays)
    arrays["loss"] = arrays["loss"] + 1.0
    assert render_mod.trace_digest(type(tr)(tr.meta, arrays)) != render_mod.trace_digest(tr)


@pytest.mark.skipif(not render_mod.manim_available(), reason="Manim is not installed")
def test_manim_stills_draw_only_their_frames(small_run, tmp_path, monkeypatch):
    """With Manim, stills are drawn by Manim's camera frame by frame: only those frames, no clip encoded, no
    scratch file left."""
    from scenes.backends import manim_scenes

    seen, clips = [], []
    orig = manim_scenes.ManimFrameDrawer.draw

    def spy(self, i):
        seen.append(i)
        return orig(self, i)

    monkeypatch.setattr(manim_scenes.ManimFrameDrawer, "draw", spy)
    monkeypatch.setattr(manim_scenes, "render_manim", lambda *a, **k: clips.append(a))
    files = render_trace(small_run[0], tmp_path, "m", at=[3.0, 9.0], quality="l", renderer="manim", duration=1.0,
                         resolution="480x480")
    assert len(seen) == 2 and seen[0] < seen[1] and not clips    # the frames at 3 s and 9 s, nothing else
    assert [f.name for f in files] == ["m_t003.00.png", "m_t009.00.png"]
    img = read_png(files[1])
    assert img.shape == (480, 480, 3) and min(content_box(img)) > 0.8   # laid out for the square canvas
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m_t003.00.png", "m_t009.00.png"]


def test_html_is_one_more_format(clip, drawn):
    """``--format mp4,html``: the viewer page beside the reused MP4, no frame drawn for either."""
    pytest.importorskip("plotly")
    trace, out, _ = clip
    files = render_trace(trace, out, "clip", fmt="mp4,html", **FAST)
    assert [f.name for f in files] == ["clip.mp4", "clip.html"]
    assert drawn["n"] == 0
    assert files[1].read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")


def test_render_key_follows_the_drawing_code(small_run, tmp_path, monkeypatch):
    """An MP4 drawn by other drawing code is not reused: the key holds a digest of the scenes package's
    sources (a changed byte, a new or renamed file changes it) and of the renderers' versions."""
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.py").write_text("X = 1\n")
    d0 = render_mod.source_digest(tmp_path)
    assert d0 == render_mod.source_digest(tmp_path)
    (tmp_path / "a" / "x.py").write_text("X = 2\n")
    d1 = render_mod.source_digest(tmp_path)
    (tmp_path / "a" / "x.py").rename(tmp_path / "a" / "y.py")
    d2 = render_mod.source_digest(tmp_path)
    (tmp_path / "notes.txt").write_text("not code")
    assert len({d0, d1, d2}) == 3 and render_mod.source_digest(tmp_path) == d2
    tr = small_run[0]
    o = RenderOptions.of(renderer="matplotlib", quality="l", duration=1.0)
    k = render_mod.render_key(tr, None, "input", o)
    monkeypatch.setattr(render_mod, "code_digest", lambda: "other drawing code")
    assert render_mod.render_key(tr, None, "input", o) != k
