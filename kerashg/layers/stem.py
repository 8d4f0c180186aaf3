"""The Stacked Hourglass stem: full-resolution image to the first stack's input."""

import keras
from keras import ops

from kerashg.layers._utils import batch_norm, check_positive_int
from kerashg.layers.initializers import build_conv, conv2d, serialize_initializer
from kerashg.layers.residual import Residual

# Channel widths of the stem (7×7 convolution, residuals at half resolution), fixed
# in the paper (Newell et al. 2016, sec. 3.1) and in the reference implementation
# whatever the hourglass width. They are the default of `stem_filters`.
STEM_FILTERS = (64, 128)
STEM_CONV_KERNEL = 7
# The stem halves the resolution twice (stride-2 convolution, then max-pool).
STEM_STRIDE = 4


@keras.saving.register_keras_serializable(package="kerashg")
class Stem(keras.layers.Layer):
    """7×7/2 conv-BN-ReLU to 64 ch, residual to 128, 2×2 max-pool, residual 128,
    residual to `filters`: a 256×256 image becomes a 64×64 feature map.

    With narrow hourglasses (e.g. 64 filters) the paper's fixed 64/128-channel
    stem, which works at H/2 × W/2, costs most of the network's FLOPs;
    `stem_filters` makes those widths a setting (default: the paper's).

    The 7×7 convolution pads 3 pixels on every side, as the reference PyTorch
    implementation does (Keras' "same" would pad 2 before and 3 after), so
    ported weights give the same features.

    Args:
        filters: int >= 2, output channels (the hourglass width).
        stem_filters: (int, int), channels of the 7×7 convolution and of the
            half-resolution residuals. Default (64, 128), the paper's.
        kernel_initializer: initializer of every convolution kernel: "torch"
            (`TorchUniform`, Torch7's U(±1/√fan_in)) or a Keras identifier.
            Default "glorot_uniform".
        bias_initializer: initializer of every convolution bias: "torch" (the
            kernel's range, from the convolution's fan-in) or a Keras
            identifier. Default "zeros".
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        input `(B, H, W, 3)` with H, W divisible by 4 → `(B, H/4, W/4, filters)`.
    """

    def __init__(
        self,
        filters,
        stem_filters=STEM_FILTERS,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(filters, "filters", minimum=2)
        stem_filters = check_stem_filters(stem_filters)
        self.filters = filters
        self.stem_filters = stem_filters
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        init = dict(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        conv_filters, residual_filters = stem_filters
        policy = self.dtype_policy
        self.pad = keras.layers.ZeroPadding2D(STEM_CONV_KERNEL // 2, name="pad", dtype=policy)
        self.conv = conv2d(
            conv_filters, STEM_CONV_KERNEL, strides=2, name="conv", dtype=policy, **init
        )
        self.bn = batch_norm("bn", policy)
        self.residual1 = Residual(residual_filters, name="residual1", dtype=policy, **init)
        self.pool = keras.layers.MaxPooling2D(2, name="pool", dtype=policy)
        self.residual2 = Residual(residual_filters, name="residual2", dtype=policy, **init)
        self.residual3 = Residual(filters, name="residual3", dtype=policy, **init)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        batch, height, width = input_shape[:3]
        half = (batch, _div(height, 2), _div(width, 2))
        quarter = (batch, _div(height, 4), _div(width, 4))
        build_conv(self.conv, (batch, None, None, input_shape[-1]))
        conv_filters, residual_filters = self.stem_filters
        self.bn.build(half + (conv_filters,))
        self.residual1.build(half + (conv_filters,))
        self.residual2.build(quarter + (residual_filters,))
        self.residual3.build(quarter + (residual_filters,))

    def call(self, inputs, training=None):
        x = self.conv(self.pad(inputs))
        x = ops.relu(self.bn(x, training=training))
        x = self.residual1(x, training=training)
        x = self.pool(x)
        x = self.residual2(x, training=training)
        return self.residual3(x, training=training)

    def compute_output_shape(self, input_shape):
        batch, height, width = tuple(input_shape)[:3]
        return (batch, _div(height, STEM_STRIDE), _div(width, STEM_STRIDE), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "stem_filters": list(self.stem_filters),
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
            }
        )
        return config


def check_stem_filters(stem_filters):
    """Validate `stem_filters` and return it as a tuple of two ints (ValueError)."""
    values = tuple(stem_filters) if isinstance(stem_filters, (list, tuple)) else ()
    if len(values) != 2 or not all(isinstance(v, int) and v >= 2 for v in values):
        raise ValueError(
            "`stem_filters` must be two ints >= 2 (7×7 convolution, stem residuals). "
            f"Received: stem_filters={stem_filters!r}"
        )
    return values


def _div(size, factor):
    return None if size is None else size // factor
