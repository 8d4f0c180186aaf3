"""Pre-activation bottleneck residual block of the Stacked Hourglass."""

import keras
from keras import ops

from kerashg.layers._utils import batch_norm, check_positive_int
from kerashg.layers.initializers import build_conv, conv2d, serialize_initializer


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
        kernel_initializer: initializer of the convolution kernels: "torch"
            (`TorchUniform`, Torch7's U(±1/√fan_in)) or any Keras identifier.
            Default "glorot_uniform" (Keras').
        bias_initializer: initializer of the convolution biases: "torch" (the
            same range as the kernel, from the convolution's fan-in) or any
            Keras identifier. Default "zeros".
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Shapes:
        input `(B, H, W, C_in)` → output `(B, H, W, filters)`.
    """

    def __init__(
        self, filters, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        check_positive_int(filters, "filters", minimum=2)
        self.filters = filters
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        bottleneck = filters // 2
        policy = self.dtype_policy

        def conv(channels, size, name, **options):
            return conv2d(
                channels,
                size,
                kernel_initializer,
                bias_initializer,
                name=name,
                dtype=policy,
                **options,
            )

        self.bn1 = batch_norm("bn1", policy)
        self.conv1 = conv(bottleneck, 1, "conv1")
        self.bn2 = batch_norm("bn2", policy)
        self.conv2 = conv(bottleneck, 3, "conv2", padding="same")
        self.bn3 = batch_norm("bn3", policy)
        self.conv3 = conv(filters, 1, "conv3")
        self.skip = conv(filters, 1, "skip")
        self.use_skip_conv = None

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        bottleneck_shape = input_shape[:-1] + (self.filters // 2,)
        self.bn1.build(input_shape)
        build_conv(self.conv1, input_shape)
        self.bn2.build(bottleneck_shape)
        build_conv(self.conv2, bottleneck_shape)
        self.bn3.build(bottleneck_shape)
        build_conv(self.conv3, bottleneck_shape)
        self.use_skip_conv = input_shape[-1] != self.filters
        if self.use_skip_conv:
            build_conv(self.skip, input_shape)

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
        config.update(
            {
                "filters": self.filters,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
            }
        )
        return config
