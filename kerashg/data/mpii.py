"""MPII Human Pose readers: hourglass `annot/*.h5`, the official `.mat`, MMPose JSON.

Conventions (the stacked hourglass code's, which every MPII result is reported in):
- Coordinates are kept exactly as MPII publishes them and used as 0-based pixel
  positions, as the hourglass code does. The official `.mat`, the hourglass
  `valid.h5` and MMPose's JSON then give the same numbers for the same person
  (checked on the five shared images), and PCKh against the official ground
  truth (`detections_our_format.mat`) needs no offset.
- A person's `center` is MPII's `objpos` moved down by 15 × scale pixels and its
  `scale` is MPII's × 1.25 (`HOURGLASS_CENTER_SHIFT`, `HOURGLASS_SCALE_PADDING`):
  the official numbers describe a box around the head-to-hip region only. The
  `.h5` files already contain the adjusted values.
- `head_size` is 0.6 × the head-box diagonal (`HEAD_SIZE_FACTOR`), the PCKh
  normaliser of the official evaluation (`normalize` in the `.h5`).
- Visibility: a joint with no annotation is v = 0 (`.h5`: both coordinates 0;
  `.mat`: no point with that id; JSON: `joints_vis` 0). An annotated joint is
  v = 2 where MPII marks it visible, else v = 1. MMPose's JSON keeps only
  "annotated", so there every annotated joint is v = 2.
- The evaluation's ground truth (`valid.h5`, the official
  `detections_our_format.mat`) is read by `read_mpii_ground_truth`, with the same
  rule for joints without annotation and the same head size.
"""

from __future__ import annotations

import logging
import os
import pathlib

import numpy as np

from kerashg.data.files import load_mat, open_h5, read_arrays, read_json
from kerashg.data.records import Records, check_joint_range, check_type, to_number, to_numbers
from kerashg.errors import AnnotationError
from kerashg.keypoints import MPII

logger = logging.getLogger(__name__)

HOURGLASS_CENTER_SHIFT = 15.0  # pixels per unit of MPII scale, added to objpos y
HOURGLASS_SCALE_PADDING = 1.25
# SC_BIAS of the official MPII evaluation (util_get_head_size.m); the one definition
# (`kerashg.metrics.MPII_HEAD_SIZE_FACTOR` is this).
HEAD_SIZE_FACTOR = 0.6
NUM_JOINTS = MPII.num_keypoints


def hourglass_keypoints(part, path, dtype=np.float32) -> np.ndarray:
    """The hourglass files' `part` (N, 16, 2) as keypoints (N, 16, 3): x, y, v.

    Those files write a joint without annotation as (0, 0): there v = 0, else
    v = 2 (`read_mpii_h5` lowers it to 1 where `visible` says occluded).

    Args:
        part: what the file holds under `part`.
        path: the file, for the message.
        dtype: NumPy dtype of the result. Default float32.

    Raises:
        AnnotationError: `part` is not numbers of shape (N, 16, 2).
    """
    part = to_numbers(
        part, path, None, "part", shape=(-1, NUM_JOINTS, 2), dtype=dtype, booleans=False
    )
    annotated = (part != 0).any(axis=-1)
    v = np.where(annotated, 2.0, 0.0).astype(dtype)
    return np.concatenate([part, v[..., None]], axis=-1)


def head_size(head_boxes) -> np.ndarray:
    """MPII head size, the PCKh normaliser: `HEAD_SIZE_FACTOR` × head-box diagonal.

    Args:
        head_boxes: float (..., 2, 2), `[[x1, y1], [x2, y2]]` per person.

    Returns:
        float64 (...,).
    """
    head_boxes = np.asarray(head_boxes, dtype=np.float64)
    return HEAD_SIZE_FACTOR * np.linalg.norm(head_boxes[..., 1, :] - head_boxes[..., 0, :], axis=-1)


def read_mpii_h5(path: str | os.PathLike, image_dir: str = "images") -> Records:
    """Reads an hourglass-layout MPII annotation file (`annot/train.h5`, `valid.h5`).

    Args:
        path: the `.h5` file. Keys used: `imgname` (N,), `center` (N, 2), `scale`
            (N,), `part` (N, 16, 2), `visible` (N, 16), `normalize` (N,) (optional).
        image_dir: str, folder of the images relative to the data root.

    Returns:
        `Records` in MPII joint order, `id` = row index.

    Raises:
        AnnotationError: a key is missing or a shape is wrong (names the field).
    """
    import h5py

    path = pathlib.Path(path)
    with open_h5(path) as f:
        fields = {}
        for key in ("imgname", "center", "scale", "part", "visible", "normalize"):
            if key not in f:
                if key == "normalize":
                    continue
                raise AnnotationError(path, None, key, f"is missing; keys present: {sorted(f)}")
            if not isinstance(f[key], h5py.Dataset):
                raise AnnotationError(path, None, key, "must be a dataset, not a group")
            fields[key] = f[key][()]
    normalize = fields.pop("normalize", None)
    imgname = np.asarray(fields["imgname"])
    if imgname.ndim != 1 or imgname.dtype.kind not in "SUO":
        raise AnnotationError(
            path, None, "imgname",
            f"must be a list of image names (text). Received: dtype {imgname.dtype}, "
            f"shape {imgname.shape}",
        )  # fmt: skip
    n = len(imgname)
    expected = {
        "center": (n, 2),
        "scale": (n,),
        "part": (n, NUM_JOINTS, 2),
        "visible": (n, NUM_JOINTS),
    }
    for key in expected:  # `visible` may be true/false, coordinates and sizes not
        fields[key] = to_numbers(fields[key], path, None, key, booleans=key == "visible")
    _check_imgname_count(fields, n, path)
    for key, shape in expected.items():
        if fields[key].shape != shape:
            raise AnnotationError(
                path, None, key, f"must have shape {shape}. Received: {fields[key].shape}"
            )
    if normalize is not None:
        normalize = to_numbers(normalize, path, None, "normalize")
    keypoints = hourglass_keypoints(fields["part"], path)
    occluded = (keypoints[..., 2] > 0) & ~(fields["visible"] > 0)
    keypoints[..., 2] = np.where(occluded, 1.0, keypoints[..., 2])
    names = []
    for i, name in enumerate(imgname):
        try:
            names.append((name.decode() if isinstance(name, bytes) else str(name)).strip("\x00"))
        except UnicodeDecodeError:
            raise AnnotationError(
                path, i, "imgname", f"is not UTF-8 text. Received: {name!r}"
            ) from None
    head = np.full(n, np.nan, np.float32) if normalize is None else normalize.astype(np.float32)
    return Records(
        image_path=np.array([f"{image_dir}/{name}" for name in names], dtype=str),
        keypoints=keypoints,
        center=fields["center"],
        scale=fields["scale"],
        head_size=head,
        id=np.arange(n),
        keypoint_set=MPII,
        source=str(path),
    )


def _check_imgname_count(fields: dict, n: int, path) -> None:
    """Blames `imgname` when every other field agrees on another number of people."""
    counts = {
        len(value) if value.ndim else None for key, value in fields.items() if key != "imgname"
    }
    if len(counts) == 1 and None not in counts and counts != {n}:
        raise AnnotationError(
            path, None, "imgname",
            f"has {n} entries but 'center', 'scale', 'part' and 'visible' have "
            f"{counts.pop()}; expected one image name per person",
        )  # fmt: skip


def read_mpii_json(path: str | os.PathLike, image_dir: str | None = None) -> Records:
    """Reads MMPose's MPII JSON (`[{image, joints, joints_vis, center, scale}, ...]`).

    MMPose stores MPII's raw `objpos` and `scale`; the hourglass adjustment is
    applied here (see the module docstring), which reproduces `valid.h5` exactly.

    Args:
        path: the `.json` file.
        image_dir: folder of the images relative to the data root. Default: the
            JSON file's own folder name when the JSON lies in the image folder
            (`images/annotations.json` → `images`), else `"images"`.

    Returns:
        `Records` in MPII joint order, `id` = position in the file.
    """
    path = pathlib.Path(path)
    if image_dir is None:
        image_dir = path.parent.name if path.parent.name == "images" else "images"
    items = read_json(path)
    check_type(items, list, path, None, None, "a JSON list of people")
    out = []
    for i, item in enumerate(items):
        check_type(
            item,
            dict,
            path,
            i,
            None,
            "an object (fields 'image', 'joints', 'joints_vis', 'center', 'scale')",
        )
        for key in ("image", "joints", "joints_vis", "center", "scale"):
            if key not in item:
                raise AnnotationError(path, i, key, "is missing")
        check_type(item["image"], str, path, i, "image", "an image file name")
        joints = to_numbers(item["joints"], path, i, "joints", shape=(NUM_JOINTS, 2))
        vis = to_numbers(item["joints_vis"], path, i, "joints_vis", shape=(NUM_JOINTS,))
        scale = to_number(item["scale"], path, i, "scale")
        center = to_numbers(item["center"], path, i, "center", shape=(2,))
        center = center + np.array([0.0, HOURGLASS_CENTER_SHIFT * scale], np.float32)
        v = np.where(vis > 0, 2.0, 0.0).astype(np.float32)
        out.append(
            {
                "image_path": f"{image_dir}/{item['image']}",
                "keypoints": np.concatenate([joints, v[:, None]], axis=1),
                "center": center,
                "scale": scale * HOURGLASS_SCALE_PADDING,
                "id": i,
            }
        )
    return Records.from_dicts(out, MPII, source=str(path))


# ------------------------------------------------------------- official .mat
def _as_list(value) -> list:
    """MATLAB struct arrays squeezed by scipy: one element, an array, or empty."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return list(value.ravel())
    return [value]


def _scalar(value, path, index, field) -> float:
    array = np.asarray(value, dtype=object).ravel()
    if array.size != 1:
        raise AnnotationError(path, index, field, f"must be one number. Received: {value!r}")
    try:
        return float(array[0])
    except (TypeError, ValueError):
        raise AnnotationError(
            path, index, field, f"must be a number. Received: {value!r}"
        ) from None


def _is_visible(value) -> bool | None:
    """MPII's `is_visible`: 1/0 as a number or a string, sometimes empty (unknown)."""
    array = np.asarray(value, dtype=object).ravel()
    if array.size == 0:
        return None
    item = array[0]
    if isinstance(item, str):
        item = item.strip()
        return None if not item else item not in ("0", "false")
    return bool(item)


def read_valid_list(path: str | os.PathLike) -> set[tuple[str, int]]:
    """The Tompson validation split as (image name, annorect index) pairs.

    Args:
        path: an hourglass `valid.h5` (keys `imgname`, `person`; `person` is the
            0-based index of the person among the image's `annorect`).
    """
    with open_h5(path) as f:
        for key in ("imgname", "person"):
            if key not in f:
                raise AnnotationError(path, None, key, f"is missing; keys present: {sorted(f)}")
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in f["imgname"][()]]
        persons = to_numbers(f["person"][()], path, None, "person", dtype=np.int64).ravel()
    if len(persons) != len(names):
        raise AnnotationError(
            path, None, "person", f"has {len(persons)} entries for {len(names)} 'imgname' entries"
        )
    return set(zip(names, persons.tolist(), strict=True))


def read_release(path: pathlib.Path):
    """The official MPII `.mat`'s `RELEASE` struct, its `annolist` and `img_train`.

    Returns:
        `(release, annolist, img_train)`: the struct (scipy `mat_struct`), the
        annolist entries as a list, `img_train` as int64 (one per entry).

    Raises:
        AnnotationError: no `RELEASE`, or `img_train` not one per annolist entry.
    """
    mat = load_mat(path, struct_as_record=False, squeeze_me=True)
    if "RELEASE" not in mat:
        raise AnnotationError(path, None, "RELEASE", "is missing")
    release = mat["RELEASE"]
    annolist = _as_list(getattr(release, "annolist", None))
    img_train = to_numbers(
        getattr(release, "img_train", []), path, None, "img_train", dtype=np.int64
    ).ravel()
    if len(img_train) != len(annolist):
        raise AnnotationError(
            path, None, "img_train",
            f"has {len(img_train)} entries for {len(annolist)} annolist entries",
        )  # fmt: skip
    return release, annolist, img_train


def read_mpii_mat(
    path: str | os.PathLike,
    split: str = "train",
    valid_list: set[tuple[str, int]] | str | os.PathLike | None = None,
    image_dir: str = "images",
) -> Records:
    """Reads the official `mpii_human_pose_v1_u12_1.mat` (`RELEASE` struct).

    Uses `RELEASE.annolist(i).image.name`, `.annorect(j)` with `objpos.x/.y`,
    `scale`, the head box `x1, y1, x2, y2` and `annopoints.point(p)` with `id`
    (0-based MPII joint), `x`, `y`, `is_visible`; and `RELEASE.img_train(i)`.
    People without joints, `objpos` or `scale` (the test images, some crowd
    people) are skipped and counted in `records.skipped`.

    Args:
        path: the `.mat` file.
        split: `"train"` (training images minus `valid_list`), `"valid"` (the
            people in `valid_list`) or `"all"` (every annotated person of the
            training images).
        valid_list: the Tompson validation split: a set of (image name,
            annorect index) or the path of an hourglass `valid.h5`. Required for
            `"valid"`; without it `"train"` keeps every training image.
        image_dir: folder of the images relative to the data root.

    Returns:
        `Records`, `id` = annolist index × 100 + annorect index (both 0-based).
    """
    path = pathlib.Path(path)
    if split not in ("train", "valid", "all"):
        raise ValueError(f"split must be 'train', 'valid' or 'all'. Received: split={split!r}")
    if valid_list is not None and not isinstance(valid_list, set):
        valid_list = read_valid_list(valid_list)
    if split == "valid" and valid_list is None:
        raise ValueError(
            "split='valid' of the official MPII .mat needs the Tompson list: pass "
            "valid_list=<annot/valid.h5> (the .mat has no validation labels of its own)"
        )
    release, annolist, img_train = read_release(path)
    items, skipped = [], {"no_joints": 0, "test_image": 0}
    for i, entry in enumerate(annolist):
        rects = _as_list(getattr(entry, "annorect", None))
        if not img_train[i]:
            skipped["test_image"] += len(rects)
            continue
        try:
            name = str(entry.image.name)
        except AttributeError:
            raise AnnotationError(path, i, "image.name", "is missing") from None
        for j, rect in enumerate(rects):
            in_valid = valid_list is not None and (name, j) in valid_list
            if (split == "valid" and not in_valid) or (split == "train" and in_valid):
                continue
            person = _read_rect(rect, path, (i, j))
            if person is None:
                skipped["no_joints"] += 1
                continue
            items.append({**person, "image_path": f"{image_dir}/{name}", "id": i * 100 + j})
    return Records.from_dicts(items, MPII, source=str(path), skipped=skipped)


def _read_rect(rect, path, index: tuple[int, int]) -> dict | None:
    """`keypoints`, `center`, `scale`, `head_size` of annorect `index` (annolist,
    annorect; 0-based), or None for a person without joints, `objpos` or `scale`."""
    points = _as_list(getattr(getattr(rect, "annopoints", None), "point", None))
    objpos = getattr(rect, "objpos", None)
    scale = getattr(rect, "scale", None)
    if not points or objpos is None or _as_list(objpos) == [] or scale is None:
        return None
    if np.asarray(scale).size == 0:
        return None
    where = f"annolist({index[0] + 1}).annorect({index[1] + 1})"
    keypoints = np.zeros((NUM_JOINTS, 3), np.float32)
    for point in points:
        joint = int(_scalar(point.id, path, where, "annopoints.point.id"))
        if not 0 <= joint < NUM_JOINTS:
            raise AnnotationError(
                path, where, "annopoints.point.id",
                f"must be in [0, {NUM_JOINTS}). Received: {joint}",
            )  # fmt: skip
        x = _scalar(point.x, path, where, "annopoints.point.x")
        y = _scalar(point.y, path, where, "annopoints.point.y")
        visible = _is_visible(getattr(point, "is_visible", None))
        keypoints[joint] = (x, y, 1.0 if visible is False else 2.0)
    s = _scalar(scale, path, where, "scale")
    cx = _scalar(objpos.x, path, where, "objpos.x")
    cy = _scalar(objpos.y, path, where, "objpos.y")
    head = np.nan
    if all(hasattr(rect, a) for a in ("x1", "y1", "x2", "y2")):
        box = [[_scalar(getattr(rect, a), path, where, a) for a in pair]
               for pair in (("x1", "y1"), ("x2", "y2"))]  # fmt: skip
        head = float(head_size(box))
    return {
        "keypoints": keypoints,
        "center": (cx, cy + HOURGLASS_CENTER_SHIFT * s),
        "scale": s * HOURGLASS_SCALE_PADDING,
        "head_size": head,
    }


#: The official evaluation's ground-truth file (`detections_our_format.mat`) fields.
OFFICIAL_GT_FIELDS = ("pos_gt_src", "headboxes_src", "jnt_missing")


def read_mpii_ground_truth(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, str]:
    """MPII ground truth for PCKh, from either layout, coordinates as stored.

    - hourglass `valid.h5` (any `.h5` / `.mat` with `part` and `normalize`): `part`
      (N, 16, 2) read by `hourglass_keypoints`, head size = `normalize` (N,).
    - official `detections_our_format.mat`: `pos_gt_src` (16, 2, N),
      `headboxes_src` (2, 2, N), `jnt_missing` (16, N); annotated where
      `jnt_missing == 0`, head size = `head_size` of the head box.

    Every annotated joint is v = 2: the evaluation counts joints visible or not.

    Args:
        path: str or Path.

    Returns:
        `(keypoints, head_size, layout)`: float64 (N, 16, 3) x, y, v in the file's
        pixel frame, float64 (N,), and `"official .mat"` or `"hourglass .h5"`.

    Raises:
        AnnotationError: neither layout, a field that is not numbers or has the
            wrong shape (names the file and the field).
    """
    path = pathlib.Path(path)
    arrays = read_arrays(path)
    if "pos_gt_src" in arrays:
        for key in OFFICIAL_GT_FIELDS:
            if key not in arrays:
                raise AnnotationError(
                    path, None, key, f"is missing; fields found: {sorted(arrays)}"
                )
        gt = to_numbers(arrays["pos_gt_src"], path, None, "pos_gt_src", dtype=np.float64)
        n = gt.shape[-1] if gt.ndim == 3 else -1
        expected = {"pos_gt_src": (NUM_JOINTS, 2, n), "headboxes_src": (2, 2, n),
                    "jnt_missing": (NUM_JOINTS, n)}  # fmt: skip
        values = {
            key: to_numbers(arrays[key], path, None, key, dtype=np.float64)
            for key in OFFICIAL_GT_FIELDS
        }
        for key, value in values.items():
            if value.shape != expected[key]:
                raise AnnotationError(
                    path, None, key,
                    f"has shape {value.shape}; expected {expected[key]} (official MPII layout, "
                    "N people last)",
                )  # fmt: skip
        v = np.where(values["jnt_missing"].T == 0, 2.0, 0.0)
        keypoints = np.concatenate([gt.transpose(2, 0, 1), v[..., None]], axis=-1)
        check_joint_range(keypoints, path, "pos_gt_src")
        return keypoints, head_size(values["headboxes_src"].transpose(2, 0, 1)), "official .mat"
    if "part" in arrays:
        if "normalize" not in arrays:
            raise AnnotationError(
                path, None, "normalize", f"is missing; fields found: {sorted(arrays)}"
            )
        keypoints = hourglass_keypoints(arrays["part"], path, dtype=np.float64)
        n = len(keypoints)
        normalize = to_numbers(arrays["normalize"], path, None, "normalize", dtype=np.float64)
        normalize = normalize.reshape(-1)
        if normalize.shape != (n,):
            raise AnnotationError(
                path, None, "normalize", f"has shape {normalize.shape}; expected ({n},)"
            )
        check_joint_range(keypoints, path, "part")
        return keypoints, normalize, "hourglass .h5"
    raise AnnotationError(
        path, None, None,
        "unknown MPII annotation layout; expected 'part' and 'normalize' (hourglass "
        "valid.h5) or 'pos_gt_src', 'headboxes_src', 'jnt_missing' (official "
        f"detections_our_format.mat). Fields found: {sorted(arrays)}",
    )  # fmt: skip


OFFICIAL_MAT = "mpii_human_pose_v1_u12_1.mat"


def load_mpii(
    data_dir: str | os.PathLike, split: str = "train", annotation: str | None = None
) -> Records:
    """MPII records from a data folder in one of the usual layouts.

    Looks, in order, for `annot/{split}.h5`, `{split}.h5`, the official
    `mpii_human_pose_v1_u12_1.mat` (at the top or in `annot/`, split by
    `annot/valid.h5` when present), `annotations/mpii_{split}.json` and
    `images/annotations.json`. Image paths are `images/<name>`.

    Args:
        data_dir: the MPII root.
        split: `"train"`, `"valid"` (`"val"` is accepted) or `"all"` (`.mat` only).
        annotation: an explicit annotation file (relative to `data_dir` or
            absolute); its type is taken from the extension.
    """
    root = pathlib.Path(data_dir)
    split = "valid" if split == "val" else split
    if annotation is not None:
        file = pathlib.Path(annotation)
        file = file if file.is_absolute() else root / file
        candidates = [file]
    else:
        candidates = [
            root / "annot" / f"{split}.h5",
            root / f"{split}.h5",
            root / OFFICIAL_MAT,
            root / "annot" / OFFICIAL_MAT,
            root / "annotations" / f"mpii_{split}.json",
            root / "images" / "annotations.json",
        ]
    for file in candidates:
        if not file.exists():
            continue
        if file.suffix == ".h5":
            return read_mpii_h5(file)
        if file.suffix == ".mat":
            valid = next(
                (p for p in (root / "annot" / "valid.h5", root / "valid.h5") if p.exists()), None
            )
            return read_mpii_mat(file, split, valid_list=valid)
        if file.suffix == ".json":
            image_dir = pathlib.Path(os.path.relpath(file.parent, root)).as_posix()
            return read_mpii_json(
                file, image_dir=image_dir if file.parent != root / "annotations" else "images"
            )
    raise FileNotFoundError(
        f"No MPII annotations for split {split!r} under {root}; looked for "
        f"{[str(c) for c in candidates]}"
    )
