"""Annotation conventions of the synthetic figures: landmarks, boxes, part labels.

The renderer computes MPII's 16 joints and five face points (`LANDMARK_NAMES`);
a keypoint set selects from these landmarks by joint name. Each drawn pixel of
a person carries a part id in a label map beside the image, and a landmark is
visible (v = 2) where the part on top at its pixel is one the landmark lies on
(`_INCIDENT`).
"""

from __future__ import annotations

import math

import numpy as np

from kerashg.data.mpii import HEAD_SIZE_FACTOR
from kerashg.keypoints import COCO, MPII, KeypointSet

# 200 * scale = SCALE_MARGIN * longer side of the box around the 16 MPII joints.
SCALE_MARGIN = 1.4
# Head box width / head box length; the length is |upper_neck - head_top|.
HEAD_WIDTH_RATIO = 0.75
# MPII's PCKh normaliser is this fraction of the head-box diagonal (defined once,
# with the MPII reader).
HEAD_BOX_DIAGONAL_FRACTION = HEAD_SIZE_FACTOR
# head_size = HEAD_SIZE_RATIO * |upper_neck - head_top| (= 0.75).
HEAD_SIZE_RATIO = HEAD_BOX_DIAGONAL_FRACTION * math.hypot(1.0, HEAD_WIDTH_RATIO)
# A second person is annotated only when at least this many of its joints are
# inside the image.
MIN_ANNOTATED_JOINTS = 6

# The renderer computes MPII's 16 joints and five face points; a keypoint set
# selects from these landmarks by joint name.
LANDMARK_NAMES = MPII.names + ("nose", "l_eye", "r_eye", "l_ear", "r_ear")
_L = {name: i for i, name in enumerate(LANDMARK_NAMES)}
NUM_LANDMARKS = len(LANDMARK_NAMES)
_MPII_SELECT = np.arange(MPII.num_keypoints)
_COCO_SELECT = np.array([_L[name] for name in COCO.names])
_FACE_FRONT_ONLY = (_L["nose"], _L["l_eye"], _L["r_eye"])
_KEYPOINT_SETS = {"mpii": (MPII, _MPII_SELECT), "coco": (COCO, _COCO_SELECT)}

# Part ids in the label map rendered beside the image. A person's pixels carry
# `base + part` (base 0 for the target, OTHER_PERSON_BASE for the second one).
TORSO, PELVIS, NECK, HEAD = 1, 2, 3, 4
_LIMB_PARTS = ("upper_arm", "forearm", "hand", "thigh", "shin", "foot")
_SIDES = ("r", "l")
_PART = {f"{s}_{p}": 5 + 6 * i + j for i, s in enumerate(_SIDES) for j, p in enumerate(_LIMB_PARTS)}
PARTS_PER_PERSON = 32
OTHER_PERSON_BASE = 32
DISTRACTOR_LABEL = 250
OCCLUDER_LABEL = 251


def _incident_parts() -> list[frozenset[int]]:
    """For each landmark, the parts it lies on: visible if one of them is on top."""
    parts = {"pelvis": {TORSO, PELVIS, _PART["r_thigh"], _PART["l_thigh"]}}
    parts.update(thorax={TORSO, NECK}, upper_neck={NECK, HEAD}, head_top={HEAD})
    for s in _SIDES:
        parts[f"{s}_ankle"] = {_PART[f"{s}_shin"], _PART[f"{s}_foot"]}
        parts[f"{s}_knee"] = {_PART[f"{s}_thigh"], _PART[f"{s}_shin"]}
        parts[f"{s}_hip"] = {_PART[f"{s}_thigh"], TORSO, PELVIS}
        parts[f"{s}_wrist"] = {_PART[f"{s}_forearm"], _PART[f"{s}_hand"]}
        parts[f"{s}_elbow"] = {_PART[f"{s}_upper_arm"], _PART[f"{s}_forearm"]}
        parts[f"{s}_shoulder"] = {_PART[f"{s}_upper_arm"], TORSO}
    for name in ("nose", "l_eye", "r_eye", "l_ear", "r_ear"):
        parts[name] = {HEAD}
    return [frozenset(parts[name]) for name in LANDMARK_NAMES]


def _incident_table() -> np.ndarray:
    """bool (NUM_LANDMARKS, 256): [j, part] is True where landmark j lies on `part`."""
    table = np.zeros((NUM_LANDMARKS, 256), bool)
    for j, parts in enumerate(_incident_parts()):
        table[j, list(parts)] = True
    return table


_INCIDENT = _incident_table()


def _resolve_keypoint_set(keypoint_set) -> tuple[KeypointSet, np.ndarray]:
    """The `KeypointSet` of "mpii" / "coco" (or a set) and its rows of the landmarks."""
    name = keypoint_set.name if isinstance(keypoint_set, KeypointSet) else str(keypoint_set).lower()
    if name not in _KEYPOINT_SETS:
        raise ValueError(
            f"Synthetic data is rendered in the MPII or COCO layout. Received: keypoint_set={keypoint_set!r}; "
            f"expected one of {sorted(_KEYPOINT_SETS)}"
        )
    return _KEYPOINT_SETS[name]
