"""ONNX export through tf2onnx, checked with onnxruntime.

The graph is `kerashg.serving.ServingFunctions.serve`, the one serving function:

- input `images`: uint8 `(B, H, W, 3)` RGB, the model-input crop (B dynamic), as
  the SavedModel's and TFLite's `keypoints` signatures take;
- output `heatmaps`: float32 `(B, h, w, K)`, the last stage's heatmaps (of
  `images / 255`);
- output `keypoints`: float32 `(B, K, 3)`, x, y in input-image pixels and the
  score, decoded inside the graph by the model's codec (`model.codec.decode`,
  gather-free);
- output `masks` (ACNN only): float32 `(B, S, h, w, 1)`.

An ONNX graph has one input for all its outputs, so the heatmaps too are of
uint8 images (`kerashg.runtime.ONNXRunner.heatmaps` rounds float images to
uint8, exact for images read from files). The codec's settings are in the
model's metadata, property `kerashg_codec` (`HeatmapCodec.get_config()` as JSON), and
its keypoint set as property `kerashg_keypoints` (`KeypointSet.get_config()`).

Opset 17 by default (tf2onnx 1.17 supports up to 18; TensorRT 10 parses 9–24).
"""

from __future__ import annotations

import os
import pathlib

import keras
import tensorflow as tf

from export._files import atomic_output, check_writable
from export.exporter import Artifact, Exporter
from kerashg.serving import ServingFunctions, artifact_metadata

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = (13, 14, 15, 16, 17, 18)


def to_onnx(
    model: keras.Model,
    out: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    force: bool = False,
    verify_fn=None,
) -> pathlib.Path:
    """Exports `model` to an ONNX file (outputs `heatmaps`, `keypoints`[, `masks`]).

    Args:
        model: a kerashg model; `keypoints` decodes with `model.codec`.
        out: path of the `.onnx` file.
        opset: ONNX opset, 13 to 18. Default 17.
        force: replace an existing file. Default False (FileExistsError).
        verify_fn: optional callable `(temporary_path) -> None` that raises to
            reject the file before it is moved into place.

    Returns:
        `pathlib.Path(out)`.
    """
    import onnx
    import tf2onnx

    if opset not in SUPPORTED_OPSETS:
        raise ValueError(
            f"opset must be one of {SUPPORTED_OPSETS} (tf2onnx 1.17 refuses 19). "
            f"Received: opset={opset}"
        )
    out = pathlib.Path(out)
    check_writable(out, force)
    functions = ServingFunctions(model)
    function = tf.function(functions.serve, input_signature=[functions.uint8_spec])
    graph, _ = tf2onnx.convert.from_function(
        function, input_signature=[functions.uint8_spec], opset=opset
    )
    onnx.helper.set_model_props(graph, artifact_metadata(functions))
    with atomic_output(out, force=force) as tmp:
        onnx.save(graph, str(tmp))
        if verify_fn is not None:
            verify_fn(tmp)
    return out


class ONNXExporter(Exporter):
    """`export.exporter.Exporter` of the ONNX file (`to_onnx`); the file, once in
    place, is the one TensorRT's engines are built from (`ExportJob.onnx_path`)."""

    format = "onnx"

    def export(self, artifact: Artifact, verify_fn) -> pathlib.Path:
        path = to_onnx(self.job.model, artifact.path, force=self.job.force, verify_fn=verify_fn)
        self.job.onnx_path = path
        return path
