"""One frame through the model: resize, stylise, luminance-only transfer, stabilisation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import frames
from .engine import Engine, StyleStats
from .stabilize import Stabilizer


@dataclass
class FrameStylizer:
    """Callable frame -> stylised frame at the inference size; its settings may change
    between frames (the live keys do that)."""

    engine: Engine
    style: StyleStats
    size: int | None  # longer side for inference; None keeps the frame's size
    alpha: float = 1.0
    luminance_only: bool = False  # stylised luminance, the frame's colours
    stabilize: bool = False
    _stabilizer: Stabilizer = field(default_factory=Stabilizer)

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        shape = frames.inference_size(*frame.shape[:2], self.size)
        small = frames.resize_to(frame, *shape)
        out = frames.output_to_frame(self.engine(frames.frame_to_input(small, shape),
                                                 self.style, self.alpha))
        if self.luminance_only:
            out = frames.luminance_only(out, small)
        if self.stabilize:
            out = self._stabilizer(small, out)
        return out
