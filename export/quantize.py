"""Static int8 quantisation of the stylizer for CPUs (onnxruntime.quantization).

The convolutions, ReLUs, pads, pools and upsampling run in int8 (QOperator format, so
QLinearConv chains stay in int8 between layers); the AdaIN arithmetic and statistics stay
in float, where int8 costs fidelity and buys no speed. Fidelity is the PSNR of the int8
output against the fp32 output on held-out images from the calibration folder, each
styled with another image's statistics, at alpha 1 and 0.5. If it misses ``PSNR_GOAL``,
the most sensitive convolutions (first and last) are kept in float and the graph is
quantised again; if the last try still misses it, the export fails.

Only ``stylizer.int8.onnx`` is made: it is what runs per frame. The style encoder runs
once per style, so int8 would buy nothing there, and ``adain.onnx`` is for single shots.
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
from adain.images import array_to_tensor, center_crop, resize_shorter
from adain.picture import find_images, load_image

from .graph_file import ExportedGraph, opset_of, read_metadata, set_metadata
from .verify import session

log = logging.getLogger(__name__)

CALIB_SIZE = 256  # calibration images: shorter side resized to this, centre square crop
MAX_CALIB_IMAGES = 64
MIN_CALIB_IMAGES = 4  # at least 2 to calibrate on and 2 held out
PSNR_GOAL = 30.0
QUANTIZED_OPS = ["Conv", "Relu", "Pad", "MaxPool", "Resize"]
# Convolutions kept in float, step by step, while the PSNR goal is missed.
KEEP_FLOAT = ((), ("encoder.preprocess", "encoder.conv1_1", "decoder.conv1_1"),
              ("encoder.preprocess", "encoder.conv1_1", "encoder.conv1_2", "decoder.conv1_2",
               "decoder.conv1_1"))


def check_calibration_folder(calib_dir: Path) -> None:
    if not calib_dir.is_dir():
        raise AdaINError(f"--calib-dir {calib_dir} is not a folder")
    if len(find_images(calib_dir)) < MIN_CALIB_IMAGES:
        raise AdaINError(f"--calib-dir {calib_dir} needs at least {MIN_CALIB_IMAGES} images "
                         "(20 to 64 varied photos calibrate best)")


def quantize_graphs(folder: Path, calib_dir: Path, metadata: dict[str, str]
                    ) -> list[ExportedGraph]:
    """Write ``stylizer.int8.onnx`` beside ``stylizer.onnx`` in ``folder``."""
    images = _calibration_images(calib_dir)
    held = max(2, len(images) // 5)
    encoder = session(folder / "style_encoder.onnx")
    stats = [encoder.run(None, {"style": image}) for image in images]
    # Each image is styled with the next image's statistics, never its own.
    feeds = [_feed(image, *stats[(i + 1) % len(images)]) for i, image in enumerate(images)]
    calibration, held_out = feeds[:-held], feeds[-held:]
    fp32, int8 = folder / "stylizer.onnx", folder / "stylizer.int8.onnx"
    for keep in KEEP_FLOAT:
        quantize_stylizer(fp32, int8, calibration, keep)
        psnr = _worst_psnr(fp32, int8, held_out)
        if psnr >= PSNR_GOAL:
            break
        log.warning("%s: PSNR %.1f dB < %.0f dB; keeping more convolutions in float",
                    int8.name, psnr, PSNR_GOAL)
    else:
        raise AdaINError(f"stylizer.int8.onnx reaches only {psnr:.1f} dB PSNR against fp32 "
                         f"(goal {PSNR_GOAL:.0f} dB) even with {', '.join(keep)} in float; "
                         "calibrate on more varied images; no graphs were written")
    _finish(int8, metadata, keep)
    note = (f"PSNR {psnr:.1f} dB (worst of {len(held_out)} held-out images, alpha 1 and 0.5)"
            + (f"; kept in float: {', '.join(keep)}" if keep else ""))
    return [ExportedGraph(int8, None, fp32.name, note)]


def _calibration_images(calib_dir: Path) -> list[np.ndarray]:
    images = []
    for path in find_images(calib_dir):
        if len(images) == MAX_CALIB_IMAGES:
            break
        try:
            image = resize_shorter(array_to_tensor(load_image(path)), CALIB_SIZE)
        except AdaINError as exc:
            log.warning("calibration: skipped %s", exc)
            continue
        images.append(center_crop(image, CALIB_SIZE).numpy())
    if len(images) < MIN_CALIB_IMAGES:
        raise AdaINError(f"--calib-dir {calib_dir} has {len(images)} readable images; "
                         f"at least {MIN_CALIB_IMAGES} are needed")
    return images


def _feed(content: np.ndarray, mean: np.ndarray, std: np.ndarray,
          alpha: float = 1.0) -> dict[str, np.ndarray]:
    return {"content": content, "style_mean": mean, "style_std": std,
            "alpha": np.array(alpha, dtype=np.float32)}


class _Reader(CalibrationDataReader):
    def __init__(self, feeds: list[dict[str, np.ndarray]]) -> None:
        self.feeds = iter(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.feeds, None)


def quantize_stylizer(fp32: Path, int8: Path, feeds: list[dict],
                      keep_float: tuple[str, ...]) -> None:
    """Quantise the stylizer graph ``fp32`` into ``int8``, calibrated on ``feeds`` (the
    graph's inputs), with the convolutions of the layers in ``keep_float`` left in float."""
    model = onnx.load(str(fp32))
    exclude = [n.name for n in model.graph.node if n.op_type == "Conv"
               and any(n.input[1].endswith(f"{layer}.weight") for layer in keep_float)]
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        quantize_static(str(prepared), str(int8), _Reader(feeds),
                        quant_format=QuantFormat.QOperator, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax,
                        op_types_to_quantize=QUANTIZED_OPS, nodes_to_exclude=exclude)


def _worst_psnr(fp32: Path, int8: Path, feeds: list[dict]) -> float:
    """The worst PSNR (dB) of the int8 output against the fp32 output, alpha 1 and 0.5."""
    reference, quantized = session(fp32), session(int8)
    scores = []
    for feed in feeds:
        for alpha in (1.0, 0.5):
            feed = {**feed, "alpha": np.array(alpha, dtype=np.float32)}
            diff = quantized.run(None, feed)[0] - reference.run(None, feed)[0]
            scores.append(10 * np.log10(1.0 / max(float(np.mean(diff**2)), 1e-12)))
    return min(scores)


def _finish(path: Path, metadata: dict[str, str], keep_float: tuple[str, ...]) -> None:
    """The fp32 graph's metadata plus the precision; checked like every other graph."""
    model = onnx.load(str(path))
    reference = read_metadata(path.with_name("stylizer.onnx"))
    extra = {"precision": "int8 convolutions (QOperator, per-channel int8 weights, uint8 "
                          "activations); AdaIN arithmetic in float",
             "kept_in_float": ",".join(keep_float) or "none", "opset": str(opset_of(model))}
    set_metadata(model, {**metadata, **reference, **extra})
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
