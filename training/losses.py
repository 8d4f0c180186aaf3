"""Heatmap losses with intermediate supervision (Newell et al. 2016; ACNN eq. 3).

Every stage's heatmaps are compared with the same target (for ACNN every
prediction P_i), per-joint weights zero out missing joints, and the stage losses
are summed. The functions return a loss per example so that the training loop
can average over the *global* batch with `tf.nn.compute_average_loss`. All
arithmetic is float32, whatever the model's compute dtype.
"""

from __future__ import annotations

import tensorflow as tf


def heatmap_loss(
    heatmaps: tf.Tensor,
    targets: tf.Tensor,
    weights: tf.Tensor,
    foreground_weight: float = 0.0,
) -> tuple[tf.Tensor, tf.Tensor]:
    """Weighted mean squared error of every stage's heatmaps, per example.

    For stage s of example b:
    `L[b, s] = mean_{y, x, k} weights[b, k] * (1 + fw * T[b, y, x, k]) * (H[b, s, y, x, k] - T[b, y, x, k])²`
    with `fw = foreground_weight`. With `fw = 0` it is the papers' plain MSE.
    A positive `fw` weighs the pixels under the target's Gaussian more, which
    keeps a small network from settling on the all-zero prediction (the
    background is >99% of a heatmap's pixels).

    Args:
        heatmaps: float tensor (B, S, h, w, K), the model's "heatmaps" output.
        targets: float tensor (B, h, w, K), Gaussian targets.
        weights: float tensor (B, K), 1 for annotated joints, 0 for missing ones.
        foreground_weight: float >= 0. Default 0.

    Returns:
        per_example: float32 (B,), sum over the S stages.
        per_stage: float32 (B, S).
    """
    if foreground_weight < 0:
        raise ValueError(f"foreground_weight must be >= 0. Received: {foreground_weight}")
    heatmaps = tf.cast(heatmaps, tf.float32)
    targets = tf.cast(targets, tf.float32)[:, None]
    weights = tf.cast(weights, tf.float32)[:, None, None, None, :]
    squared = tf.square(heatmaps - targets) * weights
    if foreground_weight:
        squared = squared * (1.0 + foreground_weight * targets)
    per_stage = tf.reduce_mean(squared, axis=[2, 3, 4])
    return tf.reduce_sum(per_stage, axis=1), per_stage
