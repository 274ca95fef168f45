"""The options of ``geomdl render`` as plain data (:class:`geomdl.experiments.registry.Option`); ``cli.py`` builds
the command from them. :data:`RENDER_OPTIONS` are the keywords of :meth:`scenes.render.RenderOptions.of` (checked
there, once): a new render option is one declaration here and its keyword there."""

from __future__ import annotations

from pathlib import Path

from geomdl.experiments.registry import Option

RENDER_OPTIONS: tuple[Option, ...] = (
    Option("--quality", str, "m", "l 480p15, m 720p30, h 1080p60, k 2160p60 (Manim-style -ql -qm -qh -qk too).",
           short="-q"),
    Option("--format", str, None, "One or several, comma-separated: mp4 (H.264); webm, gif (made from the MP4, which "
                                  "is written too); storyboard (key frames, vector PDF + PNG); png (last frame, or "
                                  "the frames at --at); html (an interactive 3-D viewer page, offline). An MP4 of "
                                  "this very render is reused, not drawn again. (default: mp4, or png with --at)",
           name="fmt"),
    Option("--at", help="Stills (png) at these comma-separated times in seconds (e.g. 1,5,9.5); only those frames "
                        "are drawn."),
    Option("--fps", int, None, "Frames per second, in place of the quality's."),
    Option("--resolution", str, None, "WIDTHxHEIGHT in pixels, in place of the quality's, any aspect: the scene is "
                                      "laid out for it (e.g. 1080x1080 for a poster, 1080x1920 for a phone)."),
    Option("--rerender", bool, False, "Draw the clip even if an MP4 of this render exists."),
    Option("--renderer", str, "auto", "auto (Manim when installed, else matplotlib), manim or matplotlib."),
    Option("--theme", str, "light", "light or dark (for slides)."),
    Option("--duration", float, 8.0, "Seconds of animation (training, the tour, the layers), plus the title card "
                                     "and short holds; a minimum where each readable state holds >= 2.5 s "
                                     "(local-minima at Q = 3: ~55 s, cones with 3 layers: ~21 s)."),
    Option("--count-scale", str, "log", "truncation-speed: y axis of the chart of points on each base point, log "
                                        "(log10(1 + n): an exponential collapse is a straight line) or linear."),
)

# `geomdl render SCENE`: the scene and the trace (before the render options), how a run is reused (after them)
SCENE_OPTIONS: tuple[Option, ...] = (
    Option("scene", argument=True, help="Scene to render (see: geomdl list)."),
    Option("--trace", Path, help="Render this recorded trace instead of training (experiment options then unused)."),
)
RUN_OPTIONS: tuple[Option, ...] = (
    Option("--retrain", bool, False, "Ignore the cached trace and train again."),
    Option("--force", bool, False, "Render even a failed run (diverged, dead or degenerate: fewer distinct output "
                                   "clusters than classes, or accuracy below its start)."),
    Option("--view", str, "input", "layers/training: input (the truncation picture T_l(X) in input space) or layer "
                                   "(each layer's activations x^(l) in its own PCA: exact at any width; needs a "
                                   "trace from geomdl record)."),
    Option("--jobs", int, None, "Processes drawing frames in parallel, for either renderer (default: every core "
                                "this process may use, a cgroup CPU quota included; the clip is the same for any N)."),
)
