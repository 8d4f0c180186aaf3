"""Drawing helpers shared by textures, figures and clutter.

OpenCV draws at sub-pixel precision with fixed-point coordinates: a point
(x, y) in pixels is passed as `int(x * _ONE), int(y * _ONE)` with `_SHIFT`
fractional bits. Colours are RGB int triples drawn from a sample's random
stream.
"""

from __future__ import annotations

import colorsys
import math

import cv2
import numpy as np

_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are drawn to 1/16 pixel
_ONE = float(1 << _SHIFT)
_AA = cv2.LINE_AA


def _hsv(rng, h=(0.0, 1.0), s=(0.0, 1.0), v=(0.12, 1.0)) -> tuple[int, int, int]:
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(*h), rng.uniform(*s), rng.uniform(*v))
    return int(r * 255), int(g * 255), int(b * 255)


def _jitter(rng, colour, amount=0.12) -> tuple[int, int, int]:
    gain = 1.0 + rng.uniform(-amount, amount)
    shift = rng.uniform(-8, 8)
    r, g, b = (int(min(255.0, max(0.0, c * gain + shift))) for c in colour)
    return r, g, b


def _darker(colour, factor=0.5) -> tuple[int, int, int]:
    return tuple(int(c * factor) for c in colour)


def _rotation(rotation_deg: float) -> np.ndarray:
    """(2, 2) matrix that turns (x, y) points by `rotation_deg` (image axes, y down)."""
    t = math.radians(rotation_deg)
    return np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])
