"""The serving functions of a kerashg model: one definition for Keras and every export.

- `heatmaps`: float32 images `(B, H, W, 3)` in [0, 1] → `{"heatmaps": (B, h, w, K)}`,
  the last stage's heatmaps (for ACNN also `"masks": (B, S, h, w, 1)`, every
  stage's attention mask, for drawing).
- `serve`, the one serving function: uint8 images `(B, H, W, 3)` (RGB, the
  model-input crop) → `{"heatmaps", "keypoints"[, "masks"]}`; pre-processing
  (uint8 / 255), the model, post-processing (the last stage, float32) and the
  decoding by the model's own codec (`model.codec.decode`, in the graph).
  `keypoints` (B, K, 3) holds x, y in pixels of the input image and the heatmap
  peak as score.
- `keypoints`: `serve`'s keypoints alone.

`KerasRunner` runs these functions in TensorFlow; the SavedModel and TFLite
exports hold `heatmaps` and `keypoints` as signatures, and the ONNX graph is
`serve`. So every format takes uint8 images for its keypoints and decodes with
the codec the model was trained with, written once here.

Every artifact also records, as JSON text (`artifact_metadata`), the codec
(`CODEC_METADATA`) and the model's keypoint set (`KEYPOINTS_METADATA`: names,
flip pairs, skeleton; absent for a model that has none): a SavedModel as
`assets.extra/<name>.json`, a `.tflite` file as metadata entries, an `.onnx`
file as metadata properties. `kerashg.runtime` reads them back.
"""

from __future__ import annotations

import json

import keras
import tensorflow as tf

from kerashg.codec import HeatmapCodec
from kerashg.models.heatmap_model import resolve_codec
from kerashg.runtime import CODEC_METADATA, KEYPOINTS_METADATA

HEATMAPS_SIGNATURE = "heatmaps"
KEYPOINTS_SIGNATURE = "keypoints"
IMAGE_INPUT = "images"
# uint8 pixel → the model's [0, 1] input.
PIXEL_MAX = 255.0


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


def model_codec(model: keras.Model) -> HeatmapCodec:
    """The codec of `model`: `model.codec` (every kerashg model has one); a plain
    Keras model with the same output dict gets the default codec of its input
    size, as a kerashg model without a given codec does."""
    codec = getattr(model, "codec", None)
    if codec is not None:
        return codec
    width, height = model_input_size(model)
    return resolve_codec(None, (height, width, 3))


def codec_metadata(codec: HeatmapCodec) -> str:
    """The JSON text an artifact stores under `CODEC_METADATA`."""
    return json.dumps(codec.get_config(), sort_keys=True)


def artifact_metadata(functions: ServingFunctions) -> dict[str, str]:
    """What every artifact of `functions`' model records: {name: JSON text}, the
    codec always, the keypoint set where the model has one."""
    metadata = {CODEC_METADATA: codec_metadata(functions.codec)}
    if functions.keypoint_set is not None:
        metadata[KEYPOINTS_METADATA] = json.dumps(functions.keypoint_set.get_config())
    return metadata


class ServingFunctions:
    """The serving functions of a kerashg model (see the module docstring).

    Args:
        model: a kerashg model (output dict with "heatmaps" `(B, S, h, w, K)` and
            optionally "masks" `(B, S, h, w, 1)`); it decodes with `model.codec`.
        batch_size: fixed batch dimension of the signatures, or None for any
            (TFLite wants 1 for a fully static graph).
    """

    def __init__(self, model: keras.Model, batch_size=None):
        self.model = model
        self.codec = model_codec(model)
        self.keypoint_set = getattr(model, "keypoint_set", None)
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

    def serve(self, images):
        """uint8 images (B, H, W, 3) → {"heatmaps", "keypoints" (B, K, 3)[, "masks"]}."""
        outputs = self.heatmaps(tf.cast(images, tf.float32) / PIXEL_MAX)
        outputs["keypoints"] = self.codec.decode(outputs["heatmaps"])
        return outputs

    def keypoints(self, images):
        """uint8 images (B, H, W, 3) → {"keypoints" (B, K, 3)}: x, y input pixels, score."""
        return {"keypoints": self.serve(images)["keypoints"]}

    def archive(self) -> keras.export.ExportArchive:
        """A Keras `ExportArchive` with the `heatmaps` and `keypoints` endpoints (it
        tracks the variables so the TFLite converter can freeze them)."""
        archive = keras.export.ExportArchive()
        archive.track(self.model)
        archive.add_endpoint(HEATMAPS_SIGNATURE, self.heatmaps, input_signature=[self.float_spec])
        archive.add_endpoint(KEYPOINTS_SIGNATURE, self.keypoints, input_signature=[self.uint8_spec])
        return archive
