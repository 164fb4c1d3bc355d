from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from published import random_decoder, random_vgg, save_published

SHARED_MEDIA = Path(__file__).resolve().parents[2] / "shared" / "media"


@pytest.fixture(scope="session")
def published_weights(tmp_path_factory) -> tuple[Path, Path]:
    """(vgg_normalised.pth, decoder.pth): random weights in the published files' format."""
    folder = tmp_path_factory.mktemp("models")
    return (save_published(random_vgg(), folder / "vgg_normalised.pth"),
            save_published(random_decoder(), folder / "decoder.pth"))


@pytest.fixture(scope="session")
def stylizer(published_weights):
    from adain import Stylizer

    return Stylizer(*published_weights, device="cpu")


@pytest.fixture(scope="session")
def media() -> Path:
    if not SHARED_MEDIA.is_dir():
        pytest.skip("../shared/media is not beside the checkout")
    return SHARED_MEDIA


def write_image(path: Path, size: tuple[int, int], seed: int = 0, mode: str = "RGB") -> Path:
    """A smooth random picture of ``size`` (width, height)."""
    rng = np.random.default_rng(seed)
    w, h = size
    small = rng.uniform(0, 255, (max(h // 8, 2), max(w // 8, 2), 3)).astype(np.uint8)
    Image.fromarray(small).resize((w, h), Image.BILINEAR).convert(mode).save(path)
    return path


@pytest.fixture(scope="session")
def exported(published_weights, tmp_path_factory):
    """All graphs, fp32, fp16 and int8, exported once through the real CLI: (folder, output)."""
    from typer.testing import CliRunner

    from adain.cli import app

    root = tmp_path_factory.mktemp("onnx")
    calib = root / "calib"
    calib.mkdir()
    for i in range(4):
        write_image(calib / f"c{i}.png", (40 + 8 * i, 36), seed=i)
    result = CliRunner().invoke(app, [
        "export", "--onnx", "--vgg", str(published_weights[0]), "--decoder",
        str(published_weights[1]), "-o", str(root / "out"), "--half", "--int8", "--calib-dir",
        str(calib)])
    assert result.exit_code == 0, result.output
    return root / "out", result.output
