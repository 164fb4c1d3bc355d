"""Checks every command makes on what it will write, before any work (torch-free).

An output must never be one of the inputs, and must be writable: a path under a file,
or a folder the user cannot write to, is refused at once rather than after minutes of
computing.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .errors import AdaINError


def refuse_inputs_as_outputs(outputs: Iterable[str | Path], inputs: Iterable[str | Path],
                             hint: str = "choose another -o") -> None:
    """Refuse an output that is, or resolves to, one of ``inputs`` (links and ``..``
    included); an output folder may hold inputs, an output file may not be one."""
    known: dict[tuple[int, int] | Path, Path] = {}
    for path in map(Path, inputs):
        known[path.resolve()] = path
        if path.exists():
            stat = path.stat()
            known[(stat.st_dev, stat.st_ino)] = path
    for output in map(Path, outputs):
        same = known.get(output.resolve())
        if same is None and output.exists():
            stat = output.stat()
            same = known.get((stat.st_dev, stat.st_ino))
        if same is not None:
            raise AdaINError(f"refused: the output {output} is the input {same}, which would "
                             f"be overwritten; {hint}")


def check_writable_path(path: str | Path, folder: bool = False) -> None:
    """Refuse ``path`` (a file, or with ``folder`` a folder) that could not be written:
    a parent that is a file, or a folder without write permission. Nothing is created."""
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise AdaINError(f"cannot write into {path}: it is a file, not a folder")
    if not folder and path.is_dir():
        raise AdaINError(f"cannot write {path}: it is a folder; give a file name")
    parent = path if folder else path.parent
    existing = parent
    while not existing.exists():  # the nearest folder that exists is where writing starts
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise AdaINError(f"cannot write {path}: {existing} is a file, not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".adain-write-check-", dir=existing)
    except OSError as exc:
        raise AdaINError(f"cannot write {path}: {existing} is not writable "
                         f"({exc.strerror}); choose another output or fix its permissions"
                         ) from exc
    os.close(fd)
    os.unlink(probe)


def free_name(path: str | Path, taken: Iterable[Path] = ()) -> Path:
    """``path``, or ``name_2.ext``, ``name_3.ext``... when a file of that name exists or is
    in ``taken`` (names this run already used): a new file never replaces an old one."""
    path, taken = Path(path), set(map(Path, taken))
    candidate, number = path, 1
    while candidate.exists() or candidate in taken:
        number += 1
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
    return candidate
