"""Training a decoder: the paper's objective, fast on GPUs, resumable, on one or many.

    config = TrainConfig(content_dir="coco", style_dir="wikiart", out="runs/mine")
    decoder = train(config)

The encoder is frozen; only the decoder learns (Adam, lr / (1 + lr_decay * step)). RUN
holds ``config.json``, ``checkpoints/`` (resumable), ``tb/`` (TensorBoard), ``samples/``
and at the end ``decoder.safetensors``. Under torchrun each process trains on its own
part of every step's data with DistributedDataParallel; only rank 0 writes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from . import distributed
from .atomic import atomic_path
from .checkpoint import list_checkpoints, load_checkpoint, remove_stale_temporaries, save_checkpoint
from .data import PairDataset, PositionSampler, collate, list_images
from .decoder import Decoder
from .device import resolve_device
from .errors import AdaINError
from .step import StepModels, TrainStep, precision_for
from .weights import load_decoder, load_encoder, save_weights

log = logging.getLogger(__name__)

STOP_CHECK_EVERY = 10  # steps between the ranks' agreement on a Ctrl-C, under torchrun


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of a run; saved as RUN/config.json and in every checkpoint."""

    content_dir: str
    style_dir: str
    out: str
    vgg: str = "models/vgg_normalised.pth"
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
        if self.image_size and self.image_size < self.crop_size:
            raise AdaINError(f"--image-size {self.image_size} is smaller than --crop-size "
                             f"{self.crop_size}; raise it or use 0 to keep images' sizes")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise AdaINError(f"unknown precision {self.precision!r}; use auto, bf16 or fp32")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class Progress:
    """What the caller hears after every step (losses from the latest logged step)."""

    step: int
    total: int
    content_loss: float
    style_loss: float
    lr: float
    images_per_second: float


def load_run_config(run: Path) -> TrainConfig:
    path = run / "config.json"
    if not path.is_file():
        raise AdaINError(f"{run} is not a training run (no config.json); start one with "
                         "adain train --content-dir ... --style-dir ... --out RUN")
    return TrainConfig.from_dict(json.loads(path.read_text()))


def train(config: TrainConfig, on_progress: Callable[[Progress], None] | None = None,
          process: distributed.Process | None = None, resume: bool = False) -> Decoder:
    """Train up to ``config.iters`` steps; ``resume`` continues from RUN's latest checkpoint.

    Returns the trained decoder (the unwrapped module) on every process.
    """
    if not resume and (Path(config.out) / "config.json").exists():
        raise AdaINError(f"{config.out} already holds a training run; continue it with "
                         f"--resume {config.out}, or choose another --out")
    process = process or distributed.from_environment()
    device = resolve_device(config.device)
    if device.type == "cuda" and process.distributed:
        device = torch.device("cuda", process.local_rank)
        torch.cuda.set_device(device)
    distributed.init(process, device)
    try:
        return _Trainer(config, process, device).run(on_progress)
    finally:
        distributed.shutdown(process)


class _Trainer:
    def __init__(self, config: TrainConfig, process: distributed.Process,
                 device: torch.device) -> None:
        self.config, self.process, self.device = config, process, device
        self.run_dir = Path(config.out)
        self.contents = list_images(Path(config.content_dir), "content")
        self.styles = list_images(Path(config.style_dir), "style")
        self.encoder = load_encoder(config.vgg)
        torch.manual_seed(config.seed)
        self.decoder = Decoder()
        self.optimizer = torch.optim.Adam(self.decoder.parameters(), lr=config.lr)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: 1.0 / (1.0 + config.lr_decay * step))
        self.skipped: set[str] = set()  # one-line reasons naming the unreadable files
        self.step = self._resume()
        self.stop_requested = False
        self.channels_last = config.channels_last and device.type == "cuda"

    def _resume(self) -> int:
        """Load the newest readable checkpoint (a broken newest one is skipped, with a warning)."""
        state = None
        for path in reversed(list_checkpoints(self.run_dir)):
            try:
                state = load_checkpoint(path)
                break
            except AdaINError as exc:
                log.warning("%s; trying the checkpoint before it", exc)
        if state is None:
            return 0
        if state.get("encoder_sha256") != self.encoder.sha256:
            raise AdaINError(f"{path} was trained against other encoder weights than "
                             f"{self.config.vgg}; resume with the same --vgg")
        if state.get("world_size", 1) != self.process.world_size:
            log.warning("%s was saved by %d processes and resumes with %d: the effective batch "
                        "and the data order change from here on", path,
                        state.get("world_size", 1), self.process.world_size)
        self.decoder.load_state_dict(state["decoder"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"])
        if self.process.is_main:  # rank 0's list; other ranks' skips are counted, not named
            self.skipped.update(state.get("skipped_files", []))
        log.info("resuming %s from step %d", self.run_dir, state["step"])
        return int(state["step"])

    def run(self, on_progress: Callable[[Progress], None] | None) -> Decoder:
        config, main = self.config, self.process.is_main
        if self.step > config.iters:
            raise AdaINError(f"{self.run_dir} is already at step {self.step}, past --iters "
                             f"{config.iters}; give a larger --iters to train on")
        if main:
            self._write_config()
            remove_stale_temporaries(self.run_dir)
        if self.step < config.iters:
            self._train_steps(on_progress)
        finished = self.step == config.iters
        if main and finished and self._decoder_step() != self.step:
            self._save_decoder()
        if not finished:
            raise TrainingStopped(self.step, self.run_dir)
        return self.decoder

    def _train_steps(self, on_progress: Callable[[Progress], None] | None) -> None:
        config = self.config
        step_fn = TrainStep(self._models(), self.optimizer, config.content_weight,
                            config.style_weight, precision_for(config.precision, self.device),
                            self.device, self.channels_last)
        logger = _make_log(self.run_dir) if self.process.is_main else None
        previous = _catch_stop_signals(self)
        try:
            self._loop(step_fn, logger, on_progress)
        finally:
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, previous[0])
                signal.signal(signal.SIGTERM, previous[1])
            if logger:
                logger.close()
        if self.process.is_main and self.step % config.save_every:  # else saved in the loop
            self._save_checkpoint()

    def _decoder_step(self) -> int:
        """The step recorded in RUN/decoder.safetensors, or -1 if there is none."""
        try:
            return int(load_decoder(self.run_dir / "decoder.safetensors").metadata["step"])
        except (AdaINError, KeyError, ValueError):
            return -1

    def _models(self) -> StepModels:
        encoder = self.encoder.module.to(self.device)
        decoder = self.decoder.to(self.device)
        if self.channels_last:
            encoder, decoder = (m.to(memory_format=torch.channels_last)
                                for m in (encoder, decoder))
        for state in self.optimizer.state.values():  # resumed Adam moments follow the params
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(self.device)
        trained = decoder
        if self.process.distributed:
            trained = DistributedDataParallel(
                decoder, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if self.config.compile:
            encoder, trained = torch.compile(encoder), torch.compile(trained)
        return StepModels(encoder, trained)

    def _loader(self) -> DataLoader:
        config = self.config
        dataset = PairDataset(self.contents, self.styles, config.image_size, config.crop_size,
                              config.seed)
        sampler = PositionSampler(self.step, config.iters, config.batch_size,
                                  self.process.rank, self.process.world_size)
        workers = config.workers
        return DataLoader(dataset, batch_size=config.batch_size, sampler=sampler,
                          num_workers=workers, collate_fn=collate,
                          pin_memory=self.device.type == "cuda",
                          prefetch_factor=4 if workers else None,
                          persistent_workers=False)

    def _loop(self, step_fn: TrainStep, logger, on_progress) -> None:
        config = self.config
        losses = (float("nan"), float("nan"))
        speed, clock, clock_step = 0.0, time.perf_counter(), self.step
        global_batch = config.batch_size * self.process.world_size
        for content, style, skipped in self._loader():
            self._note_skipped(skipped)
            result = step_fn(content, style)
            self.schedule.step()
            self.step += 1
            if self.step % config.log_every == 0 or self.step == config.iters:
                losses = (result.content_loss.item(), result.style_loss.item())
                skipped_total = distributed.sum_over_ranks(self.process, len(self.skipped),
                                                           self.device)
                now = time.perf_counter()
                speed = (self.step - clock_step) * global_batch / max(now - clock, 1e-9)
                clock, clock_step = now, self.step
                if logger:
                    logger.scalars(self.step, {
                        "loss/content": losses[0], "loss/style": losses[1],
                        "lr": self.schedule.get_last_lr()[0], "images_per_second": speed,
                        "data/skipped_files": skipped_total})
            if logger and config.sample_every and self.step % config.sample_every == 0:
                logger.samples(self.step, *result.sample(4))
            if self.process.is_main and self.step % config.save_every == 0:
                self._save_checkpoint()
            if on_progress and self.process.is_main:
                on_progress(Progress(self.step, config.iters, *losses,
                                     self.schedule.get_last_lr()[0], speed))
            # Under torchrun all ranks must stop after the same step; asking costs a sync.
            check = not self.process.distributed or self.step % STOP_CHECK_EVERY == 0
            if check and distributed.any_rank(self.process, self.stop_requested, self.device):
                self.stop_requested = True
                break

    def _note_skipped(self, skipped: list[str]) -> None:
        for reason in skipped:
            if reason not in self.skipped:
                self.skipped.add(reason)
                log.warning("skipped an unreadable image (%d so far): %s", len(self.skipped),
                            reason)

    def _write_config(self) -> None:
        with atomic_path(self.run_dir / "config.json") as tmp:
            tmp.write_text(json.dumps(self.config.to_dict(), indent=2) + "\n")

    def _save_checkpoint(self) -> Path:
        return save_checkpoint(self.run_dir, {
            "step": self.step,
            "decoder": self.decoder.state_dict(),  # the unwrapped module: no prefixes
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "rng": torch.get_rng_state(),
            "config": self.config.to_dict(),
            "encoder": self.encoder.identity,
            "encoder_sha256": self.encoder.sha256,
            "world_size": self.process.world_size,
            "skipped_files": sorted(self.skipped),
        }, self.config.keep_checkpoints)

    def _save_decoder(self) -> Path:
        return save_weights(self.decoder, self.run_dir / "decoder.safetensors", "decoder",
                            step=self.step, encoder=self.encoder.identity,
                            encoder_sha256=self.encoder.sha256,
                            config=json.dumps(self.config.to_dict()))


class TrainingStopped(AdaINError):
    """Ctrl-C or SIGTERM: the run stopped after a whole step and saved a checkpoint."""

    def __init__(self, step: int, run: Path) -> None:
        super().__init__(f"stopped at step {step}; the checkpoint is saved, continue with "
                         f"adain train --resume {run}")
        self.step = step


def _make_log(run: Path):
    from .run_log import RunLog

    return RunLog(run)


def _catch_stop_signals(trainer: _Trainer) -> tuple:
    """Ctrl-C and SIGTERM finish the current step, then save and stop."""
    owner = os.getpid()  # data-loader workers inherit the handler; only the owner acts

    def request_stop(signum, frame) -> None:
        if os.getpid() != owner:
            return
        if trainer.stop_requested:  # a second Ctrl-C stops at once
            raise KeyboardInterrupt
        trainer.stop_requested = True
        log.warning("stopping after this step (press Ctrl-C again to abort at once)")

    previous = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
    return previous
