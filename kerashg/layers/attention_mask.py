"""ACNN attention mask `sigmoid(f_c(features))` (Sun, Ye, Wang 2018)."""

import math

import keras
from keras import ops

from kerashg.layers._utils import (
    batch_norm,
    check_positive_int,
    compute_dtype_of,
    serialize_dtype,
)
from kerashg.layers.initializers import build_conv, conv2d, serialize_initializer

MASK_MODES = ("soft", "hard")
# A hard mask keeps a location when the soft mask is above this value.
HARD_MASK_THRESHOLD = 0.5


@keras.saving.register_keras_serializable(package="kerashg")
class AttentionMask(keras.layers.Layer):
    """Self-attention mask of one ACNN stage: `M = sigmoid(f_c(features))`.

    `f_c` is `num_convs` 3×3 conv-BN-ReLU blocks at `filters` channels and a
    1×1 convolution to one channel. The mask is at the features' (heatmap)
    resolution and is broadcast over channels where it is applied (the gating,
    the paper's eq. 1, and the carried-forward predictions; see `ACNN`).

    - `mode="soft"`: the sigmoid itself, in (0, 1).
    - `mode="hard"`: binarised, `1[M > 0.5]`, in the forward pass; the
      gradient is the soft mask's (straight-through estimator).

    The layer owns the "force masks to ones" switch of training phase A: a
    non-trainable float32 scalar `force_ones` (not in `trainable_weights`).
    When it is 1 the output is exactly ones. It is read in the graph, so
    assigning it (see `ACNN.set_force_masks`) takes effect in an already
    traced function without retracing. Its value is saved with the model.

    Args:
        filters: int >= 1, channels of the hidden convolutions.
        mode: "soft" or "hard". Default "soft".
        num_convs: int >= 1, number of hidden 3×3 conv-BN-ReLU blocks. Default 2.
        head_dtype: dtype policy of the last convolution and the sigmoid, so
            the mask is float32 under mixed precision. Default "float32".
        initial_mask: float in (0, 1), the mask an untrained layer starts near:
            the last convolution's bias starts at `logit(initial_mask)`. Near
            one, an ACNN whose phase A trained the pose network with the masks
            forced to ones starts phase B from phase A's predictions, instead
            of halving every stage's features (a zero bias gives 0.5).
            Default 0.95.
        kernel_initializer: initializer of every convolution kernel: "torch"
            (`TorchUniform`, Torch7's U(±1/√fan_in)) or a Keras identifier.
            Default "glorot_uniform".
        bias_initializer: initializer of the hidden convolutions' biases:
            "torch" (the kernel's range, from the convolution's fan-in) or a
            Keras identifier. Default "zeros". The last convolution's bias
            always starts at `logit(initial_mask)`.
        **kwargs: base `keras.layers.Layer` arguments.

    Shapes:
        input `(B, h, w, C)` → mask `(B, h, w, 1)` in `head_dtype`.
    """

    def __init__(
        self,
        filters,
        mode="soft",
        num_convs=2,
        head_dtype="float32",
        initial_mask=0.95,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int(filters, "filters")
        check_positive_int(num_convs, "num_convs")
        if mode not in MASK_MODES:
            raise ValueError(f"`mode` must be one of {MASK_MODES}. Received: mode={mode!r}")
        if not 0.0 < initial_mask < 1.0:
            raise ValueError(
                f"`initial_mask` must be in (0, 1). Received: initial_mask={initial_mask}"
            )
        self.initial_mask = float(initial_mask)
        self.filters = filters
        self.mode = mode
        self.num_convs = num_convs
        self.head_dtype = head_dtype
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        init = dict(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
        policy = self.dtype_policy
        self.convs = [
            conv2d(filters, 3, padding="same", name=f"conv_{i}", dtype=policy, **init)
            for i in range(num_convs)
        ]
        self.bns = [batch_norm(f"bn_{i}", policy) for i in range(num_convs)]
        bias = math.log(self.initial_mask / (1.0 - self.initial_mask))
        self.mask_conv = conv2d(
            1,
            1,
            kernel_initializer,
            keras.initializers.Constant(bias),
            name="mask_conv",
            dtype=head_dtype,
        )

    def build(self, input_shape):
        shape = tuple(input_shape)
        hidden = shape[:-1] + (self.filters,)
        for i, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            build_conv(conv, shape if i == 0 else hidden)
            bn.build(hidden)
        build_conv(self.mask_conv, hidden)
        self.force_ones = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            autocast=False,
            name="force_ones",
        )

    def call(self, inputs, training=None):
        x = inputs
        for conv, bn in zip(self.convs, self.bns, strict=True):
            x = ops.relu(bn(conv(x), training=training))
        logits = self.mask_conv(x)
        mask = ops.sigmoid(logits)
        if self.mode == "hard":
            hard = ops.cast(ops.greater(mask, HARD_MASK_THRESHOLD), mask.dtype)
            # Exact 0/1 forward: for mask in (0.5, 1], 1 - mask is exact
            # (Sterbenz), so mask + (1 - mask) == 1; for hard == 0 it is mask - mask.
            mask = mask + ops.stop_gradient(hard - mask)
        forced = ops.greater(ops.cast(self.force_ones, mask.dtype), 0.5)
        return ops.where(forced, ops.ones_like(mask), mask)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (1,)

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(
            self.compute_output_shape(inputs.shape),
            dtype=compute_dtype_of(self.head_dtype),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "mode": self.mode,
                "num_convs": self.num_convs,
                "head_dtype": serialize_dtype(self.head_dtype),
                "initial_mask": self.initial_mask,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
            }
        )
        return config
