"""Optimizers of the training runs that Keras does not have as such.

`TorchRMSprop` is Torch7's `optim.rmsprop`, the optimizer of the original
Stacked Hourglass code (princeton-vl/pose-hg-train, `-optMethod rmsprop`,
alpha 0.99, epsilon 1e-8) and of the ACNN paper's recipe.
"""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kerashg")
class TorchRMSprop(keras.optimizers.Optimizer):
    """RMSprop with Torch7's update (`optim.rmsprop`, torch/optim rmsprop.lua).

    For each variable x with gradient g, from a mean square m that starts at 0:

        m ← α·m + (1 − α)·g²
        x ← x − lr·g / (√m + ε)

    Keras' `RMSprop` divides by `√(m + ε)` instead: for gradients near √ε or
    below (1e-4 with ε = 1e-8) its steps are much smaller than Torch's, e.g.
    for g = 1e-6 at the first step Torch moves x by ~9·lr and Keras by
    ~0.01·lr.

    It is an ordinary Keras 3 optimizer: it works under `tf.distribute`
    strategies, inside `keras.optimizers.LossScaleOptimizer`, and saves with
    its slots in checkpoints.

    Args:
        learning_rate: float, schedule or callable. Default 1e-2 (Torch's).
        alpha: float in [0, 1), smoothing constant of the mean square.
            Default 0.99.
        epsilon: float >= 0, added to √m. Default 1e-8.
        name: str. Default "torch_rmsprop".
        **kwargs: base `keras.optimizers.Optimizer` arguments (`weight_decay`,
            `clipnorm`, `global_clipnorm`, ...).
    """

    def __init__(
        self, learning_rate=1e-2, alpha=0.99, epsilon=1e-8, name="torch_rmsprop", **kwargs
    ):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"`alpha` must be in [0, 1). Received: alpha={alpha}")
        if not epsilon >= 0.0:
            raise ValueError(f"`epsilon` must be >= 0. Received: epsilon={epsilon}")
        self.alpha = float(alpha)
        self.epsilon = float(epsilon)

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._mean_squares = self.add_optimizer_variables(var_list, "mean_square")

    def update_step(self, gradient, variable, learning_rate):
        """One Torch RMSprop step of `variable` (see the class docstring)."""
        lr = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        mean_square = self._mean_squares[self._get_variable_index(variable)]
        self.assign(
            mean_square,
            ops.add(
                ops.multiply(self.alpha, mean_square),
                ops.multiply(1.0 - self.alpha, ops.square(gradient)),
            ),
        )
        denominator = ops.add(ops.sqrt(mean_square), self.epsilon)
        self.assign_sub(variable, ops.divide(ops.multiply(lr, gradient), denominator))

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": self.alpha, "epsilon": self.epsilon})
        return config
