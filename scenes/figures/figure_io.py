"""Saving paper figures: every figure is written as PNG (150 dpi) and vector PDF (TrueType fonts, no Type 3:
:mod:`scenes.figures.style`), atomically."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from geomdl.io.atomic import atomic_group, atomic_path  # noqa: E402
from scenes.figures import style  # noqa: E402

style.apply()


def save_figure(fig, stem: Path, dpi: int = 150) -> list[Path]:
    """Write ``<stem>.png`` and ``<stem>.pdf`` (the stem may contain dots); close the figure."""
    stem = Path(stem)
    out = []
    with atomic_group():   # the PNG and the PDF replace the earlier pair together (or not at all)
        for ext in ("png", "pdf"):
            path = stem.with_name(f"{stem.name}.{ext}")
            # the font type is read at save time: TrueType even where a caller changed rcParams
            with atomic_path(path) as tmp, matplotlib.rc_context(style.FONT_TYPES):
                fig.savefig(tmp, format=ext, dpi=dpi, bbox_inches="tight")
            out.append(path)
    plt.close(fig)
    return out
