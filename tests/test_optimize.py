import pytest
import torch
from conftest import write_image
from PIL import Image
from test_cli import run

from adain import AdaINError
from adain.optimize import OptimizeConfig, optimize
from adain.weights import load_encoder


@pytest.fixture(scope="module")
def deep_encoder(published_weights):
    return load_encoder(published_weights[0], last="relu5_1").module


def smooth(seed: int, shape=(1, 3, 24, 32)) -> torch.Tensor:
    torch.manual_seed(seed)
    small = torch.rand(shape[0], 3, shape[2] // 4, shape[3] // 4)
    return torch.nn.functional.interpolate(small, size=shape[-2:], mode="bilinear")


def test_losses_fall_from_noise(deep_encoder):
    content, style = smooth(1), smooth(2)
    image, history = optimize(deep_encoder, content, style,
                              OptimizeConfig(steps=8, init="noise", size=0))
    first, last = history[0], history[-1]
    assert [p.step for p in history] == list(range(9))
    assert last.style_loss < 0.5 * first.style_loss
    assert last.content_loss < first.content_loss
    assert image.shape == content.shape and 0.0 <= image.min() and image.max() <= 1.0


def test_from_the_content_the_style_loss_falls_and_the_picture_changes(deep_encoder):
    content, style = smooth(3), smooth(4)
    image, history = optimize(deep_encoder, content, style, OptimizeConfig(steps=5, size=0))
    assert history[0].content_loss == 0.0
    assert history[-1].style_loss < 0.5 * history[0].style_loss
    assert (image - content).abs().mean() > 0.01


def test_the_same_seed_gives_the_same_picture(deep_encoder):
    content, style = smooth(5), smooth(6)
    runs = [optimize(deep_encoder, content, style,
                     OptimizeConfig(steps=3, init="noise", seed=seed, size=0))[0]
            for seed in (7, 7, 8)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"style_layers": ("relu9_1",)}, "not a VGG-19 layer"),
    ({"init": "zeros"}, "init must be content or noise"),
    ({"size": 12}, "at least 17 pixels for relu5_1"),
    ({"content_layers": (), "style_layers": ()}, "at least one"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(AdaINError, match=message):
        OptimizeConfig(**kwargs)


def test_cli_writes_the_picture_and_reports_the_losses(published_weights, tmp_path):
    content = write_image(tmp_path / "photo.png", (40, 30), seed=1)
    style = write_image(tmp_path / "art.jpg", (36, 36), seed=2)
    result = run("optimize", content, "-s", style, "-o", tmp_path / "out.png", "--size", 24,
                 "--steps", 3, "--preserve-color", "--vgg", published_weights[0],
                 "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == (32, 24)
    assert "3 steps" in result.output and "style loss" in result.output


def test_cli_refuses_a_vgg_cut_at_relu4_1_and_a_bad_layer(published_weights, tmp_path):
    state = {k: v for k, v in torch.load(published_weights[0]).items()
             if int(k.split(".")[0]) <= 30}
    torch.save(state, tmp_path / "vgg31.pth")
    content = write_image(tmp_path / "photo.png", (40, 30), seed=1)
    result = run("optimize", content, "-s", content, "-o", tmp_path / "out.png", "--size", 24,
                 "--vgg", tmp_path / "vgg31.pth")
    assert result.exit_code == 1 and "stops before relu5_1" in result.output
    result = run("optimize", content, "-s", content, "--style-layers", "relu1_1,conv2",
                 "--vgg", published_weights[0])
    assert result.exit_code == 1 and "'conv2' is not a VGG-19 layer" in result.output
    assert not (tmp_path / "out.png").exists()
