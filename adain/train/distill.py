"""Distillation (``adain distill``): a compact encoder and decoder taught by the VGG pair.

The student is the VGG pair's own layout at a fraction of its channels (``width``, 0.25 by
default: 16 ... 128 channels), following Collaborative Distillation (Wang et al., CVPR
2020). It learns in two phases, as there:

- **Encoder** (the first ``encoder_iters`` steps): the student's relu1_1..relu4_1
  features, mapped to the teacher's channels by 1x1 convolutions (the "linear
  embeddings", used only in training), should equal the teacher's
  (``losses.feature_loss``), on contents and styles alike.
- **Decoder** (the steps after): with the student's encoder frozen, AdaIN of its features
  decodes to a picture that the teacher's VGG scores with AdaIN's losses: its relu4_1
  against the teacher's own AdaIN target, and its channel statistics against the style's
  (``content_loss``, ``style_loss``), as ``adain train`` scores the VGG decoder.

Learning both at once was tried first: the decoder then chases an encoder that moves under
it, and its style loss swings by 5x from step to step instead of falling. The teacher is
frozen and runs without autograd except through the picture the student decoded.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..decoder import Decoder
from ..encoder import ADAIN_LAST, Features, VGGEncoder, scaled
from ..losses import content_loss, feature_loss, style_loss
from ..ops import adain
from .step import Precision, StepResult


class Student(nn.Module):
    """What learns: the compact encoder and decoder, and the linear embeddings from the
    student's feature taps to the teacher's channels."""

    def __init__(self, width: float, teacher: VGGEncoder) -> None:
        super().__init__()
        self.encoder = VGGEncoder(ADAIN_LAST, width)
        self.decoder = Decoder(width)
        # the taps' channels are those of the conv before each ReLU: conv1_1 ... conv4_1
        self.embed = nn.ModuleDict({
            layer: nn.Conv2d(scaled(channels, width), channels, kernel_size=1)
            for layer in Features._fields
            for channels in [getattr(teacher, layer.replace("relu", "conv")).out_channels]})
        with torch.no_grad():  # the same input normalisation as the teacher to start from
            self.encoder.preprocess.load_state_dict(teacher.preprocess.state_dict())

    def forward(self, images: Tensor, contents: int, part: str) -> Features | Tensor:
        """``images``: the contents (the first ``contents``), then as many styles, (2B, 3,
        S, S). ``part`` "encoder": the student's features of all of them, embedded to the
        teacher's channels; "decoder": the decoded AdaIN of each content to its style,
        (B, 3, S', S'), the encoder frozen."""
        if part == "encoder":
            feats = self.encoder(images)
            return Features(*(self.embed[layer](feat)
                              for layer, feat in zip(Features._fields, feats, strict=True)))
        return self.decoder(self.styled(images[:contents], images[contents:]))

    def styled(self, content: Tensor, style: Tensor) -> Tensor:
        """The decoder's input: AdaIN of the student's relu4_1 features, without autograd."""
        with torch.no_grad():
            return adain(self.encoder.encode(content).float(), self.encoder.encode(style).float())


class DistillStep:
    """One optimizer step of the student (``student``, maybe DDP-wrapped; ``plain`` the
    module itself) against the frozen ``teacher`` encoder; the ``teacher_decoder`` only
    draws the sample grid's teacher column. Steps before ``encoder_iters`` train the
    encoder, the others the decoder; ``step`` is where the run starts (or resumes)."""

    def __init__(self, teacher: nn.Module, teacher_decoder: nn.Module, student: nn.Module,
                 plain: Student, optimizer: torch.optim.Optimizer,
                 weights: tuple[float, float, float], precision: Precision,
                 encoder_iters: int, step: int) -> None:
        self.teacher, self.teacher_decoder = teacher, teacher_decoder
        self.student, self.plain = student, plain
        self.optimizer, self.precision = optimizer, precision
        self.weights = weights  # feature, content, style
        self.encoder_iters, self.step = encoder_iters, step

    def __call__(self, content_u8: Tensor, style_u8: Tensor) -> StepResult:
        content, style = (self.precision.to_device(b) for b in (content_u8, style_u8))
        both = torch.cat([content, style])  # one pass of each encoder over both
        part = "encoder" if self.step < self.encoder_iters else "decoder"
        self.step += 1
        with torch.no_grad(), self.precision():
            taught = self.teacher(both)
            style_feats = Features(*(feat[len(content):] for feat in taught))
            teacher_target = adain(taught.relu4_1[:len(content)].float(),
                                   style_feats.relu4_1.float())
        w_f, w_c, w_s = self.weights
        with self.precision():
            learned = self.student(both, len(content), part)  # under DDP: synced grads
            if part == "decoder":
                output_feats = self.teacher(learned)
        if part == "encoder":
            losses = {"feature": feature_loss(learned, taught)}
            loss = w_f * losses["feature"]
        else:
            losses = {"content": content_loss(output_feats.relu4_1, teacher_target),
                      "style": style_loss(output_feats, style_feats)}
            loss = w_c * losses["content"] + w_s * losses["style"]
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()

        def columns(n: int) -> list[Tensor]:  # content | style | teacher | student
            h, w = content.shape[-2:]
            with torch.no_grad():
                teacher_out = self.teacher_decoder(teacher_target[:n]).float()
                student_out = self.plain.decoder(self.plain.styled(content[:n], style[:n]))
            return [content[:n], style[:n], teacher_out[..., :h, :w],
                    student_out[..., :h, :w].float()]

        return StepResult({name: value.detach() for name, value in losses.items()}, columns)
