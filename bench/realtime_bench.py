"""Live-pipeline speed and flicker, in one run (CPU unless --provider says otherwise).

    python bench/realtime_bench.py --onnx models/onnx [--size 256] [--provider auto]

1. Frames per second of the whole `adain video` pipeline (decode, resize, stylise,
   encode H.264) on ../shared/media/video/cockatoo.mp4, against stylizer.onnx alone on
   pre-resized frames of the same size, with the same session. Goal on this CPU: the
   pipeline at 90% or more of the model's own speed.
2. The temporal warping error (Lai et al., ECCV 2018; flow from OpenCV on the input
   frames, occlusions masked) of the stylised clips with and without --stabilize, on
   both shared clips.
Without --onnx, graphs are exported from random weights in the published formats.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from common import MEDIA, random_graphs

from adain.realtime import frames
from adain.realtime.engine import Engine
from adain.realtime.sources import open_source
from adain.realtime.stabilize import mean_warping_error
from adain.realtime.stylize import FrameStylizer
from adain.realtime.video import stylize_video


def decoded(path: Path, limit: int | None = None) -> list[np.ndarray]:
    source = open_source(str(path))
    out = []
    for frame in source.frames():
        out.append(frame)
        if limit and len(out) == limit:
            break
    source.release()
    return out


def model_alone(engine: Engine, stylizer: FrameStylizer, clip: list[np.ndarray]) -> float:
    shape = frames.inference_size(*clip[0].shape[:2], stylizer.size)
    inputs = [frames.frame_to_input(f, shape) for f in clip]
    engine(inputs[0], stylizer.style, 1.0)
    start = time.perf_counter()
    for x in inputs:
        engine(x, stylizer.style, 1.0)
    return len(inputs) / (time.perf_counter() - start)


def flicker(engine: Engine, style, clip: list[np.ndarray], size: int, stabilize: bool) -> float:
    stylizer = FrameStylizer(engine, style, size, stabilize=stabilize)
    shape = frames.inference_size(*clip[0].shape[:2], size)
    small = [cv2.resize(f, shape[::-1], interpolation=cv2.INTER_AREA) for f in clip]
    return mean_warping_error(small, [stylizer(f) for f in small])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--provider", default="auto")
    parser.add_argument("--precision", choices=["", ".fp16", ".int8"], default="")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="realtime-bench-"))
    onnx_dir = args.onnx or random_graphs(work)
    engine = Engine(onnx_dir, args.provider, args.precision)
    style = engine.style(str(MEDIA / "style" / "water-lilies-1919-2.jpg"))
    video = MEDIA / "video" / "cockatoo.mp4"
    stylizer = FrameStylizer(engine, style, args.size)

    model_fps = model_alone(engine, stylizer, decoded(video, 60))
    result = stylize_video(str(video), work / "out.mp4", stylizer)
    pipeline_fps = result.frames / result.seconds
    print(f"provider {engine.provider}, stylizer{args.precision or ''}.onnx, longer side "
          f"{args.size}")
    print(f"  model alone:     {model_fps:6.2f} frames/s")
    print(f"  whole pipeline:  {pipeline_fps:6.2f} frames/s over {result.frames} frames of "
          f"{video.name} = {pipeline_fps / model_fps:.0%} of the model alone")
    for clip_path in (video, MEDIA / "video" / "tree.avi"):
        clip = decoded(clip_path, 40)
        plain = flicker(engine, style, clip, args.size, False)
        steady = flicker(engine, style, clip, args.size, True)
        print(f"  warping error on {clip_path.name} ({len(clip)} frames): {plain:.5f} plain, "
              f"{steady:.5f} with --stabilize ({steady / plain:.0%})")


if __name__ == "__main__":
    main()
