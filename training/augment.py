"""Training augmentation as stateless TF ops: scale, zoom-out, shift, rotation, flip, colour.

Every random number comes from `tf.random.stateless_*` keyed on
`(seed, epoch, sample index)`, so a sample's augmentation does not depend on
thread scheduling, on the order samples are read in, or on how far a previous
run got: a resumed run sees exactly the data an uninterrupted one would.

The geometric part is folded into the crop's affine matrix (one warp per
sample, flip included); the keypoints go through the same matrix and, on a
flip, swap left/right channels with `KeypointSet.flip_index`.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random augmentation (defaults: the stacked hourglass recipe).

    Args:
        scale: float, the person box is multiplied by a factor uniform in
            `[1 - scale, 1 + scale]`. Default 0.25.
        rotation: float, degrees; when rotated, the angle is uniform in
            `[-rotation, rotation]`. Default 30.
        rotation_prob: float, probability of rotating at all. Default 0.4.
        flip_prob: float, probability of a horizontal flip (with the left/right
            joint swap). Default 0.5.
        color: float, each RGB channel is multiplied by a factor uniform in
            `[1 - color, 1 + color]`, then clipped to [0, 1]. Default 0.2.
        zoom_out: float >= 1, the crop is also widened by a factor log-uniform
            in `[1, zoom_out]`, so the person fills anything from the whole
            crop to `1 / zoom_out` of it, as in a frame no box was given for.
            Default 1 (off).
        zoom_prob: float, probability that a crop is widened at all; the
            others keep the box crop, as the re-crop around found joints does.
            Default 1 (every crop, when `zoom_out` > 1).
        shift: float, the crop centre moves by up to `shift` times half the
            room the crop leaves around the box (plus a tenth of the box, so
            a tight crop is shifted too), per axis, uniformly. Default 0.
    """

    scale: float = 0.25
    rotation: float = 30.0
    rotation_prob: float = 0.4
    flip_prob: float = 0.5
    color: float = 0.2
    zoom_out: float = 1.0
    zoom_prob: float = 1.0
    shift: float = 0.0

    def __post_init__(self):
        for name in ("scale", "rotation", "rotation_prob", "flip_prob", "color", "zoom_prob"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
        for name in ("scale", "rotation_prob", "flip_prob", "color", "zoom_prob"):
            value = getattr(self, name)
            if value > 1:
                raise ValueError(f"{name} must be <= 1. Received: {name}={value}")
        if not self.zoom_out >= 1:
            raise ValueError(f"zoom_out must be >= 1. Received: zoom_out={self.zoom_out}")
        if not self.shift >= 0:
            raise ValueError(f"shift must be >= 0. Received: shift={self.shift}")


NO_AUGMENT = AugmentConfig(scale=0.0, rotation=0.0, rotation_prob=0.0, flip_prob=0.0, color=0.0)
# Mirror images, a little scale and colour, no rotation: for a short run on data
# that already varies its poses (the synthetic figures), where rotating 40% of
# the crops mostly teaches a distribution the held-out images never show.
LIGHT_AUGMENT = AugmentConfig(scale=0.1, rotation=0.0, rotation_prob=0.0, flip_prob=0.5, color=0.1)
# Crops as a user's frames give them (issue 22): the person fills anything from the
# whole crop to a third of it, off centre, rotated as in the hourglass recipe, so
# the model finds a person in a whole frame and a re-crop around its first guess.
LOOSE_AUGMENT = AugmentConfig(
    scale=0.2, rotation=30.0, rotation_prob=0.4, flip_prob=0.5, color=0.2, zoom_out=3.0, shift=0.8
)
# Half the crops loose, half the box crop: the first pass on a whole frame needs the
# loose ones, the second pass (the re-crop around the found joints) sees box crops.
MIXED_AUGMENT = dataclasses.replace(LOOSE_AUGMENT, zoom_prob=0.5)
# `--augment` levels of `training.train`.
AUGMENT_PRESETS = {
    "full": AugmentConfig(),
    "light": LIGHT_AUGMENT,
    "loose": LOOSE_AUGMENT,
    "mixed": MIXED_AUGMENT,
    "none": NO_AUGMENT,
}

# Uniforms drawn per sample: scale, rotation angle, rotation coin, flip coin, three
# channel gains (the first stream); zoom-out, x shift, y shift (the second).
_FIRST_UNIFORMS = 7
NUM_UNIFORMS = 10
# Keep the augmentation's random streams apart from the shuffle's (same seed, epoch).
# The second stream holds the uniforms added later, so the first seven columns
# (and every run made with the earlier presets) stay as they were.
_AUGMENT_STREAM = 0x6B657261
_SECOND_STREAM = 0x7A6F6F6D


def epoch_uniforms(seed, epoch, num_samples):
    """The random numbers of one epoch: row i belongs to record i.

    Args:
        seed: int, the run's seed.
        epoch: int scalar tensor or int.
        num_samples: int, N records.

    Returns:
        float32 (N, NUM_UNIFORMS) uniforms in [0, 1), a pure function of
        `(seed, epoch)`: whatever order or shard a record is read in, it gets
        the same row.
    """
    columns = []
    for stream, width in ((_AUGMENT_STREAM, _FIRST_UNIFORMS), (_SECOND_STREAM, NUM_UNIFORMS - 7)):
        key = tf.random.experimental.stateless_fold_in(
            tf.constant([int(seed), stream], tf.int64), tf.cast(epoch, tf.int64)
        )
        columns.append(tf.random.stateless_uniform([num_samples, width], seed=key))
    return tf.concat(columns, axis=-1)


def sample_params(uniforms, config: AugmentConfig) -> dict:
    """Turns per-sample uniforms into augmentation parameters.

    Args:
        uniforms: float32 (..., NUM_UNIFORMS), from `epoch_uniforms`.
        config: `AugmentConfig`.

    Returns:
        dict of tensors of shape (...,): `scale_factor` float32, `rotation`
        float32 (degrees counter-clockwise), `flip` bool; `gains` float32
        (..., 3) and `shift` float32 (..., 2), the crop centre's move in units
        of the unaugmented crop side. With `NO_AUGMENT` every sample gets the
        identity.
    """
    u = tf.convert_to_tensor(uniforms, tf.float32)
    # A crop is widened when its zoom uniform falls below `zoom_prob`, by that
    # uniform rescaled to [0, 1): with `zoom_prob` 1 exactly the zoom of before.
    widen = u[..., 7] < config.zoom_prob
    zoom_u = u[..., 7] / max(config.zoom_prob, 1e-6)
    zoom = tf.where(widen, tf.exp(zoom_u * tf.math.log(config.zoom_out)), 1.0)
    scale_factor = (1.0 + config.scale * (2.0 * u[..., 0] - 1.0)) * zoom
    room = (tf.maximum(scale_factor - 1.0, 0.0) + 0.1) / 2.0
    shift = config.shift * (2.0 * u[..., 8:10] - 1.0) * room[..., None]
    rotate = u[..., 2] < config.rotation_prob
    rotation = tf.where(rotate, config.rotation * (2.0 * u[..., 1] - 1.0), 0.0)
    flip = u[..., 3] < config.flip_prob
    gains = 1.0 + config.color * (2.0 * u[..., 4:7] - 1.0)
    return {
        "scale_factor": scale_factor,
        "rotation": rotation,
        "flip": flip,
        "gains": gains,
        "shift": shift,
    }


def flip_matrix(matrix, width):
    """Composes a (…, 2, 3) original → crop matrix with a mirror of the crop.

    The mirror maps crop pixel x to `width - 1 - x` (pixel centres at integers),
    so a warp with the result equals warping then `tf.reverse(image, axis=[-2])`.
    """
    sign = tf.constant([[-1.0], [1.0]], matrix.dtype)
    offset = tf.constant([[float(width) - 1.0], [0.0]], matrix.dtype)
    flipped = matrix * sign
    return tf.concat([flipped[..., :2], flipped[..., 2:] + offset], axis=-1)


def flip_keypoints(keypoints, flip_index):
    """Swaps left/right joints of (…, K, 3) keypoints already in mirrored coordinates."""
    return tf.gather(keypoints, flip_index, axis=-2)


def apply_color(images, gains):
    """Per-channel gains on float images (B, H, W, 3) in [0, 1]; gains (B, 3); clipped."""
    gains = tf.cast(gains, images.dtype)[:, None, None, :]
    return tf.clip_by_value(images * gains, 0.0, 1.0)
