"""The AdaIN maths as pure functions on NCHW tensors.

Statistics follow the published code exactly: per sample and channel over H*W, the
*unbiased* variance (divided by H*W - 1), and ``eps`` added to the variance before the
square root.
"""

from __future__ import annotations

import torch
from torch import Tensor

EPS = 1e-5


def calc_mean_std(feat: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of ``feat`` (B, C, H, W) per sample and channel.

    std = sqrt(unbiased_var + eps). Both results have shape (B, C, 1, 1).
    """
    b, c = feat.shape[:2]
    flat = feat.reshape(b, c, -1)  # (B, C, H*W)
    mean = flat.mean(dim=2).reshape(b, c, 1, 1)
    std = (flat.var(dim=2) + eps).sqrt().reshape(b, c, 1, 1)
    return mean, std


def adain_with_stats(content_feat: Tensor, style_mean: Tensor, style_std: Tensor,
                     eps: float = EPS) -> Tensor:
    """Renormalise ``content_feat`` to the given style statistics.

    (c - mean(c)) / std(c) * style_std + style_mean, with the content statistics from
    :func:`calc_mean_std`. ``style_mean`` and ``style_std`` broadcast as (B or 1, C, 1, 1).
    """
    content_mean, content_std = calc_mean_std(content_feat, eps)
    return renormalize(content_feat, content_mean, content_std, style_mean, style_std)


def renormalize(feat: Tensor, mean: Tensor, std: Tensor, style_mean: Tensor,
                style_std: Tensor) -> Tensor:
    """(feat - mean) / std * style_std + style_mean: AdaIN with the content statistics
    given, as tiles need (statistics of the whole picture, features of one tile).
    Statistics broadcast as (B or 1, C, 1, 1)."""
    return (feat - mean) / std * style_std + style_mean


def adain(content_feat: Tensor, style_feat: Tensor, eps: float = EPS) -> Tensor:
    """AdaIN(c, s): content features with the style features' channel mean and std."""
    style_mean, style_std = calc_mean_std(style_feat, eps)
    return adain_with_stats(content_feat, style_mean, style_std, eps)


def masked_mean_std(feat: Tensor, mask: Tensor, eps: float = EPS) -> tuple[Tensor, Tensor]:
    """Mean and std of ``feat`` (B, C, H, W) over the positions where ``mask`` (B, 1, H, W) is 1.

    Same semantics as :func:`calc_mean_std` restricted to the region: unbiased variance
    (divided by n - 1, at least 1) plus ``eps`` before the square root.
    """
    n = mask.sum(dim=(2, 3), keepdim=True)  # (B, 1, 1, 1)
    mean = (feat * mask).sum(dim=(2, 3), keepdim=True) / n.clamp_min(1)
    var = (((feat - mean) * mask) ** 2).sum(dim=(2, 3), keepdim=True) / (n - 1).clamp_min(1)
    return mean, (var + eps).sqrt()  # (B, C, 1, 1) each


def masked_adain(content_feat: Tensor, mask: Tensor, style_mean: Tensor, style_std: Tensor,
                 eps: float = EPS) -> Tensor:
    """AdaIN computed on the region ``mask`` == 1 only, zero outside it.

    The content statistics come from the region alone, as in the Torch original's
    spatial control; callers add the results of complementary masks.
    """
    content_mean, content_std = masked_mean_std(content_feat, mask, eps)
    return renormalize(content_feat, content_mean, content_std, style_mean, style_std) * mask


def blend_stats(means: Tensor, stds: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """Blend K styles' statistics (K, C, 1, 1) with ``weights`` (K,) that sum to 1.

    AdaIN is affine in the style statistics, so sum_k w_k * AdaIN(c, s_k) equals AdaIN of
    ``c`` with the weighted statistics: styles of different sizes blend exactly.
    """
    w = weights.reshape(-1, 1, 1, 1).to(means)  # (K, 1, 1, 1)
    return (w * means).sum(0, keepdim=True), (w * stds).sum(0, keepdim=True)  # (1, C, 1, 1)


def gram_matrix(feat: Tensor) -> Tensor:
    """Gram matrices F F^T / (C * H * W) of ``feat`` (B, C, H, W): (B, C, C).

    Normalised by the number of elements, so images of different sizes compare.
    """
    b, c, h, w = feat.shape
    flat = feat.reshape(b, c, h * w)  # (B, C, N)
    return flat @ flat.transpose(1, 2) / (c * h * w)  # (B, C, C)


def coral(source: Tensor, target: Tensor, eps: float = EPS) -> Tensor:
    """Recolour ``source`` (3, H, W) to the colour mean and covariance of ``target`` (3, H', W').

    Each image's pixels are standardised per channel (unbiased std); the correlation
    matrices R = X X^T / (N - 1) + eps I are matched with symmetric square roots,
    x' = sqrt(R_t) sqrt(R_s)^-1 x, and the target's std and mean are put back. This is
    the published convention, except that the published code leaves the correlation
    unnormalised by N, which scales the result when the two images differ in size.
    """
    src = source.reshape(3, -1).double()  # (3, N)
    tgt = target.reshape(3, -1).double()  # (3, M)
    src_mean, src_std = src.mean(1, keepdim=True), src.std(1, keepdim=True)  # (3, 1)
    tgt_mean, tgt_std = tgt.mean(1, keepdim=True), tgt.std(1, keepdim=True)
    # A flat channel (zero std) would divide by zero; it carries no colour to match.
    src_norm = (src - src_mean) / src_std.clamp_min(1e-8)
    tgt_norm = (tgt - tgt_mean) / tgt_std.clamp_min(1e-8)
    eye = torch.eye(3, dtype=torch.float64, device=src.device)
    src_corr = src_norm @ src_norm.T / max(src.shape[1] - 1, 1) + eps * eye  # (3, 3)
    tgt_corr = tgt_norm @ tgt_norm.T / max(tgt.shape[1] - 1, 1) + eps * eye
    transfer = _sqrtm(tgt_corr) @ torch.linalg.inv(_sqrtm(src_corr)) @ src_norm
    out = transfer * tgt_std + tgt_mean
    return out.reshape(source.shape).to(source.dtype)


def _sqrtm(spd: Tensor) -> Tensor:
    """Symmetric square root of a symmetric positive-definite matrix."""
    evals, evecs = torch.linalg.eigh(spd)
    return evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T
