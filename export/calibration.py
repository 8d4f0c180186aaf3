"""Representative images for int8 calibration and for verification.

Sources (`--calibration-data`):

- `synthetic`: people rendered by `kerashg.data.synthetic.render_sample`,
  cropped to the model input around the person as training does.
- `mpii`: the people of `<data>/mpii/images/annotations.json` (MMPose's JSON, read by
  `kerashg.data.mpii.read_mpii_json`).
- `coco`: the people of `<data>/coco-mini/annotations/person_keypoints_val2017.json`
  (`kerashg.data.coco.load_coco`, boxes widened to the model's aspect ratio).
- `lsp`: the training people of LSP-extended, `<data>/lspet/joints.mat`
  (`kerashg.data.lsp.load_lsp`, split "train": images 1–8,100 of 9,000), the
  real photos the CPU real-data recipe trains on.
- any folder: every image in it (`kerashg.images.IMAGE_SUFFIXES`), whole frame
  letterboxed into the model input (what `kerashg.predict` does without a person box).

A person is cropped around the reader's `center` and `scale` (as training crops it,
without augmentation) by `kerashg.transforms.crop_image`.

`<data>` is `kerashg.datadir.data_root()`: `$KERASHG_DATA`, default `../shared/data`
beside the repository.
Images come back as float32 `(N, H, W, 3)` RGB in [0, 1], the model's input.
"""

from __future__ import annotations

import pathlib

import numpy as np

from kerashg import transforms
from kerashg.datadir import data_root
from kerashg.errors import InputError
from kerashg.images import IMAGE_SUFFIXES, list_image_files

SOURCES = ("synthetic", "mpii", "coco", "lsp")


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
    from kerashg.data.synthetic import render_sample

    width, height = input_size
    crops = []
    for index in range(start, start + count):
        sample = render_sample(index, seed=seed, image_size=max(width, height))
        crops.append(_crop(sample["image"], sample["center"], sample["scale"], input_size))
    return np.stack(crops)


def people(source: str, input_size, root: pathlib.Path | None = None):
    """The people of a real data set, as its reader gives them.

    Args:
        source: "mpii", "coco" or "lsp".
        input_size: (width, height) of the model input (COCO boxes are widened to it).
        root: the real-data folder. Default `kerashg.datadir.data_root()`.

    Returns:
        `(folder, records)`: the data set's folder and its `kerashg.data.Records`
        (image paths relative to `folder`).
    """
    root = data_root() if root is None else pathlib.Path(root)
    if source == "mpii":
        from kerashg.data.mpii import read_mpii_json

        folder = root / "mpii"
        annotations = folder / "images" / "annotations.json"
        if not annotations.is_file():
            raise FileNotFoundError(f"MPII calibration annotations not found: {annotations}")
        return folder, read_mpii_json(annotations)
    if source == "coco":
        from kerashg.data.coco import load_coco

        width, height = input_size
        folder = root / "coco-mini"
        return folder, load_coco(folder, "val", aspect_ratio=width / height)
    if source == "lsp":
        from kerashg.data.lsp import load_lsp

        folder = root / "lspet"
        return folder, load_lsp(folder, "train")
    raise ValueError(f"source must be 'mpii', 'coco' or 'lsp'. Received: source={source!r}")


def folder_images(folder, input_size, count: int | None = None) -> np.ndarray:
    """Every image of `folder` (sorted), whole frame letterboxed, float32 [0, 1]."""
    folder = pathlib.Path(folder)
    files, _ = list_image_files(folder)  # FIFOs, symlink loops: a counted warning
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
    if not list_image_files(folder)[0]:
        raise InputError(
            f"calibration folder holds no images ({', '.join(IMAGE_SUFFIXES)})", path=folder
        )


def load_images(source: str, input_size, count: int = 32, start: int = 0) -> np.ndarray:
    """Representative model-input images from `source`.

    Args:
        source: "synthetic", "mpii", "coco", "lsp" or a folder of images.
        input_size: (width, height) of the model input.
        count: number of images (real sets may have fewer: all are returned).
        start: first synthetic index (use different ranges for calibration and
            held-out verification images).

    Returns:
        float32 (N, H, W, 3) RGB in [0, 1].
    """
    if source == "synthetic":
        return synthetic_images(input_size, count, start=start)
    if source in ("mpii", "coco", "lsp"):
        folder, records = people(source, input_size)
        records = records[:count]
        crops = [
            _crop(_read_rgb(folder / path), center, scale, input_size)
            for path, center, scale in zip(
                records.image_path, records.center, records.scale, strict=True
            )
        ]
        return np.stack(crops)
    folder = pathlib.Path(source)
    if not folder.is_dir():
        raise InputError(
            f"Unknown calibration data. Received: calibration_data={source!r}; expected one of "
            f"{SOURCES} or an existing folder of images"
        )
    return folder_images(folder, input_size, count)
