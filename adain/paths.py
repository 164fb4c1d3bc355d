"""Where the weight files and graphs are by default (torch-free, so the CLI reads them cheaply).

Paths are relative to the current folder: ``adain weights fetch`` puts the published files
in ``models/``, ``adain export`` writes its graphs to ``models/onnx`` (and ``--web`` its
site to ``models/web``), and results go to ``output/`` (``output/optimize`` for ``adain
optimize``).
"""

from __future__ import annotations

from pathlib import Path

MODELS_DIR = Path("models")
DEFAULT_VGG = MODELS_DIR / "vgg_normalised.pth"
DEFAULT_DECODER = MODELS_DIR / "decoder.pth"
DEFAULT_ONNX_DIR = MODELS_DIR / "onnx"
DEFAULT_OUTPUT_DIR = Path("output")
OPTIMIZE_OUTPUT_DIR = DEFAULT_OUTPUT_DIR / "optimize"
DEFAULT_WEB_DIR = MODELS_DIR / "web"  # adain export --web's site; adain serve's default
