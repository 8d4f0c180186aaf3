"""The recursive hourglass module (Newell et al. 2016, fig. 3)."""

import keras
from keras import ops

from kerashg.layers._utils import check_positive_int
from kerashg.layers.initializers import serialize_initializer
from kerashg.layers.residual import Residual


@keras.saving.register_keras_serializable(package="kerashg")
class Hourglass(keras.layers.Layer):
    """One hourglass of depth `depth`, written recursively as in the paper's fig. 3.

    At each level:
    - `up1`: `num_residuals` residual blocks at the current scale (the skip branch);
    - `pool1`: 2×2 max-pooling, then `low1`: residual blocks at half scale;
    - `low2`: the hourglass of depth `depth - 1`, or residual blocks at the bottom
      (`depth == 1`);
    - `low3`: residual blocks, then `up2`: nearest-neighbour ×2 upsampling;
    - output `up1(x) + up2(low3(low2(low1(pool1(x)))))`.

    Every argument is passed down the recursion, so the nested hourglasses have
    the same `filters`, `num_residuals` and dtype policy.

    Args:
        depth: int >= 1, number of times the input is halved (4 in the paper).
        filters: int >= 2, channels at every scale (256 in the paper).
        num_residuals: int >= 1, residual blocks at each position (1 in the
            reference implementation).
        kernel_initializer: initializer of every convolution kernel: "torch"
            (`TorchUniform`, Torch7's U(±1/√fan_in)) or a Keras identifier.
            Default "glorot_uniform".
        bias_initializer: initializer of every convolution bias: "torch" (the
            kernel's range, from the convolution's fan-in) or a Keras
            identifier. Default "zeros".
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        input `(B, H, W, filters)` with H and W divisible by `2**depth` →
        output `(B, H, W, filters)`.
    """

    def __init__(
        self,
        depth,
        filters,
        num_residuals=1,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(depth, "depth")
        check_positive_int(filters, "filters", minimum=2)
        check_positive_int(num_residuals, "num_residuals")
        self.depth = depth
        self.filters = filters
        self.num_residuals = num_residuals
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        policy = self.dtype_policy
        self.up1 = self._residuals("up1")
        self.pool1 = keras.layers.MaxPooling2D(2, name="pool1", dtype=policy)
        self.low1 = self._residuals("low1")
        if depth > 1:
            self.low2 = Hourglass(
                depth - 1,
                filters,
                num_residuals=num_residuals,
                name="low2",
                dtype=policy,
                **self._init(),
            )
        else:
            self.low2 = self._residuals("low2")
        self.low3 = self._residuals("low3")
        self.up2 = keras.layers.UpSampling2D(2, interpolation="nearest", name="up2", dtype=policy)

    def _residuals(self, name):
        return [
            Residual(self.filters, name=f"{name}_{i}", dtype=self.dtype_policy, **self._init())
            for i in range(self.num_residuals)
        ]

    def _init(self):
        return dict(
            kernel_initializer=self.kernel_initializer, bias_initializer=self.bias_initializer
        )

    @staticmethod
    def _apply(blocks, x, training):
        if isinstance(blocks, list):
            for block in blocks:
                x = block(x, training=training)
            return x
        return blocks(x, training=training)

    @staticmethod
    def _build(blocks, shape):
        for block in blocks if isinstance(blocks, list) else [blocks]:
            block.build(shape)

    def build(self, input_shape):
        input_shape = tuple(input_shape)
        for size, axis in zip(input_shape[1:3], ("height", "width"), strict=True):
            if size is not None and size % 2**self.depth:
                raise ValueError(
                    f"Hourglass input {axis} must be divisible by 2**depth = "
                    f"{2**self.depth}. Received: input_shape={input_shape}, "
                    f"depth={self.depth}"
                )
        shape = input_shape[:-1] + (self.filters,)
        half = (
            shape[0],
            None if shape[1] is None else shape[1] // 2,
            None if shape[2] is None else shape[2] // 2,
            self.filters,
        )
        self._build(self.up1, input_shape)
        self._build(self.low1, half)
        self._build(self.low2, half)
        self._build(self.low3, half)

    def call(self, inputs, training=None):
        up1 = self._apply(self.up1, inputs, training)
        low1 = self._apply(self.low1, self.pool1(inputs), training)
        low2 = self._apply(self.low2, low1, training)
        low3 = self._apply(self.low3, low2, training)
        return ops.add(up1, self.up2(low3))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.filters,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "depth": self.depth,
                "filters": self.filters,
                "num_residuals": self.num_residuals,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
            }
        )
        return config
