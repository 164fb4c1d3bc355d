"""What several test files share, in one place: where the repository and the shared media
are, pictures made on the spot, and the real CLI run in-process.

Fixtures live in conftest.py (which imports from here); random weights in the published
formats in published.py; hand-built ICC profiles in icc.py. A test file never imports
from another test file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner, Result

ROOT = Path(__file__).resolve().parents[1]  # the repository
SHARED_MEDIA = ROOT.parent / "shared" / "media"  # pictures and clips beside the checkout

runner = CliRunner()


def run(*args) -> Result:
    """``adain ARGS...`` through typer's runner; paths may be given as Path."""
    from adain.cli import app  # here, so that conftest's import of this module stays light

    return runner.invoke(app, [str(a) for a in args])


def weights_args(published_weights) -> list:
    """The options that point a command at the random published weights, on the CPU, with
    styles at their own size."""
    return ["--vgg", published_weights[0], "--decoder", published_weights[1], "--device", "cpu",
            "--style-size", "0"]


def calibration_folder(root: Path) -> Path:
    """Four small pictures to calibrate an int8 export on, in ``root``/calib."""
    calib = root / "calib"
    calib.mkdir()
    for i in range(4):
        write_image(calib / f"c{i}.png", (40 + 8 * i, 36), seed=i)
    return calib


def write_image(path: Path, size: tuple[int, int], seed: int = 0, mode: str = "RGB") -> Path:
    """A smooth random picture of ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.uniform(0, 255, (max(h // 8, 2), max(w // 8, 2), 3)).astype(np.uint8)
    Image.fromarray(small).resize((w, h), Image.BILINEAR).convert(mode).save(path)
    return path
