"""``StyleAugment``: style randomisation as a module inside a training loop.

    from adain import StyleAugment
    augment = StyleAugment("sin/style_bank.safetensors", p=0.5, alpha=(0.5, 1.0)).cuda()
    images = augment(images)  # (N, 3, H, W) in [0, 1], same shape, dtype and device

Each image is, with probability ``p``, stylised with a random style of the bank at an
alpha drawn uniformly from ``alpha``; with probability ``mix`` its style statistics are a
random blend of two styles' (style mixing, as in the AdaIN paper's interpolation). The
draws come from ``generator`` (given to the module or to each call), one fixed set per
image whatever happens, so a seeded generator gives the same batch every time. The
networks are frozen and run under ``torch.no_grad``: nothing flows into the weights.
A single (3, H, W) image works too, so the module fits in a torchvision v2 pipeline.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import Tensor, nn

from .dataset.bank import StyleBank, StyleRecipe, build_bank
from .encoder import MIN_SIDE
from .errors import AdaINError
from .paths import DEFAULT_DECODER, DEFAULT_VGG
from .picture import find_images
from .stylizer import decode_styled
from .weights import load_decoder, load_encoder

StyleSource = StyleBank | str | Path | Sequence[str | Path]


class StyleAugment(nn.Module):
    """Stylise each image of a batch with probability ``p`` (see the module docstring)."""

    def __init__(self, styles: StyleSource, vgg: str | Path = DEFAULT_VGG,
                 decoder: str | Path = DEFAULT_DECODER, p: float = 0.5,
                 alpha: float | tuple[float, float] = 1.0, mix: float = 0.0,
                 style_size: int = 512, style_crop: bool = False,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        low, high = (alpha, alpha) if isinstance(alpha, (int, float)) else alpha
        if not (0.0 <= p <= 1.0 and 0.0 <= mix <= 1.0 and 0.0 <= low <= high <= 1.0):
            raise AdaINError(f"StyleAugment needs p and mix in [0, 1] and 0 <= alpha low <= "
                             f"high <= 1; got p={p}, mix={mix}, alpha={alpha}")
        self.p, self.mix, self.alpha, self.generator = p, mix, (float(low), float(high)), generator
        encoder = load_encoder(vgg)
        self.encoder = encoder.module.eval().requires_grad_(False)
        self.decoder = load_decoder(decoder).module.eval().requires_grad_(False)
        bank = _bank(styles, self.encoder, encoder.sha256, StyleRecipe(style_size, style_crop))
        if bank.encoder_sha256 != encoder.sha256:
            raise AdaINError("the style bank was built with other encoder weights than --vgg "
                             f"{vgg}; build it again with these weights")
        self.style_names = list(bank.names)
        self.register_buffer("style_mean", bank.mean.clone(), persistent=False)  # (S, 512)
        self.register_buffer("style_std", bank.std.clone(), persistent=False)

    def train(self, mode: bool = True) -> StyleAugment:
        super().train(mode)
        self.encoder.eval()  # the networks stay in inference mode whatever the loop sets
        self.decoder.eval()
        return self

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        single = images.ndim == 3
        batch = images[None] if single else images
        if batch.ndim != 4 or batch.shape[1] != 3:
            raise AdaINError(f"StyleAugment takes (N, 3, H, W) or (3, H, W) images, got "
                             f"{tuple(images.shape)}")
        draws = self._draw(batch.shape[0], generator or self.generator)
        chosen = draws["apply"].nonzero().reshape(-1)
        if len(chosen) == 0:
            return images
        if min(batch.shape[-2:]) < MIN_SIDE:
            raise AdaINError(f"StyleAugment needs images of at least {MIN_SIDE} pixels a side, "
                             f"got {tuple(batch.shape[-2:])}")
        out = batch.clone()
        out[chosen] = self._stylize(batch[chosen], {k: v[chosen] for k, v in draws.items()}
                                    ).to(device=batch.device, dtype=batch.dtype)
        out = out[0] if single else out
        return _like(out, images)

    def _draw(self, n: int, generator: torch.Generator | None) -> dict[str, Tensor]:
        """Every random number for ``n`` images, drawn on the CPU in a fixed order."""
        count = len(self.style_names)
        low, high = self.alpha
        return {"apply": torch.rand(n, generator=generator) < self.p,
                "style": torch.randint(count, (n,), generator=generator),
                "alpha": low + (high - low) * torch.rand(n, generator=generator),
                "mixed": torch.rand(n, generator=generator) < self.mix,
                "other": torch.randint(count, (n,), generator=generator),
                "weight": torch.rand(n, generator=generator)}

    @torch.no_grad()
    def _stylize(self, images: Tensor, draws: dict[str, Tensor]) -> Tensor:
        device = self.style_mean.device
        x = images.to(device=device, dtype=torch.float32)
        h, w = x.shape[-2:]
        weight = torch.where(draws["mixed"], draws["weight"], 1.0).to(device)[:, None]  # (B, 1)
        style, other = draws["style"].to(device), draws["other"].to(device)
        mean = weight * self.style_mean[style] + (1 - weight) * self.style_mean[other]
        std = weight * self.style_std[style] + (1 - weight) * self.style_std[other]  # (B, 512)
        alpha = draws["alpha"].to(device).reshape(-1, 1, 1, 1)
        feat = self.encoder.encode(x).float()  # (B, 512, h/8, w/8)
        out = decode_styled(self.decoder, feat, mean[..., None, None], std[..., None, None],
                            alpha, (h, w))
        return out.float().clamp_(0.0, 1.0)

    def extra_repr(self) -> str:
        return (f"styles={len(self.style_names)}, p={self.p}, alpha={self.alpha}, "
                f"mix={self.mix}")


def _bank(styles: StyleSource, encoder: nn.Module, encoder_sha256: str,
          recipe: StyleRecipe) -> StyleBank:
    """A bank as given, read from its file, or built from a folder or a list of images."""
    if isinstance(styles, StyleBank):
        return styles
    if isinstance(styles, (str, Path)) and Path(styles).is_file() \
            and Path(styles).suffix == ".safetensors":
        return StyleBank.load(styles)
    if isinstance(styles, (str, Path)):
        root = Path(styles)
        if not root.exists():
            raise AdaINError(f"{root}: no such style bank file or style folder")
        if not root.is_dir():
            raise AdaINError(f"{root}: give a style bank file (.safetensors), a folder of "
                             "style images or a list of them")
        files = find_images(root)
    else:
        files = [Path(p) for p in styles]
        root = Path(os.path.commonpath([p.resolve().parent for p in files])) if files else Path()
        files = [p.resolve() for p in files]
    if not files:
        raise AdaINError(f"no style images in {styles}")
    return build_bank(files, root, encoder, encoder_sha256, recipe, torch.device("cpu"))


def _like(out: Tensor, images: Tensor) -> Tensor:
    """``out`` as the same kind of tensor as ``images`` (a torchvision tv_tensor stays one)."""
    tv_tensors = sys.modules.get("torchvision.tv_tensors")
    if tv_tensors is not None and isinstance(images, tv_tensors.TVTensor):
        return tv_tensors.wrap(out, like=images)
    return out
