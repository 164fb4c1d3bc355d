"""``adain stylize``: content images x style images -> stylised images."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..paths import DEFAULT_DECODER, DEFAULT_OUTPUT_DIR, DEFAULT_VGG
from .common import Device, console, err_console, fail, user_errors
from .options import DecoderOption, DeviceOption, ModelOption, VggOption, pair_sources
from .styles import resolved

if TYPE_CHECKING:
    from collections.abc import Sequence

    from PIL import Image

    from ..batch.grid import ContactSheet
    from ..batch.jobs import Job, Report
    from ..stylizer import StyleOptions, Stylizer

EXAMPLES = """
Examples:

\b
  adain stylize photo.jpg --style monet.jpg -o photo_monet.png
  adain stylize photos/ -s a.jpg -s b.jpg    # every photo x style, into output/
  adain stylize photo.jpg -s a.jpg -s b.jpg --interpolation-weights 0.3,0.7
  adain stylize photo.jpg -s monet.jpg --alpha 0.6 --preserve-color
  adain stylize photo.jpg -s a.jpg -s b.jpg --mask mask.png   # white: a, black: b
  adain stylize photos/ -s a.jpg -s b.jpg --grid sheet.jpg  # + contents x styles sheet
  adain stylize photos/ -s a.jpg -o out --skip-existing   # resume: keep what is done
  adain stylize big.jpg -s a.jpg --content-size 0 --tile 1024   # full size, in tiles
  adain stylize big.jpg -s a.jpg --content-size 0 --style-scale 1   # a 512 px result's look
  adain stylize photo.jpg -s monet.jpg --model runs/c/compact.safetensors  # adain distill's
"""


def _parse_weights(text: str | None) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a comma-separated list of numbers, "
                                 "e.g. 0.3,0.7") from None


def stylize(
    content: Annotated[list[Path], typer.Argument(
        callback=resolved("content"), show_default=False,
        help="Content images, or folders of them (searched recursively); astronaut is the "
             "bundled photo.")],
    style: Annotated[list[Path], typer.Option(
        "--style", "-s", callback=resolved("style"), show_default=False,
        help="Style image (or folder) or a bundled style's name (adain styles); repeat for "
             "several styles.")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", show_default=False,
        help="Output file (.jpg .png .webp .tif .bmp) when there is one result, else a folder "
             f"(no extension, or one that exists) [default: {DEFAULT_OUTPUT_DIR}/].")] = None,
    interpolation_weights: Annotated[str | None, typer.Option(
        help="Blend the styles into one result with these weights, one per --style, "
             "e.g. 0.3,0.7 (normalised to sum 1).")] = None,
    alpha: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Strength of the style: 1 full style, 0 the content.")] = 1.0,
    preserve_color: Annotated[bool, typer.Option(
        "--preserve-color", help="Keep the content's colours (the style is recoloured first).")
    ] = False,
    mask: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, show_default=False,
        help="Spatial control: white areas take the first style, black the second (or, with "
             "one style, keep the content); stretched to the content's size.")] = None,
    content_size: Annotated[int, typer.Option(
        min=0, help="Resize the content's shorter side to this; 0 keeps its size.")] = 512,
    style_size: Annotated[int, typer.Option(
        min=0, help="Resize the style's shorter side to this; 0 keeps its size.")] = 512,
    style_scale: Annotated[float | None, typer.Option(
        show_default=False,
        help="Resize the style's shorter side to this times the content's, instead of "
             "--style-size: 1 keeps the brush strokes' size relative to the picture, as a "
             "512 px result with a 512 px style has them, at any resolution.")] = None,
    crop: Annotated[bool, typer.Option("--crop", help="Centre-crop to a square after resizing.")
                    ] = False,
    tile: Annotated[int | None, typer.Option(
        min=0, show_default=False,
        help="Stylise in tiles of N x N pixels (the same result, in bounded memory); 0 never "
             "tiles [default: tiles only when the picture would not fit in memory whole].")
    ] = None,
    vgg: VggOption = str(DEFAULT_VGG),
    decoder: DecoderOption = DEFAULT_DECODER,
    model: ModelOption = None,
    device: DeviceOption = Device.auto,
    ext: Annotated[str | None, typer.Option(
        help="Extension of results written to a folder, e.g. .png [default: the content's].")
    ] = None,
    quality: Annotated[int, typer.Option(
        min=1, max=100, help="JPEG and WebP quality of the results and the grid.")] = 95,
    skip_existing: Annotated[bool, typer.Option(
        "--skip-existing", help="Keep results already there (resume a batch); without it "
                                "they are made again and replaced.")] = False,
    grid: Annotated[Path | None, typer.Option(
        dir_okay=False, show_default=False,
        help="Also write a contact sheet of the run to this file: contents as rows, styles as "
             "columns (one when blended or masked), the inputs as headers.")] = None,
) -> None:
    """Stylise content images with style images (AdaIN)."""
    weights = _parse_weights(interpolation_weights)
    networks = pair_sources(vgg, decoder, model)
    if style_scale is not None and style_size != 512:
        raise fail("give --style-size or --style-scale, not both", 2)
    with user_errors():
        from ..batch.grid import ContactSheet
        from ..batch.jobs import check_outputs, plan_jobs
        from ..stylizer import StyleOptions, Stylizer

        options = StyleOptions(alpha=alpha, interpolation_weights=weights,
                               preserve_color=preserve_color, mask=mask,
                               content_size=content_size, style_size=style_size, crop=crop,
                               tile=tile, style_scale=style_scale)
        jobs = plan_jobs(content, style, output, options,
                         ext=ext if ext is None or ext.startswith(".") else f".{ext}",
                         skip=[grid] if grid is not None else [])
        check_outputs(jobs, inputs=[mask] if mask is not None else [],
                      outputs=[grid] if grid is not None else [])
        sheet = ContactSheet(jobs, grid) if grid is not None else None
        stylizer = Stylizer(device=device.value, **networks)
        started = time.perf_counter()
        report = _run(stylizer, options, jobs, sheet, quality, skip_existing)
        seconds = time.perf_counter() - started
        if sheet is not None:
            sheet.save(quality)
        _summarise(report, seconds, stylizer.device.type, grid)


def _run(stylizer: Stylizer, options: StyleOptions, jobs: Sequence[Job],
         sheet: ContactSheet | None, quality: int, skip_existing: bool) -> Report:
    """The batch under a progress bar (and one over the tiles of a picture stylised in
    tiles), its results collected for the sheet if there is one."""
    from ..batch.jobs import run_jobs

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task("stylising", total=len(jobs))
        tiles = bar.add_task("tiles", total=None, visible=False)

        def tile_done(done: int, total: int) -> None:
            bar.update(tiles, completed=done, total=total, visible=done < total)
            if done == total:
                bar.reset(tiles, visible=False)

        stylizer.on_tile = tile_done

        def stylize(job: Job) -> Image.Image:
            return stylizer.stylize(job.content, job.styles, options)

        def done(job: Job, image: Image.Image | None) -> None:
            bar.advance(task)
            if sheet is not None:
                sheet.add(job, image)

        return run_jobs(stylize, jobs, on_done=done, quality=quality,
                        skip_existing=skip_existing)


def _summarise(report: Report, seconds: float, device: str, grid: Path | None) -> None:
    from ..batch.jobs import plural

    also = f"; grid in {escape(str(grid))}" if grid is not None else ""
    if report.replaced:
        also += f"; replaced {plural(len(report.replaced), 'earlier result')}"
    if report.skipped:
        console.print(f"kept {plural(len(report.skipped), 'result')} already there "
                      "(--skip-existing)")
    if len(report.written) == 1:
        console.print(f"wrote {escape(str(report.written[0]))} in {seconds:.1f} s on {device}"
                      f"{also}")
    elif report.written:
        folders = sorted({str(p.parent) for p in report.written})
        console.print(f"wrote {len(report.written)} images to {escape(folders[0])}"
                      f"{' and others' if len(folders) > 1 else ''} in {seconds:.1f} s "
                      f"({seconds / len(report.written):.2f} s each) on {device}{also}")
    elif grid is not None:
        console.print(f"wrote the grid {escape(str(grid))}")
    if report.failed:
        reasons = list(dict.fromkeys(reason for _, reason in report.failed))
        err_console.print(f"[bold red]{len(report.failed)} failed:[/]")
        for reason in reasons:
            err_console.print(f"  {escape(reason)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
