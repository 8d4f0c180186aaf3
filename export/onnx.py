"""ONNX export through tf2onnx, checked with onnxruntime.

The graph has one input and both serving functions as outputs:

- input `images`: float32 `(B, H, W, 3)` RGB in [0, 1] (B dynamic);
- output `heatmaps`: float32 `(B, h, w, K)`, the last stage's heatmaps;
- output `keypoints`: float32 `(B, K, 3)`, x, y in input-image pixels and the
  score, decoded inside the graph by `HeatmapCodec.decode` (gather-free);
- output `masks` (ACNN only): float32 `(B, S, h, w, 1)`.

Opset 17 by default (tf2onnx 1.17 supports up to 18; TensorRT 10 parses 9–24).
"""

from __future__ import annotations

import os
import pathlib

import keras
import tensorflow as tf

from export._files import atomic_output, check_writable
from export.savedmodel import ServingFunctions
from kerashg.codec import HeatmapCodec

DEFAULT_OPSET = 17
SUPPORTED_OPSETS = (13, 14, 15, 16, 17, 18)


def _serving_function(model: keras.Model, codec: HeatmapCodec | None):
    functions = ServingFunctions(model, codec)

    def serve(images):
        outputs = functions.heatmaps(images)
        outputs["keypoints"] = functions.codec.decode(outputs["heatmaps"])
        return outputs

    return tf.function(serve, input_signature=[functions.float_spec]), functions.float_spec


def to_onnx(
    model: keras.Model,
    out: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    codec: HeatmapCodec | None = None,
    force: bool = False,
    verify_fn=None,
) -> pathlib.Path:
    """Exports `model` to an ONNX file (outputs `heatmaps`, `keypoints`[, `masks`]).

    Args:
        model: a kerashg model.
        out: path of the `.onnx` file.
        opset: ONNX opset, 13 to 18. Default 17.
        codec: decoding of the `keypoints` output (default: stride 4).
        force: replace an existing file. Default False (FileExistsError).
        verify_fn: optional callable `(temporary_path) -> None` that raises to
            reject the file before it is moved into place.

    Returns:
        `pathlib.Path(out)`.
    """
    import onnx  # noqa: F401  (fail early with a clear ImportError if absent)
    import tf2onnx

    if opset not in SUPPORTED_OPSETS:
        raise ValueError(
            f"opset must be one of {SUPPORTED_OPSETS} (tf2onnx 1.17 refuses 19). "
            f"Received: opset={opset}"
        )
    out = pathlib.Path(out)
    check_writable(out, force)
    function, spec = _serving_function(model, codec)
    with atomic_output(out, force=force) as tmp:
        tf2onnx.convert.from_function(
            function, input_signature=[spec], opset=opset, output_path=str(tmp)
        )
        if verify_fn is not None:
            verify_fn(tmp)
    return out
