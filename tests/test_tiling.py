"""Exact tiled stylisation (adain/tiling.py): tiles give the whole picture's result."""

import logging

import numpy as np
import pytest
import torch
from helpers import run, weights_args, write_image
from PIL import Image

from adain import AdaINError, StyleOptions, device, ops, tiling
from adain.device import BASE_BYTES, BYTES_PER_PIXEL
from adain.images import tensor_to_uint8

FULL = dict(content_size=0, style_size=0)


def picture(h: int, w: int, seed: int) -> torch.Tensor:
    """A smooth random picture (1, 3, h, w) in [0, 1]."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, 3, max(h // 8, 2), max(w // 8, 2), generator=g)
    return torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear")


def disc(h: int, w: int) -> torch.Tensor:
    """A mask (1, 1, h, w): white in an off-centre disc that crosses tile edges."""
    y, x = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return (((y - 0.4 * h) ** 2 + (x - 0.6 * w) ** 2) < (0.35 * min(h, w)) ** 2).float()[None, None]


@pytest.fixture(scope="module")
def styles(stylizer):
    return [stylizer.style_stats(picture(72, 64, seed)[0].permute(1, 2, 0).numpy(), 0)
            for seed in (10, 11)]


def assert_same(tiled: torch.Tensor, whole: torch.Tensor) -> None:
    assert tiled.shape == whole.shape
    assert (tiled - whole).abs().max().item() < 1e-4
    diff = tensor_to_uint8(tiled).astype(int) - tensor_to_uint8(whole).astype(int)
    assert np.abs(diff).max() <= 1
    assert whole.std().item() > 0.01  # a picture, not a flat field


@pytest.mark.parametrize("h, w, tile", [
    (131, 97, 64),  # odd both ways; 64 divides neither
    (80, 144, 72),  # 72 divides neither
    (77, 201, 96),
    (128, 64, 64),  # 64 divides both: whole tiles only
    (131, 97, 100),  # not a multiple of 8: rounded down to 96
    (131, 97, 256),  # bigger than the picture: one tile
])
def test_tiled_equals_whole_at_any_size(stylizer, styles, h, w, tile):
    content = picture(h, w, seed=h + w)
    whole = stylizer.stylize_tensor(content, styles[:1], StyleOptions(tile=0))
    assert_same(stylizer.stylize_tensor(content, styles[:1], StyleOptions(tile=tile)), whole)


@pytest.mark.parametrize("case", ["alpha", "weights", "mask one style", "mask two styles"])
def test_tiled_equals_whole_with_every_option(stylizer, styles, case):
    h, w = 75, 131
    content = picture(h, w, seed=3)
    stats, mask, fields = styles[:1], None, {}
    if case == "alpha":
        fields = dict(alpha=0.5)
    elif case == "weights":
        stats, fields = styles, dict(interpolation_weights=(0.3, 0.7))
    else:
        mask = disc(h, w)
        stats = styles[:1] if case == "mask one style" else styles
    whole = stylizer.stylize_tensor(content, stats, StyleOptions(tile=0, **fields), mask)
    tiled = stylizer.stylize_tensor(content, stats, StyleOptions(tile=64, **fields), mask)
    assert_same(tiled, whole)


@pytest.mark.parametrize("case", ["preserve colour", "mask", "blend at half alpha"])
def test_stylize_of_an_array_or_picture_is_the_same_in_tiles(stylizer, case):
    content = tensor_to_uint8(picture(77, 201, seed=4))
    style = [tensor_to_uint8(picture(64, 72, seed=5))]
    fields: dict = dict(preserve_color=True)
    if case == "mask":
        fields = dict(mask=Image.fromarray(tensor_to_uint8(disc(77, 201).expand(1, 3, -1, -1))))
        style.append(Image.fromarray(tensor_to_uint8(picture(80, 64, seed=6))))
    elif case == "blend at half alpha":
        fields = dict(alpha=0.5, interpolation_weights=(1.0, 2.0))
        style.append(tensor_to_uint8(picture(80, 64, seed=6)))
    content = Image.fromarray(content) if case == "mask" else content
    whole = np.asarray(stylizer.stylize(content, style, StyleOptions(tile=0, **FULL, **fields)))
    tiled = np.asarray(stylizer.stylize(content, style, StyleOptions(tile=64, **FULL, **fields)))
    assert tiled.shape == whole.shape == (77, 201, 3)
    assert np.abs(tiled.astype(int) - whole.astype(int)).max() <= 1
    assert whole.std() > 3


def test_channel_sums_over_tiles_equal_the_whole_map():
    g = torch.Generator().manual_seed(0)
    feat = 1000 + torch.randn(1, 16, 13, 11, generator=g)  # a large mean tests float64 sums
    fg = (torch.rand(1, 1, 13, 11, generator=g) > 0.6).float()
    whole, regions = tiling.ChannelSums(16), tiling.ChannelSums(16, 2)
    both = torch.cat([fg, 1 - fg])
    for t in tiling.tiles(13, 11, 8):  # blocks of 8 x 8 feature positions and the rest
        part = feat[..., t.top:t.bottom, t.left:t.right]
        whole.add(part)
        regions.add(part, both[..., t.top:t.bottom, t.left:t.right])
    mean, std = whole.mean_std(ops.EPS)
    ref_mean, ref_std = ops.calc_mean_std(feat.double())
    torch.testing.assert_close(mean, ref_mean.float(), rtol=0, atol=1e-4)
    torch.testing.assert_close(std, ref_std.float(), rtol=1e-5, atol=1e-6)
    mean, std = regions.mean_std(ops.EPS)
    for r, region in enumerate((fg, 1 - fg)):
        ref_mean, ref_std = ops.masked_mean_std(feat.double(), region.double())
        torch.testing.assert_close(mean[r:r + 1], ref_mean.float(), rtol=0, atol=1e-4)
        torch.testing.assert_close(std[r:r + 1], ref_std.float(), rtol=1e-5, atol=1e-6)


def test_channel_sums_by_hand():
    sums = tiling.ChannelSums(1, 3)
    mask = torch.tensor([[1.0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0]])[:, None, None]
    sums.add(torch.tensor([[[[1.0, 2.0]]]]), mask[..., :2])  # two tiles of 1 x 2
    sums.add(torch.tensor([[[[3.0, 4.0]]]]), mask[..., 2:])
    mean, std = sums.mean_std(eps=0.01)
    assert sums.n.flatten().tolist() == [4, 1, 0]
    # 1..4: mean 2.5, unbiased variance 5/3; one value: variance 0; none: mean 0, variance 0
    torch.testing.assert_close(mean.flatten(), torch.tensor([2.5, 3.0, 0.0]))
    torch.testing.assert_close(std.flatten(), torch.tensor([5 / 3 + 0.01, 0.01, 0.01]).sqrt())


@pytest.mark.parametrize("h, w, size", [(131, 97, 64), (77, 201, 100), (8, 8, 64), (200, 9, 8),
                                        (1000, 3, 13)])
def test_tiles_cover_the_picture_once_at_offsets_of_8(h, w, size):
    count = np.zeros((h, w), int)
    found = tiling.tiles(h, w, size)
    side = size // 8 * 8
    for t in found:
        assert t.top % 8 == 0 and t.left % 8 == 0
        assert 0 < t.bottom - t.top <= side and 0 < t.right - t.left <= side
        count[t.top:t.bottom, t.left:t.right] += 1
    assert (count == 1).all()
    assert len(found) == -(-h // side) * -(-w // side)


def limit_memory(monkeypatch, free: int) -> None:
    """Simulate ``free`` bytes free on every device, where each module looks it up."""
    monkeypatch.setattr(tiling, "free_memory", lambda _device: free)
    monkeypatch.setattr(device, "free_memory", lambda _device: free)


def test_too_big_to_fit_whole_tiles_by_itself(stylizer, styles, monkeypatch, caplog):
    h, w = 200, 210  # a tile of 64 with its halo (144 x 144) needs half of the whole
    content = picture(h, w, seed=7)
    whole = stylizer.stylize_tensor(content, styles[:1], StyleOptions(tile=0))
    limit_memory(monkeypatch, BASE_BYTES + BYTES_PER_PIXEL * h * w - 1)  # tiles of 64 fit
    calls = []
    monkeypatch.setattr(stylizer, "on_tile", lambda done, total: calls.append((done, total)))
    with caplog.at_level(logging.WARNING, logger="adain.stylizer"):
        tiled = stylizer.stylize_tensor(content, styles[:1], StyleOptions())
    assert "stylising in tiles of 64 pixels" in caplog.text
    assert calls[-1] == (2 * 16, 2 * 16)  # 4 x 4 tiles of 64
    assert_same(tiled, whole)
    with pytest.raises(AdaINError, match=r"210x200 pixels; stylising it needs about .* GiB "
                                         r"but only .* GiB is free on cpu"):
        stylizer.stylize_tensor(content, styles[:1], StyleOptions(tile=0))


def test_a_tile_that_does_not_fit_beside_the_picture_is_refused(stylizer, styles, monkeypatch):
    h, w = 200, 210
    limit_memory(monkeypatch, BASE_BYTES + BYTES_PER_PIXEL * 100 * 100)  # not 144 x 144
    with pytest.raises(AdaINError, match=r"^big: a tile of 64 pixels with its halo is 144x144 "
                                         r"pixels; stylising it needs about"):
        stylizer.stylize_tensor(picture(h, w, 9), styles[:1], StyleOptions(), name="big")


def test_too_big_even_for_tiles_is_refused_in_one_line(stylizer, styles, monkeypatch):
    limit_memory(monkeypatch, 2**20)
    for tile in (None, 64):
        with pytest.raises(AdaINError, match=r"^big is 97x131 pixels; stylising in tiles it "
                                             r"needs about .* GiB but only 0.0 GiB is free") as e:
            stylizer.stylize_tensor(picture(131, 97, 8), styles[:1], StyleOptions(tile=tile),
                                    name="big")
        assert "\n" not in str(e.value)


@pytest.mark.parametrize("h, w, size", [(131, 97, 64), (77, 201, 256), (80, 144, 72)])
def test_on_tile_counts_every_tile_twice(stylizer, styles, monkeypatch, h, w, size):
    calls = []
    monkeypatch.setattr(stylizer, "on_tile", lambda done, total: calls.append((done, total)))
    stylizer.stylize_tensor(picture(h, w, 9), styles[:1], StyleOptions(tile=size))
    total = 2 * len(tiling.tiles(h, w, size))
    assert calls == [(done, total) for done in range(1, total + 1)]


def test_cli_tile_gives_the_same_picture(published_weights, tmp_path):
    content = write_image(tmp_path / "c.png", (97, 75), seed=1)
    style = write_image(tmp_path / "s.png", (64, 64), seed=2)
    for tile in (64, 0):
        result = run("stylize", content, "-s", style, "--tile", tile, "--content-size", 0,
                     "-o", tmp_path / f"out{tile}.png", *weights_args(published_weights))
        assert result.exit_code == 0, result.output
    tiled, whole = (np.asarray(Image.open(tmp_path / f"out{t}.png")).astype(int) for t in (64, 0))
    assert tiled.shape == whole.shape == (75, 97, 3)
    assert np.abs(tiled - whole).max() <= 1 and whole.std() > 3
    result = run("stylize", content, "-s", style, "--tile", 10, "-o", tmp_path / "no.png",
                 *weights_args(published_weights))
    assert result.exit_code == 1
    assert result.output.strip() == "error: tile must be 0 (never tile) or at least 64 pixels, " \
                                    "got 10"
    assert not (tmp_path / "no.png").exists()


def test_a_style_too_large_to_encode_whole_is_encoded_in_tiles(stylizer, monkeypatch):
    art = (np.clip(picture(150, 170, 11)[0].permute(1, 2, 0).numpy(), 0, 1) * 255).astype(
        np.uint8)
    whole = stylizer.style_stats(art, 0)
    monkeypatch.setattr(tiling, "needs_tiles", lambda h, w, device: True)
    monkeypatch.setattr(tiling, "auto_tile_size", lambda device, reserve=0: 64)
    stylizer._cache.clear()
    tiled = stylizer.style_stats(art, 0)
    torch.testing.assert_close(tiled.mean, whole.mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tiled.std, whole.std, atol=1e-5, rtol=1e-5)


def test_style_scale_sizes_the_style_from_the_content(stylizer):
    photo = (np.clip(picture(72, 90, 12)[0].permute(1, 2, 0).numpy(), 0, 1) * 255).astype(
        np.uint8)
    art = (np.clip(picture(120, 100, 13)[0].permute(1, 2, 0).numpy(), 0, 1) * 255).astype(
        np.uint8)
    scaled = stylizer.stylize(photo, art, StyleOptions(content_size=0, style_scale=0.5))
    sized = stylizer.stylize(photo, art, StyleOptions(content_size=0, style_size=36))
    other = stylizer.stylize(photo, art, StyleOptions(content_size=0, style_size=72))
    assert np.array_equal(np.asarray(scaled), np.asarray(sized))  # 0.5 x the shorter side, 72
    assert not np.array_equal(np.asarray(scaled), np.asarray(other))
    with pytest.raises(AdaINError, match="style scale must be a positive number"):
        StyleOptions(style_scale=0)
