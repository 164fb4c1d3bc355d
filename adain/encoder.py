"""The frozen VGG-19 encoder, cut at relu4_1, with named layers.

Every encoder takes RGB in [0, 1]: the 1x1 ``preprocess`` conv maps that to what the
convolutions were trained on (the published ``vgg_normalised.pth`` brings its own, to
Caffe's BGR x255 mean-subtracted input; for torchvision's ImageNet weights it is built
from the ImageNet mean and std). Convolutions are reflection-padded and pools use
ceil mode, as in the published network, so height and width at relu4_1 are ceil(x / 8).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# The 3x3 convolutions up to relu4_1: (name, in_channels, out_channels), in order.
ENCODER_CONVS = (
    ("conv1_1", 3, 64), ("conv1_2", 64, 64),
    ("conv2_1", 64, 128), ("conv2_2", 128, 128),
    ("conv3_1", 128, 256), ("conv3_2", 256, 256), ("conv3_3", 256, 256), ("conv3_4", 256, 256),
    ("conv4_1", 256, 512),
)
# Smallest image side the encoder accepts: relu4_1 needs at least 2 positions per side
# for its reflection padding, and ceil(9 / 8) = 2.
MIN_SIDE = 9

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class Features(NamedTuple):
    """The encoder's feature taps (spatial sizes for an H x W input, rounded up)."""

    relu1_1: Tensor  # (B, 64, H, W)
    relu2_1: Tensor  # (B, 128, H/2, W/2)
    relu3_1: Tensor  # (B, 256, H/4, W/4)
    relu4_1: Tensor  # (B, 512, H/8, W/8)


def conv_relu(conv: nn.Conv2d, x: Tensor) -> Tensor:
    """Reflection pad by 1, 3x3 conv, ReLU: the unit both networks are made of."""
    return F.relu(conv(F.pad(x, (1, 1, 1, 1), mode="reflect")), inplace=True)


def _pool(x: Tensor) -> Tensor:
    return F.max_pool2d(x, kernel_size=2, stride=2, ceil_mode=True)


class VGGEncoder(nn.Module):
    """VGG-19 to relu4_1. ``forward`` returns :class:`Features`; ``encode`` only relu4_1."""

    def __init__(self) -> None:
        super().__init__()
        self.preprocess = nn.Conv2d(3, 3, kernel_size=1)
        for name, cin, cout in ENCODER_CONVS:
            self.add_module(name, nn.Conv2d(cin, cout, kernel_size=3))

    def forward(self, x: Tensor) -> Features:  # x: (B, 3, H, W) RGB in [0, 1]
        x = self.preprocess(x)
        relu1_1 = conv_relu(self.conv1_1, x)
        x = _pool(conv_relu(self.conv1_2, relu1_1))
        relu2_1 = conv_relu(self.conv2_1, x)
        x = _pool(conv_relu(self.conv2_2, relu2_1))
        relu3_1 = conv_relu(self.conv3_1, x)
        x = conv_relu(self.conv3_2, relu3_1)
        x = conv_relu(self.conv3_3, x)
        x = _pool(conv_relu(self.conv3_4, x))
        relu4_1 = conv_relu(self.conv4_1, x)
        return Features(relu1_1, relu2_1, relu3_1, relu4_1)

    def encode(self, x: Tensor) -> Tensor:
        """relu4_1 features (B, 512, ceil(H/8), ceil(W/8)) of RGB images in [0, 1]."""
        return self(x).relu4_1

    def set_imagenet_preprocess(self) -> None:
        """Make ``preprocess`` compute (x - mean) / std per RGB channel (torchvision's input)."""
        mean = torch.tensor(IMAGENET_MEAN)
        std = torch.tensor(IMAGENET_STD)
        with torch.no_grad():
            self.preprocess.weight.copy_(torch.diag(1.0 / std).reshape(3, 3, 1, 1))
            self.preprocess.bias.copy_(-mean / std)
