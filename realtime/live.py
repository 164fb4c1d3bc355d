"""``adain webcam``: the live loop, its window, keys, recording and virtual camera."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from . import frames
from .engine import Engine, RealtimeError
from .pipeline import Pipeline
from .sources import open_source, quiet_opencv
from .stylize import FrameStylizer
from .writer import VideoWriter

log = logging.getLogger(__name__)

WINDOW = "adain"


@dataclass
class LiveConfig:
    source: str = "0"
    styles: tuple[str, ...] = ()
    onnx_dir: Path = Path("models/onnx")
    size: int | None = 512
    alpha: float = 1.0
    preserve_color: bool = False
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
    quiet_opencv()
    engine = Engine(config.onnx_dir, config.provider, config.variant)
    styles = [engine.style(s) for s in config.styles]
    source = open_source(config.source)
    stylizer = FrameStylizer(engine, styles[0], config.size, config.alpha,
                             config.preserve_color, config.stabilize)
    stats = LiveStats(provider=engine.provider)
    session = _Session(config, stylizer, styles, source.fps, stats, source.live)
    try:
        pipeline = Pipeline(source, stylizer)
        for item in pipeline:
            if not session.show(item):
                break
            stats.frames += 1
            if config.max_frames and stats.frames >= config.max_frames:
                break
        stats.dropped = pipeline.dropped
    finally:
        source.release()
        session.close()
    stats.fps, stats.latency_ms = session.meter.fps, session.meter.latency * 1000
    return stats


class _Session:
    """What the user sees and controls: window, overlay, keys, recording, virtual camera."""

    def __init__(self, config: LiveConfig, stylizer: FrameStylizer, styles: list,
                 fps: float, stats: LiveStats, live: bool) -> None:
        self.config, self.stylizer, self.styles, self.fps = config, stylizer, styles, fps
        self.live, self.record_start = live, 0.0
        self.stats, self.meter = stats, _Meter()
        self.style_index, self.paused = 0, False
        self.writer: VideoWriter | None = None
        self.camera = _virtual_camera() if config.virtual_cam else None
        if not config.headless:
            cv2.namedWindow(WINDOW, cv2.WINDOW_NORMAL)

    def show(self, item) -> bool:
        """Display, record and handle keys for one frame; False to stop."""
        self.meter.tick(item.captured_at)
        h, w = item.frame.shape[:2]
        out = frames.fit(item.output, h, w)  # the display keeps the camera's size
        if self.config.side_by_side:
            out = np.hstack([item.frame, out])
        if self.config.record and self.writer is None and self.stats.frames == 0:
            self._start_recording(out)
        if self.writer is not None:
            self._record(out, item.captured_at)
        if self.camera is not None:
            self.camera.send(cv2.cvtColor(frames.fit(out, self.camera.height, self.camera.width),
                                          cv2.COLOR_BGR2RGB))
        if self.config.headless:
            return True
        cv2.imshow(WINDOW, self._overlay(out.copy()))
        return self._keys(out)

    def _overlay(self, image: np.ndarray) -> np.ndarray:
        text = (f"{self.meter.fps:5.1f} fps  {self.meter.latency * 1000:4.0f} ms  "
                f"alpha {self.stylizer.alpha:.1f}  style {self.style_index + 1}/"
                f"{len(self.styles)}  {self.stats.provider}"
                f"{'  color' if self.stylizer.preserve_color else ''}"
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
                self.stylizer.preserve_color = not self.stylizer.preserve_color
            elif key == ord("s"):
                path = self.config.snapshot_dir / f"adain_{time.strftime('%Y%m%d_%H%M%S')}.png"
                cv2.imwrite(str(path), out)
                log.warning("saved %s", path)
            elif key == ord("r"):
                self._stop_recording() if self.writer else self._start_recording(out)
            if not self.paused:
                return True
            time.sleep(0.03)

    def _record(self, out: np.ndarray, captured_at: float) -> None:
        """Files: every frame once. Live: frames repeated so that the recording keeps real
        time at the source's frame rate, however many frames the model could not keep up with."""
        if not self.live:
            self.writer.write(out)
            return
        if self.writer.frames == 0:
            self.record_start = captured_at
        due = int((captured_at - self.record_start) * self.fps) + 1
        for _ in range(max(1, due - self.writer.frames)):
            self.writer.write(out)

    def _start_recording(self, out: np.ndarray) -> None:
        path = self.config.record or Path(f"adain_{time.strftime('%Y%m%d_%H%M%S')}.mp4")
        h, w = out.shape[:2]
        self.writer = VideoWriter(path, w, h, self.fps)
        self.stats.recordings.append(path)

    def _stop_recording(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()

    def close(self) -> None:
        self._stop_recording()  # a camera that disconnects still leaves a finished file
        if self.camera is not None:
            self.camera.close()
        if not self.config.headless:
            cv2.destroyAllWindows()


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
