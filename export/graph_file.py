"""What an exported graph file carries, and the record of one export.

Every graph this project writes names its producer (adain and its version), its opset and
its metadata (the weight files' SHA-256, layout, inputs...) in the file itself, for
runtimes that never see this code. ``onnx_export`` and ``quantize`` both write graphs, so
both use these helpers; neither imports the other for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

import adain

WEIGHT_KEYS = ("vgg_sha256", "decoder_sha256")  # metadata naming the weights of a graph


@dataclass(frozen=True)
class ExportedGraph:
    path: Path
    max_diff: float | None  # against ``reference``; None when not verified
    reference: str  # "PyTorch" or the graph it was compared with
    note: str = ""

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def opset_of(model: onnx.ModelProto) -> int:
    return next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))


def set_metadata(model: onnx.ModelProto, metadata: dict[str, str]) -> None:
    """Replace the graph's metadata; adain is the producer."""
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.add(key=key, value=value)
    model.producer_name, model.producer_version = "adain", adain.__version__


def read_metadata(path: Path) -> dict[str, str]:
    """The metadata of the graph file at ``path`` (its weights are not read).

    Raises OSError or protobuf's DecodeError for a file that is not a readable graph.
    """
    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}

