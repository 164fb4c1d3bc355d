"""Weights I/O: the published pytorch-AdaIN files, torchvision's VGG-19, and our own format.

Foreign index-keyed files are translated to our layer names by the one table ``REMAP``.
Loading is strict: every expected tensor must be there with its exact shape, and the only
extra tensors tolerated are the known unused layers of the same published network. A
wrong file is refused with one line that says what it looks like and what was expected.

Our own format is safetensors with string metadata: ``format=adain``, ``format_version``,
``kind`` (encoder, decoder, or compact: both networks, see ``adain.compact``), ``encoder``
(the encoder's identity), ``step`` and more.
A training checkpoint (``RUN/checkpoints/step_*.pt``) reads as its decoder, with the
encoder identity, its SHA-256 and the step from the checkpoint as metadata.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from torch import Tensor, nn

from .atomic import atomic_path
from .decoder import DECODER_CONVS, Decoder
from .encoder import ADAIN_LAST, LAYERS, VGG19_CONVS, VGGEncoder
from .errors import AdaINError
from .outputs import refuse_inputs_as_outputs
from .train.checkpoint import FORMAT as CHECKPOINT_FORMAT
from .train.checkpoint import TORCH_LOAD_ERRORS, check_version

FORMAT_VERSION = "1"
PUBLISHED_ENCODER_ID = "vgg_normalised"
TORCHVISION_ENCODER_ID = "torchvision_vgg19_imagenet1k_v1"
TORCHVISION = "torchvision"  # --vgg value that asks torchvision's weights API

# Foreign layer prefixes -> our layer names, one table per foreign layout. The encoder
# tables cover all of VGG-19; AdaIN's encoder (to relu4_1) uses the first ten entries.
REMAP: dict[str, dict[str, str]] = {
    "published-vgg": {
        "0": "preprocess", "2": "conv1_1", "5": "conv1_2", "9": "conv2_1", "12": "conv2_2",
        "16": "conv3_1", "19": "conv3_2", "22": "conv3_3", "25": "conv3_4", "29": "conv4_1",
        "32": "conv4_2", "35": "conv4_3", "38": "conv4_4",
        "42": "conv5_1", "45": "conv5_2", "48": "conv5_3", "51": "conv5_4",
    },
    "published-decoder": {
        "1": "conv4_1", "5": "conv3_4", "8": "conv3_3", "11": "conv3_2", "14": "conv3_1",
        "18": "conv2_2", "21": "conv2_1", "25": "conv1_2", "28": "conv1_1",
    },
    "torchvision-vgg19": {
        "features.0": "conv1_1", "features.2": "conv1_2", "features.5": "conv2_1",
        "features.7": "conv2_2", "features.10": "conv3_1", "features.12": "conv3_2",
        "features.14": "conv3_3", "features.16": "conv3_4", "features.19": "conv4_1",
        "features.21": "conv4_2", "features.23": "conv4_3", "features.25": "conv4_4",
        "features.28": "conv5_1", "features.30": "conv5_2", "features.32": "conv5_3",
        "features.34": "conv5_4",
    },
}
# Layers of the same foreign networks that no adain network uses.
UNUSED_LAYERS: dict[str, set[str]] = {
    "torchvision-vgg19": {"classifier.0", "classifier.3", "classifier.6"},
}
# Our layers every file of a kind must hold: a VGG file may stop after relu4_1.
CONV_NAMES = tuple(name for name, _, _ in VGG19_CONVS)
_REQUIRED = {
    "encoder": {f"{name}.{p}" for name in ("preprocess", *CONV_NAMES[:LAYERS.index(ADAIN_LAST) + 1])
                for p in ("weight", "bias")},
    "decoder": {f"{name}.{p}" for name, *_ in DECODER_CONVS for p in ("weight", "bias")},
}
_VGG_LAYERS = {"preprocess", *CONV_NAMES}
LAYOUT_KIND = {"published-vgg": "encoder", "torchvision-vgg19": "encoder",
               "published-decoder": "decoder"}
LAYOUT_DESCRIPTION = {
    "published-vgg": "the published VGG encoder (vgg_normalised.pth)",
    "published-decoder": "the published decoder (decoder.pth)",
    "torchvision-vgg19": "torchvision's VGG-19",
    "adain-encoder": "an adain encoder",
    "adain-decoder": "an adain decoder",
    "adain-compact": "a compact model from adain distill (both networks)",
}
_OWN_FORMATS = ("adain", CHECKPOINT_FORMAT)  # metadata "format" of files this project writes
_WRAPPER_PREFIX = re.compile(r"^(module\.|_orig_mod\.)+")


@dataclass(frozen=True)
class WeightsFile:
    """The tensors of a weights file, what they look like, and the file's metadata."""

    path: Path
    tensors: dict[str, Tensor]
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def layout(self) -> str:
        return identify(self.tensors, self.metadata)

    @property
    def kind(self) -> str:
        layout = self.layout
        return LAYOUT_KIND.get(layout, layout.removeprefix("adain-"))

    def describe(self) -> str:
        what = LAYOUT_DESCRIPTION.get(self.layout, "nothing this tool knows")
        if self.metadata.get("format") == CHECKPOINT_FORMAT:
            what = f"the decoder of a training checkpoint (step {self.metadata.get('step')})"
        return f"{self.path.name} holds {len(self.tensors)} tensors that look like {what}"


def identify(tensors: dict[str, Tensor], metadata: dict[str, str]) -> str:
    """Name the layout of a state dict: a key of ``REMAP``, ``adain-<kind>`` or ``unknown``."""
    if metadata.get("format") in _OWN_FORMATS:
        return f"adain-{metadata.get('kind', 'unknown')}"
    layers = {k.rsplit(".", 1)[0] for k in tensors}
    for layout, table in REMAP.items():
        required = {foreign for foreign, ours in table.items()
                    if f"{ours}.weight" in _REQUIRED[LAYOUT_KIND[layout]]}
        if required <= layers and layers <= set(table) | UNUSED_LAYERS.get(layout, set()):
            return layout
    for module, kind in ((VGGEncoder(), "encoder"), (Decoder(), "decoder")):
        if set(module.state_dict()) == set(tensors):
            return f"adain-{kind}"
    return "unknown"


def read_weights(path: str | Path) -> WeightsFile:
    """Read a safetensors or PyTorch file of tensors without ever running pickled code."""
    path = Path(path)
    if not path.is_file():
        raise AdaINError(f"{path} not found; run `adain weights fetch` or pass the right path "
                         "(see models/README.md)")
    with path.open("rb") as fh:
        head = fh.read(9)
    if len(head) == 9 and head[8:9] == b"{":  # safetensors: u64 header length, then JSON
        return _read_safetensors(path)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):  # zip or pickle
        raise AdaINError(f"{path} is not a PyTorch or safetensors weights file")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "global" not in str(exc).lower():  # not a pickle at all, or a broken one
            raise AdaINError(f"{path} is not a PyTorch or safetensors weights file, or it is "
                             "truncated") from exc
        raise AdaINError(f"refused {path}: it holds pickled Python objects besides tensors, "
                         "which could run code when loaded; re-save it as a plain state_dict "
                         "or in safetensors") from exc
    except TORCH_LOAD_ERRORS as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise AdaINError(f"{path} is not a PyTorch or safetensors weights file, or it is "
                         f"truncated ({reason})") from exc
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        return _checkpoint_decoder(path, obj)
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        keys = ", ".join(map(str, list(obj)[:5])) if isinstance(obj, dict) else type(obj).__name__
        raise AdaINError(f"{path} is not a plain state_dict of tensors (it holds {keys}); "
                         "expected encoder or decoder weights")
    tensors = {_WRAPPER_PREFIX.sub("", k): v for k, v in obj.items()}
    return WeightsFile(path, tensors)


def _checkpoint_decoder(path: Path, state: dict) -> WeightsFile:
    """The decoder of a training checkpoint, described by the checkpoint's own fields."""
    check_version(path, state)
    decoder = state.get("decoder")
    if "student" in state:
        raise AdaINError(f"{path} is a checkpoint of adain distill; its run writes the compact "
                         "model RUN/compact.safetensors at the end, which --model takes")
    if not isinstance(decoder, dict) or not all(isinstance(v, Tensor) for v in decoder.values()):
        raise AdaINError(f"{path} is a training checkpoint without a decoder state_dict")
    metadata = {"format": CHECKPOINT_FORMAT, "kind": "decoder", "step": str(state.get("step")),
                "encoder": str(state.get("encoder", "unknown"))}
    if state.get("encoder_sha256"):
        metadata["encoder_sha256"] = str(state["encoder_sha256"])
    if isinstance(state.get("config"), dict):
        metadata["config"] = json.dumps(state["config"])
    return WeightsFile(path, dict(decoder), metadata)


def _read_safetensors(path: Path) -> WeightsFile:
    try:
        with safe_open(str(path), framework="pt") as fh:
            metadata = fh.metadata() or {}
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (SafetensorError, OSError) as exc:
        raise AdaINError(f"{path} is a damaged safetensors file ({exc}); get it again") from exc
    return WeightsFile(path, tensors, dict(metadata))


def _translate(wf: WeightsFile, module: nn.Module, expected: str, flag: str) -> dict[str, Tensor]:
    """Map ``wf``'s tensors onto ``module``'s names, strictly, or explain what is wrong."""
    layout = wf.layout
    if wf.kind != expected:
        hints = {"encoder": "; pass it as --vgg?", "decoder": "; pass it as --decoder?",
                 "compact": "; it holds both networks: give it as --model to adain stylize, "
                            "adain export or adain eval --plot"}
        hint = hints.get(wf.kind, "")
        raise AdaINError(f"{wf.describe()}, but {flag} expects {expected} weights{hint}")
    if layout.startswith("adain-"):
        mapped = dict(wf.tensors)
    else:
        mapped = {f"{ours}.{suffix}": wf.tensors[f"{foreign}.{suffix}"]
                  for foreign, ours in REMAP[layout].items() if f"{foreign}.weight" in wf.tensors
                  for suffix in ("weight", "bias")}
        if layout == "torchvision-vgg19":  # folded input normalisation, see VGGEncoder
            probe = VGGEncoder()
            probe.set_imagenet_preprocess()
            mapped["preprocess.weight"] = probe.preprocess.weight.detach()
            mapped["preprocess.bias"] = probe.preprocess.bias.detach()
    expected_shapes = {k: v.shape for k, v in module.state_dict().items()}
    missing = sorted(set(expected_shapes) - set(mapped))
    deeper = {f"{name}.{suffix}" for name in _VGG_LAYERS for suffix in ("weight", "bias")}
    unexpected = sorted(set(mapped) - set(expected_shapes)
                        - (deeper if expected == "encoder" else set()))
    if missing and not unexpected and expected == "encoder" \
            and not set(missing) & _REQUIRED["encoder"]:
        raise AdaINError(f"{wf.describe()}, which stops before {module.last}, needed here; use "
                         "the full vgg_normalised.pth (`adain weights fetch`) or --vgg torchvision")
    if missing or unexpected:
        raise AdaINError(f"{wf.describe()} but is incomplete for {flag}: missing "
                         f"{missing[:3]}, unexpected {unexpected[:3]}")
    mapped = {k: v for k, v in mapped.items() if k in expected_shapes}
    for name, shape in expected_shapes.items():
        if mapped[name].shape != shape:
            raise AdaINError(f"{wf.path.name}: {name} has shape {tuple(mapped[name].shape)}, "
                             f"expected {tuple(shape)}; it is not weights for this network")
    return {k: v.float() for k, v in mapped.items()}


def check_loads(wf: WeightsFile) -> str:
    """The kind ``wf`` loads as (``encoder`` or ``decoder``); AdaINError if it does not
    (a compact model is checked by ``adain.compact.load_compact``)."""
    if wf.kind not in ("encoder", "decoder"):
        raise AdaINError(f"{wf.describe()}; it loads as neither an encoder nor a decoder")
    module, flag = (VGGEncoder(), "--vgg") if wf.kind == "encoder" else (Decoder(), "--decoder")
    _translate(wf, module, wf.kind, flag)
    return wf.kind


def encoder_identity(wf: WeightsFile) -> str:
    if wf.layout == "published-vgg":
        return PUBLISHED_ENCODER_ID
    if wf.layout == "torchvision-vgg19":
        return TORCHVISION_ENCODER_ID
    return wf.metadata.get("encoder", "unknown")


def fingerprint(module: nn.Module) -> str:
    """SHA-256 of a module's tensors (names sorted, float32 bytes): the same whatever file
    format held them, so a decoder can record exactly which encoder it was trained with."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


@dataclass(frozen=True)
class LoadedEncoder:
    module: VGGEncoder
    identity: str  # e.g. "vgg_normalised"
    sha256: str  # fingerprint() of the module


@dataclass(frozen=True)
class LoadedDecoder:
    module: Decoder
    metadata: dict[str, str]  # "encoder" names the encoder it was trained against

    @property
    def encoder_identity(self) -> str:
        return self.metadata.get("encoder", "unknown")

    def metadata_for_save(self) -> dict[str, str]:
        """This decoder's own metadata, without the file-format keys save_weights writes."""
        return {k: v for k, v in self.metadata.items()
                if k not in ("format", "format_version", "kind")}


def load_encoder(source: str | Path, last: str = ADAIN_LAST) -> LoadedEncoder:
    """The encoder to layer ``last`` from a file in any supported layout, or
    ``"torchvision"`` for the API."""
    if str(source) == TORCHVISION:
        wf = _torchvision_weights()
    else:
        wf = read_weights(source)
    encoder = VGGEncoder(last)
    encoder.load_state_dict(_translate(wf, encoder, "encoder", "--vgg"), strict=True)
    encoder.eval().requires_grad_(False)
    return LoadedEncoder(encoder, encoder_identity(wf), fingerprint(encoder))


def load_decoder(source: str | Path) -> LoadedDecoder:
    wf = read_weights(source)
    decoder = Decoder()
    decoder.load_state_dict(_translate(wf, decoder, "decoder", "--decoder"), strict=True)
    decoder.eval()
    metadata = dict(wf.metadata)
    if wf.layout == "published-decoder":
        metadata["encoder"] = PUBLISHED_ENCODER_ID
    return LoadedDecoder(decoder, metadata)


def _torchvision_weights() -> WeightsFile:
    from torch.hub import load_state_dict_from_url
    from torchvision.models import VGG19_Weights  # torchvision is slow to import

    url = VGG19_Weights.IMAGENET1K_V1.url
    try:
        state = load_state_dict_from_url(url, progress=True, check_hash=True, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise AdaINError(f"refused torchvision's cached VGG-19 ({url.rsplit('/', 1)[-1]} in "
                         "torch's hub cache): it holds objects besides tensors; delete it") from exc
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a bad hash a RuntimeError
        raise AdaINError(f"could not get torchvision's VGG-19 weights ({exc}); connect to the "
                         "internet once, or pass the downloaded vgg19-*.pth file as --vgg") from exc
    return WeightsFile(Path("torchvision VGG19_Weights.IMAGENET1K_V1"), dict(state))


def _deepest(wf: WeightsFile) -> str:
    """The deepest VGG layer an encoder file holds (relu4_1 or beyond)."""
    table = REMAP.get(wf.layout, {})
    names = {table.get(key.rsplit(".", 1)[0], key.rsplit(".", 1)[0]) for key in wf.tensors}
    return [layer for name, layer in zip(CONV_NAMES, LAYERS, strict=True) if name in names][-1]


def save_weights(module: nn.Module, path: str | Path, kind: str, **metadata: object) -> Path:
    """Write ``module`` in our format (safetensors + metadata), atomically."""
    meta = {"format": "adain", "format_version": FORMAT_VERSION, "kind": kind}
    meta.update({k: str(v) for k, v in metadata.items()})
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata=meta)
    return Path(path)


def convert_weights(source: str | Path, target: str | Path) -> str:
    """Rewrite encoder or decoder weights in our format; returns the kind written."""
    refuse_inputs_as_outputs([target], [] if str(source) == TORCHVISION else [source],
                             "give another file name for the converted weights")
    wf = read_weights(source) if str(source) != TORCHVISION else _torchvision_weights()
    if wf.kind == "encoder":
        encoder = load_encoder(source)  # its fingerprint is the AdaIN encoder's, to relu4_1
        full = load_encoder(source, last=_deepest(wf))  # and keep every layer the file has
        save_weights(full.module, target, "encoder", encoder=encoder.identity,
                     encoder_sha256=encoder.sha256)
    elif wf.kind == "decoder":
        decoder = load_decoder(source)
        save_weights(decoder.module, target, "decoder", **decoder.metadata_for_save())
    else:
        raise AdaINError(f"{wf.describe()}; expected encoder or decoder weights")
    return wf.kind
