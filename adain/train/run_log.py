"""What a training run shows as it goes: TensorBoard scalars and sample grids.

Only the main process makes a :class:`RunLog`. TensorBoard files go to ``RUN/tb``, sample
grids (content | style | output rows; when distilling content | style | teacher |
student) also to ``RUN/samples`` as JPEGs.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor

from ..images import save_image


class RunLog:
    def __init__(self, run: Path) -> None:
        from torch.utils.tensorboard import SummaryWriter  # slow import, main process only

        self.run = run
        self.writer = SummaryWriter(log_dir=str(run / "tb"))

    def scalars(self, step: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            self.writer.add_scalar(name, value, step)

    def samples(self, step: int, columns: list[Tensor]) -> Path:
        """A grid with one row per pair and ``columns`` across, each (B, 3, H, W) in [0, 1]:
        content | style | output (| the student's output when distilling)."""
        from torchvision.utils import make_grid

        rows = torch.stack([c.float().clamp(0, 1) for c in columns], dim=1)  # (B, K, 3, H, W)
        grid = make_grid(rows.flatten(0, 1).cpu(), nrow=len(columns), padding=2)
        self.writer.add_image("samples", grid, step)
        return save_image(grid[None], self.run / "samples" / f"step_{step:08d}.jpg")

    def close(self) -> None:
        self.writer.close()
