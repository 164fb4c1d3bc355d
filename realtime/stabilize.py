"""Less flicker: blend each stylised frame with the previous one, moved along the motion.

Optical flow (OpenCV's DIS, on small greyscale input frames) warps the previous output
onto the current frame; where the warp is trustworthy (the warped previous input matches
the current input) the two are blended, elsewhere the new frame is kept. The same flow
measures flicker: the temporal warping error of Lai et al. (ECCV 2018).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import cv2
import numpy as np

FLOW_WIDTH = 256  # flow is computed at this width: fast, and enough for the blend
BLEND = 0.6  # weight of the warped previous output where the warp holds
OCCLUSION = 0.08  # warped-input difference (0..1) above which a pixel is "new"


def backward_flow(current: np.ndarray, previous: np.ndarray, width: int = FLOW_WIDTH,
                  dis: cv2.DISOpticalFlow | None = None) -> np.ndarray:
    """Flow (H, W, 2) such that current(x) ~ previous(x + flow(x)), at ``current``'s size."""
    h, w = current.shape[:2]
    scale = min(1.0, width / w)
    size = (max(8, round(w * scale)), max(8, round(h * scale)))
    cur = cv2.cvtColor(cv2.resize(current, size, interpolation=cv2.INTER_AREA),
                       cv2.COLOR_BGR2GRAY)
    prev = cv2.cvtColor(cv2.resize(previous, size, interpolation=cv2.INTER_AREA),
                        cv2.COLOR_BGR2GRAY)
    dis = dis or cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
    flow = dis.calc(cur, prev, None)
    return cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR) / scale


def sample_maps(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """cv2.remap's (map_x, map_y) for a flow: where each pixel reads from."""
    grid_x, grid_y = _grid(*flow.shape[:2])
    return grid_x + flow[..., 0], grid_y + flow[..., 1]


@functools.lru_cache(maxsize=4)
def _grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))


def warp(image: np.ndarray, maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    return cv2.remap(image, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def valid_mask(current: np.ndarray, previous: np.ndarray,
               maps: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """(H, W, 1) float: 1 where the previous input, warped, matches the current input."""
    diff = np.abs(warp(previous, maps).astype(np.float32) - current.astype(np.float32))
    return (diff.mean(axis=2, keepdims=True) / 255.0 < OCCLUSION).astype(np.float32)


def warping_error(out_t: np.ndarray, out_prev: np.ndarray, in_t: np.ndarray,
                  in_prev: np.ndarray) -> float:
    """Mean squared difference (0..1 scale) between output t and output t-1 warped onto t,
    over pixels the flow on the inputs says are visible in both."""
    maps = sample_maps(backward_flow(in_t, in_prev))
    mask = valid_mask(in_t, in_prev, maps)
    diff = (out_t.astype(np.float32) - warp(out_prev, maps).astype(np.float32)) / 255.0
    return float((diff**2 * mask).sum() / max(mask.sum() * 3, 1.0))


def mean_warping_error(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray],
                       on_pair: Callable[[int], object] | None = None) -> tuple[float, int]:
    """(mean warping error over consecutive frame pairs, frames compared) of a clip and its
    stylised version; input frames are resized to the outputs' size for the flow."""
    errors, previous = [], None
    for index, (frame, out) in enumerate(zip(inputs, outputs, strict=True)):
        if frame.shape[:2] != out.shape[:2]:
            frame = cv2.resize(frame, out.shape[1::-1], interpolation=cv2.INTER_AREA)
        if previous is not None:
            errors.append(warping_error(out, previous[1], frame, previous[0]))
        previous = (frame, out)
        if on_pair:
            on_pair(index + 1)
    return (float(np.mean(errors)) if errors else 0.0), len(errors) + (previous is not None)


class Stabilizer:
    """Feeds on (input frame, stylised frame) pairs of one size; returns the steadier frame."""

    def __init__(self) -> None:
        self.previous: tuple[np.ndarray, np.ndarray] | None = None
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        if self.previous is None or self.previous[0].shape != frame.shape:
            out = stylized
        else:
            prev_in, prev_out = self.previous
            maps = sample_maps(backward_flow(frame, prev_in, dis=self.dis))
            weight = BLEND * valid_mask(frame, prev_in, maps)
            blended = weight * warp(prev_out, maps) + (1 - weight) * stylized
            out = np.clip(blended + 0.5, 0, 255).astype(np.uint8)
        self.previous = (frame, out)
        return out
