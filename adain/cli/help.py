"""How the commands read in a terminal: plain ``--help`` with value names in capitals
(``--style FILE``, ``--device [auto|cpu|cuda]``, flags with none), usage lines such as
``adain stylize [OPTIONS] CONTENT...``, and ``-v`` taken before or after the command.
"""

from __future__ import annotations

import re

from typer.core import TyperArgument, TyperCommand, TyperGroup

VERBOSE_FLAGS = ("-v", "--verbose")
_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "NUMBER", "path": "PATH",
               "file": "FILE", "directory": "DIR", "dir": "DIR"}


def value_name(type_label: str) -> str:
    """typer's ``<list[Path]>``, ``<int range>``, ``<auto|cpu>`` as FILE, INTEGER, [auto|cpu]."""
    label = re.sub(r"^list\[(.*)\]$", r"\1", type_label.strip("<>"))
    if "|" in label:
        return f"[{label}]"
    return _TYPE_NAMES.get(label.removesuffix(" range").lower(), label.upper())


class Command(TyperCommand):
    """A command whose help names values the way the README does."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:  # also what error messages call them: 'CONTENT...'
            if isinstance(param, TyperArgument):
                param.metavar = _argument_name(param)

    def format_help(self, ctx, formatter) -> None:
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # the name says it: CONTENT...
            elif not param.is_flag and param.metavar is None:
                param.metavar = value_name(param.display_type(ctx))
        super().format_help(ctx, formatter)

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = _argument_name(param)
                pieces.append(name if param.required else f"[{name}]")
        return pieces


def _argument_name(param: TyperArgument) -> str:
    if param.metavar:
        return param.metavar
    return param.name.upper() + ("..." if param.nargs != 1 else "")


def _no_type(ctx) -> None:
    return None


class Group(TyperGroup):
    """The root ``adain`` group: ``adain stylize ... -v`` means ``adain -v stylize ...``."""

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        moved = [a for a in args[:end] if a in VERBOSE_FLAGS]
        rest = [a for a in args[:end] if a not in VERBOSE_FLAGS] + args[end:]
        return super().parse_args(ctx, moved[:1] + rest)
