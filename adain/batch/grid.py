"""Contact sheets: a batch's results in one picture, contents as rows and styles as columns.

Cell (i, j) holds the result for content i with style group j. The first row shows the
styles (a blended or masked group's styles side by side in one cell), the first column the
contents, and the top-left corner stays white. Every picture is fitted inside a square cell,
aspect kept and centred on white, with a gutter around the cells. A failed result leaves a
light-grey cell, and so does the header of a content or style none of whose results worked.

Results are kept as cell-sized thumbnails while the batch runs; the inputs are read again,
for their header thumbnails only, when the sheet is written.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import AdaINError
from ..images import save_image
from ..picture import WRITABLE_EXTENSIONS, open_image, pil_to_array
from .jobs import Job

log = logging.getLogger(__name__)

CELL = 256  # side of a cell, in pixels
GUTTER = 4  # white space around every cell
MIN_CELL = 16
MAX_SIDE = 16383  # WebP's largest side (JPEG's is 65,500); bounds the sheet to ~800 MB of RGB
WHITE = (255, 255, 255)
FAILED = (222, 222, 222)

Cell = tuple[int, int]  # (row, column), headers included: (0, 0) is the empty corner


@dataclass(frozen=True)
class GridLayout:
    """Where the cells of a ``rows`` x ``columns`` sheet go (header row and column included)."""

    rows: int
    columns: int
    cell: int = CELL
    gutter: int = GUTTER

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the sheet: the cells with a gutter before, between and after."""
        step = self.cell + self.gutter
        return self.columns * step + self.gutter, self.rows * step + self.gutter

    def origin(self, row: int, column: int) -> tuple[int, int]:
        """(left, top) pixel of a cell."""
        step = self.cell + self.gutter
        return self.gutter + column * step, self.gutter + row * step


def plan_layout(rows: int, columns: int, cell: int = CELL, gutter: int = GUTTER,
                max_side: int = MAX_SIDE) -> GridLayout:
    """The layout, with smaller cells where ``cell`` would make a side longer than ``max_side``."""
    longest = max(rows, columns)
    fitting = (max_side - gutter) // longest - gutter  # the largest cell within max_side
    if fitting >= cell:
        return GridLayout(rows, columns, cell, gutter)
    if fitting < MIN_CELL:
        raise AdaINError(f"--grid: {rows} x {columns} cells do not fit in {max_side} pixels "
                         f"even at {MIN_CELL} pixels a cell; split the batch or leave out --grid")
    log.warning("the grid's %d x %d cells of %d px would be %d px on a side; cells shrunk to "
                "%d px to stay within %d px", rows, columns, cell,
                max(GridLayout(rows, columns, cell, gutter).size), fitting, max_side)
    return GridLayout(rows, columns, fitting, gutter)


def fit_inside(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """``image`` scaled, up or down, to fit inside ``box`` (width, height), aspect kept."""
    scale = min(box[0] / image.width, box[1] / image.height)
    size = (min(max(round(image.width * scale), 1), box[0]),
            min(max(round(image.height * scale), 1), box[1]))
    return image.resize(size, Image.Resampling.LANCZOS)


def side_by_side(pictures: Sequence[Image.Image], cell: int, gap: int = GUTTER) -> Image.Image:
    """Pictures fitted next to each other, centred vertically, within a ``cell`` square."""
    slot = max((cell - gap * (len(pictures) - 1)) // len(pictures), 1)
    thumbs = [fit_inside(picture, (slot, cell)) for picture in pictures]
    width = sum(thumb.width for thumb in thumbs) + gap * (len(thumbs) - 1)
    height = max(thumb.height for thumb in thumbs)
    row = Image.new("RGB", (width, height), WHITE)
    left = 0
    for thumb in thumbs:
        row.paste(thumb, (left, (height - thumb.height) // 2))
        left += thumb.width + gap
    return row


def compose(layout: GridLayout, cells: Mapping[Cell, Image.Image | None]) -> Image.Image:
    """The sheet: each picture centred in its cell, None a light-grey cell, no entry white."""
    sheet = Image.new("RGB", layout.size, WHITE)
    for (row, column), picture in cells.items():
        left, top = layout.origin(row, column)
        if picture is None:
            sheet.paste(FAILED, (left, top, left + layout.cell, top + layout.cell))
            continue
        if max(picture.size) > layout.cell:
            picture = fit_inside(picture, (layout.cell, layout.cell))
        sheet.paste(picture, (left + (layout.cell - picture.width) // 2,
                              top + (layout.cell - picture.height) // 2))
    return sheet


def read_thumbnail(path: Path, box: tuple[int, int]) -> Image.Image:
    """An input file fitted inside ``box``, read as the stylizer reads it (EXIF orientation
    applied, colour profile to sRGB, transparency on white), decoding JPEGs at a reduced
    scale."""
    img = open_image(path, draft=(max(box), max(box)))
    if img.mode in ("RGB", "L"):  # shrink first; other modes convert at full size
        img = fit_inside(img, box)
    rgb = pil_to_array(img)  # (H, W, 3) float32 in [0, 1]
    return fit_inside(Image.fromarray((rgb * 255.0 + 0.5).astype(np.uint8)), box)


def check_grid_path(path: Path, jobs: Sequence[Job]) -> None:
    """Refuse, before any work, a sheet that cannot be written or would overwrite a file
    of the batch."""
    if path.suffix.lower() not in WRITABLE_EXTENSIONS:
        raise AdaINError(f"--grid {path}: cannot write {path.suffix or 'extension-less'} "
                         f"images; use one of {', '.join(sorted(WRITABLE_EXTENSIONS))}")
    target = path.resolve()
    for job in jobs:
        for kind, other in (("a result", job.output), ("an input", job.content),
                            *(("an input", style) for style in job.styles)):
            if other.resolve() == target:
                raise AdaINError(f"--grid {path} is also {kind} of this run; "
                                 "give the grid another name")


class ContactSheet:
    """Collects a batch's results as thumbnails while it runs, then writes the sheet."""

    def __init__(self, jobs: Sequence[Job], path: Path, cell: int = CELL,
                 max_side: int = MAX_SIDE) -> None:
        check_grid_path(path, jobs)
        self.path = path
        self.rows = {content: 1 + i for i, content in
                     enumerate(dict.fromkeys(job.content for job in jobs))}
        self.columns = {styles: 1 + j for j, styles in
                        enumerate(dict.fromkeys(job.styles for job in jobs))}
        self.layout = plan_layout(1 + len(self.rows), 1 + len(self.columns), cell,
                                  max_side=max_side)
        self.results: dict[Cell, Image.Image | None] = {}

    def add(self, job: Job, image: Image.Image | None) -> None:
        """Keep a job's result as a thumbnail; None marks it failed."""
        thumb = None if image is None else fit_inside(image, (self.layout.cell, self.layout.cell))
        self.results[self.rows[job.content], self.columns[job.styles]] = thumb

    def save(self, quality: int = 95) -> Path:
        """Write the sheet atomically, its format following the extension."""
        return save_image(compose(self.layout, {**self.headers(), **self.results}), self.path,
                          quality)

    def headers(self) -> dict[Cell, Image.Image | None]:
        """Thumbnails of the inputs; grey where none of an input's results worked."""
        worked = [cell for cell, thumb in self.results.items() if thumb is not None]
        rows_ok, columns_ok = {row for row, _ in worked}, {column for _, column in worked}
        headers: dict[Cell, Image.Image | None] = {}
        for content, row in self.rows.items():
            headers[row, 0] = self._inputs((content,)) if row in rows_ok else None
        for styles, column in self.columns.items():
            headers[0, column] = self._inputs(styles) if column in columns_ok else None
        return headers

    def _inputs(self, paths: Sequence[Path]) -> Image.Image | None:
        cell = self.layout.cell
        try:
            box = (cell, cell) if len(paths) == 1 else (cell // len(paths), cell)
            return side_by_side([read_thumbnail(path, box) for path in paths], cell)
        except AdaINError as exc:
            log.warning("grid: %s", exc)
            return None
