"""The palette and themes, and colours made readable: class colours, contrast (WCAG), text ink, mixes."""

from __future__ import annotations

import functools
from functools import lru_cache

import numpy as np

# The class colours (and the layer that collapses that class), for Q up to 8: Okabe-Ito's first six (M. Okabe,
# K. Ito, "Color Universal Design"), then a violet and a sienna in place of its yellow (1.3:1 on white) and grey
# (reads as "inactive"); the two were chosen for their distance from the six, the flows' colours and the grey
# under normal vision and simulated protan-, deut- and tritanopia (CIELAB distance >= 18 in each; see
# tests/test_palette.py). Every class colour is >= 3.4:1 against the dark background; on white, violet, sienna,
# green, vermillion, purple and blue are >= 3:1, orange and sky blue 2.3:1 (as marks; as text see text_ink).
CLASS_COLORS = ["#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2", "#A23BEC", "#9D5727"]
GREY = len(CLASS_COLORS)   # palette index of marks that belong to no class (local-minima's other patterns)
PALETTE = [*CLASS_COLORS, "#8C8C8C"]
THEMES = {
    "light": {"bg": "#FFFFFF", "fg": "#1A1A1A", "muted": "#8C8C8C", "panel": "#BBBBBB", "collapsed": "#000000"},
    "dark": {"bg": "#111111", "fg": "#F2F2F2", "muted": "#8C8C8C", "panel": "#555555", "collapsed": "#FFFFFF"},
}


def class_color(j: int) -> str:
    """The colour of class ``j + 1`` (``labels`` value ``j``); the classes cycle after 8."""
    return CLASS_COLORS[j % len(CLASS_COLORS)]


@lru_cache(maxsize=4096)
def luminance(color: str) -> float:
    """WCAG relative luminance of a hex colour (0 black .. 1 white)."""
    c = np.array([int(color.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)]) / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two hex colours (1 .. 21)."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


TEXT_CONTRAST = 3.0   # text in a class colour reaches at least this ratio against the background


def text_ink(color: str, theme: dict, ratio: float = TEXT_CONTRAST) -> str:
    """``color`` for text on ``theme``'s background: mixed towards the foreground just enough (steps of 5%) to
    reach ``ratio`` against the background (orange and sky blue darken on white; nothing changes on dark)."""
    return _text_ink(color, theme["fg"], theme["bg"], float(ratio))


@lru_cache(maxsize=4096)
def _text_ink(color: str, fg: str, bg: str, ratio: float) -> str:
    """:func:`text_ink` by value (called per arriving point: cached)."""
    for k in range(21):
        c = mix(color, fg, 0.05 * k)
        if contrast(c, bg) >= ratio:
            return c
    return fg


@functools.lru_cache(maxsize=8192)
def mix(color: str, other: str, t: float) -> str:
    """Hex colour ``(1 - t) color + t other`` (``t`` clipped to [0, 1]): fades without an alpha channel
    (cached: frame models ask for the same fades every frame)."""
    a = np.array([int(color.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)], dtype=float)
    b = np.array([int(other.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)], dtype=float)
    t = float(np.clip(t, 0.0, 1.0))
    c = np.rint((1 - t) * a + t * b).astype(int)
    return "#" + "".join(f"{v:02X}" for v in c)


@lru_cache(maxsize=4096)
def _mix_level(color: str, other: str, level: int, levels: int) -> str:
    return mix(color, other, level / levels)
