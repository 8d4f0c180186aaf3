"""MPII with the official rules: training validation, the valid `preds` file, the test `pred`."""

import json

import cv2
import h5py
import numpy as np
import pytest
import scipy.io
from conftest import data_path

from kerashg import evaluate
from kerashg.data.files import read_arrays
from kerashg.evaluation import files, model_predictions, mpii_files

NUM_VALID = 6
MISSING = (2, 4)  # valid people whose image is not in the folder


def _image(path, rng, size=(96, 80)):
    image = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    cv2.circle(image, (48, 40), 12, (255, 255, 255), -1)
    assert cv2.imwrite(str(path), image)


def _mpii_folder(root, missing=MISSING):
    """annot/{train,valid}.h5 beside images/; the valid people of `missing` lack images."""
    rng = np.random.default_rng(3)
    (root / "images").mkdir(parents=True)
    (root / "annot").mkdir()
    for split, n in (("train", 4), ("valid", NUM_VALID)):
        names = [f"{split}{i:05d}.jpg" for i in range(n)]
        for i, name in enumerate(names):
            if not (split == "valid" and i in missing):
                _image(root / "images" / name, rng)
        part = rng.uniform(30, 66, (n, 16, 2)).round()
        if split == "valid":
            part[0, 0] = (95.0, 5.0)  # right ankle of person 0: outside its 60 px crop
            part[1, 9] = 0.0  # head top of person 1: not annotated
        with h5py.File(root / "annot" / f"{split}.h5", "w") as f:
            f["imgname"] = np.array([name.encode() for name in names])
            f["part"], f["visible"] = part, np.ones((n, 16))
            f["center"], f["scale"] = np.tile([[48.0, 40.0]], (n, 1)), np.full(n, 0.3)
            f["normalize"] = np.linspace(8.0, 12.0, n)
    return root


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tiny untrained 16-joint stacked hourglass `.keras`."""
    import kerashg

    path = tmp_path_factory.mktemp("model") / "hg.keras"
    kerashg.StackedHourglass(
        num_stacks=2, filters=16, depth=2, input_shape=(64, 64, 3), num_keypoints=16
    ).save(path)
    return path


def _forward(inverse):
    """(N, 2, 3) crop → original maps inverted: original → crop."""
    full = np.concatenate([inverse, np.tile([[[0.0, 0.0, 1.0]]], (len(inverse), 1, 1))], 1)
    return np.linalg.inv(full)[:, :2]


def _config(root, **kwargs):
    from training.config import TrainConfig, resolve_config

    return resolve_config(
        TrainConfig(data="mpii", data_dir=str(root), input_size=32, **kwargs), gpu=False
    )


def test_training_validation_is_the_official_pckh(tmp_path):
    from kerashg import metrics
    from training.sources import _to_original, make_source

    root = _mpii_folder(tmp_path / "mpii")
    source = make_source(_config(root))
    assert source.pck_label == (
        "PCKh@0.5 (MPII official, 14 joints, 4 of 6 people: 2 without an image, dark refinement)"
    )
    assert len(source.val_images) == 4
    valid = files.load_mpii_annotations(root / "annot" / "valid.h5")
    present = [i for i in range(NUM_VALID) if i not in MISSING]
    # The ground truth carried into crop pixels: every joint correct, the one
    # outside its crop included (it counts, in the annotation's own frame).
    forward = _forward(source.val_inverse.astype(np.float64))
    truth = valid.keypoints[present]
    crop = np.einsum("nij,nkj->nki", forward[:, :, :2], truth) + forward[:, None, :, 2]
    exact = np.concatenate([crop, np.ones((*crop.shape[:2], 1))], -1)
    table = source.table_of(exact)
    assert source.pck_of(exact) == pytest.approx(100.0)
    assert table.counts.sum() == valid.annotated[present].sum() == 4 * 16 - 1
    # Pelvis and thorax wrong: not in the official 14-joint total.
    wrong = exact.copy()
    wrong[:, [6, 7], :2] += 30.0
    assert source.pck_of(wrong) == pytest.approx(100.0)
    # The joint outside the crop predicted at the crop's edge: a miss (it used to
    # be dropped from the count), and the figure is `mpii_pckh`'s.
    wrong[0, 0, :2] = (31.0, 0.0)
    expected = metrics.mpii_pckh(
        _to_original(wrong, source.val_inverse),
        truth,
        valid.normalizer[present],
        valid.annotated[present],
    )
    assert source.pck_of(wrong) == pytest.approx(expected.total) == pytest.approx(100 * 54 / 55)
    # What a training run reports (metrics.json `pck`, `pck_flip`, `pck_table`).
    import kerashg

    net = kerashg.StackedHourglass(
        num_stacks=2, filters=16, depth=2, input_shape=(32, 32, 3), num_keypoints=16
    )
    result = source.validate(net, images=False, flip=True, table=True)
    assert result["val_images"] == 4 and result["table"]["total"] == pytest.approx(result["pck"])
    assert 0.0 <= result["pck_flip"] <= 100.0
    # --val-images keeps the first N, and the label says so.
    subset = make_source(_config(root, val_images=2))
    assert "2 of 6 people: the first 2 (--val-images)" in subset.pck_label
    assert len(subset.val_images) == 2


def test_training_validation_without_any_mpii_image_is_one_error(tmp_path):
    from kerashg.errors import InputError
    from training.sources import make_source

    root = _mpii_folder(tmp_path / "mpii", missing=range(NUM_VALID))
    with pytest.raises(InputError, match="none of the 6 validation people"):
        make_source(_config(root))


def _main(capsys, args):
    code = evaluate.main(args)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return captured.out, captured.err


def test_valid_predictions_file_scores_as_model_mode_printed(tmp_path, tiny_model, capsys):
    from kerashg.data import load_records
    from kerashg.runtime import load_runner

    root = _mpii_folder(tmp_path / "mpii")
    out = tmp_path / "preds.h5"
    args = ["--model", str(tiny_model), "--data", "mpii", "--data-dir", str(root)]
    printed, err = _main(capsys, [*args, "--split", "valid", "--write-predictions", str(out)])
    assert "4 people of mpii val" in err and "flip test" in err and "no flip test" not in err
    assert "note: 2 of the 6 people have no image" in err
    preds = read_arrays(out)["preds"]
    assert preds.shape == (NUM_VALID, 16, 2)
    assert (preds[list(MISSING)] == mpii_files.MISSING_PREDICTION).all()
    # Rows in valid.h5 order, original-image pixels, the flip test by default.
    records = load_records("mpii", root, "val")
    present = np.array([i not in MISSING for i in range(NUM_VALID)])
    expected = model_predictions.predict_records(
        load_runner(tiny_model), records[np.flatnonzero(present)], root, flip=True
    )
    # (another batch size: float rounding of the model's convolutions only)
    np.testing.assert_allclose(preds[present], expected[..., :2], atol=1e-3)
    # The file mode on the written file prints the same table.
    annotations = root / "annot" / "valid.h5"
    file_args = ["--dataset", "mpii", "--annotations", str(annotations), "--predictions", str(out)]
    assert _main(capsys, file_args)[0] == printed
    assert printed.split()[:8] == ["Head", "Sho", "Elb", "Wri", "Hip", "Knee", "Ank", "Total"]
    # --no-flip is the artifact's own decoding, said so.
    _, err = _main(capsys, [*args, "--no-flip", "--out", str(tmp_path / "noflip.h5")])
    assert "no flip test" in err
    # --force replaces the file written above; the file mode scores the new one alike.
    scored = json.loads(_main(capsys, [*args, "--out", str(out), "--force", "--json"])[0])
    again = json.loads(_main(capsys, [*file_args, "--json"])[0])
    assert again == scored


@pytest.mark.data
def test_real_valid_h5_with_five_images(tmp_path, tiny_model, capsys):
    root = data_path("mpii")
    out = tmp_path / "preds.h5"
    args = ["--model", str(tiny_model), "--data", "mpii", "--data-dir", str(root)]
    printed, err = _main(capsys, [*args, "--split", "valid", "--write-predictions", str(out)])
    from kerashg.data import load_records

    preds = read_arrays(out)["preds"]
    assert preds.shape == (2958, 16, 2)
    present = mpii_files.people_with_images(load_records("mpii", root, "val"), root)
    assert 0 < present.sum() < 2958 and (preds[~present] == 0).all()
    assert (preds[present] != 0).any(axis=(1, 2)).all()
    assert f"note: {2958 - present.sum()} of the 2958 people have no image" in err
    annotations = err.split("--annotations ")[1].split()[0]
    assert annotations.endswith(("detections_our_format.mat", "valid.h5"))
    file_args = ["--dataset", "mpii", "--annotations", annotations, "--predictions", str(out)]
    assert _main(capsys, file_args)[0] == printed


def _release(root, rng):
    """A small official-format `mpii_human_pose_v1_u12_1.mat`: one training image,
    three test images (2 + 1 single persons, one image without any)."""

    def rect(x, y, scale, points=None):
        out = {"objpos": {"x": float(x), "y": float(y)}, "scale": float(scale)}
        if points is not None:
            out["annopoints"] = {"point": points}
        return out

    def structs(rows, fields):
        array = np.empty((1, len(rows)), dtype=[(f, object) for f in fields])
        for i, row in enumerate(rows):
            for f in fields:
                array[0, i][f] = row.get(f, np.zeros((0, 0)))
        return array

    train_points = structs(
        [{"id": k, "x": 40.0 + k, "y": 30.0, "is_visible": 1} for k in range(16)],
        ("id", "x", "y", "is_visible"),
    )
    rect_fields = ("objpos", "scale", "annopoints")
    images = [
        ("train.jpg", [rect(48, 40, 0.25, train_points)]),
        ("test_a.jpg", [rect(30, 35, 0.2), rect(60, 40, 0.25), rect(70, 30, 0.2)]),
        ("test_b.jpg", [rect(48, 38, 0.22)]),
        ("test_c.jpg", [{}]),  # a crowd without objpos: no single person
    ]
    annolist = structs(
        [{"image": {"name": n}, "annorect": structs(r, rect_fields)} for n, r in images],
        ("image", "annorect"),
    )
    single = np.empty((4, 1), dtype=object)
    single[0, 0], single[1, 0] = np.array([[1]]), np.array([[1], [3]])
    single[2, 0], single[3, 0] = np.array([[1]]), np.zeros((0, 0))
    release = {"annolist": annolist, "img_train": np.array([[1, 0, 0, 0]]), "single_person": single}
    (root / "images").mkdir(parents=True)
    for name, _ in images:
        _image(root / "images" / name, rng)
    path = root / "mpii_human_pose_v1_u12_1.mat"
    scipy.io.savemat(path, {"RELEASE": release})
    return path


def test_test_split_writes_the_server_pred_struct(tmp_path, tiny_model, capsys):
    from kerashg.runtime import load_runner

    root = tmp_path / "mpii"
    mat = _release(root, np.random.default_rng(1))
    people = mpii_files.read_test_people(mat)
    assert people.image_names == ("test_a.jpg", "test_b.jpg", "test_c.jpg")
    assert people.rect.tolist() == [0, 2, 0] and people.image.tolist() == [0, 0, 1]
    np.testing.assert_allclose(people.records.center[1], [70.0, 30.0 + 15 * 0.2])
    np.testing.assert_allclose(people.records.scale, np.array([0.2, 0.2, 0.22]) * 1.25)

    out = tmp_path / "pred_keypoints_mpii.mat"
    args = ["--model", str(tiny_model), "--data", "mpii", "--data-dir", str(root)]
    printed, err = _main(capsys, [*args, "--split", "test", "--write-predictions", str(out)])
    assert "3 single-person people of 3 MPII test images" in printed and "flip test" in err
    expected = model_predictions.predict_records(
        load_runner(tiny_model), people.records, root, flip=True
    )
    # The layout the server reads: pred(imgidx).annorect(ridx).annopoints.point(p).{id,x,y}.
    pred = scipy.io.loadmat(out, struct_as_record=False, squeeze_me=True)["pred"]
    assert len(pred) == 3 and [str(p.image.name) for p in pred] == list(people.image_names)
    assert [len(np.atleast_1d(p.annorect)) for p in pred] == [3, 1, 1]
    point = pred[0].annorect[2].annopoints.point
    assert [int(p.id) for p in point] == list(range(16))
    xy = np.array([(p.x, p.y) for p in point])
    np.testing.assert_allclose(xy, expected[1, :, :2], atol=1e-3)  # batch 3 here, 32 there
    assert np.size(pred[0].annorect[1].annopoints) == 0  # not a single person: no points
    points = mpii_files.read_test_predictions(out)
    assert sorted(points) == [("test_a.jpg", 1), ("test_a.jpg", 3), ("test_b.jpg", 1)]
    np.testing.assert_array_equal(points[("test_a.jpg", 3)], xy)
    np.testing.assert_allclose(points[("test_b.jpg", 1)], expected[2, :, :2], atol=1e-3)


def test_test_split_bad_input_is_one_error_line(tmp_path, tiny_model, capsys):
    root = tmp_path / "mpii"
    _release(root, np.random.default_rng(1))
    args = ["--model", str(tiny_model), "--data", "mpii", "--data-dir", str(root)]

    def error(more):
        assert evaluate.main([*args, *more]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err
        return err

    # The test server's predictions are a .mat (its `pred`), refused before the model loads.
    assert error(["--split", "test", "--out", "p.h5"]) == (
        "error: p.h5: --out: expected a file name ending in .mat"
    )
    (root / "mpii_human_pose_v1_u12_1.mat").unlink()
    assert "--split test needs the official" in error(["--split", "test"])
    assert "--split test is for --model with --data mpii" in error(
        ["--data", "lsp", "--split", "test"]
    )
    assert evaluate.main(["--dataset", "mpii", "--annotations", "a", "--predictions", "p",
                          "--no-flip"]) == 2  # fmt: skip
    assert capsys.readouterr().err == "error: --no-flip need --model\n"
