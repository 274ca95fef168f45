"""Render a trace to media files with the chosen renderer, format, quality and theme.

This is the renderers' entry point (the CLI and notebooks call it). It never trains: it reads a trace.
:func:`render` is the documented convenience (``docs/api.md``): it resolves ``renderer="auto"``, picks the
scene, the folder ``out/<scene>/`` and the file name, and calls :func:`render_trace`.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import importlib.util
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from geomdl.errors import GeomdlError, UsageError
from geomdl.io.atomic import atomic_group, ensure_writable_dir
from geomdl.io.trace import Trace
from scenes.backends import export
from scenes.clips.base import THEMES, figure_units

RENDERERS = ("auto", "manim", "matplotlib")


@dataclass(frozen=True)
class SceneSpec:
    """A clip: the trace experiment that records its data and the frame model that draws it.

    ``frames``: ``"module:Class"``, constructed as ``Class(trace, fps=..., duration=..., theme=..., aspect=...)``
    (``aspect``: the canvas's width / height, passed only to a class that takes it; one that does not is drawn
    16:9 and letterboxed); it must provide ``fps``, ``n_frames``, ``theme``, ``static()`` and ``frame(i)`` and may
    provide ``fig_w``, ``fig_h`` (see :mod:`scenes.clips.base`), which is all both renderers use.
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

    def check_count_scale(self, count_scale: str) -> None:
        """Only a scene whose frame model takes ``count_scale`` (a count chart on either scale) has a linear one."""
        import inspect  # noqa: PLC0415

        if count_scale != "log" and "count_scale" not in inspect.signature(self.frames_class()).parameters:
            raise UsageError(f"scene {self.name!r} has no chart of counts on a log scale (--count-scale is for "
                             f"truncation-speed)")

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
    """How to render, validated once (:meth:`of`) and passed down as is: the quality preset resolved with any
    ``--fps`` / ``--resolution`` override (``quality``), the output formats (keys of :data:`FORMATS`), the
    renderer resolved from ``auto`` (``notice`` says when it fell back to matplotlib), the theme, the seconds of
    animation, the times of the stills (``at``: implies ``png``), ``rerender`` (draw the clip even where an
    MP4 of this very render exists) and ``count_scale`` (``log`` or ``linear``: truncation-speed's count chart)."""

    quality: export.Quality
    formats: tuple[str, ...] = ("mp4",)
    renderer: str = "matplotlib"
    theme: str = "light"
    duration: float = 8.0
    at: tuple[float, ...] | None = None
    notice: str | None = None
    rerender: bool = False
    count_scale: str = "log"

    @property
    def fmt(self) -> str:
        """The formats as one comma-separated string (``"mp4,gif"``)."""
        return ",".join(self.formats)

    @classmethod
    def of(cls, quality: str | export.Quality = "m", fmt: str | list[str] | None = None, renderer: str = "auto",
           theme: str = "light", duration: float = 8.0, at: str | list[float] | None = None,
           fps: int | None = None, resolution: str | tuple[int, int] | None = None,
           rerender: bool = False, count_scale: str = "log") -> RenderOptions:
        """Check every option (one-line :class:`GeomdlError`); ``fmt``: one format, several comma-separated
        (``"mp4,gif,storyboard"``) or a list (``None``: ``mp4``, or ``png`` when ``at`` is given); ``at``: a list
        of seconds or their comma-separated text (stills: ``png`` is added to the formats)."""
        q = export.quality(quality, fps=fps, resolution=resolution)
        formats = parse_formats(fmt, default="png" if at is not None else "mp4")
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
            if "png" not in formats:
                formats = (*formats, "png")   # --at asks for stills
        from scenes.clips.truncation_speed import COUNT_SCALES  # noqa: PLC0415

        if count_scale not in COUNT_SCALES:
            raise UsageError(f"unknown count scale {count_scale!r}; known: {', '.join(COUNT_SCALES)}")
        rname, notice = resolve_renderer(renderer)
        return cls(q, formats, rname, theme, float(duration), times, notice, bool(rerender), count_scale)

    @property
    def tail(self) -> str:
        """The end of a default file name: ``<renderer>_<theme>_<quality tag>`` (``viewer_<theme>`` for html),
        plus ``_linear`` for a linear count chart."""
        base = f"viewer_{self.theme}" if self.fmt == "html" else f"{self.renderer}_{self.theme}_{self.quality.tag}"
        return base + ("_linear" if self.count_scale != "log" else "")


def parse_formats(fmt: str | list[str] | tuple[str, ...] | None, default: str = "mp4") -> tuple[str, ...]:
    """``"mp4,gif"`` (or a list) -> ``("mp4", "gif")``: known formats, each once, in the order given."""
    if fmt is None:
        return (default,)
    names = fmt.split(",") if isinstance(fmt, str) else list(fmt)
    names = [str(n).strip().lower() for n in names if str(n).strip()]
    if not names:
        raise UsageError(f"no format given; known: {', '.join(FORMATS)}")
    for n in names:
        if n not in FORMATS:
            raise UsageError(f"unknown format {n!r}; known: {', '.join(FORMATS)} (several: mp4,gif,storyboard)")
    return tuple(dict.fromkeys(names))


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
                view: str = "input", aspect: float | None = None, count_scale: str = "log"):
    """The frame model of ``scene`` (default: the scene registered for the trace's kind); ``view``: ``input``
    (the truncation picture in input space) or, for scenes that offer it, ``layer`` (each layer's activations
    in its own PCA: exact where the input-space picture is approximate); ``aspect``: the canvas's width /
    height (``None``: 16:9), which the scene is laid out for; ``count_scale``: ``log`` or ``linear``
    (truncation-speed's count chart)."""
    if theme not in THEMES:
        raise UsageError(f"unknown theme {theme!r}; known: {', '.join(THEMES)}")
    if not 0 < duration < float("inf"):  # also rejects nan, and inf (no frame count)
        raise GeomdlError(f"duration must be a positive, finite number of seconds (got {duration})")
    return _frames_of(trace, fps, duration, theme, scene, view, aspect, count_scale)


def canvas_aspect(q: export.Quality) -> float | None:
    """The aspect a render's frame models are laid out for: ``None`` (16:9) for the presets, the custom
    resolution's width / height otherwise."""
    w, h = q.size
    return None if q.key != "custom" else w / h


def _frames_of(trace: Trace, fps: int, duration: float, theme: str, scene: str | None, view: str = "input",
               aspect: float | None = None, count_scale: str = "log"):
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
    if count_scale != "log":
        spec.check_count_scale(count_scale)
        kw["count_scale"] = count_scale
    cls = spec.frames_class()
    if aspect is not None and "aspect" in inspect.signature(cls).parameters:
        kw["aspect"] = aspect       # a class without it is drawn 16:9 and letterboxed (export.letterboxed)
    return cls(trace, fps=fps, duration=duration, theme=theme, **kw)


def render_trace(trace: Trace, out_dir: Path, stem: str, fmt: str | None = None, quality: str = "m",
                 renderer: str = "matplotlib", theme: str = "light", duration: float = 8.0,
                 progress: Callable[[int, int], None] | None = None, force: bool = False,
                 scene: str | None = None, at: list[float] | None = None, view: str = "input",
                 fps: int | None = None, resolution: str | None = None, rerender: bool = False,
                 jobs: int | None = None, count_scale: str = "log") -> Rendered:
    """Render ``trace`` into ``out_dir/<stem>.<ext>``; returns the files written (:class:`Rendered`).

    ``fmt``: one or several (comma-separated) of :data:`FORMATS`: ``mp4``; ``webm`` / ``gif`` (made from the
    MP4 master, which is written too); ``storyboard`` (key frames drawn as vector PDF + PNG from the frame
    model); ``png`` (stills: the last frame, or the frames at the times ``at`` in seconds; ``at`` implies
    ``png``). An MP4 of this very render already in ``out_dir`` (same trace, scene, renderer, theme, size, rate
    and duration: its tag says so) is reused instead of drawn again, unless ``rerender``. ``renderer`` must be
    resolved already (``manim`` or ``matplotlib``). ``fps`` / ``resolution`` (``"WxH"``) override the preset.
    ``jobs``: processes drawing frames (:func:`render_with`); ``count_scale``: as in :func:`render`.
    """
    if renderer not in ("manim", "matplotlib"):
        raise UsageError(f"unknown renderer {renderer!r}; resolve 'auto' first")
    opts = RenderOptions.of(quality, fmt, renderer, theme, duration, list(at) if at else None, fps=fps,
                            resolution=resolution, rerender=rerender, count_scale=count_scale)
    return render_with(trace, out_dir, stem, opts, progress=progress, force=force, scene=scene, view=view,
                       jobs=jobs)


class Rendered(list):
    """The files a render wrote (a ``list`` of paths) that shows itself in a notebook: the clip as an inline
    video (MP4 / WebM), the GIF, the stills or the storyboard as images, then the file names."""

    EMBED_MAX = 40 * 2**20   # bytes: larger files are referenced by path instead of embedded

    def _media(self, path: Path) -> str | None:
        import base64  # noqa: PLC0415
        import html  # noqa: PLC0415

        kinds = {".mp4": ("video", "video/mp4"), ".webm": ("video", "video/webm"), ".gif": ("img", "image/gif"),
                 ".png": ("img", "image/png")}
        if path.suffix not in kinds or not path.is_file():
            return None
        tag, mime = kinds[path.suffix]
        if path.stat().st_size <= self.EMBED_MAX:
            src = f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"
        else:
            src = html.escape(str(path))
        if tag == "video":
            return f'<video controls loop autoplay muted style="max-width:100%" src="{src}"></video>'
        return f'<img style="max-width:100%" src="{src}"/>'

    def _repr_html_(self) -> str:
        import html  # noqa: PLC0415

        paths = [Path(p) for p in self]
        rank = {".mp4": 0, ".webm": 1, ".gif": 2}
        videos = sorted((p for p in paths if p.suffix in rank), key=lambda p: rank[p.suffix])
        shown = videos[:1] or [p for p in paths if p.suffix == ".png"]
        parts = [m for m in (self._media(p) for p in shown) if m]
        names = "<br/>".join(html.escape(str(p)) for p in paths)
        return "".join(f"<div>{m}</div>" for m in parts) + f"<div><code>{names}</code></div>"


@dataclass
class Job:
    """One render in progress, handed to each format's writer (:data:`FORMATS`): the trace, its frame model,
    where the files go, the checked options; ``master``: the MP4 to read (rendered now, staged in the atomic
    group, or reused) or ``None`` when no format needed one; ``drawn``: frames drawn so far."""

    trace: Trace
    frames: object
    out_dir: Path
    stem: str
    opts: RenderOptions
    key: str
    progress: Callable[[int, int], None] | None = None
    master: Path | None = None
    view: str = "input"

    def path(self, suffix: str) -> Path:
        return self.out_dir / f"{self.stem}{suffix}"


@dataclass(frozen=True)
class Format:
    """An output format: ``about`` (for --help), ``from_mp4`` (made from the MP4 master, rendered once and
    reused), ``write(job) -> files``."""

    about: str
    from_mp4: bool
    write: Callable[[Job], list[Path]]
    frames: bool = True   # drawn from the clip's frame model (html: from the trace itself)


def _write_mp4(job: Job) -> list[Path]:
    return [job.path(".mp4")]


def _write_gif(job: Job) -> list[Path]:
    return [export.mp4_to_gif(job.master, job.path(".gif"), job.opts.quality.fps)]


def _write_webm(job: Job) -> list[Path]:
    return [export.mp4_to_webm(job.master, job.path(".webm"))]


def _write_storyboard(job: Job) -> list[Path]:
    from scenes.figures.storyboard import write_storyboard  # noqa: PLC0415

    return write_storyboard(job.frames, job.path("_storyboard"), title=job.stem)


def _write_png(job: Job) -> list[Path]:
    """The last frame as ``<stem>.png``, or the frames at ``at`` as ``<stem>_t<seconds>.png``: read from the MP4
    master when there is one, else only those frames are drawn."""
    fr, q = job.frames, job.opts.quality
    times = list(job.opts.at) if job.opts.at else None
    if times is None:
        idx, paths = [fr.n_frames - 1], [job.path(".png")]
    else:
        idx = [min(int(round(t * fr.fps)), fr.n_frames - 1) for t in times]
        paths = [job.path(f"_t{t:06.2f}.png") for t in times]
    if job.master is not None:
        imgs = export.frames_at(job.master, [i / fr.fps for i in idx])
    else:
        drawn = draw_frames(fr, idx, q, job.opts.renderer, job.progress)
        imgs = [export.letterbox(img, q.canvas, fr.theme["bg"]) for img in drawn]
    return [export.write_png(img, p) for img, p in zip(imgs, paths, strict=True)]


def _write_html(job: Job) -> list[Path]:
    from scenes.backends.html_viewer import write_viewer  # noqa: PLC0415

    return [write_viewer(job.trace, job.path(".html"), theme=job.opts.theme, view=job.view)]


FORMATS: dict[str, Format] = {
    "mp4": Format("H.264 MP4 (yuv420p)", True, _write_mp4),
    "webm": Format("VP9 WebM, made from the MP4", True, _write_webm),
    "gif": Format("looping palette GIF, made from the MP4", True, _write_gif),
    "png": Format("stills: the last frame, or the frames at --at", False, _write_png),
    "storyboard": Format("key frames after the title card, vector PDF + PNG (matplotlib)", False,
                         _write_storyboard),
    "html": Format("interactive viewer page, self-contained (docs/viewer.md)", False, _write_html, frames=False),
}


def draw_frames(frames, idx: list[int], q: export.Quality, renderer: str,
                progress: Callable[[int, int], None] | None = None) -> list:
    """RGB images ``(height, width, 3) uint8`` of the frames ``idx`` only, drawn by ``renderer``'s frame drawer
    (Manim's Cairo camera, :class:`~scenes.backends.manim_scenes.ManimFrameDrawer`, or matplotlib's Agg canvas):
    no other frame is drawn and nothing is encoded. ``progress(k, len(idx))`` after the ``k``-th (1-based)."""
    if renderer == "manim":
        from scenes.backends.manim_scenes import ManimFrameDrawer as Drawer  # noqa: PLC0415
    else:
        from scenes.backends.mpl_renderer import MplFrameDrawer as Drawer  # noqa: PLC0415
    drawer = Drawer(frames, q.width, q.height)
    try:
        out = []
        for k, i in enumerate(idx):
            out.append(drawer.draw(i)[..., :3].copy())
            if progress is not None:
                progress(k + 1, len(idx))
        return out
    finally:
        drawer.close()


def trace_digest(trace: Trace) -> str:
    """A digest of the trace's metadata and arrays (names, dtypes, shapes, bytes)."""
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    h = hashlib.blake2b(json.dumps(trace.meta, sort_keys=True, default=str).encode(), digest_size=16)
    for name in sorted(trace.arrays):
        a = np.ascontiguousarray(trace.arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}".encode())
        h.update(a.data if a.dtype != object else repr(a.tolist()).encode())
    return h.hexdigest()


def source_digest(root: Path) -> str:
    """A digest of every ``.py`` file under ``root``: each one's path relative to ``root`` and its bytes."""
    import hashlib  # noqa: PLC0415

    h = hashlib.blake2b(digest_size=16)
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code that draws a clip: every ``.py`` file of the ``scenes`` package (by path relative to
    it, and bytes) and the versions of matplotlib and Manim. Part of :func:`render_key`, so that an MP4 drawn by
    other drawing code (a newer checkout, an upgraded renderer) is drawn again instead of reused."""
    import hashlib  # noqa: PLC0415
    from importlib import metadata  # noqa: PLC0415

    h = hashlib.blake2b(source_digest(Path(__file__).resolve().parent).encode(), digest_size=16)
    for dist in ("matplotlib", "manim"):
        try:
            h.update(f"{dist}={metadata.version(dist)}\0".encode())
        except metadata.PackageNotFoundError:
            h.update(f"{dist}=none\0".encode())
    return h.hexdigest()


def render_key(trace: Trace, scene: str | None, view: str, opts: RenderOptions) -> str:
    """What an MP4 shows, as a short digest: the trace, scene, view, renderer, theme, sizes, rate, duration,
    geomdl's version and the drawing code (:func:`code_digest`). An MP4 tagged with the same key
    (:func:`scenes.backends.export.mp4_tag`) is reused."""
    import hashlib  # noqa: PLC0415
    import json  # noqa: PLC0415

    import geomdl  # noqa: PLC0415

    q = opts.quality
    what = {"trace": trace_digest(trace), "scene": scene or default_scene(trace.meta.get("kind")).name,
            "view": view, "renderer": opts.renderer, "theme": opts.theme, "size": [q.width, q.height],
            "canvas": list(q.size), "fps": q.fps, "duration": opts.duration,
            "version": getattr(geomdl, "__version__", ""), "code": code_digest()}
    if opts.count_scale != "log":   # (keys of log-scale renders stay as they were)
        what["count_scale"] = opts.count_scale
    return hashlib.blake2b(json.dumps(what, sort_keys=True).encode(), digest_size=12).hexdigest()


def render_with(trace: Trace, out_dir: Path, stem: str, opts: RenderOptions,
                progress: Callable[[int, int], None] | None = None, force: bool = False,
                scene: str | None = None, view: str = "input", jobs: int | None = None) -> Rendered:
    """:func:`render_trace` with options already checked: ``out_dir/<stem>.<ext>``; returns the files written.

    All the files of one render are one atomic set. The MP4 master is drawn once for every format made from
    it, and not at all when ``out_dir/<stem>.mp4`` is tagged with this render's key (:func:`render_key`).
    ``jobs``: processes drawing frames (default: every core; :mod:`scenes.backends.parallel`; both renderers:
    the clip is the same for any ``jobs``)."""
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    from scenes.backends.parallel import check_jobs  # noqa: PLC0415

    jobs = check_jobs(jobs)
    q = opts.quality
    check_renderable(trace, force)
    ensure_writable_dir(out_dir)
    needs_frames = any(FORMATS[f].frames for f in opts.formats)
    frames = None
    if needs_frames:
        frames = _frames_of(trace, q.fps, opts.duration, opts.theme, scene, view, canvas_aspect(q),
                            opts.count_scale)
        q = export.letterboxed(q, figure_units(frames))   # q itself: the scene is laid out for the canvas
        opts = dataclasses.replace(opts, quality=q)
    job = Job(trace, frames, out_dir, stem, opts, render_key(trace, scene, view, opts), progress, view=view)
    mp4 = job.path(".mp4")
    out: list[Path] = []
    reuse = not opts.rerender and export.mp4_tag(mp4) == job.key   # this very render exists: draw nothing
    draw = not reuse and any(FORMATS[f].from_mp4 for f in opts.formats)
    # one BLAS thread: a frame's products are small, and BLAS threads only fight the encoder and the other
    # drawing processes for the cores (a 60k-row product took 20-60x its one-thread time on 2 cores)
    with threadpool_limits(limits=1, user_api="blas"), atomic_group() as group:
        if reuse:
            job.master = mp4
        elif draw:
            _render_mp4(frames, mp4, q, opts.renderer, progress, jobs)   # staged in the group, not yet renamed
            job.master = group.staged_path(mp4)
            # tagged (and letterboxed) in place: the staged file is replaced, the group still renames it
            export.finish_master(job.master, job.master, job.key, q.canvas, frames.theme["bg"])
            if "mp4" not in opts.formats:
                out.append(mp4)                                  # the master is written too (and reused later)
        for name in opts.formats:
            out += FORMATS[name].write(job)
    return Rendered(out)


def render(trace: Trace | str | Path, scene: str | None = None, out: str | Path = "media", fmt: str | None = None,
           quality: str = "m", renderer: str = "auto", theme: str = "light", duration: float = 8.0,
           stem: str | None = None, at: list[float] | None = None, force: bool = False,
           progress: Callable[[int, int], None] | None = None, options: RenderOptions | None = None,
           view: str = "input", fps: int | None = None, resolution: str | None = None,
           rerender: bool = False, jobs: int | None = None, count_scale: str = "log") -> Rendered:
    """Render ``trace`` (a :class:`~geomdl.io.trace.Trace` or the path of a saved one) and return the files written.

    ``scene``: a name in :data:`SCENES` that draws the trace's kind (default: the scene registered for it).
    Files go to ``out/<scene>/<stem>.<ext>``; the default ``stem`` is
    ``<scene>_<run>_<renderer>_<theme>_<quality tag>``, ``<run>`` being
    :func:`geomdl.experiments.output_stem` of the trace's config: the name ``geomdl render`` gives the same
    run. ``renderer``: ``auto`` (Manim when installed, else matplotlib, with a :class:`UserWarning` saying so),
    ``manim`` or ``matplotlib``. ``fmt`` (one or several comma-separated formats of :data:`FORMATS`),
    ``quality`` (``l m h k``, also ``-ql``), ``fps``, ``resolution`` (``"1080x1080"``: the scene laid out for that
canvas), ``theme``,
    ``duration`` (seconds of animation, after the title card), ``at`` (times in seconds of stills; implies
    ``png``), ``rerender``, ``force`` (render a failed run), ``progress(i, n)`` and ``view`` (``input`` or
    ``layer``) as in :func:`render_trace`; or ``options``, a :class:`RenderOptions` checked already, in place of
    ``fmt`` .. ``at`` (its fallback notice is then the caller's to show). ``jobs``: processes drawing frames
    (default: every core; both renderers). ``count_scale``: ``log`` (default) or ``linear``, the y axis of
    truncation-speed's count chart (other scenes: ``log`` only). Bad input raises :class:`GeomdlError` before
    anything is written. The result is a list of paths that a notebook shows inline (:class:`Rendered`).
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
        opts = RenderOptions.of(quality, fmt, renderer, theme, duration, at, fps=fps, resolution=resolution,
                                rerender=rerender, count_scale=count_scale)
        if opts.notice:
            warnings.warn(opts.notice.removeprefix("notice: "), stacklevel=2)
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
        stem = f"{spec.name}_{run}{'_layerview' if view == 'layer' else ''}_{opts.tail}"
    out_dir = ensure_writable_dir(Path(out) / spec.name)
    return render_with(tr, out_dir, stem, opts, progress=progress, force=force, scene=spec.name, view=view,
                       jobs=jobs)


def _render_mp4(frames, path: Path, quality: str, renderer: str,
                progress: Callable[[int, int], None] | None, jobs: int = 1) -> Path:
    if renderer == "manim":
        from scenes.backends.manim_scenes import render_manim  # noqa: PLC0415

        return render_manim(frames, path, quality, progress=progress, jobs=jobs)
    from scenes.backends.mpl_renderer import render_mpl  # noqa: PLC0415

    return render_mpl(frames, path, quality, progress=progress, jobs=jobs)
