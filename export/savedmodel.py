"""SavedModel export with two serving signatures: `heatmaps` and `keypoints`.

- `heatmaps`: float32 images `(B, H, W, 3)` in [0, 1] → `{"heatmaps": (B, h, w, K)}`,
  the last stage's heatmaps (for ACNN also `"masks": (B, S, h, w, 1)`, every
  stage's attention mask, for drawing).
- `keypoints`: uint8 images `(B, H, W, 3)` (RGB, the model-input crop) →
  `{"keypoints": (B, K, 3)}`: x, y in pixels of that input image and the heatmap
  peak as score. The decoding is the model's own codec (`model.codec.decode`)
  inside the graph, so an application needs no post-processing code beyond
  mapping the crop back to its frame.

The functions are `kerashg.serving.ServingFunctions`, which also feed the TFLite
and ONNX exporters and `KerasRunner`, so every format computes the same
functions. The codec's settings are also written beside the graph, in
`assets.extra/kerashg_codec.json` (`HeatmapCodec.get_config()`), where a runner
that decodes heatmaps itself (the flip test) reads them, and the model's keypoint
set in `assets.extra/kerashg_keypoints.json` (`KeypointSet.get_config()`); the
TFLite converter copies both into the `.tflite` file's metadata.
"""

from __future__ import annotations

import os
import pathlib

import keras

from export._files import atomic_output, check_writable
from export.exporter import Artifact, Exporter
from kerashg.runtime import CODEC_METADATA
from kerashg.serving import ServingFunctions, artifact_metadata

# A SavedModel's folder for files TensorFlow does not load (TF Serving's convention).
EXTRA_ASSETS = "assets.extra"


def metadata_file(path: str | os.PathLike, name: str) -> pathlib.Path:
    """Where the SavedModel at `path` records the metadata `name` (JSON), e.g.
    `CODEC_METADATA` or `KEYPOINTS_METADATA`."""
    return pathlib.Path(path) / EXTRA_ASSETS / f"{name}.json"


def codec_file(path: str | os.PathLike) -> pathlib.Path:
    """Where the SavedModel at `path` records its codec (JSON)."""
    return metadata_file(path, CODEC_METADATA)


def save_serving_model(model: keras.Model, path: str | os.PathLike, batch_size=None) -> None:
    """Writes the SavedModel with both signatures and its metadata files (codec,
    keypoint set: `kerashg.serving.artifact_metadata`) at `path` (no atomicity: a helper)."""
    functions = ServingFunctions(model, batch_size)
    functions.archive().write_out(str(path), verbose=False)
    for name, text in artifact_metadata(functions).items():
        metadata_file(path, name).parent.mkdir(exist_ok=True)
        metadata_file(path, name).write_text(text)


def to_savedmodel(
    model: keras.Model,
    out: str | os.PathLike,
    *,
    force: bool = False,
    verify_fn=None,
) -> pathlib.Path:
    """Exports `model` as a SavedModel directory with `heatmaps` and `keypoints` signatures.

    The directory is written under a temporary name next to `out` and renamed
    into place only once complete (and, with `verify_fn`, verified).

    Args:
        model: a kerashg `StackedHourglass` / `ACNN` (or any model with the same
            output dict); the `keypoints` signature decodes with `model.codec`.
        out: path of the SavedModel directory to create.
        force: replace an existing `out`. Default False (FileExistsError).
        verify_fn: optional callable `(temporary_path) -> None` that raises to
            reject the export before it is moved into place.

    Returns:
        `pathlib.Path(out)`.
    """
    out = pathlib.Path(out)
    check_writable(out, force)
    with atomic_output(out, force=force, directory=True) as tmp:
        save_serving_model(model, tmp)
        if verify_fn is not None:
            verify_fn(tmp)
    return out


class SavedModelExporter(Exporter):
    """`export.exporter.Exporter` of the SavedModel folder (`to_savedmodel`)."""

    format = "savedmodel"

    def export(self, artifact: Artifact, verify_fn) -> pathlib.Path:
        return to_savedmodel(
            self.job.model, artifact.path, force=self.job.force, verify_fn=verify_fn
        )
