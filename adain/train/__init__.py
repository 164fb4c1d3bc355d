"""Training a decoder (``adain train``).

``config`` holds ``TrainConfig`` and the resume rules (torch-free, so the CLI reads its
defaults cheaply); ``loop`` runs the steps; ``step`` is one optimizer step; ``data`` the
resumable data order; ``checkpoint``, ``run_log`` (TensorBoard) and ``distributed``
(torchrun) serve the loop.

    from adain.train import TrainConfig, train
    decoder = train(TrainConfig(content_dir="coco", style_dir="wikiart", out="runs/mine"))
"""

from __future__ import annotations

import importlib

_EXPORTS = {"TrainConfig": "config", "resume_config": "config", "train": "loop",
            "TrainingStopped": "loop"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:  # the loop imports torch: only when it is asked for
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
