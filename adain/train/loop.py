"""Training runs: a decoder (the paper's objective) or a distilled compact model, fast on
GPUs, resumable, on one or many.

    config = TrainConfig(content_dir="coco", style_dir="wikiart", out="runs/mine")
    decoder = train(config)
    decoder = train(resume_config("runs/mine", iters=300_000), resume=True)
    student = train(DistillConfig(content_dir="coco", style_dir="wikiart", out="runs/c"))

What learns, and from what, is the run's objective (``objective.py``): for a
``TrainConfig`` the decoder, for a ``DistillConfig`` the compact encoder and decoder; the
teacher networks are frozen. Adam, lr / (1 + lr_decay * step). RUN holds ``config.json``,
``checkpoints/`` (resumable), ``tb/`` (TensorBoard), ``samples/`` and at the end
``decoder.safetensors`` (or ``compact.safetensors``). Under torchrun each process trains
on its own part of every step's data with DistributedDataParallel; only rank 0 writes.

Resume rules: a resumed run keeps its settings except those in ``RESUMABLE``; it starts
from its newest checkpoint that loads (a broken one is passed over with a warning), and
is refused if checkpoints exist but none loads, or one was written by a newer adain,
never started again at step 0 over them. A new run refuses a folder that holds a run,
unless that run stopped before saving anything (no checkpoint, no result): it starts
again there with the new settings.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from ..atomic import write_text
from ..device import resolve_device
from ..errors import AdaINError
from ..outputs import check_writable_path
from . import distributed
from .checkpoint import (
    UnreadableCheckpoint,
    checkpoint_dir,
    list_checkpoints,
    load_checkpoint,
    remove_stale_temporaries,
    save_checkpoint,
)
from .config import (
    RESUMABLE,
    DistillConfig,
    TrainConfig,
    load_run_config,
    refuse_fixed_changes,
    resume_config,
)
from .data import PairDataset, PositionSampler, collate, list_images
from .objective import RESULTS, objective_class
from .step import Precision, precision_for

__all__ = ["RESUMABLE", "DistillConfig", "TrainConfig", "TrainProgress", "TrainingStopped",
           "load_run_config", "resume_config", "train"]

log = logging.getLogger(__name__)

STOP_CHECK_EVERY = 10  # steps between the ranks' agreement on a Ctrl-C, under torchrun


@dataclass(frozen=True)
class TrainProgress:
    """What the caller hears after every step (losses from the latest logged step)."""

    step: int
    total: int
    # "content", "style" (a distillation's encoder phase: "feature"); {} before the first log
    losses: dict[str, float]
    lr: float
    images_per_second: float

    @property
    def content_loss(self) -> float:
        return self.losses.get("content", float("nan"))

    @property
    def style_loss(self) -> float:
        return self.losses.get("style", float("nan"))


def _check_new_run(run: Path, config: TrainConfig, process: distributed.Process) -> None:
    """Refuse a folder holding a run, unless that run saved nothing (no checkpoint, no
    result): a start that failed early may start again there with corrected settings."""
    if not (run / "config.json").exists():
        return
    if list_checkpoints(run) or any((run / name).exists() for name in RESULTS):
        try:
            command = load_run_config(run).command  # the command that started it resumes it
        except AdaINError:
            command = config.command
        raise AdaINError(f"{run} already holds a training run; continue it with "
                         f"{command} --resume {run}, or choose another --out")
    if process.is_main:
        log.warning("%s holds a run that stopped before its first checkpoint; starting it "
                    "again from step 0 with the settings given now", run)


def train(config: TrainConfig, on_progress: Callable[[TrainProgress], None] | None = None,
          process: distributed.Process | None = None, resume: bool = False) -> nn.Module:
    """Train up to ``config.iters`` steps; ``resume`` continues from RUN's newest checkpoint
    that loads, with the run's own settings (see ``resume_config`` and RESUMABLE).

    Returns what learned (the unwrapped module) on every process: the decoder, or for a
    ``DistillConfig`` the student (``.encoder``, ``.decoder``).
    """
    run = Path(config.out)
    process = process or distributed.from_environment()
    check_writable_path(run, folder=True)
    if resume:
        refuse_fixed_changes(load_run_config(run, config.TASK), config, run)
    else:
        _check_new_run(run, config, process)
    device = resolve_device(config.device)
    if device.type == "cuda" and process.distributed:
        device = torch.device("cuda", process.local_rank)
        torch.cuda.set_device(device)
    distributed.init(process, device)
    try:
        trainer = _Trainer(config, process, device)  # checks the data before RUN is made
        with _run_lock(run, process, config.command):
            return trainer.run(on_progress)
    finally:
        distributed.shutdown(process)


@contextlib.contextmanager
def _run_lock(run: Path, process: distributed.Process, command: str) -> Iterator[None]:
    """RUN/.lock, held by the main process while it trains: a second ``adain train`` (or
    ``adain distill``) on
    the same folder (a restart, a resume) is refused instead of writing beside the first.
    The operating system drops the lock when the process dies, however it dies."""
    if not process.is_main or fcntl is None:  # Windows: no advisory locks here
        yield
        return
    run.mkdir(parents=True, exist_ok=True)
    with open(run / ".lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AdaINError(f"another {command} is running in {run}; wait for it to "
                             "finish, or stop it (Ctrl-C saves a checkpoint) and resume") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Trainer:
    def __init__(self, config: TrainConfig, process: distributed.Process,
                 device: torch.device) -> None:
        self.config, self.process, self.device = config, process, device
        self.run_dir = Path(config.out)
        self.contents = list_images(Path(config.content_dir), "content")
        self.styles = list_images(Path(config.style_dir), "style")
        self.objective = objective_class(config)(config)
        self.model = self.objective.trained  # what learns, unwrapped
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=config.lr)
        self.schedule = torch.optim.lr_scheduler.LambdaLR(  # each phase from its own start
            self.optimizer,
            lambda step: 1.0 / (1.0 + config.lr_decay * self.objective.steps_in_phase(step)))
        self.skipped: set[str] = set()  # one-line reasons naming the unreadable files
        self.step = self._resume()
        self.stop_requested = False
        self.channels_last = config.channels_last and device.type == "cuda"

    def _resume(self) -> int:
        """Load the newest checkpoint that loads (a broken one is passed over, with a
        warning); refuse if there are checkpoints and none loads. A checkpoint of a newer
        adain raises from ``load_checkpoint``: it is never passed over."""
        unreadable = []
        for path in reversed(list_checkpoints(self.run_dir)):
            try:
                return self._restore(path, load_checkpoint(path))
            except UnreadableCheckpoint as exc:
                unreadable.append(f"{path.name} ({exc.reason})")
                log.warning("%s; trying the checkpoint before it", exc)
        if unreadable:
            raise AdaINError(f"no checkpoint in {checkpoint_dir(self.run_dir)} loads: "
                             f"{'; '.join(unreadable)}. Refusing to start again at step 0 over "
                             "them: put a good checkpoint back, or move them away to start "
                             "the run afresh")
        if (finished := self._result_step()) > 0:  # e.g. its checkpoints were deleted
            raise AdaINError(f"{self.run_dir} has no checkpoint but a {self.objective.RESULT} "
                             f"at step {finished}; refusing to start again at step 0 over it: "
                             "move it away to train the run afresh")
        return 0

    def _restore(self, path: Path, state: dict) -> int:
        self.objective.check_resume(path, state)
        if state.get("world_size", 1) != self.process.world_size:
            log.warning("%s was saved by %d processes and resumes with %d: the effective batch "
                        "and the data order change from here on", path,
                        state.get("world_size", 1), self.process.world_size)
        self.model.load_state_dict(state[self.objective.STATE_KEY])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"])
        if self.process.is_main:  # rank 0's list; other ranks' skips are counted, not named
            self.skipped.update(state.get("skipped_files", []))
        log.info("resuming %s from step %d", self.run_dir, state["step"])
        return int(state["step"])

    def run(self, on_progress: Callable[[TrainProgress], None] | None) -> nn.Module:
        config, main = self.config, self.process.is_main
        if self.step > config.iters:
            raise AdaINError(f"{self.run_dir} is already at step {self.step}, past --iters "
                             f"{config.iters}; give a larger --iters to train on")
        if main:
            self._write_config()
            remove_stale_temporaries(self.run_dir)
        if self.step < config.iters:
            try:
                self._train_steps(on_progress)
            except AdaINError as exc:  # e.g. a folder of broken images
                raise self._failure(exc) from exc
        finished = self.step == config.iters
        if main and finished and self._result_step() != self.step:
            self.objective.save_result(self.run_dir, self.step)
        if not finished:
            raise TrainingStopped(self.step, self.run_dir, config.command)
        return self.model

    def _train_steps(self, on_progress: Callable[[TrainProgress], None] | None) -> None:
        config = self.config
        precision = Precision(precision_for(config.precision, self.device), self.device,
                              self.channels_last)
        step_fn = self.objective.make_step(*self._models(), self.optimizer, precision,
                                           self.step)
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

    def _failure(self, exc: AdaINError) -> AdaINError:
        """The error of a run that failed, naming the run and how to go on."""
        reason, run = _own_message(exc), self.run_dir
        if list_checkpoints(run):
            return AdaINError(f"training {run} failed at step {self.step}: {reason} (fix the "
                              f"cause and continue with {self.config.command} --resume {run})")
        return AdaINError(f"training {run} failed before its first checkpoint: {reason} "
                          f"(nothing was saved: start it again with corrected options and the "
                          f"same --out {run})")

    def _result_step(self) -> int:
        """The step recorded in the run's result file, or -1 if there is none."""
        return self.objective.result_step(self.run_dir)

    def _models(self) -> tuple[dict[str, nn.Module], nn.Module]:
        """The frozen networks and what learns (DDP-wrapped under torchrun), on the device."""
        frozen = {k: m.to(self.device) for k, m in self.objective.frozen.items()}
        model = self.model.to(self.device)
        if self.channels_last:
            frozen = {k: m.to(memory_format=torch.channels_last) for k, m in frozen.items()}
            model = model.to(memory_format=torch.channels_last)
        for state in self.optimizer.state.values():  # resumed Adam moments follow the params
            for key, value in state.items():
                if torch.is_tensor(value) and key != "step":
                    state[key] = value.to(self.device)
        trained = model
        if self.process.distributed:
            trained = DistributedDataParallel(
                model, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                **self.objective.DDP_OPTIONS)
        if self.config.compile:
            frozen = {k: torch.compile(m) for k, m in frozen.items()}
            trained = torch.compile(trained)
        return frozen, trained

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

    def _loop(self, step_fn: Callable, logger, on_progress) -> None:
        config = self.config
        losses: dict[str, float] = {}
        speed, clock, clock_step = 0.0, time.perf_counter(), self.step
        global_batch = config.batch_size * self.process.world_size
        for content, style, skipped in self._loader():
            self._note_skipped(skipped)
            result = step_fn(content, style)
            self.schedule.step()
            self.step += 1
            if self.step % config.log_every == 0 or self.step == config.iters:
                losses = {name: value.item() for name, value in result.losses.items()}
                skipped_total = distributed.sum_over_ranks(self.process, len(self.skipped),
                                                           self.device)
                now = time.perf_counter()
                speed = (self.step - clock_step) * global_batch / max(now - clock, 1e-9)
                clock, clock_step = now, self.step
                if logger:
                    logger.scalars(self.step, {
                        **{f"loss/{name}": value for name, value in losses.items()},
                        "lr": self.schedule.get_last_lr()[0], "images_per_second": speed,
                        "data/skipped_files": skipped_total})
            if logger and config.sample_every and self.step % config.sample_every == 0:
                logger.samples(self.step, result.columns(4))
            if self.process.is_main and self.step % config.save_every == 0:
                self._save_checkpoint()
            if on_progress and self.process.is_main:
                on_progress(TrainProgress(self.step, config.iters, losses,
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
        write_text(self.run_dir / "config.json", json.dumps(self.config.to_dict(), indent=2) + "\n")

    def _save_checkpoint(self) -> Path:
        return save_checkpoint(self.run_dir, {
            "step": self.step,
            self.objective.STATE_KEY: self.model.state_dict(),  # unwrapped: no prefixes
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "rng": torch.get_rng_state(),
            "config": self.config.to_dict(),
            **self.objective.record(),
            "world_size": self.process.world_size,
            "skipped_files": sorted(self.skipped),
        }, self.config.keep_checkpoints)


class TrainingStopped(AdaINError):
    """Ctrl-C or SIGTERM: the run stopped after a whole step and saved a checkpoint."""

    def __init__(self, step: int, run: Path, command: str = "adain train") -> None:
        super().__init__(f"stopped at step {step}; the checkpoint is saved, continue with "
                         f"{command} --resume {run}")
        self.step = step


def _own_message(exc: AdaINError) -> str:
    """The error's own message: one raised in a data-loading worker arrives as its whole
    traceback, whose last line is ``adain.errors.AdaINError: <message>``."""
    text = str(exc).strip()
    if "Original Traceback" in text:
        text = text.splitlines()[-1].split(": ", 1)[-1]
    return text


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
