"""Embedded synthetic pose data: procedurally rendered people in the MPII layout.

Every sample is one image of a cartoon person built on a kinematic skeleton
(pelvis → hips / thorax → upper neck → head top; shoulders → elbows → wrists;
hips → knees → ankles) with random but anatomically limited joint angles,
foreshortened limbs, filled capsules and polygons in varied colours, a head
ellipse with a face, on a cluttered textured background with distractor shapes
(including limb-like capsules in the people's own colours), sometimes a second
person, and sometimes an occluder drawn over some joints. Keypoints are exact.

`render_sample(i, seed)` is a pure function of `(seed, i)`: it draws from
`np.random.default_rng([seed, i])` and from a texture bank that depends on
`seed` only, so sample `i` is the same whatever order samples are made in.

Usage::

    from training.datasets.synthetic import SyntheticPoses, render_sample

    sample = render_sample(0, seed=0, image_size=128)      # one dict
    pool = SyntheticPoses(seed=0, image_size=128).records(20_000)
    pool["image"]       # uint8 (N, 128, 128, 3); keypoints, center, scale, head_size, id

    # The same samples as files for the real readers:
    write_mpii_h5("/tmp/synth-mpii", 1000, seed=0, split="train")
    write_coco_json("/tmp/synth-coco", 1000, seed=0, split="val")

    python -m training.datasets.synthetic --out DIR --format mpii|coco|preview --n N --seed S

Difficulty: `difficulty="easy" | "moderate" | "hard"`, a level in [0, 1]
(interpolating between them), or a `RenderConfig` with single fields changed
(`dataclasses.replace(resolve_config("moderate"), p_occluder=0.5)`).

Conventions (see docs/CONTRACTS.md):

- Coordinates: `(x, y)` pixels of the rendered image, x right, y down, 0-based
  (pixel centres at integers).
- Visibility (COCO): 2 = visible; 1 = inside the image but hidden, at the
  joint's pixel, by an occluder, a distractor, another person or another part
  of the same body; 0 = outside the image (not annotated; x = y = 0).
- `center`, `scale` (hourglass): `center` is the middle of the box around the
  16 MPII joints; `200 * scale` = `SCALE_MARGIN` (1.4) × the longer side of
  that box, close to MPII's own median (1.43 on the validation split). The
  whole figure fits in that box; crops add `transforms.BOX_PADDING` on top.
- `head_size` (PCKh normaliser): the head box is the rectangle around the head
  ellipse in the head's own frame: `d` = |upper_neck − head_top| long and
  `HEAD_WIDTH_RATIO` × `d` wide, so `head_size` = 0.6 × its diagonal = 0.75 d,
  which is MPII's own ratio (normalize / |upper_neck − head_top| = 0.75 ± 0.01
  on the validation split).
- Left and right: figures face the camera (eyes, nose, mouth and a V collar
  are drawn, all mirror-symmetric), so the person's right side is on the image
  left relative to the figure's own up direction. Back-facing figures (no face,
  no collar, hair all over the head) have their right side on the image right;
  they appear only where `RenderConfig.p_back_facing` > 0 (the "hard" preset).
  Every cue is mirror-symmetric, so a horizontal flip with the left/right joint
  swap (`KeypointSet.flip_index`) gives a consistent sample of the same kind.
- COCO layout (`keypoint_set="coco"`): shoulders, elbows, wrists, hips, knees
  and ankles are the MPII joints; nose, eyes and ears are the drawn face
  features (nose tip, eye centres, ear centres). On back-facing figures nose
  and eyes have v = 0, as COCO annotators leave them.
"""

from __future__ import annotations

import argparse
import colorsys
import concurrent.futures
import dataclasses
import json
import math
import os
import pathlib
import threading
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from kerashg import cli, draw
from kerashg.errors import InputError
from kerashg.keypoints import COCO, MPII, KeypointSet
from kerashg.transforms import PIXEL_STD

# ---------------------------------------------------------------------------
# Annotation conventions.

# 200 * scale = SCALE_MARGIN * longer side of the box around the 16 MPII joints.
SCALE_MARGIN = 1.4
# Head box width / head box length; the length is |upper_neck - head_top|.
HEAD_WIDTH_RATIO = 0.75
# MPII's PCKh normaliser is this fraction of the head-box diagonal.
HEAD_BOX_DIAGONAL_FRACTION = 0.6
# head_size = HEAD_SIZE_RATIO * |upper_neck - head_top| (= 0.75).
HEAD_SIZE_RATIO = HEAD_BOX_DIAGONAL_FRACTION * math.hypot(1.0, HEAD_WIDTH_RATIO)
# Added to coordinates written by `write_mpii_h5` (0: the records' 0-based pixels
# are written unchanged; the MPII originals are 1-based Matlab pixels).
MPII_COORDINATE_OFFSET = 0.0
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
# Official COCO joint names, for the categories of the JSON writer.
COCO_JSON_KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

# ---------------------------------------------------------------------------
# Body model, in torso lengths (pelvis → thorax = 1). Medians of MPII's
# validation split with foreshortening taken out; every person gets its own
# proportions within +-PROPORTION_JITTER and a build (width) factor.

SEGMENT_LENGTH = dict(
    upper_arm=0.62, forearm=0.50, hand=0.18, thigh=0.86, shin=0.84, foot=0.22, neck=0.14, head=0.62
)
SEGMENT_WIDTH = dict(
    upper_arm=0.19, forearm=0.16, hand=0.16, thigh=0.31, shin=0.23, foot=0.17, neck=0.18
)
SHOULDER_HALF_WIDTH = 0.36  # thorax → shoulder, sideways
SHOULDER_DROP = 0.06  # shoulders sit this far below the thorax
HIP_HALF_WIDTH = 0.22  # pelvis → hip, sideways
PROPORTION_JITTER = 0.1
BUILD_RANGE = (0.8, 1.25)
TORSO_TURN_RANGE = (0.75, 1.0)  # shoulder / hip width shrink of a slightly turned torso

# Joint-angle limits in degrees, measured in the image plane. Limb angles are
# from "straight down", positive = away from the body's midline; a bend is the
# child segment's angle relative to its parent's. Each limb draws from the
# natural range, or with probability `RenderConfig.wide_pose_fraction` from the
# wide one (raised arms, kicks, sitting, crossed forearms).
ARM_RAISE_NATURAL, ARM_RAISE_WIDE = (-12.0, 50.0), (-25.0, 175.0)
ELBOW_BEND_NATURAL, ELBOW_BEND_WIDE = (-35.0, 35.0), (-150.0, 150.0)
LEG_RAISE_NATURAL, LEG_RAISE_WIDE = (-8.0, 28.0), (-25.0, 100.0)
KNEE_BEND_NATURAL, KNEE_BEND_WIDE = (-20.0, 20.0), (-110.0, 110.0)
WRIST_BEND = (-30.0, 30.0)
FOOT_TURN = (15.0, 75.0)  # feet point toward the camera and outward
NECK_TILT = (-15.0, 15.0)
HEAD_TILT = (-20.0, 20.0)

# Head ellipse and face, in head lengths d = |upper_neck - head_top| along the
# head axis (0 = upper neck, 1 = head top) and across it (+ = the person's left).
HEAD_OVERHANG = 0.04  # the hair reaches this far past both ends, so both joints are inside
FACE_CENTRE, FACE_HALF_LENGTH, FACE_HALF_WIDTH = 0.44, 0.40, 0.31
EYE_ALONG, EYE_ACROSS, EYE_RADIUS = 0.52, 0.13, 0.055
NOSE_ALONG, NOSE_RADIUS = 0.40, 0.045
MOUTH_ALONG, MOUTH_HALF_WIDTH = 0.25, 0.09
EAR_ALONG, EAR_ACROSS, EAR_HALF_LENGTH, EAR_HALF_WIDTH = 0.48, 0.39, 0.11, 0.075

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

# ---------------------------------------------------------------------------
# Rendering constants.

TEXTURE_COUNT = 24  # background textures per seed
TEXTURE_SIZE = 384  # side of a texture in pixels, for 256-pixel images
TEXTURE_REFERENCE_IMAGE_SIZE = 256  # textures are rescaled in proportion for other sizes
TEXTURE_CROP_FRACTION = (0.35, 1.0)
NOISE_SIZE = 512  # side of the per-seed pixel-noise field
NOISE_FIELD_STD = 32.0  # std of that field in grey levels (scaled per sample)
_SHIFT = 4  # OpenCV sub-pixel bits: coordinates are drawn to 1/16 pixel
_ONE = float(1 << _SHIFT)
_AA = cv2.LINE_AA
SKIN_TONES = (
    (255, 224, 196), (241, 194, 155), (224, 172, 125), (198, 134, 66),
    (161, 102, 60), (141, 85, 36), (94, 56, 33), (60, 40, 30),
)  # fmt: skip
HAIR_TONES = (
    (20, 16, 14), (60, 40, 25), (110, 75, 40), (200, 160, 90),
    (150, 60, 30), (170, 170, 170), (235, 230, 220),
)  # fmt: skip


# ---------------------------------------------------------------------------
# Difficulty.


@dataclasses.dataclass(frozen=True)
class RenderConfig:
    """What varies from sample to sample, and how much.

    Build one with `resolve_config("moderate")` (or a float in [0, 1]) and
    change single fields with `dataclasses.replace`.

    Args:
        max_rotation_deg: float, the figure turns uniformly in +-this.
        box_fraction: (lo, hi), person box side (200 * scale) / image side.
        num_distractors: (lo, hi), clutter shapes per image (inclusive).
        distractor_limb_fraction: float, share of distractors that are limb-like
            capsule chains, half of them in the person's own colours.
        foreground_fraction: float, share of distractors drawn over the person.
        p_occluder: float, probability of an occluder over a random joint.
        p_second_person: float, probability of a second, non-target person.
        p_back_facing: float, probability that a person shows its back.
        p_truncation: float, probability that the person may cross the border.
        p_arm_behind: float, per arm, probability that it passes behind the torso.
        wide_pose_fraction: float, per limb, probability of the wide angle range.
        min_foreshortening: float, limbs keep at least this share of their length.
        max_noise_std: float, grey-level std of the added pixel noise (upper bound).
        max_blur_sigma: float, Gaussian blur sigma in pixels (upper bound).
    """

    max_rotation_deg: float = 20.0
    box_fraction: tuple[float, float] = (0.6, 1.0)
    num_distractors: tuple[int, int] = (4, 10)
    distractor_limb_fraction: float = 0.45
    foreground_fraction: float = 0.15
    p_occluder: float = 0.3
    p_second_person: float = 0.2
    p_back_facing: float = 0.0
    p_truncation: float = 0.1
    p_arm_behind: float = 0.08
    wide_pose_fraction: float = 0.35
    min_foreshortening: float = 0.6
    max_noise_std: float = 8.0
    max_blur_sigma: float = 1.0

    def __post_init__(self):
        for name in (
            "distractor_limb_fraction",
            "foreground_fraction",
            "p_occluder",
            "p_second_person",
            "p_back_facing",
            "p_truncation",
            "p_arm_behind",
            "wide_pose_fraction",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]. Received: {name}={value}")
        lo, hi = self.box_fraction
        if not 0.0 < lo <= hi:
            raise ValueError(
                f"box_fraction must be 0 < lo <= hi. Received: box_fraction={self.box_fraction}"
            )
        lo, hi = self.num_distractors
        if not 0 <= lo <= hi:
            raise ValueError(
                f"num_distractors must be 0 <= lo <= hi. Received: num_distractors={self.num_distractors}"
            )
        if not 0.0 < self.min_foreshortening <= 1.0:
            raise ValueError(
                f"min_foreshortening must be in (0, 1]. Received: min_foreshortening={self.min_foreshortening}"
            )
        for name in ("max_rotation_deg", "max_noise_std", "max_blur_sigma"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={getattr(self, name)}")


DIFFICULTY_PRESETS = {
    "easy": RenderConfig(
        max_rotation_deg=10.0,
        box_fraction=(0.75, 1.0),
        num_distractors=(1, 4),
        distractor_limb_fraction=0.3,
        foreground_fraction=0.0,
        p_occluder=0.1,
        p_second_person=0.0,
        p_back_facing=0.0,
        p_truncation=0.0,
        p_arm_behind=0.0,
        wide_pose_fraction=0.2,
        min_foreshortening=0.8,
        max_noise_std=3.0,
        max_blur_sigma=0.5,
    ),
    "moderate": RenderConfig(),
    "hard": RenderConfig(
        max_rotation_deg=45.0,
        box_fraction=(0.4, 1.0),
        num_distractors=(8, 18),
        distractor_limb_fraction=0.6,
        foreground_fraction=0.3,
        p_occluder=0.5,
        p_second_person=0.5,
        p_back_facing=0.25,
        p_truncation=0.3,
        p_arm_behind=0.2,
        wide_pose_fraction=0.6,
        min_foreshortening=0.45,
        max_noise_std=14.0,
        max_blur_sigma=1.6,
    ),
}
_PRESET_LEVEL = {"easy": 0.0, "moderate": 0.5, "hard": 1.0}


def _interpolate(a: RenderConfig, b: RenderConfig, t: float) -> RenderConfig:
    values = {}
    for field in dataclasses.fields(RenderConfig):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, tuple):
            mixed = tuple(u + (v - u) * t for u, v in zip(x, y, strict=True))
            values[field.name] = tuple(round(m) for m in mixed) if isinstance(x[0], int) else mixed
        else:
            values[field.name] = x + (y - x) * t
    return RenderConfig(**values)


def resolve_config(difficulty: str | float | RenderConfig = "moderate") -> RenderConfig:
    """The `RenderConfig` of a preset name, a level in [0, 1] or a config.

    A level interpolates linearly between the presets: 0 = "easy",
    0.5 = "moderate", 1 = "hard".
    """
    if isinstance(difficulty, RenderConfig):
        return difficulty
    if isinstance(difficulty, str):
        if difficulty not in DIFFICULTY_PRESETS:
            raise InputError(
                f"Unknown difficulty. Received: difficulty={difficulty!r}; expected one of "
                f"{sorted(DIFFICULTY_PRESETS)}, a float in [0, 1] or a RenderConfig"
            )
        return DIFFICULTY_PRESETS[difficulty]
    level = float(difficulty)
    if not 0.0 <= level <= 1.0:
        raise InputError(
            f"difficulty must be in [0, 1] when a number. Received: difficulty={difficulty}"
        )
    if level <= 0.5:
        return _interpolate(DIFFICULTY_PRESETS["easy"], DIFFICULTY_PRESETS["moderate"], level / 0.5)
    return _interpolate(
        DIFFICULTY_PRESETS["moderate"], DIFFICULTY_PRESETS["hard"], (level - 0.5) / 0.5
    )


# ---------------------------------------------------------------------------
# Colours and textures.


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


def _value_noise(rng, size: int, channels: int, octaves: int = 5) -> np.ndarray:
    """Fractal value noise in [0, 1], float32 (size, size, channels)."""
    total = np.zeros((size, size, channels), np.float32)
    amplitude, norm = 1.0, 0.0
    for octave in range(octaves):
        grid = 3 * 2**octave
        coarse = rng.random((grid, grid, channels), dtype=np.float32)
        fine = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        total += amplitude * fine.reshape(size, size, channels)
        norm += amplitude
        amplitude *= rng.uniform(0.4, 0.65)
    total /= norm
    lo, hi = total.min(), total.max()
    return (total - lo) / max(hi - lo, 1e-6)


def _palette_map(rng, field: np.ndarray) -> np.ndarray:
    """Maps a scalar field in [0, 1] (H, W) through 2-4 random colours."""
    stops = np.array([_hsv(rng) for _ in range(rng.integers(2, 5))], np.float32)
    position = field * (len(stops) - 1)
    low = np.clip(position.astype(np.int32), 0, len(stops) - 2)
    frac = (position - low)[..., None]
    return stops[low] * (1 - frac) + stops[low + 1] * frac


def _noise_texture(rng, size):
    noise = _value_noise(rng, size, 2)
    image = _palette_map(rng, noise[..., 0])
    image *= (0.7 + 0.6 * noise[..., 1:2]).astype(np.float32)
    return image


def _stripe_texture(rng, size):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(6, 60)
    warp = _value_noise(rng, size, 1, octaves=3)[..., 0] * rng.uniform(0, 40)
    phase = (x * math.cos(angle) + y * math.sin(angle) + warp) * (2 * math.pi / period)
    field = 0.5 + 0.5 * np.sin(phase)
    if rng.random() < 0.5:  # plaid
        phase2 = (-x * math.sin(angle) + y * math.cos(angle)) * (2 * math.pi / rng.uniform(6, 60))
        field = 0.5 * field + 0.25 + 0.25 * np.sin(phase2)
    return _palette_map(rng, field)


def _clutter_texture(rng, size):
    image = np.empty((size, size, 3), np.uint8)
    image[:] = _hsv(rng)
    for _ in range(rng.integers(40, 160)):
        colour = _hsv(rng)
        c = (int(rng.uniform(0, size) * _ONE), int(rng.uniform(0, size) * _ONE))
        extent = rng.uniform(3, size / 5)
        kind = rng.integers(4)
        if kind == 0:
            cv2.circle(image, c, int(extent * _ONE), colour, -1, _AA, _SHIFT)
        elif kind == 1:
            cv2.ellipse(
                image, c, (int(extent * _ONE), int(extent * rng.uniform(0.2, 1) * _ONE)),
                rng.uniform(0, 180), 0, 360, colour, -1, _AA, _SHIFT,
            )  # fmt: skip
        elif kind == 2:
            points = rng.uniform(-extent, extent, (rng.integers(3, 7), 2)) + np.array(c) / _ONE
            cv2.fillPoly(image, [(points * _ONE).astype(np.int32)], colour, _AA, _SHIFT)
        else:
            end = (
                c[0] + int(rng.uniform(-2, 2) * extent * _ONE),
                c[1] + int(rng.uniform(-2, 2) * extent * _ONE),
            )
            cv2.line(image, c, end, colour, int(rng.integers(1, 6)), _AA, _SHIFT)
    return cv2.GaussianBlur(image, (0, 0), rng.uniform(0.5, 2.5)).astype(np.float32)


def _tile_texture(rng, size):
    image = np.empty((size, size, 3), np.float32)
    base = np.array(_hsv(rng), np.float32)
    tile_w, tile_h = rng.uniform(12, 64), rng.uniform(8, 48)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    row = np.floor(y / tile_h)
    offset = (row % 2) * tile_w * 0.5 * (rng.random() < 0.6)  # bricks or a grid
    col = np.floor((x + offset) / tile_w)
    shade = (np.sin(row * 12.9898 + col * 78.233) * 43758.5453) % 1.0  # per-tile hash
    image[:] = base
    image *= (0.75 + 0.5 * shade)[..., None]
    mortar = (np.abs((x + offset) % tile_w) < 2) | (np.abs(y % tile_h) < 2)
    image[mortar] = np.array(_hsv(rng), np.float32)
    return image


_TEXTURE_MAKERS = (_noise_texture, _stripe_texture, _clutter_texture, _tile_texture)


class _Bank:
    """Background textures and a pixel-noise field of one seed.

    `textures`: uint8 (TEXTURE_SIZE, TEXTURE_SIZE, 3) each; `noise`: uint8
    (NOISE_SIZE, NOISE_SIZE, 3), grey level 128 = no change. `sized(S)` gives
    the textures resized for S-pixel images (made once), so a background crop
    is resized over few pixels.
    """

    def __init__(self, textures: tuple[np.ndarray, ...], noise: np.ndarray):
        self.textures = textures
        self.noise = noise
        self._sized: dict[int, tuple[np.ndarray, ...]] = {}
        self._lock = threading.Lock()

    def sized(self, image_size: int) -> tuple[np.ndarray, ...]:
        with self._lock:
            textures = self._sized.get(image_size)
            if textures is None:
                side = max(8, round(TEXTURE_SIZE * image_size / TEXTURE_REFERENCE_IMAGE_SIZE))
                textures = tuple(
                    cv2.resize(t, (side, side), interpolation=cv2.INTER_AREA) for t in self.textures
                )
                self._sized[image_size] = textures
            return textures


_BANKS: dict[int, _Bank] = {}
MAX_CACHED_BANKS = 8  # about 12 MB each; the oldest seed's bank is dropped first
_BANK_LOCK = threading.Lock()
_BANK_STREAM = 7_919  # keeps the bank's random stream apart from the samples'


def _texture_bank(seed: int) -> _Bank:
    """The `_Bank` of `seed`, made once per process."""
    with _BANK_LOCK:
        bank = _BANKS.get(seed)
        if bank is None:
            rng = np.random.default_rng([seed, _BANK_STREAM])
            textures = []
            for i in range(TEXTURE_COUNT):
                image = _TEXTURE_MAKERS[i % len(_TEXTURE_MAKERS)](rng, TEXTURE_SIZE)
                textures.append(np.clip(image, 0, 255).astype(np.uint8))
            noise = rng.normal(128.0, NOISE_FIELD_STD, (NOISE_SIZE, NOISE_SIZE, 3))
            bank = _Bank(tuple(textures), np.clip(noise, 0, 255).astype(np.uint8))
            while len(_BANKS) >= MAX_CACHED_BANKS:
                del _BANKS[next(iter(_BANKS))]
            _BANKS[seed] = bank
        return bank


class _Stream:
    """Scalar random numbers of one sample, drawn from its Generator in blocks.

    Same values as long as the calls are the same; much cheaper per number than
    scalar `Generator` calls, which dominate a Python-level renderer.
    """

    _BLOCK = 512

    def __init__(self, seed: int, index: int):
        self._generator = np.random.default_rng([seed, index])
        self._values: list[float] = []

    def random(self) -> float:
        if not self._values:
            self._values = self._generator.random(self._BLOCK).tolist()
        return self._values.pop()

    def uniform(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.random()

    def integers(self, lo: int, hi: int | None = None) -> int:
        """An int in [lo, hi), or in [0, lo) when `hi` is None."""
        if hi is None:
            lo, hi = 0, lo
        return min(hi - 1, lo + int(self.random() * (hi - lo)))


_CHANNEL_ORDERS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def _background(rng, bank: _Bank, size: int) -> np.ndarray:
    textures = bank.sized(size)
    full = textures[0].shape[0]

    def crop():
        texture = textures[rng.integers(len(textures))]
        side = int(full * rng.uniform(*TEXTURE_CROP_FRACTION))
        x0, y0 = rng.integers(full - side + 1), rng.integers(full - side + 1)
        patch = cv2.resize(
            texture[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_LINEAR
        )
        if rng.random() < 0.5:
            patch = cv2.flip(patch, rng.integers(3) - 1)
        order = _CHANNEL_ORDERS[rng.integers(len(_CHANNEL_ORDERS))]
        mixed = np.empty_like(patch)
        cv2.mixChannels([patch], [mixed], [order[0], 0, order[1], 1, order[2], 2])
        return mixed

    image = crop()
    if rng.random() < 0.3:
        weight = rng.uniform(0.3, 0.7)
        image = cv2.addWeighted(image, weight, crop(), 1.0 - weight, 0.0)
    return image


# ---------------------------------------------------------------------------
# The figure.


@dataclasses.dataclass
class _Figure:
    """A person in body units: torso length 1, pelvis at the origin, y down.

    `landmarks` (NUM_LANDMARKS, 2); `ops` are drawing operations in drawing
    order: (kind, points, size, colour, part, outline) with kind one of
    "capsule" (2 points, width), "poly" (n points), "ellipse" (centre and the
    end of the long half-axis, half-width), "circle" (centre, radius).
    """

    landmarks: np.ndarray
    ops: list
    back_facing: bool
    outline: bool


def _unit(angle_deg: float, side: float) -> tuple[float, float]:
    """Direction `angle_deg` from straight down, turned away from the midline on `side`."""
    a = math.radians(angle_deg)
    return side * math.sin(a), math.cos(a)


def _add(p, d, length):
    return p[0] + d[0] * length, p[1] + d[1] * length


def _angle(rng, natural, wide, wide_fraction):
    return rng.uniform(*(wide if rng.random() < wide_fraction else natural))


def _person_colours(rng):
    skin = (
        _jitter(rng, SKIN_TONES[rng.integers(len(SKIN_TONES))]) if rng.random() < 0.9 else _hsv(rng)
    )
    shirt, trousers = _hsv(rng), _hsv(rng)
    sleeve = rng.random()
    sleeve = 0 if sleeve < 0.4 else 1 if sleeve < 0.8 else 2  # long, short, none
    upper_arm = shirt if sleeve < 2 else skin
    forearm = shirt if sleeve == 0 else skin
    shorts = rng.random() < 0.3
    return dict(
        skin=skin,
        hair=_jitter(rng, HAIR_TONES[rng.integers(len(HAIR_TONES))])
        if rng.random() < 0.85
        else _hsv(rng),
        torso=shirt,
        pelvis=trousers,
        upper_arm=upper_arm,
        forearm=forearm,
        hand=skin if rng.random() < 0.85 else _hsv(rng),
        thigh=trousers,
        shin=skin if shorts else trousers,
        foot=_hsv(rng, v=(0.05, 0.7)),
        collar=skin if rng.random() < 0.5 else _hsv(rng),
        belt=_hsv(rng, v=(0.0, 0.5)),
        eye=_hsv(rng, v=(0.0, 0.3)),
        mouth=_hsv(rng, h=(0.95, 1.0), s=(0.4, 0.9), v=(0.2, 0.6)),
    )


def _sample_figure(rng, cfg: RenderConfig) -> _Figure:
    """A random person in body units (see `_Figure`)."""
    back = bool(rng.random() < cfg.p_back_facing)
    # Image-plane side of the person's right / left: front-facing puts the
    # person's right on the image left.
    side_x = {"r": 1.0 if back else -1.0, "l": -1.0 if back else 1.0}
    length = {
        k: v * rng.uniform(1 - PROPORTION_JITTER, 1 + PROPORTION_JITTER)
        for k, v in SEGMENT_LENGTH.items()
    }
    build = rng.uniform(*BUILD_RANGE)
    width = {k: v * build * rng.uniform(0.9, 1.1) for k, v in SEGMENT_WIDTH.items()}
    turn = rng.uniform(*TORSO_TURN_RANGE)
    colour = _person_colours(rng)
    colour = {k: _jitter(rng, v, 0.08) for k, v in colour.items()}

    def shorten():
        return rng.uniform(cfg.min_foreshortening, 1.0)

    lm = np.zeros((NUM_LANDMARKS, 2))
    pelvis, thorax = (0.0, 0.0), (0.0, -1.0)
    lm[_L["pelvis"]], lm[_L["thorax"]] = pelvis, thorax
    neck_dir = _unit(180.0 + rng.uniform(*NECK_TILT), 1.0)
    upper_neck = _add(thorax, neck_dir, length["neck"])
    head_dir = _unit(180.0 + rng.uniform(*NECK_TILT) + rng.uniform(*HEAD_TILT), 1.0)
    head_length = length["head"]
    lm[_L["upper_neck"]] = upper_neck
    lm[_L["head_top"]] = _add(upper_neck, head_dir, head_length)

    limbs = {}
    behind = {}
    for s in _SIDES:
        x = side_x[s]
        shoulder = (x * SHOULDER_HALF_WIDTH * turn, -1.0 + SHOULDER_DROP)
        hip = (x * HIP_HALF_WIDTH * turn, 0.0)
        raise_arm = _angle(rng, ARM_RAISE_NATURAL, ARM_RAISE_WIDE, cfg.wide_pose_fraction)
        bend = _angle(rng, ELBOW_BEND_NATURAL, ELBOW_BEND_WIDE, cfg.wide_pose_fraction)
        elbow = _add(shoulder, _unit(raise_arm, x), length["upper_arm"] * shorten())
        wrist = _add(elbow, _unit(raise_arm + bend, x), length["forearm"] * shorten())
        hand = _add(
            wrist, _unit(raise_arm + bend + rng.uniform(*WRIST_BEND), x), length["hand"] * shorten()
        )
        raise_leg = _angle(rng, LEG_RAISE_NATURAL, LEG_RAISE_WIDE, cfg.wide_pose_fraction)
        knee_bend = _angle(rng, KNEE_BEND_NATURAL, KNEE_BEND_WIDE, cfg.wide_pose_fraction)
        knee = _add(hip, _unit(raise_leg, x), length["thigh"] * shorten())
        ankle = _add(knee, _unit(raise_leg + knee_bend, x), length["shin"] * shorten())
        toe = _add(
            ankle,
            _unit(raise_leg + knee_bend + rng.uniform(*FOOT_TURN), x),
            length["foot"] * shorten(),
        )
        for name, point in (("shoulder", shoulder), ("elbow", elbow), ("wrist", wrist)):
            lm[_L[f"{s}_{name}"]] = point
        for name, point in (("hip", hip), ("knee", knee), ("ankle", ankle)):
            lm[_L[f"{s}_{name}"]] = point
        limbs[s] = dict(
            shoulder=shoulder,
            elbow=elbow,
            wrist=wrist,
            hand=hand,
            hip=hip,
            knee=knee,
            ankle=ankle,
            toe=toe,
        )
        behind[s] = bool(rng.random() < cfg.p_arm_behind)

    # Head frame: along = unit vector neck → top, across = the person's left.
    ax, ay = head_dir
    cx, cy = -side_x["l"] * ay, side_x["l"] * ax
    nx, ny = upper_neck

    def head_point(a, c):
        a, c = a * head_length, c * head_length
        return nx + ax * a + cx * c, ny + ay * a + cy * c

    for s in _SIDES:
        lm[_L[f"{s}_eye"]] = head_point(EYE_ALONG, side_x[s] * side_x["l"] * EYE_ACROSS)
        lm[_L[f"{s}_ear"]] = head_point(EAR_ALONG, side_x[s] * side_x["l"] * EAR_ACROSS)
    lm[_L["nose"]] = head_point(NOSE_ALONG, 0.0)

    ops = []

    def capsule(a, b, part_name, part_id):
        ops.append(("capsule", (a, b), width[part_name], colour[part_name], part_id, True))

    def arm(s):
        p = limbs[s]
        capsule(p["shoulder"], p["elbow"], "upper_arm", _PART[f"{s}_upper_arm"])
        capsule(p["elbow"], p["wrist"], "forearm", _PART[f"{s}_forearm"])
        capsule(p["wrist"], p["hand"], "hand", _PART[f"{s}_hand"])

    def leg(s):
        p = limbs[s]
        capsule(p["hip"], p["knee"], "thigh", _PART[f"{s}_thigh"])
        capsule(p["knee"], p["ankle"], "shin", _PART[f"{s}_shin"])
        capsule(p["ankle"], p["toe"], "foot", _PART[f"{s}_foot"])

    order = list(_SIDES) if rng.random() < 0.5 else list(_SIDES[::-1])
    for s in order:
        if behind[s]:
            arm(s)
    for s in order:
        leg(s)
    # Torso: shoulders, waist, hips; the trousers band on top of the thighs.
    rs, ls = limbs["r"]["shoulder"], limbs["l"]["shoulder"]
    rh, lh = limbs["r"]["hip"], limbs["l"]["hip"]
    top = -1.0 + SHOULDER_DROP - 0.5 * width["upper_arm"]
    shoulder_out = 0.35 * width["upper_arm"]
    hip_out = 0.5 * width["thigh"]
    waist_x = 0.85 * max(abs(rs[0]), abs(rh[0]) + hip_out)
    waist_y = -0.45

    def side_points(p_shoulder, p_hip, sign):
        return [
            (p_shoulder[0] + sign * shoulder_out, top),
            (sign * waist_x, waist_y),
            (p_hip[0] + sign * hip_out, 0.1),
        ]

    r_pts = side_points(rs, rh, side_x["r"])
    l_pts = side_points(ls, lh, side_x["l"])
    torso = [r_pts[0], l_pts[0], l_pts[1], l_pts[2], r_pts[2], r_pts[1]]
    ops.append(("poly", tuple(torso), None, colour["torso"], TORSO, True))
    band_y = -0.2
    band_x = waist_x + (abs(lh[0]) + hip_out - waist_x) * (band_y - waist_y) / (0.1 - waist_y)
    pelvis_poly = (
        (side_x["r"] * band_x, band_y),
        (side_x["l"] * band_x, band_y),
        l_pts[2],
        (0.0, 0.22),
        r_pts[2],
    )
    ops.append(("poly", pelvis_poly, None, colour["pelvis"], PELVIS, True))
    belt_width = 0.06
    ops.append(
        (
            "capsule",
            ((-band_x, band_y), (band_x, band_y)),
            belt_width,
            colour["belt"],
            PELVIS,
            False,
        )
    )
    if not back:
        collar = ((-0.13, -1.0 + 0.02), (0.13, -1.0 + 0.02), (0.0, -1.0 + 0.22))
        ops.append(("poly", collar, None, colour["collar"], TORSO, False))
    # Neck and head.
    ops.append(("capsule", (thorax, upper_neck), width["neck"], colour["skin"], NECK, True))
    for s in _SIDES:
        ear = tuple(lm[_L[f"{s}_ear"]])
        ear_end = head_point(EAR_ALONG + EAR_HALF_LENGTH, side_x[s] * side_x["l"] * EAR_ACROSS)
        ops.append(
            ("ellipse", (ear, ear_end), EAR_HALF_WIDTH * head_length, colour["skin"], HEAD, True)
        )
    hair_half = 0.5 + HEAD_OVERHANG
    ops.append(
        ("ellipse", (head_point(0.5, 0.0), head_point(0.5 + hair_half, 0.0)),
         0.5 * HEAD_WIDTH_RATIO * head_length, colour["hair"], HEAD, True)
    )  # fmt: skip
    if not back:
        ops.append(
            ("ellipse", (head_point(FACE_CENTRE, 0.0), head_point(FACE_CENTRE + FACE_HALF_LENGTH, 0.0)),
             FACE_HALF_WIDTH * head_length, colour["skin"], HEAD, False)
        )  # fmt: skip
        for s in _SIDES:
            ops.append(
                (
                    "circle",
                    (tuple(lm[_L[f"{s}_eye"]]),),
                    EYE_RADIUS * head_length,
                    colour["eye"],
                    HEAD,
                    False,
                )
            )
        ops.append(
            (
                "circle",
                (tuple(lm[_L["nose"]]),),
                NOSE_RADIUS * head_length,
                _darker(colour["skin"], 0.75),
                HEAD,
                False,
            )
        )
        mouth = (
            head_point(MOUTH_ALONG, -MOUTH_HALF_WIDTH),
            head_point(MOUTH_ALONG, MOUTH_HALF_WIDTH),
        )
        ops.append(("capsule", mouth, 0.05 * head_length, colour["mouth"], HEAD, False))
    for s in order[::-1]:
        if not behind[s]:
            arm(s)
    return _Figure(lm, ops, back, outline=bool(rng.random() < 0.6))


@dataclasses.dataclass
class _Placement:
    """Body units → image pixels: image = scale_px * R(rotation) @ body + shift."""

    matrix: np.ndarray  # (2, 2), includes scale_px
    shift: np.ndarray  # (2,)
    scale_px: float  # pixels per torso length

    def apply(self, points) -> np.ndarray:
        return np.asarray(points, np.float64) @ self.matrix.T + self.shift


def _rotation(rotation_deg: float) -> np.ndarray:
    t = math.radians(rotation_deg)
    return np.array([[math.cos(t), math.sin(t)], [-math.sin(t), math.cos(t)]])


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


# ---------------------------------------------------------------------------
# Clutter.


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


def _photometric(rng, image, bank: _Bank, cfg: RenderConfig) -> np.ndarray:
    """Colour cast, contrast, brightness, blur and pixel noise."""
    size = image.shape[0]
    gains = (rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15), rng.uniform(0.85, 1.15), 0.0)
    image = cv2.multiply(image, gains)
    sigma = rng.uniform(0.0, cfg.max_blur_sigma)
    if sigma > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    contrast = rng.uniform(0.8, 1.2)
    brightness = rng.uniform(-20, 20)
    noise_gain = rng.uniform(0.0, cfg.max_noise_std) / NOISE_FIELD_STD
    side = min(size, NOISE_SIZE)
    x0, y0 = rng.integers(NOISE_SIZE - side + 1), rng.integers(NOISE_SIZE - side + 1)
    noise = bank.noise[y0 : y0 + side, x0 : x0 + side]
    if side < size:
        noise = cv2.resize(noise, (size, size), interpolation=cv2.INTER_NEAREST)
    # contrast * image + gain * (noise - 128) + brightness, saturated to uint8.
    return cv2.addWeighted(image, contrast, noise, noise_gain, brightness - 128.0 * noise_gain)


# ---------------------------------------------------------------------------
# Public API.


def _check_common(index, seed, image_size):
    if int(index) != index or index < 0:
        raise ValueError(f"index must be an integer >= 0. Received: index={index}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be an integer >= 0. Received: seed={seed}")
    if int(image_size) != image_size or image_size < 32:
        raise ValueError(f"image_size must be an integer >= 32. Received: image_size={image_size}")


def _resolve_keypoint_set(keypoint_set) -> tuple[KeypointSet, np.ndarray]:
    name = keypoint_set.name if isinstance(keypoint_set, KeypointSet) else str(keypoint_set).lower()
    if name not in _KEYPOINT_SETS:
        raise ValueError(
            f"Synthetic data is rendered in the MPII or COCO layout. Received: keypoint_set={keypoint_set!r}; "
            f"expected one of {sorted(_KEYPOINT_SETS)}"
        )
    return _KEYPOINT_SETS[name]


def render_sample(
    index: int,
    seed: int = 0,
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    keypoint_set: str | KeypointSet = "mpii",
    return_mask: bool = False,
) -> dict:
    """Renders synthetic sample `index` of data set `seed`.

    Args:
        index: int >= 0, sample number; samples are independent of each other.
        seed: int >= 0, data set seed (also selects the background textures).
        image_size: int >= 32, side S of the square image in pixels.
        difficulty: preset name ("easy", "moderate", "hard"), level in [0, 1],
            or a `RenderConfig`.
        keypoint_set: "mpii" (16 joints) or "coco" (17 joints).
        return_mask: bool, also return the target's visible pixels (and each
            other person's).

    Returns:
        dict with
        - `image`: uint8 (S, S, 3), RGB.
        - `keypoints`: float32 (K, 3), x, y in image pixels and v in {0, 1, 2}
          (v = 0 → x = y = 0).
        - `center`: float32 (2,), `scale`: float32 (box side = 200 * scale px),
          `head_size`: float32 (PCKh normaliser), `torso_angle`: float (degrees),
          `index`: int.
        - `others`: list of dicts with keypoints / center / scale / head_size
          (and mask) of a second person, when one is drawn with at least
          `MIN_ANNOTATED_JOINTS` joints inside the image.
        - `mask`: bool (S, S), only with `return_mask`.
    """
    _check_common(index, seed, image_size)
    cfg = resolve_config(difficulty)
    _, select = _resolve_keypoint_set(keypoint_set)
    size = int(image_size)
    rng = _Stream(int(seed), int(index))
    bank = _texture_bank(int(seed))
    image = _background(rng, bank, size)
    labels = np.zeros((size, size), np.uint8)

    # The target person: size, rotation, position (inside the image unless truncated).
    figure = _sample_figure(rng, cfg)
    rotation = rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg)
    box_side = rng.uniform(*cfg.box_fraction) * size
    placement = _place(figure, rotation, box_side, (0.0, 0.0))
    joints = placement.apply(figure.landmarks)
    half = (joints.max(0) - joints.min(0)) / 2
    margin = 0.04 * box_side
    slack = 0.35 * 2 * half if rng.random() < cfg.p_truncation else np.zeros(2)
    lo, hi = half + margin - slack, size - half - margin + slack
    center = np.array(
        [rng.uniform(a, b) if a < b else size / 2 for a, b in zip(lo, hi, strict=True)]
    )
    placement = _place(figure, rotation, box_side, center)

    second = None
    if rng.random() < cfg.p_second_person:
        other = _sample_figure(rng, cfg)
        other_box = box_side * rng.uniform(0.75, 1.1)
        side = 1.0 if rng.random() < 0.5 else -1.0
        offset = np.array([side * rng.uniform(0.5, 0.85), rng.uniform(-0.15, 0.15)])
        other_center = center + offset * (box_side + other_box) / 2
        other_rotation = rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg)
        second = (
            other,
            _place(other, other_rotation, other_box, other_center),
            bool(rng.random() < 0.5),
        )

    palette = [op[3] for op in figure.ops[:6]]
    num_distractors = int(rng.integers(cfg.num_distractors[0], cfg.num_distractors[1] + 1))
    num_front = sum(rng.random() < cfg.foreground_fraction for _ in range(num_distractors))
    for _ in range(num_distractors - num_front):
        _draw_distractor(rng, image, labels, box_side, palette, cfg, DISTRACTOR_LABEL)
    if second is not None and not second[2]:
        _draw_figure(image, labels, second[0], second[1], OTHER_PERSON_BASE)
    _draw_figure(image, labels, figure, placement, 0)
    if second is not None and second[2]:
        _draw_figure(image, labels, second[0], second[1], OTHER_PERSON_BASE)
    for _ in range(num_front):
        _draw_distractor(rng, image, labels, box_side, palette, cfg, DISTRACTOR_LABEL)
    if rng.random() < cfg.p_occluder:
        _draw_occluder(rng, image, labels, placement.apply(figure.landmarks), box_side)
    image = _photometric(rng, image, bank, cfg)

    keypoints, center_out, scale, head_size = _annotate(figure, placement, labels, 0)
    sample = dict(
        image=image,
        keypoints=keypoints[select],
        center=center_out,
        scale=scale,
        head_size=head_size,
        torso_angle=_torso_angle(keypoints),
        index=int(index),
        others=[],
    )
    if return_mask:
        sample["mask"] = (labels > 0) & (labels < PARTS_PER_PERSON)
    if second is not None:
        other_kp, other_center, other_scale, other_head = _annotate(
            second[0], second[1], labels, OTHER_PERSON_BASE
        )
        if np.count_nonzero(other_kp[: MPII.num_keypoints, 2]) >= MIN_ANNOTATED_JOINTS:
            annotation = dict(
                keypoints=other_kp[select],
                center=other_center,
                scale=other_scale,
                head_size=other_head,
                torso_angle=_torso_angle(other_kp),
            )
            if return_mask:
                annotation["mask"] = (labels > OTHER_PERSON_BASE) & (
                    labels < OTHER_PERSON_BASE + PARTS_PER_PERSON
                )
            sample["others"].append(annotation)
    return sample


def _default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


class SyntheticPoses:
    """An endless synthetic data set: sample `i` is `render_sample(i, seed, ...)`.

    Args:
        seed: int >= 0, data set seed; use different seeds for train and test.
        image_size: int >= 32, side S of the square images.
        difficulty: preset name, level in [0, 1] or `RenderConfig` (see `resolve_config`).
        keypoint_set: "mpii" (16 joints, default) or "coco" (17).
        workers: int >= 1, threads used by `render_batch` (default: up to 2).
            OpenCV drawing releases the GIL, so threads overlap partly.

    Indexing (`poses[i]`) returns one sample dict; there is no length.
    """

    def __init__(
        self,
        seed: int = 0,
        image_size: int = 256,
        difficulty: str | float | RenderConfig = "moderate",
        keypoint_set: str | KeypointSet = "mpii",
        workers: int | None = None,
    ):
        _check_common(0, seed, image_size)
        if workers is not None and (int(workers) != workers or workers < 1):
            raise ValueError(f"workers must be an integer >= 1. Received: workers={workers}")
        self.seed = int(seed)
        self.image_size = int(image_size)
        self.difficulty = difficulty
        self.config = resolve_config(difficulty)
        self.keypoint_set, _ = _resolve_keypoint_set(keypoint_set)
        self.workers = int(workers) if workers is not None else _default_workers()

    def __getitem__(self, index: int) -> dict:
        return render_sample(index, self.seed, self.image_size, self.config, self.keypoint_set)

    def render_batch(self, indices: Iterable[int]) -> dict:
        """Renders `indices` into columnar arrays.

        Returns:
            dict with `image` uint8 (N, S, S, 3), `keypoints` float32 (N, K, 3),
            `center` float32 (N, 2), `scale` float32 (N,), `head_size` float32 (N,),
            `id` int64 (N,) = the sample indices.
        """
        indices = np.asarray(list(indices), np.int64)
        n, size, k = len(indices), self.image_size, self.keypoint_set.num_keypoints
        out = dict(
            image=np.zeros((n, size, size, 3), np.uint8),
            keypoints=np.zeros((n, k, 3), np.float32),
            center=np.zeros((n, 2), np.float32),
            scale=np.zeros((n,), np.float32),
            head_size=np.zeros((n,), np.float32),
            id=indices.copy(),
        )

        def fill(rows: range) -> None:
            for row in rows:
                sample = self[int(indices[row])]
                for key in ("image", "keypoints", "center", "scale", "head_size"):
                    out[key][row] = sample[key]

        # A few chunks per worker balance the load; at most 64 samples per chunk.
        chunk = min(64, max(1, math.ceil(n / (4 * self.workers))))
        chunks = [range(i, min(i + chunk, n)) for i in range(0, n, chunk)]
        if self.workers == 1 or len(chunks) <= 1:
            for rows in chunks:
                fill(rows)
        else:
            with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
                for done in pool.map(fill, chunks):
                    del done
        return out

    def records(self, n: int, start: int = 0) -> dict:
        """Samples `start` ... `start + n - 1` as columnar records with their images.

        The keys are those of docs/CONTRACTS.md's records (`keypoints`, `center`,
        `scale`, `head_size`, `id`) with the pixels in `image` (N, S, S, 3) instead
        of an `image_path`.
        """
        if int(n) != n or n < 0:
            raise ValueError(f"n must be an integer >= 0. Received: n={n}")
        if int(start) != start or start < 0:
            raise ValueError(f"start must be an integer >= 0. Received: start={start}")
        return self.render_batch(range(int(start), int(start) + int(n)))

    def __repr__(self) -> str:
        return (
            f"SyntheticPoses(seed={self.seed}, image_size={self.image_size}, "
            f"difficulty={self.difficulty!r}, keypoint_set={self.keypoint_set.name!r})"
        )


# ---------------------------------------------------------------------------
# Writers: the same samples as files the real readers read.

_SPLITS = ("train", "valid", "val", "test")


def _check_writer_args(n, split):
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1. Received: n={n}")
    if split not in _SPLITS:
        raise ValueError(f"Unknown split. Received: split={split!r}; expected one of {_SPLITS}")


def _render_many(indices: Sequence[int], workers: int, **kwargs) -> Iterable[dict]:
    """Renders samples with masks, in order, `workers` at a time."""
    if workers == 1:
        for i in indices:
            yield render_sample(i, return_mask=True, **kwargs)
        return
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        yield from pool.map(lambda i: render_sample(i, return_mask=True, **kwargs), indices)


def _write_jpeg(path: pathlib.Path, image: np.ndarray, quality: int) -> None:
    if not cv2.imwrite(
        str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    ):
        raise OSError(f"Could not write {path}")


def write_mpii_h5(
    out_dir: str | os.PathLike,
    n: int,
    seed: int = 0,
    split: str = "train",
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    start: int = 0,
    workers: int | None = None,
    jpeg_quality: int = 95,
) -> pathlib.Path:
    """Writes samples `start` … `start + n - 1` in the stacked-hourglass MPII layout.

    Creates `out_dir/images/s{seed}_{index:08d}.jpg` and `out_dir/annot/{split}.h5`
    with one row per annotated person (the target, person 0, and any annotated
    second person, person 1), float64 datasets as in the hourglass `valid.h5`:
    `center` (N, 2), `scale` (N,), `part` (N, 16, 2) (0, 0 where v = 0, plus
    `MPII_COORDINATE_OFFSET`), `visible` (N, 16) (1 where v = 2, else 0: MPII
    marks occluded joints not visible), `normalize` (N,) = head size,
    `imgname` (N,) bytes, `index` (N,) = sample index, `person` (N,),
    `torsoangle` (N,) degrees.

    Returns:
        The path of the written `.h5` file.
    """
    import h5py

    _check_writer_args(n, split)
    _check_common(start, seed, image_size)
    out = pathlib.Path(out_dir)
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "annot").mkdir(parents=True, exist_ok=True)
    rows = {
        key: []
        for key in (
            "center",
            "scale",
            "part",
            "visible",
            "normalize",
            "imgname",
            "index",
            "person",
            "torsoangle",
        )
    }
    samples = _render_many(
        range(int(start), int(start) + int(n)),
        workers or _default_workers(),
        seed=seed,
        image_size=image_size,
        difficulty=difficulty,
    )
    for sample in samples:
        name = f"s{seed}_{sample['index']:08d}.jpg"
        _write_jpeg(out / "images" / name, sample["image"], jpeg_quality)
        people = [sample] + sample["others"]
        for person, annotation in enumerate(people):
            keypoints = annotation["keypoints"].astype(np.float64)
            annotated = keypoints[:, 2] > 0
            rows["part"].append(
                np.where(annotated[:, None], keypoints[:, :2] + MPII_COORDINATE_OFFSET, 0.0)
            )
            rows["visible"].append((keypoints[:, 2] == 2).astype(np.float64))
            rows["center"].append(annotation["center"].astype(np.float64) + MPII_COORDINATE_OFFSET)
            rows["scale"].append(float(annotation["scale"]))
            rows["normalize"].append(float(annotation["head_size"]))
            rows["imgname"].append(name.encode())
            rows["index"].append(float(sample["index"]))
            rows["person"].append(float(person))
            rows["torsoangle"].append(float(annotation["torso_angle"]))
    path = out / "annot" / f"{split}.h5"
    with h5py.File(path, "w") as f:
        for key, values in rows.items():
            f[key] = np.array(values) if key == "imgname" else np.asarray(values, np.float64)
    return path


def _coco_polygons(mask: np.ndarray) -> list[list[float]]:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    polygons = []
    for contour in contours:
        contour = cv2.approxPolyDP(contour, 1.0, True).reshape(-1, 2)
        if len(contour) >= 3:
            polygons.append([round(float(v), 2) for v in contour.reshape(-1)])
    return polygons


def write_coco_json(
    out_dir: str | os.PathLike,
    n: int,
    seed: int = 0,
    split: str = "train",
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    start: int = 0,
    workers: int | None = None,
    jpeg_quality: int = 95,
) -> pathlib.Path:
    """Writes samples `start` … `start + n - 1` as a COCO person-keypoints set.

    Creates `out_dir/{split}2017/{image_id:012d}.jpg` (image id = sample index + 1)
    and `out_dir/annotations/person_keypoints_{split}2017.json` with 17 COCO
    keypoints per person (see the module docstring for the face points),
    `bbox` and `area` from the person's visible pixels, polygon `segmentation`,
    `num_keypoints`, `iscrowd` 0, and the standard person category.

    Returns:
        The path of the written JSON file.
    """
    _check_writer_args(n, split)
    _check_common(start, seed, image_size)
    out = pathlib.Path(out_dir)
    image_dir = out / f"{split}2017"
    image_dir.mkdir(parents=True, exist_ok=True)
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    samples = _render_many(
        range(int(start), int(start) + int(n)),
        workers or _default_workers(),
        seed=seed,
        image_size=image_size,
        difficulty=difficulty,
        keypoint_set="coco",
    )
    for sample in samples:
        image_id = sample["index"] + 1
        name = f"{image_id:012d}.jpg"
        _write_jpeg(image_dir / name, sample["image"], jpeg_quality)
        images.append(
            dict(id=image_id, file_name=name, width=int(image_size), height=int(image_size))
        )
        for annotation in [sample] + sample["others"]:
            keypoints = annotation["keypoints"]
            mask = annotation["mask"]
            rows, cols = np.nonzero(mask)
            if len(rows) == 0:
                continue
            x0, y0 = float(cols.min()), float(rows.min())
            bbox = [x0, y0, float(cols.max()) + 1 - x0, float(rows.max()) + 1 - y0]
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1,
                    iscrowd=0,
                    keypoints=[
                        value
                        for x, y, v in keypoints.tolist()
                        for value in (round(x, 2), round(y, 2), int(v))
                    ],
                    num_keypoints=int(np.count_nonzero(keypoints[:, 2])),
                    bbox=bbox,
                    area=float(len(rows)),
                    segmentation=_coco_polygons(mask),
                )
            )
    category = dict(
        id=1,
        name="person",
        supercategory="person",
        keypoints=list(COCO_JSON_KEYPOINT_NAMES),
        skeleton=[[a + 1, b + 1] for a, b in COCO.skeleton],
    )
    document = dict(
        info=dict(description=f"kerashg synthetic poses, seed {seed}", version="1.0"),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[category],
    )
    path = out / "annotations" / f"person_keypoints_{split}2017.json"
    path.write_text(json.dumps(document))
    return path


# ---------------------------------------------------------------------------
# Preview and CLI.


def preview_grid(
    n: int = 16,
    seed: int = 0,
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    start: int = 0,
    columns: int = 4,
) -> np.ndarray:
    """A grid of samples with their joints drawn, RGB uint8 (rows * S, columns * S, 3).

    Skeletons by `kerashg.draw`: the person's left blue, right orange, centre
    green; filled dots are visible (v = 2), rings occluded (v = 1); the yellow
    square is the person box (200 * scale) and the yellow circle the head size
    around the head centre.
    """
    if int(columns) != columns or columns < 1:
        raise ValueError(f"columns must be an integer >= 1. Received: columns={columns}")
    tiles = []
    for i in range(start, start + n):
        sample = render_sample(i, seed, image_size, difficulty)
        tile = sample["image"].copy()
        kp = sample["keypoints"]
        tile = cv2.cvtColor(
            draw.draw_skeleton(
                cv2.cvtColor(tile, cv2.COLOR_RGB2BGR), kp, MPII, 0.0, 1, kp[:, 2] < 2
            ),
            cv2.COLOR_BGR2RGB,
        )
        half = sample["scale"] * PIXEL_STD / 2
        cx, cy = sample["center"]
        cv2.rectangle(
            tile,
            (int(cx - half), int(cy - half)),
            (int(cx + half), int(cy + half)),
            (255, 230, 0),
            1,
        )
        head = (kp[_L["upper_neck"], :2] + kp[_L["head_top"], :2]) / 2
        if kp[_L["upper_neck"], 2] > 0 and kp[_L["head_top"], 2] > 0:
            cv2.circle(
                tile, (int(head[0]), int(head[1])), int(sample["head_size"]), (255, 230, 0), 1, _AA
            )
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[r : r + columns], 1) for r in range(0, len(tiles), columns)]
    return np.concatenate(rows, 0)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m training.datasets.synthetic`."""
    parser = cli.parser("python -m training.datasets.synthetic", __doc__.split("\n")[0])
    parser.add_argument(
        "--out", required=True, help="output folder (or PNG file with --format preview)"
    )
    parser.add_argument(
        "--format",
        choices=("mpii", "coco", "preview"),
        default="mpii",
        help="mpii: images/ and annot/<split>.h5; coco: images/ and a keypoints JSON; "
        "preview: one PNG grid of the samples",
    )
    parser.add_argument("--n", type=int, default=1000, help="number of samples")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the figures")
    parser.add_argument("--start", type=int, default=0, help="first sample index")
    parser.add_argument(
        "--split",
        choices=_SPLITS,
        default=None,
        help="split name: train (default), valid (mpii's) or val (coco's)",
    )
    parser.add_argument("--image-size", type=int, default=256, help="image side in pixels")
    parser.add_argument(
        "--difficulty", default="moderate", help="easy, moderate, hard or a level in [0, 1]"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="rendering threads (default: one per core, at most 2)",
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Writes the samples the parsed arguments describe."""
    cli.check_positive(args, "n", "image_size")
    if args.start < 0:
        raise InputError(f"--start must be >= 0. Received: {args.start}")
    try:
        difficulty = float(args.difficulty)
    except ValueError:  # a preset name
        difficulty = args.difficulty
    resolve_config(difficulty)  # InputError for an unknown one, before any work
    common = dict(
        seed=args.seed, image_size=args.image_size, difficulty=difficulty, start=args.start
    )
    if args.format == "preview":
        if pathlib.Path(args.out).suffix.lower() not in (".png", ".jpg", ".jpeg"):
            raise InputError(f"--format preview writes a .png file. Received: --out {args.out}")
        grid = preview_grid(args.n, **common)
        pathlib.Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(args.out, cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
            raise InputError(f"--out {args.out}: cannot be written as an image")
        print(f"wrote {args.out}")
        return
    writer = write_mpii_h5 if args.format == "mpii" else write_coco_json
    path = writer(args.out, args.n, split=args.split or "train", workers=args.workers, **common)
    print(f"wrote {args.n} samples: {path}")


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m training.datasets.synthetic --out DIR --format mpii|coco --n N --seed S`."""
    cli.run(build_parser, run, argv)


if __name__ == "__main__":
    main()
