import numpy as np
import pytest
import torch
from helpers import write_image
from PIL import Image
from published import random_decoder, random_vgg, reference_coral, reference_transfer

from adain import AdaINError, StyleOptions, Stylizer
from adain import device as device_module
from adain.images import save_image
from adain.picture import load_image

FULL = dict(content_size=0, style_size=0)  # keep the original sizes, as the parity runs do


@pytest.fixture(scope="module")
def reference():
    return random_vgg().eval(), random_decoder().eval()


def saved_pixels(image, path) -> np.ndarray:
    save_image(image, path)
    return np.asarray(Image.open(path)).astype(int)


def as_tensor(path):
    return torch.from_numpy(load_image(path)).permute(2, 0, 1)[None]


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_matches_the_published_method(stylizer, reference, tmp_path, alpha):
    content = write_image(tmp_path / "c.png", (48, 64), seed=1)
    style = write_image(tmp_path / "s.png", (40, 56), seed=2)
    ours = saved_pixels(stylizer.stylize(content, style, StyleOptions(alpha=alpha, **FULL)),
                        tmp_path / "ours.png")
    with torch.no_grad():
        ref = reference_transfer(*reference, as_tensor(content), as_tensor(style), alpha)
    assert np.abs(ours - saved_pixels(ref, tmp_path / "ref.png")).max() <= 1
    assert ours.std() > 10  # a picture, not a flat field


def test_interpolation_matches_the_published_method(stylizer, reference, tmp_path):
    content = write_image(tmp_path / "c.png", (48, 48), seed=1)
    styles = [write_image(tmp_path / f"s{i}.png", (48, 48), seed=10 + i) for i in range(2)]
    options = StyleOptions(interpolation_weights=(0.3, 0.7), **FULL)
    ours = saved_pixels(stylizer.stylize(content, styles, options), tmp_path / "ours.png")
    with torch.no_grad():
        ref = reference_transfer(*reference, as_tensor(content),
                                 torch.cat([as_tensor(s) for s in styles]), 1.0, [0.3, 0.7])
    assert np.abs(ours - saved_pixels(ref, tmp_path / "ref.png")).max() <= 1


def test_preserve_color_matches_the_published_method(stylizer, reference, tmp_path):
    content = write_image(tmp_path / "c.png", (40, 40), seed=1)
    style = write_image(tmp_path / "s.png", (40, 40), seed=2)
    ours = saved_pixels(stylizer.stylize(content, style,
                                         StyleOptions(preserve_color=True, **FULL)),
                        tmp_path / "ours.png")
    recoloured = reference_coral(as_tensor(style)[0], as_tensor(content)[0])[None]
    with torch.no_grad():
        ref = reference_transfer(*reference, as_tensor(content), recoloured)
    assert np.abs(ours - saved_pixels(ref, tmp_path / "ref.png")).max() <= 1


def test_alpha_zero_reconstructs_the_content(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (40, 32), seed=3)
    style = write_image(tmp_path / "s.png", (40, 32), seed=4)
    out = np.asarray(stylizer.stylize(content, style, StyleOptions(alpha=0.0, **FULL)))
    with torch.no_grad():
        expected = stylizer.decoder(stylizer.encoder.encode(as_tensor(content)))
    save_image(expected, tmp_path / "e.png")
    assert np.array_equal(out, np.asarray(Image.open(tmp_path / "e.png")))


def test_weights_one_zero_equal_the_single_style(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (40, 40), seed=1)
    first = write_image(tmp_path / "a.png", (64, 48), seed=2)
    second = write_image(tmp_path / "b.png", (24, 32), seed=3)  # styles of different sizes
    blend = stylizer.stylize(content, [first, second],
                             StyleOptions(interpolation_weights=(1, 0), **FULL))
    single = stylizer.stylize(content, first, StyleOptions(**FULL))
    assert np.abs(np.asarray(blend).astype(int) - np.asarray(single)).max() <= 1


@pytest.mark.parametrize("size", [(37, 23), (9, 9), (65, 130)])
def test_output_has_the_content_size_for_odd_sizes(stylizer, tmp_path, size):
    content = write_image(tmp_path / "c.png", size, seed=1)
    style = write_image(tmp_path / "s.png", (30, 30), seed=2)
    assert stylizer.stylize(content, style, StyleOptions(**FULL)).size == size


def test_sizes_resize_the_shorter_side_and_crop(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (90, 60), seed=1)
    style = write_image(tmp_path / "s.png", (30, 30), seed=2)
    options = StyleOptions(content_size=40, style_size=0)
    assert stylizer.stylize(content, style, options).size == (60, 40)
    options = StyleOptions(content_size=40, style_size=20, crop=True)
    assert stylizer.stylize(content, style, options).size == (40, 40)


def test_too_small_image_is_refused(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (8, 20), seed=1)
    with pytest.raises(AdaINError, match="at least 9"):
        stylizer.stylize(content, content, StyleOptions(**FULL))


def test_mask_regions(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (48, 48), seed=1)
    first = write_image(tmp_path / "a.png", (48, 48), seed=2)
    second = write_image(tmp_path / "b.png", (48, 48), seed=3)
    white = tmp_path / "white.png"
    Image.new("L", (48, 48), 255).save(white)
    black = tmp_path / "black.png"
    Image.new("L", (48, 48), 0).save(black)

    def run(styles, **kw):
        return np.asarray(stylizer.stylize(content, styles, StyleOptions(**FULL, **kw))).astype(int)

    assert np.abs(run([first], mask=white) - run([first])).max() <= 1
    assert np.abs(run([first, second], mask=black) - run([second])).max() <= 1
    assert np.abs(run([first], mask=black) - run([first], alpha=0.0)).max() <= 1
    half = tmp_path / "half.png"
    Image.fromarray(np.repeat([[255] * 24 + [0] * 24], 48, axis=0).astype(np.uint8)).save(half)
    split = run([first, second], mask=half)
    assert not np.array_equal(split, run([first])) and not np.array_equal(split, run([second]))


def test_api_takes_pil_images_and_arrays_and_caches_styles(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    style_path = write_image(tmp_path / "s.png", (32, 32), seed=2)
    with Image.open(style_path) as pil:
        pil.load()
    stylizer._cache.clear()
    from_path = stylizer.stylize(content, style_path, StyleOptions(**FULL))
    from_pil = stylizer.stylize(Image.open(content), pil, StyleOptions(**FULL))
    from_array = stylizer.stylize(np.asarray(Image.open(content)), np.asarray(pil),
                                  StyleOptions(**FULL))
    assert np.array_equal(np.asarray(from_path), np.asarray(from_pil))
    assert np.array_equal(np.asarray(from_path), np.asarray(from_array))
    assert len(stylizer._cache) == 3  # one entry per style source
    calls = []
    original = stylizer.encoder.encode
    stylizer.encoder.encode = lambda x: calls.append(x.shape) or original(x)
    try:
        stylizer.stylize(content, style_path, StyleOptions(**FULL))
        stylizer.stylize(content, pil, StyleOptions(**FULL))
    finally:
        del stylizer.encoder.encode
    assert len(calls) == 2 and len(stylizer._cache) == 3  # only the contents were encoded


def test_picture_too_large_for_memory_is_refused(stylizer, tmp_path, monkeypatch):
    monkeypatch.setattr(device_module, "psutil", type("P", (), {"virtual_memory": staticmethod(
        lambda: type("M", (), {"available": 100 * 2**20})())}))
    content = write_image(tmp_path / "c.png", (64, 64), seed=1)
    with pytest.raises(AdaINError, match=r"64x64 pixels; decoding it needs about .* GiB"):
        stylizer.stylize(content, content, StyleOptions(**FULL))


def test_elongated_picture_is_refused_before_it_is_resized(stylizer, tmp_path):
    content = write_image(tmp_path / "tall.png", (2, 4000), seed=1)  # 512 x 1,024,000 at 512
    with pytest.raises(AdaINError, match=r"tall.png is 512x1024000 pixels; \w+ it needs"):
        stylizer.stylize(content, content, StyleOptions(style_size=0))


def test_mask_is_resized_and_cropped_like_the_content(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (128, 64), seed=1)
    style = write_image(tmp_path / "s.png", (32, 32), seed=2)
    mask = np.zeros((64, 128), np.uint8)
    mask[:, :32] = 255  # white only in the left quarter, which the crop removes
    Image.fromarray(mask).save(tmp_path / "m.png")
    cropped = StyleOptions(content_size=32, style_size=0, crop=True)
    with_mask = stylizer.stylize(content, style, StyleOptions(
        content_size=32, style_size=0, crop=True, mask=tmp_path / "m.png"))
    content_only = stylizer.stylize(content, style, StyleOptions(
        content_size=32, style_size=0, crop=True, alpha=0.0))
    assert stylizer.stylize(content, style, cropped).size == with_mask.size == (32, 32)
    assert np.abs(np.asarray(with_mask).astype(int) - np.asarray(content_only)).max() <= 1


def test_mask_of_another_size_and_aspect_is_stretched_to_the_content(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (128, 64), seed=1)
    style = write_image(tmp_path / "s.png", (32, 32), seed=2)
    square = np.zeros((40, 40), np.uint8)
    square[:, :10] = 255  # stretched to 2:1, the left quarter again, which the crop removes
    Image.fromarray(square).save(tmp_path / "square.png")
    options = dict(content_size=32, style_size=0, crop=True)
    with_mask = stylizer.stylize(content, style, StyleOptions(**options,
                                                              mask=tmp_path / "square.png"))
    content_only = stylizer.stylize(content, style, StyleOptions(**options, alpha=0.0))
    assert np.abs(np.asarray(with_mask).astype(int) - np.asarray(content_only)).max() <= 1
    assert np.asarray(with_mask).std() > 1  # a picture, not an error or a flat field


def test_pil_sources_are_converted_from_their_colour_profile(stylizer, tmp_path):
    from icc import adobe_rgb_profile

    path = write_image(tmp_path / "adobe.png", (24, 24), seed=3)
    with Image.open(path) as raw:
        raw.save(path, icc_profile=adobe_rgb_profile())
    with Image.open(path) as pil:
        from_pil = stylizer.prepare(pil, 0, False)
    from_file = stylizer.prepare(path, 0, False)
    with Image.open(path) as pil:
        as_srgb = torch.from_numpy(np.asarray(pil.convert("RGB"), np.float32) / 255)
    assert torch.equal(from_pil, from_file)
    assert (from_file[0].permute(1, 2, 0) - as_srgb).abs().max() > 5 / 255


def test_invalid_options_are_refused():
    with pytest.raises(AdaINError, match="alpha"):
        StyleOptions(alpha=1.5)
    with pytest.raises(AdaINError, match="cannot be combined"):
        StyleOptions(interpolation_weights=(1, 1), mask="m.png")
    for weights in ((float("nan"), 1.0), (float("inf"), 1.0), (-1.0, 2.0), (0.0, 0.0)):
        with pytest.raises(AdaINError, match="finite, non-negative"):
            StyleOptions(interpolation_weights=weights)
    with pytest.raises(AdaINError, match="at least 9"):
        StyleOptions(content_size=5)


def test_wrong_number_of_styles_is_refused(stylizer, tmp_path):
    content = write_image(tmp_path / "c.png", (32, 32), seed=1)
    with pytest.raises(AdaINError, match="need interpolation weights"):
        stylizer.stylize(content, [content, content], StyleOptions(**FULL))
    with pytest.raises(AdaINError, match="2 interpolation weights for 3 styles"):
        stylizer.stylize(content, [content] * 3, StyleOptions(interpolation_weights=(1, 1), **FULL))


def test_decoder_trained_for_another_encoder_warns(published_weights, tmp_path, caplog):
    from adain import Decoder, save_weights

    save_weights(Decoder(), tmp_path / "d.safetensors", "decoder", encoder="other_vgg")
    Stylizer(published_weights[0], tmp_path / "d.safetensors", device="cpu")
    assert "trained against the encoder 'other_vgg'" in caplog.text
