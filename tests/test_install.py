"""The package as pip installs it: only ``adain`` at the top of site-packages, and the
README naming every runtime dependency; the bundled pictures inside the package."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest
from helpers import ROOT

from adain.samples import PHOTO, STYLES

tomllib = pytest.importorskip("tomllib")  # Python 3.11+



def test_the_wheel_installs_only_the_adain_package(tmp_path):
    source = tmp_path / "source"  # a copy: a build/ folder left in the checkout is not read
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path),
                    str(source)], check=True, capture_output=True, timeout=300)
    (wheel,) = tmp_path.glob("adain-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {name.split("/")[0] for name in names} == {"adain", dist_info}
    folders = {"adain": "adain", "export": "adain/export", "realtime": "adain/realtime"}
    for folder, package in folders.items():  # every module of the tree is installed
        for module in (ROOT / folder).rglob("*.py"):
            rel = module.relative_to(ROOT / folder).as_posix()
            if not rel.startswith(("export/", "realtime/")) or folder != "adain":
                assert f"{package}/{rel}" in names, f"{package}/{rel} is not in the wheel"
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
