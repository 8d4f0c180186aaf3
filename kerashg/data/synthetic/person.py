"""A figure in the image: placement, drawing with part labels, annotation."""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np

from kerashg.data.synthetic.body import _Figure
from kerashg.data.synthetic.canvas import _AA, _ONE, _SHIFT, _darker, _rotation
from kerashg.data.synthetic.layout import (
    _FACE_FRONT_ONLY,
    _INCIDENT,
    _L,
    HEAD_SIZE_RATIO,
    NUM_LANDMARKS,
    SCALE_MARGIN,
)
from kerashg.keypoints import MPII
from kerashg.transforms import PIXEL_STD


@dataclasses.dataclass
class _Placement:
    """Body units → image pixels: image = scale_px * R(rotation) @ body + shift."""

    matrix: np.ndarray  # (2, 2), includes scale_px
    shift: np.ndarray  # (2,)
    scale_px: float  # pixels per torso length

    def apply(self, points) -> np.ndarray:
        return np.asarray(points, np.float64) @ self.matrix.T + self.shift


def _place(figure: _Figure, rotation_deg: float, box_side: float, center) -> _Placement:
    """Placement whose MPII-joint box is centred on `center` with 200*scale = `box_side`."""
    rotated = figure.landmarks[: MPII.num_keypoints] @ _rotation(rotation_deg).T
    lo, hi = rotated.min(0), rotated.max(0)
    scale_px = box_side / (SCALE_MARGIN * max(float((hi - lo).max()), 1e-6))
    matrix = _rotation(rotation_deg) * scale_px
    shift = np.asarray(center, np.float64) - (lo + hi) / 2 * scale_px
    return _Placement(matrix, shift, scale_px)


def _draw_figure(image, labels, figure: _Figure, placement: _Placement, label_base: int) -> None:
    """Draws `figure` into `image` (H, W, 3) and its part ids into `labels` (H, W)."""
    flat = [p for op in figure.ops for p in op[1]]
    points = np.rint(placement.apply(flat) * _ONE).astype(np.int32)
    k = 0
    for kind, op_points, size, colour, part, outlined in figure.ops:
        n = len(op_points)
        pts = points[k : k + n]
        k += n
        label = label_base + part
        edge = _darker(colour) if (outlined and figure.outline) else None
        if kind == "capsule":
            thickness = max(1, int(round(size * placement.scale_px)))
            a, b = (int(pts[0, 0]), int(pts[0, 1])), (int(pts[1, 0]), int(pts[1, 1]))
            if edge is not None:
                cv2.line(image, a, b, edge, thickness + 2, _AA, _SHIFT)
            cv2.line(image, a, b, colour, thickness, _AA, _SHIFT)
            cv2.line(labels, a, b, label, thickness, cv2.LINE_8, _SHIFT)
        elif kind == "poly":
            cv2.fillPoly(image, [pts], colour, _AA, _SHIFT)
            cv2.fillPoly(labels, [pts], label, cv2.LINE_8, _SHIFT)
            if edge is not None:
                cv2.polylines(image, [pts], True, edge, 1, _AA, _SHIFT)
        elif kind == "ellipse":
            centre = (int(pts[0, 0]), int(pts[0, 1]))
            axis = pts[1] - pts[0]
            half_length = int(math.hypot(axis[0], axis[1]))
            half_width = max(1, int(size * placement.scale_px * _ONE))
            angle = math.degrees(math.atan2(axis[1], axis[0]))
            axes = (max(1, half_length), half_width)
            cv2.ellipse(image, centre, axes, angle, 0, 360, colour, -1, _AA, _SHIFT)
            cv2.ellipse(labels, centre, axes, angle, 0, 360, label, -1, cv2.LINE_8, _SHIFT)
            if edge is not None:
                cv2.ellipse(image, centre, axes, angle, 0, 360, edge, 1, _AA, _SHIFT)
        else:  # circle
            radius = max(1, int(size * placement.scale_px * _ONE))
            centre = (int(pts[0, 0]), int(pts[0, 1]))
            cv2.circle(image, centre, radius, colour, -1, _AA, _SHIFT)
            cv2.circle(labels, centre, radius, label, -1, cv2.LINE_8, _SHIFT)


def _annotate(figure: _Figure, placement: _Placement, labels: np.ndarray, label_base: int):
    """Keypoints (NUM_LANDMARKS, 3), center (2,), scale and head size of a drawn person."""
    size_y, size_x = labels.shape
    points = placement.apply(figure.landmarks)
    joints = points[: MPII.num_keypoints]
    lo, hi = joints.min(0), joints.max(0)
    center = (lo + hi) / 2
    scale = SCALE_MARGIN * float((hi - lo).max()) / PIXEL_STD
    head_length = float(np.linalg.norm(points[_L["head_top"]] - points[_L["upper_neck"]]))
    pixel = np.rint(points).astype(np.int64)
    inside = (
        (pixel[:, 0] >= 0) & (pixel[:, 0] < size_x) & (pixel[:, 1] >= 0) & (pixel[:, 1] < size_y)
    )
    if figure.back_facing:
        inside[list(_FACE_FRONT_ONLY)] = False
    row, col = np.clip(pixel[:, 1], 0, size_y - 1), np.clip(pixel[:, 0], 0, size_x - 1)
    on_top = labels[row, col].astype(np.int64) - label_base
    on_part = (on_top >= 0) & _INCIDENT[np.arange(NUM_LANDMARKS), np.clip(on_top, 0, 255)]
    keypoints = np.zeros((NUM_LANDMARKS, 3), np.float32)
    keypoints[inside, :2] = points[inside]
    keypoints[inside, 2] = np.where(on_part[inside], 2.0, 1.0)
    return (
        keypoints,
        center.astype(np.float32),
        np.float32(scale),
        np.float32(HEAD_SIZE_RATIO * head_length),
    )


def _torso_angle(keypoints) -> float:
    """Degrees between the pelvis → thorax direction and image up (clockwise positive)."""
    dx, dy = keypoints[_L["thorax"], :2] - keypoints[_L["pelvis"], :2]
    return math.degrees(math.atan2(dx, -dy))
