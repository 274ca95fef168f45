"""The four data geometries of docs/math.md §3 by name, each with its zero-loss construction (docs/math.md §4).

``clustered`` (a): Q balls around ``e_1..e_Q`` (CE24 construction, base point = projected centroid);
``sls`` (b): Q slabs cut by successive hyperplanes (SLS construction with placed base points);
``nonsep`` (c): wedge and chevron, two classes (split-into-pieces construction, 3 square layers);
``concentric`` (d): ball and shell, two classes (wide first layer of K = 50 rows in R^3, then 2 units);
``flat``: Q balls around ``e_1..e_Q`` on the affine subspace ``x_1 + .. + x_Q = 1`` (the other coordinates 0), with
base points lifted off it (:func:`geomdl.math.constructions.flat_construction`): where toggle points can be local
minima (``docs/local-minima.md``). Not in :data:`GEOMETRIES` (the four of docs/math.md §3); accepted everywhere a
geometry
is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from geomdl.checks import check_choice, choice_error
from geomdl.data import synthetic as data
from geomdl.errors import GeomdlError, UsageError
from geomdl.fields import check_fields, config, shared
from geomdl.limits import check_memory

if TYPE_CHECKING:
    from geomdl.math import constructions

# the constructions (scipy) are imported where a network is built: the configs and names above are all that a
# cached render's config lookup needs (no scipy)

GEOMETRIES = ("clustered", "sls", "nonsep", "concentric")
ALL_GEOMETRIES = (*GEOMETRIES, "flat")
TWO_CLASS = ("nonsep", "concentric")
TOGGLE_GEOMETRIES = ("clustered", "flat")


@config
class GeometryConfig:
    """Which data set: ``geometry`` (one of :data:`GEOMETRIES`), ``q`` classes (clustered and sls only; the
    two-class geometries need ``q = 2``), input dimension ``m`` (``None``: 3, or Q when Q > 3), points per
    class, the cluster ``radius`` (clustered only) and the seed. Other parameters keep their generator's
    defaults (see :mod:`geomdl.data.synthetic`)."""

    geometry = shared("clustered")
    q = shared(3)
    m = shared(None)
    n_per_class = shared(200)
    radius = shared(0.25)
    seed = shared(0)

    def validate(self) -> None:
        check_choice(self.geometry, ALL_GEOMETRIES, "geometry")
        check_fields(self, "q")
        if self.geometry in TWO_CLASS and self.q != 2:
            raise GeomdlError(f"geometry {self.geometry!r} has exactly 2 classes (got Q={self.q}); "
                              "use --q 2 or the clustered / sls geometry")
        check_fields(self, "n_per_class")
        check_fields(self, "seed")
        m = self.m if self.m else max(3, self.q)
        N = self.q * self.n_per_class
        # the data, the construction's layers (Q of width M) and the truncated data per layer
        check_memory(8 * (N * m * (self.q + 2) + 4 * self.q * m * m), f"the {self.geometry} data and construction "
                     f"(Q={self.q}, M={m}, N={N} points)", "lower --q or --n-per-class")


def default_q(geometry: str) -> int:
    return 2 if geometry in TWO_CLASS else 3


def make_data(cfg: GeometryConfig) -> tuple[np.ndarray, np.ndarray]:
    """``X: (N, M)``, ``labels: (N,)`` of the configured geometry."""
    cfg.validate()
    g = cfg.geometry
    if g == "clustered":
        return data.clustered(data.ClusteredConfig(q=cfg.q, m=cfg.m, n_per_class=cfg.n_per_class,
                                                   radius=cfg.radius, seed=cfg.seed))
    if g == "flat":
        return data.flat_clusters(data.FlatConfig(q=cfg.q, m=cfg.m, n_per_class=cfg.n_per_class,
                                                  radius=cfg.radius, seed=cfg.seed))
    if g == "sls":
        return data.sls_slabs(data.SLSConfig(q=cfg.q, m=cfg.m, n_per_class=cfg.n_per_class, seed=cfg.seed))
    if g == "nonsep":
        return data.wedge_chevron(data.WedgeConfig(n_per_class=cfg.n_per_class, m=cfg.m, seed=cfg.seed))
    return data.concentric(data.ConcentricConfig(n_per_class=cfg.n_per_class, m=cfg.m, seed=cfg.seed))


def construct(cfg: GeometryConfig, X: np.ndarray, labels: np.ndarray) -> constructions.Network:
    """The zero-loss network of the geometry (raises :class:`GeomdlError` when a precondition fails)."""
    from geomdl.math import constructions  # noqa: PLC0415

    g = cfg.geometry
    if g == "clustered":
        return constructions.network_from_construction(constructions.sls_construction(X, labels), "clustered")
    if g == "flat":
        return constructions.network_from_construction(constructions.flat_construction(X, labels), "flat")
    if g == "sls":
        return constructions.sls_placed_construction(X, labels, name="sls")
    if g == "nonsep":
        return constructions.wedge_construction(X, labels)
    if g == "concentric":
        return constructions.concentric_construction(X, labels)
    raise choice_error(g, ALL_GEOMETRIES, "geometry")


def toggle_base(cfg: GeometryConfig, X: np.ndarray, labels: np.ndarray) -> constructions.Construction:
    """The full cone construction whose layers toggle patterns switch off (clustered or flat geometry)."""
    from geomdl.math import constructions  # noqa: PLC0415

    check_toggle_geometry(cfg.geometry)
    if cfg.geometry == "clustered":
        return constructions.sls_construction(X, labels)
    return constructions.flat_construction(X, labels)


def check_toggle_geometry(geometry: str, error: type[GeomdlError] = UsageError) -> None:
    """Toggle patterns switch off the layers of the clustered or flat construction only (``error``: a usage
    error for an option, a :class:`GeomdlError` for a stored config)."""
    if geometry not in TOGGLE_GEOMETRIES:
        raise error(f"toggle patterns exist for the {' and '.join(TOGGLE_GEOMETRIES)} geometries only "
                    f"(got {geometry!r})")


def build(cfg: GeometryConfig) -> tuple[np.ndarray, np.ndarray, constructions.Network]:
    """Data and its zero-loss network."""
    X, labels = make_data(cfg)
    return X, labels, construct(cfg, X, labels)


@dataclass(frozen=True)
class ConstructionCheck:
    """``geomdl construct --check``: the construction's MSE loss in float64 numpy and through the torch model
    (``ReLUMLP``, float64, loaded with the same parameters), and its accuracy."""

    loss: float
    torch_loss: float
    accuracy: float

    @property
    def exact(self) -> bool:
        """Zero loss (below ``1e-10`` both ways) with 100% accuracy."""
        return self.loss < 1e-10 and self.torch_loss < 1e-10 and self.accuracy == 1.0


def check_construction(X: np.ndarray, labels: np.ndarray, net: constructions.Network) -> ConstructionCheck:
    """Evaluate the explicit network ``net`` on ``X: (N, M)``, ``labels: (N,)`` twice, independently: the numpy
    forward pass of the construction and the torch model the trainers use."""
    import torch  # noqa: PLC0415 (keeps the geometries importable without starting torch)

    from geomdl.math import constructions  # noqa: PLC0415
    from geomdl.nn.model import ReLUMLP  # noqa: PLC0415

    out = net.outputs(X)
    model = ReLUMLP(X.shape[1], net.widths, net.q).double()
    model.load_arrays(net.Ws, net.bs, net.W_out, net.b_out)
    with torch.no_grad():
        tout = model(torch.as_tensor(X)).numpy()
    return ConstructionCheck(constructions.mse_loss(out, labels), constructions.mse_loss(tout, labels),
                             float(np.mean(out.argmax(1) == labels)))


def describe_lines(X: np.ndarray, labels: np.ndarray, net: constructions.Network) -> list[str]:
    """What ``geomdl construct`` prints of a construction: shape, collapses, notes and its structure table.

    X: (N, M) data points, labels: (N,)."""
    unit = "pieces" if net.structure is not None and net.structure.unit == "piece" else "classes"
    lines = [f"{net.name}: input M={X.shape[1]}, hidden widths {net.widths}, Q={net.q}, N={len(X)}; "
             f"layers collapse {unit} {[int(c) + 1 if c >= 0 else None for c in net.collapses]}"]
    lines += [f"note: {note}" for note in net.notes]
    if net.structure is not None:
        lines += [net.structure.summary(), *net.structure.table()]
    return lines
