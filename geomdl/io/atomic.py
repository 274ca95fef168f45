"""Atomic file writes: write to a temp file in the destination folder, then ``os.replace``.

An interrupted write (exception, Ctrl-C) removes the temp file, so no half-written output is ever left
under the final name, and an existing file with that name is never lost.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from geomdl.errors import GeomdlError


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


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temp path beside ``dest``; on success it is renamed onto ``dest``, on failure removed.

    ``suffix`` defaults to ``dest``'s own suffix so that tools that infer the format from the name
    (ffmpeg, numpy, matplotlib) keep working on the temp file.
    """
    dest = Path(dest)
    ensure_writable_dir(dest.parent)
    suffix = dest.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.tmp-", suffix=suffix, dir=dest.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp_path, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
