"""Runners: one interface over every artifact format, and person crops through it.

`load_runner(artifact)` opens a `.keras` file, a SavedModel folder, a `.tflite`
or an `.onnx` file with its `Runner`; `predict_people(runner, frame, boxes)`
crops every person box (or the whole frame), runs the crops as one batch and
maps the keypoints back to frame pixels. With no box, `kerashg.cropping`
finds the person (`find_person`: the whole frame, then a crop around the
joints found) and follows one through a video (`CropTracker`).

What each artifact carries: its input size (the `images` input's shape) and its
decoding (the `keypoints` signature / output takes uint8 images and decodes
inside the graph with the model's own codec, `model.codec`), so a runner needs
no codec settings to predict keypoints. The codec's settings are also recorded
in the artifact (`Runner.codec_config`, for code that decodes heatmaps itself,
such as the flip test): in a `.keras` file's model config, a SavedModel's
`assets.extra/kerashg_codec.json`, the `.tflite` metadata entry and the `.onnx`
metadata property `kerashg_codec` (`HeatmapCodec.get_config()` as JSON; read
here without TensorFlow). The model's keypoint set (names, flip pairs, skeleton)
is recorded beside it, as `kerashg_keypoints` (`KeypointSet.get_config()`; in a
`.keras` file, the model config's `keypoint_set`), and read back as
`Runner.keypoint_set`; only for a file that records none (saved before models
recorded it) is it the built-in set with the model's joint count
(`guess_keypoint_set`: 14 LSP, 16 MPII, 17 COCO).

TensorFlow-free: this module imports NumPy only. Keras and TensorFlow load only
for a `.keras` file or a SavedModel, LiteRT only for a `.tflite` file and
onnxruntime only for an `.onnx` file, so `.tflite` and `.onnx` inference runs
where neither TensorFlow nor Keras is installed.
"""

from __future__ import annotations

import json
import pathlib
import sys

import numpy as np

from kerashg import decoding, transforms
from kerashg.boxes import check_box_in_image
from kerashg.errors import InputError
from kerashg.keypoints import KEYPOINT_SETS, KeypointSet

# The names under which an exported artifact records its codec and its keypoint
# set, as JSON (`kerashg.serving.artifact_metadata` writes them): the TFLite
# metadata entries, the ONNX metadata properties, a SavedModel's
# `assets.extra/<name>.json` files.
CODEC_METADATA = "kerashg_codec"
KEYPOINTS_METADATA = "kerashg_keypoints"


# ------------------------------------------------------------------- runners
class Runner:
    """One interface over every artifact format.

    Attributes:
        format: short format name ("keras", "savedmodel", "tflite", "onnx").
        input_size: (width, height) of the model input.
        has_masks: whether `heatmaps` also returns ACNN masks.
        codec_config: the model's `HeatmapCodec.get_config()` as the artifact
            records it (sigma, refine, sizes: what `kerashg.decoding.decode`
            needs), or None for an artifact exported before artifacts recorded
            it (its in-graph decoding is the default codec's).
        keypoint_set_config: the model's `KeypointSet.get_config()` as the
            artifact records it, or None (see `keypoint_set`).
    """

    format = "base"

    def __init__(self):
        self.input_size = None
        self.has_masks = False
        self.codec_config = None
        self.keypoint_set_config = None
        self._codec = None
        self._num_keypoints = None

    @property
    def num_keypoints(self) -> int:
        """K, the model's joint count (runs one blank crop the first time)."""
        if self._num_keypoints is None:
            probe = np.zeros((1, self.input_size[1], self.input_size[0], 3), np.uint8)
            self._num_keypoints = int(np.asarray(self.keypoints(probe)).shape[1])
        return self._num_keypoints

    @property
    def has_heatmaps(self) -> bool:
        """Whether the runner gives heatmaps (`heatmaps`; the flip test needs them):
        every artifact format does; a stand-in may give keypoints only."""
        return type(self).heatmaps is not Runner.heatmaps

    @property
    def keypoint_set(self) -> KeypointSet | None:
        """The model's `KeypointSet`, as the artifact records it; for an artifact
        that records none (saved before models recorded it, or a model built
        without one), the built-in set with its joint count, or None."""
        if self.keypoint_set_config is not None:
            return KeypointSet.from_config(self.keypoint_set_config)
        return guess_keypoint_set(self.num_keypoints)

    @property
    def codec(self):
        """The model's `HeatmapCodec`, from `codec_config` (the default codec of
        `input_size` where the artifact records none). Imports TensorFlow."""
        if self._codec is None:
            from kerashg.codec import HeatmapCodec

            config = self.codec_config or {"input_size": list(self.input_size)}
            self._codec = HeatmapCodec.from_config(config)
        return self._codec

    def heatmaps(self, images) -> dict:
        """float32 images (B, H, W, 3) in [0, 1] → {"heatmaps": (B, h, w, K)
        last stage[, "masks": (B, S, h, w, 1)]} as NumPy arrays."""
        raise NotImplementedError

    def keypoints(self, images) -> np.ndarray:
        """uint8 images (B, H, W, 3) RGB → (B, K, 3): x, y in input pixels, score."""
        raise NotImplementedError


def _batched(function, images):
    """Runs a batch-1 function over every image and stacks the outputs."""
    outputs = [function(images[i : i + 1]) for i in range(len(images))]
    if isinstance(outputs[0], dict):
        return {key: np.concatenate([o[key] for o in outputs]) for key in outputs[0]}
    return np.concatenate(outputs)


class KerasRunner(Runner):
    """A `.keras` file (or a model object), run by TensorFlow through the model's
    serving functions (`kerashg.serving.ServingFunctions`, those every export holds).

    Args:
        model: path of a `.keras` file or a built kerashg model; it decodes with
            `model.codec`.
    """

    format = "keras"

    def __init__(self, model):
        super().__init__()
        import keras

        from kerashg.model_file import load_keras_model
        from kerashg.serving import ServingFunctions

        if not isinstance(model, keras.Model):
            model = load_keras_model(model)  # one error line for each way a file is wrong
        self.model = model
        self.functions = ServingFunctions(model)
        self.input_size = (self.functions.width, self.functions.height)
        self._codec = self.functions.codec
        self.codec_config = self._codec.get_config()
        if self.functions.keypoint_set is not None:
            self.keypoint_set_config = self.functions.keypoint_set.get_config()
        self.has_masks = self.functions.has_masks
        self._compiled = {}

    def _run(self, name, images, dtype):
        import tensorflow as tf

        if name not in self._compiled:
            self._compiled[name] = tf.function(getattr(self.functions, name))
        outputs = self._compiled[name](tf.convert_to_tensor(images, dtype))
        return {key: np.asarray(value, np.float32) for key, value in outputs.items()}

    def heatmaps(self, images):
        import tensorflow as tf

        return self._run("heatmaps", np.asarray(images, np.float32), tf.float32)

    def keypoints(self, images):
        import tensorflow as tf

        return self._run("keypoints", np.asarray(images, np.uint8), tf.uint8)["keypoints"]


class SavedModelRunner(Runner):
    """A SavedModel folder with the `heatmaps` and `keypoints` signatures."""

    format = "savedmodel"

    def __init__(self, path):
        super().__init__()
        import tensorflow as tf

        # Keep the loaded object: its signatures stop working once it is collected.
        self.loaded = tf.saved_model.load(str(path))
        missing = {"heatmaps", "keypoints"} - set(self.loaded.signatures)
        if missing:
            raise InputError(
                f"SavedModel {path} lacks the serving signatures {sorted(missing)}; "
                f"found {sorted(self.loaded.signatures)} (export it with `python -m export`)"
            )
        self._heatmaps = self.loaded.signatures["heatmaps"]
        self._keypoints = self.loaded.signatures["keypoints"]
        spec = self._heatmaps.structured_input_signature[1]["images"]
        self.input_size = (int(spec.shape[2]), int(spec.shape[1]))
        self.has_masks = "masks" in self._heatmaps.structured_outputs
        extra = pathlib.Path(path) / "assets.extra"
        metadata = {p.stem: p.read_bytes() for p in extra.glob("*.json")}
        self.codec_config, self.keypoint_set_config = recorded_configs(metadata)

    def heatmaps(self, images):
        import tensorflow as tf

        outputs = self._heatmaps(images=tf.convert_to_tensor(images, tf.float32))
        return {key: value.numpy() for key, value in outputs.items()}

    def keypoints(self, images):
        import tensorflow as tf

        outputs = self._keypoints(images=tf.convert_to_tensor(images, tf.uint8))
        return outputs["keypoints"].numpy()


class TFLiteRunner(Runner):
    """A `.tflite` file with both signatures, run by LiteRT (batch 1)."""

    format = "tflite"

    def __init__(self, path, num_threads=None):
        super().__init__()
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        signatures = self.interpreter.get_signature_list()
        missing = {"heatmaps", "keypoints"} - set(signatures)
        if missing:
            raise InputError(
                f"TFLite file {path} lacks the signatures {sorted(missing)}; found "
                f"{sorted(signatures)} (export it with `python -m export`)"
            )
        self._heatmaps = self.interpreter.get_signature_runner("heatmaps")
        self._keypoints = self.interpreter.get_signature_runner("keypoints")
        shape = self._heatmaps.get_input_details()["images"]["shape"]
        self.input_size = (int(shape[2]), int(shape[1]))
        self.has_masks = "masks" in signatures["heatmaps"]["outputs"]
        self.codec_config, self.keypoint_set_config = recorded_configs(_tflite_metadata(path))

    def heatmaps(self, images):
        images = np.asarray(images, np.float32)
        return _batched(lambda x: dict(self._heatmaps(images=x)), images)

    def keypoints(self, images):
        images = np.asarray(images, np.uint8)
        return _batched(lambda x: self._keypoints(images=x)["keypoints"], images)


def recorded_configs(metadata: dict) -> tuple[dict | None, dict | None]:
    """(codec config, keypoint set config) of an artifact's metadata {name: JSON}
    (None for what it does not record)."""
    codec, keypoints = metadata.get(CODEC_METADATA), metadata.get(KEYPOINTS_METADATA)
    return (
        None if codec is None else json.loads(codec),
        None if keypoints is None else json.loads(keypoints),
    )


def _tflite_metadata(path) -> dict[str, bytes]:
    """Every metadata entry of a `.tflite` file: {name: data}."""
    from ai_edge_litert import schema_py_generated as schema

    content = pathlib.Path(path).read_bytes()
    model = schema.Model.GetRootAs(content, 0)
    metadata = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        buffer = model.Buffers(entry.Buffer())
        if buffer.Offset() > 1:  # data stored after the flatbuffer (models over 2 GB)
            data = content[buffer.Offset() : buffer.Offset() + buffer.Size()]
        else:
            data = buffer.DataAsNumpy().tobytes()
        metadata[entry.Name().decode()] = data
    return metadata


class ONNXRunner(Runner):
    """An `.onnx` file: input `images` uint8 (B, H, W, 3), outputs `heatmaps`,
    `keypoints`[, `masks`] (`export.onnx`). The graph has one input, so
    `heatmaps` of float images runs their rounding to uint8 (exact for images
    read from files, as `keypoints` takes them)."""

    format = "onnx"

    def __init__(self, path, num_threads=None):
        super().__init__()
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.outputs = [o.name for o in self.session.get_outputs()]
        missing = {"heatmaps", "keypoints"} - set(self.outputs)
        if missing:
            raise InputError(f"ONNX file {path} lacks the outputs {sorted(missing)}")
        shape = self.session.get_inputs()[0].shape
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = (int(shape[2]), int(shape[1]))
        self.has_masks = "masks" in self.outputs
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.codec_config, self.keypoint_set_config = recorded_configs(metadata)

    def _run(self, names, images):
        values = self.session.run(names, {self.input_name: np.asarray(images, np.uint8)})
        return dict(zip(names, values, strict=True))

    def heatmaps(self, images):
        names = ["heatmaps"] + (["masks"] if self.has_masks else [])
        pixels = np.clip(np.rint(np.asarray(images, np.float32) * 255.0), 0, 255)
        return self._run(names, pixels)

    def keypoints(self, images):
        return self._run(["keypoints"], images)["keypoints"]


def load_runner(artifact, num_threads=None) -> Runner:
    """Opens `artifact` with the runner of its format.

    Args:
        artifact: path of a `.keras` file, a SavedModel folder, a `.tflite` or
            an `.onnx` file (or a Keras model object).
        num_threads: CPU threads for LiteRT and onnxruntime (None: their default).
    """
    # A Keras model object exists only where Keras is loaded already: the check
    # imports nothing, so LiteRT and onnxruntime files open without TensorFlow.
    if "keras" in sys.modules and isinstance(artifact, sys.modules["keras"].Model):
        return KerasRunner(artifact)
    path = pathlib.Path(artifact)
    if not path.exists():
        raise FileNotFoundError(f"model artifact not found: {path}")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise InputError(
                "is a folder but not a SavedModel (no saved_model.pb)", path=path, field="--model"
            )
        return SavedModelRunner(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return KerasRunner(path)
    if suffix in (".tflite", ".onnx"):
        runner = TFLiteRunner if suffix == ".tflite" else ONNXRunner
        try:
            return runner(path, num_threads)
        except InputError:
            raise
        except Exception as error:  # noqa: BLE001  LiteRT and onnxruntime raise their own types
            reason = " ".join(str(error).split())[:300] or type(error).__name__
            raise InputError(
                f"cannot be opened as a {suffix} model ({type(error).__name__}: {reason})",
                path=path,
                field="--model",
            ) from None
    raise InputError(
        f"Unknown model artifact format. Received: model={str(path)!r}; expected a .keras, "
        ".tflite or .onnx file or a SavedModel folder"
    )


# --------------------------------------------------------------- person crops
def guess_keypoint_set(num_keypoints: int) -> KeypointSet | None:
    """The built-in keypoint set with `num_keypoints` joints (16 MPII, 17 COCO, 14 LSP)."""
    for keypoint_set in KEYPOINT_SETS.values():
        if keypoint_set.num_keypoints == num_keypoints:
            return keypoint_set
    return None


def whole_frame_box(width: int, height: int) -> tuple[np.ndarray, float]:
    """center (frame centre) and scale (longer side / PIXEL_STD) of a whole frame.

    Pixel centres are at integers, so the frame spans [-0.5, size - 0.5] and
    its centre is at (size - 1) / 2.
    """
    center = np.array([(width - 1) / 2.0, (height - 1) / 2.0], np.float64)
    return center, max(width, height) / transforms.PIXEL_STD


def _check_frame(frame_rgb) -> np.ndarray:
    frame_rgb = np.asarray(frame_rgb)
    if frame_rgb.ndim != 3 or frame_rgb.shape[2] != 3:
        raise InputError(f"frame must be (H, W, 3) RGB. Received: shape={frame_rgb.shape}")
    return frame_rgb


def _decoding_args(runner: Runner) -> tuple:
    """(stride, refine, sigma) of the runner's codec for `kerashg.decoding`, from
    the artifact's record without TensorFlow (through `Runner.codec` for an
    artifact that records none)."""
    config = runner.codec_config
    if config is None:
        codec = runner.codec
        return codec.stride, codec.refine, codec.sigma
    stride = tuple(i / h for i, h in zip(config["input_size"], config["heatmap_size"], strict=True))
    return stride, config["refine"], config["sigma"]


def crop_keypoints(runner: Runner, crops, flip_index=None) -> np.ndarray:
    """Keypoints of model-input crops, with or without the flip test.

    Args:
        runner: a `Runner`.
        crops: uint8 (B, H, W, 3) RGB crops of the model's input size.
        flip_index: None: the artifact's own keypoint decoding. Else
            `KeypointSet.flip_index`: the flip test, the heatmaps of each crop
            and of its mirror image averaged (`kerashg.decoding.decode_flip`),
            decoded with the model's codec as the artifact records it; it costs
            a second run of the model.

    Returns:
        float32 (B, K, 3): x, y in crop pixels and the score.
    """
    crops = np.asarray(crops, np.uint8)
    if flip_index is None:
        return np.asarray(runner.keypoints(crops), np.float32)
    images = crops.astype(np.float32) / 255.0
    heatmaps = runner.heatmaps(images)["heatmaps"]
    mirrored = runner.heatmaps(np.ascontiguousarray(images[:, :, ::-1]))["heatmaps"]
    stride, refine, sigma = _decoding_args(runner)
    keypoints = decoding.decode_flip(heatmaps, mirrored, flip_index, stride, refine, sigma)
    # The flip's half-pixel correction can take a peak on the first column half a
    # pixel past where any heatmap pixel lies; keep keypoints on the heatmap grid's
    # span, [0, (size - 1) * stride], as the plain decoding does.
    rows, columns = np.asarray(heatmaps).shape[1:3]
    keypoints[..., 0] = np.clip(keypoints[..., 0], 0.0, (columns - 1) * stride[0])
    keypoints[..., 1] = np.clip(keypoints[..., 1], 0.0, (rows - 1) * stride[1])
    return keypoints


def _predict_crops(runner: Runner, frame_rgb, centers_scales, with_masks, flip_index=None):
    """One batch of crops (one per (center, scale)) → a list of dicts, keypoints
    in frame pixels."""
    size = runner.input_size
    crops = np.stack([transforms.crop_image(frame_rgb, c, s, 0.0, size) for c, s in centers_scales])
    in_crop = crop_keypoints(runner, crops, flip_index)
    masks = None
    if with_masks and runner.has_masks:
        masks = runner.heatmaps(crops.astype(np.float32) / 255.0)["masks"][..., 0]
    people = []
    height, width = frame_rgb.shape[:2]
    corners = [[-0.5, -0.5], [width - 0.5, height - 0.5]]
    for i, (center, scale) in enumerate(centers_scales):
        inverse = transforms.get_affine_transform(center, scale, 0.0, size, inverse=True)
        keypoints = in_crop[i].astype(np.float64).copy()
        keypoints[:, :2] = transforms.transform_points(in_crop[i, :, :2], inverse)
        forward = transforms.get_affine_transform(center, scale, 0.0, size)
        (x0, y0), (x1, y1) = transforms.transform_points(np.asarray(corners), forward) + 0.5
        region = (
            int(np.clip(np.floor(x0 + 1e-6), 0, size[0])),
            int(np.clip(np.floor(y0 + 1e-6), 0, size[1])),
            int(np.clip(np.ceil(x1 - 1e-6), 0, size[0])),
            int(np.clip(np.ceil(y1 - 1e-6), 0, size[1])),
        )
        person = {
            "keypoints": keypoints.astype(np.float32),
            "crop": crops[i],
            "inverse": inverse,
            "region": region,
        }
        if masks is not None:
            person["masks"] = masks[i]
        people.append(person)
    return people


def predict_frame(runner: Runner, frame_rgb, center=None, scale=None, with_masks=False) -> dict:
    """Keypoints of one person in one frame.

    Args:
        runner: a `Runner`.
        frame_rgb: uint8 (H, W, 3) RGB.
        center, scale: the person box (hourglass convention); default the whole frame.
        with_masks: also return the ACNN masks and the crop (when the model has masks).

    Returns:
        dict with `keypoints` float32 (K, 3) x, y in frame pixels and score,
        `crop` uint8 (h, w, 3) RGB model input, `inverse` (2, 3) crop → frame
        pixels, `region` (x0, y0, x1, y1) the part of the crop the frame covers
        (the rest is letterbox), and `masks` (S, h/4, w/4) if asked.
    """
    frame_rgb = _check_frame(frame_rgb)
    if center is None or scale is None:
        center, scale = whole_frame_box(frame_rgb.shape[1], frame_rgb.shape[0])
    return _predict_crops(runner, frame_rgb, [(center, scale)], with_masks)[0]


def predict_people(
    runner: Runner, frame_rgb, boxes=None, with_masks=False, flip_index=None
) -> list[dict]:
    """Keypoints of every person box in one frame, the crops run as one batch.

    Args:
        runner: a `Runner`.
        frame_rgb: uint8 (H, W, 3) RGB.
        boxes: sequence of `[x, y, w, h]` pixel boxes; None: the whole frame is
            one person. Each box becomes a crop by `transforms.box_to_center_scale`
            (widened to the model's aspect ratio, padded 1.25×, as in training).
        with_masks: also return the ACNN masks (when the model has masks).
        flip_index: None, or `KeypointSet.flip_index` for the flip test
            (`crop_keypoints`): each crop and its mirror image, twice the runs.

    Returns:
        one dict per box (or one for the whole frame): `box` (the box or None),
        `center`, `scale`, and the `predict_frame` fields `keypoints`, `crop`,
        `inverse`, `region`[, `masks`].
    """
    frame_rgb = _check_frame(frame_rgb)
    if boxes is None:
        centers_scales = [whole_frame_box(frame_rgb.shape[1], frame_rgb.shape[0])]
        boxes = [None]
    else:
        height, width = frame_rgb.shape[:2]
        boxes = [check_box_in_image(box, width, height, "box") for box in boxes]
        if not boxes:
            return []
        width, height = runner.input_size
        centers_scales = [
            transforms.box_to_center_scale(*box, aspect_ratio=width / height) for box in boxes
        ]
    people = _predict_crops(runner, frame_rgb, centers_scales, with_masks, flip_index)
    for person, box, (center, scale) in zip(people, boxes, centers_scales, strict=True):
        person.update(box=box, center=np.asarray(center, np.float64), scale=float(scale))
    return people


def model_keypoint_set(runner: Runner, keypoint_set) -> KeypointSet | None:
    """The keypoint set given (a name or a `KeypointSet`, checked against the
    model's joint count), else the model's own (`Runner.keypoint_set`)."""
    from kerashg.keypoints import get_keypoint_set

    if keypoint_set is None:
        return runner.keypoint_set
    num_keypoints = runner.num_keypoints
    names = get_keypoint_set(keypoint_set) if isinstance(keypoint_set, str) else keypoint_set
    if names.num_keypoints != num_keypoints:
        raise InputError(
            f"keypoint set {names.name!r} has {names.num_keypoints} joints; the model "
            f"predicts {num_keypoints}",
            field="--keypoint-set",
        )
    return names
