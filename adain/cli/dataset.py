"""``adain stylize-dataset``: a stylised copy of a dataset; ``adain merge-shards``: its manifest."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..dataset.config import PRECISIONS, PRESETS, DatasetConfig, from_options
from ..dataset.plan import FORMATS, parse_alpha_range
from ..errors import AdaINError
from .common import Device, console, err_console, fail, user_errors
from .options import DECODER_HELP, DEVICE_HELP, VGG_HELP

EXAMPLES = """
Examples:

\b
  adain stylize-dataset imagenet/train --style-dir paintings -o sin/train \\
      --preset stylized-imagenet --seed 0
  adain stylize-dataset coco/ --style-dir wikiart/ -o coco-styled/ --num-styles 4 \\
      --alpha-range 0.5,1 --content-size 512
  # many GPUs on one machine, or many machines (one process per GPU):
  torchrun --nproc_per_node=8 -m adain stylize-dataset data/ --style-dir art/ -o out/
  torchrun --nnodes=4 --nproc_per_node=8 --rdzv-backend=c10d \\
      --rdzv-endpoint=HOST:29500 -m adain stylize-dataset data/ --style-dir art/ -o out/
  # a SLURM job array of 16 tasks (any scheduler: one --shard I/N per task):
  adain stylize-dataset data/ --style-dir art/ -o out/ --shard $SLURM_ARRAY_TASK_ID/16

\b
A rerun resumes: finished outputs are kept. Outputs mirror the content tree; OUT also
holds manifest.jsonl (content, style, alpha, output per line), run.json (options, seed,
weights' SHA-256), skipped.txt and style_bank.safetensors (reused by reruns, shards and
adain.StyleAugment).
"""

Preset = enum.Enum("Preset", {name: name for name in PRESETS}, type=str)
Precision = enum.Enum("Precision", {name: name for name in PRECISIONS}, type=str)
Format = enum.Enum("Format", {name: name for name in FORMATS}, type=str)
_DEFAULTS = DatasetConfig(content_dir=".", style_dir=".", out=".")


def _default(name: str) -> str:
    value = getattr(_DEFAULTS, name)
    return f" [default: {','.join(map(str, value)) if isinstance(value, tuple) else value}]"


def stylize_dataset(
    content_dir: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, show_default=False,
        help="The dataset: a folder of images, searched recursively (class folders kept).")],
    style_dir: Annotated[Path, typer.Option(
        "--style-dir", exists=True, file_okay=False, show_default=False,
        help="Folder of style images (e.g. Painter by Numbers), searched recursively.")],
    output: Annotated[Path, typer.Option(
        "--output", "-o", file_okay=False, show_default=False,
        help="Where the stylised copy goes; it mirrors CONTENT_DIR's tree and names.")],
    preset: Annotated[Preset | None, typer.Option(
        help="stylized-imagenet: Geirhos et al.'s recipe (content shorter side 256 then a "
             "224 centre crop, styles cropped square to 224, alpha 1, PNG).",
        show_default=False)] = None,
    num_styles: Annotated[int | None, typer.Option(
        min=1, help="Stylised versions of each image, each with another style; above 1 the "
                    "style's name is added to the file name." + _default("num_styles"),
        show_default=False)] = None,
    alpha: Annotated[float | None, typer.Option(
        min=0.0, max=1.0, show_default=False,
        help="Strength of the style, 1 full style, 0 the content [default: 1].")] = None,
    alpha_range: Annotated[str | None, typer.Option(
        show_default=False, help="Draw each output's alpha uniformly from LO,HI, e.g. 0.5,1.")
    ] = None,
    content_size: Annotated[int | None, typer.Option(
        min=0, show_default=False, help="Resize each image's shorter side to this; 0 keeps "
                                        "its size." + _default("content_size"))] = None,
    crop: Annotated[int | None, typer.Option(
        min=0, show_default=False, help="Centre-crop to N x N after resizing; 0 does not "
                                        "crop." + _default("crop"))] = None,
    style_size: Annotated[int | None, typer.Option(
        min=0, show_default=False, help="Resize each style's shorter side to this; 0 keeps "
                                        "its size." + _default("style_size"))] = None,
    style_crop: Annotated[bool | None, typer.Option(
        "--style-crop/--no-style-crop", show_default=False,
        help="Centre-crop styles to a square after resizing [default: no].")] = None,
    seed: Annotated[int | None, typer.Option(
        show_default=False, help="Decides every image's styles and alphas (with its path)."
                                 + _default("seed"))] = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, show_default=False,
        help="Images per forward pass, of one size [default: 16 on a GPU, 1 on the CPU].")
    ] = None,
    workers: Annotated[int | None, typer.Option(
        min=0, show_default=False, help="Processes decoding images (and threads writing "
                                        "them) [default: up to 8 beside a GPU, a quarter of "
                                        "the cores on the CPU].")] = None,
    device: Annotated[Device | None, typer.Option(
        help=DEVICE_HELP + " Under torchrun: one GPU per process.", show_default=False)] = None,
    precision: Annotated[Precision | None, typer.Option(
        show_default=False, help="fp32 (equals adain stylize) or bf16 (faster on GPUs and "
                                 "CPUs with bf16, within a few levels) [default: fp32].")
    ] = None,
    format: Annotated[Format | None, typer.Option(
        "--format", show_default=False,
        help="keep (each image's own format), jpg or png [default: keep].")] = None,
    quality: Annotated[int | None, typer.Option(
        min=1, max=100, show_default=False, help="JPEG quality." + _default("quality"))
    ] = None,
    shard: Annotated[str | None, typer.Option(
        show_default=False, help="Make only shard I of N (I from 0), e.g. "
                                 "$SLURM_ARRAY_TASK_ID/16; the last shard to finish merges "
                                 "the manifest [default: 0/1].")] = None,
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Make every output again (a rerun otherwise keeps finished "
                            "ones and resumes).")] = False,
    style_bank: Annotated[Path | None, typer.Option(
        dir_okay=False, show_default=False,
        help="Style bank file to reuse or create [default: OUT/style_bank.safetensors].")
    ] = None,
    vgg: Annotated[str | None, typer.Option(help=VGG_HELP, show_default=False)] = None,
    decoder: Annotated[Path | None, typer.Option(help=DECODER_HELP, show_default=False)
                       ] = None,
) -> None:
    """Stylise a whole dataset (Stylized-ImageNet and the like): reproducible, resumable,
    on one or many GPUs or machines."""
    if alpha is not None and alpha_range is not None:
        raise fail("give --alpha or --alpha-range, not both", 2)
    with user_errors():
        drawn = parse_alpha_range(alpha_range) if alpha_range else None
        config = from_options(
            _value(preset), content_dir=str(content_dir), style_dir=str(style_dir), out=str(output),
            num_styles=num_styles, alpha=drawn or (None if alpha is None else (alpha, alpha)),
            content_size=content_size, crop=crop, style_size=style_size,
            style_crop=style_crop, seed=seed, batch_size=batch_size, workers=workers,
            device=None if device is None else device.value, precision=_value(precision),
            format=_value(format), quality=quality, shard=shard, overwrite=overwrite or None,
            style_bank=None if style_bank is None else str(style_bank),
            vgg=vgg, decoder=None if decoder is None else str(decoder))
        from ..dataset.run import DatasetStopped
        from ..dataset.run import stylize_dataset as run
        from ..train.distributed import from_environment

        main = from_environment().is_main  # under torchrun only rank 0 shows progress
        try:
            if not main:
                run(config)
                return
            report = _run_with_progress(run, config)
        except DatasetStopped as stopped:
            if main:
                err_console.print(f"[yellow]{escape(str(stopped))}[/]", soft_wrap=True)
            raise typer.Exit(130) from None
    _summarise(report, config)


def _value(choice: enum.Enum | None) -> str | None:
    return None if choice is None else choice.value


def _run_with_progress(run, config: DatasetConfig):
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[speed]}"), TimeElapsedColumn(), TextColumn("eta"),
               TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def show(progress) -> None:
            if progress.stage not in tasks:
                name = "style bank" if progress.stage == "styles" else "stylising"
                tasks[progress.stage] = bar.add_task(name, total=progress.total, speed="")
            task = bar.tasks[tasks[progress.stage]]
            rate = task.speed
            unit = "styles/s" if progress.stage == "styles" else "images/s"
            bar.update(task.id, completed=progress.done,
                       speed=f"{rate:.1f} {unit}" if rate else "")

        return run(config, on_progress=show)


def _summarise(report, config: DatasetConfig) -> None:
    from ..batch.jobs import plural

    out = escape(config.out)
    shard = "" if report.shard.count == 1 else f" (shard {report.shard.index}/{report.shard.count})"
    rate = report.made / report.seconds if report.seconds else 0.0
    console.print(f"{plural(report.images, 'image')}{shard}: made "
                  f"{plural(report.made, 'output')}, kept {report.kept} already there, skipped "
                  f"{len(report.skipped)}, in {report.seconds:.1f} s ({rate:.2f} outputs/s on "
                  f"{report.device})")
    if report.skipped:
        first = next(iter(report.skipped.items()))
        err_console.print(f"[yellow]skipped {plural(len(report.skipped), 'file')} that could "
                          f"not be read, e.g. {escape(first[1])}; all are listed in "
                          f"{out}/skipped.txt[/]", soft_wrap=True)
    if report.bf16_unused and report.made >= 100:
        console.print("[dim]this CPU has bf16 instructions: --precision bf16 runs about 1.7x "
                      "faster, within a few levels of these fp32 pictures[/]")
    if report.merged is not None:
        console.print(f"manifest: {out}/manifest.jsonl ({plural(report.merged[0], 'output')})")
    elif report.waiting_for:
        waiting = ", ".join(map(str, report.waiting_for[:8]))
        console.print(f"manifest: waiting for shard {waiting}"
                      f"{' and others' if len(report.waiting_for) > 8 else ''}; the last "
                      f"shard to finish merges it (or run adain merge-shards {out})")


def merge_shards(
    output: Annotated[Path, typer.Argument(
        exists=True, file_okay=False, show_default=False,
        help="The -o folder of adain stylize-dataset runs made with --shard or torchrun.")],
) -> None:
    """Merge the shards' manifest parts of a stylize-dataset folder into manifest.jsonl."""
    from ..batch.jobs import plural
    from ..dataset.records import merge_parts, missing_parts

    with user_errors():
        merged = merge_parts(output)
        if merged is None:
            parts = sorted((output / ".shards").glob("manifest-*-of-*.jsonl"))
            count = int(parts[0].stem.rsplit("-of-", 1)[1])
            missing = missing_parts(output, count)
            raise AdaINError(f"{plural(len(missing), 'shard')} of {count} have not finished "
                             f"(shard {', '.join(map(str, missing[:8]))}); run them (a rerun "
                             "resumes), then merge again")
    console.print(f"merged {plural(merged[0], 'output')} into "
                  f"{escape(str(output / 'manifest.jsonl'))}; {merged[1]} skipped")
