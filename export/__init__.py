"""ONNX export: trained weights in, verified ONNX graphs out.

Three graphs, float32 NCHW RGB in [0, 1], batch, height and width dynamic:

- ``style_encoder.onnx``: ``style`` -> ``style_mean``, ``style_std`` (N, C, 1, 1), C = 512
  (128 for a compact model of ``adain distill``)
- ``stylizer.onnx``: ``content``, ``style_mean``, ``style_std``, ``alpha`` -> ``stylized``
- ``adain.onnx``: ``content``, ``style``, ``alpha`` -> ``stylized``

``stylized`` is clamped to [0, 1] and has the content's height and width.
"""

from .graph_file import ExportedGraph
from .onnx_export import ExportConfig, export_onnx

__all__ = ["ExportConfig", "ExportedGraph", "export_onnx"]
