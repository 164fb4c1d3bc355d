"""Pictures shipped inside adain, usable by name: six public-domain paintings as styles
(``--style starry_night``) and one public-domain photo as content (``astronaut``).

Contract of ``resolve_style`` and ``resolve_content``: a path that exists always wins (your
own ``monet.jpg`` in the current folder is used, not the bundled one); otherwise a bare name
(no folder part) matches a bundled picture case-insensitively, with or without ``.jpg``;
otherwise ``AdaINError`` names the spec and lists the bundled names. The pictures are JPEGs,
sRGB, shorter side 512 px at most; ``SOURCES.md`` beside them gives each source, licence
reasoning and what was done. Torch-free; nothing is read until a function is called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from ..errors import AdaINError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """One bundled picture: ``name`` is what a command accepts, ``title`` what it shows."""

    name: str
    title: str
    author: str
    year: str

    @property
    def path(self) -> Path:
        return folder() / f"{self.name}.jpg"


STYLES = (
    Sample("starry_night", "The Starry Night", "Vincent van Gogh", "1889"),
    Sample("scream", "The Scream", "Edvard Munch", "1893"),
    Sample("monet", "Water Lilies", "Claude Monet", "1919"),
    Sample("kandinsky", "Composition VII", "Wassily Kandinsky", "1913"),
    Sample("udnie", "Udnie", "Francis Picabia", "1913"),
    Sample("wave", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831"),
)
PHOTO = Sample("astronaut", "portrait of Eileen Collins", "NASA", "")  # year not stated


def folder() -> Path:
    """The folder holding the pictures and SOURCES.md. pip unpacks wheels, so the package's
    resources are plain files and ``files()`` gives a filesystem path."""
    return Path(str(files(__name__)))


def resolve_style(spec: str | Path) -> Path:
    """``spec`` as a style: an existing path, else a bundled painting's file."""
    path = _resolve(str(spec), STYLES)
    if path is None:
        names = ", ".join(sample.name for sample in STYLES)
        raise AdaINError(f"no such file or bundled style {str(spec)!r}; bundled styles: "
                         f"{names} (adain styles lists them)")
    return path


def resolve_content(spec: str | Path) -> Path:
    """``spec`` as a content: an existing path, else the bundled photo's file."""
    path = _resolve(str(spec), (PHOTO,))
    if path is None:
        raise AdaINError(f"no such file or folder {str(spec)!r} (the bundled photo is "
                         f"{PHOTO.name!r}: adain styles)")
    return path


def _resolve(spec: str, samples: tuple[Sample, ...]) -> Path | None:
    path = Path(spec)
    if path.exists():
        return path
    if path.parent != Path(".") or not spec:  # a path, not a name: it does not exist
        return None
    name = spec.lower().removesuffix(".jpg")
    found = next((sample.path for sample in samples if sample.name == name), None)
    if found is not None and name != spec.lower():  # "monet.jpg" looked like a file of one's own
        log.warning("%s is not a file here; using the bundled %s (adain styles)", spec, name)
    return found
