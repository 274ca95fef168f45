"""Device / dtype resolution and the renderer fallback."""

from __future__ import annotations

import pytest
import torch

from geomdl.errors import GeomdlError
from geomdl.nn.model import build_model, resolve_device, resolve_dtype
from scenes import render


def test_auto_picks_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(GeomdlError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_unknown_device_and_dtype():
    with pytest.raises(GeomdlError, match="unknown device"):
        resolve_device("tpu")
    with pytest.raises(GeomdlError, match="unknown dtype"):
        resolve_dtype("float16")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_model_dtype(dtype):
    model = build_model(3, [3, 3], 3, dtype=dtype)
    assert next(model.parameters()).dtype == resolve_dtype(dtype)
    with pytest.raises(GeomdlError, match="non-increasing"):
        build_model(3, [4, 3], 3)
    with pytest.raises(GeomdlError, match=">= Q"):
        build_model(3, [3, 2], 3)


def test_auto_renderer_falls_back_to_matplotlib_with_a_notice(monkeypatch):
    monkeypatch.setattr(render, "manim_available", lambda: False)
    name, notice = render.resolve_renderer("auto")
    assert name == "matplotlib" and "matplotlib" in notice
    with pytest.raises(GeomdlError, match="Manim is not installed"):
        render.resolve_renderer("manim")
    monkeypatch.setattr(render, "manim_available", lambda: True)
    assert render.resolve_renderer("auto") == ("manim", None)
