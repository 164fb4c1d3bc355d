"""adain: arbitrary-style neural style transfer with Adaptive Instance Normalization.

The public API loads lazily so that ``import adain`` (and the CLI's start) does not pay
for importing torch until a model is needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_EXPORTS = {
    "AdaINError": "adain.errors",
    "StyleAugment": "adain.augment",
    "StyleBank": "adain.dataset.bank",
    "DatasetConfig": "adain.dataset.config",
    "stylize_dataset": "adain.dataset.run",
    "Stylizer": "adain.stylizer",
    "StyleOptions": "adain.stylizer",
    "StyleStats": "adain.stylizer",
    "VGGEncoder": "adain.encoder",
    "Features": "adain.encoder",
    "Decoder": "adain.decoder",
    "load_encoder": "adain.weights",
    "load_decoder": "adain.weights",
    "save_weights": "adain.weights",
}
__all__ = ["AdaINError", "DatasetConfig", "Decoder", "Features", "StyleAugment", "StyleBank",
           "StyleOptions", "StyleStats", "Stylizer", "VGGEncoder", "__version__", "load_decoder",
           "load_encoder", "save_weights", "stylize_dataset"]

if TYPE_CHECKING:
    from .augment import StyleAugment
    from .dataset.bank import StyleBank
    from .dataset.config import DatasetConfig
    from .dataset.run import stylize_dataset
    from .decoder import Decoder
    from .encoder import Features, VGGEncoder
    from .errors import AdaINError
    from .stylizer import StyleOptions, StyleStats, Stylizer
    from .weights import load_decoder, load_encoder, save_weights


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'adain' has no attribute {name!r}")
