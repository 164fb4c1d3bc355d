import torch
from published import reference_coral

from adain import ops


def test_calc_mean_std_hand_computed():
    feat = torch.tensor([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 2, 2)
    mean, std = ops.calc_mean_std(feat, eps=1e-5)
    # unbiased variance of 1..4 is 5/3; eps is added before the square root
    assert mean.shape == std.shape == (1, 1, 1, 1)
    assert torch.allclose(mean, torch.tensor(2.5))
    assert torch.allclose(std, torch.tensor((5 / 3 + 1e-5) ** 0.5))


def test_adain_output_has_the_style_statistics():
    torch.manual_seed(0)
    content = torch.randn(2, 8, 9, 7) * 3 + 1
    style = torch.randn(2, 8, 5, 11) * 0.5 - 2
    out = ops.adain(content, style)
    out_mean, out_std = ops.calc_mean_std(out, eps=0)
    style_mean, style_std = ops.calc_mean_std(style)
    assert torch.allclose(out_mean, style_mean, atol=1e-5)
    # content std includes eps, so the output std is style_std * sqrt(var / (var + eps))
    assert torch.allclose(out_std, style_std, rtol=1e-4)


def test_adain_gradient():
    torch.manual_seed(0)
    content = torch.randn(1, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    style = torch.randn(1, 3, 5, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(ops.adain, (content, style))


def test_masked_stats_with_a_full_mask_equal_the_plain_ones():
    torch.manual_seed(0)
    feat = torch.randn(1, 4, 6, 5)
    mean, std = ops.masked_mean_std(feat, torch.ones(1, 1, 6, 5))
    ref_mean, ref_std = ops.calc_mean_std(feat)
    assert torch.allclose(mean, ref_mean, atol=1e-6) and torch.allclose(std, ref_std, atol=1e-6)


def test_masked_adain_uses_only_the_region_statistics():
    torch.manual_seed(0)
    feat = torch.randn(1, 4, 6, 6)
    mask = torch.zeros(1, 1, 6, 6)
    mask[..., :, :3] = 1
    s_mean, s_std = torch.randn(1, 4, 1, 1), torch.rand(1, 4, 1, 1) + 0.5
    out = ops.masked_adain(feat, mask, s_mean, s_std)
    region = ops.adain_with_stats(feat[..., :3].contiguous(), s_mean, s_std)
    assert torch.allclose(out[..., :3], region, atol=1e-5)
    assert torch.all(out[..., 3:] == 0)


def test_blended_statistics_equal_the_weighted_sum_of_adain_results():
    torch.manual_seed(0)
    content = torch.randn(1, 8, 5, 5)
    styles = [torch.randn(1, 8, 4, 6) * (k + 1) for k in range(3)]
    stats = [ops.calc_mean_std(s) for s in styles]
    weights = torch.tensor([0.2, 0.5, 0.3])
    mean, std = ops.blend_stats(torch.cat([m for m, _ in stats]), torch.cat([s for _, s in stats]),
                                weights)
    expected = sum(w * ops.adain(content, s) for w, s in zip(weights, styles, strict=True))
    assert torch.allclose(ops.adain_with_stats(content, mean, std), expected, atol=1e-5)


def test_coral_matches_target_mean_and_covariance():
    torch.manual_seed(0)
    source = torch.rand(3, 20, 30)
    mix = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.1, 0.1, 0.8]])
    target = (mix @ torch.rand(3, 40 * 10)).reshape(3, 40, 10) * 0.5 + 0.2
    out = ops.coral(source, target).reshape(3, -1).double()
    tgt = target.reshape(3, -1).double()
    assert torch.allclose(out.mean(1), tgt.mean(1), atol=1e-5)
    assert torch.allclose(torch.cov(out), torch.cov(tgt), atol=1e-5)


def test_coral_equals_the_published_recolouring_for_images_of_one_size():
    torch.manual_seed(0)
    source, target = torch.rand(3, 16, 16), torch.rand(3, 16, 16) * 0.5
    assert torch.allclose(ops.coral(source, target), reference_coral(source, target), atol=1e-4)
