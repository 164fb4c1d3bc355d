import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from adain import AdaINError
from adain.images import array_to_tensor, center_crop, resize_shorter, save_image
from adain.picture import find_images, load_image


def test_greyscale_becomes_rgb(media):
    image = load_image(media / "bad" / "hopper_gray.jpg")
    assert image.shape == (128, 128, 3)
    assert np.array_equal(image[..., 0], image[..., 2])


def test_exif_orientation_is_applied(media):
    path = media / "bad" / "hopper_orientation_6.jpg"
    with Image.open(path) as raw:
        rotated = np.asarray(raw.convert("RGB").transpose(Image.Transpose.ROTATE_270))
    assert np.array_equal(load_image(path), rotated.astype(np.float32) / 255)


def test_sixteen_bit_is_scaled_and_transparency_is_white(media):
    path = media / "bad" / "i_trns.png"
    with Image.open(path) as raw:
        values = np.asarray(raw)
        transparent = raw.info["transparency"]
    image = load_image(path)
    opaque = values != transparent
    assert np.allclose(image[opaque][:, 0], values[opaque] / 65535.0)
    assert np.all(image[~opaque] == 1.0)


def test_sixteen_bit_full_range_is_not_clipped(tmp_path):
    ramp = np.linspace(0, 65535, 64 * 64).astype(np.uint16).reshape(64, 64)
    Image.fromarray(ramp).save(tmp_path / "ramp16.png")
    image = load_image(tmp_path / "ramp16.png")
    assert image.max() == pytest.approx(1.0) and image[32, 0, 0] == pytest.approx(0.5, abs=0.01)


def test_cmyk_becomes_rgb_as_opencv_decodes_it(media):
    path = media / "bad" / "pil_sample_cmyk.jpg"
    image = load_image(path)
    opencv = cv2.imread(str(path), cv2.IMREAD_COLOR)[..., ::-1] / 255.0  # an independent decoder
    assert image.shape == (100, 100, 3)
    assert np.abs(image - opencv).max() <= 3 / 255


def test_alpha_is_composited_on_white(media):
    path = media / "bad" / "transparent.png"
    with Image.open(path) as raw:
        alpha = np.asarray(raw)[..., 3]
    image = load_image(path)
    assert np.all(image[alpha == 0] == 1.0)


@pytest.mark.parametrize("name", ["truncated_jpeg.jpg"])
def test_truncated_file_is_one_clear_error(media, name):
    with pytest.raises(AdaINError, match=f"{name}: the image is corrupt or truncated"):
        load_image(media / "bad" / name)


def test_non_image_is_one_clear_error(tmp_path):
    (tmp_path / "notes.jpg").write_text("hello")
    with pytest.raises(AdaINError, match="notes.jpg: not an image file"):
        load_image(tmp_path / "notes.jpg")


def test_resize_keeps_aspect_and_crop_is_central():
    image = torch.rand(1, 3, 300, 451)
    resized = resize_shorter(image, 100)
    assert resized.shape[-2:] == (100, 150)
    assert resize_shorter(image, 0) is image
    assert center_crop(resized, 100).shape[-2:] == (100, 100)


def test_save_rounds_like_save_image_and_is_atomic(tmp_path):
    image = torch.tensor([0.0, 0.5 / 255, 1.5 / 255, 1.2]).reshape(1, 1, 1, 4).expand(1, 3, 1, 4)
    save_image(image, tmp_path / "x.png")
    pixels = np.asarray(Image.open(tmp_path / "x.png"))[0, :, 0]
    assert pixels.tolist() == [0, 1, 2, 255]
    assert [p.name for p in tmp_path.iterdir()] == ["x.png"]


def test_unwritable_extension_is_refused(tmp_path):
    with pytest.raises(AdaINError, match="cannot write"):
        save_image(torch.zeros(1, 3, 4, 4), tmp_path / "x.gif")


def test_arrays_of_any_depth_become_tensors():
    rgba = np.zeros((4, 5, 4), np.uint8)
    assert torch.all(array_to_tensor(rgba) == 1.0)  # fully transparent -> white
    assert array_to_tensor(np.full((4, 5, 3), 65535, np.uint16)).max() == 1.0


def test_find_images_is_recursive_and_skips_hidden(tmp_path):
    (tmp_path / "a" / ".hidden").mkdir(parents=True)
    for name in ("a/x.jpg", "a/.hidden/y.png", "b.PNG", "c.txt"):
        (tmp_path / name).write_bytes(b"")
    assert [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)] == ["a/x.jpg",
                                                                                    "b.PNG"]


def test_saved_files_are_tagged_srgb_and_an_exif_too_long_for_jpeg_is_dropped(tmp_path):
    from adain.picture import srgb_profile

    exif = Image.Exif()
    exif[0x010E] = "x" * 70000  # more than one JPEG marker holds; PNG takes it
    for name, kept in (("a.jpg", False), ("a.png", True), ("a.bmp", False)):
        save_image(torch.zeros(1, 3, 4, 4), tmp_path / name, exif=exif.tobytes())
        with Image.open(tmp_path / name) as written:
            assert (0x010E in written.getexif()) == kept
            assert written.info.get("icc_profile") == (None if name.endswith("bmp")
                                                       else srgb_profile())
