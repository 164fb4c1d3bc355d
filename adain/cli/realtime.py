"""``adain webcam`` and ``adain video``: ONNX graphs on live and recorded video.

These commands import only realtime/ (onnxruntime, OpenCV, numpy): never torch.
``--luminance-only`` is realtime's colour option (stylised luminance, the frame's colours);
``--preserve-color`` names stylize's method (the style recoloured first) and is refused
here with a pointer to it.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..paths import DEFAULT_ONNX_DIR
from .common import console, err_console, user_errors
from .options import OnnxDirOption
from .styles import resolved

if TYPE_CHECKING:
    from ..realtime.video import VideoJob, VideoResult

class Provider(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    tensorrt = "tensorrt"


class Precision(str, enum.Enum):
    fp32 = "fp32"
    fp16 = "fp16"
    int8 = "int8"


VARIANTS = {Precision.fp32: "", Precision.fp16: ".fp16", Precision.int8: ".int8"}

Size = Annotated[int | None, typer.Option(
    min=9, help="Inference size: the longer side, in pixels; without it, the frame's own.")]
AlphaOpt = Annotated[float, typer.Option(min=0.0, max=1.0, help="Style strength.")]
Luminance = Annotated[bool, typer.Option(
    "--luminance-only", help="Luminance-only transfer: the stylised luminance with the "
    "frames' own colours (Gatys et al. 2016).")]
PreserveColor = Annotated[bool, typer.Option("--preserve-color", hidden=True)]
StyleSize = Annotated[int, typer.Option(
    min=0, help="Style pictures' shorter side, in pixels (0 keeps their size), as in "
    "adain stylize.")]
Crop = Annotated[bool, typer.Option("--crop", help="Centre-crop the style pictures to a "
                                    "square after resizing.")]
Stable = Annotated[bool, typer.Option(
    "--stabilize", help="Less flicker: blend with the previous output along the motion.")]
ProviderOpt = Annotated[Provider, typer.Option(
    help="onnxruntime provider; auto takes the fastest that loads.")]
PrecisionOpt = Annotated[Precision, typer.Option(
    help="Which stylizer graph: fp32, fp16 (GPUs, --half export) or int8 (CPUs).")]


def webcam(
    style: Annotated[list[Path], typer.Option(
        "--style", "-s", callback=resolved("style", folders=False),
        help="Style image or bundled style's name (adain styles); repeat to switch with n/p.")],
    source: Annotated[str, typer.Option(
        help="Camera index, video file, stream URL or folder of images.")] = "0",
    onnx_dir: OnnxDirOption = DEFAULT_ONNX_DIR,
    size: Size = 512,
    style_size: StyleSize = 512,
    crop: Crop = False,
    alpha: AlphaOpt = 1.0,
    luminance_only: Luminance = False,
    preserve_color: PreserveColor = False,
    stabilize: Stable = False,
    side_by_side: Annotated[bool, typer.Option("--side-by-side",
                                               help="Show the camera next to the result.")
                            ] = False,
    record: Annotated[Path | None, typer.Option(help="Record the shown frames to this MP4.")
                      ] = None,
    headless: Annotated[bool, typer.Option("--headless", help="No window (servers, tests).")
                        ] = False,
    max_frames: Annotated[int | None, typer.Option(min=1, help="Stop after N frames.")] = None,
    provider: ProviderOpt = Provider.auto,
    precision: PrecisionOpt = Precision.fp32,
    virtual_cam: Annotated[bool, typer.Option(
        "--virtual-cam", help="Also send the result to a virtual camera (pyvirtualcam).")
    ] = False,
) -> None:
    """Stylise a camera (or any video source) live, in a window. Keys: q/Esc quit, space
    pause, n/p next/previous style, +/- alpha, c luminance-only on/off, s snapshot, r record.
    """
    from ..realtime.engine import RealtimeError

    with user_errors(RealtimeError):
        from ..realtime.live import LiveConfig, run_live

        refuse_preserve_color(preserve_color)
        stats = run_live(LiveConfig(
            source=source, styles=tuple(str(s) for s in style), onnx_dir=onnx_dir, size=size,
            style_size=style_size, crop=crop, alpha=alpha, luminance_only=luminance_only,
            stabilize=stabilize,
            side_by_side=side_by_side, record=record, headless=headless, max_frames=max_frames,
            provider=provider.value, variant=VARIANTS[precision], virtual_cam=virtual_cam))
    console.print(f"{stats.frames} frames on {stats.provider}: {stats.fps:.1f} fps, "
                  f"latency {stats.latency_ms:.0f} ms, {stats.dropped} stale frames dropped"
                  + "".join(f"; recorded {escape(str(p))}" for p in stats.recordings),
                  soft_wrap=True)


def video(
    inputs: Annotated[list[str], typer.Argument(
        help="Video files, or folders of them (a folder of pictures only is one image "
        "sequence at 30 fps).", show_default=False)],
    style: Annotated[Path, typer.Option(
        "--style", "-s", callback=resolved("style", folders=False),
        help="Style image, or a bundled style's name (adain styles).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Output .mp4 for one input, else a folder "
                               "[default: INPUT_stylized_STYLE.mp4 beside the input].")
    ] = None,
    onnx_dir: OnnxDirOption = DEFAULT_ONNX_DIR,
    size: Size = None,
    style_size: StyleSize = 512,
    crop: Crop = False,
    alpha: AlphaOpt = 1.0,
    luminance_only: Luminance = False,
    preserve_color: PreserveColor = False,
    stabilize: Stable = False,
    provider: ProviderOpt = Provider.auto,
    precision: PrecisionOpt = Precision.fp32,
) -> None:
    """Stylise video files: every frame at its time (sound kept in sync), H.264 MP4."""
    from ..realtime.engine import RealtimeError

    with user_errors(RealtimeError):
        from ..realtime.engine import Engine
        from ..realtime.stylize import FrameStylizer
        from ..realtime.video import plan_videos, stylize_videos

        refuse_preserve_color(preserve_color)
        jobs = plan_videos(inputs, output, str(style))
        engine = Engine(onnx_dir, provider.value, VARIANTS[precision])
        style_stats = engine.style(str(style), style_size, crop)

        def make_stylizer() -> FrameStylizer:
            return FrameStylizer(engine, style_stats, size, alpha, luminance_only, stabilize)

        def done(job: VideoJob, result: VideoResult | None, reason: str | None) -> None:
            if result is None:
                err_console.print(f"[bold red]error:[/] {escape(reason)}", soft_wrap=True)
                return
            fps = result.frames / max(result.seconds, 1e-9)
            note = "  [yellow]interrupted: a playable partial file[/]" if result.interrupted \
                else ""
            console.print(f"wrote {escape(str(result.output))}: {result.frames} frames, "
                          f"{'with' if result.audio else 'no'} audio, {fps:.1f} fps on "
                          f"{engine.provider}{note}", soft_wrap=True)

        report = stylize_videos(jobs, make_stylizer, _progress_bar, done)
    if report.interrupted:
        raise typer.Exit(130)
    if report.failed:
        raise typer.Exit(1)


@contextlib.contextmanager
def _progress_bar(job: VideoJob) -> Iterator[Callable[[int, int | None], None]]:
    """A transient bar for one file, on stderr: frames done of the file's count."""
    columns = (TextColumn(escape(Path(job.source).name)), BarColumn(), MofNCompleteColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("video", total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def refuse_preserve_color(given: bool) -> None:
    """``--preserve-color`` is stylize's recolouring; realtime's option has its own name."""
    if given:
        from ..errors import AdaINError

        raise AdaINError("--preserve-color is adain stylize's method (the style recoloured "
                         "to the content first); here use --luminance-only (the stylised "
                         "luminance with the frames' own colours)")
