"""Training augmentation as stateless TF ops: scale, rotation, flip with swap, colour.

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
    """

    scale: float = 0.25
    rotation: float = 30.0
    rotation_prob: float = 0.4
    flip_prob: float = 0.5
    color: float = 0.2

    def __post_init__(self):
        for name in ("scale", "rotation", "rotation_prob", "flip_prob", "color"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={value}")
        for name in ("scale", "rotation_prob", "flip_prob", "color"):
            value = getattr(self, name)
            if value > 1:
                raise ValueError(f"{name} must be <= 1. Received: {name}={value}")


NO_AUGMENT = AugmentConfig(scale=0.0, rotation=0.0, rotation_prob=0.0, flip_prob=0.0, color=0.0)

# Number of uniforms drawn per sample: scale, rotation angle, rotation coin, flip coin,
# three channel gains.
_NUM_UNIFORMS = 7


def sample_key(seed, epoch, index):
    """Stateless RNG key (int64 (2,)) of one sample of one epoch."""
    key = tf.random.experimental.stateless_fold_in(
        tf.stack([tf.cast(seed, tf.int64), tf.constant(0x6B657261, tf.int64)]),
        tf.cast(epoch, tf.int64),
    )
    return tf.random.experimental.stateless_fold_in(key, tf.cast(index, tf.int64))


def sample_params(key, config: AugmentConfig) -> dict:
    """Draws one sample's augmentation.

    Args:
        key: int tensor (2,), from `sample_key`.
        config: `AugmentConfig`.

    Returns:
        dict of scalar tensors `scale_factor` (float32), `rotation` (float32,
        degrees counter-clockwise), `flip` (bool) and `gains` float32 (3,).
    """
    u = tf.random.stateless_uniform([_NUM_UNIFORMS], seed=key)
    scale_factor = 1.0 + config.scale * (2.0 * u[0] - 1.0)
    rotation = tf.where(u[2] < config.rotation_prob, config.rotation * (2.0 * u[1] - 1.0), 0.0)
    flip = u[3] < config.flip_prob
    gains = 1.0 + config.color * (2.0 * u[4:7] - 1.0)
    return {"scale_factor": scale_factor, "rotation": rotation, "flip": flip, "gains": gains}


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


def apply_color(image, gains):
    """Per-channel gains on a float image (…, H, W, 3) in [0, 1], clipped to [0, 1]."""
    return tf.clip_by_value(image * tf.cast(gains, image.dtype), 0.0, 1.0)
