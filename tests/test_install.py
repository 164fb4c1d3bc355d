"""The package as pip installs it: only ``adain`` at the top of site-packages, and the
README naming every runtime dependency; the bundled pictures inside the package."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from adain.samples import PHOTO, STYLES

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_installs_only_the_adain_package(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("adain-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {name.split("/")[0] for name in names} == {"adain", dist_info}
    for module in ("adain/realtime/engine.py", "adain/export/onnx_export.py",
                   "adain/cli/stylize.py"):
        assert module in names
    for sample in (*STYLES, PHOTO):  # the bundled pictures, usable by name once installed
        assert f"adain/samples/{sample.name}.jpg" in names
    assert "adain/samples/SOURCES.md" in names
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    found = subprocess.run(
        [sys.executable, "-c", "import sys; from adain.samples import resolve_style; "
         "print(resolve_style('starry_night'), 'torch' in sys.modules)"],
        env={**os.environ, "PYTHONPATH": str(tmp_path / "site")}, cwd=tmp_path,
        check=True, capture_output=True, text=True).stdout.split()
    assert found == [str(tmp_path / "site" / "adain" / "samples" / "starry_night.jpg"), "False"]


def test_the_readme_names_every_runtime_dependency():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    readme = (ROOT / "README.md").read_text().lower()
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0).lower()
        assert name in readme, f"README does not name {name}"
