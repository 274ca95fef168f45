"""The one experiment registry (geomdl.experiments.registry), its contracts, the option declarations the CLI is
built from, and the config methods every @config shares (to_dict / from_dict)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import cli
from geomdl import experiments, fields
from geomdl.errors import GeomdlError, UsageError
from geomdl.experiments import registry, studies
from geomdl.experiments.registry import Option, option_values

ROOT = Path(__file__).resolve().parent.parent


def test_every_experiment_is_registered_once_the_same_way():
    names = [(e.command, e.name) for e in registry.EXPERIMENTS]
    assert len(names) == len(set(names))
    assert set(registry.registered("train")) == {"truncation-speed", "layers", "flows", "cones", "local-minima",
                                                 "perturbation"}
    assert set(registry.registered("experiment")) == {"truncation-speed", "contraction-rate", "mnist", "perturb",
                                                      "local-minima", "flows", "nc-feasibility"}


@pytest.mark.parametrize("exp", registry.EXPERIMENTS, ids=lambda e: f"{e.command}-{e.name}")
def test_each_entry_follows_its_contract(exp):
    target = exp.load()
    if exp.command == "train":
        assert isinstance(target, registry.TraceExperiment)
        assert target.KIND == exp.name and dataclasses.is_dataclass(target.Config)
        cfg = target.Config()
        assert target.Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    else:
        assert isinstance(target, registry.Study) and target.help.strip()
        flags = [f for o in target.options for f in o.flags.split("/")]
        assert len(flags) == len(set(flags)), exp.name
        assert registry.OUT in target.options        # every study writes under OUT/experiments/<name>/


def test_lookup_errors_name_the_known_experiments():
    with pytest.raises(UsageError, match="unknown experiment 'nope'; known: truncation-speed, layers"):
        experiments.get("nope")
    with pytest.raises(UsageError, match="known: truncation-speed, contraction-rate, mnist"):
        experiments.study("nope")


def test_the_cli_imports_no_heavy_module():
    """``geomdl --help`` reads every declaration without importing torch, numpy or a study module."""
    code = "import sys, cli; print(sorted(m for m in ('torch', 'numpy', 'scipy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_option_names_and_fields():
    o = Option("--start-fraction", field="start_fractions")
    assert (o.name, o.field) == ("start_fraction", "start_fractions")
    assert Option("--polish/--no-polish", bool, True).name == "polish"
    assert Option("--format", name="fmt").field == "fmt"


def _app(options: tuple[Option, ...]):
    """A one-command app built by cli.command from ``options``; the command returns what it got."""
    app, got = typer.Typer(), {}

    @cli.command(app, "go", options)
    def go(**given):
        """Go."""
        got.update(option_values(options, given))

    @app.callback()
    def main():
        pass

    return app, got


def test_a_new_option_is_one_declaration():
    """An option added to a declaration list reaches the command by its field: a value, a repeatable value, a
    multi-value integer list, an on/off pair and Manim-style preset flags (``-ql``) setting one field."""
    options = (Option("--quality", str, "m", "Preset."), Option("-ql", bool, False, "Low.", field="quality",
                                                                flag_value="l"),
               Option("-qh", bool, False, "High.", field="quality", flag_value="h"),
               Option("--fps", int, help="Frames per second."), Option("--digits", multi=True, help="Digits."),
               Option("--verify/--no-verify", bool, True, "Check."), registry.SET)
    app, got = _app(options)
    r = CliRunner().invoke(app, ["go", "-qh", "--fps", "24", "--digits", "0", "1", "2", "--no-verify",
                                 "--set", "a=1", "--set", "b=2"])
    assert r.exit_code == 0, r.output
    assert got == {"quality": "h", "fps": 24, "digits": "0,1,2", "verify": False, "sets": ["a=1", "b=2"]}
    got.clear()
    assert CliRunner().invoke(app, ["go"]).exit_code == 0
    assert got == {"quality": "m", "fps": None, "digits": None, "verify": True, "sets": None}
    r = CliRunner().invoke(app, ["go", "--help"])
    assert "Frames per second." in r.output and "-ql" in r.output


def test_study_runs_from_python_with_the_quiet_ui(tmp_path, capsys):
    """The API a notebook uses: configure + run, tables written (no figures without a drawing UI)."""
    study = experiments.study("nc-feasibility")
    cfg = study.configure({"trials": 2, "ratios": "1,2", "sigmas": "0.1", "classes": 2, "n": 4})
    files = study.run(cfg, tmp_path, studies.QuietUI())
    names = sorted(f.name for f in files)
    assert names == ["nc_feasibility_grid.csv", "nc_feasibility_trials.csv"]
    assert all(f.exists() and f.parent == tmp_path / "experiments" / "nc-feasibility" for f in files)
    out = capsys.readouterr().out
    assert str(files[0]) in out
    with pytest.raises(GeomdlError):
        study.configure({"trials": 0})


def test_contraction_rate_set_goes_through_the_one_override_parser():
    study = experiments.study("contraction-rate")
    cfg = study.configure({"q": 2, "seeds": 2, "setting": "random"}, ["random_lr=0.2"])
    assert (cfg.q, cfg.seeds, cfg.settings, cfg.random_lr) == (2, 2, ("random",), 0.2)
    with pytest.raises(UsageError, match="contraction-rate has no parameter 'partial'"):
        study.configure({}, ["partial=1"])
    with pytest.raises(UsageError, match="--set expects KEY=VALUE"):
        study.configure({}, ["oops"])


def test_config_methods_are_declared_once():
    @fields.config
    class TupleConfig:
        widths = fields.shared((3, 2))
        own: tuple[tuple[int, ...], ...] = ((1, 2), (3,))

    cfg = TupleConfig()
    assert cfg.to_dict() == {"widths": [3, 2], "own": [[1, 2], [3]]}
    assert TupleConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    assert TupleConfig.from_dict({"widths": [4], "old_field": 1}) == TupleConfig(widths=(4,))
    with pytest.raises(GeomdlError, match="TupleConfig has no fields \\['old_field'\\]"):
        TupleConfig.from_dict({"old_field": 1}, strict=True)
    with pytest.raises(TypeError, match="every @config has it"):
        @fields.config
        class OwnDict:
            q = fields.shared(3)

            def to_dict(self):
                return {}
