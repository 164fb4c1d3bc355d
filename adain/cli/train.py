"""``adain train``: train a decoder from folders of content and style images.

Every option defaults to None, meaning "not given": a new run takes TrainConfig's
default, a resumed run keeps its own setting. The defaults shown in the help are read
from TrainConfig, so they are written once.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..train.config import TrainConfig
from .common import Device, console, err_console, fail, user_errors
from .options import DEVICE_HELP, VGG_HELP

EXAMPLES = """
Examples:

\b
  adain train --content-dir coco/ --style-dir wikiart/ --out runs/paper
  adain train --resume runs/paper --iters 200000     # on to 200k steps
  torchrun --nproc_per_node=4 -m adain train --content-dir coco/ \\
      --style-dir wikiart/ --out runs/ddp            # 4 GPUs
  tensorboard --logdir runs/                         # losses, lr, samples
"""


class Precision(str, enum.Enum):
    auto = "auto"
    bf16 = "bf16"
    fp32 = "fp32"


def _help(text: str, setting: str, note: str = "") -> str:
    """``text`` and TrainConfig's default for ``setting`` (with ``note`` after it)."""
    value = TrainConfig.__dataclass_fields__[setting].default
    if isinstance(value, bool):
        shown = "on" if value else "off"
    elif isinstance(value, float):
        shown = f"{value:g}"
    else:
        shown = str(value)
    return f"{text}  [default: {shown}{note}]"


def train(
    content_dir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Content images (e.g. MS-COCO), searched recursively.")] = None,
    style_dir: Annotated[Path | None, typer.Option(
        file_okay=False, help="Style images (e.g. WikiArt), searched recursively.")] = None,
    out: Annotated[Path | None, typer.Option(help="The run's folder (created).")] = None,
    resume: Annotated[Path | None, typer.Option(
        file_okay=False, help="Continue the run in this folder from its latest checkpoint.")
    ] = None,
    vgg: Annotated[str | None, typer.Option(help=_help(VGG_HELP, "vgg"))] = None,
    iters: Annotated[int | None, typer.Option(min=1, help=_help("Total steps.", "iters"))] = None,
    batch_size: Annotated[int | None, typer.Option(
        min=1, help=_help("Images per step and process.", "batch_size"))] = None,
    lr: Annotated[float | None, typer.Option(min=0.0, help=_help("Adam learning rate.", "lr"))
                  ] = None,
    lr_decay: Annotated[float | None, typer.Option(
        min=0.0, help=_help("lr / (1 + lr_decay * step).", "lr_decay"))] = None,
    content_weight: Annotated[float | None, typer.Option(
        min=0.0, help=_help("Weight of the content loss.", "content_weight"))] = None,
    style_weight: Annotated[float | None, typer.Option(
        min=0.0, help=_help("Weight of the style loss.", "style_weight"))] = None,
    image_size: Annotated[int | None, typer.Option(min=0, help=_help(
        "Resize the shorter side to this before cropping (aspect kept); 0 keeps it.",
        "image_size"))] = None,
    crop_size: Annotated[int | None, typer.Option(min=16, help=_help(
        "Random square crop; smaller images are upscaled.", "crop_size"))] = None,
    save_every: Annotated[int | None, typer.Option(min=1, help=_help(
        "Checkpoint every N steps (and on Ctrl-C).", "save_every"))] = None,
    sample_every: Annotated[int | None, typer.Option(min=0, help=_help(
        "Sample grid every N steps; 0 never.", "sample_every"))] = None,
    log_every: Annotated[int | None, typer.Option(min=1, help=_help(
        "Log losses and speed every N steps.", "log_every"))] = None,
    workers: Annotated[int | None, typer.Option(min=0, help=_help(
        "Data-loading processes.", "workers", note=", the CPU count up to 8"))] = None,
    seed: Annotated[int | None, typer.Option(help=_help("Seed for init and data order.", "seed"))
                    ] = None,
    device: Annotated[Device | None, typer.Option(help=_help(DEVICE_HELP, "device"))] = None,
    precision: Annotated[Precision | None, typer.Option(help=_help(
        "auto: bf16 autocast on CUDA GPUs that have bf16, else fp32.", "precision"))] = None,
    compile: Annotated[bool, typer.Option(
        "--compile", metavar="", help=_help("torch.compile the networks.", "compile"))] = False,
    no_compile: Annotated[bool, typer.Option(
        "--no-compile", metavar="", help="Resume a --compile run without compiling.")] = False,
    keep_checkpoints: Annotated[int | None, typer.Option(
        min=1, help=_help("Checkpoints kept.", "keep_checkpoints"))] = None,
) -> None:
    """Train an AdaIN decoder (paper defaults); resumable, one or many GPUs (torchrun)."""
    given = {k: v for k, v in locals().items() if v is not None and k not in (
        "content_dir", "style_dir", "out", "resume", "compile", "no_compile")}
    given = {k: (v.value if isinstance(v, enum.Enum) else v) for k, v in given.items()}
    if compile and no_compile:
        raise fail("give --compile or --no-compile, not both", 2)
    if compile or no_compile:
        given["compile"] = compile
    with user_errors():
        from ..train.distributed import from_environment
        from ..train.loop import TrainingStopped, resume_config
        from ..train.loop import train as run_training

        if resume is not None:
            if content_dir or style_dir or out:
                raise fail("--resume continues a run as it was started; leave out "
                           "--content-dir, --style-dir and --out", 2)
            config = resume_config(resume, **given)
        else:
            if not (content_dir and style_dir and out):
                raise fail("give --content-dir, --style-dir and --out (or --resume RUN)", 2)
            config = TrainConfig(content_dir=str(content_dir), style_dir=str(style_dir),
                                 out=str(out), **given)
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
