"""Clutter drawn around and over the people: distractor shapes and occluders."""

from __future__ import annotations

import math

import cv2
import numpy as np

from kerashg.data.synthetic.canvas import _AA, _ONE, _SHIFT, _darker, _hsv, _rotation
from kerashg.data.synthetic.layout import OCCLUDER_LABEL, SCALE_MARGIN
from kerashg.keypoints import MPII


def _draw_distractor(rng, image, labels, box_side, palette, cfg, value):
    """One clutter shape: a limb-like capsule chain, blob, box, polygon or line."""
    size = image.shape[0]
    colour = palette[rng.integers(len(palette))] if rng.random() < 0.5 else _hsv(rng)
    x, y = rng.uniform(-0.1, 1.1) * size, rng.uniform(-0.1, 1.1) * size
    unit = box_side / (SCALE_MARGIN * 3.4)  # about one torso length of the person
    edge = _darker(colour) if rng.random() < 0.5 else None
    if rng.random() < cfg.distractor_limb_fraction:
        width = max(1, int(round(unit * rng.uniform(0.12, 0.28))))
        angle = rng.uniform(0, 360)
        for _ in range(rng.integers(1, 4)):
            step = unit * rng.uniform(0.4, 0.9)
            nx, ny = (
                x + step * math.cos(math.radians(angle)),
                y + step * math.sin(math.radians(angle)),
            )
            a, b = (int(x * _ONE), int(y * _ONE)), (int(nx * _ONE), int(ny * _ONE))
            if edge is not None:
                cv2.line(image, a, b, edge, width + 2, _AA, _SHIFT)
            cv2.line(image, a, b, colour, width, _AA, _SHIFT)
            cv2.line(labels, a, b, value, width, cv2.LINE_8, _SHIFT)
            x, y, angle = nx, ny, angle + rng.uniform(-100, 100)
        return
    extent = unit * rng.uniform(0.15, 0.8)
    c = (int(x * _ONE), int(y * _ONE))
    kind = rng.integers(4)
    if kind == 0:
        axes = (int(extent * _ONE), int(extent * rng.uniform(0.3, 1.0) * _ONE))
        angle = rng.uniform(0, 180)
        cv2.ellipse(image, c, axes, angle, 0, 360, colour, -1, _AA, _SHIFT)
        cv2.ellipse(labels, c, axes, angle, 0, 360, value, -1, cv2.LINE_8, _SHIFT)
    elif kind in (1, 2):
        if kind == 1:  # rotated rectangle
            w, h = extent, extent * rng.uniform(0.2, 1.0)
            corners = (
                np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) @ _rotation(rng.uniform(0, 180)).T
            )
        else:  # irregular polygon
            angles = np.sort([rng.uniform(0, 2 * math.pi) for _ in range(rng.integers(3, 7))])
            radii = extent * np.array([rng.uniform(0.4, 1.0) for _ in angles])
            corners = np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)
        pts = ((corners + (x, y)) * _ONE).astype(np.int32)
        cv2.fillPoly(image, [pts], colour, _AA, _SHIFT)
        cv2.fillPoly(labels, [pts], value, cv2.LINE_8, _SHIFT)
        if edge is not None:
            cv2.polylines(image, [pts], True, edge, 1, _AA, _SHIFT)
    else:  # thin line
        end = (
            int((x + rng.uniform(-2, 2) * extent) * _ONE),
            int((y + rng.uniform(-2, 2) * extent) * _ONE),
        )
        width = int(rng.integers(1, 4))
        cv2.line(image, c, end, colour, width, _AA, _SHIFT)
        cv2.line(labels, c, end, value, width, cv2.LINE_8, _SHIFT)


def _draw_occluder(rng, image, labels, target_points, box_side):
    """A solid shape over one random MPII joint of the target (joints under it get v=1)."""
    joint = target_points[rng.integers(MPII.num_keypoints)]
    unit = box_side / (SCALE_MARGIN * 3.4)
    extent = unit * rng.uniform(0.2, 0.5)
    centre = joint + np.array([rng.uniform(-0.5, 0.5), rng.uniform(-0.5, 0.5)]) * extent
    colour = _hsv(rng)
    w, h = extent, extent * rng.uniform(0.5, 1.2)
    if rng.random() < 0.5:
        corners = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) @ _rotation(rng.uniform(0, 180)).T
    else:
        angles = np.linspace(0, 2 * math.pi, 12, endpoint=False)
        corners = (
            np.stack([np.cos(angles) * w, np.sin(angles) * h], 1) @ _rotation(rng.uniform(0, 180)).T
        )
    pts = ((corners + centre) * _ONE).astype(np.int32)
    cv2.fillPoly(image, [pts], colour, _AA, _SHIFT)
    cv2.fillPoly(labels, [pts], OCCLUDER_LABEL, cv2.LINE_8, _SHIFT)
    if rng.random() < 0.5:  # a stripe so the occluder has some texture of its own
        a, b = pts[0], pts[len(pts) // 2]
        cv2.line(
            image,
            (int(a[0]), int(a[1])),
            (int(b[0]), int(b[1])),
            _hsv(rng),
            max(1, int(extent * 0.3)),
            _AA,
            _SHIFT,
        )
