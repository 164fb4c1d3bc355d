"""The settings of a training run, and what a resumed run may change (torch-free).

``TrainConfig`` holds every setting of ``adain train`` (a decoder); ``DistillConfig`` adds
those of ``adain distill`` (a compact encoder and decoder, taught by the VGG pair). Either
is saved as RUN/config.json, with its ``task``, and in every checkpoint. Its paths are
made absolute when it is made, so a run resumes from any folder.
``resume_config(run, task, **changes)`` reads a run's settings back with the changes a resume
may make (those in ``RESUMABLE``); any other change is refused with one line.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdaINError
from ..paths import DEFAULT_DECODER, DEFAULT_VGG

TORCHVISION = "torchvision"  # the --vgg value that is not a path (adain.weights.TORCHVISION)
# Settings a resumed run may change (how far, where and how fast it runs, how often it
# saves); the others stay as the run was started.
RESUMABLE = frozenset({"iters", "workers", "device", "save_every", "sample_every", "log_every",
                       "keep_checkpoints", "compile", "channels_last"})
_PATHS = ("content_dir", "style_dir", "out", "vgg", "decoder")  # made absolute: resumable


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run; saved as RUN/config.json and in every checkpoint.

    The paths are made absolute (from the current folder) when the config is made, so a
    run resumes from any folder.
    """

    TASK = "train"  # what RUN/config.json calls the run; the command that resumes it
    content_dir: str
    style_dir: str
    out: str
    vgg: str = str(DEFAULT_VGG)
    iters: int = 160_000
    batch_size: int = 8  # per process
    lr: float = 1e-4
    lr_decay: float = 5e-5
    content_weight: float = 1.0
    style_weight: float = 10.0
    image_size: int = 512  # shorter side before the crop; 0 keeps it
    crop_size: int = 256
    save_every: int = 10_000
    sample_every: int = 1_000
    log_every: int = 100
    workers: int = min(8, os.cpu_count() or 1)
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto (bf16 autocast on CUDA GPUs that have it), bf16, fp32
    channels_last: bool = True  # on CUDA; on CPUs NCHW is faster for these convs
    compile: bool = False
    keep_checkpoints: int = 3

    def __post_init__(self) -> None:
        for name in _PATHS:
            if not hasattr(self, name):
                continue
            value = getattr(self, name)
            if not (name == "vgg" and value == TORCHVISION):
                object.__setattr__(self, name, str(Path(value).absolute()))
        if self.image_size and self.image_size < self.crop_size:
            raise AdaINError(f"--image-size {self.image_size} is smaller than --crop-size "
                             f"{self.crop_size}; raise it or use 0 to keep images' sizes")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise AdaINError(f"unknown precision {self.precision!r}; use auto, bf16 or fp32")

    @property
    def command(self) -> str:
        return f"adain {self.TASK}"

    def to_dict(self) -> dict:
        return {"task": self.TASK, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class DistillConfig(TrainConfig):
    """``adain distill``: a compact encoder and decoder learn from the VGG pair (``vgg``,
    ``decoder``): for ``encoder_iters`` steps the encoder, to reproduce the teacher's
    relu1_1..relu4_1 features through 1x1 linear embeddings (weighted ``feature_weight``);
    then the decoder, AdaIN's content and style losses measured with the teacher's VGG
    (``content_weight``, ``style_weight``)."""

    TASK = "distill"
    decoder: str = str(DEFAULT_DECODER)  # the teacher's decoder (samples; its hash is kept)
    width: float = 0.25  # the student's channels: a fraction of VGG-19's
    encoder_iters: int = 40_000  # steps that train the encoder; the decoder learns after
    feature_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.width <= 1.0:
            raise AdaINError(f"--width must be in (0, 1] (a fraction of VGG-19's channels), "
                             f"got {self.width}")
        if not 0 < self.encoder_iters < self.iters:
            raise AdaINError(f"the run trains the encoder for {self.encoder_iters} steps "
                             f"(--encoder-iters) of {self.iters} in all (--iters): the encoder "
                             "needs at least one and the decoder the steps after it; change "
                             "either")


TASKS = {config.TASK: config for config in (TrainConfig, DistillConfig)}


def load_run_config(run: Path, task: str | None = None) -> TrainConfig:
    """The settings of the run in ``run``; with ``task``, a run of another task is refused
    (``adain train --resume`` on a distillation run names the command that resumes it)."""
    path = run / "config.json"
    if not path.is_file():
        raise AdaINError(f"{run} is not a training run (no config.json); start one with "
                         f"adain {task or 'train'} --content-dir ... --style-dir ... --out RUN")
    try:
        values = json.loads(path.read_text())
        kind = values.get("task", TrainConfig.TASK)  # runs before distill have no task
        config = TASKS[kind].from_dict(values)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # not a run's settings
        raise AdaINError(f"{path} is not the settings of a training run ({exc})") from exc
    if task is not None and config.TASK != task:
        raise AdaINError(f"{run} is a run of {config.command}, not adain {task}; continue it "
                         f"with {config.command} --resume {run}")
    return config


def resume_config(run: str | Path, task: str | None = None, **changes: object) -> TrainConfig:
    """The settings of the run in ``run`` with ``changes`` (only settings in RESUMABLE may
    change); ``out`` is ``run``, wherever the run was started from. With ``task`` a run
    of another task is refused."""
    saved = load_run_config(Path(run), task)
    config = dataclasses.replace(saved, out=str(run), **changes)
    refuse_fixed_changes(saved, config, Path(run))
    return config


def refuse_fixed_changes(saved: TrainConfig, config: TrainConfig, run: Path) -> None:
    """Refuse ``config`` for resuming the run ``saved`` if it changes a setting outside
    RESUMABLE (``out`` may differ: a run folder may have been moved)."""
    fixed = [field.name for field in dataclasses.fields(saved)
             if field.name not in RESUMABLE | {"out"}
             and getattr(saved, field.name) != getattr(config, field.name)]
    if fixed:
        changes = ", ".join(f"--{name.replace('_', '-')} (the run has {getattr(saved, name)}, "
                            f"given {getattr(config, name)})" for name in fixed)
        raise AdaINError(f"resuming {run} keeps the settings it was started with; these cannot "
                         f"change: {changes}; start a new run (another --out) to change them")
