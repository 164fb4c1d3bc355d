"""The one boundary between OpenCV frames and model tensors, and cheap frame maths.

OpenCV frames are BGR uint8 (H, W, 3); the graphs take and give float32 RGB NCHW in
[0, 1]. Colour order and layout are converted here and nowhere else. Style pictures are
read by ``adain.picture`` (the reader every command uses: EXIF orientation, transparency
on white, 16-bit, CMYK, ICC profiles to sRGB), so a style means the same here as in
``adain stylize``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import AdaINError
from ..picture import load_image, resized_shape

# The graphs' smallest input side: adain.encoder.MIN_SIDE, copied here to keep torch out
# (tests/test_realtime.py pins the two together).
MIN_SIDE = 9
EVEN_MIN_SIDE = MIN_SIDE + 1  # the smallest side H.264 in yuv420p takes (even)


def inference_size(height: int, width: int, size: int | None) -> tuple[int, int]:
    """(h, w) with the longer side ``size`` (None keeps the frame's size), aspect kept.

    Resized sides are even, as H.264 in yuv420p needs. When ``size`` would make the shorter
    side smaller than EVEN_MIN_SIDE, the shorter side becomes EVEN_MIN_SIDE and the longer
    follows the aspect (the smallest even size that keeps it), so the longer side is then
    more than ``size``.
    """
    if not size:
        return height, width
    short, long = sorted((height, width))
    scale = max(size / long, EVEN_MIN_SIDE / short)
    return tuple(max(EVEN_MIN_SIDE, 2 * round(side * scale / 2)) for side in (height, width))


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


def image_to_input(path: str | Path, size: int = 512, crop: bool = False) -> np.ndarray:
    """A style picture file as float32 RGB (1, 3, h, w) in [0, 1], read as ``adain stylize``
    reads it: shorter side resized to ``size`` (0 keeps it), then with ``crop`` the
    central square."""
    rgb = load_image(path)  # float32 sRGB (H, W, 3)
    h, w = resized_shape(*rgb.shape[:2], size)
    if (h, w) != rgb.shape[:2]:
        shrink = h < rgb.shape[0]
        rgb = cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA if shrink else
                         cv2.INTER_LINEAR)
    if crop:
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        rgb = rgb[top:top + side, left:left + side]
    if min(rgb.shape[:2]) < MIN_SIDE:
        raise AdaINError(f"{path} is {rgb.shape[1]}x{rgb.shape[0]} pixels after resizing; "
                         f"each side needs at least {MIN_SIDE} (raise --style-size)")
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0).transpose(2, 0, 1)[None])


def luminance_only(stylized_bgr: np.ndarray, content_bgr: np.ndarray) -> np.ndarray:
    """Luminance-only transfer (Gatys et al. 2016): the stylised luminance with the colour
    (chroma) of the content frame."""
    if content_bgr.shape != stylized_bgr.shape:
        content_bgr = cv2.resize(content_bgr, stylized_bgr.shape[1::-1],
                                 interpolation=cv2.INTER_AREA)
    out = cv2.cvtColor(content_bgr, cv2.COLOR_BGR2YCrCb)
    out[..., 0] = cv2.cvtColor(stylized_bgr, cv2.COLOR_BGR2YCrCb)[..., 0]
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2BGR)


def resize_to(frame: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize to exactly (height, width), aspect not kept (display or file size)."""
    if frame.shape[:2] == (height, width):
        return frame
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_LINEAR)
