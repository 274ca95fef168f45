"""The Manim camera's fast paths against the reference code they replace, byte for byte.

Each reference here is the code the fast path replaced (kept verbatim but for names): the fast path must give
the very same pixels on random inputs, and a deliberately broken variant of it must not (so the comparison can
fail).
"""

from __future__ import annotations

import cairo
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("manim")

from manim import PMobject, tempconfig  # noqa: E402

import scenes.backends.manim_scenes as ms  # noqa: E402

W, H = 160, 90
CFG = {"pixel_width": W, "pixel_height": H, "frame_height": 8.0, "frame_width": 8.0 * 16 / 9,
       "background_color": "#FFFFFF"}


class ReferenceDiscCamera(ms.DiscCamera):
    """``DiscCamera.display_point_cloud`` as it was: one cached-sprite lookup a point, each painted as a filled
    box (``set_source_surface``, ``rectangle``, ``fill``)."""

    def display_point_cloud(self, pmobject, points, rgbas, thickness, pixel_array) -> None:
        if len(points) == 0:
            return
        if len(points) >= ms.RASTER_MIN and np.all(np.asarray(rgbas)[:, 3] >= 1.0):
            self._display_raster(pmobject, points, rgbas, thickness, pixel_array)
            return
        ctx = self.get_cairo_context(pixel_array)
        P = self.transform_points_pre_display(pmobject, points)
        m = ctx.get_matrix()
        dx, dy = m.xx * P[:, 0] + m.xy * P[:, 1] + m.x0, m.yx * P[:, 0] + m.yy * P[:, 1] + m.y0
        rgbas = np.asarray(rgbas, dtype=float)
        ring = isinstance(pmobject, ms.RingCloud)
        if ring:
            order = np.arange(len(rgbas))
            colors = [tuple(c) for c in rgbas.tolist()]
            inverse = None
        else:
            index = getattr(pmobject, "palette_index", None)
            if index is not None and len(index) == len(rgbas):
                uniq, inverse = np.unique(index, return_inverse=True)
                uniq = ms.PALETTE_RGBA[uniq]
            else:
                uniq, inverse = np.unique(rgbas, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            order = np.argsort(inverse, kind="stable")
            colors = [tuple(c) for c in np.asarray(uniq).tolist()]
        ring_spec = (tuple(pmobject.ring_rgba.tolist()), float(pmobject.ring_px)) if ring else None
        kind = np.arange(len(rgbas)) if ring else inverse
        ctx.new_path()
        ctx.save()
        ctx.identity_matrix()
        reference_discs(ctx, dx, dy, kind, order, colors, 0.5 * thickness, ring_spec)
        ctx.restore()


def reference_discs(ctx, dx, dy, kind, order, colors, r, ring_spec) -> None:
    """The per-point loop that ``paint_discs`` replaced (its arguments)."""
    with np.errstate(invalid="ignore"):
        ix, iy = np.floor(dx).astype(np.int64), np.floor(dy).astype(np.int64)
        phase = (np.floor((dx - ix) * ms.SUBPIXEL) * ms.SUBPIXEL
                 + np.floor((dy - iy) * ms.SUBPIXEL)).astype(np.int64)
    ok = np.isfinite(dx) & np.isfinite(dy)
    order = order[ok[order]]
    K = ms._sprite_half(r, ring_spec)
    side = 2 * K + 1
    rows = np.c_[ix - K, iy - K, kind, phase][order].tolist()
    set_source, rectangle, fill = ctx.set_source_surface, ctx.rectangle, ctx.fill
    for x0, y0, k, ph in rows:
        set_source(ms._sprite(colors[k], r, ring_spec, ph), x0, y0)
        rectangle(x0, y0, side, side)
        fill()


def random_cloud(seed: int, n: int, ring: bool, palette: bool, alpha: bool):
    """A point cloud mobject: clustered and spread points, some off the surface; palette colours
    (with ``palette_index``) or free RGBA rows (a few distinct, alpha < 1 with ``alpha``)."""
    rng = np.random.default_rng(seed)
    xy = np.r_[rng.normal(0.0, 0.4, (n // 2, 2)), rng.uniform(-8.5, 8.5, (n - n // 2, 2))]   # frame: 14.2 x 8
    pts = np.c_[xy, np.zeros(n)]
    r_px = float(rng.uniform(0.5, 6.0))
    if ring:
        mob = ms.RingCloud(np.r_[rng.uniform(0, 1, 3), rng.uniform(0.3, 1.0) if alpha else 1.0],
                           float(rng.uniform(0.8, 3.0)), stroke_width=2 * r_px)
    else:
        mob = PMobject(stroke_width=2 * r_px)
    mob.points = pts
    if palette:
        mob.palette_index = rng.integers(0, len(ms.PALETTE), n)
        mob.rgbas = ms.PALETTE_RGBA[mob.palette_index]
    else:
        table = rng.uniform(0, 1, (4, 4))
        table[:, 3] = rng.uniform(0.2, 1.0, 4) if alpha else 1.0
        mob.rgbas = table[rng.integers(0, 4, n)]
    return mob


def background(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1)
    px = rng.integers(0, 256, (H, W, 4), dtype=np.uint8)
    px[..., 3] = 255
    return px


def draw_cloud(cam, mob, px: np.ndarray) -> np.ndarray:
    px = px.copy()
    with np.errstate(invalid="ignore"):
        cam.display_point_cloud(mob, mob.points, mob.rgbas, mob.stroke_width, px)
    cam.get_cairo_context(px).get_target().flush()
    cam.pixel_array_to_cairo_context.clear()          # keyed by id(): the next array may reuse this one's
    return px


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 300), ring=st.booleans(), palette=st.booleans(),
       alpha=st.booleans())
def test_disc_sprites_match_the_per_point_loop(seed, n, ring, palette, alpha):
    """Sprites looked up once per (colour, sub-pixel place) and painted with ``paint()`` give exactly the
    per-point lookup and filled box: plain and ring clouds, palette and free colours, alpha < 1, points off
    the surface. (Manim hands a cloud with a point that is not finite to the camera as one point at the
    origin; those are tested on ``paint_discs`` below.)"""
    mob = random_cloud(seed, n, ring, palette, alpha)
    px = background(seed)
    with tempconfig(CFG):
        want = draw_cloud(ReferenceDiscCamera(), mob, px)
        got = draw_cloud(ms.DiscCamera(), mob, px)
    np.testing.assert_array_equal(got, want)
    if n > 20:
        assert (want != px).any()        # something was drawn


def test_disc_sprite_comparison_fails_on_a_broken_variant(monkeypatch):
    """The comparison above detects a disc painted one pixel off, and a disc drawn from its colour's sprite
    for the wrong sub-pixel place."""
    mob = random_cloud(3, 200, False, True, True)
    px = background(3)
    with tempconfig(CFG):
        want = draw_cloud(ReferenceDiscCamera(), mob, px)
        real = ms.paint_discs

        def shifted(ctx, dx, dy, *a):
            real(ctx, dx + 1.0, dy, *a)

        monkeypatch.setattr(ms, "paint_discs", shifted)
        assert not np.array_equal(draw_cloud(ms.DiscCamera(), mob, px), want)

        def no_phase(ctx, dx, dy, kind, order, colors, r, ring):     # the sprite keyed by colour alone
            real(ctx, np.floor(dx) + 0.5 / ms.SUBPIXEL, np.floor(dy) + 0.5 / ms.SUBPIXEL, kind, order, colors, r,
                 ring)

        monkeypatch.setattr(ms, "paint_discs", no_phase)
        assert not np.array_equal(draw_cloud(ms.DiscCamera(), mob, px), want)


def surface_of(px: np.ndarray):
    surface = cairo.ImageSurface.create_for_data(px.data, cairo.FORMAT_ARGB32, W, H, W * 4)
    return surface, cairo.Context(surface)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 200), ring=st.booleans(), shuffle=st.booleans())
def test_paint_discs_matches_the_per_point_loop(seed, n, ring, shuffle):
    """``paint_discs`` itself, on points that are NaN or infinite (skipped), off the surface, in any order (a
    shuffled order, repeated points), one colour a point (as ring clouds were) or a few."""
    rng = np.random.default_rng(seed)
    dx, dy = rng.uniform(-20, W + 20, n), rng.uniform(-20, H + 20, n)
    bad = rng.uniform(size=n) < 0.15
    dx[bad] = rng.choice([np.nan, np.inf, -np.inf], bad.sum())
    dy[rng.uniform(size=n) < 0.1] = np.nan
    colors = [tuple(c) for c in rng.uniform(0, 1, (max(n, 1), 4)).tolist()]
    kind = np.arange(n) if ring else rng.integers(0, 3, n)
    order = rng.integers(0, n, n + 5) if shuffle and n else np.arange(n)
    r = float(rng.uniform(0.5, 5.0))
    spec = (tuple(rng.uniform(0, 1, 4).tolist()), float(rng.uniform(0.8, 3.0))) if ring else None
    px = background(seed)
    out = []
    for paint in (reference_discs, ms.paint_discs):
        got = px.copy()
        surface, ctx = surface_of(got)
        paint(ctx, dx, dy, kind, order, colors, r, spec)
        surface.flush()
        out.append(got)
    np.testing.assert_array_equal(out[1], out[0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), w=st.integers(1, 40), h=st.integers(1, 40), x0=st.integers(-45, W + 5),
       y0=st.integers(-45, H + 5))
def test_paint_of_a_surface_is_the_fill_of_its_box(seed, w, h, x0, y0):
    """``paint_surface`` (a source surface painted: Cairo bounds it by the source's extents) gives exactly
    the fill of the surface's box, also where the box leaves the target."""
    rng = np.random.default_rng(seed)
    sprite = cairo.ImageSurface(cairo.FORMAT_ARGB32, w, h)
    data = np.ndarray((h, sprite.get_stride() // 4, 4), np.uint8, sprite.get_data())[:, :w]
    a = rng.integers(0, 256, (h, w), dtype=np.uint8)
    a[rng.uniform(size=(h, w)) < 0.3] = 0
    data[..., 3] = a
    data[..., :3] = (rng.uniform(size=(h, w, 3)) * a[..., None]).astype(np.uint8)     # premultiplied
    sprite.mark_dirty()
    px = background(seed)

    def run(paint) -> np.ndarray:
        out = px.copy()
        surface, ctx = surface_of(out)
        paint(ctx)
        surface.flush()
        return out

    def fill(ctx):
        ctx.set_source_surface(sprite, x0, y0)
        ctx.rectangle(x0, y0, w, h)
        ctx.fill()

    want = run(fill)
    np.testing.assert_array_equal(run(lambda ctx: ms.paint_surface(ctx, sprite, x0, y0)), want)
    if -w < x0 < W and -h < y0 < H and a.any():
        assert not np.array_equal(run(lambda ctx: ms.paint_surface(ctx, sprite, x0 + 1, y0)), want)
