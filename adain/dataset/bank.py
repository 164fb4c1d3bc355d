"""The style bank: every style image's relu4_1 mean and std, computed once and kept in a file.

A dataset run needs one style's statistics per output, and Stylized-ImageNet draws from
79,395 paintings: encoding each painting once, instead of once per content image, is most
of the speed-up over re-encoding. The bank is a safetensors file:

- ``mean``, ``std``: (S, 512) float32, the statistics ``Stylizer.style_stats`` gives;
- metadata: the style names (paths relative to the style folder), the recipe (style size,
  square crop), the encoder's fingerprint, the styles that could not be read (with why),
  and a key over all of it and each file's size and modification time.

Reruns, shards and ``StyleAugment`` load it; a bank whose key no longer matches the style
folder or the recipe is built again. Under torchrun every rank encodes its share and the
shares are gathered; separate processes (``--shard``) take a file lock so that one builds
it and the others read it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..atomic import atomic_path
from ..encoder import VGGEncoder
from ..errors import AdaINError
from ..images import prepare
from ..ops import calc_mean_std

log = logging.getLogger(__name__)

BANK_KIND = "adain-style-bank"
BANK_VERSION = "1"


@dataclass(frozen=True)
class StyleRecipe:
    """How style images are prepared before their statistics are taken."""

    size: int = 512  # shorter side; 0 keeps the original size
    square: bool = False  # centre-crop to a size x size square after resizing


@dataclass
class StyleBank:
    names: list[str]  # relative to the style folder, in bank order
    mean: Tensor  # (S, 512) float32
    std: Tensor  # (S, 512) float32
    recipe: StyleRecipe
    encoder_sha256: str
    key: str = ""
    unreadable: dict[str, str] = field(default_factory=dict)  # name -> why

    def __len__(self) -> int:
        return len(self.names)

    def save(self, path: str | Path) -> Path:
        meta = {"kind": BANK_KIND, "format_version": BANK_VERSION, "key": self.key,
                "names": json.dumps(self.names), "unreadable": json.dumps(self.unreadable),
                "style_size": str(self.recipe.size), "square": str(int(self.recipe.square)),
                "encoder_sha256": self.encoder_sha256}
        with atomic_path(path) as tmp:
            save_file({"mean": self.mean.contiguous(), "std": self.std.contiguous()}, str(tmp),
                      metadata=meta)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> StyleBank:
        path = Path(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                if meta.get("kind") != BANK_KIND:
                    raise AdaINError(f"{path} is not a style bank (adain stylize-dataset writes "
                                     "them as style_bank.safetensors)")
                if meta.get("format_version") != BANK_VERSION:
                    raise AdaINError(f"{path} is a style bank of format "
                                     f"{meta.get('format_version')}; this adain reads format "
                                     f"{BANK_VERSION}; build it again")
                mean, std = f.get_tensor("mean"), f.get_tensor("std")
        except (SafetensorError, OSError, ValueError) as exc:
            raise AdaINError(f"{path}: not a readable style bank ({exc}); delete it and run "
                             "again to rebuild it") from exc
        recipe = StyleRecipe(int(meta["style_size"]), meta["square"] == "1")
        return cls(json.loads(meta["names"]), mean, std, recipe, meta["encoder_sha256"],
                   meta["key"], json.loads(meta.get("unreadable", "{}")))

    def stats(self, indices: Tensor) -> tuple[Tensor, Tensor]:
        """(mean, std) of the styles at ``indices`` (B,): each (B, 512, 1, 1)."""
        return self.mean[indices][..., None, None], self.std[indices][..., None, None]


def bank_key(files: Sequence[Path], root: Path, recipe: StyleRecipe, encoder_sha256: str) -> str:
    """A fingerprint of what a bank was built from: names, sizes and times of the files, the
    recipe and the encoder."""
    digest = hashlib.sha256(f"{BANK_VERSION}|{recipe.size}|{recipe.square}|{encoder_sha256}"
                            .encode())
    for path in files:
        stat = path.stat()
        digest.update(f"|{path.relative_to(root).as_posix()}|{stat.st_size}|{stat.st_mtime_ns}"
                      .encode())
    return digest.hexdigest()


class _StyleImages(Dataset):
    """Item i: (i, the prepared style (1, 3, H, W) or None, why it could not be read)."""

    def __init__(self, files: Sequence[Path], recipe: StyleRecipe) -> None:
        self.files, self.recipe = files, recipe

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[int, Tensor | None, str]:
        try:
            image = prepare(self.files[i], self.recipe.size, self.recipe.square,
                            torch.device("cpu"))
        except AdaINError as exc:
            return i, None, str(exc)
        return i, image, ""


def encode_styles(files: Sequence[Path], encoder: VGGEncoder, recipe: StyleRecipe,
                  device: torch.device, workers: int = 0,
                  on_progress: Callable[[int], object] | None = None
                  ) -> tuple[dict[int, tuple[Tensor, Tensor]], dict[int, str]]:
    """Statistics of ``files`` by index, and the reasons of those that could not be read."""
    loader = DataLoader(_StyleImages(files, recipe), batch_size=None, num_workers=workers,
                        collate_fn=lambda item: item, prefetch_factor=2 if workers else None)
    stats: dict[int, tuple[Tensor, Tensor]] = {}
    failed: dict[int, str] = {}
    with torch.inference_mode():
        for i, image, why in loader:
            if image is None:
                failed[i] = why
            else:
                mean, std = calc_mean_std(encoder.encode(image.to(device)))
                stats[i] = (mean.reshape(-1).float().cpu(), std.reshape(-1).float().cpu())
            if on_progress:
                on_progress(1)
    return stats, failed


def build_bank(files: Sequence[Path], root: Path, encoder: VGGEncoder, encoder_sha256: str,
               recipe: StyleRecipe, device: torch.device, workers: int = 0,
               rank: int = 0, world_size: int = 1,
               on_progress: Callable[[int], object] | None = None) -> StyleBank:
    """Encode every style (this rank's share under torchrun, gathered) into a bank."""
    share = list(range(rank, len(files), world_size))
    stats, failed = encode_styles([files[i] for i in share], encoder, recipe, device, workers,
                                  on_progress)
    found = {share[i]: value for i, value in stats.items()}
    why = {share[i]: reason for i, reason in failed.items()}
    if world_size > 1:
        import torch.distributed as dist

        parts: list = [None] * world_size
        dist.all_gather_object(parts, (found, why))
        found = {i: v for part, _ in parts for i, v in part.items()}
        why = {i: r for _, part in parts for i, r in part.items()}
    readable = sorted(found)
    if not readable:
        raise AdaINError(f"none of the {len(files)} style images in {root} could be read "
                         f"(the first: {next(iter(why.values()), 'unknown')})")
    names = [files[i].relative_to(root).as_posix() for i in readable]
    mean = torch.stack([found[i][0] for i in readable])
    std = torch.stack([found[i][1] for i in readable])
    unreadable = {files[i].relative_to(root).as_posix(): r for i, r in sorted(why.items())}
    return StyleBank(names, mean, std, recipe, encoder_sha256,
                     bank_key(files, root, recipe, encoder_sha256), unreadable)


def matching_bank(path: Path, key: str) -> StyleBank | None:
    """The bank at ``path`` if it was built from exactly this folder, recipe and encoder."""
    if not path.is_file():
        return None
    try:
        bank = StyleBank.load(path)
    except AdaINError as exc:
        log.warning("%s; building it again", exc)
        return None
    if bank.key != key:
        log.info("%s was built from other styles, sizes or weights; building it again", path)
        return None
    return bank


@contextlib.contextmanager
def bank_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock beside the bank, so concurrent shards build it once."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
