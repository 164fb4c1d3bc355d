"""``adain train``: train a decoder from folders of content and style images."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from .common import Device, console, err_console, fail, user_errors

EXAMPLES = """
[b]Examples[/b]

  adain train --content-dir coco/ --style-dir wikiart/ --out runs/paper
  adain train --resume runs/paper --iters 200000          [dim]# continue, to 200k steps[/]
  torchrun --nproc_per_node=4 -m adain train --content-dir coco/ --style-dir wikiart/ --out runs/ddp
  tensorboard --logdir runs/                               [dim]# losses, lr, speed, samples[/]
"""
# Settings a resumed run may change; the others must stay as the run was started.
RESUMABLE = {"iters", "workers", "device", "save_every", "sample_every", "log_every",
             "keep_checkpoints", "compile"}


def train(
    content_dir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Content images (e.g. MS-COCO), searched recursively.")] = None,
    style_dir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Style images (e.g. WikiArt), searched recursively.")] = None,
    out: Annotated[Path | None, typer.Option(help="The run's folder (created).")] = None,
    resume: Annotated[Path | None, typer.Option(
        file_okay=False, help="Continue the run in this folder from its latest checkpoint.")
    ] = None,
    vgg: Annotated[str | None, typer.Option(
        help="Encoder: vgg_normalised.pth, an adain .safetensors, a torchvision vgg19 .pth, "
             "or 'torchvision'.  \\[default: models/vgg_normalised.pth]")] = None,
    iters: Annotated[int | None, typer.Option(min=1, help="Total steps.  \\[default: 160000]")
                     ] = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help="Images per step and process.  \\[default: 8]")] = None,
    lr: Annotated[float | None, typer.Option(min=0.0, help="Adam learning rate.  \\[default: 1e-4]")
                  ] = None,
    lr_decay: Annotated[float | None, typer.Option(
        min=0.0, help="lr / (1 + lr_decay * step).  \\[default: 5e-5]")] = None,
    content_weight: Annotated[float | None, typer.Option(min=0.0, help="\\[default: 1]")] = None,
    style_weight: Annotated[float | None, typer.Option(min=0.0, help="\\[default: 10]")] = None,
    image_size: Annotated[int | None, typer.Option(
        min=0, help="Resize the shorter side to this before cropping (aspect kept); 0 keeps "
                    "it.  \\[default: 512]")] = None,
    crop_size: Annotated[int | None, typer.Option(
        min=16, help="Random square crop; smaller images are upscaled.  \\[default: 256]")] = None,
    save_every: Annotated[int | None, typer.Option(
        min=1, help="Checkpoint every N steps (and on Ctrl-C).  \\[default: 10000]")] = None,
    sample_every: Annotated[int | None, typer.Option(
        min=0, help="Sample grid every N steps; 0 never.  \\[default: 1000]")] = None,
    log_every: Annotated[int | None, typer.Option(
        min=1, help="Log losses and speed every N steps.  \\[default: 100]")] = None,
    workers: Annotated[int | None, typer.Option(
        min=0, help="Data-loading processes.  \\[default: CPU count, at most 8]")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for init and data order.  \\[default: 0]")
                    ] = None,
    device: Annotated[Device | None, typer.Option(help="\\[default: auto]")] = None,
    precision: Annotated[str | None, typer.Option(
        help="auto (bf16 autocast on CUDA GPUs with bf16), bf16 or fp32.  \\[default: auto]")
    ] = None,
    compile: Annotated[bool | None, typer.Option(
        "--compile/--no-compile", help="torch.compile the networks.  \\[default: no]")] = None,
    keep_checkpoints: Annotated[int | None, typer.Option(
        min=1, help="Checkpoints kept.  \\[default: 3]")] = None,
) -> None:
    """Train an AdaIN decoder (paper defaults); resumable, one or many GPUs (torchrun)."""
    given = {k: v for k, v in locals().items()
             if v is not None and k not in ("content_dir", "style_dir", "out", "resume")}
    given = {k: (v.value if isinstance(v, Device) else v) for k, v in given.items()}
    with user_errors():
        from ..distributed import from_environment
        from ..train import TrainConfig, TrainingStopped, load_run_config
        from ..train import train as run_training

        if resume is not None:
            if content_dir or style_dir or out:
                raise fail("--resume continues a run as it was started; leave out "
                           "--content-dir, --style-dir and --out", 2)
            fixed = sorted(set(given) - RESUMABLE)
            if fixed:
                raise fail(f"--resume keeps the run's settings; these cannot change: "
                           f"{', '.join('--' + k.replace('_', '-') for k in fixed)}", 2)
            # The run is where --resume points, wherever it was started from.
            config = dataclasses.replace(load_run_config(resume), out=str(resume), **given)
        else:
            if not (content_dir and style_dir and out):
                raise fail("give --content-dir, --style-dir and --out (or --resume RUN)", 2)
            if "vgg" in given and given["vgg"] != "torchvision":
                given["vgg"] = str(Path(given["vgg"]).absolute())
            # Absolute paths, so that --resume works from any folder.
            config = TrainConfig(content_dir=str(content_dir.absolute()),
                                 style_dir=str(style_dir.absolute()), out=str(out.absolute()),
                                 **{"vgg": str(Path(TrainConfig.vgg).absolute()), **given})
        main = from_environment().is_main  # under torchrun only rank 0 shows progress
        try:
            if main:
                _run_with_progress(run_training, config, resume is not None)
            else:
                run_training(config, resume=resume is not None)
        except TrainingStopped as stopped:
            if main:
                err_console.print(f"[yellow]{escape(str(stopped))}[/]", soft_wrap=True)
            raise typer.Exit(130) from None
    if not main:
        return
    console.print(f"trained to step {config.iters}; decoder: "
                  f"{escape(str(Path(config.out) / 'decoder.safetensors'))} "
                  f"(use it with adain stylize --decoder)")


def _run_with_progress(run_training, config, resume: bool) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeRemainingColumn())
    with Progress(*columns, console=err_console) as bar:
        task = bar.add_task("training", total=config.iters, status="")

        def show(progress) -> None:
            if bar.tasks[task].completed == 0:  # a resumed run starts part-way: time from here
                bar.reset(task, completed=progress.step - 1)
            status = f"lr {progress.lr:.2e}"
            if progress.images_per_second:  # losses and speed arrive with the first log step
                status = (f"content {progress.content_loss:.3f}  style {progress.style_loss:.3f}"
                          f"  {status}  {progress.images_per_second:.1f} img/s")
            bar.update(task, completed=progress.step, status=status)

        run_training(config, on_progress=show, resume=resume)
