"""PCKMetric: the streaming PCK a training loop feeds batch by batch (Keras).

Its result equals the one-shot NumPy `kerashg.metrics.pck` on the concatenated
batches; it lives apart from `kerashg.metrics` so that those NumPy functions
(and file-mode evaluation) import no Keras or TensorFlow.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kerashg")
class PCKMetric(keras.metrics.Metric):
    """Streaming PCK@threshold in percent, pooled over annotated joints.

    Feed it batch by batch; the result equals `kerashg.metrics.pck` on the
    concatenated batches. Joints count where v > 0 (and `sample_weight` > 0);
    people whose normaliser is not finite or not positive are skipped (a graph
    cannot raise; the NumPy `pck` does). Computes in float32.

    Args:
        threshold: float, correct where error <= threshold × normaliser. Default 0.5.
        name: str, default "pck".
        dtype: the metric's dtype. Default float32.

    Example:
        >>> metric = PCKMetric(threshold=0.5)
        >>> metric.update_state(gt_keypoints, pred_keypoints, normalizer=head_size)
        >>> metric.result()  # percent
    """

    def __init__(self, threshold=0.5, name="pck", dtype="float32"):
        super().__init__(name=name, dtype=dtype)
        if not float(threshold) > 0:
            raise ValueError(f"threshold must be > 0. Received: threshold={threshold}")
        self.threshold = float(threshold)
        self.correct = self.add_variable(shape=(), initializer="zeros", name="correct")
        self.total = self.add_variable(shape=(), initializer="zeros", name="total")

    def update_state(self, y_true, y_pred, normalizer=None, sample_weight=None):
        """Adds a batch.

        Args:
            y_true: float (B, K, 3): x, y, v; joints with v > 0 count.
            y_pred: float (B, K, 2) or (B, K, 3) (score column ignored), same frame.
            normalizer: float (B,), the per-person size (e.g. head size). Required.
            sample_weight: optional float (B,) or (B, K); entries <= 0 exclude.
        """
        if normalizer is None:
            raise ValueError("PCKMetric.update_state needs `normalizer` (B,), e.g. the head size")
        y_true = keras.ops.cast(y_true, "float32")
        y_pred = keras.ops.cast(y_pred, "float32")
        normalizer = keras.ops.reshape(keras.ops.cast(normalizer, "float32"), (-1, 1))
        diff = y_pred[..., :2] - y_true[..., :2]
        distance = keras.ops.sqrt(keras.ops.sum(diff * diff, axis=-1))  # (B, K)
        valid_norm = keras.ops.logical_and(
            keras.ops.isfinite(normalizer), keras.ops.greater(normalizer, 0.0)
        )
        safe_norm = keras.ops.where(valid_norm, normalizer, keras.ops.ones_like(normalizer))
        counted = keras.ops.logical_and(keras.ops.greater(y_true[..., 2], 0.0), valid_norm)
        if sample_weight is not None:
            weight = keras.ops.cast(sample_weight, "float32")
            if len(weight.shape) == 1:
                weight = keras.ops.expand_dims(weight, -1)
            counted = keras.ops.logical_and(counted, keras.ops.greater(weight, 0.0))
        correct = keras.ops.logical_and(
            counted, keras.ops.less_equal(distance / safe_norm, self.threshold)
        )
        self.correct.assign_add(keras.ops.sum(keras.ops.cast(correct, self.dtype)))
        self.total.assign_add(keras.ops.sum(keras.ops.cast(counted, self.dtype)))

    def result(self):
        """Percent correct so far (0 before any joint was counted)."""
        return keras.ops.where(
            self.total > 0, 100.0 * self.correct / keras.ops.maximum(self.total, 1.0), 0.0
        )

    def get_config(self):
        return {"threshold": self.threshold, "name": self.name, "dtype": self.dtype}
