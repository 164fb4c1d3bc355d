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
__all__ = ["AdaINError", "Decoder", "Features", "StyleOptions", "StyleStats", "Stylizer",
           "VGGEncoder", "__version__", "load_decoder", "load_encoder", "save_weights"]

if TYPE_CHECKING:
    from .decoder import Decoder
    from .encoder import Features, VGGEncoder
    from .errors import AdaINError
    from .stylizer import StyleOptions, StyleStats, Stylizer
    from .weights import load_decoder, load_encoder, save_weights


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'adain' has no attribute {name!r}")
