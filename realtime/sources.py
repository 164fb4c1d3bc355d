"""Where frames come from: a camera index, a video file, a stream URL, a folder of images."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .engine import RealtimeError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


@dataclass
class Source:
    """A stream of BGR frames. ``live`` sources drop stale frames; files never do."""

    name: str
    live: bool
    fps: float
    frame_count: int | None  # None when unknown (cameras, streams)
    _capture: cv2.VideoCapture | None = None
    _files: list[Path] | None = None

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


def open_source(spec: str) -> Source:
    """A camera index ("0"), a file, a URL (rtsp://, http://...) or a folder of images."""
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
    # One decoding thread: the model needs the cores more than the decoder does.
    capture = cv2.VideoCapture(spec, cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
    return _open_capture(capture, spec, live=False, hint="is it a video file OpenCV can decode?")


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
