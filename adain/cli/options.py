"""Options several commands share, declared once as ``Annotated`` aliases.

A command takes one as ``vgg: VggOption = str(DEFAULT_VGG)``: the name, the help and the
checks come from here, the default from ``adain.paths`` (torch-free, like this module).
``adain train`` gives its options no default (None: "not given"), so it reuses the help
texts (``VGG_HELP``, ``DEVICE_HELP``) with its own types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .common import Device

VGG_HELP = ("Encoder weights: vgg_normalised.pth, an adain .safetensors file, a torchvision "
            "vgg19 .pth, or 'torchvision' (downloads ImageNet VGG-19).")
DEEP_VGG_HELP = ("Encoder weights with the layers to relu5_1: the full vgg_normalised.pth, a "
                 "torchvision vgg19 .pth, or 'torchvision'.")
DECODER_HELP = "Decoder weights: decoder.pth or .safetensors."
DEVICE_HELP = "Where to compute."

VggOption = Annotated[str, typer.Option("--vgg", help=VGG_HELP)]
# adain optimize and adain eval go on to relu5_1: a file cut at relu4_1 does not do.
DeepVggOption = Annotated[str, typer.Option("--vgg", help=DEEP_VGG_HELP)]
DecoderOption = Annotated[Path, typer.Option("--decoder", help=DECODER_HELP)]
DeviceOption = Annotated[Device, typer.Option("--device", help=DEVICE_HELP)]
# The folder of adain export's graphs, where the realtime commands read them.
OnnxDirOption = Annotated[Path, typer.Option(
    "--onnx", file_okay=False, help="Folder with the graphs of adain export --onnx.")]
