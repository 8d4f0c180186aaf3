"""Annotation and prediction files for the official evaluations.

Every loader checks what it reads and raises `kerashg.errors.InputError` (most
often its subclass `AnnotationError`) naming the file, the field, the shape or
value found and what was expected, so a wrong file never turns into a silently
wrong number. Imports no TensorFlow.

The ground truth is parsed by the data set readers that training uses
(`kerashg.data.mpii.read_mpii_ground_truth`, `kerashg.data.lsp.read_joints`),
and `.h5` / `.mat` files are opened by `kerashg.data.files.read_arrays`: one
parser per file format. Coordinates are read as stored: predictions must be in
the annotation file's own frame (MPII's `valid.h5` and
`detections_our_format.mat` hold the MPII annotation's pixel coordinates, and
the published prediction files match them).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import h5py
import numpy as np
import scipy.io

from kerashg import coco_metrics, metrics
from kerashg.coco_metrics import keypoint_category
from kerashg.data import lsp as lsp_reader
from kerashg.data import mpii as mpii_reader
from kerashg.data.files import read_arrays, read_json
from kerashg.errors import AnnotationError, InputError
from kerashg.keypoints import COCO, LSP

#: The layouts of a predictions file (N people, K joints), as its `{key}_layout`
#: field names them (a 2-person file's shape cannot say which it holds).
PEOPLE_FIRST = "(N, K, 2)"
PREDICTION_LAYOUTS = (PEOPLE_FIRST, "(2, K, N)")


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """Ground truth of one evaluation split.

    Attributes:
        keypoints: float64 (N, K, 2), x, y in the annotation's pixel frame.
        annotated: bool (N, K), joints that count.
        normalizer: float64 (N,), per-person size (MPII: head size; LSP: torso size).
        layout: str, which file layout was read.
        path: pathlib.Path, the file.
        notes: tuple of str, how the file was read (LSP: the layout and its joint
            counts) and what the loader left out and why.
    """

    keypoints: np.ndarray
    annotated: np.ndarray
    normalizer: np.ndarray
    layout: str
    path: pathlib.Path
    notes: tuple = ()

    @property
    def num_people(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.keypoints.shape[1])


# ----------------------------------------------------------------- raw files
def _existing(path) -> pathlib.Path:
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError("file not found", path=path)
    return path


def _field(arrays, path, key):
    """The numeric array `key` of `arrays` (from `read_arrays`), or `AnnotationError`."""
    if key not in arrays:
        raise AnnotationError(path, None, None, f"no field {key!r}; fields found: {sorted(arrays)}")
    value = np.asarray(arrays[key])
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
        raise AnnotationError(path, None, key, f"must be numeric. Received: dtype={value.dtype}")
    return value


# ------------------------------------------------------------------- MPII
def load_mpii_annotations(path) -> GroundTruth:
    """MPII ground truth from either layout (`kerashg.data.mpii.read_mpii_ground_truth`).

    - hourglass `valid.h5`: `part` (N, 16, 2), `normalize` (N,) = head size; a joint
      is annotated where its coordinates are not (0, 0).
    - official `detections_our_format.mat`: `pos_gt_src` (16, 2, N), `headboxes_src`
      (2, 2, N), `jnt_missing` (16, N); annotated where `jnt_missing == 0`, head size
      = 0.6 × head-box diagonal.

    Args:
        path: str or Path.

    Returns:
        `GroundTruth` with K = 16 joints in MPII order.
    """
    path = _existing(path)
    keypoints, head_size, layout = mpii_reader.read_mpii_ground_truth(path)
    annotated = keypoints[..., 2] > 0
    bad = annotated.any(axis=1) & ~(np.isfinite(head_size) & (head_size > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnnotationError(
            path, None, None,
            f"{int(bad.sum())} people have a non-positive head size; first: person {i}, "
            f"head size {head_size[i]}",
        )  # fmt: skip
    return GroundTruth(keypoints[..., :2], annotated, head_size, layout, path)


# -------------------------------------------------------------------- LSP
def load_lsp_annotations(path, rows=None) -> GroundTruth:
    """LSP ground truth from `joints.mat` (`kerashg.data.lsp.read_joints`), torso-normalised.

    Two layouts of `joints` (x, y and a flag per joint):

    - (3, 14, N), the original LSP: every joint counts, occluded or not, as in
      the LSP evaluation (the flag is occlusion; all joints carry a location).
    - (14, 3, N), LSP-extended: the flag is visibility and joints with flag 0 have
      no usable location (they are written off-image), so only joints with flag > 0
      count; a person whose torso joints (left shoulder, right hip) are not both
      visible cannot be normalised and is left out (said in `notes`).

    Args:
        path: str or Path.
        rows: optional int sequence, the people (0-based columns of `joints`) to
            keep, in this order, e.g. the images of one split. Default: all.

    Returns:
        `GroundTruth` with K = 14 joints in LSP order; normaliser = torso size (left
        shoulder to right hip).
    """
    path = _existing(path)
    keypoints, layout = lsp_reader.read_joints(path, dtype=np.float64)
    reading = lsp_reader.describe_joints(keypoints, layout, path)
    annotated = keypoints[..., 2] > 0
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        n = len(keypoints)
        if rows.size and not (rows.min() >= 0 and rows.max() < n):
            raise AnnotationError(
                path, None, None,
                f"rows {rows.min()}..{rows.max()} asked for, but 'joints' holds {n} people",
            )  # fmt: skip
        keypoints, annotated = keypoints[rows], annotated[rows]
    keypoints = keypoints[..., :2]
    torso_index = [LSP.index(j) for j in metrics.TORSO_JOINTS]
    torso = metrics.torso_size(keypoints, LSP)
    usable = annotated[:, torso_index].all(axis=1) & np.isfinite(torso) & (torso > 0)
    notes = (reading,)
    if layout == lsp_reader.EXTENDED_LAYOUT:
        dropped = int((~usable & annotated.any(axis=1)).sum())
        annotated = annotated & usable[:, None]
        if dropped:
            notes += (f"{path}: {dropped} people without both torso joints visible left out",)
    elif not usable.all():
        i = int(np.flatnonzero(~usable)[0])
        raise AnnotationError(
            path, None, None,
            f"person {i} has no usable torso size ({torso[i]}); the original LSP layout "
            "needs every joint located",
        )  # fmt: skip
    if not np.isfinite(keypoints[annotated]).all():
        raise AnnotationError(path, None, "joints", "holds non-finite coordinates")
    torso = np.where(usable, torso, np.nan)
    return GroundTruth(keypoints, annotated, torso, layout, path, notes)


# ------------------------------------------------------------- predictions
def load_keypoint_predictions(path, num_people: int, num_joints: int, key: str = "preds"):
    """Predicted keypoints from an `.h5` or `.mat` file, checked against the split.

    Accepted layouts of `key` (N people, K joints): (N, K, 2), (2, K, N) (MATLAB
    style) and (K, 2, N) (the official `pos_pred_src` layout). For 2 people the
    first two coincide: the field `{key}_layout` must say which (`PREDICTION_LAYOUTS`;
    `write_keypoint_predictions` writes it).

    Args:
        path: str or Path.
        num_people: int, N of the annotations.
        num_joints: int, K of the annotations.
        key: str, the field holding the predictions. Default "preds".

    Returns:
        float64 (N, K, 2), x, y.
    """
    path = _existing(path)
    arrays = read_arrays(path)
    preds = _field(arrays, path, key).astype(np.float64)
    n, k = int(num_people), int(num_joints)
    layouts = {
        (n, k, 2): lambda a: a,
        (2, k, n): lambda a: a.transpose(2, 1, 0),
        (k, 2, n): lambda a: a.transpose(2, 0, 1),
    }
    if preds.shape not in layouts:
        raise InputError(
            f"{path}: field {key!r} has shape {preds.shape}; expected ({n}, {k}, 2) or "
            f"(2, {k}, {n}) or ({k}, 2, {n}) for the {n} people and {k} joints of the "
            "annotations"
        )
    # (n, k, 2) and (2, k, n) coincide when n == 2: only a written layout can say which.
    if n == 2 and preds.shape == (2, k, 2):
        written = _written_layout(arrays, key)
        if written not in PREDICTION_LAYOUTS:
            raise InputError(
                f"{path}: field {key!r} of shape {preds.shape} is ambiguous for 2 people; "
                f"expected a field '{key}_layout' saying which it is ("
                f"{' or '.join(repr(name) for name in PREDICTION_LAYOUTS)}; "
                f"kerashg.evaluate --model writes it). Received: {written!r}"
            )
        preds = preds if written == PEOPLE_FIRST else preds.transpose(2, 1, 0)
    else:
        preds = layouts[preds.shape](preds)
    nonfinite = ~np.isfinite(preds).all(axis=-1)
    if nonfinite.any():
        i, j = (int(v) for v in np.argwhere(nonfinite)[0])
        raise InputError(
            f"{path}: field {key!r} holds {int(nonfinite.sum())} non-finite (NaN/inf) "
            f"keypoints; first at person {i}, joint {j}: {preds[i, j].tolist()}. "
            "Every joint needs a finite prediction"
        )
    return preds


def _written_layout(arrays, key: str) -> str | None:
    """The text of the field `{key}_layout`, or None where the file has none."""
    value = arrays.get(f"{key}_layout")
    if value is None:
        return None
    value = np.asarray(value).ravel()
    if value.size != 1:
        return str(value.tolist())
    text = value[0]
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def write_keypoint_predictions(path, keypoints, key: str = "preds", image_ids=None) -> pathlib.Path:
    """Writes predicted keypoints as `load_keypoint_predictions` reads them.

    Args:
        path: str or Path; `.mat` (MATLAB v5, `scipy.io.savemat`) or `.h5`.
        keypoints: float (N, K, 2|3), x, y in the annotation's pixel frame (a third
            column, e.g. a score, is dropped).
        key: str, the field. Default "preds".
        image_ids: optional int (N,), written as the field `image_ids` (LSP: the
            1-based image number of each row, so a split's file says which rows
            of `joints.mat` it holds).

    Returns:
        The path written.
    """
    path = pathlib.Path(path)
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[-1] not in (2, 3):
        raise ValueError(f"keypoints must be (N, K, 2|3). Received: shape={keypoints.shape}")
    # The layout, written: (N, K, 2) of 2 people has the shape of (2, K, N).
    arrays = {key: keypoints[..., :2], f"{key}_layout": PEOPLE_FIRST}
    if image_ids is not None:
        arrays["image_ids"] = np.asarray(image_ids, dtype=np.int64).reshape(-1)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".h5":
        with h5py.File(path, "w") as f:
            for name, value in arrays.items():
                f[name] = value
    elif path.suffix.lower() == ".mat":
        scipy.io.savemat(path, arrays)
    else:
        raise ValueError(f"predictions file must end in .mat or .h5. Received: {path}")
    return path


# ------------------------------------------------------------------- COCO
def load_json(path):
    """Parsed JSON (the readers' `kerashg.data.files.read_json`), or an error naming the file."""
    return read_json(_existing(path))


def load_coco_annotations(path, category: str | None = None) -> dict:
    """COCO keypoint annotation JSON (`person_keypoints_*.json`), checked.

    Args:
        path: the JSON file.
        category: the keypoint category to score by name (default: the file's
            one category with keypoints, or COCO persons;
            `kerashg.coco_metrics.keypoint_category`); its annotations are checked.
    """
    data = load_json(path)
    if not isinstance(data, dict) or not all(k in data for k in ("images", "annotations")):
        found = sorted(data) if isinstance(data, dict) else type(data).__name__
        raise InputError(
            f"{path}: not a COCO annotation file; expected keys 'images', 'annotations', "
            f"'categories'. Found: {found}"
        )
    data.setdefault("categories", [{"id": 1, "name": "person"}])
    for key in ("images", "annotations", "categories"):
        if not isinstance(data[key], list):
            raise InputError(
                f"{path}: field {key!r}: is a {type(data[key]).__name__}; expected a list"
            )
    try:  # non-finite, misplaced or incomplete ground truth: pycocotools would score it
        scored = keypoint_category(data, str(path), category)
        coco_metrics.check_coco_ground_truth(
            data, str(path), scored.num_keypoints, category_ids=scored.category_ids
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    return data


def load_coco_results(path, annotations: dict, num_joints: int = COCO.num_keypoints) -> list:
    """COCO keypoint results JSON (a list of detections), checked against the annotations.

    Args:
        path: str or Path.
        annotations: the parsed annotation dict (image ids are checked against it).
        num_joints: int, K, default 17.

    Returns:
        list of dicts with `image_id`, `category_id`, `keypoints` (3K numbers), `score`.
    """
    results = load_json(path)
    if not isinstance(results, list) or not results:
        raise InputError(
            f"{path}: expected a non-empty JSON list of detections. Received: "
            f"{type(results).__name__} of length {len(results) if hasattr(results, '__len__') else '?'}"
        )
    image_ids = {image["id"] for image in annotations["images"]}
    for i, result in enumerate(results):
        if not isinstance(result, dict):
            raise InputError(
                f"{path}: entry {i}: is {type(result).__name__} {result!r:.60}; expected an "
                "object with 'image_id', 'category_id', 'keypoints', 'score'"
            )
        missing = [k for k in ("image_id", "category_id", "keypoints", "score") if k not in result]
        if missing:
            raise InputError(f"{path}: entry {i} lacks {missing}; found {sorted(result)}")
        values = np.ravel(np.asarray(result["keypoints"], dtype=object))
        if values.shape != (3 * num_joints,):
            raise InputError(
                f"{path}: entry {i} 'keypoints' has {values.size} numbers; expected "
                f"{3 * num_joints} (x, y, score for {num_joints} joints)"
            )
        image_id = result["image_id"]
        if not isinstance(image_id, int) or isinstance(image_id, bool):
            raise InputError(
                f"{path}: entry {i}: field 'image_id': is {type(image_id).__name__} "
                f"{image_id!r}; expected an integer image id"
            )
        if image_id not in image_ids:
            raise InputError(
                f"{path}: entry {i} names image_id={result['image_id']}, absent from the annotations"
            )
    scored = [c.get("id") for c in annotations["categories"] if isinstance(c, dict)]
    try:  # non-finite values, a category the ground truth does not score (AP 0)
        coco_metrics.check_coco_results(results, scored, str(path), num_joints)
    except ValueError as error:
        raise InputError(str(error)) from None
    return results


def write_coco_results(path, image_ids, keypoints, scores, category_id: int = 1) -> pathlib.Path:
    """Writes the COCO keypoint results JSON that `pycocotools` reads.

    Args:
        path: str or Path of the JSON to write.
        image_ids: int (N,).
        keypoints: float (N, K, 2|3) in original-image pixels.
        scores: float (N,), person scores.
        category_id: int, the scored category's id (default 1, COCO's person).

    Returns:
        The path written.
    """
    results = coco_metrics.keypoints_to_coco_results(image_ids, keypoints, scores, category_id)
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(results, f)
    return path
