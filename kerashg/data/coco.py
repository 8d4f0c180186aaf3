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

import os
import pathlib

import numpy as np

from kerashg.data.files import read_json
from kerashg.data.records import Records, check_type, to_number, to_numbers
from kerashg.errors import AnnotationError
from kerashg.keypoints import COCO
from kerashg.transforms import box_to_center_scale


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
    data = read_json(path)
    check_type(data, dict, path, None, None, "a JSON object with 'images' and 'annotations'")
    for key in ("images", "annotations"):
        if key not in data:
            raise AnnotationError(path, None, key, f"is missing; keys present: {sorted(data)}")
        check_type(data[key], list, path, None, key, "a list")
    categories = check_type(data.get("categories", []), list, path, None, "categories", "a list")
    files = {}
    for i, image in enumerate(data["images"]):
        where = f"images[{i}]"
        check_type(image, dict, path, where, None, "an object with 'id' and 'file_name'")
        for key in ("id", "file_name"):
            if key not in image:
                raise AnnotationError(path, where, key, "is missing")
        check_type(image["id"], int, path, where, "id", "an integer")
        check_type(image["file_name"], str, path, where, "file_name", "a file name")
        files[image["id"]] = image["file_name"]
    person_ids = {
        c.get("id") for c in categories if isinstance(c, dict) and c.get("name") == "person"
    } or {1}
    k = COCO.num_keypoints
    items, skipped = [], {"crowd": 0, "no_keypoints": 0, "empty_box": 0}
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        check_type(ann, dict, path, where, None, "an object")
        if ann.get("category_id", 1) not in person_ids:
            continue
        crowd = to_number(ann.get("iscrowd", 0), path, where, "iscrowd")
        if crowd:
            skipped["crowd"] += 1
            continue
        for key in ("image_id", "keypoints", "bbox"):
            if key not in ann:
                raise AnnotationError(path, where, key, "is missing")
        keypoints = to_numbers(ann["keypoints"], path, where, "keypoints").ravel()
        if keypoints.size != 3 * k:
            raise AnnotationError(
                path, where, "keypoints",
                f"must hold {3 * k} numbers. Received: {keypoints.size}",
            )  # fmt: skip
        keypoints = keypoints.reshape(k, 3)
        if not (keypoints[:, 2] > 0).any():
            skipped["no_keypoints"] += 1
            continue
        box = to_numbers(ann["bbox"], path, where, "bbox", dtype=np.float64)
        if box.shape != (4,) or not np.isfinite(box).all():
            raise AnnotationError(
                path, where, "bbox", f"must be [x, y, w, h]. Received: {ann['bbox']}"
            )
        if box[2] <= 0 or box[3] <= 0:
            skipped["empty_box"] += 1
            continue
        check_type(ann["image_id"], int, path, where, "image_id", "an integer")
        check_type(ann.get("id", i), int, path, where, "id", "an integer")
        if ann["image_id"] not in files:
            raise AnnotationError(
                path, where, "image_id",
                f"names no entry of 'images'. Received: {ann['image_id']}",
            )  # fmt: skip
        center, scale = box_to_center_scale(*box, aspect_ratio=aspect_ratio)
        items.append(
            {
                "image_path": f"{image_dir}/{files[ann['image_id']]}",
                "keypoints": keypoints,
                "center": center,
                "scale": scale,
                "id": ann.get("id", i),
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
