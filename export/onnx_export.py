"""Export, prove and place the ONNX graphs.

Every graph is exported with torch.onnx (the torch.export-based exporter) with batch,
height and width dynamic, given metadata, checked by onnx.checker, optionally slimmed,
and run in onnxruntime against PyTorch on fixed-seed inputs at two sizes (one not a
multiple of 8). All of it happens in a temporary folder beside the output; only when
every graph passes are they moved into place, so a failed export leaves no graph that
looks valid. fp16 and int8 graphs already in the folder stay when their metadata names
the same weight files (SHA-256) as this export, so ``--half`` then ``--int8`` keeps both;
those from other weights are removed.

Each module first runs once in PyTorch on the example input, so a bug in its ``forward``
keeps its traceback; only what torch.onnx itself fails to export becomes one line.
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
from google.protobuf.message import DecodeError

import adain
from adain.compact import load_pair
from adain.encoder import MIN_SIDE
from adain.errors import AdaINError
from adain.outputs import check_writable_path
from adain.paths import DEFAULT_DECODER, DEFAULT_ONNX_DIR, DEFAULT_VGG
from adain.weights import TORCHVISION

from . import graphs
from .graph_file import WEIGHT_KEYS, ExportedGraph, opset_of, read_metadata, set_metadata
from .verify import max_difference_vs_graph, max_difference_vs_torch, relative_difference

log = logging.getLogger(__name__)

NAMES = ("style_encoder", "stylizer", "adain")
TILE_NAMES = ("encoder", "decoder")  # the stylizer in two, for exact tiles (fp32 only)


@dataclass(frozen=True)
class ExportConfig:
    vgg: str = str(DEFAULT_VGG)
    decoder: str = str(DEFAULT_DECODER)
    model: str | None = None  # a compact model (adain distill) in place of vgg and decoder
    out_dir: str = str(DEFAULT_ONNX_DIR)
    verify: bool = True
    # Tolerances on verify.relative_difference: max |difference| for pictures in [0, 1],
    # relative to their scale for the style statistics.
    tolerance: float = 1e-3  # fp32 graphs against PyTorch
    half: bool = False
    half_tolerance: float = 2e-2  # fp16 (graphs and PyTorch) against fp32
    int8: bool = False
    calib_dir: str | None = None
    simplify: bool = True
    # Which graphs (of NAMES and TILE_NAMES); adain export --web takes the four a page uses.
    graphs: tuple[str, ...] = NAMES
    verify_sizes: tuple[tuple[int, int], ...] = ((64, 48), (37, 53))  # (H, W); 2nd not /8

    def __post_init__(self) -> None:
        if self.model is not None and (self.vgg, self.decoder) != (str(DEFAULT_VGG),
                                                                  str(DEFAULT_DECODER)):
            raise AdaINError("--model holds both networks; leave out --vgg and --decoder")
        unknown = set(self.graphs) - set(NAMES + TILE_NAMES)
        if unknown:
            raise ValueError(f"no graph named {', '.join(sorted(unknown))}")
        if self.int8 and not self.calib_dir:
            raise AdaINError("--int8 needs --calib-dir DIR: images to calibrate the "
                             "quantisation on")


def export_onnx(config: ExportConfig) -> list[ExportedGraph]:
    """Write the graphs (and their fp16/int8 variants) into ``config.out_dir``."""
    check_writable_path(config.out_dir, folder=True)
    encoder, decoder = load_pair(config.vgg, config.decoder, config.model)
    if config.int8:
        from .quantize import check_calibration_folder

        check_calibration_folder(Path(config.calib_dir))  # before minutes of work
    metadata = _metadata(config, encoder.identity, encoder.module)
    out_dir = Path(config.out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    except OSError as exc:
        raise AdaINError(f"cannot write to {out_dir}: {exc.strerror}") from exc
    try:
        results = []
        for name in config.graphs:
            module = graphs.build(name, encoder.module, decoder.module)
            results.append(_export_verified(module, name, staging / f"{name}.onnx", metadata,
                                            config, module))
        if config.half:
            results += _export_half(encoder.module, decoder.module, staging, metadata, config)
        if config.int8:
            from .quantize import quantize_graphs

            results += quantize_graphs(staging, Path(config.calib_dir), metadata)
        return _place(results, out_dir, metadata)
    except AdaINError as exc:
        if any(out_dir.glob("*.onnx")):
            raise AdaINError(f"{exc} (the graphs already in {out_dir} are from an earlier "
                             "export)") from exc
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _export_verified(module: torch.nn.Module, name: str, path: Path, metadata: dict[str, str],
                     config: ExportConfig, reference: torch.nn.Module | Path) -> ExportedGraph:
    """Export, verify against ``reference`` (a module, or an fp32 graph), then slim and
    verify again; a slimmed graph that fails keeps the unslimmed one, with a warning."""
    fp16 = path.name.endswith(".fp16.onnx")
    tolerance = config.half_tolerance if fp16 else config.tolerance
    label = "PyTorch" if isinstance(reference, torch.nn.Module) else reference.name
    channels = graphs.channels_of(module)
    _export(module, name, path, metadata)
    diff = _verify(path, name, reference, config, channels)
    _check(path, diff, tolerance, label)
    if config.simplify:
        slimmed = path.with_suffix(".slim.onnx")
        if _simplify(path, slimmed):
            slim_diff = _verify(slimmed, name, reference, config, channels)
            if slim_diff is None or slim_diff <= tolerance:
                model = onnx.load(str(slimmed))
                _describe_io(model, name)  # onnxslim drops the inputs' and outputs' docs
                onnx.save(model, str(path))
                slimmed.unlink()
                diff = slim_diff
            else:
                log.warning("the slimmed %s differs by %.3g; keeping the exported graph",
                            path.name, slim_diff)
                slimmed.unlink()
    return ExportedGraph(path, diff, label)


def _verify(path: Path, name: str, reference: torch.nn.Module | Path,
            config: ExportConfig, channels: int) -> float | None:
    if not config.verify:
        return None
    if isinstance(reference, torch.nn.Module):
        return max_difference_vs_torch(path, reference, name, config.verify_sizes)
    return max_difference_vs_graph(path, reference, name, config.verify_sizes, channels)


def _export(module: torch.nn.Module, name: str, path: Path, metadata: dict[str, str]) -> Path:
    batch = torch.export.Dim("batch", min=1)
    height = torch.export.Dim("height", min=MIN_SIDE)
    width = torch.export.Dim("width", min=MIN_SIDE)
    image_dims = {0: batch, 2: height, 3: width}
    features = {0: batch, 2: torch.export.Dim("feature_height", min=2),
                3: torch.export.Dim("feature_width", min=2)}
    dynamic = {"style": image_dims, "content": image_dims, "style_mean": {0: batch},
               "style_std": {0: batch}, "alpha": None, "features": features,
               "content_mean": {0: batch}, "content_std": {0: batch}}
    if name == "adain":  # the style's size is its own
        dynamic["style"] = {0: batch, 2: torch.export.Dim("style_height", min=MIN_SIDE),
                            3: torch.export.Dim("style_width", min=MIN_SIDE)}
    inputs = graphs.example_inputs(name, 64, 48, channels=graphs.channels_of(module))
    with torch.no_grad():
        module(*inputs.values())  # a bug in forward fails here, with its own traceback
    try:
        with warnings.catch_warnings():
            # The exporter says that the inputs' shared batch axis gets one name: expected.
            warnings.filterwarnings("ignore", message="# The axis name", category=UserWarning)
            torch.onnx.export(module, tuple(inputs.values()), str(path), dynamo=True,
                              input_names=list(graphs.INPUTS[name]),
                              output_names=list(graphs.OUTPUTS[name]),
                              dynamic_shapes={k: dynamic[k] for k in inputs}, verbose=False)
    except (torch.onnx.OnnxExporterError, OSError) as exc:  # the exporter's own failures
        raise AdaINError(f"exporting {name} failed: {exc}") from exc
    model = onnx.load(str(path))
    io = _describe_io(model, name)
    set_metadata(model, {**metadata, **io, "graph": name, "opset": str(opset_of(model))})
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(path))
    return path


def _describe_io(model: onnx.ModelProto, name: str) -> dict[str, str]:
    """Name the output sizes (the exporter writes formulas) and document every input and
    output in the graph itself, for runtimes that never see this code."""
    for value in (*model.graph.input, *model.graph.output):
        value.doc_string = graphs.IO_DOCS[value.name]
        if value.name in graphs.OUTPUTS[name]:
            dims = value.type.tensor_type.shape.dim
            dims[0].dim_param = "batch"
            if value.name == "stylized":
                dims[2].dim_param, dims[3].dim_param = "height", "width"
            elif value.name == "features":
                dims[2].dim_param, dims[3].dim_param = "feature_height", "feature_width"
    return {"inputs": ", ".join(graphs.INPUTS[name]), "outputs": ", ".join(graphs.OUTPUTS[name]),
            "min_side": str(MIN_SIDE), "alpha_range": "[0, 1] (clamped)"}


def _simplify(path: Path, target: Path) -> bool:
    """onnxslim ``path`` into ``target``; False (with a warning) if it fails."""
    try:
        import onnxslim

        slimmed = onnxslim.slim(onnx.load(str(path)))
        onnx.checker.check_model(slimmed)
    except Exception as exc:  # onnxslim raises many types; the export stands without it
        log.warning("graph simplification of %s failed (%s); keeping the exported graph",
                    path.name, exc)
        return False
    onnx.save(slimmed, str(target))
    return True


def _export_half(encoder, decoder, staging: Path, metadata: dict[str, str],
                 config: ExportConfig) -> list[ExportedGraph]:
    """fp16 graphs, verified against the fp32 graphs. onnxruntime's CPU provider may run
    them in fp32 internally, so the fp16 modules also run in PyTorch (real fp16
    arithmetic) and must stay finite and within the tolerance of fp32."""
    results = []
    encoder16, decoder16 = copy.deepcopy(encoder).half(), copy.deepcopy(decoder).half()
    meta16 = {**metadata, "precision": "float16 convolutions; float32 inputs, outputs, "
                                       "statistics and AdaIN"}
    for name in (name for name in NAMES if name in config.graphs):
        module = graphs.build(name, encoder16, decoder16, torch.float16)
        if config.verify:
            _check_fp16_arithmetic(module, graphs.build(name, encoder, decoder), name, config)
        results.append(_export_verified(module, name, staging / f"{name}.fp16.onnx", meta16,
                                        config, staging / f"{name}.onnx"))
    return results


def _check_fp16_arithmetic(module16: torch.nn.Module, module32: torch.nn.Module, name: str,
                           config: ExportConfig) -> None:
    height, width = config.verify_sizes[0]
    inputs = tuple(graphs.example_inputs(name, height, width, batch=2, seed=1,
                                         channels=graphs.channels_of(module32)).values())
    with torch.no_grad():
        got, want = module16(*inputs), module32(*inputs)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    diff = max(float(relative_difference(g.numpy(), w.numpy())) for g, w in zip(got, want,
                                                                               strict=True))
    _check(Path(f"{name} (fp16 in PyTorch)"), diff, config.half_tolerance, "fp32")


def _check(path: Path, diff: float | None, tolerance: float, reference: str) -> None:
    if diff is None:
        return
    log.info("%s: max |difference| against %s %.3g", path.name, reference, diff)
    if not diff <= tolerance:  # also catches NaN
        raise AdaINError(f"{path.name} differs from {reference} by up to {diff:.3g}, above the "
                         f"tolerance {tolerance:g}; no graphs were written")


def _place(results: list[ExportedGraph], out_dir: Path,
           metadata: dict[str, str]) -> list[ExportedGraph]:
    """Move the verified graphs into ``out_dir``; remove the variants this export did not
    make that came from other weights than ``metadata`` names."""
    placed = []
    for result in results:
        target = out_dir / result.path.name
        result.path.replace(target)
        placed.append(ExportedGraph(target, result.max_diff, result.reference, result.note))
    made = {p.path.name for p in placed}
    for name in NAMES:
        for variant in (".fp16", ".int8"):
            other = out_dir / f"{name}{variant}.onnx"
            if other.name not in made and other.exists() and not _same_weights(other, metadata):
                log.info("removed %s: it was exported from other weights", other)
                other.unlink()
    return placed


def _same_weights(path: Path, metadata: dict[str, str]) -> bool:
    """Whether the graph at ``path`` records the same weight files as ``metadata``."""
    try:
        recorded = read_metadata(path)
    except (OSError, DecodeError):
        return False
    return all(recorded.get(key) == metadata[key] for key in WEIGHT_KEYS)


def _metadata(config: ExportConfig, encoder_identity: str,
              encoder: torch.nn.Module) -> dict[str, str]:
    """What every graph of this export records: the producer, the layout, and the model
    (the VGG pair's two files, or the compact model's one file for both)."""
    if config.model is not None:
        digest = _sha256(config.model)
        return {**_common_metadata(encoder_identity, encoder),
                "model": f"compact {encoder_identity} (adain distill), width {encoder.width:g}",
                "vgg_sha256": digest, "decoder_sha256": digest,
                "vgg_file": Path(config.model).name, "decoder_file": Path(config.model).name}
    return {
        **_common_metadata(encoder_identity, encoder),
        "model": "VGG pair: VGG-19 encoder to relu4_1 and the AdaIN decoder",
        "vgg_sha256": _sha256(config.vgg),
        "decoder_sha256": _sha256(config.decoder),
        "vgg_file": Path(config.vgg).name,
        "decoder_file": Path(config.decoder).name,
    }


def _common_metadata(encoder_identity: str, encoder: torch.nn.Module) -> dict[str, str]:
    return {
        "producer": f"adain {adain.__version__}",
        "torch": torch.__version__,
        "layout": "NCHW",
        "color_order": "RGB",
        "value_range": "[0, 1] (inputs and stylized)",
        "encoder": encoder_identity,
        "channels": str(encoder.channels),
    }


def _sha256(path: str) -> str:
    if path == TORCHVISION:
        return "torchvision VGG19_Weights.IMAGENET1K_V1"
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
