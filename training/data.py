"""The tf.data input pipeline: records → decoded, cropped, augmented batches with targets.

Two entry points over one core (`_CropPipeline`: records, image source, crop
size and codec → batches): `make_train_dataset` (each epoch shuffled and
augmented, repeated, full batches only) and `make_eval_dataset` (one ordered
pass, no augmentation, last batch partial).

In chunks of `CHUNK_SIZE` records (chunks in parallel, `AUTOTUNE`), with
vectorised TF ops:
1. each epoch draws its shuffle and one row of uniforms per record
   statelessly from `(seed, epoch)` (`training.augment`), so a record's
   augmentation depends on `(seed, epoch, index)` only;
2. the records' centre, scale and keypoints are gathered; scale, rotation and
   flip are folded into each crop's affine matrix
   (`kerashg.transforms.affine_matrix_tf`);
3. one `tf.numpy_function` per chunk reads and decodes the images with OpenCV
   and warps them with their matrices to the input size (bilinear, black
   border). OpenCV is used because it measured ~10× faster than
   `ImageProjectiveTransformV3` for the warp on this CPU, and it releases the
   GIL while it works. When the crop shrinks the person by 2×, 4× or 8× or
   more, the image is first reduced by that factor — JPEGs decoded directly at
   that size (libjpeg DCT scaling, much faster), other images block-averaged —
   which also keeps the bilinear warp from aliasing (`kerashg.transforms.crop_reduction`
   and `warp_image`, the crop evaluation makes too);
4. the keypoints go through the same matrices; joints outside the crop or the
   image get v = 0; a flip swaps left/right channels;
5. colour jitter (per-channel gains) and the float conversion happen in the
   same Python call, in place; unreadable samples are dropped, the rest
   batched; `HeatmapCodec.encode` per batch; prefetch.

Unreadable images — missing, empty, truncated (a JPEG without its end marker:
OpenCV would silently half-decode it, TensorFlow's decoder would raise) or not
an image — are skipped: one warning per file, counted in `PipelineStats`.

Elements: `(images, targets, meta)` with
- `images`: float32 (B, H, W, 3), RGB in [0, 1];
- `targets`: `{"heatmaps": float32 (B, h, w, K), "weights": float32 (B, K)}`;
- `meta`: `keypoints` float32 (B, K, 3) in input-crop pixels (x, y, v),
  `inverse` float32 (B, 2, 3) crop → original-image pixels, `head_size` (B,),
  `center` (B, 2), `scale` (B,) (as augmented), `index` int64 (B,) record index.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import threading
from collections.abc import Callable

import cv2
import numpy as np
import tensorflow as tf

from kerashg.codec import HeatmapCodec
from kerashg.data.image_files import check_image_files
from kerashg.data.records import Records
from kerashg.errors import InputError
from kerashg.images import (
    ImageError,
    read_image_file,
    reduce_image,
)
from kerashg.transforms import (
    PIXEL_STD,
    affine_matrix_tf,
    crop_reduction,
    invert_affine_tf,
    transform_points_tf,
    warp_image,
)
from training import augment as augment_lib

logger = logging.getLogger(__name__)

AUTOTUNE = tf.data.AUTOTUNE
# Records decoded per Python call (the unit of parallel work).
CHUNK_SIZE = 8
# Number of skipped files named one by one in the log before only counting.
_MAX_NAMED_WARNINGS = 20
# Decoded images a training run keeps in memory (`DecodeCache`), in MB: a small data
# set (COCO-mini's 79 photos, about 60 MB decoded) is decoded once instead of every
# epoch; a large one fills the cache in its first epoch and then hits it for that
# fraction of its records. Decoding a 640×480 JPEG costs ~2.4 ms of a core here,
# the rest of a 256² sample ~2 ms (`benchmarks.data --decode-cache-mb 0` vs default).
DECODE_CACHE_MB = 256


@dataclasses.dataclass
class PipelineStats:
    """What the pipeline skipped; shared by the threads that decode images.

    Attributes:
        skipped_records: set of record indices whose image could not be used.
        skipped_files: dict image path → reason.
    """

    skipped_records: set = dataclasses.field(default_factory=set)
    skipped_files: dict = dataclasses.field(default_factory=dict)
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def skipped(self) -> int:
        """Number of distinct records skipped so far."""
        return len(self.skipped_records)

    def record_skip(self, index: int, path: str, reason: str) -> None:
        with self._lock:
            self.skipped_records.add(int(index))
            first = path not in self.skipped_files
            self.skipped_files.setdefault(path, reason)
            count = len(self.skipped_files)
        if first and count <= _MAX_NAMED_WARNINGS:
            logger.warning("Skipping image %s: %s", path, reason)
        elif first and count == _MAX_NAMED_WARNINGS + 1:
            logger.warning("More unreadable images; only counting them from now on")


class DecodeCache:
    """Decoded images kept in memory, filled until `megabytes` are used, then read-only.

    One cache serves every pipeline it is given: a training run builds one pipeline
    per epoch (`training.sources`) and hands each the same cache, so an image decoded
    in epoch 1 is not decoded again in epoch 2. Keys are (file path, reduction); the
    arrays are only read after insertion, so tf.data's threads may share them.

    Args:
        megabytes: int, the most decoded pixels kept, in MB of 2**20 bytes (0: none).
            Default `DECODE_CACHE_MB`.
    """

    def __init__(self, megabytes: int = DECODE_CACHE_MB):
        if int(megabytes) < 0:
            raise ValueError(f"megabytes must be >= 0. Received: megabytes={megabytes}")
        self.megabytes = int(megabytes)
        self._images: dict[tuple[str, int], np.ndarray] = {}
        self._left = self.megabytes * 2**20
        self._lock = threading.Lock()

    def read(self, path: pathlib.Path, reduction: int) -> np.ndarray:
        """The decoded (reduced) image of `path` (`read_image_file`), cached if room is left."""
        key = (str(path), reduction)
        image = self._images.get(key)
        if image is None:
            image = read_image_file(path, reduction)
            with self._lock:
                if image.nbytes <= self._left and key not in self._images:
                    self._images[key] = image
                    self._left -= image.nbytes
        return image


class _CropLoader:
    """The Python side of the pipeline: image → warped crop, called by numpy_function.

    OpenCV releases the GIL while decoding and warping, so tf.data's threads
    overlap in those calls.
    """

    def __init__(self, records, data_root, images, input_size, stats, fast_decode, cache):
        self.paths = records.image_path
        # Paths were checked lexically by `Records` (no `..`, not absolute); symlinks
        # inside the root are followed as the user laid them out.
        self.root = None if data_root is None else pathlib.Path(data_root)
        self.images = images
        self.width, self.height = input_size
        self.stats = stats
        self.fast_decode = fast_decode
        self.cache = cache

    def _warp_one(self, index: int, matrix: np.ndarray, crop: np.ndarray) -> tuple[bool, tuple]:
        reduction = crop_reduction(matrix) if self.fast_decode else 1
        if self.images is not None:
            image = self.images[index]
            if reduction > 1:
                image = reduce_image(image, reduction)
        else:
            relative = str(self.paths[index])
            try:
                image = self.cache.read(self.root / relative, reduction)
            except ImageError as error:
                self.stats.record_skip(index, relative, str(error))
                return False, (0.0, 0.0)
        h, w = image.shape[:2]
        warp_image(image, matrix, (self.width, self.height), reduction, dst=crop)
        return True, (w * reduction, h * reduction)

    def __call__(self, indices, matrices, gains):
        """Crops of a chunk of records, as float RGB in [0, 1] with colour gains.

        Args:
            indices: int (C,), record indices.
            matrices: float (C, 2, 3), original → crop pixels.
            gains: float (C, 3), per-channel colour factors (1 = unchanged).

        Returns:
            images float32 (C, H, W, 3); sizes float32 (C, 2), the original
            image's (width, height) (a multiple of the reduction when decoded
            reduced); ok bool (C,), False where the image could not be used.
        """
        count = len(indices)
        crop = np.zeros((self.height, self.width, 3), np.uint8)
        images = np.empty((count, self.height, self.width, 3), np.float32)
        sizes = np.zeros((count, 2), np.float32)
        ok = np.zeros(count, bool)
        scale = np.asarray(gains, np.float32) * np.float32(1.0 / 255.0)
        for i in range(count):
            matrix = np.asarray(matrices[i], np.float64)
            ok[i], sizes[i] = self._warp_one(int(indices[i]), matrix, crop)
            # uint8 → float with the gains, then clipped at 1, in two OpenCV passes
            # (0.46 ms at 256² against 0.62 ms for three NumPy passes, and bit-identical:
            # an 8-bit value times a float32 is exact in double, rounded once to float32).
            out = images[i]
            cv2.multiply(crop, (*(float(v) for v in scale[i]), 0.0), dst=out, dtype=cv2.CV_32F)
            cv2.threshold(out, 1.0, 1.0, cv2.THRESH_TRUNC, dst=out)
        return images, sizes, ok


def _size_pair(size) -> tuple[int, int]:
    if np.isscalar(size):
        return int(size), int(size)
    return int(size[0]), int(size[1])


class _CropPipeline:
    """The core both pipelines share: (records, image source, crop size, codec) → batches.

    Validates its inputs once; `batches` turns a dataset of `(record index,
    uniforms)` elements into `(images, targets, meta)` batches. What differs
    between training and evaluation — which records in which order, how many
    epochs, the augmentation, whether the last batch may be partial — is
    decided by `make_train_dataset` and `make_eval_dataset`.
    """

    def __init__(
        self, records, data_root, images, input_size, codec, fast_decode, stats, check, cache=None
    ):
        if not isinstance(records, Records):
            raise TypeError(f"records must be a Records. Received: {type(records).__name__}")
        n = len(records)
        if n == 0:
            raise InputError("holds no person: nothing to load", path=records.source)
        if images is None and data_root is None:
            raise ValueError("Give data_root (image files) or images (an in-memory array)")
        if images is not None:
            images = np.asarray(images)
            if (
                images.dtype != np.uint8
                or images.ndim != 4
                or images.shape[-1] != 3
                or len(images) != n
            ):
                raise ValueError(
                    f"images must be uint8 (N, H, W, 3) with N = len(records) = {n}. "
                    f"Received: dtype={images.dtype}, shape={images.shape}"
                )
        if images is None and check:
            check_image_files(records, data_root)
        self.width, self.height = _size_pair(input_size)
        self.codec = codec or HeatmapCodec(input_size=(self.width, self.height))
        if self.codec.input_size != (self.width, self.height):
            raise ValueError(
                f"codec.input_size {self.codec.input_size} differs from input_size "
                f"{(self.width, self.height)}"
            )
        stats = stats if stats is not None else PipelineStats()
        self.num_records = n
        self.loader = _CropLoader(
            records, data_root, images, (self.width, self.height), stats, fast_decode,
            DecodeCache(0) if cache is None else cache,
        )  # fmt: skip
        self.centers = tf.constant(records.center, tf.float32)
        self.scales = tf.constant(records.scale, tf.float32)
        self.keypoints = tf.constant(records.keypoints, tf.float32)
        self.head_sizes = tf.constant(records.head_size, tf.float32)
        self.flip_index = tf.constant(records.keypoint_set.flip_index, tf.int32)

    def _load_chunk(self, index, uniforms, augment):
        """Vectorised over a chunk of C records; one numpy_function call decodes and warps."""
        width, height = self.width, self.height
        params = augment_lib.sample_params(uniforms, augment)
        box_scale = tf.gather(self.scales, index)
        center = tf.gather(self.centers, index) + params["shift"] * (PIXEL_STD * box_scale)[:, None]
        scale = box_scale * params["scale_factor"]
        kps = tf.gather(self.keypoints, index)
        flip = params["flip"]
        matrix = affine_matrix_tf(center, scale, params["rotation"], (width, height))
        matrix = tf.where(flip[:, None, None], augment_lib.flip_matrix(matrix, width), matrix)
        images, sizes, ok = tf.numpy_function(
            self.loader,
            [index, matrix, params["gains"]],
            [tf.float32, tf.float32, tf.bool],
            name="decode_and_warp",
        )
        images.set_shape([None, height, width, 3])
        sizes.set_shape([None, 2])
        ok.set_shape([None])
        xy = transform_points_tf(kps[..., :2], matrix)
        x, y = kps[..., 0], kps[..., 1]
        in_image = (x >= 0) & (y >= 0) & (x < sizes[:, :1]) & (y < sizes[:, 1:])
        in_crop = (
            (xy[..., 0] >= 0) & (xy[..., 1] >= 0) & (xy[..., 0] < width) & (xy[..., 1] < height)
        )
        v = tf.where(in_image & in_crop, kps[..., 2], 0.0)
        crop_kps = tf.concat([xy, v[..., None]], axis=-1)
        crop_kps = tf.where(
            flip[:, None, None], augment_lib.flip_keypoints(crop_kps, self.flip_index), crop_kps
        )
        meta = {
            "keypoints": crop_kps,
            "inverse": invert_affine_tf(matrix),
            "head_size": tf.gather(self.head_sizes, index),
            "center": center,
            "scale": scale,
            "index": index,
        }
        return images, meta, ok

    def _finish_batch(self, images, meta):
        heatmaps, weights = self.codec.encode(meta["keypoints"])
        return images, {"heatmaps": heatmaps, "weights": weights}, meta

    def batches(
        self,
        elements: tf.data.Dataset,
        augment: augment_lib.AugmentConfig,
        batch_size: int,
        drop_remainder: bool,
        deterministic: bool = True,
        threads: int | None = None,
    ) -> tf.data.Dataset:
        """`(index int64, uniforms float32 (NUM_UNIFORMS,))` elements → batches."""

        def load_chunk(index, uniforms):
            return self._load_chunk(index, uniforms, augment)

        # Work in small chunks: one Python call and one set of vectorised ops per chunk,
        # chunks spread over the threads; then drop unreadable samples and re-batch.
        dataset = elements.batch(CHUNK_SIZE)
        dataset = dataset.map(load_chunk, num_parallel_calls=AUTOTUNE, deterministic=deterministic)
        dataset = dataset.unbatch()
        dataset = dataset.filter(lambda images, meta, ok: ok)
        dataset = dataset.map(lambda images, meta, ok: (images, meta))
        dataset = dataset.batch(int(batch_size), drop_remainder=drop_remainder)
        dataset = dataset.map(
            self._finish_batch, num_parallel_calls=AUTOTUNE, deterministic=deterministic
        )
        dataset = dataset.prefetch(AUTOTUNE)
        options = tf.data.Options()
        options.deterministic = bool(deterministic)
        if threads is not None:
            options.threading.private_threadpool_size = int(threads)
            options.threading.max_intra_op_parallelism = 1
        return dataset.with_options(options)


def _check_batch_size(batch_size: int) -> None:
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")


def make_train_dataset(
    records: Records,
    data_root: str | os.PathLike | None = None,
    *,
    images: np.ndarray | None = None,
    codec: HeatmapCodec | None = None,
    input_size: int | tuple[int, int] = 256,
    batch_size: int = 32,
    seed: int = 0,
    augment: augment_lib.AugmentConfig | None = None,
    start_epoch: int = 0,
    num_epochs: int | None = None,
    num_shards: int = 1,
    shard_index: int = 0,
    deterministic: bool = True,
    threads: int | None = None,
    fast_decode: bool = True,
    stats: PipelineStats | None = None,
    check_files: bool = True,
    decode_cache: DecodeCache | None = None,
) -> tf.data.Dataset:
    """The training pipeline: each epoch shuffled and augmented, full batches only.

    Epoch `e` is a permutation of the records drawn from `(seed, e)`; each
    record's augmentation is keyed on `(seed, e, index)`.

    Args:
        records: `Records` (image paths relative to `data_root`).
        data_root: folder the image paths are relative to; None when `images`
            is given.
        images: optional uint8 array (N, H, W, 3), RGB, one image per record, to
            use instead of files (the synthetic source).
        codec: `HeatmapCodec` making the targets: pass the model's
            (`model.codec`) where there is a model. Default, for a pipeline
            without one: `HeatmapCodec(input_size)` (sigma 1, heatmaps at a
            quarter of the input).
        input_size: int or (width, height) of the model input. Default 256.
        batch_size: int, samples per batch (per replica, see `make_dataset_fn`).
        seed: int, keys shuffling and augmentation with `(seed, epoch, index)`.
        augment: `AugmentConfig`, default the hourglass recipe (`NO_AUGMENT`:
            plain crops, still shuffled and repeated).
        start_epoch: int, first epoch number (a resumed run passes its epoch).
        num_epochs: int or None (default), epochs to produce; None repeats
            forever.
        num_shards, shard_index: ints, keep every `num_shards`-th sample of each
            epoch's permutation starting at `shard_index` (one input pipeline
            of several).
        deterministic: bool, keep element order whatever the thread timing.
            The content of each sample is deterministic either way.
        threads: int or None, size of a private thread pool for this pipeline
            (None: TensorFlow's shared pool).
        fast_decode: bool, decode large JPEGs at reduced size when the crop does
            not need full resolution. Default True.
        stats: `PipelineStats` to collect skipped images into (optional).
        check_files: bool, run `check_image_files` first (image files only), so
            that a data set with no readable image is an `InputError` at once.
            Default True.
        decode_cache: `DecodeCache` of decoded images (image files only), shared
            with other pipelines given the same one (a run's epochs). Default: a
            cache of `DECODE_CACHE_MB` for this pipeline alone; `DecodeCache(0)`
            keeps none.

    Returns:
        `tf.data.Dataset` of `(images, {"heatmaps", "weights"}, meta)`, see the
        module docstring for shapes.
    """
    _check_batch_size(batch_size)
    if not 0 <= shard_index < num_shards:
        raise ValueError(
            f"shard_index must be in [0, num_shards). Received: shard_index={shard_index}, "
            f"num_shards={num_shards}"
        )
    crops = _CropPipeline(
        records, data_root, images, input_size, codec, fast_decode, stats, check_files,
        DecodeCache() if decode_cache is None else decode_cache,
    )  # fmt: skip
    augment = augment_lib.AugmentConfig() if augment is None else augment
    n, seed = crops.num_records, int(seed)

    def epoch_elements(epoch):
        noise = tf.random.stateless_uniform(
            [n], seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        order = tf.cast(tf.argsort(noise)[shard_index::num_shards], tf.int64)
        uniforms = tf.gather(augment_lib.epoch_uniforms(seed, epoch, n), order)
        return tf.data.Dataset.from_tensor_slices((order, uniforms))

    last = 2**62 if num_epochs is None else int(start_epoch) + int(num_epochs)
    elements = tf.data.Dataset.range(int(start_epoch), last).flat_map(epoch_elements)
    return crops.batches(elements, augment, batch_size, True, deterministic, threads)


def make_eval_dataset(
    records: Records,
    data_root: str | os.PathLike | None = None,
    *,
    images: np.ndarray | None = None,
    codec: HeatmapCodec | None = None,
    input_size: int | tuple[int, int] = 256,
    batch_size: int = 32,
    fast_decode: bool = True,
    stats: PipelineStats | None = None,
    check_files: bool = True,
) -> tf.data.Dataset:
    """The evaluation pipeline: one pass over the records in order, no augmentation.

    The last batch may be partial; people whose image cannot be read are
    skipped (counted in `stats`), so `meta["index"]` says whose each sample is.

    Args:
        records, data_root, images, codec, input_size, batch_size, fast_decode,
            stats, check_files: as `make_train_dataset`.

    Returns:
        `tf.data.Dataset` of `(images, {"heatmaps", "weights"}, meta)`, see the
        module docstring for shapes.
    """
    _check_batch_size(batch_size)
    crops = _CropPipeline(
        records, data_root, images, input_size, codec, fast_decode, stats, check_files
    )
    n = crops.num_records
    # `NO_AUGMENT` gives every sample the identity whatever its uniforms.
    elements = tf.data.Dataset.from_tensor_slices(
        (tf.range(n, dtype=tf.int64), tf.zeros([n, augment_lib.NUM_UNIFORMS], tf.float32))
    )
    return crops.batches(elements, augment_lib.NO_AUGMENT, batch_size, False)


def make_dataset_fn(
    records: Records,
    data_root: str | os.PathLike | None,
    global_batch_size: int,
    **kwargs,
) -> Callable[[tf.distribute.InputContext], tf.data.Dataset]:
    """A training `dataset_fn(input_context)` for `strategy.distribute_datasets_from_function`.

    Each input pipeline keeps its shard of every epoch's permutation
    (`input_context.input_pipeline_id` of `num_input_pipelines`) and batches
    `input_context.get_per_replica_batch_size(global_batch_size)` samples.

    Args:
        records, data_root: as `make_train_dataset`.
        global_batch_size: int, batch size summed over replicas.
        **kwargs: any other `make_train_dataset` argument.
    """

    def dataset_fn(input_context: tf.distribute.InputContext) -> tf.data.Dataset:
        return make_train_dataset(
            records,
            data_root,
            batch_size=input_context.get_per_replica_batch_size(global_batch_size),
            num_shards=input_context.num_input_pipelines,
            shard_index=input_context.input_pipeline_id,
            **kwargs,
        )

    return dataset_fn
