"""H.264 MP4 files that play in browsers, with the source's audio, through ffmpeg.

The ffmpeg binary comes with the imageio-ffmpeg package. Frames go to its stdin as raw
BGR at an exact rational rate (30000/1001, not 29.97); closing stdin (also on Ctrl-C)
lets ffmpeg finish the file, so it always plays.

The file is written beside the output under a temporary name and renamed over it only
when finished, so an existing file is never left torn. With audio, the video is written
first and the sound muxed in after, cut to the video's length: copied as it is when MP4
holds its codec (AAC, MP3, ALAC, Opus), re-encoded to AAC otherwise.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .engine import RealtimeError
from .probe import MP4_AUDIO, ffmpeg

log = logging.getLogger(__name__)

COLOUR = ["-vf", "scale=out_color_matrix=bt709:out_range=tv", "-colorspace", "bt709",
          "-color_primaries", "bt709", "-color_trc", "bt709"]


class VideoWriter:
    """Frames in, one finished MP4 at ``path`` on ``close()``; ``frames`` counts them."""

    def __init__(self, path: Path, width: int, height: int, rate: Fraction,
                 audio_from: str | None = None, audio_codec: str | None = None,
                 audio_lead: float = 0.0) -> None:
        self.path, self.frames, self.rate, self.closed = path, 0, Fraction(rate), False
        self.audio_from, self.audio_codec = audio_from, audio_codec
        self.audio_lead = audio_lead  # seconds of sound before the first frame, left out
        self.has_sound = False  # True once the source's sound is in the finished file
        width, height = width - width % 2, height - height % 2  # yuv420p needs even sizes
        self.size = (width, height)
        self.video_part = path.with_name(path.name + (".video.part" if audio_from else ".part"))
        command = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
                   "-r", f"{self.rate.numerator}/{self.rate.denominator}", "-i", "-",
                   *COLOUR, "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast",
                   "-threads", "1",  # the model needs the cores more than the encoder
                   "-crf", "18", "-movflags", "+faststart", "-f", "mp4", str(self.video_part)]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Its own process group: a Ctrl-C in the terminal reaches us, not ffmpeg, and
            # we finish the file by closing its input.
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                            stderr=subprocess.PIPE, **_own_process_group())
        except OSError as exc:
            raise RealtimeError(f"cannot start ffmpeg to write {path}: {exc}") from exc

    def write(self, frame: np.ndarray) -> None:
        width, height = self.size
        if frame.shape[:2] != (height, width):
            if 0 <= frame.shape[0] - height <= 1 and 0 <= frame.shape[1] - width <= 1:  # odd
                frame = np.ascontiguousarray(frame[:height, :width])
            else:  # e.g. a folder of pictures of several sizes
                frame = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        try:
            self.process.stdin.write(frame.tobytes())
        except BrokenPipeError as exc:
            self.closed = True
            self.process.wait()
            self._discard()
            raise RealtimeError(f"ffmpeg stopped writing {self.path}: "
                                f"{_reason(self.process)}") from exc
        self.frames += 1

    def close(self) -> None:
        """Finish the file and put it in place (safe to call twice)."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(BrokenPipeError):
            self.process.stdin.close()
        if self.process.wait() != 0:
            self._discard()
            raise RealtimeError(f"ffmpeg failed on {self.path}: {_reason(self.process)}")
        if self.audio_from and self.frames:
            self._mux_audio()
        else:
            os.replace(self.video_part, self.path)

    def abort(self) -> None:
        """Stop ffmpeg and remove what it wrote; an existing file at ``path`` is kept."""
        if self.closed:
            return
        self.closed = True
        self.process.kill()
        self.process.wait()
        self._discard()

    def _mux_audio(self) -> None:
        """The source's sound beside the finished video, cut to its length. Should that
        fail, or be interrupted, the stylised video is kept without sound (with a warning):
        the frames are the work of the run, the sound is still in the source."""
        part = self.path.with_name(self.path.name + ".part")
        audio = ["-c:a", "copy"] if self.audio_codec in MP4_AUDIO else \
            ["-c:a", "aac", "-b:a", "160k"]
        seconds = self.frames / self.rate
        command = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                   "-i", str(self.video_part),
                   *(["-ss", f"{self.audio_lead:.6f}"] if self.audio_lead > 5e-4 else []),
                   "-i", self.audio_from,
                   "-map", "0:v:0", "-map", "1:a:0", "-c:v", "copy", *audio,
                   "-t", f"{float(seconds):.6f}", "-movflags", "+faststart", "-f", "mp4",
                   str(part)]
        try:
            done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                  **_own_process_group())
        except BaseException:  # Ctrl-C while muxing: keep the frames
            part.unlink(missing_ok=True)
            os.replace(self.video_part, self.path)
            raise
        if done.returncode != 0:
            part.unlink(missing_ok=True)
            os.replace(self.video_part, self.path)
            lines = done.stderr.decode(errors="replace").strip().splitlines()
            log.warning("%s is written without sound: ffmpeg could not add the sound of %s "
                        "(%s)", self.path, self.audio_from,
                        lines[-1] if lines else f"exit code {done.returncode}")
            return
        os.replace(part, self.path)
        self.video_part.unlink(missing_ok=True)
        self.has_sound = True

    def _discard(self) -> None:
        self.video_part.unlink(missing_ok=True)


def _reason(process: subprocess.Popen) -> str:
    """ffmpeg's own last line of error, or its exit code when it said nothing."""
    lines = process.stderr.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else f"ffmpeg exited with code {process.returncode}"


def _own_process_group() -> dict:
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}
