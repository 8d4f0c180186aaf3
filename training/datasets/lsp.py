"""Leeds Sports Pose reader: `joints.mat` beside `images/im%05d.jpg`.

Two layouts exist and both are read:
- original LSP (2,000 images): `joints` of shape (3, 14, N). Its third row is an
  *occlusion* flag: 0 = visible, 1 = occluded (every joint is annotated). It maps
  to v = 2 and v = 1.
- LSP-extended (10,000 images): shape (14, 3, N), third column 1 = visible,
  0 = not visible. In the shared copy (400 images, this layout) 733 of the 734
  zero-flagged joints lie outside the image, so 0 means "not annotated" and maps
  to v = 0; 1 maps to v = 2.
The two layouts are told apart by which axis has length 3 (and the other 14).

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

from kerashg.keypoints import LSP
from kerashg.transforms import BOX_PADDING, PIXEL_STD
from training.datasets.records import AnnotationError, Records, load_mat, to_numbers

NUM_JOINTS = LSP.num_keypoints
ORIGINAL_LSP_SIZE = 2000


def joints_to_keypoints(joints: np.ndarray, source="joints.mat") -> np.ndarray:
    """(3, 14, N) or (14, 3, N) LSP joints → (N, 14, 3) keypoints x, y, v (COCO v)."""
    joints = to_numbers(joints, source, None, "joints")
    if joints.ndim != 3:
        raise AnnotationError(
            source, None, "joints",
            f"must have shape (3, 14, N) or (14, 3, N). Received: {joints.shape}",
        )  # fmt: skip
    if joints.shape[:2] == (3, NUM_JOINTS):  # original LSP: 0 = visible, 1 = occluded
        xyf = joints.transpose(2, 1, 0)
        v = np.where(xyf[..., 2] > 0, 1.0, 2.0)
    elif joints.shape[:2] == (NUM_JOINTS, 3):  # LSP-extended: 1 = visible, 0 = missing
        xyf = joints.transpose(2, 0, 1)
        v = np.where(xyf[..., 2] > 0, 2.0, 0.0)
    else:
        raise AnnotationError(
            source, None, "joints",
            f"must have shape (3, 14, N) or (14, 3, N). Received: {joints.shape}",
        )  # fmt: skip
    return np.concatenate([xyf[..., :2], v[..., None].astype(np.float32)], axis=-1)


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
    mat = load_mat(path)
    if "joints" not in mat:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise AnnotationError(path, None, "joints", f"is missing; variables present: {found}")
    keypoints = joints_to_keypoints(mat["joints"], path)
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
