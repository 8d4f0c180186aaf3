"""Staged freezing (ACNN phases A, B, C) in the Trainer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import kerashg
from training.loop import Trainer
from training.phases import (
    Phase,
    acnn_phases,
    apply_phase,
    joint_phase,
    layer_groups,
    record_trainable,
)

# Smaller than conftest.TINY: every phase traces its own step function, and
# tracing time grows with the number of layers (depth 1 has fewer).
SIZE, K = 32, 4


def tiny_acnn():
    return kerashg.ACNN(
        num_stacks=2, num_keypoints=K, filters=8, depth=1, input_shape=(SIZE, SIZE, 3)
    )


def random_data(epoch, skip, context):
    """Random images and Gaussian-free targets: enough to move every weight."""
    del skip
    batch = context.get_per_replica_batch_size(4)
    rng = np.random.default_rng(epoch)
    images = rng.random((8, SIZE, SIZE, 3), dtype=np.float32)
    heatmaps = rng.random((8, SIZE // 4, SIZE // 4, K), dtype=np.float32)
    weights = np.ones((8, K), np.float32)
    ds = tf.data.Dataset.from_tensor_slices((images, {"heatmaps": heatmaps, "weights": weights}))
    return ds.batch(batch, drop_remainder=True).repeat()


def snapshot(layers):
    """Every weight (trainable or not) but the masks switch, which phases set on purpose."""
    return {
        v.path: np.array(v.numpy())
        for layer in layers
        for v in layer.weights
        if not v.path.endswith("force_ones")
    }


def run(model, phases, out_dir):
    strategy = tf.distribute.get_strategy()
    trainer = Trainer(
        model,
        keras.optimizers.Adam(1e-2),
        phases,
        strategy=strategy,
        train_data=random_data,
        global_batch_size=4,
        steps_per_epoch=2,
        out_dir=out_dir,
        tensorboard=False,
        verbose=0,
    )
    return trainer.fit()


def test_acnn_phases_table():
    a, b, c = acnn_phases(("A", "B", "C"), (5e-4, 2.5e-4, 2.5e-4), (3, 1, 1))
    assert (a.train, a.force_masks, a.learning_rate, a.epochs) == ("pose", True, 5e-4, 3)
    assert (b.train, b.force_masks) == ("attention", False)
    assert (c.train, c.force_masks) == ("all", False)
    with pytest.raises(ValueError, match="'D'"):
        acnn_phases(("D",), (1e-3,), (1,))
    with pytest.raises(ValueError, match="train"):
        Phase("X", "heads", 1e-3, 1)


def test_apply_phase_selects_variables_and_restores_user_flags():
    model = tiny_acnn()
    groups = layer_groups(model)
    assert [layer.name for layer in groups["attention"]] == ["stack0_attention", "stack1_attention"]
    attention = {v.path for layer in groups["attention"] for v in layer.trainable_weights}
    # A layer the user froze stays frozen in every phase.
    model.get_layer("stem").trainable = False
    initial = record_trainable(model)
    a, b, c = acnn_phases(("A", "B", "C"), (1e-3,) * 3, (1, 1, 1))
    in_a = {v.path for v in apply_phase(model, a, initial)}
    assert model.force_masks
    in_b = {v.path for v in apply_phase(model, b, initial)}
    assert not model.force_masks
    in_c = {v.path for v in apply_phase(model, c, initial)}
    assert in_b == attention
    assert not in_a & attention and in_a
    assert in_c == in_a | in_b
    assert not any(v.path.startswith("stem/") for v in model.trainable_variables)


def test_phase_errors_on_model_without_masks():
    model = kerashg.StackedHourglass(
        num_stacks=1, num_keypoints=K, filters=8, depth=1, input_shape=(SIZE, SIZE, 3)
    )
    initial = record_trainable(model)
    with pytest.raises(ValueError, match="no trainable variable"):
        apply_phase(model, Phase("B", "attention", 1e-3, 1), initial)
    with pytest.raises(ValueError, match="no attention masks"):
        apply_phase(model, Phase("A", "pose", 1e-3, 1, True), initial)
    assert len(apply_phase(model, joint_phase(1e-3, 1)[0], initial)) == len(
        model.trainable_variables
    )


@pytest.mark.slow
def test_frozen_weights_bit_identical_and_trained_weights_move(tmp_path):
    model = tiny_acnn()
    groups = layer_groups(model)
    a, b, _ = acnn_phases(("A", "B", "C"), (1e-2,) * 3, (1, 1, 1))

    # Phase A: the attention layers (weights and BatchNorm statistics) do not move.
    before_pose, before_attention = snapshot(groups["pose"]), snapshot(groups["attention"])
    run(model, [a], tmp_path / "a")
    assert model.force_masks
    after_pose, after_attention = snapshot(groups["pose"]), snapshot(groups["attention"])
    for path, value in before_attention.items():
        np.testing.assert_array_equal(after_attention[path], value, err_msg=path)
    moved = [p for p in before_pose if not np.array_equal(after_pose[p], before_pose[p])]
    trainable_pose = {v.path for layer in groups["pose"] for v in layer.trainable_weights}
    assert trainable_pose <= set(moved)
    # A frozen layer's BatchNorm runs in inference mode; a trained one updates
    # its moving statistics.
    assert any("moving_mean" in p for p in moved)

    # Phase B: the pose network is frozen, the attention layers train (the
    # last stage's mask enters no prediction, so only stack0_attention moves).
    run(model, [b], tmp_path / "b")
    assert not model.force_masks
    final_pose, final_attention = snapshot(groups["pose"]), snapshot(groups["attention"])
    for path, value in after_pose.items():
        np.testing.assert_array_equal(final_pose[path], value, err_msg=path)
    stack0 = [p for p in after_attention if p.startswith("stack0_attention/")]
    assert stack0 and all(
        not np.array_equal(final_attention[p], after_attention[p]) for p in stack0
    )
    # The model is trainable again after fit: phases leave no frozen layer behind.
    assert len(model.trainable_variables) == len(model.trainable_weights) > 0
    assert all(layer.trainable for layer in model.layers)
