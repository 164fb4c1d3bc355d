"""``adain train`` (a decoder) and ``adain distill`` (a compact model) from folders of
content and style images: one run loop, so one set of shared options.

Every option defaults to None, meaning "not given": a new run takes the config's default,
a resumed run keeps its own setting. The defaults shown in the help are read from
TrainConfig and DistillConfig, so they are written once.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..train.config import DistillConfig, TrainConfig
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

DISTILL_EXAMPLES = """
Examples:

\b
  adain distill --content-dir coco/ --style-dir wikiart/ --out runs/compact
  adain distill --resume runs/compact --iters 200000
  torchrun --nproc_per_node=4 -m adain distill --content-dir coco/ \\
      --style-dir wikiart/ --out runs/compact        # 4 GPUs
  adain stylize photo.jpg -s monet.jpg --model runs/compact/compact.safetensors
  adain export --model runs/compact/compact.safetensors -o models/compact-onnx
"""


class Precision(str, enum.Enum):
    auto = "auto"
    bf16 = "bf16"
    fp32 = "fp32"


def _help(text: str, setting: str, note: str = "", config: type = TrainConfig) -> str:
    """``text`` and ``config``'s default for ``setting`` (with ``note`` after it)."""
    value = config.__dataclass_fields__[setting].default
    if isinstance(value, bool):
        shown = "on" if value else "off"
    elif isinstance(value, float):
        shown = f"{value:g}"
    else:
        shown = str(value)
    return f"{text}  [default: {shown}{note}]"


# The options both commands take (the defaults they show are TrainConfig's, which
# DistillConfig keeps).
ContentDir = Annotated[Path | None, typer.Option(
    file_okay=False, help="Content images (e.g. MS-COCO), searched recursively.")]
StyleDir = Annotated[Path | None, typer.Option(
    file_okay=False, help="Style images (e.g. WikiArt), searched recursively.")]
Out = Annotated[Path | None, typer.Option(help="The run's folder (created).")]
Resume = Annotated[Path | None, typer.Option(
    file_okay=False, help="Continue the run in this folder from its latest checkpoint.")]
Vgg = Annotated[str | None, typer.Option(help=_help(VGG_HELP, "vgg"))]
Iters = Annotated[int | None, typer.Option(min=1, help=_help("Total steps.", "iters"))]
BatchSize = Annotated[int | None, typer.Option(
    min=1, help=_help("Images per step and process.", "batch_size"))]
Lr = Annotated[float | None, typer.Option(min=0.0, help=_help("Adam learning rate.", "lr"))]
LrDecay = Annotated[float | None, typer.Option(
    min=0.0, help=_help("lr / (1 + lr_decay * step).", "lr_decay"))]
ContentWeight = Annotated[float | None, typer.Option(
    min=0.0, help=_help("Weight of the content loss.", "content_weight"))]
StyleWeight = Annotated[float | None, typer.Option(
    min=0.0, help=_help("Weight of the style loss.", "style_weight"))]
ImageSize = Annotated[int | None, typer.Option(min=0, help=_help(
    "Resize the shorter side to this before cropping (aspect kept); 0 keeps it.", "image_size"))]
CropSize = Annotated[int | None, typer.Option(min=16, help=_help(
    "Random square crop; smaller images are upscaled.", "crop_size"))]
SaveEvery = Annotated[int | None, typer.Option(min=1, help=_help(
    "Checkpoint every N steps (and on Ctrl-C).", "save_every"))]
SampleEvery = Annotated[int | None, typer.Option(min=0, help=_help(
    "Sample grid every N steps; 0 never.", "sample_every"))]
LogEvery = Annotated[int | None, typer.Option(min=1, help=_help(
    "Log losses and speed every N steps.", "log_every"))]
Workers = Annotated[int | None, typer.Option(min=0, help=_help(
    "Data-loading processes.", "workers", note=", the CPU count up to 8"))]
Seed = Annotated[int | None, typer.Option(help=_help("Seed for init and data order.", "seed"))]
DeviceChoice = Annotated[Device | None, typer.Option(help=_help(DEVICE_HELP, "device"))]
PrecisionChoice = Annotated[Precision | None, typer.Option(help=_help(
    "auto: bf16 autocast on CUDA GPUs that have bf16, else fp32.", "precision"))]
Compile = Annotated[bool, typer.Option(
    "--compile", metavar="", help=_help("torch.compile the networks.", "compile"))]
NoCompile = Annotated[bool, typer.Option(
    "--no-compile", metavar="", help="Resume a --compile run without compiling.")]
KeepCheckpoints = Annotated[int | None, typer.Option(
    min=1, help=_help("Checkpoints kept.", "keep_checkpoints"))]
_NOT_SETTINGS = ("content_dir", "style_dir", "out", "resume", "compile", "no_compile")


def train(
    content_dir: ContentDir = None, style_dir: StyleDir = None, out: Out = None,
    resume: Resume = None, vgg: Vgg = None, iters: Iters = None, batch_size: BatchSize = None,
    lr: Lr = None, lr_decay: LrDecay = None, content_weight: ContentWeight = None,
    style_weight: StyleWeight = None, image_size: ImageSize = None, crop_size: CropSize = None,
    save_every: SaveEvery = None, sample_every: SampleEvery = None, log_every: LogEvery = None,
    workers: Workers = None, seed: Seed = None, device: DeviceChoice = None,
    precision: PrecisionChoice = None, compile: Compile = False, no_compile: NoCompile = False,
    keep_checkpoints: KeepCheckpoints = None,
) -> None:
    """Train an AdaIN decoder (paper defaults); resumable, one or many GPUs (torchrun)."""
    given = {k: v for k, v in locals().items() if v is not None and k not in _NOT_SETTINGS}
    config = _run(TrainConfig, given, content_dir, style_dir, out, resume, compile, no_compile)
    if config is not None:
        console.print(f"trained to step {config.iters}; decoder: "
                      f"{escape(str(Path(config.out) / 'decoder.safetensors'))} "
                      f"(use it with adain stylize --decoder)")


def distill(
    content_dir: ContentDir = None, style_dir: StyleDir = None, out: Out = None,
    resume: Resume = None, vgg: Vgg = None,
    decoder: Annotated[str | None, typer.Option(help=_help(
        "The teacher's decoder (decoder.pth or .safetensors): with --vgg, the pair the "
        "student learns from.",
        "decoder", config=DistillConfig))] = None,
    width: Annotated[float | None, typer.Option(min=0.01, max=1.0, help=_help(
        "The student's channels as a fraction of VGG-19's (0.25: 16 to 128, about 16x "
        "fewer FLOPs).", "width", config=DistillConfig))] = None,
    encoder_iters: Annotated[int | None, typer.Option(min=1, help=_help(
        "Steps that train the encoder (to the teacher's features); the decoder learns in "
        "the steps after, up to --iters.", "encoder_iters", config=DistillConfig))] = None,
    feature_weight: Annotated[float | None, typer.Option(min=0.0, help=_help(
        "Weight of the encoder's feature loss (through the linear embeddings).",
        "feature_weight", config=DistillConfig))] = None,
    iters: Iters = None, batch_size: BatchSize = None,
    lr: Lr = None, lr_decay: LrDecay = None, content_weight: ContentWeight = None,
    style_weight: StyleWeight = None, image_size: ImageSize = None, crop_size: CropSize = None,
    save_every: SaveEvery = None, sample_every: SampleEvery = None, log_every: LogEvery = None,
    workers: Workers = None, seed: Seed = None, device: DeviceChoice = None,
    precision: PrecisionChoice = None, compile: Compile = False, no_compile: NoCompile = False,
    keep_checkpoints: KeepCheckpoints = None,
) -> None:
    """Distil a compact encoder and decoder from the VGG pair (--vgg, --decoder) for real
    time on CPUs; resumable, one or many GPUs (torchrun). Writes RUN/compact.safetensors."""
    given = {k: v for k, v in locals().items() if v is not None and k not in _NOT_SETTINGS}
    config = _run(DistillConfig, given, content_dir, style_dir, out, resume, compile, no_compile)
    if config is not None:
        model = Path(config.out) / "compact.safetensors"
        console.print(f"distilled to step {config.iters}; compact model: {escape(str(model))} "
                      f"(use it with adain stylize --model, adain export --model)")


def _run(kind: type[TrainConfig], given: dict, content_dir: Path | None,
         style_dir: Path | None, out: Path | None, resume: Path | None, compile: bool,
         no_compile: bool) -> TrainConfig | None:
    """Start or resume a run of ``kind``; its config on the main process, None elsewhere."""
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
            config = resume_config(resume, kind.TASK, **given)
        else:
            if not (content_dir and style_dir and out):
                raise fail("give --content-dir, --style-dir and --out (or --resume RUN)", 2)
            config = kind(content_dir=str(content_dir), style_dir=str(style_dir),
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
    return config if main else None


def _run_with_progress(run_training, config, resume: bool) -> None:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeRemainingColumn())
    with Progress(*columns, console=err_console) as bar:
        doing = {"train": "training", "distill": "distilling"}[config.TASK]
        task = bar.add_task(doing, total=config.iters, status="")

        def show(progress) -> None:
            if bar.tasks[task].completed == 0:  # a resumed run starts part-way: time from here
                bar.reset(task, completed=progress.step - 1)
            status = f"lr {progress.lr:.2e}"
            if progress.images_per_second:  # losses and speed arrive with the first log step
                losses = "  ".join(f"{name} {value:.3f}" for name, value in progress.losses.items())
                status = f"{losses}  {status}  {progress.images_per_second:.1f} img/s"
            bar.update(task, completed=progress.step, status=status)

        run_training(config, on_progress=show, resume=resume)
