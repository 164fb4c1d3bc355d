"""The VGG pair against the compact model of `adain distill`, in one run on this CPU (issue 15).

    python bench/compact_bench.py [--vgg V --decoder D] [--model RUN/compact.safetensors]
                                  [--distill-iters 300] [--threads 2] [--repeat 10]

1. Convolution FLOPs per 256x256 frame of the stylizer graph (encoder + decoder).
2. onnxruntime ms/frame of stylizer.onnx and stylizer.int8.onnx at 256x256, 512x288 and
   1280x720 (median of --repeat runs after a warm-up; 1280x720 a third as many).
3. The live loop at 512 px on ../shared/media/video/cockatoo.mp4 (1280x720), and on a
   copy scaled to 512x288 (a source at the inference size, like a small webcam): frames/s
   of `adain webcam --headless` (decode, resize, stylise, display size) and of the whole
   `adain video` pipeline (and H.264 encoding), against the int8 stylizer alone on the
   same frames with the same session settings (goal: the live loop at 90% of the model).
4. Fidelity to the teacher: without --model a distillation run of --distill-iters steps
   (half of them the encoder, batch 4, 128 px crops, on 7 of the shared contents and 6 of
   the shared styles) makes
   the compact model; on the 3 held-out contents x 3 held-out styles at 256 px, the PSNR
   and SSIM of the student's picture against the teacher's, and `adain eval`'s content and
   style losses of both (measured with the teacher's VGG).
Without --vgg/--decoder the teacher is random weights in the published formats: speed
and FLOPs are those of the real networks, but the fidelity numbers then say only that
the distillation runs and moves towards its teacher, not how good a real student looks.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from common import MEDIA, conv_flops, cpu_name, median_ms, random_weights
from realtime_bench import decoded, model_alone

from adain.export import ExportConfig, export_onnx
from adain.export.graphs import StylizerGraph
from adain.export.verify import session
from adain.images import prepare
from adain.quality.metrics import Evaluator, ssim
from adain.realtime.engine import Engine
from adain.realtime.live import LiveConfig, run_live
from adain.realtime.probe import ffmpeg
from adain.realtime.stylize import FrameStylizer
from adain.realtime.video import stylize_video
from adain.stylizer import StyleOptions, Stylizer
from adain.train.config import DistillConfig
from adain.train.loop import train
from adain.weights import load_encoder

SIZES = ((256, 256), (288, 512), (720, 1280))  # (H, W)
HELD_OUT = 3  # contents and styles kept out of the distillation run
CPU = torch.device("cpu")


def split(folder: Path, work: Path, name: str) -> tuple[Path, list[Path]]:
    """A training folder of all but the last HELD_OUT pictures, and the held-out ones."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".png"))
    train_dir = work / name
    train_dir.mkdir()
    for path in files[:-HELD_OUT]:
        shutil.copy(path, train_dir / path.name)
    return train_dir, files[-HELD_OUT:]


def distil(vgg: str, decoder: str, work: Path, iters: int) -> tuple[Path, float]:
    contents, _ = split(MEDIA / "content", work, "content")
    styles, _ = split(MEDIA / "style", work, "style")
    config = DistillConfig(content_dir=str(contents), style_dir=str(styles),
                           out=str(work / "run"), vgg=vgg, decoder=decoder, iters=iters,
                           encoder_iters=iters // 2,
                           batch_size=4, image_size=160, crop_size=128, save_every=iters,
                           sample_every=0, log_every=max(iters // 10, 1), workers=0,
                           device="cpu", lr=1e-3)
    start = time.perf_counter()
    train(config)
    return work / "run" / "compact.safetensors", time.perf_counter() - start


def export(work: Path, name: str, **weights: str) -> Path:
    out = work / f"onnx-{name}"
    export_onnx(ExportConfig(**weights, out_dir=str(out), int8=True,
                             calib_dir=str(MEDIA / "content"), verify=False))
    return out


def graph_times(pairs: dict[str, tuple[Stylizer, Path]], threads: int,
                repeat: int) -> dict[tuple[str, str, tuple[int, int]], float]:
    """ms/frame of each pair's stylizer graphs at each size, the pairs taking turns at each
    size, each graph in a fresh session (an idle one would take the next one's cores)."""
    rng = np.random.default_rng(0)
    times = {}
    for height, width in SIZES:
        for variant in ("", ".int8"):
            for name, (stylizer, onnx_dir) in pairs.items():
                channels = stylizer.encoder.channels
                feed = {"content": rng.random((1, 3, height, width), dtype=np.float32),
                        "style_mean": rng.random((1, channels, 1, 1), dtype=np.float32),
                        "style_std": rng.random((1, channels, 1, 1), dtype=np.float32) + 0.5,
                        "alpha": np.array(1.0, np.float32)}
                graph = session(onnx_dir / f"stylizer{variant}.onnx", threads)
                runs = repeat if height < 720 else max(repeat // 3, 1)
                times[name, variant, (height, width)] = median_ms(
                    lambda g=graph, f=feed: g.run(None, f), runs)
                del graph
    return times


def small_copy(video: Path, work: Path) -> Path:
    """``video`` scaled to 512x288 (H.264): a source at the inference size, as a webcam
    at that size gives, without a 720p decode in every frame."""
    path = work / f"{video.stem}_512x288.mp4"
    if not path.exists():
        subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(video),
                        "-vf", "scale=512:288", "-c:v", "libx264", "-an", str(path)], check=True)
    return path


def live_fps(onnx_dir: Path, video: Path, work: Path) -> tuple[float, float, float]:
    """Frames/s of the int8 stylizer alone (the live loop's own session settings), of the
    live loop (``adain webcam --headless`` on the clip, the last 30 frames) and of the
    ``adain video`` pipeline (decode, stylise, H.264 at the clip's size)."""
    style = MEDIA / "style" / "udnie.jpg"
    engine = Engine(onnx_dir, "cpu", ".int8")
    stylizer = FrameStylizer(engine, engine.style(str(style)), 512)
    alone = model_alone(engine, stylizer, decoded(video, 60))
    del engine
    live = run_live(LiveConfig(source=str(video), styles=(str(style),), onnx_dir=onnx_dir,
                               size=512, headless=True, max_frames=200, provider="cpu",
                               variant=".int8"))
    engine = Engine(onnx_dir, "cpu", ".int8")
    stylizer = FrameStylizer(engine, engine.style(str(style)), 512)
    result = stylize_video(str(video), work / f"{onnx_dir.name}-{video.stem}.mp4", stylizer)
    return alone, live.fps, result.frames / result.seconds


def fidelity(teacher: Stylizer, student: Stylizer, evaluator: Evaluator) -> dict[str, float]:
    contents = sorted(p for p in (MEDIA / "content").iterdir())[-HELD_OUT:]
    styles = sorted(p for p in (MEDIA / "style").iterdir())[-HELD_OUT:]
    options = StyleOptions(content_size=256, style_size=256)
    numbers: dict[str, list[float]] = {k: [] for k in ("psnr", "ssim", "teacher_content",
                                                       "teacher_style", "student_content",
                                                       "student_style")}
    for content in contents:
        for style in styles:
            pictures = {}
            for name, stylizer in (("teacher", teacher), ("student", student)):
                image = stylizer.stylize(content, style, options)
                pictures[name] = torch.from_numpy(np.array(image)).permute(2, 0, 1)[None] / 255
                scores = evaluator.score(pictures[name], prepare(content, 256, False, CPU),
                                         prepare(style, 256, False, CPU))
                numbers[f"{name}_content"].append(scores.content_loss)
                numbers[f"{name}_style"].append(scores.style_loss)
            mse = float(((pictures["teacher"] - pictures["student"]) ** 2).mean())
            numbers["psnr"].append(10 * np.log10(1 / max(mse, 1e-12)))
            numbers["ssim"].append(ssim(pictures["student"], pictures["teacher"]))
    return {k: float(np.mean(v)) for k, v in numbers.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vgg")
    parser.add_argument("--decoder")
    parser.add_argument("--model", help="a compact model [default: distil one here]")
    parser.add_argument("--distill-iters", type=int, default=300)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="compact-bench-"))
    if not (args.vgg and args.decoder):
        args.vgg, args.decoder = (str(p) for p in random_weights(work))
    seconds = None
    if args.model is None:
        model, seconds = distil(args.vgg, args.decoder, work, args.distill_iters)
    else:
        model = Path(args.model)
    teacher = Stylizer(args.vgg, args.decoder, device="cpu")
    student = Stylizer(model=model, device="cpu")
    pairs = {"VGG pair": (teacher, export(work, "vgg", vgg=args.vgg, decoder=args.decoder)),
             "compact": (student, export(work, "compact", model=str(model)))}

    print(f"CPU: {cpu_name()}, {args.threads} threads; onnxruntime CPU provider")
    flops = {}
    for name, (stylizer, _) in pairs.items():
        module = StylizerGraph(stylizer.encoder, stylizer.decoder)
        channels = stylizer.encoder.channels
        inputs = (torch.rand(1, 3, 256, 256), torch.rand(1, channels, 1, 1),
                  torch.rand(1, channels, 1, 1) + 0.5, torch.tensor(1.0))
        flops[name] = conv_flops(module, inputs)
        params = sum(p.numel() for p in (*stylizer.encoder.parameters(),
                                         *stylizer.decoder.parameters()))
        print(f"  {name:9} {params / 1e6:6.2f} M parameters, {flops[name] / 1e9:6.2f} GFLOP "
              f"per 256x256 frame")
    print(f"  compact: {flops['VGG pair'] / flops['compact']:.1f}x fewer FLOPs (goal >= 10x)")

    print("stylizer ms/frame (median)      " + "  ".join(f"{w}x{h:<5}" for h, w in SIZES))
    times = graph_times(pairs, args.threads, args.repeat)
    for name in pairs:
        for variant in ("", ".int8"):
            row = "  ".join(f"{times[name, variant, size]:9.1f}" for size in SIZES)
            print(f"  {name:9} {variant.lstrip('.') or 'fp32':5}          {row}")
    clip = MEDIA / "video" / "cockatoo.mp4"
    for video in (clip, small_copy(clip, work)):
        print(f"int8 at 512 px on {video.name}, frames/s:")
        for name, (_, onnx_dir) in pairs.items():
            alone, live, made = live_fps(onnx_dir, video, work)
            print(f"  {name:9} model alone {alone:5.1f}, live loop {live:5.1f} "
                  f"({live / alone:.0%}; goal >= 90%), adain video {made:5.1f} "
                  f"({made / alone:.0%})")

    how = f"distilled here: {args.distill_iters} steps in {seconds:.0f} s" if seconds else \
        f"from {model}"
    evaluator = Evaluator(load_encoder(args.vgg, last="relu5_1").module, torch.device("cpu"))
    scores = fidelity(teacher, student, evaluator)
    print(f"fidelity to the teacher ({how}; {HELD_OUT}x{HELD_OUT} held-out pairs at 256 px):")
    print(f"  student vs teacher: PSNR {scores['psnr']:.1f} dB, SSIM {scores['ssim']:.3f}")
    print(f"  eval content loss: teacher {scores['teacher_content']:.4g}, student "
          f"{scores['student_content']:.4g}; style loss: teacher {scores['teacher_style']:.4g}, "
          f"student {scores['student_style']:.4g}")


if __name__ == "__main__":
    main()
