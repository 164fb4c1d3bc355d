"""``adain styles``: the paintings and the photo shipped with adain; and the option callbacks
that let every command take them by name (``--style starry_night``, content ``astronaut``).

The callbacks run while typer parses: a path that exists wins, else a bundled name; a spec
that is neither ends the command with one red line listing the bundled names (exit 1), and
a folder where a single image is expected says so (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from .common import console, fail, user_errors


def styles() -> None:
    """List the bundled paintings (use them as --style NAME) and the sample photo."""
    from ..picture import image_size
    from ..samples import PHOTO, STYLES, folder

    table = Table("name", "painting", "painter", "year", "size", box=None, pad_edge=False)
    for sample in STYLES:
        width, height = image_size(sample.path)
        table.add_row(sample.name, sample.title, sample.author, sample.year, f"{width}x{height}")
    console.print(table)
    width, height = image_size(PHOTO.path)
    console.print(f"\nphoto: {PHOTO.name} ({PHOTO.author} {PHOTO.title}, {width}x{height})\n"
                  "\nGive a name wherever a style is expected (the photo's as a content); "
                  "a file or folder of that name wins:\n"
                  f"  adain stylize {PHOTO.name} --style starry_night -o "
                  f"{PHOTO.name}_starry_night.jpg\n"
                  f"Sources and licences: {escape(str(folder() / 'SOURCES.md'))}",
                  soft_wrap=True, highlight=False)


def resolved(kind: str, folders: bool = True) -> Callable[[Any], Any]:
    """A typer callback resolving an option's value (one path, a list of them, or None) as a
    ``kind`` ("style" or "content"); ``folders=False`` where one image file is expected."""
    def callback(value):
        if value is None:
            return None
        if isinstance(value, list):
            return [_resolve(item, kind, folders) for item in value]
        return _resolve(value, kind, folders)
    return callback


def _resolve(value: Path, kind: str, folders: bool) -> Path:
    from ..samples import resolve_content, resolve_style

    with user_errors():
        path = (resolve_style if kind == "style" else resolve_content)(value)
    if path.is_dir() and not folders:
        raise fail(f"{path} is a folder; give one {kind} image", 2)
    return path
