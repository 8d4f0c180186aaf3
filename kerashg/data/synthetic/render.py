"""`render_sample`: one synthetic image and its annotations, a pure function of (seed, index)."""

from __future__ import annotations

import numpy as np

from kerashg.data.synthetic.body import _sample_figure
from kerashg.data.synthetic.clutter import _draw_distractor, _draw_occluder
from kerashg.data.synthetic.difficulty import RenderConfig, resolve_config
from kerashg.data.synthetic.layout import (
    DISTRACTOR_LABEL,
    MIN_ANNOTATED_JOINTS,
    OTHER_PERSON_BASE,
    PARTS_PER_PERSON,
    _resolve_keypoint_set,
)
from kerashg.data.synthetic.person import _annotate, _draw_figure, _place, _torso_angle
from kerashg.data.synthetic.texture import _background, _photometric, _texture_bank
from kerashg.errors import InputError
from kerashg.keypoints import MPII, KeypointSet


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


#: Image sides `render_sample` draws at: below 32 px a figure has no room for its
#: joints; above 4096 px one image is 48 MiB and a data set of them fills memory.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 32, 4096


def _check_common(index, seed, image_size):
    """Refuses bad arguments with an `InputError` (a ValueError; `--image-size` at the CLI)."""
    if int(index) != index or index < 0:
        raise InputError(f"index must be an integer >= 0. Received: index={index}")
    if int(seed) != seed or seed < 0:
        raise InputError(f"seed must be an integer >= 0. Received: seed={seed}")
    if int(image_size) != image_size or not MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE:
        raise InputError(
            f"image_size (--image-size) must be an integer >= {MIN_IMAGE_SIZE} and <= "
            f"{MAX_IMAGE_SIZE}. Received: image_size={image_size}"
        )


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

    figure = _sample_figure(rng, cfg)
    box_side, center, placement = _place_target(rng, figure, cfg, size)
    second = _sample_second(rng, cfg, center, box_side)
    _draw_scene(rng, image, labels, (figure, placement, second), box_side, cfg)
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
        sample["others"] += _other_annotation(second, labels, select, return_mask)
    return sample


def _place_target(rng, figure, cfg: RenderConfig, size: int):
    """The target person's `(box side, centre, placement)`: size, rotation and a
    position inside the image (unless truncated)."""
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
    return box_side, center, _place(figure, rotation, box_side, center)


def _sample_second(rng, cfg: RenderConfig, center, box_side: float):
    """None, or a second person beside the target: `(figure, placement, in front)`."""
    if not rng.random() < cfg.p_second_person:
        return None
    other = _sample_figure(rng, cfg)
    other_box = box_side * rng.uniform(0.75, 1.1)
    side = 1.0 if rng.random() < 0.5 else -1.0
    offset = np.array([side * rng.uniform(0.5, 0.85), rng.uniform(-0.15, 0.15)])
    other_center = center + offset * (box_side + other_box) / 2
    other_rotation = rng.uniform(-cfg.max_rotation_deg, cfg.max_rotation_deg)
    placement = _place(other, other_rotation, other_box, other_center)
    return other, placement, bool(rng.random() < 0.5)


def _draw_scene(rng, image, labels, people, box_side: float, cfg: RenderConfig) -> None:
    """Distractors behind, the second person (behind or in front of) the target,
    distractors in front. `people`: `(figure, placement, second)`."""
    figure, placement, second = people
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


def _other_annotation(second, labels, select, return_mask: bool) -> list[dict]:
    """The second person's annotation (a list of one), or none when fewer than
    `MIN_ANNOTATED_JOINTS` of its joints are in the image."""
    other_kp, other_center, other_scale, other_head = _annotate(
        second[0], second[1], labels, OTHER_PERSON_BASE
    )
    if np.count_nonzero(other_kp[: MPII.num_keypoints, 2]) < MIN_ANNOTATED_JOINTS:
        return []
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
    return [annotation]
