"""Which outputs a dataset run makes, torch-free: every content image, its styles and alphas,
the output names, and which shard makes it.

The draw for one content image is a pure function of the seed and the image's path
relative to the content folder (a generator seeded by SHA-256 of both), so it never
depends on the batch size, the workers, the shards or the order in which work finishes:
a rerun, a resumed run and the union of shards all assign the same styles. Shard ``i`` of
``n`` takes the content images whose index in the sorted list is ``i`` modulo ``n``.

Output names mirror the content tree, so ImageFolder-style class folders keep working:
``cls/img.JPEG`` becomes ``OUT/cls/img.JPEG`` (``--format keep``) or ``OUT/cls/img.png``;
with several styles per image, ``OUT/cls/img-stylized-{style}.png`` (the style's file
name, then its index when two drawn styles share a name).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

import numpy as np

from ..errors import AdaINError
from ..picture import WRITABLE_EXTENSIONS

FORMATS = ("keep", "jpg", "png")
T = TypeVar("T")


@dataclass(frozen=True)
class Output:
    """One stylised picture to make: paths relative to the content, style and output roots."""

    content: str
    style: str
    style_index: int  # into the sorted style list (and the style bank)
    alpha: float
    output: str

    def record(self) -> dict[str, object]:
        """The manifest line of this output."""
        return {"content": self.content, "style": self.style, "alpha": self.alpha,
                "output": self.output}


@dataclass(frozen=True)
class Shard:
    """``index`` of ``count``: what one process (a torchrun rank, a job-array task) makes."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise AdaINError(f"shard {self.index}/{self.count}: give --shard I/N with "
                             "0 <= I < N, e.g. --shard 0/4")

    @classmethod
    def parse(cls, text: str) -> Shard:
        try:
            index, count = (int(part) for part in text.split("/"))
        except ValueError:
            raise AdaINError(f"--shard {text!r}: give I/N, e.g. 0/4 for the first of four "
                             "shards") from None
        return cls(index, count)

    def take(self, items: Sequence[T]) -> list[T]:
        """This shard's items: every ``count``-th, from the ``index``-th."""
        return list(items[self.index::self.count])

    def within(self, rank: int, world_size: int) -> Shard:
        """This shard split again among ``world_size`` processes (torchrun ranks)."""
        return Shard(self.index * world_size + rank, self.count * world_size)

    @property
    def name(self) -> str:
        return f"{self.index:05d}-of-{self.count:05d}"


def parse_alpha_range(text: str) -> tuple[float, float]:
    """``"0.5,1"`` -> (0.5, 1.0), both in [0, 1] and in order."""
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise AdaINError(f"--alpha-range {text!r}: give LO,HI, e.g. 0.5,1") from None
    if not 0.0 <= low <= high <= 1.0:
        raise AdaINError(f"--alpha-range {text}: need 0 <= LO <= HI <= 1")
    return low, high


def draw(seed: int, content: str, style_count: int, num_styles: int,
         alpha: tuple[float, float]) -> list[tuple[int, float]]:
    """(style index, alpha) for each of the ``num_styles`` outputs of one content image:
    distinct styles, alphas uniform in ``alpha`` (LO, HI)."""
    key = hashlib.sha256(f"{seed}\0{content}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(key[:16], "little"))
    styles = rng.choice(style_count, size=num_styles, replace=False)
    low, high = alpha
    alphas = rng.uniform(low, high, size=num_styles) if high > low else [low] * num_styles
    return [(int(s), float(a)) for s, a in zip(styles, alphas, strict=True)]


def output_suffix(content: str, fmt: str) -> str:
    """The output's extension: the content's (``keep``, if this tool writes it), else .jpg or
    .png."""
    if fmt == "keep":
        suffix = PurePosixPath(content).suffix
        return suffix if suffix.lower() in WRITABLE_EXTENSIONS else ".png"
    return f".{fmt}"


def plan_outputs(contents: Sequence[str], styles: Sequence[str], num_styles: int,
                 alpha: tuple[float, float], seed: int, fmt: str = "keep") -> list[list[Output]]:
    """For each content image (paths relative to its root, sorted), its outputs."""
    if fmt not in FORMATS:
        raise AdaINError(f"--format {fmt}: use one of {', '.join(FORMATS)}")
    if num_styles > len(styles):
        raise AdaINError(f"--num-styles {num_styles} but the style folder holds "
                         f"{len(styles)} images; each output of an image takes another style")
    plan, taken = [], {}
    for content in contents:
        path = PurePosixPath(content)
        suffix = output_suffix(content, fmt)
        outputs, names = [], set()
        for index, alpha_value in draw(seed, content, len(styles), num_styles, alpha):
            if num_styles == 1:
                name = path.with_suffix(suffix)
            else:
                stem = PurePosixPath(styles[index]).stem
                name = path.with_name(f"{path.stem}-stylized-{stem}{suffix}")
                if name in names:
                    name = path.with_name(f"{path.stem}-stylized-{stem}-{index}{suffix}")
            names.add(name)
            output = str(name)
            if output in taken:
                raise AdaINError(f"{taken[output]} and {content} would both be written to "
                                 f"{output}; use --format keep or rename one")
            taken[output] = content
            outputs.append(Output(content, styles[index], index, alpha_value, output))
        plan.append(outputs)
    return plan


def relative_files(files: Sequence[Path], root: Path) -> list[str]:
    """``files`` as POSIX paths relative to ``root`` (the names the plan and manifest use)."""
    return [p.relative_to(root).as_posix() for p in files]
