"""H.264 MP4 files that play in browsers, with the source's audio, through ffmpeg.

The ffmpeg binary comes with the imageio-ffmpeg package. Frames go to its stdin as raw
BGR; closing stdin (also on Ctrl-C) lets ffmpeg finish the file, so it always plays.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from .engine import RealtimeError


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def has_audio(path: str) -> bool:
    probe = subprocess.run([ffmpeg(), "-hide_banner", "-i", path], capture_output=True,
                           text=True)
    return " Audio:" in probe.stderr


class VideoWriter:
    def __init__(self, path: Path, width: int, height: int, fps: float,
                 audio_from: str | None = None) -> None:
        self.path, self.frames = path, 0
        width, height = width - width % 2, height - height % 2  # yuv420p needs even sizes
        self.size = (width, height)
        command = [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y",
                   "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}",
                   "-r", f"{fps:.6g}", "-i", "-"]
        if audio_from:
            # apad + shortest: the audio ends with the video, never the other way round
            # (a partial file after Ctrl-C has matching tracks; no frame is ever cut).
            command += ["-i", audio_from, "-map", "0:v:0", "-map", "1:a:0", "-c:a", "aac",
                        "-b:a", "160k", "-af", "apad", "-shortest"]
        command += ["-vf", "scale=out_color_matrix=bt709:out_range=tv", "-colorspace", "bt709",
                    "-color_primaries", "bt709", "-color_trc", "bt709",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast",
                    "-threads", "1",  # the model needs the cores more than the encoder
                    "-crf", "18", "-movflags", "+faststart", str(path)]
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
            raise RealtimeError(f"ffmpeg stopped writing {self.path}: "
                                f"{self.process.stderr.read().decode()[-300:]}") from exc
        self.frames += 1

    def close(self) -> None:
        """Finish the file (safe to call twice)."""
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        if self.process.wait() != 0:
            message = self.process.stderr.read().decode().strip().splitlines()
            raise RealtimeError(f"ffmpeg failed on {self.path}: "
                                f"{message[-1] if message else 'unknown error'}")


def _own_process_group() -> dict:
    if sys.platform == "win32":
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True}
