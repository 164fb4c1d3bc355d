"""Frames at their own presentation times -> a constant-rate stream that keeps sync.

A variable-frame-rate clip (phones slow down in low light) written frame after frame at
one rate drifts from its sound. Here each frame goes to the output slot nearest its
presentation time (slot n shows at n / rate): a frame is repeated until the next one is
due, and a frame whose slot the next frame also takes is dropped. Every frame is then
shown within half an output frame of its time, so picture and sound stay in sync. A
constant-rate source written at its own rate keeps every frame, once.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction

import numpy as np


class ConstantRate:
    """Feed ``add(frame, seconds)`` in presentation order, then ``finish()``; frames reach
    ``write`` at ``rate``. ``written`` counts the frames written."""

    def __init__(self, write: Callable[[np.ndarray], None], rate: Fraction) -> None:
        self.write, self.rate = write, rate
        self.pending: np.ndarray | None = None
        self.written = 0

    def add(self, frame: np.ndarray, seconds: float) -> None:
        slot = round(seconds * self.rate)
        if self.pending is not None:
            for _ in range(slot - self.written):  # none when this frame takes the same slot
                self._emit(self.pending)
        self.pending = frame

    def finish(self) -> None:
        """Write the last frame (once; safe to call twice)."""
        if self.pending is not None:
            self._emit(self.pending)
            self.pending = None

    def _emit(self, frame: np.ndarray) -> None:
        self.write(frame)
        self.written += 1
