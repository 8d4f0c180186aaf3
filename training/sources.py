"""Data sources of a training run: training batches and held-out validation.

`make_source(config)` returns a `Source` with
- `train_dataset(epoch, skip_batches, input_context)`: the per-replica batches
  of one epoch as the `Trainer` wants them, a deterministic function of
  `(seed, epoch)` so that a resumed run sees the same data;
- `validate(model)`: PCK@0.5 (normalised by head size) of the last stage's
  heatmaps on the held-out split, plus TensorBoard images (predictions and,
  for ACNN, each stage's mask, as in the paper's Fig. 6).

Errors in `--data-dir` (missing folder, wrong layout) are raised by
`make_source`, before anything is trained.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from kerashg.codec import HeatmapCodec
from kerashg.metrics import pck
from training.config import TrainConfig

# Validation images drawn to TensorBoard each epoch.
NUM_SUMMARY_IMAGES = 4
# Seed offset of the synthetic held-out split (a different seed also means
# different background textures: nothing of the test images was seen).
SYNTHETIC_VAL_SEED_OFFSET = 1_000_003
VAL_BATCH = 32


@dataclasses.dataclass
class Source:
    """Training and validation data of one run (see the module docstring)."""

    num_keypoints: int
    flip_index: np.ndarray
    train_dataset: Callable[[int, int, tf.distribute.InputContext], tf.data.Dataset]
    val_images: np.ndarray  # float32 (N, H, W, 3) in [0, 1]
    val_keypoints: np.ndarray  # float32 (N, K, 3) in input-crop pixels
    val_normalizer: np.ndarray  # float32 (N,) head size in input-crop pixels
    codec: HeatmapCodec
    val_split: str

    def validate(self, model, images: bool = True, full: bool = False) -> dict[str, Any]:
        """PCK@0.5 (percent, head-size normalised) of `model` on the held-out images.

        Args:
            model: maps (B, H, W, 3) → {"heatmaps": (B, S, h, w, K), ["masks"]}.
            images: also return TensorBoard images under "images".
            full: unused here (all held-out images are always used); kept so
                callers can ask for the complete split explicitly.

        Returns:
            dict: "pck" (float, percent), "val_images" (int), optionally "images".
        """
        del full
        predictions = []
        first = None
        for start in range(0, len(self.val_images), VAL_BATCH):
            outputs = model(self.val_images[start : start + VAL_BATCH], training=False)
            heatmaps = np.asarray(outputs["heatmaps"], np.float32)
            predictions.append(self.codec.decode_numpy(heatmaps[:, -1]))
            if first is None:
                first = {k: np.asarray(v, np.float32) for k, v in outputs.items()}
        predictions = np.concatenate(predictions)
        result: dict[str, Any] = {
            "pck": pck(predictions, self.val_keypoints, self.val_normalizer, threshold=0.5),
            "val_images": len(self.val_images),
        }
        if images:
            result["images"] = summary_images(
                self.val_images[:NUM_SUMMARY_IMAGES], predictions[:NUM_SUMMARY_IMAGES], first
            )
        return result


def summary_images(
    images: np.ndarray, keypoints: np.ndarray, outputs: dict
) -> dict[str, np.ndarray]:
    """Predictions drawn on images and, when present, every stage's mask.

    Args:
        images: float32 (N, H, W, 3) in [0, 1].
        keypoints: float32 (N, K, 3) predicted, input pixels.
        outputs: the model outputs of a batch starting with these images.

    Returns:
        {"predictions": (N, H, W, 3), "masks": (N, H, S·W, 3)} float32 in [0, 1].
    """
    import cv2

    n = len(images)
    drawn = []
    for image, points in zip(images, keypoints, strict=True):
        canvas = np.ascontiguousarray((image * 255).astype(np.uint8))
        for x, y, _ in points:
            cv2.circle(canvas, (int(round(x)), int(round(y))), 2, (255, 40, 40), -1, cv2.LINE_AA)
        drawn.append(canvas.astype(np.float32) / 255.0)
    result = {"predictions": np.stack(drawn)}
    if "masks" in outputs:
        masks = outputs["masks"][:n, ..., 0]  # (N, S, h, w)
        h, w = images.shape[1:3]
        tiles = []
        for sample, image in zip(masks, images, strict=True):
            stages = [
                0.35 * image
                + 0.65 * cv2.resize(m, (w, h), interpolation=cv2.INTER_NEAREST)[..., None]
                for m in sample
            ]
            tiles.append(np.concatenate(stages, axis=1))
        result["masks"] = np.clip(np.stack(tiles), 0.0, 1.0).astype(np.float32)
    return result


def make_source(config: TrainConfig) -> Source:
    """The data source of a resolved `config` (errors before any training)."""
    if config.data == "synthetic":
        return _synthetic_source(config)
    return _records_source(config)


def _synthetic_source(config: TrainConfig) -> Source:
    from training.datasets.synthetic import SyntheticPoses

    size = int(config.input_size)
    codec = HeatmapCodec(size, sigma=config.sigma)
    poses = SyntheticPoses(seed=config.seed, image_size=size, workers=1)
    val = SyntheticPoses(seed=config.seed + SYNTHETIC_VAL_SEED_OFFSET, image_size=size).records(
        config.val_images
    )
    keypoint_set = poses.keypoint_set
    samples_per_epoch = int(config.steps_per_epoch) * int(config.batch_size)
    global_batch = int(config.batch_size)

    def render(indices):
        batch = poses.render_batch(indices.numpy())
        return batch["image"], batch["keypoints"]

    def to_example(indices):
        image, keypoints = tf.py_function(render, [indices], [tf.uint8, tf.float32])
        image = tf.ensure_shape(image, (None, size, size, 3))
        keypoints = tf.ensure_shape(keypoints, (None, keypoint_set.num_keypoints, 3))
        heatmaps, weights = codec.encode(keypoints)
        return tf.cast(image, tf.float32) / 255.0, {"heatmaps": heatmaps, "weights": weights}

    def train_dataset(
        epoch: int, skip: int, context: tf.distribute.InputContext
    ) -> tf.data.Dataset:
        # Sample i of epoch e is render_sample(e * samples_per_epoch + i): the
        # data position is (epoch, step), so a resumed run sees the same images.
        per_replica = context.get_per_replica_batch_size(global_batch)
        first = epoch * samples_per_epoch + skip * global_batch
        indices = tf.data.Dataset.range(first, (epoch + 1) * samples_per_epoch)
        # Batch per replica, then give each input pipeline its share of the
        # batches: consecutive per-replica batches form one global batch.
        batches = indices.batch(per_replica, drop_remainder=True)
        batches = batches.shard(context.num_input_pipelines, context.input_pipeline_id)
        return batches.map(to_example).prefetch(2)

    return Source(
        num_keypoints=keypoint_set.num_keypoints,
        flip_index=keypoint_set.flip_index,
        train_dataset=train_dataset,
        val_images=val["image"].astype(np.float32) / 255.0,
        val_keypoints=val["keypoints"],
        val_normalizer=val["head_size"],
        codec=codec,
        val_split=f"synthetic seed {config.seed + SYNTHETIC_VAL_SEED_OFFSET}",
    )


def _records_source(config: TrainConfig) -> Source:
    raise NotImplementedError("real data sets are wired in once training/data.py lands")
