"""TorchRMSprop against a NumPy transcription of Torch7's optim.rmsprop."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from training.optimizers import TorchRMSprop


def torch_rmsprop(x, gradients, lr, alpha=0.99, epsilon=1e-8):
    """torch/optim rmsprop.lua, line by line (m starts at 0, no weight decay)."""
    x, m = x.astype(np.float64).copy(), np.zeros_like(x, np.float64)
    for g in gradients:
        m = alpha * m + (1.0 - alpha) * g * g  # state.m:mul(alpha):addcmul(1-alpha, g, g)
        x = x - lr * g / (np.sqrt(m) + epsilon)  # x:addcdiv(-lr, g, sqrt(m) + eps)
    return x


def _gradients(rng, steps, scale):
    return [scale * rng.standard_normal(6).astype(np.float32) for _ in range(steps)]


def _run(optimizer, x0, gradients):
    variable = keras.Variable(x0)
    for g in gradients:
        optimizer.apply([tf.constant(g)], [variable])
    return variable.numpy()


@pytest.mark.parametrize("scale", [1.0, 1e-3, 1e-6])
def test_matches_torch_update_over_several_steps(scale):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(6).astype(np.float32)
    gradients = _gradients(rng, 5, scale)
    got = _run(TorchRMSprop(2.5e-4), x0, gradients)
    np.testing.assert_allclose(got, torch_rmsprop(x0, gradients, 2.5e-4), rtol=0, atol=1e-6)


def test_tiny_gradients_differ_from_keras_rmsprop():
    """Keras divides by √(m + ε): for g = 1e-6 its step is ~900× smaller."""
    x0 = np.zeros(6, np.float32)
    gradients = [np.full(6, 1e-6, np.float32)]
    torch_step = -_run(TorchRMSprop(1e-3), x0, gradients)
    keras_step = -_run(keras.optimizers.RMSprop(1e-3, rho=0.99, epsilon=1e-8), x0, gradients)
    # Torch: 1e-3 · 1e-6 / (1e-7 + 1e-8) ≈ 9.09e-3; Keras: ≈ 1e-3 · 1e-6 / 1e-4 = 1e-5.
    np.testing.assert_allclose(torch_step, 1e-3 / 0.11, rtol=1e-4)
    assert np.all(keras_step < 2e-5)


def test_config_round_trip_and_bad_arguments():
    optimizer = TorchRMSprop(5e-4, alpha=0.9, epsilon=1e-6)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(again, TorchRMSprop)
    assert (again.alpha, again.epsilon) == (0.9, 1e-6)
    assert float(again.learning_rate) == pytest.approx(5e-4)
    with pytest.raises(ValueError, match="alpha=1.0"):
        TorchRMSprop(alpha=1.0)


def test_under_loss_scaling_and_a_distribution_strategy():
    """Inside LossScaleOptimizer and MirroredStrategy the update is Torch's."""
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal(6).astype(np.float32)
    target = rng.standard_normal(6).astype(np.float32)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        variable = keras.Variable(x0)
        optimizer = keras.optimizers.LossScaleOptimizer(TorchRMSprop(1e-2), initial_scale=1024.0)
        optimizer.build([variable])

    @tf.function
    def step():
        def replica():
            with tf.GradientTape() as tape:
                loss = 0.5 * tf.reduce_sum(tf.square(variable - target))
                scaled = optimizer.scale_loss(loss)
            optimizer.apply([tape.gradient(scaled, variable)], [variable])

        strategy.run(replica)

    expected, x = [], x0.astype(np.float64)
    for _ in range(3):
        step()
        expected.append(x - target)  # the gradient at the current point
        x = torch_rmsprop(x0, expected, 1e-2)
    np.testing.assert_allclose(variable.numpy(), x, rtol=0, atol=1e-5)
