import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

import adain.encoder
from adain.cli import app
from adain.realtime import engine, frames
from adain.realtime.engine import Engine, RealtimeError, open_with_provider
from adain.realtime.pipeline import Pipeline
from adain.realtime.probe import ffmpeg
from adain.realtime.sources import Source, open_source
from adain.realtime.stabilize import Stabilizer, warping_error
from adain.realtime.stylize import FrameStylizer
from adain.realtime.video import stylize_video

runner = CliRunner()


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """1.5 s of a moving test pattern at 10 fps, 64x48, with a sine-tone audio track."""
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=64x48:rate=10:duration=1.5", "-f", "lavfi", "-i",
                    "sine=frequency=440:duration=1.5", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                    "-c:a", "aac", "-shortest", str(path)], check=True)
    return path


def probe(path: Path) -> dict:
    """Frame count (decoded), fps, size, codec and audio of a video file."""
    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.read()[0]:
        count += 1
    info = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True).stderr
    return {"frames": count, "fps": capture.get(cv2.CAP_PROP_FPS),
            "size": (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                     int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))),
            "h264": "Video: h264" in info, "audio": " Audio:" in info}


def test_realtime_never_imports_torch():
    code = ("import sys, adain.realtime.live, adain.realtime.video, adain.realtime.engine, "
            "adain.realtime.stabilize; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert out.stdout.strip() == "False", out.stderr


def test_colour_conversion_happens_once_and_exactly():
    blue = np.zeros((10, 12, 3), np.uint8)
    blue[..., 0] = 255  # BGR: pure blue
    model_input = frames.frame_to_input(blue, (10, 12))
    assert model_input.shape == (1, 3, 10, 12) and model_input.dtype == np.float32
    assert model_input[0, 2].min() == 1.0 and model_input[0, :2].max() == 0.0  # RGB order
    out = frames.output_to_frame(np.stack([model_input[0] * 1.5 - 0.2])[:, :, :, :])
    assert out.dtype == np.uint8 and out[..., 0].min() == 255 and out[..., 1:].max() == 0


def test_realtime_min_side_is_the_encoders():
    """realtime keeps a torch-free copy of the encoder's smallest input side."""
    assert frames.MIN_SIDE == adain.encoder.MIN_SIDE


def test_inference_size_keeps_aspect():
    assert frames.inference_size(720, 1280, 512) == (288, 512)
    assert frames.inference_size(720, 1280, None) == (720, 1280)


def test_auto_provider_is_quiet_on_a_cpu_machine(exported, capfd):
    out, _ = exported
    assert open_with_provider(out / "stylizer.onnx", "auto")[0] == "cpu"
    captured = capfd.readouterr()
    assert "EP Error" not in captured.out + captured.err
    assert "Failed to load" not in captured.out + captured.err


def test_a_provider_that_does_not_load_is_refused(exported):
    out, _ = exported
    for provider in ("cuda", "tensorrt", "metal"):
        with pytest.raises(RealtimeError, match="provider"):
            open_with_provider(out / "stylizer.onnx", provider)


def test_a_bug_in_the_provider_probe_keeps_its_traceback(monkeypatch, tmp_path):
    """Only onnxruntime's own failures mean "this provider does not load here"."""
    real_session = engine._session

    def typo(path, provider, threads):
        if isinstance(provider, list):  # the probe of a GPU provider
            raise NameError("name 'provder' is not defined")
        return real_session(path, provider, threads)

    monkeypatch.setattr(engine, "_session", typo)
    monkeypatch.setattr(engine.ort, "get_available_providers",
                        lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    with pytest.raises(NameError, match="provder"):
        open_with_provider(tmp_path / "stylizer.onnx", "auto")  # never read: the probe fails


def test_video_keeps_frames_rate_size_and_audio(exported, clip, media, tmp_path):
    out, _ = exported
    result = runner.invoke(app, ["video", str(clip), "-s", str(media / "style" / "udnie.jpg"),
                                 "--onnx", str(out), "-o", str(tmp_path / "o.mp4")])
    assert result.exit_code == 0, result.output
    info = probe(tmp_path / "o.mp4")
    assert info == {"frames": 15, "fps": 10.0, "size": (64, 48), "h264": True, "audio": True}
    assert "with audio" in result.output


def test_video_without_audio_and_with_a_size(exported, media, tmp_path):
    out, _ = exported
    source = media / "video" / "tree.avi"  # 68 frames spread over its 29.6 s (444 at 15 fps)
    result = runner.invoke(app, ["video", str(source), "-s", str(media / "style" / "udnie.jpg"),
                                 "--onnx", str(out), "-o", str(tmp_path), "--size", "80",
                                 "--stabilize", "--luminance-only", "--precision", "int8"])
    assert result.exit_code == 0, result.output
    info = probe(tmp_path / "tree_stylized_udnie.mp4")
    # Each frame is held until the next is due: the clip keeps its length, not 4.5 s.
    assert info["frames"] == 444 and info["size"] == (80, 60) and not info["audio"]
    assert info["fps"] == pytest.approx(15.0, abs=0.01) and info["h264"]


def test_interrupted_video_is_a_playable_partial_file(exported, clip, media, tmp_path):
    out, _ = exported
    engine = Engine(out)
    stylizer = FrameStylizer(engine, engine.style(str(media / "style" / "udnie.jpg")), None)
    calls = []

    def stop_after_five(frame):
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return stylizer(frame)

    result = stylize_video(str(clip), tmp_path / "part.mp4", stop_after_five)
    assert result.interrupted and result.frames == 5
    assert probe(tmp_path / "part.mp4")["frames"] == 5


def test_headless_webcam_loop_on_a_video_file_records(exported, clip, media, tmp_path):
    out, _ = exported
    result = runner.invoke(app, [
        "webcam", "-s", str(media / "style" / "udnie.jpg"), "-s",
        str(media / "style" / "mondrian.jpg"), "--source", str(clip), "--onnx", str(out),
        "--headless", "--max-frames", "7", "--size", "48", "--record", str(tmp_path / "r.mp4")])
    assert result.exit_code == 0, result.output
    assert "7 frames on cpu" in result.output
    info = probe(tmp_path / "r.mp4")
    assert info["frames"] == 7 and info["size"] == (64, 48)  # the display keeps the source size


@pytest.mark.parametrize(("source", "message"), [
    ("7", "cannot open camera 7"), ("missing.mp4", "no such file"),
    ("notes.txt", "notes.txt is not a video file"), ("empty_dir", "holds no images"),
    ("", "the source is empty")])
def test_bad_sources_fail_fast_with_one_line(exported, media, tmp_path, monkeypatch, source,
                                             message):
    out, _ = exported
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("not a video")
    Path("empty_dir").mkdir()
    started = time.monotonic()
    result = runner.invoke(app, ["webcam", "-s", str(media / "style" / "udnie.jpg"),
                                 "--source", source, "--onnx", str(out), "--headless"])
    assert result.exit_code == 1 and message in result.output
    assert "Traceback" not in result.output and time.monotonic() - started < 30


def test_missing_graphs_say_which_export_makes_them(media, tmp_path):
    result = runner.invoke(app, ["video", str(media / "video" / "tree.avi"), "-s",
                                 str(media / "style" / "udnie.jpg"), "--onnx", str(tmp_path),
                                 "--precision", "int8"])
    assert result.exit_code == 1
    assert f"adain export --onnx -o {tmp_path} --int8 --calib-dir" in result.output


class FakeSource(Source):
    def __init__(self, count: int, live: bool, delay: float = 0.0) -> None:
        super().__init__("fake", live, 30.0, count)
        self.count, self.delay = count, delay

    def frames(self):
        for i in range(self.count):
            time.sleep(self.delay)
            yield np.full((4, 4, 3), i, np.uint8)


def test_files_lose_no_frame_and_live_sources_keep_the_newest():
    def slow(frame):
        time.sleep(0.01)
        return frame

    indices = [item.index for item in Pipeline(FakeSource(40, live=False), slow)]
    assert indices == list(range(40))
    indices = []
    for item in Pipeline(FakeSource(8, live=False), lambda frame: frame):
        time.sleep(0.15)  # a slow writer: the queue is full when the source ends
        indices.append(item.index)
    assert indices == list(range(8))
    pipeline = Pipeline(FakeSource(60, live=True, delay=0.001), slow)
    live = [item.index for item in pipeline]
    assert pipeline.dropped > 0 and live == sorted(live) and live[-1] == 59


def test_an_error_in_the_model_reaches_the_caller():
    def broken(frame):
        raise RealtimeError("model failed")

    with pytest.raises(RealtimeError, match="model failed"):
        list(Pipeline(FakeSource(5, live=False), broken))


def test_stabilizer_reduces_flicker_on_a_static_scene():
    rng = np.random.default_rng(0)
    scene = cv2.GaussianBlur(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8), (5, 5), 0)
    stylized = [np.clip(scene.astype(int) + rng.integers(-30, 30, scene.shape), 0, 255)
                .astype(np.uint8) for _ in range(6)]
    stabilizer = Stabilizer()
    steady = [stabilizer(scene, frame) for frame in stylized]
    raw = np.mean([warping_error(b, a, scene, scene) for a, b in zip(stylized, stylized[1:],
                                                                      strict=False)])
    smooth = np.mean([warping_error(b, a, scene, scene) for a, b in zip(steady, steady[1:],
                                                                         strict=False)])
    assert smooth < 0.5 * raw
    assert warping_error(scene, scene, scene, scene) == 0.0


def test_open_source_reports_file_facts(media):
    source = open_source(str(media / "video" / "cockatoo.mp4"))
    assert not source.live and source.fps == 20.0 and source.frame_count == 280
    source.release()


def test_ctrl_c_in_a_terminal_leaves_a_playable_partial_video(exported, media, tmp_path):
    """SIGINT to the whole process group, as a terminal sends it (ffmpeg included)."""
    import os
    import signal

    out, _ = exported
    target = tmp_path / "part.mp4"
    process = subprocess.Popen(
        [sys.executable, "-m", "adain", "video", str(media / "video" / "cockatoo.mp4"), "-s",
         str(media / "style" / "udnie.jpg"), "--onnx", str(out), "--size", "160", "-o",
         str(target)], start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("part.mp4*")):  # ffmpeg has started (a .part file beside)
        assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()
        time.sleep(0.2)
    time.sleep(3)  # a few dozen of the 280 frames
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted: a playable partial file" in stdout
    assert 0 < probe(target)["frames"] < 280 and probe(target)["audio"]
    assert [p.name for p in tmp_path.iterdir()] == ["part.mp4"]  # no .part file left


def test_a_folder_of_pictures_of_several_sizes_records_every_frame(exported, media, tmp_path):
    out, _ = exported
    folder = tmp_path / "pics"
    folder.mkdir()
    for i, size in enumerate(((64, 48), (64, 48), (30, 20))):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((size[1], size[0], 3), 60 * i, np.uint8))
    result = runner.invoke(app, ["webcam", "-s", str(media / "style" / "udnie.jpg"), "--source",
                                 str(folder), "--onnx", str(out), "--headless", "--record",
                                 str(tmp_path / "r.mp4")])
    assert result.exit_code == 0, result.output
    assert probe(tmp_path / "r.mp4")["frames"] == 3


def test_odd_sizes_become_even_for_h264():
    assert frames.inference_size(720, 1280, 65) == (36, 64)


def test_two_inputs_with_one_output_name_are_refused(exported, media, tmp_path):
    out, _ = exported
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.avi").write_bytes((media / "video" / "tree.avi").read_bytes())
    result = runner.invoke(app, ["video", str(tmp_path / "a" / "clip.avi"),
                                 str(tmp_path / "b" / "clip.avi"), "-s",
                                 str(media / "style" / "udnie.jpg"), "--onnx", str(out), "-o",
                                 str(tmp_path / "out")])
    assert result.exit_code == 1 and "same file" in result.output
