"""COCO person-keypoints reader (top-down: one record per annotated person).

Each non-crowd person annotation with at least one labelled keypoint becomes a
record; its `center` and `scale` come from its box through
`kerashg.transforms.box_to_center_scale` (widened to the model's aspect ratio,
padded × 1.25). COCO's visibility flags are already the project's (0 missing,
1 occluded, 2 visible). Coordinates are used as published (COCO keypoints are
integer pixel positions, 0-based). `head_size` is NaN (COCO has no head box).
Crowd annotations, people without keypoints and boxes of zero area are skipped
and counted in `records.skipped`.
"""

from __future__ import annotations

import json
import os
import pathlib

import numpy as np

from kerashg.keypoints import COCO
from kerashg.transforms import box_to_center_scale
from training.datasets.records import AnnotationError, Records


def read_coco(
    path: str | os.PathLike,
    image_dir: str,
    aspect_ratio: float = 1.0,
) -> Records:
    """Reads a COCO keypoints JSON (`person_keypoints_{split}2017.json`).

    Args:
        path: the JSON file.
        image_dir: folder of the split's images relative to the data root
            (`val2017` or `images/val2017`).
        aspect_ratio: float, width / height of the model input the boxes are
            widened to. Default 1.0 (square inputs).

    Returns:
        `Records` in COCO joint order, `id` = annotation id.

    Raises:
        AnnotationError: naming the annotation index and the field.
    """
    path = pathlib.Path(path)
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise AnnotationError(path, None, "(file)", f"is not valid JSON: {error}") from None
    for key in ("images", "annotations"):
        if key not in data:
            raise AnnotationError(path, None, key, f"is missing; keys present: {sorted(data)}")
    files = {}
    for i, image in enumerate(data["images"]):
        if "id" not in image or "file_name" not in image:
            raise AnnotationError(path, f"images[{i}]", "id/file_name", "is missing")
        files[image["id"]] = image["file_name"]
    person_ids = {c["id"] for c in data.get("categories", []) if c.get("name") == "person"} or {1}
    k = COCO.num_keypoints
    items, skipped = [], {"crowd": 0, "no_keypoints": 0, "empty_box": 0}
    for i, ann in enumerate(data["annotations"]):
        if ann.get("category_id", 1) not in person_ids:
            continue
        if ann.get("iscrowd", 0):
            skipped["crowd"] += 1
            continue
        for key in ("image_id", "keypoints", "bbox"):
            if key not in ann:
                raise AnnotationError(path, f"annotations[{i}]", key, "is missing")
        keypoints = np.asarray(ann["keypoints"], dtype=np.float32)
        if keypoints.size != 3 * k:
            raise AnnotationError(
                path, f"annotations[{i}]", "keypoints",
                f"must hold {3 * k} numbers. Received: {keypoints.size}",
            )  # fmt: skip
        keypoints = keypoints.reshape(k, 3)
        if not (keypoints[:, 2] > 0).any():
            skipped["no_keypoints"] += 1
            continue
        box = np.asarray(ann["bbox"], dtype=np.float64)
        if box.shape != (4,) or not np.isfinite(box).all():
            raise AnnotationError(
                path, f"annotations[{i}]", "bbox", f"must be [x, y, w, h]. Received: {ann['bbox']}"
            )
        if box[2] <= 0 or box[3] <= 0:
            skipped["empty_box"] += 1
            continue
        if ann["image_id"] not in files:
            raise AnnotationError(
                path, f"annotations[{i}]", "image_id",
                f"names no entry of 'images'. Received: {ann['image_id']}",
            )  # fmt: skip
        center, scale = box_to_center_scale(*box, aspect_ratio=aspect_ratio)
        items.append(
            {
                "image_path": f"{image_dir}/{files[ann['image_id']]}",
                "keypoints": keypoints,
                "center": center,
                "scale": scale,
                "id": int(ann.get("id", i)),
            }
        )
    return Records.from_dicts(items, COCO, source=str(path), skipped=skipped)


def load_coco(
    data_dir: str | os.PathLike,
    split: str = "train",
    annotation: str | None = None,
    aspect_ratio: float = 1.0,
) -> Records:
    """COCO records from the usual layout.

    `annotations/person_keypoints_{split}2017.json` beside `{split}2017/` or
    `images/{split}2017/`.

    Args:
        data_dir: the COCO root.
        split: `"train"` or `"val"` (`"valid"` is accepted).
        annotation: an explicit JSON file (relative to `data_dir` or absolute).
        aspect_ratio: see `read_coco`.
    """
    root = pathlib.Path(data_dir)
    split = "val" if split == "valid" else split
    file = pathlib.Path(annotation or f"annotations/person_keypoints_{split}2017.json")
    file = file if file.is_absolute() else root / file
    if not file.exists():
        raise FileNotFoundError(f"No COCO annotations for split {split!r}: {file} does not exist")
    for image_dir in (f"{split}2017", f"images/{split}2017"):
        if (root / image_dir).is_dir():
            break
    else:
        raise FileNotFoundError(
            f"No COCO image folder for split {split!r} under {root}: looked for "
            f"{split}2017/ and images/{split}2017/"
        )
    return read_coco(file, image_dir, aspect_ratio=aspect_ratio)
