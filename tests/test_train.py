import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from helpers import write_image
from typer.testing import CliRunner

from adain import AdaINError, Decoder
from adain.cli import app
from adain.train.checkpoint import FORMAT_VERSION, list_checkpoints, load_checkpoint
from adain.train.loop import TrainConfig, resume_config, train
from adain.train.step import StepModels, TrainStep
from adain.weights import TORCHVISION, load_decoder, load_encoder


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    for kind, count in (("content", 5), ("style", 3)):
        (root / kind / "sub").mkdir(parents=True)
        for i in range(count):
            where = root / kind / ("sub" if i % 2 else "")
            write_image(where / f"{kind}{i}.png", (48 + 8 * i, 40), seed=i + 10 * len(kind))
    return root / "content", root / "style"


def config_for(folders, published_weights, out, **changes) -> TrainConfig:
    base = TrainConfig(content_dir=str(folders[0]), style_dir=str(folders[1]), out=str(out),
                       vgg=str(published_weights[0]), iters=8, batch_size=2, image_size=40,
                       crop_size=32, save_every=4, sample_every=4, log_every=1, workers=0,
                       device="cpu", lr=1e-3)
    return dataclasses.replace(base, **changes)


def decoder_params(decoder: Decoder) -> list[torch.Tensor]:
    return [p.detach().clone() for p in decoder.state_dict().values()]


def test_loss_falls_over_a_few_dozen_steps(folders, published_weights, tmp_path):
    losses = []
    config = config_for(folders, published_weights, tmp_path / "run", iters=40, image_size=64,
                        crop_size=64, save_every=40, sample_every=0)
    train(config, on_progress=lambda p: losses.append(p.losses["content"] + 10 * p.losses["style"]))
    assert len(losses) == 40
    assert sum(losses[-8:]) < 0.7 * sum(losses[:8])


def test_only_the_decoder_learns(published_weights):
    encoder, decoder = load_encoder(published_weights[0]).module, Decoder()
    optimizer = torch.optim.Adam(decoder.parameters())
    step = TrainStep(StepModels(encoder, decoder), optimizer, 1.0, 10.0, None,
                     torch.device("cpu"), channels_last=True)
    batch = (torch.rand(2, 3, 32, 32) * 255).to(torch.uint8)
    step(batch, batch.flip(0))
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in decoder.parameters())
    assert all(p.grad is None and not p.requires_grad for p in encoder.parameters())


def test_run_folder_outputs(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    train(config_for(folders, published_weights, run))
    assert (run / "config.json").is_file() and list((run / "tb").iterdir())
    assert [p.name for p in list_checkpoints(run)] == ["step_00000004.pt", "step_00000008.pt"]
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step_00000004.jpg",
                                                                    "step_00000008.jpg"]
    state = load_checkpoint(list_checkpoints(run)[-1])
    assert state["step"] == 8 and {"optimizer", "schedule", "rng", "config"} <= set(state)
    assert not any(k.startswith(("module.", "_orig_mod.")) for k in state["decoder"])
    decoder = load_decoder(run / "decoder.safetensors")
    assert decoder.metadata["step"] == "8" and decoder.encoder_identity == "vgg_normalised"


def test_resume_gives_the_same_decoder(folders, published_weights, tmp_path):
    whole = train(config_for(folders, published_weights, tmp_path / "whole"))
    half = config_for(folders, published_weights, tmp_path / "halves", iters=4)
    train(half)
    resumed = train(dataclasses.replace(half, iters=8), resume=True)
    for a, b in zip(decoder_params(whole), decoder_params(resumed), strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    assert load_checkpoint(list_checkpoints(tmp_path / "halves")[-1])["step"] == 8


def test_corrupt_file_is_skipped_and_named(folders, published_weights, tmp_path, media, caplog):
    content = tmp_path / "content"
    content.mkdir()
    write_image(content / "good.png", (40, 40), seed=1)
    (content / "broken.jpg").write_bytes((media / "bad" / "truncated_jpeg.jpg").read_bytes())
    config = config_for((content, folders[1]), published_weights, tmp_path / "run", iters=4,
                        batch_size=2)
    train(config)
    assert "skipped an unreadable image (1 so far)" in caplog.text and "broken.jpg" in caplog.text
    state = load_checkpoint(list_checkpoints(tmp_path / "run")[-1])
    assert len(state["skipped_files"]) == 1 and "broken.jpg" in state["skipped_files"][0]


def test_empty_or_missing_folder_is_refused_before_work(folders, published_weights, tmp_path):
    (tmp_path / "empty").mkdir()
    for content in (tmp_path / "empty", tmp_path / "missing"):
        with pytest.raises(AdaINError, match="content folder .* (holds no image|does not exist)"):
            train(config_for((content, folders[1]), published_weights, tmp_path / "run"))
    assert not (tmp_path / "run").exists()


def test_a_new_run_refuses_an_existing_run_folder(folders, published_weights, tmp_path):
    train(config_for(folders, published_weights, tmp_path / "run", iters=1, save_every=1))
    with pytest.raises(AdaINError, match="already holds a training run.*--resume"):
        train(config_for(folders, published_weights, tmp_path / "run"))


def _rank_main(rank, folders, weights, out, results):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=os.environ["TEST_PORT"],
                      RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank))
    decoder = train(config_for(folders, weights, out, iters=3, save_every=3))
    torch.save(decoder.state_dict(), Path(results) / f"rank{rank}.pt")


def test_two_process_gloo_training_keeps_ranks_identical(folders, published_weights, tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        os.environ["TEST_PORT"] = str(probe.getsockname()[1])
    mp.spawn(_rank_main, args=(folders, published_weights, tmp_path / "run", tmp_path),
             nprocs=2, join=True)
    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)
    assert not torch.equal(rank0["conv1_1.weight"], Decoder().state_dict()["conv1_1.weight"])
    assert [p.name for p in list_checkpoints(tmp_path / "run")] == ["step_00000003.pt"]


def train_command(folders, published_weights, out, *extra):
    return [sys.executable, "-m", "adain", "train", "--content-dir", str(folders[0]),
            "--style-dir", str(folders[1]), "--out", str(out), "--vgg", str(published_weights[0]),
            "--batch-size", "2", "--image-size", "40", "--crop-size", "32", "--workers", "0",
            "--device", "cpu", *extra]


def wait_for_checkpoint(run: Path, process, seconds=120) -> None:
    deadline = time.monotonic() + seconds
    while not list_checkpoints(run):
        assert process.poll() is None and time.monotonic() < deadline, "no checkpoint came"
        time.sleep(0.2)


def test_sigkill_loses_only_the_steps_since_the_last_checkpoint(folders, published_weights,
                                                                tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen(train_command(folders, published_weights, run, "--iters", "1000",
                                             "--save-every", "2"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_checkpoint(run, process)
    time.sleep(1.0)
    process.kill()
    process.wait()
    for path in list_checkpoints(run):  # whatever the moment of the kill, all load
        load_checkpoint(path)
    step = load_checkpoint(list_checkpoints(run)[-1])["step"]
    result = CliRunner().invoke(app, ["train", "--resume", str(run), "--iters", str(step + 2)])
    assert result.exit_code == 0, result.output
    assert load_decoder(run / "decoder.safetensors").metadata["step"] == str(step + 2)


def test_ctrl_c_saves_a_checkpoint_and_says_how_to_resume(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    process = subprocess.Popen(train_command(folders, published_weights, run, "--iters", "1000",
                                             "--save-every", "1000", "--sample-every", "1"),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run / "samples").is_dir() or not any((run / "samples").iterdir()):
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "adain train --resume" in err and list_checkpoints(run)


def test_trained_decoder_stylises_through_the_cli(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    result = CliRunner().invoke(app, [
        "train", "--content-dir", str(folders[0]), "--style-dir", str(folders[1]), "--out",
        str(run), "--vgg", str(published_weights[0]), "--iters", "2", "--batch-size", "1",
        "--image-size", "32", "--crop-size", "32", "--workers", "0", "--device", "cpu",
        "--save-every", "1"])
    assert result.exit_code == 0, result.output
    content = write_image(tmp_path / "c.png", (40, 40), seed=3)
    # The finished decoder, and an interrupted run's checkpoint, both stylise.
    for decoder in (run / "decoder.safetensors", run / "checkpoints" / "step_00000001.pt"):
        result = CliRunner().invoke(app, [
            "stylize", str(content), "-s", str(content), "-o", str(tmp_path / "o.png"),
            "--vgg", str(published_weights[0]), "--decoder", str(decoder),
            "--content-size", "0", "--style-size", "0"])
        assert result.exit_code == 0, result.output
        assert (tmp_path / "o.png").is_file()
        (tmp_path / "o.png").unlink()


def test_resume_refuses_changed_settings(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    train(config_for(folders, published_weights, run, iters=1, save_every=1))
    result = CliRunner().invoke(app, ["train", "--resume", str(run), "--lr", "0.1"])
    assert result.exit_code == 1 and "cannot change: --lr (the run has 0.001, given 0.1)" in \
        result.output


def test_resume_from_another_folder_continues_the_same_run(folders, published_weights,
                                                           tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    result = CliRunner().invoke(app, [
        "train", "--content-dir", str(folders[0]), "--style-dir", str(folders[1]), "--out", "run",
        "--vgg", str(published_weights[0]), "--iters", "2", "--batch-size", "1",
        "--image-size", "32", "--crop-size", "32", "--workers", "0", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(tmp_path / "b")
    result = CliRunner().invoke(app, ["train", "--resume", "../a/run", "--iters", "3"])
    assert result.exit_code == 0, result.output
    assert load_decoder(tmp_path / "a" / "run" / "decoder.safetensors").metadata["step"] == "3"
    assert not any((tmp_path / "b").iterdir())


def test_a_finished_run_always_has_its_decoder(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    config = config_for(folders, published_weights, run, iters=2, save_every=2)
    train(config)
    (run / "decoder.safetensors").unlink()  # as if killed between checkpoint and decoder
    train(config, resume=True)
    assert load_decoder(run / "decoder.safetensors").metadata["step"] == "2"
    with pytest.raises(AdaINError, match="already at step 2, past --iters 1"):
        train(dataclasses.replace(config, iters=1), resume=True)


def test_resume_skips_a_broken_newest_checkpoint(folders, published_weights, tmp_path, caplog):
    run = tmp_path / "run"
    config = config_for(folders, published_weights, run, iters=4, save_every=2)
    train(config)
    list_checkpoints(run)[-1].write_bytes(b"")  # e.g. a power loss on a disk without fsync
    (run / "checkpoints" / ".step_00000009.pt.abc.tmp.pt").write_bytes(b"partial")
    train(dataclasses.replace(config, iters=6), resume=True)
    assert "step_00000004.pt cannot be read: the file is empty (0 bytes); trying the " \
           "checkpoint before it" in caplog.text
    assert [p.name for p in (run / "checkpoints").iterdir() if p.name.startswith(".")] == []
    assert load_decoder(run / "decoder.safetensors").metadata["step"] == "6"


def two_checkpoints(folders, published_weights, run) -> TrainConfig:
    config = config_for(folders, published_weights, run, iters=2, save_every=1, sample_every=0)
    train(config)
    return config


def test_resume_refuses_when_no_checkpoint_loads(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    config = two_checkpoints(folders, published_weights, run)
    old, new = list_checkpoints(run)
    old.write_bytes(b"")
    new.write_bytes(new.read_bytes()[:1000])
    with pytest.raises(AdaINError, match=r"no checkpoint in .* loads: step_00000002.pt "
                                         r"\(RuntimeError: .*\); step_00000001.pt \(the file is "
                                         r"empty .*Refusing to start again at step 0"):
        train(dataclasses.replace(config, iters=4), resume=True)
    assert load_decoder(run / "decoder.safetensors").metadata["step"] == "2"
    old.unlink()
    new.unlink()  # no checkpoint at all, but the finished decoder
    with pytest.raises(AdaINError, match="no checkpoint but a decoder.safetensors at step 2"):
        train(dataclasses.replace(config, iters=4), resume=True)


def test_resume_refuses_a_checkpoint_of_a_newer_adain(folders, published_weights, tmp_path):
    run = tmp_path / "run"
    config = two_checkpoints(folders, published_weights, run)
    newest = list_checkpoints(run)[-1]
    state = load_checkpoint(newest)
    torch.save({**state, "format_version": FORMAT_VERSION + 1}, newest)
    with pytest.raises(AdaINError, match="step_00000002.pt was written by a newer adain"):
        train(dataclasses.replace(config, iters=4), resume=True)  # not resumed from step 1
    assert [p.name for p in list_checkpoints(run)] == ["step_00000001.pt", "step_00000002.pt"]


def test_python_resume_follows_the_resume_rules(folders, published_weights, tmp_path,
                                                monkeypatch):
    run = tmp_path / "run"
    config = config_for(folders, published_weights, run, iters=1, save_every=1, sample_every=0)
    train(config)
    with pytest.raises(AdaINError, match=r"cannot change: --lr \(the run has 0.001, given 0.1\)"):
        train(dataclasses.replace(config, lr=0.1, iters=2), resume=True)
    with pytest.raises(AdaINError, match="cannot change: --batch-size"):
        resume_config(run, batch_size=4)
    monkeypatch.chdir(tmp_path)
    resumed = resume_config("run", iters=2, workers=0)
    assert resumed.out == str(run) and resumed.iters == 2
    train(resumed, resume=True)
    assert load_decoder(run / "decoder.safetensors").metadata["step"] == "2"


def test_config_paths_are_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = TrainConfig(content_dir="coco", style_dir="art", out="runs/a", vgg="v.pth")
    assert (config.content_dir, config.style_dir, config.out, config.vgg) == tuple(
        str(tmp_path / name) for name in ("coco", "art", "runs/a", "v.pth"))
    assert dataclasses.replace(config, vgg=TORCHVISION).vgg == TORCHVISION


def test_a_run_that_failed_before_its_first_checkpoint_starts_again(folders, published_weights,
                                                                    tmp_path, media, caplog):
    broken = tmp_path / "broken"
    broken.mkdir()
    for i in range(2):
        (broken / f"s{i}.jpg").write_bytes((media / "bad" / "truncated_jpeg.jpg").read_bytes())
    run = tmp_path / "run"
    config = config_for((folders[0], broken), published_weights, run, iters=2)
    with pytest.raises(AdaINError, match=f"training {run} failed before its first checkpoint: "
                                         ".*unreadable style images.*same --out"):
        train(config)
    assert (run / "config.json").is_file()
    train(dataclasses.replace(config, style_dir=str(folders[1])))
    assert "stopped before its first checkpoint; starting it again" in caplog.text
    assert load_decoder(run / "decoder.safetensors").metadata["step"] == "2"


def test_an_output_under_a_file_is_refused_before_any_work(folders, published_weights,
                                                           tmp_path):
    (tmp_path / "file").write_text("not a folder")
    config = config_for((tmp_path / "missing", folders[1]), published_weights,
                        tmp_path / "file" / "run")
    with pytest.raises(AdaINError, match="file is a file, not a folder"):
        train(config)  # before the missing content folder is even looked at


def test_help_shows_choices_and_each_default_once():
    result = CliRunner().invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert any("--precision" in line and "[auto|bf16|fp32]" in line for line in lines)
    assert not [line for line in lines if "<bool>" in line and "--help" not in line]
    assert all(line.count("[default:") <= 1 for line in lines)
    assert f"[default: {TrainConfig.iters}]" in result.output
    assert "[default: 0.0001]" in result.output and "[default: off]" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="advisory locks are POSIX here")
def test_a_second_run_in_a_folder_in_use_is_refused(folders, published_weights, tmp_path):
    import fcntl

    run = tmp_path / "busy"
    run.mkdir()
    with open(run / ".lock", "a+") as held:  # as a first adain train holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(AdaINError, match="another adain train is running in"):
            train(config_for(folders, published_weights, run, iters=1))
    assert not (run / "config.json").exists()  # nothing of the second start was written
    train(config_for(folders, published_weights, run, iters=1))  # free again: it runs
