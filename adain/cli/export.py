"""``adain export``: verified ONNX graphs for any frame size (``--onnx``, the one format,
is the default and may be left out), and with ``--web`` a static site that runs them in a
browser (``--onnx DIR`` then takes graphs already exported)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..paths import DEFAULT_DECODER, DEFAULT_ONNX_DIR, DEFAULT_VGG, DEFAULT_WEB_DIR
from .common import console, download_bar, fail, user_errors
from .help import Command
from .options import DecoderOption, ModelOption, OrtDirOption, VggOption, pair_sources

EXAMPLES = """
Examples:

\b
  adain export                                  # models/onnx/*.onnx
  adain export --half                           # + *.fp16.onnx for GPUs
  adain export --int8 --calib-dir photos/       # + *.int8.onnx for CPUs
  adain export --model runs/c/compact.safetensors -o models/compact-onnx  # adain distill's
  adain export --web                            # models/web: a page; adain serve shows it
  adain export --web -o site/ --onnx models/onnx --ort-dir onnxruntime-web-1.31.1.tgz
"""


class ExportCommand(Command):
    """``--onnx`` alone is the format (the default, kept for old scripts), so it is dropped;
    ``--onnx DIR`` names graphs already exported, for ``--web``, where a bare ``--onnx`` is
    refused rather than read as "export from the weights"."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        bare = [i for i, a in enumerate(args)
                if a == "--onnx" and (i + 1 == len(args) or args[i + 1].startswith("-"))]
        if bare and "--web" in args:
            raise fail("--onnx needs its DIR with --web (--onnx models/onnx), or leave it out "
                       "to export the graphs from the weights", 2)
        return super().parse_args(ctx, [a for i, a in enumerate(args) if i not in bare])


def export(
    onnx: Annotated[Path | None, typer.Option(
        "--onnx", file_okay=False, show_default=False,
        help="With --web: take the graphs from DIR (an earlier adain export) instead of "
             "exporting them. Without --web, a bare --onnx is accepted and changes nothing "
             "(ONNX is the one format).")] = None,
    web: Annotated[bool, typer.Option("--web", metavar="", help=(
        "Write a static site (default folder models/web) that stylises in the browser: the "
        "page, the graphs, onnxruntime-web and the bundled styles. Serve it with adain serve "
        "or any static host."))] = False,
    ort_dir: OrtDirOption = None,
    vgg: VggOption = str(DEFAULT_VGG),
    decoder: DecoderOption = DEFAULT_DECODER,
    model: ModelOption = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", file_okay=False, show_default=False,
        help=f"Folder for the graphs (default {DEFAULT_ONNX_DIR}), or with --web for the site "
             f"(default {DEFAULT_WEB_DIR}).")] = None,
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
    """Export the model as ONNX graphs: style encoder, stylizer and single-shot AdaIN; or,
    with --web, a static site that runs them in a browser."""
    if int8 and calib_dir is None:
        raise fail("--int8 needs --calib-dir DIR with images to calibrate on", 2)
    networks = {k: str(v) for k, v in pair_sources(vgg, decoder, model).items()}
    if web:
        if half or int8:
            raise fail("--web runs the fp32 graphs; leave out --half and --int8", 2)
        if onnx is not None and (model is not None or networks.get("vgg") != str(DEFAULT_VGG)
                                 or networks.get("decoder") != str(DEFAULT_DECODER)):
            raise fail("--onnx DIR takes exported graphs; leave out --vgg, --decoder and "
                       "--model (or leave out --onnx to export from them)", 2)
        return _export_web(output or DEFAULT_WEB_DIR, onnx, networks, ort_dir, verify, simplify)
    if onnx is not None:
        raise fail("--onnx DIR takes exported graphs for --web; a plain export writes its "
                   "graphs to -o", 2)
    if ort_dir is not None:
        raise fail("--ort-dir is for --web", 2)
    output = output or DEFAULT_ONNX_DIR
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


def _export_web(output: Path, onnx: Path | None, networks: dict[str, str], ort_dir: Path | None,
                verify: bool, simplify: bool) -> None:
    with user_errors(), download_bar() as bar:
        from ..export.web.site import SiteConfig, build_site

        site = build_site(SiteConfig(out_dir=str(output), onnx_dir=str(onnx) if onnx else None,
                                     networks=networks,
                                     ort_dir=str(ort_dir) if ort_dir else None, verify=verify,
                                     simplify=simplify), progress=bar)
    tiles = ("large photos in exact tiles" if site.tiles else
             "no tile graphs in --onnx (export them with --web and no --onnx): large photos "
             "are shrunk to fit")
    console.print(f"{escape(str(site.path))}  {site.size_bytes / 1e6:.1f} MB: "
                  f"{', '.join(site.graphs)}; {tiles}", highlight=False, soft_wrap=True)
    if site.kept:
        console.print(f"kept your {len(site.kept)} file(s) from the earlier site: "
                      f"{escape(', '.join(site.kept))}", highlight=False, soft_wrap=True)
    console.print(f"next: [bold]adain serve {escape(str(site.path))}[/] (or copy the folder to "
                  "any static host)", soft_wrap=True)
