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


def max_difference_vs_torch(path: Path, module: torch.nn.Module, name: str,
                            sizes: tuple[tuple[int, int], ...]) -> float:
    """Max |onnxruntime - PyTorch| over all outputs, at each (H, W) in ``sizes``, batch 2."""
    sess, worst = session(path), 0.0
    for seed, (height, width) in enumerate(sizes):
        inputs = graphs.example_inputs(name, height, width, batch=2, seed=seed + 1)
        with torch.no_grad():
            expected = module(*inputs.values())
        expected = expected if isinstance(expected, tuple) else (expected,)
        for got, want in zip(run(sess, inputs), expected, strict=True):
            if got.shape != tuple(want.shape):
                return float("inf")
            worst = max(worst, float(np.abs(got - want.numpy()).max()))
    return worst


def max_difference_vs_graph(path: Path, reference: Path, name: str,
                            sizes: tuple[tuple[int, int], ...]) -> float:
    """Max |graph - reference graph| over all outputs, the way the fp32 check runs."""
    sess, ref, worst = session(path), session(reference), 0.0
    for seed, (height, width) in enumerate(sizes):
        inputs = graphs.example_inputs(name, height, width, batch=2, seed=seed + 1)
        for got, want in zip(run(sess, inputs), run(ref, inputs), strict=True):
            if got.shape != want.shape:
                return float("inf")
            worst = max(worst, float(np.abs(got - want).max()))
    return worst
