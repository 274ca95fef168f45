"""The code layout (docs/layout.md): no import cycle, imports go down the layers, no two core modules share a name.

The import graph is read statically (``ast``) from every module of ``geomdl/``, ``scenes/`` and ``cli.py``,
function-level imports included (a cycle hidden inside a function is still a cycle); only imports under
``if TYPE_CHECKING:`` are left out, since they never run. Then every module is imported in a fresh interpreter,
alone, which is what a notebook user or a Dask worker does first.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# geomdl's layers, bottom first: a module imports only from its own layer or the ones below it; on top, the
# optional adapter to a training framework (PyTorch Lightning), which only the user's code imports
LAYERS = ["geomdl.data", "geomdl.nn", "geomdl.math", "geomdl.io", "geomdl.experiments", "geomdl.lightning"]
# importable from anywhere
BASE = {"geomdl", "geomdl.errors", "geomdl.checks", "geomdl.fields", "geomdl.limits", "geomdl.machine"}


def module_files() -> dict[str, Path]:
    files = {"cli": ROOT / "cli.py"}
    for pkg in ("geomdl", "scenes"):
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = f.relative_to(ROOT).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return files


MODULES = module_files()


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of the statements inside ``if TYPE_CHECKING:`` blocks."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in node.body:
                lines.update(range(sub.lineno, (sub.end_lineno or sub.lineno) + 1))
    return lines


def imports_of(name: str) -> set[str]:
    """The project modules that module ``name`` imports (at run time, anywhere in the file)."""
    tree = ast.parse(MODULES[name].read_text())
    skip = _type_checking_only(tree)
    out: set[str] = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for t in targets:
            while t and t not in MODULES:          # `from pkg import name`: the module pkg.name, else pkg
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


GRAPH = {m: imports_of(m) for m in MODULES}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (c := visit(n)):
                return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (c := visit(m)):
            return c
    return None


def layer(m: str) -> int | None:
    for k, prefix in enumerate(LAYERS):
        if m == prefix or m.startswith(prefix + "."):
            return k
    return None


def test_the_graph_is_read():
    assert "geomdl.math.wide_chain" in GRAPH["geomdl.io.recorder"]
    assert "geomdl.math.separation" in GRAPH["geomdl.math.constructions"]   # once hidden in a function
    assert "geomdl.io.recorder" not in GRAPH["geomdl.nn.training"]          # TYPE_CHECKING only
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_imports_go_down_the_layers():
    bad = []
    for m, deps in GRAPH.items():
        for d in deps:
            if m.startswith("geomdl") and (d.startswith("scenes") or d == "cli"):
                bad.append(f"{m} -> {d} (the core never draws)")
            elif m.startswith("scenes") and d == "cli":
                bad.append(f"{m} -> {d}")
            elif m.startswith("geomdl") and d not in BASE:
                lm, ld = layer(m), layer(d)
                if lm is None or ld is None or ld > lm:
                    bad.append(f"{m} -> {d} (layer {ld} above {lm})")
    assert not bad, "\n".join(sorted(bad))


def test_core_module_names_are_unique():
    names: dict[str, list[str]] = {}
    for m in MODULES:
        if m.startswith("geomdl.") and MODULES[m].name != "__init__.py":
            names.setdefault(m.rpartition(".")[2], []).append(m)
    assert {k: v for k, v in names.items() if len(v) > 1} == {}


def test_every_module_imports_alone_in_a_fresh_interpreter():
    code = ("import subprocess, sys\n"
            "from concurrent.futures import ThreadPoolExecutor\n"
            "from geomdl.machine import usable_cores\n"
            "def fails(m):\n"
            "    return subprocess.run([sys.executable, '-c', f'import {m}'], capture_output=True).returncode\n"
            "with ThreadPoolExecutor(usable_cores()) as pool:    # one fresh interpreter per module, per core\n"
            "    bad = [m for m, rc in zip(sys.argv[1:], pool.map(fails, sys.argv[1:])) if rc]\n"
            "print(' '.join(bad))")
    mods = [m for m in MODULES if m != "cli" and not m.startswith("scenes.backends.manim")]
    if importlib_util_find("manim"):
        mods += [m for m in MODULES if m.startswith("scenes.backends.manim")]
    res = subprocess.run([sys.executable, "-c", code, *mods], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert res.returncode == 0 and res.stdout.strip() == "", res.stdout + res.stderr


def importlib_util_find(name: str) -> bool:
    import importlib.util  # noqa: PLC0415

    return importlib.util.find_spec(name) is not None


@pytest.mark.parametrize("name", sorted(m for m in MODULES if m.startswith("geomdl")))
def test_core_never_imports_a_renderer(name):
    assert not any(d.startswith("scenes") for d in GRAPH[name])


def test_static_figures_have_one_save_helper():
    """Every figure module saves through scenes.figures.figure_io.save_figure (PNG + PDF, atomic)."""
    own = [f.name for f in (ROOT / "scenes" / "figures").glob("*.py")
           if f.name != "figure_io.py" and ".savefig(" in f.read_text()]
    assert own == []


def test_cli_reads_declarations_only_at_import():
    """cli.py parses, calls the API and prints: at import it needs the errors and the option declarations only
    (the commands are built from those; everything else is imported by the command that runs)."""
    tree = ast.parse(MODULES["cli"].read_text())
    top = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("geomdl", "scenes"):
            top.add(node.module)
        elif isinstance(node, ast.Import):
            top.update(a.name for a in node.names if a.name.split(".")[0] in ("geomdl", "scenes"))
    assert top <= {"geomdl.errors", "geomdl.experiments", "geomdl.experiments.registry", "scenes.options"}, top
