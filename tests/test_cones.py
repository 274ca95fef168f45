"""The ``cones`` trace experiment and clip.

Collapses are checked against an independent plain-numpy forward pass (a point is collapsed at layer ``l`` when
every pre-activation of the real layer ``l`` is ``<= 0``); base points against ``-(W^(l))^{-1} b^(l)`` computed
here from the per-layer parameters.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.errors import GeomdlError
from geomdl.experiments import cones, make_config, registered
from geomdl.io import trace
from geomdl.math import geometries
from scenes.clips.cones import ConesFrames
from scenes.render import SCENES, render_trace

SMALL = 25


def _run(geometry: str, seed: int = 0, n: int = SMALL):
    return cones.run(cones.Config(geometry=geometry, seed=seed, n_per_class=n))


def numpy_collapses(X, labels, Ws, bs, q):
    """(L, Q) collapsed fractions from a plain forward pass; and the cumulative parameters."""
    h, fr, Wc, bc = X, [], None, None
    cum = []
    for W, b in zip(Ws, bs, strict=True):
        a = h @ W.T + b
        col = (a <= 0).all(axis=1)
        fr.append([col[labels == j].mean() for j in range(q)])
        h = np.maximum(a, 0.0)
        Wc, bc = (W, b) if Wc is None else (W @ Wc, W @ bc + b)
        cum.append((Wc, bc))
    return np.array(fr), cum


def test_registered():
    assert "cones" in registered("train") and SCENES["cones"].experiment == "cones"
    cfg = make_config(cones, {"geometry": "sls", "seed": 3, "q": None})
    assert cfg.geometry == "sls" and cfg.seed == 3


@pytest.mark.parametrize("geometry", geometries.GEOMETRIES)
def test_trace_matches_construction(geometry, tmp_path):
    tr, res = _run(geometry)
    tr.validate()
    assert not res.failed and res.stop_reason == "construction" and res.final_step == 0
    assert res.final_loss < 1e-10 and tr["loss"][0] == res.final_loss
    X, labels = tr["X"], tr["labels"]
    gcfg = cones.Config(geometry=geometry, n_per_class=SMALL).geometry_config()
    X2, labels2, net = geometries.build(gcfg)
    assert np.array_equal(X, X2) and np.array_equal(labels, labels2)
    fr, cum = numpy_collapses(X, labels, net.Ws, net.bs, tr.q)
    np.testing.assert_allclose(tr["collapsed_frac"][0], fr, atol=1e-12)
    # every class ends collapsed at some layer, except the shell of (d), which the output layer reads by radius
    ever = fr.max(axis=0)
    if geometry == "concentric":
        assert ever.tolist() == [1.0, 0.0] and fr[0].tolist() == [0.0, 0.0]
        assert any("approximate" in n for n in tr.meta["notes"])
        assert tr["edges_all"].shape[-1] == 50
    else:
        assert tr["residual"].max() < 1e-8
        for l, (Wc, bc) in enumerate(cum):
            p = -np.linalg.solve(Wc, bc)
            np.testing.assert_allclose(tr["base_points"][0, l], p, atol=1e-8)
            col = (X @ Wc.T + bc <= 0).all(axis=1) if l == 0 else None
            if col is not None:   # layer 1: collapsed points sit exactly on the base point
                np.testing.assert_allclose(tr["truncated"][0, 0][col], np.broadcast_to(p, (col.sum(), 3)),
                                           atol=1e-8)
    # round trip
    path = tr.save(tmp_path / "t")
    back = trace.load(path)
    assert back.meta == tr.meta
    for k, v in tr.arrays.items():
        np.testing.assert_array_equal(back[k], v)


@settings(max_examples=6, deadline=None)
@given(geometry=st.sampled_from(["clustered", "sls"]), seed=st.integers(0, 2**31), q=st.integers(2, 4))
def test_class_l_collapses_at_layer_l(geometry, seed, q):
    """Layer l collapses exactly the l-th class of the construction's order (clustered: class l itself; sls: the
    order the SLS finder chose, a permutation), and nothing else."""
    tr, _ = cones.run(cones.Config(geometry=geometry, seed=seed, q=q, n_per_class=15))
    order = tr.meta["collapses"]
    assert sorted(order) == list(range(q))
    if geometry == "clustered":
        assert order == list(range(q))
    np.testing.assert_array_equal(tr["collapsed_frac"][0], np.eye(q)[order])


def test_bad_input():
    with pytest.raises(GeomdlError, match="unknown geometry"):
        cones.Config(geometry="spiral").validate()
    with pytest.raises(GeomdlError, match="2 classes"):
        cones.Config(geometry="nonsep", q=3).validate()
    with pytest.raises(GeomdlError, match="radius"):
        cones.Config(radius=-1.0).validate()


def test_frames():
    tr, _ = _run("clustered")
    fr = ConesFrames(tr, fps=10, duration=3.0)
    per = fr.n_layer
    assert fr.n_frames == fr.n_hold0 + 3 * per + 12
    names = None
    for i in range(0, fr.n_frames, 5):
        f = fr.frame(i)
        n_pts = sum(len(p.xy) for p in f.points if p.name in ("points", "collapsed"))
        assert n_pts > 0
        key = ([p.name for p in f.points], [s.name for s in f.segments], [lab.name for lab in f.labels])
        names = names or key
        assert key == names
    # the end: every class on its base point, counts read 25/25 on the diagonal
    last = fr.frame(fr.n_frames - 1)
    texts = {lab.name: lab.text for lab in last.labels}
    assert texts["cnt0_0"] == f"{SMALL}/{SMALL}" and texts["cnt1_0"] == f"0/{SMALL}"
    pts = next(p for p in last.points if p.name == "collapsed")
    assert len(pts.xy) == 3 and len(next(p for p in last.points if p.name == "points").xy) == 0


def test_render_matplotlib(tmp_path):
    tr, _ = _run("nonsep", n=10)
    out = render_trace(tr, tmp_path, "cones", quality="l", renderer="matplotlib", duration=0.6)
    assert out[0].exists() and out[0].stat().st_size > 1000
