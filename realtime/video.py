"""``adain video``: stylise video files, every frame, keeping the frame rate and audio.

Frames are written at a constant rate, each at the slot of its own presentation time
(``timing.ConstantRate``), so a variable-frame-rate clip keeps its sound in sync; a
constant-rate clip keeps every frame once, at its exact rate.

Several files run as a batch, as ``batch.run_jobs`` runs pictures: :func:`plan_videos`
names every output and refuses, before any work, one that is an input, that two inputs
share, or that cannot be written; :func:`stylize_videos` runs them, records a file that
fails and goes on; Ctrl-C finishes the current file as a playable partial one and stops.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..outputs import check_writable_path, refuse_inputs_as_outputs
from .engine import RealtimeError
from .pipeline import Pipeline
from .probe import output_rate
from .sources import IMAGE_SUFFIXES, open_source, video_files
from .stabilize import mean_warping_error
from .timing import ConstantRate
from .writer import VideoWriter

OnFrame = Callable[[int, int | None], object]  # (frames done, frames in all or None)


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int
    seconds: float
    audio: bool
    interrupted: bool = False


@dataclass(frozen=True)
class VideoJob:
    source: str
    output: Path


@dataclass
class VideoReport:
    written: list[VideoResult] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (input, one-line reason)

    @property
    def interrupted(self) -> bool:
        """Whether Ctrl-C stopped the batch (the last file written is a partial one)."""
        return bool(self.written) and self.written[-1].interrupted


def stylize_video(path: str, output: Path, stylizer: Callable[[np.ndarray], np.ndarray],
                  on_frame: OnFrame | None = None) -> VideoResult:
    """Every frame of ``path`` stylised into ``output`` (H.264 MP4, the source's audio).

    The output has the input's frame rate (exact) and length, each frame at its own time;
    its resolution is the input's (or, with a ``size``, that of the resized frames).
    Ctrl-C finishes a playable partial file; an error leaves ``output`` as it was.
    """
    writer = timeline = None
    interrupted, count = False, 0
    with open_source(path) as source:
        if source.live:
            raise RealtimeError(f"{path} is a live source; use adain webcam --source")
        audio = source.info.audio if source.info else None
        rate = output_rate(source.info, source.fps)
        started = time.perf_counter()
        try:
            for item in Pipeline(source, stylizer):
                if writer is None:
                    height, width = item.output.shape[:2]
                    writer = VideoWriter(output, width, height, rate,
                                         audio_from=path if audio else None, audio_codec=audio,
                                         audio_lead=source.info.video_lead if audio else 0.0)
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
    if writer is None:
        if interrupted:
            raise KeyboardInterrupt
        raise RealtimeError(f"{path}: no frame could be decoded")
    timeline.finish()
    writer.close()
    return VideoResult(output, writer.frames, time.perf_counter() - started, writer.has_sound,
                       interrupted)


def plan_videos(inputs: Sequence[str], output: Path | None, style: str) -> list[VideoJob]:
    """The videos that ``inputs`` stand for (:func:`expand_inputs`), each with its output
    (:func:`output_path`). Refused before any work: two inputs with one output, an output
    that is an input or the style, an output that cannot be written."""
    sources = expand_inputs(inputs, results_of=Path(style).stem)
    jobs = [VideoJob(path, output_path(path, output, style, len(sources))) for path in sources]
    targets = [job.output for job in jobs]
    if len(set(targets)) < len(targets):
        raise RealtimeError("two inputs would be written to the same file (same name in "
                            "different folders); stylise them in separate calls")
    refuse_inputs_as_outputs(targets, [*sources, style])
    for target in targets:
        check_writable_path(target)
    return jobs


def stylize_videos(jobs: Sequence[VideoJob],
                   make_stylizer: Callable[[], Callable[[np.ndarray], np.ndarray]],
                   progress: Callable[[VideoJob], AbstractContextManager[OnFrame | None]]
                   | None = None,
                   on_done: Callable[[VideoJob, VideoResult | None, str | None], object]
                   | None = None) -> VideoReport:
    """Each job through :func:`stylize_video` with a fresh ``make_stylizer()`` (a
    stabiliser never carries one clip's last frame into the next).

    A file that fails is recorded with its one-line reason and the batch goes on; an
    interrupted file (Ctrl-C) is written as a playable partial one and ends the batch.
    ``progress(job)`` is a context manager around each file (a progress bar) that gives
    the file's ``on_frame(done, total)``; ``on_done(job, result, reason)`` follows it with
    the result, or None and the reason the file failed.
    """
    report = VideoReport()
    for job in jobs:
        result = reason = None
        with progress(job) if progress else contextlib.nullcontext() as on_frame:
            try:
                result = stylize_video(job.source, job.output, make_stylizer(), on_frame)
            except RealtimeError as exc:
                reason = str(exc)
        if result is None:
            report.failed.append((job.source, reason))
        else:
            report.written.append(result)
        if on_done:
            on_done(job, result, reason)
        if report.interrupted:
            break
    return report


def expand_inputs(inputs: list[str], results_of: str | None = None) -> list[str]:
    """Video files and folders -> the videos to stylise: a folder stands for the video
    files in it, or, when it holds pictures and no video, for itself (an image sequence
    at 30 fps). In folders, the results of an earlier run with the style ``results_of``
    (``*_stylized_{style}.mp4``) are left out, so a second run does not stylise them."""
    expanded = []
    for spec in inputs:
        folder = Path(spec)
        if not folder.is_dir():
            expanded.append(spec)
            continue
        found = video_files(folder)
        videos = [v for v in found
                  if not (results_of and v.stem.endswith(f"_stylized_{results_of}"))]
        if found and not videos:
            raise RealtimeError(f"{folder} holds {len(found)} videos, all results of earlier "
                                f"runs with the style {results_of} (*_stylized_{results_of}"
                                ".mp4); give the original videos")
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


def video_warping_error(video: str, stylized: str, on_frame: OnFrame | None = None
                        ) -> tuple[float, int]:
    """(temporal warping error, frames) of ``stylized`` against its input ``video``: flow
    on the input frames, occlusions masked (Lai et al., ECCV 2018). Either may be a video
    file or a folder of frames; they must have the same number of frames."""
    with open_source(video) as source, open_source(stylized) as result:
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
    if frames < 2:
        raise RealtimeError(f"{video} has {frames} readable frame(s); the warping error needs "
                            "at least 2")
    return error, frames
