"""RGB(A) frames to the encoder's yuv420p, converting only the parts of a frame that changed.

The renderers' frames are RGBA; libx264 encodes yuv420p. Piping RGBA and letting ffmpeg convert costs ffmpeg
~4 ms a 720p frame (its scaler), about a third of the CPU of encoding the headline's frames, although a clip's
frames differ from the one before in a few percent of their pixels (3-6% of 16x16 tiles on average in every
scene at 720p; a fade changes them all). :class:`Yuv420Converter` keeps the last frame and its planes and
converts only the 16x16 tiles that differ, in numpy; the planes of a frame are the same whatever came before
(a tile's values depend on its own pixels alone), so a clip's bytes do not depend on where it was started.

The conversion is ITU-R BT.601 with limited range (what ffmpeg's scaler does by default for yuv420p, so the
colours of the videos stay as they were): with ``R, G, B`` in 0..255,
``Y = 16 + 219/255 (0.299 R + 0.587 G + 0.114 B)`` rounded, each pixel; ``U, V`` from the mean of each 2x2
block's ``R, G, B``: ``U = 128 + 224/255 (-0.168736 R - 0.331264 G + 0.5 B)``,
``V = 128 + 224/255 (0.5 R - 0.418688 G - 0.081312 B)``, rounded; in integers with 15-bit coefficients as
ffmpeg's scaler does (its luma agrees to 1 level; its chroma filter is wider than the 2x2 mean, so at sharp
colour edges its chroma differs by a few levels). The planes of ``(H, W)`` frames, ``H`` and ``W`` even, are
``Y: (H, W)``, ``U, V: (H/2, W/2)``, written as one buffer ``Y | U | V`` of ``H W 3/2`` bytes (ffmpeg's
``rawvideo`` yuv420p).
"""

from __future__ import annotations

import numpy as np

TILE = 16   # tile side in pixels (even: a tile holds whole 2x2 chroma blocks)
CHUNK_PIXELS = 1 << 16   # pixels converted at once (their uint32 temporaries: 256 KiB each)
CHUNK_TILES = CHUNK_PIXELS // (TILE * TILE)
_UINT = {8: np.uint64, 4: np.uint32, 2: np.uint16, 1: np.uint8}


def _coefficients(row: tuple[float, float, float], scale: float, total: int) -> tuple[int, int, int]:
    """``row * scale * 2^15`` rounded, with the one rounded furthest moved by 1 where needed so that they sum
    to ``total`` (greys: ``Y`` exactly ``16 + 219/255 * level`` rounded, ``U = V = 128``)."""
    exact = [c * scale * (1 << 15) for c in row]
    ints = [round(e) for e in exact]
    while sum(ints) != total:
        step = 1 if sum(ints) < total else -1
        k = max(range(3), key=lambda i: step * (exact[i] - ints[i]))
        ints[k] += step
    return tuple(ints)


_Y = tuple(np.uint32(c) for c in _coefficients((0.299, 0.587, 0.114), 219 / 255, round(219 / 255 * (1 << 15))))
_U = tuple(np.int32(c) for c in _coefficients((-0.168736, -0.331264, 0.5), 224 / 255, 0))
_V = tuple(np.int32(c) for c in _coefficients((0.5, -0.418688, -0.081312), 224 / 255, 0))
_Y_ADD = np.uint32((16 << 15) + (1 << 14))          # offset 16, rounding half up
_C_ADD = np.int32((128 << 17) + (1 << 16))           # chroma: sums of 4 pixels, so 2 more bits


def convert(px: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``px: (..., h, w, C) uint8`` RGB or RGBA, ``h`` and ``w`` even -> ``Y: (..., h, w)``,
    ``U, V: (..., h/2, w/2)`` uint8 (the conversion of the module docstring; alpha is ignored, as ffmpeg
    ignores it for yuv420p)."""
    r, g, b = (px[..., k].astype(np.uint32) for k in range(3))
    r4, g4, b4 = _sum4(r), _sum4(g), _sum4(b)
    return (_weighted(r, g, b, _Y, _Y_ADD, 15), _weighted(r4, g4, b4, _U, _C_ADD, 17),
            _weighted(r4, g4, b4, _V, _C_ADD, 17))


def _sum4(a: np.ndarray) -> np.ndarray:
    """``(..., h, w) uint32`` -> ``(..., h/2, w/2) int32``: each 2x2 block's sum (at most 1020)."""
    s = a[..., 0::2, :] + a[..., 1::2, :]
    return (s[..., 0::2] + s[..., 1::2]).view(np.int32)


def _weighted(r: np.ndarray, g: np.ndarray, b: np.ndarray, coef: tuple, add, shift: int) -> np.ndarray:
    """``(coef . (r, g, b) + add) >> shift`` as uint8, in the arrays' integer type (in place after the first
    product: two temporaries)."""
    out = r * coef[0]
    t = g * coef[1]
    out += t
    np.multiply(b, coef[2], out=t)
    out += t
    out += add
    out >>= shift
    return out.astype(np.uint8)


class Yuv420Converter:
    """Frames ``(H, W, C) uint8`` (C = 3 RGB or 4 RGBA; ``H``, ``W`` even) -> yuv420p buffers, each frame's
    tiles that differ from the frame before converted, the rest kept.

    The ``TILE x TILE`` grid covers ``H - H % TILE`` rows and ``W - W % TILE`` columns; the strips left over
    (854 is 53 tiles and 6 columns) are converted whole every frame. :meth:`convert` returns the converter's
    own buffer ``(H W 3/2,) uint8``, rewritten by the next call."""

    def __init__(self, height: int, width: int, channels: int):
        if height % 2 or width % 2 or height < 2 or width < 2:
            raise ValueError(f"yuv420p needs an even size, got {width}x{height}")
        if channels not in (3, 4):
            raise ValueError(f"frames of 3 (RGB) or 4 (RGBA) channels, got {channels}")
        self.h, self.w, self.c = height, width, channels
        n = height * width
        self.out = np.zeros(n * 3 // 2, np.uint8)
        self.y = self.out[:n].reshape(height, width)
        self.u = self.out[n:n * 5 // 4].reshape(height // 2, width // 2)
        self.v = self.out[n * 5 // 4:].reshape(height // 2, width // 2)
        self.ty, self.tx = height // TILE, width // TILE
        self.gh, self.gw = self.ty * TILE, self.tx * TILE   # the grid's rows and columns
        self.prev: np.ndarray | None = None                 # the last frame, (H, W, C)
        self.tiles_converted = 0                            # tiles converted so far (for benchmarks, tests)

    def convert(self, frame: np.ndarray) -> np.ndarray:
        """The yuv420p bytes of ``frame: (H, W, C) uint8`` (the converter's buffer; valid until the next call)."""
        fr = np.ascontiguousarray(frame)
        if fr.shape != (self.h, self.w, self.c) or fr.dtype != np.uint8:
            raise ValueError(f"frame of shape {fr.shape} ({fr.dtype}) for a {self.w}x{self.h}x{self.c} converter")
        if self.prev is None:
            self._put(fr, 0, self.h, 0, self.w)
            self.prev = fr.copy()
            self.tiles_converted += self.ty * self.tx
            return self.out
        gh, gw, T = self.gh, self.gw, TILE
        if gw < self.w:    # the right strip, every row
            self._put(fr, 0, self.h, gw, self.w)
        if gh < self.h:    # the bottom strip, the grid's columns
            self._put(fr, gh, self.h, 0, gw)
        if self.ty == 0 or self.tx == 0:
            return self.out
        ii, jj = np.nonzero(self._changed(fr))
        for k in range(0, len(ii), CHUNK_TILES):   # in chunks: small temporaries stay in cache
            i, j = ii[k:k + CHUNK_TILES], jj[k:k + CHUNK_TILES]
            src = self._grid(fr, T)[i, :, j]               # (k, T, T, C): the changed tiles
            y, u, v = convert(src)                         # (k, T, T), (k, T/2, T/2)
            self._grid(self.y, T)[i, :, j] = y
            self._grid(self.u, T // 2)[i, :, j] = u
            self._grid(self.v, T // 2)[i, :, j] = v
            self._grid(self.prev, T)[i, :, j] = src
        self.tiles_converted += len(ii)
        return self.out

    def _grid(self, a: np.ndarray, t: int) -> np.ndarray:
        """The grid part of ``a: (rows, cols, ...)`` (a frame or a plane; ``t``: its tile side) as a view
        ``(ty, t, tx, t, ...)``: tile ``(i, j)`` is ``[i, :, j]``."""
        s0, s1 = a.strides[:2]
        return np.lib.stride_tricks.as_strided(a, (self.ty, t, self.tx, t, *a.shape[2:]),
                                               (t * s0, s0, t * s1, s1, *a.strides[2:]))

    def _changed(self, fr: np.ndarray) -> np.ndarray:
        """``(ty, tx)`` bool: the grid's tiles in which ``fr`` differs from the last frame.

        Compared 8 bytes at a time where a row is whole words (RGBA; RGB where the width is a multiple of 8);
        a tile row's results (8 booleans for RGBA, 6 for RGB) are then OR-ed as one word or a few."""
        gh, T = self.gh, TILE
        row = self.w * self.c                                  # bytes a row
        unit = 8 if row % 8 == 0 else 1
        n = self.gw * self.c // unit                           # units in a row of the grid
        dt = np.uint64 if unit == 8 else np.uint8
        ne = fr.reshape(self.h, row).view(dt)[:gh, :n] != self.prev.reshape(self.h, row).view(dt)[:gh, :n]
        per = T * self.c // unit                               # booleans a tile row
        lane = next(x for x in (8, 4, 2, 1) if per % x == 0)
        words = ne.reshape(gh, self.tx, per).view(_UINT[lane])  # (gh, tx, per / lane)
        rows = words[..., 0]
        for k in range(1, per // lane):
            rows = rows | words[..., k]
        return rows.reshape(self.ty, T, self.tx).any(axis=1)

    def _put(self, fr: np.ndarray, r0: int, r1: int, c0: int, c1: int) -> None:
        """Convert the rectangle ``[r0, r1) x [c0, c1)`` of ``fr`` (even bounds) into the planes, in bands of
        rows (a whole frame's temporaries at once cost ~3x more: fresh memory, page by page)."""
        step = max(2, CHUNK_PIXELS // max(c1 - c0, 1) // 2 * 2)
        for a in range(r0, r1, step):
            b = min(a + step, r1)
            y, u, v = convert(fr[a:b, c0:c1])
            self.y[a:b, c0:c1] = y
            self.u[a // 2:b // 2, c0 // 2:c1 // 2] = u
            self.v[a // 2:b // 2, c0 // 2:c1 // 2] = v
