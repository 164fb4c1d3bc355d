"""The AdaIN decoder: relu4_1 features back to an RGB image, mirroring the encoder.

Layer names mirror the encoder's: ``conv4_1`` undoes the encoder's conv4_1 and so on
down to ``conv1_1``, which outputs RGB. Every conv is reflection-padded and followed by
a ReLU except the last; upsampling is nearest x2. The output is the raw decoder output
(not clamped), with height and width 8x those of the features. ``width`` scales the
channels as the encoder's does (``adain.encoder.scaled``).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from .encoder import conv_relu, scaled

# (name, in_channels, out_channels, upsample x2 after this conv), in order.
DECODER_CONVS = (
    ("conv4_1", 512, 256, True),
    ("conv3_4", 256, 256, False), ("conv3_3", 256, 256, False), ("conv3_2", 256, 256, False),
    ("conv3_1", 256, 128, True),
    ("conv2_2", 128, 128, False), ("conv2_1", 128, 64, True),
    ("conv1_2", 64, 64, False), ("conv1_1", 64, 3, False),
)


class Decoder(nn.Module):
    def __init__(self, width: float = 1.0) -> None:
        super().__init__()
        if not 0.0 < width <= 1.0:
            raise ValueError(f"width must be in (0, 1], got {width}")
        self.width = width
        for name, cin, cout, _ in DECODER_CONVS:
            self.add_module(name, nn.Conv2d(scaled(cin, width), scaled(cout, width), 3))

    @property
    def channels(self) -> int:
        """Channels of the features it decodes (512 for the published decoder)."""
        return self.conv4_1.in_channels

    def forward(self, t: Tensor) -> Tensor:  # t: (B, C, h, w) -> (B, 3, 8h, 8w)
        x = t
        for name, _, _, upsample in DECODER_CONVS[:-1]:
            x = conv_relu(getattr(self, name), x)
            if upsample:
                x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        return self.conv1_1(F.pad(x, (1, 1, 1, 1), mode="reflect"))  # no activation
