"""Batch stylisation: which results to make, where they go, and running them.

Contents may be files or folders (read recursively, sub-folders mirrored in the output).
``-o`` names a file when it has an image extension this tool writes, and a folder when it
is an existing folder or has no extension; any other extension (``out.jgp``, ``out.v2``)
is refused, so a typo never becomes a new folder (create a dotted folder first to use it).

Each result is named ``{content}_stylized_{style}{ext}``; what else changes the picture's
recipe is added so that runs with other settings do not overwrite each other:

- a blend: ``{content}_stylized_{a}@{wa}+{b}@{wb}`` (the weights as given);
- a mask: ``{content}_stylized_{a}+{b}_mask-{mask}`` (or ``_{a}_mask-{mask}``);
- an alpha other than 1: ``_alpha{alpha}`` at the end (``adain eval`` still matches it).

An output that is one of the inputs, or cannot be written, is refused before any work. A
result already there is replaced (and counted), or kept with ``skip_existing``. A file
that fails is recorded and the batch goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image

from ..errors import AdaINError
from ..images import save_image
from ..outputs import check_writable_path, refuse_inputs_as_outputs
from ..paths import DEFAULT_OUTPUT_DIR
from ..picture import WRITABLE_EXTENSIONS, find_images, open_image, upright_exif
from ..stylizer import StyleOptions, check_style_count


@dataclass(frozen=True)
class Job:
    content: Path
    styles: tuple[Path, ...]
    output: Path


@dataclass
class Report:
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)  # (input, one-line reason)
    replaced: list[Path] = field(default_factory=list)  # written over an earlier result
    skipped: list[Path] = field(default_factory=list)  # already there, kept (skip_existing)


def expand_inputs(paths: Sequence[Path], skip: Sequence[Path] = ()) -> list[tuple[Path, Path]]:
    """(image, folder it was found under) for files and folders; folders are recursive.

    Images in folders are left out when they are, or lie inside, one of ``skip`` (the output
    folder, the grid file), so that a second run does not stylise the first run's results.
    """
    found = []
    skip = list(skip)
    resolved = [s.resolve() for s in skip]
    for path in paths:
        if not path.is_dir():
            found.append((path, path.parent))
            continue
        every = find_images(path)
        images = [p for p in every if not any(p.resolve().is_relative_to(s) for s in resolved)]
        if every and not images:
            where = " or ".join(f"inside the output folder {s}" if s.is_dir()
                                else f"{s}, a file this run writes"
                                for s, r in zip(skip, resolved, strict=True)
                                if any(p.resolve().is_relative_to(r) for p in every))
            raise AdaINError(f"{path} holds {plural(len(every), 'image')}, but "
                             f"{'it is' if len(every) == 1 else 'all are'} {where}; images there "
                             "are taken for results of earlier runs and left out; give another "
                             "-o or another input")
        if not images:
            raise AdaINError(f"{path} holds no image files")
        found += [(image, path) for image in images]
    return found


def output_is_file(output: Path | None) -> bool:
    """Whether ``-o`` names one file (see the module docstring); refuses an unknown extension."""
    if output is None or output.is_dir() or not output.suffix:
        return False
    if output.suffix.lower() not in WRITABLE_EXTENSIONS:
        raise AdaINError(f"-o {output}: {output.suffix} is not an image format this tool "
                         f"writes; use one of {', '.join(sorted(WRITABLE_EXTENSIONS))} (for a "
                         f"folder with a dot in its name, create it first)")
    return True


def result_name(content: Path, styles: Sequence[Path], options: StyleOptions, ext: str) -> str:
    """``{content}_stylized_{styles}{mask}{alpha}{ext}``: see the module docstring."""
    weights = options.interpolation_weights
    if weights is not None:
        styles_part = "+".join(f"{s.stem}@{w:g}" for s, w in zip(styles, weights, strict=True))
    else:
        styles_part = "+".join(s.stem for s in styles)
    mask = options.mask
    mask_part = "" if mask is None else (
        f"_mask-{Path(mask).stem}" if isinstance(mask, (str, Path)) else "_mask")
    alpha_part = "" if options.alpha == 1.0 else f"_alpha{options.alpha:g}"
    return f"{content.stem}_stylized_{styles_part}{mask_part}{alpha_part}{ext}"


def plan_jobs(contents: Sequence[Path], styles: Sequence[Path], output: Path | None,
              options: StyleOptions, ext: str | None = None,
              skip: Sequence[Path] = ()) -> list[Job]:
    """Every content x style pair, or every content with all styles combined into one result.

    Files in ``skip`` (e.g. the grid) and the output are not taken from folders of inputs.
    """
    ext = ext.lower() if ext else None
    if ext and ext not in WRITABLE_EXTENSIONS:
        raise AdaINError(f"cannot write {ext} images; use one of "
                         f"{', '.join(sorted(WRITABLE_EXTENSIONS))}")
    single_file = output_is_file(output)
    target_root = output if output is not None else DEFAULT_OUTPUT_DIR
    content_files = expand_inputs(contents, skip=[*skip, target_root])
    style_files = [image for image, _ in expand_inputs(styles, skip=[*skip, target_root])]
    groups = [tuple(style_files)] if options.combines_styles else [(s,) for s in style_files]
    check_style_count(len(groups[0]), options)
    count = len(content_files) * len(groups)
    if single_file and count > 1:
        raise AdaINError(f"{count} results to write but -o {output} names one file; "
                         "give a folder instead")
    jobs, seen = [], {}
    for content, root in content_files:
        for group in groups:
            if single_file:
                target = target_root
            else:
                suffix = ext or content.suffix.lower()
                suffix = suffix if suffix in WRITABLE_EXTENSIONS else ".png"
                name = result_name(content, group, options, suffix)
                target = target_root / content.parent.relative_to(root) / name
            if target in seen:
                raise AdaINError(f"{seen[target]} and {content} would both be written to "
                                 f"{target}; rename one or run them separately")
            seen[target] = content
            jobs.append(Job(content, group, target))
    return jobs


def check_outputs(jobs: Sequence[Job], inputs: Sequence[Path] = (),
                  outputs: Sequence[Path] = ()) -> None:
    """Refuse, before any work, a result (or one of ``outputs``, e.g. the grid) that is an
    input of the batch (contents, styles and ``inputs``, e.g. the mask), or a folder that
    cannot be written."""
    every_input = {p for job in jobs for p in (job.content, *job.styles)} | set(inputs)
    refuse_inputs_as_outputs([*(job.output for job in jobs), *outputs], every_input,
                             hint="give another -o (inputs are never overwritten)")
    for folder in dict.fromkeys(job.output.parent for job in jobs):
        check_writable_path(folder, folder=True)
    for path in outputs:
        check_writable_path(path)


def run_jobs(stylize: Callable[[Job], Image.Image], jobs: Sequence[Job],
             on_done: Callable[[Job, Image.Image | None], object] | None = None,
             quality: int = 95, skip_existing: bool = False) -> Report:
    """Run ``stylize`` on each job and save its image, tagged sRGB with the content's EXIF
    (orientation reset); a failure is recorded, not raised.

    With ``skip_existing`` a result already there that reads as a picture is kept (a broken
    one is made again). ``on_done`` gets each job with its image once saved (or the kept
    one), or None when it failed.
    """
    report = Report()
    for job in jobs:
        image = _existing(job.output) if skip_existing else None
        if image is not None:
            report.skipped.append(job.output)
        else:
            image = _make(stylize, job, report, quality)
        if on_done:
            on_done(job, image)
    return report


def _make(stylize: Callable[[Job], Image.Image], job: Job, report: Report,
          quality: int) -> Image.Image | None:
    existed = job.output.exists()
    try:
        image = stylize(job)
        save_image(image, job.output, quality, exif=upright_exif(job.content))
    except AdaINError as exc:
        report.failed.append((job.content, str(exc)))
        return None
    report.written.append(job.output)
    if existed:
        report.replaced.append(job.output)
    return image


def _existing(path: Path) -> Image.Image | None:
    if not path.is_file():
        return None
    try:
        return open_image(path)
    except AdaINError:
        return None


def plural(n: int, noun: str) -> str:
    """'1 image', '2 images'."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
