"""The learning-rate schedule within a training phase.

Plain Python (no TensorFlow): `training.config` reads the schedule names and the
defaults of `drop_at` and `warmup_steps` from here, so `--help` stays light.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

# The kinds of `Schedule` (`--schedule`).
SCHEDULES = ("step", "warmup_step", "cosine", "milestones")


@dataclasses.dataclass
class Schedule:
    """Learning rate within a phase, from the phase's base rate.

    Args:
        kind: "step": the base rate, ×0.1 after `drop_at` of the phase's steps
            (the papers' drop late in each phase); "warmup_step": the same after
            a linear warm-up over `warmup_steps`; "cosine": linear warm-up, then
            cosine decay to 0 at the end of the phase; "milestones": the base
            rate ×0.1 at each of the phase's milestone epochs (the papers'
            recipes: e.g. ACNN phase A ×0.1 at epochs 120 and 170).
        drop_at: fraction of the phase, for "step". Default 0.8.
        warmup_steps: for "cosine". Default 100.
    """

    kind: str = "step"
    drop_at: float = 0.8
    warmup_steps: int = 100

    def __post_init__(self):
        if self.kind not in SCHEDULES:
            raise ValueError(f"Schedule.kind must be one of {SCHEDULES}. Received: {self.kind!r}")
        if not 0.0 < self.drop_at <= 1.0:
            raise ValueError(f"Schedule.drop_at must be in (0, 1]. Received: {self.drop_at}")

    def __call__(
        self,
        base_lr: float,
        step: int,
        total_steps: int,
        milestones: tuple[int, ...] = (),
        steps_per_epoch: int | Sequence[int] = 1,
    ) -> float:
        """Learning rate at 0-based `step` of a phase of `total_steps` steps.

        `milestones` (epochs from the phase's start) are read by the
        "milestones" kind only: after each, ×0.1. `steps_per_epoch`: the steps
        of every epoch of the phase, or of each (a time budget's plan shortens
        the epochs after the first: `training.budget`).
        """
        if self.kind == "milestones":
            if isinstance(steps_per_epoch, int):
                starts = [m * steps_per_epoch for m in milestones]
            else:
                starts = [sum(steps_per_epoch[:m]) for m in milestones]
            drops = sum(step >= start for start in starts)
            return base_lr * 0.1**drops
        if self.kind == "step":
            return base_lr * (0.1 if step >= self.drop_at * total_steps else 1.0)
        warmup = min(self.warmup_steps, max(total_steps // 10, 1))
        if step < warmup:
            return base_lr * (step + 1) / warmup
        if self.kind == "warmup_step":
            return base_lr * (0.1 if step >= self.drop_at * total_steps else 1.0)
        progress = (step - warmup) / max(total_steps - warmup, 1)
        return base_lr * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))
