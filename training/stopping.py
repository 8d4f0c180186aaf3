"""How a training run stops early: a non-finite loss, or SIGTERM / SIGINT.

`stop_on_signals` turns the signals into a request to the trainer
(`Trainer.request_stop`), which saves a checkpoint after the step in progress and
raises `TrainingInterrupted`.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any, Protocol


class Stoppable(Protocol):
    """What `stop_on_signals` needs of a trainer (`training.loop.Trainer` is one)."""

    strategy: Any

    @property
    def stop_requested(self) -> int | None: ...

    def request_stop(self, signum: int) -> None: ...


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the last good checkpoint is kept."""


class TrainingInterrupted(SystemExit):
    """The run stopped on a signal (SIGTERM, SIGINT) after saving a checkpoint.

    A `SystemExit` with code 128 + the signal number, so a command that lets it
    through exits as a process killed by that signal would, after saving.

    Attributes:
        signum: the signal's number.
        checkpoint: the checkpoint saved at the stop (`--resume` continues from it).
    """

    def __init__(self, signum: int, checkpoint: str | None):
        super().__init__(128 + int(signum))
        self.signum = int(signum)
        self.checkpoint = checkpoint

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}; checkpoint {self.checkpoint}"


@contextlib.contextmanager
def stop_on_signals(trainer: Stoppable, signals=(signal.SIGTERM, signal.SIGINT)):
    """While active, SIGTERM and SIGINT (Ctrl-C) ask `trainer` to stop cleanly.

    The step in progress finishes, then the trainer saves a checkpoint at that
    position and raises `TrainingInterrupted` (see `Trainer.request_stop`). A
    second signal abandons the stop at once (KeyboardInterrupt). The previous
    handlers are restored on exit. It changes nothing outside the main thread
    (where Python cannot install signal handlers) nor for a multi-worker
    strategy: a worker stopping alone would leave the others waiting in their
    collectives, so a cluster's workers keep the default (killed; the periodic
    checkpoints remain).
    """
    resolver = getattr(getattr(trainer, "strategy", None), "cluster_resolver", None)
    multi_worker = resolver is not None and bool(resolver.cluster_spec().as_dict())
    if multi_worker or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        del frame
        if trainer.stop_requested is not None:
            raise KeyboardInterrupt
        trainer.request_stop(signum)

    previous = {}
    try:
        for number in signals:
            previous[number] = signal.signal(number, handler)
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, signal.SIG_DFL if old is None else old)
