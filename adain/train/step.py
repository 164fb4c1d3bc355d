"""One training step: encode, AdaIN, decode, re-encode, the loss, one optimizer update.

Speed on GPUs comes from bf16 autocast, channels-last tensors, uint8 batches moved with
non-blocking copies and converted on the device, and no autograd graph for the frozen
encoder's passes over the content and style. Loss arithmetic stays in float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..losses import content_loss, style_loss
from ..ops import adain


@dataclass(frozen=True)
class StepModels:
    encoder: nn.Module  # VGGEncoder (maybe compiled); frozen
    decoder: nn.Module  # Decoder, maybe wrapped in DDP and/or compiled


@dataclass(frozen=True)
class StepResult:
    losses: dict[str, Tensor]  # name ("content", "style", ...) -> scalar, detached
    # The sample grid's columns for the step's first ``count`` pairs, each (count, 3, S, S)
    # in [0, 1]: content | style | output (| more); called only on sampling steps.
    columns: Callable[[int], list[Tensor]]


def precision_for(name: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype: bf16 on CUDA GPUs that support it for ``auto``; None = fp32."""
    if name == "fp32":
        return None
    if name == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


class Precision:
    """The autocast context of a step, and its input conversion."""

    def __init__(self, autocast: torch.dtype | None, device: torch.device,
                 channels_last: bool) -> None:
        self.autocast, self.device = autocast, device
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def to_device(self, batch: Tensor) -> Tensor:  # uint8 (B, 3, S, S) -> float in [0, 1]
        batch = batch.to(self.device, non_blocking=True).float().div_(255.0)
        return batch.contiguous(memory_format=self.memory_format)

    def __call__(self):
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast)


class TrainStep:
    def __init__(self, models: StepModels, optimizer: torch.optim.Optimizer,
                 content_weight: float, style_weight: float, autocast: torch.dtype | None,
                 device: torch.device, channels_last: bool) -> None:
        self.models, self.optimizer = models, optimizer
        self.weights = (content_weight, style_weight)
        self.precision = Precision(autocast, device, channels_last)

    def __call__(self, content_u8: Tensor, style_u8: Tensor) -> StepResult:
        encoder, decoder = self.models.encoder, self.models.decoder
        content, style = (self.precision.to_device(b) for b in (content_u8, style_u8))
        with torch.no_grad(), self.precision():
            style_feats = encoder(style)
            target = adain(encoder(content).relu4_1.float(), style_feats.relu4_1.float())
        with self.precision():
            output = decoder(target)
            output_feats = encoder(output)
        loss_c = content_loss(output_feats.relu4_1, target)
        loss_s = style_loss(output_feats, style_feats)
        loss = self.weights[0] * loss_c + self.weights[1] * loss_s
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        output = output.detach()
        return StepResult({"content": loss_c.detach(), "style": loss_s.detach()},
                          lambda n: [content[:n], style[:n],
                                     output[:n, :, :content.shape[2], :content.shape[3]].float()])
