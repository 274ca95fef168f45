"""Video and image export: H.264 MP4 (yuv420p), palette GIF (looping), VP9 WebM, PNG stills; output sizes
(quality presets, ``--fps``, ``--resolution`` of any aspect, the letterbox fallback) and the tag that lets a
later render reuse an MP4. All writes atomic.

Uses the ffmpeg binary that ships inside ``imageio-ffmpeg`` (with libx264), so no system ffmpeg is needed.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import errno
import fcntl
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from geomdl.errors import GeomdlError, UsageError
from geomdl.io.atomic import atomic_path
from scenes.backends.yuv import Yuv420Converter


@dataclass(frozen=True)
class Quality:
    """A resolved output size and rate. Manim's presets: ``-ql`` 480p15, ``-qm`` 720p30, ``-qh`` 1080p60,
    ``-qk`` 2160p60; :func:`quality` overrides the rate (``--fps``) or the size (``--resolution WxH``).

    ``width x height`` is what the renderers draw. A custom resolution of any aspect (a 1080x1080 poster, a
    1080x1920 phone clip) is drawn at that size, the frame models laying their scenes out for its aspect
    (:func:`scenes.clips.base.figure_size`). ``canvas`` (``None``: the same) is the size of the files written
    when they differ: only for a frame model that cannot lay itself out for the canvas (no ``aspect``
    argument), whose 16:9 picture is drawn at the largest size that fits and centred on the theme's background
    colour (letterboxed, :func:`letterboxed`).
    """

    key: str
    width: int
    height: int
    fps: int
    canvas: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` of the files written."""
        return self.canvas or (self.width, self.height)

    @property
    def tag(self) -> str:
        """The file-name tag: ``480p15``; ``1080x1080p30`` for a custom resolution."""
        if self.canvas is not None or self.key == "custom":
            w, h = self.size
            return f"{w}x{h}p{self.fps}"
        return f"{self.height}p{self.fps}"


QUALITIES = {
    "l": Quality("l", 854, 480, 15),
    "m": Quality("m", 1280, 720, 30),
    "h": Quality("h", 1920, 1080, 60),
    "k": Quality("k", 3840, 2160, 60),
}
# Manim's long names of its presets (``--quality high_quality``) and the short tags, accepted as aliases
QUALITY_ALIASES = {"low_quality": "l", "medium_quality": "m", "high_quality": "h", "fourk_quality": "k",
                   "480p": "l", "720p": "m", "1080p": "h", "2160p": "k", "4k": "k"}
MAX_SIDE = 7680      # pixels: 8K, the largest side libx264 and the renderers are asked for
MAX_FPS = 120


def parse_resolution(text: str) -> tuple[int, int]:
    """``"1080x1080"`` -> ``(1080, 1080)``; each side even (H.264 yuv420p) and 16..7680 pixels."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m:
        raise UsageError(f"resolution must be WIDTHxHEIGHT in pixels (e.g. 1920x1080 or 1080x1080), got {text!r}")
    w, h = int(m[1]), int(m[2])
    if not (16 <= w <= MAX_SIDE and 16 <= h <= MAX_SIDE):
        raise GeomdlError(f"resolution {w}x{h}: each side must be 16 to {MAX_SIDE} pixels")
    if w % 2 or h % 2:
        raise GeomdlError(f"resolution {w}x{h}: both sides must be even (H.264 yuv420p video)")
    return w, h


def fit_16x9(w: int, h: int) -> tuple[int, int]:
    """The largest even-sized 16:9 picture inside ``w x h``."""
    return fit_aspect(w, h, 16 / 9)


def fit_aspect(w: int, h: int, aspect: float) -> tuple[int, int]:
    """The largest even-sized picture of ``aspect`` (width / height) inside ``w x h``."""
    if w <= h * aspect:
        pw = w
        ph = int(w / aspect) // 2 * 2
    else:
        ph = h
        pw = int(h * aspect) // 2 * 2
    return max(2, min(pw, w)), max(2, min(ph, h))


def letterboxed(q: Quality, figure: tuple[float, float], tol: float = 0.01) -> Quality:
    """``q`` for a frame model laid out in ``figure = (fig_w, fig_h)`` units: ``q`` itself when the figure has
    the picture's aspect (within ``tol``: 854x480 is the 16:9 layout), else the largest picture of the figure's
    aspect inside ``q``'s size, ``canvas`` = that size (the letterbox fallback)."""
    w, h = q.size
    aspect = figure[0] / figure[1]
    if abs(aspect / (w / h) - 1) <= tol:
        return q
    pw, ph = fit_aspect(w, h, aspect)
    return dataclasses.replace(q, width=pw, height=ph, canvas=(w, h))


def quality(key: str | Quality, fps: int | None = None, resolution: str | tuple[int, int] | None = None) -> Quality:
    """The preset named ``key`` (``l``, ``m``, ``h``, ``k``, or Manim's ``low_quality`` .. ``fourk_quality``),
    with its rate replaced by ``fps`` and its size by ``resolution`` (``"WxH"`` or ``(w, h)``) when given; a
    resolved :class:`Quality` is returned as is when nothing overrides it."""
    if isinstance(key, Quality):
        q = key
    else:
        k = str(key).strip().lower()
        k = k[2:] if k.startswith("-q") else k     # "-ql" given as one value
        k = QUALITY_ALIASES.get(k, k)
        if k not in QUALITIES:
            raise UsageError(f"unknown quality {key!r}; known: {', '.join(QUALITIES)} (480p15, 720p30, 1080p60, "
                             "2160p60; also -ql -qm -qh -qk)")
        q = QUALITIES[k]
    if fps is not None:
        if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) and not float(fps).is_integer():
            raise GeomdlError(f"fps must be a whole number of frames per second, got {fps!r}")
        fps = int(fps)
        if not 1 <= fps <= MAX_FPS:
            raise GeomdlError(f"fps must be 1 to {MAX_FPS}, got {fps}")
        q = dataclasses.replace(q, fps=fps)
    if resolution is not None:
        w, h = parse_resolution(resolution) if isinstance(resolution, str) else parse_resolution(
            f"{resolution[0]}x{resolution[1]}")
        q = dataclasses.replace(q, key="custom", width=w, height=h, canvas=None)
    return q


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


# what the planes are (scenes.backends.yuv: BT.601 matrix, limited range), written into the stream: a player
# that meets an untagged HD stream assumes BT.709's matrix (QuickTime, browsers) and shifts its hues
COLOUR_TAGS = ("-colorspace", "smpte170m", "-color_range", "tv")


def encoder_command(path: Path, width: int, height: int, fps: int) -> list[str]:
    """The ffmpeg command line that :func:`write_mp4` pipes yuv420p frames into (H.264, CRF 20); ``width``
    and ``height`` even."""
    return [ffmpeg_exe(), "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{width}x{height}",
            "-pix_fmt", "yuv420p", "-r", str(Fraction(fps).limit_denominator()), "-i", "-", "-an",
            "-vcodec", "libx264", "-pix_fmt", "yuv420p", *COLOUR_TAGS, "-v", "error",
            "-crf", "20", "-preset", "veryfast", "-movflags", "+faststart", str(path)]


def _last_line(text: bytes | str) -> str:
    """ffmpeg's last message line, without its ``[out#0/mp4 @ 0x...]`` prefix."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", ln.strip()) for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


class _IoVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


F_SETPIPE_SZ, F_GETPIPE_SZ = 1031, 1032   # fcntl: set / get a pipe's capacity in bytes (Linux)
PIPE_BYTES = 1 << 20   # the encoder's pipe: Linux's largest for an unprivileged process by default


def grow_pipe(fd: int, want: int = PIPE_BYTES) -> int | None:
    """Ask for a pipe capacity of ``want`` bytes (at most ``/proc/sys/fs/pipe-max-size``); returns the capacity
    the pipe has after, ``None`` where ``fd`` is not a pipe or the system has no such call (not Linux).

    A 720p yuv420p frame is ~1.4 MB (an RGBA one, what was piped until stop 32, ~3.7 MB): through the default
    64 KiB pipe the writer and the encoder take turns ~21 times a frame (~56 for RGBA), each turn a sleep and
    a wake-up on both sides; at 1 MiB ~2. The bytes are the same; measured with RGBA on the headline at 720p
    (2 cores), the render's and the encoder's CPU together fell by ~0.45 s of ~7.5 s (``docs/benchmarks.md``).
    A refusal (a user over the kernel's pipe-memory quota) keeps the pipe as it is."""
    try:
        cap = fcntl.fcntl(fd, F_GETPIPE_SZ)
    except OSError:
        return None
    try:
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    except (OSError, ValueError):
        limit = want
    if cap < min(want, limit):
        with contextlib.suppress(OSError):
            cap = fcntl.fcntl(fd, F_SETPIPE_SZ, min(want, limit))
    return cap


class FramePipe:
    """Writes frames into a pipe with fewer copies: ``vmsplice(2)`` hands the pipe references to the frame's
    pages instead of copying them (the reader's ``read`` copies them out, as from any pipe), so the pipe
    carries the very bytes an ordinary ``write`` would, at less CPU (Linux; elsewhere, or if the pipe refuses
    it, every frame goes by ``write``).

    A frame's memory may change as soon as :meth:`send` returns (the caller draws the next frame into it): the
    pages spliced must have been read by then. So the last ``capacity`` bytes of each frame (the pipe's
    capacity, ``F_GETPIPE_SZ``) are written by an ordinary ``write``: when it returns they are all in the pipe,
    which holds no more than ``capacity`` bytes (copied data is never merged into a spliced page's buffer, and
    a buffer holds at most a page), so every spliced page before them has been read. A frame no larger than the
    capacity is written whole."""

    def __init__(self, fd: int):
        self.fd = fd
        self.vmsplice = None
        try:
            self.capacity = fcntl.fcntl(fd, F_GETPIPE_SZ)
            self.vmsplice = ctypes.CDLL(None, use_errno=True).vmsplice
        except (OSError, AttributeError):   # not a pipe, not Linux, no vmsplice in the C library
            return
        self.vmsplice.argtypes = [ctypes.c_int, ctypes.POINTER(_IoVec), ctypes.c_size_t, ctypes.c_uint]
        self.vmsplice.restype = ctypes.c_ssize_t

    def send(self, frame: np.ndarray) -> None:
        """Write ``frame`` (C-contiguous) whole; a closed pipe raises ``BrokenPipeError``."""
        mv = memoryview(frame).cast("B")
        n = len(mv) - self.capacity if self.vmsplice is not None else 0
        done = 0
        if n > 0:
            addr = frame.ctypes.data
            while done < n:
                got = self.vmsplice(self.fd, ctypes.byref(_IoVec(addr + done, n - done)), 1, 0)
                if got < 0:
                    err = ctypes.get_errno()
                    if err == errno.EINTR:
                        continue
                    if err == errno.EPIPE:
                        raise BrokenPipeError(err, os.strerror(err))
                    self.vmsplice = None   # refused (EINVAL, ENOSYS...): the rest goes by write
                    break
                done += got
        while done < len(mv):
            done += os.write(self.fd, mv[done:])


def write_mp4(frames: Iterable[np.ndarray], out_path: Path, width: int, height: int, fps: int,
              pix_fmt_in: str = "rgb24") -> Path:
    """Encode frames (``(H, W, 3)`` rgb24 or ``(H, W, 4)`` rgba, uint8) to H.264 yuv420p MP4 (atomic).

    The frames are converted to yuv420p here, each frame's 16x16 tiles that changed since the frame before
    (:mod:`scenes.backends.yuv`: ffmpeg's own conversion cost more than the rest of its work on a clip's
    frames bar the encoding); a frame of odd width or height gets its last column or row repeated (yuv420p
    is even-sized). The encoder's exit status is checked before the clip is published: an encoder that fails
    (a full disk: "No space left on device" while writing the trailer) or dies mid-clip (the pipe breaks) is a
    one-line :class:`GeomdlError`, and an earlier clip under ``out_path`` is kept. The planes go into the
    encoder's pipe by :class:`FramePipe` (spliced, not copied; the same bytes); a frame may be overwritten as
    soon as the next one is asked for.
    """
    channels = {"rgb24": 3, "rgba": 4}[pix_fmt_in]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    even = Yuv420Converter(height + height % 2, width + width % 2, channels)
    with atomic_path(out_path) as tmp, tempfile.TemporaryFile() as log:
        # own session: a terminal's Ctrl-C reaches only geomdl, which stops the encoder itself
        proc = subprocess.Popen(encoder_command(tmp, even.w, even.h, fps), stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        broken = False
        grow_pipe(proc.stdin.fileno())
        pipe = FramePipe(proc.stdin.fileno())
        try:
            for fr in frames:
                fr = np.asarray(fr)
                if fr.shape != (height, width, channels) or fr.dtype != np.uint8:
                    raise GeomdlError(f"frame of shape {fr.shape} ({fr.dtype}) for a {width}x{height} {pix_fmt_in} "
                                      "clip")
                planes = even.convert(np.pad(fr, pad, mode="edge") if width % 2 or height % 2 else fr)
                try:
                    pipe.send(planes)
                except BrokenPipeError:   # the encoder died (e.g. a full disk): its message says why
                    broken = True
                    break
            with contextlib.suppress(BrokenPipeError):
                proc.stdin.close()
            code = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        if code != 0 or broken or tmp.stat().st_size == 0:
            log.seek(0)
            why = _last_line(log.read()) or (f"exit status {code}" if code else "it wrote nothing")
            raise GeomdlError(f"ffmpeg failed to encode {out_path.name}: {why}; "
                              f"{'the earlier clip is kept' if out_path.exists() else 'no clip was written'}")
    return out_path


def gif_fps(src_fps: int) -> float:
    """GIF delays are in 10 ms units: pick the largest rate <= the source with an exact delay (<= 25 fps)."""
    for f in (25.0, 20.0, 12.5, 10.0):
        if f <= src_fps:
            return f
    return float(src_fps)


def _run_ffmpeg(args: list[str], what: str) -> None:
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise GeomdlError(f"ffmpeg failed to {what}: {_last_line(proc.stderr) or f'exit status {proc.returncode}'}")


def mp4_to_gif(mp4: Path, gif: Path, src_fps: int, width: int | None = None) -> Path:
    """Two-pass palette GIF (palettegen + paletteuse), looping forever, at an exact GIF frame rate."""
    fps = gif_fps(src_fps)
    scale = f",scale={width}:-1:flags=lanczos" if width else ""
    vf = (f"fps={fps}{scale},split[a][b];[a]palettegen=max_colors=128:stats_mode=diff[p];"
          "[b][p]paletteuse=dither=bayer:bayer_scale=4:diff_mode=rectangle")
    with atomic_path(gif) as tmp:
        _run_ffmpeg(["-i", str(mp4), "-vf", vf, "-loop", "0", "-f", "gif", str(tmp)], "make the GIF")
    return gif


def last_frame_png(mp4: Path, png: Path) -> Path:
    """The last frame of a video as PNG."""
    with atomic_path(png) as tmp:
        _run_ffmpeg(["-sseof", "-1", "-i", str(mp4), "-update", "1", "-f", "image2", "-c:v", "png", str(tmp)],
                    "extract the last frame")
    return png


def write_png(rgb: np.ndarray, png: Path) -> Path:
    import imageio.v3 as iio  # noqa: PLC0415

    with atomic_path(png) as tmp:
        iio.imwrite(tmp, rgb, extension=".png")
    return png


def mp4_to_webm(mp4: Path, webm: Path) -> Path:
    """VP9 WebM (constant quality, yuv420p) from the MP4 master, for web pages and browsers without H.264."""
    with atomic_path(webm) as tmp:
        _run_ffmpeg(["-i", str(mp4), "-c:v", "libvpx-vp9", "-b:v", "0", "-crf", "33", "-deadline", "good",
                     "-cpu-used", "4", "-row-mt", "1", "-pix_fmt", "yuv420p", "-an", "-f", "webm", str(tmp)],
                    "encode the WebM")
    return webm


def video_size(mp4: Path) -> tuple[int, int, float, int]:
    """``(width, height, fps, frames)`` of a video, read with imageio-ffmpeg (no ffprobe needed)."""
    reader = imageio_ffmpeg.read_frames(str(mp4))
    try:
        meta = next(reader)
    finally:
        reader.close()
    w, h = meta["size"]
    fps = float(meta["fps"])
    n = int(round(meta.get("duration", 0) * fps))
    return int(w), int(h), fps, n


def frames_at(mp4: Path, times: list[float]) -> list[np.ndarray]:
    """RGB frames ``(H, W, 3) uint8`` of a video at the given times in seconds: the frame nearest each time,
    clamped to the clip.

    Seeks half a frame before that frame's timestamp: ffmpeg returns the first frame at or after the seek time,
    and a seek to exactly the last frame's timestamp (rounded up in the command line) returns nothing."""
    w, h, fps, n = video_size(mp4)
    out = []
    for t in times:
        k = min(max(int(round(float(t) * fps)), 0), max(n - 1, 0))
        t = k / fps
        seek = max(0.0, (k - 0.5) / fps)
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-ss", f"{seek:.4f}", "-i", str(mp4),
                               "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True)
        if proc.returncode != 0 or len(proc.stdout) < w * h * 3:
            raise GeomdlError(f"could not read the frame at {t:.2f} s of {mp4}")
        out.append(np.frombuffer(proc.stdout[: w * h * 3], np.uint8).reshape(h, w, 3))
    return out


def stills(mp4: Path, out_dir: Path, stem: str, times: list[float]) -> list[Path]:
    """PNG stills at chosen times: ``<stem>_t<seconds>.png``."""
    imgs = frames_at(mp4, times)
    return [write_png(img, out_dir / f"{stem}_t{t:06.2f}.png") for img, t in zip(imgs, times, strict=True)]


TAG_PREFIX = "geomdl-render:"


def finish_master(src: Path, dest: Path, key: str, canvas: tuple[int, int] | None = None,
                  bg: str = "#FFFFFF") -> Path:
    """Publish the clip ``src`` as ``dest`` (atomic; ``src`` may be ``dest`` itself), tagged with ``key`` (the
    MP4's ``comment`` metadata: what was rendered, :func:`mp4_tag`), letterboxed onto ``canvas`` (``(w, h)``,
    the picture centred on ``bg``) when given. Without a canvas the video stream is copied, not re-encoded."""
    meta = ["-metadata", f"comment={TAG_PREFIX}{key}", "-movflags", "+faststart", "-an"]
    if canvas is None:
        codec = ["-c:v", "copy"]
    else:
        w, h = canvas
        codec = ["-vf", f"pad={w}:{h}:(ow-iw)/2:(oh-ih)/2:color=0x{bg.lstrip('#')}", "-c:v", "libx264",
                 "-pix_fmt", "yuv420p", *COLOUR_TAGS, "-crf", "20", "-preset", "veryfast"]
    with atomic_path(dest, alone=True) as tmp:   # dest may be a file staged in an atomic group: replace it now
        _run_ffmpeg(["-i", str(src), *codec, *meta, "-f", "mp4", str(tmp)], f"write {dest.name}")
    return dest


def mp4_tag(mp4: Path) -> str | None:
    """The key :func:`finish_master` tagged ``mp4`` with; ``None`` for a missing, untagged or unreadable file."""
    if not Path(mp4).is_file():
        return None
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(mp4), "-f", "ffmetadata",
                           "-"], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    for line in proc.stdout.splitlines():
        if line.startswith(f"comment={TAG_PREFIX}"):
            return line.removeprefix(f"comment={TAG_PREFIX}").strip()
    return None


def letterbox(rgb: np.ndarray, canvas: tuple[int, int] | None, bg: str) -> np.ndarray:
    """``rgb: (h, w, 3) uint8`` centred on a ``canvas = (W, H)`` of colour ``bg`` (as :func:`finish_master`)."""
    if canvas is None or canvas == (rgb.shape[1], rgb.shape[0]):
        return rgb
    W, H = canvas
    out = np.empty((H, W, 3), np.uint8)
    out[:] = np.array([int(bg.lstrip("#")[k:k + 2], 16) for k in (0, 2, 4)], np.uint8)
    y0, x0 = (H - rgb.shape[0]) // 2, (W - rgb.shape[1]) // 2
    out[y0:y0 + rgb.shape[0], x0:x0 + rgb.shape[1]] = rgb
    return out
