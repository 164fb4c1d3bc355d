"""The Python API: load weights once, cache style statistics, stylise images.

    from adain import Stylizer, StyleOptions
    stylizer = Stylizer("models/vgg_normalised.pth", "models/decoder.pth")
    picture = stylizer.stylize("photo.jpg", ["monet.jpg"], StyleOptions(alpha=0.8))
    picture.save("photo_monet.png")
    compact = Stylizer(model="runs/compact/compact.safetensors")  # from adain distill
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from . import images, ops, tiling
from .compact import load_pair
from .decoder import Decoder
from .device import BYTES_PER_PIXEL, check_fits, resolve_device
from .encoder import MIN_SIDE, VGGEncoder
from .errors import AdaINError
from .images import ImageSource, prepare, source_name
from .paths import DEFAULT_DECODER, DEFAULT_VGG
from .tiling import MIN_TILE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StyleOptions:
    """How one content image is stylised; the same fields as ``adain stylize``'s options."""

    alpha: float = 1.0  # 1: full style, 0: the content reconstructed
    interpolation_weights: tuple[float, ...] | None = None  # blend the styles into one result
    preserve_color: bool = False  # recolour each style to the content's colours first
    mask: ImageSource | None = None  # white takes style 1, black style 2 (or the content)
    content_size: int = 512  # shorter side; 0 keeps the original size
    style_size: int = 512
    # style's shorter side as a multiple of the content's (overrides style_size): 1.0 keeps
    # the brush strokes' size relative to the picture whatever its resolution
    style_scale: float | None = None
    crop: bool = False  # centre square crop after resizing
    tile: int | None = None  # None: tiles when the whole would not fit; 0: never; N: N px

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise AdaINError(f"alpha must be in [0, 1], got {self.alpha}")
        for size in (self.content_size, self.style_size):
            if size != 0 and not MIN_SIDE <= size:
                raise AdaINError(f"sizes must be 0 (keep the original) or at least {MIN_SIDE} "
                                 f"pixels, got {size}")
        if self.style_scale is not None and not (math.isfinite(self.style_scale)
                                                 and self.style_scale > 0):
            raise AdaINError(f"style scale must be a positive number, got {self.style_scale}")
        if self.tile is not None and self.tile != 0 and self.tile < MIN_TILE:
            raise AdaINError(f"tile must be 0 (never tile) or at least {MIN_TILE} pixels, got "
                             f"{self.tile}")
        weights = self.interpolation_weights
        if weights is not None:
            if not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) <= 0:
                raise AdaINError("interpolation weights must be finite, non-negative and not "
                                 f"all zero, got {','.join(map(str, weights))}")
            if self.mask is not None:
                raise AdaINError("a mask and interpolation weights cannot be combined: the mask "
                                 "already says where each style goes")

    @property
    def combines_styles(self) -> bool:
        """Whether all styles go into one result (a blend or a masked pair)."""
        return self.interpolation_weights is not None or self.mask is not None


@dataclass(frozen=True)
class StyleStats:
    """relu4_1 channel statistics of one style image."""

    mean: Tensor  # (1, C, 1, 1): C = 512 for VGG-19, 128 for the compact model
    std: Tensor  # (1, C, 1, 1)


class Stylizer:
    """An encoder and a decoder on one device, with a cache of style statistics."""

    def __init__(self, vgg: str | Path = DEFAULT_VGG, decoder: str | Path = DEFAULT_DECODER,
                 device: str = "auto", cache_size: int = 64,
                 model: str | Path | None = None) -> None:
        """``vgg`` and ``decoder``, or the compact ``model`` of ``adain distill`` in place
        of both."""
        encoder, loaded = load_pair(vgg, decoder, model)
        if loaded.encoder_identity not in (encoder.identity, "unknown"):
            log.warning("%s was trained against the encoder %r but --vgg is %r; expect poor "
                        "results", decoder, loaded.encoder_identity, encoder.identity)
        trained_sha = loaded.metadata.get("encoder_sha256")
        if trained_sha and trained_sha != encoder.sha256:
            log.warning("%s was trained against other encoder weights than %s", decoder, vgg)
        self.device = resolve_device(device)
        self.encoder: VGGEncoder = encoder.module.to(self.device).eval().requires_grad_(False)
        self.decoder: Decoder = loaded.module.to(self.device).eval().requires_grad_(False)
        self._cache: OrderedDict[tuple, StyleStats] = OrderedDict()
        self._cache_size = cache_size
        # Called with (tiles done, tiles in all) while a picture is stylised in tiles.
        self.on_tile: Callable[[int, int], object] | None = None

    # -- inputs ---------------------------------------------------------------------------
    def prepare(self, source: ImageSource, size: int, crop: bool) -> Tensor:
        """Load, resize (shorter side) and optionally crop an image: (1, 3, H, W) on the CPU."""
        return prepare(source, size, crop, self.device)

    # -- style statistics -----------------------------------------------------------------
    def style_stats(self, style: ImageSource, size: int = 512, crop: bool = False,
                    color_target: Tensor | None = None) -> StyleStats:
        """relu4_1 mean and std of a style image, cached; ``color_target`` recolours it first."""
        key = (_source_key(style), size, crop,
               None if color_target is None else _tensor_key(color_target))
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        # only the picture has to fit whole: a style too large to encode whole is encoded in
        # tiles, its statistics summed over them (see adain.tiling)
        image = prepare(style, size, crop, torch.device("cpu"), tiling.KEPT_BYTES_PER_PIXEL)
        if color_target is not None:
            image = ops.coral(image[0], color_target[0])[None]
        h, w = image.shape[-2:]
        if tiling.needs_tiles(h, w, self.device):
            sums = tiling.ChannelSums(self.encoder.channels)
            for _, feat in tiling.encode_tiled(self.encoder, image,
                                               tiling.auto_tile_size(self.device), self.device):
                sums.add(feat)
            mean, std = (t.to(self.device) for t in sums.mean_std(ops.EPS))
        else:
            with torch.inference_mode():
                mean, std = ops.calc_mean_std(self.encoder.encode(image.to(self.device)))
        stats = StyleStats(mean, std)
        self._cache[key] = stats
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return stats

    # -- stylising ------------------------------------------------------------------------
    def stylize(self, content: ImageSource, styles: ImageSource | Sequence[ImageSource],
                options: StyleOptions = StyleOptions()) -> Image.Image:
        """Stylise one content image with one style, a blend of styles, or a masked pair."""
        if isinstance(styles, (str, Path, Image.Image, np.ndarray)):
            styles = [styles]
        if options.tile == 0:
            image = self.prepare(content, options.content_size, crop=False)
        else:  # tiles may be used: only what is kept whole has to fit, on the host
            image = prepare(content, options.content_size, False, torch.device("cpu"),
                            tiling.KEPT_BYTES_PER_PIXEL)
        mask = None if options.mask is None else self._prepare_mask(options.mask, image.shape[-2:])
        if options.crop:
            side = options.content_size or min(image.shape[-2:])
            image = images.center_crop(image, side)
            mask = None if mask is None else images.center_crop(mask, side)
        style_size = options.style_size if options.style_scale is None else max(
            MIN_SIDE, round(min(image.shape[-2:]) * options.style_scale))
        stats = [self.style_stats(s, style_size, options.crop,
                                  image if options.preserve_color else None) for s in styles]
        name = source_name(content)
        check_style_count(len(stats), options, mask is not None)
        tile = self._tile_size(*image.shape[-2:], options.tile, name)
        if tile is None:
            out = images.tensor_to_uint8(self._stylize_whole(image, stats, options, mask, name))
        else:  # into 8 bits tile by tile: no float copy of the whole output
            out = np.empty((*image.shape[-2:], 3), dtype=np.uint8)

            def store(tile: tiling.Tile, pixels: Tensor) -> None:
                out[tile.top:tile.bottom, tile.left:tile.right] = images.tensor_to_uint8(pixels)

            given = [image]  # the only reference: the content is freed once it is encoded
            del image
            self._stylize_tiled(given, stats, options, mask, tile, name, store)
        return Image.fromarray(out)

    @staticmethod
    def _prepare_mask(source: ImageSource, shape: torch.Size) -> Tensor:
        """The mask stretched to the resized content's (H, W), whatever its own size or aspect
        (as the original Torch code scales it), before any crop: (1, 1, H, W) in [0, 1]."""
        cpu = torch.device("cpu")
        mask = prepare(source, 0, False, cpu, min_side=1).mean(dim=1, keepdim=True)
        return F.interpolate(mask, size=tuple(shape), mode="bilinear", antialias=True,
                             align_corners=False).clamp_(0.0, 1.0)

    def stylize_tensor(self, content: Tensor, stats: Sequence[StyleStats],
                       options: StyleOptions = StyleOptions(), mask: Tensor | None = None,
                       name: str = "content") -> Tensor:
        """(1, 3, H, W) in [0, 1] -> raw decoder output (1, 3, H, W), not clamped."""
        check_style_count(len(stats), options, mask is not None)
        h, w = content.shape[-2:]
        tile = self._tile_size(h, w, options.tile, name)
        if tile is not None:
            out = torch.empty(1, 3, h, w)

            def store(tile: tiling.Tile, pixels: Tensor) -> None:
                out[..., tile.top:tile.bottom, tile.left:tile.right] = pixels

            self._stylize_tiled(content, stats, options, mask, tile, name, store)
            return out
        return self._stylize_whole(content, stats, options, mask, name)

    def _stylize_whole(self, content: Tensor, stats: Sequence[StyleStats],
                       options: StyleOptions, mask: Tensor | None, name: str) -> Tensor:
        """The picture in one pass (its memory already checked): raw output on the CPU."""
        h, w = content.shape[-2:]
        try:
            with torch.inference_mode():
                feat = self.encoder.encode(content.to(self.device))  # (1, C, h/8, w/8)
                target = self._target_features(feat, stats, options, mask)
                target = options.alpha * target + (1.0 - options.alpha) * feat
                out = self.decoder(target)[..., :h, :w]  # ceil-mode pooling rounds up
        except torch.OutOfMemoryError as exc:
            raise AdaINError(f"{name}: out of GPU memory at {w}x{h}; use a smaller "
                             "--content-size or --device cpu") from exc
        return out.float().cpu()

    def _tile_size(self, h: int, w: int, tile: int | None, name: str) -> int | None:
        """The tile size to stylise an h x w picture with, or None to do it whole."""
        if tile == 0 or (tile is None and not tiling.needs_tiles(h, w, self.device)):
            check_fits(h, w, self.device, name)
            return None
        kept = tiling.KEPT_BYTES_PER_PIXEL * h * w
        check_fits(h, w, torch.device("cpu"), name, tiling.KEPT_BYTES_PER_PIXEL,
                   "stylising in tiles")  # what is kept whole: content, features, output
        reserve = kept if self.device.type == "cpu" else 0
        automatic = tile is None
        if automatic:
            tile = tiling.auto_tile_size(self.device, reserve)
        # one tile's work, with its halo (cut at the picture's edges), beside what is kept
        window = tile + 2 * tiling.ENCODER_HALO
        side_h, side_w = min(window, h), min(window, w)
        check_fits(side_h, side_w, self.device, f"{name}: a tile of {tile} pixels with its halo",
                   BYTES_PER_PIXEL + -(-reserve // (side_h * side_w)))
        if automatic:
            log.warning("%s: %dx%d pixels do not fit whole in the free memory of %s; "
                        "stylising in tiles of %d pixels (the same result)", name, w, h,
                        self.device.type, tile)
        return tile

    def _stylize_tiled(self, content: Tensor | list[Tensor], stats: Sequence[StyleStats],
                       options: StyleOptions, mask: Tensor | None, size: int, name: str,
                       store: Callable[[tiling.Tile, Tensor], object]) -> None:
        """The whole-picture path in tiles (see ``adain.tiling``): ``store`` takes each
        tile's raw decoder output. ``content`` in a list is taken out of it, and freed
        once encoded (the decoding pass needs only its features)."""
        if isinstance(content, list):
            content = content.pop()
        h, w = content.shape[-2:]
        fh, fw = -(-h // tiling.STRIDE), -(-w // tiling.STRIDE)
        count = len(tiling.tiles(h, w, size))
        done = 0

        def advance() -> None:
            nonlocal done
            done += 1
            if self.on_tile:
                self.on_tile(done, 2 * count)

        regions = None
        if mask is not None:
            fg = _mask_at(mask.float(), (fh, fw))  # (1, 1, fh, fw)
            regions = torch.cat([fg, 1 - fg])  # (2, 1, fh, fw): inside, outside
        feats = torch.empty(1, self.encoder.channels, fh, fw)
        sums = tiling.ChannelSums(self.encoder.channels, 1 if regions is None else 2)
        try:
            for tile, feat in tiling.encode_tiled(self.encoder, content, size, self.device,
                                                  advance):
                rows = slice(tile.top // tiling.STRIDE, tile.top // tiling.STRIDE + feat.shape[-2])
                cols = slice(tile.left // tiling.STRIDE,
                             tile.left // tiling.STRIDE + feat.shape[-1])
                feats[..., rows, cols] = feat
                sums.add(feat, None if regions is None else regions[..., rows, cols])
            del content, feat  # a list's content is no longer held by anyone
            target = self._tiled_target(feats, sums, stats, options, regions)
            tiling.decode_tiled(self.decoder, target, h, w, size, self.device, store, advance)
        except torch.OutOfMemoryError as exc:
            raise AdaINError(f"{name}: out of GPU memory with tiles of {size} pixels; give a "
                             "smaller --tile or --device cpu") from exc

    def _tiled_target(self, feats: Tensor, sums: tiling.ChannelSums,
                      stats: Sequence[StyleStats], options: StyleOptions,
                      regions: Tensor | None) -> Callable[[slice, slice], Tensor]:
        """The decoder's input at some feature positions, from the global statistics."""
        c_mean, c_std = sums.mean_std(ops.EPS)  # (R, C, 1, 1)
        s_mean, s_std = stats[0].mean.cpu(), stats[0].std.cpu()
        if regions is None and len(stats) > 1:
            s_mean, s_std = (t.cpu() for t in _blended(stats, options))
        alpha = options.alpha

        def target(rows: slice, cols: slice) -> Tensor:
            feat = feats[..., rows, cols]
            styled = ops.renormalize(feat, c_mean[:1], c_std[:1], s_mean, s_std)
            if regions is not None:
                inside = regions[:1, :, rows, cols]
                outside = feat if len(stats) == 1 else ops.renormalize(
                    feat, c_mean[1:], c_std[1:], stats[1].mean.cpu(), stats[1].std.cpu())
                styled = styled * inside + outside * (1 - inside)
            return alpha * styled + (1.0 - alpha) * feat

        return target

    def _target_features(self, feat: Tensor, stats: Sequence[StyleStats],
                         options: StyleOptions, mask: Tensor | None) -> Tensor:
        if mask is not None:
            fg = _mask_at(mask.to(feat), feat.shape[-2:])
            out = ops.masked_adain(feat, fg, stats[0].mean, stats[0].std)
            if len(stats) == 2:
                return out + ops.masked_adain(feat, 1 - fg, stats[1].mean, stats[1].std)
            return out + feat * (1 - fg)  # one style: the black region keeps the content
        if len(stats) == 1:
            return ops.adain_with_stats(feat, stats[0].mean, stats[0].std)
        return ops.adain_with_stats(feat, *_blended(stats, options))


def _blended(stats: Sequence[StyleStats], options: StyleOptions) -> tuple[Tensor, Tensor]:
    """The styles' statistics blended with the interpolation weights (normalised)."""
    weights = torch.tensor(options.interpolation_weights, dtype=torch.float64)
    weights = (weights / weights.sum()).float()
    return ops.blend_stats(torch.cat([s.mean for s in stats]), torch.cat([s.std for s in stats]),
                           weights)


def _mask_at(mask: Tensor, shape: Sequence[int]) -> Tensor:
    """A mask (1, 1, H, W) in [0, 1] at the features' (h, w), as 0 and 1."""
    return F.interpolate(mask, size=tuple(shape), mode="bilinear", antialias=True,
                         align_corners=False).gt(0.5).to(mask)


def decode_styled(decoder: Decoder, feat: Tensor, mean: Tensor, std: Tensor,
                  alpha: float | Tensor, size: tuple[int, int]) -> Tensor:
    """AdaIN of relu4_1 ``feat`` (B, C, h, w) to ``mean`` and ``std`` (B or 1, C, 1, 1),
    mixed with the content's features by ``alpha`` (a number, or (B, 1, 1, 1)), decoded and
    cropped to ``size`` (ceil-mode pooling rounds the decoder's output up): (B, 3, H, W)."""
    target = ops.adain_with_stats(feat, mean, std)
    target = alpha * target + (1.0 - alpha) * feat
    return decoder(target)[..., :size[0], :size[1]]


def check_style_count(count: int, options: StyleOptions, masked: bool | None = None) -> None:
    """Refuse a number of styles that the options cannot use."""
    masked = options.mask is not None if masked is None else masked
    weights = options.interpolation_weights
    if masked and count not in (1, 2):
        raise AdaINError(f"a mask takes one or two styles, got {count}")
    if not masked and weights is None and count != 1:
        raise AdaINError(f"{count} styles need interpolation weights to be blended into one "
                         "result")
    if weights is not None and len(weights) != count:
        raise AdaINError(f"{len(weights)} interpolation weights for {count} styles; "
                         "give one weight per style")


def _source_key(source: ImageSource) -> tuple:
    if isinstance(source, (str, Path)):
        path = Path(source).resolve()
        try:
            stat = path.stat()
        except OSError:
            return ("path", str(path))
        return ("path", str(path), stat.st_mtime_ns, stat.st_size)
    if isinstance(source, Image.Image):
        return ("pil", hashlib.sha1(source.tobytes()).hexdigest(), source.size, source.mode)
    array = np.ascontiguousarray(source)
    return ("array", hashlib.sha1(array.tobytes()).hexdigest(), array.shape, str(array.dtype))


def _tensor_key(tensor: Tensor) -> str:
    return hashlib.sha1(tensor.contiguous().numpy().tobytes()).hexdigest()
