"""Training runs: a decoder (``adain train``) or a compact model (``adain distill``).

``config`` holds ``TrainConfig``, ``DistillConfig`` and the resume rules (torch-free, so
the CLI reads its defaults cheaply); ``loop`` runs the steps of either; ``objective`` says
what a run learns; ``step`` is one optimizer step of a decoder, ``distill`` the student and
its step; ``data`` the resumable data order; ``checkpoint``, ``run_log`` (TensorBoard) and
``distributed`` (torchrun) serve the loop.

    from adain.train import TrainConfig, train
    decoder = train(TrainConfig(content_dir="coco", style_dir="wikiart", out="runs/mine"))
    student = train(DistillConfig(content_dir="coco", style_dir="wikiart", out="runs/c"))
"""

from __future__ import annotations

import importlib

_EXPORTS = {"TrainConfig": "config", "DistillConfig": "config", "resume_config": "config",
            "train": "loop",
            "TrainingStopped": "loop"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:  # the loop imports torch: only when it is asked for
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
