"""``adain eval``: which triples to score, scoring them, the alpha sweep, and the reports.

Triples come from explicit files or from folders, matched by the names ``adain stylize``
and ``adain optimize`` write: ``{content}_stylized_{style}{ext}`` (an ``_alpha0.5`` after
it allowed), in the content's sub-folder. Results are written as JSON or CSV
(atomically); the sweep as a PNG plot, and its numbers (each pair at each alpha, and the
means per alpha) into the JSON and the CSV. The CSV has one row per scored result
(``alpha`` empty) and one per sweep point (``stylized`` empty).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import Tensor

from ..atomic import atomic_path, write_text
from ..batch.jobs import expand_inputs
from ..device import check_fits
from ..errors import AdaINError
from ..images import prepare
from ..picture import image_size
from ..stylizer import StyleOptions, Stylizer
from .metrics import METRICS, SCORED_MIN_SIDE, Evaluator, Scores

_ALPHA_SUFFIX = re.compile(r"_alpha[0-9.e+-]+$")  # what ``adain stylize --alpha`` adds


@dataclass(frozen=True)
class Triple:
    content: Path
    style: Path
    stylized: Path


@dataclass(frozen=True)
class Row:
    triple: Triple
    scores: Scores | None  # None when a file could not be scored
    error: str = ""


def match_triples(contents: Path, styles: Path, stylized: Path, skip: Sequence[Path] = ()
                  ) -> tuple[list[Triple], list[Path]]:
    """Triples from files or folders, and the stylised images that matched no pair.

    One content, one style and one stylised file make a triple whatever their names;
    otherwise each stylised image is matched by name to a (content, style) pair. Files in
    ``skip`` (this run's outputs, e.g. the plot) are not taken from a folder of results.
    """
    content_files = expand_inputs([contents])
    style_files = [image for image, _ in expand_inputs([styles])]
    results = expand_inputs([stylized], skip)
    if len(content_files) == len(style_files) == len(results) == 1 and not stylized.is_dir():
        return [Triple(content_files[0][0], style_files[0], results[0][0])], []
    expected: dict[tuple[Path, str], list[tuple[Path, Path]]] = {}
    for content, root in content_files:
        for style in style_files:
            key = (content.parent.relative_to(root), f"{content.stem}_stylized_{style.stem}")
            expected.setdefault(key, []).append((content, style))
    triples, unmatched = [], []
    for image, root in results:
        folder = image.parent.relative_to(root)
        pairs = expected.get((folder, image.stem)) or expected.get(
            (folder, _ALPHA_SUFFIX.sub("", image.stem)), [])
        if len(pairs) > 1:
            raise AdaINError(f"{image} could be {pairs[0][0]} with {pairs[0][1]} or "
                             f"{pairs[1][0]} with {pairs[1][1]}; rename one or give the files")
        if pairs:
            triples.append(Triple(*pairs[0], image))
        else:
            unmatched.append(image)
    return triples, unmatched


def _check_scorable(path: Path, device) -> None:
    """Refuse, in words about scoring, a result too large to score whole: the metrics take
    features to relu5_1 of the whole picture (unlike ``adain stylize``, they are not tiled)."""
    width, height = image_size(path)
    check_fits(height, width, device, str(path), doing="scoring",
               hint="adain eval scores a picture whole (it does not tile); score a "
                    "downscaled copy of the result and of its content")


def score_triples(evaluator: Evaluator, triples: Sequence[Triple], style_size: int,
                  on_done: Callable[[], object] | None = None) -> list[Row]:
    """Scores of every triple, in order; a file that cannot be read is recorded, not raised.

    Triples are scored grouped by style, so each style is encoded once.
    """
    rows: list[Row | None] = [None] * len(triples)
    style_path, style_feats = None, None
    for index, triple in sorted(enumerate(triples), key=lambda item: str(item[1].style)):
        try:
            if triple.style != style_path:
                style_path, style_feats = None, None
                style = prepare(triple.style, style_size, False, evaluator.device,
                                min_side=SCORED_MIN_SIDE)
                style_path, style_feats = triple.style, evaluator.features(style)
            _check_scorable(triple.stylized, evaluator.device)
            stylized = prepare(triple.stylized, 0, False, evaluator.device,
                               min_side=SCORED_MIN_SIDE)
            # only as large as needed to cover the result (the memory check is for that size)
            content = prepare(triple.content, min(stylized.shape[-2:]), False,
                              evaluator.device, min_side=SCORED_MIN_SIDE)
            rows[index] = Row(triple, evaluator.score(stylized, content, style_feats))
        except AdaINError as exc:
            rows[index] = Row(triple, None, str(exc))
        if on_done:
            on_done()
    return rows


def mean_scores(rows: Sequence[Row]) -> Scores | None:
    scored = [row.scores.as_dict() for row in rows if row.scores is not None]
    if not scored:
        return None
    return Scores(**{m: float(np.mean([s[m] for s in scored])) for m in METRICS})


def write_json(path: Path, rows: Sequence[Row], info: dict[str, object]) -> None:
    mean = mean_scores(rows)
    report = dict(info, results=[_row_dict(row) for row in rows],
                  mean=mean.as_dict() if mean else None)
    write_text(path, json.dumps(report, indent=2) + "\n")


def write_csv(path: Path, rows: Sequence[Row], sweep: Sequence[SweepPoint] = ()) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["content", "style", "stylized", "alpha",
                                                *METRICS, "error"])
    writer.writeheader()
    for row in rows:
        writer.writerow(dict(_row_dict(row), alpha=""))
    for point in sweep:
        writer.writerow(dict(_point_dict(point), stylized="", error=""))
    write_text(path, buffer.getvalue())


def _row_dict(row: Row) -> dict[str, object]:
    scores = row.scores.as_dict() if row.scores else dict.fromkeys(METRICS)
    return {"content": str(row.triple.content), "style": str(row.triple.style),
            "stylized": str(row.triple.stylized), **scores, "error": row.error}


def _point_dict(point: SweepPoint) -> dict[str, object]:
    return {"content": str(point.content), "style": str(point.style), "alpha": point.alpha,
            **point.scores.as_dict()}


# -- the alpha sweep ------------------------------------------------------------------------

@dataclass(frozen=True)
class SweepPoint:
    content: Path
    style: Path
    alpha: float
    scores: Scores


def alpha_sweep(stylizer: Stylizer, evaluator: Evaluator, pairs: Sequence[tuple[Path, Path]],
                alphas: Sequence[float], options: StyleOptions,
                on_done: Callable[[], object] | None = None
                ) -> tuple[list[SweepPoint], list[str]]:
    """Stylise each (content, style) pair at each alpha and score the results.

    Returns the points and, for each pair that could not be swept (a broken file, too
    small, too large), its error; the other pairs are swept all the same.
    """
    points, errors = [], []
    style_path, style_feats = None, None
    for content_path, pair_style in pairs:
        try:
            if pair_style != style_path:
                style_path, style_feats = None, None
                style = prepare(pair_style, options.style_size, options.crop,
                                evaluator.device, min_side=SCORED_MIN_SIDE)
                style_path, style_feats = pair_style, evaluator.features(style)
            points += _sweep_pair(stylizer, evaluator, content_path, style_path, style_feats,
                                  alphas, options, on_done)
        except AdaINError as exc:
            errors.append(str(exc))
    return points, errors


def _sweep_pair(stylizer: Stylizer, evaluator: Evaluator, content_path: Path, style_path: Path,
                style_feats: dict[str, Tensor], alphas: Sequence[float], options: StyleOptions,
                on_done: Callable[[], object] | None) -> list[SweepPoint]:
    content = prepare(content_path, options.content_size, options.crop, stylizer.device,
                      min_side=SCORED_MIN_SIDE)
    stats = [stylizer.style_stats(style_path, options.style_size, options.crop)]
    points = []
    for alpha in alphas:
        out = stylizer.stylize_tensor(content, stats, StyleOptions(alpha=alpha),
                                      name=str(content_path))
        points.append(SweepPoint(content_path, style_path, alpha,
                                 evaluator.score(out.clamp(0.0, 1.0), content, style_feats)))
        if on_done:
            on_done()
    return points


def sweep_means(points: Sequence[SweepPoint]) -> list[tuple[float, Scores]]:
    """(alpha, the scores averaged over the pairs) for each alpha, in increasing order."""
    alphas = sorted({p.alpha for p in points})
    return [(alpha, Scores(**{m: float(np.mean([p.scores.as_dict()[m] for p in points
                                                 if p.alpha == alpha])) for m in METRICS}))
            for alpha in alphas]


def sweep_report(points: Sequence[SweepPoint]) -> dict[str, object]:
    """The sweep's numbers for the JSON report: every point, and the means per alpha."""
    return {"alphas": sorted({p.alpha for p in points}),
            "points": [_point_dict(p) for p in points],
            "mean": [dict(alpha=alpha, **mean.as_dict()) for alpha, mean in sweep_means(points)]}


def plot_sweep(points: Sequence[SweepPoint], path: Path) -> None:
    """Content loss against style loss, one line per pair and their mean, alphas marked."""
    from matplotlib.figure import Figure  # slow to import; the Agg canvas needs no display

    figure = Figure(figsize=(7, 5), dpi=120)
    axes = figure.add_subplot()
    pairs = list(dict.fromkeys((p.content, p.style) for p in points))
    for content, style in pairs:
        mine = [p for p in points if (p.content, p.style) == (content, style)]
        axes.plot([p.scores.content_loss for p in mine], [p.scores.style_loss for p in mine],
                  "-", color="0.75", linewidth=1, label=None)
    means = sweep_means(points)
    alphas = [alpha for alpha, _ in means]
    xs = [mean.content_loss for _, mean in means]
    ys = [mean.style_loss for _, mean in means]
    axes.plot(xs, ys, "o-", color="tab:blue", label=f"mean of {len(pairs)} pair(s)")
    for alpha, x, y in zip(alphas, xs, ys, strict=True):
        axes.annotate(f"{alpha:g}", (x, y), textcoords="offset points", xytext=(5, 5),
                      fontsize=8)
    axes.set_xlabel("content loss (relu4_1 MSE)")
    axes.set_ylabel("style loss (AdaIN: mean/std MSE, relu1_1..relu4_1)")
    axes.set_title("AdaIN content-style trade-off, alpha from 0 to 1")
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def sweep_alphas(count: int) -> list[float]:
    """``count`` evenly spaced alphas from 0 to 1, exact in decimal where they can be
    (0.1, not float32's 0.10000000149)."""
    return [i / (count - 1) for i in range(count)]
