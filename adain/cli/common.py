"""What every command shares: the consoles, the error boundary, common option types."""

from __future__ import annotations

import contextlib
import enum
import re
from collections.abc import Iterator

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from ..errors import AdaINError

console = Console()
err_console = Console(stderr=True)


class Device(str, enum.Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Command(TyperCommand):
    """A command whose usage line names required arguments plainly (``CONTENT``), not
    in typer's braces (``{content}``), which read as a file-name template."""

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        return [re.sub(r"^\{(\w+)\}", lambda m: m.group(1).upper(), piece)
                for piece in super().collect_usage_pieces(ctx)]


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
