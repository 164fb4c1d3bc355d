"""Static int8 quantisation for CPUs (onnxruntime.quantization), calibrated on real images.

The convolutions, ReLUs, pads, pools and upsampling run in int8 (QOperator format:
QLinearConv chains stay in int8 between layers); the AdaIN arithmetic and statistics stay
in float, where int8 would cost fidelity for no speed. Fidelity is measured as the PSNR
of the int8 graph's output against the fp32 graph's on held-out images from the
calibration folder; if it misses ``PSNR_GOAL``, the first and last convolutions (the
most sensitive) are kept in float and the graph is quantised again.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from adain.errors import AdaINError
from adain.images import array_to_tensor, center_crop, find_images, load_image, resize_shorter

from .onnx_export import ExportedGraph
from .verify import session

log = logging.getLogger(__name__)

CALIB_SIZE = 256  # calibration images: shorter side resized to this, centre square crop
MAX_CALIB_IMAGES = 64
PSNR_GOAL = 30.0
INT8_NAMES = ("stylizer", "adain")
QUANTIZED_OPS = ["Conv", "Relu", "Pad", "MaxPool", "Resize"]
# Convolutions kept in float, step by step, while the PSNR goal is missed.
KEEP_FLOAT = ([], ["encoder.preprocess", "encoder.conv1_1", "decoder.conv1_1"],
              ["encoder.preprocess", "encoder.conv1_1", "encoder.conv1_2", "decoder.conv1_2",
               "decoder.conv1_1"])


def quantize_graphs(folder: Path, calib_dir: Path, metadata: dict[str, str]
                    ) -> list[ExportedGraph]:
    """Write ``stylizer.int8.onnx`` and ``adain.int8.onnx`` beside the fp32 graphs.

    The style encoder stays fp32: it runs once per style, so int8 would buy no speed, and
    int8 statistics cost the whole picture's fidelity.
    """
    images = _calibration_images(calib_dir)
    held_out = images[-max(1, len(images) // 5):] if len(images) > 1 else images
    calibration = images[: len(images) - len(held_out)] or images
    stats_session = session(folder / "style_encoder.onnx")
    stats = [stats_session.run(None, {"style": image}) for image in images]
    results = []
    for name in INT8_NAMES:
        fp32 = folder / f"{name}.onnx"
        int8 = folder / f"{name}.int8.onnx"
        for keep in KEEP_FLOAT:
            _quantize(fp32, int8, _feeds(name, calibration, stats), keep)
            fidelity = _fidelity(fp32, int8, _feeds(name, held_out, stats[::-1]))
            if fidelity >= PSNR_GOAL:
                break
            log.warning("%s: PSNR %.1f dB < %.0f; keeping more convolutions in float", int8.name,
                        fidelity, PSNR_GOAL)
        _add_metadata(int8, metadata, keep)
        note = (f"PSNR {fidelity:.1f} dB (worst of {len(held_out)} held-out images)"
                + (f"; kept in float: {', '.join(keep)}" if keep else ""))
        results.append(ExportedGraph(int8, None, fp32.name, note))
    return results


def _calibration_images(calib_dir: Path) -> list[np.ndarray]:
    if not calib_dir.is_dir():
        raise AdaINError(f"--calib-dir {calib_dir} is not a folder")
    paths = find_images(calib_dir)[:MAX_CALIB_IMAGES]
    images = []
    for path in paths:
        try:
            tensor = center_crop(resize_shorter(array_to_tensor(load_image(path)), CALIB_SIZE),
                                 CALIB_SIZE)
        except AdaINError as exc:
            log.warning("calibration: skipped %s", exc)
            continue
        images.append(tensor.numpy())
    if len(images) < 2:
        raise AdaINError(f"--calib-dir {calib_dir} needs at least 2 readable images (more is "
                         "better: 20 to 64 varied photos)")
    return images


def _feeds(name: str, images: list[np.ndarray], stats: list) -> list[dict[str, np.ndarray]]:
    """Graph inputs: each image as content, another image (or its statistics) as style."""
    alpha = np.array(1.0, dtype=np.float32)
    feeds = []
    for i, image in enumerate(images):
        other = (i + 1) % len(images)
        if name == "stylizer":
            mean, std = stats[other % len(stats)]
            feeds.append({"content": image, "style_mean": mean, "style_std": std,
                          "alpha": alpha})
        else:
            feeds.append({"content": image, "style": images[other], "alpha": alpha})
    return feeds


class _Reader(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self.feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def _quantize(fp32: Path, int8: Path, feeds: list[dict], keep_float: list[str]) -> None:
    model = onnx.load(str(fp32))
    exclude = [n.name for n in model.graph.node if n.op_type == "Conv"
               and n.input[1].removesuffix(".weight") in keep_float]
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(int8), _Reader(feeds),
                        quant_format=QuantFormat.QOperator, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=QUANTIZED_OPS, nodes_to_exclude=exclude)


def _fidelity(fp32: Path, int8: Path, feeds: list[dict]) -> float:
    """The worst PSNR (dB) of the int8 output against the fp32 output over ``feeds``."""
    reference, quantized = session(fp32), session(int8)
    scores = []
    for feed in feeds:
        mse = float(np.mean((quantized.run(None, feed)[0] - reference.run(None, feed)[0]) ** 2))
        scores.append(10 * np.log10(1.0 / max(mse, 1e-12)))
    return min(scores)


def _add_metadata(path: Path, metadata: dict[str, str], keep_float: list[str]) -> None:
    model = onnx.load(str(path))
    del model.metadata_props[:]
    extra = {"precision": "int8 (QOperator, per-channel weights, uint8 activations); "
                          "AdaIN arithmetic in float",
             "kept_in_float": ",".join(keep_float) or "none"}
    for key, value in {**metadata, **extra}.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
