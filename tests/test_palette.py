"""The class palette reads on both themes and stays distinguishable under colour-vision deficiencies.

Checked against an independent plain-numpy computation: WCAG 2 relative luminance and contrast, CIELAB (D65),
and the Machado, Oliveira & Fernandes (2009) simulation matrices of full protanopia, deuteranopia and
tritanopia applied in linear sRGB.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from scenes.clips import base
from scenes.clips.base import CLASS_COLORS, GREY, PALETTE, THEMES, class_color, contrast, text_ink

MACHADO = {
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
}
VISIONS = {"normal": np.eye(3), **{k: np.array(v) for k, v in MACHADO.items()}}


def _linear(h: str) -> np.ndarray:
    c = np.array([int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16)]) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _ratio(a: str, b: str) -> float:
    la, lb = (float(_linear(h) @ [0.2126, 0.7152, 0.0722]) for h in (a, b))
    return (max(la, lb) + 0.05) / (min(la, lb) + 0.05)


def _lab(rgb_linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb_linear
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _delta_e(a: str, b: str, vision: str) -> float:
    m = VISIONS[vision]
    return float(np.linalg.norm(_lab(np.clip(m @ _linear(a), 0, 1)) - _lab(np.clip(m @ _linear(b), 0, 1))))


def test_contrast_matches_wcag_reference_values():
    assert contrast("#FFFFFF", "#000000") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)      # the WCAG 2 example grey
    for a, b in itertools.combinations([*PALETTE, "#FFFFFF", "#111111", "#F0E442"], 2):
        assert contrast(a, b) == pytest.approx(_ratio(a, b), rel=1e-9)


def test_eight_class_colours_and_a_non_class_grey():
    assert len(CLASS_COLORS) == 8 and len(set(CLASS_COLORS)) == 8
    assert PALETTE[:8] == CLASS_COLORS and GREY == 8 and PALETTE[GREY] not in CLASS_COLORS
    assert [class_color(j) for j in range(16)] == CLASS_COLORS * 2
    assert "#F0E442" not in CLASS_COLORS and "#999999" not in CLASS_COLORS      # the low-contrast yellow, the grey
    r, g, b = (int(PALETTE[GREY][k:k + 2], 16) for k in (1, 3, 5))
    assert r == g == b                                                           # the non-class mark is a grey


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_class_colours_stand_out_from_both_backgrounds(theme):
    """Every class colour as a mark: >= 3.4:1 on the dark background; on white >= 3:1 except Okabe-Ito's orange
    and sky blue (2.25 and 2.31: kept for their distance from the others under colour-vision deficiencies)."""
    bg = THEMES[theme]["bg"]
    for j, c in enumerate(CLASS_COLORS):
        want = 3.4 if theme == "dark" else (2.2 if j in (0, 1) else 3.0)
        assert _ratio(c, bg) >= want, (theme, j + 1, c, _ratio(c, bg))


@pytest.mark.parametrize("theme", sorted(THEMES))
def test_text_in_a_class_colour_reaches_3_to_1(theme):
    th = THEMES[theme]
    for c in [*CLASS_COLORS, "#F0E442", "#FFFFFF", "#111111"]:
        ink = text_ink(c, th)
        assert _ratio(ink, th["bg"]) >= base.TEXT_CONTRAST, (theme, c, ink)
        if _ratio(c, th["bg"]) >= base.TEXT_CONTRAST:
            assert ink == c                                        # already readable: unchanged
    assert text_ink(CLASS_COLORS[0], THEMES["dark"]) == CLASS_COLORS[0]


@pytest.mark.parametrize("vision", sorted(VISIONS))
def test_classes_distinguishable_under_colour_vision_deficiencies(vision):
    """Every pair of class colours >= 16 CIELAB units apart, under normal vision and each simulated full
    dichromacy (Okabe-Ito's own closest pair, sky blue and green under tritanopia, is 16.1); the grey and the
    two flow colours are as far from every class colour."""
    from scenes.clips.flows import ADAPTED_COLOR, STANDARD_COLOR

    for a, b in itertools.combinations(CLASS_COLORS, 2):
        assert _delta_e(a, b, vision) >= 16.0, (vision, a, b, _delta_e(a, b, vision))
    for other in (PALETTE[GREY], STANDARD_COLOR, ADAPTED_COLOR):
        for c in CLASS_COLORS[6:]:                                   # the two colours chosen here
            assert _delta_e(other, c, vision) >= 16.0, (vision, other, c, _delta_e(other, c, vision))


def test_local_minima_marks_other_patterns_in_the_non_class_grey():
    """The chart's stems, dots and rings of the patterns not on show are the grey, the current one blue."""
    from geomdl import experiments
    from scenes.clips import local_minima
    from scenes.render import SCENES

    assert local_minima.OTHER == GREY
    mod = experiments.get(SCENES["local-minima"].experiment)
    tr = mod.run(mod.Config(n_per_class=15, polish_iters=20))[0]
    fr = SCENES["local-minima"].frames_class()(tr, fps=10, duration=1.0)
    f = fr.frame(fr.n_frames // 2)
    stems = next(s for s in f.segments if s.name == "chart_stems")
    assert sorted(set(stems.colors)) == sorted({PALETTE[GREY], PALETTE[local_minima.HIGHLIGHT]})
    assert stems.colors.count(PALETTE[local_minima.HIGHLIGHT]) == 1
