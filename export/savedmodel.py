"""SavedModel export with two serving signatures: `heatmaps` and `keypoints`.

- `heatmaps`: float32 images `(B, H, W, 3)` in [0, 1] → `{"heatmaps": (B, h, w, K)}`,
  the last stage's heatmaps (for ACNN also `"masks": (B, S, h, w, 1)`, every
  stage's attention mask, for drawing).
- `keypoints`: uint8 images `(B, H, W, 3)` (RGB, the model-input crop) →
  `{"keypoints": (B, K, 3)}`: x, y in pixels of that input image and the heatmap
  peak as score. The decoding is `HeatmapCodec.decode` inside the graph, so an
  application needs no post-processing code beyond mapping the crop back to its
  frame.

The same `ServingFunctions` feed the TFLite and ONNX exporters, so every format
computes the same two functions.
"""

from __future__ import annotations

import os
import pathlib

import keras
import tensorflow as tf

from export._files import atomic_output, check_writable
from kerashg.codec import HeatmapCodec

HEATMAPS_SIGNATURE = "heatmaps"
KEYPOINTS_SIGNATURE = "keypoints"
IMAGE_INPUT = "images"


def model_input_size(model: keras.Model) -> tuple[int, int]:
    """(width, height) of a kerashg model's input, read from its input shape."""
    shape = model.input_shape
    if isinstance(shape, list):
        shape = shape[0]
    if len(shape) != 4 or shape[1] is None or shape[2] is None or shape[3] != 3:
        raise ValueError(
            "Export needs a model with a fixed input (B, H, W, 3). "
            f"Received: model.input_shape={model.input_shape}"
        )
    return int(shape[2]), int(shape[1])


def default_codec(model: keras.Model) -> HeatmapCodec:
    """The codec matching `model`'s input size (heatmap = input / 4, kerashg's stride)."""
    return HeatmapCodec(input_size=model_input_size(model))


class ServingFunctions:
    """The two serving functions of a kerashg model, shared by every export format.

    Args:
        model: a kerashg model (output dict with "heatmaps" `(B, S, h, w, K)` and
            optionally "masks" `(B, S, h, w, 1)`).
        codec: the `HeatmapCodec` used to decode; default `default_codec(model)`.
        batch_size: fixed batch dimension of the signatures, or None for any
            (TFLite wants 1 for a fully static graph).
    """

    def __init__(self, model: keras.Model, codec: HeatmapCodec | None = None, batch_size=None):
        self.model = model
        self.codec = codec or default_codec(model)
        self.width, self.height = model_input_size(model)
        self.has_masks = "masks" in model.output
        shape = [batch_size, self.height, self.width, 3]
        self.float_spec = tf.TensorSpec(shape, tf.float32, name=IMAGE_INPUT)
        self.uint8_spec = tf.TensorSpec(shape, tf.uint8, name=IMAGE_INPUT)

    def heatmaps(self, images):
        """float32 images (B, H, W, 3) in [0, 1] → {"heatmaps" (B, h, w, K)[, "masks"]}."""
        outputs = self.model(images, training=False)
        result = {"heatmaps": tf.cast(outputs["heatmaps"][:, -1], tf.float32)}
        if self.has_masks:
            result["masks"] = tf.cast(outputs["masks"], tf.float32)
        return result

    def keypoints(self, images):
        """uint8 images (B, H, W, 3) → {"keypoints" (B, K, 3)}: x, y input pixels, score."""
        floats = tf.cast(images, tf.float32) / 255.0
        heatmaps = tf.cast(self.model(floats, training=False)["heatmaps"][:, -1], tf.float32)
        return {"keypoints": self.codec.decode(heatmaps)}

    def archive(self) -> keras.export.ExportArchive:
        """A Keras `ExportArchive` with both endpoints (it tracks the variables so
        the TFLite converter can freeze them)."""
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        archive.add_endpoint(HEATMAPS_SIGNATURE, self.heatmaps, input_signature=[self.float_spec])
        archive.add_endpoint(KEYPOINTS_SIGNATURE, self.keypoints, input_signature=[self.uint8_spec])
        return archive


def save_serving_model(
    model: keras.Model,
    path: str | os.PathLike,
    codec: HeatmapCodec | None = None,
    batch_size=None,
) -> None:
    """Writes the SavedModel with both signatures at `path` (no atomicity: a helper)."""
    ServingFunctions(model, codec, batch_size).archive().write_out(str(path), verbose=False)


def to_savedmodel(
    model: keras.Model,
    out: str | os.PathLike,
    *,
    codec: HeatmapCodec | None = None,
    force: bool = False,
    verify_fn=None,
) -> pathlib.Path:
    """Exports `model` as a SavedModel directory with `heatmaps` and `keypoints` signatures.

    The directory is written under a temporary name next to `out` and renamed
    into place only once complete (and, with `verify_fn`, verified).

    Args:
        model: a kerashg `StackedHourglass` / `ACNN` (or any model with the same
            output dict).
        out: path of the SavedModel directory to create.
        codec: decoding of the `keypoints` signature; default: the model's input
            size with stride 4.
        force: replace an existing `out`. Default False (FileExistsError).
        verify_fn: optional callable `(temporary_path) -> None` that raises to
            reject the export before it is moved into place.

    Returns:
        `pathlib.Path(out)`.
    """
    out = pathlib.Path(out)
    check_writable(out, force)
    with atomic_output(out, force=force, directory=True) as tmp:
        save_serving_model(model, tmp, codec)
        if verify_fn is not None:
            verify_fn(tmp)
    return out
