"""`Person`: one person's keypoints as `PoseEstimator` finds them, able to draw itself.

NumPy only (OpenCV is imported to draw), like the rest of the TensorFlow-free runtime.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from kerashg.draw import DEFAULT_SCORE_THRESHOLD
from kerashg.keypoints import KeypointSet
from kerashg.outputs import rounded


@dataclasses.dataclass
class Person:
    """One person in one image (or video frame).

    Attributes:
        keypoints: float32 (K, 3): x, y in pixels of the image (0-based, x to
            the right, y down) and the score (the heatmap peak, about 0-1).
        box: (x, y, w, h) pixel box the person was cropped from: the box given,
            or the box found around the joints (`PoseEstimator` without boxes);
            None for the whole image.
        score: float, the mean joint score times `box_score` (where there is one),
            as MMPose and HRNet rank people.
        keypoint_set: the `KeypointSet` of the K joints (names, flip pairs,
            skeleton), or None where the model's is unknown.
        box_score: float or None, the detector's score of the box.
        track: int or None, the person's track id through a video.
        details: the runtime's dict of the crop (`kerashg.runtime.predict_people`:
            `crop` uint8 model input, `inverse` crop → image, `region`,
            `center`, `scale`[, `masks` ACNN attention (S, h, w)]).
    """

    keypoints: np.ndarray
    box: tuple[float, float, float, float] | None
    score: float
    keypoint_set: KeypointSet | None = None
    box_score: float | None = None
    track: int | None = None
    details: dict = dataclasses.field(default_factory=dict, repr=False)

    @classmethod
    def from_prediction(cls, prediction: dict, keypoint_set=None, box_score=None) -> Person:
        """A person of one `kerashg.runtime.predict_people` (or `kerashg.cropping`) dict."""
        keypoints = np.asarray(prediction["keypoints"], np.float32)
        box = prediction.get("box")
        score = float(np.mean(keypoints[:, 2])) * (1.0 if box_score is None else float(box_score))
        return cls(
            keypoints=keypoints,
            box=None if box is None else tuple(float(v) for v in box),
            score=score,
            keypoint_set=keypoint_set,
            box_score=None if box_score is None else float(box_score),
            details=prediction,
        )

    @property
    def names(self) -> tuple[str, ...] | None:
        """The joint names (None where the keypoint set is unknown)."""
        return None if self.keypoint_set is None else self.keypoint_set.names

    def keypoint(self, name: str) -> np.ndarray:
        """(3,) x, y, score of the joint called `name` (ValueError if unknown)."""
        if self.keypoint_set is None:
            raise ValueError(f"The model's joint names are unknown. Received: name={name!r}")
        return self.keypoints[self.keypoint_set.index(name)]

    def draw(self, image, score_threshold: float = DEFAULT_SCORE_THRESHOLD, bgr: bool = False):
        """A copy of `image` with the person's skeleton (and box) drawn (`kerashg.draw`).

        Args:
            image: uint8 (H, W, 3), RGB as `PoseEstimator` takes it (BGR with
                `bgr=True`, as OpenCV reads it).
            score_threshold: joints scoring at or below it are not drawn. Default 0.3.
            bgr: the image's channel order is OpenCV's. Default False (RGB).

        Returns:
            uint8 (H, W, 3) in the image's channel order.
        """
        from kerashg import draw

        canvas = np.asarray(image, np.uint8)
        canvas = canvas if bgr else canvas[..., ::-1]
        drawn = draw.draw_people(
            canvas, [self.keypoints], [self.box], self.keypoint_set, score_threshold
        )
        return drawn if bgr else np.ascontiguousarray(drawn[..., ::-1])

    def to_dict(self) -> dict:
        """The person as `keypoints.json` holds it: `box` ([x, y, w, h] or None),
        `box_score`, `track` (video only), `keypoints` (K × [x, y, score], 3
        decimals) and `score`."""
        entry = {
            "box": None if self.box is None else rounded(self.box),
            "box_score": None if self.box_score is None else round(self.box_score, 4),
        }
        if self.track is not None:
            entry["track"] = int(self.track)
        entry["keypoints"] = [rounded(joint) for joint in self.keypoints]
        entry["score"] = round(self.score, 4)
        return entry

    def to_json(self) -> str:
        """`to_dict()` as JSON text, with the joint names."""
        names = None if self.keypoint_set is None else list(self.keypoint_set.names)
        return json.dumps({**self.to_dict(), "joint_names": names})
