"""Golden-frame tests, in the style of Manim's ``frames_comparison``.

A few frames of the truncation-speed clip (small stored trace, lowest quality) are rendered with each renderer
and compared with stored control frames (downscaled 4x, ``tests/golden/*.npz``) with a tolerance: the mean
absolute difference must stay below ``TOL`` (0..255 scale) and under ``BAD_FRAC`` of pixels may differ by more
than 48 levels (fonts and anti-aliasing may differ slightly between machines; a moved panel, a lost cone or
wrong colours do not pass).

Regenerate the control frames after an intended visual change with::

    GEOMDL_SET_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden_frames.py
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from geomdl.experiments import truncation_speed as ts
from scenes.render import make_frames, manim_available

GOLDEN = Path(__file__).parent / "golden"
TOL = 1.5
BAD_FRAC = 0.005
CONFIG = dict(q=3, n_per_class=30, steps=60, snapshots=7)
FRAMES = (0, 40, 59)       # title card, mid-training, last frame (of 60 at 15 fps, 1 s of training)


@pytest.fixture(scope="module")
def frames():
    trace, _ = ts.run(ts.TruncationSpeedConfig(**CONFIG))
    return make_frames(trace, 15, 1.0, "light")


def downscale(img: np.ndarray, k: int = 4) -> np.ndarray:
    h, w = img.shape[0] // k * k, img.shape[1] // k * k
    return img[:h, :w, :3].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3)).astype(np.uint8)


def render_frames(frames, renderer: str, tmp_path: Path) -> dict[int, np.ndarray]:
    if renderer == "matplotlib":
        from scenes.mpl_renderer import MplFrameDrawer  # noqa: PLC0415

        d = MplFrameDrawer(frames, 854, 480)
        try:
            return {i: downscale(d.draw(i)) for i in FRAMES}
        finally:
            d.close()
    from scenes.export import frames_at  # noqa: PLC0415
    from scenes.manim_scenes import render_manim  # noqa: PLC0415

    clip = render_manim(frames, tmp_path / "g.mp4", "l")
    imgs = frames_at(clip, [i / frames.fps for i in FRAMES])
    return {i: downscale(img) for i, img in zip(FRAMES, imgs, strict=True)}


@pytest.mark.parametrize("renderer", ["matplotlib", "manim"])
def test_golden_frames(frames, renderer, tmp_path):
    if renderer == "manim" and not manim_available():
        pytest.skip("Manim is not installed")
    assert frames.n_frames > max(FRAMES)
    got = render_frames(frames, renderer, tmp_path)
    path = GOLDEN / f"truncation_speed_{renderer}.npz"
    if os.environ.get("GEOMDL_SET_GOLDEN") == "1" or not path.exists():
        if os.environ.get("GEOMDL_SET_GOLDEN") != "1":
            pytest.fail(f"no control frames at {path}: run with GEOMDL_SET_GOLDEN=1 to create them")
        GOLDEN.mkdir(exist_ok=True)
        np.savez_compressed(path, **{f"f{i}": img for i, img in got.items()})
        pytest.skip(f"control frames written to {path}")
    ref = np.load(path, allow_pickle=False)
    for i, img in got.items():
        want = ref[f"f{i}"]
        assert img.shape == want.shape, (i, img.shape, want.shape)
        diff = np.abs(img.astype(int) - want.astype(int))
        assert diff.mean() < TOL, f"frame {i}: mean abs difference {diff.mean():.2f}"
        assert (diff.max(axis=2) > 48).mean() < BAD_FRAC, f"frame {i}: too many differing pixels"


def test_renderers_agree(frames, tmp_path):
    """Parity: the two renderers draw the same frame model, so their frames are close (not identical:
    different rasterisers and text engines)."""
    if not manim_available():
        pytest.skip("Manim is not installed")
    a = render_frames(frames, "matplotlib", tmp_path)
    b = render_frames(frames, "manim", tmp_path)
    for i in FRAMES:
        diff = np.abs(a[i].astype(int) - b[i].astype(int))
        assert diff.mean() < 12.0, f"frame {i}: renderers differ by {diff.mean():.2f} on average"
