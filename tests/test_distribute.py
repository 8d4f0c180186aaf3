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

The same script runs as two worker processes of a `MultiWorkerMirroredStrategy`
cluster on 127.0.0.1 (`--strategy multi_worker`, one CPU replica each, their own
TF_CONFIG): both must end with one device's weights.

Logical devices (and a multi-worker strategy's collective ops) must be
configured before TensorFlow initialises, hence the subprocesses.
"""

import json
import os
import pathlib
import socket
import subprocess
import sys
import time
import types

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys, tempfile
import tensorflow as tf
from training.distribution import make_strategy
from training.loop import Trainer
MODE, OUT = sys.argv[1], sys.argv[2]
if MODE == "multi_worker":
    # This process is one worker of TF_CONFIG's cluster. As in training.train,
    # the strategy comes before any tensor (collective ops are configured at startup).
    distributed = make_strategy("multi_worker")
else:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    distributed = make_strategy("mirrored")
# As training.train on a CPU: no Grappler (each step function traces ~3x faster).
tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
import keras
import numpy as np
import kerashg
from training.phases import acnn_phases

SIZE, K, GLOBAL = 32, 4, 8
# Mirrored: 6 epochs of 1 step; multi-worker: fewer, costlier distributed
# datasets (one per epoch), and a step within an epoch.
EPOCHS, STEPS = (6, 1) if MODE == "mirrored" else (2, 2)
rng = np.random.default_rng(0)
IMAGES = rng.random((64, SIZE, SIZE, 3), dtype=np.float32)
HEATMAPS = rng.random((64, SIZE // 4, SIZE // 4, K), dtype=np.float32)
WEIGHTS = (rng.random((64, K)) > 0.2).astype(np.float32)

def data(epoch, skip, context):
    per_replica = context.get_per_replica_batch_size(GLOBAL)
    ds = tf.data.Dataset.from_tensor_slices((IMAGES, {"heatmaps": HEATMAPS, "weights": WEIGHTS}))
    # Pipeline i of n keeps every n-th per-replica batch: with one replica per
    # pipeline, the n workers' batches of a step are one-device's global batch.
    ds = ds.skip(epoch * STEPS * GLOBAL).batch(per_replica, drop_remainder=True)
    return ds.shard(context.num_input_pipelines, context.input_pipeline_id).skip(skip)

keras.utils.set_random_seed(1)
INITIAL = kerashg.ACNN(num_stacks=2, num_keypoints=K, filters=8, depth=1, input_shape=(SIZE, SIZE, 3)).get_weights()

def run(strategy, freeze_bn, out_dir=None):
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
    trainer = Trainer(model, optimizer, acnn_phases(("C",), (2e-3,), (EPOCHS,)), strategy=strategy,
                      train_data=data, global_batch_size=GLOBAL, steps_per_epoch=STEPS,
                      out_dir=out_dir or tempfile.mkdtemp(), tensorboard=False, verbose=0)
    history = trainer.fit()
    return [h["loss"] for h in history], [w.tolist() for w in model.get_weights()]

one = make_strategy("one_device")
result = {"replicas": distributed.num_replicas_in_sync}
result["two"] = run(distributed, True, OUT)
# Every worker runs the reference too: its process is already up, and the
# workers then exit together (one that exits early is reported unhealthy).
result["one"] = run(one, True)
if MODE == "mirrored":
    result["one_bn"] = run(one, False)
    result["two_bn"] = run(distributed, False)
print(json.dumps(result))
"""


def _launch(mode, out_dir, tmp_path, tf_configs, timeout):
    """Runs SCRIPT in one process per TF_CONFIG (None: no cluster); returns their results.

    Every process is killed when one fails or the time is up, so a worker left
    waiting for a dead peer's collective never hangs the test run.
    """
    procs, logs = [], []
    try:
        for i, tf_config in enumerate(tf_configs):
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
            env.pop("TF_CONFIG", None)
            if tf_config is not None:
                env["TF_CONFIG"] = json.dumps(tf_config)
            # Files, not pipes: a full pipe would block a worker mid-step.
            stdout, stderr = (open(tmp_path / f"{mode}-{i}.{n}", "w+") for n in ("out", "err"))
            logs.append((stdout, stderr))
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-c", SCRIPT, mode, str(out_dir)],
                    cwd=ROOT,
                    env=env,
                    stdout=stdout,
                    stderr=stderr,
                    text=True,
                )
            )
        deadline = time.monotonic() + timeout
        while any(p.poll() is None for p in procs):
            failed = [i for i, p in enumerate(procs) if p.returncode not in (None, 0)]
            if failed or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
    outputs = []
    for stdout, stderr in logs:
        stdout.seek(0)
        stderr.seek(0)
        outputs.append((stdout.read(), stderr.read()))
        stdout.close()
        stderr.close()
    for i, (p, (_, err)) in enumerate(zip(procs, outputs, strict=True)):
        assert p.returncode == 0, (
            f"{mode} process {i}: exit code {p.returncode} (-9: killed after a peer failed "
            f"or at the {timeout} s timeout)\n{err[-3000:]}"
        )
    return [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]


def _assert_matches_one_device(one, distributed, epochs):
    """The same loss curve and weights, to float tolerance, as one device."""
    losses_one, weights_one = one
    losses_two, weights_two = distributed
    assert len(losses_one) == epochs and losses_one[0] != losses_one[-1]
    np.testing.assert_allclose(losses_two, losses_one, rtol=1e-5)
    for a, b in zip(weights_one, weights_two, strict=True):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-4, atol=1e-6)


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.mark.slow
def test_mirrored_two_cpus_matches_one_device(tmp_path):
    (result,) = _launch("mirrored", tmp_path / "out", tmp_path, [None], timeout=900)
    assert result["replicas"] == 2
    _assert_matches_one_device(result["one"], result["two"], epochs=6)

    # BatchNorm in training mode: per-replica statistics, so not identical,
    # but it trains under MirroredStrategy and stays close to one device.
    bn_one, bn_two = result["one_bn"][0], result["two_bn"][0]
    assert np.isfinite(bn_two).all()
    assert bn_two[0] == pytest.approx(bn_one[0], rel=0.2)


@pytest.mark.slow
def test_multi_worker_two_processes_match_one_device(tmp_path):
    """`--strategy multi_worker`: two worker processes on 127.0.0.1, one CPU replica each.

    Each has its own TF_CONFIG; `make_strategy("multi_worker")` and the Trainer
    run as in training.train, with the data split by the Trainer's input
    context (worker i keeps pipeline i's per-replica batches). Both workers end
    with one-device's weights for the same global batch; the chief (worker 0)
    writes its checkpoints to the shared output folder, worker 1 to `worker-1/`.
    """
    out = tmp_path / "out"
    addresses = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    configs = [
        {"cluster": {"worker": addresses}, "task": {"type": "worker", "index": i}} for i in range(2)
    ]
    chief, worker = _launch("multi_worker", out, tmp_path, configs, timeout=600)
    assert chief["replicas"] == worker["replicas"] == 2
    _assert_matches_one_device(chief["one"], chief["two"], epochs=2)
    _assert_matches_one_device(chief["one"], worker["two"], epochs=2)
    _assert_matches_one_device(chief["one"], worker["one"], epochs=2)
    names = {p.name for p in out.iterdir()}
    assert {"ckpt", "worker-1"} <= names <= {"ckpt", "best", "worker-1"}
    assert (out / "ckpt" / "checkpoint").is_file()
    assert (out / "worker-1" / "ckpt" / "checkpoint").is_file()


def test_worker_out_dir_keeps_the_chiefs_folder_to_the_chief(tmp_path):
    import tensorflow as tf

    from training.distribution import worker_out_dir

    def strategy(cluster, task_type, index):
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster), task_type=task_type, task_id=index
        )
        return types.SimpleNamespace(cluster_resolver=resolver)

    workers = {"worker": ["a:1", "b:1"]}
    assert worker_out_dir(strategy(workers, "worker", 0), tmp_path) == tmp_path
    assert worker_out_dir(strategy(workers, "worker", 1), tmp_path) == tmp_path / "worker-1"
    with_chief = {"chief": ["c:1"], **workers}
    assert worker_out_dir(strategy(with_chief, "chief", 0), tmp_path) == tmp_path
    assert worker_out_dir(strategy(with_chief, "worker", 0), tmp_path) == tmp_path / "worker-0"
    # One device and Mirrored: no cluster, one process.
    assert worker_out_dir(types.SimpleNamespace(), tmp_path) == tmp_path
