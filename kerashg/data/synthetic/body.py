"""The body model: a random person in body units, with its drawing operations.

`_sample_figure(rng, cfg)` draws proportions, build, clothes and joint angles
within anatomical limits and returns a `_Figure`: the landmarks (see
`layout.LANDMARK_NAMES`) and the capsules, polygons and ellipses that draw the
person, in drawing order.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from kerashg.data.synthetic.canvas import _darker, _hsv, _jitter
from kerashg.data.synthetic.difficulty import RenderConfig
from kerashg.data.synthetic.layout import (
    _L,
    _PART,
    _SIDES,
    HEAD,
    HEAD_WIDTH_RATIO,
    NECK,
    NUM_LANDMARKS,
    PELVIS,
    TORSO,
)

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

# Skin and hair colours (RGB), jittered per person.
SKIN_TONES = (
    (255, 224, 196), (241, 194, 155), (224, 172, 125), (198, 134, 66),
    (161, 102, 60), (141, 85, 36), (94, 56, 33), (60, 40, 30),
)  # fmt: skip
HAIR_TONES = (
    (20, 16, 14), (60, 40, 25), (110, 75, 40), (200, 160, 90),
    (150, 60, 30), (170, 170, 170), (235, 230, 220),
)  # fmt: skip


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


@dataclasses.dataclass
class _Pose:
    """A person sampled in body units before it is drawn (see `_Figure`).

    `side_x[s]`: the image-plane sign of the person's side `s` ("r", "l");
    `landmarks` (NUM_LANDMARKS, 2); `limbs[s]`: the points of side `s`'s arm and
    leg; `behind[s]`: that arm is drawn behind the body; the head frame:
    `upper_neck` and `head_dir` (unit vector neck → top).
    """

    back: bool
    side_x: dict
    length: dict
    width: dict
    colour: dict
    turn: float  # the torso's turn: scales the shoulders' and hips' half widths
    landmarks: np.ndarray
    limbs: dict = dataclasses.field(default_factory=dict)
    behind: dict = dataclasses.field(default_factory=dict)
    upper_neck: tuple = (0.0, 0.0)
    head_dir: tuple = (0.0, -1.0)

    @property
    def head_length(self) -> float:
        return self.length["head"]

    def head_point(self, along: float, across: float) -> tuple[float, float]:
        """A point of the head frame: `along` the neck → top axis and `across`
        toward the person's left, both in head lengths."""
        ax, ay = self.head_dir
        left = self.side_x["l"]
        cx, cy = -left * ay, left * ax
        nx, ny = self.upper_neck
        a, c = along * self.head_length, across * self.head_length
        return nx + ax * a + cx * c, ny + ay * a + cy * c


def _sample_figure(rng, cfg: RenderConfig) -> _Figure:
    """A random person in body units (see `_Figure`).

    The random draws come in a fixed order (build, head, each side's limbs,
    drawing order, outline), so a seed gives the same figure.
    """
    pose = _sample_build(rng, cfg)
    _sample_head(rng, pose)
    for s in _SIDES:
        _sample_limbs(rng, cfg, pose, s)
    _face_landmarks(pose)
    order = list(_SIDES) if rng.random() < 0.5 else list(_SIDES[::-1])
    ops = []
    for s in order:
        if pose.behind[s]:
            ops += _arm_ops(pose, s)
    for s in order:
        ops += _leg_ops(pose, s)
    ops += _torso_ops(pose)
    ops += _head_ops(pose)
    for s in order[::-1]:
        if not pose.behind[s]:
            ops += _arm_ops(pose, s)
    return _Figure(pose.landmarks, ops, pose.back, outline=bool(rng.random() < 0.6))


def _sample_build(rng, cfg: RenderConfig) -> _Pose:
    """Facing, segment lengths and widths, torso turn and colours."""
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
    return _Pose(back, side_x, length, width, colour, turn, np.zeros((NUM_LANDMARKS, 2)))


def _sample_head(rng, pose: _Pose) -> None:
    """Pelvis, thorax, upper neck and head top; the head frame."""
    lm, length = pose.landmarks, pose.length
    pelvis, thorax = (0.0, 0.0), (0.0, -1.0)
    lm[_L["pelvis"]], lm[_L["thorax"]] = pelvis, thorax
    neck_dir = _unit(180.0 + rng.uniform(*NECK_TILT), 1.0)
    pose.upper_neck = _add(thorax, neck_dir, length["neck"])
    pose.head_dir = _unit(180.0 + rng.uniform(*NECK_TILT) + rng.uniform(*HEAD_TILT), 1.0)
    lm[_L["upper_neck"]] = pose.upper_neck
    lm[_L["head_top"]] = _add(pose.upper_neck, pose.head_dir, pose.head_length)


def _sample_limbs(rng, cfg: RenderConfig, pose: _Pose, s: str) -> None:
    """Side `s`'s arm and leg: angles (natural, or wide for `cfg.wide_pose_fraction`),
    foreshortened segments, and whether the arm is behind the body."""
    length, x, turn = pose.length, pose.side_x[s], pose.turn

    def shorten():
        return rng.uniform(cfg.min_foreshortening, 1.0)

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
    points = dict(
        shoulder=shoulder, elbow=elbow, wrist=wrist, hand=hand,
        hip=hip, knee=knee, ankle=ankle, toe=toe,
    )  # fmt: skip
    for name in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
        pose.landmarks[_L[f"{s}_{name}"]] = points[name]
    pose.limbs[s] = points
    pose.behind[s] = bool(rng.random() < cfg.p_arm_behind)


def _face_landmarks(pose: _Pose) -> None:
    """Eyes, ears and nose in the head frame."""
    lm, side_x = pose.landmarks, pose.side_x
    for s in _SIDES:
        lm[_L[f"{s}_eye"]] = pose.head_point(EYE_ALONG, side_x[s] * side_x["l"] * EYE_ACROSS)
        lm[_L[f"{s}_ear"]] = pose.head_point(EAR_ALONG, side_x[s] * side_x["l"] * EAR_ACROSS)
    lm[_L["nose"]] = pose.head_point(NOSE_ALONG, 0.0)


def _capsule(pose: _Pose, a, b, part_name: str, part_id: int) -> tuple:
    return ("capsule", (a, b), pose.width[part_name], pose.colour[part_name], part_id, True)


def _arm_ops(pose: _Pose, s: str) -> list:
    p = pose.limbs[s]
    return [
        _capsule(pose, p["shoulder"], p["elbow"], "upper_arm", _PART[f"{s}_upper_arm"]),
        _capsule(pose, p["elbow"], p["wrist"], "forearm", _PART[f"{s}_forearm"]),
        _capsule(pose, p["wrist"], p["hand"], "hand", _PART[f"{s}_hand"]),
    ]


def _leg_ops(pose: _Pose, s: str) -> list:
    p = pose.limbs[s]
    return [
        _capsule(pose, p["hip"], p["knee"], "thigh", _PART[f"{s}_thigh"]),
        _capsule(pose, p["knee"], p["ankle"], "shin", _PART[f"{s}_shin"]),
        _capsule(pose, p["ankle"], p["toe"], "foot", _PART[f"{s}_foot"]),
    ]


def _torso_ops(pose: _Pose) -> list:
    """Torso (shoulders, waist, hips), the trousers band on top of the thighs, the
    belt and, seen from the front, the collar."""
    width, colour, side_x, limbs = pose.width, pose.colour, pose.side_x, pose.limbs
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
    ops = [("poly", tuple(torso), None, colour["torso"], TORSO, True)]
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
    belt = ((-band_x, band_y), (band_x, band_y))
    ops.append(("capsule", belt, belt_width, colour["belt"], PELVIS, False))
    if not pose.back:
        collar = ((-0.13, -1.0 + 0.02), (0.13, -1.0 + 0.02), (0.0, -1.0 + 0.22))
        ops.append(("poly", collar, None, colour["collar"], TORSO, False))
    return ops


def _head_ops(pose: _Pose) -> list:
    """Neck, ears, hair and, seen from the front, face, eyes, nose and mouth."""
    colour, side_x, lm, head = pose.colour, pose.side_x, pose.landmarks, pose.head_length
    point = pose.head_point
    thorax = (0.0, -1.0)
    ops = [("capsule", (thorax, pose.upper_neck), pose.width["neck"], colour["skin"], NECK, True)]
    for s in _SIDES:
        ear = tuple(lm[_L[f"{s}_ear"]])
        ear_end = point(EAR_ALONG + EAR_HALF_LENGTH, side_x[s] * side_x["l"] * EAR_ACROSS)
        ops.append(("ellipse", (ear, ear_end), EAR_HALF_WIDTH * head, colour["skin"], HEAD, True))
    hair_half = 0.5 + HEAD_OVERHANG
    ops.append(
        ("ellipse", (point(0.5, 0.0), point(0.5 + hair_half, 0.0)),
         0.5 * HEAD_WIDTH_RATIO * head, colour["hair"], HEAD, True)
    )  # fmt: skip
    if pose.back:
        return ops
    ops.append(
        ("ellipse", (point(FACE_CENTRE, 0.0), point(FACE_CENTRE + FACE_HALF_LENGTH, 0.0)),
         FACE_HALF_WIDTH * head, colour["skin"], HEAD, False)
    )  # fmt: skip
    for s in _SIDES:
        eye = (tuple(lm[_L[f"{s}_eye"]]),)
        ops.append(("circle", eye, EYE_RADIUS * head, colour["eye"], HEAD, False))
    nose = (tuple(lm[_L["nose"]]),)
    ops.append(("circle", nose, NOSE_RADIUS * head, _darker(colour["skin"], 0.75), HEAD, False))
    mouth = (point(MOUTH_ALONG, -MOUTH_HALF_WIDTH), point(MOUTH_ALONG, MOUTH_HALF_WIDTH))
    ops.append(("capsule", mouth, 0.05 * head, colour["mouth"], HEAD, False))
    return ops
