"""``adain webcam``: the live loop, its window, keys, recording and virtual camera.

Without a display (Linux with neither $DISPLAY nor $WAYLAND_DISPLAY) the window is refused
with one line before it is created: Qt would abort the whole process, which no handler
can catch. Recordings are written at the source's exact rate, each frame at the slot of
its time (capture time for live sources, presentation time for files).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from ..outputs import check_writable_path, free_name, refuse_inputs_as_outputs
from ..paths import DEFAULT_ONNX_DIR
from . import frames
from .engine import Engine, RealtimeError
from .pipeline import Pipeline
from .probe import output_rate
from .sources import open_source, quiet_opencv
from .stylize import FrameStylizer
from .timing import ConstantRate
from .writer import VideoWriter

log = logging.getLogger(__name__)

WINDOW = "adain"


@dataclass
class LiveConfig:
    source: str = "0"
    styles: tuple[str, ...] = ()
    onnx_dir: Path = DEFAULT_ONNX_DIR
    size: int | None = 512
    style_size: int = 512  # shorter side of the style pictures (0 keeps it)
    crop: bool = False  # style pictures cropped to their central square
    alpha: float = 1.0
    luminance_only: bool = False
    stabilize: bool = False
    side_by_side: bool = False
    record: Path | None = None
    headless: bool = False
    max_frames: int | None = None
    provider: str = "auto"
    variant: str = ""  # "", ".fp16" or ".int8"
    virtual_cam: bool = False
    snapshot_dir: Path = Path(".")


@dataclass
class LiveStats:
    frames: int = 0
    provider: str = ""
    fps: float = 0.0
    latency_ms: float = 0.0
    dropped: int = 0
    recordings: list[Path] = field(default_factory=list)


class _Meter:
    """Frames per second and latency over the last second or so."""

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=30)
        self.latency = 0.0

    def tick(self, captured_at: float) -> None:
        now = time.perf_counter()
        self.times.append(now)
        self.latency = 0.9 * self.latency + 0.1 * (now - captured_at) if self.latency else \
            now - captured_at

    @property
    def fps(self) -> float:
        if len(self.times) < 2:
            return 0.0
        return (len(self.times) - 1) / max(self.times[-1] - self.times[0], 1e-9)


def run_live(config: LiveConfig) -> LiveStats:
    if not config.styles:
        raise RealtimeError("give at least one --style")
    if not config.headless:
        check_display()
    if config.record:
        refuse_inputs_as_outputs([config.record], [config.source, *config.styles],
                                 hint="choose another --record")
        check_writable_path(config.record)
    quiet_opencv()
    engine = Engine(config.onnx_dir, config.provider, config.variant)
    styles = [engine.style(s, config.style_size, config.crop) for s in config.styles]
    stylizer = FrameStylizer(engine, styles[0], config.size, config.alpha,
                             config.luminance_only, config.stabilize)
    stats = LiveStats(provider=engine.provider)
    with open_source(config.source) as source:
        window = _Window(config, stylizer, styles, output_rate(source.info, source.fps), stats,
                         source.live)
        try:
            pipeline = Pipeline(source, stylizer)
            for item in pipeline:
                if not window.show(item):
                    break
                stats.frames += 1
                if config.max_frames and stats.frames >= config.max_frames:
                    break
            stats.dropped = pipeline.dropped
        finally:
            window.close()
    stats.fps, stats.latency_ms = window.meter.fps, window.meter.latency * 1000
    return stats


class _Window:
    """What the user sees and controls: window, overlay, keys, recording, virtual camera."""

    def __init__(self, config: LiveConfig, stylizer: FrameStylizer, styles: list,
                 rate: Fraction, stats: LiveStats, live: bool) -> None:
        self.config, self.stylizer, self.styles, self.rate = config, stylizer, styles, rate
        self.live, self.record_start = live, 0.0
        self.stats, self.meter = stats, _Meter()
        self.style_index, self.paused = 0, False
        self.writer: VideoWriter | None = None
        self.timeline: ConstantRate | None = None
        self.camera = _virtual_camera() if config.virtual_cam else None
        if not config.headless:
            try:
                cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)
            except cv2.error as exc:
                raise RealtimeError(f"cannot open a window here ({exc.err or exc}); use "
                                    "--headless") from exc

    def show(self, item) -> bool:
        """Display, record and handle keys for one frame; False to stop."""
        self.meter.tick(item.captured_at)
        h, w = item.frame.shape[:2]
        out = frames.resize_to(item.output, h, w)  # the display keeps the camera's size
        if self.config.side_by_side:
            out = np.hstack([item.frame, out])
        if self.config.record and self.writer is None and self.stats.frames == 0:
            self._start_recording(out)
        if self.writer is not None:
            self._record(out, item)
        if self.camera is not None:
            sent = frames.resize_to(out, self.camera.height, self.camera.width)
            self.camera.send(cv2.cvtColor(sent, cv2.COLOR_BGR2RGB))
        if self.config.headless:
            return True
        cv2.imshow(WINDOW, self._overlay(out.copy()))
        return self._keys(out)

    def _overlay(self, image: np.ndarray) -> np.ndarray:
        text = (f"{self.meter.fps:5.1f} fps  {self.meter.latency * 1000:4.0f} ms  "
                f"alpha {self.stylizer.alpha:.1f}  style {self.style_index + 1}/"
                f"{len(self.styles)}  {self.stats.provider}"
                f"{'  luminance only' if self.stylizer.luminance_only else ''}"
                f"{'  REC' if self.writer else ''}{'  PAUSED' if self.paused else ''}")
        cv2.putText(image, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 3)
        cv2.putText(image, text, (10, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (255, 255, 255), 1)
        return image

    def _keys(self, out: np.ndarray) -> bool:
        while True:
            key = cv2.waitKey(1) & 0xFF
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1 or key in (ord("q"), 27):
                return False
            if key == ord(" "):
                self.paused = not self.paused
            elif key in (ord("n"), ord("p")):
                step = 1 if key == ord("n") else -1
                self.style_index = (self.style_index + step) % len(self.styles)
                self.stylizer.style = self.styles[self.style_index]
            elif key in (ord("+"), ord("=")):
                self.stylizer.alpha = min(1.0, round(self.stylizer.alpha + 0.1, 2))
            elif key == ord("-"):
                self.stylizer.alpha = max(0.0, round(self.stylizer.alpha - 0.1, 2))
            elif key == ord("c"):
                self.stylizer.luminance_only = not self.stylizer.luminance_only
            elif key == ord("s"):
                self._snapshot(out)
            elif key == ord("r"):
                self._stop_recording() if self.writer else self._start_recording(out)
            if not self.paused:
                return True
            time.sleep(0.03)

    def _record(self, out: np.ndarray, item) -> None:
        """Each frame at the slot of its time since the recording started: capture time
        for live sources (frames the model could not keep up with are filled by
        repeats, so the recording keeps real time), presentation time for files."""
        seconds = item.captured_at if self.live else item.seconds
        if self.timeline.written == 0 and self.timeline.pending is None:
            self.record_start = seconds
        self.timeline.add(out, seconds - self.record_start)

    def _snapshot(self, out: np.ndarray) -> None:
        path = free_name(self.config.snapshot_dir / f"adain_{time.strftime('%Y%m%d_%H%M%S')}.png")
        if cv2.imwrite(str(path), out):
            log.warning("saved %s", path)
        else:
            log.error("could not save the snapshot %s; is its folder writable?", path)

    def _start_recording(self, out: np.ndarray) -> None:
        """--record names the first recording; later ones (key r), and default names, get
        _2, _3... so that no recording replaces another."""
        path = self.config.record or Path(f"adain_{time.strftime('%Y%m%d_%H%M%S')}.mp4")
        if self.stats.recordings or not self.config.record:
            path = free_name(path, self.stats.recordings)
        h, w = out.shape[:2]
        self.writer = VideoWriter(path, w, h, self.rate)
        self.timeline = ConstantRate(self.writer.write, self.rate)
        self.stats.recordings.append(path)

    def _stop_recording(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                self.timeline.finish()
            finally:
                writer.close()

    def close(self) -> None:
        self._stop_recording()  # a camera that disconnects still leaves a finished file
        if self.camera is not None:
            self.camera.close()
        if not self.config.headless:
            cv2.destroyAllWindows()


def check_display() -> None:
    """Refuse, in one line, to open a window where there is no display to show it on."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise RealtimeError("there is no display here (neither $DISPLAY nor $WAYLAND_DISPLAY "
                            "is set) to show the window on; use --headless (with --record "
                            "or --virtual-cam to keep the result)")


def _virtual_camera(width: int = 1280, height: int = 720, fps: float = 30.0):
    try:
        import pyvirtualcam
    except ImportError:
        raise RealtimeError("--virtual-cam needs pyvirtualcam: pip install 'adain[virtualcam]' "
                            "(on Linux also the v4l2loopback kernel module)") from None
    try:
        return pyvirtualcam.Camera(width=width, height=height, fps=fps)
    except RuntimeError as exc:
        raise RealtimeError(f"no virtual camera available: {exc} (Linux: load v4l2loopback; "
                            "macOS and Windows: install OBS's virtual camera)") from exc
