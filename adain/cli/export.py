"""``adain export``: verified ONNX graphs for any frame size (``--onnx``, the one format,
is the default and may be left out)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..paths import DEFAULT_DECODER, DEFAULT_ONNX_DIR, DEFAULT_VGG
from .common import console, fail, user_errors
from .options import DecoderOption, ModelOption, VggOption, pair_sources

EXAMPLES = """
Examples:

\b
  adain export                                  # models/onnx/*.onnx
  adain export --half                           # + *.fp16.onnx for GPUs
  adain export --int8 --calib-dir photos/       # + *.int8.onnx for CPUs
  adain export --model runs/c/compact.safetensors -o models/compact-onnx  # adain distill's
"""


def export(
    onnx: Annotated[bool, typer.Option(
        "--onnx", metavar="", show_default=False,
        help="ONNX graphs: the default (and so far the one format).")
    ] = True,
    vgg: VggOption = str(DEFAULT_VGG),
    decoder: DecoderOption = DEFAULT_DECODER,
    model: ModelOption = None,
    output: Annotated[Path, typer.Option("--output", "-o", file_okay=False,
                                         help="Folder for the graphs.")] = DEFAULT_ONNX_DIR,
    half: Annotated[bool, typer.Option("--half", metavar="", help=(
        "Also write fp16 graphs (*.fp16.onnx) for GPUs; inputs and outputs stay float32."))
    ] = False,
    int8: Annotated[bool, typer.Option("--int8", metavar="", help=(
        "Also write int8 graphs (*.int8.onnx) for CPUs, calibrated on --calib-dir."))] = False,
    calib_dir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Images to calibrate int8 on (20-64 varied photos; a fifth are "
                              "held out to measure the PSNR).")] = None,
    verify: Annotated[bool, typer.Option(
        "--verify/--no-verify", metavar="",
        help="Check every graph with onnxruntime against PyTorch.")] = True,
    simplify: Annotated[bool, typer.Option(
        "--simplify/--no-simplify", metavar="", help="Slim the graphs with onnxslim.")] = True,
) -> None:
    """Export the model as ONNX graphs: style encoder, stylizer and single-shot AdaIN."""
    if int8 and calib_dir is None:
        raise fail("--int8 needs --calib-dir DIR with images to calibrate on", 2)
    networks = {k: str(v) for k, v in pair_sources(vgg, decoder, model).items()}
    with user_errors():
        from ..export import ExportConfig, export_onnx

        config = ExportConfig(**networks, out_dir=str(output), verify=verify,
                              half=half, int8=int8,
                              calib_dir=str(calib_dir) if calib_dir else None, simplify=simplify)
        graphs = export_onnx(config)
    for graph in graphs:
        check = (f"max |diff| vs {graph.reference} {graph.max_diff:.2e}"
                 if graph.max_diff is not None else graph.note or "not verified")
        console.print(f"{escape(str(graph.path))}  {graph.size_bytes / 1e6:6.1f} MB  "
                      f"{escape(check)}", highlight=False, soft_wrap=True)
    console.print(f"next: run [bold]{escape(str(output / 'stylizer.onnx'))}[/] with onnxruntime "
                  "(inputs content, style_mean, style_std, alpha; README: ONNX graphs)",
                  soft_wrap=True)
