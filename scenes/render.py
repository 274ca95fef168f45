"""Render a trace to media files with the chosen renderer, format, quality and theme.

This is the renderers' entry point (the CLI and notebooks call it). It never trains: it reads a trace.
:func:`render` is the documented convenience (``docs/api.md``): it resolves ``renderer="auto"``, picks the
scene, the folder ``out/<scene>/`` and the file name, and calls :func:`render_trace`.
"""

from __future__ import annotations

import importlib
import importlib.util
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geomdl.errors import GeomdlError, UsageError
from geomdl.io.atomic import atomic_group, ensure_writable_dir
from geomdl.io.trace import Trace
from scenes.backends import export
from scenes.clips.base import THEMES

RENDERERS = ("auto", "manim", "matplotlib")


@dataclass(frozen=True)
class SceneSpec:
    """A clip: the trace experiment that records its data and the frame model that draws it.

    ``frames``: ``"module:Class"``, constructed as ``Class(trace, fps=..., duration=..., theme=...)``; it must
    provide ``fps``, ``n_frames``, ``theme``, ``static()`` and ``frame(i)`` (see :mod:`scenes.clips.base`), which
    is all both renderers use.
    """

    name: str
    experiment: str
    frames: str
    about: str
    kinds: tuple[str, ...] = ()   # other trace kinds it can draw from a given --trace
    views: tuple[str, ...] = ("input",)   # --view choices: input space, or also each layer's own space

    def draws(self, kind: str | None) -> bool:
        return kind == self.experiment or kind in self.kinds

    def check_view(self, view: str) -> None:
        if view not in self.views:
            raise GeomdlError(f"scene {self.name!r} has no --view {view!r}; its views: {', '.join(self.views)}")

    def load_trace(self, path: Path) -> Trace:
        """The recorded trace at ``path``, refused unless this scene draws its kind."""
        from geomdl.io import trace as trace_mod  # noqa: PLC0415

        tr = trace_mod.load(path)
        if not self.draws(tr.meta.get("kind")):
            raise GeomdlError(f"{path} records a {tr.meta.get('kind')!r} run; scene {self.name!r} needs "
                              f"{self.experiment!r}")
        return tr

    def frames_class(self):
        mod, cls = self.frames.split(":")
        return getattr(importlib.import_module(mod), cls)


SCENES: dict[str, SceneSpec] = {
    "truncation-speed": SceneSpec(
        "truncation-speed", "truncation-speed", "scenes.clips.truncation_speed:TruncationFrames",
        "Q clustered classes, a network starting partially truncated, trained with GD: clusters collapse toward "
        "their cones' base points; live collapsed-count plot."),
    "layers": SceneSpec(
        "layers", "layers", "scenes.clips.layers:LayersFrames",
        "A trained network (default: MNIST digits 0 1 2, --dataset mnist|clustered): the data move through the "
        "truncations T_0 -> T_1 -> ... -> T_L and into the outputs, each layer's cone drawn (also a recorded "
        "network of yours: geomdl record).",
        kinds=("truncation-speed", "network"), views=("input", "layer")),
    "training": SceneSpec(
        "training", "layers", "scenes.clips.training:TrainingFrames",
        "The per-layer PCA panels T_l(X), cones and the outputs evolving over training snapshots; loss, accuracy, "
        "NC1 and delta_P readouts (also a recorded network of yours: geomdl record).",
        kinds=("truncation-speed", "network"), views=("input", "layer")),
    "flows": SceneSpec(
        "flows", "flows", "scenes.clips.flows:FlowsFrames",
        "Outputs in R^Q under standard gradient descent (curves) vs the adapted Penrose flow (straight lines), "
        "side by side, with both costs on a log axis against the law e^{-2s/N} C(0)."),
    "cones": SceneSpec(
        "cones", "cones", "scenes.clips.cones:ConesFrames",
        "A geometry's zero-loss construction (--geometry clustered|sls|nonsep|concentric), layer by layer: each "
        "layer's cone appears and the truncation T_{l-1} -> T_l collapses its class onto the base point."),
    "local-minima": SceneSpec(
        "local-minima", "local-minima", "scenes.clips.local_minima:LocalMinimaFrames",
        "A tour of the 2^Q - 1 toggle points of the clustered construction (which layers collapse which class) and "
        "the global minimum: layer panels, loss and gradient readout, where L-BFGS takes each, loss chart."),
    "perturbation": SceneSpec(
        "perturbation", "perturbation", "scenes.clips.perturbation:PerturbationFrames",
        "A perturbed zero-loss construction (--set lam=0.1 --set trial=0) retrained by SGD: the cones moving back "
        "(or not) toward the construction's base points, loss and collapsed-count curves, the outcome."),
}


def scene_spec(name: str) -> SceneSpec:
    if name not in SCENES:
        raise UsageError(f"unknown scene {name!r}; known scenes: {', '.join(SCENES)} (see: geomdl list)")
    return SCENES[name]


def manim_available() -> bool:
    return importlib.util.find_spec("manim") is not None


def resolve_renderer(name: str) -> tuple[str, str | None]:
    """``auto`` -> Manim when importable, else matplotlib (with a one-line notice)."""
    if name not in RENDERERS:
        raise UsageError(f"unknown renderer {name!r}; known: {', '.join(RENDERERS)}")
    if name == "auto":
        if manim_available():
            return "manim", None
        return "matplotlib", "notice: Manim is not installed here; rendering with the matplotlib fallback"
    if name == "manim" and not manim_available():
        raise GeomdlError("--renderer manim asked for, but Manim is not installed (run scripts/setup.sh, "
                          "or use --renderer matplotlib)")
    return name, None


@dataclass(frozen=True)
class RenderOptions:
    """How to render, validated once (:meth:`of`) and passed down as is: the quality preset resolved
    (``quality``), the output format, the renderer resolved from ``auto`` (``notice`` says when it fell back to
    matplotlib), the theme, the seconds of animation, and the times of the stills (``fmt="png"`` only)."""

    quality: export.Quality
    fmt: str = "mp4"
    renderer: str = "matplotlib"
    theme: str = "light"
    duration: float = 8.0
    at: tuple[float, ...] | None = None
    notice: str | None = None

    @classmethod
    def of(cls, quality: str | export.Quality = "m", fmt: str = "mp4", renderer: str = "auto",
           theme: str = "light", duration: float = 8.0, at: str | list[float] | None = None) -> RenderOptions:
        """Check every option (one-line :class:`GeomdlError`); ``at``: a list of seconds or their
        comma-separated text."""
        q = export.quality(quality)
        if fmt not in (*export.FORMATS, "html"):
            raise UsageError(f"unknown format {fmt!r}; known: {', '.join((*export.FORMATS, 'html'))}")
        if theme not in THEMES:
            raise UsageError(f"unknown theme {theme!r}; known: {', '.join(THEMES)}")
        if not 0 < duration < float("inf"):  # also rejects nan, and inf (no frame count)
            raise GeomdlError(f"duration must be a positive, finite number of seconds (got {duration})")
        times = None
        if at is not None:
            if isinstance(at, str):
                try:
                    times = tuple(float(v) for v in at.split(",") if v.strip())
                except ValueError:
                    raise UsageError(f"at= must be comma-separated seconds, got {at!r}") from None
            else:
                times = tuple(float(t) for t in at)
            if not times or not all(0 <= t < float("inf") for t in times):
                raise GeomdlError(f"at= must list times >= 0 seconds, got {at!r}")
            if fmt != "png":
                raise UsageError(f"at= only applies to fmt='png' (got fmt={fmt!r})")
        rname, notice = resolve_renderer(renderer)
        return cls(q, fmt, rname, theme, float(duration), times, notice)


def check_renderable(trace: Trace, force: bool = False) -> None:
    """A failed run (diverged, dead network, degenerate: :mod:`geomdl.nn.health`) is reported, not rendered as a
    result, unless forced."""
    if trace.failed and not force:
        msg = trace.meta.get("stop_message") or trace.meta.get("stop_reason")
        raise GeomdlError(f"not rendering a failed run: {msg} (use --force to render it anyway)")


def default_scene(kind: str | None) -> SceneSpec:
    """The scene registered for traces of ``kind`` (the first in :data:`SCENES` whose experiment it is)."""
    matches = [s for s in SCENES.values() if s.experiment == kind] or [s for s in SCENES.values() if kind in s.kinds]
    if not matches:
        raise GeomdlError(f"no scene draws traces of kind {kind!r}")
    return matches[0]


def make_frames(trace: Trace, fps: int, duration: float, theme: str, scene: str | None = None,
                view: str = "input"):
    """The frame model of ``scene`` (default: the scene registered for the trace's kind); ``view``: ``input``
    (the truncation picture in input space) or, for scenes that offer it, ``layer`` (each layer's activations
    in its own PCA: exact where the input-space picture is approximate)."""
    if theme not in THEMES:
        raise UsageError(f"unknown theme {theme!r}; known: {', '.join(THEMES)}")
    if not 0 < duration < float("inf"):  # also rejects nan, and inf (no frame count)
        raise GeomdlError(f"duration must be a positive, finite number of seconds (got {duration})")
    return _frames_of(trace, fps, duration, theme, scene, view)


def _frames_of(trace: Trace, fps: int, duration: float, theme: str, scene: str | None, view: str = "input"):
    """:func:`make_frames` once ``theme`` and ``duration`` are known to be good (:class:`RenderOptions`)."""
    if scene is None:
        spec = default_scene(trace.meta.get("kind"))
    else:
        spec = scene_spec(scene)
        if not spec.draws(trace.meta.get("kind")):
            raise GeomdlError(f"scene {spec.name!r} draws {spec.experiment!r} traces, this trace records a "
                              f"{trace.meta.get('kind')!r} run")
    if view not in spec.views:
        raise GeomdlError(f"scene {spec.name!r} has no view {view!r}; its views: {', '.join(spec.views)}")
    kw = {"view": view} if view != "input" else {}
    return spec.frames_class()(trace, fps=fps, duration=duration, theme=theme, **kw)


def render_trace(trace: Trace, out_dir: Path, stem: str, fmt: str = "mp4", quality: str = "m",
                 renderer: str = "matplotlib", theme: str = "light", duration: float = 8.0,
                 progress: Callable[[int, int], None] | None = None, force: bool = False,
                 scene: str | None = None, at: list[float] | None = None, view: str = "input",
                 jobs: int | None = None) -> list[Path]:
    """Render ``trace`` into ``out_dir/<stem>.<ext>``; returns the files written.

    ``fmt``: ``mp4``; ``webm`` / ``gif`` / ``storyboard`` (the MP4 master plus a VP9 WebM, a looping palette
    GIF, or a contact sheet of key frames as PNG and PDF); ``png`` (stills: the last frame, or the frames at
    the times ``at`` in seconds). ``renderer`` must be resolved already (``manim`` or ``matplotlib``).
    ``jobs``: processes drawing frames (default: every core; :mod:`scenes.backends.parallel`; the matplotlib
    renderer; Manim renders in one process).
    """
    if renderer not in ("manim", "matplotlib"):
        raise UsageError(f"unknown renderer {renderer!r}; resolve 'auto' first")
    opts = RenderOptions.of(quality, fmt, renderer, theme, duration, list(at) if at else None)
    return render_with(trace, out_dir, stem, opts, progress=progress, force=force, scene=scene, view=view,
                       jobs=jobs)


def render_with(trace: Trace, out_dir: Path, stem: str, opts: RenderOptions,
                progress: Callable[[int, int], None] | None = None, force: bool = False,
                scene: str | None = None, view: str = "input", jobs: int | None = None) -> list[Path]:
    """:func:`render_trace` with options already checked: ``out_dir/<stem>.<ext>``; returns the files written."""
    from scenes.backends.parallel import check_jobs  # noqa: PLC0415

    jobs = check_jobs(jobs)
    fmt, quality, renderer, at = opts.fmt, opts.quality, opts.renderer, opts.at
    q = quality
    check_renderable(trace, force)
    ensure_writable_dir(out_dir)
    if fmt == "html":   # the interactive viewer page: drawn from the trace, no clip frames
        from scenes.backends.html_viewer import write_viewer  # noqa: PLC0415

        return [write_viewer(trace, out_dir / f"{stem}.html", theme=opts.theme, view=view)]
    frames = _frames_of(trace, q.fps, opts.duration, opts.theme, scene, view)
    mp4 = out_dir / f"{stem}.mp4"
    png = out_dir / f"{stem}.png"

    if fmt == "png" and renderer == "matplotlib" and not at:
        from scenes.backends.mpl_renderer import render_mpl_png  # noqa: PLC0415

        return [render_mpl_png(frames, png, quality)]

    if fmt == "png":  # render the clip privately and keep only the stills
        tmpdir = Path(tempfile.mkdtemp(prefix="geomdl-"))
        try:
            clip = _render_mp4(frames, tmpdir / "clip.mp4", quality, renderer, progress, jobs)
            if not at:
                return [export.last_frame_png(clip, png)]
            with atomic_group():   # the stills are one set
                return export.stills(clip, out_dir, stem, list(at))
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)

    # the MP4 and what is made from it are one set: all replace the earlier files, or none does
    with atomic_group() as group:
        out = [_render_mp4(frames, mp4, quality, renderer, progress, jobs)]
        master = group.staged_path(mp4)   # not yet renamed into place
        if fmt == "gif":
            out.append(export.mp4_to_gif(master, out_dir / f"{stem}.gif", q.fps))
        elif fmt == "webm":
            out.append(export.mp4_to_webm(master, out_dir / f"{stem}.webm"))
        elif fmt == "storyboard":
            out += export.storyboard(master, out_dir / f"{stem}_storyboard", title=stem)
    return out


def render(trace: Trace | str | Path, scene: str | None = None, out: str | Path = "media", fmt: str = "mp4",
           quality: str = "m", renderer: str = "auto", theme: str = "light", duration: float = 8.0,
           stem: str | None = None, at: list[float] | None = None, force: bool = False,
           progress: Callable[[int, int], None] | None = None, options: RenderOptions | None = None,
           view: str = "input", jobs: int | None = None) -> list[Path]:
    """Render ``trace`` (a :class:`~geomdl.io.trace.Trace` or the path of a saved one) and return the files written.

    ``scene``: a name in :data:`SCENES` that draws the trace's kind (default: the scene registered for it).
    Files go to ``out/<scene>/<stem>.<ext>``; the default ``stem`` is
    ``<scene>_<run>_<renderer>_<theme>_<quality tag>``, ``<run>`` being
    :func:`geomdl.experiments.output_stem` of the trace's config: the name ``geomdl render`` gives the same
    run. ``renderer``: ``auto`` (Manim when installed, else matplotlib, with a :class:`UserWarning` saying so),
    ``manim`` or ``matplotlib``. ``fmt``, ``quality``, ``theme``, ``duration`` (seconds of animation, after
    the title card), ``at`` (``fmt="png"`` only: times in seconds of the stills), ``force`` (render a failed
    run), ``progress(i, n)`` and ``view`` (``input`` or ``layer``) as in :func:`render_trace`; or ``options``, a
    :class:`RenderOptions` checked already, in place of ``fmt`` .. ``at`` (its fallback notice is then the
    caller's to show). ``jobs``: processes drawing frames (default: every core; matplotlib renderer). Bad input
    raises :class:`GeomdlError` before anything is written.
    """
    import warnings  # noqa: PLC0415

    from geomdl import experiments  # noqa: PLC0415
    from geomdl.io import trace as trace_mod  # noqa: PLC0415

    tr = trace if isinstance(trace, Trace) else trace_mod.load(trace)
    kind = tr.meta.get("kind")
    spec = default_scene(kind) if scene is None else scene_spec(scene)
    if not spec.draws(kind):
        raise GeomdlError(f"scene {spec.name!r} draws {spec.experiment!r} traces, this trace records a {kind!r} run")
    opts = options
    if opts is None:
        opts = RenderOptions.of(quality, fmt, renderer, theme, duration, at)
        if opts.notice:
            warnings.warn(opts.notice.removeprefix("notice: "), stacklevel=2)
    from scenes.backends.parallel import check_jobs  # noqa: PLC0415

    jobs = check_jobs(jobs)
    rname, theme, q = opts.renderer, opts.theme, opts.quality
    check_renderable(tr, force)
    if stem is None:
        if kind == "network":   # a recorded user network: its facts, not an experiment's defaults
            from geomdl.io.recorder import network_stem  # noqa: PLC0415

            run = network_stem(tr.meta)
        else:
            try:
                run = experiments.output_stem(kind, tr.meta.get("config", {}))
            except GeomdlError:   # a kind with no registered experiment: name it by its seed
                run = f"seed{tr.meta.get('seed', 0)}"
        tail = f"viewer_{theme}" if opts.fmt == "html" else f"{rname}_{theme}_{q.tag}"
        stem = f"{spec.name}_{run}{'_layerview' if view == 'layer' else ''}_{tail}"
    out_dir = ensure_writable_dir(Path(out) / spec.name)
    return render_with(tr, out_dir, stem, opts, progress=progress, force=force, scene=spec.name, view=view,
                       jobs=jobs)


def _render_mp4(frames, path: Path, quality: str, renderer: str,
                progress: Callable[[int, int], None] | None, jobs: int = 1) -> Path:
    if renderer == "manim":
        from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

        return render_manim(frames, path, quality, progress=progress)
    from scenes.backends.mpl_renderer import render_mpl  # noqa: PLC0415

    return render_mpl(frames, path, quality, progress=progress, jobs=jobs)
