"""Pre-activation bottleneck residual block of the Stacked Hourglass."""

import keras
from keras import ops

from kerashg.layers._utils import batch_norm, check_positive_int


@keras.saving.register_keras_serializable(package="kerashg")
class Residual(keras.layers.Layer):
    """Pre-activation bottleneck residual block (Newell et al. 2016, fig. 4 left).

    `y = conv1x1(relu(bn(conv3x3(relu(bn(conv1x1(relu(bn(x)))))))) + skip(x)`,
    with the bottleneck at `filters // 2` channels. `skip` is the identity when
    the input already has `filters` channels and a 1×1 convolution otherwise
    (it is created in `__init__` but only built, and so only holds weights,
    when the channel counts differ).

    Convolutions keep their bias, as in the reference implementation, so that
    parameter counts and ported weights match it.

    Args:
        filters: int, number of output channels `C_out` (>= 2).
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Shapes:
        input `(B, H, W, C_in)` → output `(B, H, W, filters)`.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        check_positive_int(filters, "filters", minimum=2)
        self.filters = filters
        bottleneck = filters // 2
        policy = self.dtype_policy
        self.bn1 = batch_norm("bn1", policy)
        self.conv1 = keras.layers.Conv2D(bottleneck, 1, name="conv1", dtype=policy)
        self.bn2 = batch_norm("bn2", policy)
        self.conv2 = keras.layers.Conv2D(bottleneck, 3, padding="same", name="conv2", dtype=policy)
        self.bn3 = batch_norm("bn3", policy)
        self.conv3 = keras.layers.Conv2D(filters, 1, name="conv3", dtype=policy)
        self.skip = keras.layers.Conv2D(filters, 1, name="skip", dtype=policy)
        self.use_skip_conv = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        bottleneck_shape = input_shape[:-1] + (self.filters // 2,)
        self.bn1.build(input_shape)
        self.conv1.build(input_shape)
        self.bn2.build(bottleneck_shape)
        self.conv2.build(bottleneck_shape)
        self.bn3.build(bottleneck_shape)
        self.conv3.build(bottleneck_shape)
        self.use_skip_conv = input_shape[-1] != self.filters
        if self.use_skip_conv:
            self.skip.build(input_shape)

    def call(self, inputs, training=None):
        x = self.conv1(ops.relu(self.bn1(inputs, training=training)))
        x = self.conv2(ops.relu(self.bn2(x, training=training)))
        x = self.conv3(ops.relu(self.bn3(x, training=training)))
        shortcut = self.skip(inputs) if self.use_skip_conv else inputs
        return ops.add(x, shortcut)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters})
        return config
