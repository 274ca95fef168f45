"""The ``cones`` clip laid out on every canvas for every geometry and class count: every label inside the figure
and no two labels overlapping (``tests/test_aspect.py``'s checks, with the real glyph boxes), with three-digit
class sizes. At Q >= 5 the table beside a square panel used to run into the readout lines under it (Q = 7 and 8:
a panel under 2.6 units), and on a 3:2 canvas the table's columns and the concentric note ran over."""

from __future__ import annotations

import pytest
import torch
from test_aspect import ASPECTS, layout_problems, picks

from geomdl.experiments import cones
from scenes.render import make_frames

ALL = [("clustered", q) for q in range(2, 9)] + [("sls", q) for q in range(2, 9)] + [("nonsep", 2),
                                                                                  ("concentric", 2)]
QUICK = [("clustered", 6), ("sls", 8), ("concentric", 2)]


def _check(geometry: str, q: int) -> None:
    torch.set_num_threads(1)
    tr = cones.run(cones.Config(geometry=geometry, q=q, n_per_class=120))[0]
    bad = []
    for name, aspect in ASPECTS.items():
        model = make_frames(tr, 6, 1.0, "light", scene="cones", aspect=aspect)
        bad += [f"{name}: {b}" for b in layout_problems(model, picks(model))]
        if name in ("1:1", "4:5"):    # the panel keeps a useful size with many classes
            assert model.panel.w >= 4.2, (name, model.panel)
    assert not bad, f"cones {geometry} Q = {q}:\n" + "\n".join(bad[:20])


@pytest.mark.parametrize(("geometry", "q"), QUICK, ids=[f"{g}-q{q}" for g, q in QUICK])
def test_cones_fits_every_canvas(geometry, q):
    _check(geometry, q)


@pytest.mark.slow
@pytest.mark.parametrize(("geometry", "q"), ALL, ids=[f"{g}-q{q}" for g, q in ALL])
def test_cones_fits_every_canvas_every_q(geometry, q):
    _check(geometry, q)
