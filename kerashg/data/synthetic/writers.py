"""Writers: the synthetic samples as the files the real readers read (MPII h5, COCO JSON)."""

from __future__ import annotations

import concurrent.futures
import json
import os
import pathlib
from collections.abc import Iterable, Sequence

import cv2
import numpy as np

from kerashg.data.synthetic.difficulty import RenderConfig
from kerashg.data.synthetic.poses import _default_workers
from kerashg.data.synthetic.render import _check_common, render_sample
from kerashg.keypoints import COCO

# Added to coordinates written by `write_mpii_h5` (0: the records' 0-based pixels
# are written unchanged; the MPII originals are 1-based Matlab pixels).
MPII_COORDINATE_OFFSET = 0.0
# Official COCO joint names, for the categories of the JSON writer.
COCO_JSON_KEYPOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip

_SPLITS = ("train", "valid", "val", "test")


def annotation_path(out_dir: str | os.PathLike, data_format: str, split: str) -> pathlib.Path:
    """The annotation file a writer writes: `annot/{split}.h5` (mpii) or
    `annotations/person_keypoints_{split}2017.json` (coco)."""
    if data_format == "mpii":
        return pathlib.Path(out_dir) / "annot" / f"{split}.h5"
    return pathlib.Path(out_dir) / "annotations" / f"person_keypoints_{split}2017.json"


def _check_writer_args(n, split):
    if int(n) != n or n < 1:
        raise ValueError(f"n must be an integer >= 1. Received: n={n}")
    if split not in _SPLITS:
        raise ValueError(f"Unknown split. Received: split={split!r}; expected one of {_SPLITS}")


def _render_many(indices: Sequence[int], workers: int, **kwargs) -> Iterable[dict]:
    """Renders samples with masks, in order, `workers` at a time."""
    if workers == 1:
        for i in indices:
            yield render_sample(i, return_mask=True, **kwargs)
        return
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        yield from pool.map(lambda i: render_sample(i, return_mask=True, **kwargs), indices)


def _writer_samples(
    out_dir, folders, n, seed, split, image_size, difficulty, start, workers, keypoint_set
) -> tuple[pathlib.Path, Iterable[dict]]:
    """What both writers do first: check the arguments, make `folders` under
    `out_dir`, and render samples `start` … `start + n - 1` (lazily, in order)."""
    _check_writer_args(n, split)
    _check_common(start, seed, image_size)
    out = pathlib.Path(out_dir)
    for folder in folders:
        (out / folder).mkdir(parents=True, exist_ok=True)
    samples = _render_many(
        range(int(start), int(start) + int(n)),
        workers or _default_workers(),
        seed=seed,
        image_size=image_size,
        difficulty=difficulty,
        keypoint_set=keypoint_set,
    )
    return out, samples


def _write_jpeg(path: pathlib.Path, image: np.ndarray, quality: int) -> None:
    if not cv2.imwrite(
        str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality]
    ):
        raise OSError(f"Could not write {path}")


def write_mpii_h5(
    out_dir: str | os.PathLike,
    n: int,
    seed: int = 0,
    split: str = "train",
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    start: int = 0,
    workers: int | None = None,
    jpeg_quality: int = 95,
) -> pathlib.Path:
    """Writes samples `start` … `start + n - 1` in the stacked-hourglass MPII layout.

    Creates `out_dir/images/s{seed}_{index:08d}.jpg` and `out_dir/annot/{split}.h5`
    with one row per annotated person (the target, person 0, and any annotated
    second person, person 1), float64 datasets as in the hourglass `valid.h5`:
    `center` (N, 2), `scale` (N,), `part` (N, 16, 2) (0, 0 where v = 0, plus
    `MPII_COORDINATE_OFFSET`), `visible` (N, 16) (1 where v = 2, else 0: MPII
    marks occluded joints not visible), `normalize` (N,) = head size,
    `imgname` (N,) bytes, `index` (N,) = sample index, `person` (N,),
    `torsoangle` (N,) degrees.

    Returns:
        The path of the written `.h5` file.
    """
    import h5py

    out, samples = _writer_samples(
        out_dir, ("images", "annot"), n, seed, split, image_size, difficulty, start, workers,
        "mpii",
    )  # fmt: skip
    rows = {
        key: []
        for key in (
            "center",
            "scale",
            "part",
            "visible",
            "normalize",
            "imgname",
            "index",
            "person",
            "torsoangle",
        )
    }
    for sample in samples:
        name = f"s{seed}_{sample['index']:08d}.jpg"
        _write_jpeg(out / "images" / name, sample["image"], jpeg_quality)
        people = [sample] + sample["others"]
        for person, annotation in enumerate(people):
            keypoints = annotation["keypoints"].astype(np.float64)
            annotated = keypoints[:, 2] > 0
            rows["part"].append(
                np.where(annotated[:, None], keypoints[:, :2] + MPII_COORDINATE_OFFSET, 0.0)
            )
            rows["visible"].append((keypoints[:, 2] == 2).astype(np.float64))
            rows["center"].append(annotation["center"].astype(np.float64) + MPII_COORDINATE_OFFSET)
            rows["scale"].append(float(annotation["scale"]))
            rows["normalize"].append(float(annotation["head_size"]))
            rows["imgname"].append(name.encode())
            rows["index"].append(float(sample["index"]))
            rows["person"].append(float(person))
            rows["torsoangle"].append(float(annotation["torso_angle"]))
    path = annotation_path(out, "mpii", split)
    with h5py.File(path, "w") as f:
        for key, values in rows.items():
            f[key] = np.array(values) if key == "imgname" else np.asarray(values, np.float64)
    return path


def _coco_polygons(mask: np.ndarray) -> list[list[float]]:
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    polygons = []
    for contour in contours:
        contour = cv2.approxPolyDP(contour, 1.0, True).reshape(-1, 2)
        if len(contour) >= 3:
            polygons.append([round(float(v), 2) for v in contour.reshape(-1)])
    return polygons


def write_coco_json(
    out_dir: str | os.PathLike,
    n: int,
    seed: int = 0,
    split: str = "train",
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    start: int = 0,
    workers: int | None = None,
    jpeg_quality: int = 95,
) -> pathlib.Path:
    """Writes samples `start` … `start + n - 1` as a COCO person-keypoints set.

    Creates `out_dir/{split}2017/{image_id:012d}.jpg` (image id = sample index + 1)
    and `out_dir/annotations/person_keypoints_{split}2017.json` with 17 COCO
    keypoints per person (see `kerashg.data.synthetic` for the face points),
    `bbox` and `area` from the person's visible pixels, polygon `segmentation`,
    `num_keypoints`, `iscrowd` 0, and the standard person category.

    Returns:
        The path of the written JSON file.
    """
    out, samples = _writer_samples(
        out_dir, (f"{split}2017", "annotations"), n, seed, split, image_size, difficulty,
        start, workers, "coco",
    )  # fmt: skip
    image_dir = out / f"{split}2017"
    images, annotations = [], []
    for sample in samples:
        image_id = sample["index"] + 1
        name = f"{image_id:012d}.jpg"
        _write_jpeg(image_dir / name, sample["image"], jpeg_quality)
        images.append(
            dict(id=image_id, file_name=name, width=int(image_size), height=int(image_size))
        )
        for annotation in [sample] + sample["others"]:
            keypoints = annotation["keypoints"]
            mask = annotation["mask"]
            rows, cols = np.nonzero(mask)
            if len(rows) == 0:
                continue
            x0, y0 = float(cols.min()), float(rows.min())
            bbox = [x0, y0, float(cols.max()) + 1 - x0, float(rows.max()) + 1 - y0]
            annotations.append(
                dict(
                    id=len(annotations) + 1,
                    image_id=image_id,
                    category_id=1,
                    iscrowd=0,
                    keypoints=[
                        value
                        for x, y, v in keypoints.tolist()
                        for value in (round(x, 2), round(y, 2), int(v))
                    ],
                    num_keypoints=int(np.count_nonzero(keypoints[:, 2])),
                    bbox=bbox,
                    area=float(len(rows)),
                    segmentation=_coco_polygons(mask),
                )
            )
    category = dict(
        id=1,
        name="person",
        supercategory="person",
        keypoints=list(COCO_JSON_KEYPOINT_NAMES),
        skeleton=[[a + 1, b + 1] for a, b in COCO.skeleton],
    )
    document = dict(
        info=dict(description=f"kerashg synthetic poses, seed {seed}", version="1.0"),
        licenses=[],
        images=images,
        annotations=annotations,
        categories=[category],
    )
    path = annotation_path(out, "coco", split)
    path.write_text(json.dumps(document))
    return path
