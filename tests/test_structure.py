"""The structural verifier (geomdl.math.structure) and the claims of every cone construction, for Q = 2..8.

Counts are re-derived here with an independent plain-numpy pass written out point by point (per-point loops over
the layers, no shared helper); the constructions' claims (which class each layer collapses, that every other
point passes unchanged wherever the earlier layers left it) are checked against those counts, not against the
verifier's own report.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError
from geomdl.math import constructions, landscape, structure


def independent_states(X, Ws, bs):
    """Per layer, per point: 0 every unit off (collapsed), 1 every unit on (unchanged), 2 otherwise; and the
    smallest |pre-activation| per layer. Written as an explicit loop over points."""
    out, mins = [], []
    H = np.asarray(X, dtype=float)
    for W, b in zip(Ws, bs, strict=True):
        st_l, nxt, m = [], [], np.inf
        for h in H:
            a = W @ h + b
            st_l.append(0 if np.all(a < 0) else 1 if np.all(a > 0) else 2)
            nxt.append(np.where(a > 0, a, 0.0))
            m = min(m, float(np.min(np.abs(a))))
        out.append(np.array(st_l))
        mins.append(m)
        H = np.array(nxt)
    return out, mins


def assert_pattern(X, labels, Ws, bs, collapses, partial=None):
    """Layer l collapses all of class collapses[l] (-1: none) and every other point is unchanged; ``partial``
    (layer -> k): that layer collapses exactly k points of its class and no other point."""
    sts, _ = independent_states(X, Ws, bs)
    q = int(labels.max()) + 1
    for l, c in enumerate(collapses):
        for j in range(q):
            s = sts[l][labels == j]
            if partial is not None and l in partial and j == c:
                assert (s == 0).sum() == partial[l], (l, j, np.bincount(s, minlength=3))
            elif j == c:
                assert (s == 0).all(), (l, j, np.bincount(s, minlength=3))
            else:
                assert (s == 1).all(), (l, j, np.bincount(s, minlength=3))


@settings(deadline=None, max_examples=30)
@given(st.integers(2, 8), st.integers(1, 4), st.lists(st.integers(1, 9), min_size=1, max_size=4),
       st.integers(0, 2**31 - 1))
def test_counts_match_the_independent_count(q, extra, widths, seed):
    """Random networks of any widths (not square, not constructed): the verifier's counts are the plain count."""
    X, labels = data.clustered(data.ClusteredConfig(q=q, m=q + extra - 1, n_per_class=12, seed=seed))
    rng = np.random.default_rng(seed)
    dims = [X.shape[1], *widths]
    Ws = [rng.standard_normal((dims[i + 1], dims[i])) for i in range(len(widths))]
    bs = [0.5 * rng.standard_normal(w) for w in widths]
    got = structure.count(X, labels, Ws, bs)
    sts, _ = independent_states(X, Ws, bs)
    assert got.shape == (len(widths), q, 3)
    for l in range(len(widths)):
        for c in range(q):
            assert got[l, c].tolist() == np.bincount(sts[l][labels == c], minlength=3).tolist()


@settings(deadline=None, max_examples=25)
@given(st.integers(2, 8), st.integers(0, 2**31 - 1), st.sampled_from([0.1, 0.25, 0.4]), st.integers(8, 40))
def test_full_construction_claims_hold(q, seed, radius, n):
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=n, radius=radius, seed=seed))
    con = constructions.sls_construction(X, labels)
    Ws, bs = con.layers
    assert_pattern(X, labels, Ws, bs, con.order)
    _, mins = independent_states(X, Ws, bs)
    scale = max(float(np.abs(X).max()), 1.0)
    assert min(mins) > 1e-6 * scale                      # a strict margin, no tie
    assert con.structure.margin >= structure.MIN_MARGIN


@settings(deadline=None, max_examples=25)
@given(st.integers(2, 8), st.integers(0, 2**31 - 1), st.data())
def test_partial_start_claims_hold(q, seed, draw):
    n = draw.draw(st.integers(10, 60), label="n")
    radius = draw.draw(st.sampled_from([0.15, 0.25, 0.35]), label="radius")
    fr = draw.draw(st.lists(st.sampled_from([0.0, 0.1, 0.22, 0.5, 0.9, 1.0]), min_size=q, max_size=q), label="fr")
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=n, radius=radius, seed=seed))
    con = constructions.partial_construction(X, labels, fr)
    Ws, bs = con.layers
    partial = {l: con.start_counts[l] for l in range(q) if con.t[l] > 0}
    for l, f in enumerate(fr):      # the requested count, or its nearest neighbour when two points tie at the cut
        assert abs(con.start_counts[l] - min(round(f * n), n)) <= 1
    assert_pattern(X, labels, Ws, bs, con.order, partial)


@pytest.mark.parametrize("q,seed", [(5, 3), (8, 1)])
def test_truncation_speed_start_truncates_nothing_outside_its_layer(q, seed):
    """The issue's case: Q=5 seed 3 with the experiment's start (layer 1 at 0.22) used to have layers 2-5
    partially truncate 34, 10, 11 and 2 points of class 1; now every other point passes unchanged."""
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=200, seed=seed))
    con = constructions.partial_construction(X, labels, [0.22] + [1.0] * (q - 1))
    Ws, bs = con.layers
    assert_pattern(X, labels, Ws, bs, con.order, {0: 44})


def _toggle_cases(qs, seeds, radii):
    return [(q, s, r) for q in qs for s in seeds for r in radii]


def _check_all_toggles(q, seed, radius):
    X, labels = data.clustered(data.ClusteredConfig(q=q, n_per_class=25, radius=radius, seed=seed))
    full = constructions.sls_construction(X, labels)
    for pat in itertools.product((0, 1), repeat=q):
        net = landscape.toggle_network(X, labels, pat, full)
        assert_pattern(X, labels, net.Ws, net.bs, net.collapses)
        assert net.structure.margin >= structure.MIN_MARGIN


@pytest.mark.parametrize("q,seed,radius", _toggle_cases([2, 3, 4, 5, 6], [0], [0.25]))
def test_every_toggle_pattern_claims_hold(q, seed, radius):
    _check_all_toggles(q, seed, radius)


@pytest.mark.slow
@pytest.mark.parametrize("q,seed,radius", _toggle_cases([2, 3, 4, 5, 6], [1, 2, 3], [0.1, 0.35]))
def test_every_toggle_pattern_claims_hold_more_seeds_and_radii(q, seed, radius):
    _check_all_toggles(q, seed, radius)


def test_the_verifier_catches_the_old_construction():
    """Cones built assuming earlier classes sit at their base points (toggleable=False, the old behaviour): a
    toggled-off earlier class reaches a later layer where it was and is truncated there; the verifier names it."""
    X, labels = data.clustered(data.ClusteredConfig(q=5, n_per_class=60, seed=0))
    full = constructions.cone_construction(X, labels, toggleable=False)
    caught = 0
    for pat in landscape.toggle_patterns(5):
        try:
            landscape.toggle_network(X, labels, pat, full)
        except GeomdlError as e:
            msg = str(e)
            assert "\n" not in msg and msg.startswith(f"toggle pattern {''.join(map(str, pat))}: layer ")
            assert "class" in msg and "partially truncated" in msg
            caught += 1
    assert caught > 0


def test_false_claims_and_ties_are_errors():
    X = np.array([[0.0, 1.0], [1.0, 2.0]])
    labels = np.array([0, 1])
    claim = structure.Claim.collapse_pattern([-1], [1, 1])          # every point passes unchanged
    rep = structure.verify(X + 1.0, labels, [np.eye(2)], [np.zeros(2)], claim)
    assert rep.margin == pytest.approx(1.0 / 3.0) and rep.counts[0].tolist() == [[0, 1, 0], [0, 1, 0]]
    with pytest.raises(GeomdlError, match=r"^x: layer 1, class 1: 0 collapsed, 0 unchanged, 1 partially"):
        structure.verify(X, labels, [np.eye(2)], [np.zeros(2)], claim, "x")        # a coordinate exactly 0
    with pytest.raises(GeomdlError, match="tie"):
        structure.verify(X, labels, [np.eye(2)], [np.full(2, 1e-12)], claim, "x")
    wrong = structure.Claim.collapse_pattern([0], [1, 1])
    with pytest.raises(GeomdlError, match="class 1: 0 collapsed.*claim: all 1 collapsed"):
        structure.verify(X + 1.0, labels, [np.eye(2)], [np.zeros(2)], wrong)


# ---------------------------------------------------------------------------------------------------------------
# the flat geometry: where toggle points are local minima
def _plain_loss(Ws, bs, Wo, bo, X, labels):
    h = X
    for W, b in zip(Ws, bs, strict=True):
        h = np.maximum(h @ W.T + b, 0)
    out = h @ Wo.T + bo
    return 0.5 * np.mean(np.sum((out - np.eye(Wo.shape[0])[labels]) ** 2, axis=1))


def _no_perturbation_lowers(net, X, labels, trials=150, size=1e-3, seed=7):
    rng = np.random.default_rng(seed)
    base = _plain_loss(net.Ws, net.bs, net.W_out, net.b_out, X, labels)
    worst = np.inf
    for _ in range(trials):
        ten = [T + size * (G := rng.standard_normal(T.shape)) / np.linalg.norm(G) for T in net.tensors()]
        worst = min(worst, _plain_loss(ten[0:-2:2], ten[1:-2:2], ten[-2], ten[-1], X, labels) - base)
    return worst > -1e-12


@pytest.mark.parametrize("q,m", [(2, 3), (3, 3), (4, 4)])
def test_flat_data_lie_on_the_plane(q, m):
    X, labels = data.flat_clusters(data.FlatConfig(q=q, m=m, n_per_class=50, seed=1))
    np.testing.assert_allclose(X[:, :q].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(X[:, q:], 0.0, atol=1e-12)
    for j in range(q):
        assert np.linalg.norm(X[labels == j] - np.eye(m)[j], axis=1).max() <= 0.25 + 1e-12


@pytest.mark.parametrize("q,m,seed", [(3, 3, 0), (3, 4, 1), (4, 4, 2)])
def test_flat_toggle_points_are_local_minima_where_the_argument_says(q, m, seed):
    """Gradient < 1e-8 and no perturbation lowers the loss exactly for the patterns whose number of collapsed
    classes is at most the codimension M - Q + 1 of the data's plane; the others are not stationary."""
    X, labels = data.flat_clusters(data.FlatConfig(q=q, m=m, n_per_class=60, seed=seed))
    full = constructions.flat_construction(X, labels)
    codim = m - q + 1
    for pat in landscape.toggle_patterns(q):
        net = landscape.toggle_network(X, labels, pat, full)
        gn, _ = landscape.gradient_norms(net, X, labels)
        verdict = landscape.minimum_verdict(net, X, labels, gn, net.collapses)
        if sum(pat) <= codim:
            assert gn < 1e-8, (pat, gn)
            assert _no_perturbation_lowers(net, X, labels), pat
            assert verdict["local_minimum"] and verdict["reason"] == ""
        else:
            assert gn > 1e-4, (pat, gn)
            assert not verdict["local_minimum"] and "not stationary" in verdict["reason"]
            assert f"codimension {codim}" in verdict["reason"]


def test_spanning_clusters_only_no_collapse_is_stationary():
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=60, seed=0))
    full = constructions.sls_construction(X, labels)
    for pat in landscape.toggle_patterns(3):
        net = landscape.toggle_network(X, labels, pat, full)
        gn, _ = landscape.gradient_norms(net, X, labels)
        verdict = landscape.minimum_verdict(net, X, labels, gn, net.collapses)
        if any(pat):
            assert gn > 1e-3 and not verdict["local_minimum"] and verdict["perturbations_lowering"] > 0
            assert "span R^3" in verdict["reason"]
        else:
            assert gn < 1e-8 and verdict["local_minimum"]


def test_flat_construction_refuses_spanning_data():
    X, labels = data.clustered(data.ClusteredConfig(q=3, n_per_class=20, seed=0))
    with pytest.raises(GeomdlError, match="proper affine subspace"):
        constructions.flat_construction(X, labels)
    Xf, lf = data.flat_clusters(data.FlatConfig(q=3, n_per_class=20))
    with pytest.raises(GeomdlError, match="lift must be a positive"):
        constructions.flat_construction(Xf, lf, lift=0.0)


# ---------------------------------------------------------------------------------------------------------------
# command line
def _cli(*args, cwd):
    import subprocess
    import sys
    from pathlib import Path

    return subprocess.run([sys.executable, str(Path(__file__).resolve().parents[1] / "cli.py"), *args],
                          capture_output=True, text=True, cwd=cwd, timeout=300,
                          env={"PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PATH": "/usr/bin:/bin"})


def test_cli_construct_reports_the_verified_structure(tmp_path):
    r = _cli("construct", "--q", "5", "--n-per-class", "30", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "structure verified" in r.stdout and "smallest margin" in r.stdout
    assert "layer 5 (collapsed/unchanged/partial per class)" in r.stdout and "5: 30/0/0" in r.stdout
    r = _cli("construct", "--geometry", "nonsep", "--n-per-class", "30", cwd=tmp_path)
    assert r.returncode == 0 and "(layer 2, piece 3)" in r.stdout


def test_cli_local_minima_flat_table_and_bad_geometry(tmp_path):
    r = _cli("experiment", "local-minima", "--geometry", "flat", "--trials", "0", "--no-polish",
             "--out", str(tmp_path / "o"), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("pattern ")]
    assert len(lines) == 7
    verdicts = {ln.split(":")[0][8:]: ln.endswith("; local minimum") for ln in lines}
    assert verdicts == {"110": False, "101": False, "011": False, "100": True, "010": True, "001": True,
                        "000": True}
    assert (tmp_path / "o" / "experiments" / "local-minima" / "flat" / "minima.csv").exists()
    r = _cli("experiment", "local-minima", "--geometry", "sls", "--trials", "0", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and "clustered, flat" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
