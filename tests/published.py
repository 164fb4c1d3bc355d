"""Random weights in the exact layout of the published pytorch-AdaIN files, and a
reference computation written the way the port composes its index-keyed networks.

Both are built from ../shared/docs/adain-facts.md, independently of adain's own layer
names, so tests compare two separate readings of the facts.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

# (index, out, in, kernel) of every parameterised module.
VGG_CONVS = [(0, 3, 3, 1), (2, 64, 3, 3), (5, 64, 64, 3), (9, 128, 64, 3), (12, 128, 128, 3),
             (16, 256, 128, 3), (19, 256, 256, 3), (22, 256, 256, 3), (25, 256, 256, 3),
             (29, 512, 256, 3), (32, 512, 512, 3), (35, 512, 512, 3), (38, 512, 512, 3),
             (42, 512, 512, 3), (45, 512, 512, 3), (48, 512, 512, 3), (51, 512, 512, 3)]
VGG_POOLS = {7, 14, 27, 40}
VGG_MODULES = 53
DECODER_CONVS = [(1, 256, 512), (5, 256, 256), (8, 256, 256), (11, 256, 256), (14, 128, 256),
                 (18, 128, 128), (21, 64, 128), (25, 64, 64), (28, 3, 64)]
DECODER_UPSAMPLES = {3, 16, 23}
DECODER_MODULES = 29


def build_vgg() -> nn.Sequential:
    convs = {i: (o, c, k) for i, o, c, k in VGG_CONVS}
    layers = []
    for i in range(VGG_MODULES):
        if i in convs:
            o, c, k = convs[i]
            layers.append(nn.Conv2d(c, o, k))
        elif i in VGG_POOLS:
            layers.append(nn.MaxPool2d(2, 2, 0, ceil_mode=True))
        elif i + 1 in convs:
            layers.append(nn.ReflectionPad2d(1))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def build_decoder() -> nn.Sequential:
    convs = {i: (o, c) for i, o, c in DECODER_CONVS}
    layers = []
    for i in range(DECODER_MODULES):
        if i in convs:
            layers.append(nn.Conv2d(convs[i][1], convs[i][0], 3))
        elif i in DECODER_UPSAMPLES:
            layers.append(nn.Upsample(scale_factor=2, mode="nearest"))
        elif i + 1 in convs:
            layers.append(nn.ReflectionPad2d(1))
        else:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def random_vgg(seed: int = 0) -> nn.Sequential:
    """Random weights; the 1x1 preprocess conv is the real RGB[0,1] -> Caffe BGR mapping."""
    torch.manual_seed(seed)
    vgg = build_vgg()
    with torch.no_grad():
        weight = torch.zeros(3, 3, 1, 1)
        for out_ch, in_ch in ((0, 2), (1, 1), (2, 0)):
            weight[out_ch, in_ch] = 255.0
        vgg[0].weight.copy_(weight)
        vgg[0].bias.copy_(torch.tensor([-103.939, -116.779, -123.68]))
        for i, *_ in VGG_CONVS[1:]:  # features of order 1 for 0..255 input
            vgg[i].weight.mul_(1.7 * (0.6 if i == 2 else 1.0))
    return vgg


def random_decoder(seed: int = 1) -> nn.Sequential:
    """Random weights scaled so that outputs spread over [0, 1] (mean about 0.45)."""
    torch.manual_seed(seed)
    decoder = build_decoder()
    with torch.no_grad():
        for i, *_ in DECODER_CONVS:
            decoder[i].weight.mul_(1.7)
        decoder[28].bias.add_(0.5)
    return decoder


def save_published(module: nn.Module, path: Path) -> Path:
    """Save like 2018's torch did: a plain index-keyed state_dict, legacy (non-zip) format."""
    state = OrderedDict((k, v.detach().clone()) for k, v in module.state_dict().items())
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path


# -- the reference computation, composed the way the port composes it --------------------

def calc_mean_std(feat, eps=1e-5):
    n, c = feat.shape[:2]
    var = feat.reshape(n, c, -1).var(dim=2) + eps
    return feat.reshape(n, c, -1).mean(dim=2).reshape(n, c, 1, 1), var.sqrt().reshape(n, c, 1, 1)


def reference_adain(content_feat, style_feat):
    s_mean, s_std = calc_mean_std(style_feat)
    c_mean, c_std = calc_mean_std(content_feat)
    return (content_feat - c_mean) / c_std * s_std + s_mean


def reference_transfer(vgg, decoder, content, style, alpha=1.0, weights=None):
    """content (1,3,H,W), style (K,3,H,W) of one size; weights blend K styles."""
    encoder = vgg[:31]
    content_f = encoder(content.expand(style.shape[0], -1, -1, -1))
    style_f = encoder(style)
    feat = reference_adain(content_f, style_f)
    if weights is not None:
        feat = sum(w * feat[i:i + 1] for i, w in enumerate(weights))
    content_f = content_f[:1]
    return decoder(alpha * feat + (1 - alpha) * content_f)


def reference_coral(source, target):
    """The published recolouring: standardise, match X X^T + I with SVD square roots."""
    def flat_stats(x):
        f = x.reshape(3, -1)
        return f, f.mean(-1, keepdim=True), f.std(-1, keepdim=True)

    def mat_sqrt(m):
        u, d, v = torch.svd(m)
        return u @ d.pow(0.5).diag() @ v.T

    sf, sm, ss = flat_stats(source)
    tf, tm, ts = flat_stats(target)
    sn, tn = (sf - sm) / ss, (tf - tm) / ts
    s_cov, t_cov = sn @ sn.T + torch.eye(3), tn @ tn.T + torch.eye(3)
    out = mat_sqrt(t_cov) @ torch.inverse(mat_sqrt(s_cov)) @ sn
    return (out * ts + tm).reshape(source.shape)
