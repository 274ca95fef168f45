"""Golden-frame tests, in the style of Manim's ``frames_comparison``.

Here: a few frames of the truncation-speed clip (a small trace stored beside the control frames, so that the
frames do not depend on the CPU's rounding in training; a fresh recording must hold its arrays; lowest
quality) rendered with
each renderer and compared with stored control frames (downscaled 4x, ``tests/golden/*.npz``) with a tolerance:
the mean absolute difference must stay below ``TOL`` (0..255 scale) and under ``BAD_FRAC`` of pixels may differ
by more than 48 levels (fonts and anti-aliasing may differ slightly between machines; a moved panel, a lost cone
or wrong colours do not pass). The other scenes' golden frames, and their full clips, are in ``test_scenes.py``;
the shared helpers in ``goldens.py``.

Regenerate the control frames after an intended visual change (then look at them) with::

    GEOMDL_SET_GOLDEN=frames .venv/bin/python -m pytest tests/test_golden_frames.py tests/test_scenes.py -m ""

(``GEOMDL_SET_GOLDEN=1`` records the stored traces anew too, on this machine: after a change to a recording.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from goldens import check_golden, check_parity, check_trace_layout, downscale, golden_path, golden_trace, mpl_frames

from geomdl.experiments import truncation_speed as ts
from scenes.render import make_frames, manim_available

CONFIG = dict(q=3, n_per_class=30, lr=0.01, steps=60, snapshots=7)   # a fixed step: the goldens test drawing
FRAMES = (0, 50, 72)       # title card; the panels building up after the card; late training (of 99 frames at 15 fps)


def record():
    trace, _ = ts.run(ts.TruncationSpeedConfig(**CONFIG))
    return trace


@pytest.fixture(scope="module")
def stored():
    """The trace stored beside the control frames (``goldens.golden_trace``)."""
    return golden_trace("truncation-speed", record)


@pytest.fixture(scope="module")
def frames(stored):
    return make_frames(stored, 15, 1.0, "light")


def test_the_stored_trace_is_what_the_experiment_records(stored):
    check_trace_layout(record(), stored, "truncation-speed")


@pytest.fixture(scope="module")
def rendered(frames, tmp_path_factory):
    """``rendered(renderer)``: the downscaled FRAMES of that renderer, rendered once per module."""
    cache: dict[str, dict] = {}
    tmp = tmp_path_factory.mktemp("golden")

    def get(renderer: str) -> dict:
        if renderer not in cache:
            cache[renderer] = render_frames(frames, renderer, tmp)
        return cache[renderer]

    return get


def render_frames(frames, renderer: str, tmp_path: Path) -> dict:
    if renderer == "matplotlib":
        return {i: downscale(img) for i, img in mpl_frames(frames, FRAMES).items()}
    from scenes.backends.export import frames_at  # noqa: PLC0415
    from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

    clip = render_manim(frames, tmp_path / "g.mp4", "l")
    imgs = frames_at(clip, [i / frames.fps for i in FRAMES])
    return {i: downscale(img) for i, img in zip(FRAMES, imgs, strict=True)}


@pytest.mark.parametrize("renderer", ["matplotlib", "manim"])
def test_golden_frames(frames, rendered, renderer):
    if renderer == "manim" and not manim_available():
        pytest.skip("Manim is not installed")
    assert frames.n_frames > max(FRAMES)
    check_golden(golden_path("truncation-speed", renderer), rendered(renderer))


def test_renderers_agree(rendered):
    """Parity: the two renderers draw the same frame model, so their frames are close (not identical:
    different rasterisers and text engines)."""
    if not manim_available():
        pytest.skip("Manim is not installed")
    check_parity(rendered("matplotlib"), rendered("manim"), "truncation-speed")
