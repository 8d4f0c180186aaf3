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
