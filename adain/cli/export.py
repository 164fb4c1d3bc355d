"""``adain export --onnx``: verified ONNX graphs for any frame size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from .common import console, fail, user_errors

EXAMPLES = """
[b]Examples[/b]

  adain export --onnx                                   [dim]# models/onnx/*.onnx[/]
  adain export --onnx --half                            [dim]# + *.fp16.onnx for GPUs[/]
  adain export --onnx --int8 --calib-dir photos/        [dim]# + *.int8.onnx for CPUs[/]
"""


def export(
    onnx: Annotated[bool, typer.Option("--onnx", help="Export ONNX graphs (the one format).")
                    ] = False,
    vgg: Annotated[str, typer.Option(help="Encoder weights (or 'torchvision').")
                   ] = "models/vgg_normalised.pth",
    decoder: Annotated[Path, typer.Option(help="Decoder weights.")] = Path("models/decoder.pth"),
    output: Annotated[Path, typer.Option("--output", "-o", file_okay=False,
                                         help="Folder for the graphs.")] = Path("models/onnx"),
    half: Annotated[bool, typer.Option("--half", help="Also write fp16 graphs (*.fp16.onnx) "
                                       "for GPUs; inputs and outputs stay float32.")] = False,
    int8: Annotated[bool, typer.Option("--int8", help="Also write int8 graphs (*.int8.onnx) "
                                       "for CPUs, calibrated on --calib-dir.")] = False,
    calib_dir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Images to calibrate int8 on (20-64 varied photos; a fifth are "
                              "held out to measure the PSNR).")] = None,
    verify: Annotated[bool, typer.Option(
        "--verify/--no-verify", help="Check every graph with onnxruntime against PyTorch.")
    ] = True,
    simplify: Annotated[bool, typer.Option(
        "--simplify/--no-simplify", help="Slim the graphs with onnxslim.")] = True,
) -> None:
    """Export the model as ONNX graphs: style encoder, stylizer and single-shot AdaIN."""
    if not onnx:
        raise fail("say which format: --onnx (the only one so far)", 2)
    if int8 and calib_dir is None:
        raise fail("--int8 needs --calib-dir DIR with images to calibrate on", 2)
    with user_errors():
        from ..export import ExportConfig, export_onnx

        config = ExportConfig(vgg=vgg, decoder=str(decoder), out_dir=str(output), verify=verify,
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
