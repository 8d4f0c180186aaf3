"""Stacked Hourglass network (Newell, Yang, Deng, ECCV 2016)."""

import keras
from keras import ops

from kerashg.layers import Hourglass, StackHead, StackMerge, Stem
from kerashg.layers._utils import check_positive_int
from kerashg.layers.stem import STEM_FILTERS, STEM_STRIDE, check_stem_filters
from kerashg.models.heatmap_model import HeatmapModel, resolve_codec, resolve_keypoint_set
from kerashg.presets import STACKED_HOURGLASS_PRESETS


def check_model_args(num_stacks, num_keypoints, filters, depth, input_shape, num_residuals):
    """Validate the arguments StackedHourglass and ACNN share (ValueError)."""
    check_positive_int(num_stacks, "num_stacks")
    check_positive_int(num_keypoints, "num_keypoints")
    check_positive_int(filters, "filters", minimum=2)
    check_positive_int(depth, "depth")
    check_positive_int(num_residuals, "num_residuals")
    if len(input_shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels). Received: input_shape={input_shape}"
        )
    divisor = STEM_STRIDE * 2**depth
    if any(size is None or size % divisor for size in input_shape[:2]):
        raise ValueError(
            f"`input_shape` height and width must be divisible by 2**(depth + 2) = {divisor} "
            "(the stem divides by 4, the hourglass by 2**depth). "
            f"Received: input_shape={tuple(input_shape)} with depth={depth}"
        )


def build_stacks(
    images,
    *,
    num_stacks,
    num_keypoints,
    filters,
    depth,
    num_residuals,
    dtype,
    head_dtype,
    stem_filters=STEM_FILTERS,
    make_attention=None,
    kernel_initializer="glorot_uniform",
    bias_initializer="zeros",
):
    """The stack loop StackedHourglass and ACNN share (functional graph).

    Stage i: `stack{i}_hourglass`, `stack{i}_head` (features, heatmaps H_i),
    optionally `stack{i}_attention` (mask M_i), and, but for the last stage,
    `stack{i}_merge` which makes stage i + 1's input (gated by M_i when there is
    an attention mask, ACNN eq. 1).

    Args:
        images: KerasTensor `(B, H, W, 3)`.
        make_attention: None, or a function `i -> layer` building stage i's
            attention layer (features → mask).
        kernel_initializer, bias_initializer: of every convolution (see
            `StackedHourglass`).

    Returns:
        `(heatmaps, masks)`: lists of S KerasTensors `(B, H/4, W/4, K)` and
        `(B, H/4, W/4, 1)` (masks is empty without `make_attention`).
    """
    init = dict(kernel_initializer=kernel_initializer, bias_initializer=bias_initializer)
    x = Stem(filters, stem_filters=stem_filters, name="stem", dtype=dtype, **init)(images)
    heatmaps, masks = [], []
    for i in range(num_stacks):
        hourglass = Hourglass(
            depth,
            filters,
            num_residuals=num_residuals,
            name=f"stack{i}_hourglass",
            dtype=dtype,
            **init,
        )(x)
        features, stage_heatmaps = StackHead(
            filters,
            num_keypoints,
            num_residuals=num_residuals,
            head_dtype=head_dtype,
            name=f"stack{i}_head",
            dtype=dtype,
            **init,
        )(hourglass)
        heatmaps.append(stage_heatmaps)
        merge_inputs = [x, features, stage_heatmaps]
        if make_attention is not None:
            masks.append(make_attention(i)(features))
            merge_inputs.append(masks[-1])
        if i < num_stacks - 1:
            x = StackMerge(filters, name=f"stack{i}_merge", dtype=dtype, **init)(merge_inputs)
    return heatmaps, masks


def stack_stages(tensors):
    """S tensors `(B, h, w, C)` → `(B, S, h, w, C)`."""
    return ops.stack(tensors, axis=1)


@keras.saving.register_keras_serializable(package="kerashg")
class StackedHourglass(HeatmapModel):
    """Stacked Hourglass network with intermediate supervision (Newell et al. 2016).

    stem → S × (hourglass → head → merge), layers named `stem`,
    `stack{i}_hourglass`, `stack{i}_head`, `stack{i}_merge` (i from 0; the last
    stack has no merge). With the defaults (8 stacks, 256 filters, depth 4,
    16 keypoints, 256×256) it has the reference implementation's 25.4 M
    trainable parameters.

    Input: float RGB image `(B, H, W, 3)` with values in [0, 1], as the
    reference implementation feeds it (no mean/std normalisation).
    Output: `{"heatmaps": (B, S, H/4, W/4, K)}` float32, one heatmap stack per
    stage (every stage is supervised; the last is the prediction).

    Args:
        num_stacks: int >= 1, number of hourglasses S. Default 8.
        num_keypoints: int >= 1, heatmaps K. Default 16 (MPII).
        filters: int >= 2, channels in the hourglasses. Default 256.
        depth: int >= 1, halvings in each hourglass. Default 4.
        input_shape: (H, W, 3), H and W divisible by 2**(depth + 2).
            Default (256, 256, 3).
        num_residuals: int >= 1, residual blocks at each hourglass position
            and in each head. Default 1.
        stem_filters: (int, int), stem widths (see `Stem`). Default (64, 128),
            the paper's; narrower stems suit narrow (e.g. 64-filter) hourglasses.
        dtype: dtype policy of the network body (None: global policy).
        head_dtype: dtype policy of the heatmap convolutions. Default "float32".
        kernel_initializer: initializer of every convolution kernel: "torch"
            (Torch7's U(±1/√fan_in), as the original Lua code starts;
            `kerashg.layers.initializers.TorchUniform`) or a Keras
            identifier. Default "glorot_uniform".
        bias_initializer: initializer of every convolution bias: "torch"
            (the same range, from the convolution's fan-in) or a Keras
            identifier. Default "zeros".
        codec: the model's `HeatmapCodec` (training targets and decoding
            everywhere: `model.codec`, saved with the model), or its config
            dict. Default: `HeatmapCodec(input_size=(W, H))` (sigma 1, DARK),
            heatmaps at input / 4.
        keypoint_set: the `KeypointSet` of the K joints (names, flip pairs,
            skeleton; saved with the model), its config dict or a built-in
            set's name; None: none recorded. Default None.
        name: model name. Default "stacked_hourglass".
        **kwargs: other `keras.Model` arguments (e.g. `trainable`).
    """

    presets = STACKED_HOURGLASS_PRESETS

    def __init__(
        self,
        num_stacks=8,
        num_keypoints=16,
        filters=256,
        depth=4,
        input_shape=(256, 256, 3),
        num_residuals=1,
        stem_filters=STEM_FILTERS,
        dtype=None,
        head_dtype="float32",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        codec=None,
        keypoint_set=None,
        name="stacked_hourglass",
        **kwargs,
    ):
        input_shape = tuple(input_shape)
        check_model_args(num_stacks, num_keypoints, filters, depth, input_shape, num_residuals)
        stem_filters = check_stem_filters(stem_filters)
        codec = resolve_codec(codec, input_shape)
        keypoint_set = resolve_keypoint_set(keypoint_set, num_keypoints)
        images = keras.Input(shape=input_shape, name="images")
        heatmaps, _ = build_stacks(
            images,
            num_stacks=num_stacks,
            num_keypoints=num_keypoints,
            filters=filters,
            depth=depth,
            num_residuals=num_residuals,
            stem_filters=stem_filters,
            dtype=dtype,
            head_dtype=head_dtype,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
        )
        super().__init__(
            inputs=images,
            outputs={"heatmaps": stack_stages(heatmaps)},
            name=name,
            **kwargs,
        )
        self._store_arguments(
            num_stacks=num_stacks,
            num_keypoints=num_keypoints,
            filters=filters,
            depth=depth,
            input_shape=input_shape,
            num_residuals=num_residuals,
            stem_filters=stem_filters,
            dtype=dtype,
            head_dtype=head_dtype,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            codec=codec,
            keypoint_set=keypoint_set,
        )
