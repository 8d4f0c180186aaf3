"""`--time-budget`: the second epoch measures the run, later epochs shrink to fit, never grow.

The Trainer's clock is injected: time passes only when a step, a validation or a
model save says so, so the plan does not depend on this machine's speed.
"""

import dataclasses
import signal

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.budget import BudgetMeter, Plan, fit_steps, mid_epoch_checkpoints
from training.config import TrainConfig
from training.loop import Trainer
from training.phases import Phase
from training.runtime_settings import runtime_settings
from training.schedule import Schedule
from training.stopping import TrainingInterrupted
from training.train import _run_record

STEPS = 8  # the recipe's steps per epoch
# Fake seconds: a step, a phase's first step (it traces), a validation, a model save.
STEP, TRACE, VALIDATION, SAVE = 1.0, 5.0, 2.0, 1.0
# Phases A (3 epochs) and C (2). Without a budget: the first epoch ends at 5 + 7 + 2 + 1
# = 15 s, the second (the one measured) at 15 + 8 + 3 = 26 s, the run at
# 26 + 3 × (8 + 3) + 4 (phase C's tracing beyond a step) = 63 s.
FULL_RUN = 63.0
EPOCHS = 5


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _trainer(out, clock, time_budget=None, speed=1.0):
    """A tiny two-phase trainer whose steps, validations and saves advance `clock`."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    features = keras.layers.Conv2D(4, 1, name="head")(keras.layers.AveragePooling2D(4)(inputs))
    model = keras.Model(inputs, {"heatmaps": keras.layers.Reshape((1, 8, 8, 4))(features)})
    rng = np.random.default_rng(0)
    images = rng.random((16, 32, 32, 3)).astype(np.float32)
    targets = {
        "heatmaps": rng.random((16, 8, 8, 4)).astype(np.float32),
        "weights": np.ones((16, 4), np.float32),
    }

    def data(epoch, skip, context):
        del context
        ds = tf.data.Dataset.from_tensor_slices((images, targets)).batch(2)
        return ds.skip(3 * epoch % 8).repeat().skip(skip)

    scores = iter(range(100))

    def validate(model):
        clock.now += VALIDATION * speed
        return {"pck": float(next(scores))}  # improves every epoch: a model save each

    def on_best(model):
        clock.now += SAVE * speed

    phases = [Phase("A", "all", 1e-3, 3), Phase("C", "all", 1e-3, 2)]
    trainer = Trainer(
        model, keras.optimizers.Adam(1e-3), phases, strategy=tf.distribute.get_strategy(),
        train_data=data, global_batch_size=2, steps_per_epoch=STEPS, out_dir=out,
        validate=validate, schedule=Schedule("step", drop_at=0.5), checkpoint_every=100,
        tensorboard=False, verbose=1, on_best=on_best, time_budget=time_budget, clock=clock,
    )  # fmt: skip
    make_step_fn = trainer._make_step_fn

    def timed_step_fn(variables):
        step_fn, traced = make_step_fn(variables), []

        def step(iterator):
            clock.now += (STEP if traced else TRACE) * speed
            traced.append(True)
            return step_fn(iterator)

        return step

    trainer._make_step_fn = timed_step_fn
    calls = []
    schedule = trainer.schedule

    def recorded(base_lr, step, total, *drops):
        calls.append((step, total))
        return schedule(base_lr, step, total, *drops)

    trainer.schedule, trainer.schedule_calls = recorded, calls
    return trainer


def _fit(trainer):
    with runtime_settings(policy="float32", deterministic=True):
        return trainer.fit()


def _without_seconds(history):
    return [{k: v for k, v in h.items() if k != "seconds"} for h in history]


def test_a_budget_that_is_not_binding_leaves_the_run_step_for_step(tmp_path, capsys):
    reference = _trainer(tmp_path / "none", FakeClock())
    _fit(reference)
    clock = FakeClock()
    budgeted = _trainer(tmp_path / "budget", clock, time_budget=FULL_RUN)
    _fit(budgeted)
    plan = budgeted.plan
    assert plan.describe(EPOCHS) in capsys.readouterr().out
    assert "epochs 3-5 keep the recipe's 8 steps" in plan.describe(EPOCHS)
    assert (plan.from_epoch, plan.later_steps, plan.steps_per_epoch) == (2, STEPS, STEPS)
    assert plan.predicted_seconds == pytest.approx(FULL_RUN) == clock.now
    assert [plan.steps(e) for e in range(EPOCHS)] == [STEPS] * EPOCHS
    assert not reference.plan.decided and reference.plan.budget_seconds is None
    assert _without_seconds(budgeted.history) == _without_seconds(reference.history)
    assert budgeted.schedule_calls == reference.schedule_calls
    for a, b in zip(reference.model.weights, budgeted.model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_a_binding_budget_shrinks_later_epochs_and_the_run_fits(tmp_path, capsys):
    clock = FakeClock()
    trainer = _trainer(tmp_path, clock, time_budget=51.0)
    _fit(trainer)
    # 26 s by the second epoch's end; 3 epochs of n steps + 3 s each and phase C's
    # tracing (4 s) must fit in the 25 s left: n = 4.
    plan = trainer.plan
    assert (plan.from_epoch, plan.later_steps) == (2, 4)
    assert plan.seconds_per_step == STEP and plan.epoch_seconds == VALIDATION + SAVE
    assert plan.trace_seconds == TRACE - STEP and plan.elapsed_seconds == 26.0
    assert plan.predicted_seconds == pytest.approx(51.0) == clock.now
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("Time budget")]
    assert line == [plan.describe(EPOCHS)]
    assert line[0].startswith("Time budget 0.8 min: measured 1.000 s/step and 3.0 s per epoch ")
    assert "; epochs 3-5 shrink to 4 steps (recipe 8); predicted 0.8 min" in line[0]
    assert int(trainer._global_step.numpy()) == 2 * STEPS + 3 * 4 == trainer._eta.total_steps
    assert [(h["phase"], h["epoch"]) for h in trainer.history] == [
        ("A", 1), ("A", 2), ("A", 3), ("C", 1), ("C", 2)
    ]  # fmt: skip
    # The schedule follows the new plan: phase A is 8 + 8 + 4 steps, phase C 4 + 4.
    calls = trainer.schedule_calls
    assert calls[:16] == [(s, 24) for s in range(16)]  # measured under the recipe's plan
    assert calls[16:20] == [(s, 20) for s in range(16, 20)]
    assert calls[20:] == [(s, 8) for s in range(8)]
    lrs = [1e-3, 1e-4, 1e-4, 1e-3, 1e-4]  # ×0.1 from step 12 of 24, then 10 of 20; 4 of 8
    assert [h["lr"] for h in trainer.history] == pytest.approx(lrs)
    # metrics.json's run record holds the plan.
    record = _run_record(trainer, "complete", {}, TrainConfig())
    assert record["plan"] == dataclasses.asdict(plan) and record["plan"]["budget_seconds"] == 51


def test_resume_keeps_the_plan_and_never_measures_again(tmp_path, capsys):
    clock = FakeClock()
    trainer = _trainer(tmp_path, clock, time_budget=51.0)
    clock_step = trainer._eta.step

    def step(done, *args, **kwargs):  # stop in phase C's first epoch
        clock_step(done, *args, **kwargs)
        if done == 2 * STEPS + 4 + 2:
            trainer.request_stop(signal.SIGTERM)

    trainer._eta.step = step
    with pytest.raises(TrainingInterrupted):
        _fit(trainer)
    saved = dataclasses.asdict(trainer.plan)
    assert saved["later_steps"] == 4
    capsys.readouterr()
    # A machine 10× slower, with or without the budget: the same plan, no new measurement.
    for budget in (51.0, None):
        folder = tmp_path / f"copy-{budget}"
        folder.mkdir()
        for path in (tmp_path / "ckpt").iterdir():
            (folder / "ckpt").mkdir(exist_ok=True)
            (folder / "ckpt" / path.name).write_bytes(path.read_bytes())
        resumed = _trainer(folder, FakeClock(), time_budget=budget, speed=10.0)
        assert resumed.restore()
        assert dataclasses.asdict(resumed.plan) == saved
        _fit(resumed)
        assert "Time budget" not in capsys.readouterr().out
        assert dataclasses.asdict(resumed.plan) == saved
        assert int(resumed._global_step.numpy()) == 2 * STEPS + 3 * 4
        assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 1, 2]


# ------------------------------------------------------------------ the parts
def test_fit_steps_never_grows_and_counts_the_checkpoints_of_shorter_epochs():
    common = dict(elapsed=100.0, steps_per_epoch=200, epochs_left=22, seconds_per_step=0.5)
    # A fast machine: 100 + 22 × (100 + 10) = 2,520 s fits in 3,000: the recipe's 200.
    assert fit_steps(budget=3000.0, epoch_seconds=10.0, **common) == (200, 2520.0)
    # A slow one, 18 minutes: 100 + 22 × (0.5 n + 10) <= 1,080 for n <= 69.
    assert fit_steps(budget=1080.0, epoch_seconds=10.0, **common) == (69, 1079.0)
    assert (
        fit_steps(budget=1080.0, epoch_seconds=10.0, **{**common, "steps_per_epoch": 60})[0] == 60
    )
    # Epochs of 150 steps from global step 200 no longer end on the 200-step
    # checkpoints: two are saved inside them (after 400 and 600; 800 ends one).
    assert mid_epoch_checkpoints(200, 150, 4, 200) == 2
    # 151 steps would fit but for their 3 mid-epoch checkpoints of 1 s: 150.
    with_saves = fit_steps(
        budget=402.0, epoch_seconds=0.0, checkpoint_seconds=1.0, global_step=200,
        checkpoint_every=200, elapsed=100.0, steps_per_epoch=200, epochs_left=4,
        seconds_per_step=0.5,
    )  # fmt: skip
    assert with_saves == (150, 402.0)
    # Nothing fits: one step per epoch, and the prediction says so.
    assert fit_steps(budget=50.0, epoch_seconds=10.0, **common)[0] == 1


def test_meter_times_steps_after_the_warm_ones_and_keeps_saves_apart():
    clock = FakeClock()
    meter = BudgetMeter(clock)
    meter.phase_started()
    meter.epoch_started(steps=8, skip=0)
    for step in range(8):
        clock.now += 10.0 if step == 0 else 1.0  # the first step traces
        meter.step_done(step, 10.0 if step == 0 else 1.0)
    assert meter.measure() is None  # the command's first epoch also traces the validation
    meter.epoch_started(steps=8, skip=0)
    clock.now += 3.0  # the data pipeline starts
    for step in range(8):
        seconds = 1.5 if step == 0 else 1.0
        clock.now += seconds
        meter.step_done(step, seconds)
        if step == 4:  # a mid-epoch checkpoint: not a step's cost
            clock.now += 2.0
            meter.saved(2.0)
    clock.now += 4.0  # validation and model save
    assert meter.measure() == dict(
        seconds_per_step=1.0, epoch_seconds=3.0 + 4.0 + 2.0, trace_seconds=9.0,
        checkpoint_seconds=2.0,
    )  # fmt: skip
    # An epoch resumed at its last step times nothing: the next epoch is measured.
    meter.epoch_started(steps=8, skip=7)
    meter.step_done(7, 1.0)
    assert meter.measure() is None


def test_plan_steps_and_the_schedule_of_epochs_of_different_lengths():
    plan = Plan(200, from_epoch=1, later_steps=120, budget_seconds=1080.0)
    assert [plan.steps(e) for e in range(3)] == [200, 120, 120]
    assert Plan.from_dict({**dataclasses.asdict(plan), "unknown": 1}) == plan
    milestones = Schedule("milestones")
    # Milestone epoch 2 of a phase of epochs [200, 120, 120] starts at step 320.
    assert milestones(1.0, 319, 440, (2,), [200, 120, 120]) == 1.0
    assert milestones(1.0, 320, 440, (2,), [200, 120, 120]) == pytest.approx(0.1)
    assert milestones(1.0, 320, 600, (2,), 200) == 1.0 and milestones(1.0, 400, 600, (2,), 200) < 1
