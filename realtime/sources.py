"""Where frames come from: a camera index, a video file, a stream URL, a folder of images.

Frames of a file come with their presentation times (seconds from the start), so a
variable-frame-rate clip can be written in sync with its sound (see ``timing``). A file
that is not a video (a text file, a still picture) is refused with one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .engine import RealtimeError
from .probe import MediaInfo, probe

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv",
                  ".flv", ".ts", ".mts", ".m2ts", ".3gp", ".ogv", ".gif"}


@dataclass
class Source:
    """A stream of BGR frames. ``live`` sources drop stale frames; files never do.

    A context manager: ``with open_source(spec) as source:`` releases it at the end.
    """

    name: str
    live: bool
    fps: float
    frame_count: int | None  # None when unknown (cameras, streams)
    _capture: cv2.VideoCapture | None = None
    _files: list[Path] | None = None
    info: MediaInfo | None = None  # what ffmpeg says about a file

    def timed_frames(self) -> Iterator[tuple[np.ndarray, float]]:
        """(frame, presentation time in seconds). Files give their own timestamps; a time
        that does not move forward (a container without them) becomes the previous one
        plus 1/fps; cameras and folders of pictures count 1/fps a frame."""
        previous = None
        for index, frame in enumerate(self.frames()):
            seconds = index / self.fps
            if self._capture is not None and not self.live:
                seconds = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
                if previous is not None and seconds <= previous:
                    seconds = previous + 1.0 / self.fps
            previous = seconds
            yield frame, seconds

    def frames(self) -> Iterator[np.ndarray]:
        if self._files is not None:
            for path in self._files:
                frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
                if frame is not None:
                    yield frame
            return
        while True:
            ok, frame = self._capture.read()
            if not ok:
                return
            yield frame

    def release(self) -> None:
        if self._capture is not None:
            self._capture.release()

    def __enter__(self) -> Source:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def open_source(spec: str) -> Source:
    """A camera index ("0"), a file, a URL (rtsp://, http://...) or a folder of images."""
    if not spec.strip():
        raise RealtimeError("the source is empty; give a camera index (0), a video file, a "
                            "stream URL or a folder of pictures")
    if spec.isdigit():
        return _open_capture(cv2.VideoCapture(int(spec)), f"camera {spec}", live=True,
                             hint="is a camera connected, and not in use by another program?")
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise RealtimeError(f"{spec} holds no images")
        return Source(spec, live=False, fps=30.0, frame_count=len(files), _files=files)
    if "://" in spec:  # a stream that accepts but never sends must not hang the run
        timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 5000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 5000]
        return _open_capture(cv2.VideoCapture(spec, cv2.CAP_FFMPEG, timeouts), spec, live=True,
                             hint="check the address and that the stream is up")
    if not path.is_file():
        raise RealtimeError(f"{spec}: no such file, folder or camera index")
    info = probe(spec)
    # One decoding thread: the model needs the cores more than the decoder does.
    capture = cv2.VideoCapture(spec, cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
    source = _open_capture(capture, spec, live=False,
                           hint="is it a video file OpenCV can decode?")
    source.info = info
    return source


def video_files(folder: Path) -> list[Path]:
    """The video files directly in ``folder`` (by name), sorted; hidden files skipped."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.suffix.lower() in VIDEO_SUFFIXES)


def _open_capture(capture: cv2.VideoCapture, name: str, live: bool, hint: str) -> Source:
    if not capture.isOpened():
        raise RealtimeError(f"cannot open {name}; {hint}")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    return Source(name, live, fps if 0 < fps < 1000 else 30.0,
                  None if live or count <= 0 else count, _capture=capture)


def quiet_opencv() -> None:
    """Silence OpenCV's own warnings (e.g. while probing cameras); errors are ours to say."""
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
