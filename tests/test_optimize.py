import pytest
import torch
from helpers import run, write_image
from PIL import Image

from adain import AdaINError
from adain.quality.optimize import OptimizeConfig, optimize
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
    ({"content_layers": (), "style_layers": ()}, "no style layers"),
    ({"style_layers": ()}, "no style layers"),
    ({"style_weight": 0.0}, "no style to optimise"),
    ({"style_weight": 0.0, "content_weight": 0.0}, "no style to optimise"),
    ({"style_weight": float("inf")}, "style weight must be a finite number"),
    ({"content_weight": float("nan")}, "content weight must be a finite number"),
    ({"content_weight": -1.0}, "content weight must be a finite number of at least 0"),
    ({"seed": 2**64}, "seed must be from 0"),
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


def test_texture_synthesis_needs_no_content_loss(deep_encoder):
    content, style = smooth(1), smooth(2)
    _, history = optimize(deep_encoder, content, style,
                          OptimizeConfig(steps=3, init="noise", size=0, content_layers=()))
    assert history[0].content_loss == 0.0 and history[-1].style_loss < history[0].style_loss


@pytest.mark.parametrize("layout", ["channels_last", "transposed"])
def test_a_strided_image_is_optimised(deep_encoder, layout):
    # L-BFGS views the gradient flat; a channels-last or transposed image (as decoding an
    # HxWx3 array gives, or oneDNN's convolutions on some CPUs) made that view fail
    if layout == "channels_last":
        content = smooth(1).contiguous(memory_format=torch.channels_last)
    else:
        content = smooth(1, (1, 3, 32, 24)).transpose(2, 3)
    assert not content.is_contiguous()
    image, history = optimize(deep_encoder, content, smooth(2), OptimizeConfig(steps=3, size=0))
    assert image.shape == content.shape
    assert history[-1].style_loss < history[0].style_loss
    expected, _ = optimize(deep_encoder, content.contiguous(), smooth(2),
                           OptimizeConfig(steps=3, size=0))
    torch.testing.assert_close(image, expected, atol=1e-3, rtol=0)


def test_a_loss_that_overflows_at_once_says_so(deep_encoder):
    with pytest.raises(AdaINError, match="became inf at the start; lower --style-weight"):
        optimize(deep_encoder, smooth(1), smooth(2), OptimizeConfig(steps=2, size=0,
                                                                    style_weight=1e38))


def test_cli_optimises_a_file_at_its_own_size(published_weights, tmp_path):
    # a decoded file is an HxWx3 array seen as (1, 3, H, W): strided unless resized
    content = write_image(tmp_path / "photo.png", (24, 20), seed=1)
    style = write_image(tmp_path / "art.png", (20, 20), seed=2)
    result = run("optimize", content, "-s", style, "-o", tmp_path / "out.png", "--size", 0,
                 "--steps", 2, "--vgg", published_weights[0], "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == (24, 20)


@pytest.mark.parametrize("options", [["--style-layers", ""], ["--style-weight", "inf"],
                                     ["--style-weight", "0", "--content-weight", "0"]])
def test_cli_refuses_a_run_without_style_in_one_line(options, tmp_path):
    content = write_image(tmp_path / "photo.png", (24, 20), seed=1)
    result = run("optimize", content, "-s", content, "-o", tmp_path / "out.png", *options,
                 "--vgg", tmp_path / "missing.pth")  # refused before the weights are read
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error:") and result.output.count("\n") == 1
    assert "-1" not in result.output and "missing.pth" not in result.output


def test_cli_never_overwrites_an_input_and_checks_the_output_first(published_weights, tmp_path):
    content = write_image(tmp_path / "photo.png", (24, 20), seed=1)
    style = write_image(tmp_path / "art.png", (20, 20), seed=2)
    before = content.read_bytes()
    for output, message in ((content, "is the input"), (tmp_path / "sub" / ".." / "art.png",
                                                       "is the input"),
                            (content / "out.png", "is a file, not a folder")):
        result = run("optimize", content, "-s", style, "-o", output, "--size", 0,
                     "--steps", 2, "--vgg", published_weights[0], "--device", "cpu")
        assert result.exit_code == 1 and message in result.output, result.output
    assert content.read_bytes() == before


def test_cli_help_shows_choices_and_the_config_defaults(tmp_path):
    import typer

    from adain.cli import app

    result = run("optimize", "--help")
    usage = next(line for line in result.output.splitlines() if "Usage" in line)
    assert "CONTENT" in usage and "{" not in result.output
    assert "[content|noise]" in result.output
    picture = write_image(tmp_path / "x.png", (16, 16))
    assert run("optimize", str(picture), "-s", str(picture), "--init", "zeros").exit_code == 2
    params = {p.name: p.default for p in typer.main.get_command(app).commands["optimize"].params}
    config = OptimizeConfig()
    for field in ("steps", "content_weight", "style_weight", "seed", "size", "preserve_color"):
        assert params[field] == getattr(config, field), field
    assert params["init"].value == config.init
    for field in ("content_layers", "style_layers"):
        assert tuple(params[field].split(",")) == getattr(config, field)


@pytest.mark.parametrize("steps", [2, 3])
def test_a_short_run_takes_every_step_it_was_given(deep_encoder, steps):
    # the first line search may take several evaluations; they must not cut the run short
    content = torch.nn.functional.interpolate(smooth(3, (1, 3, 8, 8)), size=(36, 48))
    _, history = optimize(deep_encoder, content, smooth(4, (1, 3, 36, 48)),
                          OptimizeConfig(steps=steps, size=0))
    assert [p.step for p in history] == list(range(steps + 1))
