"""The synthetic source: a pool of rendered figures as records + in-memory images.

`synthetic_source` renders the pool once (`kerashg.data.synthetic.SyntheticPoses`);
the pipelines of `training.data` then crop and augment it at their in-memory rate
(`images=`).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from kerashg.data.records import Records
from training.data import make_eval_dataset, make_train_dataset

# Held-out synthetic data uses another seed: other figures and other backgrounds.
SYNTHETIC_VALID_SEED_OFFSET = 1


def synthetic_source(
    num_samples: int = 1024,
    seed: int = 0,
    split: str = "train",
    image_size: int = 256,
    difficulty: str = "moderate",
    keypoint_set: str = "mpii",
    workers: int | None = None,
) -> tuple[Records, np.ndarray]:
    """Renders a pool of synthetic samples once (threads) as records + images.

    Args:
        num_samples: int, pool size; augmentation varies it every epoch.
        seed: int, data set seed; `split="valid"` renders with
            `seed + SYNTHETIC_VALID_SEED_OFFSET`.
        split: `"train"` or `"valid"` (`"val"`).
        image_size: int, side of the rendered square images.
        difficulty, keypoint_set: see `kerashg.data.synthetic.SyntheticPoses`.
        workers: int, rendering threads.

    Returns:
        (`Records` with placeholder paths `synthetic/s{seed}_{i}`, uint8 images
        (N, S, S, 3)).
    """
    from kerashg.data.synthetic import SyntheticPoses

    if split not in ("train", "valid", "val"):
        raise ValueError(f"split must be 'train' or 'valid'. Received: split={split!r}")
    if split != "train":
        seed = seed + SYNTHETIC_VALID_SEED_OFFSET
    poses = SyntheticPoses(
        seed=seed,
        image_size=image_size,
        difficulty=difficulty,
        keypoint_set=keypoint_set,
        workers=workers,
    )
    columns = poses.records(int(num_samples))
    records = Records(
        image_path=np.array([f"synthetic/s{seed}_{i:08d}" for i in columns["id"]]),
        keypoints=columns["keypoints"],
        center=columns["center"],
        scale=columns["scale"],
        head_size=columns["head_size"],
        id=columns["id"],
        keypoint_set=poses.keypoint_set,
        source=repr(poses),
    )
    return records, columns["image"]


def make_synthetic_dataset(
    num_samples: int = 1024,
    *,
    seed: int = 0,
    split: str = "train",
    image_size: int = 256,
    difficulty: str = "moderate",
    keypoint_set: str = "mpii",
    workers: int | None = None,
    **kwargs,
) -> tf.data.Dataset:
    """The pipeline over a pre-rendered in-memory synthetic pool.

    Rendering costs far more than cropping and augmenting, so the pool is
    rendered once and the pipeline then runs at its in-memory rate. Arguments
    are those of `synthetic_source` plus the keywords of the pipeline of the
    split: `make_train_dataset` for `"train"` (`seed` keys both), else
    `make_eval_dataset` (`input_size`, `batch_size`, ...).
    """
    records, images = synthetic_source(
        num_samples, seed, split, image_size, difficulty, keypoint_set, workers
    )
    if split == "train":
        return make_train_dataset(records, images=images, seed=seed, **kwargs)
    return make_eval_dataset(records, images=images, **kwargs)
