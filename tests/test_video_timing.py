"""adain video and webcam: timing, what counts as a video, outputs, style pictures, display."""

import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from helpers import ROOT
from PIL import Image
from typer.testing import CliRunner

from adain.cli import app
from adain.realtime import frames
from adain.realtime.engine import Engine, RealtimeError
from adain.realtime.probe import MediaInfo, exact_rate, ffmpeg, output_rate, probe
from adain.realtime.video import expand_inputs, stylize_video
from adain.realtime.writer import VideoWriter

runner = CliRunner()


def make_clip(path: Path, video: str, audio_codec: str = "aac", seconds: float = 1.0) -> Path:
    """A clip from an ffmpeg ``-filter_complex`` graph ending in [v], with a sine tone."""
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", "-filter_complex", video,
                    "-map", "[v]", "-map", "0:a", "-fps_mode", "passthrough", "-c:v", "libx264",
                    "-qp", "0", "-pix_fmt", "yuv420p", "-c:a", audio_codec, str(path)],
                   check=True)
    return path


def vfr_clip(path: Path, audio_codec: str = "aac") -> Path:
    """1 s at 5 fps, then 1 s at 20 fps (frames all different); the tone lasts 2 s."""
    return make_clip(path, "life=s=48x32:rate=5:ratio=0.5:seed=1,trim=duration=1,"
                           "format=yuv420p[a];life=s=48x32:rate=20:ratio=0.3:seed=7,"
                           "trim=duration=1,format=yuv420p[b];[a][b]concat=n=2:v=1:a=0[v]",
                     audio_codec, seconds=2.0)


def timed_frames(path: Path) -> list[tuple[float, np.ndarray]]:
    capture = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return out
        out.append((capture.get(cv2.CAP_PROP_POS_MSEC) / 1000, frame.astype(np.float32)))


def ffmpeg_says(path: Path) -> str:
    return subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True).stderr


def test_a_variable_frame_rate_clip_keeps_picture_and_sound_in_sync(tmp_path):
    """Each source frame first shows within half an output frame of its own time (the
    sound keeps its times); written frame after frame at the average rate, the first
    20 fps frame came 0.5 s early."""
    clip = vfr_clip(tmp_path / "vfr.mp4", audio_codec="alac")
    result = stylize_video(str(clip), tmp_path / "out.mp4", lambda frame: frame)
    source, written = timed_frames(clip), timed_frames(tmp_path / "out.mp4")
    assert len(source) == 25 and result.frames == len(written) == 40  # 2 s at 20 fps
    first_shown: dict[int, float] = {}
    for seconds, frame in written:
        match = int(np.argmin([np.mean((frame - f) ** 2) for _, f in source]))
        first_shown.setdefault(match, seconds)
    assert len(first_shown) == 25  # no frame lost
    worst = max(abs(first_shown[i] - source[i][0]) for i in first_shown)
    assert worst <= 0.5 / 20 + 1e-3, worst
    info = ffmpeg_says(tmp_path / "out.mp4")
    assert "Audio: alac" in info and "20 fps" in info  # copied, not re-encoded to AAC


def test_frame_rates_are_written_as_exact_fractions(tmp_path):
    clip = make_clip(tmp_path / "ntsc.mp4", "testsrc=size=32x24:rate=30000/1001:duration=0.3"
                                            "[v]", seconds=0.3)
    assert probe(clip).tbr == Fraction(30000, 1001) and exact_rate(29.97002997) == \
        Fraction(30000, 1001)
    stylize_video(str(clip), tmp_path / "out.mp4", lambda frame: frame)
    info = ffmpeg_says(tmp_path / "out.mp4")
    assert "29.97 fps" in info and "30k tbn" in info  # 2997/100 gives 11988 tbn


def test_the_written_rate_loses_no_frame_of_a_variable_rate_clip():
    ntsc = exact_rate(29.97002997)
    assert output_rate(MediaInfo(None, Fraction(30), None), 19.35) == 30  # VFR: its base rate
    assert output_rate(MediaInfo(None, 2 * ntsc, None), 29.97002997) == ntsc  # a field rate
    assert output_rate(None, 25.0) == 25


def test_text_files_and_still_pictures_are_not_videos(exported, media, tmp_path):
    out, _ = exported
    notes = tmp_path / "README.md"
    notes.write_text("# not a video\n" * 40)
    for path, message in ((notes, "is not a video file"),
                          (media / "style" / "udnie.jpg", "is a still picture")):
        result = runner.invoke(app, ["video", str(path), "-s", str(media / "style" / "udnie.jpg"),
                                     "--onnx", str(out), "-o", str(tmp_path / "o.mp4")])
        assert result.exit_code == 1 and message in result.output, result.output
        assert not (tmp_path / "o.mp4").exists()


def test_a_folder_of_videos_stylises_each(exported, media, tmp_path):
    out, _ = exported
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("a.mp4", "b.mp4"):
        make_clip(folder / name, "testsrc=size=32x24:rate=5:duration=0.4[v]", seconds=0.4)
    (folder / "notes.txt").write_text("not a video")
    result = runner.invoke(app, ["video", str(folder), "-s", str(media / "style" / "udnie.jpg"),
                                 "--onnx", str(out), "-o", str(tmp_path / "out"),
                                 "--style-size", "64", "--crop"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "a_stylized_udnie.mp4", "b_stylized_udnie.mp4"]


def test_outputs_that_are_inputs_or_unwritable_are_refused_before_work(media, tmp_path):
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"precious")
    style = tmp_path / "monet.jpg"
    style.write_bytes((media / "style" / "udnie.jpg").read_bytes())
    blocker = tmp_path / "file"
    blocker.write_text("")
    # --onnx names an empty folder: any work would fail on the missing graphs first.
    for target, message in ((clip, "is the input"), (blocker / "x.mp4", "is a file")):
        result = runner.invoke(app, ["video", str(clip), "-s", str(style), "--onnx",
                                     str(tmp_path), "-o", str(target)])
        assert result.exit_code == 1 and message in result.output, result.output
    result = runner.invoke(app, ["webcam", "-s", str(style), "--source", str(clip), "--onnx",
                                 str(tmp_path), "--headless", "--record", str(style)])
    assert result.exit_code == 1 and "is the input" in result.output, result.output
    assert clip.read_bytes() == b"precious"


def test_a_failed_video_keeps_the_old_file_and_ffmpeg_says_why(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", "testsrc=size=32x24:rate=5:duration=1[v]")
    seen = []

    def broken(frame):
        seen.append(1)
        if len(seen) > 2:
            raise RealtimeError("model failed")
        return frame

    target = tmp_path / "old.mp4"
    target.write_bytes(b"finished work")
    with pytest.raises(RealtimeError, match="model failed"):
        stylize_video(str(clip), target, broken)
    assert target.read_bytes() == b"finished work" and sorted(tmp_path.iterdir()) == sorted(
        [clip, target])
    gone = tmp_path / "gone"
    writer = VideoWriter(gone / "x.mp4", 32, 24, Fraction(5))
    gone.rmdir()  # ffmpeg opens its output only once the first frames arrive
    with pytest.raises(RealtimeError, match="No such file or directory") as error:
        for _ in range(10):
            writer.write(np.zeros((24, 32, 3), np.uint8))
        writer.close()
    assert "unknown error" not in str(error.value)


def test_transparent_style_is_on_white_and_exif_orientation_applies(tmp_path):
    clear = tmp_path / "clear.png"
    Image.new("RGBA", (20, 12), (0, 0, 0, 0)).save(clear)
    assert frames.image_to_input(clear, 0).min() == 1.0  # white, not black
    turned = tmp_path / "turned.png"
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    Image.new("RGB", (40, 20), (200, 30, 30)).save(turned, exif=exif)
    assert frames.image_to_input(turned, 0).shape == (1, 3, 40, 20)  # upright: taller


def test_style_is_encoded_at_the_style_size(exported, tmp_path):
    out, _ = exported
    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 100), (10, 120, 200)).save(path)
    engine = Engine(out)
    shapes = []
    encoder = engine.encoder

    class Spy:
        def run(self, names, feeds):
            shapes.append(feeds["style"].shape)
            return encoder.run(names, feeds)

    engine.encoder = Spy()
    engine.style(str(path), 32)
    engine.style(str(path), 32, crop=True)
    engine.style(str(path), 0)
    assert shapes == [(1, 3, 32, 96), (1, 3, 32, 32), (1, 3, 100, 300)]


def test_a_small_size_keeps_the_aspect():
    assert frames.inference_size(720, 1280, 9) == (10, 18)  # not 10x10
    assert frames.inference_size(1280, 720, 9) == (18, 10)
    assert frames.inference_size(720, 1280, 512) == (288, 512)


def test_preserve_color_points_to_luminance_only(exported, media, tmp_path):
    out, _ = exported
    for command in (["video", str(media / "video" / "tree.avi")],
                    ["webcam", "--headless"]):
        result = runner.invoke(app, [*command, "-s", str(media / "style" / "udnie.jpg"),
                                     "--onnx", str(out), "--preserve-color"])
        assert result.exit_code == 1 and "--luminance-only" in result.output, result.output


def test_webcam_without_a_display_says_so_in_one_line(exported, media):
    out, _ = exported
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "adain", "webcam", "-s",
                           str(media / "style" / "udnie.jpg"), "--source",
                           str(media / "video" / "tree.avi"), "--onnx", str(out)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "no display" in done.stderr and "--headless" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_text_file_is_not_a_video_whatever_its_name(tmp_path):
    notes = tmp_path / "notes.txt"  # ffmpeg reads any .txt as an "ansi" video
    notes.write_text("a plain text file\n" * 20)
    with pytest.raises(RealtimeError, match="not a video file"):
        probe(notes)


def test_a_clip_whose_sound_starts_before_its_picture_stays_in_sync(tmp_path):
    clip = tmp_path / "late_picture.mp4"  # silence, then a tone from 0.5 s, when the picture starts
    subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "aevalsrc='if(lt(t,0.5),0,sin(2*PI*440*t))':d=2.5", "-itsoffset", "0.5",
                    "-f", "lavfi", "-i", "testsrc=size=32x24:rate=10:duration=2", "-map", "1:v",
                    "-map", "0:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    str(clip)], check=True)
    assert probe(clip).video_lead == pytest.approx(0.5, abs=0.01)
    out = tmp_path / "out.mp4"
    stylize_video(str(clip), out, lambda frame: frame)
    sound = subprocess.run([ffmpeg(), "-hide_banner", "-loglevel", "error", "-i", str(out),
                            "-t", "0.3", "-f", "s16le", "-ac", "1", "-"], capture_output=True,
                           check=True).stdout
    first = np.frombuffer(sound, np.int16).astype(np.float32) / 32768
    assert np.sqrt(np.mean(first[2000:] ** 2)) > 0.3  # the tone, not the silence before it


def test_a_sound_that_cannot_be_added_keeps_the_stylised_frames(tmp_path, caplog):
    target = tmp_path / "out.mp4"
    writer = VideoWriter(target, 32, 24, Fraction(5), audio_from=str(tmp_path / "gone.mp4"),
                         audio_codec="aac")
    for _ in range(5):
        writer.write(np.zeros((24, 32, 3), np.uint8))
    writer.close()
    assert target.is_file() and not writer.has_sound and "without sound" in caplog.text
    assert sorted(tmp_path.iterdir()) == [target]  # no .part file left


def test_ctrl_c_before_the_first_frame_is_an_interruption(tmp_path):
    clip = make_clip(tmp_path / "c.mp4", "testsrc=size=32x24:rate=5:duration=1[v]")

    def interrupted(frame):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        stylize_video(str(clip), tmp_path / "out.mp4", interrupted)


def test_a_second_run_on_a_folder_leaves_the_first_runs_results_out(tmp_path):
    for name in ("a.mp4", "a_stylized_monet.mp4", "b.mov"):
        (tmp_path / name).write_bytes(b"")
    assert expand_inputs([str(tmp_path)], results_of="monet") == [
        str(tmp_path / "a.mp4"), str(tmp_path / "b.mov")]
    only = tmp_path / "only"
    only.mkdir()
    (only / "a_stylized_monet.mp4").write_bytes(b"")
    with pytest.raises(RealtimeError, match="all results of earlier runs"):
        expand_inputs([str(only)], results_of="monet")


def test_a_rate_just_above_the_average_is_the_clips_own():
    info = MediaInfo(fps=Fraction(2995, 100), tbr=Fraction(30), audio=None)
    assert output_rate(info, 29.95) == 30
    assert output_rate(MediaInfo(Fraction(30000, 1001), Fraction(60000, 1001), None),
                       30000 / 1001) == Fraction(30000, 1001)  # a field rate is not frames
