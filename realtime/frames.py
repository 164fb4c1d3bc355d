"""The one boundary between OpenCV frames and model tensors, and cheap frame maths.

OpenCV frames are BGR uint8 (H, W, 3); the graphs take and give float32 RGB NCHW in
[0, 1]. Colour order and layout are converted here and nowhere else.
"""

from __future__ import annotations

import cv2
import numpy as np

MIN_SIDE = 9  # the graphs' smallest input side


def inference_size(height: int, width: int, size: int | None) -> tuple[int, int]:
    """(h, w) with the longer side ``size`` (None keeps the frame's size), aspect kept.

    Resized sides are even, as H.264 in yuv420p needs; at least MIN_SIDE + 1.
    """
    if not size:
        return height, width
    scale = size / max(height, width)
    return tuple(max(MIN_SIDE + 1, 2 * round(side * scale / 2)) for side in (height, width))


def frame_to_input(frame_bgr: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """BGR uint8 (H, W, 3) -> float32 RGB (1, 3, h, w) in [0, 1], resized to ``shape``."""
    h, w = shape
    if frame_bgr.shape[:2] != (h, w):
        frame_bgr = cv2.resize(frame_bgr, (w, h), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
    return (rgb.astype(np.float32) * (1.0 / 255.0)).transpose(2, 0, 1)[None]


def output_to_frame(stylized: np.ndarray) -> np.ndarray:
    """float32 RGB (1, 3, h, w) -> BGR uint8 (h, w, 3): clip, round, cast."""
    rgb = np.clip(stylized[0].transpose(1, 2, 0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def image_to_input(path: str) -> np.ndarray:
    """A style picture file as float32 RGB (1, 3, H, W) in [0, 1] (EXIF orientation applied)."""
    frame = cv2.imread(path, cv2.IMREAD_COLOR)
    if frame is None:
        raise ValueError(f"{path}: not an image OpenCV can read")
    return frame_to_input(frame, frame.shape[:2])


def preserve_colors(stylized_bgr: np.ndarray, content_bgr: np.ndarray) -> np.ndarray:
    """Keep the stylised luminance, take the colour (chroma) from the content frame."""
    if content_bgr.shape != stylized_bgr.shape:
        content_bgr = cv2.resize(content_bgr, stylized_bgr.shape[1::-1],
                                 interpolation=cv2.INTER_AREA)
    out = cv2.cvtColor(content_bgr, cv2.COLOR_BGR2YCrCb)
    out[..., 0] = cv2.cvtColor(stylized_bgr, cv2.COLOR_BGR2YCrCb)[..., 0]
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2BGR)


def fit(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to exactly (height, width) (display or file size)."""
    if frame.shape[:2] == (height, width):
        return frame
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
