"""The Trainer: a custom training loop for heatmap pose models under tf.distribute.

Structure (TF Model Garden style): a per-replica step function that knows
nothing of the strategy (forward pass, loss averaged over the global batch,
gradients, optimizer update), and one loop that calls `strategy.run` on it.
Around it: phases (which variables train, learning rate, epochs, masks forced),
the learning-rate schedule, checkpoints with the data position (resume), a
progress bar, TensorBoard summaries, validation every epoch with the best
checkpoint kept, and a clear stop on a non-finite loss.

The loop knows of the model only that it maps images `(B, H, W, 3)` to a dict
with `"heatmaps"` `(B, S, h, w, K)`; everything model-specific is in the
`Phase` list (see `training/phases.py`).

Its parts in their own modules, imported from there: `training.schedule`
(`Schedule`), `training.stopping` (`NonFiniteLossError`, `TrainingInterrupted`,
`stop_on_signals`), `training.progress` (`RunClock`, the checkpointed
`RunState`, which owns the run's history, commands and plan),
`training.distribution` (`make_strategy`, `worker_out_dir`).
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from training.budget import BudgetMeter, Plan, decide_plan
from training.checkpoints import restore_newest
from training.distribution import is_chief, worker_out_dir
from training.losses import heatmap_loss
from training.phases import Phase, apply_phase, record_trainable
from training.progress import RunClock, RunState
from training.schedule import Schedule
from training.stopping import NonFiniteLossError, TrainingInterrupted

# A training batch: images (B, H, W, 3), targets {"heatmaps": (B, h, w, K),
# "weights": (B, K)} and optional metadata the loop ignores.
TrainDataFn = Callable[[int, int, tf.distribute.InputContext], tf.data.Dataset]
ValidateFn = Callable[[keras.Model], dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class _Epoch:
    """One epoch of a phase as the loop runs it: where it is, and the plan's steps."""

    phase_index: int
    phase: Phase
    epoch: int  # in the phase, from 0
    global_epoch: int  # over all phases, from 0
    plan: list[int]  # the steps of each of the phase's epochs

    @property
    def steps(self) -> int:
        return self.plan[self.epoch]

    def learning_rate(self, schedule: Schedule, step: int) -> float:
        """The rate of the epoch's `step` (from 0): the schedule over the phase's steps."""
        offset, total = sum(self.plan[: self.epoch]), sum(self.plan)
        phase = self.phase
        return schedule(phase.learning_rate, offset + step, total, phase.milestones, self.plan)


class Trainer:
    """Trains a heatmap model through a list of phases under a tf.distribute strategy.

    The model and optimizer must be created inside `strategy.scope()`.

    Args:
        model: keras.Model, images (B, H, W, 3) in [0, 1] → {"heatmaps": (B, S, h, w, K), ...}.
        optimizer: a Keras optimizer (a `LossScaleOptimizer` for float16). It is
            built on all trainable variables before any phase freezes some.
        phases: list of `Phase`, run in order.
        strategy: the tf.distribute strategy.
        train_data: `fn(epoch, skip_batches, input_context) -> tf.data.Dataset`
            of per-replica batches `(images, {"heatmaps", "weights"}, ...)`,
            infinite or at least `steps_per_epoch - skip_batches` long. `epoch`
            is the 0-based epoch counted over all phases; a deterministic
            function of it gives exact resumes. `skip_batches` batches of that
            epoch were already trained on (resume).
        global_batch_size: int, images per step over all replicas.
        steps_per_epoch: int.
        out_dir: folder for checkpoints (`ckpt/`, `best/`) and logs (`logs/`).
        validate: optional `fn(model) -> dict` run after every epoch; its "pck"
            (higher is better) selects the best checkpoint, other float values
            are logged; an "images" entry `{tag: (N, H, W, 3) float in [0, 1]}`
            goes to TensorBoard.
        schedule: `Schedule`. Default: the papers' step drop.
        foreground_weight: see `training.losses.heatmap_loss`. Default 0 (MSE).
        checkpoint_every: steps between checkpoints (one is also written at
            every epoch end). Default 200.
        tensorboard: write TensorBoard summaries to `<out_dir>/logs`. Default True.
        log_every: steps between TensorBoard scalar writes. Default 20.
        verbose: 1 progress bar (TTY) or a line every quarter epoch (otherwise),
            both with the whole run's ETA across phases; 0 silent.
        on_best: optional `fn(model)` called after each validation that
            improves the best "pck", once its checkpoint is in `best/`, with
            the layers' `trainable` flags as they were before any phase (e.g. to
            write `model.keras`: the best weights so far survive a cut run).
        wall_start: `clock()` when the command began, for the wall seconds of
            `commands`. Default: when the Trainer is created.
        time_budget: seconds the whole run may take (every command, start-up
            included), or None. An early epoch measures the run's speed and the
            later epochs then take fewer steps if the run would not fit, never
            more (`training.budget`); the plan (`plan`) is kept in checkpoints.
        clock: `fn() -> seconds` of every timing. Default `time.perf_counter`.

    The history (`history`) and the commands' wall times (`commands`) are kept in
    every checkpoint, so after `restore()` they cover the whole run, not only
    this command's part.
    """

    def __init__(
        self,
        model: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        phases: list[Phase],
        *,
        strategy: tf.distribute.Strategy,
        train_data: TrainDataFn,
        global_batch_size: int,
        steps_per_epoch: int,
        out_dir: str | pathlib.Path,
        validate: ValidateFn | None = None,
        schedule: Schedule | None = None,
        foreground_weight: float = 0.0,
        checkpoint_every: int = 200,
        tensorboard: bool = True,
        log_every: int = 20,
        verbose: int = 1,
        on_best: Callable[[keras.Model], None] | None = None,
        wall_start: float | None = None,
        time_budget: float | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ):
        _check_arguments(phases, strategy, global_batch_size, steps_per_epoch, checkpoint_every)
        self.model = model
        self.optimizer = optimizer
        self.phases = list(phases)
        self.strategy = strategy
        self.train_data = train_data
        self.global_batch_size = int(global_batch_size)
        self.steps_per_epoch = int(steps_per_epoch)
        self.out_dir = pathlib.Path(out_dir)
        self.validate = validate
        self.schedule = schedule or Schedule()
        self.foreground_weight = float(foreground_weight)
        self.checkpoint_every = int(checkpoint_every)
        self.log_every = int(log_every)
        self.verbose = verbose
        self.on_best = on_best
        self._clock = clock
        self._wall_start = clock() if wall_start is None else float(wall_start)
        self._stop_signum: int | None = None
        self._eta = RunClock(sum(p.epochs for p in self.phases), self.steps_per_epoch)
        # History, commands and the plan (steps per epoch: the recipe's, until a
        # time budget sizes them, once), kept in every checkpoint.
        self.state = RunState(
            Plan(self.steps_per_epoch, budget_seconds=time_budget),
            wall_seconds=lambda: self._clock() - self._wall_start,
        )
        self._meter = BudgetMeter(clock) if time_budget else None

        self._initial_trainable = record_trainable(model)
        self._build_optimizer_and_counters()
        self._checkpoint = self._make_checkpoint()
        ckpt_root = worker_out_dir(strategy, self.out_dir)
        # CheckpointManager writes the shards first and then atomically replaces
        # the `checkpoint` index file, so a kill mid-write leaves the previous
        # checkpoint as the latest one.
        self._manager = tf.train.CheckpointManager(
            self._checkpoint, ckpt_root / "ckpt", max_to_keep=2
        )
        self._best_manager = tf.train.CheckpointManager(
            self._checkpoint, ckpt_root / "best", max_to_keep=1
        )
        self._writer = self._summary_writer(tensorboard and is_chief(strategy))

    def _build_optimizer_and_counters(self) -> None:
        """Builds the optimizer and creates the run's position counters (phase, epoch,
        step, global step, seconds, best "pck") in the strategy's scope."""
        with self.strategy.scope():
            # Keras 3: an optimizer only updates variables it was built with, so
            # build it on every trainable variable before any phase freezes some.
            self.optimizer.build(self.model.trainable_variables)
            self._phase = tf.Variable(0, dtype=tf.int64, trainable=False, name="phase")
            self._epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
            self._step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
            self._global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
            self._seconds = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="seconds")
            self._best = tf.Variable(-math.inf, dtype=tf.float64, trainable=False, name="best")

    def _make_checkpoint(self) -> tf.train.Checkpoint:
        """The checkpoint of the model, optimizer, position counters and run state."""
        model = self.model
        # Keras 3 keeps sub-layers held in Python lists (the hourglass' residual
        # blocks, the attention convolutions) out of TensorFlow's object graph,
        # so `tf.train.Checkpoint(model=model)` alone would miss their variables
        # (e.g. BatchNorm statistics). Every model variable is also saved by its
        # unique path.
        weights = {variable.path: variable for variable in model.weights}
        if len(weights) != len(model.weights):
            raise ValueError(f"Model {model.name!r} has variables with the same path")
        return tf.train.Checkpoint(
            model=model,
            model_weights=weights,
            optimizer=self.optimizer,
            phase=self._phase,
            epoch=self._epoch,
            step=self._step,
            global_step=self._global_step,
            seconds=self._seconds,
            best=self._best,
            run_state=self.state,
        )

    def _summary_writer(self, wanted: bool):
        """TensorBoard's writer for `<out_dir>/logs` where `wanted` (the chief with
        `tensorboard`) and the package is installed, else None (said so if verbose)."""
        if not wanted:
            return None
        if _summary_available():
            return tf.summary.create_file_writer(str(self.out_dir / "logs"))
        if self.verbose:
            print(
                "TensorBoard summaries disabled: install the `tensorboard` package (extra [train])."
            )
        return None

    # ------------------------------------------------------------- properties
    @property
    def latest_checkpoint(self) -> str | None:
        return self._manager.latest_checkpoint

    @property
    def best_checkpoint(self) -> str | None:
        return self._best_manager.latest_checkpoint

    @property
    def best_pck(self) -> float | None:
        """The best validation "pck" so far (None before any validation)."""
        value = float(self._best.numpy())
        return value if math.isfinite(value) else None

    @property
    def train_seconds(self) -> float:
        return float(self._seconds.numpy())

    @property
    def commands(self) -> list[dict[str, Any]]:
        """Every command of the run so far, this one last (`RunState.commands`)."""
        return self.state.commands

    @property
    def history(self) -> list[dict[str, Any]]:
        """The epochs done, over every command of the run (`RunState.history`)."""
        return self.state.history

    @property
    def plan(self) -> Plan:
        """Steps per epoch (`training.budget.Plan`), kept in checkpoints."""
        return self.state.plan

    @plan.setter
    def plan(self, plan: Plan) -> None:
        self.state.plan = plan

    @property
    def stop_requested(self) -> int | None:
        """The signal number of a pending stop request, or None."""
        return self._stop_signum

    def request_stop(self, signum: int = signal.SIGTERM) -> None:
        """Asks the loop to stop after the step in progress.

        It then saves a checkpoint at that position (the epoch's losses so far
        included; a stop in an epoch's last step leaves its validation to the
        resumed run) and raises `TrainingInterrupted(signum)`. Safe to call from
        a signal handler (it only sets a flag).
        """
        self._stop_signum = int(signum)

    def restore(self) -> bool:
        """Restores the newest checkpoint of `out_dir/ckpt` that restores.

        The candidates are the `ckpt-N.index` files on disk, newest (highest N)
        first, not only the one the `checkpoint` index file names: a damaged
        index file or a damaged newest checkpoint (truncated data, unreadable
        index) falls back to the next older one, and one line says which was
        used and what was skipped. Nothing is deleted.

        Returns:
            True when a checkpoint was restored; False when the folder holds none.

        Raises:
            ValueError: checkpoint files are there but none restores (one line
                naming each and why; `training.train` prints it as `error:`).
        """
        restored = restore_newest(self._checkpoint, self._manager)
        if restored is None:
            return False
        path, notes = restored
        note = f" [{'; '.join(notes)}]" if notes else ""
        if self.verbose:
            phase = int(self._phase.numpy())
            print(
                f"Resumed from {path}: phase "
                f"{self.phases[phase].name if phase < len(self.phases) else 'done'}, "
                f"epoch {int(self._epoch.numpy())}, step {int(self._step.numpy())} "
                f"(global step {int(self._global_step.numpy())}){note}"
            )
        elif notes:
            print(f"warning: resumed from {path}{note}", file=sys.stderr)
        return True

    # ------------------------------------------------------------- step functions
    def _replica_step(self, batch, variables):
        """One optimizer step on this replica's share of the global batch."""
        images, targets = batch[0], batch[1]
        with tf.GradientTape() as tape:
            outputs = self.model(images, training=True)
            per_example, per_stage = heatmap_loss(
                outputs["heatmaps"], targets["heatmaps"], targets["weights"], self.foreground_weight
            )
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=self.global_batch_size)
            scaled = (
                self.optimizer.scale_loss(loss) if hasattr(self.optimizer, "scale_loss") else loss
            )
        gradients = tape.gradient(scaled, variables)
        # A variable the loss does not reach (e.g. the last ACNN mask, which
        # enters no prediction) has no gradient: leave it out of the update.
        pairs = [(g, v) for g, v in zip(gradients, variables, strict=True) if g is not None]
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        stage_losses = tf.reduce_sum(per_stage, axis=0) / self.global_batch_size
        return loss, stage_losses

    def _make_step_fn(self, variables):
        """A fresh `tf.function` per phase: the trainable set is fixed at trace time."""

        @tf.function(autograph=False)  # no tensor-dependent Python control flow
        def step(iterator):
            batch = next(iterator)
            loss, stages = self.strategy.run(self._replica_step, args=(batch, variables))
            reduce = tf.distribute.ReduceOp.SUM
            return self.strategy.reduce(reduce, loss, axis=None), self.strategy.reduce(
                reduce, stages, axis=None
            )

        return step

    def _dataset(self, epoch: int, skip: int):
        if isinstance(self.strategy, tf.distribute.OneDeviceStrategy):
            # One replica needs no distributed dataset. Its iterator would also
            # cost the whole run: TensorFlow builds it on a generator dataset,
            # whose kernel sets glibc's M_TRIM_THRESHOLD to 128 KB for the rest
            # of the process ("Memory patch applied"), which turns every large
            # tensor of the training step into a fresh mmap and its page faults:
            # measured 1,089 against 458 ms per step (4-stack ACNN, 128×128,
            # batch 8, 2 cores), the difference all system time.
            return self.train_data(epoch, skip, tf.distribute.InputContext())

        def dataset_fn(context):
            return self.train_data(epoch, skip, context)

        return self.strategy.distribute_datasets_from_function(dataset_fn)

    # ------------------------------------------------------------- the loop
    def fit(self) -> list[dict[str, Any]]:
        """Runs the remaining phases from the current position (0 or restored).

        Returns:
            The per-epoch history: dicts with phase, epoch, loss, lr, seconds
            and the validation results.

        Raises:
            NonFiniteLossError: the loss became NaN/inf; nothing is saved after
                the last good step.
        """
        try:
            self._fit()
        finally:
            for layer, flag in self._initial_trainable.values():
                layer.trainable = flag
            if self._writer is not None:
                self._writer.flush()
        return self.history

    def _fit(self):
        start_phase = int(self._phase.numpy())
        self._eta.plan(self._epoch_steps())  # a restored plan's
        epochs_before = sum(p.epochs for p in self.phases[:start_phase])
        for phase_index in range(start_phase, len(self.phases)):
            phase = self.phases[phase_index]
            if phase.epochs == 0:
                continue
            variables = apply_phase(self.model, phase, self._initial_trainable)
            step_fn = self._make_step_fn(variables)
            if self._meter is not None:
                self._meter.phase_started()
            first_epoch = int(self._epoch.numpy()) if phase_index == start_phase else 0
            for epoch in range(first_epoch, phase.epochs):
                skip = (
                    int(self._step.numpy())
                    if (phase_index, epoch) == (start_phase, first_epoch)
                    else 0
                )
                self._run_epoch(phase_index, phase, epoch, epochs_before + epoch, skip, step_fn)
            epochs_before += phase.epochs
            self._set_position(phase_index + 1, 0, 0)

    def _set_position(self, phase: int, epoch: int, step: int):
        self._phase.assign(phase)
        self._epoch.assign(epoch)
        self._step.assign(step)

    def _run_epoch(self, phase_index, phase, epoch, global_epoch, skip, step_fn):
        # The phase's epochs under the plan: the schedule's steps are the plan's.
        plan = [self.plan.steps(global_epoch - epoch + e) for e in range(phase.epochs)]
        run = _Epoch(phase_index, phase, epoch, global_epoch, plan)
        meter = None if self._meter is None or self.plan.decided else self._meter
        if meter is not None:
            meter.epoch_started(run.steps, skip)
        if self.verbose:
            print(f"Phase {phase.name} ({phase.train}) epoch {epoch + 1}/{phase.epochs}")
        if skip == 0:
            self.state.epoch_losses = []
        # Resumed mid-epoch: the losses of its first `skip` steps come from the
        # checkpoint; a stop in an epoch's last step resumes with its steps all
        # done: validation only.
        lr = run.learning_rate(self.schedule, skip - 1) if skip else math.nan
        if skip < run.steps:
            lr = self._train_steps(run, skip, step_fn, meter)
        record = self._validated_record(run, lr)
        self._end_epoch(run, record, meter)

    def _train_steps(self, run: _Epoch, skip: int, step_fn, meter) -> float:
        """Steps `skip` .. `run.steps - 1` of the epoch; returns the last learning rate."""
        iterator = iter(self._dataset(run.global_epoch, skip))
        bar = keras.utils.Progbar(
            run.steps,
            stateful_metrics=["loss", "lr", "img/s", "run ETA min"],
            verbose=(1 if sys.stdout.isatty() else 0) if self.verbose else 0,
        )
        losses = self.state.epoch_losses
        for step in range(skip, run.steps):
            lr = run.learning_rate(self.schedule, step)
            self.optimizer.learning_rate = lr
            loss, stages, elapsed, done = self._take_step(run, step, step_fn, iterator)
            losses.append(loss)
            rate = self.global_batch_size / max(elapsed, 1e-9)
            # The first step of a phase traces its step function: not a step's cost.
            self._eta.step(done, elapsed, timed=step > skip)
            if meter is not None:
                meter.step_done(step, elapsed)
            self._show_step(bar, run, step, done, (loss, lr, rate), stages)
            if self._stop_signum is not None:
                self._set_position(run.phase_index, run.epoch, step + 1)
                self._stop(
                    f"phase {run.phase.name} epoch {run.epoch + 1} step {step + 1}/{run.steps}"
                )
            if step + 1 < run.steps and done % self.checkpoint_every == 0:
                self._set_position(run.phase_index, run.epoch, step + 1)
                self._save(self._manager, meter)
        return lr

    def _take_step(self, run: _Epoch, step: int, step_fn, iterator):
        """One optimizer step: `(loss, per-stage losses, seconds, global steps done)`.

        Raises:
            NonFiniteLossError: the loss is NaN or infinite (nothing is counted).
        """
        tic = self._clock()
        loss, stages = step_fn(iterator)
        loss = float(loss.numpy())
        elapsed = self._clock() - tic
        global_step = int(self._global_step.numpy())
        if not math.isfinite(loss):
            raise NonFiniteLossError(
                f"Non-finite loss ({loss}) at global step {global_step + 1} in phase "
                f"{run.phase.name}, epoch {run.epoch + 1}, step {step + 1}; training stopped. "
                f"The last good checkpoint is kept: {self._manager.latest_checkpoint}. Try a "
                "lower --lr or --precision float32."
            )
        self._seconds.assign_add(elapsed)
        self._global_step.assign(global_step + 1)
        return loss, stages, elapsed, global_step + 1

    def _show_step(self, bar, run: _Epoch, step: int, done: int, values, stages) -> None:
        """A step's progress: the bar (a terminal), a line four times an epoch (a
        log), and every `log_every` global steps TensorBoard's scalars."""
        loss, lr, rate = values
        eta = ("run ETA min", self._eta.minutes())
        bar.update(step + 1, [("loss", loss), ("lr", lr), ("img/s", rate), eta])
        report_every = max(1, run.steps // 4)
        if self.verbose and not sys.stdout.isatty() and (step + 1) % report_every == 0:
            print(
                f"  step {step + 1}/{run.steps} loss {loss:.4g} lr {lr:.3g} "
                f"{rate:.1f} img/s; {self._eta.describe()}",
                flush=True,
            )
        if self._writer is not None and done % self.log_every == 0:
            with self._writer.as_default(step=done):
                tf.summary.scalar("train/loss", loss)
                tf.summary.scalar("train/lr", lr)
                tf.summary.scalar("train/images_per_second", rate)
                for s, value in enumerate(stages.numpy()):
                    tf.summary.scalar(f"train/loss_stage{s}", value)

    def _validated_record(self, run: _Epoch, lr: float) -> dict[str, Any]:
        """The epoch's history record: mean loss, rate, seconds and the validation's
        results (also written to TensorBoard, with its images)."""
        losses = self.state.epoch_losses
        record = {
            "phase": run.phase.name,
            "epoch": run.epoch + 1,
            "loss": float(np.mean(losses)) if losses else float("nan"),
            "lr": lr,
            "seconds": self.train_seconds,
        }
        if self.validate is not None:
            tic = self._clock()
            results = self.validate(self.model)
            self._eta.validated(self._clock() - tic)
            images = results.pop("images", None) if isinstance(results, dict) else None
            record.update(results)
            if self._writer is not None:
                with self._writer.as_default(step=int(self._global_step.numpy())):
                    for key, value in results.items():
                        if isinstance(value, int | float):
                            tf.summary.scalar(f"val/{key}", value)
                    for tag, batch in (images or {}).items():
                        tf.summary.image(f"val/{tag}", batch, max_outputs=len(batch))
        if self.verbose:
            summary = ", ".join(
                f"{k} {v:.4g}" for k, v in record.items() if isinstance(v, float) and k != "lr"
            )
            print(f"  end of phase {run.phase.name} epoch {run.epoch + 1}: {summary}")
        return record

    def _end_epoch(self, run: _Epoch, record: dict[str, Any], meter) -> None:
        """Records the epoch, moves the position on, keeps the best, saves the
        checkpoints, lets a time budget decide the plan, and stops if asked."""
        self.history.append(record)
        self.state.epoch_losses = []
        # Position after this epoch: the next epoch, or the next phase.
        if run.epoch + 1 < run.phase.epochs:
            self._set_position(run.phase_index, run.epoch + 1, 0)
        else:
            self._set_position(run.phase_index + 1, 0, 0)
        pck = record.get("pck")
        improved = pck is not None and pck > float(self._best.numpy())
        if improved:
            self._best.assign(pck)
        stopping = self._stop_signum
        if stopping is not None:  # asked during validation: this checkpoint is the stop's
            self.state.command["ended"] = signal.Signals(stopping).name
        # The epoch's checkpoint first: a full disk while `best/` or model.keras is
        # written leaves a checkpoint that --resume continues from.
        self._save(self._manager)
        if improved:
            self._save(self._best_manager, meter)
            self._write_best_model()
        if meter is not None and not self.plan.decided:
            self._decide_plan(meter, run.global_epoch + 1)
            if self.plan.decided:  # once a run: the checkpoint again, holding the plan
                self._save(self._manager)
        if stopping is not None:
            self._stop(f"phase {run.phase.name} after epoch {run.epoch + 1}", saved=True)

    def _save(self, manager, meter=None):
        """A checkpoint of `manager` at the global step, timed for the budget's meter."""
        tic = self._clock()
        manager.save(checkpoint_number=int(self._global_step.numpy()))
        if meter is not None:
            meter.saved(self._clock() - tic)

    def _epoch_steps(self) -> list[int]:
        return [self.plan.steps(e) for e in range(sum(p.epochs for p in self.phases))]

    def _decide_plan(self, meter, next_epoch: int):
        """Sizes the epochs from `next_epoch` on to the time budget, once (`training.budget`)."""
        measured = meter.measure()
        if measured is None:  # no step timed after the warm ones: measure the next epoch
            return
        # The run's wall seconds over every command, and the checkpoint saved right after.
        elapsed = sum(c["wall_seconds"] for c in self.commands) + measured["checkpoint_seconds"]
        epochs = [p.epochs for p in self.phases]
        step, every = int(self._global_step.numpy()), self.checkpoint_every
        plan = decide_plan(self.plan, measured, epochs, next_epoch, elapsed, step, every)
        self.plan = dataclasses.replace(plan, later_steps=self._agreed(plan.later_steps))
        self._eta.plan(self._epoch_steps())
        if self.verbose:
            print(self.plan.describe(sum(epochs)), flush=True)

    def _agreed(self, steps: int) -> int:
        """The workers' mean steps, rounded down: every worker must run the same steps."""
        if not isinstance(self.strategy, tf.distribute.MultiWorkerMirroredStrategy):
            return steps
        value = self.strategy.run(lambda: tf.constant(float(steps)))
        return int(self.strategy.reduce(tf.distribute.ReduceOp.MEAN, value, axis=None).numpy())

    def _stop(self, where: str, saved: bool = False):
        """Saves the position already set (unless `saved`) and raises TrainingInterrupted."""
        name = signal.Signals(self._stop_signum).name
        self.state.command["ended"] = name
        if not saved:
            self._save(self._manager)
        if self.verbose:
            print(
                f"\n{name}: stopped in {where}; saved {self._manager.latest_checkpoint} "
                "(--resume continues from it)",
                flush=True,
            )
        raise TrainingInterrupted(self._stop_signum, self._manager.latest_checkpoint)

    def _write_best_model(self):
        """Calls `on_best(model)` with the layers' trainable flags as before any phase."""
        if self.on_best is None:
            return
        # Parents come before children in both lists, so restoring in order is exact.
        current = [(layer, layer.trainable) for layer, _ in self._initial_trainable.values()]
        for layer, flag in self._initial_trainable.values():
            layer.trainable = flag
        try:
            self.on_best(self.model)
        finally:
            for layer, flag in current:
                layer.trainable = flag


def _check_arguments(
    phases: list[Phase],
    strategy: tf.distribute.Strategy,
    global_batch_size: int,
    steps_per_epoch: int,
    checkpoint_every: int,
) -> None:
    """The Trainer's ValueErrors: no phase, a batch the replicas cannot share, a count < 1."""
    if not phases:
        raise ValueError("Trainer needs at least one Phase. Received: phases=[]")
    if global_batch_size % strategy.num_replicas_in_sync:
        raise ValueError(
            f"The global batch size must be divisible by the number of replicas "
            f"({strategy.num_replicas_in_sync}). Received: global_batch_size={global_batch_size}"
        )
    for name, value in (
        ("steps_per_epoch", steps_per_epoch),
        ("checkpoint_every", checkpoint_every),
    ):
        if int(value) < 1:
            raise ValueError(f"{name} must be >= 1. Received: {name}={value}")


def _summary_available() -> bool:
    """Whether `tf.summary.scalar` works (it comes from the tensorboard package)."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        return False
    return hasattr(tf.summary, "scalar")
