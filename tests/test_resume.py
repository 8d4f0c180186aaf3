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
    assert not (killed / "model.keras").exists()

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
    assert final["history"] and all(h["phase"] == "C" for h in final["history"])


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
