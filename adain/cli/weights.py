"""``adain weights``: fetch the published files, inspect and convert weight files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..paths import MODELS_DIR
from .common import console, download_bar, user_errors
from .help import Command

weights_app = typer.Typer(help="Get, inspect and convert weight files.", no_args_is_help=True)


@weights_app.command(cls=Command)
def fetch(
    dest: Annotated[Path, typer.Option("--dest", "-d", help="Folder to put the files in.")
                    ] = MODELS_DIR,
    force: Annotated[bool, typer.Option("--force", metavar="",
                                        help="Download even if the files are there.")
                     ] = False,
    base_url: Annotated[str | None, typer.Option(
        help="Where the files are: a mirror URL, file:// URL or folder.  [default: the "
             "pytorch-AdaIN v0.0.0 release]",
        show_default=False)] = None,
) -> None:
    """Download the published vgg_normalised.pth and decoder.pth (pytorch-AdaIN v0.0.0)."""
    with user_errors():
        from ..fetch import RELEASE_URL, fetch_published

        with download_bar() as progress:
            written = fetch_published(dest, base_url or RELEASE_URL, force, progress)
    for path in written:
        console.print(f"fetched {escape(str(path))} ({path.stat().st_size / 1e6:.1f} MB), "
                      "checked by loading")
    if not written:
        console.print(f"the published weights are already in {escape(str(dest))}")


@weights_app.command(cls=Command)
def info(files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False)]) -> None:
    """Say what a weights file holds and whether it loads as an encoder, a decoder or a
    compact model."""
    with user_errors():
        from ..compact import KIND as COMPACT
        from ..compact import load_compact
        from ..weights import check_loads, read_weights

        for path in files:
            wf = read_weights(path)
            console.print(escape(wf.describe()))
            for key, value in sorted(wf.metadata.items()):
                console.print(f"  {escape(key)}: {escape(value)}")
            if wf.kind == COMPACT:
                load_compact(path)
            console.print(f"  loads as {COMPACT if wf.kind == COMPACT else check_loads(wf)}")


@weights_app.command(cls=Command)
def convert(
    source: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=(
        "A published .pth, a torchvision vgg19 file, or a training checkpoint "
        "(RUN/checkpoints/step_*.pt: its decoder)."))],
    target: Annotated[Path, typer.Argument(help="The .safetensors file to write.")],
) -> None:
    """Convert encoder or decoder weights to the project's safetensors format."""
    with user_errors():
        from ..weights import convert_weights

        kind = convert_weights(source, target)
    console.print(f"wrote {escape(str(target))} ({kind})")
