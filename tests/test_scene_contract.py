"""The frame-model contract (:class:`scenes.clips.base.FrameModel`), checked over every registered scene.

A new scene is one entry in :data:`scenes.render.SCENES` and one module in ``scenes/clips/`` (docs/layout.md,
"Adding a scene"); this test then covers it with no edit: the scene must name a registered trace experiment, its
frame model must live in ``scenes/clips/``, import no backend and no training code, satisfy the contract, and
return the same frames for the same trace, made of the shared vocabulary only, in figure units.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import is_color_like
from tiny_runs import trace_cache

from geomdl import experiments
from geomdl.io.trace import NETWORK_KIND
from scenes.clips.base import FIG_H, FIG_W, THEMES, Frame, FrameModel, Label, Points, Polyline, Segments
from scenes.render import SCENES

ROOT = Path(__file__).resolve().parent.parent
# a tiny run of each scene's experiment: a few seconds in all
TINY: dict[str, dict] = {
    "truncation-speed": dict(n_per_class=20, steps=30, snapshots=4),
    "layers": dict(dataset="clustered", n_per_class=20, steps=20, eval_every=10),
    "flows": dict(n_per_class=3, m=8, widths=(16,), steps=6, tau_max=1.0, alphas=(0.0, 1.0)),
    "cones": dict(geometry="sls", n_per_class=15),
    "local-minima": dict(n_per_class=15, polish_iters=20),
    "perturbation": dict(n_per_class=15, steps=60, snapshots=5),
}


@pytest.fixture(scope="module")
def trace_of():
    return trace_cache(TINY)


def test_every_scene_records_with_a_registered_experiment():
    for spec in SCENES.values():
        assert spec.experiment in experiments.registered("train"), spec.name
        assert spec.experiment in TINY, f"add a tiny config of {spec.experiment!r} to TINY"
        for kind in spec.kinds:   # another experiment's traces, or a user network's (geomdl record)
            assert kind in experiments.registered("train") or kind == NETWORK_KIND, (spec.name, kind)


@pytest.mark.parametrize("name", sorted(SCENES))
def test_frame_model_lives_in_clips_and_imports_no_backend(name):
    module = SCENES[name].frames.split(":")[0]
    assert module.startswith("scenes.clips."), module
    tree = ast.parse(Path(importlib.import_module(module).__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    bad = {m for m in imported if m.startswith(("scenes.backends", "matplotlib", "manim", "torch",
                                                "geomdl.nn", "geomdl.experiments"))}
    assert not bad, f"{module} imports {sorted(bad)}: a frame model reads a trace and returns primitives"


def _check_frame(f: Frame, theme: dict) -> None:
    assert isinstance(f, Frame)
    groups = {"points": Points, "segments": Segments, "lines": Polyline, "labels": Label, "card": Label}
    for attr, cls in groups.items():
        items = getattr(f, attr)
        assert all(type(p) is cls for p in items), attr
        names = [p.name for p in items]
        assert len(names) == len(set(names)), f"{attr}: names repeat in one frame: {names}"
    assert 0.0 <= f.cover <= 1.0
    for p in f.points:
        assert p.xy.ndim == 2 and p.xy.shape[1] == 2 and len(p.color) == len(p.xy) and p.radius > 0
        assert np.isfinite(p.xy).all()
        assert (p.xy[:, 0] >= -1).all() and (p.xy[:, 0] <= FIG_W + 1).all(), p.name     # pinned into view
        assert (p.xy[:, 1] >= -1).all() and (p.xy[:, 1] <= FIG_H + 1).all(), p.name
    for s in f.segments:
        assert s.xy.ndim == 3 and s.xy.shape[1:] == (2, 2) and len(s.colors) == len(s.xy), s.name
        assert np.isfinite(s.xy).all() and all(is_color_like(c) for c in s.colors), s.name
    for line in f.lines:
        assert line.xy.ndim == 2 and line.xy.shape[1] == 2 and is_color_like(line.color), line.name
    for lab in [*f.labels, *f.card]:
        assert isinstance(lab.text, str) and lab.size > 0 and is_color_like(lab.color), lab.name
        assert np.isfinite([lab.x, lab.y]).all(), lab.name


@pytest.mark.parametrize("name", sorted(SCENES))
@pytest.mark.parametrize("theme", sorted(THEMES))
def test_frame_model_contract(name, theme, trace_of):
    spec = SCENES[name]
    tr = trace_of(spec.experiment)
    model = spec.frames_class()(tr, fps=8, duration=0.5, theme=theme)
    assert isinstance(model, FrameModel)
    assert model.fps == 8 and isinstance(model.n_frames, int) and model.n_frames >= 4
    assert model.theme == THEMES[theme]
    _check_frame(model.static(), model.theme)
    picks = sorted({0, model.n_frames // 2, model.n_frames - 1})
    for i in picks:
        _check_frame(model.frame(i), model.theme)
    again = spec.frames_class()(tr, fps=8, duration=0.5, theme=theme)
    assert again.n_frames == model.n_frames
    a, b = model.frame(picks[-1]), again.frame(picks[-1])     # a pure function of the trace and i
    assert [p.name for p in a.points] == [p.name for p in b.points]
    for p, q in zip(a.points, b.points, strict=True):
        np.testing.assert_array_equal(p.xy, q.xy)
    assert [(lab.name, lab.text) for lab in a.labels] == [(lab.name, lab.text) for lab in b.labels]
