"""``adain optimize``: the optimisation method of Gatys et al., one high-quality picture."""

from __future__ import annotations

import enum
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ..paths import DEFAULT_VGG, OPTIMIZE_OUTPUT_DIR
from .common import Device, console, err_console, user_errors
from .options import DeepVggOption, DeviceOption
from .styles import resolved

EXAMPLES = """
Examples:

\b
  adain optimize photo.jpg --style monet.jpg -o photo_gatys.png
  adain optimize photo.jpg -s monet.jpg --size 256   # minutes on a CPU
  adain optimize photo.jpg -s monet.jpg --init noise --style-weight 1e4
"""

# The defaults are OptimizeConfig's (a test checks), written out so that the CLI loads
# without torch.


class Init(str, enum.Enum):
    content = "content"
    noise = "noise"


def _layers(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def optimize(
    content: Annotated[Path, typer.Argument(callback=resolved("content", folders=False),
                                            show_default=False, help="Content image.")],
    style: Annotated[Path, typer.Option(
        "--style", "-s", callback=resolved("style", folders=False), show_default=False,
        help="Style image, or a bundled style's name (adain styles).")],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", show_default=False,
        help=f"Result file; by default CONTENT_stylized_STYLE.png in {OPTIMIZE_OUTPUT_DIR}.")
    ] = None,
    steps: Annotated[int, typer.Option(min=1, help="L-BFGS iterations.")] = 300,
    content_weight: Annotated[float, typer.Option(  # the config refuses < 0, inf and nan
        help="Weight of the content loss; 0 leaves it out.")] = 1.0,
    style_weight: Annotated[float, typer.Option(
        help="Weight of the Gram style loss; raise it for more style. The default suits "
             "vgg_normalised.pth; torchvision's VGG needs a far larger one.")
    ] = 1e3,
    content_layers: Annotated[str, typer.Option(
        help="Comma-separated VGG layers for the content loss (relu1_1 .. relu5_4); "
             "empty leaves it out.")] = "relu4_2",
    style_layers: Annotated[str, typer.Option(
        show_default=False, help="Comma-separated VGG layers for the Gram style loss (at "
                                 "least one); by default relu1_1 to relu5_1.")
    ] = "relu1_1,relu2_1,relu3_1,relu4_1,relu5_1",
    init: Annotated[Init, typer.Option(
        help="Start from the content image or from noise (seeded by --seed).")
    ] = Init.content,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the noise start.")
                    ] = 0,
    size: Annotated[int, typer.Option(
        min=0, help="Resize both images' shorter side to this; 0 keeps their sizes. The time "
                    "grows with the pixels: 256 takes minutes on a laptop CPU.")] = 512,
    preserve_color: Annotated[bool, typer.Option(
        "--preserve-color", help="Keep the content's colours (the style is recoloured first).")
    ] = False,
    vgg: DeepVggOption = str(DEFAULT_VGG),
    device: DeviceOption = Device.auto,
) -> None:
    """Stylise one picture by optimising its pixels (Gatys et al.): slow, the quality
    reference that AdaIN is compared with."""
    with user_errors():
        from ..quality.optimize import OptimizeConfig, optimize_file

        config = OptimizeConfig(steps=steps, content_weight=content_weight,
                                style_weight=style_weight,
                                content_layers=_layers(content_layers),
                                style_layers=_layers(style_layers), init=init.value, seed=seed,
                                size=size, preserve_color=preserve_color)
        output = output or OPTIMIZE_OUTPUT_DIR / f"{content.stem}_stylized_{style.stem}.png"
        started = time.perf_counter()
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[losses]}"), TimeRemainingColumn(),
                      console=err_console, transient=True) as bar:
            task = bar.add_task("optimising", total=steps, losses="")
            history = optimize_file(
                content, style, output, config, vgg, device.value,
                on_step=lambda p: bar.update(task, completed=p.step,
                                             losses=f"content {p.content_loss:.4g} "
                                                    f"style {p.style_loss:.4g}"))
    first, last = history[0], history[-1]
    steps_done = f"{last.step} step{'' if last.step == 1 else 's'}"
    console.print(f"wrote {escape(str(output))} in {time.perf_counter() - started:.1f} s, "
                  f"{steps_done}: content loss {first.content_loss:.4g} -> "
                  f"{last.content_loss:.4g}, style loss {first.style_loss:.4g} -> "
                  f"{last.style_loss:.4g}")
