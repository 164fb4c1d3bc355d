import functools
import http.server
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import write_image
from PIL import Image
from published import random_decoder
from typer.testing import CliRunner

from adain.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def weights_args(published_weights):
    return ["--vgg", published_weights[0], "--decoder", published_weights[1], "--device", "cpu",
            "--style-size", "0"]


def test_one_result_goes_to_the_named_file(published_weights, tmp_path):
    content = write_image(tmp_path / "photo.png", (50, 30), seed=1)
    style = write_image(tmp_path / "art.jpg", (40, 40), seed=2)
    result = run("stylize", content, "--style", style, "-o", tmp_path / "out.png",
                 "--content-size", 0, *weights_args(published_weights))
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out.png").size == (50, 30)
    assert "wrote" in result.output


def test_folders_and_several_styles_give_every_pair(published_weights, tmp_path):
    (tmp_path / "in" / "sub").mkdir(parents=True)
    write_image(tmp_path / "in" / "a.jpg", (40, 30), seed=1)
    write_image(tmp_path / "in" / "sub" / "b.png", (30, 40), seed=2)
    styles = [write_image(tmp_path / f"s{i}.png", (32, 32), seed=5 + i) for i in range(2)]
    result = run("stylize", tmp_path / "in", "-s", styles[0], "-s", styles[1],
                 "-o", tmp_path / "out", "--content-size", 32, *weights_args(published_weights))
    assert result.exit_code == 0, result.output
    written = sorted(p.relative_to(tmp_path / "out").as_posix()
                     for p in (tmp_path / "out").rglob("*.*"))
    assert written == ["a_stylized_s0.jpg", "a_stylized_s1.jpg", "sub/b_stylized_s0.png",
                       "sub/b_stylized_s1.png"]


def test_interpolation_mask_alpha_and_color_options_run(published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    styles = [write_image(tmp_path / f"s{i}.png", (32 + 8 * i, 32), seed=5 + i) for i in range(2)]
    mask = tmp_path / "mask.png"
    Image.new("L", (32, 32), 255).save(mask)
    for extra in (["--interpolation-weights", "0.5,0.5"], ["--mask", mask]):
        result = run("stylize", content, "-s", styles[0], "-s", styles[1], "-o", tmp_path / "o",
                     "--alpha", "0.5", "--preserve-color", "--content-size", "0", *extra,
                     *weights_args(published_weights))
        assert result.exit_code == 0, result.output
    assert (tmp_path / "o" / "c_stylized_s0+s1.png").is_file()


def test_bad_files_in_a_batch_are_listed_and_the_rest_written(published_weights, media, tmp_path):
    style = write_image(tmp_path / "s.png", (32, 32), seed=2)
    result = run("stylize", media / "bad", "-s", style, "-o", tmp_path / "out",
                 "--content-size", 64, *weights_args(published_weights))
    assert result.exit_code == 1
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(written) == 5 and not any(n.startswith("truncated") for n in written)
    assert "1 failed" in result.output and "truncated_jpeg.jpg" in result.output
    assert "Traceback" not in result.output


def test_wrong_weights_give_one_line_and_no_traceback(published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    result = run("stylize", content, "-s", content, "--vgg", published_weights[1],
                 "--decoder", published_weights[1])
    assert result.exit_code == 1
    assert "look like the published decoder" in result.output and "--decoder?" in result.output
    assert "Traceback" not in result.output


def test_conflicting_options_are_refused(published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    result = run("stylize", content, "-s", content, "-s", content, "--interpolation-weights",
                 "1,x", *weights_args(published_weights))
    assert result.exit_code == 2 and "comma-separated" in result.output
    result = run("stylize", content, "-s", content, "--interpolation-weights", "1,1",
                 *weights_args(published_weights))
    assert result.exit_code == 1 and "2 interpolation weights for 1 styles" in result.output
    result = run("stylize", content, "-s", content, "--alpha", "2")
    assert result.exit_code == 2


def test_many_results_refuse_a_file_output(published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    result = run("stylize", content, "-s", content, "-s", content, "-o", tmp_path / "x.png",
                 *weights_args(published_weights))
    assert result.exit_code == 1 and "give a folder" in result.output


def test_rerun_into_a_folder_inside_the_input_does_not_restyle_results(published_weights,
                                                                      tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    write_image(folder / "a.png", (32, 32), seed=1)
    style = write_image(tmp_path / "s.png", (32, 32), seed=2)
    for _ in range(2):
        result = run("stylize", folder, "-s", style, "-o", folder / "out", "--ext", "JPG",
                     "--content-size", 0, *weights_args(published_weights))
        assert result.exit_code == 0, result.output
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "a.png", "out/a_stylized_s.jpg"]


def test_weights_info_says_whether_a_file_loads(tmp_path):
    state = random_decoder().state_dict()
    state["28.weight"] = state["28.weight"][:2]
    torch.save(state, tmp_path / "bad.pth")
    result = run("weights", "info", tmp_path / "bad.pth")
    assert result.exit_code == 1 and "conv1_1.weight has shape (2, 64, 3, 3)" in result.output


def test_weights_info_and_convert(published_weights, tmp_path):
    result = run("weights", "info", published_weights[0])
    assert result.exit_code == 0 and "published VGG encoder" in result.output
    result = run("weights", "convert", published_weights[1], tmp_path / "d.safetensors")
    assert result.exit_code == 0, result.output
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    outputs = []
    for decoder in (published_weights[1], tmp_path / "d.safetensors"):
        out = tmp_path / f"{decoder.stem}.png"
        assert run("stylize", content, "-s", content, "-o", out, "--vgg", published_weights[0],
                   "--decoder", decoder, "--device", "cpu", "--content-size", "0",
                   "--style-size", "0").exit_code == 0
        outputs.append(np.asarray(Image.open(out)))
    assert np.array_equal(*outputs)


@pytest.fixture()
def weights_server(published_weights, tmp_path):
    """A loopback HTTP server whose root holds the published files (or garbage)."""
    root = tmp_path / "release"
    root.mkdir()
    for path in published_weights:
        (root / path.name).write_bytes(path.read_bytes())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_fetch_downloads_checks_and_keeps(weights_server, tmp_path):
    _, url = weights_server
    result = run("weights", "fetch", "--dest", tmp_path / "models", "--base-url", url)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["decoder.pth",
                                                                       "vgg_normalised.pth"]
    again = run("weights", "fetch", "--dest", tmp_path / "models", "--base-url", url)
    assert again.exit_code == 0 and "already" in again.output


def test_fetch_of_wrong_content_leaves_nothing(weights_server, tmp_path):
    root, url = weights_server
    (root / "decoder.pth").write_bytes(b"<html>not found</html>")
    result = run("weights", "fetch", "--dest", tmp_path / "models", "--base-url", url)
    assert result.exit_code == 1 and "did not hold the expected weights" in result.output
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["vgg_normalised.pth"]


def test_fetch_offline_fails_fast_with_a_hint(tmp_path):
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = run("weights", "fetch", "--dest", tmp_path / "m", "--base-url",
                 f"http://127.0.0.1:{port}")
    assert result.exit_code == 1 and time.monotonic() - started < 10
    assert "put it at" in result.output and "models/README.md" in result.output
    assert not (tmp_path / "m").exists()  # nothing half-written, no empty folder left


def test_python_m_adain_runs_the_real_cli():
    result = subprocess.run([sys.executable, "-m", "adain", "stylize", "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "--interpolation-weights" in result.stdout


def test_cli_start_does_not_import_torch():
    code = "import sys, adain.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
