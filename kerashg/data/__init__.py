"""Data set readers: annotation files → `Records` (one record per person).

`load_records(name, data_dir, split)` is the front door; each reader module
(`mpii`, `coco`, `lsp`) also exposes its file-level functions, and `files` the
file formats they share with the evaluation (`.h5`, `.mat`, JSON). NumPy, h5py
and SciPy only: no TensorFlow. The synthetic source renders images in memory
instead.
"""

from __future__ import annotations

import logging
import os
import pathlib

from kerashg.data.records import Records, cache_key, concatenate
from kerashg.errors import AnnotationError

logger = logging.getLogger(__name__)

DATASETS = ("mpii", "coco", "lsp")
_MEMORY_CACHE: dict[str, Records] = {}


def _loader(name: str):
    if name == "mpii":
        from kerashg.data.mpii import load_mpii

        return load_mpii
    if name == "coco":
        from kerashg.data.coco import load_coco

        return load_coco
    if name == "lsp":
        from kerashg.data.lsp import load_lsp

        return load_lsp
    raise ValueError(f"Unknown data set. Received: name={name!r}; expected one of {DATASETS}")


def load_records(
    name: str,
    data_dir: str | os.PathLike,
    split: str = "train",
    annotation: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    category: str | None = None,
    flip_pairs=None,
) -> Records:
    """Reads the records of a data set from its usual folder layout.

    Layouts: MPII `annot/{train,valid}.h5` (or `{split}.h5`, the official
    `mpii_human_pose_v1_u12_1.mat`, MMPose JSON) beside `images/`; COCO
    `annotations/person_keypoints_{split}2017.json` beside `{split}2017/` or
    `images/{split}2017/`; LSP `joints.mat` beside `images/`.

    Parsed records are kept in memory for the process (keyed by the annotation
    file's path, size and modification time), and in `cache_dir` as `.npz` when
    given. Nothing is ever written into `data_dir`.

    Args:
        name: `"mpii"`, `"coco"` or `"lsp"`.
        data_dir: the data set root; record image paths are relative to it.
        split: `"train"` or `"val"` (LSP also `"all"`, its default layout has no
            official split; see `kerashg.data.lsp`).
        annotation: optional explicit annotation file (relative to `data_dir`).
        cache_dir: optional folder for the `.npz` cache.
        category: COCO only: the category to read (default: the file's one
            category with keypoints; see `kerashg.data.coco.coco_keypoint_set`).
        flip_pairs: COCO only: pairs of joint names, or None to infer them from
            the names' left/right words (a built-in set keeps its own).

    Returns:
        `Records`.
    """
    name = str(name).lower()
    loader = _loader(name)
    options = {}
    if name == "coco":
        options = {"category": category, "flip_pairs": flip_pairs}
    elif category is not None or flip_pairs is not None:
        raise ValueError(
            f"category and flip_pairs are options of COCO-format data only. Received: "
            f"name={name!r}, category={category!r}, flip_pairs={flip_pairs!r}"
        )
    root = pathlib.Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"Data folder for {name!r} does not exist: {root}")
    annotation_files = sorted(
        str(p)
        for pattern in ("*.h5", "*.mat", "*.json", "annot/*", "annotations/*", "images/*.json")
        for p in root.glob(pattern)
    )
    given = {k: v for k, v in options.items() if v is not None}  # none: the keys of before
    key = cache_key(name, str(root.resolve()), split, annotation, *annotation_files)
    key = cache_key(key, given) if given else key
    cache_file = pathlib.Path(cache_dir) / f"{name}-{split}-{key}.npz" if cache_dir else None
    if key in _MEMORY_CACHE:
        records = _MEMORY_CACHE[key]
    elif cache_file is not None and cache_file.exists():
        records = Records.load(cache_file)
    else:
        records = loader(root, split=split, annotation=annotation, **options)
    if len(records) == 0:
        skipped = {k: v for k, v in records.skipped.items() if v}
        why = f"; left out: {skipped}" if skipped else ""
        raise AnnotationError(
            records.source, None, None,
            f"holds no person to use for split {split!r}{why}; expected at least one "
            "annotated person",
        )  # fmt: skip
    if cache_file is not None and not cache_file.exists():
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        records.save(cache_file)
    if records.skipped and any(records.skipped.values()):
        logger.info("%s %s: skipped annotations %s", name, split, records.skipped)
    _MEMORY_CACHE[key] = records
    return records


__all__ = ["AnnotationError", "DATASETS", "Records", "concatenate", "load_records"]
