"""COCO person-keypoints reader (top-down: one record per annotated person).

Each non-crowd person annotation with at least one labelled keypoint becomes a
record; its `center` and `scale` come from its box through
`kerashg.transforms.box_to_center_scale` (widened to the model's aspect ratio,
padded × 1.25). COCO's visibility flags are already the project's (0 missing,
1 occluded, 2 visible). Coordinates are used as published (COCO keypoints are
integer pixel positions, 0-based). `head_size` is NaN (COCO has no head box).
Crowd annotations, people without keypoints and boxes of zero area are skipped
and counted in `records.skipped`.

Your own keypoints: the keypoint set is the JSON's category with `keypoints`
(`coco_keypoint_set`), as CVAT and Label Studio export it: its `keypoints`
names the joints in channel order, its `skeleton` (1-based joint numbers, as
COCO writes them) the edges drawn, and the flip pairs are read from the names'
left/right words (`kerashg.keypoints.infer_flip_pairs`) unless given. A file
whose one category names COCO's 17 joints (the official files) reads as
`kerashg.keypoints.COCO`; a file without a category with keypoints is read as
COCO persons (category `person`, else id 1). Several categories with keypoints
need one chosen by name (`category=`, `--category`); only its annotations are
read.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from kerashg.data.files import read_json
from kerashg.data.records import (
    Records,
    check_joint_range,
    check_type,
    to_number,
    to_numbers,
)
from kerashg.errors import AnnotationError
from kerashg.keypoints import COCO, KeypointSet, infer_flip_pairs, parse_flip_pairs
from kerashg.transforms import box_to_center_scale


def _category_skeleton(category: dict, num_keypoints: int, path, where) -> tuple:
    """The category's `skeleton` (1-based joint numbers) as 0-based index pairs."""
    edges = to_numbers(category.get("skeleton", []), path, where, "skeleton", dtype=np.float64)
    edges = edges.reshape(-1, 2) if edges.size % 2 == 0 else edges
    if edges.ndim != 2 or not np.isin(edges, np.arange(1, num_keypoints + 1)).all():
        raise AnnotationError(
            path, where, "skeleton",
            f"must be pairs of joint numbers 1..{num_keypoints} (1-based, as COCO writes "
            f"them). Received: {category.get('skeleton')}",
        )  # fmt: skip
    return tuple((int(a) - 1, int(b) - 1) for a, b in edges)


def coco_keypoint_set(
    data: dict, path, category: str | None = None, flip_pairs=None
) -> tuple[KeypointSet, set, dict | None]:
    """The keypoint set of a COCO keypoints JSON and the category ids to read.

    Args:
        data: the parsed JSON.
        path: the file, for messages.
        category: the name of the category to read, or None: the file's one
            category with `keypoints` (an error where it has several).
        flip_pairs: None (read from the names' left/right words,
            `kerashg.keypoints.infer_flip_pairs`), or a sequence of (a, b) joint
            names or 0-based indices (`kerashg.keypoints.parse_flip_pairs`);
            `()` for none.

    Returns:
        (keypoint_set, category_ids, category): the set (`kerashg.keypoints.COCO`
        for COCO's 17 joints, else a set named after the category), the ids of
        the annotations to read, and the category's dict (None where the file
        has no category with keypoints: COCO persons).

    Raises:
        AnnotationError: no such category, several without a choice, or a
            category whose `keypoints` or `skeleton` is malformed.
    """
    categories = check_type(data.get("categories", []), list, path, None, "categories", "a list")
    named = [c for c in categories if isinstance(c, dict) and c.get("keypoints")]
    if category is not None:
        named = [c for c in named if c.get("name") == category]
        if not named:
            choices = [c.get("name") for c in categories if isinstance(c, dict)]
            raise AnnotationError(
                path, None, "categories",
                f"has no category {category!r} with keypoints. Received: categories "
                f"{choices}",
            )  # fmt: skip
    if len(named) > 1:
        raise AnnotationError(
            path, None, "categories",
            f"holds {len(named)} categories with keypoints "
            f"({', '.join(repr(c.get('name')) for c in named)}); choose one by name "
            "(category=NAME, --category NAME on the command line)",
        )  # fmt: skip
    if not named:  # COCO persons, as the official files without categories hold them
        person = {
            c.get("id") for c in categories if isinstance(c, dict) and c.get("name") == "person"
        }
        return COCO, person or {1}, None
    found = named[0]
    where = f"categories[{categories.index(found)}]"
    names = check_type(found["keypoints"], list, path, where, "keypoints", "a list of names")
    for name in names:
        check_type(name, str, path, where, "keypoints", "a list of joint names")
    if flip_pairs is None and COCO.has_joints(names):
        return COCO, {found.get("id", 1)}, found
    try:
        pairs = (
            infer_flip_pairs(names) if flip_pairs is None else parse_flip_pairs(flip_pairs, names)
        )
        keypoint_set = KeypointSet.custom(
            found.get("name") or "custom",
            names,
            flip_pairs=pairs,
            skeleton=_category_skeleton(found, len(names), path, where),
        )
    except ValueError as error:  # repeated names, a joint in two flip pairs, ...
        if isinstance(error, AnnotationError):
            raise
        raise AnnotationError(path, where, "keypoints", str(error)) from None
    return keypoint_set, {found.get("id", 1)}, found


def _image_files(images: list, path) -> dict:
    """`{image id: file_name}` of the JSON's `images`, each entry checked."""
    files, positions = {}, {}
    for i, image in enumerate(images):
        where = f"images[{i}]"
        check_type(image, dict, path, where, None, "an object with 'id' and 'file_name'")
        for key in ("id", "file_name"):
            if key not in image:
                raise AnnotationError(path, where, key, "is missing")
        check_type(image["id"], int, path, where, "id", "an integer")
        check_type(image["file_name"], str, path, where, "file_name", "a file name")
        if image["id"] in files:
            raise AnnotationError(
                path, where, "id",
                f"repeats images[{positions[image['id']]}]'s id {image['id']} "
                f"({files[image['id']]!r}, here {image['file_name']!r}); expected one entry "
                "per image id",
            )  # fmt: skip
        files[image["id"]], positions[image["id"]] = image["file_name"], i
    return files


def _read_person(ann: dict, i: int, path, num_keypoints: int, files: dict):
    """`(keypoints (K, 3), box [x, y, w, h])` of annotation `i`, or the reason it is
    left out ("crowd", "no_keypoints", "empty_box").

    Raises:
        AnnotationError: a missing or malformed field, an unknown `image_id`.
    """
    where = f"annotations[{i}]"
    if to_number(ann.get("iscrowd", 0), path, where, "iscrowd"):
        return "crowd"
    for key in ("image_id", "keypoints", "bbox"):
        if key not in ann:
            raise AnnotationError(path, where, key, "is missing")
    keypoints = to_numbers(ann["keypoints"], path, where, "keypoints").ravel()
    if keypoints.size != 3 * num_keypoints:
        raise AnnotationError(
            path, where, "keypoints",
            f"must hold {3 * num_keypoints} numbers. Received: {keypoints.size}",
        )  # fmt: skip
    keypoints = keypoints.reshape(num_keypoints, 3)
    if not (keypoints[:, 2] > 0).any():
        return "no_keypoints"
    check_joint_range(keypoints[None], path, "keypoints", [where])
    box = to_numbers(ann["bbox"], path, where, "bbox", dtype=np.float64)
    if box.shape != (4,) or not np.isfinite(box).all():
        raise AnnotationError(path, where, "bbox", f"must be [x, y, w, h]. Received: {ann['bbox']}")
    if box[2] <= 0 or box[3] <= 0:
        return "empty_box"
    check_type(ann["image_id"], int, path, where, "image_id", "an integer")
    check_type(ann.get("id", i), int, path, where, "id", "an integer")
    if ann["image_id"] not in files:
        raise AnnotationError(
            path, where, "image_id",
            f"names no entry of 'images'. Received: {ann['image_id']}",
        )  # fmt: skip
    return keypoints, box


def read_coco(
    path: str | os.PathLike,
    image_dir: str,
    aspect_ratio: float = 1.0,
    category: str | None = None,
    flip_pairs=None,
) -> Records:
    """Reads a COCO keypoints JSON (`person_keypoints_{split}2017.json`).

    Args:
        path: the JSON file.
        image_dir: folder of the split's images relative to the data root
            (`val2017` or `images/val2017`).
        aspect_ratio: float, width / height of the model input the boxes are
            widened to. Default 1.0 (square inputs).
        category: the category to read by name; default: the file's one
            category with keypoints (see `coco_keypoint_set`).
        flip_pairs: see `coco_keypoint_set` (default: inferred from the names).

    Returns:
        `Records` in the category's joint order (COCO's for the official
        files), `id` = annotation id.

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
    keypoint_set, category_ids, _ = coco_keypoint_set(data, path, category, flip_pairs)
    files = _image_files(data["images"], path)
    items, skipped = [], {"crowd": 0, "no_keypoints": 0, "empty_box": 0}
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        check_type(ann, dict, path, where, None, "an object")
        if ann.get("category_id", 1) not in category_ids:
            continue
        person = _read_person(ann, i, path, keypoint_set.num_keypoints, files)
        if isinstance(person, str):  # left out: why
            skipped[person] += 1
            continue
        keypoints, box = person
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
    return Records.from_dicts(items, keypoint_set, source=str(path), skipped=skipped)


def load_coco(
    data_dir: str | os.PathLike,
    split: str = "train",
    annotation: str | None = None,
    aspect_ratio: float = 1.0,
    category: str | None = None,
    flip_pairs=None,
) -> Records:
    """COCO records from the usual layout.

    `annotations/person_keypoints_{split}2017.json` beside `{split}2017/` or
    `images/{split}2017/`.

    Args:
        data_dir: the COCO root.
        split: `"train"` or `"val"` (`"valid"` is accepted).
        annotation: an explicit JSON file (relative to `data_dir` or absolute).
        aspect_ratio, category, flip_pairs: see `read_coco`.
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
    return read_coco(
        file, image_dir, aspect_ratio=aspect_ratio, category=category, flip_pairs=flip_pairs
    )
