"""`PoseEstimator`: one object over any model artifact, from an image to `Person`s.

    import kerashg

    estimator = kerashg.PoseEstimator()            # the shipped model
    people = estimator("photo.jpg")                # or an RGB uint8 (H, W, 3) array
    people = estimator(image, boxes=[(x, y, w, h), ...])
    drawn = people[0].draw(image)
    for people in estimator.track(frames, fps=30): # video: tracks and smoothing
        ...

The model is a `.keras` file, a SavedModel folder, a `.tflite` or an `.onnx`
file, a preset name (`kerashg.list_presets()`, trained presets only), a Keras
model or a `kerashg.runtime.Runner`; None is the shipped model
(`kerashg.presets.DEFAULT_MODEL`). A `.tflite` file runs with LiteRT and NumPy
only, an `.onnx` file with onnxruntime only: this module imports no TensorFlow
or Keras (`kerashg.runtime`).

People: with `boxes`, one person per box (the box widened to the model's
aspect ratio and padded 1.25×, as in training); without, one person found in
the whole image (`kerashg.cropping.find_person`: the whole image, then crops
around the joints found, `passes` in all).
"""

from __future__ import annotations

import os
import pathlib
import sys

import numpy as np

from kerashg import cropping, presets
from kerashg.errors import InputError
from kerashg.person import Person
from kerashg.pose_tracker import DEFAULT_SMOOTH_BETA, PoseTracker
from kerashg.runtime import Runner, load_runner, model_keypoint_set, predict_people


def resolve_model(model):
    """`model`'s artifact path (a preset name becomes its trained file; None the
    shipped model), or `model` itself when it is a Runner or a Keras model.

    Raises:
        FileNotFoundError: None was given and the shipped model is missing.
        ValueError: an architecture-only preset (it has no trained weights).
    """
    if model is None:
        path = presets.DEFAULT_MODEL
        if not path.exists():
            raise FileNotFoundError(
                f"no model was given and the shipped model is missing: {path} (give a "
                ".keras, SavedModel folder, .tflite or .onnx artifact, or a preset name)"
            )
        return path
    if isinstance(model, str) and model in presets.PRESETS and not os.path.exists(model):
        return presets.weights_path(model)
    if isinstance(model, Runner) or _is_keras_model(model):
        return model
    return pathlib.Path(model)


def _is_keras_model(model) -> bool:
    # Checked without importing Keras: a Keras model exists only where it is loaded.
    return "keras" in sys.modules and isinstance(model, sys.modules["keras"].Model)


def as_rgb_image(image) -> np.ndarray:
    """`image` as uint8 (H, W, 3) RGB: an array as it is, a path read from its file.

    Raises:
        InputError: an unreadable file (`kerashg.images.ImageError`) or an array
            that is not uint8 (H, W, 3).
    """
    if isinstance(image, (str, os.PathLike)):
        from kerashg.images import ImageError, read_image_file

        try:
            return read_image_file(image)
        except ImageError as error:
            raise InputError(f"could not read the image ({error})", path=image) from None
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim != 3 or array.shape[2] != 3:
        raise InputError(
            "An image must be an RGB uint8 array (H, W, 3) or an image file's path. "
            f"Received: dtype={array.dtype}, shape={array.shape}"
        )
    return array


class PoseEstimator:
    """Keypoints of people in images and videos, from any kerashg model artifact.

    Args:
        model: `.keras` file, SavedModel folder, `.tflite` or `.onnx` file (path),
            a trained preset's name (e.g. "acnn4_lsp_128"), a Keras model or a
            `kerashg.runtime.Runner`; None: the shipped model. Default None.
        keypoint_set: the model's joints (a `KeypointSet` or a built-in set's
            name); default the set the model records (for a file saved before
            models recorded it, the built-in set of its joint count).
        num_threads: CPU threads of LiteRT and onnxruntime (None: theirs).
        passes: int >= 1, passes of the search for a person without a box (the
            whole image, then crops around the joints found). Default
            `kerashg.cropping.DEFAULT_PASSES`.
        flip: the flip test (`kerashg.runtime.crop_keypoints`): each person crop
            and its mirror image, one more run of the model per person (on the
            last pass without a box); it needs the keypoint set's left/right
            pairs and the model's heatmaps. None (default): on where it can run.

    Attributes:
        model_path: `pathlib.Path` of the artifact (None for a model object).
        runner: the `kerashg.runtime.Runner` that runs it.
        keypoint_set: the `KeypointSet` of its joints, or None where unknown.
        flip: bool, whether the flip test runs.
    """

    def __init__(
        self,
        model=None,
        *,
        keypoint_set=None,
        num_threads=None,
        passes=cropping.DEFAULT_PASSES,
        flip=None,
    ):
        if int(passes) < 1:
            raise ValueError(f"passes must be >= 1. Received: passes={passes}")
        resolved = resolve_model(model)
        self.model_path = resolved if isinstance(resolved, pathlib.Path) else None
        self.runner = (
            resolved if isinstance(resolved, Runner) else load_runner(resolved, num_threads)
        )
        self.keypoint_set = model_keypoint_set(self.runner, keypoint_set)
        self.passes = int(passes)
        can_flip = self.keypoint_set is not None and self.runner.has_heatmaps
        if flip and self.keypoint_set is None:
            raise InputError(
                "flip=True needs the keypoint set's left/right pairs: the model records no "
                f"set and its {self.runner.num_keypoints} joints are no built-in set's "
                "(pass keypoint_set=, or flip=False)"
            )
        if flip and not self.runner.has_heatmaps:
            raise InputError(f"flip=True needs heatmaps; {self.runner.format} gives keypoints only")
        self.flip = can_flip if flip is None else bool(flip)

    @property
    def flip_index(self):
        """`KeypointSet.flip_index` when the flip test runs, else None."""
        return self.keypoint_set.flip_index if self.flip else None

    @property
    def format(self) -> str:
        """The artifact's format: "keras", "savedmodel", "tflite" or "onnx"."""
        return self.runner.format

    @property
    def input_size(self) -> tuple[int, int]:
        """(width, height) of the model input."""
        return self.runner.input_size

    def __repr__(self) -> str:
        names = None if self.keypoint_set is None else self.keypoint_set.name
        source = self.model_path or type(self.runner).__name__
        return (
            f"PoseEstimator({str(source)!r}, format={self.format!r}, keypoint_set={names!r}, "
            f"passes={self.passes}, flip={self.flip})"
        )

    def __call__(self, image, boxes=None, *, box_scores=None, with_masks=False) -> list[Person]:
        """The people in one image.

        Args:
            image: RGB uint8 (H, W, 3) array, or an image file's path.
            boxes: sequence of `[x, y, w, h]` person boxes in pixels of the image
                (one person each); None: one person, found in the whole image.
            box_scores: None, or one detector score per box (`Person.box_score`,
                and a factor of `Person.score`).
            with_masks: keep each crop's ACNN attention masks in
                `Person.details["masks"]` (models with masks). Default False.

        Returns:
            list of `Person`, one per box (or the one found).
        """
        image = as_rgb_image(image)
        if boxes is None:
            return [self.find_person(image, with_masks)]
        boxes = list(boxes)
        if box_scores is not None and len(box_scores) != len(boxes):
            raise InputError(
                f"box_scores must give one score per box. Received: {len(box_scores)} "
                f"scores for {len(boxes)} boxes"
            )
        predictions = predict_people(self.runner, image, boxes, with_masks, self.flip_index)
        scores = [None] * len(boxes) if box_scores is None else list(box_scores)
        return [
            Person.from_prediction(p, self.keypoint_set, score)
            for p, score in zip(predictions, scores, strict=True)
        ]

    def find_person(self, image, with_masks=False) -> Person:
        """The one person of an image without a box: the whole image, then crops
        around the joints found (`kerashg.cropping.find_person`, `passes` in all)."""
        image = as_rgb_image(image)
        prediction = cropping.find_person(
            self.runner, image, self.passes, with_masks=with_masks, flip_index=self.flip_index
        )
        return Person.from_prediction(prediction, self.keypoint_set)

    def stream(
        self,
        fps: float = 30.0,
        *,
        smooth: bool = True,
        match_boxes: bool = True,
        min_cutoff: float = 1.0,
        beta: float = DEFAULT_SMOOTH_BETA,
        d_cutoff: float = 1.0,
    ) -> PoseTracker:
        """A `PoseTracker`: call it with each video frame in order (and its boxes).

        It keeps what a video needs between frames: each person's track id,
        the crop of a person followed without boxes (`kerashg.cropping.CropTracker`)
        and each track's One Euro filter (`smooth`; `min_cutoff`, `beta`,
        `d_cutoff` as in `kerashg.smoothing.OneEuroFilter`, speeds in pixels / s).
        `match_boxes`: follow boxes between frames by overlap (a detector's);
        False: the i-th box is track i (the same boxes every frame).
        """
        return PoseTracker(
            self,
            fps,
            smooth=smooth,
            match_boxes=match_boxes,
            min_cutoff=min_cutoff,
            beta=beta,
            d_cutoff=d_cutoff,
        )

    def track(self, frames, fps: float = 30.0, *, boxes=None, **options):
        """People through a video, frame after frame (a generator).

        Args:
            frames: iterable of RGB uint8 (H, W, 3) frames (or image paths), in order.
            fps: the frames' rate (the smoothing's time step).
            boxes: None (one person, followed by its crop), a list of boxes for
                every frame, or a callable `frame_index -> boxes` (a detector).
            **options: `stream`'s `smooth`, `match_boxes`, `min_cutoff`, `beta`,
                `d_cutoff`.

        Yields:
            list of `Person` per frame, each with its `track` id.
        """
        tracker = self.stream(fps, **options)
        for index, frame in enumerate(frames):
            frame_boxes = boxes(index) if callable(boxes) else boxes
            yield tracker(frame, frame_boxes)
