"""AdaIN against the optimisation method (adain optimize) on the same pairs, in one run.

    python bench/optimize_bench.py [--vgg V --decoder D] [--pairs 2x2] [--size 256]
                                   [--steps 300] [--device cpu]

For each content x style pair from ../shared/media, both methods make a picture at the
same size; both are scored by adain eval's metrics (content loss, AdaIN style loss, Gram
loss, SSIM) with the same VGG, and timed per image (the models loaded beforehand).
Prints a Markdown table of the means and the time ratio. Without --vgg/--decoder it uses
random weights in the published formats (tests/published.py): the timings hold, but the
metrics then describe random networks, not the published decoder's pictures.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import MEDIA, random_weights

from adain.device import resolve_device
from adain.images import prepare
from adain.quality.metrics import METRICS, SCORED_MIN_SIDE, Evaluator
from adain.quality.optimize import OptimizeConfig, optimize
from adain.stylizer import StyleOptions, Stylizer
from adain.weights import load_encoder


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg")
    parser.add_argument("--decoder")
    parser.add_argument("--pairs", default="2x2", help="contents x styles, e.g. 3x2")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if not args.vgg:
        work = Path(tempfile.mkdtemp(prefix="optimize-bench-"))
        args.vgg, args.decoder = (str(path) for path in random_weights(work))
    device = resolve_device(args.device)
    n_content, n_style = (int(n) for n in args.pairs.split("x"))
    contents = sorted((MEDIA / "content").iterdir())[:n_content]
    styles = sorted((MEDIA / "style").iterdir())[:n_style]
    stylizer = Stylizer(args.vgg, args.decoder, args.device)
    encoder = load_encoder(args.vgg, last="relu5_1").module.to(device)
    evaluator = Evaluator(encoder, device)
    options = StyleOptions(content_size=args.size, style_size=args.size)
    config = OptimizeConfig(steps=args.steps, size=args.size)
    scores: dict[str, list] = {"AdaIN": [], "optimize": []}
    seconds: dict[str, list] = {"AdaIN": [], "optimize": []}
    stylizer.stylize_tensor(prepare(contents[0], 64, False, device),  # warm-up
                            [stylizer.style_stats(styles[0], 64)])
    for content_path in contents:
        for style_path in styles:
            content = prepare(content_path, args.size, False, device, min_side=SCORED_MIN_SIDE)
            style = prepare(style_path, args.size, False, device, min_side=SCORED_MIN_SIDE)
            synchronize(device)
            start = time.perf_counter()
            stats = [stylizer.style_stats(style_path, args.size)]
            out = stylizer.stylize_tensor(content, stats, options).clamp(0.0, 1.0)
            synchronize(device)
            seconds["AdaIN"].append(time.perf_counter() - start)
            scores["AdaIN"].append(evaluator.score(out, content, style))
            start = time.perf_counter()
            out, history = optimize(encoder, content.to(device), style.to(device), config)
            synchronize(device)
            seconds["optimize"].append(time.perf_counter() - start)
            scores["optimize"].append(evaluator.score(out.cpu(), content, style))
            print(f"{content_path.name} x {style_path.name}: AdaIN {seconds['AdaIN'][-1]:.2f} s, "
                  f"optimize {seconds['optimize'][-1]:.1f} s ({history[-1].step} steps)",
                  flush=True)
    print(f"\n{len(seconds['AdaIN'])} pairs at {args.size} px (shorter side), {args.steps} "
          f"L-BFGS steps, {device.type}, {torch.get_num_threads()} threads\n")
    print("| method | " + " | ".join(METRICS) + " | s / image |")
    print("|---" * (len(METRICS) + 2) + "|")
    for method in ("AdaIN", "optimize"):
        means = [np.mean([getattr(s, m) for s in scores[method]]) for m in METRICS]
        print(f"| {method} | " + " | ".join(f"{v:.4g}" for v in means)
              + f" | {np.mean(seconds[method]):.3g} |")
    ratio = np.mean(seconds["optimize"]) / np.mean(seconds["AdaIN"])
    print(f"\noptimize takes {ratio:.0f}x AdaIN's time per image")


if __name__ == "__main__":
    main()
