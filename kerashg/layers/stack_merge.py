"""Merge of one stack's outputs into the next stack's input."""

import keras
from keras import ops

from kerashg.layers._utils import check_positive_int
from kerashg.layers.initializers import build_conv, conv2d, serialize_initializer


@keras.saving.register_keras_serializable(package="kerashg")
class StackMerge(keras.layers.Layer):
    """Next stack's input: `x + conv1x1(features) + conv1x1(heatmaps)`
    (Newell et al. 2016, fig. 4 right), optionally gated by an attention mask.

    With a fourth input `mask` (ACNN, Sun et al. 2018, eq. 1) the sum is
    multiplied by the mask, broadcast over channels: stage i + 1 only sees the
    regions stage i attends to.

    Args:
        filters: int >= 2, channels of `x` and of the output.
        kernel_initializer: initializer of every convolution kernel: "torch"
            (`TorchUniform`, Torch7's U(±1/√fan_in)) or a Keras identifier.
            Default "glorot_uniform".
        bias_initializer: initializer of every convolution bias: "torch" (the
            kernel's range, from the convolution's fan-in) or a Keras
            identifier. Default "zeros".
        **kwargs: base `keras.layers.Layer` arguments.

    Call args:
        inputs: list `[x (B, h, w, filters), features (B, h, w, filters),
            heatmaps (B, h, w, K)]`, plus `mask (B, h, w, 1)` for ACNN.

    Shapes:
        output `(B, h, w, filters)` in the layer's compute dtype.
    """

    def __init__(
        self, filters, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs
    ):
        super().__init__(**kwargs)
        check_positive_int(filters, "filters", minimum=2)
        self.filters = filters
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        init = dict(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        policy = self.dtype_policy
        self.features_conv = conv2d(filters, 1, name="features_conv", dtype=policy, **init)
        self.heatmaps_conv = conv2d(filters, 1, name="heatmaps_conv", dtype=policy, **init)

    def build(self, input_shape):
        if len(input_shape) not in (3, 4):
            raise ValueError(
                "StackMerge expects [x, features, heatmaps] or [x, features, heatmaps, "
                f"mask]. Received: {len(input_shape)} inputs"
            )
        build_conv(self.features_conv, tuple(input_shape[1]))
        build_conv(self.heatmaps_conv, tuple(input_shape[2]))

    def call(self, inputs):
        x, features, heatmaps = inputs[:3]
        merged = ops.add(ops.add(x, self.features_conv(features)), self.heatmaps_conv(heatmaps))
        if len(inputs) == 4:
            merged = ops.multiply(merged, ops.cast(inputs[3], merged.dtype))
        return merged

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0][:-1]) + (self.filters,)

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
