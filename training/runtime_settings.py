"""The process-wide TensorFlow and Keras settings of a training run, undone on exit.

`training.train.train` changes state that outlives it: Keras' global dtype
policy, TensorFlow's op determinism and Grappler's graph optimisation.
`runtime_settings` applies them for the run and restores what was there before,
so a later model built in the same process (a test, a notebook, a second run)
sees the settings it had.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import keras
import tensorflow as tf

# `disable_op_determinism` and `is_op_determinism_enabled` are not in TensorFlow's
# public API (only `tf.config.experimental.enable_op_determinism` is).
from tensorflow.python.framework import config as tf_framework_config

# Grappler's switch in `tf.config.optimizer`'s experimental options.
_META_OPTIMIZER = "disable_meta_optimizer"


@contextlib.contextmanager
def runtime_settings(
    *, policy: str, deterministic: bool = False, graph_optimization: bool = True
) -> Iterator[None]:
    """Applies a run's process-wide settings; restores the previous ones on exit.

    Args:
        policy: Keras dtype policy name set as the global policy, e.g.
            "mixed_bfloat16" (`training.config.resolve_precision`).
        deterministic: enable TensorFlow's op determinism (left as it was when False).
        graph_optimization: False switches Grappler's meta-optimizer off (left as
            it was when True). Measured on a 2-core CPU (4-stack ACNN, 64×64):
            Grappler's rewrites make the first call of each phase's step ~3×
            slower (60 s vs 21 s) and the steps no faster.
    """
    previous_policy = keras.mixed_precision.global_policy()
    was_deterministic = tf_framework_config.is_op_determinism_enabled()
    previous_options = tf.config.optimizer.get_experimental_options()
    try:
        if deterministic:
            tf.config.experimental.enable_op_determinism()
        if not graph_optimization:
            tf.config.optimizer.set_experimental_options({_META_OPTIMIZER: True})
        keras.mixed_precision.set_global_policy(policy)
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)
        if deterministic and not was_deterministic:
            tf_framework_config.disable_op_determinism()
        if not graph_optimization:
            tf.config.optimizer.set_experimental_options(
                {_META_OPTIMIZER: previous_options.get(_META_OPTIMIZER, False)}
            )
