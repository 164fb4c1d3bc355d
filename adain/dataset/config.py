"""The settings of a dataset run and the Stylized-ImageNet preset (torch-free).

``DatasetConfig`` holds every setting of ``adain stylize-dataset``; it is saved in
``OUT/run.json``. ``from_options`` fills what the user left out from a preset, or from
the defaults, and refuses an option that contradicts the preset.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AdaINError
from ..paths import DEFAULT_DECODER, DEFAULT_VGG
from .plan import FORMATS, Shard

# Stylized-ImageNet (Geirhos et al., ICLR 2019), as its code makes it
# (github.com/rgeirhos/Stylized-ImageNet, code/): preprocess_imagenet.py resizes each
# ImageNet image's shorter side to 256 and centre-crops 224 x 224; preprocess_style_imgs.py
# centre-crops each Painter by Numbers painting to a square and downsamples it to 224 x 224;
# general.py sets alpha 1.0; one random painting per image; results are saved as PNG.
PRESETS: dict[str, dict[str, object]] = {
    "stylized-imagenet": {"content_size": 256, "crop": 224, "style_size": 224,
                          "style_crop": True, "alpha": (1.0, 1.0), "num_styles": 1,
                          "format": "png"},
}
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class DatasetConfig:
    """Every setting of one run (paths made absolute when it is made)."""

    content_dir: str
    style_dir: str
    out: str
    num_styles: int = 1
    alpha: tuple[float, float] = (1.0, 1.0)  # drawn uniformly per output; LO == HI: fixed
    content_size: int = 0  # shorter side; 0 keeps each image's size
    crop: int = 0  # centre crop to crop x crop after resizing; 0: none
    style_size: int = 512
    style_crop: bool = False  # styles centre-cropped to a square after resizing
    seed: int = 0
    batch_size: int = 0  # 0: 16 on a GPU, 1 on the CPU (batching does not pay there)
    # decoding processes (and writing threads); None: up to 8 beside a GPU, a quarter of
    # the cores on the CPU (whose every core computes: 0 on 2 cores, where workers only cost)
    workers: int | None = None
    device: str = "auto"
    precision: str = "fp32"  # bf16: faster on GPUs and bf16 CPUs, within a few levels
    format: str = "keep"
    quality: int = 95  # JPEG quality
    shard: str = "0/1"
    overwrite: bool = False
    style_bank: str | None = None  # default OUT/style_bank.safetensors
    vgg: str = str(DEFAULT_VGG)
    decoder: str = str(DEFAULT_DECODER)
    preset: str | None = None

    def __post_init__(self) -> None:
        for name in ("content_dir", "style_dir", "out", "decoder"):
            object.__setattr__(self, name, os.path.abspath(getattr(self, name)))
        if self.style_bank is not None:
            object.__setattr__(self, "style_bank", os.path.abspath(self.style_bank))
        if self.vgg != "torchvision":
            object.__setattr__(self, "vgg", os.path.abspath(self.vgg))
        object.__setattr__(self, "alpha", tuple(self.alpha))
        low, high = self.alpha
        if not 0.0 <= low <= high <= 1.0:
            raise AdaINError(f"alpha {low},{high}: need 0 <= LO <= HI <= 1")
        for name in ("content_size", "style_size", "crop"):
            if getattr(self, name) < 0:
                raise AdaINError(f"--{name.replace('_', '-')} must be 0 (none) or a size")
        if self.num_styles < 1:
            raise AdaINError("--num-styles must be at least 1")
        if self.format not in FORMATS:
            raise AdaINError(f"--format {self.format}: use one of {', '.join(FORMATS)}")
        if self.precision not in PRECISIONS:
            raise AdaINError(f"--precision {self.precision}: use fp32 or bf16")
        Shard.parse(self.shard)

    @property
    def out_path(self) -> Path:
        return Path(self.out)

    @property
    def bank_path(self) -> Path:
        if self.style_bank:
            return Path(self.style_bank)
        return self.out_path / "style_bank.safetensors"

    def workers_for(self, device_type: str) -> int:
        if self.workers is not None:
            return self.workers
        cores = os.cpu_count() or 1
        return min(8, cores) if device_type == "cuda" else cores // 4

    def recipe(self) -> dict[str, object]:
        """The settings that decide the pictures (what run.json compares between runs)."""
        return dataclasses.asdict(self)


def from_options(preset: str | None = None, **given: object) -> DatasetConfig:
    """A config from the options the user gave (None: not given), completed by ``preset``."""
    values = {k: v for k, v in given.items() if v is not None}
    if preset is not None:
        if preset not in PRESETS:
            raise AdaINError(f"unknown preset {preset!r}; use one of {', '.join(PRESETS)}")
        for key, value in PRESETS[preset].items():
            if key in values and values[key] != value:
                shown = ",".join(map(str, value)) if isinstance(value, tuple) else value
                raise AdaINError(f"--preset {preset} sets --{key.replace('_', '-')} {shown}; "
                                 "leave that option out, or drop the preset to choose it")
            values[key] = value
    return DatasetConfig(preset=preset, **values)
