"""Data sources of a training run: training batches and held-out validation.

`make_source(config)` returns a `Source` with
- `train_dataset(epoch, skip_batches, input_context)`: the per-replica batches
  of one epoch as the `Trainer` wants them, a deterministic function of
  `(seed, epoch)` so that a resumed run sees the same data;
- `validate(model)`: the data set's own PCK of the last stage's heatmaps on the
  held-out split (`pck_threshold` × `normalizer_name`: PCK@0.5 of the head size
  for MPII and the synthetic figures, LSP's PCK@0.2 of the torso, PCK@0.5 of a
  tenth of the person box for COCO, which has no head boxes), plus TensorBoard images (predictions and,
  for ACNN, each stage's mask, as in the paper's Fig. 6).

Errors in `--data-dir` (missing folder, wrong layout) are raised by
`make_source`, before anything is trained.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from kerashg.codec import HeatmapCodec
from kerashg.metrics import (
    LSP_GROUPS,
    MPII_GROUPS,
    TORSO_JOINTS,
    PCKResult,
    pck,
    pck_table,
    torso_size,
)
from kerashg.transforms import PIXEL_STD
from training.config import TrainConfig

# Validation images drawn to TensorBoard each epoch.
NUM_SUMMARY_IMAGES = 4
VAL_BATCH = 32
# COCO has no head size: PCK there is normalised by this fraction of the person
# box side (200 * scale) instead.
BOX_FRACTION = 0.1
# LSP is scored with PCK@0.2 of the torso (Pishchulin's evaluation).
LSP_PCK_THRESHOLD = 0.2
# Synthetic held-out figures rendered when --val-images is not given (a real
# data set validates on its whole held-out split).
SYNTHETIC_VAL_IMAGES = 256


@dataclasses.dataclass
class Source:
    """Training and validation data of one run (see the module docstring)."""

    num_keypoints: int
    train_dataset: Callable[[int, int, tf.distribute.InputContext], tf.data.Dataset]
    val_images: np.ndarray  # float32 (N, H, W, 3) in [0, 1]
    val_keypoints: np.ndarray  # float32 (N, K, 3) x, y, v in input-crop pixels
    val_inverse: np.ndarray  # float32 (N, 2, 3) crop → original-image pixels
    val_normalizer: np.ndarray  # float32 (N,) in original-image pixels
    normalizer_name: str
    codec: HeatmapCodec
    val_split: str
    flip_index: tuple[int, ...] | None = None
    # A joint is correct where error <= pck_threshold × its person's normaliser.
    pck_threshold: float = 0.5
    # False for people whose normaliser is unknown (LSP people without both
    # torso joints): none of their joints count.
    val_scored: np.ndarray | None = None
    # The held-out keypoints' set (names the per-joint table's columns).
    keypoint_set: Any = None
    # The validated model and its compiled inference function: tracing once is
    # ~5× cheaper than running a 4-stack model eagerly at every validation
    # (measured 1.0 s against 6.3 s for 256 images at 128×128 on 2 cores).
    _compiled: tuple | None = dataclasses.field(default=None, repr=False)

    def _predict(self, model) -> Callable[[np.ndarray], dict]:
        if self._compiled is None or self._compiled[0] is not model:
            spec = tf.TensorSpec((None, *self.val_images.shape[1:]), tf.float32)
            fn = tf.function(lambda x: model(x, training=False), input_signature=[spec])
            self._compiled = (model, fn)
        return self._compiled[1]

    def validate(
        self, model, images: bool = True, flip: bool = False, table: bool = False
    ) -> dict[str, Any]:
        """The PCK (percent, `pck_label`) of `model` on the held-out images.

        Args:
            model: maps (B, H, W, 3) → {"heatmaps": (B, S, h, w, K), ["masks"]}.
            images: also return TensorBoard images under "images".
            flip: also report "pck_flip", the PCK of the flip test (heatmaps of
                each image and of its mirror image averaged, the mirror's
                shifted one heatmap pixel; needs `flip_index`).
            table: also return "table", the per-joint and per-group PCK
                (`PCKResult.as_dict()`) without the flip test.

        Returns:
            dict: "pck" (float, percent), "val_images" (int), optionally
            "pck_flip" and "images".
        """
        if flip and self.flip_index is None:
            raise ValueError("validate(flip=True) needs the Source's flip_index (None here)")
        predict = self._predict(model)
        predictions, flipped = [], []
        first = None
        for start in range(0, len(self.val_images), VAL_BATCH):
            batch = self.val_images[start : start + VAL_BATCH]
            outputs = predict(batch)
            heatmaps = np.asarray(outputs["heatmaps"], np.float32)[:, -1]
            predictions.append(self.codec.decode_numpy(heatmaps))
            if flip:
                mirror = np.asarray(predict(batch[:, :, ::-1])["heatmaps"], np.float32)[:, -1]
                mirror = self.codec.flip_heatmaps(mirror, self.flip_index, shift=True).numpy()
                flipped.append(self.codec.decode_numpy(0.5 * (heatmaps + mirror)))
            if first is None:
                first = {k: np.asarray(v, np.float32) for k, v in outputs.items()}
        predictions = np.concatenate(predictions)
        # Compare in original-image pixels, where the normaliser is measured.
        result: dict[str, Any] = {
            "pck": self.pck_of(predictions),
            "val_images": len(self.val_images),
        }
        if flip:
            result["pck_flip"] = self.pck_of(np.concatenate(flipped))
        if table:
            result["table"] = self.table_of(predictions).as_dict()
        if images:
            result["images"] = summary_images(
                self.val_images[:NUM_SUMMARY_IMAGES], predictions[:NUM_SUMMARY_IMAGES], first
            )
        return result

    def pck_of(self, predictions: np.ndarray) -> float:
        """The PCK (percent) of decoded held-out predictions (N, K, 3) in crop pixels.

        Compared in original-image pixels, where the normaliser is measured.
        """
        predictions, truth, normalizer, annotated = self._scored(predictions)
        return pck(
            predictions, truth, normalizer, threshold=self.pck_threshold, annotated=annotated
        )

    def table_of(self, predictions: np.ndarray) -> PCKResult:
        """The per-joint and per-group table of `pck_of`'s figure."""
        predictions, truth, normalizer, annotated = self._scored(predictions)
        return pck_table(
            predictions,
            truth,
            normalizer,
            self.keypoint_set,
            _table_groups(self.keypoint_set),
            threshold=self.pck_threshold,
            annotated=annotated,
        )

    def _scored(self, predictions: np.ndarray):
        """(predictions, truth, normalizer, annotated) in original-image pixels."""
        truth = _to_original(self.val_keypoints, self.val_inverse)
        annotated = truth[..., 2] > 0
        normalizer = self.val_normalizer
        if self.val_scored is not None:
            annotated &= self.val_scored[:, None]
            normalizer = np.where(self.val_scored, normalizer, 1.0)
        return _to_original(predictions, self.val_inverse), truth, normalizer, annotated

    @property
    def pck_label(self) -> str:
        """The metric's name, e.g. "PCK@0.2 (torso)"."""
        return f"PCK@{self.pck_threshold:g} ({self.normalizer_name})"


def _to_original(keypoints: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """(N, K, 3) crop keypoints → original-image pixels, third column kept."""
    xy = np.einsum("nij,nkj->nki", inverse[:, :, :2], keypoints[..., :2]) + inverse[:, None, :, 2]
    return np.concatenate([xy, keypoints[..., 2:]], axis=-1)


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


def _difficulty(value: str) -> str | float:
    """A difficulty preset name, or a level in [0, 1] given as text."""
    try:
        return float(value)
    except ValueError:
        return value


def make_source(config: TrainConfig) -> Source:
    """The data source of a resolved `config`.

    Raises (before any training): FileNotFoundError / ValueError for a missing
    `--data-dir`, a wrong layout or unreadable annotations.
    """
    from training import data as data_lib
    from training.augment import AUGMENT_PRESETS

    size = int(config.input_size)
    codec = HeatmapCodec(size, sigma=config.sigma, refine=config.refine)
    if config.data == "synthetic":
        difficulty = _difficulty(config.difficulty)
        # A pool rendered once, cropped and augmented every epoch: rendering
        # costs far more CPU than cropping, and the CPU is the budget.
        train_records, train_images = data_lib.synthetic_source(
            config.synthetic_pool, seed=config.seed, image_size=size, difficulty=difficulty
        )
        val_records, val_pixels = data_lib.synthetic_source(
            config.val_images or SYNTHETIC_VAL_IMAGES,
            seed=config.seed,
            split="valid",
            image_size=size,
            difficulty=difficulty,
        )
        data_root, split = None, "synthetic valid (other seed)"
    else:
        from training.datasets import load_records

        root = pathlib.Path(config.data_dir)
        if not root.is_dir():
            raise FileNotFoundError(f"--data-dir {root} does not exist (--data {config.data})")
        try:
            train_records = load_records(config.data, root, "train")
            val_records = load_records(config.data, root, "val")
        except (OSError, KeyError) as error:
            raise ValueError(f"--data {config.data} --data-dir {root}: {error}") from error
        train_images = val_pixels = None
        data_root, split = root, f"{config.data} val"
        if config.val_images and config.val_images < len(val_records):
            val_records = val_records[np.arange(config.val_images)]
    augment = AUGMENT_PRESETS[config.augment]
    samples_per_epoch = int(config.steps_per_epoch) * int(config.batch_size)
    # Each training epoch reads its own range of the pipeline's data epochs
    # (one data epoch = one pass over the records, shuffled and augmented by
    # (seed, data epoch, index)), so epoch e's batches are a function of e alone.
    data_epochs = -(-samples_per_epoch // len(train_records)) + 1

    def train_dataset(
        epoch: int, skip: int, context: tf.distribute.InputContext
    ) -> tf.data.Dataset:
        dataset = data_lib.make_dataset(
            train_records,
            data_root,
            images=train_images,
            codec=codec,
            input_size=size,
            train=True,
            batch_size=context.get_per_replica_batch_size(int(config.batch_size)),
            seed=config.seed,
            start_epoch=epoch * data_epochs,
            num_epochs=data_epochs,
            augment=augment,
            num_shards=context.num_input_pipelines,
            shard_index=context.input_pipeline_id,
        )
        return dataset.skip(skip)

    val = data_lib.make_dataset(
        val_records,
        data_root,
        images=val_pixels,
        codec=codec,
        input_size=size,
        train=False,
        batch_size=64,
    )
    images, keypoints, inverse, head_size, scale = [], [], [], [], []
    for batch_images, _, meta in val:
        images.append(batch_images.numpy())
        keypoints.append(meta["keypoints"].numpy())
        inverse.append(meta["inverse"].numpy())
        head_size.append(meta["head_size"].numpy())
        scale.append(meta["scale"].numpy())
    keypoints, inverse = np.concatenate(keypoints), np.concatenate(inverse)
    head_size, scale = np.concatenate(head_size), np.concatenate(scale)
    threshold, scored = 0.5, None
    if config.data == "lsp":
        # LSP's own metric: PCK@0.2 of the torso (left shoulder to right hip),
        # measured on the original-image joints; people missing either torso
        # joint cannot be scored and are left out.
        truth = _to_original(keypoints, inverse)
        a, b = (train_records.keypoint_set.index(j) for j in TORSO_JOINTS)
        scored = (truth[:, a, 2] > 0) & (truth[:, b, 2] > 0)
        normalizer = np.where(scored, torso_size(truth, train_records.keypoint_set), np.nan)
        scored &= np.isfinite(normalizer) & (normalizer > 0)
        threshold, name = LSP_PCK_THRESHOLD, "torso"
    elif np.isfinite(head_size).all():
        normalizer, name = head_size, "head size"
    else:
        if config.data == "mpii":
            # MPII's PCKh is measured against each person's head size: a missing one
            # is a broken annotation file, not a reason to measure against another size.
            from training.datasets.records import AnnotationError

            heads = np.asarray(val_records.head_size, np.float64)
            bad = np.flatnonzero(~np.isfinite(heads))
            i = int(bad[0]) if bad.size else 0
            field = {".h5": "normalize", ".mat": "head box (x1, y1, x2, y2)"}.get(
                pathlib.Path(val_records.source).suffix.lower(), "head box"
            )
            raise AnnotationError(
                val_records.source,
                int(val_records.id[i]),
                field,
                f"head size is {heads[i] if bad.size else 'not finite'} for "
                f"{max(bad.size, 1)} of the {len(val_records)} validation people; expected "
                "a finite head size for every MPII person (the PCKh normaliser: `normalize` "
                "of valid.h5 or the head boxes of the official .mat)",
            )
        # COCO has no head boxes: a tenth of the person box side stands in.
        normalizer = np.where(np.isfinite(head_size), head_size, PIXEL_STD * scale * BOX_FRACTION)
        name = f"head size, or {BOX_FRACTION} x person box where unknown"
    return Source(
        num_keypoints=train_records.keypoint_set.num_keypoints,
        train_dataset=train_dataset,
        val_images=np.concatenate(images),
        val_keypoints=keypoints,
        val_inverse=inverse,
        val_normalizer=normalizer.astype(np.float32),
        normalizer_name=name,
        codec=codec,
        val_split=split,
        flip_index=tuple(train_records.keypoint_set.flip_index),
        pck_threshold=threshold,
        val_scored=scored,
        keypoint_set=train_records.keypoint_set,
    )


def _table_groups(keypoint_set) -> dict | None:
    """LSP's or MPII's table columns where the keypoint set has their joints."""
    for groups in (LSP_GROUPS, MPII_GROUPS):
        names = {n for joints in groups.values() for n in joints}
        if names <= set(keypoint_set.names):
            return groups
    return None
