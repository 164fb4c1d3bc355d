"""Exact tiled stylisation: any picture size in bounded working memory.

AdaIN needs only two global numbers per relu4_1 channel from the whole content: its mean
and standard deviation. So the picture is encoded tile by tile, each tile read with a
halo that covers the encoder's receptive field (37 pixels to relu4_1; ``ENCODER_HALO``),
at offsets that are multiples of 8 so that every tile's pooling grid is the whole
picture's. Each tile's interior features are kept and its sums (in float64) accumulated;
the statistics follow, then the features are normalised and decoded tile by tile with a
halo that covers the decoder's receptive field (about 4 feature positions;
``DECODER_HALO``). Away from the picture's edges a halo holds real neighbours; at the
edges a tile's padding is the picture's own, so the result equals the whole-picture
result up to float rounding.

Working memory is one tile's network activations (``device.BYTES_PER_PIXEL`` per pixel
of the tile with its halo) plus what is kept for the whole picture: the content, the
relu4_1 features (32 bytes per pixel) and the output (8-bit when a picture is made).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from .decoder import Decoder
from .device import BASE_BYTES, BYTES_PER_PIXEL, free_memory, memory_needed
from .encoder import VGGEncoder

STRIDE = 8  # relu4_1 is 1/8 of the picture: tile offsets are multiples of this
ENCODER_HALO = 40  # pixels: the encoder's receptive-field radius to relu4_1 is 37
DECODER_HALO = 6  # feature positions (48 pixels): the decoder's radius is under 4
# Bytes per picture pixel kept for the whole picture while tiling: the content and the
# output as float32 (12 + 12) and the relu4_1 features (512 x 4 / 64 = 32). A compact
# model's features take a quarter of that; it is counted the same, which only tiles sooner.
KEPT_BYTES_PER_PIXEL = 56
# Tiles are at most this large: on the CPU a 768 px tile's work (about 0.8 GB with its halo)
# costs about 1.2x the whole picture's time in halos; GPUs take larger tiles.
MIN_TILE, MAX_TILE, MAX_GPU_TILE = 64, 768, 2048


@dataclass(frozen=True)
class Tile:
    """A tile's interior [top, bottom) x [left, right) in picture pixels."""

    top: int
    bottom: int
    left: int
    right: int


def tiles(height: int, width: int, size: int) -> list[Tile]:
    """The interiors of ``size`` x ``size`` tiles covering the picture (the last row and
    column smaller); ``size`` is rounded down to a multiple of 8."""
    size = max(STRIDE, size // STRIDE * STRIDE)
    return [Tile(top, min(top + size, height), left, min(left + size, width))
            for top in range(0, height, size) for left in range(0, width, size)]


def auto_tile_size(device: torch.device, reserve: int = 0) -> int:
    """The largest tile (a multiple of 8, at most ``MAX_TILE``, or ``MAX_GPU_TILE`` on a GPU)
    whose work, halo included, fits in half the free memory of ``device`` once ``reserve``
    bytes are set aside."""
    budget = (free_memory(device) - reserve) / 2 - BASE_BYTES
    side = int(math.sqrt(max(budget, 0) / BYTES_PER_PIXEL)) - 2 * ENCODER_HALO
    largest = MAX_GPU_TILE if device.type == "cuda" else MAX_TILE
    return max(MIN_TILE, min(largest, side // STRIDE * STRIDE))


def needs_tiles(height: int, width: int, device: torch.device) -> bool:
    """Whether stylising the picture whole would not fit in the free memory of ``device``."""
    return memory_needed(height, width) > free_memory(device)


class ChannelSums:
    """Per-channel count, sum and sum of squares in float64, over one or more regions."""

    def __init__(self, channels: int, regions: int = 1) -> None:
        self.n = torch.zeros(regions, 1, dtype=torch.float64)
        self.sum = torch.zeros(regions, channels, dtype=torch.float64)
        self.squares = torch.zeros(regions, channels, dtype=torch.float64)

    def add(self, feat: Tensor, weights: Tensor | None = None) -> None:
        """Add ``feat`` (1, C, h, w); ``weights`` (R, 1, h, w) of 0 and 1 say which positions
        belong to each region (None: one region, every position)."""
        x = feat[0].double().flatten(1)  # (C, h*w)
        w = torch.ones(1, x.shape[1], dtype=torch.float64) if weights is None \
            else weights.double().flatten(1)  # (R, h*w)
        self.n += w.sum(1, keepdim=True)
        self.sum += w @ x.T
        self.squares += w @ (x * x).T

    def mean_std(self, eps: float) -> tuple[Tensor, Tensor]:
        """(mean, std) each (R, C, 1, 1) float32, as ``ops.calc_mean_std``: the unbiased
        variance plus ``eps`` under the square root (n - 1 at least 1, as in
        ``ops.masked_mean_std``)."""
        n = self.n.clamp_min(1)
        mean = self.sum / n
        var = (self.squares - n * mean * mean).clamp_min(0) / (self.n - 1).clamp_min(1)
        return (mean.float()[..., None, None], (var + eps).sqrt().float()[..., None, None])


def _window(tile: Tile, halo: int, height: int, width: int) -> tuple[int, int, int, int]:
    """The tile with ``halo`` around it, cut at the picture's edges."""
    return (max(tile.top - halo, 0), min(tile.bottom + halo, height),
            max(tile.left - halo, 0), min(tile.right + halo, width))


def encode_tiled(encoder: VGGEncoder, image: Tensor, size: int, device: torch.device,
                 on_tile: Callable[[], object] | None = None) -> Iterator[tuple[Tile, Tensor]]:
    """relu4_1 features of each tile's interior, (1, C, ceil(h/8), ceil(w/8)) on the CPU,
    of ``image`` (1, 3, H, W) on the CPU."""
    height, width = image.shape[-2:]
    for tile in tiles(height, width, size):
        top, bottom, left, right = _window(tile, ENCODER_HALO, height, width)
        with torch.inference_mode():
            feat = encoder.encode(image[..., top:bottom, left:right].to(device))
        rows = slice((tile.top - top) // STRIDE, -(-(tile.bottom - top) // STRIDE))
        cols = slice((tile.left - left) // STRIDE, -(-(tile.right - left) // STRIDE))
        if on_tile:
            on_tile()
        yield tile, feat[..., rows, cols].float().cpu()


def decode_tiled(decoder: Decoder, target: Callable[[slice, slice], Tensor], height: int,
                 width: int, size: int, device: torch.device,
                 store: Callable[[Tile, Tensor], object],
                 on_tile: Callable[[], object] | None = None) -> None:
    """Decode tile by tile: ``target(rows, cols)`` gives the decoder's input (1, C, r, c)
    at those feature positions; ``store(tile, pixels)`` takes each tile's interior, the raw
    decoder output (1, 3, h, w) on the CPU."""
    fh, fw = -(-height // STRIDE), -(-width // STRIDE)
    for tile in tiles(height, width, size):
        r0, c0 = tile.top // STRIDE, tile.left // STRIDE
        r1, c1 = -(-tile.bottom // STRIDE), -(-tile.right // STRIDE)
        top, bottom, left, right = _window(Tile(r0, r1, c0, c1), DECODER_HALO, fh, fw)
        with torch.inference_mode():
            pixels = decoder(target(slice(top, bottom), slice(left, right)).to(device))
        y, x = (tile.top - top * STRIDE), (tile.left - left * STRIDE)
        store(tile, pixels[..., y:y + tile.bottom - tile.top,
                           x:x + tile.right - tile.left].float().cpu())
        if on_tile:
            on_tile()
