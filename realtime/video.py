"""``adain video``: stylise video files, every frame, keeping the frame rate and audio.

Frames are written at a constant rate, each at the slot of its own presentation time
(``timing.ConstantRate``), so a variable-frame-rate clip keeps its sound in sync; a
constant-rate clip keeps every frame once, at its exact rate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .engine import RealtimeError
from .pipeline import Pipeline
from .probe import output_rate
from .sources import IMAGE_SUFFIXES, open_source, video_files
from .stabilize import mean_warping_error
from .stylize import FrameStylizer
from .timing import ConstantRate
from .writer import VideoWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int
    seconds: float
    audio: bool
    interrupted: bool = False


def stylize_video(path: str, output: Path, stylizer: FrameStylizer,
                  on_frame: Callable[[int, int | None], None] | None = None) -> VideoResult:
    """Every frame of ``path`` stylised into ``output`` (H.264 MP4, the source's audio).

    The output has the input's frame rate (exact) and length, each frame at its own time;
    its resolution is the input's (or, with a ``size``, that of the resized frames).
    Ctrl-C finishes a playable partial file; an error leaves ``output`` as it was.
    """
    source = open_source(path)
    if source.live:
        raise RealtimeError(f"{path} is a live source; use adain webcam --source")
    audio = source.info.audio if source.info else None
    rate = output_rate(source.info, source.fps)
    writer = timeline = None
    started, interrupted, count = time.perf_counter(), False, 0
    try:
        for item in Pipeline(source, stylizer):
            if writer is None:
                height, width = item.output.shape[:2]
                writer = VideoWriter(output, width, height, rate,
                                     audio_from=path if audio else None, audio_codec=audio)
                timeline = ConstantRate(writer.write, rate)
            timeline.add(item.output, item.seconds)
            count += 1
            if on_frame:
                on_frame(count, source.frame_count)
    except KeyboardInterrupt:
        interrupted = True
    except BaseException:
        if writer is not None:
            writer.abort()  # an error leaves no half file, and an older one in place
        raise
    finally:
        source.release()
    if writer is not None:
        timeline.finish()
        writer.close()
    if writer is None:
        raise RealtimeError(f"{path}: no frame could be decoded")
    return VideoResult(output, writer.frames, time.perf_counter() - started, bool(audio),
                       interrupted)


def expand_inputs(inputs: list[str]) -> list[str]:
    """Video files and folders -> the videos to stylise: a folder stands for the video
    files in it, or, when it holds pictures and no video, for itself (an image sequence
    at 30 fps)."""
    expanded = []
    for spec in inputs:
        folder = Path(spec)
        if not folder.is_dir():
            expanded.append(spec)
            continue
        videos = video_files(folder)
        if videos:
            expanded += [str(v) for v in videos]
        elif any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
            expanded.append(spec)
        else:
            raise RealtimeError(f"{folder} holds no video files (nor pictures to use as "
                                "frames); give video files or a folder of them")
    return expanded


def output_path(path: str, output: Path | None, style: str, count: int) -> Path:
    """``-o`` as a file for one input, else a folder; default ``{input}_stylized_{style}.mp4``."""
    name = f"{Path(path).stem}_stylized_{Path(style).stem}.mp4"
    if output is None:
        return Path(path).with_name(name)
    if output.suffix and output.suffix.lower() != ".mp4":
        raise RealtimeError(f"adain video writes MP4 files; use -o NAME.mp4 or a folder, not "
                            f"{output}")
    if count == 1 and output.suffix:
        return output
    if output.suffix:
        raise RealtimeError(f"{count} videos to write but -o {output} names one file; give a "
                            "folder")
    return output / name



def video_warping_error(video: str, stylized: str,
                        on_frame: Callable[[int, int | None], None] | None = None
                        ) -> tuple[float, int]:
    """(temporal warping error, frames) of ``stylized`` against its input ``video``: flow
    on the input frames, occlusions masked (Lai et al., ECCV 2018). Either may be a video
    file or a folder of frames; they must have the same number of frames."""
    source = open_source(video)
    try:
        result = open_source(stylized)
        try:
            if source.live or result.live:
                raise RealtimeError("the warping error needs recorded videos, not live sources")
            try:
                error, frames = mean_warping_error(
                    source.frames(), result.frames(),
                    lambda n: on_frame and on_frame(n, source.frame_count))
            except ValueError as exc:  # zip(strict=True): one ran out first
                raise RealtimeError(f"{video} and {stylized} have different numbers of "
                                    "frames; compare a video with its own stylised version"
                                    ) from exc
        finally:
            result.release()
    finally:
        source.release()
    if frames < 2:
        raise RealtimeError(f"{video} has {frames} readable frame(s); the warping error needs "
                            "at least 2")
    return error, frames
