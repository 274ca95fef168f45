"""Inspect rendered media in tests: stream facts of a video, its decoded frames, GIF and PNG facts.

``probe`` uses ``ffprobe`` when it is on the machine, else PyAV, else the ffmpeg binary of imageio-ffmpeg (a
runtime dependency, so some decoder is always there). ``read_frames`` decodes with PyAV, else imageio-ffmpeg.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    codec: str          # e.g. "h264"
    pix_fmt: str        # e.g. "yuv420p"
    width: int
    height: int
    fps: float          # average frame rate
    n_frames: int       # frames actually decoded / counted
    duration: float     # seconds, from the container (or n_frames / fps when it has none)


def ffprobe_exe() -> str | None:
    return shutil.which("ffprobe") or (p if Path(p := "/usr/bin/ffprobe").exists() else None)


def _rate(text: str) -> float:
    return float(Fraction(text)) if text and text != "0/0" else 0.0


def _probe_ffprobe(path: Path, exe: str) -> VideoInfo:
    proc = subprocess.run(
        [exe, "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
         "stream=codec_name,pix_fmt,width,height,avg_frame_rate,r_frame_rate,nb_read_frames,duration"
         ":format=duration", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=120)
    data = json.loads(proc.stdout)
    (st,) = data["streams"]
    fps = _rate(st.get("avg_frame_rate", "")) or _rate(st.get("r_frame_rate", ""))
    n = int(st["nb_read_frames"])
    dur = st.get("duration") or data.get("format", {}).get("duration")
    return VideoInfo(st["codec_name"], st["pix_fmt"], int(st["width"]), int(st["height"]), fps, n,
                     float(dur) if dur not in (None, "N/A") else n / fps)


def _probe_av(path: Path) -> VideoInfo:
    import av  # noqa: PLC0415

    with av.open(str(path)) as box:
        st = box.streams.video[0]
        cc = st.codec_context
        n = sum(1 for _ in box.decode(st))
        fps = float(st.average_rate or st.guessed_rate or 0)
        if st.duration is not None and st.time_base is not None:
            dur = float(st.duration * st.time_base)
        elif box.duration is not None:
            dur = box.duration / 1e6
        else:
            dur = n / fps
        return VideoInfo(cc.name, cc.pix_fmt or "", cc.width, cc.height, fps, n, dur)


def _probe_imageio(path: Path) -> VideoInfo:
    import imageio_ffmpeg  # noqa: PLC0415

    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    n = sum(1 for _ in gen)
    codec = meta.get("codec", "").split()[0]
    pix_fmt = meta.get("pix_fmt", "").split("(")[0].strip()
    w, h = meta["size"]
    return VideoInfo(codec, pix_fmt, w, h, float(meta["fps"]), n, float(meta.get("duration") or 0.0))


def probe(path: str | Path) -> VideoInfo:
    """Codec, pixel format, size, frame rate, decoded frame count and duration of the first video stream."""
    path = Path(path)
    exe = ffprobe_exe()
    if exe:
        return _probe_ffprobe(path, exe)
    try:
        import av  # noqa: F401, PLC0415
    except ImportError:
        return _probe_imageio(path)
    return _probe_av(path)


def read_frames(path: str | Path) -> np.ndarray:
    """All frames as ``(n, H, W, 3) uint8`` RGB."""
    path = Path(path)
    try:
        import av  # noqa: PLC0415
    except ImportError:
        import imageio_ffmpeg  # noqa: PLC0415

        gen = imageio_ffmpeg.read_frames(str(path), pix_fmt="rgb24")
        meta = next(gen)
        w, h = meta["size"]
        return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in gen])
    with av.open(str(path)) as box:
        return np.stack([f.to_ndarray(format="rgb24") for f in box.decode(video=0)])


@dataclass(frozen=True)
class GifInfo:
    width: int
    height: int
    n_frames: int
    loop: int | None    # 0 = loops forever; None = plays once (no NETSCAPE loop block)
    frames: np.ndarray  # (n, H, W, 3) uint8


def read_gif(path: str | Path) -> GifInfo:
    from PIL import Image, ImageSequence  # noqa: PLC0415

    with Image.open(path) as im:
        assert im.format == "GIF", im.format
        loop = im.info.get("loop")
        frames = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)])
        return GifInfo(im.width, im.height, len(frames), loop, frames)


def read_png(path: str | Path) -> np.ndarray:
    """A PNG as ``(H, W, C) uint8`` (checks the format is really PNG)."""
    from PIL import Image  # noqa: PLC0415

    with Image.open(path) as im:
        assert im.format == "PNG", im.format
        im.load()
        return np.asarray(im)


def is_blank(frame: np.ndarray, min_std: float = 4.0) -> bool:
    """A frame with (almost) one colour everywhere: pixel standard deviation below ``min_std`` (of 255)."""
    return float(frame.astype(np.float64).std()) < min_std


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
