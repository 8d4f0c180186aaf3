"""Difficulty of the synthetic figures: `RenderConfig`, its presets and levels.

A difficulty is a preset name ("easy", "moderate", "hard"), a level in
[0, 1] interpolating between them, or a `RenderConfig` with single fields
changed (`dataclasses.replace(resolve_config("moderate"), p_occluder=0.5)`).
Command lines give it as text: `parse_difficulty` turns that into a name or a
level, and `resolve_config` checks it.
"""

from __future__ import annotations

import dataclasses

from kerashg.errors import InputError


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


def parse_difficulty(text: str | float | RenderConfig) -> str | float | RenderConfig:
    """A `--difficulty` option's text as a preset name or a level.

    Text that reads as a number (`"0.3"`) becomes a float; anything else is
    returned unchanged (a preset name, checked by `resolve_config`).
    """
    if not isinstance(text, str):
        return text
    try:
        return float(text)
    except ValueError:  # a preset name
        return text
