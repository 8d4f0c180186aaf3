"""kerashg.evaluate (`python -m training.evaluate` too): the official numbers from the
published files, file layouts, bad input."""

import json
import os
import pathlib
import subprocess
import sys

import h5py
import numpy as np
import pytest
import scipy.io
from conftest import BLOCK_TENSORFLOW, data_path

from kerashg import evaluate
from kerashg.data.files import read_arrays
from kerashg.errors import InputError
from kerashg.evaluation import files, model_predictions, scoring
from kerashg.runtime import Runner

# The data folder's README: official MPII PCKh of two published prediction files.
EXPECTED_GROUPS = {
    "newell-hg8.h5": [95.9, 95.2, 89.1, 84.2, 87.0, 83.2, 80.4],
    "bearpaw-hg2.mat": [95.8, 94.6, 88.1, 83.3, 86.2, 80.9, 77.4],
}
EXPECTED_TOTAL = {  # (threshold, annotations) → total
    "newell-hg8.h5": {
        (0.5, "mat"): 88.43,
        (0.5, "h5"): 88.43,
        (0.1, "mat"): 21.59,
        (0.1, "h5"): 21.20,
    },
    "bearpaw-hg2.mat": {
        (0.5, "mat"): 87.30,
        (0.5, "h5"): 87.30,
        (0.1, "mat"): 23.91,
        (0.1, "h5"): 24.47,
    },
}
ANNOTATIONS = {"mat": "detections_our_format.mat", "h5": "valid.h5"}


@pytest.mark.data
@pytest.mark.parametrize("layout", ["mat", "h5"])
@pytest.mark.parametrize("preds", sorted(EXPECTED_GROUPS))
def test_mpii_official_numbers(preds, layout):
    annotations = data_path("mpii", ANNOTATIONS[layout])
    predictions = data_path("mpii", "preds", preds)
    result = scoring.evaluate_mpii(annotations, predictions, threshold=0.5)
    np.testing.assert_allclose(list(result.groups.values()), EXPECTED_GROUPS[preds], atol=0.1)
    assert result.total == pytest.approx(EXPECTED_TOTAL[preds][(0.5, layout)], abs=0.005)
    low = scoring.evaluate_mpii(annotations, predictions, threshold=0.1)
    assert low.total == pytest.approx(EXPECTED_TOTAL[preds][(0.1, layout)], abs=0.005)


@pytest.mark.data
def test_mpii_both_prediction_layouts_agree(tmp_path):
    annotations = data_path("mpii", "valid.h5")
    preds = h5py.File(data_path("mpii", "preds", "newell-hg8.h5"))["preds"][()]
    scipy.io.savemat(tmp_path / "t.mat", {"preds": preds.transpose(2, 1, 0)})  # (2, 16, N)
    a = scoring.evaluate_mpii(annotations, data_path("mpii", "preds", "newell-hg8.h5"))
    b = scoring.evaluate_mpii(annotations, tmp_path / "t.mat")
    assert a.total == b.total and a.groups == b.groups
    # The published (2, 16, N) file of Tompson et al. loads too.
    tompson = scoring.evaluate_mpii(annotations, data_path("mpii", "preds-extra", "tompson.h5"))
    assert 80.0 < tompson.total < 85.0


@pytest.mark.data
def test_mpii_cli_table_json_and_curve(capsys):
    args = [
        "--dataset",
        "mpii",
        "--annotations",
        str(data_path("mpii", "detections_our_format.mat")),
    ]
    args += ["--predictions", str(data_path("mpii", "preds", "bearpaw-hg2.mat"))]
    assert evaluate.main(args) == 0
    header, row = capsys.readouterr().out.strip().splitlines()
    assert header.split() == ["Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "Total"]
    assert row.split() == [
        "PCKh@0.5",
        "95.8",
        "94.6",
        "88.1",
        "83.3",
        "86.2",
        "80.9",
        "77.4",
        "87.30",
    ]
    assert evaluate.main([*args, "--threshold", "0.1", "--json", "--curve"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert round(out["total"], 2) == 23.91 and out["threshold"] == 0.1
    assert round(out["curve"]["total"][50], 2) == 87.30  # threshold 0.5 on the curve
    assert set(out) >= {"Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "total"}


# ---------------------------------------------------------- synthetic files
N = 5


@pytest.fixture
def synthetic_mpii(tmp_path):
    """A 5-person valid.h5-style annotation file and matching predictions."""
    rng = np.random.default_rng(0)
    part = rng.integers(10, 200, (N, 16, 2)).astype(np.float64)  # whole pixels: exact errors
    part[0, 6] = 0.0  # pelvis of person 0 not annotated
    with h5py.File(tmp_path / "valid.h5", "w") as f:
        f["part"] = part
        f["normalize"] = np.full(N, 20.0)
    preds = part + [6.0, 8.0]  # error 10 = 0.5 × 20: every joint correct at 0.5
    with h5py.File(tmp_path / "preds.h5", "w") as f:
        f["preds"] = preds
    return tmp_path, part, preds


def test_synthetic_valid_h5_and_threshold_boundary(synthetic_mpii):
    root, _, _ = synthetic_mpii
    assert scoring.evaluate_mpii(root / "valid.h5", root / "preds.h5", 0.5).total == 100.0
    assert scoring.evaluate_mpii(root / "valid.h5", root / "preds.h5", 0.49).total == 0.0


def test_official_mat_layout_reads_like_h5(tmp_path, synthetic_mpii):
    root, part, preds = synthetic_mpii
    boxes = np.zeros((N, 2, 2))
    boxes[:, 1] = [12.0, 16.0]  # diagonal 20 → head size 12
    missing = np.zeros((16, N), np.uint8)
    missing[6, 0] = 1
    scipy.io.savemat(
        root / "gt.mat",
        {
            "pos_gt_src": part.transpose(1, 2, 0),
            "headboxes_src": boxes.transpose(1, 2, 0),
            "jnt_missing": missing,
        },
    )
    gt = files.load_mpii_annotations(root / "gt.mat")
    np.testing.assert_allclose(gt.normalizer, 12.0)
    np.testing.assert_array_equal(
        gt.annotated, files.load_mpii_annotations(root / "valid.h5").annotated
    )
    assert scoring.evaluate_mpii(root / "gt.mat", root / "preds.h5", 10 / 12).total == 100.0


@pytest.mark.parametrize(
    "preds, key, message",
    [
        (np.zeros((N + 1, 16, 2)), "preds", r"shape \(6, 16, 2\); expected \(5, 16, 2\)"),
        (np.zeros((N, 14, 2)), "preds", r"shape \(5, 14, 2\); expected \(5, 16, 2\)"),
        (np.zeros((N, 16, 2)), "joints", r"no field 'preds'; fields found: \['joints'\]"),
        (np.full((N, 16, 2), np.nan), "preds", r"80 non-finite .* person 0, joint 0"),
    ],
)
def test_bad_predictions_name_file_and_shape(synthetic_mpii, preds, key, message):
    root, _, _ = synthetic_mpii
    path = root / "bad.mat"
    scipy.io.savemat(path, {key: preds})
    with pytest.raises(InputError, match=message) as error:
        scoring.evaluate_mpii(root / "valid.h5", path)
    assert str(path) in str(error.value)


def test_cli_bad_input_exits_2_with_one_line(synthetic_mpii, capsys):
    root, _, _ = synthetic_mpii
    scipy.io.savemat(root / "bad.mat", {"preds": np.zeros((2, 16, 7))})
    code = evaluate.main(
        [
            "--dataset",
            "mpii",
            "--annotations",
            str(root / "valid.h5"),
            "--predictions",
            str(root / "bad.mat"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert (
        err.startswith("error: ") and "\n" not in err and "bad.mat" in err and "(2, 16, 7)" in err
    )
    with h5py.File(root / "other.h5", "w") as f:
        f["joints"] = np.zeros((3, 3))
    assert (
        evaluate.main(
            [
                "--dataset",
                "mpii",
                "--annotations",
                str(root / "other.h5"),
                "--predictions",
                str(root / "preds.h5"),
            ]
        )
        == 2
    )
    assert "unknown MPII annotation layout" in capsys.readouterr().err
    assert (
        evaluate.main(
            [
                "--dataset",
                "mpii",
                "--annotations",
                str(root / "nope.h5"),
                "--predictions",
                str(root / "preds.h5"),
            ]
        )
        == 2
    )
    assert "file not found" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_process_exit_code_and_no_traceback(synthetic_mpii):
    root, _, _ = synthetic_mpii
    scipy.io.savemat(root / "bad.mat", {"preds": np.zeros((N, 16, 3))})
    env = {**os.environ, "PYTHONPATH": str(pathlib.Path(__file__).resolve().parents[1])}
    proc = subprocess.run(
        [sys.executable, "-m", "training.evaluate", "--dataset", "mpii", "--annotations",
         str(root / "valid.h5"), "--predictions", str(root / "bad.mat")],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert [line for line in proc.stderr.splitlines() if line.startswith("error: ")] == [
        f"error: {root / 'bad.mat'}: field 'preds' has shape (5, 16, 3); expected (5, 16, 2) "
        "or (2, 16, 5) or (16, 2, 5) for the 5 people and 16 joints of the annotations"
    ]
    # The older name runs kerashg.evaluate's main, its usage line named as typed.
    helped = subprocess.run(
        [sys.executable, "-m", "training.evaluate", "--help"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert helped.returncode == 0 and helped.stdout.startswith(
        "usage: python -m training.evaluate "
    )


# ---------------------------------------------------------------------- LSP
def test_lsp_cli_on_synthetic_file(tmp_path, capsys):
    rng = np.random.default_rng(3)
    joints = np.concatenate([rng.uniform(0, 300, (2, 14, 4)), np.zeros((1, 14, 4))])
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})  # original LSP layout
    gt = joints[:2].transpose(2, 1, 0)
    scipy.io.savemat(tmp_path / "exact.mat", {"preds": gt})
    torso = np.linalg.norm(gt[:, 9] - gt[:, 2], axis=-1)
    shifted = gt + (0.21 * torso)[:, None, None] * [1.0, 0.0]
    with h5py.File(tmp_path / "shifted.h5", "w") as f:
        f["preds"] = shifted.transpose(2, 1, 0)  # (2, 14, N)
    args = ["--dataset", "lsp", "--annotations", str(tmp_path / "joints.mat"), "--json"]
    assert evaluate.main([*args, "--predictions", str(tmp_path / "exact.mat")]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 100.0
    assert evaluate.main([*args, "--predictions", str(tmp_path / "shifted.h5")]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 0.0
    assert (
        evaluate.main([*args, "--predictions", str(tmp_path / "shifted.h5"), "--threshold", "0.22"])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["total"] == 100.0


@pytest.mark.data
def test_lsp_extended_real_annotations(tmp_path):
    path = data_path("lsp", "joints.mat")
    joints = scipy.io.loadmat(path)["joints"]  # (14, 3, 400), flag 0 = not visible
    gt = files.load_lsp_annotations(path)
    assert gt.layout.startswith("LSP-extended") and gt.keypoints.shape == (400, 14, 2)
    # Invisible joints never count; people without both torso joints are left out.
    assert not gt.annotated[joints[:, 2].T == 0].any()
    torso_ok = (joints[[9, 2], 2] > 0).all(axis=0)
    np.testing.assert_array_equal(gt.annotated, (joints[:, 2].T > 0) & torso_ok[:, None])
    assert (gt.normalizer[torso_ok] > 0).all()
    scipy.io.savemat(tmp_path / "p.mat", {"preds": joints[:, :2].transpose(2, 0, 1)})
    result = scoring.evaluate_lsp(path, tmp_path / "p.mat")
    assert result.total == 100.0
    assert result.notes == (
        f"{path}: read as LSP-extended (14, 3, N): 400 images, 4866 visible joints, 734 not "
        "annotated (flag 1 = visible, 0 = not annotated)",
        f"{path}: {int((~torso_ok).sum())} people without both torso joints visible left out",
    )


# --------------------------------------------------------------------- COCO
@pytest.mark.data
def test_coco_cli_ground_truth_results_score_ap_one(tmp_path, capsys):
    annotations = data_path("coco-mini", "annotations", "person_keypoints_val2017.json")
    anns = [
        a
        for a in json.loads(annotations.read_text())["annotations"]
        if a["num_keypoints"] > 0 and not a.get("iscrowd", 0)
    ]
    keypoints = np.array([a["keypoints"] for a in anns], np.float64).reshape(-1, 17, 3)
    image_ids = [a["image_id"] for a in anns]
    results = tmp_path / "results.json"
    stats = scoring.score_coco_keypoints(
        annotations, image_ids, keypoints[..., :2], np.ones(len(anns)), results
    )
    assert stats["AP"] == pytest.approx(1.0) and stats["AR"] == pytest.approx(1.0)
    args = ["--dataset", "coco", "--annotations", str(annotations), "--predictions", str(results)]
    assert evaluate.main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == stats
    assert set(stats) >= {"AP", "AP50", "AP75", "APm", "APl", "AR"}
    assert evaluate.main(args) == 0
    assert capsys.readouterr().out.split()[:6] == ["AP", "AP50", "AP75", "APm", "APl", "AR"]
    bad = json.loads(results.read_text())
    bad[0]["keypoints"] = bad[0]["keypoints"][:-3]
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert evaluate.main([*args[:-1], str(tmp_path / "bad.json")]) == 2
    assert "entry 0 'keypoints' has 48 numbers; expected 51" in capsys.readouterr().err
    assert evaluate.main([*args, "--threshold", "0.5"]) == 2


# --------------------------------------------------------------- model mode
LSP_IMAGES = 40  # train = images 1-36, val = images 37-40 (the last 10 %)
LSP_VAL_IDS = [37, 38, 39, 40]


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory):
    """Tiny untrained ACNN `.keras` files by keypoint count, built once per module."""
    import kerashg

    folder = tmp_path_factory.mktemp("models")
    built = {}

    def model(num_keypoints):
        if num_keypoints not in built:
            net = kerashg.ACNN(
                num_stacks=2, filters=16, depth=2, input_shape=(64, 64, 3),
                num_keypoints=num_keypoints,
            )  # fmt: skip
            built[num_keypoints] = folder / f"acnn{num_keypoints}.keras"
            net.save(built[num_keypoints])
        return built[num_keypoints]

    return model


def _write_images(folder, names, rng, size=(96, 80)):
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        image = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        cv2.circle(image, (48, 40), 12, (255, 255, 255), -1)
        cv2.imwrite(str(folder / name), image)


@pytest.fixture
def tiny_lsp(tmp_path):
    """An LSP-extended-layout folder: joints.mat (14, 3, 40) beside images/im000NN.jpg."""
    rng = np.random.default_rng(7)
    joints = np.ones((14, 3, LSP_IMAGES))
    joints[:, 0] = rng.uniform(20, 76, (14, LSP_IMAGES))  # x within the 96 px width
    joints[:, 1] = rng.uniform(15, 65, (14, LSP_IMAGES))  # y within the 80 px height
    joints[9, :, 37] = [0.0, -26.0, 0.0]  # image 38: no left shoulder, torso size undefined
    joints[0, 2, 38] = 0.0  # image 39: right ankle not annotated
    scipy.io.savemat(tmp_path / "joints.mat", {"joints": joints})
    _write_images(tmp_path / "images", [f"im{i:05d}.jpg" for i in range(1, LSP_IMAGES + 1)], rng)
    return tmp_path


def _json_main(capsys, args):
    code = evaluate.main([*args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


def test_model_mode_lsp_matches_file_mode(tiny_lsp, tiny_models, tmp_path, capsys):
    out = tmp_path / "preds.mat"
    model_args = ["--model", str(tiny_models(14)), "--data", "lsp", "--data-dir", str(tiny_lsp)]
    scored, err = _json_main(capsys, [*model_args, "--out", str(out)])
    assert "4/4 people" in err and "--split val" in err
    arrays = read_arrays(out)
    assert arrays["preds"].shape == (4, 14, 2)
    assert arrays["image_ids"].reshape(-1).tolist() == LSP_VAL_IDS
    file_args = ["--dataset", "lsp", "--annotations", str(tiny_lsp / "joints.mat")]
    file_args += ["--predictions", str(out), "--split", "val"]
    again, _ = _json_main(capsys, file_args)
    assert again["total"] == pytest.approx(scored["total"], abs=1e-9)
    assert again == scored
    # Person 38 has no torso size: left out and said so.
    assert scored["notes"][0].startswith(f"{tiny_lsp / 'joints.mat'}: read as LSP-extended")
    assert scored["notes"][1:] == [
        f"{tiny_lsp / 'joints.mat'}: 1 people without both torso joints visible left out"
    ]
    # Without --split the file does not line up with joints.mat: say which split it holds.
    assert evaluate.main(file_args[:-2]) == 2
    err = capsys.readouterr().err
    assert "names 4 images (37..40)" in err and "pass the --split" in err
    # The table, and the flip test, reproduce through the file mode too.
    assert evaluate.main([*model_args, "--out", str(out), "--flip", "--force"]) == 0
    captured = capsys.readouterr()
    assert captured.out.split()[:8] == ["Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "Total"]
    assert "note: " in captured.err and "flip test" in captured.err
    assert evaluate.main(file_args) == 0
    assert capsys.readouterr().out == captured.out


def test_model_mode_crops_like_predict_frame(tiny_lsp, tiny_models):
    # The validation pipeline's crop, the model and the inverse map give what
    # kerashg.predict gives for the same person box.
    from kerashg import runtime
    from kerashg.data import load_records
    from kerashg.images import read_image_file

    records = load_records("lsp", tiny_lsp, "val")
    runner = runtime.load_runner(tiny_models(14))
    keypoints = model_predictions.predict_records(runner, records, tiny_lsp, batch_size=4)
    assert keypoints.shape == (4, 14, 3)
    for i, points in enumerate(keypoints):
        record = records[i]
        frame = read_image_file(tiny_lsp / record["image_path"])
        expected = runtime.predict_frame(runner, frame, record["center"], record["scale"])
        close = np.abs(points - expected["keypoints"]).max(axis=-1) < 1e-2
        assert close.mean() > 0.9  # an argmax may tie differently on a flat random heatmap


@pytest.mark.parametrize("input_size", [(64, 64), (24, 32)])  # (24, 32): images read reduced
def test_model_mode_crops_are_training_validations_pixel_for_pixel(tiny_lsp, input_size):
    """Evaluation crops without TensorFlow exactly as training validation's tf.data
    pipeline does (`training.data.make_eval_dataset`): the same pixels, and inverse
    maps within float32 rounding, so both score a model alike."""
    from kerashg.data import load_records
    from kerashg.images import read_image_file
    from kerashg.transforms import affine_matrix_float32, crop_reduction
    from training.data import make_eval_dataset

    records = load_records("lsp", tiny_lsp, "all")
    [(images, _, meta)] = list(
        make_eval_dataset(records, tiny_lsp, input_size=input_size, batch_size=len(records))
    )
    validation = np.rint(images.numpy() * 255).astype(np.uint8)
    reductions = set()
    for i in range(len(records)):
        crop, inverse = model_predictions.person_crop(
            lambda path, r: read_image_file(tiny_lsp / path, r),
            records.image_path[i], records.center[i], records.scale[i], input_size,
        )  # fmt: skip
        np.testing.assert_array_equal(crop, validation[i])
        np.testing.assert_allclose(inverse, meta["inverse"].numpy()[i], atol=1e-4)
        matrix = affine_matrix_float32(records.center[i], records.scale[i], 0.0, input_size)
        reductions.add(crop_reduction(matrix))
    assert reductions == ({1} if input_size == (64, 64) else {1, 2})


class OracleRunner(Runner):
    """Gives each crop its record's ground truth (records in pipeline order)."""

    format = "oracle"

    def __init__(self, records, input_size=(64, 64)):
        from kerashg import transforms

        super().__init__()
        self.input_size = input_size
        crop = np.zeros(records.keypoints.shape, np.float32)
        for i, (kps, center, scale) in enumerate(
            zip(records.keypoints, records.center, records.scale, strict=True)
        ):
            matrix = transforms.get_affine_transform(center, scale, 0.0, input_size)
            crop[i, :, :2] = transforms.transform_points(kps[:, :2], matrix)
            crop[i, :, 2] = 1.0
        self.crop, self.next = crop, 0

    def keypoints(self, images):
        if not np.asarray(images).any():  # the blank keypoint-count check
            return np.zeros((len(images), self.crop.shape[1], 3), np.float32)
        rows = np.arange(self.next, self.next + len(images)) % len(self.crop)
        self.next += len(images)
        return self.crop[rows]


@pytest.mark.data
def test_model_mode_coco_matches_file_mode(tiny_models, tmp_path, capsys, monkeypatch):
    from kerashg import runtime
    from kerashg.data import load_records

    root = data_path("coco-mini")
    annotations = root / "annotations" / "person_keypoints_val2017.json"
    out = tmp_path / "results.json"
    args = ["--model", str(tiny_models(17)), "--data", "coco", "--data-dir", str(root)]
    scored, err = _json_main(capsys, [*args, "--out", str(out), "--batch-size", "16"])
    assert "68/68 people" in err
    assert len(json.loads(out.read_text())) == 68
    file_args = ["--dataset", "coco", "--annotations", str(annotations), "--predictions", str(out)]
    again, _ = _json_main(capsys, file_args)
    assert again == pytest.approx(scored, abs=1e-12)
    # End to end with known answers: ground truth through the crops and back scores AP 1.
    oracle = OracleRunner(load_records("coco", root, "val"))
    monkeypatch.setattr(runtime, "load_runner", lambda path: oracle)
    scored, _ = _json_main(capsys, [*args, "--out", str(out), "--batch-size", "16", "--force"])
    assert scored["AP"] == pytest.approx(1.0) and scored["AR"] == pytest.approx(1.0)
    assert _json_main(capsys, file_args)[0] == scored


def test_model_mode_mpii_matches_file_mode(tiny_models, tmp_path, capsys):
    # A 6-person MPII folder in the hourglass layout: annot/valid.h5 beside images/.
    rng = np.random.default_rng(5)
    n = 6
    names = [f"{i:09d}.jpg".encode() for i in range(n)]
    _write_images(tmp_path / "images", [name.decode() for name in names], rng)
    part = rng.uniform(20, 70, (n, 16, 2)).round()
    part[1, 6] = 0.0  # pelvis of person 1 not annotated
    (tmp_path / "annot").mkdir()
    with h5py.File(tmp_path / "annot" / "valid.h5", "w") as f:
        f["imgname"], f["part"] = np.array(names), part
        f["center"], f["scale"] = np.tile([[48.0, 40.0]], (n, 1)), np.full(n, 0.4)
        f["visible"], f["normalize"] = np.ones((n, 16)), np.full(n, 12.0)
    out = tmp_path / "preds.h5"
    args = ["--model", str(tiny_models(16)), "--data", "mpii", "--data-dir", str(tmp_path)]
    scored, err = _json_main(capsys, [*args, "--out", str(out)])
    assert "annot/valid.h5 --predictions" in err
    file_args = ["--dataset", "mpii", "--annotations", str(tmp_path / "annot" / "valid.h5")]
    again, _ = _json_main(capsys, [*file_args, "--predictions", str(out)])
    assert again["total"] == pytest.approx(scored["total"], abs=1e-9) and again == scored


def test_model_mode_bad_input_exits_2_with_one_line(tiny_lsp, tiny_models, tmp_path, capsys):
    model = str(tiny_models(14))

    def error(args):
        assert evaluate.main(args) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
        return err

    lsp = ["--data", "lsp", "--data-dir", str(tiny_lsp)]
    err = error(["--model", str(tiny_models(16)), *lsp])
    assert err == (
        f"error: {tiny_models(16)}: the model gives 16 keypoints (a mpii model?) but "
        "--data lsp has 14 (lsp joints)"
    )
    assert error(["--model", str(tmp_path / "nope.keras"), *lsp]) == (
        f"error: {tmp_path / 'nope.keras'}: model artifact not found (--model)"
    )
    err = error(["--model", model, "--data", "lsp", "--data-dir", str(tmp_path / "none")])
    assert err == f"error: {tmp_path / 'none'}: data folder not found (--data-dir)"
    assert "need --model" in error(["--dataset", "lsp", "--annotations", "a", "--predictions",
                                    "p", "--flip"])  # fmt: skip
    assert "not with --model" in error(["--model", model, *lsp, "--predictions", "p"])
    assert "needs --data-dir" in error(["--model", model, "--data", "lsp"])
    assert "--split in file mode is for --dataset lsp" in error(
        ["--dataset", "mpii", "--annotations", "a", "--predictions", "p", "--split", "val"]
    )


def test_flip_needs_heatmaps(tiny_lsp):
    from kerashg.data import load_records

    records = load_records("lsp", tiny_lsp, "val")
    with pytest.raises(InputError, match="--flip needs heatmaps.*'oracle'"):
        model_predictions.predict_records(OracleRunner(records), records, tiny_lsp, flip=True)


# `python -m kerashg.evaluate ARGS` in a fresh interpreter where `import tensorflow`
# (and Keras) fail; prints the heavy modules it loaded.
_WITHOUT_TF = (
    BLOCK_TENSORFLOW
    + """import runpy
sys.argv = ["kerashg.evaluate", *sys.argv[1:]]
try:
    runpy.run_module("kerashg.evaluate", run_name="__main__", alter_sys=True)
    code = 0
except SystemExit as stop:
    code = stop.code
heavy = ("tensorflow", "keras", "cv2", "ai_edge_litert", "onnxruntime")
print("LOADED", json.dumps(sorted({m.partition(".")[0] for m in sys.modules} & set(heavy))))
sys.exit(code)
"""
)


def _evaluate_without_tf(*args):
    """(exit status, the JSON it printed, the heavy modules it loaded, stderr)."""
    root = pathlib.Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TF, *map(str, args), "--json"],
        capture_output=True, text=True, timeout=300, env=env, cwd=root,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    loaded = [json.loads(line[len("LOADED ") :]) for line in lines if line.startswith("LOADED ")]
    scored = [json.loads(line) for line in lines if line.startswith("{")]
    return done.returncode, scored[0] if scored else None, loaded[0], done.stderr


def test_tflite_model_mode_and_file_mode_run_without_tensorflow(tiny_lsp, tmp_path):
    """A `.tflite` model over a split and the file mode on what it wrote: no
    TensorFlow, no Keras (LiteRT and OpenCV for the model, neither for the file)."""
    from kerashg.presets import WEIGHTS_DIR

    tflite = WEIGHTS_DIR / "acnn4_lsp_128_int8.tflite"
    if not tflite.is_file():
        pytest.skip(f"shipped model missing: {tflite}")
    out = tmp_path / "preds.mat"
    code, scored, loaded, err = _evaluate_without_tf(
        "--model", tflite, "--data", "lsp", "--data-dir", tiny_lsp, "--out", out
    )
    assert code == 0, err
    assert loaded == ["ai_edge_litert", "cv2"] and "4/4 people" in err
    assert read_arrays(out)["preds"].shape == (4, 14, 2)
    code, again, loaded, err = _evaluate_without_tf(
        "--dataset", "lsp", "--annotations", tiny_lsp / "joints.mat", "--predictions", out,
        "--split", "val",
    )  # fmt: skip
    assert code == 0, err
    assert loaded == [] and again == scored


# ------------------------------------------------- COCO: bad input never scores
def _coco_files(tmp_path, edit_gt=None, edit_results=None):
    """A two-image COCO ground truth and its perfect results, optionally edited."""
    rng = np.random.default_rng(0)
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 200, "height": 100} for i in (1, 2)]
    annotations = []
    for i, image_id in enumerate((1, 1, 2)):
        xy = rng.uniform([10, 10], [190, 90], (17, 2)).round(1)
        keypoints = np.column_stack([xy, np.full(17, 2.0)]).reshape(-1).tolist()
        x0, y0 = xy.min(axis=0)
        w, h = xy.max(axis=0) - xy.min(axis=0)
        annotations.append(
            {"id": 10 + i, "image_id": image_id, "category_id": 1, "iscrowd": 0,
             "keypoints": keypoints, "num_keypoints": 17, "bbox": [x0, y0, w, h],
             "area": float(w * h)}
        )  # fmt: skip
    gt = {"images": images, "annotations": annotations, "categories": [{"id": 1, "name": "person"}]}
    results = [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]),
         "score": 1.0}
        for a in annotations
    ]  # fmt: skip
    if edit_gt:
        edit_gt(gt)
    if edit_results:
        edit_results(results)
    (tmp_path / "gt.json").write_text(json.dumps(gt))  # NaN is written as NaN
    (tmp_path / "res.json").write_text(json.dumps(results))
    return ["--dataset", "coco", "--annotations", str(tmp_path / "gt.json"),
            "--predictions", str(tmp_path / "res.json"), "--json"]  # fmt: skip


def _set_keypoint(index, joint, value):
    def edit(data):
        items = data["annotations"] if "annotations" in data else data
        items[index]["keypoints"][3 * joint : 3 * joint + len(value)] = value

    return edit


def test_coco_clean_files_score_ap_one_and_edge_tolerance(tmp_path, capsys):
    assert evaluate.main(_coco_files(tmp_path)) == 0
    assert json.loads(capsys.readouterr().out)["AP"] == pytest.approx(1.0)
    # A joint up to 1 px past the right / bottom edge (COCO writes x = width) is fine.
    at_edge = _set_keypoint(0, 3, [200.9, 100.5])
    assert evaluate.main(_coco_files(tmp_path, at_edge, at_edge)) == 0
    assert json.loads(capsys.readouterr().out)["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "edit, expected",
    [
        # NaN ground truth used to count as perfect: far-off detections scored AP 1.
        (_set_keypoint(1, 4, [float("nan")]),
         "annotation 1 (id 11): field 'keypoints': holds nan at joint 4 x"),
        (_set_keypoint(2, 0, [float("inf"), 5.0]),
         "annotation 2 (id 12): field 'keypoints': holds inf at joint 0 x"),
        (_set_keypoint(0, 5, [250.0, 50.0]),
         "annotation 0 (id 10): field 'keypoints': joint 5 (v=2) at x=250, y=50 lies outside "
         "the image (1 labelled joints of this annotation do); expected 0 <= x <= 201 and "
         "0 <= y <= 101 (image 1 is 200 x 100, 1 px tolerance)"),
        (_set_keypoint(2, 16, [12.0, -3.0]),
         "annotation 2 (id 12): field 'keypoints': joint 16 (v=2) at x=12, y=-3 lies outside"),
        (lambda gt: gt["annotations"][1].update(area=float("nan")),
         "annotation 1 (id 11): field 'area': holds nan at index 0"),
        (lambda gt: gt["annotations"][0].pop("bbox"), "annotation 0 (id 10): field 'bbox': is missing"),
    ],
)  # fmt: skip
def test_coco_bad_ground_truth_is_one_error_line(tmp_path, capsys, edit, expected):
    assert evaluate.main(_coco_files(tmp_path, edit_gt=edit)) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: {tmp_path / 'gt.json'}: "), err
    assert expected in err, err


def test_coco_unlabelled_joint_outside_the_image_is_fine(tmp_path, capsys):
    hidden = _set_keypoint(0, 5, [-40.0, 500.0, 0.0])  # v = 0: pycocotools ignores it
    assert evaluate.main(_coco_files(tmp_path, edit_gt=hidden)) == 0
    assert json.loads(capsys.readouterr().out)["AP"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    "edit, expected",
    [
        # A category the ground truth does not score used to give AP 0 with exit 0.
        (lambda r: r[1].update(category_id=2),
         "entry 1: field 'category_id': is 2, not a category the ground truth scores; "
         "expected one of [1]"),
        (_set_keypoint(0, 2, [float("nan")]), "entry 0: field 'keypoints': holds nan at joint 2 x"),
        (lambda r: r[2].update(score=float("inf")), "entry 2: field 'score': holds inf at index 0"),
    ],
)  # fmt: skip
def test_coco_bad_results_are_one_error_line(tmp_path, capsys, edit, expected):
    assert evaluate.main(_coco_files(tmp_path, edit_results=edit)) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"error: {tmp_path / 'res.json'}: "), err
    assert expected in err, err


def test_coco_keypoint_ap_refuses_bad_input_without_files(tmp_path):
    from kerashg import coco_metrics

    _coco_files(tmp_path, edit_gt=_set_keypoint(0, 1, [float("nan")]))
    gt = json.loads((tmp_path / "gt.json").read_text())
    results = json.loads((tmp_path / "res.json").read_text())
    with pytest.raises(
        ValueError, match=r"ground truth: annotation 0 \(id 10\): field 'keypoints'"
    ):
        coco_metrics.coco_keypoint_ap(gt, results)
    gt["annotations"][0]["keypoints"][3] = 5.0
    results[0]["category_id"] = 3
    with pytest.raises(ValueError, match="results: entry 0: field 'category_id': is 3"):
        coco_metrics.coco_keypoint_ap(gt, results)


# ------------------------------------------ the shipped model on held-out real people
# docs/SHIPPED_MODEL.md: `kerashg.evaluate --model` of the shipped files on
# LSP-extended images 8,101-9,000 (PCK@0.2 of the torso, no flip test).
SHIPPED_LSP_PCK = {"acnn4_lsp_128.keras": 53.25, "acnn4_lsp_128_int8.tflite": 53.28}


@pytest.mark.slow
@pytest.mark.data
def test_shipped_model_scores_its_readme_figures_on_lsp_extended(tmp_path, capsys):
    from kerashg.presets import WEIGHTS_DIR

    lspet = data_path("lspet", "joints.mat").parent
    scored = {}
    for name in SHIPPED_LSP_PCK:
        args = ["--model", str(WEIGHTS_DIR / name), "--data", "lsp", "--data-dir", str(lspet)]
        result, err = _json_main(capsys, [*args, "--out", str(tmp_path / f"{name}.mat")])
        assert "900/900 people" in err
        scored[name] = result["total"]
    # Another CPU's kernels may move a joint or two of ~10,000: 0.05 points.
    assert scored == pytest.approx(SHIPPED_LSP_PCK, abs=0.05)
    # The int8 file keeps the float model's accuracy within one point on real photos.
    drop = scored["acnn4_lsp_128.keras"] - scored["acnn4_lsp_128_int8.tflite"]
    assert drop <= 1.0
