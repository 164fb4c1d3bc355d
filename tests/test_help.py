"""What a user reads: ``--help`` of every command, ``-v`` anywhere, unbroken paths."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from adain.cli import app


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*prefix, name))
        else:
            yield (*prefix, name), command


COMMANDS = list(_commands(typer.main.get_command(app)))


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_reads_cleanly_at_80_columns(path, command):
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.output
    for junk in ("<bool>", "<str>", "<path>", "<list", "<int", "<float", "{", "\\[", "[/", "[b]",
                 "[dim]", "…"):
        assert junk not in text, f"{junk!r} in the help of adain {' '.join(path)}:\n{text}"
    assert re.search(rf"Usage: adain {' '.join(path)} \[OPTIONS\]", text)
    for param in (p for p in command.params if not p.hidden):
        for name in (*param.opts, *param.secondary_opts):
            if name.startswith("-"):
                assert re.search(rf"(^|[\s,/]){re.escape(name)}([\s,=/]|$)", text, re.M), \
                    f"{name} is cut or missing in the help of adain {' '.join(path)}"
    ctx = command.make_context(path[-1], [], resilient_parsing=True)
    for param in command.params:
        record = param.get_help_record(ctx)
        if record:
            assert record[1].count("default:") <= 1, f"a default written twice: {record}"


def test_verbose_is_accepted_after_the_command(tmp_path, published_weights):
    runner = CliRunner()
    before = runner.invoke(app, ["-v", "weights", "info", str(published_weights[1])])
    after = runner.invoke(app, ["weights", "info", str(published_weights[1]), "-v"])
    assert before.exit_code == after.exit_code == 0, after.output
    assert "loads as decoder" in after.output


def test_a_long_path_in_a_message_is_never_broken(tmp_path):
    folder = tmp_path / ("a-rather-long-folder-name-" * 4)
    folder.mkdir()
    bad = folder / "not-weights-at-all-but-a-text-file.pth"
    bad.write_text("hello")
    result = CliRunner().invoke(app, ["weights", "info", str(bad)], terminal_width=80)
    assert result.exit_code == 1
    assert any(str(bad) in line for line in result.output.splitlines()), result.output
