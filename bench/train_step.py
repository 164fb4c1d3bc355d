"""Training speed: adain's step against a plain reference step, in one run.

    python bench/train_step.py --device cuda --batch 8 --crop 256     # the issue's GPU setting
    python bench/train_step.py --device cpu --batch 2 --crop 128      # what a 2-core CPU can do

The reference is the straightforward step: fp32, eager, contiguous (NCHW) tensors, float
batches already on the device (so it pays no host-to-device copy; adain's step does).
adain's step is adain.train.step.TrainStep as `adain train` runs it (bf16 autocast and
channels-last on CUDA, uint8 batches, no graph for the frozen passes, optionally
torch.compile). Both train the same decoder architecture on the same random batch and
encoder. Prints images/second of each, the ratio, and on CUDA
the peak GPU memory of each.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from adain.decoder import Decoder
from adain.encoder import VGGEncoder
from adain.ops import adain, calc_mean_std
from adain.train.step import StepModels, TrainStep, precision_for


def reference_step(encoder, decoder, optimizer, content, style):
    style_feats = encoder(style)
    t = adain(encoder(content).relu4_1, style_feats.relu4_1)
    g_feats = encoder(decoder(t))
    loss_c = F.mse_loss(g_feats.relu4_1, t)
    loss_s = 0
    for g, s in zip(g_feats, style_feats, strict=True):
        (gm, gs), (sm, ss) = calc_mean_std(g), calc_mean_std(s)
        loss_s = loss_s + F.mse_loss(gm, sm) + F.mse_loss(gs, ss)
    loss = loss_c + 10 * loss_s
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def timed(run, steps: int, warmup: int, device: torch.device) -> tuple[float, int]:
    for _ in range(warmup):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for _ in range(steps):
        run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    peak = torch.cuda.max_memory_allocated() if device.type == "cuda" else 0
    return time.perf_counter() - start, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--crop", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    encoder = VGGEncoder().to(device).eval().requires_grad_(False)
    batch = (torch.rand(2, args.batch, 3, args.crop, args.crop) * 255).to(torch.uint8)

    decoder = Decoder().to(device)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-4)
    content, style = (b.to(device).float() / 255 for b in batch)
    ref_s, ref_peak = timed(lambda: reference_step(encoder, decoder, optimizer, content, style),
                            args.steps, args.warmup, device)

    decoder = Decoder().to(device)
    optimizer = torch.optim.Adam(decoder.parameters(), lr=1e-4)
    channels_last = device.type == "cuda"  # as adain train does
    layout = torch.channels_last if channels_last else torch.contiguous_format
    ours_encoder, ours_decoder = encoder.to(memory_format=layout), decoder.to(memory_format=layout)
    if args.compile:
        ours_encoder, ours_decoder = torch.compile(ours_encoder), torch.compile(ours_decoder)
    step = TrainStep(StepModels(ours_encoder, ours_decoder), optimizer, 1.0, 10.0,
                     precision_for("auto", device), device, channels_last=channels_last)
    pinned = [b.pin_memory() if device.type == "cuda" else b for b in batch]
    ours_s, ours_peak = timed(lambda: step(*pinned), args.steps, args.warmup, device)

    images = args.steps * args.batch
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({name}, {torch.get_num_threads()} threads), batch {args.batch}, "
          f"crop {args.crop}, "
          f"{args.steps} steps after {args.warmup} warm-up")
    print(f"reference step: {images / ref_s:8.2f} images/s"
          + (f", peak GPU memory {ref_peak / 2**30:.2f} GiB" if ref_peak else ""))
    print(f"adain step:     {images / ours_s:8.2f} images/s"
          + (f", peak GPU memory {ours_peak / 2**30:.2f} GiB" if ours_peak else "")
          + f" (autocast {precision_for('auto', device)}, channels-last {channels_last}, "
            f"compile {args.compile})")
    print(f"ratio adain / reference: {ref_s / ours_s:.2f}x")


if __name__ == "__main__":
    main()
