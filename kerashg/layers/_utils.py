"""Helpers shared by the kerashg layers and models (not public API)."""

import keras

# BatchNormalization defaults of the reference PyTorch implementation
# (princeton-vl/pytorch_stacked_hourglass uses torch's defaults), kept so that
# ported weights and training schedules behave the same. Keras' momentum is
# 1 - torch's momentum (0.1).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def batch_norm(name, dtype):
    """The BatchNormalization every kerashg block uses (channels last)."""
    return keras.layers.BatchNormalization(
        axis=-1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name, dtype=dtype
    )


def check_positive_int(value, name, minimum=1):
    """Raise a ValueError naming `name` unless `value` is an int >= `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")


def serialize_dtype(dtype):
    """A dtype / dtype-policy argument as it goes into a config (JSON-able)."""
    if isinstance(dtype, keras.DTypePolicy):
        return keras.dtype_policies.serialize(dtype)
    return dtype


def compute_dtype_of(dtype):
    """Compute dtype of a dtype / dtype-policy argument (None: global policy)."""
    return keras.dtype_policies.get(dtype).compute_dtype
