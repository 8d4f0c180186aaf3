"""TFLite export (float32, float16, full-integer int8) with both serving signatures.

Every `.tflite` file holds the `heatmaps` and `keypoints` signatures of
`export.savedmodel` at batch size 1 (a fully static graph, what mobile runtimes
run fastest). Run it with LiteRT:

    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path="model_int8.tflite", num_threads=2)
    keypoints = interpreter.get_signature_runner("keypoints")(images=uint8_crop[None])

Int8 recipes (`int8_recipe`), all with per-channel (per output channel) weight
scales — the converter's default for convolutions — float32 inputs and outputs
(the signatures are the same as the float model's) and activation ranges from
representative images (`calibration`):

- `INT8_FULL`: every operator that has an int8 kernel runs in int8.
- `INT8_FLOAT_HEADS`: as full, but the heatmap convolutions, the last stage's
  whole head and everything downstream (ACNN's eq. 4 carry, stacking, the
  in-graph decoding) stay float32.
- `INT8_FLOAT_LAST_STAGE`: the whole last stage (its hourglass and head) and
  everything downstream stay float32; earlier stages are int8.

`export.export_model` tries them in that order and keeps the first whose decoded
joints agree with Keras's (see `export.verify.TOLERANCES`). Measured with
`python -m benchmarks.export --part accuracy` (a 2-stack, 32-filter hourglass
trained on a synthetic marker task, PCK within one heatmap pixel on 256
held-out images): float32 75.29, float16 75.32, int8 full 59.89 (−15.4),
int8 float-heads 73.75 (−1.5), int8 float-last-stage 74.78 (−0.5): only the
last recipe meets the ≤ 1 point goal, at the cost of running the last stage
in float32. float16 loses nothing.
"""

from __future__ import annotations

import os
import pathlib
import re
import tempfile
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from export._files import atomic_output, check_writable
from export.savedmodel import (
    HEATMAPS_SIGNATURE,
    IMAGE_INPUT,
    KEYPOINTS_SIGNATURE,
    save_serving_model,
)
from kerashg.codec import HeatmapCodec

QUANTIZATIONS = ("float32", "float16", "int8")
# Int8 recipes: "full" quantises every op that has an int8 kernel; "float_heads"
# keeps the heatmap convolutions (and what follows) in float32.
INT8_FULL = "full"
INT8_FLOAT_HEADS = "float_heads"
# The whole last stage (hourglass and head) in float32, earlier stages in int8.
INT8_FLOAT_LAST_STAGE = "float_last_stage"
INT8_RECIPES = (INT8_FULL, INT8_FLOAT_HEADS, INT8_FLOAT_LAST_STAGE)
# Calibration images the int8 converter reads by default (more gives little).
DEFAULT_CALIBRATION_STEPS = 64


def _check_quantize(quantize):
    if quantize not in QUANTIZATIONS:
        raise ValueError(
            f"quantize must be one of {QUANTIZATIONS}. Received: quantize={quantize!r}"
        )


def _representative_dataset(images: np.ndarray):
    """Generator factory feeding both signatures (float and uint8 images, batch 1)."""

    def generate():
        for image in images:
            floats = np.asarray(image, np.float32)[None]
            yield HEATMAPS_SIGNATURE, {IMAGE_INPUT: floats}
            uint8 = np.clip(np.round(floats * 255.0), 0, 255).astype(np.uint8)
            yield KEYPOINTS_SIGNATURE, {IMAGE_INPUT: uint8}

    return generate


def _float_head_nodes(tflite_model: bytes, last_stage: bool = False) -> list[str]:
    """Output tensor names of the heatmap heads, the last stage's whole head, and
    every op downstream of them.

    In a kerashg model the heatmap convolutions are `stack{i}_head/heatmap_conv`;
    downstream of them come ACNN's eq. 4 carry, the stacking of stages and the
    decoding. The walk stops at convolutions, so the next stage's body (fed
    through the merge's 1×1 convolution of the heatmaps) stays integer. Read
    from the flatbuffer (every signature's subgraph) and followed op by op.
    """
    from tensorflow.lite.python import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(tflite_model, 0)
    convolutions = {schema.BuiltinOperator.CONV_2D, schema.BuiltinOperator.DEPTHWISE_CONV_2D}

    def is_convolution(op):
        code = model.operatorCodes[op.opcodeIndex]
        return max(code.builtinCode, code.deprecatedBuiltinCode) in convolutions

    all_names = [
        t.name.decode() if isinstance(t.name, bytes) else t.name
        for subgraph in model.subgraphs or []
        for t in subgraph.tensors
    ]
    stages = [int(m) for m in re.findall(r"stack(\d+)_head", " ".join(all_names))]
    # The whole last stage's head (its residual block, 1×1 conv-BN-ReLU and
    # heatmap convolution) stays float: the prediction comes out of it.
    last_head = f"stack{max(stages)}_head" if stages else "heatmap_conv"
    if last_stage and stages:  # also the last hourglass: `stack{S-1}_hourglass`, ...
        last_head = f"stack{max(stages)}_"
    names = set()
    for subgraph in model.subgraphs or []:
        tensor_names = [
            t.name.decode() if isinstance(t.name, bytes) else t.name for t in subgraph.tensors
        ]
        consumers = {}
        for op in subgraph.operators or []:
            for index in op.inputs if op.inputs is not None else []:
                consumers.setdefault(int(index), []).append(op)
        frontier = [
            int(index)
            for op in subgraph.operators or []
            for index in (op.outputs if op.outputs is not None else [])
            if "heatmap_conv" in tensor_names[int(index)] or last_head in tensor_names[int(index)]
        ]
        seen = set(frontier)
        while frontier:
            index = frontier.pop()
            for op in consumers.get(index, []):
                if is_convolution(op):
                    continue
                for out in op.outputs if op.outputs is not None else []:
                    if int(out) not in seen:
                        seen.add(int(out))
                        frontier.append(int(out))
        names.update(tensor_names[index] for index in seen)
    return sorted(names)


def convert_saved_model(
    saved_model_dir: str | os.PathLike,
    quantize: str = "float32",
    calibration: np.ndarray | None = None,
    int8_recipe: str = INT8_FULL,
) -> bytes:
    """Converts a serving SavedModel (batch 1) to TFLite bytes.

    Args:
        saved_model_dir: a SavedModel written by `export.savedmodel.save_serving_model`.
        quantize: "float32", "float16" (float16 weights, float32 compute where the
            runtime prefers) or "int8" (full integer, needs `calibration`).
        calibration: float32 images (N, H, W, 3) in [0, 1] for the int8
            activation ranges.
        int8_recipe: one of `INT8_RECIPES`.

    Returns:
        the `.tflite` flatbuffer.
    """
    _check_quantize(quantize)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        str(saved_model_dir), signature_keys=[HEATMAPS_SIGNATURE, KEYPOINTS_SIGNATURE]
    )
    if quantize == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantize == "int8":
        if int8_recipe not in INT8_RECIPES:
            raise ValueError(
                f"int8_recipe must be one of {INT8_RECIPES}. Received: int8_recipe={int8_recipe!r}"
            )
        if calibration is None or len(calibration) == 0:
            raise ValueError(
                "int8 quantisation needs calibration images. Received: calibration=None"
            )
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = _representative_dataset(calibration)
        # Int8 kernels where they exist, float32 builtins for the rest (e.g. the
        # decoding's one-hot), float32 model inputs and outputs.
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
            tf.lite.OpsSet.TFLITE_BUILTINS,
        ]
        if int8_recipe in (INT8_FLOAT_HEADS, INT8_FLOAT_LAST_STAGE):
            return _convert_with_denylist(
                converter, calibration, last_stage=int8_recipe == INT8_FLOAT_LAST_STAGE
            )
    return converter.convert()


def _convert_with_denylist(converter, calibration, last_stage: bool = False) -> bytes:
    """Int8 conversion keeping the heatmap heads (and their consumers) in float32.

    Calibrates once (`_experimental_calibrate_only`, what
    `tf.lite.experimental.QuantizationDebugger` does), then quantises with the
    heatmap-head tensors on the deny list, as the debugger's
    `denylisted_nodes` option does, without its float reference interpreter.
    """
    from tensorflow.lite.python import convert as lite_convert

    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    calibrated = converter.convert()
    nodes = _float_head_nodes(calibrated, last_stage=last_stage)
    if not nodes:
        raise ValueError("no heatmap-head tensors (named '*heatmap_conv*') found to keep in float")
    return lite_convert.mlir_quantize(
        calibrated,
        disable_per_channel=False,
        fully_quantize=False,
        denylisted_nodes=nodes,
    )


def to_tflite(
    model: keras.Model,
    out: str | os.PathLike,
    *,
    quantize: str = "float32",
    calibration: Iterable | np.ndarray | None = None,
    codec: HeatmapCodec | None = None,
    int8_recipe: str = INT8_FULL,
    force: bool = False,
    verify_fn=None,
    saved_model_dir: str | os.PathLike | None = None,
) -> pathlib.Path:
    """Exports `model` to a `.tflite` file with the `heatmaps` and `keypoints` signatures.

    Args:
        model: a kerashg model.
        out: path of the `.tflite` file.
        quantize: "float32" (default), "float16" or "int8".
        calibration: for int8, representative float32 images (N, H, W, 3) in
            [0, 1] (at most `DEFAULT_CALIBRATION_STEPS` are used).
        codec: decoding of the `keypoints` signature (default: stride 4).
        int8_recipe: one of `INT8_RECIPES` (default `INT8_FULL`).
        force: replace an existing file. Default False (FileExistsError).
        verify_fn: optional callable `(temporary_path) -> None` that raises to
            reject the file before it is moved into place.
        saved_model_dir: an existing batch-1 serving SavedModel to convert
            (saves re-tracing when several quantisations are exported).

    Returns:
        `pathlib.Path(out)`.
    """
    _check_quantize(quantize)
    out = pathlib.Path(out)
    check_writable(out, force)
    if calibration is not None:
        calibration = np.asarray(
            list(calibration)[:DEFAULT_CALIBRATION_STEPS]
            if not isinstance(calibration, np.ndarray)
            else calibration[:DEFAULT_CALIBRATION_STEPS],
            np.float32,
        )
    with tempfile.TemporaryDirectory(prefix="kerashg-tflite-") as work:
        if saved_model_dir is None:
            saved_model_dir = pathlib.Path(work) / "serving"
            save_serving_model(model, saved_model_dir, codec, batch_size=1)
        flatbuffer = convert_saved_model(saved_model_dir, quantize, calibration, int8_recipe)
    with atomic_output(out, force=force) as tmp:
        tmp.write_bytes(flatbuffer)
        if verify_fn is not None:
            verify_fn(tmp)
    return out
