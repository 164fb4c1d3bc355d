"""Choosing the device, and refusing work that cannot fit in its memory."""

from __future__ import annotations

import psutil
import torch

from .errors import AdaINError

# Peak bytes per input pixel of one encode + decode at full resolution: about 1,080
# measured on the CPU in inference mode (bench/memory.py). The widest layers hold 64
# float32 channels at full size, about three such tensors at a time, plus the conv
# backends' working copies.
BYTES_PER_PIXEL = 1100
# Fixed overhead: both networks' weights and the framework's own working memory.
BASE_BYTES = 400 * 2**20


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when it is there, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise AdaINError("--device cuda was asked for, but PyTorch sees no CUDA GPU here; "
                         "use --device cpu (or auto), or install a CUDA build of torch")
    try:
        return torch.device(name)
    except RuntimeError as exc:
        raise AdaINError(f"unknown device {name!r}; use auto, cpu or cuda") from exc


def free_memory(device: torch.device) -> int:
    """Bytes that a new computation can use on ``device``."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return free
    return psutil.virtual_memory().available


def memory_needed(height: int, width: int, bytes_per_pixel: int = BYTES_PER_PIXEL) -> int:
    """Bytes that processing a height x width picture takes, the fixed overhead included."""
    return BASE_BYTES + bytes_per_pixel * height * width


RESIZE_HINT = "use a smaller --content-size or --style-size, or scale the picture down"


def check_fits(height: int, width: int, device: torch.device, what: str,
               bytes_per_pixel: int = BYTES_PER_PIXEL, doing: str = "stylising",
               hint: str = RESIZE_HINT) -> None:
    """Refuse, with a clear message ending in ``hint``, an image whose processing would
    exhaust the memory."""
    need, free = memory_needed(height, width, bytes_per_pixel), free_memory(device)
    if need > free:
        raise AdaINError(f"{what} is {width}x{height} pixels; {doing} it needs about "
                         f"{need / 2**30:.1f} GiB but only {free / 2**30:.1f} GiB is free on "
                         f"{device.type}; {hint}")
