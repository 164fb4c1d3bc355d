"""Download the published pytorch-AdaIN weights (its GitHub release v0.0.0).

Each file is streamed to a temporary file beside its destination, checked by loading it
as the network it should be, and only then renamed into place. The source may also be
a mirror URL, a ``file://`` URL or a plain folder path (the files are copied from it,
checked and placed the same way).
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_path
from .errors import AdaINError
from .weights import load_decoder, load_encoder

log = logging.getLogger(__name__)

RELEASE_URL = "https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0"
TIMEOUT_S = 10.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class PublishedFile:
    name: str
    loader: Callable[[Path], object]  # raises AdaINError if the file is not what it should be


PUBLISHED_FILES = (
    PublishedFile("vgg_normalised.pth", load_encoder),
    PublishedFile("decoder.pth", load_decoder),
)

# progress(name, bytes_done, bytes_total or None)
DownloadProgress = Callable[[str, int, "int | None"], None]


def fetch_published(dest: Path, base_url: str = RELEASE_URL, force: bool = False,
                    progress: DownloadProgress | None = None) -> list[Path]:
    """Fetch the published files into ``dest``; files already there and valid are kept.

    A ``dest`` folder this call created is removed again if nothing could be put in it.
    """
    created = not dest.exists()
    try:
        return _fetch_all(dest, base_url, force, progress)
    except AdaINError:
        if created and dest.is_dir() and not any(dest.iterdir()):
            dest.rmdir()
        raise


def _fetch_all(dest: Path, base_url: str, force: bool, progress: DownloadProgress | None
               ) -> list[Path]:
    written = []
    for item in PUBLISHED_FILES:
        target = dest / item.name
        if target.exists() and not force:
            try:
                item.loader(target)
                log.info("%s is already there and loads; kept", target)
                continue
            except AdaINError:
                log.warning("%s is there but does not load; downloading it again", target)
        _download(_location(base_url, item.name), target, item, progress)
        written.append(target)
    return written


def _location(base_url: str, name: str) -> str:
    """The URL of ``name`` under ``base_url``; a folder path becomes a ``file://`` URL."""
    if len(urllib.parse.urlsplit(base_url).scheme) > 1:  # one letter: a Windows drive
        return f"{base_url.rstrip('/')}/{name}"
    path = Path(base_url).expanduser() / name
    if not path.is_file():
        names = " and ".join(item.name for item in PUBLISHED_FILES)
        raise AdaINError(f"{path} not found; --base-url {base_url} should be a folder holding "
                         f"{names}, or a URL")
    return path.absolute().as_uri()


def _download(url: str, target: Path, item: PublishedFile,
              progress: DownloadProgress | None) -> None:
    def check(tmp: Path) -> None:
        try:
            item.loader(tmp)
        except AdaINError as exc:
            raise AdaINError(f"{url} did not hold the expected weights ({exc}); nothing was "
                             "written") from exc

    download(url, target, check, progress, label=item.name,
             offline_hint=f"offline? Download it by hand and put it at {target} (see "
                          "models/README.md)", local_hint="check --base-url")


def download(url: str, target: Path, check: Callable[[Path], object],
             progress: DownloadProgress | None = None, label: str = "",
             offline_hint: str = "offline?", local_hint: str = "check the path") -> None:
    """Stream ``url`` to a temporary file beside ``target``; ``check(tmp)`` raises
    AdaINError if it is not what it should be; only then is it renamed to ``target``."""
    label = label or target.name
    with atomic_path(target) as tmp:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response, tmp.open("wb") as out:
                total = int(response.headers.get("Content-Length") or 0) or None
                done = 0
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(label, done, total)
        except (TimeoutError, urllib.error.URLError, ConnectionError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)  # ValueError: a URL of no known kind
            local = url.startswith("file:") or isinstance(exc, ValueError)
            raise AdaINError(f"could not download {url} ({reason}); "
                             f"{local_hint if local else offline_hint}") from exc
        if total is not None and done != total:
            raise AdaINError(f"download of {url} broke off at {done} of {total} bytes; "
                             "run the command again")
        check(tmp)
