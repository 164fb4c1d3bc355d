"""Worst audio/video offset of `adain video` on a variable-frame-rate clip.

    python bench/av_sync.py [--clip PATH]

By default the clip is made with the imageio-ffmpeg binary: ffmpeg's testsrc (a moving
pattern with a counter), 2 s at 10 fps then 2 s at 30 fps, concatenated without
re-timing, with a 4 s sine tone, H.264 lossless in MP4. ``stylize_video`` runs on it
with an identity stylizer, so each output frame is matched to the source frame it shows
by content (least mean squared difference). The sound keeps its own times, so a
picture's offset is |the time it first appears in the output - its time in the source|;
the worst one is reported, with the source frames never shown.

Against it, the offset the old constant-rate writer had (frames written one after
another at the clip's average rate, frame i shown at i / average fps), computed from the
source frames' timestamps.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
from common import cpu_name

from adain.realtime.probe import ffmpeg
from adain.realtime.sources import open_source
from adain.realtime.video import stylize_video

MATCH_WIDTH = 160  # frames are compared at most this wide


def vfr_clip(path: Path) -> Path:
    """2 s of testsrc at 10 fps, then its next 2 s at 30 fps (no frame repeats)."""
    video = ("testsrc=size=320x240:rate=10:duration=2,format=yuv420p[a];"
             "testsrc=size=320x240:rate=30:duration=4,trim=start=2,setpts=PTS-STARTPTS,"
             "format=yuv420p[b];[a][b]concat=n=2:v=1:a=0[v]")
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=4", "-filter_complex", video, "-map", "[v]",
                    "-map", "0:a", "-fps_mode", "passthrough", "-c:v", "libx264", "-qp", "0",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)], check=True)
    return path


def timed_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    """(seconds, small float32 frame) for every frame, times as ``adain video`` reads them
    (``Source.timed_frames``: the container's own)."""
    out = []
    with open_source(str(path)) as source:
        for frame, seconds in source.timed_frames():
            scale = min(1.0, MATCH_WIDTH / frame.shape[1])
            small = cv2.resize(frame, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            out.append((seconds, small.astype(np.float32)))
    return out


def first_appearances(source: list, written: list) -> dict[int, float]:
    """Source frame index -> the output time it is first shown."""
    stack = np.stack([frame for _, frame in source])
    seen: dict[int, float] = {}
    for seconds, frame in written:
        index = int(np.argmin(((stack - frame) ** 2).mean(axis=(1, 2, 3))))
        seen.setdefault(index, seconds)
    return seen


def constant_rate_offset(times: list[float]) -> tuple[float, float]:
    """(average fps, worst offset) of frame i shown at i / average fps."""
    duration = times[-1] - times[0] + (times[-1] - times[-2] if len(times) > 1 else 0)
    fps = len(times) / duration
    return fps, max(abs(i / fps - (t - times[0])) for i, t in enumerate(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", type=Path, help="measure this video instead of the "
                        "generated 10 fps + 30 fps clip")
    args = parser.parse_args()
    if args.clip and not args.clip.is_file():
        parser.error(f"{args.clip}: no such file")
    with tempfile.TemporaryDirectory(prefix="av-sync-") as work:
        clip = args.clip or vfr_clip(Path(work) / "vfr_10_then_30fps.mp4")
        result = stylize_video(str(clip), Path(work) / "out.mp4", lambda frame: frame)
        source, written = timed_frames(clip), timed_frames(Path(work) / "out.mp4")
    times = [seconds for seconds, _ in source]
    seen = first_appearances(source, written)
    new = max(abs(seconds - times[i]) for i, seconds in seen.items())
    fps, old = constant_rate_offset(times)
    print(f"CPU: {cpu_name()}; clip {clip.name}: {len(source)} frames over "
          f"{times[-1] - times[0]:.2f} s (average {fps:.2f} fps); output {result.frames} "
          f"frames")
    print(f"{'writer':<40} {'worst A/V offset':>17} {'frames never shown':>19}")
    print(f"{'old: one after another at average fps':<40} {old * 1000:>14.0f} ms {0:>19}")
    print(f"{'new: each frame at its own time':<40} {new * 1000:>14.0f} ms "
          f"{len(source) - len(seen):>19}")


if __name__ == "__main__":
    main()
