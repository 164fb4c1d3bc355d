"""``adain eval``: how much content a result kept and how close it came to the style."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..paths import DEFAULT_DECODER, DEFAULT_VGG
from .common import Device, console, err_console, fail, user_errors
from .options import DecoderOption, DeepVggOption, DeviceOption
from .styles import resolved

if TYPE_CHECKING:
    from ..quality.evaluate import Row, SweepPoint

EXAMPLES = """
Examples:

\b
  adain eval --content photo.jpg -s monet.jpg --stylized photo_monet.jpg
  adain eval --content photos/ -s styles/ --stylized output/ --csv scores.csv
  adain eval --content photos/ -s styles/ --plot sweep.png  # alpha 0..1
  adain eval --video clip.mp4 --stylized-video clip_monet.mp4  # flicker
  adain eval --content photos/ -s styles/ --plot compact.png \
      --model runs/c/compact.safetensors   # a compact model, scored with --vgg

Metrics (all with the same VGG; lower is better except SSIM):

\b
  content loss   MSE of relu4_1 features, result vs content
  style loss     AdaIN's: MSE(mean) + MSE(std) over relu1_1..relu4_1, vs style
  gram loss      MSE of Gram matrices (/ C*H*W), relu1_1..relu5_1, vs style
  SSIM           structure kept, result vs content; 1 is identical
  warping error  change between result frames along the input's motion,
                 occlusions masked (Lai et al. 2018)
"""

_PROGRESS = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
             TimeRemainingColumn())


def eval_command(
    content: Annotated[Path | None, typer.Option(
        callback=resolved("content"), show_default=False, help="Content image or folder.")
    ] = None,
    style: Annotated[Path | None, typer.Option(
        "--style", "-s", callback=resolved("style"), show_default=False,
        help="Style image or folder, or a bundled style's name (adain styles).")
    ] = None,
    stylized: Annotated[Path | None, typer.Option(
        exists=True, show_default=False,
        help="Stylised image, or folder of results named CONTENT_stylized_STYLE.")] = None,
    video: Annotated[Path | None, typer.Option(
        exists=True, show_default=False, help="Input video (file or folder of frames).")] = None,
    stylized_video: Annotated[Path | None, typer.Option(
        exists=True, show_default=False, help="Its stylised version, for the warping error.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", show_default=False, help="Write every number to this JSON file.")] = None,
    csv_path: Annotated[Path | None, typer.Option(
        "--csv", show_default=False,
        help="Write the table (and the sweep's points) to this CSV file.")] = None,
    plot: Annotated[Path | None, typer.Option(
        show_default=False,
        help="Stylise every content x style pair at alphas 0..1 with --decoder and draw "
             "content loss against style loss into this PNG (its numbers go into --json "
             "and --csv).")] = None,
    alphas: Annotated[int, typer.Option(min=2, help="Alpha values in the sweep.")
                      ] = 11,
    content_size: Annotated[int, typer.Option(
        min=0, help="Content size in the sweep (shorter side; 0 keeps it).")] = 512,
    style_size: Annotated[int, typer.Option(
        min=0, help="Resize the style's shorter side to this, as stylize did; 0 keeps it.")
    ] = 512,
    vgg: DeepVggOption = str(DEFAULT_VGG),
    decoder: DecoderOption = DEFAULT_DECODER,
    model: Annotated[Path | None, typer.Option(
        exists=True, dir_okay=False, show_default=False,
        help="Sweep with this compact model from adain distill instead of --decoder (and "
             "--vgg, which still scores).")] = None,
    device: DeviceOption = Device.auto,
) -> None:
    """Score stylised results: content and style losses, Gram loss, SSIM; video flicker."""
    _refuse_conflicts(content, style, stylized, video, stylized_video, csv_path, plot)
    if model is not None and (plot is None or decoder != DEFAULT_DECODER):
        raise fail("--model stylises the --plot sweep in place of --decoder; give it with "
                   "--plot and without --decoder", 2)
    named = {"--json": json_path, "--csv": csv_path, "--plot": plot}
    outputs = {option: path for option, path in named.items() if path is not None}
    rows, points, sweep_errors, info = [], [], [], {}
    with user_errors():
        _check_outputs(outputs, [content, style, stylized, video, stylized_video, decoder,
                                 Path(vgg), model])
        if stylized is not None or plot is not None:
            evaluator = _evaluator(vgg, device.value)
            info["vgg"] = vgg
        if plot is not None:  # load the decoder before any other work: a wrong one fails now
            from ..stylizer import Stylizer

            stylizer = (Stylizer(model=model, device=device.value) if model is not None
                        else Stylizer(vgg, decoder, device.value))
        if stylized is not None:
            rows = _score(evaluator, content, style, stylized, style_size,
                          list(outputs.values()))
        if video is not None:
            info["video"] = _video(video, stylized_video)
        if plot is not None:
            from ..quality.evaluate import sweep_report

            points, sweep_errors = _sweep(evaluator, stylizer, content, style, plot, alphas,
                                          content_size, style_size)
            info["sweep"] = {"decoder": str(model or decoder), "content_size": content_size,
                             "style_size": style_size, **sweep_report(points),
                             "errors": sweep_errors}
        _write_reports(json_path, csv_path, rows, points, info)
    _report_failures([row.error for row in rows if row.scores is None] + sweep_errors)


def _refuse_conflicts(content: Path | None, style: Path | None, stylized: Path | None,
                      video: Path | None, stylized_video: Path | None, csv_path: Path | None,
                      plot: Path | None) -> None:
    """Options that cannot work together, refused with exit code 2 before anything runs."""
    if (video is None) != (stylized_video is None):
        raise fail("--video and --stylized-video go together", 2)
    if stylized is not None and (content is None or style is None):
        raise fail("--stylized needs --content and --style", 2)
    if plot is not None and (content is None or style is None):
        raise fail("--plot needs --content and --style", 2)
    if stylized is None and plot is None and video is None:
        raise fail("nothing to evaluate: give --stylized (with --content and --style), --plot "
                   "or --video with --stylized-video", 2)
    if plot is not None and plot.suffix.lower() != ".png":
        raise fail(f"--plot writes a PNG; name it {plot.stem}.png", 2)
    if csv_path is not None and stylized is None and plot is None:
        raise fail("--csv holds the --stylized scores and the --plot sweep; the warping "
                   "error goes to --json", 2)
    if (content is not None or style is not None) and stylized is None and plot is None:
        raise fail("--content and --style are for --stylized or --plot; give one of them", 2)


def _check_outputs(outputs: dict[str, Path], inputs: list[Path | None]) -> None:
    """Refuse, before any work, two outputs on one file, an output that is an input (or
    an image in an input folder), and an output that cannot be written."""
    from ..errors import AdaINError
    from ..outputs import check_writable_path, refuse_inputs_as_outputs
    from ..picture import find_images

    seen: dict[Path, str] = {}
    for option, output in outputs.items():
        if output.resolve() in seen:
            raise AdaINError(f"{seen[output.resolve()]} and {option} are both {output}; give "
                             "each output its own file")
        seen[output.resolve()] = option
    for output in outputs.values():
        check_writable_path(output)
    given = [path for path in inputs if path is not None]
    found = [image for path in given if path.is_dir() for image in find_images(path)]
    refuse_inputs_as_outputs(outputs.values(), given + found, "choose another output file")


def _write_reports(json_path: Path | None, csv_path: Path | None, rows: list[Row],
                   points: list[SweepPoint], info: dict[str, object]) -> None:
    from ..quality.evaluate import write_csv, write_json

    if json_path is not None:
        write_json(json_path, rows, info)
        console.print(f"wrote {escape(str(json_path))}")
    if csv_path is not None:
        write_csv(csv_path, rows, points)
        console.print(f"wrote {escape(str(csv_path))}")


def _evaluator(vgg: str, device: str):
    from ..device import resolve_device
    from ..quality.metrics import Evaluator
    from ..weights import load_encoder

    return Evaluator(load_encoder(vgg, last="relu5_1").module, resolve_device(device))


def _score(evaluator, content: Path, style: Path, stylized: Path, style_size: int,
           outputs: list[Path]) -> list[Row]:
    from ..errors import AdaINError
    from ..quality.evaluate import match_triples, score_triples

    triples, unmatched = match_triples(content, style, stylized, skip=outputs)
    if unmatched:
        err_console.print(f"[yellow]{len(unmatched)} image(s) in {escape(str(stylized))} match "
                          "no content x style pair by name, e.g. "
                          f"{escape(unmatched[0].name)}; skipped[/]")
    if not triples:
        raise AdaINError(f"no image in {stylized} is named CONTENT_stylized_STYLE after a "
                         f"content in {content} and a style in {style}")
    with Progress(*_PROGRESS, console=err_console, transient=True) as bar:
        task = bar.add_task("scoring", total=len(triples))
        rows = score_triples(evaluator, triples, style_size, lambda: bar.advance(task))
    _print_table(rows)
    return rows


def _print_table(rows: list[Row]) -> None:
    from ..quality.evaluate import mean_scores

    table = Table(title="scores (lower is better, except SSIM)")
    for column in ("content", "style", "content loss", "style loss", "gram loss", "SSIM"):
        table.add_column(column, justify="left" if column in ("content", "style") else "right")
    for row in rows:
        numbers = ([f"{v:.4g}" for v in row.scores.as_dict().values()] if row.scores
                   else ["[red]failed[/]"] + [""] * 3)
        table.add_row(escape(row.triple.content.name), escape(row.triple.style.name), *numbers)
    mean = mean_scores(rows)
    if mean is not None and len(rows) > 1:
        table.add_section()
        table.add_row("[b]mean[/]", "", *[f"{v:.4g}" for v in mean.as_dict().values()])
    console.print(table)


def _video(video: Path, stylized_video: Path) -> dict[str, object]:
    from ..realtime.engine import RealtimeError
    from ..realtime.video import video_warping_error

    with user_errors(RealtimeError), Progress(*_PROGRESS, console=err_console,
                                              transient=True) as bar:
        task = bar.add_task("warping error", total=None)
        error, frames = video_warping_error(
            str(video), str(stylized_video),
            lambda done, total: bar.update(task, completed=done, total=total))
    console.print(f"warping error of {escape(str(stylized_video))}: {error:.6f} over "
                  f"{frames} frames (lower: steadier)")
    return {"input": str(video), "stylized": str(stylized_video), "warping_error": error,
            "frames": frames}


def _sweep(evaluator, stylizer, content: Path, style: Path, plot: Path, count: int,
           content_size: int, style_size: int) -> tuple[list[SweepPoint], list[str]]:
    from ..batch.jobs import expand_inputs
    from ..errors import AdaINError
    from ..quality.evaluate import alpha_sweep, plot_sweep, sweep_alphas
    from ..stylizer import StyleOptions

    pairs = [(c, s) for c, _ in expand_inputs([content]) for s, _ in expand_inputs([style])]
    alphas = sweep_alphas(count)
    options = StyleOptions(content_size=content_size, style_size=style_size)
    with Progress(*_PROGRESS, console=err_console, transient=True) as bar:
        task = bar.add_task("alpha sweep", total=len(pairs) * len(alphas))
        points, errors = alpha_sweep(stylizer, evaluator, pairs, alphas, options,
                                     lambda: bar.advance(task))
    if not points:
        raise AdaINError(f"no pair could be swept: {errors[0]}")
    plot_sweep(points, plot)
    swept = len(pairs) - len(errors)
    console.print(f"wrote {escape(str(plot))}: alpha sweep of {swept} pair(s)")
    return points, errors


def _report_failures(errors: list[str]) -> None:
    if errors:
        err_console.print(f"[bold red]{len(errors)} failed:[/]")
        for error in errors:
            err_console.print(f"  {escape(error)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
