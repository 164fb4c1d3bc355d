"""The ``adain`` command line. Commands are thin: parse, build a config, call the library."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.logging import RichHandler

from .. import __version__
from .common import err_console
from .dataset import EXAMPLES as DATASET_EXAMPLES
from .dataset import merge_shards, stylize_dataset
from .eval import EXAMPLES as EVAL_EXAMPLES
from .eval import eval_command
from .export import EXAMPLES as EXPORT_EXAMPLES
from .export import ExportCommand, export
from .help import Command, Group
from .optimize import EXAMPLES as OPTIMIZE_EXAMPLES
from .optimize import optimize
from .realtime import video, webcam
from .serve import EXAMPLES as SERVE_EXAMPLES
from .serve import serve
from .styles import styles
from .stylize import EXAMPLES as STYLIZE_EXAMPLES
from .stylize import stylize
from .train import DISTILL_EXAMPLES, distill, train
from .train import EXAMPLES as TRAIN_EXAMPLES
from .weights import weights_app

app = typer.Typer(
    name="adain",
    cls=Group,
    help="Arbitrary-style neural style transfer with Adaptive Instance Normalization "
         "(Huang & Belongie, ICCV 2017).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command(cls=Command, no_args_is_help=True, epilog=STYLIZE_EXAMPLES)(stylize)
app.command(cls=Command)(styles)
app.command(cls=Command, no_args_is_help=True, epilog=DATASET_EXAMPLES)(stylize_dataset)
app.command(cls=Command, no_args_is_help=True)(merge_shards)
app.command(cls=Command, no_args_is_help=True, epilog=TRAIN_EXAMPLES)(train)
app.command(cls=Command, no_args_is_help=True, epilog=DISTILL_EXAMPLES)(distill)
app.command(cls=ExportCommand, epilog=EXPORT_EXAMPLES)(export)
app.command(cls=Command, no_args_is_help=True, epilog=OPTIMIZE_EXAMPLES)(optimize)
app.command("eval", cls=Command, no_args_is_help=True, epilog=EVAL_EXAMPLES)(eval_command)
app.command(cls=Command, no_args_is_help=True)(webcam)
app.command(cls=Command, no_args_is_help=True)(video)
app.command(cls=Command, epilog=SERVE_EXAMPLES)(serve)
app.add_typer(weights_app, name="weights")


def _version(value: bool) -> None:
    if value:
        print(f"adain {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log more detail.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s",
                        handlers=[RichHandler(console=err_console, show_time=False,
                                              show_path=False)], force=True)


def main() -> None:
    app()
