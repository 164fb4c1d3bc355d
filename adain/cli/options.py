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

from ..paths import DEFAULT_DECODER, DEFAULT_VGG
from .common import Device, fail

VGG_HELP = ("Encoder weights: vgg_normalised.pth, an adain .safetensors file, a torchvision "
            "vgg19 .pth, or 'torchvision' (downloads ImageNet VGG-19).")
DEEP_VGG_HELP = ("Encoder weights with the layers to relu5_1: the full vgg_normalised.pth, a "
                 "torchvision vgg19 .pth, or 'torchvision'.")
DECODER_HELP = "Decoder weights: decoder.pth or .safetensors."
DEVICE_HELP = "Where to compute."
MODEL_HELP = ("A compact model from adain distill (RUN/compact.safetensors), in place of --vgg "
              "and --decoder.")

VggOption = Annotated[str, typer.Option("--vgg", help=VGG_HELP)]
# adain optimize and adain eval go on to relu5_1: a file cut at relu4_1 does not do.
DeepVggOption = Annotated[str, typer.Option("--vgg", help=DEEP_VGG_HELP)]
DecoderOption = Annotated[Path, typer.Option("--decoder", help=DECODER_HELP)]
DeviceOption = Annotated[Device, typer.Option("--device", help=DEVICE_HELP)]
ModelOption = Annotated[Path | None, typer.Option(
    "--model", exists=True, dir_okay=False, show_default=False, help=MODEL_HELP)]
# A local copy of onnxruntime-web for a web page (adain export --web, adain serve --onnx).
OrtDirOption = Annotated[Path | None, typer.Option(
    "--ort-dir", show_default=False,
    help="A local copy of onnxruntime-web at the version adain pins (the .tgz of `npm pack`, "
         "or the unpacked package) instead of the cache or a download; offline, the error "
         "names the exact `npm pack` command.")]
# The folder of adain export's graphs, where the realtime commands read them.
OnnxDirOption = Annotated[Path, typer.Option(
    "--onnx", file_okay=False, help="Folder with the graphs of adain export --onnx.")]


def pair_sources(vgg: str, decoder: Path, model: Path | None) -> dict[str, object]:
    """What a command was given to stylise with, as ``adain.compact.load_pair`` takes it:
    ``--model``, or ``--vgg`` and ``--decoder``; ``--model`` with either is refused."""
    if model is None:
        return {"vgg": vgg, "decoder": decoder}
    if vgg != str(DEFAULT_VGG) or decoder != DEFAULT_DECODER:
        raise fail("--model holds both networks; leave out --vgg and --decoder", 2)
    return {"model": model}
