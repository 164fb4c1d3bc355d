"""What several benchmarks share: where the repository and the shared media are, the CPU's
name for a report's first line, and random weights (and graphs) in the published formats
for a run given no real ones.

A benchmark runs as ``python bench/NAME.py``, so this folder is on ``sys.path`` and the
benchmarks import this module as ``common``. The random weights come from the tests'
``tests/published.py``, the one place that knows the published files' layout.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository
MEDIA = ROOT.parent / "shared" / "media"  # pictures and clips beside the checkout


def cpu_name() -> str:
    """The CPU's model name (Linux), else what ``platform`` knows of it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def random_weights(folder: Path) -> tuple[Path, Path]:
    """(vgg_normalised.pth, decoder.pth) of random weights in the published formats, written
    into ``folder``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from published import random_decoder, random_vgg, save_published

    return (save_published(random_vgg(), folder / "vgg_normalised.pth"),
            save_published(random_decoder(), folder / "decoder.pth"))


def random_graphs(folder: Path, verify: bool = True) -> Path:
    """``folder``/onnx: the fp32 graphs exported from :func:`random_weights`; ``verify=False``
    skips the check against PyTorch (faster, for measurements that only run the graphs)."""
    from adain.export import ExportConfig, export_onnx

    vgg, decoder = random_weights(folder)
    export_onnx(ExportConfig(vgg=str(vgg), decoder=str(decoder), out_dir=str(folder / "onnx"),
                             verify=verify))
    return folder / "onnx"


def conv_flops(module, inputs: tuple) -> int:
    """2 * multiply-accumulates of every convolution of ``module(*inputs)`` (a torch
    module), grouped (depthwise) convolutions counted at their own cost."""
    import torch  # not every benchmark needs torch

    total = 0

    def hook(conv, _, output):
        nonlocal total
        per_output = conv.in_channels // conv.groups * conv.kernel_size[0] * conv.kernel_size[1]
        total += 2 * output.numel() * per_output

    handles = [m.register_forward_hook(hook) for m in module.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.inference_mode():
        module(*inputs)
    for handle in handles:
        handle.remove()
    return total


def median_ms(run, repeat: int) -> float:
    """The median wall time of ``run()`` in milliseconds, over ``repeat`` calls (at least
    one) after one warm-up call."""
    import statistics
    import time

    run()
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000
