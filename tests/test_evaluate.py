import csv
import io
import json
import math

import cv2
import numpy as np
import pytest
import torch
from helpers import run, weights_args, write_image
from PIL import Image

from adain import AdaINError
from adain.ops import gram_matrix
from adain.quality.evaluate import Triple, match_triples, sweep_alphas, write_csv
from adain.quality.metrics import Evaluator, feature_scores, ssim
from adain.weights import load_encoder


@pytest.fixture(scope="module")
def evaluator(published_weights):
    return Evaluator(load_encoder(published_weights[0], last="relu5_1").module,
                     torch.device("cpu"))


def test_gram_matrix_by_hand():
    feat = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 1, 2)  # C=2, H=1, W=2
    expected = torch.tensor([[5.0, 11.0], [11.0, 25.0]]) / 4  # F F^T / (C*H*W)
    torch.testing.assert_close(gram_matrix(feat)[0], expected)


def test_feature_scores_by_hand():
    layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    out = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    style = torch.tensor([0.0, 0.0, 0.0, 2.0]).reshape(1, 1, 2, 2)
    scores = feature_scores(dict.fromkeys(layers, out), {"relu4_1": torch.zeros(1, 1, 2, 2)},
                            dict.fromkeys(layers, style))
    # content: (1 + 4 + 9 + 16) / 4. Means 2.5 and 0.5; unbiased variances 5/3 and 1.
    assert scores["content_loss"] == pytest.approx(7.5)
    std_gap = math.sqrt(5 / 3 + 1e-5) - math.sqrt(1 + 1e-5)
    assert scores["style_loss"] == pytest.approx(4 * (2.0**2 + std_gap**2), rel=1e-5)
    # Grams (C=1): 30 / 4 and 4 / 4, on five layers.
    assert scores["gram_loss"] == pytest.approx(5 * (7.5 - 1.0) ** 2)


def test_ssim_of_flat_images_by_hand():
    a, b = torch.full((1, 3, 16, 16), 0.2), torch.full((1, 3, 16, 16), 0.6)
    c1 = 0.01**2  # (K1 * data range)^2; no variance, so only the luminance term is left
    assert ssim(a, b) == pytest.approx((2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1), rel=1e-6)
    assert ssim(a, a) == pytest.approx(1.0)


def test_scores_of_the_content_itself_and_of_the_style_itself(evaluator):
    torch.manual_seed(0)
    content, style = torch.rand(1, 3, 32, 40), torch.rand(1, 3, 32, 40)
    itself = evaluator.score(content, content, style)
    assert itself.content_loss == 0.0 and itself.ssim == pytest.approx(1.0)
    assert itself.style_loss > 0 and itself.gram_loss > 0
    as_style = evaluator.score(style, content, style)
    assert as_style.style_loss == 0.0 and as_style.gram_loss == 0.0
    assert as_style.content_loss > 0 and as_style.ssim < 0.5


def test_a_larger_content_is_resized_to_the_result(evaluator):
    torch.manual_seed(1)
    small = torch.rand(1, 3, 8, 10)
    content = torch.nn.functional.interpolate(small, size=(32, 40), mode="bilinear")
    big = torch.nn.functional.interpolate(small, size=(64, 80), mode="bilinear")
    assert evaluator.score(content, big, content).content_loss < 0.05 * \
        evaluator.score(torch.rand(1, 3, 32, 40), big, content).content_loss


def test_names_match_contents_styles_and_sub_folders(tmp_path):
    for name in ("c/a.jpg", "c/sub/b.png", "s/x.png", "s/y.jpg", "out/a_stylized_x.jpg",
                 "out/a_stylized_y.png", "out/sub/b_stylized_x.png", "out/b_stylized_y.png",
                 "out/a_stylized_x+y.jpg", "out/notes.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(tmp_path / name, (20, 20))
    triples, unmatched = match_triples(tmp_path / "c", tmp_path / "s", tmp_path / "out")
    found = {(t.content.name, t.style.name, t.stylized.relative_to(tmp_path / "out").as_posix())
             for t in triples}
    assert found == {("a.jpg", "x.png", "a_stylized_x.jpg"), ("a.jpg", "y.jpg", "a_stylized_y.png"),
                     ("b.png", "x.png", "sub/b_stylized_x.png")}
    # b's results belong in out/sub like its content; a blend has no single style
    assert sorted(p.name for p in unmatched) == ["a_stylized_x+y.jpg", "b_stylized_y.png",
                                                 "notes.png"]


def test_three_files_are_a_triple_whatever_their_names(tmp_path):
    paths = [write_image(tmp_path / f"{n}.png", (20, 20)) for n in ("c", "s", "result")]
    assert match_triples(*paths) == ([Triple(*paths)], [])


def test_a_result_name_two_pairs_could_have_is_refused(tmp_path):
    for name in ("c/a_stylized_b.png", "c/a.png", "s/c.png", "s/b_stylized_c.png",
                 "out/a_stylized_c.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(tmp_path / name, (20, 20))
    triples, _ = match_triples(tmp_path / "c", tmp_path / "s", tmp_path / "out")
    assert [t.stylized.name for t in triples] == ["a_stylized_c.png"]  # no clash, no fuss
    write_image(tmp_path / "out" / "a_stylized_b_stylized_c.png", (20, 20))
    with pytest.raises(AdaINError, match="a_stylized_b_stylized_c.png could be"):
        match_triples(tmp_path / "c", tmp_path / "s", tmp_path / "out")


def test_cli_scores_a_stylize_run_into_json_and_csv(published_weights, evaluator, tmp_path):
    (tmp_path / "c").mkdir()
    (tmp_path / "s").mkdir()
    write_image(tmp_path / "c" / "photo.png", (40, 32), seed=1)
    write_image(tmp_path / "s" / "art.png", (36, 36), seed=2)
    assert run("stylize", tmp_path / "c", "-s", tmp_path / "s", "-o", tmp_path / "out",
               "--content-size", 0, *weights_args(published_weights)).exit_code == 0
    (tmp_path / "out" / "photo_stylized_gone.png").write_bytes(b"not an image")
    write_image(tmp_path / "s" / "gone.png", (36, 36), seed=3)
    result = run("eval", "--content", tmp_path / "c", "--style", tmp_path / "s", "--stylized",
                 tmp_path / "out", "--style-size", 0, "--json", tmp_path / "r.json",
                 "--csv", tmp_path / "r.csv", "--vgg", published_weights[0], "--device", "cpu")
    assert result.exit_code == 1, result.output  # one result is broken: named, others kept
    assert "photo_stylized_gone.png" in result.output and "1 failed" in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    good = [r for r in report["results"] if not r["error"]]
    assert len(report["results"]) == 2 and len(good) == 1
    expected = evaluator.score(*(torch.from_numpy(np.asarray(Image.open(p), np.float32) / 255)
                                 .permute(2, 0, 1)[None]
                                 for p in (tmp_path / "out" / "photo_stylized_art.png",
                                           tmp_path / "c" / "photo.png",
                                           tmp_path / "s" / "art.png")))
    for metric, value in expected.as_dict().items():
        assert good[0][metric] == pytest.approx(value, rel=1e-4)
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0] == ("content,style,stylized,alpha,content_loss,style_loss,gram_loss,ssim,"
                        "error")
    assert len(lines) == 3


def test_cli_plot_draws_the_alpha_sweep_and_keeps_its_numbers(published_weights, tmp_path):
    content = write_image(tmp_path / "photo.png", (32, 24), seed=1)
    style = write_image(tmp_path / "art.png", (24, 24), seed=2)
    result = run("eval", "--content", content, "--style", style, "--plot", tmp_path / "a.png",
                 "--alphas", 3, "--content-size", 0, "--style-size", 0, "--vgg",
                 published_weights[0], "--decoder", published_weights[1], "--device", "cpu",
                 "--json", tmp_path / "a.json", "--csv", tmp_path / "a.csv")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "a.png").format == "PNG"
    sweep = json.loads((tmp_path / "a.json").read_text())["sweep"]
    assert sweep["alphas"] == [0.0, 0.5, 1.0] and sweep["errors"] == []
    assert [p["alpha"] for p in sweep["points"]] == [0.0, 0.5, 1.0]
    assert sweep["points"][0]["content"] == str(content)
    assert sweep["points"][2]["content_loss"] > sweep["points"][0]["content_loss"] or \
        sweep["points"][2]["style_loss"] != sweep["points"][0]["style_loss"]
    assert [m["alpha"] for m in sweep["mean"]] == [0.0, 0.5, 1.0]  # one pair: its own numbers
    assert sweep["mean"][1]["style_loss"] == sweep["points"][1]["style_loss"]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "a.csv").read_text())))
    assert [float(r["alpha"]) for r in rows] == [0.0, 0.5, 1.0]
    assert float(rows[1]["gram_loss"]) == pytest.approx(sweep["points"][1]["gram_loss"])
    result = run("eval", "--content", content, "--style", style, "--plot", tmp_path / "a.jpg",
                 "--vgg", published_weights[0])
    assert result.exit_code == 2 and "PNG" in result.output


def frames(folder, pictures):
    folder.mkdir()
    for i, picture in enumerate(pictures):
        cv2.imwrite(str(folder / f"{i:03d}.png"), picture)
    return folder


def test_warping_error_is_zero_for_a_static_video_and_not_for_flicker(tmp_path):
    rng = np.random.default_rng(0)
    scene = cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (64, 48))
    painted = [cv2.resize(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8), (64, 48))
               for _ in range(2)]
    video = frames(tmp_path / "in", [scene] * 5)
    steady = frames(tmp_path / "steady", [painted[0]] * 5)
    flicker = frames(tmp_path / "flicker", [painted[i % 2] for i in range(5)])
    result = run("eval", "--video", video, "--stylized-video", steady, "--json",
                 tmp_path / "v.json")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "v.json").read_text())["video"]
    assert report["warping_error"] == 0.0 and report["frames"] == 5
    result = run("eval", "--video", video, "--stylized-video", flicker, "--json",
                 tmp_path / "v.json")
    assert json.loads((tmp_path / "v.json").read_text())["video"]["warping_error"] > 0.01
    short = frames(tmp_path / "short", [painted[0]] * 4)
    result = run("eval", "--video", video, "--stylized-video", short)
    assert result.exit_code == 1 and "different numbers of frames" in result.output


def test_nothing_to_evaluate_is_refused(tmp_path):
    result = run("eval", "--json", "x.json")
    assert result.exit_code == 2 and "nothing to evaluate" in result.output
    image = write_image(tmp_path / "a.png", (20, 20))
    result = run("eval", "--video", image, "--stylized-video", image, "--content", image)
    assert result.exit_code == 2 and "--content and --style are for" in result.output


def test_sweep_alphas_are_exact_decimals():
    assert sweep_alphas(11) == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert sweep_alphas(2) == [0.0, 1.0]


def test_a_broken_content_is_named_and_the_other_pairs_swept(published_weights, tmp_path):
    (tmp_path / "c").mkdir()
    write_image(tmp_path / "c" / "good.png", (32, 24), seed=1)
    (tmp_path / "c" / "broken.png").write_bytes(b"not an image")
    style = write_image(tmp_path / "art.png", (24, 24), seed=2)
    result = run("eval", "--content", tmp_path / "c", "--style", style, "--plot",
                 tmp_path / "a.png", "--alphas", 2, "--content-size", 0, "--style-size", 0,
                 "--json", tmp_path / "a.json", "--vgg", published_weights[0], "--decoder",
                 published_weights[1], "--device", "cpu")
    assert result.exit_code == 1 and "1 failed" in result.output and "broken.png" in result.output
    assert Image.open(tmp_path / "a.png").format == "PNG"
    sweep = json.loads((tmp_path / "a.json").read_text())["sweep"]
    assert len(sweep["points"]) == 2 and "broken.png" in sweep["errors"][0]


@pytest.fixture
def triple(tmp_path):
    (tmp_path / "c").mkdir()
    paths = (write_image(tmp_path / "c" / "photo.png", (24, 20), seed=1),
             write_image(tmp_path / "art.png", (20, 20), seed=2),
             write_image(tmp_path / "result.png", (24, 20), seed=3))
    return paths, [p.read_bytes() for p in paths]


@pytest.mark.parametrize(("option", "name", "message"), [
    ("--json", "result.png", "is the input"),
    ("--csv", "c/photo.png", "is the input"),  # an image found in the content folder
    ("--csv", "scores", "it is a folder; give a file name"),  # leaked the temporary name
    ("--json", "result.png/r.json", "is a file, not a folder"),
])
def test_cli_refuses_outputs_that_are_inputs_or_cannot_be_written(option, name, message,
                                                                   triple, tmp_path):
    (content, style, stylized), before = triple
    (tmp_path / "scores").mkdir()
    result = run("eval", "--content", tmp_path / "c", "--style", style, "--stylized", stylized,
                 option, tmp_path / name, "--vgg", tmp_path / "missing.pth")  # before any work
    assert result.exit_code == 1 and message in result.output, result.output
    assert ".tmp" not in result.output and "missing.pth" not in result.output
    assert [p.read_bytes() for p in (content, style, stylized)] == before


def test_cli_refuses_two_outputs_on_one_file_and_a_csv_without_a_table(triple, tmp_path):
    (content, style, stylized), _ = triple
    result = run("eval", "--content", content, "--style", style, "--stylized", stylized,
                 "--json", tmp_path / "r.txt", "--csv", tmp_path / "r.txt")
    assert result.exit_code == 1 and "--json and --csv are both" in result.output
    result = run("eval", "--video", content, "--stylized-video", stylized, "--csv",
                 tmp_path / "r.csv")
    assert result.exit_code == 2 and "--csv holds" in result.output


def test_this_runs_outputs_are_not_results_to_score(tmp_path):
    for name in ("c/a.png", "s/x.png", "out/a_stylized_x.png", "out/sweep.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(tmp_path / name, (20, 20))
    triples, unmatched = match_triples(tmp_path / "c", tmp_path / "s", tmp_path / "out",
                                       skip=[tmp_path / "out" / "sweep.png"])
    assert len(triples) == 1 and unmatched == []


def test_eval_help_names_results_without_braces():
    result = run("eval", "--help")
    assert "CONTENT_stylized_STYLE" in result.output and "{" not in result.output


def test_a_report_over_a_folder_names_the_folder_not_a_temporary_file(tmp_path):
    with pytest.raises(AdaINError, match="cannot write") as caught:
        write_csv(tmp_path, [])
    assert str(tmp_path) in str(caught.value) and ".tmp" not in str(caught.value)


def test_a_result_too_large_to_score_whole_says_so(published_weights, tmp_path, monkeypatch):
    from adain import device

    for name, size in (("c.png", (64, 48)), ("s.png", (40, 40)), ("c_stylized_s.png", (64, 48))):
        write_image(tmp_path / name, size, seed=len(name))
    free = device.BASE_BYTES + device.BYTES_PER_PIXEL * 2000  # the 40x40 style fits, not 64x48
    monkeypatch.setattr(device, "free_memory", lambda _device: free)
    result = run("eval", "--content", tmp_path / "c.png", "--style", tmp_path / "s.png",
                 "--stylized", tmp_path / "c_stylized_s.png", *weights_args(published_weights))
    assert result.exit_code != 0
    assert "scoring it needs about" in result.output
    assert "does not tile" in result.output
