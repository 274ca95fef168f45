"""The encoder's yuv420p conversion (scenes.backends.yuv): the BT.601 formula against a float computation in
plain numpy, against ffmpeg's own scaler (which converted the renderers' RGBA until stop 32), and the
tile-by-tile conversion against converting every frame whole, over sizes, channel counts and change patterns;
write_mp4 end to end (odd sizes, decoded frames against the frames given)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from videos import read_frames

from scenes.backends import export, yuv


def float_yuv(px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.601 limited range in float64: Y each pixel, U and V from each 2x2 block's mean (unrounded)."""
    rgb = px[..., :3].astype(np.float64)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = 16 + 219 / 255 * (0.299 * r + 0.587 * g + 0.114 * b)
    m = (rgb[..., 0::2, 0::2, :] + rgb[..., 1::2, 0::2, :] + rgb[..., 0::2, 1::2, :] + rgb[..., 1::2, 1::2, :]) / 4
    u = 128 + 224 / 255 * (-0.168736 * m[..., 0] - 0.331264 * m[..., 1] + 0.5 * m[..., 2])
    v = 128 + 224 / 255 * (0.5 * m[..., 0] - 0.418688 * m[..., 1] - 0.081312 * m[..., 2])
    return y, u, v


def planes(buf: np.ndarray, h: int, w: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = h * w
    return (buf[:n].reshape(h, w), buf[n:n * 5 // 4].reshape(h // 2, w // 2),
            buf[n * 5 // 4:].reshape(h // 2, w // 2))


def ffmpeg_yuv(px: np.ndarray) -> np.ndarray:
    h, w, c = px.shape
    proc = subprocess.run([export.ffmpeg_exe(), "-v", "error", "-f", "rawvideo", "-s", f"{w}x{h}", "-pix_fmt",
                           {3: "rgb24", 4: "rgba"}[c], "-i", "-", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-"],
                          input=px.tobytes(), capture_output=True, check=True)
    return np.frombuffer(proc.stdout, np.uint8)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 20), st.integers(1, 20), st.sampled_from([3, 4]), st.integers(0, 2**32 - 1))
def test_the_conversion_is_bt601_rounded(hh, ww, c, seed):
    """Every value within rounding (0.5 and the 15-bit coefficients' 0.012) of the float formula."""
    px = np.random.default_rng(seed).integers(0, 256, (2 * hh, 2 * ww, c), dtype=np.uint8)
    for got, want in zip(yuv.convert(px), float_yuv(px), strict=True):
        assert got.dtype == np.uint8 and got.shape == want.shape
        assert np.abs(got - want).max() <= 0.5 + 0.012


def test_the_extremes_and_greys():
    px = np.zeros((2, 512, 3), np.uint8)
    px[:, 0::2] = np.arange(256, dtype=np.uint8)[:, None]   # each grey level in a 2x2 block
    px[:, 1::2] = px[:, 0::2]
    y, u, v = yuv.convert(px)
    assert (y[:, 0::2] == np.rint(16 + np.arange(256) * 219 / 255)).all()   # 0 -> 16, 255 -> 235
    assert (u == 128).all() and (v == 128).all()                              # greys carry no chroma


def test_flat_colours_match_ffmpegs_scaler():
    """Uniform images of 64 random colours: ffmpeg's default conversion (BT.601, limited range) within 1 level
    on every plane (where its chroma filter sees one colour it is the same mean)."""
    rng = np.random.default_rng(0)
    for colour in rng.integers(0, 256, (64, 4), dtype=np.uint8):
        px = np.broadcast_to(colour, (16, 32, 4)).copy()
        y, u, v = yuv.convert(px)
        fy, fu, fv = planes(ffmpeg_yuv(px), 16, 32)
        for a, b in ((y, fy), (u, fu), (v, fv)):
            assert np.abs(a.astype(int) - b).max() <= 1, colour


def test_a_drawn_frame_matches_ffmpegs_luma():
    """A frame with text, lines and discs: luma within 1 level of ffmpeg's everywhere; chroma on average within
    a fraction of a level (ffmpeg filters chroma over more than the 2x2 block: a few levels at sharp edges;
    a 720p headline frame: 0.05 on average)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(3.2, 1.8), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.plot([0, 1], [0, 1], color="#d62728", lw=2)
    ax.scatter(np.linspace(0, 1, 30), np.sin(np.linspace(0, 6, 30)) / 2 + 0.5, c=np.arange(30), s=40)
    ax.text(0.1, 0.8, "layer 2: 37 collapsed", color="#1f77b4")
    fig.canvas.draw()
    px = np.asarray(fig.canvas.buffer_rgba()).copy()
    plt.close(fig)
    h, w = px.shape[:2]
    y, u, v = yuv.convert(px)
    fy, fu, fv = planes(ffmpeg_yuv(px), h, w)
    assert np.abs(y.astype(int) - fy).max() <= 1
    for a, b in ((u, fu), (v, fv)):
        assert np.abs(a.astype(int) - b).mean() < 0.3


@st.composite
def clips(draw):
    """A size (even, 2..70 a side: below, at and past the 16-pixel tiles), 3 or 4 channels, and frames that
    change in random rectangles, not at all, or everywhere."""
    h, w = 2 * draw(st.integers(1, 35)), 2 * draw(st.integers(1, 35))
    c = draw(st.sampled_from([3, 4]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    frames = [rng.integers(0, 256, (h, w, c), dtype=np.uint8)]
    for kind in draw(st.lists(st.sampled_from(["rect", "rect", "pixel", "same", "all", "alpha"]), max_size=8)):
        f = frames[-1].copy()
        if kind == "rect":
            r0, c0 = rng.integers(0, h), rng.integers(0, w)
            f[r0:rng.integers(r0 + 1, h + 1), c0:rng.integers(c0 + 1, w + 1)] = rng.integers(0, 256, c)
        elif kind == "pixel":
            f[rng.integers(0, h), rng.integers(0, w), rng.integers(0, c)] ^= 1 + rng.integers(0, 255)
        elif kind == "all":
            f = rng.integers(0, 256, (h, w, c), dtype=np.uint8)
        elif kind == "alpha":   # only the alpha channel (or, for RGB, the last one) changes somewhere
            f[rng.integers(0, h), rng.integers(0, w), c - 1] ^= 7
        frames.append(f)
    return h, w, c, frames


@settings(max_examples=80, deadline=None)
@given(clips())
def test_tile_by_tile_is_converting_each_frame_whole(clip):
    h, w, c, frames = clip
    conv = yuv.Yuv420Converter(h, w, c)
    for f in frames:
        got = conv.convert(f)
        want = np.concatenate([p.ravel() for p in yuv.convert(f)])
        assert np.array_equal(got, want)


def test_only_changed_tiles_are_converted():
    h, w = 64, 96                                  # 4 x 6 tiles
    conv = yuv.Yuv420Converter(h, w, 4)
    f = np.zeros((h, w, 4), np.uint8)
    conv.convert(f)
    assert conv.tiles_converted == 24
    conv.convert(f)
    assert conv.tiles_converted == 24               # nothing changed
    f[17, 40, 1] = 9                                # one pixel in tile (1, 2)
    conv.convert(f)
    assert conv.tiles_converted == 25
    f[15:17, 15:17, 0] = 200                         # a 2x2 block across 4 tiles
    conv.convert(f)
    assert conv.tiles_converted == 29


@pytest.mark.parametrize("size", [(2, 2), (854, 480), (30, 34)])
def test_sizes_off_the_tile_grid(size):
    """854 = 53 tiles + 6 columns; a frame smaller than one tile: the strips are converted every frame."""
    w, h = size
    rng = np.random.default_rng(1)
    conv = yuv.Yuv420Converter(h, w, 4)
    f = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    for _ in range(3):
        got = conv.convert(f)
        assert np.array_equal(got, np.concatenate([p.ravel() for p in yuv.convert(f)]))
        f[-1, -1] ^= 255           # the bottom-right corner: in both strips where there are strips
        f[0, 0] ^= 255


def test_bad_sizes_and_frames_are_refused():
    with pytest.raises(ValueError, match="even"):
        yuv.Yuv420Converter(3, 4, 4)
    with pytest.raises(ValueError, match="channels"):
        yuv.Yuv420Converter(4, 4, 2)
    with pytest.raises(ValueError, match="shape"):
        yuv.Yuv420Converter(4, 4, 4).convert(np.zeros((4, 4, 3), np.uint8))


def test_write_mp4_decodes_to_the_frames_given(tmp_path):
    """Moving coloured squares through write_mp4 (rgba) and back: every decoded frame within codec tolerance of
    the frame given, and the colours where they should be."""
    rng = np.random.default_rng(2)
    base = np.full((96, 160, 4), 255, np.uint8)
    frames = []
    for k in range(10):
        f = base.copy()
        f[20:50, 10 + 8 * k:40 + 8 * k, :3] = (214, 39, 40)      # a red square that moves
        f[60:80, 100:140, :3] = rng.integers(0, 256, 3)        # a box whose colour changes every frame
        frames.append(f)
    mp4 = export.write_mp4(iter(frames), tmp_path / "a.mp4", 160, 96, 15, pix_fmt_in="rgba")
    got = read_frames(mp4)
    assert len(got) == len(frames)
    for k, (g, f) in enumerate(zip(got, frames, strict=True)):
        assert np.abs(g.astype(int) - f[..., :3]).mean() < 2.0
        red = np.abs(g[24:46, 14 + 8 * k:36 + 8 * k].astype(int) - (214, 39, 40))
        assert red.mean() < 3 and red.max() <= 24
        box = np.abs(g[63:77, 103:137].astype(int) - f[70, 120, :3])
        assert box.mean() < 3 and box.max() <= 24


def test_write_mp4_pads_odd_sizes(tmp_path):
    """An odd width or height (only reachable through the API: the CLI's sizes are even) gets its last column
    or row repeated: the video is one pixel larger, and its edge is the frame's edge."""
    f = np.zeros((31, 45, 3), np.uint8)
    f[:, -1] = (0, 200, 0)
    mp4 = export.write_mp4(iter([f] * 3), tmp_path / "odd.mp4", 45, 31, 15)
    w, h, _, n = export.video_size(mp4)
    assert (w, h, n) == (46, 32, 3)
    g = read_frames(mp4)[0]
    assert np.abs(g[2:-2, -2:].astype(int) - (0, 200, 0)).max() <= 16


def test_the_stream_says_what_its_planes_are(tmp_path):
    """BT.601 matrix, limited range, in the H.264 stream: players that meet an untagged HD stream assume BT.709."""
    img = np.zeros((720, 1280, 4), np.uint8)
    mp4 = export.write_mp4(iter([img] * 2), tmp_path / "a.mp4", 1280, 720, 30, pix_fmt_in="rgba")
    info = subprocess.run([export.ffmpeg_exe(), "-hide_banner", "-i", str(mp4)], capture_output=True, text=True).stderr
    assert "yuv420p(tv, smpte170m" in info, info
