"""The AdaIN training objective (the paper's, as the published code computes it).

loss = content_weight * content_loss + style_weight * style_loss, both mean-reduced MSE,
on features of the same frozen encoder. Computed in float32 whatever the autocast.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .encoder import Features
from .ops import calc_mean_std


def content_loss(output_relu4_1: Tensor, target: Tensor) -> Tensor:
    """MSE between the stylised image's relu4_1 features and the AdaIN target t."""
    return F.mse_loss(output_relu4_1.float(), target.float())


def style_loss(output: Features, style: Features) -> Tensor:
    """Sum over relu1_1..relu4_1 of MSE(mean) + MSE(std) of the channel statistics."""
    total = output.relu1_1.new_zeros((), dtype=output.relu1_1.dtype).float()
    for out_feat, style_feat in zip(output, style, strict=True):
        out_mean, out_std = calc_mean_std(out_feat.float())
        style_mean, style_std = calc_mean_std(style_feat.float())
        total = total + F.mse_loss(out_mean, style_mean) + F.mse_loss(out_std, style_std)
    return total
