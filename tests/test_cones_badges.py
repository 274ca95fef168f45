"""Count badges never overlap each other: :func:`scenes.clips.base.badge_anchor` keeps a badge clear of the
badges already placed in the frame (``taken``), and no two badges' glyph boxes (what is drawn: the boxes of
``tests/test_aspect.py``) overlap in any frame of the ``cones`` clip (every geometry, Q = 2..8 where the geometry
has them, three canvases) or of the ``truncation-speed`` clip (Q = 2..8)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_aspect import label_box, overlaps

from geomdl import experiments
from scenes.clips.base import BADGE_GAP_X, BADGE_GAP_Y, Rect, badge_anchor, badge_box
from scenes.render import SCENES


def _run(experiment: str, **cfg):
    torch.set_num_threads(1)
    mod = experiments.get(experiment)
    return mod.run(mod.Config(**cfg))[0]


def badge_clashes(model) -> list[str]:
    """Every frame of ``model`` (the title card aside) in which two shown badges' glyph boxes overlap."""
    out = []
    for i in range(model.n_frames):
        f = model.frame(i)
        if f.cover >= 1.0:
            continue
        shown = [lab for lab in f.labels if lab.name.startswith("badge") and lab.alpha > 0 and lab.text.strip()]
        for a, b in itertools.combinations(shown, 2):
            if overlaps(label_box(a), label_box(b)):
                out.append(f"frame {i}: {a.name} {a.text!r} at ({a.x:.2f}, {a.y:.2f}) overlaps {b.name} {b.text!r} "
                           f"at ({b.x:.2f}, {b.y:.2f})")
    return out


CONES = [("clustered", q) for q in range(2, 9)] + [("sls", q) for q in range(2, 9)] + [("nonsep", 2),
                                                                                    ("concentric", 2)]


@pytest.mark.parametrize(("geometry", "q"), CONES, ids=[f"{g}-q{q}" for g, q in CONES])
def test_cones_badges_never_overlap(geometry, q):
    """Every frame, on the 16:9, square and portrait canvases (at Q = 6..8 the clustered balls' and the SLS
    slabs' base points come within a badge of each other as the camera orbits: the badges used to overlap)."""
    tr = _run("cones", geometry=geometry, q=q, n_per_class=20)
    for aspect in (None, 1.0, 9 / 16):
        model = SCENES["cones"].frames_class()(tr, fps=5, duration=8.0, aspect=aspect)
        bad = badge_clashes(model)
        assert not bad, f"cones {geometry} Q = {q} at aspect {aspect}:\n" + "\n".join(bad[:10])


@pytest.mark.parametrize("q", range(2, 9))
def test_truncation_speed_badges_never_overlap(q):
    tr = _run("truncation-speed", q=q, n_per_class=30, steps=60, snapshots=7)
    for aspect in (None, 1.0):
        model = SCENES["truncation-speed"].frames_class()(tr, fps=5, duration=8.0, aspect=aspect)
        bad = badge_clashes(model)
        assert not bad, f"truncation-speed Q = {q} at aspect {aspect}:\n" + "\n".join(bad[:10])


def _clear(box, taken) -> bool:
    x0, y0, x1, y1 = box
    return all(x0 >= t[2] + BADGE_GAP_X - 1e-9 or x1 <= t[0] - BADGE_GAP_X + 1e-9 or y0 >= t[3] + BADGE_GAP_Y - 1e-9
               or y1 <= t[1] - BADGE_GAP_Y + 1e-9 for t in taken)


def test_badge_anchor_keeps_clear_of_taken_badges():
    """The corners in order (upper right, upper left, lower right, lower left), skipping those next to a taken
    badge; all four taken: the first clear one a badge height further out."""
    view, p, r, w, h = Rect(0.0, 0.0, 4.0, 4.0), np.array([2.0, 2.0]), 0.1, 0.55, 0.3
    ur = badge_box(*badge_anchor(p, view, r, w=w), w=w)
    assert np.allclose(ur, (2.15, 2.12, 2.70, 2.42))
    ul = badge_anchor(p, view, r, w=w, taken=[ur])
    assert np.allclose(ul[:2], (1.85, 2.27)) and ul[2] == "right"
    lr = badge_anchor(p, view, r, w=w, taken=[ur, badge_box(*ul, w=w)])
    assert np.allclose(lr[:2], (2.15, 1.73)) and lr[2] == "left"
    four = [ur, badge_box(*ul, w=w), badge_box(*lr, w=w), badge_box(1.85, 1.73, "right", w=w)]
    up = badge_anchor(p, view, r, w=w, taken=four)
    assert np.allclose(up[:2], (2.15, 2.27 + h + BADGE_GAP_Y)) and up[2] == "left"
    # with data to avoid: the clear corner covering the fewest points (the upper left is covered, so lower right)
    rng = np.random.default_rng(0)
    pts = rng.uniform([1.3, 2.12], [1.85, 2.42], (30, 2))
    got = badge_anchor(p, view, r, w=w, avoid=pts, taken=[ur])
    assert np.allclose(got[:2], (2.15, 1.73)) and got[2] == "left"
    # nothing taken: as before (the data alone decide)
    assert badge_anchor(p, view, r, w=w, avoid=pts, taken=[]) == badge_anchor(p, view, r, w=w, avoid=pts)
    # a taken badge far away changes nothing
    assert badge_anchor(p, view, r, w=w, taken=[(0.0, 0.0, 0.3, 0.3)]) == badge_anchor(p, view, r, w=w)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.integers(0, 2**31 - 1), st.integers(0, 8), st.integers(0, 60))
def test_badge_anchor_clear_of_taken_where_there_is_room(seed, n_taken, n_pts):
    """Random views, markers, taken badges and data: the badge found is inside the view and clear of every taken
    badge whenever one of the places it tries (the four corners, moved outward a badge height at a time) is;
    and it is the same for the same input (deterministic)."""
    rng = np.random.default_rng(seed)
    view = Rect(*rng.uniform(0, 4, 2), *rng.uniform(1.5, 5, 2))
    p = rng.uniform([view.x, view.y], [view.x + view.w, view.y + view.h])
    r, w, h = rng.uniform(0.05, 0.3), rng.uniform(0.55, 1.2), 0.3
    taken = []
    for _ in range(n_taken):
        x0, y0 = rng.uniform(p - 1.0, p + 1.0)
        taken.append((float(x0), float(y0), float(x0 + rng.uniform(0.55, 1.2)), float(y0 + h)))
    avoid = rng.uniform(p - 1.5, p + 1.5, (n_pts, 2))
    got = badge_anchor(p, view, r, w=w, avoid=avoid, taken=taken)
    assert got == badge_anchor(p, view, r, w=w, avoid=avoid, taken=list(taken))
    box = badge_box(*got, w=w, h=h)
    # the places tried, by brute force
    room = False
    lift = 0.0
    while lift <= max(view.w, view.h) + h:
        for yy in (p[1] + r + 0.02 + lift + h / 2, p[1] - r - 0.02 - lift - h / 2):
            for x0 in (p[0] + r + 0.05, p[0] - r - 0.05 - w):
                b = (x0, yy - h / 2, x0 + w, yy + h / 2)
                inside = b[0] >= view.x and b[2] <= view.x + view.w and b[1] >= view.y and b[3] <= view.y + view.h
                room |= inside and _clear(b, taken)
        lift += h + BADGE_GAP_Y
    if room:
        assert _clear(box, taken), (box, taken)
        assert box[0] >= view.x - 1e-9 and box[2] <= view.x + view.w + 1e-9
        assert box[1] >= view.y - 1e-9 and box[3] <= view.y + view.h + 1e-9
