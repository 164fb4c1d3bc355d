"""``adain eval``: how much content a result kept and how close it came to the style."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from .common import Device, console, err_console, fail, user_errors
from .styles import resolved

if TYPE_CHECKING:
    from ..evaluate import Row

EXAMPLES = """
[b]Examples[/b]

  adain eval --content photo.jpg --style monet.jpg --stylized photo_monet.jpg
  adain eval --content photos/ --style styles/ --stylized output/ --json scores.json
  adain eval --content photos/ --style styles/ --plot sweep.png  [dim]# alpha 0..1[/]
  adain eval --video clip.mp4 --stylized-video clip_monet.mp4     [dim]# flicker[/]

[b]Metrics[/b] (all with the same VGG; lower is better except SSIM)

  content loss  MSE of relu4_1 features, stylised vs content
  style loss    AdaIN's: sum over relu1_1..relu4_1 of MSE(mean) + MSE(std), vs the style
  gram loss     sum over relu1_1..relu5_1 of MSE of Gram matrices / (C*H*W), vs the style
  SSIM          structure kept: stylised vs content, 1 is identical
  warping error mean squared change between stylised frames after following the motion
                of the input frames, occlusions masked (Lai et al. 2018)
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
        help="Stylised image, or folder of results named {content}_stylized_{style}.")] = None,
    video: Annotated[Path | None, typer.Option(
        exists=True, show_default=False, help="Input video (file or folder of frames).")] = None,
    stylized_video: Annotated[Path | None, typer.Option(
        exists=True, show_default=False, help="Its stylised version, for the warping error.")
    ] = None,
    json_path: Annotated[Path | None, typer.Option(
        "--json", show_default=False, help="Write every number to this JSON file.")] = None,
    csv_path: Annotated[Path | None, typer.Option(
        "--csv", show_default=False, help="Write the table to this CSV file.")] = None,
    plot: Annotated[Path | None, typer.Option(
        show_default=False,
        help="Stylise every content x style pair at alphas 0..1 with --decoder and draw "
             "content loss against style loss into this PNG.")] = None,
    alphas: Annotated[int, typer.Option(min=2, max=101, help="Alpha values in the sweep.")
                      ] = 11,
    content_size: Annotated[int, typer.Option(
        min=0, help="Content size in the sweep (shorter side; 0 keeps it).")] = 512,
    style_size: Annotated[int, typer.Option(
        min=0, help="Resize the style's shorter side to this, as stylize did; 0 keeps it.")
    ] = 512,
    vgg: Annotated[str, typer.Option(
        help="Encoder weights with the layers to relu5_1: the full vgg_normalised.pth, a "
             "torchvision vgg19 .pth, or 'torchvision'.")] = "models/vgg_normalised.pth",
    decoder: Annotated[Path, typer.Option(help="Decoder weights, for --plot.")
                       ] = Path("models/decoder.pth"),
    device: Annotated[Device, typer.Option(help="Where to compute.")] = Device.auto,
) -> None:
    """Score stylised results: content and style losses, Gram loss, SSIM; video flicker."""
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
    rows, info = [], {}
    with user_errors():
        if stylized is not None or plot is not None:
            evaluator = _evaluator(vgg, device.value)
            info["vgg"] = vgg
        if plot is not None:  # load the decoder before any other work: a wrong one fails now
            from ..stylizer import Stylizer

            stylizer = Stylizer(vgg, decoder, device.value)
        if stylized is not None:
            rows = _score(evaluator, content, style, stylized, style_size)
        if video is not None:
            info["video"] = _video(video, stylized_video)
        if plot is not None:
            _sweep(evaluator, stylizer, content, style, plot, alphas, content_size, style_size)
        if json_path is not None:
            from ..evaluate import write_json

            write_json(json_path, rows, info)
            console.print(f"wrote {escape(str(json_path))}")
        if csv_path is not None:
            from ..evaluate import write_csv

            write_csv(csv_path, rows)
            console.print(f"wrote {escape(str(csv_path))}")
    _report_failures(rows)


def _evaluator(vgg: str, device: str):
    from ..device import resolve_device
    from ..metrics import Evaluator
    from ..weights import load_encoder

    return Evaluator(load_encoder(vgg, last="relu5_1").module, resolve_device(device))


def _score(evaluator, content: Path, style: Path, stylized: Path, style_size: int) -> list[Row]:
    from ..errors import AdaINError
    from ..evaluate import match_triples, score_triples

    triples, unmatched = match_triples(content, style, stylized)
    if unmatched:
        err_console.print(f"[yellow]{len(unmatched)} image(s) in {escape(str(stylized))} match "
                          "no content x style pair by name, e.g. "
                          f"{escape(unmatched[0].name)}; skipped[/]")
    if not triples:
        raise AdaINError(f"no image in {stylized} is named {{content}}_stylized_{{style}} "
                         f"after a content in {content} and a style in {style}")
    with Progress(*_PROGRESS, console=err_console, transient=True) as bar:
        task = bar.add_task("scoring", total=len(triples))
        rows = score_triples(evaluator, triples, style_size, lambda: bar.advance(task))
    _print_table(rows)
    return rows


def _print_table(rows: list[Row]) -> None:
    from ..evaluate import mean_scores

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
           content_size: int, style_size: int) -> None:
    from ..batch import expand_inputs
    from ..evaluate import alpha_sweep, plot_sweep, sweep_alphas
    from ..stylizer import StyleOptions

    pairs = [(c, s) for c, _ in expand_inputs([content]) for s, _ in expand_inputs([style])]
    alphas = sweep_alphas(count)
    options = StyleOptions(content_size=content_size, style_size=style_size)
    with Progress(*_PROGRESS, console=err_console, transient=True) as bar:
        task = bar.add_task("alpha sweep", total=len(pairs) * len(alphas))
        points = alpha_sweep(stylizer, evaluator, pairs, alphas, options,
                             lambda: bar.advance(task))
    plot_sweep(points, plot)
    console.print(f"wrote {escape(str(plot))}: alpha sweep of {len(pairs)} pair(s)")


def _report_failures(rows: list[Row]) -> None:
    failed = [row for row in rows if row.scores is None]
    if failed:
        err_console.print(f"[bold red]{len(failed)} failed:[/]")
        for row in failed:
            err_console.print(f"  {escape(row.error)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
