"""What a dataset run writes besides the pictures, torch-free: ``run.json``, the manifest
and the list of skipped files, each shard's part of them, and merging the parts.

- ``OUT/run.json``: the options, the seed, the weights' SHA-256 and the adain version. A
  rerun (or another shard) with other options is refused: one folder, one recipe.
- ``OUT/.shards/manifest-I-of-N.jsonl`` and ``skipped-I-of-N.txt``: one shard's outputs that
  exist and the files it could not read, each written atomically when the shard ends
  (and when it is interrupted). A manifest line depends only on the plan, so the part
  lists every output of the shard that is on disk, whatever run made it.
- ``OUT/manifest.jsonl`` and ``OUT/skipped.txt``: the parts merged, once every shard of a
  split has written its part, sorted by output; a single process merges its own one part.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..atomic import write_text
from ..errors import AdaINError

RUN_FILE = "run.json"
MANIFEST = "manifest.jsonl"
SKIPPED = "skipped.txt"
SHARDS_DIR = ".shards"
# What may differ between runs of one folder: where the work is done and how it is split.
PER_PROCESS = ("batch_size", "workers", "device", "shard", "overwrite", "style_bank")


def check_run_record(out: Path, record: Mapping[str, object]) -> None:
    """Write ``OUT/run.json``, or refuse when the folder holds a run with another recipe."""
    path = out / RUN_FILE
    record = json.loads(json.dumps(record))  # compared as JSON holds it: tuples are lists
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise AdaINError(f"{path} is unreadable ({exc}); move it away to start this "
                             "folder again") from exc
        differs = [key for key in sorted(set(old["options"]) | set(record["options"]))
                   if key not in PER_PROCESS
                   and old["options"].get(key) != record["options"].get(key)]
        if old.get("weights") != record.get("weights"):
            differs.append("weights")
        if differs:
            shown = ", ".join(f"{key} {old['options'].get(key, old.get(key))!r} there, "
                              f"{record['options'].get(key, record.get(key))!r} now"
                              for key in differs[:3])
            raise AdaINError(f"{out} holds a run made with other settings ({shown}); rerun "
                             "with the same ones to resume it, or give another -o")
        return
    write_text(path, json.dumps(record, indent=2) + "\n")


def part_path(out: Path, kind: str, shard_name: str) -> Path:
    ext = ".jsonl" if kind == "manifest" else ".txt"
    return out / SHARDS_DIR / f"{kind}-{shard_name}{ext}"


def write_part(out: Path, shard_name: str, records: Iterable[Mapping[str, object]],
               skipped: Mapping[tuple[str, str], str]) -> None:
    """This shard's manifest lines and skipped files ((kind, relative path) -> why; kind is
    content or style): ``skipped.txt`` has one ``kind<TAB>path<TAB>why`` line each."""
    lines = [json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records]
    write_text(part_path(out, "manifest", shard_name),
               "".join(line + "\n" for line in lines))
    write_text(part_path(out, "skipped", shard_name),
               "".join(f"{kind}\t{name}\t{' '.join(why.split())}\n"
                       for (kind, name), why in sorted(skipped.items())))


def merge_parts(out: Path, count: int | None = None) -> tuple[int, int] | None:
    """Merge the shards' parts into ``manifest.jsonl`` and ``skipped.txt`` once all ``count``
    parts of one split are there (``count`` None: the split the parts name). Returns
    (outputs, skipped) merged, or None while parts are missing."""
    folder = out / SHARDS_DIR
    parts = sorted(folder.glob("manifest-*-of-*.jsonl")) if folder.is_dir() else []
    if not parts:
        raise AdaINError(f"{out} holds no manifest parts ({SHARDS_DIR}/manifest-*.jsonl); is "
                         "it the -o of adain stylize-dataset?")
    splits = {int(p.stem.rsplit("-of-", 1)[1]) for p in parts}
    if count is None:
        if len(splits) > 1:
            raise AdaINError(f"{folder} holds parts of splits into {sorted(splits)} shards; "
                             "remove the parts of the split you abandoned")
        count = splits.pop()
    expected = [f"{i:05d}-of-{count:05d}" for i in range(count)]
    if not all(part_path(out, "manifest", name).is_file() for name in expected):
        return None
    records, skipped = [], []
    for name in expected:
        records += part_path(out, "manifest", name).read_text(encoding="utf-8").splitlines()
        skipped_part = part_path(out, "skipped", name)
        if skipped_part.is_file():
            skipped += skipped_part.read_text(encoding="utf-8").splitlines()
    records.sort(key=lambda line: json.loads(line)["output"])
    write_text(out / MANIFEST, "".join(line + "\n" for line in records))
    # every shard lists the unreadable styles: each once
    write_text(out / SKIPPED, "".join(line + "\n" for line in sorted(set(skipped))))
    return len(records), len(set(skipped))


def missing_parts(out: Path, count: int) -> list[int]:
    """The shards of a split into ``count`` whose parts are not there yet."""
    return [i for i in range(count)
            if not part_path(out, "manifest", f"{i:05d}-of-{count:05d}").is_file()]
