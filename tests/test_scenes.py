"""Every scene, both renderers: golden frames, non-blank and changing frames, renderer parity, full clips.

Each scene of :data:`scenes.render.SCENES` records a tiny trace here (configs in ``CONFIGS``, built through the
experiment modules: a few seconds in all; the run must not fail and must hold the arrays of the trace stored
beside the control frames), and is drawn, from that stored trace (the frames must not depend on the CPU's
rounding in training), at the lowest quality (854x480, 15 fps, 1 s of animation
plus the title card and holds). Three frames per scene are checked (``pick_frames``): the middle of the title
card's fade (card, fade and starting state in one frame), the middle of the animation, and the last frame.

Default suite (fast, ~10 s): the matplotlib frames of every scene, drawn directly by the frame drawer: not blank,
every class colour present, the middle differs from the last, and equal (within tolerance, see ``goldens.py``)
to the control frames in ``tests/golden/<scene>_matplotlib.npz``.

``-m slow``: every scene rendered to a full MP4 with each renderer through :func:`scenes.render.render_trace`
(H.264, yuv420p, 854x480, 15 fps, exactly the frame model's frame count, frames drawn and moving); Manim's frames
of that MP4 compared with ``tests/golden/<scene>_manim.npz``; the two renderers' frames compared with each other
(parity); a GIF and a storyboard made from one scene's clip of each renderer. truncation-speed's golden frames
and parity are in ``test_golden_frames.py``, its MP4s (both renderers) and GIF in ``test_cli.py``, its storyboard
in ``test_exports.py``: not repeated here.

Regenerate the control frames after an intended visual change, then look at them, with::

    GEOMDL_SET_GOLDEN=frames .venv/bin/python -m pytest tests/test_golden_frames.py tests/test_scenes.py -m ""

(``GEOMDL_SET_GOLDEN=1`` records the stored traces anew too, on this machine: after a change to a recording.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import videos
from goldens import check_golden, check_parity, check_trace_layout, downscale, golden_path, golden_trace, mpl_frames

from geomdl import experiments
from scenes.backends import export
from scenes.clips.base import class_color
from scenes.render import SCENES, make_frames, manim_available, render_trace

FPS, DURATION, SIZE = 15, 1.0, (854, 480)

# tiny run per scene (truncation-speed: see test_golden_frames.py); recorded once per config
CONFIGS: dict[str, dict] = {
    "layers": dict(dataset="clustered", n_per_class=30, steps=40, eval_every=10),
    "training": dict(dataset="clustered", n_per_class=30, steps=40, eval_every=10),
    "flows": dict(n_per_class=3, m=8, widths=(16,), steps=12, tau_max=2.0, alphas=(0.0, 1.0)),
    "cones": dict(geometry="sls", n_per_class=25),
    "local-minima": dict(n_per_class=20, polish_iters=40),
    "perturbation": dict(n_per_class=20, steps=300, snapshots=12),
}
NEW = list(CONFIGS)
EXPORT_SCENE = "perturbation"     # the scene whose clips also become a GIF and a storyboard
needs_manim = pytest.mark.skipif(not manim_available(), reason="Manim is not installed")


def test_every_scene_is_covered():
    assert set(CONFIGS) | {"truncation-speed"} == set(SCENES)


@pytest.fixture(scope="module")
def traces():
    """``traces(scene)``: the scene's tiny trace, stored beside its control frames (:func:`goldens.golden_trace`;
    ``GEOMDL_SET_GOLDEN=1`` records it anew with :func:`record`)."""
    cache: dict[str, object] = {}

    def get(scene: str):
        if scene not in cache:
            cache[scene] = golden_trace(scene, lambda: record(scene))
        return cache[scene]

    return get


def record(scene: str):
    """The scene's tiny trace, recorded now through its experiment module (the run must not fail)."""
    torch.set_num_threads(1)
    mod = experiments.get(SCENES[scene].experiment)
    trace, result = mod.run(mod.Config(**CONFIGS[scene]))
    assert not result.failed, result.message
    return trace


@pytest.mark.parametrize("scene", NEW)
def test_every_scene_records_what_its_stored_trace_holds(traces, scene):
    check_trace_layout(record(scene), traces(scene), scene)


def frames_of(traces, scene: str):
    return make_frames(traces(scene), FPS, DURATION, "light", scene=scene)


def pick_frames(fr) -> tuple[int, int, int]:
    """(middle of the title card's fade, middle of the animation, last frame)."""
    card = fr.card
    fade = card.n_full + card.n_fade // 2
    if hasattr(fr, "n_anim") and fr.n_hold0 + fr.n_anim + getattr(fr, "n_hold1", 0) == fr.n_frames:
        mid = fr.n_hold0 + fr.n_anim // 2           # a clip_timeline clip: the middle of its animation
    else:                                           # cones, local-minima: their own timelines
        mid = card.n_frames + (fr.n_frames - card.n_frames) // 2
    out = (fade, mid, fr.n_frames - 1)
    assert 0 < fade < mid < fr.n_frames - 1, out
    assert 0 < card.alpha(fade) < 1
    return out


def class_count(trace) -> int:
    return int(np.unique(trace.arrays["labels"]).size)


def colour_pixels(img: np.ndarray, hex_colour: str, tol: int = 40) -> int:
    """Pixels of ``img (H, W, 3)`` within ``tol`` (per channel) of ``hex_colour``."""
    rgb = np.array([int(hex_colour[k:k + 2], 16) for k in (1, 3, 5)])
    return int((np.abs(img[:, :, :3].astype(int) - rgb).max(axis=2) <= tol).sum())


def check_content(imgs: dict[int, np.ndarray], idx: tuple[int, int, int], q: int, what: str) -> None:
    """Frames drawn (not one colour), every class colour in the middle and last frames (>= 5 pixels of the 4x
    downscaled frame: classes may overlap; a missing class has none), and moving."""
    fade, mid, last = idx
    for i in idx:
        assert not videos.is_blank(imgs[i], min_std=10.0), f"{what} frame {i} is blank"
    for i in (mid, last):
        for j in range(q):
            n = colour_pixels(imgs[i], class_color(j))
            assert n >= 5, f"{what} frame {i}: class {j} colour {class_color(j)} on only {n} pixels"
    assert videos.mean_abs_diff(imgs[fade], imgs[mid]) > 1.0, f"{what}: card fade and middle frame are the same"
    assert videos.mean_abs_diff(imgs[mid], imgs[last]) > 0.1, f"{what}: middle and last frames are the same"


# ------------------------------------------------------------------------------------ default: matplotlib
@pytest.mark.parametrize("scene", NEW)
def test_matplotlib_frames(traces, scene):
    fr = frames_of(traces, scene)
    idx = pick_frames(fr)
    imgs = mpl_frames(fr, idx, *SIZE)
    check_content(imgs, idx, class_count(traces(scene)), f"{scene}/matplotlib")
    check_golden(golden_path(scene, "matplotlib"), {i: downscale(img) for i, img in imgs.items()})


# ------------------------------------------------------------------------------------ slow: full clips
@pytest.fixture(scope="module")
def clips(traces, tmp_path_factory):
    """``clips(scene, renderer)``: the path of the scene's full MP4 at quality l (rendered once per module)."""
    cache: dict[tuple[str, str], object] = {}
    out = tmp_path_factory.mktemp("clips")

    def get(scene: str, renderer: str):
        if (scene, renderer) not in cache:
            [mp4] = render_trace(traces(scene), out, f"{scene}_{renderer}", fmt="mp4", quality="l",
                                 renderer=renderer, duration=DURATION, scene=scene)
            cache[scene, renderer] = mp4
        return cache[scene, renderer]

    return get


RENDERERS = [pytest.param("matplotlib"), pytest.param("manim", marks=needs_manim)]


@pytest.mark.slow
@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("scene", NEW)
def test_clip_is_valid_mp4(traces, clips, scene, renderer):
    mp4 = clips(scene, renderer)
    n = frames_of(traces, scene).n_frames
    info = videos.probe(mp4)
    assert (info.codec, info.pix_fmt) == ("h264", "yuv420p"), info
    assert (info.width, info.height) == SIZE and info.fps == pytest.approx(FPS), info
    assert info.n_frames == n, info
    assert info.duration == pytest.approx(n / FPS, abs=1.5 / FPS), info
    frames = videos.read_frames(mp4)
    assert frames.shape == (n, SIZE[1], SIZE[0], 3)
    for i in (0, n // 2, n - 1):
        assert not videos.is_blank(frames[i], min_std=10.0), f"frame {i} is blank"
    assert videos.mean_abs_diff(frames[0], frames[-1]) > 1.0
    changes = sum(videos.mean_abs_diff(a, b) > 0.05 for a, b in zip(frames[:-1], frames[1:], strict=True))
    assert changes >= n // 4, f"only {changes} of {n - 1} frame changes"


@pytest.mark.slow
@needs_manim
@pytest.mark.parametrize("scene", NEW)
def test_manim_frames(traces, clips, scene):
    fr = frames_of(traces, scene)
    idx = pick_frames(fr)
    decoded = videos.read_frames(clips(scene, "manim"))
    imgs = {i: decoded[i] for i in idx}
    check_content(imgs, idx, class_count(traces(scene)), f"{scene}/manim")
    check_golden(golden_path(scene, "manim"), {i: downscale(img) for i, img in imgs.items()})


@pytest.mark.slow
@needs_manim
@pytest.mark.parametrize("scene", NEW)
def test_renderers_agree(traces, clips, scene):
    fr = frames_of(traces, scene)
    idx = pick_frames(fr)
    decoded = videos.read_frames(clips(scene, "manim"))
    manim = {i: downscale(decoded[i]) for i in idx}
    mpl = {i: downscale(img) for i, img in mpl_frames(fr, idx, *SIZE).items()}
    check_parity(mpl, manim, scene)


@pytest.mark.slow
@pytest.mark.parametrize("renderer", RENDERERS)
def test_gif_and_storyboard(traces, clips, renderer, tmp_path):
    mp4 = clips(EXPORT_SCENE, renderer)
    n = videos.probe(mp4).n_frames
    gif = videos.read_gif(export.mp4_to_gif(mp4, tmp_path / "c.gif", FPS))
    assert (gif.width, gif.height) == SIZE and gif.loop == 0
    assert abs(gif.n_frames - n * export.gif_fps(FPS) / FPS) <= 2, (gif.n_frames, n)
    assert not videos.is_blank(gif.frames[-1], min_std=10.0)
    assert videos.mean_abs_diff(gif.frames[len(gif.frames) // 2], gif.frames[-1]) > 0.1
    from scenes.figures.storyboard import write_storyboard

    png, pdf = write_storyboard(frames_of(traces, EXPORT_SCENE), tmp_path / "sb", n=6, title=EXPORT_SCENE)
    assert pdf.read_bytes()[:4] == b"%PDF" and pdf.stat().st_size > 10_000
    img = videos.read_png(png)
    assert img.shape[0] > 400 and img.shape[1] > 800 and not videos.is_blank(img)
