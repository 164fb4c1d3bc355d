"""The numbers behind the compact model's architecture (issue 15): width, and depthwise-
separable convolutions or not, for the stylizer graph on this CPU.

    python bench/compact_arch.py [--height 288 --width 512] [--threads 2] [--repeat 20]

Each candidate is the VGG pair's layout (VGG-19 to relu4_1 and its mirrored decoder,
reflection padding, nearest upsampling) with every channel count scaled by a width; the
"separable" ones replace each 3x3 convolution after the first by a depthwise 3x3 and a
pointwise 1x1 (MobileNet's block). Random weights: speed and size do not depend on them.
For each: parameters, convolution FLOPs per frame, and onnxruntime's ms per frame of the
stylizer graph (content and style statistics in, picture out) in fp32 and in int8
(static QOperator quantisation, the settings of ``adain export --int8``, calibrated on
random pictures: here only the speed counts). Times are the median of --repeat runs after
a warm-up, all in one process with the same thread count.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path

import numpy as np
import torch
from common import conv_flops, cpu_name, median_ms
from torch import nn

from adain.decoder import Decoder
from adain.encoder import VGGEncoder
from adain.export.graphs import StylizerGraph
from adain.export.quantize import quantize_stylizer
from adain.export.verify import session

CANDIDATES = (("VGG pair", 1.0, False), ("plain", 0.5, False), ("plain", 0.375, False),
              ("plain", 0.25, False), ("separable", 0.5, True), ("separable", 0.25, True))


def separable(module: nn.Module) -> nn.Module:
    """``module`` with each 3x3 convolution between two feature maps (not the first, which
    reads RGB, nor the last, which writes it) made depthwise 3x3 + pointwise 1x1."""
    module = copy.deepcopy(module)
    for name, conv in list(module.named_children()):
        if isinstance(conv, nn.Conv2d) and conv.kernel_size == (3, 3) \
                and 3 not in (conv.in_channels, conv.out_channels):
            setattr(module, name, nn.Sequential(
                nn.Conv2d(conv.in_channels, conv.in_channels, 3, groups=conv.in_channels),
                nn.Conv2d(conv.in_channels, conv.out_channels, 1)))
    return module


def candidate(width: float, is_separable: bool) -> StylizerGraph:
    encoder, decoder = VGGEncoder(width=width), Decoder(width=width)
    if is_separable:
        encoder, decoder = separable(encoder), separable(decoder)
    return StylizerGraph(encoder.eval(), decoder.eval()).eval()


def feed(channels: int, height: int, width: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"content": rng.random((1, 3, height, width), dtype=np.float32),
            "style_mean": rng.random((1, channels, 1, 1), dtype=np.float32),
            "style_std": rng.random((1, channels, 1, 1), dtype=np.float32) + 0.5,
            "alpha": np.array(1.0, np.float32)}


def time_graph(path: Path, inputs: dict[str, np.ndarray], threads: int, repeat: int) -> float:
    graph = session(path, threads)
    return median_ms(lambda: graph.run(None, inputs), repeat)


def export(module: nn.Module, inputs: dict[str, np.ndarray], path: Path) -> Path:
    torch.onnx.export(module, tuple(torch.from_numpy(v) for v in inputs.values()), str(path),
                      input_names=list(inputs), output_names=["stylized"], dynamo=True,
                      external_data=False, verbose=False)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--height", type=int, default=288)
    parser.add_argument("--width", type=int, default=512)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="compact-arch-"))
    print(f"CPU: {cpu_name()}, {args.threads} threads; stylizer graph at {args.width}x"
          f"{args.height}; onnxruntime CPU, median of {args.repeat} runs")
    print(f"{'candidate':>18} {'params':>9} {'GFLOP':>7} {'fp32 ms':>8} {'int8 ms':>8} "
          f"{'x fewer':>9}")
    reference_flops = None
    for label, width, is_separable in CANDIDATES:
        module = candidate(width, is_separable)
        channels = module.encoder.channels if not is_separable else \
            module.encoder.conv4_1[1].out_channels
        inputs = feed(channels, args.height, args.width)
        flops = conv_flops(module, tuple(torch.from_numpy(v) for v in inputs.values()))
        reference_flops = reference_flops or flops
        params = sum(p.numel() for p in module.parameters())
        name = f"{label.replace(' ', '_')}-{width:g}"
        fp32 = export(module, inputs, work / f"{name}.onnx")
        int8 = work / f"{name}.int8.onnx"
        calibration = [feed(channels, args.height, args.width, seed) for seed in range(1, 5)]
        quantize_stylizer(fp32, int8, calibration, ())
        times = [time_graph(path, inputs, args.threads, args.repeat) for path in (fp32, int8)]
        tag = f"{label} {width:g}" if width != 1.0 else label
        print(f"{tag:>18} {params / 1e6:8.2f}M {flops / 1e9:7.2f} {times[0]:8.1f} "
              f"{times[1]:8.1f} {reference_flops / flops:8.1f}x", flush=True)


if __name__ == "__main__":
    main()
