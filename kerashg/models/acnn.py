"""ACNN: stacked hourglass with self-attention masks (Sun, Ye, Wang 2018)."""

import keras
from keras import ops

from kerashg.layers import AttentionMask
from kerashg.layers._utils import check_positive_int
from kerashg.layers.attention_mask import MASK_MODES
from kerashg.layers.stem import STEM_FILTERS, check_stem_filters
from kerashg.models.heatmap_model import HeatmapModel, resolve_codec, resolve_keypoint_set
from kerashg.models.stacked_hourglass import build_stacks, check_model_args, stack_stages
from kerashg.presets import ACNN_PRESETS


@keras.saving.register_keras_serializable(package="kerashg")
class ACNN(HeatmapModel):
    """Attention CNN for pose ("Focus On What's Important", Sun, Ye, Wang 2018).

    A stacked hourglass (same stem, hourglasses, heads and merges as
    `StackedHourglass`) where every stage i also emits a self-attention mask:

    - stage i gives heatmaps `H_i = f_h(features_i)` (the stack head) and a
      mask `M_i = sigmoid(f_c(features_i))`, `(B, H/4, W/4, 1)`, layer
      `stack{i}_attention` (see `AttentionMask`);
    - the gating (the paper's eq. 1): stage i + 1's input is the usual merge
      `x_i + conv(features_i) + conv(H_i)` multiplied by `M_i` (broadcast
      over channels);
    - the prediction `P_i = H_i + P_{i-1} ⊙ (1 − M_{i-1})` with `M_0 = 1`,
      so `P_1 = H_1`: where stage i - 1 looked away, its earlier prediction is
      carried forward;
    - the loss (the paper's eq. 3, `training.losses`): every stage's P_i
      against the same target heatmaps, summed over stages.

    The last stage's mask does not enter any prediction: it is returned for
    inspection and drawing, and its layer gets no gradient from a loss on the
    heatmaps.

    Input: float RGB `(B, H, W, 3)` in [0, 1].
    Output: `{"heatmaps": (B, S, H/4, W/4, K) = stack of P_i,
    "masks": (B, S, H/4, W/4, 1) = stack of M_i}`, both float32.

    `set_force_masks(True)` makes every mask exactly 1 (so P_i = H_i and the
    network is a plain stacked hourglass), e.g. for pose-only training phase A.

    Args:
        num_stacks: int >= 1, stages S. Default 4.
        num_keypoints: int >= 1, heatmaps K. Default 16 (MPII).
        filters: int >= 2, hourglass channels. Default 256.
        depth: int >= 1, halvings in each hourglass. Default 4.
        input_shape: (H, W, 3), H and W divisible by 2**(depth + 2).
            Default (256, 256, 3).
        mask: "soft" (sigmoid) or "hard" (binarised, straight-through
            gradient). Default "soft".
        attention_filters: hidden channels of f_c. Default None: filters // 4.
        num_residuals: int >= 1, residual blocks per position. Default 1.
        stem_filters: (int, int), stem widths (see `Stem`). Default (64, 128),
            the paper's.
        dtype: dtype policy of the network body (None: global policy).
        head_dtype: dtype policy of heatmap and mask outputs. Default "float32".
        kernel_initializer: initializer of every convolution kernel: "torch"
            (Torch7's U(±1/√fan_in), as the original Lua code starts;
            `kerashg.layers.initializers.TorchUniform`) or a Keras
            identifier. Default "glorot_uniform".
        bias_initializer: initializer of every convolution bias: "torch"
            (the same range, from the convolution's fan-in) or a Keras
            identifier. Default "zeros". (The masks' last bias always starts at
            logit(0.95), see `AttentionMask`.)
        codec: the model's `HeatmapCodec` (training targets and decoding
            everywhere: `model.codec`, saved with the model), or its config
            dict. Default: `HeatmapCodec(input_size=(W, H))` (sigma 1, DARK),
            heatmaps at input / 4.
        keypoint_set: the `KeypointSet` of the K joints (names, flip pairs,
            skeleton; saved with the model), its config dict or a built-in
            set's name; None: none recorded. Default None.
        name: model name. Default "acnn".
        **kwargs: other `keras.Model` arguments.
    """

    presets = ACNN_PRESETS

    def __init__(
        self,
        num_stacks=4,
        num_keypoints=16,
        filters=256,
        depth=4,
        input_shape=(256, 256, 3),
        mask="soft",
        attention_filters=None,
        num_residuals=1,
        stem_filters=STEM_FILTERS,
        dtype=None,
        head_dtype="float32",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        codec=None,
        keypoint_set=None,
        name="acnn",
        **kwargs,
    ):
        input_shape = tuple(input_shape)
        check_model_args(num_stacks, num_keypoints, filters, depth, input_shape, num_residuals)
        stem_filters = check_stem_filters(stem_filters)
        codec = resolve_codec(codec, input_shape)
        keypoint_set = resolve_keypoint_set(keypoint_set, num_keypoints)
        if mask not in MASK_MODES:
            raise ValueError(f"`mask` must be one of {MASK_MODES}. Received: mask={mask!r}")
        if attention_filters is not None:
            check_positive_int(attention_filters, "attention_filters")
        hidden = max(filters // 4, 1) if attention_filters is None else attention_filters

        def make_attention(i):
            return AttentionMask(
                hidden,
                mode=mask,
                head_dtype=head_dtype,
                kernel_initializer=kernel_initializer,
                bias_initializer=bias_initializer,
                name=f"stack{i}_attention",
                dtype=dtype,
            )

        images = keras.Input(shape=input_shape, name="images")
        heatmaps, masks = build_stacks(
            images,
            num_stacks=num_stacks,
            num_keypoints=num_keypoints,
            filters=filters,
            depth=depth,
            num_residuals=num_residuals,
            stem_filters=stem_filters,
            dtype=dtype,
            head_dtype=head_dtype,
            make_attention=make_attention,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
        )
        # The predictions, with M_0 = 1: P_1 = H_1, P_i = H_i + P_{i-1} (1 - M_{i-1}).
        predictions = [heatmaps[0]]
        for i in range(1, num_stacks):
            carried = ops.multiply(predictions[-1], ops.subtract(1.0, masks[i - 1]))
            predictions.append(ops.add(heatmaps[i], carried))
        super().__init__(
            inputs=images,
            outputs={"heatmaps": stack_stages(predictions), "masks": stack_stages(masks)},
            name=name,
            **kwargs,
        )
        self.mask = mask
        self.attention_filters = attention_filters
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

    @property
    def attention_layers(self):
        """The `stack{i}_attention` layers, in stage order."""
        return [self.get_layer(f"stack{i}_attention") for i in range(self.num_stacks)]

    def set_force_masks(self, force):
        """Force every attention mask to exactly 1 (True) or use it (False).

        Assigns the attention layers' non-trainable `force_ones` variables, so
        it works inside an already traced `tf.function` without retracing.
        """
        value = 1.0 if force else 0.0
        for layer in self.attention_layers:
            layer.force_ones.assign(value)

    @property
    def force_masks(self):
        """Whether the masks are currently forced to ones."""
        return bool(keras.ops.convert_to_numpy(self.attention_layers[0].force_ones) > 0.5)

    def get_config(self):
        return {
            **super().get_config(),
            "mask": self.mask,
            "attention_filters": self.attention_filters,
        }
