"""Export, prove and place the ONNX graphs.

Every graph is exported with torch.onnx (the torch.export-based exporter) with batch,
height and width dynamic, given metadata, checked by onnx.checker, optionally slimmed,
and run in onnxruntime against PyTorch on fixed-seed inputs at two sizes (one not a
multiple of 8). All of it happens in a temporary folder beside the output; only when
every graph passes are they moved into place, so a failed export leaves no graph that
looks valid.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import onnx
import torch

import adain
from adain.errors import AdaINError
from adain.weights import TORCHVISION, load_decoder, load_encoder

from . import graphs
from .verify import max_difference_vs_graph, max_difference_vs_torch

log = logging.getLogger(__name__)

NAMES = ("style_encoder", "stylizer", "adain")
MIN_SIDE = 9  # the encoder's smallest input side


@dataclass(frozen=True)
class ExportConfig:
    vgg: str = "models/vgg_normalised.pth"
    decoder: str = "models/decoder.pth"
    out_dir: str = "models/onnx"
    verify: bool = True
    tolerance: float = 1e-3  # fp32 graphs against PyTorch, max |difference|
    half: bool = False
    half_tolerance: float = 2e-2  # fp16 graphs against the fp32 graphs, on [0, 1] outputs
    int8: bool = False
    calib_dir: str | None = None
    simplify: bool = True
    verify_sizes: tuple[tuple[int, int], ...] = ((64, 48), (37, 53))  # (H, W); 2nd not /8

    def __post_init__(self) -> None:
        if self.int8 and not self.calib_dir:
            raise AdaINError("--int8 needs --calib-dir DIR: images to calibrate the "
                             "quantisation on")


@dataclass(frozen=True)
class ExportedGraph:
    path: Path
    max_diff: float | None  # against ``reference``; None when not verified
    reference: str  # "PyTorch" or the graph it was compared with
    note: str = ""

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def export_onnx(config: ExportConfig) -> list[ExportedGraph]:
    """Write the graphs (and their fp16/int8 variants) into ``config.out_dir``."""
    encoder = load_encoder(config.vgg)
    decoder = load_decoder(config.decoder)
    metadata = _metadata(config, encoder.identity)
    out_dir = Path(config.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        results = []
        for name in NAMES:
            module = graphs.build(name, encoder.module, decoder.module)
            path = _export(module, name, staging / f"{name}.onnx", metadata, config)
            diff = max_difference_vs_torch(path, module, name, config.verify_sizes) \
                if config.verify else None
            _check(path, diff, config.tolerance, "PyTorch")
            results.append(ExportedGraph(path, diff, "PyTorch"))
        if config.half:
            results += _export_half(encoder.module, decoder.module, staging, metadata, config)
        if config.int8:
            from .quantize import quantize_graphs

            results += quantize_graphs(staging, Path(config.calib_dir), metadata)
        return _place(results, staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export(module: torch.nn.Module, name: str, path: Path, metadata: dict[str, str],
            config: ExportConfig) -> Path:
    batch = torch.export.Dim("batch", min=1)
    height = torch.export.Dim("height", min=MIN_SIDE)
    width = torch.export.Dim("width", min=MIN_SIDE)
    image_dims = {0: batch, 2: height, 3: width}
    dynamic = {"style": image_dims, "content": image_dims, "style_mean": {0: batch},
               "style_std": {0: batch}, "alpha": None}
    if name == "adain":  # the style's size is its own
        dynamic["style"] = {0: batch, 2: torch.export.Dim("style_height", min=MIN_SIDE),
                            3: torch.export.Dim("style_width", min=MIN_SIDE)}
    inputs = graphs.example_inputs(name, 64, 48)
    try:
        with warnings.catch_warnings():
            # The exporter says that the inputs' shared batch axis gets one name: expected.
            warnings.filterwarnings("ignore", message="# The axis name", category=UserWarning)
            torch.onnx.export(module, tuple(inputs.values()), str(path), dynamo=True,
                              input_names=list(graphs.INPUTS[name]),
                              output_names=list(graphs.OUTPUTS[name]),
                              dynamic_shapes={k: dynamic[k] for k in inputs}, verbose=False)
    except Exception as exc:  # the exporter raises many types; all mean "not exported"
        raise AdaINError(f"exporting {name} failed: {exc}") from exc
    model = onnx.load(str(path))
    _name_output_dims(model, name)
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    for key, value in {**metadata, "graph": name, "opset": str(opset)}.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.producer_version = "adain", adain.__version__
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    if config.simplify:
        _simplify(path)
    return path


def _name_output_dims(model: onnx.ModelProto, name: str) -> None:
    """The exporter names output sizes by formulas; ``stylized`` is (batch, 3, height, width)."""
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        dims[0].dim_param = "batch"
        if output.name == "stylized":
            dims[2].dim_param, dims[3].dim_param = "height", "width"


def _simplify(path: Path) -> None:
    """onnxslim where it helps; a failure keeps the exported graph, with a warning."""
    try:
        import onnxslim

        slimmed = onnxslim.slim(onnx.load(str(path)))
        onnx.checker.check_model(slimmed)
    except Exception as exc:  # onnxslim raises many types; the export stands without it
        log.warning("graph simplification of %s failed (%s); keeping the exported graph",
                    path.name, exc)
        return
    onnx.save(slimmed, str(path))


def _export_half(encoder, decoder, staging: Path, metadata: dict[str, str],
                 config: ExportConfig) -> list[ExportedGraph]:
    results = []
    encoder16, decoder16 = copy.deepcopy(encoder).half(), copy.deepcopy(decoder).half()
    meta16 = {**metadata, "precision": "float16 inside, float32 inputs and outputs"}
    for name in NAMES:
        module = graphs.build(name, encoder16, decoder16, torch.float16)
        path = _export(module, name, staging / f"{name}.fp16.onnx", meta16, config)
        diff = max_difference_vs_graph(path, staging / f"{name}.onnx", name,
                                       config.verify_sizes) if config.verify else None
        _check(path, diff, config.half_tolerance, f"{name}.onnx")
        results.append(ExportedGraph(path, diff, f"{name}.onnx"))
    return results


def _check(path: Path, diff: float | None, tolerance: float, reference: str) -> None:
    if diff is None:
        return
    log.info("%s: max |difference| against %s %.3g", path.name, reference, diff)
    if not diff <= tolerance:  # also catches NaN
        raise AdaINError(f"{path.name} differs from {reference} by up to {diff:.3g}, above the "
                         f"tolerance {tolerance:g}; no graphs were written")


def _place(results: list[ExportedGraph], staging: Path, out_dir: Path) -> list[ExportedGraph]:
    placed = []
    for result in results:
        target = out_dir / result.path.name
        result.path.replace(target)
        placed.append(ExportedGraph(target, result.max_diff, result.reference, result.note))
    return placed


def _metadata(config: ExportConfig, encoder_identity: str) -> dict[str, str]:
    return {
        "producer": f"adain {adain.__version__}",
        "torch": torch.__version__,
        "layout": "NCHW",
        "color_order": "RGB",
        "value_range": "[0, 1] (inputs and stylized)",
        "encoder": encoder_identity,
        "vgg_sha256": _sha256(config.vgg),
        "decoder_sha256": _sha256(config.decoder),
        "vgg_file": Path(config.vgg).name,
        "decoder_file": Path(config.decoder).name,
    }


def _sha256(path: str) -> str:
    if path == TORCHVISION:
        return "torchvision VGG19_Weights.IMAGENET1K_V1"
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
