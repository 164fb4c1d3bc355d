"""What every command shares: the consoles, the error boundary, common option types."""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator

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


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one red error line; the caller raises the returned Exit."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors(*expected: type[Exception]) -> Iterator[None]:
    """Turn expected failures (AdaINError and ``expected``) into one red line and exit 1;
    Ctrl-C into exit 130."""
    try:
        yield
    except (AdaINError, *expected) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
