"""What every command shares: the consoles, the error boundary, common option types.

An expected failure is one red line. Under ``-v`` (logging at INFO) the exceptions that
caused it follow, one ``caused by:`` line each, so the reason behind the message shows.
"""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import Callable, Iterator

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import AdaINError

# soft_wrap: long lines (file paths above all) are never broken where the output is not a
# terminal; the terminal wraps them itself.
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def fail(message: str, code: int = 1, cause: BaseException | None = None) -> typer.Exit:
    """Print one red error line (and, under ``-v``, the chain of exceptions behind ``cause``);
    the caller raises the returned Exit."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    if cause is not None and logging.getLogger().isEnabledFor(logging.INFO):
        for link in causes(cause):
            err_console.print(f"  caused by: {escape(_one_line(link))}", highlight=False,
                              soft_wrap=True)
    return typer.Exit(code)


def causes(exc: BaseException) -> list[BaseException]:
    """The exceptions behind ``exc``, nearest first: its ``__cause__``, or its
    ``__context__`` where that was not suppressed (``raise ... from None``)."""
    chain: list[BaseException] = []
    while True:
        exc = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if exc is None or exc in chain:
            return chain
        chain.append(exc)


def _one_line(exc: BaseException) -> str:
    """``struct.error: unpack requires ...``: the type (with its module unless a builtin) and
    the message on one line."""
    kind, module = type(exc).__qualname__, type(exc).__module__.lstrip("_")
    name = kind if module == "builtins" else f"{module}.{kind}"
    message = " ".join(str(exc).split())
    return f"{name}: {message}" if message else name


@contextlib.contextmanager
def user_errors(*expected: type[Exception]) -> Iterator[None]:
    """Turn expected failures (AdaINError and ``expected``) into one red line and exit 1;
    Ctrl-C into exit 130."""
    try:
        yield
    except (AdaINError, *expected) as exc:
        raise fail(str(exc), cause=exc) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None


@contextlib.contextmanager
def download_bar() -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress bar per downloaded file on stderr: yields the ``progress(name, done,
    total)`` callback that ``adain.fetch.download`` takes."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=err_console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(name: str, done: int, total: int | None) -> None:
            if name not in tasks:
                tasks[name] = bar.add_task(name, total=total)
            bar.update(tasks[name], completed=done)

        yield progress
