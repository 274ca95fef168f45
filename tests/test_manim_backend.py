"""The Manim backend's drawing machinery: :class:`FrameCamera` paths against Manim's own camera, replayed paths,
frame ranges (``render_manim(start=, stop=)``), typeset labels against the matplotlib renderer's."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("manim")

from manim import LEFT, RIGHT, UP, Camera, Circle, Square, VMobject, tempconfig  # noqa: E402
from manim.constants import LineJointType  # noqa: E402
from videos import read_frames  # noqa: E402

import scenes.backends.manim_scenes as ms  # noqa: E402
from geomdl.errors import GeomdlError  # noqa: E402
from scenes.clips.base import THEMES, Frame, Label, Points, Polyline, Rect, Segments  # noqa: E402

CFG = {"pixel_width": 320, "pixel_height": 180, "frame_height": 8.0, "frame_width": 8.0 * 16 / 9,
       "background_color": "#FFFFFF"}


def some_mobjects() -> list:
    text = VMobject(fill_color="#000000", fill_opacity=1.0, stroke_width=0.0)
    text.points = ms.label_points(Label("l", 2.0, 7.0, "$T_1(X)$ and 123", 0.6, "#000000"))
    segs = VMobject(stroke_color="#D55E00", stroke_width=4, fill_opacity=0.0)
    ends = np.array([[[-6, -3, 0], [-4, -1, 0]], [[-3, -3, 0], [-1, -2, 0]], [[0, -3, 0], [0, -1, 0]]], float)
    d = ends[:, 1] - ends[:, 0]
    segs.points = np.stack([ends[:, 0], ends[:, 0] + d / 3, ends[:, 0] + 2 * d / 3, ends[:, 1]], 1).reshape(-1, 3)
    poly = VMobject(stroke_color="#0072B2", stroke_width=5, fill_opacity=0.0, joint_type=LineJointType.ROUND)
    poly.set_points_as_corners(np.c_[np.linspace(1, 6, 30), np.sin(np.linspace(0, 6, 30)) - 2, np.zeros(30)])
    circle = Circle(radius=1.2, color="#009E73", stroke_width=6).shift(LEFT * 3 + UP)
    square = Square(side_length=1.5, fill_color="#CC79A7", fill_opacity=0.5, stroke_width=3).shift(RIGHT * 4 + UP)
    return [text, segs, poly, circle, square]


def draw(cam, mobs) -> np.ndarray:
    cam.reset()
    cam.capture_mobjects(mobs)
    return cam.pixel_array[..., :3].astype(int).copy()


def test_frame_camera_draws_what_manims_camera_draws():
    """Same subpaths, closings, fills and strokes as Manim's own path code (curves with straight handles are
    drawn as lines: the same ink); a replayed path, and a label painted from its kept pixels (``keep_pixels``,
    from its first frame on), give exactly the pixels of the first frame; a mobject changed in place is drawn
    where it is now."""
    with tempconfig(CFG):
        stock, fast = Camera(), ms.FrameCamera()
        mobs = some_mobjects()
        mobs[0].keep_pixels = True     # the label (as FrameMobjects marks labels)
        want, got, again, third = draw(stock, mobs), draw(fast, mobs), draw(fast, mobs), draw(fast, mobs)
        for m in mobs:
            m.shift(0.5 * RIGHT)            # in place: same points array, new values
        moved_want, moved_got = draw(stock, mobs), draw(fast, mobs)
    assert (want != 255).any(axis=2).mean() > 0.05                  # something drawn
    for a, b in ((got, want), (moved_got, moved_want)):
        diff = np.abs(a - b)
        assert diff.mean() < 0.3, diff.mean()
        assert (diff.max(axis=2) > 64).mean() < 0.002
    np.testing.assert_array_equal(again, got)       # a frame's pixels do not depend on the frames before it
    np.testing.assert_array_equal(third, again)
    assert np.abs(moved_got - got).mean() > 1.0


def test_transparent_mobjects_are_not_drawn():
    with tempconfig(CFG):
        cam = ms.FrameCamera()
        text = some_mobjects()[0]
        blank = draw(cam, [])
        text.set_fill(opacity=0.0)
        np.testing.assert_array_equal(draw(cam, [text]), blank)
        text.set_fill(opacity=1.0)
        assert (draw(cam, [text]) != blank).any()


class Tiny:
    """A frame model of a few frames: a static frame and title, moving points, a line and a readout."""

    fps, n_frames, theme = 15, 8, THEMES["light"]

    def static(self) -> Frame:
        box = Rect(1.0, 1.0, 7.0, 6.5)
        return Frame(segments=[Segments("box", box.border(), ["#BBBBBB"] * 4, 0.02)],
                     labels=[Label("title", 0.5, 8.4, r"tiny $e^{-2s/N}$", 0.3, "#1A1A1A")])

    def frame(self, i: int) -> Frame:
        t = np.arange(40)
        xy = np.c_[1.5 + 0.15 * t + 0.2 * i, 4 + 2 * np.sin(0.3 * t + 0.5 * i)]
        return Frame(points=[Points("p", xy, t % 3, 0.06), Points("r", xy[::5] + [0, 0.5], t[::5] % 3, 0.08,
                                                                  ring=True)],
                     lines=[Polyline("l", xy + [7.0, 0.0], "#0072B2", 0.03)],
                     labels=[Label("step", 9.5, 8.0, f"step {i:3d} / 8", 0.3, "#1A1A1A")])


def test_frame_range_is_those_frames_of_the_clip(tmp_path):
    """A part ``[start, stop)`` holds ``stop - start`` frames, equal (codec tolerance) to those of the whole
    clip: parts rendered apart and joined in order make the clip."""
    fr = Tiny()
    whole = read_frames(ms.render_manim(fr, tmp_path / "all.mp4", "l"))
    part = read_frames(ms.render_manim(fr, tmp_path / "part.mp4", "l", start=3, stop=7))
    assert len(whole) == fr.n_frames and len(part) == 4
    for k in range(4):
        assert np.abs(part[k].astype(int) - whole[3 + k].astype(int)).mean() < 1.0
    assert np.abs(whole[3].astype(int) - whole[6].astype(int)).mean() > 0.2       # the frames differ
    seen = []
    ms.render_manim(fr, tmp_path / "one.mp4", "l", progress=lambda i, n: seen.append((i, n)), start=7)
    assert seen == [(1, 1)]


@pytest.mark.parametrize("start, stop", [(5, 5), (-1, 3), (0, 9), (6, 2)])
def test_bad_frame_range_is_refused(tmp_path, start, stop):
    with pytest.raises(GeomdlError, match="frame range"):
        ms.render_manim(Tiny(), tmp_path / "x.mp4", "l", start=start, stop=stop)
    assert not (tmp_path / "x.mp4").exists()


def grow(mask: np.ndarray) -> np.ndarray:
    """``mask`` dilated by one pixel (8-neighbourhood)."""
    p = np.pad(mask, 1)
    return np.logical_or.reduce([p[1 + dy:p.shape[0] - 1 + dy, 1 + dx:p.shape[1] - 1 + dx]
                                 for dy in (-1, 0, 1) for dx in (-1, 0, 1)])


def ink_box(img: np.ndarray) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    ink = (255 - img[..., :3].astype(int)).max(axis=2) > 100
    ys, xs = np.nonzero(ink)
    return ink, (ys.min(), ys.max(), xs.min(), xs.max())


@pytest.mark.parametrize("text", [r"$T_1(X)$", r"$\mathbb{R}^3$", r"$e^{-2s/N}$", "loss 1.234e-03",
                                  "layer 2: $T_2(X)$"])
def test_labels_typeset_as_matplotlib_does(text, tmp_path):
    """A label is drawn from matplotlib's glyphs: the Manim frame's ink has the size and shape of the matplotlib
    renderer's (the two place a line's box by different conventions, so the inks are compared aligned)."""
    from goldens import mpl_frames  # noqa: PLC0415

    class One:
        fps, n_frames, theme = 15, 1, THEMES["light"]

        def static(self) -> Frame:
            return Frame()

        def frame(self, i: int) -> Frame:
            return Frame(labels=[Label("t", 8.0, 4.5, text, 1.0, "#000000", "center", "center")])

    manim = read_frames(ms.render_manim(One(), tmp_path / "t.mp4", "l"))[0]
    mpl = mpl_frames(One(), [0])[0]
    (a, (ay0, ay1, ax0, ax1)), (b, (by0, by1, bx0, bx1)) = ink_box(manim), ink_box(mpl)
    # the same size within 3% (the renderers size a font by its cap height and by 0.72 em, and Agg hints
    # plain text's advances), and the same shape: Manim's ink resampled onto matplotlib's box overlaps it
    assert (ay1 - ay0) == pytest.approx(by1 - by0, rel=0.03) and (ax1 - ax0) == pytest.approx(bx1 - bx0, rel=0.03)
    a, b = a[ay0:ay1 + 1, ax0:ax1 + 1], b[by0:by1 + 1, bx0:bx1 + 1]
    rows = np.minimum(np.arange(b.shape[0]) * a.shape[0] // b.shape[0], a.shape[0] - 1)
    cols = np.minimum(np.arange(b.shape[1]) * a.shape[1] // b.shape[1], a.shape[1] - 1)
    a = a[rows][:, cols]
    for x, y in ((a, b), (b, a)):       # nearly every ink pixel of one lies within a pixel of the other's ink
        assert (x & grow(y)).sum() / x.sum() > 0.9


class Carded(Tiny):
    """Tiny with a title card: full for frames 0-2, fading over 3-4, gone from 5 on; ``under`` False: nothing
    drawn beneath it."""

    def __init__(self, under: bool = True):
        self.under = under

    def frame(self, i: int) -> Frame:
        f = super().frame(i) if self.under else Frame()
        f.cover = 1.0 if i < 3 else max(0.0, 1.0 - (i - 2) / 3)
        f.card = [Label("card0", 8.0, 5.0, "A title $T_1(X)$", 0.4, "#1A1A1A", "center", "center", alpha=f.cover)]
        return f


def test_full_title_card_hides_what_is_beneath(tmp_path):
    """While the card covers the frame fully only the card is drawn: those frames equal a clip with nothing
    beneath the card; once it has faded, what is beneath shows and the card leaves no ink."""
    a = read_frames(ms.render_manim(Carded(), tmp_path / "a.mp4", "l"))
    b = read_frames(ms.render_manim(Carded(under=False), tmp_path / "b.mp4", "l"))
    for i in range(3):
        assert np.abs(a[i].astype(int) - b[i].astype(int)).mean() < 0.5
    assert np.abs(a[6].astype(int) - b[6].astype(int)).mean() > 1.0
    assert np.abs(b[0].astype(int) - b[6].astype(int)).mean() > 0.3           # the card is gone
    assert (np.abs(b[6].astype(int) - 255) < 8).all(axis=2).mean() > 0.9    # a white frame but the static box


@pytest.mark.parametrize("model", [Tiny, Carded])
def test_drawer_draws_what_manims_scene_loop_draws(model, tmp_path):
    """``render_manim`` (``ManimFrameDrawer``: the camera without Manim's scene loop, geomdl's encoder) and
    ``FrameScene`` rendered by Manim itself (its scene loop, static image and file writer) give the same frames
    within codec tolerance, as many, and the drawer's own pixels are what its clip decodes to."""
    from scenes.backends import export  # noqa: PLC0415

    fr = model()
    with tempconfig(ms.manim_config(fr, export.quality("l"), tmp_path / "manim")):
        scene = ms.FrameScene(fr)
        scene.render()
        theirs = read_frames(scene.renderer.file_writer.movie_file_path)
    ours = read_frames(ms.render_manim(fr, tmp_path / "ours.mp4", "l"))
    drawer = ms.ManimFrameDrawer(fr, 854, 480)
    try:
        raw = [drawer.draw(i)[..., :3].astype(int) for i in range(fr.n_frames)]
    finally:
        drawer.close()
    assert len(theirs) == len(ours) == fr.n_frames
    for i in range(fr.n_frames):
        assert np.abs(ours[i].astype(int) - theirs[i].astype(int)).mean() < 1.0, i
        assert np.abs(ours[i].astype(int) - raw[i]).mean() < 1.5, i
