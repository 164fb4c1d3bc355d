import torch

from adain import Decoder, VGGEncoder


def test_parameter_counts_match_the_published_networks():
    assert sum(p.numel() for p in VGGEncoder().parameters()) == 3_505_740
    assert sum(p.numel() for p in Decoder().parameters()) == 3_505_219


def test_layers_are_named():
    names = {k.split(".")[0] for k in VGGEncoder().state_dict()}
    assert {"preprocess", "conv1_1", "conv2_1", "conv3_1", "conv4_1"} <= names
    assert "conv1_1" in {k.split(".")[0] for k in Decoder().state_dict()}


def test_feature_shapes_round_up_for_odd_sizes():
    feats = VGGEncoder()(torch.rand(2, 3, 37, 23))
    assert feats.relu1_1.shape == (2, 64, 37, 23)
    assert feats.relu2_1.shape == (2, 128, 19, 12)
    assert feats.relu3_1.shape == (2, 256, 10, 6)
    assert feats.relu4_1.shape == (2, 512, 5, 3)
    assert Decoder()(feats.relu4_1).shape == (2, 3, 40, 24)


def test_imagenet_preprocess_folds_the_normalisation():
    encoder = VGGEncoder()
    encoder.set_imagenet_preprocess()
    x = torch.rand(1, 3, 4, 4)
    mean = torch.tensor([0.485, 0.456, 0.406]).reshape(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).reshape(1, 3, 1, 1)
    assert torch.allclose(encoder.preprocess(x), (x - mean) / std, atol=1e-5)
