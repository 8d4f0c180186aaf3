"""What StackedHourglass and ACNN share: their codec, keypoint set, presets and configuration."""

import keras

from kerashg.codec import HeatmapCodec
from kerashg.keypoints import KeypointSet, get_keypoint_set
from kerashg.layers._utils import serialize_dtype
from kerashg.layers.initializers import serialize_initializer
from kerashg.layers.stem import STEM_STRIDE
from kerashg.presets import build_from_preset


def resolve_codec(codec, input_shape):
    """The `HeatmapCodec` of a model of input `input_shape` (H, W, 3).

    Args:
        codec: a `HeatmapCodec`, its `get_config()` dict (or Keras' serialised
            form of it), or None: the default codec of the input size,
            `HeatmapCodec(input_size=(W, H))` (sigma 1, DARK), heatmaps at the
            stem's stride.

    Raises:
        ValueError: `codec` is of another type, or its input or heatmap size is
            not the model's.
    """
    height, width = int(input_shape[0]), int(input_shape[1])
    if codec is None:
        codec = HeatmapCodec(input_size=(width, height))  # the models' default codec
    elif isinstance(codec, dict):
        codec = (
            keras.saving.deserialize_keras_object(codec)
            if "class_name" in codec
            else HeatmapCodec.from_config(codec)
        )
    if not isinstance(codec, HeatmapCodec):
        raise ValueError(
            f"`codec` must be a HeatmapCodec, its config dict or None. Received: codec={codec!r}"
        )
    heatmap_size = (width // STEM_STRIDE, height // STEM_STRIDE)
    if codec.input_size != (width, height) or codec.heatmap_size != heatmap_size:
        raise ValueError(
            f"`codec` must decode the model's heatmaps: input_size {(width, height)} and "
            f"heatmap_size {heatmap_size} (input / {STEM_STRIDE}). Received: codec={codec!r}"
        )
    return codec


def resolve_keypoint_set(keypoint_set, num_keypoints):
    """The `KeypointSet` of a model of `num_keypoints` joints, or None.

    Args:
        keypoint_set: a `KeypointSet`, its `get_config()` dict, the name of a
            built-in set ("mpii", "coco", "lsp"), or None (the model records no
            set; a runner then takes the built-in set of its joint count).

    Raises:
        ValueError: `keypoint_set` is of another type, or has another number of
            joints than the model.
    """
    if keypoint_set is None:
        return None
    if isinstance(keypoint_set, dict):
        keypoint_set = KeypointSet.from_config(keypoint_set)
    elif isinstance(keypoint_set, str):
        keypoint_set = get_keypoint_set(keypoint_set)
    if not isinstance(keypoint_set, KeypointSet):
        raise ValueError(
            "`keypoint_set` must be a KeypointSet, its config dict, a built-in set's name or "
            f"None. Received: keypoint_set={keypoint_set!r}"
        )
    if keypoint_set.num_keypoints != num_keypoints:
        raise ValueError(
            f"`keypoint_set` must name the model's {num_keypoints} joints. Received: "
            f"keypoint_set {keypoint_set.name!r} with {keypoint_set.num_keypoints} joints"
        )
    return keypoint_set


class HeatmapModel(keras.Model):
    """Base of `StackedHourglass` and `ACNN`: a functional model that owns its codec.

    The codec (`HeatmapCodec`) is the one that makes the model's training
    targets and decodes its heatmaps wherever it runs: `model.codec` is saved
    in the model's config (`.keras` files), used by the serving functions of
    every export format (`kerashg.serving`) and by `KerasRunner`, as mmpose's
    head owns its decoder. A `.keras` file saved before models had a codec
    loads with the default codec of its input size.

    The keypoint set (`model.keypoint_set`: joint names, flip pairs, skeleton)
    is saved the same way, as mmpose's `dataset_meta`, so that a saved model
    (and every export of it, `kerashg.serving`) draws and flips without its
    data set. A model built without one records None.

    Subclasses build their graph, call `super().__init__(inputs, outputs, ...)`,
    then `_store_arguments(...)`; `get_config` returns the shared arguments
    (subclasses add their own).
    """

    presets = {}

    def _store_arguments(
        self,
        *,
        num_stacks,
        num_keypoints,
        filters,
        depth,
        input_shape,
        num_residuals,
        stem_filters,
        dtype,
        head_dtype,
        kernel_initializer,
        bias_initializer,
        codec,
        keypoint_set=None,
    ):
        """One attribute per shared constructor argument (`codec` already resolved)."""
        self.num_stacks = num_stacks
        self.num_keypoints = num_keypoints
        self.filters = filters
        self.depth = depth
        self.model_input_shape = input_shape
        self.num_residuals = num_residuals
        self.stem_filters = stem_filters
        self.body_dtype = dtype
        self.head_dtype = head_dtype
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.codec = codec
        self.keypoint_set = keypoint_set

    @property
    def codec(self):
        """The model's `HeatmapCodec` (targets and decoding). Assigning one (or its
        config dict) checks that it fits the model's input and heatmap sizes."""
        return self._codec

    @codec.setter
    def codec(self, codec):
        self._codec = resolve_codec(codec, self.model_input_shape)

    @property
    def keypoint_set(self):
        """The model's `KeypointSet` (names, flip pairs, skeleton), or None. Assigning
        one (a set, its config dict or a built-in name) checks its joint count."""
        return self._keypoint_set

    @keypoint_set.setter
    def keypoint_set(self, keypoint_set):
        self._keypoint_set = resolve_keypoint_set(keypoint_set, self.num_keypoints)

    @classmethod
    def from_preset(cls, preset, load_weights=True, **kwargs):
        """A named model (`kerashg.list_presets()`), as keras-hub's `from_preset`.

        Args:
            preset: a key of `cls.presets`, e.g. "acnn4_lsp_128" (trained) or
                "hg8_mpii_256" (an architecture).
            load_weights: load the preset's trained model, shipped in
                `kerashg/weights/` (nothing is downloaded); an architecture-only
                preset raises ValueError. False: the architecture, random weights.
                Default True.
            **kwargs: constructor arguments overriding the preset's (with
                `load_weights=False` only).
        """
        return build_from_preset(cls, preset, load_weights, **kwargs)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "num_stacks": self.num_stacks,
            "num_keypoints": self.num_keypoints,
            "filters": self.filters,
            "depth": self.depth,
            "input_shape": self.model_input_shape,
            "num_residuals": self.num_residuals,
            "stem_filters": list(self.stem_filters),
            "dtype": serialize_dtype(self.body_dtype),
            "head_dtype": serialize_dtype(self.head_dtype),
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
            "bias_initializer": serialize_initializer(self.bias_initializer),
            "codec": self.codec.get_config(),
            "keypoint_set": None if self.keypoint_set is None else self.keypoint_set.get_config(),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
