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
from helpers import run, weights_args, write_image
from PIL import Image
from published import random_decoder


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
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "c_stylized_s0+s1_mask-mask_alpha0.5.png", "c_stylized_s0@0.5+s1@0.5_alpha0.5.png"]


def test_blends_masks_and_alphas_have_their_own_names_and_eval_matches_them(published_weights,
                                                                            tmp_path):
    from adain.quality.evaluate import match_triples

    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    content = write_image(tmp_path / "c" / "c.png", (32, 32), seed=1)
    styles = [write_image(tmp_path / "s" / f"s{i}.png", (32, 32), seed=5 + i) for i in range(2)]
    mask = tmp_path / "sky.png"
    Image.new("L", (64, 16), 255).save(mask)  # another size and aspect: stretched to fit
    out = tmp_path / "out"
    for extra in (["-s", styles[1], "--interpolation-weights", "0.3,0.7"],
                  ["-s", styles[1], "--interpolation-weights", "0.7,0.3"],
                  ["-s", styles[1], "--mask", mask], ["--alpha", "0.5"], []):
        result = run("stylize", content, "-s", styles[0], *extra, "-o", out,
                     "--content-size", "0", *weights_args(published_weights))
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "c_stylized_s0+s1_mask-sky.png", "c_stylized_s0.png", "c_stylized_s0@0.3+s1@0.7.png",
        "c_stylized_s0@0.7+s1@0.3.png", "c_stylized_s0_alpha0.5.png"]
    triples, unmatched = match_triples(tmp_path / "c", tmp_path / "s", out)
    assert sorted(t.stylized.name for t in triples) == ["c_stylized_s0.png",
                                                        "c_stylized_s0_alpha0.5.png"]
    assert len(unmatched) == 3  # blends and masked pairs have no single style


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(published_weights, tmp_path):
    content = write_image(tmp_path / "same.jpg", (32, 32), seed=1)
    style = write_image(tmp_path / "monet.png", (32, 32), seed=2)
    mask = write_image(tmp_path / "mask.png", (32, 32), seed=3)
    before = {p: p.read_bytes() for p in (content, style, mask)}
    for output, extra in ((content, []), (tmp_path / "." / "monet.png", []),
                          (mask, ["--mask", mask])):
        result = run("stylize", content, "-s", style, "-o", output, *extra,
                     *weights_args(published_weights))
        assert result.exit_code == 1 and "inputs are never overwritten" in result.output
    result = run("stylize", content, "-s", style, "--grid", style, *weights_args(published_weights))
    assert result.exit_code == 1 and "monet.png" in result.output
    assert {p: p.read_bytes() for p in before} == before


def test_an_unwritable_output_is_refused_before_the_weights_load(tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    (tmp_path / "notes.txt").write_text("a file")
    missing = ["--decoder", tmp_path / "no_decoder.pth", "--device", "cpu"]
    for option in ("-o", "--grid"):
        result = run("stylize", content, "-s", content, option, tmp_path / "notes.txt" / "x.png",
                     *missing)
        assert result.exit_code == 1 and "notes.txt" in result.output
        assert "is a file, not a folder" in result.output
    result = run("stylize", content, "-s", content, "-o", tmp_path / "out.jgp", *missing)
    assert result.exit_code == 1 and ".jgp is not an image format" in result.output
    assert ".jpeg, .jpg, .png" in result.output and not (tmp_path / "out.jgp").exists()


def test_a_dotted_folder_is_used_only_when_it_exists(published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    result = run("stylize", content, "-s", content, "-o", tmp_path / "out.v2",
                 *weights_args(published_weights))
    assert result.exit_code == 1 and "create it first" in result.output
    (tmp_path / "out.v2").mkdir()
    result = run("stylize", content, "-s", content, "-o", tmp_path / "out.v2",
                 "--content-size", 0, *weights_args(published_weights))
    assert result.exit_code == 0 and (tmp_path / "out.v2" / "c_stylized_c.png").is_file()


def test_a_folder_of_results_given_as_input_says_so(published_weights, tmp_path):
    style = write_image(tmp_path / "monet.png", (32, 32), seed=2)
    (tmp_path / "in").mkdir()
    for i in range(2):
        write_image(tmp_path / "in" / f"p{i}.png", (32, 32), seed=i)
    out = tmp_path / "out"
    assert run("stylize", tmp_path / "in", "-s", style, "-o", out, "--content-size", 0,
               *weights_args(published_weights)).exit_code == 0
    result = run("stylize", out, "-s", style, "-o", out, *weights_args(published_weights))
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"out holds 2 images, but all are inside the output folder {out}; images there are " \
        "taken for results of earlier runs" in said and "give another -o or another" in said


def test_skip_existing_resumes_and_replacing_is_counted(published_weights, tmp_path):
    (tmp_path / "in").mkdir()
    for i in range(3):
        write_image(tmp_path / "in" / f"p{i}.png", (32, 32), seed=i)
    style = write_image(tmp_path / "s.png", (32, 32), seed=9)
    out = tmp_path / "out"
    args = [tmp_path / "in", "-s", style, "-o", out, "--content-size", 0,
            *weights_args(published_weights)]
    assert run("stylize", *args).exit_code == 0
    again = run("stylize", *args)
    assert again.exit_code == 0 and "replaced 3 earlier results" in " ".join(again.output.split())
    (out / "p1_stylized_s.png").unlink()
    (out / "p0_stylized_s.png").write_bytes(b"broken")  # a broken result is made again
    kept = (out / "p2_stylized_s.png").read_bytes()
    result = run("stylize", *args, "--skip-existing", "--grid", tmp_path / "sheet.png")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "kept 1 result already there" in said
    assert "wrote 2 images" in said and "replaced 1 earlier result;" not in said
    assert said.endswith("replaced 1 earlier result")
    assert (out / "p2_stylized_s.png").read_bytes() == kept
    assert Image.open(out / "p0_stylized_s.png").size == (32, 32)
    sheet = np.asarray(Image.open(tmp_path / "sheet.png"))
    assert len(np.unique(sheet.reshape(-1, 3), axis=0)) > 100  # the kept result is in it too


def test_results_are_tagged_srgb_with_the_content_exif_upright(published_weights, tmp_path):
    from adain.picture import srgb_profile

    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera maker"
    content = tmp_path / "photo.jpg"
    Image.open(write_image(tmp_path / "p.png", (48, 32), seed=1)).save(content, exif=exif)
    sizes = {}
    for name, quality in (("hi.jpg", 100), ("lo.jpg", 10), ("r.png", 95), ("r.webp", 95),
                          ("r.tif", 95)):
        result = run("stylize", content, "-s", content, "-o", tmp_path / name, "--quality",
                     quality, "--content-size", 96, *weights_args(published_weights))
        assert result.exit_code == 0, result.output
        with Image.open(tmp_path / name) as written:
            assert written.size == (96, 144)  # upright, so orientation 1 says the truth
            assert written.info["icc_profile"] == srgb_profile()
            assert written.getexif()[0x0112] == 1 and written.getexif()[0x010F] == "Camera maker"
        sizes[name] = (tmp_path / name).stat().st_size
    assert sizes["lo.jpg"] < sizes["hi.jpg"] / 3
    assert run("stylize", content, "-s", content, "--quality", 0).exit_code == 2


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


def test_verbose_shows_the_cause_of_a_one_line_error(published_weights, tmp_path):
    whole = published_weights[1].read_bytes()
    (tmp_path / "cut.pth").write_bytes(whole[:len(whole) // 2])  # the tensors cut short
    (tmp_path / "cut_pickle.pth").write_bytes(b"\x80\x04junk")  # torch.load: struct.error
    for name, cause in (("cut.pth", "RuntimeError: unexpected EOF"),
                        ("cut_pickle.pth", "struct.error: unpack requires")):
        quiet = run("weights", "info", tmp_path / name)
        assert quiet.exit_code == 1 and len(quiet.output.strip().splitlines()) == 1, quiet.output
        assert "caused by" not in quiet.output and "Traceback" not in quiet.output
        verbose = run("-v", "weights", "info", tmp_path / name)
        assert verbose.exit_code == 1 and "Traceback" not in verbose.output
        assert f"caused by: {cause}" in verbose.output, verbose.output


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


def test_the_weight_and_device_options_have_one_default_everywhere():
    import inspect

    import typer

    from adain import Stylizer
    from adain.cli import app
    from adain.paths import DEFAULT_DECODER, DEFAULT_VGG
    from adain.quality.optimize import optimize_file
    from adain.train.config import TrainConfig

    commands = typer.main.get_command(app).commands
    defaults = {name: {p.name: p.default for p in commands[name].params}
                for name in ("stylize", "optimize", "eval")}
    assert {d["vgg"] for d in defaults.values()} == {str(DEFAULT_VGG)}
    assert {d["device"].value for d in defaults.values()} == {"auto"}
    assert defaults["stylize"]["decoder"] == defaults["eval"]["decoder"] == DEFAULT_DECODER
    assert TrainConfig.__dataclass_fields__["vgg"].default == str(DEFAULT_VGG)
    library = inspect.signature(Stylizer).parameters
    assert (library["vgg"].default, library["decoder"].default) == (DEFAULT_VGG, DEFAULT_DECODER)
    assert inspect.signature(optimize_file).parameters["vgg"].default == DEFAULT_VGG
