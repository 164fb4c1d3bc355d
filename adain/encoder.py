"""The frozen VGG-19 encoder with named layers, cut at relu4_1 for AdaIN (or deeper).

Every encoder takes RGB in [0, 1]: the 1x1 ``preprocess`` conv maps that to what the
convolutions were trained on (the published ``vgg_normalised.pth`` brings its own, to
Caffe's BGR x255 mean-subtracted input; for torchvision's ImageNet weights it is built
from the ImageNet mean and std). Convolutions are reflection-padded and pools use
ceil mode, as in the published network, so height and width at relu4_1 are ceil(x / 8).

AdaIN needs the layers to relu4_1; the optimisation method and the Gram-matrix metrics
of ``adain optimize``/``adain eval`` go on to relu5_1 (``VGGEncoder(last="relu5_1")``).

``width`` scales every convolution's channels (``scaled``): the compact model that
``adain distill`` trains is this network at width 0.25 (16 ... 128 channels), with the
same layers, strides, paddings and receptive field, so every code path (tiles, export,
the realtime graphs) serves both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Every 3x3 convolution of VGG-19: (name, in_channels, out_channels), in order.
VGG19_CONVS = (
    ("conv1_1", 3, 64), ("conv1_2", 64, 64),
    ("conv2_1", 64, 128), ("conv2_2", 128, 128),
    ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
    ("conv4_1", 256, 512), ("conv4_2", 512, 512), ("conv4_3", 512, 512), ("conv4_4", 512, 512),
    ("conv5_1", 512, 512), ("conv5_2", 512, 512), ("conv5_3", 512, 512), ("conv5_4", 512, 512),
)
POOLED = frozenset({"conv1_2", "conv2_2", "conv3_4", "conv4_4"})  # a max-pool follows these
# Feature taps by name: "relu4_2" is the ReLU after conv4_2.
LAYERS = tuple(name.replace("conv", "relu") for name, _, _ in VGG19_CONVS)
ADAIN_LAST = "relu4_1"  # the deepest layer AdaIN uses
# Smallest image side the encoder accepts: relu4_1 needs at least 2 positions per side
# for its reflection padding, and ceil(9 / 8) = 2 (relu5_1 needs 17).
MIN_SIDE = 9

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Features(NamedTuple):
    """The encoder's feature taps for AdaIN (spatial sizes for an H x W input, rounded up;
    channels for VGG-19, a quarter of them for the compact width 0.25)."""

    relu1_1: Tensor  # (B, 64, H, W)
    relu2_1: Tensor  # (B, 128, H/2, W/2)
    relu3_1: Tensor  # (B, 256, H/4, W/4)
    relu4_1: Tensor  # (B, 512, H/8, W/8)


def scaled(channels: int, width: float) -> int:
    """``channels`` at ``width`` (at least 1); RGB (3 channels) is never scaled."""
    return channels if channels == 3 else max(1, round(channels * width))


def conv_relu(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """Reflection pad by 1, 3x3 conv, ReLU: the unit both networks are made of."""
    return F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")), inplace=True)


def _pool(x: Tensor) -> Tensor:
    return F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)


def min_side(layer: str) -> int:
    """Smallest image side whose ``layer`` features still have 2 positions per side."""
    before = VGG19_CONVS[:LAYERS.index(layer)]
    return 2 ** sum(1 for name, _, _ in before if name in POOLED) + 1


def check_layers(names: Iterable[str]) -> tuple[str, ...]:
    """``names`` as a tuple, or ValueError naming the first that is not a VGG-19 layer."""
    names = tuple(names)
    for name in names:
        if name not in LAYERS:
            raise ValueError(f"{name!r} is not a VGG-19 layer; use relu1_1 .. relu5_4")
    return names


class VGGEncoder(nn.Module):
    """VGG-19 to ``last`` (relu4_1 by default), its channels scaled by ``width``.
    ``forward`` returns :class:`Features`; ``encode`` only relu4_1; ``taps`` any layers
    up to ``last``."""

    def __init__(self, last: str = ADAIN_LAST, width: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < width <= 1.0:
            raise ValueError(f"width must be in (0, 1], got {width}")
        depth = LAYERS.index(check_layers([last])[0]) + 1
        self.last, self.width = last, width
        self.preprocess = nn.Conv2d(3, 3, kernel_size=1)
        for name, cin, cout in VGG19_CONVS[:depth]:
            self.add_module(name, nn.Conv2d(scaled(cin, width), scaled(cout, width), 3))
        self.conv_names = tuple(name for name, _, _ in VGG19_CONVS[:depth])

    @property
    def channels(self) -> int:
        """Channels of the deepest layer (512 at relu4_1 for VGG-19, 128 at width 0.25)."""
        return getattr(self, self.conv_names[-1]).out_channels

    def taps(self, x: Tensor, names: Iterable[str]) -> dict[str, Tensor]:
        """Features at ``names`` (layer -> (B, C, h, w)) of RGB images in [0, 1]; the
        network runs only as deep as the deepest name asks."""
        wanted = set(check_layers(names))
        if not wanted <= set(LAYERS[:len(self.conv_names)]):
            raise ValueError(f"this encoder stops at {self.last}; asked for "
                             f"{', '.join(sorted(wanted - set(LAYERS[:len(self.conv_names)])))}")
        out = {}
        x = self.preprocess(x)
        for name in self.conv_names:
            x = conv_relu(getattr(self, name), x)
            layer = name.replace("conv", "relu")
            if layer in wanted:
                out[layer] = x
                if len(out) == len(wanted):
                    break
            if name in POOLED:
                x = _pool(x)
        return out

    def forward(self, x: Tensor) -> Features:  # x: (B, 3, H, W) RGB in [0, 1]
        return Features(**self.taps(x, Features._fields))

    def encode(self, x: Tensor) -> Tensor:
        """relu4_1 features (B, C, ceil(H/8), ceil(W/8)) of RGB images in [0, 1]; C is
        ``channels``."""
        return self.taps(x, ("relu4_1",))["relu4_1"]

    def set_imagenet_preprocess(self) -> None:
        """Make ``preprocess`` compute (x - mean) / std per RGB channel (torchvision's input)."""
        mean = torch.tensor(IMAGENET_MEAN)
        std = torch.tensor(IMAGENET_STD)
        with torch.no_grad():
            self.preprocess.weight.copy_(torch.diag(1.0 / std).reshape(3, 3, 1, 1))
            self.preprocess.bias.copy_(-mean / std)
