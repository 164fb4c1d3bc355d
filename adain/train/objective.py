"""What a training run learns: its networks, its step, what its checkpoints hold, its result.

``adain train`` learns a decoder for a frozen encoder (:class:`DecoderObjective`, the
paper's); ``adain distill`` a compact encoder and decoder from the VGG pair
(:class:`DistillObjective`). The loop (``loop.py``) runs both alike: the resumable data
order, checkpoints, signals, torchrun, TensorBoard and progress are the same code.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import torch
from torch import nn

from ..compact import load_compact, save_compact
from ..decoder import Decoder
from ..errors import AdaINError
from ..weights import fingerprint, load_decoder, load_encoder, save_weights
from .config import DistillConfig, TrainConfig
from .distill import DistillStep, Student
from .step import Precision, StepModels, TrainStep

log = logging.getLogger(__name__)


class DecoderObjective:
    """The paper's: a decoder learns to invert AdaIN for the frozen encoder ``config.vgg``."""

    RESULT = "decoder.safetensors"
    STATE_KEY = "decoder"  # the learning network's key in a checkpoint
    DDP_OPTIONS: dict[str, object] = {}  # every parameter learns in every step

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        self.encoder = load_encoder(config.vgg)
        torch.manual_seed(config.seed)  # the learning network's initial weights
        self.trained: nn.Module = Decoder()
        self.frozen: dict[str, nn.Module] = {"encoder": self.encoder.module}

    @staticmethod
    def steps_in_phase(step: int) -> int:
        """Steps since the learning rate's decay began: all of them (one phase)."""
        return step

    def record(self) -> dict[str, object]:
        """What a checkpoint keeps of the frozen networks, to check on resume."""
        return {"encoder": self.encoder.identity, "encoder_sha256": self.encoder.sha256}

    def check_resume(self, path: Path, state: dict) -> None:
        if state.get("encoder_sha256") != self.encoder.sha256:
            raise AdaINError(f"{path} was trained against other encoder weights than "
                             f"{self.config.vgg}; resume with the same --vgg")

    def make_step(self, frozen: dict[str, nn.Module], trained: nn.Module,
                  optimizer: torch.optim.Optimizer, precision: Precision,
                  step: int) -> TrainStep:
        config = self.config
        return TrainStep(StepModels(frozen["encoder"], trained), optimizer,
                         config.content_weight, config.style_weight, precision.autocast,
                         precision.device, precision.memory_format == torch.channels_last)

    def save_result(self, run: Path, step: int) -> Path:
        return save_weights(self.trained, run / self.RESULT, "decoder", step=step,
                            encoder=self.encoder.identity, encoder_sha256=self.encoder.sha256,
                            config=json.dumps(self.config.to_dict()))

    @classmethod
    def result_step(cls, run: Path) -> int:
        """The step recorded in RUN's result file, or -1 if there is none."""
        try:
            return int(load_decoder(run / cls.RESULT).metadata["step"])
        except (AdaINError, KeyError, ValueError):
            return -1


class DistillObjective:
    """``adain distill``: the :class:`Student` learns from the teacher ``config.vgg`` (and
    ``config.decoder``, whose pictures the sample grids show beside the student's)."""

    RESULT = "compact.safetensors"
    STATE_KEY = "student"
    # each phase leaves the other network's parameters without gradients
    DDP_OPTIONS: dict[str, object] = {"find_unused_parameters": True}

    def __init__(self, config: DistillConfig) -> None:
        self.config = config
        self.encoder = load_encoder(config.vgg)
        teacher_decoder = load_decoder(config.decoder)
        if teacher_decoder.encoder_identity not in (self.encoder.identity, "unknown"):
            log.warning("%s was trained against the encoder %r, not %r: the student learns "
                        "from a mismatched pair", config.decoder,
                        teacher_decoder.encoder_identity, self.encoder.identity)
        self.decoder_sha256 = fingerprint(teacher_decoder.module)
        torch.manual_seed(config.seed)
        self.trained: nn.Module = Student(config.width, self.encoder.module)
        self.frozen = {"encoder": self.encoder.module,
                       "decoder": teacher_decoder.module.requires_grad_(False)}

    def steps_in_phase(self, step: int) -> int:
        """Each phase decays the learning rate from its own start, as ``adain train`` does."""
        encoder_iters = self.config.encoder_iters
        return step if step < encoder_iters else step - encoder_iters

    def record(self) -> dict[str, object]:
        return {"encoder": self.encoder.identity, "encoder_sha256": self.encoder.sha256,
                "decoder_sha256": self.decoder_sha256}

    def check_resume(self, path: Path, state: dict) -> None:
        for key, given in (("encoder_sha256", f"--vgg {self.config.vgg}"),
                           ("decoder_sha256", f"--decoder {self.config.decoder}")):
            if state.get(key) != self.record()[key]:
                raise AdaINError(f"{path} was distilled from another teacher than {given}; "
                                 "resume with the teacher the run started with")

    def make_step(self, frozen: dict[str, nn.Module], trained: nn.Module,
                  optimizer: torch.optim.Optimizer, precision: Precision,
                  step: int) -> DistillStep:
        config = self.config
        return DistillStep(frozen["encoder"], frozen["decoder"], trained, self.trained,
                           optimizer,
                           (config.feature_weight, config.content_weight, config.style_weight),
                           precision, config.encoder_iters, step)

    def save_result(self, run: Path, step: int) -> Path:
        student = self.trained
        return save_compact(run / self.RESULT, student.encoder, student.decoder, step=step,
                            teacher=self.encoder.identity,
                            teacher_vgg_sha256=self.encoder.sha256,
                            teacher_decoder_sha256=self.decoder_sha256,
                            config=json.dumps(self.config.to_dict()))

    @classmethod
    def result_step(cls, run: Path) -> int:
        path = run / cls.RESULT
        if not path.exists():
            return -1
        try:
            return int(load_compact(path)[1].metadata["step"])
        except (AdaINError, KeyError, ValueError):
            return -1


Objective = DecoderObjective | DistillObjective
RESULTS = (DecoderObjective.RESULT, DistillObjective.RESULT)  # what a finished run holds


def objective_class(config: TrainConfig) -> type[Objective]:
    return DistillObjective if isinstance(config, DistillConfig) else DecoderObjective
