"""Atomic file writes: write a temporary file beside the target, then rename it over.

A kill or a full disk never leaves a torn file at the target path; the temporary file
is removed on failure. The file and the rename are flushed to disk (fsync), so a power
loss leaves either the old file or the new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import AdaINError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        # a hidden name that ends in .tmp: a temporary file a kill leaves behind is never
        # taken for a picture (or a checkpoint) by a loader that globs by extension
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise AdaINError(f"cannot write {target}: {exc.strerror}; check the folder and its "
                         "permissions") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        _fsync(tmp_path)  # the data is on disk before the name points at it
        os.replace(tmp_path, target)
        _fsync(target.parent)  # and the rename survives a power loss
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise AdaINError(f"no space left on the disk while writing {target}; free some "
                             "space and run again (nothing was left half-written)") from exc
        # strerror, not the exception: its text names the temporary file, not the user's
        raise AdaINError(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_text(target: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and hasattr(os, "O_DIRECTORY") else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. folders cannot be opened on Windows; nothing more to do there
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
