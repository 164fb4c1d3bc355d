"""ONNX on onnxruntime against PyTorch eager, int8 against fp32, in one run (CPU).

    python bench/onnx_bench.py [--vgg V --decoder D] [--size 512] [--threads 2]

Exports the graphs (fp32, and int8 calibrated on ../shared/media/content), then at
size x size, with the same thread count everywhere:
- stylizer.onnx on onnxruntime against the PyTorch stylizer in eager mode (inference mode);
- stylizer.int8.onnx against stylizer.onnx: speed, and PSNR of its output against the fp32
  output on ../shared/media/style pictures, which calibration never saw;
- FLOPs per frame (counted from the convolutions' shapes) and the achieved fraction of
  this CPU's fp32 matrix-multiply peak, measured as the best of five 4096^2 torch.mm.
Without --vgg/--decoder it uses random weights in the published formats (tests/published.py),
so the PSNR says how int8 treats this network's arithmetic, not how the published
decoder's pictures look.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from common import MEDIA, conv_flops, random_weights

from adain.export import ExportConfig, export_onnx
from adain.export.graphs import StylizerGraph
from adain.images import array_to_tensor, center_crop, resize_shorter
from adain.picture import load_image
from adain.weights import load_decoder, load_encoder


def timeit(run, repeat: int) -> float:
    run()
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


def matmul_peak(n: int = 4096, tries: int = 5) -> float:
    """This CPU's fp32 matmul throughput (FLOP/s): the best of several large torch.mm."""
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    best = min(timeit(lambda: torch.mm(a, b), 1) for _ in range(tries))
    return 2 * n**3 / best


def picture(path: Path, size: int) -> np.ndarray:
    image = resize_shorter(array_to_tensor(load_image(path)), size)
    return center_crop(image, size).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg")
    parser.add_argument("--decoder")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="onnx-bench-"))
    if not (args.vgg and args.decoder):
        args.vgg, args.decoder = (str(path) for path in random_weights(work))
    export_onnx(ExportConfig(vgg=args.vgg, decoder=args.decoder, out_dir=str(work / "onnx"),
                             int8=True, calib_dir=str(MEDIA / "content")))

    options = ort.SessionOptions()
    options.intra_op_num_threads = args.threads
    sessions = {v: ort.InferenceSession(str(work / "onnx" / f"stylizer{v}.onnx"), options,
                                        providers=["CPUExecutionProvider"])
                for v in ("", ".int8")}
    styles = sorted((MEDIA / "style").glob("*.jpg"))
    encoder = ort.InferenceSession(str(work / "onnx" / "style_encoder.onnx"), options,
                                   providers=["CPUExecutionProvider"])
    mean, std = encoder.run(None, {"style": picture(styles[0], args.size)})
    content = picture(MEDIA / "content" / "kodim01.png", args.size)
    feed = {"content": content, "style_mean": mean, "style_std": std,
            "alpha": np.array(1.0, np.float32)}
    fp32_s = timeit(lambda: sessions[""].run(None, feed), args.repeat)
    int8_s = timeit(lambda: sessions[".int8"].run(None, feed), args.repeat)

    module = StylizerGraph(load_encoder(args.vgg).module, load_decoder(args.decoder).module)
    torch_inputs = tuple(torch.from_numpy(v) for v in feed.values())
    with torch.inference_mode():
        torch_s = timeit(lambda: module(*torch_inputs), args.repeat)
    flops = conv_flops(module, torch_inputs)
    peak = matmul_peak()

    psnrs = []
    for path in styles[1:]:  # pictures calibration never saw, as content
        held = {**feed, "content": picture(path, args.size)}
        diff = sessions[".int8"].run(None, held)[0] - sessions[""].run(None, held)[0]
        psnrs.append(10 * np.log10(1.0 / max(float(np.mean(diff**2)), 1e-12)))

    print(f"stylizer at {args.size}x{args.size}, {args.threads} threads, "
          f"{args.repeat} runs each after a warm-up")
    print(f"  PyTorch eager:          {torch_s * 1000:8.1f} ms/frame")
    print(f"  onnxruntime fp32:       {fp32_s * 1000:8.1f} ms/frame  "
          f"({torch_s / fp32_s:.2f}x PyTorch)")
    print(f"  onnxruntime int8:       {int8_s * 1000:8.1f} ms/frame  "
          f"({fp32_s / int8_s:.2f}x fp32)")
    print(f"  int8 PSNR vs fp32 on {len(psnrs)} unseen pictures: min {min(psnrs):.1f} dB, "
          f"mean {np.mean(psnrs):.1f} dB")
    print(f"  convolution FLOPs per frame: {flops / 1e9:.1f} GFLOP")
    print(f"  fp32 matmul peak (best torch.mm 4096^2): {peak / 1e9:.1f} GFLOP/s; onnxruntime fp32 "
          f"achieves {flops / fp32_s / 1e9:.1f} GFLOP/s = {flops / fp32_s / peak:.0%} of it")


if __name__ == "__main__":
    main()
