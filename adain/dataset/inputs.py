"""Content images for a dataset run: decoded in worker processes, grouped into batches.

Each worker decodes, resizes and crops one image exactly as ``adain stylize`` prepares it
(``images.prepare``), so a result equals that command's. Batches hold images of one size
only: padding would change both the convolutions at the border and the AdaIN statistics,
so images are bucketed by their (height, width) instead. A bucket is stylised when it is
full, or, when too many images wait in part-filled buckets, the fullest one goes early.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..errors import AdaINError
from ..images import center_crop, prepare

Item = tuple[int, Tensor | None, str]  # (content index, (3, H, W) or None, why unreadable)


class ContentImages(Dataset):
    """Item k: the k-th of ``indices`` (content index, its prepared image, or why not)."""

    def __init__(self, files: Sequence[Path], indices: Sequence[int], size: int,
                 crop: int) -> None:
        self.files, self.indices, self.size, self.crop = files, indices, size, crop

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int) -> Item:
        index = self.indices[k]
        try:
            image = prepare(self.files[index], self.size, False, torch.device("cpu"))
            if self.crop:
                image = center_crop(image, self.crop)
        except AdaINError as exc:
            return index, None, str(exc)
        return index, image[0], ""


def _item(item: Item) -> Item:
    return item


def load_contents(dataset: ContentImages, workers: int, pin: bool) -> Iterable[Item]:
    """The images in order, ``workers`` processes decoding ahead (0: in this process)."""
    return DataLoader(dataset, batch_size=None, num_workers=workers, collate_fn=_item,
                      pin_memory=pin, prefetch_factor=4 if workers else None)


def bucketed(items: Iterable[Item], batch_size: int, on_unreadable: Callable[[int, str], None],
             hold: int = 4) -> Iterator[tuple[list[int], Tensor]]:
    """(content indices, images (B, 3, H, W)) of one size each; at most ``hold`` batches'
    worth of images wait in part-filled buckets."""
    buckets: dict[tuple[int, int], list[tuple[int, Tensor]]] = {}
    waiting = 0
    for index, image, why in items:
        if image is None:
            on_unreadable(index, why)
            continue
        shape = (image.shape[-2], image.shape[-1])
        bucket = buckets.setdefault(shape, [])
        bucket.append((index, image))
        waiting += 1
        if len(bucket) < batch_size and waiting <= hold * batch_size:
            continue
        fullest = shape if len(bucket) >= batch_size else max(buckets,
                                                               key=lambda s: len(buckets[s]))
        group = buckets.pop(fullest)
        waiting -= len(group)
        yield _stack(group)
    for group in buckets.values():
        yield _stack(group)


def _stack(group: list[tuple[int, Tensor]]) -> tuple[list[int], Tensor]:
    return [index for index, _ in group], torch.stack([image for _, image in group])
