import pickle
from collections import OrderedDict

import pytest
import torch
from published import random_decoder, random_vgg
from safetensors.torch import save_file

from adain import AdaINError, Decoder, VGGEncoder
from adain.weights import (
    TORCHVISION_ENCODER_ID,
    convert_weights,
    load_decoder,
    load_encoder,
    read_weights,
    save_weights,
)


def test_published_files_load_into_named_layers(published_weights):
    vgg_path, decoder_path = published_weights
    reference_vgg, reference_decoder = random_vgg(), random_decoder()
    encoder = load_encoder(vgg_path)
    assert encoder.identity == "vgg_normalised"
    assert torch.equal(encoder.module.conv4_1.weight, reference_vgg[29].weight)
    assert torch.equal(encoder.module.preprocess.bias, reference_vgg[0].bias)
    decoder = load_decoder(decoder_path)
    assert torch.equal(decoder.module.conv1_1.weight, reference_decoder[28].weight)
    assert decoder.encoder_identity == "vgg_normalised"


def test_encoder_truncated_at_relu4_1_still_loads(tmp_path):
    state = {k: v for k, v in random_vgg().state_dict().items() if int(k.split(".")[0]) <= 30}
    torch.save(state, tmp_path / "vgg31.pth")
    assert load_encoder(tmp_path / "vgg31.pth").identity == "vgg_normalised"


def test_published_vgg_taps_match_the_index_keyed_network_to_relu5_1(published_weights):
    vgg = random_vgg()
    encoder = load_encoder(published_weights[0], last="relu5_1").module
    x = torch.rand(1, 3, 40, 36)
    taps = encoder.taps(x, ("relu1_1", "relu4_2", "relu5_1"))
    # relu1_1, relu4_2 and relu5_1 are modules 3, 33 and 43 of the published network.
    for layer, end in (("relu1_1", 4), ("relu4_2", 34), ("relu5_1", 44)):
        torch.testing.assert_close(taps[layer], vgg[:end](x), rtol=1e-4, atol=1e-4)
    assert torch.equal(encoder(x).relu4_1, vgg[:31](x))


def test_encoder_cut_at_relu4_1_is_refused_where_deeper_layers_are_needed(tmp_path):
    state = {k: v for k, v in random_vgg().state_dict().items() if int(k.split(".")[0]) <= 30}
    torch.save(state, tmp_path / "vgg31.pth")
    with pytest.raises(AdaINError, match=r"stops before relu5_1.*full vgg_normalised.pth"):
        load_encoder(tmp_path / "vgg31.pth", last="relu5_1")


def test_decoder_given_as_vgg_is_refused_with_a_hint(published_weights):
    with pytest.raises(AdaINError, match=r"decoder.pth holds 18 tensors that look like the "
                                         r"published decoder.*pass it as --decoder\?"):
        load_encoder(published_weights[1])
    with pytest.raises(AdaINError, match=r"pass it as --vgg\?"):
        load_decoder(published_weights[0])


def test_unknown_checkpoint_is_refused(tmp_path):
    torch.save({"fc.weight": torch.zeros(3, 3)}, tmp_path / "other.pth")
    with pytest.raises(AdaINError, match="other.pth holds 1 tensors that look like nothing"):
        load_decoder(tmp_path / "other.pth")
    torch.save({"model": {"fc.weight": torch.zeros(1)}, "step": 3}, tmp_path / "ckpt.pth")
    with pytest.raises(AdaINError, match="not a plain state_dict"):
        load_decoder(tmp_path / "ckpt.pth")


def test_wrong_shapes_are_refused(tmp_path):
    state = random_decoder().state_dict()
    state["28.weight"] = torch.zeros(4, 64, 3, 3)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(AdaINError, match=r"conv1_1.weight has shape \(4, 64, 3, 3\), expected "
                                         r"\(3, 64, 3, 3\)"):
        load_decoder(tmp_path / "bad.pth")


class RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_file_that_would_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"0.weight": torch.zeros(1), "x": RunsCode()}, path)
    with pytest.raises(AdaINError, match="refused .*could run code"):
        read_weights(path)
    assert "this must never run" not in capsys.readouterr().out


@pytest.mark.parametrize("payload", [b"", b"not weights at all", b"PK\x03\x04broken zip",
                                     b"hello", b"Not Found", b"a", b"(", b"}", b"\x80\x02K"])
def test_garbage_and_truncated_files_are_refused(tmp_path, payload):
    (tmp_path / "x.pth").write_bytes(payload)
    with pytest.raises(AdaINError, match="not a PyTorch or safetensors weights file"):
        read_weights(tmp_path / "x.pth")


def test_truncated_published_file_is_refused(tmp_path, published_weights):
    data = published_weights[1].read_bytes()
    (tmp_path / "decoder.pth").write_bytes(data[: len(data) // 2])
    with pytest.raises(AdaINError, match="decoder.pth"):
        load_decoder(tmp_path / "decoder.pth")


def test_missing_file_says_how_to_get_it(tmp_path):
    with pytest.raises(AdaINError, match="adain weights fetch"):
        load_decoder(tmp_path / "nope.pth")


def test_own_format_round_trip_keeps_metadata(tmp_path):
    decoder = Decoder()
    save_weights(decoder, tmp_path / "d.safetensors", "decoder", encoder="vgg_normalised", step=7)
    loaded = load_decoder(tmp_path / "d.safetensors")
    assert loaded.metadata["step"] == "7" and loaded.metadata["kind"] == "decoder"
    assert all(torch.equal(a, b) for a, b in zip(decoder.state_dict().values(),
                                                 loaded.module.state_dict().values(), strict=True))
    with pytest.raises(AdaINError, match="an adain decoder.*pass it as --decoder"):
        load_encoder(tmp_path / "d.safetensors")


def test_convert_published_files(tmp_path, published_weights):
    assert convert_weights(published_weights[0], tmp_path / "vgg.safetensors") == "encoder"
    assert convert_weights(published_weights[1], tmp_path / "dec.safetensors") == "decoder"
    encoder = load_encoder(tmp_path / "vgg.safetensors")
    assert encoder.identity == "vgg_normalised"
    assert encoder.sha256 == load_encoder(published_weights[0]).sha256
    deep = load_encoder(tmp_path / "vgg.safetensors", last="relu5_4").module
    assert torch.equal(deep.conv5_4.weight, random_vgg()[51].weight)
    assert load_decoder(tmp_path / "dec.safetensors").encoder_identity == "vgg_normalised"


def test_damaged_safetensors_is_refused(tmp_path):
    save_file({"a": torch.zeros(10)}, tmp_path / "x.safetensors")
    data = (tmp_path / "x.safetensors").read_bytes()
    (tmp_path / "x.safetensors").write_bytes(data[:-8])
    with pytest.raises(AdaINError, match="damaged safetensors"):
        read_weights(tmp_path / "x.safetensors")


def torchvision_features_state() -> OrderedDict:
    """torchvision's vgg19 key layout (features.N, classifier.N) with random values."""
    torch.manual_seed(0)
    state, cin = OrderedDict(), 3
    for index, cout in zip((0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34),
                           (64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512, 512,
                            512, 512), strict=True):
        state[f"features.{index}.weight"] = torch.randn(cout, cin, 3, 3) * 0.05
        state[f"features.{index}.bias"] = torch.zeros(cout)
        cin = cout
    for index, shape in ((0, (8, 4)), (3, (8, 8)), (6, (2, 8))):  # shrunk classifier
        state[f"classifier.{index}.weight"] = torch.zeros(shape)
        state[f"classifier.{index}.bias"] = torch.zeros(shape[0])
    return state


def test_torchvision_vgg19_file_loads_with_folded_normalisation(tmp_path):
    state = torchvision_features_state()
    torch.save(state, tmp_path / "vgg19-dcbb9e9d.pth")
    encoder = load_encoder(tmp_path / "vgg19-dcbb9e9d.pth")
    assert encoder.identity == TORCHVISION_ENCODER_ID
    assert torch.equal(encoder.module.conv4_1.weight, state["features.19.weight"])
    reference = VGGEncoder()
    reference.set_imagenet_preprocess()
    assert torch.allclose(encoder.module.preprocess.weight, reference.preprocess.weight)


def test_torchvision_vgg19_file_loads_to_relu5_1(tmp_path):
    state = torchvision_features_state()
    torch.save(state, tmp_path / "vgg19.pth")
    encoder = load_encoder(tmp_path / "vgg19.pth", last="relu5_1").module
    assert torch.equal(encoder.conv5_1.weight, state["features.28.weight"])
    assert torch.equal(encoder.conv4_2.bias, state["features.21.bias"])


def test_state_dict_saved_from_a_wrapper_loads(tmp_path):
    state = {f"module.{k}": v for k, v in random_decoder().state_dict().items()}
    torch.save(state, tmp_path / "ddp.pth")
    load_decoder(tmp_path / "ddp.pth")


def test_pickle_protocol_errors_do_not_escape(tmp_path):
    (tmp_path / "p.pth").write_bytes(pickle.dumps({"a": 1})[:5])
    with pytest.raises(AdaINError):
        read_weights(tmp_path / "p.pth")


def test_torchvision_cache_that_would_run_code_is_refused(tmp_path, monkeypatch):
    from torchvision.models import VGG19_Weights

    checkpoints = tmp_path / "hub" / "checkpoints"
    checkpoints.mkdir(parents=True)
    torch.save({"x": RunsCode()}, checkpoints / VGG19_Weights.IMAGENET1K_V1.url.rsplit("/")[-1])
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(AdaINError, match="refused torchvision's cached VGG-19"):
        load_encoder("torchvision")


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    save_weights(Decoder(), tmp_path / "d.safetensors", "decoder")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "d.safetensors").stat().st_mode & 0o777 == 0o666 & ~mask


def training_checkpoint(run, decoder: Decoder, **changes):
    from adain.train.checkpoint import save_checkpoint

    state = {"step": 3, "decoder": decoder.state_dict(), "optimizer": {}, "encoder":
             "vgg_normalised", "encoder_sha256": "ab" * 32, "config": {"iters": 9}, **changes}
    return save_checkpoint(run, state, keep=3)


def test_a_training_checkpoint_reads_as_its_decoder(tmp_path):
    from typer.testing import CliRunner

    from adain.cli import app

    decoder = Decoder()
    path = training_checkpoint(tmp_path / "run", decoder)
    loaded = load_decoder(path)
    assert all(torch.equal(a, b) for a, b in zip(decoder.state_dict().values(),
                                                 loaded.module.state_dict().values(), strict=True))
    assert loaded.encoder_identity == "vgg_normalised" and loaded.metadata["step"] == "3"
    result = CliRunner().invoke(app, ["weights", "info", str(path)])
    assert result.exit_code == 0 and "loads as decoder" in result.output
    assert "checkpoint (step 3)" in result.output
    result = CliRunner().invoke(app, ["weights", "convert", str(path), str(tmp_path / "d.st")])
    assert result.exit_code == 0, result.output
    converted = load_decoder(tmp_path / "d.st")
    assert converted.metadata["encoder_sha256"] == "ab" * 32
    assert converted.metadata["format"] == "adain" and converted.metadata["step"] == "3"


def test_a_checkpoint_of_a_newer_adain_is_refused_as_weights(tmp_path):
    from adain.train.checkpoint import FORMAT_VERSION

    path = training_checkpoint(tmp_path / "run", Decoder())
    torch.save({**torch.load(path, weights_only=True), "format_version": FORMAT_VERSION + 1},
               path)
    with pytest.raises(AdaINError, match="written by a newer adain"):
        load_decoder(path)


def test_fetch_copies_from_a_folder_or_a_file_url(tmp_path, published_weights):
    import shutil

    from typer.testing import CliRunner

    from adain.cli import app
    from adain.fetch import fetch_published

    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for path in published_weights:
        shutil.copy(path, mirror / path.name)
    written = fetch_published(tmp_path / "a", str(mirror))
    assert [p.name for p in written] == ["vgg_normalised.pth", "decoder.pth"]
    assert all((tmp_path / "a" / p.name).read_bytes() == p.read_bytes()
               for p in published_weights)
    result = CliRunner().invoke(app, ["weights", "fetch", "--dest", str(tmp_path / "b"),
                                      "--base-url", mirror.as_uri()])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["decoder.pth",
                                                                   "vgg_normalised.pth"]
    result = CliRunner().invoke(app, ["weights", "fetch", "--dest", str(tmp_path / "c"),
                                      "--base-url", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "nowhere/vgg_normalised.pth not found" in result.output
    assert not (tmp_path / "c").exists()


def test_convert_never_writes_over_its_source(tmp_path, published_weights):
    source = tmp_path / "decoder.pth"
    source.write_bytes(published_weights[1].read_bytes())
    with pytest.raises(AdaINError, match="is the input"):
        convert_weights(source, tmp_path / "." / "decoder.pth")
    assert source.read_bytes() == published_weights[1].read_bytes()
