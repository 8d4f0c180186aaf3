"""Inference on images, folders and videos from any exported artifact.

    python -m kerashg.predict INPUT [--model ARTIFACT] [--out DIR [--force]]
        [--box X,Y,W,H ... | --boxes FILE [--box-score-threshold S]]
        [--smooth [--smooth-min-cutoff HZ] [--smooth-beta B] [--smooth-d-cutoff HZ]]

`ARTIFACT` is a `.keras` file, a SavedModel folder (from `python -m export`), a
`.tflite` file or an `.onnx` file; each is run by a small runner class behind
one interface (`Runner`). LiteRT and onnxruntime are imported only when such a
file is opened, so the library works without the export extras. Without
`--model` the shipped `DEFAULT_MODEL` (`kerashg/weights/acnn4_lsp_128.keras`) is used.

People: without a person box the whole frame is one person: `center` = frame
centre, `scale` = longer side / `PIXEL_STD`, so the crop is the frame letterboxed
into the model input. `--box x,y,w,h` (repeatable) gives person boxes in pixels
of the original image, used for every image and video frame; `--boxes FILE`
reads them from a COCO detection-results JSON (see `PersonBoxes`: matched to
images by file name or by the image id in the file name, to video frames by
`image_id` = 0-based frame index). Each box becomes one crop through
`transforms.box_to_center_scale` (as in training); keypoints decoded in crop
pixels are mapped back to the frame with the inverse of the crop transform.

Video smoothing: `--smooth` runs a One Euro filter (`kerashg.smoothing`) on the
x, y of every joint of each person track over consecutive frames, with the
video's fps. Tracks: with the whole frame or `--box`, the i-th person of every
frame; with `--boxes`, boxes are linked to the previous frame's by greedy IoU
(≥ 0.3), a new track otherwise. The smoothed keypoints are the ones drawn and
written. Smoothing needs consecutive frames: `--smooth` on an image or a folder
is an error.

Outputs in `--out`: `keypoints.json`, the images with one skeleton per person
drawn (`<name>_<ext>_pose.jpg`, person boxes as grey rectangles), for ACNN the
attention masks of every stage over each person's crop
(`<name>_<ext>_masks.jpg`, one row per person, as in the paper's Fig. 6), and
for a video an annotated copy (`<name>_<ext>_pose.mp4`). Output names keep the
whole input name, its extension's dot written as `_` (`output_name`):
`a.jpg` → `a_jpg_pose.jpg`, `a.png` → `a_png_pose.jpg`, `clip.mp4` →
`clip_mp4_pose.mp4`, so two inputs never share an output. Nothing is
overwritten silently: when any output of the run already exists in `--out`
(an earlier run, the user's own file) `predict` refuses before any work,
with one error naming the file, unless `--force` is given; and no output may
replace an input of the run (an image, the video, the `--boxes` file, the
model), with `--force` or not. The layout of `keypoints.json`:

    {"model", "format", "keypoint_set", "joint_names", "coordinates",
     "boxes": "whole frame" | "--box" | the --boxes file,
     "smoothed": bool, "smoothing": null | {"filter", "fps", "min_cutoff", "beta", "d_cutoff"},
     "results": [  # one per image or video frame
       {"image": file name, "frame": video frame index or null,
        "people": [{"box": [x, y, w, h] or null (whole frame),
                    "box_score": detector score or null,
                    "track": id (video only),
                    "keypoints": K × [x, y, score]}, ...],
        "keypoints": the first person's keypoints, or null when there is none
                     (the single-person layout of earlier versions)}]}

x, y are in pixels of the original image (0-based), score is the heatmap peak.
An image with no box in a `--boxes` file has `"people": []` and is drawn as is.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import sys
import time

import numpy as np

from kerashg import transforms
from kerashg.keypoints import KEYPOINT_SETS, KeypointSet

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v")
# The model used when none is given (shipped with the package).
DEFAULT_MODEL = pathlib.Path(__file__).parent / "weights" / "acnn4_lsp_128.keras"
# One Euro speed coefficient for keypoints in pixels: on a 30 fps track it keeps
# about 1/3 of a still joint's jitter (0.30 with beta 0) while following a
# 100 px jump within 1 px in 6 frames instead of 24 (tests/test_smoothing.py).
DEFAULT_SMOOTH_BETA = 0.007


# ------------------------------------------------------------------- runners
class Runner:
    """One interface over every artifact format.

    Attributes:
        format: short format name ("keras", "savedmodel", "tflite", "onnx").
        input_size: (width, height) of the model input.
        has_masks: whether `heatmaps` also returns ACNN masks.
    """

    format = "base"

    def __init__(self):
        self.input_size = None
        self.has_masks = False

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
    """A `.keras` file (or a model object): heatmaps from the model, decoding in TF.

    Args:
        model: path of a `.keras` file or a built kerashg model.
        codec: `HeatmapCodec`; default from the model's input size (stride 4).
    """

    format = "keras"

    def __init__(self, model, codec=None):
        super().__init__()
        import keras

        import kerashg  # noqa: F401  (registers the kerashg layers for loading)
        from kerashg.codec import HeatmapCodec

        if not isinstance(model, keras.Model):
            model = keras.saving.load_model(str(model), compile=False)
        self.model = model
        shape = model.input_shape
        self.input_size = (int(shape[2]), int(shape[1]))
        self.codec = codec or HeatmapCodec(input_size=self.input_size)
        self.has_masks = "masks" in model.output
        self._predict = None

    def _outputs(self, images):
        import tensorflow as tf

        if self._predict is None:
            self._predict = tf.function(lambda x: self.model(x, training=False))
        return self._predict(tf.convert_to_tensor(images, tf.float32))

    def heatmaps(self, images):
        outputs = self._outputs(np.asarray(images, np.float32))
        result = {"heatmaps": np.asarray(outputs["heatmaps"][:, -1], np.float32)}
        if self.has_masks:
            result["masks"] = np.asarray(outputs["masks"], np.float32)
        return result

    def keypoints(self, images):
        floats = np.asarray(images, np.float32) / 255.0
        heatmaps = self._outputs(floats)["heatmaps"][:, -1]
        return np.asarray(self.codec.decode(heatmaps), np.float32)


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
            raise ValueError(
                f"SavedModel {path} lacks the serving signatures {sorted(missing)}; "
                f"found {sorted(self.loaded.signatures)} (export it with `python -m export`)"
            )
        self._heatmaps = self.loaded.signatures["heatmaps"]
        self._keypoints = self.loaded.signatures["keypoints"]
        spec = self._heatmaps.structured_input_signature[1]["images"]
        self.input_size = (int(spec.shape[2]), int(spec.shape[1]))
        self.has_masks = "masks" in self._heatmaps.structured_outputs

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
            raise ValueError(
                f"TFLite file {path} lacks the signatures {sorted(missing)}; found "
                f"{sorted(signatures)} (export it with `python -m export`)"
            )
        self._heatmaps = self.interpreter.get_signature_runner("heatmaps")
        self._keypoints = self.interpreter.get_signature_runner("keypoints")
        shape = self._heatmaps.get_input_details()["images"]["shape"]
        self.input_size = (int(shape[2]), int(shape[1]))
        self.has_masks = "masks" in signatures["heatmaps"]["outputs"]

    def heatmaps(self, images):
        images = np.asarray(images, np.float32)
        return _batched(lambda x: dict(self._heatmaps(images=x)), images)

    def keypoints(self, images):
        images = np.asarray(images, np.uint8)
        return _batched(lambda x: self._keypoints(images=x)["keypoints"], images)


class ONNXRunner(Runner):
    """An `.onnx` file (input `images` float32, outputs `heatmaps`, `keypoints`[, `masks`])."""

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
            raise ValueError(f"ONNX file {path} lacks the outputs {sorted(missing)}")
        shape = self.session.get_inputs()[0].shape
        self.input_name = self.session.get_inputs()[0].name
        self.input_size = (int(shape[2]), int(shape[1]))
        self.has_masks = "masks" in self.outputs

    def _run(self, names, images):
        values = self.session.run(names, {self.input_name: np.asarray(images, np.float32)})
        return dict(zip(names, values, strict=True))

    def heatmaps(self, images):
        names = ["heatmaps"] + (["masks"] if self.has_masks else [])
        return self._run(names, images)

    def keypoints(self, images):
        floats = np.asarray(images, np.float32) / 255.0
        return self._run(["keypoints"], floats)["keypoints"]


def load_runner(artifact, num_threads=None) -> Runner:
    """Opens `artifact` with the runner of its format.

    Args:
        artifact: path of a `.keras` file, a SavedModel folder, a `.tflite` or
            an `.onnx` file (or a Keras model object).
        num_threads: CPU threads for LiteRT and onnxruntime (None: their default).
    """
    import keras

    if isinstance(artifact, keras.Model):
        return KerasRunner(artifact)
    path = pathlib.Path(artifact)
    if not path.exists():
        raise FileNotFoundError(f"model artifact not found: {path}")
    if path.is_dir():
        if not (path / "saved_model.pb").is_file():
            raise ValueError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
        return SavedModelRunner(path)
    suffix = path.suffix.lower()
    if suffix == ".keras":
        return KerasRunner(path)
    if suffix == ".tflite":
        return TFLiteRunner(path, num_threads)
    if suffix == ".onnx":
        return ONNXRunner(path, num_threads)
    raise ValueError(
        f"Unknown model artifact format. Received: model={str(path)!r}; expected a .keras, "
        ".tflite or .onnx file or a SavedModel folder"
    )


# ------------------------------------------------------------- person boxes
class BoxError(ValueError):
    """A `--box` value or a `--boxes` file that cannot be used as person boxes."""


def check_box(box, where: str) -> tuple[float, float, float, float]:
    """`box` as 4 finite floats x, y, w, h with w, h > 0, or a `BoxError` naming `where`."""
    try:
        values = tuple(float(v) for v in box)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)) or values[2] <= 0 or values[3] <= 0:
        raise BoxError(f"{where} must be x, y, w, h: 4 numbers with w, h > 0. Received: {box!r}")
    return values


def parse_box(text: str) -> tuple[float, float, float, float]:
    """A `--box` value "x,y,w,h" (pixels of the original image) → 4 floats."""
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(np.isfinite(values)) or values[2] <= 0 or values[3] <= 0:
        raise BoxError(
            f"--box must be x,y,w,h: 4 comma-separated numbers with w, h > 0. "
            f"Received: --box {text!r}"
        )
    return tuple(values)


def image_id_from_name(name: str) -> int | None:
    """The COCO image id in a file name: its last run of digits (000000000139.jpg → 139)."""
    digits = re.findall(r"\d+", pathlib.Path(name).stem)
    return int(digits[-1]) if digits else None


class PersonBoxes:
    """Person boxes of a COCO detection-results file, looked up per image or frame.

    The file holds a JSON list of `{"image_id" or "file_name", "bbox": [x, y, w, h],
    "score"}` objects (pixels of the original image; `score` optional, default 1).
    An entry with a `file_name` matches the image of that base name; otherwise its
    `image_id` matches the image whose file name holds that number (the COCO
    convention: `000000000139.jpg` is image 139) or, for a video, the 0-based
    frame index. Entries with a `category_id` other than 1 (COCO's person) and
    entries scoring below `score_threshold` are dropped.

    Args:
        path: the JSON file.
        score_threshold: boxes scoring below it are dropped.
    """

    def __init__(self, path, score_threshold: float = 0.0):
        self.path = pathlib.Path(path)
        where = f"--boxes file {self.path}"
        if not self.path.is_file():
            raise FileNotFoundError(f"{where} not found")
        try:
            entries = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BoxError(f"{where} is not a JSON file: {error}") from None
        if not isinstance(entries, list):
            raise BoxError(
                f"{where} must hold a JSON list of detections (COCO results format). "
                f"Received: a {type(entries).__name__}"
            )
        self.by_name: dict[str, list[dict]] = {}
        self.by_id: dict[int, list[dict]] = {}
        self.dropped = {"low_score": 0, "not_person": 0}
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise BoxError(f"{where}: entry {i} must be an object. Received: {entry!r}")
            if "bbox" not in entry:
                raise BoxError(f"{where}: entry {i} has no 'bbox' field. Received: {entry!r}")
            box = check_box(entry["bbox"], f"{where}: entry {i} field 'bbox'")
            score = entry.get("score", 1.0)
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise BoxError(
                    f"{where}: entry {i} field 'score' must be a number. Received: {score!r}"
                )
            if entry.get("category_id", 1) != 1:
                self.dropped["not_person"] += 1
                continue
            if score < score_threshold:
                self.dropped["low_score"] += 1
                continue
            person = {"box": box, "score": float(score)}
            if isinstance(entry.get("file_name"), str):
                self.by_name.setdefault(pathlib.PurePath(entry["file_name"]).name, []).append(
                    person
                )
            elif isinstance(entry.get("image_id"), int) and not isinstance(entry["image_id"], bool):
                self.by_id.setdefault(entry["image_id"], []).append(person)
            else:
                raise BoxError(
                    f"{where}: entry {i} needs a 'file_name' (string) or an 'image_id' "
                    f"(integer). Received: {entry!r}"
                )

    def for_image(self, name: str) -> list[dict]:
        """Boxes of the image file `name`: by base name, else by the id in the name."""
        name = pathlib.PurePath(name).name
        if name in self.by_name:
            return self.by_name[name]
        image_id = image_id_from_name(name)
        return self.by_id.get(image_id, []) if image_id is not None else []

    def for_frame(self, index: int) -> list[dict]:
        """Boxes of video frame `index` (0-based): the entries with that `image_id`."""
        return self.by_id.get(int(index), [])


def _iou(a, b) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def match_tracks(previous: dict, boxes, next_track: int, min_iou: float = 0.3):
    """Greedy IoU association of this frame's boxes with the last frame's tracks.

    Args:
        previous: {track id: box} of the last frame.
        boxes: this frame's x, y, w, h boxes.
        next_track: the id a new track gets (then +1).
        min_iou: pairs overlapping less start a new track.

    Returns:
        (one track id per box, the next free id).
    """
    pairs = sorted(
        (
            (_iou(box, old), i, track)
            for i, box in enumerate(boxes)
            for track, old in previous.items()
        ),
        reverse=True,
    )
    tracks: list[int | None] = [None] * len(boxes)
    taken = set()
    for iou, i, track in pairs:
        if iou < min_iou:
            break
        if tracks[i] is None and track not in taken:
            tracks[i] = track
            taken.add(track)
    for i, track in enumerate(tracks):
        if track is None:
            tracks[i] = next_track
            next_track += 1
    return tracks, next_track


# --------------------------------------------------------------- prediction
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
        raise ValueError(f"frame must be (H, W, 3) RGB. Received: shape={frame_rgb.shape}")
    return frame_rgb


def _predict_crops(runner: Runner, frame_rgb, centers_scales, with_masks) -> list[dict]:
    """One batch of crops (one per (center, scale)) → keypoints in frame pixels."""
    size = runner.input_size
    crops = np.stack([transforms.crop_image(frame_rgb, c, s, 0.0, size) for c, s in centers_scales])
    crop_keypoints = np.asarray(runner.keypoints(crops))
    masks = None
    if with_masks and runner.has_masks:
        masks = runner.heatmaps(crops.astype(np.float32) / 255.0)["masks"][..., 0]
    people = []
    for i, (center, scale) in enumerate(centers_scales):
        inverse = transforms.get_affine_transform(center, scale, 0.0, size, inverse=True)
        keypoints = crop_keypoints[i].astype(np.float64).copy()
        keypoints[:, :2] = transforms.transform_points(crop_keypoints[i, :, :2], inverse)
        person = {"keypoints": keypoints.astype(np.float32), "crop": crops[i]}
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
        `crop` uint8 (h, w, 3) RGB model input, and `masks` (S, h/4, w/4) if asked.
    """
    frame_rgb = _check_frame(frame_rgb)
    if center is None or scale is None:
        center, scale = whole_frame_box(frame_rgb.shape[1], frame_rgb.shape[0])
    return _predict_crops(runner, frame_rgb, [(center, scale)], with_masks)[0]


def predict_people(runner: Runner, frame_rgb, boxes=None, with_masks=False) -> list[dict]:
    """Keypoints of every person box in one frame, the crops run as one batch.

    Args:
        runner: a `Runner`.
        frame_rgb: uint8 (H, W, 3) RGB.
        boxes: sequence of `[x, y, w, h]` pixel boxes; None: the whole frame is
            one person. Each box becomes a crop by `transforms.box_to_center_scale`
            (widened to the model's aspect ratio, padded 1.25×, as in training).
        with_masks: also return the ACNN masks (when the model has masks).

    Returns:
        one dict per box (or one for the whole frame): `box` (the box or None),
        `center`, `scale`, and the `predict_frame` fields `keypoints`, `crop`[, `masks`].
    """
    frame_rgb = _check_frame(frame_rgb)
    if boxes is None:
        centers_scales = [whole_frame_box(frame_rgb.shape[1], frame_rgb.shape[0])]
        boxes = [None]
    else:
        boxes = [check_box(box, "box") for box in boxes]
        if not boxes:
            return []
        width, height = runner.input_size
        centers_scales = [
            transforms.box_to_center_scale(*box, aspect_ratio=width / height) for box in boxes
        ]
    people = _predict_crops(runner, frame_rgb, centers_scales, with_masks)
    for person, box, (center, scale) in zip(people, boxes, centers_scales, strict=True):
        person.update(box=box, center=np.asarray(center, np.float64), scale=float(scale))
    return people


def _input_kind(path: pathlib.Path) -> str:
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    if suffix in VIDEO_SUFFIXES:
        return "video"
    raise ValueError(
        f"Unknown input. Received: input={str(path)!r}; expected an image "
        f"({', '.join(IMAGE_SUFFIXES)}), a video ({', '.join(VIDEO_SUFFIXES)}) or a folder"
    )


def _read_rgb(path: pathlib.Path):
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"could not read image {path} (missing, unreadable or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def resolve_model(model):
    """`model`, or `DEFAULT_MODEL` when None (a `FileNotFoundError` if it is missing)."""
    if model is not None:
        return model
    if not DEFAULT_MODEL.exists():
        raise FileNotFoundError(
            f"no --model was given and the shipped model is missing: {DEFAULT_MODEL} "
            "(pass --model with a .keras, SavedModel folder, .tflite or .onnx artifact)"
        )
    return DEFAULT_MODEL


class OutputExistsError(ValueError):
    """An output of the run would replace a file this run did not write."""


def output_name(name: str, tag: str, suffix: str) -> str:
    """The output file name of an input: `output_name("a.jpg", "pose", ".jpg")` →
    `"a_jpg_pose.jpg"` (the whole input name, its extension's dot as `_`)."""
    path = pathlib.PurePath(name)
    base = path.stem + (f"_{path.suffix[1:]}" if path.suffix else "")
    return f"{base}_{tag}{suffix}"


def _planned_outputs(out: pathlib.Path, inputs, video: bool, masks: bool) -> list[pathlib.Path]:
    """Every file a run writes in `out` (masks: the ACNN mask panels of images)."""
    planned = [out / "keypoints.json"]
    for path in inputs:
        if video:
            planned.append(out / output_name(path.name, "pose", ".mp4"))
            continue
        planned.append(out / output_name(path.name, "pose", ".jpg"))
        if masks:
            planned.append(out / output_name(path.name, "masks", ".jpg"))
    return planned


def check_outputs(planned, protected, force: bool = False) -> None:
    """Refuses a run whose outputs would replace files it did not write.

    Args:
        planned: the paths the run will write.
        protected: paths of the run's inputs (images, video, `--boxes`, model),
            never written over, with `force` or not.
        force: bool, replace outputs that already exist (`--force`).

    Raises:
        OutputExistsError: naming the first such file, before any work.
    """
    protected = {pathlib.Path(p).resolve() for p in protected}
    seen = set()
    for path in planned:
        resolved = path.resolve()
        if resolved in protected:
            raise OutputExistsError(
                f"{path}: --out: this output would replace an input of the run; expected an "
                "--out folder whose output names are not the inputs' (--force does not "
                "change this)"
            )
        if resolved in seen:
            raise OutputExistsError(f"{path}: --out: two inputs of the run would write it")
        seen.add(resolved)
    if force:
        return
    existing = [path for path in planned if path.exists()]
    if existing:
        raise OutputExistsError(
            f"{existing[0]}: --out: already exists ({len(existing)} of the run's "
            f"{len(planned)} output files do: an earlier run's or your own); expected a new "
            "or empty --out folder, or --force to replace them"
        )


def _rounded(values) -> list:
    return [round(float(v), 3) for v in values]


def predict(
    input_path: str | os.PathLike,
    model=None,
    out_dir: str | os.PathLike | None = None,
    *,
    keypoint_set: str | KeypointSet | None = None,
    score_threshold: float = 0.0,
    num_threads: int | None = None,
    boxes=None,
    boxes_file: str | os.PathLike | None = None,
    box_score_threshold: float = 0.0,
    smooth: bool = False,
    smooth_min_cutoff: float = 1.0,
    smooth_beta: float = DEFAULT_SMOOTH_BETA,
    smooth_d_cutoff: float = 1.0,
    force: bool = False,
) -> dict:
    """Runs a model on an image, a folder of images or a video and writes the results.

    Args:
        input_path: image file, folder of images, or video file (cv2.VideoCapture).
        model: artifact path (`.keras`, SavedModel folder, `.tflite`, `.onnx`)
            or a `Runner`; None: `DEFAULT_MODEL`.
        out_dir: where to write `keypoints.json` and the drawings; None writes
            nothing and only returns the results.
        keypoint_set: for the skeleton drawing; default guessed from the joint count.
        score_threshold: joints scoring at or below it are not drawn.
        num_threads: CPU threads for LiteRT / onnxruntime.
        boxes: `[x, y, w, h]` person boxes (original-image pixels) used for
            every image and frame; None (and no `boxes_file`): the whole frame.
        boxes_file: COCO detection-results JSON (see `PersonBoxes`); an input
            with no box in it has no person.
        box_score_threshold: boxes of `boxes_file` scoring below it are dropped.
        smooth: One Euro filter the keypoints over consecutive video frames,
            per person track (video only).
        smooth_min_cutoff, smooth_beta, smooth_d_cutoff: the filter's
            parameters (`kerashg.smoothing.OneEuroFilter`), speeds in pixels / s.
        force: bool, replace outputs that already exist in `out_dir` (never an
            input). Default False: `OutputExistsError` before any work.

    Returns:
        dict: the `keypoints.json` layout of the module docstring.
    """
    import cv2

    from kerashg import draw
    from kerashg.keypoints import get_keypoint_set
    from kerashg.smoothing import OneEuroFilter

    input_path = pathlib.Path(input_path)
    if not input_path.exists():
        raise FileNotFoundError(f"input not found: {input_path}")
    kind = _input_kind(input_path)
    if smooth and kind != "video":
        raise ValueError(
            f"--smooth filters keypoints over consecutive video frames; {input_path} is "
            f"{'a folder' if kind == 'folder' else 'an image'}, not a video"
        )
    if smooth:  # checks the parameters before any work
        OneEuroFilter(25.0, smooth_min_cutoff, smooth_beta, smooth_d_cutoff)
    if boxes is not None and boxes_file is not None:
        raise ValueError("give person boxes either as `boxes` (--box) or `boxes_file` (--boxes)")
    if boxes is not None:
        boxes = [check_box(box, "--box") for box in boxes]
    detections = None
    if boxes_file is not None:
        detections = PersonBoxes(boxes_file, box_score_threshold)
    files = None
    if kind == "image":
        files = [input_path]
    elif kind == "folder":
        files = sorted(p for p in input_path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in folder {input_path}")
    if detections is not None and files is not None:
        if not any(detections.for_image(p.name) for p in files):
            raise BoxError(
                f"--boxes file {detections.path}: no box matches an input image by file_name "
                f"or image_id (e.g. {files[0].name} → image_id "
                f"{image_id_from_name(files[0].name)}; {sum(detections.dropped.values())} "
                f"boxes dropped by score or category)"
            )
    model = resolve_model(model)
    out = pathlib.Path(out_dir) if out_dir is not None else None
    inputs = files if files is not None else [input_path]
    protected = [*inputs, *([detections.path] if detections is not None else [])]
    if not isinstance(model, Runner):
        protected.append(pathlib.Path(model))
    if out is not None:
        if out.exists() and not out.is_dir():
            raise OutputExistsError(f"{out}: --out: is a file; expected a folder")
        # The outputs every run writes, before the model is loaded...
        check_outputs(_planned_outputs(out, inputs, files is None, False), protected, force)
    runner = model if isinstance(model, Runner) else load_runner(model, num_threads)
    if out is not None:
        # ... and with the mask panels of a model that has masks, before any image.
        masks = files is not None and runner.has_masks
        check_outputs(_planned_outputs(out, inputs, files is None, masks), protected, force)
        out.mkdir(parents=True, exist_ok=True)
    names = None if keypoint_set is None else get_keypoint_set(keypoint_set)
    results = []
    # Video person tracks: {track: box} of the last frame, the filters, the next id.
    tracking = {"previous": {}, "filters": {}, "next": 0}
    fps = None

    def track_ids(people):
        if detections is None:  # whole frame or --box: the i-th person is track i
            return list(range(len(people)))
        ids, tracking["next"] = match_tracks(
            tracking["previous"], [p["box"] for p in people], tracking["next"]
        )
        return ids

    def handle(frame_rgb, name, frame_index, writer=None):
        nonlocal names
        if detections is None:
            frame_boxes, box_scores = boxes, None
        else:
            found = (
                detections.for_image(name)
                if frame_index is None
                else detections.for_frame(frame_index)
            )
            frame_boxes, box_scores = [d["box"] for d in found], [d["score"] for d in found]
        people = predict_people(
            runner, frame_rgb, frame_boxes, with_masks=out is not None and writer is None
        )
        tracks = track_ids(people) if frame_index is not None else None
        if smooth:
            filters = tracking["filters"]
            tracking["filters"] = {}
            for person, track in zip(people, tracks, strict=True):
                one_euro = filters.get(track) or OneEuroFilter(
                    fps, smooth_min_cutoff, smooth_beta, smooth_d_cutoff
                )
                person["keypoints"][:, :2] = one_euro(
                    person["keypoints"][:, :2], t=frame_index / fps
                )
                tracking["filters"][track] = one_euro
        if tracks is not None:
            tracking["previous"] = {t: p["box"] for t, p in zip(tracks, people, strict=True)}
        if names is None and people:
            names = guess_keypoint_set(len(people[0]["keypoints"]))
        entries = []
        for i, person in enumerate(people):
            entry = {
                "box": None if person["box"] is None else _rounded(person["box"]),
                "box_score": None if box_scores is None else round(box_scores[i], 4),
            }
            if tracks is not None:
                entry["track"] = tracks[i]
            entry["keypoints"] = [_rounded(joint) for joint in person["keypoints"]]
            entries.append(entry)
        results.append(
            {
                "image": name,
                "frame": frame_index,
                "people": entries,
                "keypoints": entries[0]["keypoints"] if entries else None,
            }
        )
        if out is None:
            return
        bgr = cv2.cvtColor(np.asarray(frame_rgb, np.uint8), cv2.COLOR_RGB2BGR)
        drawn = draw.draw_people(
            bgr,
            [p["keypoints"] for p in people],
            [p["box"] for p in people],
            names,
            score_threshold,
        )
        if writer is not None:
            writer.write(drawn)
            return
        cv2.imwrite(str(out / output_name(name, "pose", ".jpg")), drawn)
        panels = [
            draw.overlay_masks(cv2.cvtColor(p["crop"], cv2.COLOR_RGB2BGR), p["masks"])
            for p in people
            if "masks" in p
        ]
        if panels:  # one row of stage panels per person
            cv2.imwrite(
                str(out / output_name(name, "masks", ".jpg")), np.concatenate(panels, axis=0)
            )

    if files is not None:
        for path in files:
            handle(_read_rgb(path), path.name, None)
    else:
        capture = cv2.VideoCapture(str(input_path))
        if not capture.isOpened():
            raise ValueError(f"could not open video {input_path}")
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        writer = None
        try:
            index = 0
            while True:
                ok, frame_bgr = capture.read()
                if not ok:
                    break
                if out is not None and writer is None:
                    height, width = frame_bgr.shape[:2]
                    writer = cv2.VideoWriter(
                        str(out / output_name(input_path.name, "pose", ".mp4")),
                        cv2.VideoWriter_fourcc(*"mp4v"),
                        fps,
                        (width, height),
                    )
                frame_rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
                handle(frame_rgb, input_path.name, index, writer)
                index += 1
        finally:
            capture.release()
            if writer is not None:
                writer.release()
        if not results:
            raise ValueError(f"video {input_path} has no readable frame")
    if names is None:
        # No person anywhere: the joint count is the model's (one all-black crop).
        probe = np.zeros((1, runner.input_size[1], runner.input_size[0], 3), np.uint8)
        names = guess_keypoint_set(len(runner.keypoints(probe)[0]))
    box_source = "whole frame" if boxes is None else "--box"
    if detections is not None:
        box_source = str(detections.path)
    report = {
        "model": str(model) if not isinstance(model, Runner) else runner.format,
        "format": runner.format,
        "keypoint_set": names.name if names is not None else None,
        "joint_names": list(names.names) if names is not None else None,
        "coordinates": "x, y in pixels of the input image (0-based), score = heatmap peak",
        "boxes": box_source,
        "smoothed": bool(smooth),
        "smoothing": (
            {
                "filter": "one euro",
                "fps": round(float(fps), 3),
                "min_cutoff": smooth_min_cutoff,
                "beta": smooth_beta,
                "d_cutoff": smooth_d_cutoff,
            }
            if smooth
            else None
        ),
        "results": results,
    }
    if out is not None:
        (out / "keypoints.json").write_text(json.dumps(report, indent=1))
    return report


def main(argv=None) -> int:
    """CLI entry point; returns the exit code (2 on bad input, with one `error:` line)."""
    parser = argparse.ArgumentParser(
        prog="python -m kerashg.predict",
        description="Pose keypoints of an image, a folder of images or a video.",
    )
    parser.add_argument("input", help="image file, folder of images, or video file")
    parser.add_argument(
        "--model",
        default=None,
        help=".keras, SavedModel folder, .tflite or .onnx (default: the shipped "
        f"{DEFAULT_MODEL.name})",
    )
    parser.add_argument("--out", default=None, help="output folder (default: print JSON only)")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace outputs that already exist in --out (default: refuse, before any "
        "work); an input is never replaced",
    )
    parser.add_argument(
        "--keypoint-set", default=None, help="mpii, coco or lsp (default: from joint count)"
    )
    parser.add_argument("--score-threshold", type=float, default=0.0)
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (LiteRT, ONNX)")
    boxes = parser.add_mutually_exclusive_group()
    boxes.add_argument(
        "--box",
        action="append",
        default=None,
        metavar="X,Y,W,H",
        help="a person box in pixels of the original image, used for every image and "
        "video frame; repeat for several people (default: the whole frame is one person)",
    )
    boxes.add_argument(
        "--boxes",
        default=None,
        metavar="FILE",
        help="COCO detection-results JSON: a list of {image_id or file_name, bbox [x,y,w,h], "
        "score}; matched to images by file name, else by image_id = the number in the "
        "file name (000000000139.jpg → 139), and to video frames by image_id = 0-based "
        "frame index; category_id other than 1 (person) is dropped",
    )
    parser.add_argument(
        "--box-score-threshold",
        type=float,
        default=0.0,
        help="drop --boxes entries scoring below it (default 0)",
    )
    parser.add_argument(
        "--smooth",
        action="store_true",
        help="video only: One Euro filter the keypoints of each person over the frames "
        "(an error for images and folders)",
    )
    parser.add_argument("--smooth-min-cutoff", type=float, default=1.0, help="Hz (default 1)")
    parser.add_argument(
        "--smooth-beta",
        type=float,
        default=DEFAULT_SMOOTH_BETA,
        help=f"cutoff gain per pixel / s of speed (default {DEFAULT_SMOOTH_BETA})",
    )
    parser.add_argument("--smooth-d-cutoff", type=float, default=1.0, help="Hz (default 1)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        box_list = None if args.box is None else [parse_box(text) for text in args.box]
        report = predict(  # resolves a missing --model to DEFAULT_MODEL
            args.input,
            args.model,
            args.out,
            keypoint_set=args.keypoint_set,
            score_threshold=args.score_threshold,
            num_threads=args.threads,
            boxes=box_list,
            boxes_file=args.boxes,
            box_score_threshold=args.box_score_threshold,
            smooth=args.smooth,
            smooth_min_cutoff=args.smooth_min_cutoff,
            smooth_beta=args.smooth_beta,
            smooth_d_cutoff=args.smooth_d_cutoff,
            force=args.force,
        )
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}".replace("\n", " "), file=sys.stderr)
        return 2
    seconds = time.perf_counter() - start
    count = len(report["results"])
    people = sum(len(r["people"]) for r in report["results"])
    if args.out is None:
        print(json.dumps(report, indent=1))
    else:
        print(f"wrote {args.out}/keypoints.json ({count} images or frames, {people} people)")
    print(f"{count} images or frames in {seconds:.1f} s with {report['format']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
