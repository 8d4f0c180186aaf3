"""The tf.distribute strategy of a run, and which process writes where."""

from __future__ import annotations

import json
import os
import pathlib

import tensorflow as tf

from training.config import STRATEGIES


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return resolver.task_type in ("chief", None) or (
        resolver.task_type == "worker"
        and resolver.task_id == 0
        and "chief" not in resolver.cluster_spec().as_dict()
    )


def task_id(strategy: tf.distribute.Strategy) -> int:
    resolver = getattr(strategy, "cluster_resolver", None)
    return int(resolver.task_id) if resolver is not None and resolver.task_id is not None else 0


def worker_out_dir(strategy: tf.distribute.Strategy, out_dir: str | pathlib.Path) -> pathlib.Path:
    """Where this process writes its outputs (its checkpoints are in the same place).

    `out_dir` for the chief (worker 0 of a multi-worker cluster, or the only
    process of any other strategy); `out_dir/worker-<i>` for another worker,
    which must still save (saving can take part in collectives) but not over
    the chief's files when the folder is shared.
    """
    out_dir = pathlib.Path(out_dir)
    return out_dir if is_chief(strategy) else out_dir / f"worker-{task_id(strategy)}"


def make_strategy(name: str) -> tf.distribute.Strategy:
    """A tf.distribute strategy by name.

    Args:
        name: "auto" (MultiWorkerMirrored when TF_CONFIG is set, Mirrored with
            several GPUs, else one device), "one_device", "mirrored" (all local
            GPUs, or all logical CPUs when there is no GPU) or "multi_worker"
            (cluster from TF_CONFIG).
    """
    if name == "auto" and os.environ.get("TF_CONFIG"):
        if json.loads(os.environ["TF_CONFIG"]).get("cluster"):
            name = "multi_worker"
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError(
                "--strategy multi_worker needs the TF_CONFIG environment variable (cluster spec)"
            )
        # Before anything that initialises TensorFlow's context (listing logical
        # devices, creating a tensor): collective ops can only be configured at
        # program startup, else "Collective ops must be configured at program startup".
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one_device"
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    raise ValueError(f"strategy must be one of {STRATEGIES}. Received: strategy={name!r}")
