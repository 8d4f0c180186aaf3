"""Representative images for int8 calibration and for verification.

Sources (`--calibration-data`):

- `synthetic`: people rendered by `training.datasets.synthetic.render_sample`
  (its public function; nothing else of `training/` is used), cropped to the
  model input around the person as training does.
- `mpii`: the MPII images and person boxes in `<data>/mpii/images/annotations.json`.
- `coco`: the person boxes of `<data>/coco-mini/annotations/person_keypoints_val2017.json`.
- any folder: every image in it, whole frame letterboxed into the model input
  (what `kerashg.predict` does without a person box).

`<data>` is `kerashg.datadir.data_root()`: `$KERASHG_DATA`, default `../shared/data`
beside the repository.
Images come back as float32 `(N, H, W, 3)` RGB in [0, 1], the model's input.
"""

from __future__ import annotations

import json
import pathlib

import numpy as np

from kerashg import transforms
from kerashg.datadir import data_root
from kerashg.errors import InputError

SOURCES = ("synthetic", "mpii", "coco")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def _read_rgb(path: pathlib.Path) -> np.ndarray:
    from kerashg.images import ImageError, read_image_file

    try:
        return read_image_file(path)
    except ImageError as error:
        raise InputError(
            f"is not a readable image (calibration data: {error})", path=path
        ) from None


def _crop(image, center, scale, input_size) -> np.ndarray:
    crop = transforms.crop_image(image, center, scale, 0.0, input_size)
    return crop.astype(np.float32) / 255.0


def synthetic_images(input_size, count: int, start: int = 0, seed: int = 0) -> np.ndarray:
    """Crops of synthetic people (rendered at the model's input size), float32 [0, 1]."""
    try:
        from training.datasets.synthetic import render_sample
    except ImportError as error:
        raise ImportError(
            "calibration_data='synthetic' needs training.datasets.synthetic.render_sample; "
            "pass a folder of images instead"
        ) from error
    width, height = input_size
    crops = []
    for index in range(start, start + count):
        sample = render_sample(index, seed=seed, image_size=max(width, height))
        crops.append(_crop(sample["image"], sample["center"], sample["scale"], input_size))
    return np.stack(crops)


def _mpii_people(root: pathlib.Path):
    folder = root / "mpii" / "images"
    annotations = folder / "annotations.json"
    if not annotations.is_file():
        raise FileNotFoundError(f"MPII calibration annotations not found: {annotations}")
    for person in json.loads(annotations.read_text()):
        # MPII scales are tight-ish: the hourglass convention pads them by 1.25.
        yield folder / person["image"], person["center"], float(person["scale"]) * 1.25


def _coco_people(root: pathlib.Path):
    folder = root / "coco-mini"
    annotations = folder / "annotations" / "person_keypoints_val2017.json"
    if not annotations.is_file():
        raise FileNotFoundError(f"COCO calibration annotations not found: {annotations}")
    data = json.loads(annotations.read_text())
    files = {image["id"]: image["file_name"] for image in data["images"]}
    for ann in data["annotations"]:
        if ann.get("num_keypoints", 0) <= 0 or ann.get("iscrowd", 0):
            continue
        center, scale = transforms.box_to_center_scale(*ann["bbox"])
        yield folder / "images" / "val2017" / files[ann["image_id"]], center, scale


def folder_images(folder, input_size, count: int | None = None) -> np.ndarray:
    """Every image of `folder` (sorted), whole frame letterboxed, float32 [0, 1]."""
    folder = pathlib.Path(folder)
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputError(
            f"calibration folder holds no images ({', '.join(IMAGE_SUFFIXES)})", path=folder
        )
    crops = []
    for path in files[:count]:
        image = _read_rgb(path)
        height, width = image.shape[:2]
        center = ((width - 1) / 2.0, (height - 1) / 2.0)
        crops.append(_crop(image, center, max(width, height) / transforms.PIXEL_STD, input_size))
    return np.stack(crops)


def check_source(source: str) -> None:
    """Refuses a calibration source that cannot give images, before any model is loaded.

    Raises:
        InputError: not one of `SOURCES` and not a folder, or a folder without
            images (`IMAGE_SUFFIXES`).
    """
    if str(source) in SOURCES:
        return
    folder = pathlib.Path(source)
    if not folder.is_dir():
        raise InputError(
            f"Unknown calibration data. Received: calibration_data={str(source)!r}; expected one "
            f"of {SOURCES} or an existing folder of images"
        )
    if not any(p.suffix.lower() in IMAGE_SUFFIXES for p in folder.iterdir()):
        raise InputError(
            f"calibration folder holds no images ({', '.join(IMAGE_SUFFIXES)})", path=folder
        )


def load_images(source: str, input_size, count: int = 32, start: int = 0) -> np.ndarray:
    """Representative model-input images from `source`.

    Args:
        source: "synthetic", "mpii", "coco" or a folder of images.
        input_size: (width, height) of the model input.
        count: number of images (real sets may have fewer: all are returned).
        start: first synthetic index (use different ranges for calibration and
            held-out verification images).

    Returns:
        float32 (N, H, W, 3) RGB in [0, 1].
    """
    if source == "synthetic":
        return synthetic_images(input_size, count, start=start)
    if source in ("mpii", "coco"):
        people = _mpii_people(data_root()) if source == "mpii" else _coco_people(data_root())
        crops = []
        for path, center, scale in people:
            crops.append(_crop(_read_rgb(path), center, scale, input_size))
            if len(crops) >= count:
                break
        return np.stack(crops)
    folder = pathlib.Path(source)
    if not folder.is_dir():
        raise InputError(
            f"Unknown calibration data. Received: calibration_data={source!r}; expected one of "
            f"{SOURCES} or an existing folder of images"
        )
    return folder_images(folder, input_size, count)
