"""Objective quality numbers for a stylised image, measured with the same frozen VGG.

For a (content, style, stylised) triple:

- ``content_loss``: MSE between the relu4_1 features of the stylised and the content
  image (lower: more content kept);
- ``style_loss``: AdaIN's, sum over relu1_1..relu4_1 of MSE(mean) + MSE(std) of the
  channel statistics of the stylised and the style image (lower: closer to the style);
- ``gram_loss``: sum over relu1_1..relu5_1 of the MSE between Gram matrices
  F F^T / (C * H * W) (Gatys et al.'s style measure);
- ``ssim``: structural similarity of the stylised and the content image (Wang et al.
  2004: Gaussian window sigma 1.5, colour channels averaged; 1 is identical).

The content image is resized (and centre-cropped, if the aspect differs) to the stylised
image's size, which is what ``adain stylize`` and ``adain optimize`` work at.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from skimage.metrics import structural_similarity
from torch import Tensor

from .. import losses
from ..encoder import LAYERS, Features, VGGEncoder, min_side
from ..losses import GRAM_LAYERS
from ..ops import gram_matrix

FEATURE_LAYERS = tuple(dict.fromkeys(Features._fields + GRAM_LAYERS))
# The smallest side of a scored image: its deepest layer (relu5_1) needs it (17).
SCORED_MIN_SIDE = min_side(max(FEATURE_LAYERS, key=LAYERS.index))


@dataclass(frozen=True)
class Scores:
    content_loss: float
    style_loss: float
    gram_loss: float
    ssim: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


METRICS = tuple(Scores.__dataclass_fields__)


def feature_scores(stylized: Mapping[str, Tensor], content: Mapping[str, Tensor],
                   style: Mapping[str, Tensor]) -> dict[str, float]:
    """content_loss, style_loss and gram_loss from the three images' features (layer ->
    (1, C, H, W)); the content's must have the stylised image's size."""
    def adain_taps(feats: Mapping[str, Tensor]) -> Features:
        return Features(*(feats[layer] for layer in Features._fields))

    grams = {layer: gram_matrix(style[layer].float()) for layer in GRAM_LAYERS}
    return {
        "content_loss": losses.content_loss(stylized["relu4_1"], content["relu4_1"]).item(),
        "style_loss": losses.style_loss(adain_taps(stylized), adain_taps(style)).item(),
        "gram_loss": losses.gram_loss(stylized, grams).item(),
    }


def ssim(a: Tensor, b: Tensor) -> float:
    """SSIM of two (1, 3, H, W) images in [0, 1] of one size (each side at least 11)."""
    to_array = lambda t: t[0].permute(1, 2, 0).double().cpu().numpy()  # noqa: E731
    return float(structural_similarity(to_array(a), to_array(b), channel_axis=-1,
                                       data_range=1.0, gaussian_weights=True, sigma=1.5,
                                       use_sample_covariance=False))


def match_size(image: Tensor, height: int, width: int) -> Tensor:
    """``image`` (1, 3, h, w) scaled to cover height x width, then centre-cropped to it."""
    h, w = image.shape[-2:]
    if (h, w) == (height, width):
        return image
    scale = max(height / h, width / w)
    size = (max(height, round(h * scale)), max(width, round(w * scale)))
    image = F.interpolate(image, size=size, mode="bilinear", antialias=True,
                          align_corners=False).clamp(0.0, 1.0)
    top, left = (size[0] - height) // 2, (size[1] - width) // 2
    return image[..., top:top + height, left:left + width]


class Evaluator:
    """Scores triples with one encoder (to relu5_1) on one device."""

    def __init__(self, encoder: VGGEncoder, device: torch.device) -> None:
        self.encoder = encoder.to(device).eval().requires_grad_(False)
        self.device = device

    def features(self, image: Tensor) -> dict[str, Tensor]:
        with torch.inference_mode():
            return self.encoder.taps(image.to(self.device), FEATURE_LAYERS)

    def score(self, stylized: Tensor, content: Tensor, style: Tensor | Mapping[str, Tensor]
              ) -> Scores:
        """Scores of ``stylized`` (1, 3, H, W); ``style`` may be its features, computed once."""
        content = match_size(content, *stylized.shape[-2:])
        style_feats = style if isinstance(style, Mapping) else self.features(style)
        numbers = feature_scores(self.features(stylized), self.features(content), style_feats)
        return Scores(**numbers, ssim=ssim(stylized, content))
