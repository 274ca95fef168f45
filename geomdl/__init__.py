"""geomdl: record the geometry of small ReLU networks (truncation maps, cones, collapse).

The core (this package) never draws: it trains, records a trace file, and the renderers in ``scenes/`` read it.
Data flows one way: config -> core -> trace file -> renderer -> media.
"""

__version__ = "0.1.0"

from geomdl.errors import GeomdlError  # noqa: E402,F401
