"""Golden-frame helpers shared by ``test_golden_frames.py`` and ``test_scenes.py`` (Manim ``frames_comparison``
style): frames are downscaled 4x, stored in ``tests/golden/<scene>_<renderer>.npz`` (one ``f<i>`` array per frame
index ``i``, ``(H/4, W/4, 3) uint8``) and compared with a tolerance.

The frames are drawn from a stored trace per scene (``tests/golden/<scene>_trace.npz``, :func:`golden_trace`):
what is compared is the drawing, not a recording's CPU-dependent rounding.

``GEOMDL_SET_GOLDEN=frames`` rewrites the stored frames, drawn from the stored traces, instead of comparing (the
test then skips, saying so): what a change to the drawing needs. ``GEOMDL_SET_GOLDEN=1`` records the traces anew
too (on this machine's CPU) and draws the frames from them: what a change to a recording needs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).parent / "golden"
TOL = 1.5            # mean absolute difference, 0..255 scale
BAD_FRAC = 0.005     # fraction of pixels allowed to differ by more than BAD_LEVEL in some channel
BAD_LEVEL = 48
PARITY_TOL = 12.0    # mean absolute difference between the two renderers' frames (different rasterisers, fonts)


def set_golden() -> bool:
    """Whether the control frames are rewritten (``GEOMDL_SET_GOLDEN`` is ``1`` or ``frames``)."""
    return os.environ.get("GEOMDL_SET_GOLDEN") in ("1", "frames")


def set_golden_traces() -> bool:
    """Whether the stored traces are recorded anew too (``GEOMDL_SET_GOLDEN=1``)."""
    return os.environ.get("GEOMDL_SET_GOLDEN") == "1"


def downscale(img: np.ndarray, k: int = 4) -> np.ndarray:
    """``(H, W, 3|4) uint8`` -> ``(H//k, W//k, 3) uint8`` by block means (alpha dropped)."""
    h, w = img.shape[0] // k * k, img.shape[1] // k * k
    return img[:h, :w, :3].reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3)).astype(np.uint8)


def mpl_frames(frames, indices, width: int = 854, height: int = 480) -> dict[int, np.ndarray]:
    """Full-size RGB frames ``(height, width, 3) uint8`` of ``frames`` drawn by the matplotlib renderer."""
    from scenes.backends.mpl_renderer import MplFrameDrawer  # noqa: PLC0415

    d = MplFrameDrawer(frames, width, height)
    try:
        return {i: d.draw(i)[:, :, :3].copy() for i in indices}   # draw() returns a view of the canvas: copy
    finally:
        d.close()


def golden_path(scene: str, renderer: str) -> Path:
    return GOLDEN / f"{scene.replace('-', '_')}_{renderer}.npz"


def golden_trace(scene: str, record: Callable[[], object]):
    """The trace the control frames of ``scene`` are drawn from: ``tests/golden/<scene>_trace.npz``, loaded
    without pickle. The goldens test drawing, so their input is fixed: a trace recorded by the test itself
    depends on the CPU's and BLAS's rounding (a tiny local-minima run lands elsewhere on another CPU), and the
    frames with it. ``GEOMDL_SET_GOLDEN=1`` records it anew with ``record()`` and stores it (the frames are
    then drawn from the stored file); ``GEOMDL_SET_GOLDEN=frames`` keeps it. :func:`check_trace_layout` checks
    that a fresh recording still has the stored trace's arrays."""
    from geomdl.io import trace as trace_io  # noqa: PLC0415

    path = GOLDEN / f"{scene.replace('-', '_')}_trace.npz"
    if set_golden_traces():
        GOLDEN.mkdir(exist_ok=True)
        record().save(path)
    if not path.exists():
        pytest.fail(f"no stored trace at {path}: run with GEOMDL_SET_GOLDEN=1 to create it")
    return trace_io.load(path)


def check_trace_layout(fresh, stored, what: str) -> None:
    """A fresh recording has the stored trace's arrays (names, dtypes, dimensions) and metadata keys: the
    stored input of the goldens is not stale. Values and lengths are not compared (they depend on the CPU's
    rounding: a run may stop at another step)."""
    def layout(t):
        return {k: (v.dtype.str, v.ndim) for k, v in t.arrays.items()}

    assert layout(fresh) == layout(stored), f"{what}: the stored trace's arrays differ from a fresh recording's; " \
        "regenerate with GEOMDL_SET_GOLDEN=1"
    assert sorted(fresh.meta) == sorted(stored.meta), f"{what}: the stored trace's metadata keys differ"


def check_golden(path: Path, got: dict[int, np.ndarray]) -> None:
    """Compare downscaled frames ``got`` with the control frames at ``path`` (or write them when regenerating)."""
    if set_golden():
        GOLDEN.mkdir(exist_ok=True)
        np.savez_compressed(path, **{f"f{i}": img for i, img in got.items()})
        pytest.skip(f"control frames written to {path}")
    if not path.exists():
        pytest.fail(f"no control frames at {path}: run with GEOMDL_SET_GOLDEN=frames to create them")
    with np.load(path, allow_pickle=False) as ref:
        want_keys = sorted(ref.files)
        assert want_keys == sorted(f"f{i}" for i in got), (
            f"{path.name} holds frames {want_keys}, the test renders {sorted(got)}: the clip's timeline changed; "
            f"regenerate with GEOMDL_SET_GOLDEN=frames after checking the new frames")
        for i, img in got.items():
            want = ref[f"f{i}"]
            assert img.shape == want.shape, (i, img.shape, want.shape)
            diff = np.abs(img.astype(int) - want.astype(int))
            assert diff.mean() < TOL, f"{path.name} frame {i}: mean abs difference {diff.mean():.2f} >= {TOL}"
            bad = (diff.max(axis=2) > BAD_LEVEL).mean()
            assert bad < BAD_FRAC, f"{path.name} frame {i}: {bad:.2%} of pixels differ by more than {BAD_LEVEL}"


def check_parity(a: dict[int, np.ndarray], b: dict[int, np.ndarray], what: str = "") -> None:
    """The two renderers draw the same frame model: their (downscaled) frames are close, not identical."""
    for i in a:
        d = float(np.abs(a[i].astype(int) - b[i].astype(int)).mean())
        assert d < PARITY_TOL, f"{what} frame {i}: renderers differ by {d:.2f} on average (bound {PARITY_TOL})"
