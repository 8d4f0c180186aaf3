"""MPII prediction files: the validation `preds` file and the test-server `.mat`.

Two layouts, both in the annotation's own pixel frame (MPII coordinates as
published, as `kerashg.data.mpii` keeps them):

- Validation (`write_valid_predictions`): `preds` (N, 16, 2), one row per person
  of the hourglass `valid.h5` (or `detections_our_format.mat`) in order, the
  layout of the published files `kerashg.evaluate --predictions` reads. A
  person whose image is missing from the data folder gets (0, 0) for every joint
  (`MISSING_PREDICTION`): a finite point far from the person, so every official
  scorer counts each of its annotated joints as a miss. NaN would not do: the
  official MATLAB `computePCK` drops NaN distances (it takes them for missing
  ground truth), so the person would silently leave the table, while the
  hourglass Python script counts them as misses; `kerashg.evaluation.files` refuses
  non-finite predictions.
- Test (`write_test_predictions`): the `.mat` the MPII evaluation server takes
  for single-person pose (the MPII site's "Preparing predictions"):
  `pred = annolist(img_train == 0)`, one element per test image in
  `RELEASE.annolist` order, each `annorect(ridx)` kept at its index, and for the
  single-person people (`RELEASE.single_person`) `annorect(ridx).annopoints.point`
  = 16 points with `id` (0-based MPII joint), `x`, `y`. The server scores those
  people with `evaluatePCKh.m`.

The people of the test split are read from the official
`mpii_human_pose_v1_u12_1.mat` by `read_test_people`, cropped from `objpos` and
`scale` with the hourglass adjustment (as `kerashg.data.mpii.read_mpii_mat`
does for the annotated images; the protocol allows both).
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from kerashg.data.files import load_mat
from kerashg.data.mpii import (
    HOURGLASS_CENTER_SHIFT,
    HOURGLASS_SCALE_PADDING,
    NUM_JOINTS,
    OFFICIAL_MAT,
    _as_list,
    _scalar,
    read_release,
)
from kerashg.data.records import Records
from kerashg.errors import AnnotationError, InputError
from kerashg.evaluation.files import load_mpii_annotations, write_keypoint_predictions

# What a person without an image gets in the validation file (see the docstring).
MISSING_PREDICTION = 0.0
# MPII official ground truth looked for in the data folder, and how far (pixels)
# its joints may lie from the records' for the rows to count as the same
# people (`valid.h5` stores the neck and head top in whole pixels).
OFFICIAL_ANNOTATIONS = ("detections_our_format.mat", "annot/detections_our_format.mat")
ROW_TOLERANCE = 2.0


def people_with_images(records: Records, data_dir: str | pathlib.Path) -> np.ndarray:
    """bool (N,): the people whose image file exists under `data_dir`."""
    root = pathlib.Path(data_dir)
    present = {path: (root / path).is_file() for path in np.unique(records.image_path)}
    return np.array([present[path] for path in records.image_path], dtype=bool)


def mpii_annotations(records: Records, data_dir: str | pathlib.Path) -> pathlib.Path:
    """The MPII ground-truth file whose rows are the people of `records`.

    `detections_our_format.mat` (official) in `data_dir` or `data_dir/annot`
    when it has the same people in the same rows, else the hourglass `.h5` the
    records were read from.
    """
    root = pathlib.Path(data_dir)
    candidates = [root / name for name in OFFICIAL_ANNOTATIONS]
    if pathlib.Path(records.source).suffix == ".h5":
        candidates.append(pathlib.Path(records.source))
    truth = records.keypoints.astype(np.float64)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            gt = load_mpii_annotations(path)
        except InputError:
            continue
        if gt.num_people != len(records):
            continue
        both = gt.annotated & (truth[..., 2] > 0)
        if np.abs(gt.keypoints - truth[..., :2])[both].max(initial=0.0) <= ROW_TOLERANCE:
            return path
    raise InputError(
        f"{records.source}: no MPII ground truth of the official evaluation has these "
        f"{len(records)} people in the same rows; expected detections_our_format.mat in "
        f"{root} or an hourglass valid.h5 (part, normalize)"
    )


def write_valid_predictions(
    path: str | pathlib.Path, keypoints: np.ndarray, predicted: np.ndarray | None = None
) -> pathlib.Path:
    """Writes `preds` (N, 16, 2) in the published layout, `MISSING_PREDICTION` where
    a person was not predicted.

    Args:
        path: `.h5` or `.mat`.
        keypoints: float (N, 16, 2|3), x, y in the annotation's frame, one row per
            person of the annotation file, in order.
        predicted: optional bool (N,), False for people without an image (their
            row is written as (0, 0) whatever `keypoints` holds).
    """
    keypoints = np.array(keypoints, dtype=np.float64)[..., :2]
    if predicted is not None:
        keypoints[~np.asarray(predicted, bool)] = MISSING_PREDICTION
    return write_keypoint_predictions(path, keypoints)


@dataclasses.dataclass(frozen=True)
class TestPeople:
    """The single-person people of the MPII test split and where they sit in `pred`.

    Attributes:
        records: `Records`, one per person (keypoints all v = 0, head size NaN),
            `id` = annolist index × 100 + annorect index (0-based, as
            `read_mpii_mat`).
        image_names: str (T,), the test images in `RELEASE.annolist` order.
        num_rects: int (T,), `annorect` entries of each test image.
        objpos: float (T,) object arrays of per-rect (x, y) or None, as read.
        scale: float (T,) object arrays of per-rect scale or None, as read.
        image: int (N,), each person's test image (0-based, into `image_names`).
        rect: int (N,), each person's `annorect` index (0-based).
        source: the `.mat` file.
    """

    records: Records
    image_names: tuple
    num_rects: np.ndarray
    objpos: tuple
    scale: tuple
    image: np.ndarray
    rect: np.ndarray
    source: str


def official_mat(data_dir: str | pathlib.Path) -> pathlib.Path:
    """`mpii_human_pose_v1_u12_1.mat` at the top of `data_dir` or in `annot/`."""
    root = pathlib.Path(data_dir)
    for path in (root / OFFICIAL_MAT, root / "annot" / OFFICIAL_MAT):
        if path.is_file():
            return path
    raise InputError(
        f"{root}: --split test needs the official {OFFICIAL_MAT} (RELEASE struct) at the "
        "top of --data-dir or in annot/ (the test people are its single_person of the "
        "images with img_train == 0)"
    )


def read_test_people(path: str | pathlib.Path, image_dir: str = "images") -> TestPeople:
    """The single-person test people of the official `mpii_human_pose_v1_u12_1.mat`.

    Uses `RELEASE.annolist(i).image.name`, `.annorect(j).objpos.x/.y`, `.scale`,
    `RELEASE.img_train(i)` and `RELEASE.single_person{i}` (1-based annorect
    indices).

    Raises:
        AnnotationError: a field is missing or malformed, or a single person has
            no `objpos` or `scale` (names the file and the annolist entry).
    """
    path = pathlib.Path(path)
    release, annolist, img_train = read_release(path)
    single = _as_list(getattr(release, "single_person", None))
    if len(single) != len(annolist):
        raise AnnotationError(
            path, None, "single_person",
            f"has {len(single)} entries for {len(annolist)} annolist entries",
        )  # fmt: skip
    names, num_rects, objpos, scales, items, image, rect = [], [], [], [], [], [], []
    for i in np.flatnonzero(img_train == 0):
        entry = annolist[i]
        try:
            names.append(str(entry.image.name))
        except AttributeError:
            raise AnnotationError(path, f"annolist({i + 1})", "image.name", "is missing") from None
        rects = _as_list(getattr(entry, "annorect", None))
        num_rects.append(len(rects))
        positions, sizes = [], []
        for j, r in enumerate(rects):
            where = f"annolist({i + 1}).annorect({j + 1})"
            pos, s = getattr(r, "objpos", None), getattr(r, "scale", None)
            has = pos is not None and _as_list(pos) != [] and s is not None and np.size(s) == 1
            positions.append(
                (_scalar(pos.x, path, where, "objpos.x"), _scalar(pos.y, path, where, "objpos.y"))
                if has
                else None
            )
            sizes.append(_scalar(s, path, where, "scale") if has else None)
        objpos.append(positions)
        scales.append(sizes)
        for one_based in np.asarray(single[i], dtype=object).ravel():
            j = int(_scalar(one_based, path, f"annolist({i + 1})", "single_person")) - 1
            where = f"annolist({i + 1}).annorect({j + 1})"
            if not 0 <= j < len(rects):
                raise AnnotationError(
                    path, f"annolist({i + 1})", "single_person",
                    f"names annorect {j + 1} but the image has {len(rects)}",
                )  # fmt: skip
            if positions[j] is None:
                raise AnnotationError(
                    path, where, "objpos/scale", "is missing for a single person of the test"
                )
            (x, y), s = positions[j], sizes[j]
            items.append(
                {
                    "image_path": f"{image_dir}/{names[-1]}",
                    "keypoints": np.zeros((NUM_JOINTS, 3), np.float32),
                    "center": (x, y + HOURGLASS_CENTER_SHIFT * s),
                    "scale": s * HOURGLASS_SCALE_PADDING,
                    "id": int(i) * 100 + j,
                }
            )
            image.append(len(names) - 1)
            rect.append(j)
    if not items:
        raise AnnotationError(path, None, "single_person", "names no person of a test image")
    from kerashg.keypoints import MPII

    return TestPeople(
        records=Records.from_dicts(items, MPII, source=str(path)),
        image_names=tuple(names),
        num_rects=np.array(num_rects, np.int64),
        objpos=tuple(objpos),
        scale=tuple(scales),
        image=np.array(image, np.int64),
        rect=np.array(rect, np.int64),
        source=str(path),
    )


def _struct_array(rows: list[dict], fields: tuple[str, ...]) -> np.ndarray:
    """A MATLAB 1 × n struct array (scipy's structured object array)."""
    array = np.empty((1, len(rows)), dtype=[(name, object) for name in fields])
    for k, row in enumerate(rows):
        for name in fields:
            array[0, k][name] = row.get(name, np.zeros((0, 0)))
    return array


def write_test_predictions(
    path: str | pathlib.Path, people: TestPeople, keypoints: np.ndarray
) -> pathlib.Path:
    """Writes `pred` for the MPII evaluation server (see the module docstring).

    Args:
        path: the `.mat` to write (MATLAB v5, `scipy.io.savemat`).
        people: `read_test_people`'s answer.
        keypoints: float (N, 16, 2|3), x, y in original-image pixels, one row per
            person of `people.records`.
    """
    keypoints = np.asarray(keypoints, np.float64)
    if keypoints.shape[:2] != (len(people.records), NUM_JOINTS):
        raise ValueError(
            f"keypoints must be ({len(people.records)}, {NUM_JOINTS}, 2|3). "
            f"Received: shape={keypoints.shape}"
        )
    points = {
        (int(i), int(j)): row
        for i, j, row in zip(people.image, people.rect, keypoints, strict=True)
    }
    images = []
    for i, name in enumerate(people.image_names):
        rects = []
        for j in range(int(people.num_rects[i])):
            rect = {}
            if people.objpos[i][j] is not None:
                x, y = people.objpos[i][j]
                rect["objpos"] = {"x": x, "y": y}
                rect["scale"] = people.scale[i][j]
            if (i, j) in points:
                row = points[(i, j)]
                joints = [
                    {"id": k, "x": float(row[k, 0]), "y": float(row[k, 1])}
                    for k in range(NUM_JOINTS)
                ]
                rect["annopoints"] = {"point": _struct_array(joints, ("id", "x", "y"))}
            rects.append(rect)
        annorect = _struct_array(rects, ("objpos", "scale", "annopoints"))
        images.append({"image": {"name": name}, "annorect": annorect})
    import scipy.io

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(path, {"pred": _struct_array(images, ("image", "annorect"))})
    return path


def read_test_predictions(path: str | pathlib.Path) -> dict[tuple[str, int], np.ndarray]:
    """The points of a `pred` file: (image name, 1-based annorect) → float (16, 2).

    Joints a rect does not have are NaN. Reads what `write_test_predictions`
    writes (and any file in the server's layout).
    """
    path = pathlib.Path(path)
    mat = load_mat(path, struct_as_record=False, squeeze_me=True)
    if "pred" not in mat:
        raise AnnotationError(path, None, "pred", "is missing")
    out = {}
    for entry in _as_list(mat["pred"]):
        for j, rect in enumerate(_as_list(getattr(entry, "annorect", None))):
            point = _as_list(getattr(getattr(rect, "annopoints", None), "point", None))
            if not point:
                continue
            xy = np.full((NUM_JOINTS, 2), np.nan)
            for p in point:
                xy[int(p.id)] = (float(p.x), float(p.y))
            out[(str(entry.image.name), j + 1)] = xy
    return out
