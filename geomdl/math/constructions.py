"""Explicit zero-loss constructions and partially truncating networks (docs/math.md §4, §5).

Clustered / SLS construction (CE24, docs/math.md §4): hidden layer ``l`` is a cone ``(p_l, V_l)`` that collapses class
``order[l]`` to its base point and leaves every other point in the forward cone, where the truncation map is the
identity. "Every other point" means *wherever the earlier layers may have left it* (``toggleable=True``, the
default): the full clouds of all other classes (an earlier layer toggled to "no collapse" passes its class on
unchanged), the base points of all earlier layers (an earlier layer that collapsed its class), and, for a
partially truncating start, the actual positions the earlier partial layers send their points to. So every
toggle pattern and every partial start keeps the structure the pattern claims, for any number of classes Q;
the claim is checked at run time by :mod:`geomdl.math.structure` (independent of this module).

Our concrete choices (CE24 leaves them open):
- the separating hyperplane ``n.x = c`` is the max-margin hyperplane for the L-infinity bound ``|n_i| <= 1``
  (a linear program, scipy HiGHS), then normalised so ``|n| = 1``; its Euclidean margin is ``m``;
- the base point ``p_l`` is the projection of class ``l``'s centroid onto that hyperplane (so the class visibly
  collapses onto a point beside it), plus an optional ``offset`` along the hyperplane (the flat geometry lifts it
  off the data's affine span);
- the rows are ``w_i = n + eta s_i`` with ``s_i`` the unit vertices of a regular simplex in ``n``'s orthogonal
  complement and ``eta`` the largest ``<= ETA_MAX`` that keeps the margins below (:func:`widest_eta`; at least
  ``m / (2 R)``, ``R`` the largest distance from ``p_l`` to a point the layer must handle);
- the output layer is the least-squares (min-norm) affine fit of the one-hot targets from the last hidden layer,
  exact because the ``Q`` collapsed points are affinely independent.

Margins (no ties): every cone coordinate of a point the layer collapses is ``<= -m/2`` and of every point it
must pass ``>= +m/2``, and the construction refuses ``m < MARGIN_REL * R`` (``1e-5``); so every pre-activation
that should be negative is below ``-5e-6 R`` and every one that should be positive above ``+5e-6 R``.

Partial truncation (docs/math.md §5): since ``W_l n = 1`` (all ones), moving the bias by ``t s 1`` shifts every cone
coordinate by ``t s``; ``s`` is the smallest shift (plus the margin ``m``) that puts every point the layer handles
in the forward cone ("no collapse"). ``b(t) = (1 - t) b_collapse + t b_identity``. The points another class
never leaves in a layer's backward cone are ``>= m/2`` for every ``t >= 0``. The output layer is the one of
the full construction with the same cumulative weights (``t = 0`` everywhere: it maps each base point to its
one-hot target), so a partially truncating network has a positive loss that training can lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linprog

from geomdl.checks import check_fraction
from geomdl.errors import GeomdlError
from geomdl.math import separation as sls
from geomdl.math import structure
from geomdl.math import truncation as geometry
from geomdl.math.separation import separating_hyperplane

MARGIN_TOL = 1e-9
MARGIN_REL = 1e-5


@dataclass
class Construction:
    """A network given by cumulative hidden parameters plus an affine output layer.

    ``Wc[l]: (M, M)``, ``bc[l]: (M,)`` cumulative; ``Ws, bs`` the per-layer parameters for the torch model;
    ``W_out: (Q, M)``, ``b_out: (Q,)``; ``normals[l]``, ``shifts[l]``: the cone axis ``n`` and the identity
    shift ``s`` of layer ``l``; ``order[l]``: the class that layer ``l`` collapses; ``t[l]``: bias interpolation
    (0 = full collapse, 1 = identity on the data); ``start_counts[l]``: how many points of its class layer ``l``
    collapses at that ``t``.
    """

    Wc: list[np.ndarray]
    bc: list[np.ndarray]
    W_out: np.ndarray
    b_out: np.ndarray
    normals: list[np.ndarray]
    shifts: list[float]
    order: list[int]
    t: list[float] = field(default_factory=list)
    structure: structure.Structure | None = None
    start_counts: list[int] = field(default_factory=list)

    @property
    def layers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per-layer ``(Ws, bs)``, verified to reproduce the cumulative parameters."""
        return to_layers(self.Wc, self.bc)


def to_layers(Wc: list[np.ndarray], bc: list[np.ndarray], rtol: float = 1e-8) -> tuple[list, list]:
    """Cumulative -> per-layer parameters (docs/math.md §2.1), then verify by recomputing the cumulative ones."""
    Ws, bs = geometry.layer_params(Wc, bc)
    Wc2, bc2 = geometry.cumulative_params(Ws, bs)
    for l, (a, b, a2, b2) in enumerate(zip(Wc, bc, Wc2, bc2, strict=False)):
        scale = max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))
        if not (np.allclose(a, a2, rtol=0, atol=rtol * scale) and np.allclose(b, b2, rtol=0, atol=rtol * scale)):
            raise GeomdlError(f"cumulative parameters of layer {l + 1} cannot be converted to per-layer ones "
                              "(W^(l-1) is not of full row rank)")
    return Ws, bs


def simplex_in_complement(n: np.ndarray) -> np.ndarray:
    """Rows ``s_1..s_M``: unit vertices of a regular simplex in ``n``'s orthogonal complement. (M, M)

    They sum to zero and span the complement, so ``1 n^T + eta S`` is invertible for ``eta > 0``.
    """
    M = n.shape[0]
    E = np.eye(M) - 1.0 / M                      # centred standard basis: a regular simplex in 1^perp
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    ones = np.ones(M) / np.sqrt(M)
    # orthonormal bases of 1^perp and n^perp (last M-1 columns of a QR with the normal first)
    U = np.linalg.qr(np.c_[ones, np.eye(M)[:, : M - 1]])[0][:, 1:]
    B = np.linalg.qr(np.c_[n, np.eye(M)[:, : M - 1]])[0][:, 1:]
    if np.linalg.matrix_rank(np.c_[n, B]) < M:   # the identity columns were degenerate with n: pick others
        B = np.linalg.svd(np.eye(M) - np.outer(n, n))[0][:, : M - 1]
    return E @ U @ B.T


def collapse_layer(inside: np.ndarray, rest: np.ndarray, what: str, within: np.ndarray | None = None,
                   offset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """One cumulative layer ``(W, b)`` with ``inside`` in the backward cone and ``rest`` in the forward cone.

    Returns ``W: (M, M)``, ``b: (M,)``, the axis ``n`` (``W n = 1``) and the identity shift ``s``.
    ``within: (M, d)`` (orthonormal columns): keep the normal in their span (projected, margin recomputed);
    ``offset: (M,)``, orthogonal to ``within``: added to the base point. Every cone coordinate of ``inside`` is
    ``<= -m/2``, of ``rest`` ``>= m/2``; ``inside + rest`` shifted by ``s`` is ``>= m``.
    ``what`` names the class in the error message when the precondition (linear separability with a margin
    ``m >= MARGIN_REL R``) fails.
    """
    n, c, m = separating_hyperplane(inside, rest)
    if within is not None and m > MARGIN_TOL:
        n = within @ (within.T @ n)
        n /= np.linalg.norm(n)
        hi, lo = float((inside @ n).max()), float((rest @ n).min())
        c, m = 0.5 * (hi + lo), 0.5 * (lo - hi)
    if not m > MARGIN_TOL:
        raise GeomdlError(f"{what} is not linearly separable from the points the layer must pass (the other "
                          f"classes, the earlier base points; best margin {m:.3g}): the construction needs it "
                          "(try tighter clusters)")
    mu = inside.mean(axis=0)
    p = mu + (c - n @ mu) * n
    if offset is not None:
        p = p + offset
    pts = np.vstack([inside, rest])
    R = float(np.max(np.linalg.norm(pts - p, axis=1)))
    if not m >= MARGIN_REL * R:
        raise GeomdlError(f"{what}: margin {m:.3g} is below {MARGIN_REL:g} of the layer's radius {R:.3g} "
                          "(a near tie; try tighter clusters)")
    S = simplex_in_complement(n)
    W = n[None, :] + widest_eta(n, S, p, inside, rest, m) * S
    b = -W @ p
    A = pts @ W.T + b
    shift = float(max(0.0, -A.min()) + m)
    return W, b, n, shift


ETA_MAX = 1.0


def widest_eta(n: np.ndarray, S: np.ndarray, p: np.ndarray, inside: np.ndarray, rest: np.ndarray,
               m: float) -> float:
    """The largest ``eta <= ETA_MAX`` for which the rows ``n + eta s_i`` keep every cone coordinate of ``inside``
    ``<= -m/2`` and of ``rest`` ``>= m/2`` (closed form: one bound per point and row). At least ``m / (2R)``,
    the worst case over a ball of radius ``R``; larger ``eta`` gives a better conditioned ``W`` (smaller
    singular value ``eta sqrt(M/(M-1))``), so smaller per-layer and output weights."""
    eta = ETA_MAX
    for P, sign in ((inside, -1.0), (rest, 1.0)):
        if not len(P):
            continue
        d = sign * ((P - p) @ n)                  # >= m: distance to the plane on the right side
        sig = sign * ((P - p) @ S.T)              # (n, M): the rows' lateral terms, signed
        bad = sig < 0
        if bad.any():
            eta = min(eta, float(np.min(((d[:, None] - m / 2) / -np.where(bad, sig, -1.0))[bad])))
    return eta


def refit_output(hidden_last: np.ndarray, labels: np.ndarray, q: int) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares (min-norm) affine map from the last hidden layer ``(N, M_L)`` to one-hot targets."""
    H = np.c_[hidden_last, np.ones(len(hidden_last))]
    Y = np.eye(q)[labels]
    B = np.linalg.lstsq(H, Y, rcond=None)[0]
    return B[:-1].T.copy(), B[-1].copy()


def _check_order(order: list[int], n: int) -> list[int]:
    """``order`` (the classes or pieces in the order their layers handle them) is a permutation of ``0..n-1``."""
    if sorted(order) != list(range(n)):
        raise GeomdlError(f"order must be a permutation of 0..{n - 1}, got {order}")
    return order


def _check_labels(X: np.ndarray, labels: np.ndarray) -> int:
    if X.ndim != 2 or labels.shape != (X.shape[0],):
        raise GeomdlError(f"data must be X: (N, M) with labels: (N,), got {X.shape} and {labels.shape}")
    q = int(labels.max()) + 1
    present = np.bincount(labels, minlength=q)
    if q < 2 or (present == 0).any():
        raise GeomdlError(f"labels must cover classes 0..Q-1 with Q >= 2 (counts per class: {present.tolist()})")
    return q


def _as_fractions(start_fraction: float | Sequence[float] | None, q: int) -> list[float] | None:
    if start_fraction is None:
        return None
    fr = [float(start_fraction)] * q if np.isscalar(start_fraction) else [float(f) for f in start_fraction]
    if len(fr) != q:
        raise GeomdlError(f"need one start fraction per layer ({q}), got {len(fr)}")
    for f in fr:
        check_fraction(f)
    return fr


def cone_construction(X: np.ndarray, labels: np.ndarray, order: Sequence[int] | None = None,
                      start_fraction: float | Sequence[float] | None = None, toggleable: bool = True,
                      within: np.ndarray | None = None, offsets: Sequence[np.ndarray] | None = None,
                      ) -> Construction:
    """The CE24 cone construction (module docstring), built layer by layer; the common core of
    :func:`sls_construction` and :func:`partial_construction`.

    ``X: (N, M)``, ``labels: (N,)``; ``order``: the class each hidden layer collapses (default ``0..Q-1``);
    ``start_fraction``: per layer (or one for all) the fraction of its class left collapsed (``None``: full
    collapse, ``t = 0``); ``toggleable``: every later cone also passes the earlier classes' full clouds and base
    points (needed for toggle patterns and partial starts; ``False`` needs only SLS of the data plus base
    points); ``within``/``offsets[l]``: see :func:`collapse_layer`. The result's ``bc`` are the biases at the
    chosen ``t``; its output layer is the least-squares fit of the full (``t = 0``) network with the same weights.
    """
    X = np.asarray(X, dtype=float)
    q = _check_labels(X, labels)
    M = X.shape[1]
    if M < q:
        raise GeomdlError(f"the construction needs input dimension M >= Q (got M={M}, Q={q})")
    order = _check_order(list(range(q)) if order is None else [int(j) for j in order], q)
    fr = _as_fractions(start_fraction, q)
    Wc, bc0, bct, normals, shifts, ts, bases, ks = [], [], [], [], [], [], [], []
    T = X              # where every point is when it reaches layer l, at the chosen t's
    for l, j in enumerate(order):
        mine = labels == j
        rest = [T[~mine]]
        if toggleable:
            rest += [X[~mine], *[p[None, :] for p in bases]]
        W, b, n, s = collapse_layer(T[mine], np.vstack(rest), f"class {j + 1} (layer {l + 1})", within=within,
                                    offset=None if offsets is None else np.asarray(offsets[l], dtype=float))
        t, k = (0.0, int(mine.sum())) if fr is None else interpolation_for_fraction(T[mine], W, b, s, fr[l])
        bt = b + t * s * (W @ n)
        Wc.append(W)
        bc0.append(b)
        bct.append(bt)
        normals.append(n)
        shifts.append(s)
        ts.append(t)
        ks.append(int(k))
        bases.append(-np.linalg.solve(W, b))
        T = geometry.truncate(T, W, bt)
    Ws, bs = to_layers(Wc, bc0)
    W_out, b_out = refit_output(geometry.hidden_activations(X, Ws, bs)[-1], labels, q)
    return Construction(Wc, bct, W_out, b_out, normals, shifts, order, t=ts, start_counts=ks)


def construction_claim(con: Construction, labels: np.ndarray) -> structure.Claim:
    """What :func:`cone_construction` promises: layer ``l`` collapses exactly ``start_counts[l]`` points of class
    ``order[l]`` (all of them at ``t = 0``), its other points are not collapsed (unchanged when ``t = 0``), and
    every point of every other class passes the layer unchanged."""
    q = len(con.order)
    counts = np.bincount(labels, minlength=q)
    claim = structure.Claim.collapse_pattern(con.order, counts)
    for l, j in enumerate(con.order):
        if con.t[l] > 0:
            claim.collapsed[l, j] = con.start_counts[l]
            claim.passes[l, j] = False
    return claim


def verify_construction(con: Construction, X: np.ndarray, labels: np.ndarray, what: str) -> Construction:
    """Run the structural verifier on ``con`` (raises on a false claim); store its report in ``con.structure``."""
    Ws, bs = con.layers
    con.structure = structure.verify(X, labels, Ws, bs, construction_claim(con, labels), what)
    return con


def sls_construction(X: np.ndarray, labels: np.ndarray, order: Sequence[int] | None = None,
                     toggleable: bool = True) -> Construction:
    """Zero-loss construction for clustered or sequentially linearly separable data (CE24, docs/math.md §4).

    ``X: (N, M)``, ``labels: (N,)``; ``order``: the class collapsed by each hidden layer (default ``0..Q-1``).
    Needs ``M >= Q`` for the output fit and, at layer ``l``, class ``order[l]`` separable from the points the
    layer must pass: with ``toggleable`` (default) every other class and the earlier base points (so every
    toggle pattern works), else only the later classes and the earlier base points. Verified at run time
    (:mod:`geomdl.math.structure`): each layer collapses all of its class and passes every other point unchanged.
    """
    con = cone_construction(X, labels, order, toggleable=toggleable)
    return verify_construction(con, X, labels, "the clustered construction")


def affine_span(X: np.ndarray, rtol: float = 1e-9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affine span of the rows of ``X: (N, M)``: a point ``x0: (M,)`` on it, orthonormal bases of its directions
    ``D: (M, d)`` and of their orthogonal complement ``B: (M, M - d)`` (singular values below ``rtol`` times the
    largest count as zero)."""
    x0 = X.mean(axis=0)
    U, sv, Vt = np.linalg.svd(X - x0, full_matrices=True)
    d = int((sv > rtol * max(float(sv[0]) if sv.size else 0.0, 1e-300)).sum())
    return x0, Vt[:d].T.copy(), Vt[d:].T.copy()


def lift_offsets(B: np.ndarray, L: int, lift: float) -> np.ndarray:
    """``L`` offsets of length ``lift`` in the span of ``B: (M, k)``, in general position: ``B v_l`` with ``v_l``
    on the moment curve ``(1, t, t^2, ..)`` (``t`` distinct), so any ``k`` of them are linearly independent
    (Vandermonde). ``(L, M)``."""
    k = B.shape[1]
    t = np.linspace(-1.0, 1.0, L) if L > 1 else np.zeros(1)
    V = np.vander(t, k, increasing=True)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    return lift * V @ B.T


def flat_construction(X: np.ndarray, labels: np.ndarray, lift: float = 0.5,
                      order: Sequence[int] | None = None) -> Construction:
    """The cone construction for data on a proper affine subspace ``S`` (the flat geometry,
    :func:`geomdl.data.synthetic.flat_clusters`): every cone axis lies in ``S``'s directions and each base point is
    lifted
    off ``S`` by ``lift`` (:func:`lift_offsets`: directions in general position in ``S``'s complement, of
    dimension ``k``). Otherwise as :func:`sls_construction` (toggleable, verified).

    Why: at a toggle point the least-squares output must reach each collapsed class's one-hot target at its
    base point while fitting the uncollapsed classes, which span ``S``; an affine map can do both exactly when the
    collapsed base points' offsets from ``S`` are linearly independent, i.e. for up to ``k`` collapsed classes.
    Then the loss gradient vanishes (see ``docs/local-minima.md``). Raises when the data span ``R^M``."""
    X = np.asarray(X, dtype=float)
    q = _check_labels(X, labels)
    if not (np.isfinite(lift) and lift > 0):
        raise GeomdlError(f"lift must be a positive number (got {lift})")
    _, D, B = affine_span(X)
    if B.shape[1] == 0:
        raise GeomdlError(f"the flat construction needs data on a proper affine subspace of R^{X.shape[1]} "
                          "(these data span it; use the flat geometry)")
    con = cone_construction(X, labels, order, within=D, offsets=lift_offsets(B, q, lift))
    return verify_construction(con, X, labels, "the flat construction")


def clustered_construction(X: np.ndarray, labels: np.ndarray) -> Construction:
    """The clustered case (a) of docs/math.md §4: the SLS construction in the natural order ``0..Q-1``."""
    return sls_construction(X, labels)


def interpolation_for_fraction(X_class: np.ndarray, W: np.ndarray, b: np.ndarray, shift: float,
                               fraction: float) -> tuple[float, int]:
    """Bias interpolation ``t`` so that ``k = round(fraction * n)`` points of ``X_class: (n, M)`` stay collapsed.

    A point is collapsed at ``t`` iff ``max_i a_i + t s < 0``; sort ``u = max_i a_i`` and cut midway between the
    ``k``-th and ``(k+1)``-th value. When those two are closer than ``2 MARGIN_REL`` of the layer's scale (a
    near tie: the cut would sit within rounding of a point), the nearest ``k`` (``k+1, k-1, k+2, ..``) with a
    clear gap is used instead. Returns ``(t, k)``.
    """
    check_fraction(fraction)
    u = np.sort((X_class @ W.T + b).max(axis=1))
    n = len(u)
    k = int(round(fraction * n))
    if k >= n:
        return 0.0, n
    if k == 0:
        cut = u[0] - 0.5 * max(u[-1] - u[0], 1e-3) / n
        return float(min(1.0, -cut / shift)), 0
    scale = max(float(np.abs(u).max()), shift)
    for d in range(n):
        for kk in ((k + d, k - d) if d else (k,)):
            if 1 <= kk <= n - 1 and u[kk] - u[kk - 1] >= 2 * MARGIN_REL * scale:
                return float(min(1.0, -0.5 * (u[kk - 1] + u[kk]) / shift)), kk
    raise GeomdlError(f"cannot cut the class at a start fraction {fraction}: its points are not separated along "
                      "the cone axis (all gaps below the margin)")


def partial_construction(X: np.ndarray, labels: np.ndarray, start_fraction: float | Sequence[float],
                         order: Sequence[int] | None = None) -> Construction:
    """A partially truncating network (docs/math.md §5): layer ``l`` starts with ``start_fraction[l]`` of its class
    collapsed, obtained by interpolating its cumulative bias between "full collapse" and "no collapse".

    Built layer by layer (:func:`cone_construction`), so every later cone also passes the points an earlier
    partial layer left partially truncated, wherever they landed. Verified at run time: layer ``l`` collapses
    exactly ``start_counts[l]`` points of its class (``round(f_l n_l)``, or the nearest count with a clear gap
    when two points tie at the cut; :func:`interpolation_for_fraction`), none of another class, and passes every
    point of every other class unchanged; raises :class:`GeomdlError` (layer, class, count) otherwise.
    """
    q = _check_labels(np.asarray(X, dtype=float), labels)
    fr = _as_fractions(start_fraction, q)
    con = cone_construction(X, labels, order, start_fraction=fr)
    return verify_construction(con, X, labels, "the partial construction")


# =================================================================================================================
# Zero-loss networks for every data geometry (docs/math.md §4), as per-layer parameters ready for the torch model.
# (Added for the landscape issue; the functions above are unchanged.)


@dataclass
class Network:
    """A ReLU network given by per-layer parameters: hidden ``Ws[l]: (M_l, M_{l-1})``, ``bs[l]: (M_l,)``, output
    ``W_out: (Q, M_L)``, ``b_out: (Q,)``. ``Wc, bc``: cumulative parameters when the hidden layers are square
    (the truncation picture is exact), else ``None``. ``base_points[l]: (M,)`` and ``edges[l]: (M, M)`` (columns)
    of each square layer's cone, in input space; ``collapses[l]``: which label (class or piece) layer ``l``
    collapses (``-1``: none / not a cone layer). ``name`` says which construction built it."""

    Ws: list[np.ndarray]
    bs: list[np.ndarray]
    W_out: np.ndarray
    b_out: np.ndarray
    name: str
    Wc: list[np.ndarray] | None = None
    bc: list[np.ndarray] | None = None
    collapses: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    structure: structure.Structure | None = None

    @property
    def widths(self) -> list[int]:
        return [W.shape[0] for W in self.Ws]

    @property
    def q(self) -> int:
        return self.W_out.shape[0]

    def tensors(self) -> list[np.ndarray]:
        """All parameter tensors in the torch model's order: ``W_1, b_1, ..., W_L, b_L, W_out, b_out``."""
        out = []
        for W, b in zip(self.Ws, self.bs, strict=True):
            out += [W, b]
        return out + [self.W_out, self.b_out]

    def outputs(self, X: np.ndarray) -> np.ndarray:
        """Plain numpy forward pass. ``X: (N, M)`` -> ``(N, Q)``."""
        h = np.asarray(X, dtype=float)
        for W, b in zip(self.Ws, self.bs, strict=True):
            h = np.maximum(h @ W.T + b, 0.0)
        return h @ self.W_out.T + self.b_out

    def cones(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Base points ``(M,)`` and edge matrices ``(M, M)`` (edges as columns) of the square cumulative layers."""
        if self.Wc is None:
            raise GeomdlError(f"the {self.name} network has non-square layers: no cones in input space")
        ps, Vs = [], []
        for W, b in zip(self.Wc, self.bc, strict=True):
            c = geometry.cone(W, b)
            ps.append(c.base)
            Vs.append(c.edges)
        return ps, Vs


def network_from_construction(con: Construction, name: str) -> Network:
    Ws, bs = con.layers
    return Network(Ws, bs, con.W_out.copy(), con.b_out.copy(), name, Wc=list(con.Wc), bc=list(con.bc),
                   collapses=list(con.order), structure=con.structure)


def mse_loss(out: np.ndarray, labels: np.ndarray) -> float:
    """``(1/2N) sum_r |out_r - e_{label_r}|^2`` (the default training loss), plain numpy."""
    Y = np.eye(out.shape[1])[labels]
    return float(0.5 * np.mean(np.sum((out - Y) ** 2, axis=1)))


def check_exact(net: Network, X: np.ndarray, labels: np.ndarray, tol: float = 1e-10) -> float:
    """Verify that ``net`` classifies ``X`` with loss ``< tol``; raise :class:`GeomdlError` otherwise."""
    out = net.outputs(X)
    loss = mse_loss(out, labels)
    if not (np.isfinite(loss) and loss < tol):
        acc = float(np.mean(out.argmax(axis=1) == labels))
        raise GeomdlError(f"the {net.name} construction is not exact on these data (loss {loss:.3g}, accuracy "
                          f"{acc:.1%}): its collapsed points are not affinely independent or a cone condition "
                          "failed numerically")
    return loss


def _cone_layer(n: np.ndarray, c: float, p: np.ndarray, inside: np.ndarray, rest: np.ndarray,
                what: str) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative layer with apex ``p`` on the plane ``n.x = c``: ``inside`` (``n.x < c``) in the backward cone,
    ``rest`` (``n.x > c``) in the forward cone. Rows ``w_i = n + eta s_i`` with ``eta = m / (2R)``, ``m`` the
    smaller of the two sides' distances to the plane, ``R`` the largest distance from ``p`` to a point; then
    every cone coordinate of ``inside`` is ``<= -m/2`` and of ``rest`` ``>= m/2``."""
    m_in = float(c - (inside @ n).max())
    m_out = float((rest @ n).min() - c) if len(rest) else np.inf
    m = min(m_in, m_out)
    if not m > MARGIN_TOL:
        side = "its own points" if m_in <= m_out else "the remaining points (and earlier base points)"
        raise GeomdlError(f"{what}: the separating hyperplane does not separate {side} (margin {m:.3g})")
    pts = np.vstack([inside, rest])
    R = float(np.max(np.linalg.norm(pts - p, axis=1)))
    W = n[None, :] + (m / (2.0 * R)) * simplex_in_complement(n)
    return W, -W @ p


def _place_base_points(X: np.ndarray, labels: np.ndarray, order: list[int], planes: list[tuple[np.ndarray, float]],
                       ) -> tuple[list[np.ndarray], float]:
    """Base points ``p_0..p_{Q-2}``, ``p_l`` on plane ``l``, on the far side of every later plane and of one
    common hyperplane ``g.x = d`` that has the last class on its near side (so that the last layer can collapse
    it away from all of them). ``g`` is tried among ``+-n_k``, ``+-e_i`` and the direction from the last class's
    centroid to the data's centroid; the LP maximises the common slack ``t``; base points stay within twice the
    data's radius of its centroid. Returns the base points and the slack."""
    q = len(order)
    M = X.shape[1]
    centre = X.mean(axis=0)
    B = 2.0 * float(np.max(np.linalg.norm(X - centre, axis=1)))
    last = X[labels == order[-1]]
    cands = [s * n for n, _ in planes for s in (1.0, -1.0)] + [s * e for e in np.eye(M) for s in (1.0, -1.0)]
    v = centre - last.mean(axis=0)
    if np.linalg.norm(v) > 0:
        cands.append(v / np.linalg.norm(v))
    nv = (q - 1) * M + 1
    best: tuple[float, np.ndarray] | None = None
    for g in cands:
        d = float((last @ g).max())
        A_ub, b_ub, A_eq, b_eq = [], [], [], []
        for l in range(q - 1):
            sl = slice(l * M, (l + 1) * M)
            row = np.zeros(nv)
            row[sl] = planes[l][0]
            A_eq.append(row)
            b_eq.append(planes[l][1])
            for k in range(l + 1, q - 1):            # far side of every later plane: n_k.p >= c_k + t
                row = np.zeros(nv)
                row[sl] = -planes[k][0]
                row[-1] = 1.0
                A_ub.append(row)
                b_ub.append(-planes[k][1])
            row = np.zeros(nv)                        # beyond the last class: g.p >= d + t
            row[sl] = -g
            row[-1] = 1.0
            A_ub.append(row)
            b_ub.append(-d)
        cost = np.zeros(nv)
        cost[-1] = -1.0
        bounds = [(float(centre[i % M] - B), float(centre[i % M] + B)) for i in range(nv - 1)] + [(None, B)]
        res = linprog(cost, A_ub=np.array(A_ub), b_ub=np.array(b_ub), A_eq=np.array(A_eq), b_eq=np.array(b_eq),
                      bounds=bounds, method="highs")
        if res.status == 0 and (best is None or res.x[-1] > best[0]):
            best = (float(res.x[-1]), res.x)
    if best is None or not best[0] > MARGIN_TOL:
        raise GeomdlError("no placement of the base points keeps every later class separable (the SLS order "
                          "exists for the data, but not with the collapsed base points added)")
    return [best[1][l * M:(l + 1) * M].copy() for l in range(q - 1)], best[0]


def sls_placed_construction(X: np.ndarray, labels: np.ndarray, order: Sequence[int] | None = None,
                            targets: np.ndarray | None = None, name: str = "sls") -> Network:
    """Zero-loss construction for sequentially linearly separable data (geometry (b); docs/math.md §4, CE24).

    ``X: (N, M)``, ``labels: (N,)`` in ``0..P-1`` (classes, or *pieces* of classes); ``order``: the SLS order
    (default: :func:`geomdl.math.separation.find_sls_order`); ``targets: (N,)``: the class whose one-hot each point must
    reach (default ``labels``; pieces of one class share their class's target).

    Unlike :func:`sls_construction` (base point = the class centroid projected onto its hyperplane, fine for
    clusters), the base points are *placed* (:func:`_place_base_points`, a linear program) so that every later
    class stays separable from them; for spread-out classes (slabs) the projected centroid lands among later
    classes and the plain construction fails. The hyperplanes of steps ``0..P-2`` are the data-only max-margin
    ones; the last layer separates the last class from the base points. Needs ``M >= P`` (square layers, one
    per piece). Raises :class:`GeomdlError` naming the failed condition.
    """
    X = np.asarray(X, dtype=float)
    npieces = _check_labels(X, labels)
    M = X.shape[1]
    if M < npieces:
        raise GeomdlError(f"the construction needs one square hidden layer per class/piece: M={M} < {npieces}")
    order = _check_order(sls.find_sls_order(X, labels)[0] if order is None else [int(j) for j in order], npieces)
    planes = []
    for k, j in enumerate(order[:-1]):
        n, c, m = separating_hyperplane(X[labels == j], X[np.isin(labels, order[k + 1:])])
        if not m > MARGIN_TOL:
            raise GeomdlError(f"class {j + 1} is not linearly separable from the classes after it in the order "
                              f"{[k + 1 for k in order]} (margin {m:.3g}): the data are not SLS in this order")
        planes.append((n, c))
    bases, _ = _place_base_points(X, labels, order, planes)
    Wc, bc = [], []
    T = X.copy()
    for k, j in enumerate(order):
        inside = labels == j
        if k < npieces - 1:
            n, c = planes[k]
            p = bases[k]
        else:  # the last class against the base points only (everything else is collapsed by now)
            n, c, m = separating_hyperplane(T[inside], T[~inside])
            if not m > MARGIN_TOL:
                raise GeomdlError(f"the last class {j + 1} is not separable from the base points (margin {m:.3g})")
            mu = T[inside].mean(axis=0)
            p = mu + (c - n @ mu) * n
        W, b = _cone_layer(n, c, p, T[inside], T[~inside], f"layer {k + 1} (class {j + 1})")
        Wc.append(W)
        bc.append(b)
        T = geometry.truncate(T, W, b)
    Ws, bs = to_layers(Wc, bc)
    tgt = labels if targets is None else np.asarray(targets)
    q = int(tgt.max()) + 1
    W_out, b_out = refit_output(geometry.hidden_activations(X, Ws, bs)[-1], tgt, q)
    net = Network(Ws, bs, W_out, b_out, name, Wc=Wc, bc=bc, collapses=list(order))
    check_exact(net, X, tgt)
    claim = structure.Claim.collapse_pattern(order, np.bincount(labels, minlength=npieces))
    net.structure = structure.verify(X, labels, Ws, bs, claim, f"the {name} construction",
                                     unit="class" if targets is None else "piece")
    return net


def wedge_construction(X: np.ndarray, labels: np.ndarray) -> Network:
    """Zero-loss construction for geometry (c), the split-into-pieces route of docs/math.md §4: the chevron (class 1) is
    split into its left and right arms (:func:`geomdl.data.synthetic.chevron_pieces`); arms and wedge are SLS;
    each layer
    collapses one piece; the output layer sends both arms' base points to class 1's one-hot and the wedge's to
    class 0's (exact: the three base points are affinely independent). Needs ``M >= 3``."""
    from geomdl.data.synthetic import chevron_pieces  # noqa: PLC0415

    if set(np.unique(labels).tolist()) != {0, 1}:
        raise GeomdlError("the wedge construction needs exactly two classes (0 = wedge, 1 = chevron)")
    pieces = chevron_pieces(X, labels)
    if (np.bincount(pieces, minlength=3) == 0).any():
        raise GeomdlError("the chevron class needs points on both arms (x1 < 0 and x1 >= 0)")
    return sls_placed_construction(X, pieces, targets=labels, name="nonsep (pieces)")


def sphere_directions(m: int, k: int) -> np.ndarray:
    """``k`` unit vectors spread over the sphere of ``R^m``: equally spaced angles for ``m = 2``, a Fibonacci
    lattice for ``m = 3``, and for ``m > 3`` the ``2m`` vectors ``+-e_i`` plus seeded (seed 0) random antipodal
    pairs ``+-g`` (then ``relu(u.x) + relu(-u.x) = |u.x|``: the radius proxy is even). ``(k, m)``."""
    if m == 2:
        a = 2 * np.pi * np.arange(k) / k
        return np.c_[np.cos(a), np.sin(a)]
    if m == 3:
        i = np.arange(k) + 0.5
        z = 1 - 2 * i / k
        phi = np.pi * (1 + 5 ** 0.5) * i
        r = np.sqrt(1 - z ** 2)
        return np.c_[r * np.cos(phi), r * np.sin(phi), z]
    base = np.vstack([np.eye(m), -np.eye(m)])
    if k <= len(base):
        return base[:k]
    g = np.random.default_rng(0).standard_normal(((k - len(base) + 1) // 2, m))
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    return np.vstack([base, np.stack([g, -g], axis=1).reshape(-1, m)])[:k]


CONCENTRIC_K_MAX = 4096
CONCENTRIC_MIN_GAP = 0.01


def concentric_candidates(m: int) -> list[int]:
    """First-layer widths tried by default: ``8`` in ``R^2``, ``50`` in ``R^3``, ``max(50, 4M)`` above, then
    doubling up to :data:`CONCENTRIC_K_MAX`."""
    k = 8 if m == 2 else 50 if m == 3 else max(50, 4 * m)
    out = []
    while k <= CONCENTRIC_K_MAX:
        out.append(k)
        k *= 2
    return out


def radius_proxy_gap(X: np.ndarray, labels: np.ndarray, k: int) -> tuple[float, float]:
    """``a`` = the largest radius proxy ``s(x) = sum_k relu(u_k . x)`` on the ball (label 0), ``b`` the smallest
    on the shell (label 1), for ``k`` :func:`sphere_directions`."""
    s = np.maximum(X @ sphere_directions(X.shape[1], k).T, 0.0).sum(axis=1)
    return float(s[labels == 0].max()), float(s[labels == 1].min())


def concentric_construction(X: np.ndarray, labels: np.ndarray, k: int | None = None) -> Network:
    """Zero-loss construction for geometry (d) (docs/math.md §4): a *wider* first layer, so not square.

    Layer 1: ``K`` rows ``u_k`` spread over the sphere (:func:`sphere_directions`), bias 0:
    ``s(x) = sum_k relu(u_k . x)`` is a norm-like radius proxy. Default ``K``: the first of
    :func:`concentric_candidates` (8 in ``R^2``, 50 in ``R^3``, ``max(50, 4M)`` above, doubling) whose proxy
    separates the data with a relative gap ``(b - a)/b >= 1%`` (measured on the default data, seeds 0-4:
    ``K`` = 8, 50, 100, 100, 50-100 for M = 2..6; the old fixed ``max(50, 4M)`` failed for every M >= 4).
    ``a`` = the largest ``s`` on the ball class (label 0), ``b`` = the smallest on the shell class (label 1).
    Layer 2: two units ``relu(s - a')`` and ``relu(s - b')`` with the thresholds a quarter of the gap inside it,
    ``a' = a + g/4``, ``b' = b - g/4`` (``g = b - a``): every ball
    pre-activation is ``<= -g/4`` and every shell one ``>= +g/4`` (a strict margin, no point on the boundary).
    Output ``e_0 + (e_1 - e_0) (relu(s - a') - relu(s - b')) / (b' - a')``: exactly ``e_0`` on the ball and
    ``e_1`` on the shell. Precondition ``a < b`` (raises otherwise, naming a ``K`` that works when one does).
    The cumulative picture does not apply (``Wc = None``): no square cones; layer 1 makes no claim, layer 2
    collapses the ball and passes the shell (verified, :mod:`geomdl.math.structure`).
    """
    X = np.asarray(X, dtype=float)
    if set(np.unique(labels).tolist()) != {0, 1}:
        raise GeomdlError("the concentric construction needs exactly two classes (0 = ball, 1 = shell)")
    M = X.shape[1]
    if k is not None and k < M + 1:
        raise GeomdlError(f"need at least M+1 = {M + 1} directions in the first layer (got {k})")
    if k is None:
        for K in concentric_candidates(M):
            a, b = radius_proxy_gap(X, labels, K)
            if b - a >= CONCENTRIC_MIN_GAP * b:
                break
        else:
            raise GeomdlError(f"no first-layer width K <= {CONCENTRIC_K_MAX} makes the radius proxy separate ball "
                              f"and shell in R^{M} (best at K={K}: a={a:.4g}, b={b:.4g}); use a wider gap")
    else:
        K = k
        a, b = radius_proxy_gap(X, labels, K)
        if not b - a > 1e-6 * max(1.0, b):
            def separates(c: int) -> bool:
                lo, hi = radius_proxy_gap(X, labels, c)
                return hi - lo >= CONCENTRIC_MIN_GAP * hi

            works = next((c for c in concentric_candidates(M) if separates(c)), None)
            hint = (f"use K={works} directions (or leave K unset)" if works is not None
                    else "use a wider gap between ball and shell")
            raise GeomdlError(f"the radius proxy with K={K} directions does not separate ball and shell (max on "
                              f"the ball a={a:.4g} >= min on the shell b={b:.4g}); {hint}")
    U = sphere_directions(M, K)
    g = b - a
    a2, b2 = a + g / 4, b - g / 4
    W1, b1 = U, np.zeros(K)
    W2, bias2 = np.ones((2, K)), np.array([-a2, -b2])
    W_out = np.array([[-1.0, 1.0], [1.0, -1.0]]) / (b2 - a2)
    b_out = np.array([1.0, 0.0])
    net = Network([W1, W2], [b1, bias2], W_out, b_out, "concentric (wide first layer)", collapses=[-1, -1],
                  notes=[f"layer 1 has K={K} > M={M} rows: the truncation picture is approximate",
                         f"a={a:.6g}, b={b:.6g}"])
    counts = np.bincount(labels, minlength=2)
    claim = structure.Claim(np.array([[-1, -1], [counts[0], 0]]), np.ones((2, 2), dtype=bool))
    net.structure = structure.verify(X, labels, net.Ws, net.bs, claim, "the concentric construction")
    check_exact(net, X, labels)
    return net


def _householder_to(f: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Orthogonal ``R`` with ``R f = u`` for unit vectors ``f, u`` (a Householder reflection; ``I`` if equal)."""
    w = f - u
    nw = float(w @ w)
    if nw < 1e-30:
        return np.eye(len(f))
    return np.eye(len(f)) - 2.0 * np.outer(w, w) / nw


@dataclass(frozen=True)
class CE23Layer:
    """One layer of the CE23 family: ``R: (Q, Q)`` orthogonal with ``R f = u_Q/|u_Q|``, the direction ``f``,
    the class mean ``xbar``, the collapse bound ``2 delta |u_Q|``, ``D`` (the forward-cone bound) and the
    cumulative weight ``W = W_* R``."""

    W: np.ndarray
    R: np.ndarray
    f: np.ndarray
    xbar: np.ndarray
    lower: float
    D: float


def ce23_wstar(q: int, eta: float = 0.5) -> np.ndarray:
    """Our ``W_*`` (our choice): rows ``u/|u| + eta s_i``, ``s_i`` a regular simplex in ``u^perp``,
    so ``W_* u/|u| = 1`` (all ones) and the cone of ``W_* R_l`` is a simplicial cone around ``f_l`` that gets
    wider as ``eta`` shrinks (``eta = 0.5``: rows of norm ``<= 1.12``, so ``|W_* dx| <= 2 delta`` keeps CE23's
    collapse bound valid). ``(Q, Q)``."""
    u = np.ones(q) / np.sqrt(q)
    return np.outer(np.ones(q), u) + eta * simplex_in_complement(u)


def ce23_layers(X: np.ndarray, labels: np.ndarray, mu: Sequence[float] | None = None,
                eta: float = 0.5) -> list[CE23Layer]:
    """The data-dependent pieces of the CE23 construction (docs/math.md §4), layer ``l`` collapsing class ``l``.

    ``f_l``: unit vector from the class mean ``xbar_l`` to the mean of the other classes' means; ``R_l`` maps
    it to ``u_Q/|u_Q|`` (``u_Q = (1..1)``); ``W^(l) = W_* R_l`` (:func:`ce23_wstar`), ``b^(l) = -W^(l) xbar_l +
    mu_l R_l f_l``, so the cone coordinates are ``a = W^(l)(x - xbar_l) + (mu_l/sqrt(Q)) 1``.
    ``delta`` = the largest distance of a point from its class mean; ``D_l = |u_Q| min_i (W^(l)(x - xbar_l))_i``
    over the other classes' points and (when ``mu`` is given) the base points of the layers before ``l``.
    Global range of ``mu_l``: ``(-D_l, -2 delta |u_Q|)``; local range: ``(2 delta |u_Q|, inf)``.
    """
    X = np.asarray(X, dtype=float)
    q = _check_labels(X, labels)
    if X.shape[1] != q:
        raise GeomdlError(f"the CE23 construction needs M = Q (got M={X.shape[1]}, Q={q})")
    means = np.array([X[labels == j].mean(axis=0) for j in range(q)])
    delta = max(float(np.max(np.linalg.norm(X[labels == j] - means[j], axis=1))) for j in range(q))
    u = np.ones(q) / np.sqrt(q)
    Wstar = ce23_wstar(q, eta)
    out, bases = [], []
    for l in range(q):
        f = np.delete(means, l, axis=0).mean(axis=0) - means[l]
        f /= np.linalg.norm(f)
        R = _householder_to(f, u)
        W = Wstar @ R
        others = np.vstack([X[labels != l], *bases]) if bases else X[labels != l]
        D = np.sqrt(q) * float(np.min((others - means[l]) @ W.T))
        out.append(CE23Layer(W, R, f, means[l], 2.0 * delta * np.sqrt(q), D))
        if mu is not None and mu[l] < 0:          # collapsed: the class is now its base point
            bases.append((means[l] - mu[l] * f)[None, :])
    return out


def ce23_construction(X: np.ndarray, labels: np.ndarray, mu: Sequence[float]) -> Network:
    """The CE23 ``mu``-parametrised family (``M = Q``, ``L = Q``; docs/math.md §4, arXiv 2309.10639).

    ``mu: (Q,)``. Every ``mu_l`` in the global range gives a global minimum (each class collapsed to its base
    point, exact output fit: loss 0); every ``mu_l`` in the local range makes every layer the identity on the
    data, giving the degenerate local minimum (the network is the least-squares affine map, loss > 0, the same
    for all such ``mu``). Mixed signs are allowed (they are toggle patterns, see ``geomdl.math.landscape``). A
    ``mu_l`` outside both ranges, or an empty global range (clusters too wide: ``D_l <= 2 delta |u_Q|``), raises
    :class:`GeomdlError` naming the layer and the ranges. Output layer: least squares (exact when all collapse).
    """
    X = np.asarray(X, dtype=float)
    q = _check_labels(X, labels)
    mu = [float(v) for v in mu]
    if len(mu) != q:
        raise GeomdlError(f"need one mu per layer (Q={q}), got {len(mu)}")
    layers = ce23_layers(X, labels, mu)
    Wc, bc = [], []
    for l, (lay, m) in enumerate(zip(layers, mu, strict=True)):
        if lay.D <= 0:
            raise GeomdlError(f"layer {l + 1}: the other classes are not inside the cone around f_{l + 1} "
                              f"(D={lay.D:.3g} <= 0); the data are not clustered enough for CE23")
        if m < 0 and lay.D <= lay.lower:
            raise GeomdlError(f"layer {l + 1}: the global range (-D, -2 delta |u_Q|) = ({-lay.D:.4g}, "
                              f"{-lay.lower:.4g}) is empty: the clusters are too wide")
        in_global = -lay.D < m < -lay.lower
        in_local = m > lay.lower
        if not (in_global or in_local):
            raise GeomdlError(f"mu_{l + 1}={m:g} is in neither range: global ({-lay.D:.4g}, {-lay.lower:.4g}), "
                              f"local ({lay.lower:.4g}, inf)")
        Wc.append(lay.W.copy())
        bc.append(-lay.W @ lay.xbar + m * (lay.R @ lay.f))
    Ws, bs = to_layers(Wc, bc)
    W_out, b_out = refit_output(geometry.hidden_activations(X, Ws, bs)[-1], labels, q)
    kind = "global" if all(m < 0 for m in mu) else "local" if all(m > 0 for m in mu) else "mixed"
    net = Network(Ws, bs, W_out, b_out, f"ce23 ({kind})", Wc=Wc, bc=bc,
                  collapses=[l if m < 0 else -1 for l, m in enumerate(mu)])
    if kind == "global":
        check_exact(net, X, labels)
    claim = structure.Claim.collapse_pattern(net.collapses, np.bincount(labels, minlength=q))
    net.structure = structure.verify(X, labels, Ws, bs, claim, net.name)
    return net

