"""``adain stylize-dataset`` and ``adain merge-shards`` (issue 13), through the real CLI, and
the torch-free plan (``adain.dataset.plan``) directly.

Tiny datasets (contents 40-64 px, a few images), random weights in the published formats;
the SIGKILL test runs the command as a subprocess and the torchrun test starts two gloo ranks
on the CPU.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import run, weights_args, write_image
from PIL import Image

import adain
from adain.dataset.plan import Shard, draw, plan_outputs
from adain.errors import AdaINError

# content path -> (size, output path with --format keep); class folders, three formats
CONTENTS = {"cat/0.jpg": ((48, 40), "cat/0.jpg"), "cat/1.jpg": ((48, 40), "cat/1.jpg"),
            "cat/2.jpg": ((48, 40), "cat/2.jpg"), "dog/0.png": ((40, 48), "dog/0.png"),
            "dog/1.png": ((40, 48), "dog/1.png"),
            "dog/2.gif": ((40, 48), "dog/2.png")}  # this tool writes no GIF: PNG instead
SMALL = {name: CONTENTS[name] for name in ("cat/0.jpg", "dog/0.png")}  # when two will do
STYLES = ("art0.jpg", "art1.png", "sub/art2.jpg")
RECORD_FILES = {"run.json", "manifest.jsonl", "skipped.txt", "style_bank.safetensors"}
# what atomic_path leaves behind when a write is killed: .NAME.XXXXXXXX.tmp beside NAME
TEMP_FILE = re.compile(r"^\.(?P<target>.+)\.[a-z0-9_]{8}\.tmp$")


def make_dataset(root: Path, contents: dict = CONTENTS) -> tuple[Path, Path]:
    """(content folder, style folder) under ``root``."""
    content, styles = root / "content", root / "styles"
    for i, (name, (size, _)) in enumerate(contents.items()):
        (content / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(content / name, size, seed=i)
    for i, name in enumerate(STYLES):
        (styles / name).parent.mkdir(parents=True, exist_ok=True)
        write_image(styles / name, (40, 40), seed=20 + i)
    return content, styles


def models(published_weights) -> list:
    """The random weights on the CPU, the style size left to the command (or the preset)."""
    return ["--vgg", published_weights[0], "--decoder", published_weights[1], "--device", "cpu"]


def stylize_dataset(published_weights, content: Path, styles: Path, out: Path, *extra):
    """``adain stylize-dataset`` in-process: decoding in this process, styles at their size."""
    return run("stylize-dataset", content, "--style-dir", styles, "-o", out, "--workers", 0,
               *weights_args(published_weights), *extra)


def manifest(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def output_files(out: Path) -> list[str]:
    """The pictures in ``out``: every non-hidden file but the run's records."""
    found = []
    for folder, dirs, files in os.walk(out):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [(Path(folder) / f).relative_to(out).as_posix() for f in files
                  if not f.startswith(".")]
    return sorted(set(found) - RECORD_FILES)


def pixels(out: Path) -> dict[str, np.ndarray]:
    return {name: np.asarray(Image.open(out / name).convert("RGB")).astype(int)
            for name in output_files(out)}


def assert_same_pictures(a: Path, b: Path, levels: int = 2) -> None:
    first, second = pixels(a), pixels(b)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name].shape == second[name].shape, name
        assert np.abs(first[name] - second[name]).max() <= levels, name


def one_line(result) -> str:
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reference(published_weights, tmp_path_factory):
    """One plain single-process run of CONTENTS, made once for the tests that compare with it
    (none writes into its folders): (content, styles, out, the command's output)."""
    content, styles = make_dataset(tmp_path_factory.mktemp("reference"))
    out = content.parent / "out"
    result = stylize_dataset(published_weights, content, styles, out)
    assert result.exit_code == 0, result.output
    return content, styles, out, result.output


# -- 1. the output tree, the manifest and run.json -------------------------------------------
def test_outputs_mirror_the_content_tree_with_a_manifest_and_a_run_record(published_weights,
                                                                          reference):
    content, styles, out, said = reference
    assert "6 images: made 6 outputs, kept 0 already there, skipped 0" in said
    expected = {name: output for name, (_, output) in CONTENTS.items()}
    assert output_files(out) == sorted(expected.values())
    for size, output in CONTENTS.values():
        with Image.open(out / output) as picture:
            assert picture.size == size  # --content-size 0 by default: each image's own size
            assert picture.format == ("JPEG" if output.endswith(".jpg") else "PNG")
    lines = manifest(out)
    assert [line["output"] for line in lines] == sorted(expected.values())
    for line in lines:
        assert set(line) == {"content", "style", "alpha", "output"}
        assert expected[line["content"]] == line["output"]  # relative to CONTENT_DIR and OUT
        assert line["style"] in STYLES and line["alpha"] == 1.0  # relative to --style-dir
    record = json.loads((out / "run.json").read_text())
    assert record["adain_version"] == adain.__version__
    assert record["seed"] == 0
    options = record["options"]
    assert (options["content_dir"], options["style_dir"]) == (str(content), str(styles))
    assert (options["num_styles"], options["format"], options["style_size"]) == (1, "keep", 0)
    assert record["weights"]["vgg"] == sha256(published_weights[0])
    assert record["weights"]["decoder"] == sha256(published_weights[1])


def test_format_jpg_makes_every_output_a_jpeg_of_the_same_name(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path)
    out = tmp_path / "out"
    result = stylize_dataset(published_weights, content, styles, out, "--format", "jpg")
    assert result.exit_code == 0, result.output
    wanted = sorted(str(Path(name).with_suffix(".jpg")) for name in CONTENTS)
    assert output_files(out) == wanted
    assert [line["output"] for line in manifest(out)] == wanted
    for name in wanted:
        assert Image.open(out / name).format == "JPEG"


def test_num_styles_adds_the_style_name_and_alpha_range_draws_alphas(published_weights,
                                                                     tmp_path):
    content, styles = make_dataset(tmp_path)
    out = tmp_path / "out"
    result = stylize_dataset(published_weights, content, styles, out, "--num-styles", 2,
                             "--format", "png", "--alpha-range", "0.25,0.75")
    assert result.exit_code == 0, result.output
    lines = manifest(out)
    assert len(lines) == 2 * len(CONTENTS)
    for name in CONTENTS:
        mine = [line for line in lines if line["content"] == name]
        assert len({line["style"] for line in mine}) == 2  # two other styles
        for line in mine:
            stem = Path(line["style"]).stem
            assert line["output"] == str(Path(name).with_name(
                f"{Path(name).stem}-stylized-{stem}.png"))
    assert output_files(out) == sorted(line["output"] for line in lines)
    assert {Image.open(out / line["output"]).format for line in lines} == {"PNG"}
    alphas = [line["alpha"] for line in lines]
    assert all(0.25 <= a <= 0.75 for a in alphas) and len(set(alphas)) == len(alphas)


# -- 2. the manifest and the pixels do not depend on how the work is done --------------------
def test_batch_size_and_workers_change_neither_the_manifest_nor_the_pixels(published_weights,
                                                                           tmp_path):
    """Two runs into two folders: one image per forward pass, decoded in this process; three
    per pass (the cat images share a size, so they share a batch), decoded in 2 workers."""
    content, styles = make_dataset(tmp_path)
    one, three = tmp_path / "one", tmp_path / "three"
    result = stylize_dataset(published_weights, content, styles, one, "--batch-size", 1,
                             "--format", "png")
    assert result.exit_code == 0, result.output
    result = stylize_dataset(published_weights, content, styles, three, "--batch-size", 3,
                             "--format", "png", "--workers", 2)
    assert result.exit_code == 0, result.output
    assert (one / "manifest.jsonl").read_text() == (three / "manifest.jsonl").read_text()
    assert_same_pictures(one, three)


def test_two_shards_into_one_folder_merge_into_the_single_process_manifest(published_weights,
                                                                          reference, tmp_path):
    """--shard 0/2 then --shard 1/2 into one folder: the second merges; and adain merge-shards
    merges the parts again (as after a kill of the last shard before it merged)."""
    content, styles, single, _ = reference
    split = tmp_path / "split"
    first = stylize_dataset(published_weights, content, styles, split, "--shard", "0/2")
    assert first.exit_code == 0, first.output
    assert "3 images (shard 0/2): made 3 outputs" in first.output
    assert "waiting for shard 1" in first.output and not (split / "manifest.jsonl").exists()
    second = stylize_dataset(published_weights, content, styles, split, "--shard", "1/2")
    assert second.exit_code == 0, second.output  # the last shard to finish merges
    assert "manifest:" in second.output and "(6 outputs)" in second.output
    assert (split / "manifest.jsonl").read_text() == (single / "manifest.jsonl").read_text()
    assert_same_pictures(single, split)
    (split / "manifest.jsonl").unlink()
    result = run("merge-shards", split)
    assert result.exit_code == 0, result.output
    assert "merged 6 outputs" in result.output
    assert (split / "manifest.jsonl").read_text() == (single / "manifest.jsonl").read_text()


@pytest.mark.torchrun
def test_torchrun_two_gloo_ranks_on_the_cpu_give_the_single_process_manifest(
        published_weights, reference, tmp_path):
    """torchrun --nproc_per_node=2 on the CPU (gloo): the two ranks share the style bank and
    split the images; rank 0 merges the manifest, equal to a single process's."""
    content, styles, single, _ = reference
    ranks = tmp_path / "ranks"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node=2", "-m", "adain", "stylize-dataset", content, "--style-dir",
               styles, "-o", ranks, "--workers", "0", *weights_args(published_weights)]
    done = subprocess.run([str(a) for a in command], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "3 images (shard 0/2)" in done.stdout  # rank 0 speaks for its half
    assert sorted(p.name for p in (ranks / ".shards").glob("manifest-*")) == [
        "manifest-00000-of-00002.jsonl", "manifest-00001-of-00002.jsonl"]
    assert (ranks / "manifest.jsonl").read_text() == (single / "manifest.jsonl").read_text()
    assert_same_pictures(single, ranks)


# -- 3. a kill, then a rerun -----------------------------------------------------------------
KILLED_IMAGES = 30


@pytest.fixture(scope="module")
def killed_run(published_weights, tmp_path_factory):
    """A run of 30 pictures (64 px, one per pass, decoded in the main process) killed with
    SIGKILL once a few outputs exist: (content, styles, out, the arguments, outputs made)."""
    root = tmp_path_factory.mktemp("killed")
    content, styles, out = root / "content", root / "styles", root / "out"
    (content / "img").mkdir(parents=True)
    styles.mkdir()
    for i in range(KILLED_IMAGES):
        write_image(content / "img" / f"{i:02d}.png", (64, 64), seed=i)
    for i in range(2):
        write_image(styles / f"s{i}.jpg", (40, 40), seed=50 + i)
    args = [content, "--style-dir", styles, "-o", out, "--workers", 0, "--batch-size", 1,
            *weights_args(published_weights)]
    log = root / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "adain", "stylize-dataset",
                                    *map(str, args)], stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 120
        while len(list((out / "img").glob("*.png"))) < 3:
            assert process.poll() is None, f"the run ended before the kill: {log.read_text()}"
            assert time.monotonic() < deadline, "no outputs came"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    made = sorted((out / "img").glob("*.png"))
    assert 3 <= len(made) < KILLED_IMAGES, "the run finished before the kill: use more images"
    assert process.returncode == -signal.SIGKILL
    return content, styles, out, args, len(made)


def test_a_sigkill_leaves_no_torn_or_half_named_file(killed_run):
    out = killed_run[2]
    wanted = {f"img/{i:02d}.png" for i in range(KILLED_IMAGES)}
    for folder, _, files in os.walk(out):
        for name in files:
            path = Path(folder) / name
            rel = path.relative_to(out).as_posix()
            if any(part.startswith(".") for part in Path(rel).parts):
                temp = TEMP_FILE.match(name)  # hidden, ends in .tmp, names what it was for
                assert (name == ".style_bank.safetensors.lock" or rel.startswith(".shards/")
                        or (temp and path.with_name(temp["target"]).relative_to(out)
                            .as_posix() in wanted)), rel
            elif rel in wanted:
                with Image.open(path) as picture:
                    picture.load()  # every byte there: a torn PNG fails here
                    assert picture.size == (64, 64)
            else:
                assert rel in RECORD_FILES, f"{rel}: a file that is neither output nor record"


def test_a_rerun_after_a_sigkill_keeps_what_is_there_and_makes_the_rest(published_weights,
                                                                        killed_run, tmp_path):
    content, styles, out, args, made = killed_run
    stale = out / "img" / f".{KILLED_IMAGES - 1:02d}.png.abcd1234.tmp"
    stale.write_bytes(b"half a picture")  # as a kill in the middle of a write leaves it
    result = run("stylize-dataset", *args)
    assert result.exit_code == 0, result.output
    assert (f"made {KILLED_IMAGES - made} outputs, kept {made} already there"
            in result.output)
    assert not stale.exists() and not list(out.rglob("*.tmp"))
    clean = tmp_path / "clean"
    result = run("stylize-dataset", content, *args[1:4], clean, *args[5:])
    assert result.exit_code == 0, result.output
    assert (out / "manifest.jsonl").read_text() == (clean / "manifest.jsonl").read_text()


def test_overwrite_makes_every_output_again(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    out = tmp_path / "out"
    assert stylize_dataset(published_weights, content, styles, out).exit_code == 0
    before = (out / "manifest.jsonl").read_text()
    Image.new("RGB", (40, 48)).save(out / "dog" / "0.png")  # a black square in its place
    result = stylize_dataset(published_weights, content, styles, out, "--overwrite")
    assert result.exit_code == 0, result.output
    assert "made 2 outputs, kept 0 already there" in result.output
    assert np.asarray(Image.open(out / "dog" / "0.png")).std() > 1  # made again
    assert (out / "manifest.jsonl").read_text() == before


# -- 4. a file that cannot be read ---------------------------------------------------------
@pytest.fixture(params=["text renamed .jpg", "truncated JPEG"])
def bad_file(request) -> tuple[str, bytes]:
    """(what the skip reason says, the file's bytes)."""
    if request.param == "text renamed .jpg":
        return "not an image file", b"these are notes, not a picture\n"
    media = request.getfixturevalue("media")
    return "truncated", (media / "bad" / "truncated_jpeg.jpg").read_bytes()


def test_an_unreadable_content_file_is_skipped_and_listed_and_the_run_goes_on(
        published_weights, tmp_path, bad_file):
    reason, data = bad_file
    content, styles = make_dataset(tmp_path, SMALL)
    (content / "dog" / "notes.jpg").write_bytes(data)
    out = tmp_path / "out"
    result = stylize_dataset(published_weights, content, styles, out)
    assert result.exit_code == 0, result.output
    assert "3 images: made 2 outputs" in result.output
    assert output_files(out) == sorted(output for _, output in SMALL.values())
    assert [line["content"] for line in manifest(out)] == sorted(SMALL)
    kind, name, why = (out / "skipped.txt").read_text().splitlines()[0].split("\t")
    assert kind == "content"
    assert (out / "skipped.txt").read_text().count("\n") == 1
    assert name == "dog/notes.jpg" and reason in why


def test_the_summary_counts_an_unreadable_content_file(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    (content / "dog" / "notes.jpg").write_text("not a picture\n")
    result = stylize_dataset(published_weights, content, styles, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "made 2 outputs, kept 0 already there, skipped 1," in result.output
    assert "skipped 1 file that could not be read" in result.output


def test_an_unreadable_style_is_listed_in_skipped_txt(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    (styles / "broken.jpg").write_text("not a picture\n")
    out = tmp_path / "out"
    result = stylize_dataset(published_weights, content, styles, out)
    assert result.exit_code == 0, result.output
    assert "made 2 outputs" in result.output and "skipped 1," in result.output
    assert "broken.jpg" in (out / "skipped.txt").read_text()


# -- 5. the pictures are adain stylize's -----------------------------------------------------
def test_pixels_equal_adain_stylize_with_the_same_sizes_and_alpha(published_weights, tmp_path):
    (tmp_path / "content").mkdir()
    (tmp_path / "styles").mkdir()
    photo = write_image(tmp_path / "content" / "photo.png", (80, 60), seed=1)
    art = write_image(tmp_path / "styles" / "art.jpg", (70, 90), seed=2)
    same = ["--content-size", 64, "--style-size", 64, "--alpha", 0.5,
            *models(published_weights)]
    result = run("stylize-dataset", tmp_path / "content", "--style-dir", tmp_path / "styles",
                 "-o", tmp_path / "out", "--workers", 0, *same)
    assert result.exit_code == 0, result.output
    result = run("stylize", photo, "-s", art, "-o", tmp_path / "x.png", *same)
    assert result.exit_code == 0, result.output
    ours = np.asarray(Image.open(tmp_path / "out" / "photo.png")).astype(int)
    theirs = np.asarray(Image.open(tmp_path / "x.png")).astype(int)
    assert ours.shape == theirs.shape == (64, 85, 3)
    assert np.abs(ours - theirs).max() <= 2
    assert ours.std() > 5  # a picture, not a flat field


def test_the_stylized_imagenet_preset_makes_224_pixel_pngs(published_weights, tmp_path):
    content, styles = tmp_path / "imagenet", tmp_path / "paintings"
    (content / "n01").mkdir(parents=True)
    (content / "n02").mkdir()
    styles.mkdir()
    write_image(content / "n01" / "a.JPEG", (300, 260), seed=1)
    write_image(content / "n02" / "b.png", (260, 300), seed=2)
    write_image(styles / "painting.jpg", (300, 250), seed=3)
    out = tmp_path / "out"
    result = run("stylize-dataset", content, "--style-dir", styles, "-o", out, "--workers", 0,
                 "--preset", "stylized-imagenet", *models(published_weights))
    assert result.exit_code == 0, result.output
    assert output_files(out) == ["n01/a.png", "n02/b.png"]
    for name in output_files(out):
        with Image.open(out / name) as picture:
            assert (picture.format, picture.size) == ("PNG", (224, 224))
    assert {line["alpha"] for line in manifest(out)} == {1.0}
    options = json.loads((out / "run.json").read_text())["options"]
    assert options["preset"] == "stylized-imagenet"
    assert (options["content_size"], options["crop"], options["style_size"]) == (256, 224, 224)


# -- 6. what is refused --------------------------------------------------------------------
def test_a_rerun_with_another_seed_is_refused_naming_the_difference(published_weights,
                                                                    tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    out = tmp_path / "out"
    assert stylize_dataset(published_weights, content, styles, out).exit_code == 0
    result = stylize_dataset(published_weights, content, styles, out, "--seed", 1)
    assert result.exit_code != 0
    line = one_line(result)
    assert "seed 0 there, 1 now" in line and "alpha" not in line  # the one difference
    assert json.loads((out / "run.json").read_text())["seed"] == 0  # the record is kept


def test_an_output_inside_the_content_folder_is_refused(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    result = stylize_dataset(published_weights, content, styles, content / "styled")
    assert result.exit_code != 0
    assert "lies inside the content folder" in one_line(result)
    assert not (content / "styled").exists()


def test_the_preset_refuses_an_option_it_sets(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    result = run("stylize-dataset", content, "--style-dir", styles, "-o", tmp_path / "out",
                 "--preset", "stylized-imagenet", "--content-size", 512,
                 *models(published_weights))
    assert result.exit_code != 0
    assert "--preset stylized-imagenet sets --content-size 256" in one_line(result)
    assert not (tmp_path / "out").exists()


def test_alpha_and_alpha_range_together_are_refused(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    result = stylize_dataset(published_weights, content, styles, tmp_path / "out", "--alpha",
                             0.5, "--alpha-range", "0.2,0.8")
    assert result.exit_code != 0
    assert "give --alpha or --alpha-range, not both" in one_line(result)
    assert not (tmp_path / "out").exists()


def test_two_contents_with_one_output_name_are_refused(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    write_image(content / "cat" / "0.png", (48, 40), seed=9)  # beside cat/0.jpg
    out = tmp_path / "out"
    result = stylize_dataset(published_weights, content, styles, out, "--format", "png")
    assert result.exit_code != 0
    assert "cat/0.jpg and cat/0.png would both be written to cat/0.png" in one_line(result)
    assert output_files(out) == []


def test_merge_shards_names_the_shards_that_have_not_finished(published_weights, tmp_path):
    content, styles = make_dataset(tmp_path, SMALL)
    out = tmp_path / "out"
    result = stylize_dataset(published_weights, content, styles, out, "--shard", "1/3")
    assert result.exit_code == 0, result.output
    assert "waiting for shard 0, 2" in result.output
    result = run("merge-shards", out)
    assert result.exit_code != 0
    assert "2 shards of 3 have not finished (shard 0, 2)" in one_line(result)
    assert not (out / "manifest.jsonl").exists()


# -- 7. the plan, torch-free -----------------------------------------------------------------
PATHS = [f"class{i % 3}/img{i}.jpg" for i in range(30)]


def test_draw_depends_only_on_the_seed_and_the_path():
    first = [draw(0, p, 10, 2, (0.2, 0.9)) for p in PATHS]
    again = [draw(0, p, 10, 2, (0.2, 0.9)) for p in reversed(PATHS)][::-1]  # another order
    assert first == again
    assert first != [draw(1, p, 10, 2, (0.2, 0.9)) for p in PATHS]  # the seed matters
    assert len({tuple(d) for d in first}) > 20  # and the path: the images differ
    # an image's outputs do not depend on which other images are in the plan
    styles = [f"s{i}.jpg" for i in range(10)]
    alone = plan_outputs(["class1/img4.jpg"], styles, 2, (0.2, 0.9), 0)
    among = plan_outputs(sorted(PATHS), styles, 2, (0.2, 0.9), 0)
    assert alone[0] in among


def test_draw_gives_distinct_styles_and_alphas_within_the_range():
    for path in PATHS:
        drawn = draw(7, path, 5, 5, (0.3, 0.6))
        assert sorted(s for s, _ in drawn) == [0, 1, 2, 3, 4]  # every style once
        assert all(0.3 <= a <= 0.6 for _, a in drawn)
        assert len({s for s, _ in draw(7, path, 5, 3, (0.3, 0.6))}) == 3
    alphas = [a for p in PATHS for _, a in draw(0, p, 5, 1, (0.3, 0.6))]
    assert max(alphas) - min(alphas) > 0.15  # drawn, not fixed
    assert {a for p in PATHS for _, a in draw(0, p, 5, 2, (0.5, 0.5))} == {0.5}


@pytest.mark.parametrize("text", ["1", "a/b", "1/2/3", "2/2", "-1/2", "0/0", ""])
def test_shard_parse_refuses_what_is_not_i_of_n(text):
    with pytest.raises(AdaINError, match="--shard|shard"):
        Shard.parse(text)


def test_shard_parse_take_and_within():
    shard = Shard.parse("1/4")
    assert (shard.index, shard.count, shard.name) == (1, 4, "00001-of-00004")
    assert shard.take(list(range(10))) == [1, 5, 9]
    assert shard.within(1, 2) == Shard(3, 8)  # rank 1 of 2 inside shard 1 of 4
    assert sorted(i for s in range(3) for i in Shard(s, 3).take(range(10))) == list(range(10))


def test_plan_refuses_more_styles_per_image_than_the_style_folder_holds():
    with pytest.raises(AdaINError, match="--num-styles 3 but the style folder holds 2"):
        plan_outputs(["a.jpg"], ["s0.jpg", "s1.jpg"], 3, (1.0, 1.0), 0)


def test_plan_refuses_two_contents_with_one_output_name_in_one_line():
    with pytest.raises(AdaINError) as refused:
        plan_outputs(["a.jpg", "a.png"], ["s.jpg"], 1, (1.0, 1.0), 0, "png")
    message = str(refused.value)
    assert "a.jpg and a.png would both be written to a.png" in message and "\n" not in message
    kept = plan_outputs(["a.jpg", "a.png"], ["s.jpg"], 1, (1.0, 1.0), 0, "keep")
    assert [o.output for outputs in kept for o in outputs] == ["a.jpg", "a.png"]


def test_plan_names_outputs_by_style_and_tells_apart_styles_of_one_name():
    styles = ["a/x.jpg", "b/x.jpg"]  # two styles named x
    [outputs] = plan_outputs(["cls/img.gif"], styles, 2, (1.0, 1.0), 0, "keep")
    names = {o.output for o in outputs}  # GIF is not written: PNG
    assert names in ({"cls/img-stylized-x.png", "cls/img-stylized-x-1.png"},
                     {"cls/img-stylized-x.png", "cls/img-stylized-x-0.png"})
    assert [o.record()["style"] for o in outputs] == [styles[o.style_index] for o in outputs]
