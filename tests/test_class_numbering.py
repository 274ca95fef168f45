"""Classes are numbered from 1 in everything a human reads (class j of the math is labels value j - 1): the
messages and tables of the core, minima.csv's reasons, the construct summary, and every f-string that names a
class (checked in the source, so a new message cannot slip back to 0-based names)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError

ROOT = Path(__file__).resolve().parents[1]
# an f-string field right after a word that names a class: "class {j + 1}", "{unit} {c + 1}", "classes {...}"
NAMED = re.compile(r"(?:\bclass|\bclasses|\bpiece|\bpieces|\{unit\}|\{self\.unit\}) \{([^{}]*)\}")
ONE_BASED = {"shared[0]"}   # strings built from 1-based numbers already (geomdl/nn/health.py)


def _sources():
    yield ROOT / "cli.py"
    for top in ("geomdl", "scenes"):
        yield from sorted((ROOT / top).rglob("*.py"))


def test_every_f_string_that_names_a_class_counts_from_1():
    bad = []
    for path in _sources():
        for n, line in enumerate(path.read_text().splitlines(), 1):
            for expr in NAMED.findall(line):
                if "+ 1" not in expr and expr.strip() not in ONE_BASED:
                    bad.append(f"{path.relative_to(ROOT)}:{n}: {{{expr}}}")
    assert not bad, "0-based class names in human-facing text:\n" + "\n".join(bad)


def test_the_source_check_catches_a_0_based_name():
    assert NAMED.findall('f"class {j} has no points"') == ["j"]
    assert NAMED.findall('f"{unit} {c + 1}: ..."') == ["c + 1"]


def test_construction_errors_name_classes_from_1():
    from geomdl.math import constructions

    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=50, radius=2.0, seed=0))
    with pytest.raises(GeomdlError) as e:
        constructions.clustered_construction(X, labels)
    assert re.search(r"\bclass [1-3]\b", str(e.value)) and "class 0" not in str(e.value)


def test_data_label_errors_say_label_and_class():
    from geomdl.checks import check_classes_present

    with pytest.raises(GeomdlError, match=r"^label 0 \(class 1\) has no points$"):
        check_classes_present([0, 3, 4])
    with pytest.raises(GeomdlError, match=r"^label 2 \(class 3\) has no points$"):
        check_classes_present({0: 1, 1: 2, 2: 0})


def test_health_names_shared_outputs_from_1():
    from geomdl.nn.health import degenerate_reason

    why = degenerate_reason(np.eye(3)[[0, 0, 2]], np.array([0, 1, 2]), 3)
    assert "one output for classes 1, 2" in why


def test_minima_reasons_name_collapsed_classes_from_1():
    """minima.csv's ``reason``: the collapsed classes of a toggle pattern that is no minimum, numbered from 1
    (compared with the network's own 0-based ``collapses``)."""
    from geomdl.math import constructions, landscape

    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=15, seed=0))
    full = constructions.sls_construction(X, labels)
    rows = landscape.local_minima_table(X, labels, do_polish=False, full=full)
    checked = 0
    for row in rows:
        m = re.search(r"misses the collapsed class\(es\) ([\d, ]+) by", row["reason"])
        if not m:
            continue
        pat = tuple(int(v) for v in row["pattern"])
        net = landscape.toggle_network(X, labels, pat, full)
        want = sorted(int(c) + 1 for c in net.collapses if c >= 0)
        assert [int(v) for v in m.group(1).split(",")] == want, row["reason"]
        checked += 1
    assert checked > 0, "no reason names collapsed classes in the test run"


def test_construct_summary_counts_classes_from_1():
    from geomdl.math import geometries

    X, labels, net = geometries.build(geometries.GeometryConfig(geometry="clustered", q=4, n_per_class=20))
    lines = geometries.describe_lines(X, labels, net)
    assert f"layers collapse classes {[int(c) + 1 for c in net.collapses]}" in lines[0]
    table = [ln for ln in lines if "(collapsed/unchanged/partial per class)" in ln]
    assert len(table) == 4
    for ln in table:
        cells = re.findall(r"\b(\d+): \d+/\d+/\d+", ln)
        assert cells == ["1", "2", "3", "4"], ln
