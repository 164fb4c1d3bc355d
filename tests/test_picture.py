"""The torch-free reader: colour profiles, modes and orientation, on files made here."""

import cv2
import numpy as np
import pytest
from icc import adobe_rgb_profile, adobe_rgb_to_srgb, rgb_profile
from PIL import Image

from adain.picture import image_size, load_image, srgb_profile

ADOBE_ORANGE = (200, 120, 60)  # in sRGB's gamut, and 24 levels of red away from its sRGB twin


@pytest.mark.parametrize("ext", [".jpg", ".png", ".webp", ".tif"])
def test_adobe_rgb_is_converted_to_srgb(tmp_path, ext):
    path = tmp_path / f"adobe{ext}"
    extra = {"quality": 100} if ext in (".jpg", ".webp") else {}
    Image.new("RGB", (16, 16), ADOBE_ORANGE).save(path, icc_profile=adobe_rgb_profile(), **extra)
    pixel = load_image(path)[8, 8] * 255
    expected = adobe_rgb_to_srgb(ADOBE_ORANGE)
    assert np.abs(pixel - expected).max() <= 3, (pixel, expected)
    assert np.abs(pixel - ADOBE_ORANGE).max() > 15  # not read as if it were sRGB


def test_srgb_tagged_file_keeps_its_exact_values(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, (12, 10, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "srgb.png", icc_profile=srgb_profile())
    assert np.array_equal(load_image(tmp_path / "srgb.png"), pixels.astype(np.float32) / 255)


def test_cmyk_jpeg_is_read_as_rgb(tmp_path):
    cmyk = Image.new("CMYK", (16, 8), (0, 0, 0, 0))  # paper white
    cmyk.paste((0, 255, 255, 0), (0, 0, 8, 8))  # magenta + yellow ink: red
    cmyk.save(tmp_path / "cmyk.jpg", quality=100)
    image = load_image(tmp_path / "cmyk.jpg") * 255
    assert np.abs(image[4, 2] - (255, 0, 0)).max() <= 3
    assert np.abs(image[4, 13] - (255, 255, 255)).max() <= 3


def test_palette_png_with_transparency_is_white_where_transparent(tmp_path):
    palette = Image.new("P", (4, 2), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0])  # 0: black (made transparent), 1: red
    palette.putpixel((0, 0), 0)
    palette.save(tmp_path / "p.png", transparency=0)
    image = load_image(tmp_path / "p.png")
    assert image[0, 0].tolist() == [1.0, 1.0, 1.0] and image[1, 3].tolist() == [1.0, 0.0, 0.0]


def test_sixteen_bit_rgb_png_is_read_to_within_one_level(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 65536, (8, 8, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "deep.png"), rgb[..., ::-1])  # OpenCV writes BGR
    assert np.abs(load_image(tmp_path / "deep.png") - rgb / 65535).max() <= 1 / 255


def test_exif_orientation_in_a_png_is_applied(tmp_path):
    pixels = np.full((2, 3, 3), ADOBE_ORANGE, np.uint8)
    pixels[0, 0] = 255  # a white top-left corner
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned 90 degrees clockwise
    Image.fromarray(pixels).save(tmp_path / "turned.png", exif=exif,
                                 icc_profile=adobe_rgb_profile())
    image = load_image(tmp_path / "turned.png")
    assert image.shape == (3, 2, 3) and image_size(tmp_path / "turned.png") == (2, 3)
    assert image[0, 1].tolist() == [1.0, 1.0, 1.0]  # the corner went to the top right
    assert np.abs(image[2, 0] * 255 - adobe_rgb_to_srgb(ADOBE_ORANGE)).max() <= 1  # converted


def test_a_linear_srgb_profile_is_not_taken_for_srgb(tmp_path):
    srgb_d50 = {"r": (0.43607, 0.22249, 0.01392), "g": (0.38515, 0.71687, 0.09708),
                "b": (0.14307, 0.06061, 0.71410)}  # sRGB's primaries, Bradford-adapted
    linear = rgb_profile("Linear sRGB", srgb_d50, 256)  # gamma 1.0
    Image.new("RGB", (4, 4), (128, 128, 128)).save(tmp_path / "linear.png", icc_profile=linear)
    encoded = 1.055 * (128 / 255) ** (1 / 2.4) - 0.055  # linear half grey in sRGB: 188
    assert np.abs(load_image(tmp_path / "linear.png")[0, 0] * 255 - encoded * 255).max() <= 2


def test_the_pixel_limit_rises_with_free_memory_and_is_restored(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from helpers import write_image

    from adain import AdaINError, picture

    before = Image.MAX_IMAGE_PIXELS
    memory = SimpleNamespace(available=200 * 2**30)  # 200 GiB free: 6.7 gigapixels may decode
    monkeypatch.setattr(picture.psutil, "virtual_memory", lambda: memory)
    assert picture.pixel_limit() == 200 * 2**30 // picture.DECODE_BYTES_PER_PIXEL
    memory.available = 2**20  # next to nothing free: Pillow's own limit stays
    assert picture.pixel_limit() == picture._PIL_LIMIT
    path = write_image(tmp_path / "a.png", (40, 30))
    seen = []
    monkeypatch.setattr(picture, "pixel_limit", lambda: seen.append(1) or 1000)
    with pytest.raises(AdaINError, match="too large to decode in the free memory"):
        picture.load_image(path)  # 1200 pixels over a limit of 1000 (twice over: refused)
    assert seen and Image.MAX_IMAGE_PIXELS == before
