"""Foundation benchmark: cold headline, warm re-render, renderers vs the encode floor, recorder overhead.

Run:  .venv/bin/python benchmarks/bench_foundation.py [--repeats 3] [--quality m]

Every figure is the median of ``--repeats`` runs; ratios are taken within this one run (machines are noisy).
The encode floor is the time to encode the same number of blank frames at the same size with the same encoder
settings (libx264, yuv420p): a renderer's ratio to it says how much drawing costs on top of encoding.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geomdl.experiments import truncation_speed  # noqa: E402
from geomdl.io.recorder import Recorder  # noqa: E402
from geomdl.nn.model import build_model  # noqa: E402
from geomdl.nn.snapshots import snapshot_steps  # noqa: E402
from geomdl.nn.training import train  # noqa: E402
from scenes.backends import export  # noqa: E402
from scenes.render import make_frames, manim_available  # noqa: E402

GEOMDL = str(Path(sys.executable).with_name("geomdl"))


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def encode_blank(n_frames: int, q: export.Quality, path: Path) -> Path:
    """The encode floor's work: ``n_frames`` blank frames at ``q``'s size and rate, through the renderers'
    encoder settings (libx264, yuv420p)."""
    blank = np.zeros((q.height, q.width, 3), np.uint8)
    return export.write_mp4((blank for _ in range(n_frames)), path, q.width, q.height, q.fps)


def encode_blank_rgb(n_frames: int, q: export.Quality, path: Path, img: np.ndarray | None = None) -> Path:
    """The encode floor as measured until stop 31: ``n_frames`` blank rgb24 frames piped (as ``write_mp4`` did:
    a grown pipe, spliced pages) into ffmpeg, which converts them to yuv420p itself (its scaler) before
    libx264; the renderers now convert in Python (:mod:`scenes.backends.yuv`), and :func:`encode_blank` goes
    the same way. ``img``: ``(H, W, 3) uint8``, a still to repeat instead of black (``bench_manim.py``'s floor)."""
    cmd = export.encoder_command(path, q.width, q.height, q.fps)
    k = cmd.index("yuv420p")          # the input's pixel format (the first -pix_fmt)
    cmd[k] = "rgb24"
    frame = np.zeros((q.height, q.width, 3), np.uint8) if img is None else np.ascontiguousarray(img, np.uint8)
    with subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        export.grow_pipe(proc.stdin.fileno())          # the same pipe and sending as write_mp4 had then
        pipe = export.FramePipe(proc.stdin.fileno())
        for _ in range(n_frames):
            pipe.send(frame)
        proc.stdin.close()
        if proc.wait() != 0:
            raise RuntimeError(f"ffmpeg exit status {proc.returncode}")
    return path


def cli(args: list[str]) -> None:
    subprocess.run([GEOMDL, *args], check=True, capture_output=True)


def train_once(cfg, with_recorder: bool) -> None:
    """The experiment's training loop, with or without snapshots (same data and start)."""
    from geomdl.data import synthetic as data  # noqa: PLC0415
    from geomdl.math import constructions  # noqa: PLC0415

    X, y = data.clustered(cfg.data_config())
    con = constructions.partial_construction(X, y, cfg.layer_fractions())
    model = build_model(X.shape[1], [X.shape[1]] * cfg.q, cfg.q, dtype=cfg.dtype, seed=cfg.seed)
    model.load_arrays(*con.layers, con.W_out, con.b_out)
    rec = Recorder(X, y, cfg.q) if with_recorder else None
    at = snapshot_steps(cfg.steps, cfg.snapshots) if with_recorder else None
    train(model, X, y, cfg.train_config(), snapshot_at=at, recorder=rec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quality", default="m", choices=list(export.QUALITIES))
    args = ap.parse_args()
    q = export.quality(args.quality)
    truncation_speed.torch_threads()
    rows: list[tuple[str, str, str]] = []
    tmp = Path(tempfile.mkdtemp(prefix="geomdl-bench-"))
    try:
        # 1. cold headline (fresh output folder each time: train + record + render) and warm re-render
        def cold() -> None:
            out = tmp / f"cold-{time.monotonic_ns()}"
            cli(["render", "truncation-speed", "--q", "3", "--quality", args.quality, "--out", str(out)])
        t_cold = median_time(cold, args.repeats)
        warm_out = tmp / "warm"
        cli(["render", "truncation-speed", "--q", "3", "--quality", args.quality, "--out", str(warm_out)])
        t_warm = median_time(lambda: cli(["render", "truncation-speed", "--q", "3", "--quality", args.quality,
                                          "--out", str(warm_out)]), args.repeats)
        renderer = "manim" if manim_available() else "matplotlib"
        rows += [(f"cold headline (CLI, {renderer}, {q.tag})", f"{t_cold:.2f} s", "target <= 60 s"),
                 ("warm re-render (cached trace)", f"{t_warm:.2f} s", f"{t_warm / t_cold:.2f}x of cold")]

        # 2. renderers vs the encode floor, in-process on the same trace
        cfg = truncation_speed.TruncationSpeedConfig()
        tr, _ = truncation_speed.run(cfg)
        frames = make_frames(tr, q.fps, 8.0, "light")
        t_floor = median_time(lambda: encode_blank(frames.n_frames, q, tmp / "blank.mp4"), args.repeats)
        rows.append((f"encode floor ({frames.n_frames} blank frames, {q.tag})", f"{t_floor:.2f} s", "1.00x"))
        from scenes.backends.mpl_renderer import render_mpl  # noqa: PLC0415

        t_mpl = median_time(lambda: render_mpl(frames, tmp / "mpl.mp4", args.quality), args.repeats)
        rows.append(("matplotlib render", f"{t_mpl:.2f} s", f"{t_mpl / t_floor:.2f}x floor (target <= 2x)"))
        if manim_available():
            from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

            t_manim = median_time(lambda: render_manim(frames, tmp / "manim.mp4", args.quality), args.repeats)
            rows.append(("Manim render", f"{t_manim:.2f} s", f"{t_manim / t_floor:.2f}x floor (target <= 4x); "
                                                             f"{t_manim / t_mpl:.2f}x matplotlib"))

        # 3. recorder overhead: same training with and without snapshots
        t_plain = median_time(lambda: train_once(cfg, False), args.repeats)
        t_rec = median_time(lambda: train_once(cfg, True), args.repeats)
        rows += [(f"training, no snapshots ({cfg.steps} GD steps)", f"{t_plain:.2f} s", ""),
                 (f"training + recorder ({cfg.snapshots} snapshots)", f"{t_rec:.2f} s",
                  f"{t_rec / t_plain:.2f}x (target <= 1.2x)")]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"median of {args.repeats} runs\n")
    w = max(len(r[0]) for r in rows)
    print(f"| {'what':<{w}} | time | ratio |")
    print(f"|{'-' * (w + 2)}|------|-------|")
    for name, t, ratio in rows:
        print(f"| {name:<{w}} | {t} | {ratio} |")


if __name__ == "__main__":
    main()
