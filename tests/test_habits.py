"""The habits that keep the tree easy to carry on, checked: CI runs exactly the README's
test command, ruff included, and test files share helpers through helpers.py, never by
importing another test file or conftest."""

from __future__ import annotations

import ast
import re

from helpers import ROOT


def _imported_modules(path) -> set[str]:
    """Every module ``path`` imports, at any depth (function-level imports too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module)
    return names


def test_no_test_file_imports_another_test_file_or_conftest():
    offenders = {path.name: sorted(name for name in _imported_modules(path)
                                   if name == "conftest" or name.startswith("test_"))
                 for path in sorted((ROOT / "tests").glob("*.py"))}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_ci_runs_exactly_the_readme_test_command_with_ruff():
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Set up, lint and run the tests.*?```sh\n(.+?)\n```", readme, re.S)
    assert block, "README: the test command's block is gone"
    command = block.group(1)
    assert "ruff check ." in command and "-m pytest" in command
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines()
          if line and not line.startswith("#")]
    assert ci[-1] == command
