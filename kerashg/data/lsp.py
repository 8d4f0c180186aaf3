"""Leeds Sports Pose reader: `joints.mat` beside `images/im%05d.jpg`.

Two layouts exist and both are read:
- original LSP (2,000 images): `joints` of shape (3, 14, N). Its third row is an
  *occlusion* flag: 0 = visible, 1 = occluded (every joint is annotated). It maps
  to v = 2 and v = 1.
- LSP-extended (10,000 images): shape (14, 3, N), third column 1 = visible,
  0 = not visible. In the shared copy (400 images, this layout) 733 of the 734
  zero-flagged joints lie outside the image, so 0 means "not annotated" and maps
  to v = 0; 1 maps to v = 2.
The two layouts are told apart by which axis has length 3 (and the other 14),
and by content: flag 0 means a located, visible joint in the first and a joint
written off the image in the second, so an LSP-extended array handed over as
(3, 14, N) (or an original one as (14, 3, N)) is refused instead of read with
its flags' meaning flipped (`check_flag_meaning`). `describe_joints` is the
line training and evaluation print: the layout read and its joint counts.

`center` and `scale` come from the bounding box of the annotated joints (the
box's longer side × `BOX_PADDING`), as LSP has no person box. `head_size` is
NaN: LSP is scored with PCK against the torso or the box, not PCKh.
Splits: the original LSP's first 1,000 images train, the last 1,000 test; any
other count trains on the first 90 % and validates on the last 10 % (a
documented convention, not an official split); `"all"` takes every image.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from kerashg.data.files import read_arrays
from kerashg.data.records import Records, check_joint_range, to_numbers
from kerashg.errors import AnnotationError
from kerashg.keypoints import LSP
from kerashg.transforms import BOX_PADDING, PIXEL_STD

NUM_JOINTS = LSP.num_keypoints
ORIGINAL_LSP_SIZE = 2000
# The two layouts of `joints`, by shape.
ORIGINAL_LAYOUT = "LSP (3, 14, N)"
EXTENDED_LAYOUT = "LSP-extended (14, 3, N)"
# Flag-0 joints needed before their content may contradict the shape, and the
# share of them that must (LSP-extended writes its not-annotated joints at x or y
# <= 0: 15,069 of 15,181 in the 9,000-image set).
FLAG_EVIDENCE = 5
FLAG_MAJORITY = 0.75


def joints_layout(joints: np.ndarray, source="joints.mat") -> str:
    """`ORIGINAL_LAYOUT` or `EXTENDED_LAYOUT` by the shape of `joints`, else `AnnotationError`."""
    if joints.ndim == 3 and joints.shape[:2] == (3, NUM_JOINTS):
        return ORIGINAL_LAYOUT
    if joints.ndim == 3 and joints.shape[:2] == (NUM_JOINTS, 3):
        return EXTENDED_LAYOUT
    raise AnnotationError(
        source, None, "joints",
        f"must have shape (3, 14, N) or (14, 3, N). Received: {joints.shape}",
    )  # fmt: skip


def joints_to_keypoints(joints: np.ndarray, source="joints.mat", dtype=np.float32) -> np.ndarray:
    """(3, 14, N) or (14, 3, N) LSP joints → (N, 14, 3) keypoints x, y, v (COCO v).

    Args:
        joints: what `joints.mat` holds under `joints`.
        source: the file, for the message.
        dtype: NumPy dtype of the result. Default float32.
    """
    joints = to_numbers(joints, source, None, "joints", dtype=dtype)
    layout = joints_layout(joints, source)
    xyf = joints.transpose(2, 1, 0) if layout == ORIGINAL_LAYOUT else joints.transpose(2, 0, 1)
    check_flag_meaning(xyf, layout, source)
    if layout == ORIGINAL_LAYOUT:  # 0 = visible, 1 = occluded
        v = np.where(xyf[..., 2] > 0, 1.0, 2.0)
    else:  # LSP-extended: 1 = visible, 0 = missing
        v = np.where(xyf[..., 2] > 0, 2.0, 0.0)
    return np.concatenate([xyf[..., :2], v[..., None].astype(dtype)], axis=-1)


def check_flag_meaning(xyf: np.ndarray, layout: str, source="joints.mat") -> None:
    """Refuses joints whose flags contradict the layout their shape says.

    Original LSP flags 0 for a visible joint (most of them), every joint located
    in its image; LSP-extended flags 0 for a joint not annotated (a minority),
    written at x or y <= 0. Judged when at least `FLAG_EVIDENCE` joints are
    flagged 0.

    Args:
        xyf: (N, 14, 3) x, y and the file's flag, as stored.
        layout: `ORIGINAL_LAYOUT` or `EXTENDED_LAYOUT`, from the shape.
        source: the file, for the message.

    Raises:
        AnnotationError: an LSP-extended array given as (3, 14, N), or an original
            one as (14, 3, N), naming the counts that tell.
    """
    zero = xyf[..., 2] == 0
    count = int(zero.sum())
    if count < FLAG_EVIDENCE:
        return
    off = int((zero & (xyf[..., :2] <= 0).any(-1)).sum())
    share_zero = count / zero.size
    if layout == ORIGINAL_LAYOUT and share_zero < 0.5 and off >= FLAG_MAJORITY * count:
        meaning = (
            f"only {count} of {zero.size} joints are flagged 0 (visible, in the original "
            f"LSP) and {off} of them lie off the image (x or y <= 0), as LSP-extended writes "
            "its not-annotated joints; expected LSP-extended joints as (14, 3, N) (axes 0 "
            "and 1 swapped back), or original LSP joints, every one located"
        )
    elif layout == EXTENDED_LAYOUT and share_zero > 0.5 and off <= (1 - FLAG_MAJORITY) * count:
        meaning = (
            f"{count} of {zero.size} joints are flagged 0 (not annotated, in LSP-extended) "
            f"yet {count - off} of them lie inside the image, as original LSP's visible "
            "joints do; expected original LSP joints as (3, 14, N) (axes 0 and 1 swapped "
            "back), or LSP-extended joints flagged 1 where annotated"
        )
    else:
        return
    raise AnnotationError(
        source, None, "joints", f"has the shape of {layout} but not its flags: {meaning}"
    )


def describe_joints(keypoints: np.ndarray, layout: str, source="joints.mat") -> str:
    """How a `joints.mat` was read, in one line: the layout and its joint counts.

    Args:
        keypoints: (N, 14, 3) from `joints_to_keypoints` (v = 2, 1 or 0).
        layout: `ORIGINAL_LAYOUT` or `EXTENDED_LAYOUT`.
        source: the file.
    """
    v = keypoints[..., 2]
    if layout == ORIGINAL_LAYOUT:
        counts = (
            f"{int((v == 2).sum())} visible and {int((v == 1).sum())} occluded joints (flag "
            "0 = visible, 1 = occluded)"
        )
    else:
        counts = (
            f"{int((v == 2).sum())} visible joints, {int((v == 0).sum())} not annotated (flag "
            "1 = visible, 0 = not annotated)"
        )
    return f"{source}: read as {layout}: {len(keypoints)} images, {counts}"


def joints_reading(path: str | os.PathLike) -> str:
    """`describe_joints` of the `joints.mat` at `path` (read with `read_joints`)."""
    keypoints, layout = read_joints(path)
    return describe_joints(keypoints, layout, path)


def read_joints(path: str | os.PathLike, dtype=np.float32) -> tuple[np.ndarray, str]:
    """The keypoints of every image of an LSP `joints.mat`, and its layout.

    The one parser of the file, for the records (`read_lsp`) and the evaluation
    (`kerashg.evaluation.files.load_lsp_annotations`).

    Args:
        path: the `.mat` file holding `joints` (MATLAB v5, or v7.3 / HDF5).
        dtype: NumPy dtype of the keypoints. Default float32.

    Returns:
        `(keypoints, layout)`: (N, 14, 3) x, y, v in image order, and
        `ORIGINAL_LAYOUT` or `EXTENDED_LAYOUT`.
    """
    path = pathlib.Path(path)
    arrays = read_arrays(path)
    if "joints" not in arrays:
        raise AnnotationError(
            path, None, "joints", f"is missing; variables present: {sorted(arrays)}"
        )
    joints = to_numbers(arrays["joints"], path, None, "joints", dtype=dtype, booleans=False)
    keypoints = joints_to_keypoints(joints, path, dtype)
    check_joint_range(keypoints, path, "joints")  # record = the image's column, 0-based
    return keypoints, joints_layout(joints, path)


def read_lsp(
    path: str | os.PathLike,
    image_dir: str = "images",
    split: str = "all",
    padding: float = BOX_PADDING,
) -> Records:
    """Reads an LSP `joints.mat`.

    Args:
        path: the `.mat` file holding `joints`.
        image_dir: folder of `im00001.jpg`... relative to the data root.
        split: `"all"`, `"train"` or `"val"` (see the module docstring).
        padding: float, margin around the joints' bounding box.

    Returns:
        `Records` in LSP joint order, `id` = image number (1-based, as in the
        file names).
    """
    path = pathlib.Path(path)
    keypoints, _ = read_joints(path)
    n = len(keypoints)
    if split == "all":
        keep = np.arange(n)
    elif split in ("train", "val", "valid", "test"):
        cut = n // 2 if n == ORIGINAL_LSP_SIZE else int(round(0.9 * n))
        keep = np.arange(cut) if split == "train" else np.arange(cut, n)
    else:
        raise ValueError(f"split must be 'all', 'train' or 'val'. Received: split={split!r}")
    keypoints = keypoints[keep]
    items, skipped = [], {"no_joints": 0}
    for i, kps in zip(keep, keypoints, strict=True):
        annotated = kps[kps[:, 2] > 0, :2]
        if not len(annotated):
            skipped["no_joints"] += 1
            continue
        if not np.isfinite(annotated).all():
            raise AnnotationError(path, int(i), "joints", f"not finite: {annotated.tolist()}")
        lo, hi = annotated.min(axis=0), annotated.max(axis=0)
        side = float(max(hi - lo)) * padding
        items.append(
            {
                "image_path": f"{image_dir}/im{i + 1:05d}.jpg",
                "keypoints": kps,
                "center": (lo + hi) / 2.0,
                "scale": max(side, 1.0) / PIXEL_STD,
                "id": int(i + 1),
            }
        )
    return Records.from_dicts(items, LSP, source=str(path), skipped=skipped)


def load_lsp(
    data_dir: str | os.PathLike, split: str = "all", annotation: str | None = None
) -> Records:
    """LSP records from `joints.mat` beside `images/`."""
    root = pathlib.Path(data_dir)
    file = pathlib.Path(annotation or "joints.mat")
    file = file if file.is_absolute() else root / file
    if not file.exists():
        raise FileNotFoundError(f"No LSP annotations: {file} does not exist")
    return read_lsp(file, "images", split=split)
