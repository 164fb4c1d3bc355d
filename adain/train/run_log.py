"""What a training run shows as it goes: TensorBoard scalars and sample grids.

Only the main process makes a :class:`RunLog`. TensorBoard files go to ``RUN/tb``, sample
grids (content | style | output rows) also to ``RUN/samples`` as JPEGs.
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

    def samples(self, step: int, content: Tensor, style: Tensor, output: Tensor) -> Path:
        """A grid with one row per pair: content | style | output, all in [0, 1]."""
        from torchvision.utils import make_grid

        rows = torch.stack([content, style, output.clamp(0, 1)], dim=1)  # (B, 3, 3, H, W)
        grid = make_grid(rows.flatten(0, 1).float().cpu(), nrow=3, padding=2)
        self.writer.add_image("samples", grid, step)
        return save_image(grid[None], self.run / "samples" / f"step_{step:08d}.jpg")

    def close(self) -> None:
        self.writer.close()
