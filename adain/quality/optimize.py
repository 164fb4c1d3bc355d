"""The optimisation method of Gatys et al. (CVPR 2016): the slow, classic quality reference.

The output image's pixels are optimised with L-BFGS (strong Wolfe line search) against

    content_weight * sum_l MSE(F_l(x), F_l(content))           (relu4_2 by default)
  + style_weight * sum_l MSE(Gram_l(x), Gram_l(style))         (relu1_1 .. relu5_1)

with Gram = F F^T / (C * H * W), on features of the same frozen VGG-19 AdaIN uses. The
default weights (1 and 1e3) are those of Gatys' own PyTorch code for this normalised VGG,
converted to this Gram normalisation. As in the reference implementations the pixels
are not constrained while optimising; the result is clamped to [0, 1].

The optimised parameter is the image's pixels as one flat, contiguous vector: L-BFGS views
its gradient flat, which fails on a strided gradient (a content decoded as a channels-last
view, or oneDNN's channels-last convolution gradients on some CPUs).

A run needs a style loss (a style layer and a positive, finite style weight); the content
loss may be left out (no content layers or weight 0: texture synthesis, with ``init="noise"``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from .. import images, ops
from ..device import resolve_device
from ..encoder import LAYERS, VGGEncoder, check_layers, min_side
from ..errors import AdaINError
from ..images import prepare
from ..losses import GRAM_LAYERS, content_loss, gram_loss
from ..ops import gram_matrix
from ..outputs import check_writable_path, refuse_inputs_as_outputs
from ..paths import DEFAULT_VGG
from ..weights import load_encoder

DEFAULT_CONTENT_LAYERS = ("relu4_2",)
# Memory per image pixel: the activations kept for the backward pass to relu5_1 (about
# 2.2 kB) plus L-BFGS's history of 100 pairs of image-sized float32 vectors (2.4 kB).
BYTES_PER_PIXEL = 5200
# Evaluations one strong-Wolfe line search may take (torch's max_ls): the budget of 2 per
# step gets this much more, so that a long first line search does not cut a short run.
MAX_LINE_SEARCH = 25


@dataclass(frozen=True)
class OptimizeConfig:
    """What ``adain optimize`` does; the same fields as its options."""

    steps: int = 300  # L-BFGS iterations (each one or a few forward-backward passes)
    content_weight: float = 1.0
    style_weight: float = 1e3
    content_layers: tuple[str, ...] = DEFAULT_CONTENT_LAYERS
    style_layers: tuple[str, ...] = GRAM_LAYERS
    init: str = "content"  # "content" or "noise"
    seed: int = 0  # for the noise start; on the CPU the result is the same for a seed
    size: int = 512  # shorter side of the content and the style; 0 keeps their sizes
    preserve_color: bool = False  # recolour the style to the content's colours first

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise AdaINError(f"steps must be at least 1, got {self.steps}")
        if not 0 <= self.seed < 2**63:
            raise AdaINError(f"seed must be from 0 to 2**63 - 1, got {self.seed}")
        if self.init not in ("content", "noise"):
            raise AdaINError(f"init must be content or noise, got {self.init!r}")
        for name, weight in (("content", self.content_weight), ("style", self.style_weight)):
            if not math.isfinite(weight) or weight < 0:
                raise AdaINError(f"the {name} weight must be a finite number of at least 0, "
                                 f"got {weight}")
        if not self.style_layers:
            raise AdaINError("no style layers: the result would have no style; give at least "
                             "one, e.g. relu1_1,relu2_1,relu3_1,relu4_1,relu5_1")
        if self.style_weight == 0:
            raise AdaINError("a style weight of 0 leaves no style to optimise for; give a "
                             "positive style weight (the default is 1e3)")
        try:
            check_layers(self.content_layers + self.style_layers)
        except ValueError as exc:
            raise AdaINError(str(exc)) from None
        if self.size != 0 and self.size < self.min_side:
            raise AdaINError(f"size must be 0 (keep the original) or at least {self.min_side} "
                             f"pixels for {self.deepest}, got {self.size}")

    @property
    def deepest(self) -> str:
        """The deepest layer the losses need: the encoder stops there."""
        return max(self.content_layers + self.style_layers, key=LAYERS.index)

    @property
    def min_side(self) -> int:
        return min_side(self.deepest)


@dataclass(frozen=True)
class OptimizeStep:
    """The weighted losses after ``step`` L-BFGS iterations."""

    step: int  # L-BFGS iterations finished
    content_loss: float  # weighted, as optimised
    style_loss: float

    @property
    def total(self) -> float:
        return self.content_loss + self.style_loss


def optimize(encoder: VGGEncoder, content: Tensor, style: Tensor,
             config: OptimizeConfig = OptimizeConfig(),
             on_step: Callable[[OptimizeStep], None] | None = None
             ) -> tuple[Tensor, list[OptimizeStep]]:
    """Optimise an image for ``content`` and ``style`` ((1, 3, H, W) in [0, 1], on the
    encoder's device). Returns the image (1, 3, H, W) clamped to [0, 1] and the weighted
    losses after 0, 1, ... steps (the best point evaluated by then), the last entry being
    the returned image's; ``on_step`` gets each entry after the first.

    L-BFGS runs as one call with ``max_iter=steps``, so its line search keeps a consistent
    history; it may stop early once the loss no longer changes.
    """
    objective = _Objective(encoder, content, style, config)
    shape = content.shape
    pixels = _start(content, config).requires_grad_(True)  # flat: see the module docstring
    optimizer = torch.optim.LBFGS([pixels], lr=1.0, max_iter=config.steps,
                                  max_eval=2 * config.steps + MAX_LINE_SEARCH,
                                  history_size=100, line_search_fn="strong_wolfe")
    history: list[OptimizeStep] = []
    best: list[OptimizeStep] = []  # the lowest-loss point evaluated so far

    def closure() -> Tensor:
        optimizer.zero_grad(set_to_none=True)
        c_loss, s_loss = objective(pixels.view(shape))
        loss = c_loss + s_loss
        done = max(optimizer.state[pixels].get("n_iter", 0) - 1, 0)  # iterations finished
        if not torch.isfinite(loss):
            when = f"after {done} step(s)" if history else "at the start"
            raise AdaINError(f"the loss became {loss.item()} {when}; lower --style-weight "
                             "or --content-weight")
        point = OptimizeStep(0, c_loss.item(), s_loss.item())
        if not history or len(history) == done:  # a new iteration: where the last got to
            where = best[0] if best else point
            history.append(OptimizeStep(done, where.content_loss, where.style_loss))
            if done and on_step:
                on_step(history[-1])
        if not best or point.total < best[0].total:
            best[:] = [point]
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        result = pixels.detach().view(shape).clamp(0.0, 1.0)
        c_loss, s_loss = objective(result)
    steps_done = optimizer.state[pixels]["n_iter"]
    history.append(OptimizeStep(steps_done, c_loss.item(), s_loss.item()))
    if on_step:
        on_step(history[-1])
    return result, history


class _Objective:
    """The weighted content and style losses of an image, the targets computed once."""

    def __init__(self, encoder: VGGEncoder, content: Tensor, style: Tensor,
                 config: OptimizeConfig) -> None:
        self.encoder, self.config = encoder, config
        self.layers = tuple(dict.fromkeys(config.content_layers + config.style_layers))
        with torch.no_grad():
            self.content = {k: v.clone() for k, v in
                            encoder.taps(content, config.content_layers).items()}
            self.grams = {k: gram_matrix(v) for k, v in
                          encoder.taps(style, config.style_layers).items()}

    def __call__(self, image: Tensor) -> tuple[Tensor, Tensor]:
        feats = self.encoder.taps(image, self.layers)
        c_loss = s_loss = image.new_zeros(())
        for layer, target in self.content.items():
            c_loss = c_loss + content_loss(feats[layer], target)
        if self.grams:
            s_loss = gram_loss(feats, self.grams)
        return self.config.content_weight * c_loss, self.config.style_weight * s_loss


def optimize_file(content: str | Path, style: str | Path, output: str | Path,
                  config: OptimizeConfig = OptimizeConfig(), vgg: str | Path = DEFAULT_VGG,
                  device: str = "auto",
                  on_step: Callable[[OptimizeStep], None] | None = None) -> list[OptimizeStep]:
    """Load the images and the encoder, optimise, and write ``output`` atomically.

    An output that is one of the inputs, or that cannot be written, is refused first.
    """
    images.check_writable(output)
    refuse_inputs_as_outputs([output], [content, style, vgg])
    check_writable_path(output)
    dev = resolve_device(device)
    encoder = load_encoder(vgg, last=config.deepest).module.to(dev)
    content_image = prepare(content, config.size, False, dev, BYTES_PER_PIXEL, config.min_side)
    style_image = prepare(style, config.size, False, dev, BYTES_PER_PIXEL, config.min_side)
    if config.preserve_color:
        style_image = ops.coral(style_image[0], content_image[0])[None]
    try:
        result, history = optimize(encoder, content_image.to(dev), style_image.to(dev), config,
                                   on_step)
    except torch.OutOfMemoryError as exc:
        raise AdaINError(f"out of GPU memory at {config.size} pixels; use a smaller --size "
                         "or --device cpu") from exc
    images.save_image(result.cpu(), output)
    return history


def _start(content: Tensor, config: OptimizeConfig) -> Tensor:
    """The starting pixels as a new flat, contiguous vector (C, H, W order)."""
    if config.init == "content":
        return content.detach().reshape(-1).clone()
    generator = torch.Generator(device="cpu").manual_seed(config.seed)
    return torch.rand(content.numel(), generator=generator).to(content)
