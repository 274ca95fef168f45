"""Atomic file writes: write to a temp file in the destination folder, fsync it, then ``os.replace``.

An interrupted or failed write (exception, Ctrl-C, SIGTERM, a full disk) removes the temp file, so no
half-written output is ever left under the final name, and an existing file with that name is never lost. The
new file keeps the permissions of the file it replaces (a new file gets the usual ``0666 & ~umask``); the file
and its folder are fsynced before and after the rename, so a crash right after a write cannot publish an empty
or partial file.

Outputs that belong together (an MP4 and its GIF, an experiment's tables and figures) are written inside
:func:`atomic_group`: every file is staged under a temp name and renamed only when all of them are complete.
A failure while they are being produced leaves the previous complete set untouched; should a rename itself fail
half way, the folder holds ``INCOMPLETE.txt`` naming the set (removed by the next complete write).
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from geomdl.errors import GeomdlError

MARKER = "INCOMPLETE.txt"


def ensure_writable_dir(folder: Path) -> Path:
    """Create ``folder`` if needed and check that files can be written in it (clear error otherwise)."""
    folder = Path(folder)
    for part in [folder, *folder.parents]:
        if part.exists() and not part.is_dir():
            raise GeomdlError(f"output path {folder} cannot be created: {part} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise GeomdlError(f"cannot create output folder {folder}: {e.strerror or e}") from None
    if not folder.is_dir():
        raise GeomdlError(f"output path {folder} exists and is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GeomdlError(f"output folder {folder} is not writable")
    return folder


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (not every file system can fsync a folder: then skip)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _finish(tmp_path: Path, dest: Path) -> None:
    """Give the temp file the target's permissions and flush it to disk (before any rename)."""
    try:
        mode = stat.S_IMODE(os.stat(dest).st_mode)
    except FileNotFoundError:
        mode = 0o666 & ~_umask()   # mkstemp makes 0600; give the file the usual permissions
    os.chmod(tmp_path, mode)
    _fsync_file(tmp_path)


def _write_error(e: OSError, dest: Path) -> GeomdlError:
    return GeomdlError(f"cannot write {dest}: {e.strerror or e}; the previous file (if any) is unchanged")


class _Group:
    """Files staged by :func:`atomic_path` inside one :func:`atomic_group`: ``dest -> temp path``."""

    def __init__(self) -> None:
        self.staged: dict[Path, Path] = {}

    def staged_path(self, dest: str | os.PathLike) -> Path:
        """Where the (not yet renamed) content of ``dest`` is now; ``dest`` itself if it is not staged."""
        dest = Path(dest)
        return self.staged.get(dest, dest)


_GROUP: contextvars.ContextVar[_Group | None] = contextvars.ContextVar("geomdl_atomic_group", default=None)


def staged_path(dest: str | os.PathLike) -> Path:
    """The file to read for ``dest`` while an :func:`atomic_group` is open (its staged temp file), else ``dest``."""
    group = _GROUP.get()
    return group.staged_path(dest) if group is not None else Path(dest)


@contextlib.contextmanager
def atomic_group() -> Iterator[_Group]:
    """Write several files as one set: inside, :func:`atomic_path` stages each file instead of renaming it;
    on success every staged file is renamed into place, on failure every one is removed (the previous set stays).

    Before the renames a marker ``INCOMPLETE.txt`` listing the set is written in each folder concerned, and
    removed once all renames are done, so a failure in between leaves a clearly marked incomplete set. Nested
    groups join the outermost one.
    """
    outer = _GROUP.get()
    if outer is not None:
        yield outer
        return
    group = _Group()
    token = _GROUP.set(group)
    try:
        yield group
    except BaseException:
        _GROUP.reset(token)
        for tmp in group.staged.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    _GROUP.reset(token)
    _commit(group.staged)


def _commit(staged: dict[Path, Path]) -> None:
    if not staged:
        return
    folders = sorted({d.parent for d in staged})
    markers: list[Path] = []
    renamed = 0
    try:
        if len(staged) > 1:
            listing = "".join(f"{d.name}\n" for d in staged)
            for folder in folders:
                marker = folder / MARKER
                markers.append(marker)
                with open(marker, "w") as fh:
                    fh.write("geomdl was replacing these files as one set and stopped before all were in place;\n"
                             "run the command again to write a complete set:\n" + listing)
                    fh.flush()
                    os.fsync(fh.fileno())
            for folder in folders:
                _fsync_dir(folder)
        for dest, tmp in list(staged.items()):
            os.replace(tmp, dest)
            renamed += 1
            del staged[dest]
    except BaseException as e:   # a failed rename, or a signal in between
        dest = next(iter(staged), None)
        for tmp in staged.values():
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        if renamed == 0:   # nothing replaced yet: the previous set is intact, so no marker is needed
            for marker in markers:
                with contextlib.suppress(FileNotFoundError):
                    marker.unlink()
            if isinstance(e, OSError):
                raise _write_error(e, dest) from None
            raise
        if isinstance(e, OSError):
            raise GeomdlError(f"cannot write {dest}: {e.strerror or e}; the set is incomplete (see "
                              f"{markers[0]})") from None
        raise
    for folder in folders:
        _fsync_dir(folder)
    # all in place: drop the markers (also an earlier incomplete set's)
    for folder in folders:
        with contextlib.suppress(FileNotFoundError):
            (folder / MARKER).unlink()


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None, alone: bool = False) -> Iterator[Path]:
    """Yield a temp path beside ``dest``; on success it is renamed onto ``dest`` (inside an :func:`atomic_group`:
    staged until the group ends), on failure removed.

    ``suffix`` defaults to ``dest``'s own suffix so that tools that infer the format from the name
    (ffmpeg, numpy, matplotlib) keep working on the temp file. ``alone``: rename at once even inside a group
    (files that must persist on their own, such as a sweep's finished chunks). An ``OSError`` while writing (a
    full disk) becomes a one-line :class:`GeomdlError` naming ``dest``.
    """
    dest = Path(dest)
    ensure_writable_dir(dest.parent)
    suffix = dest.suffix if suffix is None else suffix
    group = None if alone else _GROUP.get()
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.tmp-", suffix=suffix, dir=dest.parent)
    except OSError as e:
        raise _write_error(e, dest) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        _finish(tmp_path, dest)
        if group is not None:
            old = group.staged.pop(dest, None)
            if old is not None and old != tmp_path:
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()
            group.staged[dest] = tmp_path
        else:
            os.replace(tmp_path, dest)
            _fsync_dir(dest.parent)
    except BaseException as e:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        if isinstance(e, OSError) and not isinstance(e, (BrokenPipeError, ConnectionError)):
            raise _write_error(e, dest) from None
        raise
