"""``stylize_dataset``: a stylised copy of an image dataset, resumable, on one process or many.

One process (or torchrun rank, or ``--shard`` task) makes its shard of the plan: it skips
outputs already on disk, decodes the rest in worker processes, stylises them in batches of
one size on its device (each content encoded once for all its styles), and hands the
pictures to writer threads that save them atomically. When it stops, finished or
interrupted, it writes its part of the manifest; once every shard's part is there, the
parts are merged into ``OUT/manifest.jsonl`` and ``OUT/skipped.txt``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from .. import __version__
from ..device import resolve_device
from ..errors import AdaINError
from ..images import quantize, save_image
from ..picture import find_images
from ..stylizer import decode_styled
from ..train import distributed
from ..train.distributed import Process
from ..weights import TORCHVISION, load_decoder, load_encoder
from . import records
from .bank import StyleBank, StyleRecipe, bank_key, bank_lock, build_bank, matching_bank
from .config import DatasetConfig
from .inputs import ContentImages, bucketed, load_contents
from .plan import Output, Shard, plan_outputs, relative_files

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetProgress:
    stage: str  # "styles" (building the bank) or "images"
    done: int
    total: int


@dataclass
class DatasetReport:
    shard: Shard
    device: str
    images: int = 0  # content images in this shard
    made: int = 0  # outputs written by this run
    kept: int = 0  # outputs already there, left as they were
    skipped: dict[str, str] = field(default_factory=dict)  # content or style -> why
    seconds: float = 0.0
    merged: tuple[int, int] | None = None  # (outputs, skipped) in the merged manifest
    bf16_unused: bool = False  # fp32 ran on a CPU with bf16 instructions (bf16 is faster)
    waiting_for: list[int] = field(default_factory=list)  # shards whose parts are missing


class DatasetStopped(AdaINError):
    """Ctrl-C or SIGTERM: the writes in flight were finished and the manifest part written."""


def stylize_dataset(config: DatasetConfig,
                    on_progress: Callable[[DatasetProgress], object] | None = None
                    ) -> DatasetReport:
    """Make (this process's shard of) the stylised copy that ``config`` describes."""
    process = distributed.from_environment()
    device = _device(config.device, process)
    distributed.init(process, device)
    try:
        with _terminate_as_interrupt():
            return _Run(config, process, device).run(on_progress or (lambda _: None))
    finally:
        distributed.shutdown(process)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a scheduler's preemption, ``kill``) stops the run like Ctrl-C: the writes in
    flight finish and the shard's manifest part is written."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _device(name: str, process: Process) -> torch.device:
    device = resolve_device(name)
    if device.type == "cuda" and process.distributed:
        device = torch.device("cuda", process.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    return device


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class _Run:
    def __init__(self, config: DatasetConfig, process: Process, device: torch.device) -> None:
        self.config, self.process, self.device = config, process, device
        self.out = config.out_path
        self.content_root, self.style_root = Path(config.content_dir), Path(config.style_dir)
        _check_folders(self.content_root, self.style_root, self.out)
        self.content_files = _list(self.content_root, "content")
        self.style_files = _list(self.style_root, "style")
        if config.num_styles > len(self.style_files):  # before any work (plan_outputs too)
            raise AdaINError(f"--num-styles {config.num_styles} but {self.style_root} holds "
                             f"{len(self.style_files)} style images; each output of an image "
                             "takes another style")
        self.shard = Shard.parse(config.shard).within(process.rank, process.world_size)
        self.report = DatasetReport(self.shard, device.type)
        encoder = load_encoder(config.vgg)
        self.encoder_sha = encoder.sha256
        self.encoder = self._ready(encoder.module)
        self.decoder = self._ready(load_decoder(config.decoder).module)
        self.batch_size = config.batch_size or (16 if device.type == "cuda" else 1)
        self.workers = config.workers_for(device.type)
        self.autocast = _autocast(config.precision, device)
        self._unreadable: dict[int, str] = {}  # content index -> why

    def _ready(self, module: torch.nn.Module) -> torch.nn.Module:
        module = module.to(self.device).eval().requires_grad_(False)
        return module.to(memory_format=torch.channels_last)

    def run(self, on_progress: Callable[[DatasetProgress], object]) -> DatasetReport:
        started = time.perf_counter()
        self._record()
        bank = self._bank(on_progress)
        contents = relative_files(self.content_files, self.content_root)
        plan = plan_outputs(contents, bank.names, self.config.num_styles, self.config.alpha,
                            self.config.seed, self.config.format)
        mine = self.shard.take(range(len(contents)))
        self.report.images = len(mine)
        existing = _existing_outputs(self.out, {o.output for i in mine for o in plan[i]})
        todo = [i for i in mine
                if self.config.overwrite or not all(o.output in existing for o in plan[i])]
        self.report.kept = (len(mine) - len(todo)) * self.config.num_styles
        made: set[str] = set()
        try:
            self._stylize(todo, plan, bank, made, on_progress)
        except KeyboardInterrupt:
            finished = len(existing | made)
            raise DatasetStopped(f"stopped: {finished} of {len(mine) * self.config.num_styles} "
                                 f"outputs are done and kept in {self.out}; run the same "
                                 "command again to resume") from None
        finally:
            done = existing | made
            skipped = {("style", name): why for name, why in bank.unreadable.items()}
            skipped.update({("content", contents[i]): why for i, why in self._unreadable.items()})
            self.report.skipped = {f"{kind} {name}": why for (kind, name), why in skipped.items()}
            records.write_part(self.out, self.shard.name,
                               [o.record() for i in mine for o in plan[i] if o.output in done],
                               skipped)
        self.report.made = len(made)
        self.report.bf16_unused = (self.config.precision == "fp32" and self.device.type == "cpu"
                                   and torch.ops.mkldnn._is_mkldnn_bf16_supported())
        self.report.seconds = time.perf_counter() - started
        self._merge()
        return self.report

    # -- the run record and the style bank ----------------------------------------------
    def _record(self) -> None:
        config = self.config
        weights = {"vgg": config.vgg if config.vgg == TORCHVISION else file_sha256(config.vgg),
                   "decoder": file_sha256(config.decoder), "encoder_sha256": self.encoder_sha}
        record = {"adain_version": __version__, "seed": config.seed, "weights": weights,
                  "options": config.recipe()}
        if config.overwrite and (self.out / records.RUN_FILE).is_file():
            (self.out / records.RUN_FILE).unlink()
        self.out.mkdir(parents=True, exist_ok=True)
        records.check_run_record(self.out, record)

    def _bank(self, on_progress: Callable[[DatasetProgress], object]) -> StyleBank:
        config, path = self.config, self.config.bank_path
        recipe = StyleRecipe(config.style_size, config.style_crop)
        key = bank_key(self.style_files, self.style_root, recipe, self.encoder_sha)
        bank = matching_bank(path, key)
        if self.process.distributed:  # rank 0 decides: the ranks build it together, or none
            bank = (bank or matching_bank(path, key)) if _rank0_says(bank is not None) else None
        if bank is not None:
            return bank
        if config.style_bank is not None and path.exists():
            raise AdaINError(f"--style-bank {path} was built from other styles, sizes or "
                             "weights; give another path (it is kept as it is)")
        total = len(self.style_files)
        done = 0

        def advance(count: int) -> None:
            nonlocal done
            done += count
            on_progress(DatasetProgress("styles", done, total))

        lock = nullcontext() if self.process.distributed else bank_lock(path)
        with lock:
            bank = matching_bank(path, key)  # another shard may have built it meanwhile
            if bank is None:
                bank = build_bank(self.style_files, self.style_root, self.encoder,
                                  self.encoder_sha, recipe, self.device, self.workers,
                                  self.process.rank, self.process.world_size, advance)
                if self.process.is_main:
                    bank.save(path)
        return bank

    # -- stylising ------------------------------------------------------------------------
    def _stylize(self, todo: Sequence[int], plan: list[list[Output]], bank: StyleBank,
                 made: set[str], on_progress: Callable[[DatasetProgress], object]) -> None:
        dataset = ContentImages(self.content_files, todo, self.config.content_size,
                                self.config.crop)
        items = load_contents(dataset, self.workers, self.device.type == "cuda")
        writer = _Writer(max(1, self.workers), self.config.quality, self.out, made)
        done = 0
        on_progress(DatasetProgress("images", 0, len(todo)))

        def unreadable(index: int, why: str) -> None:
            nonlocal done
            self._unreadable[index] = why
            done += 1

        try:
            for indices, images in bucketed(items, self.batch_size, unreadable):
                for output, pixels in self._pictures(images, [plan[i] for i in indices],
                                                     bank, indices):
                    writer.put(output, pixels)
                done += len(indices)
                on_progress(DatasetProgress("images", done, len(todo)))
        finally:
            writer.close()

    def _pictures(self, images: Tensor, outputs: list[list[Output]], bank: StyleBank,
                  indices: list[int]) -> list[tuple[Output, np.ndarray]]:
        """Each image's outputs as uint8 (H, W, 3); a batch that runs out of GPU memory is
        split in halves, and a single image that does not fit is skipped."""
        try:
            return self._forward(images, outputs, bank)
        except torch.OutOfMemoryError:
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            if len(outputs) == 1:
                h, w = images.shape[-2:]
                self._unreadable[indices[0]] = f"out of GPU memory at {w}x{h}"
                return []
            half = len(outputs) // 2
            return (self._pictures(images[:half], outputs[:half], bank, indices[:half])
                    + self._pictures(images[half:], outputs[half:], bank, indices[half:]))

    def _forward(self, images: Tensor, outputs: list[list[Output]],
                 bank: StyleBank) -> list[tuple[Output, np.ndarray]]:
        """Encode the batch once, then decode it once per style slot (as ``Stylizer``)."""
        x = images.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        h, w = x.shape[-2:]
        results = []
        with torch.inference_mode(), self.autocast:
            feat = self.encoder.encode(x).float()  # (B, 512, h/8, w/8)
            for k in range(len(outputs[0])):
                slot = [item[k] for item in outputs]
                mean, std = bank.stats(torch.tensor([o.style_index for o in slot]))
                alpha = torch.tensor([o.alpha for o in slot]).reshape(-1, 1, 1, 1)
                out = decode_styled(self.decoder, feat, mean.to(self.device),
                                    std.to(self.device), alpha.to(self.device), (h, w))
                pixels = quantize(out)  # on the device: a quarter of the bytes to copy back
                results += zip(slot, pixels.permute(0, 2, 3, 1).cpu().numpy(), strict=True)
        return results

    def _merge(self) -> None:
        if self.process.distributed:
            import torch.distributed as dist

            dist.barrier()
        if not self.process.is_main:
            return
        self.report.merged = records.merge_parts(self.out, self.shard.count)
        if self.report.merged is None:
            self.report.waiting_for = records.missing_parts(self.out, self.shard.count)


class _Writer:
    """Threads that save pictures atomically, at most a few per thread in flight; the
    first failure (a full disk) stops the run."""

    def __init__(self, threads: int, quality: int, out: Path, made: set[str]) -> None:
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="adain-writer")
        self.pending: deque[tuple[str, Future]] = deque()
        self.limit, self.quality, self.out, self.made = 4 * threads, quality, out, made

    def put(self, output: Output, pixels: np.ndarray) -> None:
        future = self.pool.submit(save_image, pixels, self.out / output.output, self.quality)
        self.pending.append((output.output, future))
        while len(self.pending) > self.limit:
            self._finish_one()

    def _finish_one(self) -> None:
        name, future = self.pending.popleft()
        future.result()  # raises the writer's AdaINError (no space left, ...)
        self.made.add(name)

    def close(self) -> None:
        try:
            while self.pending:
                self._finish_one()
        finally:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _autocast(precision: str, device: torch.device):
    if precision == "fp32":
        return nullcontext()
    if device.type == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        raise AdaINError("--precision bf16: this CPU has no bf16 instructions, where bf16 is "
                         "slower than fp32; use --precision fp32")
    return torch.autocast(device.type, dtype=torch.bfloat16)


def _rank0_says(flag: bool) -> bool:
    """Rank 0's ``flag`` on every rank."""
    import torch.distributed as dist

    said = [flag]
    dist.broadcast_object_list(said, src=0)
    return bool(said[0])


def _check_folders(content: Path, style: Path, out: Path) -> None:
    for folder, what in ((content, "content"), (style, "style")):
        if not folder.is_dir():
            raise AdaINError(f"the {what} folder {folder} does not exist")
        resolved, target = folder.resolve(), out.resolve()
        if target == resolved or target.is_relative_to(resolved):
            raise AdaINError(f"-o {out} lies inside the {what} folder {folder}; its results "
                             "would be taken for inputs: give an -o outside it")
        if resolved.is_relative_to(target):
            raise AdaINError(f"the {what} folder {folder} lies inside -o {out}; give an -o "
                             "outside it")
    if out.exists() and not out.is_dir():
        raise AdaINError(f"-o {out} is a file; give a folder")


def _list(root: Path, what: str) -> list[Path]:
    files = find_images(root)
    if not files:
        raise AdaINError(f"the {what} folder {root} holds no image files "
                         "(jpg, png, webp, bmp, tif, gif)")
    return files


def _existing_outputs(out: Path, wanted: set[str]) -> set[str]:
    """Which of ``wanted`` (paths relative to ``out``) are there; temporary files a kill left
    behind for them are removed (this shard is their only writer)."""
    found: set[str] = set()
    if not out.is_dir():
        return found
    for folder, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        base = Path(folder).relative_to(out)
        for name in files:
            rel = (base / name).as_posix()
            if rel in wanted:
                found.add(rel)
            elif name.startswith(".") and name.endswith(".tmp"):
                target = (base / name[1:].rsplit(".", 2)[0]).as_posix()
                if target in wanted:
                    (Path(folder) / name).unlink(missing_ok=True)
    return found
