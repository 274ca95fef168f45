"""The numpy point rasteriser (scenes.backends.raster) and the renderers' raster paths for large point groups."""

from __future__ import annotations

import time

import numpy as np
import pytest
from drawing import point_frames, recorded_splats
from hypothesis import given, settings
from hypothesis import strategies as st

from scenes.backends import raster

RED, BLUE = np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])


def splat_rgb(xy, rgb, *args, **kw):
    """Every point its own palette entry."""
    rgb = np.asarray(rgb, dtype=float).reshape(-1, 3)
    return raster.splat(xy, np.arange(len(rgb)), rgb, *args, **kw)


def dense(sp: raster.Splat | None, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Premultiplied RGB (H, W, 3) and alpha (H, W) of a splat."""
    rgb, a = np.zeros((height * width, 3)), np.zeros(height * width)
    if sp is not None:
        rgb[sp.idx], a[sp.idx] = sp.rgb, sp.alpha
    return rgb.reshape(height, width, 3), a.reshape(height, width)


def reference(xy, rgb, width, height, radius, ring=0.0, ring_rgb=(0.0, 0.0, 0.0)):
    """Brute force: every stamp composited over the image one after another (source-over, premultiplied)."""
    st = raster.stamp(radius, ring)
    out_rgb, out_a = np.zeros((height, width, 3)), np.zeros((height, width))
    side, K = st.side, st.K
    fill = st.fill.reshape(side, side)
    under = st.ring.reshape(side, side)
    alpha = st.alpha.reshape(side, side)
    for (x, y), c in zip(xy, rgb, strict=True):
        ix, iy = int(np.floor(x)), int(np.floor(y))
        for dy in range(-K, K + 1):
            for dx in range(-K, K + 1):
                px, py = ix + dx, iy + dy
                a = alpha[dy + K, dx + K]
                if a == 0 or not (0 <= px < width and 0 <= py < height):
                    continue
                src = fill[dy + K, dx + K] * np.asarray(c) + under[dy + K, dx + K] * np.asarray(ring_rgb)
                out_rgb[py, px] = src + out_rgb[py, px] * (1 - a)
                out_a[py, px] = a + out_a[py, px] * (1 - a)
    return out_rgb, out_a


@pytest.mark.parametrize("radius, ring", [(2.2, 0.0), (5.0, 0.0), (3.3, 1.7)])
def test_stamp_areas(radius, ring):
    st = raster.stamp(radius, ring)
    outer, inner = radius + ring / 2, radius - ring / 2
    assert st.alpha.sum() == pytest.approx(np.pi * outer**2, rel=0.02)
    assert st.fill.sum() == pytest.approx(np.pi * inner**2, rel=0.03)
    assert st.alpha.max() == pytest.approx(1.0) and st.alpha.min() >= 0


def test_point_lands_on_the_pixel_that_holds_it():
    sp = splat_rgb(np.array([[10.3, 20.7]]), RED[None], 40, 30, 2.2)
    rgb, a = dense(sp, 40, 30)
    ys, xs = np.indices(a.shape)
    assert (a * xs).sum() / a.sum() == pytest.approx(10.0, abs=1e-9)   # centred on pixel (10, 20)
    assert (a * ys).sum() / a.sum() == pytest.approx(20.0, abs=1e-9)
    assert a[20, 10] == 1.0 and np.allclose(rgb[20, 10], RED)
    assert a.sum() == pytest.approx(np.pi * 2.2**2, rel=0.02)
    assert a[20, 16] == 0 and a[26, 10] == 0                              # nothing beyond the radius


def test_drawing_order_is_kept():
    xy = np.array([[10.5, 10.5], [11.5, 10.5]])
    rgb, _ = dense(splat_rgb(xy, np.array([RED, BLUE]), 30, 30, 3.0), 30, 30)
    assert np.allclose(rgb[10, 10], BLUE) and np.allclose(rgb[10, 11], BLUE)     # the later one is on top
    rgb, _ = dense(splat_rgb(xy[::-1], np.array([BLUE, RED]), 30, 30, 3.0), 30, 30)
    assert np.allclose(rgb[10, 10], RED) and np.allclose(rgb[10, 11], RED)
    # an explicit drawing order: larger is drawn later, whatever the position in the arrays
    rgb, _ = dense(raster.splat(xy, np.array([0, 1]), np.array([RED, BLUE]), 30, 30, 3.0,
                                order=np.array([7, 3])), 30, 30)
    assert np.allclose(rgb[10, 10], RED) and np.allclose(rgb[10, 11], RED)


@pytest.mark.parametrize("ring", [0.0, 1.6])
@pytest.mark.parametrize("n_colours", [3, 120])      # a small palette (summed per colour) and one per point
def test_matches_the_painters_algorithm(ring, n_colours):
    """Distinct pixel positions (no repeats to merge): exactly the brute-force composite, fringes included."""
    rng = np.random.default_rng(3)
    cells = rng.choice(36 * 28, size=120, replace=False)
    xy = np.c_[cells % 36, cells // 36] + rng.uniform(0, 1, (120, 2)) - 2.0      # some stamps cross the border
    palette = rng.uniform(0, 1, (n_colours, 3))
    color = rng.integers(0, n_colours, 120)
    rgb = palette[color]
    sp = raster.splat(xy, color, palette, 32, 24, 2.4, ring, np.array([0.1, 0.2, 0.3]))
    got_rgb, got_a = dense(sp, 32, 24)
    want_rgb, want_a = reference(xy, rgb, 32, 24, 2.4, ring, (0.1, 0.2, 0.3))
    assert np.allclose(got_a, want_a, atol=1e-9)
    assert np.allclose(got_rgb, want_rgb, atol=1e-9)


def _reference_dedup(xy, color, order):
    """The points the painter's algorithm leaves visible: where several land on one pixel, the one drawn last
    (largest ``order``), in drawing order."""
    f = np.floor(np.asarray(xy, dtype=float))
    last: dict[tuple, int] = {}
    for i in np.argsort(order, kind="stable"):
        if np.isfinite(f[i]).all():
            last[(f[i, 0], f[i, 1])] = int(i)
    keep = sorted(last.values(), key=lambda i: order[i])
    return np.asarray(xy, dtype=float)[keep].reshape(-1, 2), np.asarray(color)[keep]


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 160), st.integers(0, 2**31 - 1), st.sampled_from([(1.2, 0.0), (2.23, 0.0), (3.35, 1.67),
                                                                        (1.0, 0.6), (4.6, 0.0)]),
       st.integers(2, 9), st.sampled_from([2.0, 8.0, 40.0]), st.booleans())
def test_dense_clouds_match_the_painters_algorithm(n, seed, stamp_size, n_colours, spread, shuffle):
    """Clouds dense enough that most stamps lie under later full covers (what the splat culls), with repeats at
    one pixel, stamps across the border and an explicit drawing order: the brute-force composite of the points
    left visible (hypothesis over sizes, stamps, palettes)."""
    radius, ring = stamp_size
    rng = np.random.default_rng(seed)
    W, H = 30, 22
    xy = rng.normal((W / 2, H / 2), spread, (n, 2))
    if n > 3:
        xy[rng.integers(0, n, n // 3)] = xy[rng.integers(0, n, n // 3)]       # repeats
    palette = rng.uniform(0, 1, (n_colours, 3))
    color = rng.integers(0, n_colours, n)
    order = rng.permutation(n) * 3 + 5 if shuffle else np.arange(n)
    sp = raster.splat(xy, color, palette, W, H, radius, ring, np.array([0.1, 0.2, 0.3]), order=order)
    got_rgb, got_a = dense(sp, W, H)
    vxy, vc = _reference_dedup(xy, color, order)
    want_rgb, want_a = reference(vxy, palette[vc], W, H, radius, ring, (0.1, 0.2, 0.3))
    assert np.allclose(got_a, want_a, atol=1e-9)
    assert np.allclose(got_rgb, want_rgb, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([(1.2, 0.0), (2.23, 0.0), (3.35, 1.67), (4.6, 0.0)]),
       st.booleans(), st.integers(8, 40))
def test_footprint_filters_are_the_offset_by_offset_extrema(seed, stamp_size, full, gw):
    """``_footprint``'s row runs give the integers of one shifted maximum / minimum per footprint offset."""
    st_ = raster.stamp(*stamp_size)
    rng = np.random.default_rng(seed)
    R = rng.integers(-1, 50, gw * 17).astype(np.int16)
    mask = st_.alpha >= 1.0 if full else st_.alpha > 0
    dy, dx = np.divmod(np.flatnonzero(mask), st_.side)
    for op, empty in ((np.maximum, -1), (np.minimum, 32767)):
        want = np.full_like(R, empty)
        for o in ((dy - st_.K) * gw + (dx - st_.K)).tolist():
            for p in range(len(R)):
                if 0 <= p - o < len(R):
                    want[p] = op(want[p], R[p - o])
        assert np.array_equal(raster._footprint(op, R, mask, st_.K, gw, empty), want)


def test_repeats_keep_the_last_and_off_image_points_are_dropped():
    xy = np.array([[5.2, 5.2], [5.8, 5.9], [-50.0, 3.0], [np.nan, 1.0]])
    rgb, _ = dense(splat_rgb(xy, np.array([RED, BLUE, RED, RED]), 20, 20, 2.0), 20, 20)
    assert np.allclose(rgb[5, 5], BLUE) and not np.any(rgb[:, :2, 0])
    assert splat_rgb(np.array([[-50.0, -50.0]]), RED[None], 20, 20, 2.0) is None


def test_patch_and_composite_agree():
    rng = np.random.default_rng(0)
    xy = rng.uniform(5, 60, (300, 2))
    sp = splat_rgb(xy, rng.uniform(0, 1, (300, 3)), 70, 66, 2.5)
    img = np.full((66, 70, 4), 255, np.uint8)
    sp.composite_over(img)
    x0, y0, patch = sp.patch()
    a = patch[..., 3:] / 255.0
    over = patch[..., :3] * a + 255 * (1 - a)
    h, w = patch.shape[:2]
    assert np.abs(img[y0:y0 + h, x0:x0 + w, :3] - over).max() <= 2.0      # two 8-bit roundings


def test_large_cloud_is_fast():
    rng = np.random.default_rng(1)
    xy = np.r_[rng.normal((300, 300), 40, (50_000, 2)), rng.normal((800, 400), 60, (50_000, 2))]
    rgb = np.repeat(np.eye(3), [40_000, 30_000, 30_000], axis=0)
    splat_rgb(xy[:100], rgb[:100], 1280, 720, 2.2)                     # stamp cached
    t = time.perf_counter()
    sp = splat_rgb(xy, rgb, 1280, 720, 2.2)
    elapsed = time.perf_counter() - t
    assert elapsed < 0.5, f"100k points took {elapsed:.2f} s"            # ~15 ms on a 2-core VM
    assert len(sp.idx) > 10_000


# -- the renderers' raster paths draw what their marker paths draw ---------------------------------------------

@pytest.fixture(scope="module")
def frames():
    from geomdl.experiments import truncation_speed as ts  # noqa: PLC0415
    from scenes.render import make_frames  # noqa: PLC0415

    trace, _ = ts.run(ts.TruncationSpeedConfig(q=3, n_per_class=120, steps=60, snapshots=7))
    return make_frames(trace, 15, 1.0, "light")


def test_matplotlib_raster_path_matches_markers(frames, monkeypatch):
    import scenes.backends.mpl_renderer as mr  # noqa: PLC0415

    i = frames.n_frames - 1
    imgs = {}
    for lim in (10**9, 0):
        monkeypatch.setattr(mr, "RASTER_MIN", lim)
        d = mr.MplFrameDrawer(frames, 854, 480)
        try:
            imgs[lim] = d.draw(i)[..., :3].astype(int)
        finally:
            d.close()
    diff = np.abs(imgs[0] - imgs[10**9])
    assert diff.mean() < 0.3, diff.mean()
    assert (diff.max(axis=2) > 48).mean() < 0.002
    # the points are there: the frame's plain points show their class colour where they sit
    f = frames.frame(i)
    pts = f.points[0]
    px = np.c_[pts.xy[:, 0] * 854 / 16, 480 - pts.xy[:, 1] * 480 / 9].round().astype(int)
    got = imgs[0][px[:, 1].clip(0, 479), px[:, 0].clip(0, 853)]
    assert (np.abs(got - imgs[10**9][px[:, 1].clip(0, 479), px[:, 0].clip(0, 853)]).max(axis=1) < 10).mean() > 0.95
    assert (got.sum(axis=1) < 3 * 250).mean() > 0.95                       # coloured, not background


def test_manim_raster_path_matches_cairo_discs(monkeypatch):
    pytest.importorskip("manim")
    from manim import PMobject, tempconfig  # noqa: PLC0415

    import scenes.backends.manim_scenes as ms  # noqa: PLC0415

    rng = np.random.default_rng(0)
    pts = np.c_[rng.normal(0, 1.2, (600, 2)), np.zeros(600)]
    col = rng.integers(0, 3, 600)
    mixed, single = {}, {}
    with tempconfig({"pixel_width": 320, "pixel_height": 180, "frame_height": 8.0, "frame_width": 8.0 * 16 / 9,
                     "background_color": "#FFFFFF"}):
        cam = ms.DiscCamera()

        def draw(*mobs) -> np.ndarray:
            cam.reset()
            for mob in mobs:
                cam.display_point_cloud(mob, mob.points, mob.rgbas, cam.adjusted_thickness(mob.stroke_width),
                                        cam.pixel_array)
            return cam.pixel_array[..., :3].astype(int).copy()

        for lim in (10**9, 0):
            monkeypatch.setattr(ms, "RASTER_MIN", lim)
            plain = PMobject(stroke_width=5)
            plain.points, plain.rgbas = pts, ms.PALETTE_RGBA[col]
            rings = ms.RingCloud(np.array([0.0, 0.0, 0.0, 1.0]), 1.2, stroke_width=6)
            rings.points, rings.rgbas = pts[:100] + np.array([3.0, 0.0, 0.0]), ms.PALETTE_RGBA[col[:100]]
            # palette indices given with the colours, as FrameScene does: colours drawn in palette order
            # (as matplotlib's marker lines); without them in np.unique's order of the RGBA rows
            plain.palette_index = col
            mixed[lim] = draw(plain, rings)
            del plain.palette_index
            unsorted = draw(plain, rings)
            if lim == 0:
                unsorted_raster = unsorted
            else:
                unsorted_cairo = unsorted
            one = PMobject(stroke_width=5)
            one.points, one.rgbas = pts * 2, ms.PALETTE_RGBA[np.zeros(600, int)]
            single[lim] = draw(one)
    # one colour: the same ink at the same place (Cairo draws at the exact sub-pixel place, the raster path at
    # the pixel centre: <= 0.5 px off, unbiased), and it is orange (#E69F00): RGBA channel order
    ink = {k: (255 - v).sum(axis=2).astype(float) for k, v in single.items()}
    ys, xs = np.indices(ink[0].shape)
    for k in ink:
        assert single[k][np.unravel_index(np.argmax(ink[k]), ink[k].shape)].tolist() == pytest.approx(
            [0xE6, 0x9F, 0x00], abs=30)
    assert ink[0].sum() == pytest.approx(ink[10**9].sum(), rel=0.03)
    for grid in (xs, ys):
        assert (ink[0] * grid).sum() / ink[0].sum() == pytest.approx((ink[10**9] * grid).sum() / ink[10**9].sum(),
                                                                     abs=0.1)
    # three colours and rings: Cairo fills a colour's discs as one path (their union), the raster path blends
    # each disc's fringe, so in this dense cloud at 180p a colour's footprint differs by a few percent
    ref = np.r_[ms.PALETTE_RGBA[:3, :3] * 255, [[255.0, 255.0, 255.0]]]          # 3 classes, background
    nearest = {k: np.argmin(((v[:, :, None, :] - ref) ** 2).sum(axis=3), axis=2) for k, v in mixed.items()}
    for c in range(3):
        assert (nearest[0] == c).sum() == pytest.approx((nearest[10**9] == c).sum(), rel=0.1)
    small = {k: v.reshape(45, 4, 80, 4, 3).mean(axis=(1, 3)) for k, v in mixed.items()}
    assert np.abs(small[0] - small[10**9]).mean() < 3.0
    down = [v.reshape(45, 4, 80, 4, 3).mean(axis=(1, 3)) for v in (unsorted_raster, unsorted_cairo)]
    assert np.abs(down[0] - down[1]).mean() < 3.0
    # the colour order matters where the classes overlap: palette order puts class 2 (green) on top
    green_unsorted = np.argmin(((unsorted_raster[:, :, None, :] - ref) ** 2).sum(axis=3), axis=2) == 2
    assert (nearest[0] == 2).sum() > green_unsorted.sum()


# -- the fast splat against the splat it replaced (tests/splat_reference.py: 6a05ca8's, verbatim) -------------

def same_splat(a: raster.Splat | None, b: raster.Splat | None) -> bool:
    """The same pixels, colours and alphas to the byte (and the same dtypes and order)."""
    if a is None or b is None:
        return a is b
    return all(u.dtype == v.dtype and u.shape == v.shape and u.tobytes() == v.tobytes()
               for u, v in ((a.idx, b.idx), (a.rgb, b.rgb), (a.alpha, b.alpha)))


@pytest.mark.parametrize("pack", [(32, 62), (0, 62), (0, 0)])   # uint32 keys, int64 keys, lexsort
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**31 - 1), st.sampled_from([(1.2, 0.0), (2.23, 0.0), (3.35, 1.67),
                                                                         (1.0, 0.6), (4.6, 0.0)]),
       st.sampled_from([1, 3, 9, 20]), st.integers(1, 4), st.sampled_from(["none", "increasing", "shuffled"]),
       st.floats(0.0, 0.3))
def test_splat_is_the_reference_splat_byte_for_byte(pack, n, seed, stamp_size, n_colours, clusters, order_kind,
                                                    off_image):
    """Dense clusters far apart (rows and columns no stamp reaches between them), repeats, points off the image
    or NaN, drawing orders given or not, increasing or not, palettes summed per colour (<= 16) or not: the same
    bytes as the splat it replaced, with each of its sort-key packings."""
    from splat_reference import splat_reference  # noqa: PLC0415

    radius, ring = stamp_size
    rng = np.random.default_rng(seed)
    W, H = int(rng.integers(20, 200)), int(rng.integers(20, 150))
    centres = rng.uniform((0, 0), (W, H), (clusters, 2))
    xy = centres[rng.integers(0, clusters, n)] + rng.normal(0, rng.choice([1.0, 4.0, 15.0]), (n, 2))
    if n > 3:
        xy[rng.integers(0, n, n // 3)] = xy[rng.integers(0, n, n // 3)]       # repeats at one pixel
    far = rng.random(n) < off_image
    xy[far] = rng.uniform(-300, 300, (far.sum(), 2))                           # some off the image
    if n > 5 and seed % 7 == 0:
        xy[0, 1] = np.nan
    palette = rng.uniform(0, 1, (n_colours, 3))
    color = rng.integers(0, n_colours, n)
    order = {"none": None, "increasing": np.cumsum(rng.integers(1, 5, n)) - 40,
             "shuffled": rng.permutation(n) * 3 - 11}[order_kind]
    args = (xy, color, palette, W, H, radius, ring, np.array([0.1, 0.2, 0.3]), order)
    want = splat_reference(*args)
    old = raster.PACK_BITS
    raster.PACK_BITS = pack
    try:
        got = raster.splat(*args)
    finally:
        raster.PACK_BITS = old
    assert same_splat(got, want)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 59), max_size=12), st.integers(1, 60), st.integers(0, 5))
def test_reached_lines_are_those_within_K(u, length, K):
    u = np.array([v for v in u if v < length], dtype=np.int64)
    want = [line for line in range(length) if any(abs(line - v) <= K for v in u.tolist())]
    assert raster._reached(u, length, K).tolist() == want


def _point_frames(n_per_class: int, n_frames: int):
    return point_frames(n_per_class, n_frames)


@pytest.mark.parametrize("arrange", ["as given", "shuffled", "sorted"])
def test_point_raster_draws_the_reference_pixels(monkeypatch, arrange):
    """The renderer's frames with every group rasterised: the same pixels as 6a05ca8's PointRaster, splat and
    composite; the groups' points as the model gives them, shuffled (colours out of order: the order passed) or
    sorted by colour (the order left out)."""
    import splat_reference as ref  # noqa: PLC0415

    from scenes.backends import mpl_renderer as mr  # noqa: PLC0415

    frames = _point_frames(300, 6)
    if arrange != "as given":
        real = frames.frame

        def frame(i):   # (the same permutation whenever frame i is made)
            f = real(i)
            for j, p in enumerate(f.points):
                o = (np.argsort(p.color, kind="stable") if arrange == "sorted"
                     else np.random.default_rng((i, j)).permutation(len(p.color)))
                object.__setattr__(p, "xy", p.xy[o])
                object.__setattr__(p, "color", p.color[o])
            return f
        monkeypatch.setattr(frames, "frame", frame)
    monkeypatch.setattr(mr, "RASTER_MIN", 0)
    imgs = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr(mr.PointRaster, "set_points", ref.point_raster_set_points)
            monkeypatch.setattr(mr.PointRaster, "draw", ref.point_raster_draw)
        d = mr.MplFrameDrawer(frames, 1280, 720)
        try:
            imgs.append([d.draw(i).copy() for i in range(frames.n_frames)])
        finally:
            d.close()
    for a, b in zip(*imgs, strict=True):
        assert np.array_equal(a, b)


def _recorded_splats(n_per_class: int, n_frames: int, monkeypatch) -> list[tuple]:
    """The ``splat`` calls (arguments) of the matplotlib renderer drawing the first ``n_frames`` truncation-speed
    frames of a trace (the points benchmark's clip) at 720p, every group rasterised."""
    return recorded_splats(point_frames(n_per_class, n_frames), monkeypatch, 0)


def _check_recorded(calls: list[tuple]) -> None:
    from splat_reference import splat_reference  # noqa: PLC0415

    assert calls
    for args in calls:
        assert same_splat(raster.splat(*args), splat_reference(*args))
        shuffled = (*args[:8], np.random.default_rng(len(args[0])).permutation(len(args[0])))
        assert same_splat(raster.splat(*shuffled), splat_reference(*shuffled))
        assert same_splat(raster.splat(*args[:8]), splat_reference(*args[:8]))


def test_splat_of_real_frames_is_the_reference_splat(monkeypatch):
    """Real clouds (dense, many points on one pixel, classes in clusters), as the renderer passes them."""
    _check_recorded(_recorded_splats(300, 12, monkeypatch))


@pytest.mark.slow
def test_splat_of_the_100k_benchmark_frames_is_the_reference_splat(monkeypatch):
    """Every splat of the points benchmark's ~100k-point clip (30 frames)."""
    _check_recorded(_recorded_splats(12000, 30, monkeypatch))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from([3, 4]), st.booleans())
def test_composite_is_the_reference_composite(seed, channels, exact_halves):
    """Onto RGBA and RGB images, over random backgrounds, with colours at exact half-way roundings too."""
    from splat_reference import composite_reference  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    sp = splat_rgb(rng.uniform(0, 60, (200, 2)), rng.uniform(0, 1, (200, 3)), 64, 48, 2.5, 0.0)
    if exact_halves:   # 255 * rgb + dst * (1 - alpha) landing on k + 0.5 (a rounding tie) and beyond 0..255
        sp.alpha[:] = 0.5
        sp.rgb[:] = rng.integers(-3, 260, sp.rgb.shape) / 255.0
    img = rng.integers(0, 256, (48, 64, channels), dtype=np.uint8)
    want = img.copy()
    composite_reference(sp, want)
    sp.composite_over(img)
    assert np.array_equal(img, want)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.sampled_from(["sorted", "shuffled"]), st.sampled_from(["in", "above", "both"]),
       st.integers(1, 3000))
def test_point_raster_is_the_reference_point_raster(seed, arrange, colours, n):
    """One PointRaster on an Agg canvas: overlapping classes, colours in order or not, outside the palette's
    range or not (taken modulo its size), ringed or not: the same canvas bytes as 6a05ca8's."""
    import splat_reference as ref  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    from scenes.backends import mpl_renderer as mr  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    xy = rng.normal(0.5, rng.choice([0.02, 0.1, 0.4]), (n, 2))
    hi = len(mr.PALETTE)
    color = rng.integers(*{"in": (0, min(3, hi)), "above": (0, 3 * hi), "both": (-2 * hi, 3 * hi)}[colours], n)
    if arrange == "sorted":
        color = np.sort(color)
    radius, ring = (2.2, 0.0) if seed % 2 else (3.3, 1.6)
    bufs = []
    for fast in (True, False):
        fig = Figure(figsize=(3.2, 2.4), dpi=100)
        canvas = FigureCanvasAgg(fig)
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ras = mr.PointRaster(zorder=3, ring_rgb=(0.1, 0.2, 0.3))
        ax.add_artist(ras)
        if fast:
            ras.set_points(xy, color, radius, ring)
        else:
            ref.point_raster_set_points(ras, xy, color, radius, ring)
            ras.draw = lambda renderer, ras=ras: ref.point_raster_draw(ras, renderer)
        canvas.draw()
        bufs.append(np.asarray(canvas.buffer_rgba()).copy())
    assert np.array_equal(*bufs)
