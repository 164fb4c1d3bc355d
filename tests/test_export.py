import hashlib
import shutil

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from helpers import write_image
from typer.testing import CliRunner

from adain import AdaINError, StyleOptions
from adain.cli import app
from adain.export import ExportConfig, export_onnx, graphs
from adain.export.onnx_export import _place
from adain.ops import calc_mean_std

runner = CliRunner()


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_all_graphs_are_written_and_reported(exported):
    out, output = exported
    names = sorted(p.name for p in out.iterdir())
    assert names == ["adain.fp16.onnx", "adain.onnx", "style_encoder.fp16.onnx",
                     "style_encoder.onnx", "stylizer.fp16.onnx", "stylizer.int8.onnx",
                     "stylizer.onnx"]
    assert "max |diff| vs PyTorch" in output and "PSNR" in output and "next:" in output


def test_names_and_dynamic_axes(exported):
    out, _ = exported
    expected = {"style_encoder": (["style"], ["style_mean", "style_std"]),
                "stylizer": (["content", "style_mean", "style_std", "alpha"], ["stylized"]),
                "adain": (["content", "style", "alpha"], ["stylized"])}
    for name, (inputs, outputs) in expected.items():
        model = onnx.load(str(out / f"{name}.onnx"))
        assert [i.name for i in model.graph.input] == inputs
        assert [o.name for o in model.graph.output] == outputs
        image = next(i for i in model.graph.input if i.name in ("style", "content"))
        dims = [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim]
        assert isinstance(dims[0], str) and dims[1] == 3 and all(isinstance(d, str)
                                                                  for d in dims[2:])
    stylized = onnx.load(str(out / "stylizer.onnx")).graph.output[0]
    assert [d.dim_param or d.dim_value for d in stylized.type.tensor_type.shape.dim] == [
        "batch", 3, "height", "width"]


def test_metadata(exported, published_weights):
    out, _ = exported
    meta = {p.key: p.value for p in onnx.load(str(out / "stylizer.onnx")).metadata_props}
    assert meta["layout"] == "NCHW" and meta["color_order"] == "RGB"
    assert meta["encoder"] == "vgg_normalised" and meta["graph"] == "stylizer"
    assert meta["producer"].startswith("adain ") and int(meta["opset"]) >= 17
    assert meta["vgg_sha256"] == hashlib.sha256(published_weights[0].read_bytes()).hexdigest()
    assert meta["decoder_sha256"] == hashlib.sha256(published_weights[1].read_bytes()).hexdigest()
    assert meta["inputs"] == "content, style_mean, style_std, alpha" and meta["min_side"] == "9"
    model = onnx.load(str(out / "stylizer.onnx"))
    assert all(v.doc_string for v in (*model.graph.input, *model.graph.output))
    int8_model = onnx.load(str(out / "stylizer.int8.onnx"))
    int8 = {p.key: p.value for p in int8_model.metadata_props}
    assert int8["precision"].startswith("int8") and int8["encoder"] == "vgg_normalised"
    assert int8["graph"] == "stylizer" and int8_model.producer_name == "adain"


@pytest.mark.parametrize(("height", "width", "batch"), [(45, 71, 1), (23, 41, 3)])
def test_graphs_match_the_pytorch_stylizer_at_other_sizes(exported, stylizer, height, width,
                                                          batch):
    out, _ = exported
    generator = torch.Generator().manual_seed(7)
    content = torch.rand(batch, 3, height, width, generator=generator)
    style = torch.rand(1, 3, 50, 30, generator=generator)
    with torch.no_grad():
        mean, std = calc_mean_std(stylizer.encoder.encode(style))
        expected = torch.cat([stylizer.stylize_tensor(c[None], [type("S", (), {
            "mean": mean, "std": std})()], StyleOptions(alpha=0.6)) for c in content]).clamp(0, 1)
    got_mean, got_std = session(out / "style_encoder.onnx").run(None, {"style": style.numpy()})
    assert np.abs(got_mean - mean.numpy()).max() < 1e-3
    feeds = {"content": content.numpy(), "alpha": np.array(0.6, np.float32)}
    stylized = session(out / "stylizer.onnx").run(None, {
        **feeds, "style_mean": np.repeat(got_mean, batch, 0),
        "style_std": np.repeat(got_std, batch, 0)})[0]
    assert stylized.shape == (batch, 3, height, width)
    assert np.abs(stylized - expected.numpy()).max() < 1e-3
    single = session(out / "adain.onnx").run(None, {
        **feeds, "style": np.repeat(style.numpy(), batch, 0)})[0]
    assert np.abs(single - expected.numpy()).max() < 1e-3


def test_fp16_and_int8_graphs_run_with_float32_io(exported):
    out, _ = exported
    generator = torch.Generator().manual_seed(3)
    feeds = {"content": torch.rand(1, 3, 33, 40, generator=generator).numpy(),
             "style_mean": torch.rand(1, 512, 1, 1, generator=generator).numpy(),
             "style_std": (torch.rand(1, 512, 1, 1, generator=generator) + 0.5).numpy(),
             "alpha": np.array(1.0, np.float32)}
    reference = session(out / "stylizer.onnx").run(None, feeds)[0]
    for variant, tolerance in (("fp16", 2e-2), ("int8", 0.5)):
        got = session(out / f"stylizer.{variant}.onnx").run(None, feeds)[0]
        assert got.dtype == np.float32 and got.shape == reference.shape
        assert np.abs(got - reference).max() < tolerance


def test_wrong_weights_are_refused_and_nothing_is_written(published_weights, tmp_path):
    with pytest.raises(AdaINError, match="pass it as --decoder"):
        export_onnx(ExportConfig(vgg=str(published_weights[1]), decoder=str(published_weights[1]),
                                 out_dir=str(tmp_path / "out")))
    assert not list(tmp_path.rglob("*.onnx"))


def test_a_graph_over_tolerance_fails_and_leaves_no_graph(published_weights, tmp_path):
    config = ExportConfig(vgg=str(published_weights[0]), decoder=str(published_weights[1]),
                          out_dir=str(tmp_path / "out"), tolerance=0.0, simplify=False)
    with pytest.raises(AdaINError, match=r"style_encoder.onnx differs from PyTorch by up to "
                                         r".*no graphs were written"):
        export_onnx(config)
    assert list((tmp_path / "out").iterdir()) == []


def test_a_failed_export_into_a_folder_with_graphs_says_they_are_old(exported,
                                                                      published_weights):
    out, _ = exported
    before = sorted(p.name for p in out.iterdir())
    config = ExportConfig(vgg=str(published_weights[0]), decoder=str(published_weights[1]),
                          out_dir=str(out), tolerance=0.0, simplify=False)
    with pytest.raises(AdaINError, match="the graphs already in .* are from an earlier export"):
        export_onnx(config)
    assert sorted(p.name for p in out.iterdir()) == before


def test_too_few_calibration_images_are_refused_before_work(published_weights, tmp_path):
    (tmp_path / "calib").mkdir()
    write_image(tmp_path / "calib" / "a.png", (32, 32))
    with pytest.raises(AdaINError, match="at least 4 images"):
        export_onnx(ExportConfig(vgg=str(published_weights[0]),
                                 decoder=str(published_weights[1]), out_dir=str(tmp_path / "o"),
                                 int8=True, calib_dir=str(tmp_path / "calib")))
    assert not (tmp_path / "o").exists()


def test_cli_refuses_incomplete_options():
    for flag in ([], ["--onnx"]):  # --onnx is the default, and still accepted
        result = runner.invoke(app, ["export", *flag, "--int8"])
        assert result.exit_code == 2 and "--calib-dir" in result.output


def test_a_later_export_keeps_the_variants_of_the_same_weights(exported, published_weights,
                                                               tmp_path):
    out, _ = exported
    folder = tmp_path / "out"  # as after `adain export --half`
    shutil.copytree(out, folder, ignore=shutil.ignore_patterns("*.int8.onnx"))
    calib = tmp_path / "calib"
    calib.mkdir()
    for i in range(4):
        write_image(calib / f"c{i}.png", (24, 20), seed=i)
    result = runner.invoke(app, [
        "export", "--vgg", str(published_weights[0]), "--decoder", str(published_weights[1]),
        "-o", str(folder), "--int8", "--calib-dir", str(calib), "--no-verify", "--no-simplify"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in out.iterdir())


def test_variants_of_other_weights_are_removed(exported, tmp_path):
    out, _ = exported
    variants = ("stylizer.fp16.onnx", "stylizer.int8.onnx")
    for name in variants:
        shutil.copy(out / name, tmp_path / name)
    model = onnx.load(str(out / "stylizer.onnx"), load_external_data=False)
    same = {p.key: p.value for p in model.metadata_props}
    _place([], tmp_path, same)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(variants)
    _place([], tmp_path, {**same, "decoder_sha256": "0" * 64})
    assert list(tmp_path.iterdir()) == []


def test_an_output_folder_under_a_file_is_refused_first(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(AdaINError, match="file is a file, not a folder"):
        export_onnx(ExportConfig(vgg=str(tmp_path / "missing.pth"), out_dir=str(
            tmp_path / "file" / "onnx")))


def test_a_bug_in_a_graph_module_keeps_its_traceback(published_weights, tmp_path, monkeypatch):
    def broken(self, style):
        return 1 / 0

    monkeypatch.setattr(graphs.StyleEncoderGraph, "forward", broken)
    with pytest.raises(ZeroDivisionError):
        export_onnx(ExportConfig(vgg=str(published_weights[0]), decoder=str(published_weights[1]),
                                 out_dir=str(tmp_path / "out"), verify=False, simplify=False))
    assert list((tmp_path / "out").iterdir()) == []


def test_what_the_exporter_cannot_export_is_one_line(published_weights, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise torch.onnx.OnnxExporterError("no ONNX function for aten::frobnicate")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    with pytest.raises(AdaINError, match="exporting style_encoder failed: no ONNX function"):
        export_onnx(ExportConfig(vgg=str(published_weights[0]), decoder=str(published_weights[1]),
                                 out_dir=str(tmp_path / "out"), verify=False, simplify=False))


def test_the_tile_graphs_compose_to_the_stylizer(published_weights):
    """encoder then decoder, given the whole picture's content statistics, is the stylizer:
    what lets a page tile a picture with them."""
    from adain.compact import load_pair

    encoder, decoder = load_pair(str(published_weights[0]), str(published_weights[1]), None)
    inputs = graphs.example_inputs("stylizer", 37, 53, batch=2, seed=4)
    with torch.no_grad():
        features = graphs.build("encoder", encoder.module, decoder.module)(inputs["content"])
        content_mean, content_std = calc_mean_std(features)
        tiled = graphs.build("decoder", encoder.module, decoder.module)(
            features, content_mean, content_std, inputs["style_mean"], inputs["style_std"],
            inputs["alpha"])
        whole = graphs.build("stylizer", encoder.module, decoder.module)(*inputs.values())
    assert features.shape == (2, 512, 5, 7) and tiled.shape == (2, 3, 40, 56)
    torch.testing.assert_close(tiled[..., :37, :53], whole, atol=1e-5, rtol=0)


def test_export_writes_the_graphs_asked_for(published_weights, tmp_path):
    written = export_onnx(ExportConfig(vgg=str(published_weights[0]),
                                       decoder=str(published_weights[1]),
                                       out_dir=str(tmp_path), graphs=("encoder", "decoder"),
                                       simplify=False))
    assert [g.path.name for g in written] == ["encoder.onnx", "decoder.onnx"]
    assert all(g.max_diff < 1e-3 for g in written)
    assert [i.name for i in session(tmp_path / "decoder.onnx").get_inputs()] == [
        "features", "content_mean", "content_std", "style_mean", "style_std", "alpha"]
    with pytest.raises(ValueError, match="no graph named nope"):
        ExportConfig(graphs=("nope",))
