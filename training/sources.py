"""Data sources of a training run: training batches and held-out validation.

`make_source(config)` returns a `Source` with
- `train_dataset(epoch, skip_batches, input_context)`: the per-replica batches
  of one epoch as the `Trainer` wants them, a deterministic function of
  `(seed, epoch)` so that a resumed run sees the same data;
- `validate(model)`: the data set's own PCK of the last stage's heatmaps on the
  held-out split (`pck_threshold` × `normalizer_name`: PCK@0.5 of the head size
  for the synthetic figures, LSP's PCK@0.2 of the torso, PCK@0.5 of a tenth of
  the person box for COCO, which has no head boxes; for MPII the official PCKh
  of `kerashg.metrics.mpii_pckh`, 14 joints, every person whose image exists,
  in the annotation's own frame), plus TensorBoard images (predictions and,
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
from kerashg.errors import InputError
from kerashg.metrics import (
    LSP_GROUPS,
    MPII_GROUPS,
    MPII_TOTAL_EXCLUDED,
    TORSO_JOINTS,
    PCKResult,
    mpii_pckh,
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
    # Optimizer steps of one training epoch (`config.steps_per_epoch`, or one
    # pass over the training records where that is 0).
    steps_per_epoch: int = 0
    # MPII: the held-out people's ground truth (N, K, 3) in the annotation's own
    # frame, scored with the official rules (`kerashg.metrics.mpii_pckh`: 14
    # joints pooled; a joint predicted outside the crop is simply a miss), and
    # which people they are ("all 2958 people", or the subset). None for the
    # other data sets, which keep their own rule (`_scored`).
    val_truth: np.ndarray | None = None
    val_people: str = ""
    # Real photos: the same held-out people as the whole image shows them (the
    # crop a user gets with no box), float32 (N, H, W, 3) in [0, 1], and each
    # crop's crop → original-image matrix; scored as "pck_whole" against the
    # same truth and normaliser. None for synthetic data.
    whole_images: np.ndarray | None = None
    whole_inverse: np.ndarray | None = None
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
                each image and of its mirror image averaged,
                `HeatmapCodec.decode_flip`; needs `flip_index`).
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
                flipped.append(self.codec.decode_flip(heatmaps, mirror, self.flip_index))
            if first is None:
                first = {k: np.asarray(v, np.float32) for k, v in outputs.items()}
        predictions = np.concatenate(predictions)
        # Compare in original-image pixels, where the normaliser is measured.
        result: dict[str, Any] = {
            "pck": self.pck_of(predictions),
            "val_images": len(self.val_images),
        }
        if self.whole_images is not None:
            result["pck_whole"] = self.whole_pck(model)
        if flip:
            result["pck_flip"] = self.pck_of(np.concatenate(flipped))
        if table:
            result["table"] = self.table_of(predictions).as_dict()
        if images:
            result["images"] = summary_images(
                self.val_images[:NUM_SUMMARY_IMAGES],
                predictions[:NUM_SUMMARY_IMAGES],
                first,
                truth=self.val_keypoints[:NUM_SUMMARY_IMAGES],
                keypoint_set=self.keypoint_set,
            )
        return result

    def whole_pck(self, model) -> float:
        """The PCK (percent) of `model` on the held-out people's whole images
        (one pass, no box), against the same truth as `pck_of`."""
        predict = self._predict(model)
        predictions = []
        for start in range(0, len(self.whole_images), VAL_BATCH):
            outputs = predict(self.whole_images[start : start + VAL_BATCH])
            heatmaps = np.asarray(outputs["heatmaps"], np.float32)[:, -1]
            predictions.append(self.codec.decode_numpy(heatmaps))
        return self._pck_original(_to_original(np.concatenate(predictions), self.whole_inverse))

    def pck_of(self, predictions: np.ndarray) -> float:
        """The PCK (percent) of decoded held-out predictions (N, K, 3) in crop pixels.

        Compared in original-image pixels, where the normaliser is measured.
        """
        if self.val_truth is not None:
            return self.table_of(predictions).total
        return self._pck_original(_to_original(predictions, self.val_inverse))

    def _pck_original(self, original: np.ndarray) -> float:
        """The PCK (percent) of predictions (N, K, 3) already in original-image pixels."""
        truth, normalizer, annotated = self._truth()
        return pck(original, truth, normalizer, threshold=self.pck_threshold, annotated=annotated)

    def table_of(self, predictions: np.ndarray) -> PCKResult:
        """The per-joint and per-group table of `pck_of`'s figure."""
        if self.val_truth is not None:
            original = _to_original(predictions, self.val_inverse)
            return mpii_pckh(
                original, self.val_truth, self.val_normalizer, None, self.pck_threshold
            )
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

    def _truth(self):
        """(truth, normalizer, annotated) of the held-out people in original-image pixels."""
        truth = _to_original(self.val_keypoints, self.val_inverse)
        annotated = truth[..., 2] > 0
        normalizer = self.val_normalizer
        if self.val_scored is not None:
            annotated &= self.val_scored[:, None]
            normalizer = np.where(self.val_scored, normalizer, 1.0)
        return truth, normalizer, annotated

    def _scored(self, predictions: np.ndarray):
        """(predictions, truth, normalizer, annotated) in original-image pixels."""
        return (_to_original(predictions, self.val_inverse), *self._truth())

    @property
    def pck_label(self) -> str:
        """The metric's name, e.g. "PCK@0.2 (torso)" or "PCKh@0.5 (MPII official,
        14 joints, all 2958 people, dark refinement)"."""
        if self.val_truth is not None:
            joints = self.num_keypoints - len(MPII_TOTAL_EXCLUDED)
            return (
                f"PCKh@{self.pck_threshold:g} (MPII official, {joints} joints, "
                f"{self.val_people}, {self.codec.refine} refinement)"
            )
        return f"PCK@{self.pck_threshold:g} ({self.normalizer_name})"


def _to_original(keypoints: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """(N, K, 3) crop keypoints → original-image pixels, third column kept."""
    xy = np.einsum("nij,nkj->nki", inverse[:, :, :2], keypoints[..., :2]) + inverse[:, None, :, 2]
    return np.concatenate([xy, keypoints[..., 2:]], axis=-1)


def summary_images(
    images: np.ndarray,
    keypoints: np.ndarray,
    outputs: dict,
    truth: np.ndarray | None = None,
    keypoint_set=None,
) -> dict[str, np.ndarray]:
    """Predictions drawn over the ground truth and, when present, every stage's mask.

    Drawn with `kerashg.draw` in its colour convention (the person's left blue,
    right orange, centre green): the ground truth faint and thin, occluded
    joints as rings; the prediction on top, every joint (threshold 0, so a
    weak early model still shows where it points).

    Args:
        images: float32 (N, H, W, 3) in [0, 1].
        keypoints: float32 (N, K, 3) predicted, input pixels.
        outputs: the model outputs of a batch starting with these images.
        truth: None, or float32 (N, K, 3) x, y, v in input pixels.
        keypoint_set: `KeypointSet` of the K joints (edges and sides); None
            draws joints only.

    Returns:
        {"predictions": (N, H, W, 3), "masks": (N, H, S·W, 3)} float32 in [0, 1].
    """
    import cv2

    from kerashg import draw

    if keypoint_set is not None and keypoint_set.num_keypoints != keypoints.shape[1]:
        keypoint_set = None
    n = len(images)
    drawn = []
    for i, (image, points) in enumerate(zip(images, keypoints, strict=True)):
        canvas = cv2.cvtColor((np.clip(image, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
        thickness = max(1, round(max(canvas.shape[:2]) / 128))
        if truth is not None:
            visible = np.asarray(truth[i], np.float64)
            canvas = draw.draw_skeleton(
                canvas, visible, keypoint_set, 0.0, thickness, visible[:, 2] < 2, opacity=0.55
            )
        canvas = draw.draw_skeleton(canvas, points, keypoint_set, -np.inf, thickness)
        drawn.append(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)
    result = {"predictions": np.stack(drawn)}
    if "masks" in outputs:
        masks = outputs["masks"][:n, ..., 0]  # (N, S, h, w)
        tiles = []
        for sample, image in zip(masks, images, strict=True):
            bgr = cv2.cvtColor((np.clip(image, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2BGR)
            panels = draw.overlay_masks(bgr, sample)  # one labelled panel per stage
            tiles.append(cv2.cvtColor(panels, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0)
        result["masks"] = np.stack(tiles)
    return result


def make_codec(config: TrainConfig) -> HeatmapCodec:
    """The run's codec, from `--input-size`, `--sigma` and `--refine`: made once
    (`make_source`), it makes the targets, decodes validation, and is the
    model's own codec (`training.train.build_model`), saved in `model.keras`."""
    size = int(config.input_size)
    return HeatmapCodec(size, sigma=config.sigma, refine=config.refine)


def make_source(config: TrainConfig) -> Source:
    """The data source of a resolved `config`.

    Raises (before any training): FileNotFoundError / ValueError for a missing
    `--data-dir`, a wrong layout or unreadable annotations.
    """
    size = int(config.input_size)
    codec = make_codec(config)
    if config.data == "synthetic":
        records = _synthetic_records(config, size)
    else:
        records = _data_set_records(config)
    steps_per_epoch, train_dataset = _train_batches(config, records, codec, size)
    crops = _eval_arrays(records.val, records.root, codec, size, records.val_images)
    whole_images = whole_inverse = None
    if config.data == "lsp":  # one person an image: the whole image is a user's crop
        whole = whole_image_records(records.val[crops["index"]], records.root)
        whole_images, whole_inverse = _eval_crops(whole, records.root, codec, size)
    metric = _val_metric(config.data, records, crops)
    keypoint_set = records.train.keypoint_set
    return Source(
        num_keypoints=keypoint_set.num_keypoints,
        train_dataset=train_dataset,
        val_images=crops["images"],
        val_keypoints=crops["keypoints"],
        val_inverse=crops["inverse"],
        codec=codec,
        val_split=records.split,
        flip_index=tuple(keypoint_set.flip_index),
        keypoint_set=keypoint_set,
        steps_per_epoch=steps_per_epoch,
        whole_images=whole_images,
        whole_inverse=whole_inverse,
        **metric,
    )


@dataclasses.dataclass
class _RunRecords:
    """The training and held-out records of a run, and where their pixels are."""

    train: Any  # `kerashg.data.records.Records`
    val: Any
    root: pathlib.Path | None  # the data set's root; None: pixels in memory (synthetic)
    split: str  # `Source.val_split`
    train_images: np.ndarray | None = None  # synthetic: the rendered pool
    val_images: np.ndarray | None = None
    all_val: int = 0  # MPII: the people of the annotation file, before any subset
    why: list[str] = dataclasses.field(default_factory=list)  # MPII: why a subset


def _synthetic_records(config: TrainConfig, size: int) -> _RunRecords:
    """A pool rendered once, cropped and augmented every epoch (rendering costs far
    more CPU than cropping, and the CPU is the budget), and held-out figures of
    another seed."""
    from kerashg.data.synthetic import parse_difficulty
    from training.synthetic import synthetic_source

    difficulty = parse_difficulty(config.difficulty)
    train, train_images = synthetic_source(
        config.synthetic_pool, seed=config.seed, image_size=size, difficulty=difficulty
    )
    val, val_images = synthetic_source(
        config.val_images or SYNTHETIC_VAL_IMAGES,
        seed=config.seed,
        split="valid",
        image_size=size,
        difficulty=difficulty,
    )
    return _RunRecords(train, val, None, "synthetic valid (other seed)", train_images, val_images)


def _data_set_records(config: TrainConfig) -> _RunRecords:
    """The train and val records of `--data` in `--data-dir`, checked: the folder,
    the annotations, one keypoint set, at least one readable training image."""
    from kerashg.data import load_records
    from kerashg.data.image_files import check_image_files

    root = pathlib.Path(config.data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"--data-dir {root} does not exist (--data {config.data})")
    # COCO-format data: the category and flip pairs of --category / --flip-pairs.
    options = {"category": config.category, "flip_pairs": config.flip_pairs}
    options = options if config.data == "coco" else {}
    try:
        train = load_records(config.data, root, "train", **options)
        val = load_records(config.data, root, "val", **options)
    except (OSError, KeyError) as error:
        reason = error.args[0] if isinstance(error, KeyError) and error.args else error
        raise InputError(f"--data {config.data} --data-dir {root}: {reason}") from error
    if val.keypoint_set != train.keypoint_set:
        raise InputError(
            f"--data {config.data} --data-dir {root}: the validation split's keypoint set "
            f"({val.source}: {val.keypoint_set.names}) is not the "
            f"training split's ({train.source}: {train.keypoint_set.names})"
        )
    if config.data == "lsp":  # which layout joints.mat was read as, and its joint counts
        from kerashg.data.lsp import joints_reading

        print(joints_reading(train.source))
    # No readable training image is an error now, not inside the first epoch
    # (`train_dataset` then skips the check each epoch).
    check_image_files(train, root)
    records = _RunRecords(train, val, root, f"{config.data} val", all_val=len(val))
    if config.val_images and config.val_images < len(val):
        records.val = val[np.arange(config.val_images)]
    if config.data == "mpii":
        records.val, records.why = _mpii_val_people(records.val, root, records.all_val)
    return records


def _train_batches(config: TrainConfig, records: _RunRecords, codec, size: int):
    """`(steps_per_epoch, train_dataset)`: `Source.train_dataset` over the training
    records, one cache of decoded images for every epoch's pipeline."""
    from training import data as data_lib
    from training.augment import AUGMENT_PRESETS

    augment = AUGMENT_PRESETS[config.augment]
    train = records.train
    # steps_per_epoch 0: an epoch is one pass over the training records.
    steps_per_epoch = int(config.steps_per_epoch) or -(-len(train) // config.batch_size)
    samples_per_epoch = steps_per_epoch * int(config.batch_size)
    # Each training epoch reads its own range of the pipeline's data epochs
    # (one data epoch = one pass over the records, shuffled and augmented by
    # (seed, data epoch, index)), so epoch e's batches are a function of e alone.
    data_epochs = -(-samples_per_epoch // len(train)) + 1
    decode_cache = data_lib.DecodeCache()  # no pixel changes

    def train_dataset(
        epoch: int, skip: int, context: tf.distribute.InputContext
    ) -> tf.data.Dataset:
        dataset = data_lib.make_train_dataset(
            train,
            records.root,
            images=records.train_images,
            codec=codec,
            input_size=size,
            batch_size=context.get_per_replica_batch_size(int(config.batch_size)),
            seed=config.seed,
            start_epoch=epoch * data_epochs,
            num_epochs=data_epochs,
            augment=augment,
            num_shards=context.num_input_pipelines,
            shard_index=context.input_pipeline_id,
            check_files=False,
            decode_cache=decode_cache,
        )
        return dataset.skip(skip)

    return steps_per_epoch, train_dataset


def _eval_arrays(records, data_root, codec, size: int, pixels=None) -> dict[str, np.ndarray]:
    """The held-out crops as arrays, in the pipeline's order (unreadable images
    skipped): `images` (N, H, W, 3) in [0, 1], `keypoints` (N, K, 3) in crop
    pixels, `inverse` (N, 2, 3), `head_size`, `scale` and `index` (N,), the
    records' rows."""
    from training import data as data_lib

    dataset = data_lib.make_eval_dataset(
        records, data_root, images=pixels, codec=codec, input_size=size, batch_size=64
    )
    keys = ("keypoints", "inverse", "head_size", "scale", "index")
    parts: dict[str, list] = {key: [] for key in ("images", *keys)}
    for batch_images, _, meta in dataset:
        parts["images"].append(batch_images.numpy())
        for key in keys:
            parts[key].append(meta[key].numpy())
    return {key: np.concatenate(value) for key, value in parts.items()}


def _val_metric(data: str, records: _RunRecords, crops: dict) -> dict[str, Any]:
    """The data set's PCK as `Source` fields: `val_normalizer`, `normalizer_name`,
    `pck_threshold`, `val_scored`, and for MPII `val_truth` and `val_people`."""
    metric: dict[str, Any] = {"pck_threshold": 0.5, "val_scored": None}
    if data == "mpii":
        metric.update(_mpii_truth(records, crops["index"]))
    head_size = crops["head_size"]
    if data == "lsp":
        # LSP's own metric: PCK@0.2 of the torso (left shoulder to right hip),
        # measured on the original-image joints; people missing either torso
        # joint cannot be scored and are left out.
        keypoint_set = records.train.keypoint_set
        truth = _to_original(crops["keypoints"], crops["inverse"])
        a, b = (keypoint_set.index(j) for j in TORSO_JOINTS)
        scored = (truth[:, a, 2] > 0) & (truth[:, b, 2] > 0)
        normalizer = np.where(scored, torso_size(truth, keypoint_set), np.nan)
        scored &= np.isfinite(normalizer) & (normalizer > 0)
        metric.update(pck_threshold=LSP_PCK_THRESHOLD, val_scored=scored)
        name = "torso"
    elif np.isfinite(head_size).all():
        normalizer, name = head_size, "head size"
    else:
        if data == "mpii":
            raise _missing_head_size(records.val)
        # COCO has no head boxes: a tenth of the person box side stands in.
        box = PIXEL_STD * crops["scale"] * BOX_FRACTION
        normalizer = np.where(np.isfinite(head_size), head_size, box)
        name = f"head size, or {BOX_FRACTION} x person box where unknown"
    metric.update(val_normalizer=normalizer.astype(np.float32), normalizer_name=name)
    return metric


def _mpii_truth(records: _RunRecords, index: np.ndarray) -> dict[str, Any]:
    """MPII's official rules: every annotated joint of every person counts, in the
    annotation's own frame (a joint the crop cut off is a miss, not dropped):
    `val_truth` (N, K, 3) and `val_people`, which people they are."""
    val, why = records.val, list(records.why)
    truth = np.asarray(val.keypoints, np.float64)[index]
    if len(index) < len(val):  # unreadable images the pipeline skipped
        why.append(f"{len(val) - len(index)} with an unreadable image")
    total = records.all_val
    people = f"{len(index)} of {total} people: {', '.join(why)}" if why else f"all {total} people"
    return {"val_truth": truth, "val_people": people}


def _missing_head_size(val):
    """The error of MPII validation people without a head size: MPII's PCKh is
    measured against each person's head size, so a missing one is a broken
    annotation file, not a reason to measure against another size."""
    from kerashg.errors import AnnotationError

    heads = np.asarray(val.head_size, np.float64)
    bad = np.flatnonzero(~np.isfinite(heads))
    i = int(bad[0]) if bad.size else 0
    field = {".h5": "normalize", ".mat": "head box (x1, y1, x2, y2)"}.get(
        pathlib.Path(val.source).suffix.lower(), "head box"
    )
    return AnnotationError(
        val.source,
        int(val.id[i]),
        field,
        f"head size is {heads[i] if bad.size else 'not finite'} for "
        f"{max(bad.size, 1)} of the {len(val)} validation people; expected "
        "a finite head size for every MPII person (the PCKh normaliser: `normalize` "
        "of valid.h5 or the head boxes of the official .mat)",
    )


def whole_image_records(records, data_root):
    """`records` with each box replaced by its whole image (what a crop with no
    box sees: `kerashg.runtime.whole_frame_box`)."""
    from kerashg.images import image_size, read_image_file
    from kerashg.runtime import whole_frame_box

    centers, scales = [], []
    for path in records.image_path:
        path = pathlib.Path(data_root) / path
        # The header says the size; decode only an image whose header it cannot read.
        width, height = image_size(path) or read_image_file(path).shape[1::-1]
        center, scale = whole_frame_box(width, height)
        centers.append(center)
        scales.append(scale)
    whole = records[np.arange(len(records))]
    whole.center = np.asarray(centers, np.float32)
    whole.scale = np.asarray(scales, np.float32)
    return whole


def _eval_crops(records, data_root, codec, size):
    """(images float32 (N, H, W, 3), inverse (N, 2, 3)) of `records`' crops, in order."""
    arrays = _eval_arrays(records, data_root, codec, size)
    return arrays["images"], arrays["inverse"]


def _mpii_val_people(records, root: pathlib.Path, total: int):
    """The MPII validation people whose image exists, and why any are left out.

    Every person of the annotation file counts unless `--val-images` keeps the
    first N, or images are missing from `root`; the reasons name such a subset
    (they go into `Source.pck_label`).
    """
    from kerashg.evaluation.mpii_files import people_with_images

    present = people_with_images(records, root)
    if not present.any():
        raise InputError(
            f"--data mpii --data-dir {root}: none of the {len(records)} validation people "
            f"of {records.source} has its image under {root} (e.g. {records.image_path[0]})"
        )
    why = [f"the first {len(records)} (--val-images)"] if len(records) < total else []
    if not present.all():
        why.append(f"{int((~present).sum())} without an image")
    return records[np.flatnonzero(present)], why


def _table_groups(keypoint_set) -> dict | None:
    """LSP's or MPII's table columns where the keypoint set has their joints."""
    for groups in (LSP_GROUPS, MPII_GROUPS):
        names = {n for joints in groups.values() for n in joints}
        if names <= set(keypoint_set.names):
            return groups
    return None
