"""TFLite export (float32, float16, full-integer int8) with both serving signatures.

Every `.tflite` file holds the `heatmaps` and `keypoints` signatures of
`export.savedmodel` at batch size 1 (a fully static graph, what mobile runtimes
run fastest), and the model's codec (`HeatmapCodec.get_config()` as JSON) in
the flatbuffer's metadata entry `kerashg_codec`. Run it with LiteRT:

    from ai_edge_litert.interpreter import Interpreter
    interpreter = Interpreter(model_path="model_int8.tflite", num_threads=2)
    keypoints = interpreter.get_signature_runner("keypoints")(images=uint8_crop[None])

Int8 recipes (`int8_recipe`), all with per-channel (per output channel) weight
scales — the converter's default for convolutions — float32 inputs and outputs
(the signatures are the same as the float model's) and activation ranges from
representative images (`calibration`, from the training pipeline):

- `INT8_PERCENTILE` (the default): every layer of the network in int8, with
  each activation's range set to its 0.01 % / 99.99 % quantiles (per
  calibration image, averaged over the images) measured by running the float
  graph in LiteRT, instead of the converter's calibrator ranges; only the
  "decoding tail" stays float32: the ops between the last convolutions and the
  signature outputs (the in-graph decoding, the stacking of stages, ACNN's
  carry of P_{i-1} and mask sigmoid), a few cheap ops on the (h, w, K) heatmaps.
- `INT8_PERCENTILE_LAST_STAGE`: percentile ranges, and the whole last stage
  (its hourglass, head and what follows) in float32 too: for models whose
  heatmaps have near-equal peaks (real photos), at about 1.4× the size.
- `INT8_FULL`: every operator that has an int8 kernel runs in int8, with the
  converter's own calibration.
- `INT8_FLOAT_HEADS`: as full, but the heatmap convolutions, the last stage's
  whole head and everything downstream (ACNN's carry P_i = H_i + P_{i-1}(1 - M_{i-1}), stacking, the
  in-graph decoding) stay float32.
- `INT8_FLOAT_LAST_STAGE`: the whole last stage (its hourglass and head) and
  everything downstream stay float32; earlier stages are int8.

Why `full` loses accuracy (found with `tf.lite.experimental.QuantizationDebugger`
and a per-tensor comparison of the calibrated float graph, on the 4-stack ACNN
trained on synthetic people): (1) the in-graph decoding quantised to int8
(argmax, neighbour signs, coordinates) alone costs about 37 PCK points of the
`keypoints` signature; (2) the converter's calibrator records ranges up to 17
times wider than the values the same graph produces on the same images for
12 % of the tensors (mostly the residual blocks' last 1×1 convolution before
the Add), so those tensors keep 3–10 dB SQNR; (3) even true min/max ranges are
set by rare outliers (the hourglass's residual sums reach ±60 with a standard
deviation of 2). Percentile ranges fix (2) and (3), a float tail fixes (1).

Measured with `python -m benchmarks.export` (docs/EXPORT.md): PCK drop
from float32 of `percentile` / `full` / `float_heads` / `float_last_stage`:
0.32 / 58.6 / 19.4 / 13.6 points (PCK@0.5 on the 256 synthetic validation
people, 4-stack ACNN, calibration from the training pipeline) and 0.90 / 15.4
/ 1.5 / 0.5 (marker model); latency 0.31× / 0.29× / 0.42× / 0.54× and size
0.263× / 0.262× / 0.295× / 0.608× of float32 (2-stack 256×256 hourglass).

`export.export_model` (`TFLiteExporter`) tries the recipes in `INT8_RECIPES`
order and keeps the first whose decoded joints agree with Keras's (see
`export.verify.TOLERANCES`).
"""

from __future__ import annotations

import os
import pathlib
import re
import tempfile
import warnings
from collections.abc import Iterable

import keras
import numpy as np
import tensorflow as tf

from export._files import atomic_output, check_writable
from export.exporter import Artifact, Exporter
from export.options import (
    DEFAULT_CALIBRATION_STEPS,
    DEFAULT_INT8_RECIPE,
    INT8_FLOAT_HEADS,
    INT8_FLOAT_LAST_STAGE,
    INT8_PERCENTILE,
    INT8_PERCENTILE_LAST_STAGE,
    INT8_RECIPES,
)
from export.savedmodel import metadata_file, save_serving_model
from kerashg.runtime import CODEC_METADATA, KEYPOINTS_METADATA
from kerashg.serving import HEATMAPS_SIGNATURE, IMAGE_INPUT, KEYPOINTS_SIGNATURE

QUANTIZATIONS = ("float32", "float16", "int8")
# Int8 recipes (`INT8_PERCENTILE`, ...) and `DEFAULT_CALIBRATION_STEPS`: see
# `export.options`, where `python -m export --help` reads them without TensorFlow.
# Activation range of `INT8_PERCENTILE`: the (100 - p) % and p % quantiles of each
# tensor, per calibration image, averaged over the images.
RANGE_PERCENTILE = 99.99
# Values per tensor and image the quantiles are estimated from (a fixed random
# sample of larger tensors: 2^16 values put the 99.99 % quantile between the
# 6th and 7th largest).
_QUANTILE_SAMPLE = 1 << 16
# Alignment of tensor data in the flatbuffer (what the converter writes).
_BUFFER_ALIGNMENT = 16


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
    downstream of them come ACNN's carry P_i = H_i + P_{i-1}(1 - M_{i-1}), the stacking of stages and the
    decoding. The walk stops at convolutions, so the next stage's body (fed
    through the merge's 1×1 convolution of the heatmaps) stays integer. Read
    from the flatbuffer (every signature's subgraph) and followed op by op.
    """
    model = _schema().ModelT.InitFromPackedBuf(tflite_model, 0)
    all_names = [_tensor_name(t) for subgraph in model.subgraphs or [] for t in subgraph.tensors]
    stages = [int(m) for m in re.findall(r"stack(\d+)_head", " ".join(all_names))]
    # The whole last stage's head (its residual block, 1×1 conv-BN-ReLU and
    # heatmap convolution) stays float: the prediction comes out of it.
    last_head = f"stack{max(stages)}_head" if stages else "heatmap_conv"
    if last_stage and stages:  # also the last hourglass: `stack{S-1}_hourglass`, ...
        last_head = f"stack{max(stages)}_"
    names = set()
    for subgraph in model.subgraphs or []:
        tensor_names = [_tensor_name(t) for t in subgraph.tensors]
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
                if _is_convolution(model, op):
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
    int8_recipe: str = DEFAULT_INT8_RECIPE,
    compact: bool = True,
) -> bytes:
    """Converts a serving SavedModel (batch 1) to TFLite bytes.

    Args:
        saved_model_dir: a SavedModel written by `export.savedmodel.save_serving_model`.
        quantize: "float32", "float16" (float16 weights, float32 compute where the
            runtime prefers) or "int8" (full integer, needs `calibration`).
        calibration: float32 images (N, H, W, 3) in [0, 1] for the int8
            activation ranges.
        int8_recipe: one of `INT8_RECIPES`.
        compact: store identical vectors once and shorten tensor names
            (`_compact`: same outputs, bit-exact, fewer bytes). Default True.

    The SavedModel's metadata files (`export.savedmodel.metadata_file`: the
    codec, the keypoint set) become the file's metadata entries `kerashg_codec`
    and `kerashg_keypoints`.

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
    if quantize == "int8" and int8_recipe in (INT8_PERCENTILE, INT8_PERCENTILE_LAST_STAGE):
        last_stage = int8_recipe == INT8_PERCENTILE_LAST_STAGE
        flatbuffer = _convert_percentile(converter, calibration, last_stage=last_stage)
    elif quantize == "int8" and int8_recipe in (INT8_FLOAT_HEADS, INT8_FLOAT_LAST_STAGE):
        flatbuffer = _convert_with_denylist(
            converter, calibration, last_stage=int8_recipe == INT8_FLOAT_LAST_STAGE
        )
    else:
        flatbuffer = converter.convert()
    metadata = {
        name: metadata_file(saved_model_dir, name).read_bytes()
        for name in (CODEC_METADATA, KEYPOINTS_METADATA)
        if metadata_file(saved_model_dir, name).is_file()
    }
    return _compact(flatbuffer, metadata) if compact else _with_metadata(flatbuffer, metadata)


def _schema():
    from tensorflow.lite.python import schema_py_generated as schema

    return schema


def _tensor_name(tensor) -> str:
    return tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name


def _is_convolution(model, op) -> bool:
    schema = _schema()
    code = model.operatorCodes[op.opcodeIndex]
    return max(code.builtinCode, code.deprecatedBuiltinCode) in (
        schema.BuiltinOperator.CONV_2D,
        schema.BuiltinOperator.DEPTHWISE_CONV_2D,
    )


def _is_network_convolution(model, subgraph, op) -> bool:
    """A convolution of the network, as opposed to a per-map filter of the decoding.

    The codec's DARK refinement blurs each heatmap as a one-channel image
    (`(B·K, h, w, 1)`); every convolution of a kerashg network reads many
    channels.
    """
    if not _is_convolution(model, op):
        return False
    shape = subgraph.tensors[int(op.inputs[0])].shape
    return shape is None or len(shape) == 0 or int(shape[-1]) > 1


def _decoding_tail_nodes(model) -> list[str]:
    """Tensor names between the network's last convolutions and the signature outputs.

    Walks every subgraph upstream from its outputs and stops at the network's
    convolutions (`_is_network_convolution`): the result is the in-graph
    decoding of `keypoints` (with DARK's blur, if the codec refines so), the
    stacking of the stages' heatmaps, and for ACNN the carry of P_{i-1} and the
    masks' sigmoid. Run in int8, the decoding alone (argmax, neighbour signs,
    pixel coordinates) loses most of the accuracy; in float32 it costs a few
    cheap ops on (h, w, K) maps.

    Args:
        model: a `schema_py_generated.ModelT` (the calibrated float model).
    """
    names = set()
    for subgraph in model.subgraphs or []:
        tensors = subgraph.tensors
        producer = {
            int(index): op
            for op in subgraph.operators or []
            for index in (op.outputs if op.outputs is not None else [])
        }
        frontier = [int(index) for index in subgraph.outputs]
        seen = set(frontier)
        while frontier:
            op = producer.get(frontier.pop())
            if op is None or _is_network_convolution(model, subgraph, op):
                continue
            for index in op.inputs if op.inputs is not None else []:
                index = int(index)
                if index in producer and index not in seen:
                    seen.add(index)
                    frontier.append(index)
        names.update(_tensor_name(tensors[index]) for index in seen)
    return sorted(names)


def _percentile_ranges(
    calibrated: bytes, images: np.ndarray, percentile: float = RANGE_PERCENTILE
) -> bytes:
    """Replaces the calibrator's activation ranges with percentile ranges.

    Runs the calibrated (still float) model in LiteRT, every signature on
    every image (uint8 inputs get the rounded images), and sets each activation
    tensor's range to the `100 - percentile` % and `percentile` % quantiles of
    its values, per image, averaged over the images (widened to contain 0).

    Args:
        calibrated: a flatbuffer from a calibrate-only conversion (its
            activations carry min/max statistics).
        images: float32 (N, H, W, 3) in [0, 1].
        percentile: upper quantile in percent (e.g. 99.99).

    Returns:
        the flatbuffer with the new ranges, ready for `mlir_quantize`.
    """
    import flatbuffers
    from ai_edge_litert.interpreter import Interpreter

    model = _schema().ModelT.InitFromPackedBuf(calibrated, 0)
    with warnings.catch_warnings():  # "for debugging purposes only": reading them is the point
        warnings.filterwarnings("ignore", message=".*experimental_preserve_all_tensors")
        interpreter = Interpreter(
            model_content=calibrated, experimental_preserve_all_tensors=True, num_threads=1
        )
    quantiles = [1.0 - percentile / 100.0, percentile / 100.0]
    rng = np.random.default_rng(0)
    samples = {}
    for signature in model.signatureDefs or []:
        key = (
            signature.signatureKey.decode()
            if isinstance(signature.signatureKey, bytes)
            else (signature.signatureKey)
        )
        index = int(signature.subgraphIndex)
        tensors = model.subgraphs[index].tensors
        ranged = [
            i
            for i, tensor in enumerate(tensors)
            if tensor.quantization is not None
            and tensor.quantization.min is not None
            and len(tensor.quantization.min) == 1
        ]
        runner = interpreter.get_signature_runner(key)
        input_name, details = next(iter(runner.get_input_details().items()))
        bounds = np.zeros((len(images), len(ranged), 2))
        for n, image in enumerate(np.asarray(images, np.float32)):
            batch = image[None]
            if details["dtype"] == np.uint8:
                batch = np.clip(np.round(batch * 255.0), 0, 255).astype(np.uint8)
            runner(**{input_name: batch})
            for j, i in enumerate(ranged):
                values = interpreter.get_tensor(i, subgraph_index=index).ravel()
                if values.size > _QUANTILE_SAMPLE:
                    if values.size not in samples:
                        samples[values.size] = rng.choice(values.size, _QUANTILE_SAMPLE, False)
                    values = values[samples[values.size]]
                bounds[n, j] = np.quantile(values, quantiles)
        low, high = bounds.mean(axis=0).T
        for i, lo, hi in zip(ranged, np.minimum(low, 0.0), np.maximum(high, 0.0), strict=True):
            tensors[i].quantization.min = [float(lo)]
            tensors[i].quantization.max = [float(max(hi, lo + 1e-6))]
    builder = flatbuffers.Builder(len(calibrated))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _calibrate_only(converter) -> bytes:
    """The float model with activation statistics (what the debugger calibrates)."""
    converter.experimental_mlir_quantizer = True
    converter._experimental_calibrate_only = True
    return converter.convert()


def _convert_percentile(converter, calibration: np.ndarray, last_stage: bool = False) -> bytes:
    """`INT8_PERCENTILE`: percentile activation ranges, the decoding tail in float32
    (`last_stage`: and the last stage, `_float_head_nodes`)."""
    from tensorflow.lite.python import convert as lite_convert

    # The calibrator's own ranges are replaced: one image gives every tensor
    # its statistics slot.
    converter.representative_dataset = _representative_dataset(calibration[:1])
    calibrated = _percentile_ranges(_calibrate_only(converter), calibration)
    floats = set(_decoding_tail_nodes(_schema().ModelT.InitFromPackedBuf(calibrated, 0)))
    if last_stage:
        floats.update(_float_head_nodes(calibrated, last_stage=True))
    return lite_convert.mlir_quantize(
        calibrated,
        disable_per_channel=False,
        fully_quantize=False,
        denylisted_nodes=sorted(floats),
    )


def _compact(flatbuffer: bytes, metadata: dict[str, bytes] | None = None) -> bytes:
    """The same model in fewer bytes: identical vectors stored once, short tensor names;
    and `metadata` (name → bytes) added as metadata entries.

    The converter writes every tensor's per-channel scales and (int64, all
    zero) zero points again in each signature's subgraph, and names fused
    tensors by every op folded into them (`a;b;c`). Here every identical
    vector (scales, zero points, shapes, constant data) is written once and
    referenced wherever it occurs, and each name keeps its first part. Tensor
    data stays 16-byte aligned. The graph, the constants and hence the outputs
    are unchanged (bit-exact): only the flatbuffer's layout differs.
    """

    model = _schema().ModelT.InitFromPackedBuf(flatbuffer, 0)
    for subgraph in model.subgraphs or []:
        for tensor in subgraph.tensors or []:
            if tensor.name is not None:
                tensor.name = _tensor_name(tensor).split(";")[0]
    _append_metadata(model, metadata)
    builder = _sharing_builder_class()(len(flatbuffer))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _append_metadata(model, metadata: dict[str, bytes] | None) -> None:
    """Adds each `name → bytes` of `metadata` to a `ModelT` as a metadata entry."""
    schema = _schema()
    for name, data in (metadata or {}).items():
        buffer = schema.BufferT()
        buffer.data = np.frombuffer(data, np.uint8)
        model.buffers.append(buffer)
        entry = schema.MetadataT()
        entry.name, entry.buffer = name, len(model.buffers) - 1
        model.metadata = [*(model.metadata or []), entry]


def _with_metadata(flatbuffer: bytes, metadata: dict[str, bytes]) -> bytes:
    """`flatbuffer` with `metadata` (name → bytes) added, otherwise as it is."""
    if not metadata:
        return flatbuffer
    import flatbuffers

    model = _schema().ModelT.InitFromPackedBuf(flatbuffer, 0)
    _append_metadata(model, metadata)
    builder = flatbuffers.Builder(len(flatbuffer))
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _sharing_builder_class():
    import flatbuffers

    class SharingBuilder(flatbuffers.Builder):
        """A flatbuffers builder that writes each distinct numpy vector once."""

        def __init__(self, size):
            super().__init__(size)
            self._vectors = {}

        def CreateNumpyVector(self, x):  # noqa: N802 (flatbuffers' name)
            key = (x.dtype.str, x.tobytes())
            if key not in self._vectors:
                if x.dtype == np.uint8:  # tensor data: aligned as the converter does
                    data = x.tobytes()
                    self.StartVector(1, len(data), _BUFFER_ALIGNMENT)
                    self.head = self.head - len(data)
                    self.Bytes[self.head : self.head + len(data)] = data
                    self.vectorNumElems = len(data)
                    self._vectors[key] = self.EndVector()
                else:
                    self._vectors[key] = super().CreateNumpyVector(x)
            return self._vectors[key]

    return SharingBuilder


def _convert_with_denylist(converter, calibration, last_stage: bool = False) -> bytes:
    """Int8 conversion keeping the heatmap heads (and their consumers) in float32.

    Calibrates once (`_experimental_calibrate_only`, what
    `tf.lite.experimental.QuantizationDebugger` does), then quantises with the
    heatmap-head tensors on the deny list, as the debugger's
    `denylisted_nodes` option does, without its float reference interpreter.
    """
    from tensorflow.lite.python import convert as lite_convert

    calibrated = _calibrate_only(converter)
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
    int8_recipe: str = DEFAULT_INT8_RECIPE,
    force: bool = False,
    verify_fn=None,
    saved_model_dir: str | os.PathLike | None = None,
) -> pathlib.Path:
    """Exports `model` to a `.tflite` file with the `heatmaps` and `keypoints` signatures.

    Args:
        model: a kerashg model; `keypoints` decodes with `model.codec`.
        out: path of the `.tflite` file.
        quantize: "float32" (default), "float16" or "int8".
        calibration: for int8, representative float32 images (N, H, W, 3) in
            [0, 1] (at most `DEFAULT_CALIBRATION_STEPS` are used).
        int8_recipe: one of `INT8_RECIPES` (default `INT8_PERCENTILE`).
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
            save_serving_model(model, saved_model_dir, batch_size=1)
        flatbuffer = convert_saved_model(saved_model_dir, quantize, calibration, int8_recipe)
    with atomic_output(out, force=force) as tmp:
        tmp.write_bytes(flatbuffer)
        if verify_fn is not None:
            verify_fn(tmp)
    return out


# The fields of each int8 attempt the report keeps (`int8_attempts`).
_ATTEMPT_FIELDS = ("int8_recipe", "passed", "joint_agreement", "failures")


class TFLiteExporter(Exporter):
    """`export.exporter.Exporter` of the `.tflite` files, one per precision.

    The batch-1 serving SavedModel is written once and converted for every
    precision. Int8 tries the job's recipes in order (`INT8_RECIPES`: the
    percentile recipe first) and keeps the first whose decoded joints pass the
    tolerance; its entry names the recipe (`int8_recipe`) and lists every
    attempt (`int8_attempts`: recipe, passed, joint agreement, failures).
    """

    format = "tflite"
    serving = None  # the batch-1 serving SavedModel, once `export_all` has written it

    def export(
        self, artifact: Artifact, verify_fn, int8_recipe: str = DEFAULT_INT8_RECIPE
    ) -> pathlib.Path:
        return to_tflite(
            self.job.model,
            artifact.path,
            quantize=artifact.precision,
            calibration=self.job.calibration,
            int8_recipe=int8_recipe,
            force=self.job.force,
            verify_fn=verify_fn,
            saved_model_dir=self.serving,
        )

    def export_all(self, artifacts) -> list[dict]:
        self.serving = self.job.work / "serving_batch1"
        save_serving_model(self.job.model, self.serving, batch_size=1)
        return [
            self.export_int8(artifact) if artifact.precision == "int8" else self.run(artifact)
            for artifact in artifacts
        ]

    def export_int8(self, artifact: Artifact) -> dict:
        """The int8 file of the first recipe that passes (without the verification
        gate: the first that was written); the entry of the last recipe tried."""
        attempts = []
        for recipe in self.job.int8_recipes:
            entry = {**self.run(artifact, int8_recipe=recipe), "int8_recipe": recipe}
            attempts.append(entry)
            written = not self.job.verify_gate and "joint_agreement" in entry
            if entry.get("passed") or written:
                break
        final = dict(attempts[-1])
        final["int8_attempts"] = [{k: a.get(k) for k in _ATTEMPT_FIELDS} for a in attempts]
        return final
