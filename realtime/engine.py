"""The graphs in onnxruntime: provider choice, style statistics, one call per frame."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from ..errors import AdaINError
from . import frames

log = logging.getLogger(__name__)

PROVIDERS = {"tensorrt": "TensorrtExecutionProvider", "cuda": "CUDAExecutionProvider",
             "cpu": "CPUExecutionProvider"}
AUTO_ORDER = ("tensorrt", "cuda", "cpu")
# What onnxruntime raises for a provider that does not load here: its own status errors,
# RuntimeError (a C++ exception, a preload_dlls folder that is not there), ValueError
# (options it refuses), OSError and ImportError (a shared library that does not load).
# Anything else (a NameError, a TypeError) is a bug and keeps its traceback.
NOT_LOADED = (RuntimeError, ValueError, OSError, ImportError, ort_state.Fail, ort_state.EPFail,
              ort_state.EngineError, ort_state.RuntimeException, ort_state.InvalidArgument,
              ort_state.NotImplemented, ort_state.NoSuchFile)


class RealtimeError(AdaINError):
    """An expected failure (missing graphs, bad source, no such provider): one line."""


@dataclass(frozen=True)
class StyleStats:
    mean: np.ndarray  # (1, C, 1, 1): 512 channels, 128 for a compact model
    std: np.ndarray


def graph_paths(onnx_dir: Path, variant: str = "") -> tuple[Path, Path]:
    """(style_encoder, stylizer) in ``onnx_dir``, or a one-line error naming the fix."""
    paths = (onnx_dir / "style_encoder.onnx", onnx_dir / f"stylizer{variant}.onnx")
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        extra = " --int8 --calib-dir PHOTOS" if variant == ".int8" else \
            " --half" if variant == ".fp16" else ""
        raise RealtimeError(f"{', '.join(missing)} not found in {onnx_dir}; make them with: "
                            f"adain export --onnx -o {onnx_dir}{extra}")
    return paths


class Engine:
    """style_encoder once per style (cached), stylizer once per frame."""

    def __init__(self, onnx_dir: Path, provider: str = "auto", variant: str = "",
                 threads: int = 0) -> None:
        encoder_path, stylizer_path = graph_paths(onnx_dir, variant)
        self.provider, self.stylizer = open_with_provider(stylizer_path, provider, threads)
        self.encoder = _session(encoder_path, self.provider, threads)
        self._styles: dict[tuple[str, int, bool], StyleStats] = {}

    def style(self, path: str, size: int = 512, crop: bool = False) -> StyleStats:
        """The statistics of a style picture read as ``adain stylize`` reads it: shorter
        side ``size`` (0 keeps it), ``crop`` to the central square; cached."""
        key = (str(path), size, crop)
        if key not in self._styles:
            image = frames.image_to_input(path, size, crop)
            mean, std = self.encoder.run(None, {"style": image})
            self._styles[key] = StyleStats(mean, std)
        return self._styles[key]

    def __call__(self, content: np.ndarray, style: StyleStats, alpha: float) -> np.ndarray:
        return self.stylizer.run(None, {"content": content, "style_mean": style.mean,
                                        "style_std": style.std,
                                        "alpha": np.array(alpha, dtype=np.float32)})[0]


def open_with_provider(graph: Path, wanted: str, threads: int = 0
                       ) -> tuple[str, ort.InferenceSession]:
    """A session for ``graph`` and the provider that really runs it: ``auto`` tries
    TensorRT, CUDA, then the CPU.

    Providers that fail to load are skipped quietly (onnxruntime's own error logs are
    silenced while probing); asking for one that does not load is an error. The session
    that proved a provider is the one returned, so no engine is built twice.
    """
    available = set(ort.get_available_providers())
    names = AUTO_ORDER if wanted == "auto" else (wanted,)
    if wanted != "auto" and wanted not in PROVIDERS:
        raise RealtimeError(f"unknown provider {wanted!r}; use auto, cpu, cuda or tensorrt")
    if any(n != "cpu" for n in names) and hasattr(ort, "preload_dlls"):
        with _quiet_onnxruntime(), contextlib.suppress(*NOT_LOADED):
            ort.preload_dlls()  # CUDA libraries from pip packages (e.g. torch's)
    for name in names:
        if PROVIDERS[name] not in available:
            continue
        if name == "cpu":
            return name, _session(graph, name, threads)
        session = _probe(graph, PROVIDERS[name], threads)
        if session:
            return name, session
    if wanted == "auto":
        return "cpu", _session(graph, "cpu", threads)
    raise RealtimeError(f"the {wanted} provider does not load here (onnxruntime has "
                        f"{', '.join(sorted(available))}); use --provider auto or cpu")


def _probe(graph: Path, provider: str, threads: int) -> ort.InferenceSession | None:
    """A session on ``provider`` if it really loads there (not a silent CPU fallback)."""
    try:
        with _quiet_onnxruntime():
            session = _session(graph, [provider], threads)
    except NOT_LOADED as exc:
        log.info("%s does not load here: %s", provider, exc)
        return None
    if session.get_providers()[0] != provider:
        log.info("%s does not load here (onnxruntime fell back to %s)", provider,
                  session.get_providers()[0])
        return None
    return session


@contextlib.contextmanager
def _quiet_onnxruntime() -> Iterator[None]:
    """onnxruntime's default logger at FATAL and its Python-side "EP Error" prints
    swallowed: a provider that does not load is no news on a CPU-only machine."""
    ort.set_default_logger_severity(4)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        ort.set_default_logger_severity(2)


def _session(path: Path, provider: str | list[str], threads: int) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    providers = [PROVIDERS[provider]] if isinstance(provider, str) else provider
    if providers[-1] != PROVIDERS["cpu"]:
        providers = [*providers, PROVIDERS["cpu"]]
    return ort.InferenceSession(str(path), options, providers=providers)
