"""MirroredStrategy on two logical CPUs trains like one device with the same global batch.

Design of the comparison. One device with global batch B and two replicas with
B/2 each see the same images and, with the loss averaged over the *global*
batch (`tf.nn.compute_average_loss`) and the gradients summed over replicas,
take the same optimizer step — except for BatchNormalization in training
mode, which normalises each replica's half with its own statistics (per-replica
batch statistics, not SyncBatchNorm). That difference is real, not a bug, so
the exact comparison freezes every BatchNormalization layer (inference mode,
moving statistics; every other weight trains, in the joint phase C) and
asserts equal loss curves and weights to float tolerance. A second run with
BatchNorm in training mode checks that it trains under MirroredStrategy (BN
moving statistics are updated in replica context) and stays close.

Logical devices must be configured before TensorFlow initialises, hence the
subprocess.
"""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys, tempfile
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import numpy as np
import kerashg
from training.loop import Trainer, make_strategy
from training.phases import acnn_phases

SIZE, K, GLOBAL = 32, 4, 8
rng = np.random.default_rng(0)
IMAGES = rng.random((64, SIZE, SIZE, 3), dtype=np.float32)
HEATMAPS = rng.random((64, SIZE // 4, SIZE // 4, K), dtype=np.float32)
WEIGHTS = (rng.random((64, K)) > 0.2).astype(np.float32)

def data(epoch, skip, context):
    per_replica = context.get_per_replica_batch_size(GLOBAL)
    ds = tf.data.Dataset.from_tensor_slices((IMAGES, {"heatmaps": HEATMAPS, "weights": WEIGHTS}))
    ds = ds.skip(epoch * GLOBAL).batch(per_replica, drop_remainder=True)
    return ds.shard(context.num_input_pipelines, context.input_pipeline_id).skip(skip)

keras.utils.set_random_seed(1)
INITIAL = kerashg.ACNN(num_stacks=2, num_keypoints=K, filters=8, depth=1, input_shape=(SIZE, SIZE, 3)).get_weights()

def run(strategy, freeze_bn):
    with strategy.scope():
        model = kerashg.ACNN(num_stacks=2, num_keypoints=K, filters=8, depth=1, input_shape=(SIZE, SIZE, 3))
        model.set_weights(INITIAL)
        if freeze_bn:
            for layer in model._flatten_layers():
                if isinstance(layer, keras.layers.BatchNormalization):
                    layer.trainable = False
        # Plain SGD: its step is linear in the gradient, so a wrong reduction
        # (not summed over replicas, or averaged twice) changes the weights by
        # a factor, while RMSprop/Adam would normalise it away and amplify
        # float rounding where a gradient is near zero.
        optimizer = keras.optimizers.SGD(2e-3)
    trainer = Trainer(model, optimizer, acnn_phases(("C",), (2e-3,), (6,)), strategy=strategy,
                      train_data=data, global_batch_size=GLOBAL, steps_per_epoch=1,
                      out_dir=tempfile.mkdtemp(), tensorboard=False, verbose=0)
    history = trainer.fit()
    return [h["loss"] for h in history], [w.tolist() for w in model.get_weights()]

one = make_strategy("one_device")
two = make_strategy("mirrored")
result = {"replicas": two.num_replicas_in_sync}
result["one"] = run(one, True)
result["two"] = run(two, True)
result["one_bn"] = run(one, False)
result["two_bn"] = run(two, False)
json.dump(result, sys.stdout)
"""


@pytest.mark.slow
def test_mirrored_two_cpus_matches_one_device():
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2

    losses_one, weights_one = result["one"]
    losses_two, weights_two = result["two"]
    assert len(losses_one) == 6 and losses_one[0] != losses_one[-1]
    np.testing.assert_allclose(losses_two, losses_one, rtol=1e-5)
    for a, b in zip(weights_one, weights_two, strict=True):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-6)

    # BatchNorm in training mode: per-replica statistics, so not identical,
    # but it trains under MirroredStrategy and stays close to one device.
    bn_one, bn_two = result["one_bn"][0], result["two_bn"][0]
    assert np.isfinite(bn_two).all()
    assert bn_two[0] == pytest.approx(bn_one[0], rel=0.2)
