"""Batch stylisation: which results to make, where they go, and running them.

Contents may be files or folders (read recursively, sub-folders mirrored in the output).
Each result is named ``{content}_stylized_{style}{ext}``; a blend or a masked pair of
styles joins the style names with ``+``. A file that fails is recorded and the batch
goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from .errors import AdaINError
from .images import IMAGE_EXTENSIONS, WRITABLE_EXTENSIONS, find_images, save_image


@dataclass(frozen=True)
class Job:
    content: Path
    styles: tuple[Path, ...]
    output: Path


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input, one-line reason)


def expand_inputs(paths: Sequence[Path], skip: Sequence[Path] = ()) -> list[tuple[Path, Path]]:
    """(image, folder it was found under) for files and folders; folders are recursive.

    Images in folders are left out when they are, or lie inside, one of ``skip`` (the output
    folder, the grid file), so that a second run does not stylise the first run's results.
    """
    found = []
    skip = [s.resolve() for s in skip]
    for path in paths:
        if path.is_dir():
            images = [p for p in find_images(path)
                      if not any(p.resolve().is_relative_to(s) for s in skip)]
            if not images:
                raise AdaINError(f"{path} holds no image files")
            found += [(image, path) for image in images]
        else:
            found.append((path, path.parent))
    return found


def plan_jobs(contents: Sequence[Path], styles: Sequence[Path], output: Path | None,
              combine_styles: bool, ext: str | None = None,
              skip: Sequence[Path] = ()) -> list[Job]:
    """Every content x style pair, or every content with all styles combined into one result.

    Files in ``skip`` (e.g. the grid) are not taken from folders of contents or styles.
    """
    ext = ext.lower() if ext else None
    single_file = (output is not None and output.suffix.lower() in IMAGE_EXTENSIONS
                   and not output.is_dir())
    folder = output if output is not None and not single_file else Path("output")
    content_files = expand_inputs(contents, skip=[*skip, *([] if single_file else [folder])])
    style_files = [image for image, _ in expand_inputs(styles, skip=skip)]
    groups = [tuple(style_files)] if combine_styles else [(s,) for s in style_files]
    count = len(content_files) * len(groups)
    if single_file and count > 1:
        raise AdaINError(f"{count} results to write but -o {output} names one file; "
                         "give a folder instead")
    for suffix in (output.suffix.lower() if single_file else None, ext):
        if suffix and suffix not in WRITABLE_EXTENSIONS:
            raise AdaINError(f"cannot write {suffix} images; use one of "
                             f"{', '.join(sorted(WRITABLE_EXTENSIONS))}")
    jobs, seen = [], {}
    for content, root in content_files:
        for group in groups:
            if single_file:
                target = output
            else:
                suffix = ext or content.suffix.lower()
                suffix = suffix if suffix in WRITABLE_EXTENSIONS else ".png"
                name = f"{content.stem}_stylized_{'+'.join(s.stem for s in group)}{suffix}"
                target = folder / content.parent.relative_to(root) / name
            if target in seen:
                raise AdaINError(f"{seen[target]} and {content} would both be written to "
                                 f"{target}; rename one or run them separately")
            seen[target] = content
            jobs.append(Job(content, group, target))
    return jobs


def run_jobs(stylize: Callable[[Job], Image.Image], jobs: Sequence[Job],
             on_done: Callable[[Job, Image.Image | None], object] | None = None) -> Report:
    """Run ``stylize`` on each job and save its image; a failure is recorded, not raised.

    ``on_done`` gets each job with its image once saved, or None when it failed.
    """
    report = Report()
    for job in jobs:
        image: Image.Image | None = None
        try:
            image = stylize(job)
            save_image(image, job.output)
        except AdaINError as exc:
            report.failed.append((job.content, str(exc)))
            image = None
        else:
            report.written.append(job.output)
        if on_done:
            on_done(job, image)
    return report
