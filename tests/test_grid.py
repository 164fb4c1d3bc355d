import logging

import numpy as np
import pytest
from helpers import run, weights_args, write_image
from PIL import Image, ImageOps

from adain.batch.grid import GridLayout, compose, plan_layout, side_by_side
from adain.errors import AdaINError

CELL, GUTTER = 256, 4  # the sheet's defaults, restated so that a change shows here
RED, BLUE, WHITE, GREY = (255, 0, 0), (0, 0, 255), (255, 255, 255), (222, 222, 222)


def full_size_args(published_weights):
    """helpers.weights_args, with contents at their own size too."""
    return [*weights_args(published_weights), "--content-size", "0"]


def cell(sheet: Image.Image, row: int, column: int) -> np.ndarray:
    left, top = GUTTER + column * (CELL + GUTTER), GUTTER + row * (CELL + GUTTER)
    return np.asarray(sheet.convert("RGB").crop((left, top, left + CELL, top + CELL)), float)


def expected_cell(picture: Image.Image) -> np.ndarray:
    """``picture`` fitted in a white cell, centred: what the sheet should show."""
    thumb = ImageOps.contain(picture.convert("RGB"), (CELL, CELL), Image.Resampling.LANCZOS)
    out = Image.new("RGB", (CELL, CELL), WHITE)
    out.paste(thumb, ((CELL - thumb.width) // 2, (CELL - thumb.height) // 2))
    return np.asarray(out, float)


def test_compose_puts_pictures_centred_in_their_cells():
    layout = GridLayout(rows=2, columns=3, cell=4, gutter=1)
    assert layout.size == (16, 11) and layout.origin(1, 2) == (11, 6)
    sheet = compose(layout, {(0, 1): Image.new("RGB", (4, 2), RED), (1, 1): None,
                             (1, 2): Image.new("RGB", (2, 4), BLUE)})
    px = np.asarray(sheet)
    assert sheet.size == (16, 11)
    assert (px[:, 0] == WHITE).all() and (px[0] == WHITE).all()  # gutters
    assert (px[1:6, 1:5] == WHITE).all()  # the empty corner cell
    assert (px[2:4, 6:10] == RED).all() and (px[1, 6:10] == WHITE).all()  # 4x2 centred in 4x4
    assert (px[4, 6:10] == WHITE).all() and (px[2:4, 5] == WHITE).all()
    assert (px[6:10, 6:10] == GREY).all()  # a failed cell
    assert (px[6:10, 12:14] == BLUE).all()  # 2x4 centred: columns 12 and 13 of 11..14
    assert (px[6:10, 11] == WHITE).all() and (px[6:10, 14] == WHITE).all()
    assert (px[6:10, 15] == WHITE).all() and (px[10] == WHITE).all()


def test_side_by_side_fits_a_group_in_one_cell():
    row = side_by_side([Image.new("RGB", (8, 8), RED), Image.new("RGB", (8, 4), BLUE)], 10, 2)
    assert row.size == (10, 4)  # two 4-px slots and a 2-px gap
    px = np.asarray(row)
    assert (px[:, :4] == RED).all() and (px[:, 4:6] == WHITE).all()
    assert (px[1:3, 6:] == BLUE).all() and (px[0, 6:] == WHITE).all()


def test_large_grids_get_smaller_cells_and_say_so(caplog):
    assert plan_layout(3, 3, cell=256, gutter=4, max_side=1000).cell == 256
    with caplog.at_level(logging.WARNING):
        layout = plan_layout(10, 2, cell=256, gutter=4, max_side=1000)
    assert layout.cell == 95 and max(layout.size) == 994
    assert "shrunk to 95 px" in caplog.text
    with pytest.raises(AdaINError, match="do not fit"):
        plan_layout(100, 2, cell=256, gutter=4, max_side=1000)


@pytest.fixture()
def two_by_two(published_weights, tmp_path):
    """Contents (one wide, one tall) x two styles through the real CLI with --grid."""
    photos = tmp_path / "photos"
    photos.mkdir()
    contents = [write_image(photos / "a.png", (48, 32), seed=1),
                write_image(photos / "b.png", (32, 48), seed=2)]
    styles = [write_image(tmp_path / f"s{i}.png", (32, 32), seed=5 + i) for i in range(2)]
    result = run("stylize", photos, "-s", styles[0], "-s", styles[1], "-o", tmp_path / "out",
                 "--grid", photos / "grid.jpg", *full_size_args(published_weights))
    return result, contents, styles, tmp_path


def test_grid_shows_inputs_and_results(two_by_two):
    result, contents, styles, tmp_path = two_by_two
    assert result.exit_code == 0, result.output
    assert "grid in" in result.output and "grid.jpg" in result.output
    sheet = Image.open(tmp_path / "photos" / "grid.jpg")
    assert sheet.size == (3 * CELL + 4 * GUTTER,) * 2
    assert np.abs(cell(sheet, 0, 0) - 255).mean() < 1  # the empty corner
    for i, picture in enumerate([*contents, *styles]):
        row, column = (1 + i, 0) if i < 2 else (0, i - 1)
        own = np.abs(cell(sheet, row, column) - expected_cell(Image.open(picture))).mean()
        other = np.abs(cell(sheet, row, column)
                       - expected_cell(Image.open([*contents, *styles][i ^ 1]))).mean()
        assert own < 3 and other > 10, (picture, own, other)
    for row, name in ((1, "a"), (2, "b")):  # random weights: results differ only a little
        for column in (1, 2):
            diffs = [np.abs(cell(sheet, row, column) - expected_cell(
                Image.open(tmp_path / "out" / f"{name}_stylized_s{j}.png"))).mean()
                for j in (0, 1)]
            own, other = diffs[column - 1], diffs[2 - column]
            assert own < 1.2 and other > 2 * own, (row, column, diffs)


def test_a_rerun_does_not_stylise_the_grid(two_by_two, published_weights):
    result, _, styles, tmp_path = two_by_two
    again = run("stylize", tmp_path / "photos", "-s", styles[0], "-s", styles[1],
                "-o", tmp_path / "out", "--grid", tmp_path / "photos" / "grid.jpg",
                *full_size_args(published_weights))
    assert again.exit_code == 0, again.output
    assert len(list((tmp_path / "out").iterdir())) == 4
    assert Image.open(tmp_path / "photos" / "grid.jpg").size == (3 * CELL + 4 * GUTTER,) * 2


@pytest.mark.parametrize("combine", ["weights", "mask"])
def test_combined_styles_make_one_column(published_weights, tmp_path, combine):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    styles = [tmp_path / "red.png", tmp_path / "blue.png"]
    Image.new("RGB", (32, 32), RED).save(styles[0])
    Image.new("RGB", (32, 32), BLUE).save(styles[1])
    Image.new("L", (32, 32), 255).save(tmp_path / "mask.png")
    extra = (["--interpolation-weights", "0.5,0.5"] if combine == "weights"
             else ["--mask", tmp_path / "mask.png"])
    result = run("stylize", content, "-s", styles[0], "-s", styles[1], "-o", tmp_path / "out",
                 "--grid", tmp_path / "grid.png", *extra, *full_size_args(published_weights))
    assert result.exit_code == 0, result.output
    sheet = Image.open(tmp_path / "grid.png")
    assert sheet.size == (2 * CELL + 3 * GUTTER, 2 * CELL + 3 * GUTTER)
    header = cell(sheet, 0, 1)
    middle = CELL // 2
    assert (header[middle, : middle - GUTTER] == RED).all()  # the two styles side by side
    assert (header[middle, middle + GUTTER:] == BLUE).all()
    name = "red@0.5+blue@0.5" if combine == "weights" else "red+blue_mask-mask"
    written = Image.open(tmp_path / "out" / f"c_stylized_{name}.png")
    assert np.abs(cell(sheet, 1, 1) - expected_cell(written)).mean() < 1


def test_a_failed_result_leaves_a_grey_cell(published_weights, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    write_image(photos / "a.png", (32, 32), seed=1)
    (photos / "b.png").write_bytes(b"not a picture")
    style = write_image(tmp_path / "s.png", (32, 32), seed=2)
    result = run("stylize", photos, "-s", style, "-o", tmp_path / "out",
                 "--grid", tmp_path / "grid.png", *full_size_args(published_weights))
    assert result.exit_code == 1 and "1 failed" in result.output
    sheet = Image.open(tmp_path / "grid.png")
    assert sheet.size == (2 * CELL + 3 * GUTTER, 3 * CELL + 4 * GUTTER)
    assert (cell(sheet, 2, 0) == GREY).all() and (cell(sheet, 2, 1) == GREY).all()
    assert (cell(sheet, 1, 1) != GREY).any() and (cell(sheet, 1, 0) != GREY).any()


@pytest.mark.parametrize("grid", ["grid.gif", "grid", "out/a_stylized_s.png"])
def test_a_grid_that_cannot_be_written_is_refused_first(published_weights, tmp_path, grid):
    content = write_image(tmp_path / "a.png", (32, 32), seed=1)
    styles = [write_image(tmp_path / f"{name}.png", (32, 32), seed=2) for name in "st"]
    result = run("stylize", content, "-s", styles[0], "-s", styles[1], "-o", tmp_path / "out",
                 "--grid", tmp_path / grid, *full_size_args(published_weights))
    assert result.exit_code == 1, result.output
    assert "--grid" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() and not (tmp_path / grid).exists()


def test_headers_are_read_as_the_stylizer_reads_them(tmp_path):
    from icc import adobe_rgb_profile, adobe_rgb_to_srgb

    from adain.batch.grid import read_thumbnail

    orange = (200, 120, 60)
    exif = Image.Exif()
    exif[0x0112] = 6  # turned: 64 x 32 shown as 32 x 64
    Image.new("RGB", (64, 32), orange).save(tmp_path / "adobe.jpg", quality=100, exif=exif,
                                            icc_profile=adobe_rgb_profile())
    thumb = read_thumbnail(tmp_path / "adobe.jpg", (16, 16))
    assert thumb.size == (8, 16)
    assert np.abs(np.asarray(thumb, float)[8, 4] - adobe_rgb_to_srgb(orange)).max() <= 3
