"""A training run's progress: the ETA across phases, and the Python-side state every
checkpoint keeps (history, the epoch's losses so far, the commands run)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from training.budget import Plan


class RunState(tf.train.experimental.PythonState):
    """A run's Python-side progress, owned here and saved as JSON in every checkpoint.

    `history` (the epochs done), `epoch_losses` (the losses of the epoch in
    progress), `command` (this command: `started`, `ended`), the commands before
    it (`commands` lists them all, this one last, with wall seconds) and `plan`
    (steps per epoch, `training.budget.Plan`). The `Trainer` reads and writes
    these fields; each checkpoint holds the state at its own position, so a
    resume from any of them (also an older one when the newest is damaged)
    continues the history exactly. Checkpoints written before this existed
    restore none.

    Args:
        plan: the run's plan until a time budget sizes it (or a checkpoint
            restores one).
        wall_seconds: `fn() -> float`, this command's wall seconds so far.
    """

    def __init__(self, plan: Plan, wall_seconds: Callable[[], float]):
        self.history: list[dict[str, Any]] = []
        self.epoch_losses: list[float] = []
        self.command = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "ended": "running"}
        self.plan = plan
        self._earlier_commands: list[dict[str, Any]] = []
        self._wall_seconds = wall_seconds

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Every command of the run so far, this one last: `started` (local time),
        `wall_seconds` (this one: until now; earlier ones: until their last
        checkpoint) and `ended` ("running"; "SIGTERM"/"SIGINT": stopped cleanly;
        "cut": killed, e.g. SIGKILL; the caller may mark this one "complete")."""
        current = {**self.command, "wall_seconds": self._wall_seconds()}
        return [*(dict(c) for c in self._earlier_commands), current]

    def serialize(self):
        return json.dumps(
            {
                "history": self.history,
                "epoch_losses": self.epoch_losses,
                "commands": self.commands,
                "plan": dataclasses.asdict(self.plan),
            },
            default=float,
        )

    def deserialize(self, string_value):
        state = json.loads(string_value)
        self.history = list(state.get("history", []))
        self.epoch_losses = [float(v) for v in state.get("epoch_losses", [])]
        commands = [dict(c) for c in state.get("commands", [])]
        for command in commands:
            if command.get("ended") == "running":
                # Killed (SIGKILL, power loss): its time counts to its last checkpoint.
                command["ended"] = "cut"
        self._earlier_commands = commands
        if state.get("plan"):  # decided by a time budget: a resumed run keeps it
            self.plan = Plan.from_dict(state["plan"])


class RunClock:
    """The whole run's progress and ETA across phases, from this process's steps.

    Seconds per step are the mean of the timed steps so far (the first step
    of each phase, which traces, is left out); each remaining epoch also
    costs the mean validation time. `plan` gives the steps of each epoch
    once a time budget has sized them (`training.budget`).
    """

    def __init__(self, epochs: int, steps_per_epoch: int):
        self.plan([max(int(steps_per_epoch), 1)] * max(int(epochs), 1))
        self.done = 0
        self._step_seconds = self._steps = 0.0
        self._val_seconds = self._vals = 0.0

    def plan(self, epoch_steps: list[int]) -> None:
        """The steps of every epoch of the run, in order over all phases."""
        self._ends = list(itertools.accumulate(int(n) for n in epoch_steps)) or [1]
        self.total_steps = max(self._ends[-1], 1)

    def step(self, done: int, seconds: float, timed: bool = True) -> None:
        self.done = int(done)
        if timed:
            self._step_seconds += seconds
            self._steps += 1

    def validated(self, seconds: float) -> None:
        self._val_seconds += seconds
        self._vals += 1

    def seconds_left(self) -> float:
        """Estimated seconds to the end of the last phase (NaN before a timed step)."""
        if not self._steps:
            return float("nan")
        left = self.total_steps - self.done
        per_step = self._step_seconds / self._steps
        validation = self._val_seconds / self._vals if self._vals else 0.0
        epochs_left = sum(end > self.done for end in self._ends)
        return left * per_step + epochs_left * validation

    def minutes(self) -> float:
        return self.seconds_left() / 60.0

    def describe(self) -> str:
        left = self.seconds_left()
        share = 100.0 * self.done / self.total_steps
        if not math.isfinite(left):
            return f"run {share:.0f}% done"
        return f"run {share:.0f}% done, ETA {int(left // 60)} min {int(left % 60):02d} s"
