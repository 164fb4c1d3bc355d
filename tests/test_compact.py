"""The compact model (issue 15): its networks, ``adain distill``, and the compact file in
every place the VGG pair runs (stylize, the API, tiles, export, the realtime loop, eval)."""

import dataclasses
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from helpers import calibration_folder, run, write_image
from PIL import Image

from adain import AdaINError, Decoder, StyleOptions, Stylizer, VGGEncoder
from adain.compact import load_compact, save_compact
from adain.encoder import Features
from adain.export.graph_file import read_metadata
from adain.train.checkpoint import list_checkpoints, load_checkpoint
from adain.train.config import DistillConfig, TrainConfig
from adain.train.distill import DistillStep, Student
from adain.train.loop import train
from adain.train.step import Precision
from adain.weights import load_decoder, load_encoder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for kind, count in (("content", 4), ("style", 3)):
        (root / kind).mkdir()
        for i in range(count):
            write_image(root / kind / f"{kind}{i}.png", (48 + 8 * i, 40), seed=i + 10 * len(kind))
    return root / "content", root / "style"


def distill_config(folders, published_weights, out, **changes) -> DistillConfig:
    base = DistillConfig(content_dir=str(folders[0]), style_dir=str(folders[1]), out=str(out),
                         vgg=str(published_weights[0]), decoder=str(published_weights[1]),
                         iters=8, encoder_iters=4, batch_size=2, image_size=40, crop_size=32,
                         save_every=4,
                         sample_every=4, log_every=1, workers=0, device="cpu", lr=1e-3)
    return dataclasses.replace(base, **changes)


@pytest.fixture(scope="module")
def compact_file(tmp_path_factory):
    """A compact model of random weights, as adain distill writes it."""
    torch.manual_seed(3)
    path = tmp_path_factory.mktemp("compact") / "compact.safetensors"
    return save_compact(path, VGGEncoder(width=0.25), Decoder(width=0.25), step=0,
                        teacher="vgg_normalised")


def test_the_student_has_the_vgg_pairs_layers_at_a_quarter_of_the_channels():
    teacher, student = VGGEncoder(), VGGEncoder(width=0.25)
    image = torch.rand(2, 3, 37, 23)
    for got, want in zip(student(image), teacher(image), strict=True):
        assert got.shape[0] == want.shape[0] and got.shape[2:] == want.shape[2:]
        assert got.shape[1] * 4 == want.shape[1]
    assert student.channels == 128 and Decoder(width=0.25).channels == 128
    assert Decoder(width=0.25)(student.encode(image)).shape == (2, 3, 40, 24)
    assert [n for n, _ in student.named_children()] == [n for n, _ in teacher.named_children()]
    params = sum(p.numel() for p in student.parameters())
    assert params < sum(p.numel() for p in teacher.parameters()) / 14
    with pytest.raises(ValueError, match="width"):
        VGGEncoder(width=0.0)


def test_student_embeddings_map_to_the_teachers_channels(published_weights):
    teacher = load_encoder(published_weights[0]).module
    student = Student(0.25, teacher)
    images = torch.rand(4, 3, 32, 32)
    embedded, output = student(images, 2, "encoder"), student(images, 2, "decoder")
    assert isinstance(embedded, Features)
    for got, want in zip(embedded, teacher(torch.rand(4, 3, 32, 32)), strict=True):
        assert got.shape == want.shape
    assert output.shape == (2, 3, 32, 32)
    assert torch.equal(student.encoder.preprocess.weight, teacher.preprocess.weight)


def test_each_phase_trains_only_its_network(published_weights):
    teacher = load_encoder(published_weights[0]).module
    teacher_decoder = Decoder().requires_grad_(False)
    student = Student(0.25, teacher)
    optimizer = torch.optim.Adam(student.parameters())
    step = DistillStep(teacher, teacher_decoder, student, student, optimizer, (1.0, 1.0, 10.0),
                       Precision(None, torch.device("cpu"), False), encoder_iters=1, step=0)
    batch = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    encoder_part = [*student.encoder.parameters(), *student.embed.parameters()]
    for losses, learns, idle in (({"feature"}, encoder_part, student.decoder.parameters()),
                                 ({"content", "style"}, student.decoder.parameters(),
                                  encoder_part)):
        result = step(batch, batch.flip(0))
        assert set(result.losses) == losses
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in learns)
        assert all(p.grad is None for p in idle)
        assert all(p.grad is None for p in (*teacher.parameters(),
                                            *teacher_decoder.parameters()))
    columns = result.columns(1)  # content | style | teacher | student
    assert len(columns) == 4 and all(c.shape == (1, 3, 32, 32) for c in columns)


def test_distillation_lowers_its_losses(folders, published_weights, tmp_path):
    seen = []
    config = distill_config(folders, published_weights, tmp_path / "run", iters=60,
                            encoder_iters=30, save_every=60, sample_every=0)
    train(config, on_progress=lambda p: seen.append(p.losses))
    encoder, decoder = seen[:30], seen[30:]
    assert sum(s["feature"] for s in encoder[-5:]) < 0.7 * sum(s["feature"] for s in encoder[:5])

    def total(steps):
        return sum(s["content"] + 10 * s["style"] for s in steps)

    assert total(decoder[-5:]) < 0.5 * total(decoder[:5])


def test_run_folder_and_compact_file(folders, published_weights, tmp_path):
    run_dir = tmp_path / "run"
    train(distill_config(folders, published_weights, run_dir))
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_00000004.jpg",
                                                                        "step_00000008.jpg"]
    grid = Image.open(run_dir / "samples" / "step_00000008.jpg")
    # a row per pair (batch 2) of 32 px crops: content | style | teacher | student
    assert grid.size == (2 + 4 * 34, 2 + 2 * 34)
    state = load_checkpoint(list_checkpoints(run_dir)[-1])
    assert state["step"] == 8 and "student" in state and state["decoder_sha256"]
    encoder, decoder = load_compact(run_dir / "compact.safetensors")
    meta = decoder.metadata
    assert meta["kind"] == "compact" and meta["width"] == "0.25" and meta["step"] == "8"
    assert meta["architecture"] == "vgg19-to-relu4_1" and meta["teacher"] == "vgg_normalised"
    assert meta["teacher_vgg_sha256"] == load_encoder(published_weights[0]).sha256
    assert encoder.module.channels == 128 and not any(
        p.requires_grad for p in encoder.module.parameters())
    assert "embed" not in str(list(encoder.module.state_dict()))  # training-only layers
    with pytest.raises(AdaINError, match="checkpoint of adain distill.*compact.safetensors"):
        load_decoder(list_checkpoints(run_dir)[-1])  # as --decoder


def test_resume_is_exact(folders, published_weights, tmp_path):
    # the whole run changes phase at step 3; the resumed one starts in the decoder's phase
    whole = train(distill_config(folders, published_weights, tmp_path / "whole",
                                 encoder_iters=3))
    half = distill_config(folders, published_weights, tmp_path / "halves", iters=5,
                          encoder_iters=3)
    train(half)
    resumed = train(dataclasses.replace(half, iters=8), resume=True)
    for a, b in zip(whole.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


def _rank_main(rank, folders, weights, out, results):
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ["TEST_PORT"],
                      RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank))
    student = train(distill_config(folders, weights, out, iters=4, encoder_iters=2,
                                   save_every=4))
    torch.save(student.state_dict(), results / f"rank{rank}.pt")


def test_two_process_gloo_distillation_keeps_ranks_identical(folders, published_weights,
                                                            tmp_path):
    import os
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        os.environ["TEST_PORT"] = str(probe.getsockname()[1])
    mp.spawn(_rank_main, args=(folders, published_weights, tmp_path / "run", tmp_path),
             nprocs=2, join=True)  # both phases: 2 encoder steps, then 2 decoder steps
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    teacher = load_encoder(published_weights[0]).module
    torch.manual_seed(0)  # the run's seed, so these are the weights it started from
    start = Student(0.25, teacher).state_dict()
    for part in ("encoder.conv1_1.weight", "decoder.conv1_1.weight", "embed.relu1_1.weight"):
        assert not torch.equal(rank0[part], start[part]), part
    assert (tmp_path / "run" / "compact.safetensors").is_file()


def test_resume_refuses_another_teacher_and_the_other_command(folders, published_weights,
                                                              tmp_path):
    run_dir, teacher = tmp_path / "run", tmp_path / "decoder.pth"
    teacher.write_bytes(published_weights[1].read_bytes())
    config = dataclasses.replace(distill_config(folders, published_weights, run_dir, iters=2,
                                                encoder_iters=1, save_every=2),
                                 decoder=str(teacher))
    train(config)
    state = torch.load(teacher, weights_only=True)
    torch.save({k: v + 1 for k, v in state.items()}, teacher)  # the same file, other weights
    with pytest.raises(AdaINError, match="distilled from another teacher than --decoder"):
        train(dataclasses.replace(config, iters=4), resume=True)
    result = run("train", "--resume", run_dir, "--iters", "4")
    assert result.exit_code == 1 and "adain distill --resume" in result.output
    train_run = tmp_path / "train_run"
    train(TrainConfig(content_dir=str(folders[0]), style_dir=str(folders[1]), out=str(train_run),
                      vgg=str(published_weights[0]), iters=1, batch_size=1, image_size=32,
                      crop_size=32, workers=0, device="cpu", save_every=1))
    result = run("distill", "--resume", train_run, "--iters", "2")
    assert result.exit_code == 1 and "adain train --resume" in result.output


def test_sigkill_then_resume_through_the_cli(folders, published_weights, tmp_path):
    run_dir = tmp_path / "run"
    command = [sys.executable, "-m", "adain", "distill", "--content-dir", str(folders[0]),
               "--style-dir", str(folders[1]), "--out", str(run_dir), "--vgg",
               str(published_weights[0]), "--decoder", str(published_weights[1]),
               "--batch-size", "2", "--image-size", "40", "--crop-size", "32", "--workers", "0",
               "--device", "cpu", "--iters", "1000", "--encoder-iters", "3", "--save-every",
               "2"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list_checkpoints(run_dir):
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint came"
        time.sleep(0.2)
    time.sleep(1.0)
    process.kill()
    process.wait()
    for path in list_checkpoints(run_dir):
        load_checkpoint(path)
    step = load_checkpoint(list_checkpoints(run_dir)[-1])["step"]
    result = run("distill", "--resume", run_dir, "--iters", step + 2)
    assert result.exit_code == 0, result.output
    assert "compact.safetensors" in result.output
    assert load_compact(run_dir / "compact.safetensors")[1].metadata["step"] == str(step + 2)


def test_stylize_with_the_compact_model(compact_file, tmp_path):
    content = write_image(tmp_path / "c.png", (60, 44), seed=1)
    style = write_image(tmp_path / "s.png", (40, 40), seed=2)
    result = run("stylize", content, "-s", style, "--model", compact_file, "-o",
                 tmp_path / "o.png", "--device", "cpu")
    assert result.exit_code == 0, result.output
    via_cli = np.asarray(Image.open(tmp_path / "o.png"))
    stylizer = Stylizer(model=compact_file, device="cpu")
    via_api = np.asarray(stylizer.stylize(content, style, StyleOptions()))
    assert via_cli.shape == (512, 698, 3) and np.array_equal(via_cli, via_api)
    assert stylizer.style_stats(style).mean.shape == (1, 128, 1, 1)


def test_the_compact_model_tiles_exactly(compact_file, tmp_path):
    content = write_image(tmp_path / "c.png", (150, 97), seed=4)
    style = write_image(tmp_path / "s.png", (40, 40), seed=5)
    stylizer = Stylizer(model=compact_file, device="cpu")
    whole = stylizer.stylize(content, style, StyleOptions(content_size=0, tile=0, alpha=0.5))
    tiled = stylizer.stylize(content, style, StyleOptions(content_size=0, tile=64, alpha=0.5))
    diff = np.abs(np.asarray(whole, np.int16) - np.asarray(tiled, np.int16))
    assert diff.max() <= 1


def test_wrong_files_in_either_place_get_one_line(compact_file, published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    out = tmp_path / "o.png"
    result = run("stylize", content, "-s", content, "--vgg", compact_file, "--decoder",
                 published_weights[1], "-o", out)
    assert result.exit_code == 1 and "give it as --model to adain stylize" in result.output
    result = run("stylize", content, "-s", content, "--vgg", published_weights[0],
                 "--decoder", compact_file, "-o", out)
    assert result.exit_code == 1 and "give it as --model to adain stylize" in result.output
    for wrong, flag in ((published_weights[0], "--vgg"), (published_weights[1], "--decoder")):
        result = run("stylize", content, "-s", content, "--model", wrong, "-o", out)
        assert result.exit_code == 1, result.output
        assert "--model expects a compact model" in result.output
        assert f"pass it as {flag}" in result.output
    result = run("stylize", content, "-s", content, "--model", compact_file, "--vgg",
                 published_weights[0], "-o", out)
    assert result.exit_code == 2 and "leave out --vgg and --decoder" in result.output
    assert not out.exists()
    info = run("weights", "info", compact_file)
    assert info.exit_code == 0 and "loads as compact" in info.output


@pytest.fixture(scope="module")
def compact_graphs(compact_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("compact_onnx")
    calib = calibration_folder(root)
    result = run("export", "--model", compact_file, "-o", root / "out", "--half", "--int8",
                 "--calib-dir", calib)
    assert result.exit_code == 0, result.output
    return root / "out", result.output


def test_compact_export_proves_every_graph(compact_graphs):
    out, output = compact_graphs
    names = sorted(p.name for p in out.glob("*.onnx"))
    expected = [f"{graph}{variant}.onnx" for graph in ("adain", "stylizer", "style_encoder")
                for variant in ("", ".fp16")]
    assert names == sorted([*expected, "stylizer.int8.onnx"])
    assert output.count("max |diff| vs PyTorch") == 3 and "PSNR" in output
    meta = read_metadata(out / "stylizer.onnx")
    assert meta["channels"] == "128" and "compact" in meta["model"]
    assert meta["vgg_file"] == meta["decoder_file"] == "compact.safetensors"
    assert "compact" in read_metadata(out / "stylizer.int8.onnx")["model"]


def test_the_realtime_loop_runs_a_compact_export(compact_graphs, media, tmp_path):
    out, _ = compact_graphs
    for precision in ("fp32", "int8"):
        result = run("webcam", "-s", media / "style" / "udnie.jpg", "--source",
                     media / "video" / "tree.avi", "--onnx", out, "--headless", "--max-frames",
                     "4", "--size", "48", "--precision", precision)
        assert result.exit_code == 0, result.output
        assert "4 frames on cpu" in result.output


def test_eval_sweeps_a_compact_model_scored_by_the_teacher(compact_file, published_weights,
                                                          tmp_path):
    content = write_image(tmp_path / "c.png", (40, 40), seed=1)
    style = write_image(tmp_path / "s.png", (40, 40), seed=2)
    result = run("eval", "--content", content, "-s", style, "--plot", tmp_path / "sweep.png",
                 "--alphas", "2", "--content-size", "40", "--style-size", "40", "--vgg",
                 published_weights[0], "--model", compact_file, "--device", "cpu",
                 "--json", tmp_path / "s.json")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "sweep.png").is_file() and "compact.safetensors" in (
        tmp_path / "s.json").read_text()
    result = run("eval", "--content", content, "-s", style, "--stylized", content, "--model",
                 compact_file)
    assert result.exit_code == 2 and "--model stylises the --plot sweep" in result.output
