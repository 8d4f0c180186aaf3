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
    flip_index=None,
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
        flip_index: None, or `KeypointSet.flip_index` for the flip test
            (`kerashg.runtime.crop_keypoints`) on the last of `passes` (the crop
            of the found person; the earlier passes only find it): one more run
            of the model. A search that ends early is not flipped.

    Returns:
        the `predict_people` dict of the last pass (its `box` is the box that
        pass cropped, None for the whole frame), plus `passes` (int, passes run).
    """
    if int(passes) < 1:
        raise ValueError(f"passes must be >= 1. Received: passes={passes}")
    passes = int(passes)
    first_flip = flip_index if passes == 1 else None
    person = predict_people(runner, frame_rgb, None, with_masks, first_flip)[0]
    done = 1
    while done < passes:
        box = joints_box(person["keypoints"], min_score, min_joints)
        if box is None:
            break
        done += 1
        last_flip = flip_index if done == passes else None
        person = predict_people(runner, frame_rgb, [box], with_masks, last_flip)[0]
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
        flip_index: None, or `KeypointSet.flip_index`: the flip test on every
            frame's person crop (`find_person`'s last pass).

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
        flip_index=None,
    ):
        self.runner = runner
        self.flip_index = flip_index
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
            person = predict_people(
                self.runner, frame_rgb, [self.box], with_masks, self.flip_index
            )[0]
            person["tracked"] = True
            if self._box_of(person) is None:  # lost: back to the whole frame
                person = None
        if person is None:
            person = find_person(
                self.runner,
                frame_rgb,
                self.passes,
                self.min_score,
                self.min_joints,
                with_masks,
                self.flip_index,
            )
            person["tracked"] = False
        self.box = self._box_of(person)
        return person

    def _box_of(self, person):
        return joints_box(person["keypoints"], self.min_score, self.min_joints)
