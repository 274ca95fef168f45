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

from manim import Camera, Circle, PMobject, VMobject, tempconfig  # noqa: E402
from manim.constants import LineJointType  # noqa: E402

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


# -- VMobject paths: worked out for all of a frame's VMobjects in one pass (path_rows) -----------------------

def reference_build_path(cam, ctx, vmobject, ctx_matrix: tuple | None = None) -> None:
    """``FrameCamera._build_path`` as it was: one VMobject's curves, its flags worked out on their own."""
    ctx.new_path()
    nppcc = vmobject.n_points_per_cubic_curve
    points = vmobject.points
    n = len(points) // nppcc * nppcc
    if n == 0:
        return
    c4 = cam.transform_points_pre_display(vmobject, points[:n])[:, :2].reshape(-1, nppcc, 2)
    a0, a1 = c4[:, 0], c4[:, -1]
    tol = vmobject.tolerance_for_point_equality

    def close(p, q):
        return np.all(np.abs(p - q) <= tol + 1e-5 * np.abs(q), axis=-1)

    new = np.ones(len(c4), bool)
    new[1:] = ~close(a0[1:], a1[:-1])
    last = np.r_[new[1:], True]
    starts = np.flatnonzero(new)
    closed = np.zeros(len(c4), bool)
    closed[last] = close(a0[starts], a1[last])
    d = a1 - a0
    rel = c4[:, 1:-1] - a0[:, None]
    cross = np.abs(rel[..., 0] * d[:, None, 1] - rel[..., 1] * d[:, None, 0])
    along = (rel * d[:, None]).sum(axis=-1)
    dd = (d * d).sum(axis=-1)[:, None]
    straight = np.all((cross <= 1e-9 * dd) & (along >= 0) & (along <= dd), axis=1)
    straight &= (dd[:, 0] > 0) | np.all(rel == 0, axis=(1, 2))
    flags = new * 1 + straight * 2 + closed * 4
    if ctx_matrix is not None:
        xx, yx, xy, yy, x0, y0 = ctx_matrix
        c4 = np.stack([xx * c4[..., 0] + xy * c4[..., 1] + x0, yx * c4[..., 0] + yy * c4[..., 1] + y0], axis=-1)
    rows = np.c_[c4.reshape(len(c4), -1), flags].tolist()
    move_to, line_to, curve_to, close_path = ctx.move_to, ctx.line_to, ctx.curve_to, ctx.close_path
    for x0, y0, h1x, h1y, h2x, h2y, x1, y1, f in rows:
        if f % 2:
            move_to(x0, y0)
        if f % 4 >= 2:
            line_to(x1, y1)
        else:
            curve_to(h1x, h1y, h2x, h2y, x1, y1)
        if f >= 4:
            close_path()


class ReferenceFrameCamera(ms.FrameCamera):
    """``FrameCamera`` as it was: each VMobject's path worked out on its own, its style (bytes of its colours;
    ``None`` where it leaves no ink) every time it is drawn, a label's kept pixels painted as a filled box."""

    def display_multiple_vectorized_mobjects(self, vmobjects, pixel_array) -> None:
        Camera.display_multiple_vectorized_mobjects(self, vmobjects, pixel_array)

    def _build_path(self, ctx, vmobject, ctx_matrix=None) -> None:
        reference_build_path(self, ctx, vmobject, ctx_matrix)

    @staticmethod
    def _old_style(vmobject):
        def rgbas(name: str) -> bytes:
            v = getattr(vmobject, name, None)
            return b"" if v is None else np.ascontiguousarray(v, dtype=float).tobytes()

        def ink(name: str, width: float = 1.0) -> bool:
            v = getattr(vmobject, name, None)
            return v is not None and width > 0 and bool(np.any(np.asarray(v)[:, 3] > 0))

        w, bw = vmobject.get_stroke_width(), vmobject.get_stroke_width(True)
        if not (ink("fill_rgbas") or ink("stroke_rgbas", w) or ink("background_stroke_rgbas", bw)):
            return None
        return (rgbas("fill_rgbas"), rgbas("stroke_rgbas"), rgbas("background_stroke_rgbas"), w, bw,
                vmobject.joint_type, vmobject.cap_style)

    def display_vectorized(self, vmobject, ctx):
        style = self._old_style(vmobject)
        if style is None:
            return self
        if not getattr(vmobject, "keep_pixels", False) or vmobject.get_background_image() is not None:
            return Camera.display_vectorized(self, vmobject, ctx)
        d = self._kept_path(ctx, vmobject)
        if d is None:
            d = self._new_drawn(ctx, vmobject)
            ctx.new_path()
        self._used[id(vmobject)] = d
        if d.style != style:
            self._draw_sprite(d, vmobject, ctx)
            d.style = style
        if d.sprite is not None:
            ctx.new_path()
            ctx.save()
            ctx.identity_matrix()
            ctx.set_source_surface(d.sprite, d.x0, d.y0)
            ctx.rectangle(d.x0, d.y0, d.sprite.get_width(), d.sprite.get_height())
            ctx.fill()
            ctx.restore()
        return self


def random_curves(rng, chain_from=None) -> np.ndarray:
    """``(m, 4, 3)`` cubic curves in Manim units: subpaths that continue (exactly, or within Manim's
    tolerance), close (exactly, nearly, or not), straight curves (handles on the chord at its thirds, or past
    its ends), degenerate ones (a point; a loop back to its start) and free curves; ``chain_from``: the first
    curve starts at that point (where the VMobject before it ended)."""
    m = int(rng.integers(1, 12))
    out = []
    start = np.asarray(chain_from, float) if chain_from is not None else rng.uniform(-7, 7, 2)
    sub = start.copy()
    p = start.copy()
    for _ in range(m):
        kind = rng.integers(0, 6)
        q = p + rng.normal(0, 1.5, 2)
        if kind == 0:                          # straight, at thirds
            h1, h2 = p + (q - p) / 3, p + 2 * (q - p) / 3
        elif kind == 1:                        # handles on the line but past its ends: curved
            h1, h2 = p - (q - p) * 0.2, q + (q - p) * 0.3
        elif kind == 2:                        # a point
            q = h1 = h2 = p.copy()
        elif kind == 3:                        # back to where the subpath began
            q = sub.copy() + (rng.normal(0, 1e-7, 2) if rng.uniform() < 0.5 else 0.0)
            h1, h2 = p + rng.normal(0, 1, 2), q + rng.normal(0, 1, 2)
        else:
            h1, h2 = p + rng.normal(0, 1, 2), q + rng.normal(0, 1, 2)
        out.append([p, h1, h2, q])
        r = rng.uniform()
        if r < 0.55:
            p = q.copy()                                       # continues
        elif r < 0.7:
            p = q + rng.normal(0, 2e-7, 2)                     # continues within the tolerance, or not
        else:
            p = sub = rng.uniform(-7, 7, 2)                    # a new subpath
    c = np.asarray(out)
    return np.concatenate([c, np.zeros((*c.shape[:2], 1))], axis=2)


def copied(ctx) -> list:
    return [(t, tuple(p)) for t, p in ctx.copy_path()]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), k=st.integers(1, 6))
def test_path_rows_of_several_vmobjects_match_each_built_alone(seed, k):
    """The rows of several VMobjects worked out in one pass (each one's own tolerance; a VMobject that starts
    where the one before it ended) build, curve for curve, the path the old per-VMobject code built."""
    rng = np.random.default_rng(seed)
    mobs, end = [], None
    for _ in range(k):
        c = random_curves(rng, end if rng.uniform() < 0.5 else None)
        vm = VMobject()
        vm.points = c.reshape(-1, 3)
        vm.tolerance_for_point_equality = float(rng.choice([1e-6, 1e-8, 1e-3]))
        mobs.append(vm)
        end = c[-1, -1, :2]
    matrix = (W / 14.2 * rng.uniform(0.5, 2), 0.0, 0.0, -H / 8.0 * rng.uniform(0.5, 2), W / 2 + rng.normal(),
              H / 2 + rng.normal())
    surface = cairo.ImageSurface(cairo.FORMAT_ARGB32, W, H)
    ctx = cairo.Context(surface)
    with tempconfig(CFG):
        cam = ms.FrameCamera()
        want = reference_paths(cam, ctx, mobs, matrix)
        rows = ms.path_rows([vm.points.reshape(-1, 4, 3)[..., :2] for vm in mobs],
                            [vm.tolerance_for_point_equality for vm in mobs], matrix)
        got, alone = [], []
        for vm, r in zip(mobs, rows, strict=True):
            got.append(build_from_rows(cam, ctx, vm, matrix, r))   # as display_multiple_vectorized_mobjects leaves them
            cam._build_path(ctx, vm, matrix)                # the rows are used once: now built on its own
            alone.append(copied(ctx))
    assert got == want
    assert alone == want


def reference_paths(cam, ctx, mobs, matrix) -> list:
    """Each VMobject's Cairo path as the old camera builds it, one by one."""
    out = []
    for vm in mobs:
        reference_build_path(cam, ctx, vm, matrix)
        out.append(copied(ctx))
    return out


def build_from_rows(cam, ctx, vm, matrix, rows) -> list:
    cam._rows[id(vm)] = (vm.points, matrix, rows)
    cam._build_path(ctx, vm, matrix)
    return copied(ctx)


def test_path_rows_comparison_fails_on_broken_variants():
    """The comparison above detects rows worked out as if the VMobjects were one (no subpath where the next
    one starts at the previous one's end), and rows worked out with the first VMobject's tolerance for all."""
    def straight(p, q):
        p, q = np.array([*p, 0.0]), np.array([*q, 0.0])
        return np.array([p, p + (q - p) / 3, p + 2 * (q - p) / 3, q])

    a, b = VMobject(), VMobject()
    a.points = straight((0, 0), (1, 1))
    b.points = np.concatenate([straight((1, 1), (2, 0)), straight((2, 1e-4), (3, 1))])   # a gap of 1e-4
    b.tolerance_for_point_equality = 1e-3                                                # ... that b closes
    mobs, matrix = [a, b], (40.0, 0.0, 0.0, -40.0, 80.0, 45.0)
    curves = [vm.points.reshape(-1, 4, 3)[..., :2] for vm in mobs]
    ctx = cairo.Context(cairo.ImageSurface(cairo.FORMAT_ARGB32, W, H))
    with tempconfig(CFG):
        cam = ms.FrameCamera()
        want = reference_paths(cam, ctx, mobs, matrix)
        rows = ms.path_rows(curves, [vm.tolerance_for_point_equality for vm in mobs], matrix)
        assert [build_from_rows(cam, ctx, vm, matrix, r) for vm, r in zip(mobs, rows, strict=True)] == want
        (fa, ca), (fj, cj) = rows[0], ms.path_rows([np.concatenate(curves)], [1e-3], matrix)[0]
        assert build_from_rows(cam, ctx, b, matrix, (fj[len(fa):], cj[len(ca):])) != want[1]
        one_tol = ms.path_rows(curves, [a.tolerance_for_point_equality] * 2, matrix)
        assert build_from_rows(cam, ctx, b, matrix, one_tol[1]) != want[1]


def scene_mobjects(rng) -> list:
    """VMobjects of every kind a frame shows: labels (kept pixels), segment groups, polylines, filled shapes,
    some leaving no ink (transparent, or a zero-width stroke only)."""
    mobs = []
    for i in range(int(rng.integers(2, 9))):
        kind = rng.integers(0, 4)
        color = ms.PALETTE[int(rng.integers(0, len(ms.PALETTE)))]
        if kind == 0:
            vm = VMobject(fill_color=color, fill_opacity=float(rng.choice([0.0, 0.5, 1.0])), stroke_width=0.0)
            vm.points = ms.label_points(ms.Label(f"l{i}", float(rng.uniform(0, 12)), float(rng.uniform(0.5, 8.5)),
                                                 f"$T_{i}(X)$ {rng.integers(0, 999)}", 0.5, color))
            vm.keep_pixels = True
        elif kind == 1:
            vm = VMobject(stroke_color=color, stroke_width=float(rng.choice([0.0, 2.0, 6.0])),
                          stroke_opacity=float(rng.choice([0.0, 0.6, 1.0])), fill_opacity=0.0)
            vm.points = random_curves(rng).reshape(-1, 3)
        elif kind == 2:
            vm = VMobject(stroke_color=color, stroke_width=4.0, fill_opacity=0.0,
                          joint_type=LineJointType.ROUND)
            xy = rng.uniform(-6, 6, (int(rng.integers(2, 30)), 2))
            vm.set_points_as_corners(np.c_[xy, np.zeros(len(xy))])
        else:
            vm = Circle(radius=float(rng.uniform(0.3, 2)), color=color, stroke_width=3,
                        fill_opacity=float(rng.choice([0.0, 0.4]))).shift(rng.uniform(-5, 5, 3) * [1, 1, 0])
        mobs.append(vm)
    return mobs


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_frame_camera_draws_what_the_old_camera_drew(seed):
    """Frame after frame (VMobjects moved in place, given new points equal to their old ones, given new points,
    faded, restyled), the camera gives the very pixels the old camera gave."""
    rng = np.random.default_rng(seed)
    mobs = scene_mobjects(rng)
    with tempconfig(CFG):
        old, new = ReferenceFrameCamera(), ms.FrameCamera()
        for _ in range(5):
            a, b = draw_frame(old, mobs), draw_frame(new, mobs)
            np.testing.assert_array_equal(b, a)
            for vm in mobs:
                r = rng.uniform()
                if r < 0.2:
                    vm.shift(rng.normal(0, 0.3, 3) * [1, 1, 0])          # in place
                elif r < 0.4:
                    vm.points = vm.points.copy()                          # equal values, a new array
                elif r < 0.5:
                    vm.points = vm.points + [rng.normal(0, 0.2), 0.0, 0.0]
                elif r < 0.6:
                    vm.set_fill(opacity=float(rng.choice([0.0, 0.7])))
                elif r < 0.7:
                    vm.set_stroke(width=float(rng.choice([0.0, 3.0])))
    assert (a != 255).any()


def draw_frame(cam, mobs) -> np.ndarray:
    cam.reset()
    cam.capture_mobjects(mobs)
    return cam.pixel_array.copy()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 400), hi=st.sampled_from([1, 7, 300, 5000]),
       signed=st.booleans())
def test_distinct_is_numpys_unique(seed, n, hi, signed):
    rng = np.random.default_rng(seed)
    index = rng.integers(-hi if signed else 0, hi, n).astype(rng.choice([np.int64, np.int32, np.uint8])
                                                          if not signed else np.int64)
    uniq, inverse = np.unique(index, return_inverse=True)
    got_u, got_i = ms._distinct(index)
    np.testing.assert_array_equal(got_u, uniq)
    np.testing.assert_array_equal(got_i, inverse.reshape(-1))


# -- the frame's mobjects: segment groups ------------------------------------------------------------------

def reference_segment_points(seg) -> dict:
    """``FrameMobjects._segments_group`` as it was: colour -> the points of that colour's VMobject."""
    colors = np.asarray(seg.colors)
    xy = np.asarray(seg.xy, dtype=float).reshape(-1, 2, 2)
    ok = np.isfinite(xy).all(axis=(1, 2))
    colors, xy = colors[ok], xy[ok]
    out = {}
    for c in dict.fromkeys(colors.tolist()):
        sel = xy[colors == c]
        p0, p1 = ms.to_manim(sel[:, 0]), ms.to_manim(sel[:, 1])
        d = p1 - p0
        out[c] = np.stack([p0, p0 + d / 3, p0 + 2 * d / 3, p1], axis=1).reshape(-1, 3)
    return out


class OneFrame:
    fps, n_frames, theme = 15, 1, None

    def static(self):
        return ms.Frame()

    def frame(self, i):
        return ms.Frame()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 60), k=st.integers(1, 4))
def test_segment_groups_hold_the_old_points(seed, n, k):
    """Each colour's VMobject holds exactly the points the old per-colour code gave it (NaN segments left out,
    colours in the order they first appear), with one colour or several."""
    from scenes.clips.base import THEMES  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    xy = rng.uniform(-1, 17, (n, 2, 2))
    xy[rng.uniform(size=(n, 2, 2)) < 0.05] = np.nan
    seg = ms.Segments("s", xy, [ms.PALETTE[j] for j in rng.integers(0, k, n)], 0.02)
    fr = OneFrame()
    fr.theme = THEMES["light"]
    with tempconfig(CFG):
        mobs = ms.FrameMobjects(fr, ms.FrameCamera())
        shown: list = []
        mobs._segments_group(seg, shown)
        shown2: list = []
        mobs._segments_group(seg, shown2)              # again: the same mobjects, updated
    want = reference_segment_points(seg)
    assert [m.get_stroke_color().to_hex().upper() for m in shown] == [c.upper() for c in want]
    assert shown2 == shown
    for m, pts in zip(shown, want.values(), strict=True):
        np.testing.assert_array_equal(m.points, pts)
        assert m.points.dtype == pts.dtype and m.points.shape == pts.shape
