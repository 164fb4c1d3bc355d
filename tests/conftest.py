from __future__ import annotations

from pathlib import Path

import pytest
from helpers import SHARED_MEDIA, calibration_folder
from published import random_decoder, random_vgg, save_published


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "torchrun: starts several processes with torchrun (gloo "
                                       "on the CPU); deselect with -m 'not torchrun'")


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


@pytest.fixture(scope="session")
def exported(published_weights, tmp_path_factory):
    """All graphs, fp32, fp16 and int8, exported once through the real CLI: (folder, output)."""
    from typer.testing import CliRunner

    from adain.cli import app

    root = tmp_path_factory.mktemp("onnx")
    calib = calibration_folder(root)
    result = CliRunner().invoke(app, [
        "export", "--onnx", "--vgg", str(published_weights[0]), "--decoder",
        str(published_weights[1]), "-o", str(root / "out"), "--half", "--int8", "--calib-dir",
        str(calib)])
    assert result.exit_code == 0, result.output
    return root / "out", result.output
