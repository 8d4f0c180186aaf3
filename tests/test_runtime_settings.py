"""A training run's process-wide settings are undone when it ends (`training.runtime_settings`)."""

import keras
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_framework_config

from training.runtime_settings import runtime_settings


def _state():
    return (
        keras.mixed_precision.global_policy().name,
        tf_framework_config.is_op_determinism_enabled(),
        bool(tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer")),
    )


def test_settings_apply_inside_and_are_restored_after_a_run_and_an_error():
    before = _state()
    with runtime_settings(policy="mixed_bfloat16", deterministic=True, graph_optimization=False):
        assert _state() == ("mixed_bfloat16", True, True)
        # A layer built in the run takes the run's policy.
        assert keras.layers.Dense(2).dtype_policy.name == "mixed_bfloat16"
    assert _state() == before
    with pytest.raises(RuntimeError, match="stop"):
        with runtime_settings(policy="mixed_float16", deterministic=True, graph_optimization=False):
            raise RuntimeError("stop")
    assert _state() == before
    assert keras.layers.Dense(2).dtype_policy.name == before[0]


def test_settings_left_alone_stay_as_they_were():
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        with runtime_settings(policy="float32", graph_optimization=True):
            assert _state()[2] is True
        assert _state()[2] is True
        with runtime_settings(policy="float32", graph_optimization=False):
            pass
        assert _state()[2] is True
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": False})
