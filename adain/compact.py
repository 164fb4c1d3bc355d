"""The compact model: a narrow encoder and its decoder in one self-describing file.

``adain distill`` writes ``RUN/compact.safetensors``: the tensors ``encoder.*`` (VGG-19 to
relu4_1 at a fraction ``width`` of its channels) and ``decoder.*`` (the mirrored decoder
at the same width), and as metadata ``format=adain``, ``kind=compact``, the
``architecture`` and ``width``, the ``step``, the teacher's encoder identity and the
SHA-256 fingerprints of both teacher networks, and the run's config.

``load_pair`` is the one place that turns what a command was given (``--vgg`` and
``--decoder``, or ``--model``) into the encoder and decoder that stylise together.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors.torch import save_file
from torch import nn

from .atomic import atomic_path
from .decoder import Decoder
from .encoder import ADAIN_LAST, VGGEncoder
from .errors import AdaINError
from .paths import DEFAULT_DECODER, DEFAULT_VGG
from .weights import (
    FORMAT_VERSION,
    LoadedDecoder,
    LoadedEncoder,
    WeightsFile,
    fingerprint,
    load_decoder,
    load_encoder,
    read_weights,
)

ARCHITECTURE = "vgg19-to-relu4_1"  # the layers and strides of the VGG pair, channels scaled
KIND = "compact"


def save_compact(path: str | Path, encoder: VGGEncoder, decoder: Decoder,
                 **metadata: object) -> Path:
    """Write a compact pair atomically; ``metadata`` (teacher hashes, step, config) is
    kept as strings beside the architecture and width, which come from the modules."""
    if encoder.width != decoder.width:
        raise ValueError(f"encoder width {encoder.width} != decoder width {decoder.width}")
    meta = {"format": "adain", "format_version": FORMAT_VERSION, "kind": KIND,
            "architecture": ARCHITECTURE, "width": repr(encoder.width),
            "encoder": compact_identity(encoder.width)}
    meta.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()})
    state = {f"{part}.{k}": v.detach().cpu().contiguous()
             for part, module in (("encoder", encoder), ("decoder", decoder))
             for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return Path(path)


def compact_identity(width: float) -> str:
    """The name a compact encoder goes by in metadata (graphs, decoders, banks)."""
    return f"adain-compact-{ARCHITECTURE}-w{width:g}"


def load_compact(path: str | Path) -> tuple[LoadedEncoder, LoadedDecoder]:
    """The encoder and decoder of a compact model file, eval mode, encoder frozen."""
    wf = read_weights(path)
    if wf.kind != KIND:
        hint = {"encoder": "; pass it as --vgg", "decoder": "; pass it as --decoder"}
        raise AdaINError(f"{wf.describe()}, but --model expects a compact model from adain "
                         f"distill (RUN/compact.safetensors){hint.get(wf.kind, '')}")
    width = _width(wf)
    encoder, decoder = VGGEncoder(ADAIN_LAST, width), Decoder(width)
    for part, module in (("encoder", encoder), ("decoder", decoder)):
        _load_part(wf, part, module)
    encoder.eval().requires_grad_(False)
    decoder.eval()
    sha = fingerprint(encoder)
    meta = {k: v for k, v in wf.metadata.items() if k not in ("format", "format_version")}
    meta["encoder_sha256"] = sha
    return (LoadedEncoder(encoder, wf.metadata.get("encoder", compact_identity(width)), sha),
            LoadedDecoder(decoder, meta))


def load_pair(vgg: str | Path = DEFAULT_VGG, decoder: str | Path = DEFAULT_DECODER,
              model: str | Path | None = None) -> tuple[LoadedEncoder, LoadedDecoder]:
    """The encoder and decoder that stylise together: the compact ``model``, or ``vgg`` and
    ``decoder``; a model with another ``vgg`` or ``decoder`` than the defaults is refused."""
    if model is None:
        return load_encoder(vgg), load_decoder(decoder)
    if (str(vgg), str(decoder)) != (str(DEFAULT_VGG), str(DEFAULT_DECODER)):
        raise AdaINError("--model holds both networks; leave out --vgg and --decoder")
    return load_compact(model)


def _width(wf: WeightsFile) -> float:
    if wf.metadata.get("architecture") != ARCHITECTURE:
        raise AdaINError(f"{wf.path} is a compact model of architecture "
                         f"{wf.metadata.get('architecture')!r}, which this adain does not "
                         f"know (it knows {ARCHITECTURE}); upgrade adain")
    try:
        width = float(wf.metadata["width"])
    except (KeyError, ValueError):
        raise AdaINError(f"{wf.path} is a compact model without a valid width in its "
                         "metadata; it is damaged, distil it again") from None
    if not 0.0 < width <= 1.0:
        raise AdaINError(f"{wf.path} records width {width}, outside (0, 1]; it is damaged")
    return width


def _load_part(wf: WeightsFile, part: str, module: nn.Module) -> None:
    prefix = f"{part}."
    tensors = {k.removeprefix(prefix): v for k, v in wf.tensors.items() if k.startswith(prefix)}
    expected = module.state_dict()
    missing, unexpected = sorted(set(expected) - set(tensors)), sorted(set(tensors) - set(expected))
    wrong = [k for k in set(expected) & set(tensors) if tensors[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        raise AdaINError(f"{wf.path}: its {part} does not match a compact {ARCHITECTURE} at "
                         f"width {module.width:g} (missing {missing[:3]}, unexpected "
                         f"{unexpected[:3]}, wrong shapes {sorted(wrong)[:3]}); it is damaged")
    module.load_state_dict({k: v.float() for k, v in tensors.items()}, strict=True)
