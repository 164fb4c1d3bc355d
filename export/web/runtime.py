"""onnxruntime-web at a pinned version: downloaded once, checked, copied where a page needs it.

The npm registry's tarball is checked against the integrity hash the registry publishes
(SHA-512), then each file a page loads against its own SHA-256, so a local copy (a folder
or a tarball given by the user) is held to the same files. A download goes to a cache
folder through a temporary file, so a broken download never looks like a good one.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from adain.atomic import atomic_path
from adain.errors import AdaINError
from adain.fetch import DownloadProgress, download

log = logging.getLogger(__name__)

NPM_REGISTRY = "https://registry.npmjs.org"


@dataclass(frozen=True)
class Runtime:
    """One release of an npm package: its tarball's integrity and the files a page loads."""

    package: str
    version: str
    integrity: str  # the registry's "sha512-<base64>"
    files: dict[str, str] = field(default_factory=dict)  # name under dist/ -> SHA-256

    @property
    def tarball(self) -> str:
        return f"{self.package}-{self.version}.tgz"

    def url(self, registry: str = NPM_REGISTRY) -> str:
        return f"{registry.rstrip('/')}/{self.package}/-/{self.tarball}"

    @property
    def how_to_get(self) -> str:
        return f"npm pack {self.package}@{self.version}"


# The WASM-only bundle (smaller, for pages without WebGPU) and the WebGPU bundle (WebGPU
# and WASM), each with its WebAssembly build. The builds are threaded; they run on one
# thread where the page is not cross-origin isolated.
ORT_WEB = Runtime(
    package="onnxruntime-web",
    version="1.31.1",
    integrity="sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPd"
              "SQeS7NmuZPXrQ73k82URw==",
    files={
        "ort.wasm.min.mjs": "c21d9c326d453a4a61398270c804d5979e118540597cb0c07f7b3d64e6098234",
        "ort-wasm-simd-threaded.mjs":
            "30ed0b5cd1182ede931fea448afb567d4dc705ec957af09f108a2be5f770dac3",
        "ort-wasm-simd-threaded.wasm":
            "4b884c203b0fa48d057be3332c65513ff85aa3c5bddd6946acc0fab7ecda001d",
        "ort.webgpu.min.mjs": "329cd956772397a1aedd668e911195d39afefb182f6fc14aafa4f08ac8d8f379",
        "ort-wasm-simd-threaded.asyncify.mjs":
            "59cf781530e1a16df2a291d78798e3ec1152467edaec402d6f9599d85047c302",
        "ort-wasm-simd-threaded.asyncify.wasm":
            "ca319e9539cd0f1e291cf56074760121eaf39650f5dbf84b6e52c07f4b2944ec",
    },
)


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/adain`` (``~/.cache/adain``)."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "adain"


def integrity_of(data: bytes) -> str:
    """The npm registry's integrity string of ``data``."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def install_runtime(dest: Path, runtime: Runtime = ORT_WEB, local: Path | None = None,
                    cache: Path | None = None, registry: str = NPM_REGISTRY,
                    progress: DownloadProgress | None = None) -> list[Path]:
    """Copy the runtime's files into ``dest``: from ``local`` (an unpacked package, its
    ``dist`` folder, or its tarball) where given, else from the cached or downloaded
    tarball. Every file is checked against its pinned SHA-256 before it is written."""
    if local is not None:
        files = _from_local(Path(local), runtime)
    else:
        files = _files_in_tarball(_cached_tarball(runtime, cache or default_cache(), registry,
                                                  progress), runtime, runtime.url(registry))
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for name, data in files.items():
        with atomic_path(dest / name) as tmp:
            tmp.write_bytes(data)
        written.append(dest / name)
    return written


def _cached_tarball(runtime: Runtime, cache: Path, registry: str,
                    progress: DownloadProgress | None) -> bytes:
    """The tarball's bytes, checked by its integrity; downloaded into ``cache`` if it is not
    there (or is there but fails the check)."""
    path = cache / runtime.tarball
    if path.is_file():
        data = path.read_bytes()
        if integrity_of(data) == runtime.integrity:
            return data
        log.warning("%s fails its integrity check; downloading it again", path)
    url = runtime.url(registry)
    hint = (f"offline? Where there is a network, run `{runtime.how_to_get}` and give the "
            ".tgz (or its unpacked folder) as --ort-dir")
    cache.mkdir(parents=True, exist_ok=True)
    download(url, path, lambda tmp: _check_integrity(tmp.read_bytes(), runtime, url),
             progress, label=runtime.tarball, offline_hint=hint)
    return path.read_bytes()


def _check_integrity(data: bytes, runtime: Runtime, source: str) -> None:
    if integrity_of(data) != runtime.integrity:
        raise AdaINError(f"{source} is not {runtime.package} {runtime.version}'s published "
                         f"tarball (its integrity hash differs); get it with "
                         f"`{runtime.how_to_get}`")


def _files_in_tarball(data: bytes, runtime: Runtime, source: str) -> dict[str, bytes]:
    """The runtime's files from a package tarball (``package/dist/<name>``), checked."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = set(tar.getnames())
            found = {name: tar.extractfile(f"package/dist/{name}").read()
                     for name in runtime.files if f"package/dist/{name}" in names}
            version = _tar_version(tar)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AdaINError(f"{source} is not a readable npm package tarball ({exc}); get it "
                         f"with `{runtime.how_to_get}`") from exc
    return _checked(found, runtime, source, version)


def _tar_version(tar: tarfile.TarFile) -> str | None:
    try:
        member = tar.extractfile("package/package.json")
        return json.loads(member.read()).get("version") if member else None
    except (KeyError, ValueError):
        return None


def _from_local(local: Path, runtime: Runtime) -> dict[str, bytes]:
    """The runtime's files from a folder (the package, its ``dist``, or ``node_modules``
    above it) or a tarball."""
    if local.is_file():
        data = local.read_bytes()
        _check_integrity(data, runtime, str(local))
        return _files_in_tarball(data, runtime, str(local))
    if not local.is_dir():
        raise AdaINError(f"--ort-dir {local} does not exist; give the folder `npm install "
                         f"{runtime.package}@{runtime.version}` made (node_modules/"
                         f"{runtime.package}) or the .tgz of `{runtime.how_to_get}`")
    for folder in (local, local / "dist", local / "node_modules" / runtime.package / "dist"):
        if all((folder / name).is_file() for name in runtime.files):
            found = {name: (folder / name).read_bytes() for name in runtime.files}
            return _checked(found, runtime, str(folder), _folder_version(folder))
    raise AdaINError(f"--ort-dir {local} does not hold {runtime.package}'s dist files "
                     f"({', '.join(runtime.files)}); give the package folder or its .tgz")


def _folder_version(dist: Path) -> str | None:
    for candidate in (dist / "package.json", dist.parent / "package.json"):
        try:
            return json.loads(candidate.read_text()).get("version")
        except (OSError, ValueError):
            continue
    return None


def _checked(found: dict[str, bytes], runtime: Runtime, source: str,
             version: str | None) -> dict[str, bytes]:
    """``found`` if it holds every file with its pinned SHA-256; else one clear error."""
    missing = [name for name in runtime.files if name not in found]
    wrong = [name for name, data in found.items()
             if hashlib.sha256(data).hexdigest() != runtime.files[name]]
    if missing or wrong:
        held = f" (it holds version {version})" if version and version != runtime.version \
            else ""
        what = f"lacks {', '.join(missing)}" if missing else \
            f"has other contents in {', '.join(wrong)}"
        raise AdaINError(f"{source} {what}: it is not {runtime.package} {runtime.version}"
                         f"{held}; get that version with `{runtime.how_to_get}`")
    return found
