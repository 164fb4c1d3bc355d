"""StyleAugment: style randomisation inside a training loop, from a style bank."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import write_image

from adain import AdaINError, StyleAugment, StyleOptions, StyleStats
from adain.dataset.bank import StyleBank, StyleRecipe


@pytest.fixture(scope="module")
def styles(tmp_path_factory):
    folder = tmp_path_factory.mktemp("styles")
    for i in range(3):
        write_image(folder / f"s{i}.png", (40 + 4 * i, 36), seed=10 + i)
    return folder


@pytest.fixture(scope="module")
def bank_file(styles, published_weights, tmp_path_factory):
    augment = StyleAugment(styles, *published_weights, style_size=32)
    from adain.dataset.bank import build_bank
    from adain.picture import find_images
    from adain.weights import load_encoder

    encoder = load_encoder(published_weights[0])
    bank = build_bank(find_images(styles), styles, encoder.module, encoder.sha256,
                      StyleRecipe(32), torch.device("cpu"))
    assert bank.names == augment.style_names == ["s0.png", "s1.png", "s2.png"]
    return bank.save(tmp_path_factory.mktemp("bank") / "bank.safetensors")


def batch(n=4, size=(40, 48), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, *size, generator=generator)


def test_p_zero_is_the_identity(bank_file, published_weights):
    augment = StyleAugment(bank_file, *published_weights, p=0.0)
    images = batch()
    assert augment(images) is images


def test_p_one_alpha_one_single_style_equals_the_transfer(styles, published_weights, stylizer):
    style = styles / "s1.png"
    augment = StyleAugment([style], *published_weights, p=1.0, alpha=1.0, style_size=32)
    images = batch(2, (44, 37))  # a width that is not a multiple of 8
    stats = stylizer.style_stats(style, 32)
    for i in range(2):
        expected = stylizer.stylize_tensor(images[i:i + 1], [stats]).clamp(0, 1)
        torch.testing.assert_close(augment(images)[i:i + 1], expected, atol=1e-5, rtol=0)


def test_the_same_generator_seed_gives_the_same_batch(bank_file, published_weights):
    augment = StyleAugment(bank_file, *published_weights, p=0.5, alpha=(0.3, 1.0), mix=0.5)
    images = batch(6)
    first = augment(images, torch.Generator().manual_seed(7))
    again = augment(images, torch.Generator().manual_seed(7))
    other = augment(images, torch.Generator().manual_seed(8))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    kept = [torch.equal(first[i], images[i]) for i in range(6)]
    assert any(kept) and not all(kept)  # p=0.5: some images stylised, some left alone


def test_a_generator_given_to_the_module_is_used(bank_file, published_weights):
    make = lambda: StyleAugment(bank_file, *published_weights, p=0.5,  # noqa: E731
                                generator=torch.Generator().manual_seed(3))
    images = batch(6)
    assert torch.equal(make()(images), make()(images))


def test_mixing_two_copies_of_one_style_is_that_style(styles, published_weights):
    style = styles / "s0.png"
    single = StyleAugment([style], *published_weights, p=1.0, style_size=32)
    bank = StyleBank(["a", "b"], single.style_mean.repeat(2, 1), single.style_std.repeat(2, 1),
                     StyleRecipe(32), _sha(published_weights))
    mixed = StyleAugment(bank, *published_weights, p=1.0, mix=1.0)
    images = batch(3)
    torch.testing.assert_close(mixed(images), single(images), atol=1e-5, rtol=0)


def test_mixing_blends_the_statistics(bank_file, published_weights, stylizer, styles):
    augment = StyleAugment(bank_file, *published_weights, p=1.0, mix=1.0)
    images = batch(1)
    generator = torch.Generator().manual_seed(5)
    out = augment(images, generator)
    draws = augment._draw(1, torch.Generator().manual_seed(5))
    names = augment.style_names
    first = stylizer.style_stats(styles / names[int(draws["style"])], 32)
    second = stylizer.style_stats(styles / names[int(draws["other"])], 32)
    weight = float(draws["weight"])
    expected = stylizer.stylize_tensor(images, [first, second], StyleOptions(
        interpolation_weights=(weight, 1 - weight))).clamp(0, 1)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=0)


def test_shape_dtype_and_device_are_kept_and_no_gradient_reaches_the_weights(
        bank_file, published_weights):
    augment = StyleAugment(bank_file, *published_weights, p=1.0)
    images = batch(2).double()
    out = augment(images)
    assert out.shape == images.shape and out.dtype == torch.float64
    assert out.device == images.device and 0.0 <= float(out.min()) <= float(out.max()) <= 1.0
    assert not any(p.requires_grad for p in augment.parameters())
    model = torch.nn.Conv2d(3, 1, 3)  # a training step on augmented images
    loss = model(augment(batch(2))).mean()
    loss.backward()
    assert model.weight.grad is not None
    assert all(p.grad is None for p in augment.parameters())
    augment.train()
    assert not augment.encoder.training and not augment.decoder.training


def test_works_in_a_torchvision_v2_pipeline(bank_file, published_weights):
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    augment = StyleAugment(bank_file, *published_weights, p=1.0)
    pipeline = v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True), augment])
    picture = np.random.default_rng(0).integers(0, 255, (36, 44, 3), dtype=np.uint8)
    out = pipeline(picture)
    assert isinstance(out, tv_tensors.Image) and out.shape == (3, 36, 44)


def test_a_bank_of_other_weights_and_bad_input_are_refused(bank_file, published_weights,
                                                          tmp_path):
    from published import random_vgg, save_published

    other = save_published(random_vgg(seed=99), tmp_path / "other.pth")
    with pytest.raises(AdaINError, match="other encoder weights"):
        StyleAugment(bank_file, other, published_weights[1])
    with pytest.raises(AdaINError, match="no such style bank"):
        StyleAugment(tmp_path / "missing.safetensors", *published_weights)
    augment = StyleAugment(bank_file, *published_weights, p=1.0)
    with pytest.raises(AdaINError, match=r"\(N, 3, H, W\)"):
        augment(torch.rand(2, 1, 32, 32))
    with pytest.raises(AdaINError, match="p and mix"):
        StyleAugment(bank_file, *published_weights, p=1.5)


def _sha(published_weights) -> str:
    from adain.weights import load_encoder

    return load_encoder(published_weights[0]).sha256


def test_style_stats_type_is_what_the_bank_holds(bank_file, stylizer, styles):
    bank = StyleBank.load(bank_file)
    stats = stylizer.style_stats(styles / "s2.png", 32)
    assert isinstance(stats, StyleStats)
    mean, std = bank.stats(torch.tensor([2]))
    torch.testing.assert_close(mean, stats.mean, atol=1e-6, rtol=0)
    torch.testing.assert_close(std, stats.std, atol=1e-6, rtol=0)
