"""Proof that a graph computes what it should: onnxruntime against PyTorch or another graph."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from . import graphs


def session(path: Path, threads: int = 0) -> ort.InferenceSession:
    """A CPU session (the machine that exports may have no GPU)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run(sess: ort.InferenceSession, inputs: dict[str, torch.Tensor]) -> list[np.ndarray]:
    return sess.run(None, {k: v.numpy() for k, v in inputs.items()})


def relative_difference(got: np.ndarray, want: np.ndarray) -> float:
    """max |got - want|, divided by want's largest magnitude where that is over 1.

    Pictures in [0, 1] are compared absolutely; style statistics, whose size depends on
    the encoder's weights, relative to their own scale.
    """
    if got.shape != want.shape:
        return float("inf")
    scale = max(1.0, float(np.abs(want).max()))
    return float(np.abs(got.astype(np.float64) - want).max()) / scale


def max_difference_vs_torch(path: Path, module: torch.nn.Module, name: str,
                            sizes: tuple[tuple[int, int], ...]) -> float:
    """Worst :func:`relative_difference` of onnxruntime against PyTorch over all outputs,
    at each (H, W) in ``sizes``, batch 2 with different inputs per sample."""
    sess, worst = session(path), 0.0
    for seed, (height, width) in enumerate(sizes):
        inputs = graphs.example_inputs(name, height, width, batch=2, seed=seed + 1,
                                       channels=graphs.channels_of(module))
        with torch.no_grad():
            expected = module(*inputs.values())
        expected = expected if isinstance(expected, tuple) else (expected,)
        for got, want in zip(run(sess, inputs), expected, strict=True):
            worst = max(worst, relative_difference(got, want.numpy()))
    return worst


def max_difference_vs_graph(path: Path, reference: Path, name: str,
                            sizes: tuple[tuple[int, int], ...], channels: int = 512) -> float:
    """Worst :func:`relative_difference` of a graph against a reference graph."""
    sess, ref, worst = session(path), session(reference), 0.0
    for seed, (height, width) in enumerate(sizes):
        inputs = graphs.example_inputs(name, height, width, batch=2, seed=seed + 1,
                                       channels=channels)
        for got, want in zip(run(sess, inputs), run(ref, inputs), strict=True):
            worst = max(worst, relative_difference(got, want))
    return worst
