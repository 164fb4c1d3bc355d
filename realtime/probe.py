"""What ffmpeg says about a file: is it a video, its frame rate as an exact fraction, its
audio codec. One ``ffmpeg -i`` run per file (the imageio-ffmpeg binary; no ffprobe ships).

A file without a video stream (a text file, an audio file) or with a single still picture
(JPEG, PNG: ffmpeg's ``image2`` and ``*_pipe`` demuxers) is not a video and is refused.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from ..picture import IMAGE_EXTENSIONS
from .engine import RealtimeError

MAX_RATE = 240  # a "rate" above this is a timestamp resolution, not frames per second
# Audio that MP4 holds as it is: copied, not re-encoded.
MP4_AUDIO = {"aac", "mp3", "alac", "opus"}
STILL_FORMATS = ("image2", "_pipe")
TEXT_FORMATS = {"tty"}  # ffmpeg shows any text file as an "ansi" video

_INPUT = re.compile(r"^Input #0, ([^,]+(?:,[^,]+)*?), from ", re.M)
_VIDEO = re.compile(r"^ *Stream #0:\d+.*?: Video: (.*)$", re.M)
_START = re.compile(r"^ *Duration: .*?, start: (-?[\d.]+)", re.M)
_AUDIO = re.compile(r"Stream #0:\d+.*?: Audio: (\w+)", re.M)


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class MediaInfo:
    fps: Fraction | None  # the average rate ffmpeg reports
    tbr: Fraction | None  # the rate every timestamp fits on (ffmpeg's r_frame_rate guess)
    audio: str | None  # the first audio stream's codec name, e.g. "aac"
    # Seconds from the file's start to its first video frame: the sound before it (a clip
    # whose audio starts earlier) is not heard with the first frame.
    video_lead: float = 0.0


def probe(path: str | Path) -> MediaInfo:
    """Facts about a video file, or a one-line error if it is not a video."""
    if Path(path).suffix.lower() in IMAGE_EXTENSIONS - {".gif", ".webp"}:
        raise RealtimeError(f"{path} is a still picture, not a video; adain stylize "
                            "stylises pictures")
    text = subprocess.run([ffmpeg(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, errors="replace").stderr
    demuxer = _INPUT.search(text)
    # cover art in a music file is a "video" stream of one picture: not a video either
    video = next((m for m in _VIDEO.finditer(text) if "(attached pic)" not in m.group(1)), None)
    if demuxer is None or video is None or demuxer.group(1) in TEXT_FORMATS:
        raise RealtimeError(f"{path} is not a video file (ffmpeg finds no video stream in "
                            "it)")
    if any(name in demuxer.group(1) for name in STILL_FORMATS):
        raise RealtimeError(f"{path} is a still picture, not a video; adain stylize "
                            "stylises pictures")
    audio = _AUDIO.search(text)
    fps, tbr = (re.search(rf"([\d.]+k?) {unit}\b", video.group(1)) for unit in ("fps", "tbr"))
    start, video_start = _START.search(text), re.search(r"\bstart (-?[\d.]+)", video.group(1))
    lead = float(video_start.group(1)) - float(start.group(1)) if start and video_start else 0.0
    return MediaInfo(_rate(fps and fps.group(1)), _rate(tbr and tbr.group(1)),
                     audio.group(1) if audio else None, max(lead, 0.0))


def exact_rate(fps: float) -> Fraction:
    """A frame rate as the fraction it stands for: 29.97002997 -> 30000/1001, 25.0 -> 25."""
    return Fraction(fps).limit_denominator(1001)


def output_rate(info: MediaInfo | None, fps: float) -> Fraction:
    """The constant rate to write a source at: ffmpeg's ``tbr`` when it is above the
    average (a variable-rate clip then loses no frame), else the average ``fps``
    (OpenCV's, as exact as a double). A ``tbr`` at a whole multiple of the average (59.94
    for a 29.97 clip) is a field or timestamp rate, not frames: the average is taken. A
    ``tbr`` just above the average (30 for an average of 29.95) is the clip's real rate."""
    average = exact_rate(fps)
    tbr = info.tbr if info else None
    if tbr and average < tbr <= MAX_RATE:
        ratio = tbr / average
        if round(ratio) < 2 or abs(ratio - round(ratio)) > Fraction(1, 100):
            return tbr
    return average


def _rate(text: str | None) -> Fraction | None:
    """ffmpeg's printed rate ("25", "29.97", "23.98", "1k") as a fraction; NTSC rates
    (printed rounded) become n * 1000/1001."""
    if not text:
        return None
    value = float(text[:-1]) * 1000 if text.endswith("k") else float(text)
    if value <= 0:
        return None
    ntsc = Fraction(round(value * 1.001) * 1000, 1001)
    if value != int(value) and abs(float(ntsc) - value) < 0.006:
        return ntsc
    return Fraction(text[:-1]) * 1000 if text.endswith("k") else Fraction(text)
