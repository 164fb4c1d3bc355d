"""Capture, inference and output overlap: a reader thread, an inference thread, and the
caller's thread for display or writing, joined by bounded queues.

For live sources the newest frame wins (stale frames are dropped, so latency stays
bounded); for files every frame goes through, in order.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .sources import Source

_END = object()


@dataclass(frozen=True)
class Processed:
    frame: np.ndarray  # the input frame (BGR)
    output: np.ndarray  # what process() made of it
    captured_at: float  # time.perf_counter() when it was read
    seconds: float  # presentation time in the source (see Source.timed_frames)
    index: int  # position in the source (live sources skip numbers when they drop)


class Pipeline:
    def __init__(self, source: Source, process: Callable[[np.ndarray], np.ndarray],
                 depth: int = 4) -> None:
        self.source, self.process = source, process
        self.stop = threading.Event()
        self.inputs: queue.Queue = queue.Queue(maxsize=1 if source.live else depth)
        self.outputs: queue.Queue = queue.Queue(maxsize=1 if source.live else depth)
        self.error: BaseException | None = None
        self.dropped = 0

    def __iter__(self) -> Iterator[Processed]:
        threads = [threading.Thread(target=self._guard, args=(fn,), daemon=True)
                   for fn in (self._read, self._infer)]
        for thread in threads:
            thread.start()
        try:
            while True:
                item = self.outputs.get()
                if item is _END:
                    break
                yield item
        finally:
            self.stop.set()
            for q in (self.inputs, self.outputs):  # unblock threads waiting on a full queue
                _drain(q)
            reader, inference = threads
            # The model finishes its frame first: a thread still inside onnxruntime when
            # Python exits aborts the process (exit 134) instead of exit 130 after Ctrl-C.
            inference.join()
            reader.join(timeout=5)
        if self.error is not None:
            raise self.error

    def _guard(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except BaseException as exc:  # handed to the caller's thread, which re-raises it
            self.error = exc
            self.stop.set()
            _put(self.outputs, _END, self.stop, force=True)

    def _read(self) -> None:
        for index, (frame, seconds) in enumerate(self.source.timed_frames()):
            if self.stop.is_set():
                break
            item = (frame, time.perf_counter(), seconds, index)
            if self.source.live:  # newest wins: replace a frame nobody took yet
                try:
                    self.inputs.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
                self.inputs.put(item)
            elif not _put(self.inputs, item, self.stop):
                break
        _put(self.inputs, _END, self.stop, force=self.stop.is_set())

    def _infer(self) -> None:
        while not self.stop.is_set():
            try:
                item = self.inputs.get(timeout=0.1)  # a stop is seen even with no input
            except queue.Empty:
                continue
            if item is _END:
                break
            frame, captured_at, seconds, index = item
            result = Processed(frame, self.process(frame), captured_at, seconds, index)
            if self.source.live:  # newest wins here too: a slow display shows fresh frames
                try:
                    self.outputs.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass
            if not _put(self.outputs, result, self.stop):
                return
        # At the end every frame waits its turn; only a stop may discard what is queued.
        _put(self.outputs, _END, self.stop, force=self.stop.is_set())


def _put(q: queue.Queue, item, stop: threading.Event, force: bool = False) -> bool:
    """Put, waiting while the queue is full. On a stop, give up (False), or with ``force``
    discard what is queued to make room (the end marker must always get through)."""
    while True:
        try:
            q.put(item, timeout=0.1)
            return True
        except queue.Full:
            if force or (item is _END and stop.is_set()):
                _drain(q)
            elif stop.is_set():
                return False


def _drain(q: queue.Queue) -> None:
    try:
        while True:
            q.get_nowait()
    except queue.Empty:
        pass
