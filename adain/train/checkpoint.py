"""Training checkpoints: everything needed to resume, written atomically.

A checkpoint is ``RUN/checkpoints/step_XXXXXXXX.pt``: the unwrapped decoder, the optimizer
and schedule, the step, the RNG state, the run's config as a plain dict and the encoder
it trains against. Written to a temporary file and renamed, so a kill at any moment
leaves the previous checkpoints whole; loaded with ``weights_only=True``.

``load_checkpoint`` raises ``UnreadableCheckpoint`` for a file that is broken or not a
checkpoint (a resume may fall back to the one before it), and a plain ``AdaINError`` for
a checkpoint written by a newer adain (never to be passed over).
"""

from __future__ import annotations

import pickle
import re
import struct
from pathlib import Path

import torch

from ..atomic import atomic_path
from ..errors import AdaINError

FORMAT = "adain-train-checkpoint"
FORMAT_VERSION = 1
_NAME = re.compile(r"^step_(\d{8,})\.pt$")
_REASON_CHARS = 160
# What torch.load raises for a file that is broken or no torch file at all: empty
# (EOFError), a cut zip (RuntimeError), text (KeyError), a cut pickle (struct.error,
# UnpicklingError), a folder (OSError), and more for other damage.
TORCH_LOAD_ERRORS = (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError,
                     KeyError, IndexError, TypeError, struct.error)


class UnreadableCheckpoint(AdaINError):
    """A checkpoint file that cannot be used: truncated, empty, or not a checkpoint."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} cannot be read: {reason}")
        self.path, self.reason = path, reason


def checkpoint_dir(run: Path) -> Path:
    return run / "checkpoints"


def save_checkpoint(run: Path, state: dict, keep: int) -> Path:
    """Write ``state`` (which holds ``step``) and keep only the newest ``keep`` checkpoints."""
    path = checkpoint_dir(run) / f"step_{state['step']:08d}.pt"
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, "format_version": FORMAT_VERSION, **state}, tmp)
    for old in list_checkpoints(run)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return path


def list_checkpoints(run: Path) -> list[Path]:
    """Checkpoints of a run, oldest first (temporary files are never listed)."""
    folder = checkpoint_dir(run)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def remove_stale_temporaries(run: Path) -> None:
    """Delete temporary files that a killed save left behind (they are never checkpoints)."""
    folder = checkpoint_dir(run)
    if folder.is_dir():
        for path in folder.glob(".step_*.tmp*"):
            path.unlink(missing_ok=True)


def load_checkpoint(path: Path) -> dict:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except TORCH_LOAD_ERRORS as exc:
        raise UnreadableCheckpoint(path, _reason(path, exc)) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise UnreadableCheckpoint(path, "it is not an adain training checkpoint")
    check_version(path, state)
    return state


def check_version(path: Path, state: dict) -> None:
    """Refuse a checkpoint written by a newer adain than this one."""
    if state.get("format_version", 0) > FORMAT_VERSION:
        raise AdaINError(f"{path} was written by a newer adain (checkpoint format "
                         f"{state['format_version']}, this adain reads {FORMAT_VERSION}); "
                         "upgrade adain to use it")


def _reason(path: Path, exc: Exception) -> str:
    """What was wrong, in words: the exception's own message, cut to one short line."""
    if path.is_file() and path.stat().st_size == 0:
        return "the file is empty (0 bytes)"
    message = (str(exc).strip().splitlines() or [""])[0]
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return reason if len(reason) <= _REASON_CHARS else reason[:_REASON_CHARS - 3] + "..."
