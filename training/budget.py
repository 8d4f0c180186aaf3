"""A time budget for a whole training command (`--time-budget`): the run's plan.

A run is sized by its recipe for a machine of a given speed; a slower day would
overrun. With a budget, the loop measures the run's real speed (`BudgetMeter`:
seconds per step after a few warm steps, the seconds an epoch spends outside
steps: validation, checkpoint and model saves, the data pipeline's start; and
how long a phase's first step traces) and then sizes the rest of the run to fit
(`fit_steps`): every later epoch keeps its place (each phase keeps its epochs,
so the learning-rate schedule keeps its shape: warm-up, the drop at 80 % of
the phase, milestones) and takes the same, smaller, number of steps. The plan
only ever shrinks: on a machine fast enough every epoch keeps the recipe's
steps and the run is the recipe's, step for step.

The measured epoch is the command's second, not its first: the first also traces
the validation function and writes the first model file, one-time costs that
the 21 later epochs of the "cpu" recipe would each be charged (a few seconds
each: enough to shrink a run that fits by under a minute). The first epoch's
first step gives the tracing cost of each later phase.

The plan (`Plan`) is decided once, kept in every checkpoint after that (a
resumed run never measures again) and written into `metrics.json`.

Plain Python (no TensorFlow).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

# Steps at the start of the measured epoch left out of its seconds per step: the
# first (it traces the phase's step function and starts the data pipeline) and
# up to this many more while caches warm (at most a quarter of the epoch).
WARM_STEPS = 20


@dataclasses.dataclass
class Plan:
    """How many optimizer steps each epoch of a run takes, and why.

    Args:
        steps_per_epoch: int, the recipe's steps per epoch.
        from_epoch: the first epoch (0-based, counted over all phases) of
            `later_steps`; None while no budget has sized the run.
        later_steps: steps of every epoch from `from_epoch` on (never more than
            `steps_per_epoch`).
        budget_seconds: the budget of the whole run (every command).
        seconds_per_step, epoch_seconds, trace_seconds, checkpoint_seconds: what
            was measured: an optimizer step, an epoch's time outside its steps, a
            phase's first step beyond a step (tracing), a checkpoint save.
        elapsed_seconds: the run's wall seconds when the plan was made.
        predicted_seconds: the run's predicted wall seconds under the plan, to
            the end of its last epoch.
    """

    steps_per_epoch: int
    from_epoch: int | None = None
    later_steps: int | None = None
    budget_seconds: float | None = None
    seconds_per_step: float | None = None
    epoch_seconds: float | None = None
    trace_seconds: float | None = None
    checkpoint_seconds: float | None = None
    elapsed_seconds: float | None = None
    predicted_seconds: float | None = None

    def steps(self, epoch: int) -> int:
        """Steps of 0-based epoch `epoch` (counted over all phases)."""
        if self.from_epoch is not None and epoch >= self.from_epoch:
            return int(self.later_steps)
        return int(self.steps_per_epoch)

    @property
    def decided(self) -> bool:
        return self.from_epoch is not None

    def describe(self, epochs: int) -> str:
        """The one line printed when the plan is decided, for a run of `epochs` epochs."""
        span = f"epochs {self.from_epoch + 1}-{epochs}"
        if self.from_epoch >= epochs:
            later = "no epoch left to size"
        elif self.later_steps == self.steps_per_epoch:
            later = f"{span} keep the recipe's {self.steps_per_epoch} steps"
        else:
            later = f"{span} shrink to {self.later_steps} steps (recipe {self.steps_per_epoch})"
        return (
            f"Time budget {self.budget_seconds / 60:.1f} min: measured "
            f"{self.seconds_per_step:.3f} s/step and {self.epoch_seconds:.1f} s per epoch "
            f"outside steps; {later}; predicted {self.predicted_seconds / 60:.1f} min "
            "to the end of training"
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Plan:
        known = {field.name for field in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


def mid_epoch_checkpoints(global_step: int, steps: int, epochs: int, every: int) -> int:
    """Checkpoints saved inside `epochs` epochs of `steps` steps from `global_step`.

    The loop saves after each global step divisible by `every` that does not end
    an epoch (an epoch's end always saves).
    """
    count = 0
    for i in range(epochs):
        start = global_step + i * steps
        count += (start + steps - 1) // every - start // every
    return count


def fit_steps(
    *,
    budget: float,
    elapsed: float,
    steps_per_epoch: int,
    epochs_left: int,
    seconds_per_step: float,
    epoch_seconds: float,
    traces_left: int = 0,
    trace_seconds: float = 0.0,
    checkpoint_seconds: float = 0.0,
    global_step: int = 0,
    checkpoint_every: int = 1 << 62,
) -> tuple[int, float]:
    """The most steps per remaining epoch that fit the budget, and the prediction.

    Predicted seconds = `elapsed` + per remaining epoch its steps ×
    `seconds_per_step` + `epoch_seconds`, + `traces_left` phase starts ×
    `trace_seconds`, + the mid-epoch checkpoints × `checkpoint_seconds`.

    Returns:
        `(steps, predicted_seconds)`: `steps` in [1, `steps_per_epoch`] (the
        plan never grows); 1 when even one step per epoch overruns.
    """

    def predicted(steps: int) -> float:
        checkpoints = mid_epoch_checkpoints(global_step, steps, epochs_left, checkpoint_every)
        return (
            elapsed
            + epochs_left * (steps * seconds_per_step + epoch_seconds)
            + traces_left * trace_seconds
            + checkpoints * checkpoint_seconds
        )

    steps = int(steps_per_epoch)
    if epochs_left > 0 and predicted(steps) > budget:
        fixed = elapsed + epochs_left * epoch_seconds + traces_left * trace_seconds
        room = (budget - fixed) / (epochs_left * max(seconds_per_step, 1e-9))
        steps = max(1, min(steps, int(room)))
        while steps > 1 and predicted(steps) > budget:  # the checkpoints' share
            steps -= 1
    return steps, predicted(steps)


def decide_plan(
    plan: Plan,
    measured: dict[str, float],
    phase_epochs: list[int],
    next_epoch: int,
    elapsed: float,
    global_step: int,
    checkpoint_every: int,
) -> Plan:
    """`plan` sized to its budget from epoch `next_epoch` on (`fit_steps`).

    Args:
        plan: the run's plan so far (its `budget_seconds` set, not decided).
        measured: `BudgetMeter.measure()`.
        phase_epochs: the epochs of each phase, in order.
        next_epoch: the first epoch (0-based over all phases) the plan sizes.
        elapsed: the run's wall seconds so far (every command), up to the end of
            epoch `next_epoch - 1` with its checkpoint.
        global_step: optimizer steps done.
        checkpoint_every: steps between checkpoints.
    """
    firsts = [sum(phase_epochs[:i]) for i in range(len(phase_epochs))]
    steps, predicted = fit_steps(
        budget=plan.budget_seconds,
        elapsed=elapsed,
        steps_per_epoch=plan.steps_per_epoch,
        epochs_left=sum(phase_epochs) - next_epoch,
        # Each phase still to start traces its step function in its first step.
        traces_left=sum(
            f >= next_epoch and e > 0 for f, e in zip(firsts, phase_epochs, strict=True)
        ),
        global_step=global_step,
        checkpoint_every=checkpoint_every,
        **measured,
    )
    return dataclasses.replace(
        plan,
        from_epoch=next_epoch,
        later_steps=steps,
        elapsed_seconds=elapsed,
        predicted_seconds=predicted,
        **measured,
    )


class BudgetMeter:
    """Measures a run's speed in one epoch, for `fit_steps`.

    The loop calls `phase_started` when it builds a phase's step function,
    `epoch_started` / `step_done` / `saved` as the epoch runs, and `measure` at
    its end: None for the command's first epoch (it traces the validation) or
    an epoch with too few steps to time (a later epoch is measured instead).

    Args:
        clock: `fn() -> seconds`, the loop's clock (`time.perf_counter`).
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter):
        self.clock = clock
        self._fresh = False
        self._epochs = 0  # epochs this command has started
        self._trace: float | None = None  # the latest phase's first step, seconds

    def phase_started(self) -> None:
        self._fresh = True  # the phase's first step traces its step function

    def epoch_started(self, steps: int, skip: int) -> None:
        self._start = self.clock()
        self._epochs += 1
        self._traces, self._fresh = self._fresh, False
        self._skip, self._steps = skip, steps
        self._window = skip + max(1, min(WARM_STEPS, (steps - skip) // 4))
        self._first = self._window_start = self._last = None
        self._timed, self._done = 0, skip - 1
        self._saves: list[float] = []
        self._saves_in_window = 0.0

    def step_done(self, step: int, seconds: float) -> None:
        """After 0-based step `step` of the epoch, which took `seconds`."""
        now = self.clock()
        self._done = step
        if step == self._skip:
            self._first = (now - seconds, seconds)
            if self._traces:
                self._trace = seconds
        if step + 1 == self._window:
            self._window_start = now
        elif step >= self._window:
            self._timed += 1
            self._last = now

    def saved(self, seconds: float) -> None:
        """A checkpoint save of `seconds` (a mid-epoch one is not a step's cost)."""
        self._saves.append(seconds)
        if self._window_start is not None and self._done + 1 < self._steps:
            self._saves_in_window += seconds

    def measure(self) -> dict[str, float] | None:
        """What the epoch measured, at its end (before its own checkpoint save)."""
        if self._epochs < 2 or not self._timed:
            return None
        now = self.clock()
        window = self._last - self._window_start - self._saves_in_window
        per_step = window / self._timed
        checkpoint = sum(self._saves) / len(self._saves) if self._saves else 0.0
        # Outside steps: the data pipeline's start, then validation and saves after
        # the last step; the epoch's own checkpoint save comes right after this.
        outside = (self._first[0] - self._start) + (now - self._last) + checkpoint
        trace = 0.0 if self._trace is None else max(self._trace - per_step, 0.0)
        return dict(
            seconds_per_step=per_step,
            epoch_seconds=outside,
            trace_seconds=trace,
            checkpoint_seconds=checkpoint,
        )
