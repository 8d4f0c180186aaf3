"""Pose metrics in NumPy: MPII PCKh, LSP/FLIC PCK (COCO keypoint AP: `kerashg.coco_metrics`).

Functions: `mpii_pckh` / `mpii_pckh_curve` (official MPII rules), `lsp_pck` and
`flic_pck` (torso-normalised PCK@0.2), `pck_table` (any keypoint set and groups),
`pck` (one pooled number). COCO keypoint AP (pycocotools) and its input checks
are `kerashg.coco_metrics`; the streaming Keras metric is `kerashg.pck_metric.PCKMetric`.

Pure NumPy functions compute the official numbers from arrays; they read no files
(`kerashg.evaluation` loads annotation and prediction files and calls them). This
module imports NumPy only, so file-mode evaluation runs without TensorFlow or Keras.

Conventions:
    - Keypoints are `(x, y)` in pixels of one common frame (the ground truth's);
      predictions and ground truth must use the same origin. Shapes name N people
      and K joints.
    - A joint counts where it is annotated, visible or not (MPII: `jnt_missing == 0`;
      COCO convention: v > 0).
    - A joint is correct where `error / normalizer <= threshold` (the official
      scripts divide, then compare with `<=`).
    - Totals pool joints, so each joint weighs by its number of annotations.

Official MPII rules (Andriluka et al., CVPR 2014, `evaluatePCKh.m`): head size =
0.6 × head-box diagonal; the total pools the 14 joints other than pelvis and
thorax. The per-group table follows the layout the hourglass paper's Table 1 and
the reference numbers use: each group is the mean of its joints' PCKh, and Head
is the head-top joint (the MATLAB `genTablePCK.m` instead averages head top and
upper neck; both enter the total either way).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from kerashg.data.mpii import head_size as mpii_head_size  # SC_BIAS 0.6 × diagonal
from kerashg.keypoints import LSP, MPII, get_keypoint_set

# Joints the MPII total leaves out.
MPII_TOTAL_EXCLUDED = ("pelvis", "thorax")
# Column order of the hourglass paper's Table 1.
TABLE_GROUPS = ("Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank")
MPII_GROUPS = {
    "Head": ("head_top",),
    "Sho": ("r_shoulder", "l_shoulder"),
    "Elb": ("r_elbow", "l_elbow"),
    "Wri": ("r_wrist", "l_wrist"),
    "Hip": ("r_hip", "l_hip"),
    "Knee": ("r_knee", "l_knee"),
    "Ank": ("r_ankle", "l_ankle"),
}
# LSP (Pishchulin's evaluation, `genTablePCK.m`): Head averages neck and head top.
LSP_GROUPS = {**MPII_GROUPS, "Head": ("neck", "head_top")}
# Torso size of the LSP evaluation (`getDistPCK.m`): left shoulder to right hip.
TORSO_JOINTS = ("l_shoulder", "r_hip")
# MPII curve range of the official script: 0:0.01:0.5.
MPII_CURVE_THRESHOLDS = np.round(np.arange(0.0, 0.5001, 0.01), 2)


@dataclasses.dataclass(frozen=True)
class PCKResult:
    """A PCK / PCKh table at one threshold.

    Attributes:
        threshold: float, fraction of the normaliser.
        joint_names: tuple of str (K,).
        per_joint: float64 (K,), percent correct per joint (NaN where a joint has
            no annotation).
        counts: int64 (K,), annotated joints per joint.
        groups: dict group name → percent, in table order.
        total: float, percent over the joints of the total, pooled (NaN if none
            is annotated).
        notes: tuple of str, what the input left out (e.g. people without a
            normaliser), for the report.
    """

    threshold: float
    joint_names: tuple
    per_joint: np.ndarray
    counts: np.ndarray
    groups: dict
    total: float
    notes: tuple = ()

    def as_dict(self) -> dict:
        """JSON-ready: the groups, `total`, `threshold` and the per-joint values
        (None where undefined, since JSON has no NaN)."""

        def number(v):
            return None if np.isnan(v) else float(v)

        return {
            **{name: number(value) for name, value in self.groups.items()},
            "total": number(self.total),
            "threshold": float(self.threshold),
            "per_joint": {
                name: number(v) for name, v in zip(self.joint_names, self.per_joint, strict=True)
            },
            **({"notes": list(self.notes)} if self.notes else {}),
        }

    def table(self, label="") -> str:
        """Two lines in the layout of the hourglass paper's Table 1."""
        names = list(self.groups) + ["Total"]
        values = list(self.groups.values()) + [self.total]
        header = f"{'':<{len(label)}} " + " ".join(f"{n:>6}" for n in names)
        row = f"{label} " + " ".join(
            f"{v:6.2f}" if n == "Total" else f"{v:6.1f}" for n, v in zip(names, values, strict=True)
        )
        return f"{header}\n{row}"


# --------------------------------------------------------------------- helpers
def _check_keypoints(predictions, ground_truth, normalizer, annotated):
    predictions = np.asarray(predictions, dtype=np.float64)
    ground_truth = np.asarray(ground_truth, dtype=np.float64)
    if predictions.ndim != 3 or predictions.shape[-1] < 2:
        raise ValueError(
            f"predictions must have shape (N, K, 2). Received: shape={predictions.shape}"
        )
    if ground_truth.ndim != 3 or ground_truth.shape[-1] < 2:
        raise ValueError(
            f"ground_truth must have shape (N, K, 2) or (N, K, 3). Received: shape={ground_truth.shape}"
        )
    if predictions.shape[:2] != ground_truth.shape[:2]:
        raise ValueError(
            "predictions and ground_truth must hold the same people and joints. Received: "
            f"predictions shape={predictions.shape}, ground_truth shape={ground_truth.shape}"
        )
    n, k = ground_truth.shape[:2]
    if annotated is None:
        if ground_truth.shape[-1] < 3:
            raise ValueError(
                "Pass `annotated` (N, K) or a visibility column in ground_truth (N, K, 3)."
            )
        annotated = ground_truth[..., 2] > 0
    annotated = np.asarray(annotated).astype(bool)
    if annotated.shape != (n, k):
        raise ValueError(f"annotated must have shape {(n, k)}. Received: shape={annotated.shape}")
    normalizer = np.asarray(normalizer, dtype=np.float64).reshape(-1)
    if normalizer.shape != (n,):
        raise ValueError(f"normalizer must have shape ({n},). Received: shape={normalizer.shape}")
    counted_people = annotated.any(axis=1)
    bad = counted_people & ~(np.isfinite(normalizer) & (normalizer > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"normalizer must be finite and > 0 for every person with annotated joints; "
            f"{int(bad.sum())} are not. Received: normalizer[{i}]={normalizer[i]}"
        )
    xy = predictions[..., :2]
    nonfinite = annotated & ~np.isfinite(xy).all(axis=-1)
    if nonfinite.any():
        i, j = (int(v) for v in np.argwhere(nonfinite)[0])
        raise ValueError(
            f"predictions hold {int(nonfinite.sum())} non-finite coordinates at annotated "
            f"joints. Received: predictions[{i}, {j}]={xy[i, j].tolist()}"
        )
    return xy, ground_truth[..., :2], normalizer, annotated


def normalized_errors(predictions, ground_truth, normalizer, annotated=None):
    """Euclidean error of each joint divided by its person's normaliser.

    Args:
        predictions: float (N, K, 2) or (N, K, 3), x, y (a score column is ignored).
        ground_truth: float (N, K, 2) or (N, K, 3) with visibility v in the last column.
        normalizer: float (N,), e.g. head size (PCKh) or torso size (PCK).
        annotated: bool (N, K), joints that count; default `ground_truth[..., 2] > 0`.

    Returns:
        (errors float64 (N, K) with NaN where not annotated, annotated bool (N, K)).
    """
    xy, gt, normalizer, annotated = _check_keypoints(
        predictions, ground_truth, normalizer, annotated
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        errors = np.linalg.norm(xy - gt, axis=-1) / normalizer[:, None]
    return np.where(annotated, errors, np.nan), annotated


def _correct_counts(errors, annotated, threshold):
    with np.errstate(invalid="ignore"):
        correct = (errors <= threshold) & annotated
    return correct.sum(axis=0), annotated.sum(axis=0)


def _percent(correct, counts):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, 100.0 * correct / np.maximum(counts, 1), np.nan)


def _table(errors, annotated, threshold, keypoint_set, groups, total_joints):
    correct, counts = _correct_counts(errors, annotated, threshold)
    per_joint = _percent(correct, counts)
    group_values = {
        name: float(np.mean([per_joint[keypoint_set.index(j)] for j in joints]))
        for name, joints in groups.items()
    }
    idx = np.array([keypoint_set.index(j) for j in total_joints])
    total = float(_percent(correct[idx].sum(), counts[idx].sum()))
    return PCKResult(
        threshold=float(threshold),
        joint_names=keypoint_set.names,
        per_joint=per_joint,
        counts=counts.astype(np.int64),
        groups=group_values,
        total=total,
    )


# ------------------------------------------------------------------ generic PCK
def pck(predictions, ground_truth, normalizer, threshold=0.5, annotated=None):
    """PCK@threshold in percent, pooled over all annotated joints.

    Args:
        predictions: float (N, K, 2) (or (N, K, 3) with a score column, ignored).
        ground_truth: float (N, K, 3): x, y, v (joints with v > 0 count), or (N, K, 2)
            with `annotated`.
        normalizer: float (N,), the per-person size the error is divided by (for
            PCKh, the head size).
        threshold: float, a joint is correct where error <= threshold × normalizer.
            Default 0.5.
        annotated: optional bool (N, K), overrides the visibility column.

    Returns:
        float, percent of annotated joints that are correct (NaN if none counts).
    """
    errors, annotated = normalized_errors(predictions, ground_truth, normalizer, annotated)
    correct, counts = _correct_counts(errors, annotated, threshold)
    return float(_percent(correct.sum(), counts.sum()))


def pck_table(
    predictions,
    ground_truth,
    normalizer,
    keypoint_set,
    groups=None,
    threshold=0.5,
    annotated=None,
    total_joints=None,
):
    """PCK per joint, per joint group and in total, for any keypoint set.

    Args:
        predictions: float (N, K, 2), in `keypoint_set` order.
        ground_truth: float (N, K, 3) (v > 0 counts) or (N, K, 2) with `annotated`.
        normalizer: float (N,), per-person size.
        keypoint_set: `KeypointSet` or name, naming the K joints.
        groups: dict group name → tuple of joint names; a group's value is the mean
            of its joints' PCK. Default: no groups.
        threshold: float. Default 0.5.
        annotated: optional bool (N, K).
        total_joints: joint names pooled in the total. Default: every joint.

    Returns:
        `PCKResult`.
    """
    keypoint_set = get_keypoint_set(keypoint_set)
    errors, annotated = normalized_errors(predictions, ground_truth, normalizer, annotated)
    _check_num_joints(errors, keypoint_set)
    total_joints = keypoint_set.names if total_joints is None else tuple(total_joints)
    return _table(errors, annotated, threshold, keypoint_set, dict(groups or {}), total_joints)


def flic_pck(
    predictions, ground_truth, keypoint_set, threshold=0.2, annotated=None, normalizer=None
):
    """FLIC PCK@threshold of elbows and wrists, torso-normalised.

    FLIC results are reported for elbows and wrists (`genTablePCK.m`: Elbow, Wrist);
    the torso size is the left-shoulder to right-hip distance unless `normalizer`
    gives the data set's own.

    Args:
        predictions: float (N, K, 2) in `keypoint_set` order.
        ground_truth: float (N, K, 2+).
        keypoint_set: `KeypointSet` naming at least l_shoulder, r_hip, r_elbow,
            l_elbow, r_wrist, l_wrist (e.g. `KeypointSet.custom("flic", names)`).
        threshold: float. Default 0.2.
        annotated: optional bool (N, K). Default: all joints.
        normalizer: optional float (N,). Default `torso_size(ground_truth, keypoint_set)`.

    Returns:
        `PCKResult` with groups Elb, Wri and their pooled total.
    """
    keypoint_set = get_keypoint_set(keypoint_set)
    ground_truth = np.asarray(ground_truth, dtype=np.float64)
    if annotated is None:
        annotated = np.ones(ground_truth.shape[:2], dtype=bool)
    if normalizer is None:
        normalizer = torso_size(ground_truth, keypoint_set)
    groups = {name: MPII_GROUPS[name] for name in ("Elb", "Wri")}
    total_joints = [joint for joints in groups.values() for joint in joints]
    return pck_table(
        predictions,
        ground_truth,
        normalizer,
        keypoint_set,
        groups,
        threshold,
        annotated,
        total_joints,
    )


def head_size_from_boxes(head_boxes):
    """MPII head size (`kerashg.data.mpii.head_size`), checking the boxes' shape.

    Args:
        head_boxes: float (N, 2, 2), `[[x1, y1], [x2, y2]]` per person.

    Returns:
        float64 (N,).
    """
    head_boxes = np.asarray(head_boxes, dtype=np.float64)
    if head_boxes.ndim != 3 or head_boxes.shape[1:] != (2, 2):
        raise ValueError(
            f"head_boxes must have shape (N, 2, 2) as [[x1, y1], [x2, y2]]. Received: shape={head_boxes.shape}"
        )
    return mpii_head_size(head_boxes)


def mpii_pckh(predictions, ground_truth, head_size, annotated=None, threshold=0.5):
    """MPII PCKh with the official rules, as the hourglass paper's Table 1.

    Args:
        predictions: float (N, 16, 2), x, y in the ground truth's frame, MPII joint
            order (`kerashg.MPII`).
        ground_truth: float (N, 16, 2) or (N, 16, 3) (v > 0 = annotated).
        head_size: float (N,), 0.6 × head-box diagonal (see `head_size_from_boxes`).
        annotated: optional bool (N, 16), `jnt_missing == 0` of the official file.
        threshold: float, fraction of the head size. Default 0.5.

    Returns:
        `PCKResult` with groups Head, Sho, Elb, Wri, Hip, Knee, Ank (each the mean of
        its joints' PCKh) and the total over the 14 joints other than pelvis and
        thorax, pooled (weighted by joint counts).
    """
    errors, annotated = normalized_errors(predictions, ground_truth, head_size, annotated)
    _check_num_joints(errors, MPII)
    total_joints = [n for n in MPII.names if n not in MPII_TOTAL_EXCLUDED]
    return _table(errors, annotated, threshold, MPII, MPII_GROUPS, total_joints)


def mpii_pckh_curve(
    predictions, ground_truth, head_size, annotated=None, thresholds=MPII_CURVE_THRESHOLDS
):
    """PCKh as a function of the threshold (the official curve is 0:0.01:0.5).

    Args:
        predictions, ground_truth, head_size, annotated: as in `mpii_pckh`.
        thresholds: float sequence (T,). Default 0, 0.01, ..., 0.5.

    Returns:
        dict: `thresholds` (T,), `total` (T,), one (T,) array per group, and `auc`,
        the area under the total curve with thresholds rescaled to [0, 1] (the
        official `area_under_curve(scale01(range), pck)`), in percent.
    """
    errors, annotated = normalized_errors(predictions, ground_truth, head_size, annotated)
    _check_num_joints(errors, MPII)
    total_joints = [n for n in MPII.names if n not in MPII_TOTAL_EXCLUDED]
    thresholds = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    tables = [_table(errors, annotated, t, MPII, MPII_GROUPS, total_joints) for t in thresholds]
    curve = {"thresholds": thresholds, "total": np.array([t.total for t in tables])}
    for name in MPII_GROUPS:
        curve[name] = np.array([t.groups[name] for t in tables])
    span = thresholds[-1] - thresholds[0] if len(thresholds) > 1 else 0.0
    curve["auc"] = (
        float(np.trapezoid(curve["total"], (thresholds - thresholds[0]) / span))
        if span > 0
        else float("nan")
    )
    return curve


def _check_num_joints(errors, keypoint_set):
    if errors.shape[1] != keypoint_set.num_keypoints:
        raise ValueError(
            f"{keypoint_set.name} evaluation needs {keypoint_set.num_keypoints} joints in "
            f"{keypoint_set.name} order. Received: {errors.shape[1]} joints"
        )


def torso_size(ground_truth, keypoint_set=LSP, torso_joints=TORSO_JOINTS):
    """Torso size of the LSP evaluation: distance from left shoulder to right hip.

    Args:
        ground_truth: float (N, K, 2+), in `keypoint_set` order.
        keypoint_set: `KeypointSet` or name. Default LSP.
        torso_joints: (str, str), the two joints whose distance is the torso size.

    Returns:
        float64 (N,).
    """
    keypoint_set = get_keypoint_set(keypoint_set)
    ground_truth = np.asarray(ground_truth, dtype=np.float64)
    a, b = (keypoint_set.index(j) for j in torso_joints)
    return np.linalg.norm(ground_truth[:, a, :2] - ground_truth[:, b, :2], axis=-1)


def lsp_pck(predictions, ground_truth, threshold=0.2, annotated=None, normalizer=None):
    """LSP PCK@threshold, torso-normalised (Pishchulin's `getDistPCK.m` rules).

    Every joint counts unless `annotated` says otherwise (the LSP evaluation scores
    occluded joints too); a joint is correct where error <= threshold × torso size.

    Args:
        predictions: float (N, 14, 2) in LSP joint order.
        ground_truth: float (N, 14, 2) or (N, 14, 3).
        threshold: float. Default 0.2.
        annotated: optional bool (N, 14). Default: all joints.
        normalizer: optional float (N,). Default `torso_size(ground_truth)`. For FLIC
            pass its torso box size and use `pck`.

    Returns:
        `PCKResult` with groups Head (neck and head top), Sho, Elb, Wri, Hip, Knee,
        Ank and the total over all 14 joints.
    """
    ground_truth = np.asarray(ground_truth, dtype=np.float64)
    if annotated is None:
        annotated = np.ones(ground_truth.shape[:2], dtype=bool)
    if normalizer is None:
        if ground_truth.ndim != 3 or ground_truth.shape[1] != LSP.num_keypoints:
            raise ValueError(
                f"ground_truth must have shape (N, 14, 2+) in LSP order. Received: shape={ground_truth.shape}"
            )
        normalizer = torso_size(ground_truth)
    return pck_table(predictions, ground_truth, normalizer, LSP, LSP_GROUPS, threshold, annotated)


__all__ = [
    "MPII_CURVE_THRESHOLDS",
    "MPII_GROUPS",
    "LSP_GROUPS",
    "PCKResult",
    "flic_pck",
    "head_size_from_boxes",
    "lsp_pck",
    "mpii_pckh",
    "mpii_pckh_curve",
    "normalized_errors",
    "pck",
    "pck_table",
    "torso_size",
]
