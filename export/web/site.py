"""``adain export --web``: a static folder that stylises in the browser.

A site holds the page (``page/``: index.html, its modules and styles), the graphs it runs
(``models/``: ``style_encoder`` and ``stylizer``, and ``encoder`` and ``decoder`` for exact
tiles of large photos), onnxruntime-web at its pinned version (``ort/``), the bundled
paintings (``styles/``) and ``site.json``, which tells the page what is there. Every URL
in it is relative, so any static host serves it; ``_headers`` asks hosts that read that
file (Netlify, Cloudflare Pages) for the cross-origin isolation that WASM threads need.

The site is built in a temporary folder beside the output and put in place only when
whole. An earlier site in the output folder is replaced, but the files the user added to it
(``site.json`` lists the site's own, so the rest are the user's: a ``CNAME``, a favicon)
move into the new one; any other non-empty folder is refused. Nothing of the user's is
overwritten or lost.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from google.protobuf.message import DecodeError

import adain
from adain import samples
from adain.atomic import write_text
from adain.errors import AdaINError
from adain.fetch import DownloadProgress
from adain.outputs import check_writable_path
from adain.paths import DEFAULT_WEB_DIR

from ..graph_file import WEIGHT_KEYS, read_metadata
from .runtime import NPM_REGISTRY, ORT_WEB, Runtime, install_runtime
from .serve import ISOLATION_HEADERS

log = logging.getLogger(__name__)

PAGE = Path(__file__).parent / "page"
SITE_FILE = "site.json"
STYLIZING = ("style_encoder", "stylizer")  # what a page needs
TILING = ("encoder", "decoder")  # what it tiles large photos with, where present


@dataclass(frozen=True)
class SiteConfig:
    out_dir: str = str(DEFAULT_WEB_DIR)
    onnx_dir: str | None = None  # graphs already exported; None exports them from weights
    networks: dict[str, str] = field(default_factory=dict)  # vgg and decoder, or model
    ort_dir: str | None = None  # a local copy of onnxruntime-web (folder or .tgz)
    verify: bool = True
    simplify: bool = True
    runtime: Runtime = ORT_WEB
    registry: str = NPM_REGISTRY
    cache: str | None = None


@dataclass(frozen=True)
class Site:
    path: Path
    graphs: tuple[str, ...]  # the graphs it holds, by name
    tiles: bool  # whether large photos can be tiled exactly
    kept: tuple[str, ...] = ()  # the user's files carried over from the earlier site

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def build_site(config: SiteConfig, progress: DownloadProgress | None = None) -> Site:
    """Write the site into ``config.out_dir`` (replacing an earlier site there)."""
    out = Path(config.out_dir)
    _check_output(out)
    found = None
    if config.onnx_dir is not None:  # the inputs' errors come before any download
        found = _graphs_in(Path(config.onnx_dir))
    else:
        from adain.compact import load_pair

        load_pair(**config.networks)
    staging = _staging_folder(out)
    try:
        install_runtime(staging / "ort", config.runtime,
                        local=Path(config.ort_dir) if config.ort_dir else None,
                        cache=Path(config.cache) if config.cache else None,
                        registry=config.registry, progress=progress)
        names = _place_graphs(config, found, staging / "models")
        shutil.copytree(PAGE, staging, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.py"))
        styles = _copy_styles(staging / "styles")
        write_text(staging / "_headers",
                   "/*\n" + "".join(f"  {k}: {v}\n" for k, v in ISOLATION_HEADERS.items()))
        write_text(staging / ".nojekyll", "")  # GitHub Pages: serve styles/SOURCES.md as is
        _write_manifest(staging, names, styles, config.runtime)
        kept = _carry_users_files(out, staging)
        _swap_into_place(staging, out)
    except OSError as exc:  # a full disk, a folder taken away: nothing of the old site lost
        raise AdaINError(f"writing the site beside {out} failed ({exc.strerror or exc}); free "
                         f"some room and run again ({out} was left as it was)") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Site(out, names, all(name in names for name in TILING), kept)


def is_site(folder: Path) -> bool:
    """Whether ``folder`` holds a site of ``adain export --web`` (which a new one replaces)."""
    try:
        manifest = json.loads((folder / SITE_FILE).read_text())
    except (OSError, ValueError):
        return False
    return (isinstance(manifest, dict) and str(manifest.get("producer", "")).startswith("adain")
            and (folder / "index.html").is_file())


def _check_output(out: Path) -> None:
    if out.resolve() in (Path.cwd(), *Path.cwd().parents):
        raise AdaINError(f"{out} is the current folder (or above it); give the site a folder "
                         "of its own, such as -o site")
    check_writable_path(out, folder=True)
    if out.is_dir() and any(out.iterdir()) and not is_site(out):
        raise AdaINError(f"{out} holds other files and no site of adain export --web; give a "
                         "new or empty folder with -o (nothing in it was changed)")


def _staging_folder(out: Path) -> Path:
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    try:
        return Path(tempfile.mkdtemp(prefix=f".{out.resolve().name}-", dir=parent))
    except OSError as exc:
        raise AdaINError(f"cannot write beside {out}: {exc.strerror}") from exc


def _graphs_in(folder: Path) -> dict[str, Path]:
    """The page's graphs in ``folder``: the two it needs (or one clear error) and the tile
    graphs where present and exported from the same weights."""
    if not folder.is_dir():
        raise AdaINError(f"--onnx {folder} is not a folder; export the graphs with `adain "
                         f"export -o {folder}` first")
    missing = [f"{name}.onnx" for name in STYLIZING if not (folder / f"{name}.onnx").is_file()]
    if missing:
        raise AdaINError(f"{folder} lacks {', '.join(missing)}; export the graphs with "
                         f"`adain export -o {folder}` first")
    found = {name: folder / f"{name}.onnx" for name in STYLIZING + TILING
             if (folder / f"{name}.onnx").is_file()}
    weights = {name: _weights_of(path) for name, path in found.items()}
    if weights["style_encoder"] != weights["stylizer"]:
        raise AdaINError(f"{folder}'s style_encoder.onnx and stylizer.onnx come from different "
                         "weights; export them again together")
    for name in TILING:
        if name in found and weights[name] != weights["stylizer"]:
            log.warning("%s is from other weights than stylizer.onnx; the site leaves it out "
                        "(large photos are then stylised at a size that fits)", found[name])
            del found[name]
    return found


def _weights_of(path: Path) -> tuple[str | None, ...]:
    try:
        metadata = read_metadata(path)
    except (OSError, DecodeError) as exc:
        raise AdaINError(f"{path} is not a readable ONNX graph ({exc}); export it again") \
            from exc
    if metadata.get("producer", "").split(" ")[0] != "adain":
        raise AdaINError(f"{path} was not written by adain export; export the graphs with "
                         "`adain export`")
    return tuple(metadata.get(key) for key in WEIGHT_KEYS)


def _place_graphs(config: SiteConfig, found: dict[str, Path] | None,
                  models: Path) -> tuple[str, ...]:
    """The page's graphs into ``models``: copied from those ``found`` in ``--onnx``, or
    exported (and proven) from the weights."""
    models.mkdir()
    if found is not None:
        for path in found.values():
            shutil.copyfile(path, models / path.name)
        return tuple(found)
    from ..onnx_export import ExportConfig, export_onnx

    export_onnx(ExportConfig(**config.networks, out_dir=str(models), graphs=STYLIZING + TILING,
                             verify=config.verify, simplify=config.simplify))
    return STYLIZING + TILING


def _copy_styles(folder: Path) -> list[dict[str, str]]:
    folder.mkdir()
    listed = []
    for sample in (*samples.STYLES, samples.PHOTO):
        shutil.copyfile(sample.path, folder / sample.path.name)
        listed.append({"name": sample.name, "title": sample.title, "author": sample.author,
                       "file": f"styles/{sample.path.name}"})
    shutil.copyfile(samples.folder() / "SOURCES.md", folder / "SOURCES.md")
    return listed


def _write_manifest(site: Path, names: tuple[str, ...], styles: list[dict[str, str]],
                    runtime: Runtime) -> None:
    from adain import tiling  # the page tiles with the same constants as adain stylize

    metadata = read_metadata(site / "models" / "stylizer.onnx")
    manifest = {
        "producer": f"adain {adain.__version__}",
        "model": metadata.get("model", ""),
        "channels": int(metadata.get("channels", 512)),
        "min_side": int(metadata.get("min_side", 9)),
        "graphs": {name: {"file": f"models/{name}.onnx",
                          "bytes": (site / "models" / f"{name}.onnx").stat().st_size}
                   for name in names},
        "runtime": {"package": runtime.package, "version": runtime.version, "folder": "ort/"},
        "tiling": {"stride": tiling.STRIDE, "encoder_halo": tiling.ENCODER_HALO,
                   "decoder_halo": tiling.DECODER_HALO},
        "styles": [s for s in styles if s["name"] != samples.PHOTO.name],
        "photo": next(s for s in styles if s["name"] == samples.PHOTO.name),
        # What the site itself holds: on the next export, anything else is the user's.
        "files": sorted(p.relative_to(site).as_posix() for p in site.rglob("*")
                        if p.is_file()) + [SITE_FILE],
    }
    write_text(site / SITE_FILE, json.dumps(manifest, indent=2) + "\n")


def _carry_users_files(out: Path, staging: Path) -> tuple[str, ...]:
    """Move what the user added to an earlier site in ``out`` into ``staging``; refuse if
    the new site needs one of those names."""
    if not is_site(out):
        return ()
    own = set(json.loads((out / SITE_FILE).read_text()).get("files", []))
    if not own:  # a site of a version that did not list its files: nothing told apart
        return ()
    theirs = [p for p in sorted(out.rglob("*")) if p.is_file()
              and p.relative_to(out).as_posix() not in own]
    clash = [p for p in theirs if (staging / p.relative_to(out)).exists()]
    if clash:
        raise AdaINError(f"{clash[0]} is yours, and the new site needs that name; move it "
                         "away and run again (nothing was changed)")
    for path in theirs:
        target = staging / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return tuple(p.relative_to(out).as_posix() for p in theirs)


def _swap_into_place(staging: Path, out: Path) -> None:
    """``staging`` becomes ``out``; an earlier site (or empty folder) there is removed only
    once the new one is in place."""
    old = None
    if out.exists():
        old = out.with_name(f"{staging.name}.old")
        out.rename(old)
    try:
        staging.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
