"""The Stacked Hourglass as a plain functional Keras model, for `benchmarks.model --twin`.

`build_twin` builds the network of `kerashg.StackedHourglass` (default stem,
one residual per position, float32 heatmap convolutions) from stock Keras
layers only: `ZeroPadding2D`, `Conv2D`, `BatchNormalization`, `ReLU`,
`MaxPooling2D`, `UpSampling2D` and `Add`, plus `keras.ops.stack` for the
`(B, S, H/4, W/4, K)` output, as the kerashg model stacks its stages. Same
layers, same order, same widths, same initialisers (Glorot-uniform kernels,
zero biases), same BatchNormalization constants, so the same parameter count
and the same FLOPs: timing both shows what kerashg's own layer classes
(nested `Layer`s, explicit `build`s, `ops` calls) cost, if anything.
"""

import keras
from keras import layers, ops

from kerashg.layers._utils import BN_EPSILON, BN_MOMENTUM
from kerashg.layers.stem import STEM_CONV_KERNEL, STEM_FILTERS


def _batch_norm(name):
    return layers.BatchNormalization(axis=-1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)


def residual(x, filters, name):
    """Pre-activation bottleneck block (`kerashg.layers.Residual`), functional.

    Args:
        x: KerasTensor `(B, H, W, C_in)`.
        filters: int, output channels; the bottleneck has `filters // 2`.
        name: prefix of the layer names.

    Returns:
        KerasTensor `(B, H, W, filters)`.
    """
    bottleneck = filters // 2
    y = layers.ReLU(name=f"{name}_relu1")(_batch_norm(f"{name}_bn1")(x))
    y = layers.Conv2D(bottleneck, 1, name=f"{name}_conv1")(y)
    y = layers.ReLU(name=f"{name}_relu2")(_batch_norm(f"{name}_bn2")(y))
    y = layers.Conv2D(bottleneck, 3, padding="same", name=f"{name}_conv2")(y)
    y = layers.ReLU(name=f"{name}_relu3")(_batch_norm(f"{name}_bn3")(y))
    y = layers.Conv2D(filters, 1, name=f"{name}_conv3")(y)
    shortcut = x if x.shape[-1] == filters else layers.Conv2D(filters, 1, name=f"{name}_skip")(x)
    return layers.Add(name=f"{name}_add")([y, shortcut])


def hourglass(x, depth, filters, name):
    """One hourglass (`kerashg.layers.Hourglass`, one residual per position), functional.

    Args:
        x: KerasTensor `(B, H, W, filters)`, H and W divisible by `2**depth`.
        depth: int >= 1, halvings.
        filters: int, channels at every scale.
        name: prefix of the layer names.

    Returns:
        KerasTensor `(B, H, W, filters)`.
    """
    up1 = residual(x, filters, f"{name}_up1")
    low = layers.MaxPooling2D(2, name=f"{name}_pool1")(x)
    low = residual(low, filters, f"{name}_low1")
    if depth > 1:
        low = hourglass(low, depth - 1, filters, f"{name}_low2")
    else:
        low = residual(low, filters, f"{name}_low2")
    low = residual(low, filters, f"{name}_low3")
    up2 = layers.UpSampling2D(2, interpolation="nearest", name=f"{name}_up2")(low)
    return layers.Add(name=f"{name}_add")([up1, up2])


def build_twin(num_stacks, num_keypoints, filters, depth, input_shape, name="keras_twin"):
    """`kerashg.StackedHourglass(num_stacks, num_keypoints, filters, depth, input_shape)`
    rebuilt from stock Keras layers (see the module docstring).

    The body takes the global dtype policy (`keras.config.set_dtype_policy`);
    the heatmap convolutions are float32, as kerashg's default `head_dtype`.

    Args:
        num_stacks: int >= 1, hourglasses.
        num_keypoints: int >= 1, heatmaps per stage.
        filters: int >= 2, hourglass channels.
        depth: int >= 1, halvings per hourglass.
        input_shape: `(H, W, 3)`, H and W divisible by `2**(depth + 2)`.
        name: model name.

    Returns:
        A functional `keras.Model`, images `(B, H, W, 3)` →
        `{"heatmaps": (B, S, H/4, W/4, K)}`.
    """
    images = keras.Input(shape=tuple(input_shape), name="images")
    conv_filters, residual_filters = STEM_FILTERS
    x = layers.ZeroPadding2D(STEM_CONV_KERNEL // 2, name="stem_pad")(images)
    x = layers.Conv2D(conv_filters, STEM_CONV_KERNEL, strides=2, name="stem_conv")(x)
    x = layers.ReLU(name="stem_relu")(_batch_norm("stem_bn")(x))
    x = residual(x, residual_filters, "stem_residual1")
    x = layers.MaxPooling2D(2, name="stem_pool")(x)
    x = residual(x, residual_filters, "stem_residual2")
    x = residual(x, filters, "stem_residual3")
    heatmaps = []
    for i in range(num_stacks):
        y = hourglass(x, depth, filters, f"stack{i}_hourglass")
        y = residual(y, filters, f"stack{i}_head_residual")
        y = layers.Conv2D(filters, 1, name=f"stack{i}_head_conv")(y)
        features = layers.ReLU(name=f"stack{i}_head_relu")(_batch_norm(f"stack{i}_head_bn")(y))
        stage = layers.Conv2D(num_keypoints, 1, dtype="float32", name=f"stack{i}_heatmaps")(
            features
        )
        heatmaps.append(stage)
        if i < num_stacks - 1:
            x = layers.Add(name=f"stack{i}_merge")(
                [
                    x,
                    layers.Conv2D(filters, 1, name=f"stack{i}_merge_features")(features),
                    layers.Conv2D(filters, 1, name=f"stack{i}_merge_heatmaps")(stage),
                ]
            )
    return keras.Model(images, {"heatmaps": ops.stack(heatmaps, axis=1)}, name=name)
