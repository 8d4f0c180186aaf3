"""The scores of a predictions file: MPII PCKh, LSP PCK, COCO keypoint AP.

Each function reads the ground truth and the predictions through
`kerashg.evaluation.files` (which checks both and names the file at fault) and
scores them with `kerashg.metrics` (official MPII rules, torso-normalised LSP
PCK) or `kerashg.coco_metrics` (pycocotools). Predictions are in the annotation
file's own pixel frame. Imports no TensorFlow.
"""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np

from kerashg import metrics
from kerashg.coco_metrics import coco_keypoint_ap, keypoint_category
from kerashg.data.files import read_arrays
from kerashg.data.lsp import read_lsp
from kerashg.errors import InputError
from kerashg.evaluation import files


def evaluate_mpii(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    threshold: float = 0.5,
    key: str = "preds",
) -> metrics.PCKResult:
    """MPII PCKh of a predictions file (official rules, see `kerashg.metrics.mpii_pckh`).

    Args:
        annotations: `valid.h5` (hourglass layout) or `detections_our_format.mat`
            (official layout).
        predictions: `.h5` or `.mat` with `key` of shape (N, 16, 2) or (2, 16, N),
            x, y in the annotation's pixel frame.
        threshold: float, fraction of the head size. Default 0.5.
        key: str, the predictions field. Default "preds".

    Returns:
        `kerashg.metrics.PCKResult`.
    """
    gt = files.load_mpii_annotations(annotations)
    preds = files.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    return metrics.mpii_pckh(preds, gt.keypoints, gt.normalizer, gt.annotated, threshold)


def mpii_curve(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    thresholds=None,
    key: str = "preds",
) -> dict:
    """PCKh-vs-threshold curve of a predictions file (see `kerashg.metrics.mpii_pckh_curve`)."""
    if thresholds is None:
        thresholds = metrics.MPII_CURVE_THRESHOLDS
    gt = files.load_mpii_annotations(annotations)
    preds = files.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    return metrics.mpii_pckh_curve(preds, gt.keypoints, gt.normalizer, gt.annotated, thresholds)


def lsp_split_rows(annotations: str | pathlib.Path, split: str | None = None) -> np.ndarray | None:
    """The rows (0-based images) of `joints.mat` that make up an LSP split.

    The people `kerashg.data.lsp.read_lsp` reads for `split` ("all" = every
    image, "train" = the first 90 %, "val" = the last 10 %; images without any
    annotated joint are not people), so that a model's predictions for
    `load_records("lsp", data_dir, split)` line up with them.

    Args:
        annotations: `joints.mat`.
        split: "all", "train", "val", or None for every row of the file.

    Returns:
        int64 (N,) in image order, or None for `split=None`.
    """
    if split is None:
        return None
    if not pathlib.Path(annotations).is_file():
        raise InputError(f"{annotations}: file not found")
    return read_lsp(annotations, split=split).id - 1


def _span(ids: np.ndarray) -> str:
    return f"{ids.min()}..{ids.max()}" if ids.size else "none"


def _check_image_ids(
    predictions, rows: np.ndarray | None, num_people: int, split: str | None
) -> None:
    """Refuses an LSP predictions file whose `image_ids` (if any) are not the split's."""
    arrays = read_arrays(predictions)
    if "image_ids" not in arrays:
        return
    ids = np.asarray(arrays["image_ids"]).reshape(-1).astype(np.int64)
    expected = np.arange(1, num_people + 1) if rows is None else rows + 1
    if ids.shape != expected.shape or (ids != expected).any():
        raise InputError(
            f"{predictions}: field 'image_ids' names {ids.size} images ({_span(ids)}) but "
            f"split {split!r} of the annotations has {expected.size} ({_span(expected)}); "
            "pass the --split the file was written for"
        )


def evaluate_lsp(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    threshold: float = 0.2,
    key: str = "preds",
    split: str | None = None,
) -> metrics.PCKResult:
    """LSP PCK@threshold (torso-normalised) of a predictions file.

    Args:
        annotations: `joints.mat`, (3, 14, N) (original LSP: every joint counts) or
            (14, 3, N) (LSP-extended: visible joints count; see
            `kerashg.evaluation.files.load_lsp_annotations`).
        predictions: `.h5` or `.mat` with `key` (N, 14, 2) or (2, 14, N), one row
            per person of `split`; an optional field `image_ids` (1-based image
            numbers, as model mode writes) is checked against the split.
        threshold: float, fraction of the torso size. Default 0.2.
        key: str. Default "preds".
        split: None (every row of `annotations`), or "all", "train" or "val":
            only the people of that split as the training reader takes them (see
            `lsp_split_rows`). Default None.

    Returns:
        `kerashg.metrics.PCKResult`, with `notes` on people left out.
    """
    rows = lsp_split_rows(annotations, split)
    gt = files.load_lsp_annotations(annotations, rows=rows)
    _check_image_ids(predictions, rows, gt.num_people, split)
    preds = files.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    result = metrics.lsp_pck(preds, gt.keypoints, threshold, gt.annotated, gt.normalizer)
    return dataclasses.replace(result, notes=gt.notes)


def evaluate_coco(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    category: str | None = None,
) -> dict:
    """COCO keypoint AP of a results JSON through pycocotools.

    Args:
        annotations: COCO `person_keypoints_*.json`, or a COCO-format file of
            your own keypoint category.
        predictions: results JSON (list of `image_id`, `category_id`, `keypoints`,
            `score`), e.g. written by `kerashg.evaluation.files.write_coco_results`. Scored
            on the images of the annotation file.
        category: the keypoint category to score, by name (default: the file's
            one category with keypoints). Its OKS sigmas are its own `sigmas`,
            COCO's for COCO's 17 joints, else
            `kerashg.coco_metrics.DEFAULT_OKS_SIGMA` (0.05) for every joint.

    Returns:
        dict: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (fractions).
    """
    gt = files.load_coco_annotations(annotations, category)
    k = keypoint_category(gt, str(annotations), category).num_keypoints
    results = files.load_coco_results(predictions, gt, k)
    return coco_keypoint_ap(gt, results, category=category)


def score_coco_keypoints(
    annotations: str | pathlib.Path,
    image_ids,
    keypoints,
    scores,
    results_path: str | pathlib.Path,
    category: str | None = None,
) -> dict:
    """Writes a model's COCO keypoints as the results JSON, then scores it.

    Args:
        annotations: COCO `person_keypoints_*.json`.
        image_ids: int (N,), the image of each detected person.
        keypoints: float (N, K, 2|3), x, y (and keypoint score) in original-image
            pixels.
        scores: float (N,), person scores.
        results_path: where the results JSON is written (kept for the record).
        category: see `evaluate_coco`.

    Returns:
        dict: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl.
    """
    scored = keypoint_category(
        files.load_coco_annotations(annotations, category), category=category
    )
    path = files.write_coco_results(
        results_path, image_ids, keypoints, scores, scored.category_ids[0]
    )
    return evaluate_coco(annotations, path, category)
