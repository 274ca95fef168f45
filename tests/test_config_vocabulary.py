"""One config vocabulary: every shared config field is declared once (geomdl.fields.FIELDS), every config class
takes it from there, and no check is written twice (as far as a static scan of the source can tell)."""

from __future__ import annotations

import ast
import collections
import dataclasses
import importlib
import pathlib

import pytest

from geomdl import fields as vf
from geomdl.errors import GeomdlError, UsageError

ROOT = pathlib.Path(vf.__file__).parent


def _modules():
    for p in sorted(ROOT.rglob("*.py")):
        yield p, ast.parse(p.read_text())


def _config_classes():
    """(path, ClassDef) of every config dataclass in geomdl (a class named ``*Config``, decorated)."""
    for p, tree in _modules():
        for n in ast.walk(tree):
            if isinstance(n, ast.ClassDef) and n.name.endswith("Config") and n.decorator_list:
                yield p, n


def _is_subconfig(annotation: str) -> bool:
    return annotation.split(".")[-1].endswith("Config")       # a nested config (e.g. ``base: MnistConfig``)


def test_no_config_field_declared_twice():
    owners = collections.defaultdict(list)
    redeclared = []
    classes = list(_config_classes())
    assert len(classes) >= 15
    for p, cls in classes:
        for s in cls.body:
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name):
                name = s.target.id
                if name in vf.FIELDS:
                    redeclared.append(f"{p.name}:{cls.name}.{name}")
                elif not _is_subconfig(ast.unparse(s.annotation)):
                    owners[name].append(f"{p.name}:{cls.name}")
    twice = {k: v for k, v in owners.items() if len(v) > 1}
    assert not redeclared, f"shared fields annotated again (write NAME = shared(default)): {redeclared}"
    assert not twice, f"fields declared in two config classes (add them to geomdl.fields.FIELDS): {twice}"


def _raise_messages():
    """Normalised text of every one-line error raised in geomdl: f-string values replaced by ``{}``."""
    out = collections.defaultdict(list)
    for p, tree in _modules():
        for n in ast.walk(tree):
            if isinstance(n, ast.Raise) and isinstance(n.exc, ast.Call) and n.exc.args:
                a = n.exc.args[0]
                if isinstance(a, ast.JoinedStr):
                    text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in a.values)
                elif isinstance(a, ast.Constant) and isinstance(a.value, str):
                    text = a.value
                else:
                    continue
                out[text].append(f"{p.relative_to(ROOT.parent)}:{n.lineno}")
    return out


# Anything raised twice is a check to factor into geomdl.checks (or the module that owns it).
KNOWN: set[str] = set()


def test_no_check_written_twice():
    twice = {k: v for k, v in _raise_messages().items() if len(v) > 1 and k not in KNOWN}
    assert not twice, f"the same check written in several places (factor it into geomdl.checks): {twice}"


def test_known_duplicates_still_exist():
    """The allow-list shrinks when a duplicate is removed (so it cannot hide a new one under an old name)."""
    msgs = _raise_messages()
    assert [k for k in KNOWN if len(msgs.get(k, ())) < 2] == []


def test_check_choice_what_declared_once():
    """``check_choice(value, CHOICES, "what")``: each ``what`` is checked by one call site (or one helper)."""
    sites = collections.defaultdict(list)
    for p, tree in _modules():
        for n in ast.walk(tree):
            if isinstance(n, ast.Call) and ast.unparse(n.func).endswith("check_choice") and len(n.args) == 3:
                w = n.args[2]
                if isinstance(w, ast.Constant):
                    sites[w.value].append(f"{p.name}:{n.lineno}")
    # "loss": the MNIST study lists its losses in its own order before the trainer's check (same set).
    assert {k: v for k, v in sites.items() if len(v) > 1 and k != "loss"} == {}
    assert len(sites["loss"]) == 2


EXPERIMENT_CONFIGS = [
    ("truncation_speed", "TruncationSpeedConfig"), ("layers", "LayersConfig"), ("cones", "Config"),
    ("perturbation", "Config"), ("local_minima", "Config"), ("flows", "FlowsConfig"),
    ("mnist_thresholds", "MnistConfig"), ("sweep", "SweepConfig"), ("nc_feasibility_sweep", "FeasibilityConfig"),
    ("truncation_speed_fits", "ContractionConfig"),
]


@pytest.mark.parametrize("mod,name", EXPERIMENT_CONFIGS)
def test_configs_stay_flat_frozen_dataclasses(mod, name):
    cls = getattr(importlib.import_module(f"geomdl.experiments.{mod}"), name)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    cfg = cls()
    for f in dataclasses.fields(cls):
        if f.name in vf.FIELDS:
            t = vf.FIELDS[f.name].type
            assert f.type == (t if getattr(cfg, f.name) is not None else f"{t} | None")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.seed = 1  # type: ignore[misc]


def test_set_key_value_reaches_shared_fields():
    from geomdl import experiments
    mod = experiments.get("truncation-speed")
    cfg = experiments.make_config(mod, {}, ["lr=0.02", "steps=7", "seed=3", "m=4"])
    assert (cfg.lr, cfg.steps, cfg.seed, cfg.m) == (0.02, 7, 3, 4)
    with pytest.raises(GeomdlError, match="learning rate must be a positive number"):
        experiments.make_config(mod, {}, ["lr=-1"])


def test_shared_field_defaults_are_per_config():
    from geomdl.experiments import layers, perturbation, truncation_speed
    from geomdl.nn.training import TrainConfig
    assert (TrainConfig().optimizer, TrainConfig().lr, TrainConfig().steps) == ("gd", 0.005, 3000)
    assert (layers.LayersConfig().lr, layers.LayersConfig().steps) == (0.05, 20000)
    assert perturbation.Config().lr == 0.01
    assert truncation_speed.TruncationSpeedConfig().lr is None


@pytest.mark.parametrize("name,bad,err,text", [
    ("seed", -1, GeomdlError, "seed must be in 0..2**32-1 (got -1)"),
    ("seed", 2**32, GeomdlError, "seed must be in 0..2**32-1"),
    ("device", "tpu", UsageError, "unknown device 'tpu'; known: auto, cpu, cuda"),
    ("dtype", "float16", UsageError, "float16"),
    ("q", 1, GeomdlError, "Q must be >= 2 (got 1)"),
    ("n_per_class", 0, GeomdlError, "points per class must be >= 1 (got 0)"),
    ("steps", 0, GeomdlError, "steps must be >= 1 (got 0)"),
    ("max_steps", 0, GeomdlError, "max steps must be >= 1 (got 0)"),
    ("seeds", 1, GeomdlError, "need at least 2 seeds for a confidence interval (got 1)"),
    ("snapshots", 1, GeomdlError, "need at least 2 snapshots (got 1)"),
])
def test_field_checks(name, bad, err, text):
    class Holder:
        pass
    h = Holder()
    setattr(h, name, bad)
    with pytest.raises(err) as e:
        vf.check_fields(h, name)
    assert text in str(e.value)


def test_config_decorator_refuses_redeclaration():
    with pytest.raises(TypeError, match="shared"):
        @vf.config
        class BadConfig:
            lr: float = 0.1
    with pytest.raises(TypeError, match="not a shared field"):
        @vf.config
        class OtherConfig:
            nope = vf.shared(1)


def test_config_keeps_written_order():
    @vf.config
    class OrderConfig:
        q = vf.shared(3)
        own: int = 5
        lr = vf.shared(None)
    assert [f.name for f in dataclasses.fields(OrderConfig)] == ["q", "own", "lr"]
    assert [f.type for f in dataclasses.fields(OrderConfig)] == ["int", "int", "float | None"]
    assert OrderConfig() == OrderConfig(q=3, own=5, lr=None)
