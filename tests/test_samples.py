"""The paintings and the photo shipped inside adain: small, documented, usable by name by
every command that takes a style, with a file of that name winning; and the README's first
command, which relies on them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from helpers import ROOT, run, weights_args, write_image
from PIL import Image

from adain.errors import AdaINError
from adain.samples import PHOTO, STYLES, folder, resolve_content, resolve_style

SAMPLES = (*STYLES, PHOTO)
NAMES = [sample.name for sample in STYLES]


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A current folder that holds no file named like a bundled picture."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_pictures_are_small_srgb_jpegs_listed_in_sources():
    sources = (folder() / "SOURCES.md").read_text()
    total = 0
    for sample in SAMPLES:
        with Image.open(sample.path) as img:
            assert img.format == "JPEG" and img.mode == "RGB"
            assert min(img.size) <= 512 and not img.getexif() and "icc_profile" not in img.info
        assert f"`{sample.name}.jpg`" in sources
        total += sample.path.stat().st_size
    assert total < 800_000
    assert sorted(p.name for p in folder().glob("*.jpg")) == sorted(f"{s.name}.jpg"
                                                                    for s in SAMPLES)


def test_names_resolve_case_insensitively_with_or_without_jpg(elsewhere):
    monet = next(s for s in STYLES if s.name == "monet").path
    assert resolve_style("monet") == resolve_style("Monet.JPG") == monet
    assert resolve_content("astronaut.jpg") == PHOTO.path
    with pytest.raises(AdaINError, match="no such file or bundled style 'paintings/monet.jpg'"):
        resolve_style("paintings/monet.jpg")  # a path with a folder is never a name
    with pytest.raises(AdaINError, match="no such file or folder 'photo.jpg'.*'astronaut'"):
        resolve_content("photo.jpg")


def test_a_file_named_like_a_bundled_style_wins(elsewhere):
    write_image(elsewhere / "monet.jpg", (40, 40), seed=2)
    assert resolve_style("monet.jpg") == Path("monet.jpg")


def test_the_bundled_photo_by_a_bundled_style_name_writes_a_picture(published_weights, elsewhere):
    result = run("stylize", "astronaut", "-s", "starry_night", "-o", "out.jpg",
                 "--content-size", 32, *weights_args(published_weights))
    assert result.exit_code == 0, result.output
    assert Image.open(elsewhere / "out.jpg").size == (32, 32)


def test_a_folder_named_like_a_bundled_style_wins_in_stylize(published_weights, elsewhere):
    (elsewhere / "starry_night").mkdir()
    write_image(elsewhere / "starry_night" / "mine.png", (36, 36), seed=3)
    result = run("stylize", "astronaut", "-s", "starry_night", "-o", "out",
                 "--content-size", 32, *weights_args(published_weights))
    assert result.exit_code == 0, result.output
    assert [p.name for p in (elsewhere / "out").iterdir()] == ["astronaut_stylized_mine.jpg"]


@pytest.mark.parametrize("command", [
    ["stylize", "astronaut"], ["optimize", "astronaut"], ["video", "clip.mp4"],
    ["webcam", "--headless"], ["eval", "--content", "astronaut", "--plot", "p.png"],
])
def test_an_unknown_style_is_one_line_listing_the_bundled_names(command, elsewhere):
    result = run(*command, "--style", "monnet")
    assert result.exit_code == 1
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: no such file or bundled style 'monnet'; bundled styles: ")
    assert all(name in line for name in NAMES) and "adain styles" in line


def test_optimize_and_eval_take_bundled_names(published_weights, elsewhere):
    result = run("optimize", "astronaut", "-s", "wave", "-o", "out.png", "--size", 24,
                 "--steps", 1, "--vgg", published_weights[0], "--device", "cpu")
    assert result.exit_code == 0, result.output
    shutil.copy(elsewhere / "out.png", elsewhere / "astronaut_stylized_wave.png")
    result = run("eval", "--content", "astronaut", "-s", "wave.jpg", "--stylized",
                 "astronaut_stylized_wave.png", "--style-size", 32, "--vgg",
                 published_weights[0], "--device", "cpu")
    assert result.exit_code == 0, result.output
    assert "astronaut.jpg" in result.output and "wave.jpg" in result.output


@pytest.mark.parametrize("command", [["video", "clip.mp4"], ["webcam", "--headless"]])
def test_video_and_webcam_take_bundled_names(command, elsewhere):
    result = run(*command, "-s", "udnie", "--onnx", "no_graphs")
    assert result.exit_code == 1, result.output  # the style passed; the graphs are missing
    assert "udnie" not in result.output and "no_graphs" in result.output


def test_one_image_commands_refuse_a_folder_as_the_style(elsewhere):
    (elsewhere / "wave").mkdir()
    result = run("optimize", "astronaut", "-s", "wave")
    assert result.exit_code == 2 and "wave is a folder; give one style image" in result.output


def test_adain_styles_lists_the_styles_and_the_photo():
    result = run("styles")
    assert result.exit_code == 0, result.output
    for sample in STYLES:
        assert re.search(rf"^{sample.name} .*{sample.author}.*{sample.year}", result.output,
                         re.MULTILINE)
    assert "photo: astronaut" in result.output and "--style starry_night" in result.output
    assert "SOURCES.md" in result.output


def test_the_readme_first_command_stylises_the_bundled_photo(published_weights, elsewhere):
    """The README's first command, as pasted; its ``weights fetch`` needs the network, so the
    random weights are put where it would write them."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"```sh\n(.*?)\n```", readme, re.DOTALL).group(1)
    steps = command.split(" && ")
    assert steps[:3] == ["python3 -m venv .venv", ".venv/bin/pip install -q -e .",
                         ".venv/bin/adain weights fetch"]
    assert steps[3].startswith(".venv/bin/adain stylize ") and len(steps) == 4
    (elsewhere / "models").mkdir()
    for path in published_weights:
        shutil.copy(path, elsewhere / "models" / path.name)
    args = steps[3].split()[1:]
    result = run(*args, "--content-size", 32, "--device", "cpu")
    assert result.exit_code == 0, result.output
    output = args[args.index("-o") + 1]
    assert Image.open(elsewhere / output).size == (32, 32)


def test_a_missing_file_named_like_a_bundled_style_says_the_bundled_one_is_used(
        tmp_path, monkeypatch, caplog):
    monkeypatch.chdir(tmp_path)
    assert resolve_style("monet.jpg").name == "monet.jpg"
    assert "not a file here; using the bundled monet" in caplog.text
