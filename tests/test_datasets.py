"""Readers → Records: real files in ../shared/data and small constructed ones."""

import json

import h5py
import numpy as np
import pytest
import scipy.io

from kerashg.data import load_records
from kerashg.data.coco import read_coco
from kerashg.data.lsp import joints_to_keypoints, read_lsp
from kerashg.data.mpii import read_mpii_h5, read_mpii_json, read_mpii_mat
from kerashg.data.records import Records, check_relative_path
from kerashg.errors import AnnotationError
from kerashg.keypoints import COCO, LSP, MPII, KeypointSet
from tests.conftest import data_path


# ----------------------------------------------------------------- real data
@pytest.mark.data
def test_mpii_valid_h5_has_2958_people_with_hourglass_conventions():
    path = data_path("mpii", "valid.h5")
    records = read_mpii_h5(path)
    assert len(records) == 2958 and records.keypoint_set is MPII
    with h5py.File(path) as f:
        part, visible = f["part"][()], f["visible"][()]
        np.testing.assert_allclose(records.head_size, f["normalize"][()], rtol=1e-6)
        np.testing.assert_allclose(records.center, f["center"][()], rtol=1e-6)
    v = records.keypoints[..., 2]
    missing = (part == 0).all(-1)
    assert (v[missing] == 0).all() and missing.sum() == 3088
    assert (v[~missing & (visible == 1)] == 2).all() and (v[~missing & (visible == 0)] == 1).all()
    assert records.image_path[0] == "images/005808361.jpg"


@pytest.mark.data
def test_mpii_mmpose_json_reproduces_the_h5_rows():
    json_records = read_mpii_json(data_path("mpii", "images", "annotations.json"))
    h5_records = read_mpii_h5(data_path("mpii", "valid.h5"))
    assert len(json_records) == 5
    np.testing.assert_array_equal(json_records.image_path, h5_records.image_path[:5])
    np.testing.assert_allclose(json_records.center, h5_records.center[:5], atol=1e-3)
    np.testing.assert_allclose(json_records.scale, h5_records.scale[:5], rtol=1e-5)
    annotated = h5_records.keypoints[:5, :, 2] > 0
    np.testing.assert_array_equal(json_records.keypoints[..., 2] > 0, annotated)
    # valid.h5 rounds neck and head top to whole pixels; the JSON keeps MPII's values.
    diff = np.abs(json_records.keypoints[..., :2] - h5_records.keypoints[:5, :, :2])
    assert diff[annotated].max() <= 1.0


@pytest.mark.data
def test_load_records_mpii_picks_the_h5_for_val():
    records = load_records("mpii", data_path("mpii"), "val")
    assert len(records) == 2958


@pytest.mark.data
def test_coco_mini_val_has_68_people_and_counts_the_skipped():
    records = load_records("coco", data_path("coco-mini"), "val")
    assert len(records) == 68 and records.keypoint_set is COCO
    assert records.skipped == {"crowd": 1, "no_keypoints": 49, "empty_box": 0}
    assert records.image_path[0].startswith("images/val2017/")
    assert np.isnan(records.head_size).all()
    ann = json.loads(
        data_path("coco-mini", "annotations", "person_keypoints_val2017.json").read_text()
    )
    first = next(a for a in ann["annotations"] if a["num_keypoints"] > 0 and not a["iscrowd"])
    x, y, w, h = first["bbox"]
    np.testing.assert_allclose(records.center[0], [x + w / 2, y + h / 2], rtol=1e-6)
    assert records.scale[0] == pytest.approx(max(w, h) * 1.25 / 200, rel=1e-5)
    np.testing.assert_array_equal(records.keypoints[0].ravel(), first["keypoints"])


@pytest.mark.data
def test_lsp_400_extended_layout_visibility():
    records = load_records("lsp", data_path("lsp"), "all")
    assert len(records) == 400 and records.keypoint_set is LSP
    joints = scipy.io.loadmat(data_path("lsp", "joints.mat"))["joints"]  # (14, 3, 400)
    v = records.keypoints[..., 2]
    np.testing.assert_array_equal(v == 2, joints[:, 2, :].T == 1)
    assert ((v == 0) == (joints[:, 2, :].T == 0)).all()
    # The box around the annotated joints (× 1.25) fits every annotated joint.
    kps = records.keypoints
    half = records.scale[:, None] * 100.0
    annotated = kps[..., 2] > 0
    assert (
        np.abs(kps[..., :2] - records.center[:, None])[annotated]
        <= half.repeat(14, 1)[annotated, None]
    ).all()
    assert records.image_path[399] == "images/im00400.jpg"


# ---------------------------------------------------------- constructed data
def test_lsp_original_layout_means_zero_visible():
    joints = np.zeros((3, 14, 2), np.float64)
    joints[0], joints[1] = 10.0, 20.0
    joints[2, 3, 0] = 1.0  # occluded
    kps = joints_to_keypoints(joints)
    assert kps.shape == (2, 14, 3)
    assert kps[0, 3, 2] == 1 and (np.delete(kps[0, :, 2], 3) == 2).all()
    # The same array as (14, 3, N): most joints flagged 0 yet located, the original's
    # content; refused rather than read with the flags' meaning flipped.
    with pytest.raises(AnnotationError, match="has the shape of LSP-extended"):
        joints_to_keypoints(np.transpose(joints, (1, 0, 2)))
    extended = np.transpose(joints, (1, 0, 2)).copy()
    extended[:, 2], extended[0, 2, 0] = 1.0, 0.0
    ext = joints_to_keypoints(extended)
    assert ext[0, 3, 2] == 2 and ext[0, 0, 2] == 0  # extended: 1 visible, 0 missing
    with pytest.raises(AnnotationError, match="joints"):
        joints_to_keypoints(np.zeros((4, 14, 2)))


def test_lsp_split_of_the_original_2000(tmp_path):
    joints = np.random.default_rng(0).uniform(10, 100, size=(3, 14, 2000))
    joints[2] = 0
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    train = read_lsp(tmp_path / "joints.mat", split="train")
    val = read_lsp(tmp_path / "joints.mat", split="val")
    assert len(train) == len(val) == 1000 and val.id[0] == 1001


def _struct_array(rows, fields):
    array = np.zeros((1, len(rows)), dtype=[(f, "O") for f in fields])
    for i, row in enumerate(rows):
        for f in fields:
            array[0, i][f] = row.get(f, np.zeros((0, 0)))
    return array


def _point(pid, x, y, vis):
    return {"id": pid, "x": x, "y": y, "is_visible": vis}


def _write_official_mat(path):
    """A three-image RELEASE in the official MPII structure."""
    rect_fields = ["x1", "y1", "x2", "y2", "annopoints", "scale", "objpos"]
    points = _struct_array(
        [
            _point(0, 100.0, 200.0, "1"),
            _point(9, 110.0, 50.0, 0),
            _point(15, 130.0, 120.0, np.zeros((0, 0))),
        ],
        ["id", "x", "y", "is_visible"],
    )
    person0 = {
        "x1": 100.0, "y1": 40.0, "x2": 130.0, "y2": 80.0,
        "annopoints": {"point": points}, "scale": 2.0, "objpos": {"x": 120.0, "y": 150.0},
    }  # fmt: skip
    person1 = {"objpos": {"x": 300.0, "y": 150.0}, "scale": 1.0}  # no joints
    single_point = _struct_array([_point(6, 50.0, 60.0, "1")], ["id", "x", "y", "is_visible"])
    person_img3 = {
        "x1": 0.0, "y1": 0.0, "x2": 3.0, "y2": 4.0,
        "annopoints": {"point": single_point}, "scale": 1.0, "objpos": {"x": 50.0, "y": 50.0},
    }  # fmt: skip
    annolist = _struct_array(
        [
            {
                "image": {"name": "a.jpg"},
                "annorect": _struct_array([person0, person1], rect_fields),
            },
            {"image": {"name": "test.jpg"}, "annorect": _struct_array([person1], rect_fields)},
            {"image": {"name": "c.jpg"}, "annorect": _struct_array([person_img3], rect_fields)},
        ],
        ["image", "annorect"],
    )
    release = {"annolist": annolist, "img_train": np.array([[1, 0, 1]]), "version": "12"}
    scipy.io.savemat(path, {"RELEASE": release})


def test_official_mpii_mat_reader(tmp_path):
    path = tmp_path / "mpii_human_pose_v1_u12_1.mat"
    _write_official_mat(path)
    records = read_mpii_mat(path, split="all")
    assert len(records) == 2
    assert records.skipped == {"no_joints": 1, "test_image": 1}
    r = records[0]
    assert r["image_path"] == "images/a.jpg"
    np.testing.assert_allclose(r["center"], [120.0, 150.0 + 15 * 2.0])
    assert r["scale"] == pytest.approx(2.0 * 1.25)
    assert r["head_size"] == pytest.approx(0.6 * 50.0)
    kps = r["keypoints"]
    np.testing.assert_allclose(kps[0], [100, 200, 2])  # is_visible '1'
    np.testing.assert_allclose(kps[9], [110, 50, 1])  # is_visible 0 → occluded
    np.testing.assert_allclose(kps[15], [130, 120, 2])  # empty is_visible → annotated
    assert (np.delete(kps[:, 2], [0, 9, 15]) == 0).all()
    assert records[1]["keypoints"][6, 2] == 2 and records[1]["head_size"] == pytest.approx(3.0)

    valid = {("c.jpg", 0)}
    train = read_mpii_mat(path, split="train", valid_list=valid)
    held_out = read_mpii_mat(path, split="valid", valid_list=valid)
    assert list(train.image_path) == ["images/a.jpg"]
    assert list(held_out.image_path) == ["images/c.jpg"]
    with pytest.raises(ValueError, match="valid_list"):
        read_mpii_mat(path, split="valid")


def test_official_mat_bad_joint_id_names_record_and_field(tmp_path):
    points = _struct_array([_point(16, 1.0, 2.0, "1")], ["id", "x", "y", "is_visible"])
    rect = {"annopoints": {"point": points}, "scale": 1.0, "objpos": {"x": 1.0, "y": 1.0}}
    annolist = _struct_array(
        [{"image": {"name": "a.jpg"}, "annorect": _struct_array([rect], list(rect))}],
        ["image", "annorect"],
    )
    scipy.io.savemat(
        tmp_path / "m.mat", {"RELEASE": {"annolist": annolist, "img_train": np.array([[1]])}}
    )
    with pytest.raises(
        AnnotationError,
        match=r"m\.mat: record annolist\(1\)\.annorect\(1\): field 'annopoints\.point\.id'.*16",
    ):
        read_mpii_mat(tmp_path / "m.mat", split="all")


def test_malformed_coco_names_file_record_and_field(tmp_path):
    good = {
        "image_id": 1,
        "keypoints": [1, 2, 2] * 17,
        "bbox": [0, 0, 10, 20],
        "iscrowd": 0,
        "id": 5,
    }
    bad = dict(good, keypoints=[1, 2, 2] * 16 + [1, 2], id=6)
    data = {"images": [{"id": 1, "file_name": "x.jpg"}], "annotations": [good, bad]}
    path = tmp_path / "person_keypoints_val2017.json"
    path.write_text(json.dumps(data))
    with pytest.raises(
        AnnotationError,
        match=r"person_keypoints_val2017\.json: record annotations\[1\]: field 'keypoints'.*50",
    ):
        read_coco(path, "val2017")
    path.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match="'annotations'"):
        read_coco(path, "val2017")


def test_malformed_mpii_h5_names_the_field(tmp_path):
    with h5py.File(tmp_path / "valid.h5", "w") as f:
        f["imgname"] = np.array([b"a.jpg"])
        f["center"] = np.zeros((1, 2))
        f["scale"] = np.ones(1)
        f["part"] = np.zeros((1, 15, 2))
        f["visible"] = np.zeros((1, 16))
    with pytest.raises(AnnotationError, match=r"valid\.h5.*'part'.*\(1, 16, 2\)"):
        read_mpii_h5(tmp_path / "valid.h5")


@pytest.mark.parametrize("bad", ["../secret.jpg", "/etc/passwd", "a/../../b.jpg", "C:/x.jpg"])
def test_paths_escaping_the_data_root_are_refused(bad):
    with pytest.raises(AnnotationError, match="image_path"):
        check_relative_path(bad, "ann.json", 3)


def test_paths_are_normalised():
    assert check_relative_path("./images//a/../b.jpg") == "images/b.jpg"


def test_records_check_values_and_roundtrip(tmp_path):
    fish = KeypointSet.custom("fish", ["snout", "l_fin", "r_fin", "tail"], flip_pairs=[(1, 2)])
    kps = np.array([[1, 2, 2], [3, 4, 1], [5, 6, 0], [7, 8, 2]], np.float32)
    records = Records.from_dicts(
        [{"image_path": "a.jpg", "keypoints": kps, "center": (3, 4), "scale": 0.5}], fish
    )
    assert np.isnan(records.head_size[0]) and records.id[0] == 0
    records.save(tmp_path / "r.npz")
    back = Records.load(tmp_path / "r.npz")
    assert back.keypoint_set.flip_index.tolist() == [0, 2, 1, 3]
    np.testing.assert_array_equal(back.keypoints, records.keypoints)
    with pytest.raises(AnnotationError, match=r"record 0: field 'scale'.*-1"):
        Records.from_dicts(
            [{"image_path": "a.jpg", "keypoints": kps, "center": (3, 4), "scale": -1}], fish
        )
    with pytest.raises(AnnotationError, match=r"record 0: field 'keypoints'.*\(4, 3\)"):
        Records.from_dicts(
            [{"image_path": "a.jpg", "keypoints": kps[:3], "center": (3, 4), "scale": 1}], fish
        )
    bad_v = kps.copy()
    bad_v[0, 2] = 3
    with pytest.raises(AnnotationError, match="visibility of joint 0"):
        Records.from_dicts(
            [{"image_path": "a.jpg", "keypoints": bad_v, "center": (3, 4), "scale": 1}], fish
        )


@pytest.mark.data
def test_load_records_cache_dir_is_used_and_data_dir_untouched(tmp_path):
    root = data_path("lsp")
    before = sorted(p.name for p in root.iterdir())
    records = load_records("lsp", root, "all", cache_dir=tmp_path)
    files = list(tmp_path.glob("lsp-all-*.npz"))
    assert len(files) == 1
    cached = Records.load(files[0])
    np.testing.assert_array_equal(cached.keypoints, records.keypoints)
    assert sorted(p.name for p in root.iterdir()) == before


def test_synthetic_h5_writer_round_trips_through_the_mpii_reader(tmp_path):
    from kerashg.data import synthetic

    path = synthetic.write_mpii_h5(tmp_path, 3, seed=5, image_size=64, workers=1)
    records = read_mpii_h5(path)
    sample = synthetic.render_sample(0, seed=5, image_size=64)
    assert records.image_path[0] == "images/s5_00000000.jpg"
    np.testing.assert_allclose(records.keypoints[0], sample["keypoints"], atol=1e-4)
    np.testing.assert_allclose(records.center[0], sample["center"], atol=1e-4)
