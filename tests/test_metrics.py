"""Metrics: PCK/PCKh rules on hand-computable cases, the streaming Keras PCK, COCO AP."""

import copy
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import data_path

from kerashg import coco_metrics, metrics
from kerashg.keypoints import LSP, MPII, KeypointSet
from kerashg.pck_metric import PCKMetric


def _people(n, k, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(50, 250, size=(n, k, 2))


# ------------------------------------------------------------- generic PCK
def test_pck_counts_error_equal_to_threshold_as_correct():
    gt = np.zeros((1, 2, 3))
    gt[..., 2] = 2
    pred = gt[..., :2].copy()
    pred[0, 0] = (3.0, 4.0)  # error 5 = 0.5 × 10 exactly: correct (<=)
    pred[0, 1] = (3.0, 4.001)  # just beyond
    assert metrics.pck(pred, gt, normalizer=[10.0], threshold=0.5) == 50.0


def test_pck_ignores_unannotated_joints_and_pools_over_people():
    gt = np.zeros((2, 3, 3))
    gt[..., 2] = [[2, 1, 0], [2, 2, 2]]  # 5 annotated joints; v=1 (occluded) counts
    pred = gt[..., :2].copy()
    pred[0, 2] = (1000.0, 1000.0)  # unannotated: ignored
    pred[1, 0] = (100.0, 0.0)  # wrong
    assert metrics.pck(pred, gt, normalizer=[10.0, 10.0]) == pytest.approx(400 / 5)


def test_pck_rejects_nonfinite_predictions_and_bad_normalizer():
    gt = np.ones((2, 3, 3))
    pred = gt[..., :2].copy()
    pred[1, 2, 0] = np.nan
    with pytest.raises(ValueError, match=r"non-finite.*predictions\[1, 2\]"):
        metrics.pck(pred, gt, normalizer=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"normalizer\[1\]=0.0"):
        metrics.pck(gt[..., :2], gt, normalizer=[1.0, 0.0])
    with pytest.raises(ValueError, match="same people and joints"):
        metrics.pck(gt[:, :2, :2], gt, normalizer=[1.0, 1.0])


# -------------------------------------------------------------- MPII PCKh
def test_head_size_is_0_6_times_head_box_diagonal():
    boxes = np.array([[[10.0, 20.0], [40.0, 60.0]]])  # diagonal 50
    np.testing.assert_allclose(metrics.head_size_from_boxes(boxes), [30.0])


def test_mpii_pckh_groups_total_and_count_weighting():
    n = 4
    gt = _people(n, 16)
    annotated = np.ones((n, 16), dtype=bool)
    annotated[:3, MPII.index("l_ankle")] = False  # l_ankle annotated once
    pred = gt.copy()
    far = np.array([100.0, 0.0])
    pred[0, MPII.index("r_ankle")] += far  # r_ankle 3/4
    pred[:, MPII.index("pelvis")] += far  # pelvis and thorax do not enter the total
    pred[:, MPII.index("thorax")] += far
    pred[:2, MPII.index("upper_neck")] += far  # upper neck: in the total, not in "Head"
    result = metrics.mpii_pckh(pred, gt, head_size=np.full(n, 10.0), annotated=annotated)
    assert result.groups["Ank"] == pytest.approx((75.0 + 100.0) / 2)
    assert result.groups["Head"] == 100.0
    assert result.per_joint[MPII.index("upper_neck")] == 50.0
    assert result.counts[MPII.index("l_ankle")] == 1
    # 14 joints: 13 × 4 annotations - 3 missing l_ankle = 53 counted; 3 wrong.
    assert result.total == pytest.approx(100.0 * (53 - 3) / 53)
    assert list(result.groups) == list(metrics.TABLE_GROUPS)
    assert result.as_dict()["total"] == result.total


def test_mpii_pckh_curve_is_monotone_and_matches_single_thresholds():
    n = 30
    gt = _people(n, 16, seed=1)
    pred = gt + np.random.default_rng(2).normal(0, 4, gt.shape)
    head = np.full(n, 20.0)
    annotated = np.ones((n, 16), bool)
    curve = metrics.mpii_pckh_curve(pred, gt, head, annotated)
    assert curve["thresholds"][0] == 0.0 and curve["thresholds"][-1] == 0.5
    assert np.all(np.diff(curve["total"]) >= 0)
    for i in (10, 50):
        single = metrics.mpii_pckh(pred, gt, head, annotated, threshold=curve["thresholds"][i])
        assert curve["total"][i] == single.total
        assert curve["Wri"][i] == single.groups["Wri"]
    assert 0 < curve["auc"] < 100


def test_mpii_pckh_rejects_wrong_joint_count():
    gt = _people(2, 14)
    with pytest.raises(ValueError, match="16 joints.*Received: 14"):
        metrics.mpii_pckh(gt, gt, np.ones(2), np.ones((2, 14), bool))


# ------------------------------------------------------------------- LSP PCK
def _lsp_person():
    gt = np.zeros((1, 14, 2))
    gt[0] = np.arange(14)[:, None] * [7.0, 3.0] + 100.0
    gt[0, LSP.index("l_shoulder")] = (100.0, 100.0)
    gt[0, LSP.index("r_hip")] = (130.0, 140.0)  # torso 50 → threshold 0.2 = 10 px
    return gt


def test_lsp_pck_hand_computed():
    gt = _lsp_person()
    np.testing.assert_allclose(metrics.torso_size(gt), [50.0])
    assert metrics.lsp_pck(gt, gt).total == 100.0
    at = metrics.lsp_pck(gt + [6.0, 8.0], gt)  # exactly 10 px: correct
    assert at.total == 100.0
    beyond = metrics.lsp_pck(gt + [6.0, 8.01], gt)
    assert beyond.total == 0.0
    half = gt.copy()
    half[0, [LSP.index("neck"), LSP.index("r_wrist")]] += [0.0, 10.5]
    result = metrics.lsp_pck(half, gt)
    assert result.groups["Head"] == 50.0  # mean of neck (0) and head top (100)
    assert result.groups["Wri"] == 50.0
    assert result.groups["Knee"] == 100.0
    assert result.total == pytest.approx(100.0 * 12 / 14)


def test_lsp_pck_threshold_scales_with_torso():
    gt = np.concatenate([_lsp_person(), _lsp_person() * 2.0])  # torso 50 and 100
    pred = gt + [15.0, 0.0]
    assert metrics.lsp_pck(pred, gt, threshold=0.2).total == 50.0  # 15 > 10, 15 <= 20
    assert metrics.lsp_pck(pred, gt, threshold=0.3).total == 100.0


def test_flic_pck_scores_elbows_and_wrists_only():
    flic = KeypointSet.custom(
        "flic",
        ["l_shoulder", "l_elbow", "l_wrist", "r_shoulder", "r_elbow", "r_wrist", "l_hip", "r_hip"],
    )
    gt = np.zeros((2, 8, 2))
    gt[:, flic.index("r_hip")] = (30.0, 40.0)  # torso 50 → 10 px at 0.2
    pred = gt.copy()
    pred[:, flic.index("l_shoulder")] += 100.0  # not scored on FLIC
    pred[0, flic.index("l_wrist")] += (0.0, 10.0)  # exactly at the threshold: correct
    pred[1, flic.index("r_wrist")] += (0.0, 10.5)
    result = metrics.flic_pck(pred, gt, flic)
    assert list(result.groups) == ["Elb", "Wri"]
    assert result.groups == {"Elb": 100.0, "Wri": 75.0}
    assert result.total == pytest.approx(100.0 * 7 / 8)


def test_pck_table_nan_total_when_nothing_is_annotated():
    gt = np.zeros((1, 14, 3))
    result = metrics.pck_table(gt[..., :2], gt, [1.0], "lsp")
    assert np.isnan(result.total) and np.isnan(result.per_joint).all()
    assert json.loads(json.dumps(result.as_dict()))["total"] is None


# -------------------------------------------------------- streaming metric
def _batch(seed, b=6, k=16):
    rng = np.random.default_rng(seed)
    gt = np.concatenate(
        [rng.uniform(0, 64, (b, k, 2)), rng.integers(0, 3, (b, k, 1)).astype(float)], axis=-1
    )
    pred = gt[..., :2] + rng.normal(0, 3, (b, k, 2))
    norm = rng.uniform(4, 10, b)
    return gt.astype("float32"), pred.astype("float32"), norm.astype("float32")


def test_pck_metric_batches_equal_one_shot_and_reset():
    batches = [_batch(s) for s in range(3)]
    metric = PCKMetric(threshold=0.5)
    for gt, pred, norm in batches:
        metric.update_state(gt, pred, normalizer=norm)
    gt, pred, norm = (np.concatenate(parts) for parts in zip(*batches, strict=True))
    expected = metrics.pck(pred, gt, norm, threshold=0.5)
    assert 0 < expected < 100
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)
    metric.reset_state()
    assert float(metric.result()) == 0.0
    metric.update_state(*batches[0][:2], normalizer=batches[0][2])
    assert float(metric.result()) == pytest.approx(
        metrics.pck(*[batches[0][i] for i in (1, 0, 2)]), abs=1e-4
    )


def test_pck_metric_in_tf_function_skips_bad_normalizer_and_weights():
    gt, pred, norm = _batch(7, b=4)
    metric = PCKMetric(threshold=0.5)

    @tf.function
    def step(gt, pred, norm, weight):
        metric.update_state(gt, pred, normalizer=norm, sample_weight=weight)

    bad_norm = norm.copy()
    bad_norm[1] = np.nan
    bad_norm[2] = 0.0
    weight = np.array([1.0, 1.0, 1.0, 0.0], "float32")
    step(gt, pred, bad_norm, weight)
    keep = np.array([True, False, False, False])
    expected = metrics.pck(pred[keep], gt[keep], norm[keep])
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)


def test_pck_metric_boundary_and_config():
    gt = np.array([[[0.0, 0.0, 2.0], [0.0, 0.0, 2.0]]], "float32")
    pred = np.array([[[3.0, 4.0], [3.0, 4.5]]], "float32")  # error 5 = 0.5 × 10; 5.41
    metric = PCKMetric(threshold=0.5)
    metric.update_state(gt, pred, normalizer=np.array([10.0], "float32"))
    assert float(metric.result()) == 50.0
    clone = PCKMetric.from_config(metric.get_config())
    assert clone.threshold == 0.5 and clone.name == "pck"
    assert isinstance(
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(metric)),
        PCKMetric,
    )
    with pytest.raises(ValueError, match="threshold=0"):
        PCKMetric(threshold=0)
    with pytest.raises(ValueError, match="normalizer"):
        metric.update_state(gt, pred)


# ------------------------------------------------------------------ COCO AP
def _coco_val():
    with open(data_path("coco-mini", "annotations", "person_keypoints_val2017.json")) as f:
        return json.load(f)


def _gt_as_results(gt, noise_px=0.0, seed=0):
    rng = np.random.default_rng(seed)
    results = []
    for ann in gt["annotations"]:
        if ann.get("iscrowd", 0) or ann["num_keypoints"] == 0:
            continue
        kps = np.asarray(ann["keypoints"], np.float64).reshape(17, 3)
        kps[:, :2] += noise_px * rng.standard_normal((17, 2))
        results.append((ann["image_id"], kps))
    ids, kps = zip(*results, strict=True)
    return coco_metrics.keypoints_to_coco_results(ids, np.stack(kps), np.ones(len(ids)))


@pytest.mark.data
def test_coco_ap_ground_truth_scores_one_and_drops_with_noise():
    gt = _coco_val()
    perfect = coco_metrics.coco_keypoint_ap(copy.deepcopy(gt), _gt_as_results(gt))
    assert perfect["AP"] == pytest.approx(1.0)
    assert perfect["AP50"] == pytest.approx(1.0) and perfect["AR"] == pytest.approx(1.0)
    aps = [
        coco_metrics.coco_keypoint_ap(copy.deepcopy(gt), _gt_as_results(gt, noise))["AP"]
        for noise in (1.0, 3.0, 6.0, 12.0)
    ]
    assert all(a > b for a, b in zip([perfect["AP"], *aps], aps, strict=False)), aps


def test_coco_results_reject_bad_arrays():
    with pytest.raises(ValueError, match=r"image_ids and scores must have shape \(2,\)"):
        coco_metrics.keypoints_to_coco_results([1], np.zeros((2, 17, 2)), [1.0, 1.0])
    bad = np.zeros((1, 17, 2))
    bad[0, 3, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        coco_metrics.keypoints_to_coco_results([1], bad, [1.0])
