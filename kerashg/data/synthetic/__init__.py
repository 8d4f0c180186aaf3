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

    from kerashg.data.synthetic import SyntheticPoses, render_sample

    sample = render_sample(0, seed=0, image_size=128)      # one dict
    pool = SyntheticPoses(seed=0, image_size=128).records(20_000)
    pool["image"]       # uint8 (N, 128, 128, 3); keypoints, center, scale, head_size, id

    # The same samples as files for the real readers:
    write_mpii_h5("/tmp/synth-mpii", 1000, seed=0, split="train")
    write_coco_json("/tmp/synth-coco", 1000, seed=0, split="val")

    python -m kerashg.data.synthetic --out DIR --format mpii|coco|preview --n N --seed S

Modules: `difficulty` (RenderConfig, presets, levels), `layout` (landmarks,
boxes, part labels), `body` (the body model), `texture` (backgrounds, noise),
`person` and `clutter` (drawing into the image), `render` (`render_sample`),
`poses` (`SyntheticPoses`), `writers` (MPII h5, COCO JSON), `preview`, `cli`.

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

from kerashg.data.synthetic.difficulty import (
    DIFFICULTY_PRESETS,
    RenderConfig,
    parse_difficulty,
    resolve_config,
)
from kerashg.data.synthetic.layout import (
    HEAD_BOX_DIAGONAL_FRACTION,
    HEAD_SIZE_RATIO,
    HEAD_WIDTH_RATIO,
    LANDMARK_NAMES,
    MIN_ANNOTATED_JOINTS,
    NUM_LANDMARKS,
    SCALE_MARGIN,
)
from kerashg.data.synthetic.poses import SyntheticPoses
from kerashg.data.synthetic.preview import preview_grid
from kerashg.data.synthetic.render import render_sample
from kerashg.data.synthetic.writers import (
    COCO_JSON_KEYPOINT_NAMES,
    MPII_COORDINATE_OFFSET,
    write_coco_json,
    write_mpii_h5,
)

__all__ = [
    "COCO_JSON_KEYPOINT_NAMES",
    "DIFFICULTY_PRESETS",
    "HEAD_BOX_DIAGONAL_FRACTION",
    "HEAD_SIZE_RATIO",
    "HEAD_WIDTH_RATIO",
    "LANDMARK_NAMES",
    "MIN_ANNOTATED_JOINTS",
    "MPII_COORDINATE_OFFSET",
    "NUM_LANDMARKS",
    "RenderConfig",
    "SCALE_MARGIN",
    "SyntheticPoses",
    "parse_difficulty",
    "preview_grid",
    "render_sample",
    "resolve_config",
    "write_coco_json",
    "write_mpii_h5",
]
