"""Perceptual losses on features of the same frozen VGG encoder, in float32.

AdaIN's training objective (the paper's, as the published code computes it) is
content_weight * content_loss + style_weight * style_loss, both mean-reduced MSE. The
optimisation method of Gatys et al. uses ``gram_loss`` as its style loss.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

from .encoder import Features
from .ops import calc_mean_std, gram_matrix

# Gatys et al.'s style layers: the Gram loss of adain optimize and adain eval.
GRAM_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")


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


def gram_loss(output: Mapping[str, Tensor], style_grams: Mapping[str, Tensor]) -> Tensor:
    """Sum over the layers of ``style_grams`` of the MSE between the output's Gram matrices
    and the style's (both F F^T / (C * H * W), see ``ops.gram_matrix``)."""
    losses = [F.mse_loss(gram_matrix(output[layer].float()), gram.float())
              for layer, gram in style_grams.items()]
    return sum(losses[1:], losses[0])


def feature_loss(student: Features, teacher: Features) -> Tensor:
    """Sum over relu1_1..relu4_1 of the MSE between the student's features (embedded to
    the teacher's channels) and the teacher's, each divided by the teacher's mean square so
    that every layer weighs alike whatever the scale of its activations."""
    total = student.relu1_1.new_zeros((), dtype=torch.float32)
    for got, want in zip(student, teacher, strict=True):
        want = want.float()
        total = total + F.mse_loss(got.float(), want) / want.pow(2).mean().clamp_min(1e-12)
    return total
