"""The modules that become the ONNX graphs (their names are the graphs' I/O names).

Three graphs stylise: ``style_encoder`` (once per style), ``stylizer`` (per frame) and
``adain`` (both at once). Two more, ``encoder`` and ``decoder``, split the stylizer where
exact tiles need it (``adain.tiling``'s scheme): the content's relu4_1 features tile by
tile, then AdaIN to statistics of the whole picture and the decoder, tile by tile.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from adain.decoder import Decoder
from adain.encoder import MIN_SIDE, VGGEncoder
from adain.ops import adain_with_stats, calc_mean_std, renormalize

# Inputs and outputs stay float32 in every variant; ``dtype`` is what the convolutions
# run in (float16 for the --half graphs). Statistics and AdaIN are always float32: a
# variance in float16 overflows on the published encoder's large relu4_1 activations.


class StyleEncoderGraph(nn.Module):
    """style (N, 3, H, W) -> style_mean, style_std (N, C, 1, 1): once per style (C = 512 for
    the VGG pair, 128 for the compact model)."""

    def __init__(self, encoder: VGGEncoder, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.encoder, self.dtype = encoder, dtype

    def forward(self, style: Tensor) -> tuple[Tensor, Tensor]:
        return calc_mean_std(self.encoder.encode(style.to(self.dtype)).float())


class StylizerGraph(nn.Module):
    """content, style statistics, alpha () -> stylized (N, 3, H, W) in [0, 1]."""

    def __init__(self, encoder: VGGEncoder, decoder: Decoder,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.encoder, self.decoder, self.dtype = encoder, decoder, dtype

    def forward(self, content: Tensor, style_mean: Tensor, style_std: Tensor,
                alpha: Tensor) -> Tensor:
        alpha = alpha.clamp(0.0, 1.0)
        feat = self.encoder.encode(content.to(self.dtype)).float()  # (N, C, ceil(H/8), ceil(W/8))
        target = alpha * adain_with_stats(feat, style_mean, style_std) + (1 - alpha) * feat
        out = self.decoder(target.to(self.dtype)).float()  # (N, 3, 8*ceil(H/8), ...)
        return out[:, :, : content.shape[2], : content.shape[3]].clamp(0.0, 1.0)


class AdaINGraph(nn.Module):
    """content, style, alpha -> stylized: single-shot use, the style encoded every call."""

    def __init__(self, encoder: VGGEncoder, decoder: Decoder,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.style_encoder = StyleEncoderGraph(encoder, dtype)
        self.stylizer = StylizerGraph(encoder, decoder, dtype)

    def forward(self, content: Tensor, style: Tensor, alpha: Tensor) -> Tensor:
        style_mean, style_std = self.style_encoder(style)
        return self.stylizer(content, style_mean, style_std, alpha)


class EncoderGraph(nn.Module):
    """content (N, 3, H, W) -> features (N, C, ceil(H/8), ceil(W/8)): relu4_1."""

    def __init__(self, encoder: VGGEncoder) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, content: Tensor) -> Tensor:
        return self.encoder.encode(content)


class DecoderGraph(nn.Module):
    """features (N, C, h, w), the content's and the style's statistics (N or 1, C, 1, 1),
    alpha () -> stylized (N, 3, 8h, 8w) in [0, 1]: the stylizer's second half, with the
    content statistics given (those of the whole picture when ``features`` is one tile's)."""

    def __init__(self, decoder: Decoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, features: Tensor, content_mean: Tensor, content_std: Tensor,
                style_mean: Tensor, style_std: Tensor, alpha: Tensor) -> Tensor:
        alpha = alpha.clamp(0.0, 1.0)
        styled = renormalize(features, content_mean, content_std, style_mean, style_std)
        return self.decoder(alpha * styled + (1 - alpha) * features).clamp(0.0, 1.0)


def example_inputs(name: str, height: int, width: int, batch: int = 1,
                   seed: int = 0, channels: int = 512) -> dict[str, Tensor]:
    """Fixed-seed inputs for graph ``name``, keyed by input name (``channels``: the
    encoder's, for the style statistics)."""
    generator = torch.Generator().manual_seed(seed)

    def rand(*shape: int) -> Tensor:
        return torch.rand(*shape, generator=generator)

    image = rand(batch, 3, height, width)
    if name == "style_encoder":
        return {"style": image}
    if name == "encoder":
        return {"content": image}
    stats = {"style_mean": rand(batch, channels, 1, 1),
             "style_std": rand(batch, channels, 1, 1) + 0.5}
    alpha = torch.tensor(0.8)
    if name == "decoder":  # features of an H x W picture, as ReLU makes them (>= 0)
        features = rand(batch, channels, -(-height // 8), -(-width // 8))
        return {"features": features, "content_mean": rand(batch, channels, 1, 1),
                "content_std": rand(batch, channels, 1, 1) + 0.5, **stats, "alpha": alpha}
    if name == "stylizer":
        return {"content": image, **stats, "alpha": alpha}
    return {"content": image, "style": rand(batch, 3, width, height), "alpha": alpha}


INPUTS = {"style_encoder": ("style",), "stylizer": ("content", "style_mean", "style_std", "alpha"),
          "adain": ("content", "style", "alpha"), "encoder": ("content",),
          "decoder": ("features", "content_mean", "content_std", "style_mean", "style_std",
                      "alpha")}
OUTPUTS = {"style_encoder": ("style_mean", "style_std"), "stylizer": ("stylized",),
           "adain": ("stylized",), "encoder": ("features",), "decoder": ("stylized",)}
IO_DOCS = {
    "style": f"float32 (N, 3, H, W) RGB in [0, 1], H and W at least {MIN_SIDE}: the style image",
    "content": f"float32 (N, 3, H, W) RGB in [0, 1], H and W at least {MIN_SIDE}: the content "
               "image",
    "style_mean": "float32 (N or 1, C, 1, 1): relu4_1 channel means of the style "
                  "(style_encoder's output; C is 512 for the VGG pair, the model's "
                  "'channels' metadata says)",
    "style_std": "float32 (N or 1, C, 1, 1): relu4_1 channel standard deviations, "
                 "sqrt(unbiased variance + 1e-5)",
    "alpha": "float32 scalar in [0, 1]: 1 full style, 0 the content reconstructed",
    "stylized": "float32 (N, 3, H, W) RGB in [0, 1], the content's height and width (the "
                "decoder graph's: 8 times the features')",
    "features": "float32 (N, C, ceil(H/8), ceil(W/8)): relu4_1 features of the content",
    "content_mean": "float32 (N or 1, C, 1, 1): relu4_1 channel means of the whole content "
                    "picture (over every tile)",
    "content_std": "float32 (N or 1, C, 1, 1): relu4_1 channel standard deviations of the "
                   "whole content picture, sqrt(unbiased variance + 1e-5)",
}


def channels_of(module: nn.Module) -> int:
    """The statistics' channel count of a graph module built by :func:`build`."""
    if isinstance(module, DecoderGraph):
        return module.decoder.channels
    encoder = module.style_encoder.encoder if isinstance(module, AdaINGraph) else module.encoder
    return encoder.channels


def build(name: str, encoder: VGGEncoder, decoder: Decoder,
          dtype: torch.dtype = torch.float32) -> nn.Module:
    """The module that becomes graph ``name``, in eval mode."""
    if name == "style_encoder":
        return StyleEncoderGraph(encoder, dtype).eval()
    if name == "encoder":
        return EncoderGraph(encoder).eval()
    if name == "decoder":
        return DecoderGraph(decoder).eval()
    return {"stylizer": StylizerGraph, "adain": AdaINGraph}[name](encoder, decoder, dtype).eval()
