"""Checkpoints and resume: a run killed with SIGKILL and resumed ends like an uninterrupted one."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import kerashg  # noqa: F401  (registers the model classes for load_model)

ROOT = pathlib.Path(__file__).resolve().parents[1]
# Tiny ACNN, two phases (A then C), deterministic: 2 × 2 epochs × 4 steps.
ARGS = [
    "--model", "acnn", "--stacks", "1", "--filters", "8", "--depth", "1", "--input-size", "32",
    "--phases", "A,C", "--phase-epochs", "2,2", "--steps-per-epoch", "4", "--batch-size", "4",
    "--val-images", "8", "--synthetic-pool", "64", "--checkpoint-every", "2", "--lr", "1e-3",
    "--precision", "float32", "--no-tensorboard", "--deterministic", "--seed", "3",
]  # fmt: skip
# Kill once this checkpoint exists: phase C, epoch 1, after its second step.
KILL_AT_STEP = 2 * 4 + 2
TOTAL_STEPS = 4 * 4


def command(out, *extra):
    return [sys.executable, "-m", "training.train", *ARGS, "--out", str(out), *extra]


def env():
    return {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}


def latest_step(out):
    state = out / "ckpt" / "checkpoint"
    if not state.exists():
        return 0
    text = state.read_text()
    return int(text.split('model_checkpoint_path: "ckpt-')[1].split('"')[0])


def weights(path):
    model = keras.saving.load_model(path)
    return [np.asarray(w) for w in model.weights]


@pytest.mark.slow
def test_sigkill_then_resume_matches_uninterrupted_run(tmp_path):
    reference = tmp_path / "reference"
    subprocess.run(
        command(reference), check=True, cwd=ROOT, env=env(), capture_output=True, timeout=600
    )

    killed = tmp_path / "killed"
    process = subprocess.Popen(
        command(killed), cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.time() + 600
    while latest_step(killed) < KILL_AT_STEP and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    step = latest_step(killed)
    # The run really was cut short, mid-phase, after a mid-epoch checkpoint.
    assert process.returncode == -signal.SIGKILL
    assert KILL_AT_STEP <= step < TOTAL_STEPS, step
    # The cut run kept its work: model.keras holds the best weights of phase A's epochs.
    assert not (killed / "metrics.json").exists()
    assert kerashg.load_model(killed / "model.keras").count_params() > 0

    result = subprocess.run(
        [sys.executable, "-m", "training.train", "--resume", "--out", str(killed)],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"global step {step})" in result.stdout
    for a, b in zip(
        weights(reference / "model.keras"), weights(killed / "model.keras"), strict=True
    ):
        np.testing.assert_allclose(b, a, rtol=0, atol=1e-6)
    final = json.loads((killed / "metrics.json").read_text())
    expected = json.loads((reference / "metrics.json").read_text())
    assert final["pck"] == pytest.approx(expected["pck"], abs=1e-9)
    # The history covers the whole run, the cut epoch's loss over all its steps.
    assert [(h["phase"], h["epoch"]) for h in final["history"]] == [
        ("A", 1), ("A", 2), ("C", 1), ("C", 2)
    ]  # fmt: skip
    for got, want in zip(final["history"], expected["history"], strict=True):
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-6)
        assert got["pck"] == pytest.approx(want["pck"], abs=1e-9)
    assert [c["ended"] for c in final["commands"]] == ["cut", "complete"]
    assert final["wall_seconds"] == pytest.approx(sum(c["wall_seconds"] for c in final["commands"]))
    assert final["complete"] is True and final["train_seconds"] > 0


# ------------------------------------------ SIGTERM: stop cleanly, keep the work, resume
# `--epochs 2` over ACNN's A, B, C: one epoch of A and one of C (B gets none).
TERM_ARGS = [
    "--model", "acnn", "--stacks", "1", "--filters", "8", "--depth", "1", "--input-size", "32",
    "--epochs", "2", "--steps-per-epoch", "12", "--batch-size", "4", "--val-images", "8",
    "--synthetic-pool", "64", "--checkpoint-every", "100", "--lr", "1e-3",
    "--precision", "float32", "--no-tensorboard", "--seed", "5",
]  # fmt: skip


@pytest.mark.slow
def test_sigterm_in_the_second_epoch_keeps_the_model_and_resume_completes_the_history(tmp_path):
    out = tmp_path / "run"
    log = tmp_path / "stdout.txt"
    run_env = {**env(), "PYTHONUNBUFFERED": "1"}
    train_command = [sys.executable, "-m", "training.train", *TERM_ARGS, "--out", str(out)]
    with open(log, "w") as stdout, open(tmp_path / "stderr.txt", "w") as stderr:
        process = subprocess.Popen(
            train_command, cwd=ROOT, env=run_env, stdout=stdout, stderr=stderr
        )
        deadline = time.time() + 600
        # The second epoch (phase C's first) has begun: its header is printed.
        while "Phase C (all) epoch 1/1" not in log.read_text() and process.poll() is None:
            assert time.time() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        assert process.poll() is None, log.read_text()[-2000:]
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=300)
    text = log.read_text()
    assert process.returncode == 128 + signal.SIGTERM, text[-2000:]
    assert "SIGTERM: stopped in phase C " in text, text[-2000:]

    model = kerashg.load_model(out / "model.keras")
    heatmaps = model(np.zeros((1, 32, 32, 3), np.float32))["heatmaps"]
    assert heatmaps.shape == (1, 1, 8, 8, 16) and np.isfinite(heatmaps).all()
    cut = json.loads((out / "metrics.json").read_text())
    assert cut["complete"] is False and cut["stopped_by"] == "SIGTERM"
    assert cut["model_keras"].startswith("best validated weights")
    assert [(h["phase"], h["epoch"]) for h in cut["history"]][:1] == [("A", 1)]
    assert [c["ended"] for c in cut["commands"]] == ["SIGTERM"]

    result = subprocess.run(
        [sys.executable, "-m", "training.train", "--resume", "--out", str(out)],
        cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    final = json.loads((out / "metrics.json").read_text())
    # `--epochs 2` ran 2 epochs in all, over the two commands.
    assert [(h["phase"], h["epoch"]) for h in final["history"]] == [("A", 1), ("C", 1)]
    assert final["config"]["phase_epochs"] == [1, 0, 1]
    assert [c["ended"] for c in final["commands"]] == ["SIGTERM", "complete"]
    assert final["wall_seconds"] == pytest.approx(sum(c["wall_seconds"] for c in final["commands"]))
    assert final["complete"] is True and 0.0 <= final["pck"] <= 100.0
    assert kerashg.load_model(out / "model.keras").count_params() == model.count_params()


# ------------------------------------------ a damaged checkpoint never loses the run
def _tiny_trainer(out):
    import tensorflow as tf

    from training.loop import Trainer
    from training.phases import joint_phase

    model = kerashg.StackedHourglass(
        num_stacks=1, num_keypoints=4, filters=8, depth=1, input_shape=(32, 32, 3)
    )
    return Trainer(
        model, keras.optimizers.Adam(1e-3), joint_phase(1e-3, 1),
        strategy=tf.distribute.get_strategy(), train_data=None, global_batch_size=2,
        steps_per_epoch=20, out_dir=out, tensorboard=False, verbose=1,
    )  # fmt: skip


@pytest.fixture
def two_checkpoints(tmp_path):
    """`ckpt-8` and `ckpt-10` of a tiny Trainer, each with its own first weight."""
    trainer = _tiny_trainer(tmp_path)
    first = trainer.model.weights[0]
    values = {}
    for step in (8, 10):
        trainer._global_step.assign(step)
        trainer._step.assign(step)
        first.assign(np.full(first.shape, float(step), np.float32))
        trainer._manager.save(checkpoint_number=step)
        values[step] = np.full(first.shape, float(step), np.float32)
    ckpt = tmp_path / "ckpt"
    assert {p.name.split(".")[0] for p in ckpt.glob("ckpt-*")} == {"ckpt-8", "ckpt-10"}
    return tmp_path, values


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _resumed(out, values, step, capsys):
    trainer = _tiny_trainer(out)
    assert trainer.restore() is True
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert int(trainer._global_step.numpy()) == step
    np.testing.assert_array_equal(trainer.model.weights[0].numpy(), values[step])
    return trainer, line


def test_damaged_index_file_resumes_from_the_newest_checkpoint_on_disk(two_checkpoints, capsys):
    out, values = two_checkpoints
    ckpt = out / "ckpt"
    (ckpt / "checkpoint").write_text("model_checkpoint_path: {{{ damaged")
    intact = {k: v for k, v in _files(ckpt).items() if k != "checkpoint"}
    trainer, line = _resumed(out, values, 10, capsys)
    assert line.startswith(f"Resumed from {ckpt / 'ckpt-10'}: ") and "global step 10)" in line
    assert f"the index file {ckpt / 'checkpoint'} is missing or unreadable" in line
    # Training on saves new checkpoints; the ones it came from stay.
    trainer._manager.save(checkpoint_number=12)
    trainer._manager.save(checkpoint_number=14)
    trainer._manager.save(checkpoint_number=16)
    files = _files(ckpt)
    assert all(files[name] == data for name, data in intact.items())


def test_truncated_newest_checkpoint_falls_back_to_the_one_before(two_checkpoints, capsys):
    out, values = two_checkpoints
    ckpt = out / "ckpt"
    [data] = ckpt.glob("ckpt-10.data-*")
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    before = _files(ckpt)
    _, line = _resumed(out, values, 8, capsys)
    assert line.startswith(f"Resumed from {ckpt / 'ckpt-8'}: ") and "global step 8)" in line
    assert "skipped damaged ckpt-10 (" in line
    assert _files(ckpt) == before


def test_no_checkpoint_restores_is_one_error_and_deletes_nothing(two_checkpoints, tmp_path):
    out, _ = two_checkpoints
    ckpt = out / "ckpt"
    for data in ckpt.glob("ckpt-*.data-*"):
        data.write_bytes(b"")
    before = _files(ckpt)
    with pytest.raises(ValueError) as error:
        _tiny_trainer(out).restore()
    message = str(error.value)
    assert "\n" not in message
    assert message.startswith(f"{ckpt}: --resume: no checkpoint restores: ckpt-10 (")
    assert "; ckpt-8 (" in message and "Nothing was deleted" in message
    assert _files(ckpt) == before
    # A folder without any checkpoint is a fresh start, not an error.
    assert _tiny_trainer(tmp_path / "fresh").restore() is False


# ------------------------------------------ stop requests, in process
def test_stop_on_signals_asks_once_abandons_on_the_second_and_restores_handlers():
    from training.stopping import stop_on_signals

    class Stub:
        stop_requested = None

        def request_stop(self, signum):
            self.stop_requested = signum

    stub = Stub()
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    with stop_on_signals(stub):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs in this thread at the next bytecode
        assert stub.stop_requested == signal.SIGTERM
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
    assert {s: signal.getsignal(s) for s in before} == before


def _stoppable_trainer(out, validate, on_best=None):
    import tensorflow as tf

    from training.loop import Trainer
    from training.phases import joint_phase

    # The loop needs only images -> {"heatmaps": (B, S, h, w, K)}: a small model traces fast.
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    features = keras.layers.Conv2D(4, 1, name="head")(keras.layers.AveragePooling2D(4)(inputs))
    heatmaps = keras.layers.Reshape((1, 8, 8, 4))(features)
    model = keras.Model(inputs, {"heatmaps": heatmaps})
    rng = np.random.default_rng(0)
    images = rng.random((12, 32, 32, 3)).astype(np.float32)
    targets = {
        "heatmaps": rng.random((12, 8, 8, 4)).astype(np.float32),
        "weights": np.ones((12, 4), np.float32),
    }

    def data(epoch, skip, context):
        del context
        ds = tf.data.Dataset.from_tensor_slices((images, targets)).batch(2)
        return ds.skip(3 * epoch % 6).repeat().skip(skip)

    return Trainer(
        model, keras.optimizers.Adam(1e-3), joint_phase(1e-3, 2),
        strategy=tf.distribute.get_strategy(), train_data=data, global_batch_size=2,
        steps_per_epoch=3, out_dir=out, validate=validate, checkpoint_every=100,
        tensorboard=False, verbose=0, on_best=on_best,
    )  # fmt: skip


def test_a_stop_request_saves_the_position_and_the_resume_completes_the_history(tmp_path):
    from training.stopping import TrainingInterrupted

    scores = iter([10.0, 5.0, 20.0])
    saved = []
    trainer = _stoppable_trainer(
        tmp_path, lambda model: {"pck": next(scores)}, on_best=lambda m: saved.append(m.trainable)
    )
    clock_step = trainer._eta.step

    def step(done, *args, **kwargs):  # asked during the second epoch's first step
        clock_step(done, *args, **kwargs)
        if done == 4:
            trainer.request_stop(signal.SIGTERM)

    trainer._eta.step = step
    with pytest.raises(TrainingInterrupted) as stop:
        trainer.fit()
    assert stop.value.code == 128 + signal.SIGTERM and stop.value.checkpoint.endswith("ckpt-4")
    assert saved == [True]  # the first validation improved on nothing
    assert [h["epoch"] for h in trainer.history] == [1]
    first_losses = list(trainer.state.epoch_losses)
    assert len(first_losses) == 1

    resumed = _stoppable_trainer(tmp_path, lambda model: {"pck": next(scores)})
    assert resumed.restore()
    assert (int(resumed._epoch.numpy()), int(resumed._step.numpy())) == (1, 1)
    assert resumed.state.epoch_losses == first_losses
    assert [c["ended"] for c in resumed.commands] == ["SIGTERM", "running"]
    history = resumed.fit()
    assert [(h["epoch"], h["pck"]) for h in history] == [(1, 10.0), (2, 5.0)]
    assert int(resumed._global_step.numpy()) == 6 and resumed.best_pck == 10.0
