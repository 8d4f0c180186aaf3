"""Torch7's initialisation of convolutions, as a Keras initializer."""

import math

import keras

# The name the models and layers accept for Torch's initialisation of kernels and biases.
TORCH_INIT = "torch"


@keras.saving.register_keras_serializable(package="kerashg")
class TorchUniform(keras.initializers.RandomUniform):
    """U(−1/√fan_in, 1/√fan_in), Torch7's `nn.SpatialConvolution:reset()`.

    Torch draws a convolution's weights AND its biases from this range, with
    `fan_in = kW · kH · nInputPlane` of the convolution (so a bias's range is
    its convolution's, not a function of the bias's own shape). The standard
    deviation is 1/√(3 · fan_in), a third of Glorot-uniform's variance for a
    square layer.

    Args:
        fan_in: int or None. None: from the shape, the product of every
            dimension but the last (a kernel `(kh, kw, C_in, C_out)` gives
            kh · kw · C_in). A bias `(C_out,)` needs its convolution's fan-in
            given here (the kerashg layers set it when they build).
        seed: int, `keras.random.SeedGenerator` or None (Keras' global seed).
    """

    def __init__(self, fan_in=None, seed=None):
        super().__init__(seed=seed)
        if fan_in is not None and not (isinstance(fan_in, int) and fan_in >= 1):
            raise ValueError(f"`fan_in` must be an int >= 1 or None. Received: fan_in={fan_in!r}")
        self.fan_in = fan_in

    def __call__(self, shape, dtype=None):
        fan_in = self.fan_in
        if fan_in is None:
            if len(shape) < 2:
                raise ValueError(
                    "TorchUniform needs `fan_in` for a shape of rank < 2 (a bias: pass its "
                    f"convolution's kh · kw · C_in). Received: shape={tuple(shape)}"
                )
            fan_in = math.prod(shape[:-1])
        limit = 1.0 / math.sqrt(fan_in)
        return keras.random.uniform(shape, -limit, limit, seed=self.seed, dtype=dtype)

    def get_config(self):
        config = super().get_config()
        config.pop("minval", None)
        config.pop("maxval", None)
        config["fan_in"] = self.fan_in
        return config


def get_initializer(identifier):
    """A fresh Keras initializer from `identifier`: "torch" (`TorchUniform`) or any
    Keras identifier (a name such as "glorot_uniform", a config dict, an instance)."""
    if identifier == TORCH_INIT:
        return TorchUniform()
    if isinstance(identifier, keras.initializers.Initializer):
        return identifier.__class__.from_config(identifier.get_config())
    return keras.initializers.get(identifier)


def serialize_initializer(identifier):
    """`identifier` as it goes into a layer's config (JSON-able)."""
    if isinstance(identifier, keras.initializers.Initializer):
        return keras.initializers.serialize(identifier)
    return identifier


def conv2d(filters, kernel_size, kernel_initializer, bias_initializer, **kwargs):
    """A `keras.layers.Conv2D` with fresh initializers from the two identifiers."""
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        kernel_initializer=get_initializer(kernel_initializer),
        bias_initializer=get_initializer(bias_initializer),
        **kwargs,
    )


def build_conv(conv, input_shape):
    """`conv.build(input_shape)`, first giving a `TorchUniform` bias its conv's fan-in."""
    bias = getattr(conv, "bias_initializer", None)
    if isinstance(bias, TorchUniform) and bias.fan_in is None:
        fan_in = math.prod(conv.kernel_size) * int(input_shape[-1])
        conv.bias_initializer = TorchUniform(fan_in=fan_in, seed=bias._init_seed)
    conv.build(input_shape)
