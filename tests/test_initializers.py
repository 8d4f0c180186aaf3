"""Torch7's initialisation (`"torch"`) of the models' convolutions."""

import math

import keras
import numpy as np
import pytest

import kerashg
from kerashg.layers import Residual
from kerashg.layers.initializers import TorchUniform

TINY = dict(num_stacks=2, depth=2, filters=16, input_shape=(64, 64, 3), stem_filters=(8, 16))


def _conv(model, *path):
    layer = model.get_layer(path[0])
    for name in path[1:]:
        layer = getattr(layer, name)
    return layer


def test_kernel_and_bias_follow_torch_spatial_convolution_reset():
    """U(±1/√fan_in) for weights and biases: std 1/√(3 fan_in), fan_in of the conv."""
    keras.utils.set_random_seed(0)
    layer = Residual(128, kernel_initializer="torch", bias_initializer="torch")
    layer.build((None, 8, 8, 128))
    conv = layer.conv2  # 3×3, 64 → 64: fan_in = 576, 36,864 weights
    fan_in = 3 * 3 * 64
    kernel = conv.kernel.numpy()
    assert kernel.std() == pytest.approx(1.0 / math.sqrt(3 * fan_in), rel=0.02)
    assert np.abs(kernel).max() <= 1.0 / math.sqrt(fan_in)
    # The bias takes its convolution's fan-in, not its own length (64).
    for conv, fan_in in ((layer.conv1, 128), (layer.conv2, 576), (layer.conv3, 64)):
        bias = conv.bias.numpy()
        assert np.abs(bias).max() <= 1.0 / math.sqrt(fan_in)
        assert bias.std() > 0.5 / math.sqrt(3 * fan_in)


def test_default_is_unchanged_glorot_and_zero_bias():
    model = kerashg.StackedHourglass(**TINY)
    conv = _conv(model, "stack0_head", "conv")
    assert isinstance(conv.kernel_initializer, keras.initializers.GlorotUniform)
    np.testing.assert_array_equal(conv.bias.numpy(), 0.0)


@pytest.mark.parametrize("cls", [kerashg.StackedHourglass, kerashg.ACNN])
def test_torch_init_config_round_trip_and_keras_file(cls, tmp_path):
    keras.utils.set_random_seed(1)
    model = cls(kernel_initializer="torch", bias_initializer="torch", **TINY)
    config = model.get_config()
    assert (config["kernel_initializer"], config["bias_initializer"]) == ("torch", "torch")
    again = cls.from_config(config)
    assert again.kernel_initializer == "torch"
    stem = _conv(again, "stem", "conv")  # 7×7×3 = 147 inputs
    assert isinstance(stem.kernel_initializer, TorchUniform)
    assert np.abs(stem.bias.numpy()).max() <= 1.0 / math.sqrt(147)
    assert stem.bias.numpy().std() > 0.0
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.get_config()["kernel_initializer"] == "torch"
    images = np.random.default_rng(0).random((1, 64, 64, 3)).astype(np.float32)
    np.testing.assert_allclose(
        loaded(images)["heatmaps"].numpy(), model(images)["heatmaps"].numpy(), atol=1e-6
    )


def test_torch_uniform_config_and_bias_without_fan_in():
    init = keras.initializers.deserialize(keras.initializers.serialize(TorchUniform(fan_in=9)))
    assert isinstance(init, TorchUniform) and init.fan_in == 9
    assert np.abs(init((1000,)).numpy()).max() <= 1.0 / 3.0
    with pytest.raises(ValueError, match="fan_in"):
        TorchUniform()((16,))
