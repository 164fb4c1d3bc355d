"""Training data: content and style images from folders, in a resumable order.

Every sample has a *position* p = 0, 1, 2, ... in one endless stream. The image at p is
``perm(epoch)[p % N]`` of a seeded permutation per epoch, and its random crop comes from
a generator seeded by (seed, p). So the data order and augmentation depend only on the
seed and the step, never on the worker count or on a restart: resuming at step s simply
starts at position s * global batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from ..errors import AdaINError
from ..picture import find_images, open_image, pil_to_array

MAX_TRIES = 16  # unreadable files in a row before the loader gives up


def list_images(folder: Path, what: str) -> list[Path]:
    """All image files under ``folder``; an error before any work if there are none."""
    if not folder.is_dir():
        raise AdaINError(f"{what} folder {folder} does not exist")
    files = find_images(folder)
    if not files:
        raise AdaINError(f"{what} folder {folder} holds no image files "
                         "(jpg, png, webp, bmp, tif, gif)")
    return files


def load_train_image(path: Path, image_size: int, crop_size: int,
                     rng: np.random.Generator) -> torch.Tensor:
    """Decode, resize the shorter side (aspect kept), random-crop: uint8 (3, crop, crop).

    An image whose shorter side would be under ``crop_size`` is upscaled to it.
    """
    target = max(image_size, crop_size) if image_size else crop_size
    # JPEG: decode at a reduced scale, still at least image_size
    img = open_image(path, draft=(target, target) if image_size else None)
    if img.mode not in ("RGB", "L"):
        img = Image.fromarray((pil_to_array(img) * 255 + 0.5).astype(np.uint8))
    img = img.convert("RGB")
    w, h = img.size
    short = min(w, h)
    if image_size or short < crop_size:
        scale = target / short
        img = img.resize((max(crop_size, round(w * scale)), max(crop_size, round(h * scale))),
                         Image.BILINEAR)
    pixels = np.asarray(img)
    top = int(rng.integers(0, pixels.shape[0] - crop_size + 1))
    left = int(rng.integers(0, pixels.shape[1] - crop_size + 1))
    crop = pixels[top:top + crop_size, left:left + crop_size]
    return torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)


class PairDataset(Dataset):
    """Item p: (content uint8 (3, S, S), style uint8 (3, S, S), names of files skipped)."""

    def __init__(self, contents: list[Path], styles: list[Path], image_size: int,
                 crop_size: int, seed: int) -> None:
        self.sources = (contents, styles)
        self.image_size, self.crop_size, self.seed = image_size, crop_size, seed
        self._perms: dict[tuple[int, int], torch.Tensor] = {}  # (kind, epoch) -> permutation

    def __len__(self) -> int:  # positions are endless; the sampler bounds them
        return 2**62

    def __getitem__(self, position: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
        skipped: list[str] = []
        images = [self._load(kind, position, skipped) for kind in (0, 1)]
        return images[0], images[1], skipped

    def _load(self, kind: int, position: int, skipped: list[str]) -> torch.Tensor:
        files = self.sources[kind]
        rng = np.random.default_rng((self.seed, kind, position))
        for attempt in range(MAX_TRIES):
            path = files[self._index(kind, position + attempt)]
            try:
                return load_train_image(path, self.image_size, self.crop_size, rng)
            except AdaINError as exc:
                skipped.append(str(exc))
        what = ("content", "style")[kind]
        raise AdaINError(f"{MAX_TRIES} unreadable {what} images in a row near position "
                         f"{position} (the last: {skipped[-1]}); is the {what} folder full of "
                         "broken files?")


    def _index(self, kind: int, position: int) -> int:
        """perm(epoch)[offset]: each epoch visits every file once, in a seeded order."""
        count = len(self.sources[kind])
        epoch, offset = divmod(position, count)
        if (kind, epoch) not in self._perms:
            if len(self._perms) > 8:
                self._perms.clear()
            generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch * 2 + kind)
            self._perms[kind, epoch] = torch.randperm(count, generator=generator)
        return int(self._perms[kind, epoch][offset])


class PositionSampler(Sampler[int]):
    """Positions for one rank: step s, rank r take s*B*W + r*B ... + B - 1."""

    def __init__(self, start_step: int, end_step: int, batch_size: int, rank: int = 0,
                 world_size: int = 1) -> None:
        self.start, self.end = start_step, end_step
        self.batch, self.rank, self.world = batch_size, rank, world_size

    def __iter__(self) -> Iterator[int]:
        for step in range(self.start, self.end):
            first = (step * self.world + self.rank) * self.batch
            yield from range(first, first + self.batch)

    def __len__(self) -> int:
        return max(self.end - self.start, 0) * self.batch


def collate(items: list) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    contents, styles, skipped = zip(*items, strict=True)
    return torch.stack(contents), torch.stack(styles), [s for group in skipped for s in group]
