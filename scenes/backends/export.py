"""Video and image export: H.264 MP4 (yuv420p), palette GIF (looping), PNG stills. All writes atomic.

Uses the ffmpeg binary that ships inside ``imageio-ffmpeg`` (with libx264), so no system ffmpeg is needed.
"""

from __future__ import annotations

import contextlib
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


@dataclass(frozen=True)
class Quality:
    """Manim's presets: ``-ql`` 480p15, ``-qm`` 720p30, ``-qh`` 1080p60, ``-qk`` 2160p60."""

    key: str
    width: int
    height: int
    fps: int

    @property
    def tag(self) -> str:
        return f"{self.height}p{self.fps}"


QUALITIES = {
    "l": Quality("l", 854, 480, 15),
    "m": Quality("m", 1280, 720, 30),
    "h": Quality("h", 1920, 1080, 60),
    "k": Quality("k", 3840, 2160, 60),
}
FORMATS = ("mp4", "webm", "gif", "png", "storyboard")


def quality(key: str | Quality) -> Quality:
    """The preset named ``key`` (``l``, ``m``, ``h``, ``k``); a resolved :class:`Quality` is returned as is."""
    if isinstance(key, Quality):
        return key
    if key not in QUALITIES:
        raise UsageError(f"unknown quality {key!r}; known: {', '.join(QUALITIES)} (480p15, 720p30, 1080p60, 2160p60)")
    return QUALITIES[key]


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def encoder_command(path: Path, width: int, height: int, fps: int, pix_fmt_in: str = "rgb24") -> list[str]:
    """The ffmpeg command line that :func:`write_mp4` pipes raw frames into (H.264, yuv420p, CRF 20)."""
    scale = ["-vf", f"scale={width + width % 2}:{height + height % 2}"] if width % 2 or height % 2 else []
    return [ffmpeg_exe(), "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{width}x{height}",
            "-pix_fmt", pix_fmt_in, "-r", str(Fraction(fps).limit_denominator()), "-i", "-", "-an",
            "-vcodec", "libx264", "-pix_fmt", "yuv420p", *scale, "-v", "error",
            "-crf", "20", "-preset", "veryfast", "-movflags", "+faststart", str(path)]


def _last_line(text: bytes | str) -> str:
    """ffmpeg's last message line, without its ``[out#0/mp4 @ 0x...]`` prefix."""
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    lines = [re.sub(r"^(\[[^\]]*\]\s*)+", "", ln.strip()) for ln in text.splitlines() if ln.strip()]
    return lines[-1] if lines else ""


def write_mp4(frames: Iterable[np.ndarray], out_path: Path, width: int, height: int, fps: int,
              pix_fmt_in: str = "rgb24") -> Path:
    """Encode frames (``(H, W, 3)`` rgb24 or ``(H, W, 4)`` rgba, uint8) to H.264 yuv420p MP4 (atomic).

    The encoder's exit status is checked before the clip is published: an encoder that fails (a full disk:
    "No space left on device" while writing the trailer) or dies mid-clip (the pipe breaks) is a one-line
    :class:`GeomdlError`, and an earlier clip under ``out_path`` is kept.
    """
    channels = {"rgb24": 3, "rgba": 4}[pix_fmt_in]
    with atomic_path(out_path) as tmp, tempfile.TemporaryFile() as log:
        # own session: a terminal's Ctrl-C reaches only geomdl, which stops the encoder itself
        proc = subprocess.Popen(encoder_command(tmp, width, height, fps, pix_fmt_in), stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        broken = False
        try:
            for fr in frames:
                fr = np.ascontiguousarray(fr)
                if fr.shape != (height, width, channels) or fr.dtype != np.uint8:
                    raise GeomdlError(f"frame of shape {fr.shape} ({fr.dtype}) for a {width}x{height} {pix_fmt_in} "
                                      "clip")
                try:
                    proc.stdin.write(fr.data)
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


def storyboard(mp4: Path, out_stem: Path, n: int = 6, cols: int = 3, title: str = "") -> list[Path]:
    """Contact sheet of ``n`` key frames (evenly spaced in time, first and last included) as PNG and PDF.

    Each panel is labelled with its time in the clip. Drawn with matplotlib (images embedded at full
    resolution in the PDF), for papers and handouts.
    """
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    w, h, fps, nfr = video_size(mp4)
    last = max(0.0, (nfr - 1) / fps)
    times = list(np.linspace(0.0, last, n))
    imgs = frames_at(mp4, times)
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 4.0, rows * 4.0 * h / w + (0.5 if title else 0.2)),
                             squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    shown = []
    for ax, img, t in zip(axes.ravel(), imgs, times, strict=False):
        shown.append(ax.imshow(img))
        ax.set_title(f"t = {t:.1f} s", fontsize=9)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    out = []
    # PNG: matplotlib's anti-aliased downsampling (lanczos took ~1.7 s per panel); PDF: "none" embeds every
    # frame unresampled, at the clip's full resolution
    for ext, interp in (("png", "antialiased"), ("pdf", "none")):
        for im in shown:
            im.set_interpolation(interp)
        path = out_stem.with_name(out_stem.name + f".{ext}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=ext, dpi=200)
        out.append(path)
    plt.close(fig)
    return out
