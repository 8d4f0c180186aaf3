"""Per-stack output head: features for the next stack and the stage's heatmaps."""

import keras
from keras import ops

from kerashg.layers._utils import (
    batch_norm,
    check_positive_int,
    compute_dtype_of,
    serialize_dtype,
)
from kerashg.layers.initializers import build_conv, conv2d, serialize_initializer
from kerashg.layers.residual import Residual


@keras.saving.register_keras_serializable(package="kerashg")
class StackHead(keras.layers.Layer):
    """Residual block(s), 1×1 conv-BN-ReLU, then a 1×1 conv to one heatmap per
    keypoint (the intermediate supervision of Newell et al. 2016, fig. 4 right).

    The heatmap convolution runs in `head_dtype` (float32 by default) so the
    heatmaps, and the loss computed on them, stay float32 under mixed precision.

    Args:
        filters: int >= 2, feature channels.
        num_keypoints: int >= 1, heatmap channels `K`.
        num_residuals: int >= 1, residual blocks before the 1×1 convolution.
        head_dtype: dtype policy of the heatmap convolution. Default "float32".
        kernel_initializer: initializer of every convolution kernel: "torch"
            (`TorchUniform`, Torch7's U(±1/√fan_in)) or a Keras identifier.
            Default "glorot_uniform".
        bias_initializer: initializer of every convolution bias: "torch" (the
            kernel's range, from the convolution's fan-in) or a Keras
            identifier. Default "zeros".
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        input `(B, h, w, C)` → `(features (B, h, w, filters),
        heatmaps (B, h, w, K) in head_dtype)`.
    """

    def __init__(
        self,
        filters,
        num_keypoints,
        num_residuals=1,
        head_dtype="float32",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(filters, "filters", minimum=2)
        check_positive_int(num_keypoints, "num_keypoints")
        check_positive_int(num_residuals, "num_residuals")
        self.filters = filters
        self.num_keypoints = num_keypoints
        self.num_residuals = num_residuals
        self.head_dtype = head_dtype
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        init = dict(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        policy = self.dtype_policy
        self.residuals = [
            Residual(filters, name=f"residual_{i}", dtype=policy, **init)
            for i in range(num_residuals)
        ]
        self.conv = conv2d(filters, 1, name="conv", dtype=policy, **init)
        self.bn = batch_norm("bn", policy)
        self.heatmap_conv = conv2d(num_keypoints, 1, name="heatmap_conv", dtype=head_dtype, **init)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        shape = input_shape[:-1] + (self.filters,)
        for i, residual in enumerate(self.residuals):
            residual.build(input_shape if i == 0 else shape)
        build_conv(self.conv, shape if self.residuals else input_shape)
        self.bn.build(shape)
        build_conv(self.heatmap_conv, shape)

    def call(self, inputs, training=None):
        x = inputs
        for residual in self.residuals:
            x = residual(x, training=training)
        features = ops.relu(self.bn(self.conv(x), training=training))
        return features, self.heatmap_conv(features)

    def compute_output_shape(self, input_shape):
        prefix = tuple(input_shape[:-1])
        return prefix + (self.filters,), prefix + (self.num_keypoints,)

    def compute_output_spec(self, inputs, training=None):
        features_shape, heatmaps_shape = self.compute_output_shape(inputs.shape)
        return (
            keras.KerasTensor(features_shape, dtype=self.compute_dtype),
            keras.KerasTensor(heatmaps_shape, dtype=compute_dtype_of(self.head_dtype)),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "num_keypoints": self.num_keypoints,
                "num_residuals": self.num_residuals,
                "head_dtype": serialize_dtype(self.head_dtype),
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
            }
        )
        return config
