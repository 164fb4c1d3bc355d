"""Atomic file writes: write a temporary file beside the target, then rename it over.

A kill or a full disk never leaves a torn file at the target path; the temporary file
is removed on failure.
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
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp" + target.suffix,
                                   dir=target.parent)
    except OSError as exc:
        raise AdaINError(f"cannot write {target}: {exc.strerror}; check the folder and its "
                         "permissions") from exc
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, target)
    except OSError as exc:
        tmp_path.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise AdaINError(f"no space left on the disk while writing {target}; free some "
                             "space and run again (nothing was left half-written)") from exc
        raise AdaINError(f"cannot write {target}: {exc}") from exc
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
