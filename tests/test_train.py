"""The training job: configuration, loss, schedule, CLI, end-to-end runs, failures."""

import json
import math
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerashg
from tests.conftest import data_path
from training import config as config_lib
from training import recipes
from training.config import TrainConfig, config_from_args, resolve_config, resolve_precision
from training.loop import Trainer
from training.losses import heatmap_loss
from training.phases import joint_phase
from training.schedule import Schedule
from training.stopping import NonFiniteLossError
from training.train import build_parser, main, train

SIZE, K = 32, 4


# ----------------------------------------------------------------------- loss
def test_heatmap_loss_is_weighted_mse_summed_over_stages():
    rng = np.random.default_rng(0)
    pred = rng.random((2, 3, 4, 4, K)).astype(np.float32)
    target = rng.random((2, 4, 4, K)).astype(np.float32)
    weights = np.array([[1, 1, 0, 1], [1, 0, 0, 1]], np.float32)
    per_example, per_stage = heatmap_loss(pred, target, weights)
    expected = ((pred - target[:, None]) ** 2 * weights[:, None, None, None]).mean(axis=(2, 3, 4))
    np.testing.assert_allclose(per_stage, expected, rtol=1e-6)
    np.testing.assert_allclose(per_example, expected.sum(1), rtol=1e-6)
    # A missing joint's channel does not matter at all.
    changed = pred.copy()
    changed[0, :, :, :, 2] = 100.0
    np.testing.assert_allclose(heatmap_loss(changed, target, weights)[0], per_example, rtol=1e-6)


def test_foreground_weighted_loss_and_float32_under_bfloat16():
    target = np.zeros((1, 4, 4, 1), np.float32)
    target[0, 1, 2, 0] = 1.0
    pred = np.zeros((1, 1, 4, 4, 1), np.float32)
    weights = np.ones((1, 1), np.float32)
    plain = float(heatmap_loss(pred, target, weights)[0][0])
    weighted = float(heatmap_loss(pred, target, weights, foreground_weight=20.0)[0][0])
    assert plain == pytest.approx(1 / 16) and weighted == pytest.approx(21 / 16)
    loss, _ = heatmap_loss(tf.cast(pred, tf.bfloat16), target, weights)
    assert loss.dtype == tf.float32
    with pytest.raises(ValueError, match="foreground_weight"):
        heatmap_loss(pred, target, weights, foreground_weight=-1.0)


# ------------------------------------------------------------------- schedule
def test_step_schedule_drops_tenfold_late_in_phase():
    schedule = Schedule("step", drop_at=0.8)
    assert schedule(5e-4, 0, 100) == 5e-4 and schedule(5e-4, 79, 100) == 5e-4
    assert schedule(5e-4, 80, 100) == pytest.approx(5e-5)


def test_cosine_schedule_warms_up_and_decays_to_zero():
    schedule = Schedule("cosine", warmup_steps=10)
    lrs = [schedule(1e-3, s, 200) for s in range(200)]
    assert lrs[0] == pytest.approx(1e-4) and lrs[9] == pytest.approx(1e-3)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))
    assert lrs[-1] < 1e-6
    with pytest.raises(ValueError, match="kind"):
        Schedule("linear")


# ------------------------------------------------------------------ config
def test_device_defaults_and_paper_recipe_on_gpu():
    cpu = resolve_config(TrainConfig(), gpu=False)
    assert cpu.input_size == recipes.CPU_DEFAULTS["input_size"]
    assert cpu.phases == ("A", "B", "C") and len(cpu.lr) == len(cpu.phase_epochs) == 3
    gpu = resolve_config(TrainConfig(), gpu=True)
    assert (gpu.input_size, gpu.filters, gpu.optimizer, gpu.loss) == (256, 256, "rmsprop", "mse")
    assert gpu.lr == (5e-4, 2.5e-4, 2.5e-4) and gpu.schedule == "step"
    assert gpu.stem_filters == (64, 128) and cpu.stem_filters == (16, 32)
    assert (gpu.augment, cpu.augment) == ("full", "light") and cpu.refine == "dark"
    assert TrainConfig.from_json(cpu.to_json()) == cpu
    hourglass = resolve_config(TrainConfig(model="hourglass", epochs=7), gpu=False)
    assert hourglass.phases == ("H",) and hourglass.phase_epochs == (7,)
    split = resolve_config(TrainConfig(epochs=7, phases=("A", "C")), gpu=False)
    assert split.phases == ("A", "C") and sum(split.phase_epochs) == 7


def test_real_photos_get_their_own_cpu_defaults_and_explicit_options_win():
    lsp = resolve_config(TrainConfig(data="lsp", data_dir="lspet"), gpu=False)
    for key, value in recipes.CPU_REAL_DEFAULTS.items():
        assert getattr(lsp, key) == value, key
    assert lsp.input_size == recipes.CPU_DEFAULTS["input_size"] and lsp.sigma == 2.0
    synthetic = resolve_config(TrainConfig(), gpu=False)
    assert synthetic.sigma == 1.0 and synthetic.phase_epochs == (16, 1, 6)
    assert resolve_config(TrainConfig(data="lsp", data_dir="d", sigma=1.0), gpu=False).sigma == 1.0
    gpu = resolve_config(TrainConfig(data="lsp", data_dir="d"), gpu=True)
    assert gpu.sigma == recipes.GPU_DEFAULTS["sigma"]


def test_epochs_is_the_total_number_of_epochs_over_the_phases():
    # `--epochs 2` over A, B, C used to run 3 (each phase got at least one on top
    # of the split): now A and C get one each and B, the smallest share, none.
    assert resolve_config(TrainConfig(epochs=2), gpu=False).phase_epochs == (1, 0, 1)
    assert resolve_config(TrainConfig(epochs=1), gpu=False).phase_epochs == (1, 0, 0)
    assert resolve_config(TrainConfig(epochs=23), gpu=False).phase_epochs == (16, 1, 6)
    assert resolve_config(TrainConfig(epochs=150), gpu=True).phase_epochs == (100, 25, 25)
    for gpu in (False, True):
        for phases in (None, ("A", "C"), ("B", "C"), ("A", "B")):
            for total in range(1, 40):
                config = TrainConfig(epochs=total, phases=phases)
                epochs = resolve_config(config, gpu=gpu).phase_epochs
                assert sum(epochs) == total, (phases, total, epochs)
                if total >= len(epochs):
                    assert min(epochs) >= 1, (phases, total, epochs)


def test_one_device_trainer_reads_its_dataset_without_a_distributed_iterator(tmp_path):
    """TensorFlow's distributed iterator runs on a generator dataset whose kernel
    lowers glibc's trim threshold for the whole process (a 2× slower CPU step)."""
    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = kerashg.StackedHourglass(num_stacks=1, num_keypoints=K, filters=8, depth=1,
                                         input_shape=(SIZE, SIZE, 3))  # fmt: skip
        optimizer = keras.optimizers.Adam(1e-3)
    seen = []

    def train_data(epoch, skip, context):
        seen.append((epoch, skip, context.num_replicas_in_sync))
        return tf.data.Dataset.range(4)

    trainer = Trainer(model, optimizer, joint_phase(1e-3, 1), strategy=strategy, train_data=train_data,
                      global_batch_size=2, steps_per_epoch=1, out_dir=tmp_path, tensorboard=False)  # fmt: skip
    assert isinstance(trainer._dataset(3, 1), tf.data.Dataset) and seen == [(3, 1, 1)]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(model="resnet"), "--model"),
        (dict(phases=("C", "A")), "order A, B, C"),
        (dict(phase_epochs=(1, 2)), "one value per phase"),
        (dict(lr=(1e-3, 1e-3)), "--lr"),
        (dict(data="mpii"), "--data-dir"),
        (dict(model="hourglass", phases=("A",)), "acnn only"),
        (dict(precision="fp8"), "--precision"),
        (dict(augment="heavy"), "--augment"),
        (dict(refine="argmax"), "--refine"),
    ],
)
def test_invalid_settings_name_the_option(kwargs, match):
    with pytest.raises(ValueError, match=match):
        resolve_config(TrainConfig(**kwargs), gpu=False)


def test_precision_rule():
    assert resolve_precision("float32") == "float32"
    expected = "mixed_bfloat16" if config_lib.cpu_has_native_bfloat16() else "float32"
    if not config_lib.has_gpu():
        assert resolve_precision("auto") == expected


def test_config_json_round_trip():
    config = resolve_config(TrainConfig(stacks=2, lr=(1e-3,)), gpu=False)
    assert TrainConfig.from_json(config.to_json()) == config


def test_augment_levels_from_the_cli_and_from_older_saved_configs():
    from training.augment import AUGMENT_PRESETS, NO_AUGMENT

    assert config_from_args(build_parser().parse_args(["--no-augment"])).augment == "none"
    assert config_from_args(build_parser().parse_args(["--augment", "full"])).augment == "full"
    assert config_from_args(build_parser().parse_args([])).augment is None
    assert AUGMENT_PRESETS["none"] == NO_AUGMENT
    assert AUGMENT_PRESETS["light"].rotation_prob == 0 < AUGMENT_PRESETS["full"].rotation_prob
    # Configurations saved before the levels stored a bool.
    old = json.loads(TrainConfig().to_json())
    for flag, level in ((True, "full"), (False, "none")):
        old["augment"] = flag
        assert TrainConfig.from_json(json.dumps(old)).augment == level


# ----------------------------------------------------------------------- CLI
def test_help_documents_every_option():
    text = build_parser().format_help()
    for option in (
        "--model", "--stacks", "--filters", "--depth", "--input-size", "--data", "--data-dir",
        "--epochs", "--phase-epochs", "--phases", "--batch-size", "--lr", "--precision",
        "--strategy", "--steps-per-epoch", "--out", "--resume", "--seed", "--deterministic",
        "--loss", "--optimizer", "--schedule",
    ):  # fmt: skip
        assert option in text, option
    assert "mixed_bfloat16" in text and "AVX512_BF16" in text


def test_missing_data_dir_is_a_one_line_error_before_training(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["--data", "mpii", "--data-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "run")]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nope" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_cli_help_runs_as_module():
    result = subprocess.run(
        [sys.executable, "-m", "training.train", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "--strategy" in result.stdout


# -------------------------------------------------------------- end to end
@pytest.mark.slow
def test_train_end_to_end_writes_model_and_metrics(tmp_path):
    out = tmp_path / "run"
    config = TrainConfig(
        model="hourglass",
        stacks=1,
        filters=8,
        depth=1,
        input_size=32,
        epochs=1,
        steps_per_epoch=3,
        batch_size=4,
        val_images=8,
        out=str(out),
        checkpoint_every=2,
    )
    metrics = train(config)
    saved = json.loads((out / "metrics.json").read_text())
    assert 0.0 <= saved["pck"] <= 100.0 and saved["pck"] == metrics["pck"]
    assert 0.0 <= saved["pck_flip"] <= 100.0
    assert saved["train_seconds"] > 0 and saved["model"]["input_size"] == 32
    assert saved["data"]["name"] == "synthetic"
    model = keras.saving.load_model(out / "model.keras")
    assert model(np.zeros((1, 32, 32, 3), np.float32))["heatmaps"].shape == (1, 1, 8, 8, 16)
    assert (out / "ckpt" / "checkpoint").exists() and (out / "best" / "checkpoint").exists()
    assert (out / "logs").is_dir() and any((out / "logs").iterdir())


# ----------------------------------------------------------------- failures
def test_non_finite_loss_stops_with_step_and_phase_and_keeps_checkpoint(tmp_path):
    model = kerashg.StackedHourglass(
        num_stacks=1, num_keypoints=K, filters=8, depth=1, input_shape=(SIZE, SIZE, 3)
    )

    def data(epoch, skip, context):
        del epoch, skip
        images = np.full((6, SIZE, SIZE, 3), 0.5, np.float32)
        images[4:] = np.nan  # the third step of batch 2 goes bad
        targets = {
            "heatmaps": np.zeros((6, SIZE // 4, SIZE // 4, K), np.float32),
            "weights": np.ones((6, K), np.float32),
        }
        return tf.data.Dataset.from_tensor_slices((images, targets)).batch(2)

    trainer = Trainer(
        model,
        keras.optimizers.RMSprop(1e-3),
        joint_phase(1e-3, 1),
        strategy=tf.distribute.get_strategy(),
        train_data=data,
        global_batch_size=2,
        steps_per_epoch=3,
        out_dir=tmp_path,
        checkpoint_every=2,
        tensorboard=False,
        verbose=0,
    )
    with pytest.raises(
        NonFiniteLossError, match=r"global step 3 in phase H, epoch 1, step 3"
    ) as info:
        trainer.fit()
    assert "ckpt-2" in str(info.value)
    assert trainer.latest_checkpoint.endswith("ckpt-2")
    reader = tf.train.load_checkpoint(trainer.latest_checkpoint)
    for name in reader.get_variable_to_shape_map():
        value = reader.get_tensor(name)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            assert np.isfinite(value).all(), name
    assert math.isfinite(
        float(
            tf.train.load_checkpoint(trainer.latest_checkpoint).get_tensor(
                "step/.ATTRIBUTES/VARIABLE_VALUE"
            )
        )
    )


# ----------------------------------------------------------------- real data
@pytest.mark.data
@pytest.mark.slow
def test_short_training_on_coco_mini_runs_end_to_end(tmp_path):
    root = data_path("coco-mini")
    out = tmp_path / "coco"
    config = TrainConfig(
        model="hourglass",
        stacks=1,
        filters=8,
        depth=1,
        input_size=32,
        data="coco",
        data_dir=str(root),
        epochs=1,
        steps_per_epoch=3,
        batch_size=4,
        val_images=16,
        out=str(out),
        tensorboard=False,
    )
    metrics = train(config)  # no accuracy claim: a few steps of a tiny model
    assert metrics["val_images"] == 16 and 0.0 <= metrics["pck"] <= 100.0
    assert "person box" in metrics["pck_normalizer"]  # COCO has no head boxes
    assert keras.saving.load_model(out / "model.keras").count_params() > 0


def test_run_clock_eta_spans_the_remaining_phases_and_validations():
    from training.progress import RunClock

    clock = RunClock(epochs=4, steps_per_epoch=10)
    assert "ETA" not in clock.describe()
    clock.step(1, 30.0, timed=False)  # a tracing step does not set the pace
    for done in range(2, 11):
        clock.step(done, 2.0)
    clock.validated(5.0)
    assert clock.seconds_left() == pytest.approx(30 * 2.0 + 3 * 5.0)
    assert clock.describe() == "run 25% done, ETA 1 min 15 s"
    # A time budget's plan shortens the later epochs: the ETA follows it.
    clock.plan([10, 5, 5, 5])
    assert clock.seconds_left() == pytest.approx(15 * 2.0 + 3 * 5.0)
    assert clock.describe() == "run 40% done, ETA 0 min 45 s"
