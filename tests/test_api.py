"""The Python API of docs/api.md: its example runs end to end (tiny run, short clips), its reference matches the
code, and bad input raises a one-line GeomdlError before anything is written."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
from pathlib import Path

import numpy as np
import pytest
from videos import is_blank, probe, read_gif, read_png

import scenes.render
from geomdl import experiments
from geomdl.errors import GeomdlError
from geomdl.io import trace

DOC = Path(__file__).resolve().parent.parent / "docs" / "api.md"
TINY = dict(n_per_class=20, steps=30, snapshots=4)           # on top of the example's own parameters
FAST = dict(quality="l", renderer="matplotlib", duration=0.5)


def doc_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


@pytest.fixture
def doc_env(tmp_path, monkeypatch):
    """Run documentation code as written, with the run made tiny and the renders short, in ``tmp_path``."""
    real_run, real_render = experiments.run, scenes.render.render

    def tiny_run(name, progress=None, **params):
        return real_run(name, progress, **{**params, **TINY})

    def fast_render(tr, **kw):
        return real_render(tr, **{**kw, **FAST})

    monkeypatch.setattr(experiments, "run", tiny_run)
    monkeypatch.setattr(scenes.render, "render", fast_render)
    monkeypatch.chdir(tmp_path)

    def run_blocks(*which: int) -> dict:
        ns: dict = {}
        for k in which:
            exec(compile(doc_blocks()[k], f"{DOC}[{k}]", "exec"), ns)   # noqa: S102 (our own documentation)
        return ns

    return run_blocks


def test_documented_example_runs_end_to_end(doc_env, tmp_path):
    ns = doc_env(0)
    tr, result = ns["tr"], ns["result"]
    assert not result.failed and result.final_step == TINY["steps"]
    assert ns["counts"].shape == (TINY["snapshots"], 3) and ns["counts"][0, 0] > 0
    assert ns["path"] == Path("runs/q3.npz") and (tmp_path / "runs" / "q3.npz").is_file()
    assert tr.meta["config"]["steps"] == TINY["steps"] and tr["truncated"].shape == (4, 3, 60, 3)

    run = experiments.output_stem("truncation-speed", tr.meta["config"])
    (clip,) = ns["clip"]
    assert clip == Path("media/truncation-speed") / f"truncation-speed_{run}_matplotlib_light_480p15.mp4"
    info = probe(clip)
    n = scenes.render.make_frames(tr, 15, FAST["duration"], "light").n_frames
    assert (info.codec, info.pix_fmt, info.width, info.height, info.n_frames) == ("h264", "yuv420p", 854, 480, n)

    mp4, gif = ns["gif"]
    assert mp4.parent == gif.parent == Path("media/training") and gif.suffix == ".gif"
    assert mp4.name == f"training_{run}_matplotlib_dark_480p15.mp4" and probe(mp4).n_frames > 10
    g = read_gif(gif)
    assert g.loop == 0 and g.n_frames > 10
    assert g.frames[-1].mean() < 80, "the dark theme has a dark background"


@pytest.mark.slow
def test_documented_stills_and_formats(doc_env):
    ns = doc_env(0, 1)
    run = experiments.output_stem("truncation-speed", ns["tr"].meta["config"])
    s1, s2 = ns["stills"]
    assert [s.name for s in (s1, s2)] == [f"truncation-speed_{run}_matplotlib_light_480p15_t{t}.png"
                                          for t in ("003.00", "008.00")]
    assert s1.parent == Path("figures/truncation-speed")
    for png in (s1, s2, *ns["last"]):
        img = read_png(png)
        assert img.shape[:2] == (480, 854) and not is_blank(img) and img[..., :3].mean() > 150   # light theme
    assert ns["last"] == [Path("media/truncation-speed/q3-final.png")]
    sheet = ns["board"]     # drawn from the frame model: no MP4 is made for it (docs/api.md)
    assert sorted(p.suffix for p in sheet) == [".pdf", ".png"] and all(p.name.endswith("_storyboard" + p.suffix)
                                                                       for p in sheet)
    assert all(p.stat().st_size > 1000 for p in sheet)


def test_documented_errors_are_the_real_messages(tiny_trace):
    """The error examples of docs/api.md: each call raises a GeomdlError that starts as the comment says."""
    lines = doc_blocks()[2].strip().splitlines()
    pairs = list(zip(lines[::2], lines[1::2], strict=True))
    assert pairs
    for code, comment in pairs:
        expected = comment.removeprefix("# GeomdlError: ").removesuffix("...").rstrip(". ")
        with pytest.raises(GeomdlError) as e:
            exec(code, {"experiments": experiments, "render": scenes.render.render, "tr": tiny_trace})  # noqa: S102
        assert str(e.value).startswith(expected), (code, str(e.value))


def test_reference_signatures_match_the_code():
    """Every `### `module.function(...)`` heading of docs/api.md names a real function with these parameters
    and defaults, in this order (the return annotation is prose and not compared)."""
    headings = re.findall(r"^### `([\w.]+)\((.*?)\)(?: -> .*)?`$", DOC.read_text(), flags=re.M)
    assert len(headings) >= 7
    for dotted, params in headings:
        mod_name, _, attr = dotted.rpartition(".")
        if mod_name.rpartition(".")[2][:1].isupper():     # a class's method: module.Class.method
            module, _, cls = mod_name.rpartition(".")
            obj = getattr(getattr(importlib.import_module(module), cls), attr)
        else:
            obj = getattr(importlib.import_module(mod_name), attr)
        fn = ast.parse(f"def f({params}): pass").body[0].args
        doc_names = [a.arg for a in fn.posonlyargs + fn.args] + ([f"*{fn.vararg.arg}"] if fn.vararg else [])
        doc_names += [a.arg for a in fn.kwonlyargs] + ([f"**{fn.kwarg.arg}"] if fn.kwarg else [])
        defaults = [ast.literal_eval(d) for d in fn.defaults]
        defaults += [ast.literal_eval(d) for d in fn.kw_defaults if d is not None]
        sig = inspect.signature(obj).parameters.values()
        names = [("**" if p.kind is p.VAR_KEYWORD else "*" if p.kind is p.VAR_POSITIONAL else "") + p.name
                 for p in sig]
        assert names == doc_names, dotted
        assert [p.default for p in sig if p.default is not p.empty] == defaults, dotted


def test_every_public_function_is_documented():
    text = DOC.read_text()
    for name in ("config", "run", "output_stem"):
        assert f"### `geomdl.experiments.{name}(" in text
    for name in ("render", "render_trace", "resolve_renderer"):
        assert f"### `scenes.render.{name}(" in text


def test_config_by_field_name():
    cfg = experiments.config("layers", digits=[0, 1, 6], thresholds="0.1,0.01", loss="ce", widths=None)
    assert cfg.digits == (0, 1, 6) and cfg.thresholds == (0.1, 0.01) and cfg.loss == "ce" and cfg.widths is None
    same = experiments.config("layers", digits=(0, 1, 6), thresholds=(0.1, 0.01))
    assert dataclasses.replace(cfg, loss="mse") == same
    assert experiments.output_stem("layers", cfg) == experiments.output_stem("layers", cfg.to_dict())


@pytest.mark.parametrize("call,needle", [
    (lambda: experiments.run("nope"), "unknown experiment 'nope'; known: truncation-speed, layers"),
    (lambda: experiments.run("truncation-speed", learning_rate=0.1),
     "experiment 'truncation-speed' has no parameter 'learning_rate'; its parameters: q, m,"),
    (lambda: experiments.config("truncation-speed", lr="fast"), "bad value 'fast' for lr (expected float"),
    (lambda: experiments.config("truncation-speed", lr=-1.0), "learning rate must be a positive number"),
    (lambda: experiments.run("truncation-speed", cfg=experiments.config("cones")),
     "not a config of experiment 'truncation-speed'"),
    (lambda: experiments.run("truncation-speed", q=3, cfg=experiments.config("truncation-speed")),
     "give either cfg or parameters, not both"),
])
def test_experiment_errors(call, needle):
    with pytest.raises(GeomdlError) as e:
        call()
    assert needle in str(e.value) and "\n" not in str(e.value)


@pytest.fixture(scope="module")
def tiny_trace():
    tr, _ = experiments.run("truncation-speed", q=3, **TINY)
    return tr


@pytest.mark.parametrize("kw,needle", [
    (dict(scene="nope"), "unknown scene 'nope'"),
    (dict(scene="flows"), "scene 'flows' draws 'flows' traces, this trace records a 'truncation-speed' run"),
    (dict(fmt="avi"), "unknown format 'avi'"),
    (dict(fmt="mp4,avi"), "unknown format 'avi'"),
    (dict(resolution="1080"), "resolution must be WIDTHxHEIGHT"),
    (dict(fps=0), "fps must be 1 to"),
    (dict(fmt="png", at=[-1.0]), "at= must list times >= 0"),
    (dict(quality="x"), "unknown quality 'x'"),
    (dict(renderer="blender"), "unknown renderer 'blender'"),
    (dict(theme="sepia"), "unknown theme 'sepia'"),
    (dict(duration=0.0), "duration must be a positive"),
    (dict(failed=True), "not rendering a failed run"),
])
def test_render_errors_write_nothing(tmp_path, tiny_trace, kw, needle):
    tr = tiny_trace
    if kw.pop("failed", False):
        tr = dataclasses.replace(tr, meta={**tr.meta, "stop_reason": "diverged", "stop_message": "loss is nan"})
    with pytest.raises(GeomdlError) as e:
        scenes.render.render(tr, out=tmp_path / "media", **kw)
    assert needle in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "media").exists()


def test_render_a_trace_file_and_a_missing_one(tmp_path, tiny_trace):
    with pytest.raises(GeomdlError, match="does not exist"):
        scenes.render.render(tmp_path / "nowhere.npz", out=tmp_path / "media")
    path = tiny_trace.save(tmp_path / "t.npz")
    (png,) = scenes.render.render(path, fmt="png", out=tmp_path / "media", stem="last", quality="l",
                                  renderer="matplotlib", duration=0.5)
    assert png == tmp_path / "media" / "truncation-speed" / "last.png"
    img = read_png(png)
    assert img.shape[:2] == (480, 854) and not is_blank(img)
    assert np.array_equal(trace.load(path)["loss"], tiny_trace["loss"])


def test_auto_renderer_falls_back_with_a_warning(tmp_path, tiny_trace, monkeypatch):
    monkeypatch.setattr(scenes.render, "manim_available", lambda: False)
    with pytest.warns(UserWarning, match="Manim is not installed here; rendering with the matplotlib fallback"):
        (png,) = scenes.render.render(tiny_trace, fmt="png", out=tmp_path, quality="l", duration=0.5)
    assert "_matplotlib_light_480p15" in png.name and not is_blank(read_png(png))
