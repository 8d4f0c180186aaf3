"""Finding one person without a box: the whole frame, then crops around the joints found.

A top-down model sees a person well only in a crop about the size of the
person (training crops are the joints' box padded 1.25×). A user's photo comes
with no box, so `find_person` runs the whole frame first, takes the box of the
joints it finds confidently, and runs again on that box padded as in training:
each pass sees the person larger. On video, `CropTracker` crops every frame
from the previous frame's joints (MoveNet's cropping algorithm) and falls back
to the whole frame when the person is lost (too few confident joints).

NumPy only, like `kerashg.runtime`: it runs over any `Runner`.

The defaults were chosen on LSP-extended's held-out images 8,101–9,000
(`benchmarks/whole_image.py`; the figures are in docs/REAL_PHOTOS.md).
"""

from __future__ import annotations

import numpy as np

from kerashg.runtime import Runner, predict_people

# Passes of `find_person`: the whole frame, then one crop around its joints.
DEFAULT_PASSES = 2
# A joint counts as found where its score (the heatmap peak) is at least this.
MIN_SCORE = 0.3
# A crop needs this many found joints; with fewer, the person is not found (on
# video: lost) and the previous crop is kept (the whole frame on video).
MIN_JOINTS = 4


def joints_box(keypoints, min_score: float = MIN_SCORE, min_joints: int = MIN_JOINTS):
    """The `[x, y, w, h]` pixel box of the confidently found joints, or None.

    Args:
        keypoints: float (K, 3) x, y, score in frame pixels.
        min_score: float, joints scoring below it are left out.
        min_joints: int, fewer found joints give None.

    Returns:
        (x, y, w, h) floats, each side at least one pixel, or None.
    """
    keypoints = np.asarray(keypoints, np.float64)
    found = keypoints[(keypoints[:, 2] >= min_score) & np.isfinite(keypoints[:, :2]).all(axis=1)]
    if len(found) < max(int(min_joints), 1):
        return None
    lo, hi = found[:, :2].min(axis=0), found[:, :2].max(axis=0)
    side = np.maximum(hi - lo, 1.0)
    return float(lo[0]), float(lo[1]), float(side[0]), float(side[1])


def find_person(
    runner: Runner,
    frame_rgb,
    passes: int = DEFAULT_PASSES,
    min_score: float = MIN_SCORE,
    min_joints: int = MIN_JOINTS,
    with_masks: bool = False,
) -> dict:
    """One person in a frame with no box: the whole frame, then re-crops.

    Args:
        runner: a `Runner`.
        frame_rgb: uint8 (H, W, 3) RGB.
        passes: int >= 1; pass 1 is the whole frame, each later pass the box of
            the previous pass's found joints (`joints_box`), padded as training
            crops are. A pass that finds fewer than `min_joints` joints gives no
            box to crop: the search ends there, with that pass's result.
        min_score, min_joints: see `joints_box`.
        with_masks: also return the ACNN masks.

    Returns:
        the `predict_people` dict of the last pass (its `box` is the box that
        pass cropped, None for the whole frame), plus `passes` (int, passes run).
    """
    if int(passes) < 1:
        raise ValueError(f"passes must be >= 1. Received: passes={passes}")
    person = predict_people(runner, frame_rgb, None, with_masks)[0]
    done = 1
    while done < int(passes):
        box = joints_box(person["keypoints"], min_score, min_joints)
        if box is None:
            break
        person = predict_people(runner, frame_rgb, [box], with_masks)[0]
        done += 1
    person["passes"] = done
    return person


class CropTracker:
    """One person through a video: each frame cropped from the previous frame's joints.

    The first frame, and every frame after the person is lost (fewer than
    `min_joints` joints scoring `min_score`), goes through `find_person` (the
    whole frame, then re-crops); otherwise one pass on the box of the previous
    frame's found joints.

    Args:
        runner: a `Runner`.
        passes: `find_person`'s passes when starting from the whole frame.
        min_score, min_joints: see `joints_box`.

    Call it with each uint8 (H, W, 3) RGB frame in order; it returns the
    `predict_people` dict of that frame, plus `tracked` (bool, whether the crop
    came from the previous frame).
    """

    def __init__(
        self,
        runner: Runner,
        passes: int = DEFAULT_PASSES,
        min_score: float = MIN_SCORE,
        min_joints: int = MIN_JOINTS,
    ):
        self.runner = runner
        self.passes = int(passes)
        self.min_score = float(min_score)
        self.min_joints = int(min_joints)
        self.box = None

    def reset(self) -> None:
        """Forget the person: the next frame starts from the whole frame."""
        self.box = None

    def __call__(self, frame_rgb, with_masks: bool = False) -> dict:
        person = None
        if self.box is not None:
            person = predict_people(self.runner, frame_rgb, [self.box], with_masks)[0]
            person["tracked"] = True
            if self._box_of(person) is None:  # lost: back to the whole frame
                person = None
        if person is None:
            person = find_person(
                self.runner, frame_rgb, self.passes, self.min_score, self.min_joints, with_masks
            )
            person["tracked"] = False
        self.box = self._box_of(person)
        return person

    def _box_of(self, person):
        return joints_box(person["keypoints"], self.min_score, self.min_joints)
