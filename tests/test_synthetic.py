"""Tests of the embedded synthetic data set (kerashg/data/synthetic/)."""

import dataclasses
import json

import cv2
import h5py
import numpy as np
import pytest

from kerashg.data.synthetic import (
    HEAD_SIZE_RATIO,
    SCALE_MARGIN,
    RenderConfig,
    SyntheticPoses,
    parse_difficulty,
    render_sample,
    resolve_config,
    write_coco_json,
    write_mpii_h5,
)
from kerashg.keypoints import COCO, MPII
from kerashg.transforms import PIXEL_STD

SIZE = 96  # small images keep the tests fast; geometry does not depend on size
SEED = 3

# Only an occluder can hide joints here: no clutter, no second person, arms in front.
OCCLUDED = dataclasses.replace(
    resolve_config("easy"),
    num_distractors=(0, 0),
    p_occluder=1.0,
    p_arm_behind=0.0,
)
WITH_SECOND_PERSON = dataclasses.replace(resolve_config("moderate"), p_second_person=1.0)
BACK_FACING = dataclasses.replace(resolve_config("moderate"), p_back_facing=1.0)


def _samples(n, difficulty="moderate", **kwargs):
    return [render_sample(i, SEED, SIZE, difficulty, return_mask=True, **kwargs) for i in range(n)]


def test_same_seed_and_index_give_identical_sample_in_any_order():
    first = render_sample(7, SEED, SIZE)
    for i in (3, 0, 11):
        render_sample(i, SEED, SIZE)
    again = render_sample(7, SEED, SIZE)
    np.testing.assert_array_equal(first["image"], again["image"])
    np.testing.assert_array_equal(first["keypoints"], again["keypoints"])
    assert first["scale"] == again["scale"] and first["head_size"] == again["head_size"]
    other_index = render_sample(8, SEED, SIZE)
    other_seed = render_sample(7, SEED + 1, SIZE)
    assert not np.array_equal(first["image"], other_index["image"])
    assert not np.array_equal(first["image"], other_seed["image"])
    assert not np.allclose(first["keypoints"], other_index["keypoints"])


def test_shapes_dtypes_and_ranges():
    for keypoint_set, k in (("mpii", 16), ("coco", 17)):
        sample = render_sample(1, SEED, SIZE, keypoint_set=keypoint_set)
        assert sample["image"].shape == (SIZE, SIZE, 3) and sample["image"].dtype == np.uint8
        assert sample["keypoints"].shape == (k, 3) and sample["keypoints"].dtype == np.float32
        assert sample["center"].shape == (2,) and sample["center"].dtype == np.float32
        assert sample["scale"].dtype == np.float32 and sample["scale"] > 0
        assert sample["head_size"].dtype == np.float32 and sample["head_size"] > 0
        assert set(np.unique(sample["keypoints"][:, 2])) <= {0.0, 1.0, 2.0}
    # The image is not flat: a background, a person, clutter.
    assert sample["image"].std() > 10


def test_annotated_joints_are_inside_the_image_and_visible_ones_on_the_figure():
    counts = np.zeros(3, int)
    for sample in _samples(40, "hard"):
        kp, mask = sample["keypoints"], sample["mask"]
        v = kp[:, 2]
        counts += np.bincount(v.astype(int), minlength=3)
        np.testing.assert_array_equal(kp[v == 0], 0.0)
        xy = kp[v > 0, :2]
        assert np.all((xy >= -0.5) & (xy < SIZE - 0.5))
        col, row = np.rint(kp[:, 0]).astype(int), np.rint(kp[:, 1]).astype(int)
        assert mask[row[v == 2], col[v == 2]].all(), "a visible joint is not on its figure"
    assert counts[2] > counts[1] > 0 and counts[0] > 0  # "hard" truncates some people


def test_occluder_marks_joints_as_occluded():
    samples = _samples(30, OCCLUDED)
    with_occluded = [s for s in samples if (s["keypoints"][:, 2] == 1).any()]
    assert len(with_occluded) >= 0.7 * len(samples)
    for sample in with_occluded:
        kp = sample["keypoints"]
        col, row = np.rint(kp[:, 0]).astype(int), np.rint(kp[:, 1]).astype(int)
        hidden = kp[:, 2] == 1
        # The occluder is on top of at least one of them (others may be self-occlusion).
        assert (~sample["mask"][row[hidden], col[hidden]]).any()
    without = _samples(30, dataclasses.replace(OCCLUDED, p_occluder=0.0))
    assert sum((s["keypoints"][:, 2] == 1).sum() for s in without) < sum(
        (s["keypoints"][:, 2] == 1).sum() for s in samples
    )


def test_center_and_scale_contain_every_keypoint_with_the_documented_margin():
    for sample in _samples(30, "hard"):
        kp = sample["keypoints"]
        annotated = kp[:, 2] > 0
        half = sample["scale"] * PIXEL_STD / 2
        assert np.all(np.abs(kp[annotated, :2] - sample["center"]) <= half)
        if annotated.all():  # no truncation: the box is exactly SCALE_MARGIN × the joint box
            extent = (kp[:, :2].max(0) - kp[:, :2].min(0)).max()
            np.testing.assert_allclose(
                sample["scale"] * PIXEL_STD, SCALE_MARGIN * extent, rtol=1e-5
            )
            mid = (kp[:, :2].max(0) + kp[:, :2].min(0)) / 2
            np.testing.assert_allclose(sample["center"], mid, atol=1e-3)


def test_head_size_is_mpii_ratio_of_neck_to_head_top():
    neck, top = MPII.index("upper_neck"), MPII.index("head_top")
    for sample in _samples(20):
        kp = sample["keypoints"]
        assert sample["head_size"] > 0
        if kp[neck, 2] > 0 and kp[top, 2] > 0:
            d = np.linalg.norm(kp[neck, :2] - kp[top, :2])
            np.testing.assert_allclose(sample["head_size"], HEAD_SIZE_RATIO * d, rtol=1e-4)
    assert HEAD_SIZE_RATIO == pytest.approx(0.75)


def _right_of_body_axis(kp):
    """Sign of cross(pelvis→thorax, left→right hip) per sample; < 0: right on the image left."""
    axis = kp[:, MPII.index("thorax"), :2] - kp[:, MPII.index("pelvis"), :2]
    hips = kp[:, MPII.index("r_hip"), :2] - kp[:, MPII.index("l_hip"), :2]
    return np.sign(axis[:, 0] * hips[:, 1] - axis[:, 1] * hips[:, 0])


def test_front_facing_right_side_is_on_the_image_left_and_survives_flip_with_swap():
    records = SyntheticPoses(SEED, SIZE, workers=1).records(30)
    kp = records["keypoints"]
    full = (kp[:, :, 2] > 0).all(1)
    assert full.sum() > 10
    assert np.all(_right_of_body_axis(kp[full]) < 0)
    flipped = kp[:, MPII.flip_index].copy()
    flipped[..., 0] = SIZE - 1 - flipped[..., 0]
    assert np.all(_right_of_body_axis(flipped[full]) < 0)
    back = SyntheticPoses(SEED, SIZE, BACK_FACING, workers=1).records(30)["keypoints"]
    full = (back[:, :, 2] > 0).all(1)
    assert np.all(_right_of_body_axis(back[full]) > 0)


def test_coco_layout_shares_mpii_joints_and_puts_face_on_the_head():
    for i in range(6):
        mpii = render_sample(i, SEED, SIZE)["keypoints"]
        coco = render_sample(i, SEED, SIZE, keypoint_set="coco")["keypoints"]
        for name in ("l_shoulder", "r_elbow", "l_wrist", "r_hip", "l_knee", "r_ankle"):
            np.testing.assert_array_equal(coco[COCO.index(name)], mpii[MPII.index(name)])
        neck, top = mpii[MPII.index("upper_neck"), :2], mpii[MPII.index("head_top"), :2]
        d = np.linalg.norm(top - neck)
        for name in ("nose", "l_eye", "r_eye", "l_ear", "r_ear"):
            point = coco[COCO.index(name)]
            if point[2] > 0:
                assert np.linalg.norm(point[:2] - (neck + top) / 2) < 0.6 * d
    back = render_sample(0, SEED, SIZE, BACK_FACING, keypoint_set="coco")["keypoints"]
    np.testing.assert_array_equal(
        back[[COCO.index("nose"), COCO.index("l_eye"), COCO.index("r_eye")], 2], 0
    )


def test_render_batch_matches_render_sample_with_threads():
    poses = SyntheticPoses(SEED, SIZE, workers=2)
    records = poses.records(5, start=4)
    assert records["image"].shape == (5, SIZE, SIZE, 3) and records["keypoints"].shape == (5, 16, 3)
    np.testing.assert_array_equal(records["id"], np.arange(4, 9))
    for row, index in enumerate(range(4, 9)):
        sample = render_sample(index, SEED, SIZE)
        np.testing.assert_array_equal(records["image"][row], sample["image"])
        np.testing.assert_array_equal(records["keypoints"][row], sample["keypoints"])
        assert (
            records["scale"][row] == sample["scale"]
            and records["head_size"][row] == sample["head_size"]
        )
        np.testing.assert_array_equal(poses[index]["image"], sample["image"])


def test_write_mpii_h5_round_trip(tmp_path):
    path = write_mpii_h5(
        tmp_path, 6, seed=SEED, split="valid", image_size=SIZE, difficulty=WITH_SECOND_PERSON
    )
    assert path == tmp_path / "annot" / "valid.h5"
    with h5py.File(path, "r") as f:
        data = {key: f[key][()] for key in f}
    # The keys of the stacked hourglass's annot/valid.h5.
    assert set(data) == {
        "center",
        "scale",
        "part",
        "visible",
        "normalize",
        "imgname",
        "index",
        "person",
        "torsoangle",
    }
    n = len(data["scale"])
    assert n > 6 and (data["person"] == 1).any()  # second people are annotated too
    assert data["part"].shape == (n, 16, 2) and data["visible"].shape == (n, 16)
    for row in range(n):
        index, person = int(data["index"][row]), int(data["person"][row])
        sample = render_sample(index, SEED, SIZE, WITH_SECOND_PERSON)
        annotation = sample if person == 0 else sample["others"][person - 1]
        kp = annotation["keypoints"]
        np.testing.assert_allclose(
            data["part"][row], np.where(kp[:, 2:] > 0, kp[:, :2], 0), atol=1e-4
        )
        np.testing.assert_array_equal(data["visible"][row], kp[:, 2] == 2)
        np.testing.assert_allclose(data["center"][row], annotation["center"], atol=1e-4)
        assert data["scale"][row] == pytest.approx(annotation["scale"])
        assert data["normalize"][row] == pytest.approx(annotation["head_size"])
        image = cv2.imread(str(tmp_path / "images" / data["imgname"][row].decode()))
        assert image.shape == (SIZE, SIZE, 3)
        jpeg_error = np.abs(image[..., ::-1].astype(int) - sample["image"]).mean()
        assert jpeg_error < 8


def test_write_coco_json_round_trip(tmp_path):
    path = write_coco_json(
        tmp_path, 5, seed=SEED, split="val", image_size=SIZE, difficulty=WITH_SECOND_PERSON
    )
    assert path == tmp_path / "annotations" / "person_keypoints_val2017.json"
    document = json.loads(path.read_text())
    assert [c["name"] for c in document["categories"]] == ["person"]
    assert len(document["categories"][0]["keypoints"]) == 17
    assert len(document["images"]) == 5 and len(document["annotations"]) > 5
    by_image = {}
    for annotation in document["annotations"]:
        by_image.setdefault(annotation["image_id"], []).append(annotation)
    for image in document["images"]:
        assert (tmp_path / "val2017" / image["file_name"]).exists()
        sample = render_sample(image["id"] - 1, SEED, SIZE, WITH_SECOND_PERSON, keypoint_set="coco")
        people = [sample] + sample["others"]
        annotations = by_image[image["id"]]
        assert len(annotations) == len(people)
        for person, annotation in zip(people, annotations, strict=True):
            kp = np.array(annotation["keypoints"], np.float32).reshape(17, 3)
            np.testing.assert_allclose(kp, person["keypoints"], atol=0.006)
            assert annotation["num_keypoints"] == int((kp[:, 2] > 0).sum())
            x, y, w, h = annotation["bbox"]
            assert w > 0 and h > 0 and annotation["area"] > 0 and annotation["segmentation"]
            visible = kp[kp[:, 2] == 2, :2]
            assert np.all((visible >= (x - 1, y - 1)) & (visible <= (x + w + 1, y + h + 1)))


def test_project_readers_load_the_written_files(tmp_path):
    from kerashg.data import load_records

    write_mpii_h5(tmp_path / "mpii", 4, seed=SEED, split="valid", image_size=SIZE)
    write_coco_json(tmp_path / "coco", 4, seed=SEED, split="val", image_size=SIZE)
    records = SyntheticPoses(SEED, SIZE, workers=1).records(4)
    mpii = load_records("mpii", tmp_path / "mpii", split="val")
    coco = load_records("coco", tmp_path / "coco", split="val")
    first = [list(mpii.image_path).index(f"images/s{SEED}_{i:08d}.jpg") for i in range(4)]
    np.testing.assert_allclose(mpii.keypoints[first], records["keypoints"], atol=1e-4)
    np.testing.assert_allclose(mpii.center[first], records["center"], atol=1e-4)
    np.testing.assert_allclose(mpii.scale[first], records["scale"], rtol=1e-6)
    np.testing.assert_allclose(mpii.head_size[first], records["head_size"], rtol=1e-6)
    assert len(coco.keypoints) == len(mpii.keypoints) and coco.keypoints.shape[1:] == (17, 3)


def test_coco_file_loads_in_pycocotools_and_scores_itself_perfectly(tmp_path):
    pycocotools = pytest.importorskip("pycocotools.coco")
    from pycocotools.cocoeval import COCOeval

    path = write_coco_json(tmp_path, 8, seed=SEED, split="val", image_size=SIZE)
    ground_truth = pycocotools.COCO(str(path))
    results = [
        dict(image_id=a["image_id"], category_id=1, keypoints=a["keypoints"], score=1.0)
        for a in ground_truth.loadAnns(ground_truth.getAnnIds())
    ]
    evaluation = COCOeval(ground_truth, ground_truth.loadRes(results), iouType="keypoints")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_cli_writes_a_data_set(tmp_path):
    from kerashg.data.synthetic.cli import main

    main(
        [
            "--out",
            str(tmp_path),
            "--format",
            "mpii",
            "--n",
            "2",
            "--image-size",
            "64",
            "--seed",
            "1",
        ]
    )
    assert len(list((tmp_path / "images").glob("*.jpg"))) == 2
    assert (tmp_path / "annot" / "train.h5").exists()


def test_difficulty_presets_and_levels():
    assert resolve_config(0.0) == resolve_config("easy")
    assert resolve_config(0.5) == resolve_config("moderate")
    assert resolve_config(1.0) == resolve_config("hard")
    # Command-line text: a number is a level, anything else a preset name.
    assert parse_difficulty("0.25") == 0.25 and parse_difficulty("hard") == "hard"
    assert resolve_config(parse_difficulty("0.25")) == resolve_config(0.25)
    middle = resolve_config(0.75)
    assert (
        resolve_config("moderate").p_occluder
        < middle.p_occluder
        < resolve_config("hard").p_occluder
    )


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: render_sample(-1), "index"),
        (lambda: render_sample(0, seed=-2), "seed"),
        (lambda: render_sample(0, image_size=16), "image_size"),
        (lambda: render_sample(0, difficulty="extreme"), "difficulty"),
        (lambda: render_sample(0, difficulty=1.5), "difficulty"),
        (lambda: render_sample(0, keypoint_set="lsp"), "keypoint_set"),
        (lambda: RenderConfig(p_occluder=2.0), "p_occluder"),
        (lambda: RenderConfig(box_fraction=(0.9, 0.5)), "box_fraction"),
        (lambda: SyntheticPoses(workers=0), "workers"),
        (lambda: SyntheticPoses().records(-1), "n"),
        (lambda: write_mpii_h5("/nonexistent", 1, split="holdout"), "split"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call, name):
    with pytest.raises(ValueError, match=name):
        call()
