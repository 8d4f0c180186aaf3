"""Bad user input: one clear error naming the file and field, never a silently wrong number."""

import copy
import functools
import hashlib
import io
import json
import logging
import os
import pathlib
import signal
import struct
import zipfile

import cv2
import h5py
import numpy as np
import pytest
import scipy.io

from kerashg.errors import AnnotationError


def _mpii_folder(root, normalize):
    """A tiny MPII folder in the hourglass layout: annot/{train,valid}.h5 beside images/."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "annot").mkdir()
    for split, n in (("train", 4), ("valid", len(normalize))):
        names = [f"{split}{i:05d}.jpg" for i in range(n)]
        for name in names:
            image = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            assert cv2.imwrite(str(root / "images" / name), image)
        with h5py.File(root / "annot" / f"{split}.h5", "w") as f:
            f["imgname"] = np.array([name.encode() for name in names])
            f["part"] = rng.uniform(16, 48, (n, 16, 2)).round()
            f["center"], f["scale"] = np.tile([[32.0, 32.0]], (n, 1)), np.full(n, 0.3)
            f["visible"] = np.ones((n, 16))
            f["normalize"] = normalize if split == "valid" else np.full(n, 10.0)
    return root


def _config(root, data="mpii", **kwargs):
    from training.config import TrainConfig, resolve_config

    return resolve_config(
        TrainConfig(data=data, data_dir=str(root), input_size=32, **kwargs), gpu=False
    )


def test_mpii_head_sizes_give_the_pckh_normaliser(tmp_path):
    from training.sources import make_source

    root = _mpii_folder(tmp_path / "mpii", np.array([10.0, 12.0, 14.0]))
    source = make_source(_config(root))
    assert source.normalizer_name == "head size"
    np.testing.assert_allclose(source.val_normalizer, [10.0, 12.0, 14.0])


def test_mpii_nan_head_size_is_an_error_naming_file_field_and_row(tmp_path, capsys):
    from training import train
    from training.sources import make_source

    # Used to fall back to the person-box normaliser for every person, silently.
    root = _mpii_folder(tmp_path / "mpii", np.array([10.0, 12.0, np.nan, np.nan]))
    valid = root / "annot" / "valid.h5"
    with pytest.raises(AnnotationError) as error:
        make_source(_config(root))
    assert (error.value.path, error.value.index, error.value.field) == (str(valid), 2, "normalize")
    assert str(error.value).startswith(
        f"{valid}: record 2: field 'normalize': head size is nan for 2 of the 4 validation people"
    )
    out = tmp_path / "run"
    args = ["--data", "mpii", "--data-dir", str(root), "--input-size", "32", "--out", str(out)]
    with pytest.raises(SystemExit) as exit_info:
        train.main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {valid}: record 2: field 'normalize': head size is nan")
    assert "Traceback" not in "\n".join(err)


@pytest.mark.data
def test_coco_without_head_boxes_keeps_the_box_normaliser():
    from conftest import data_path

    from training.sources import make_source

    source = make_source(_config(data_path("coco-mini"), "coco", val_images=8))
    assert source.normalizer_name.startswith("head size, or ")
    assert np.isfinite(source.val_normalizer).all() and (source.val_normalizer > 0).all()


# ================================================================= the bad-input corpus
# Every command, given a bad file, prints ONE `error:` line naming the file and
# exits 2: no traceback, and no good file deleted or overwritten. Each case
# builds its files in tmp_path and calls the command's `main` in-process. The
# table of cases and messages is docs/BAD_INPUTS.md.


def _image(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 255, (48, 48, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), pixels)


def _write(path, content):
    """Writes bytes, text, or anything else as JSON; returns the path."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content))
    return path


def _coco_gt(num_joints=17):
    """Two images, two people: a clean COCO keypoint file."""
    images = [{"id": i, "file_name": f"{i}.jpg", "width": 48, "height": 48} for i in (1, 2)]
    annotations = [
        {"id": 10 + i, "image_id": i, "category_id": 1, "iscrowd": 0, "area": 400.0,
         "bbox": [10.0, 10.0, 20.0, 20.0], "num_keypoints": num_joints,
         "keypoints": [float(15 + j % 10) if c < 2 else 2.0
                       for j in range(num_joints) for c in range(3)]}
        for i in (1, 2)
    ]  # fmt: skip
    return {
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "person"}],
    }


def _coco_results(gt):
    return [
        {"image_id": a["image_id"], "category_id": 1, "keypoints": list(a["keypoints"]),
         "score": 1.0}
        for a in gt["annotations"]
    ]  # fmt: skip


def _edited(edit, data):
    data = copy.deepcopy(data)
    if edit is not None:
        out = edit(data)
        data = data if out is None else out
    return data


def _coco_root(tmp, train=None, images=True):
    """A COCO folder (annotations/ beside images/{train,val}2017/); `train` replaces
    the training JSON (bytes, text or a JSON value)."""
    root = tmp / "coco"
    gt = _coco_gt()
    for split in ("train", "val"):
        content = gt if split == "val" or train is None else train
        _write(root / "annotations" / f"person_keypoints_{split}2017.json", content)
        (root / "images" / f"{split}2017").mkdir(parents=True, exist_ok=True)
        if images:
            for image in gt["images"]:
                _image(root / "images" / f"{split}2017" / image["file_name"])
    return root, root / "annotations" / "person_keypoints_train2017.json"


def _mpii_h5(path, n=2, **replace):
    fields = {
        "imgname": np.array([f"{i}.jpg".encode() for i in range(n)]),
        "part": np.full((n, 16, 2), 20.0),
        "center": np.full((n, 2), 24.0),
        "scale": np.full(n, 0.2),
        "visible": np.ones((n, 16)),
        "normalize": np.full(n, 8.0),
    }
    fields.update(replace)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as f:
        for key, value in fields.items():
            if value is not None:
                f[key] = value
    return path


def _mpii_root(tmp, train=None, images="good", **replace):
    """An MPII folder in the hourglass layout; `train` bytes replace annot/train.h5."""
    root = tmp / "mpii"
    for split in ("train", "valid"):
        path = root / "annot" / f"{split}.h5"
        if split == "train" and train is not None:
            _write(path, train)
        else:
            _mpii_h5(path, **(replace if split == "train" else {}))
    for i in range(2):
        if images == "good":
            _image(root / "images" / f"{i}.jpg", i)
        elif images == "text":
            _write(root / "images" / f"{i}.jpg", "not an image\n")
    (root / "images").mkdir(exist_ok=True)
    return root, root / "annot" / "train.h5"


def _lsp_joints(n=10):
    joints = np.zeros((14, 3, n))
    joints[:, :2] = np.random.default_rng(0).uniform(10, 38, (14, 2, n))
    joints[:, 2] = 1.0
    return joints


def _lsp_root(tmp, joints=None, raw=None, images=range(10)):
    """An LSP-extended folder: joints.mat (14, 3, N) beside images/im%05d.jpg."""
    root = tmp / "lsp"
    (root / "images").mkdir(parents=True)
    path = root / "joints.mat"
    if raw is not None:
        _write(path, raw)
    else:
        scipy.io.savemat(path, {"joints": _lsp_joints() if joints is None else joints})
    for i in images:
        _image(root / "images" / f"im{i + 1:05d}.jpg", i)
    return root, path


def _out_run(tmp):
    """A previous run's folder whose files a failed command must leave alone."""
    out = tmp / "run"
    protect = [
        _write(out / "config.json", '{"previous": "run"}'),
        _write(out / "model.keras", b"PK"),
    ]
    return out, protect


# ---------------------------------------------------------------- training.train
def _train(root, data, tmp, bad=None):
    out, protect = _out_run(tmp)
    argv = ["--data", data, "--data-dir", str(root), "--input-size", "32", "--out", str(out)]
    return argv, bad or root, protect


def _train_coco(train=None, images=True):
    def build(tmp):
        root, bad = _coco_root(tmp, train, images)
        return _train(root, "coco", tmp, bad)

    return build


def _train_coco_edit(edit):
    return _train_coco(train=_edited(edit, _coco_gt()))


def _train_mpii(train=None, images="good", **replace):
    def build(tmp):
        root, bad = _mpii_root(tmp, train, images, **replace)
        return _train(root, "mpii", tmp, bad)

    return build


def _train_mpii_json(items):
    def build(tmp):
        root = tmp / "mpii"
        bad = _write(root / "annotations" / "mpii_train.json", items)
        _write(root / "annotations" / "mpii_valid.json", items)
        return _train(root, "mpii", tmp, bad)

    return build


def _train_lsp(**kwargs):
    def build(tmp):
        root, bad = _lsp_root(tmp, **kwargs)
        return _train(root, "lsp", tmp, bad if "images" not in kwargs else bad)

    return build


def _train_lsp_root(make_root):
    def build(tmp):
        root, bad = make_root(tmp)
        return _train(root, "lsp", tmp, bad)

    return build


def _train_missing_dir(tmp):
    return _train(tmp / "no-such-folder", "lsp", tmp)


def _zero_people(data):
    data["annotations"] = []


def _images_entry(data):
    data["images"][0] = 5


def _annotation_entry(data):
    data["annotations"][1] = "person"


def _kp_text(data):
    data["annotations"][0]["keypoints"][4] = "a"


def _set_ann(field, value, index=0):
    def edit(data):
        data["annotations"][index][field] = value

    return edit


def _pop_ann(field):
    def edit(data):
        data["annotations"][0].pop(field)

    return edit


# -------------------------------------------------------------- kerashg.evaluate
def _eval_coco(gt_edit=None, gt_raw=None, res_edit=None, res_raw=None, bad="gt"):
    def build(tmp):
        gt = _edited(gt_edit, _coco_gt())
        gt_path = _write(tmp / "gt.json", gt_raw if gt_raw is not None else gt)
        results = _coco_results(_coco_gt())
        res_path = _write(
            tmp / "res.json", res_raw if res_raw is not None else _edited(res_edit, results)
        )
        argv = ["--dataset", "coco", "--annotations", str(gt_path), "--predictions", str(res_path)]
        return argv, gt_path if bad == "gt" else res_path, [gt_path, res_path]

    return build


def _eval_coco_16_joints(tmp):
    gt = _coco_gt(num_joints=16)
    gt_path = _write(tmp / "gt.json", gt)
    res_path = _write(tmp / "res.json", _coco_results(gt))
    argv = ["--dataset", "coco", "--annotations", str(gt_path), "--predictions", str(res_path)]
    return argv, gt_path, [res_path]


def _eval_missing_gt(tmp):
    res_path = _write(tmp / "res.json", _coco_results(_coco_gt()))
    gt_path = tmp / "missing.json"
    argv = ["--dataset", "coco", "--annotations", str(gt_path), "--predictions", str(res_path)]
    return argv, gt_path, [res_path]


def _eval_mpii(annotations=None, predictions=None, bad="annotations", suffix=(".h5", ".h5")):
    """MPII file mode; `annotations`/`predictions` bytes replace the good file."""

    def build(tmp):
        gt_path, pred_path = tmp / f"gt{suffix[0]}", tmp / f"preds{suffix[1]}"
        if isinstance(annotations, bytes | str):
            _write(gt_path, annotations)
        else:
            _mpii_h5(gt_path, n=3, **(annotations or {}))
        if isinstance(predictions, bytes | str):
            _write(pred_path, predictions)
        else:
            with h5py.File(pred_path, "w") as f:
                f["preds"] = np.full((3, 16, 2), 21.0) if predictions is None else predictions
        argv = ["--dataset", "mpii", "--annotations", str(gt_path), "--predictions", str(pred_path)]
        named = gt_path if bad == "annotations" else pred_path
        return argv, named, [p for p in (gt_path, pred_path) if p != named]

    return build


def _eval_lsp(raw):
    def build(tmp):
        gt_path = _write(tmp / "joints.mat", raw)
        pred_path = tmp / "preds.mat"
        scipy.io.savemat(pred_path, {"preds": np.zeros((10, 14, 2))})
        argv = ["--dataset", "lsp", "--annotations", str(gt_path), "--predictions", str(pred_path)]
        return argv, gt_path, [pred_path]

    return build


# ------------------------------------------------ training.visualize, benchmarks.data
def _visualize(make_root, data):
    def build(tmp):
        root, bad = make_root(tmp)
        png = _write(tmp / "grid.png", b"an earlier grid")
        argv = ["--data", data, "--data-dir", str(root), "--split", "all" if data == "lsp" else
                "train", "--input-size", "32", "--num-samples", "2", "--out", str(png),
                "--force"]  # fmt: skip
        return argv, bad, [png]

    return build


def _benchmark(make_root, data):
    def build(tmp):
        root, bad = make_root(tmp)
        argv = ["--data", data, "--data-dir", str(root), "--split", "all" if data == "lsp" else
                "train", "--input-size", "32", "--batch-size", "2", "--batches", "2",
                "--warmup", "1"]  # fmt: skip
        return argv, bad, []

    return build


def _lsp_no_images(tmp):
    root, _ = _lsp_root(tmp, images=())
    return root, root / "joints.mat"


def _lsp_text_images(tmp):
    root, _ = _lsp_root(tmp, images=())
    for i in range(10):
        _write(root / "images" / f"im{i + 1:05d}.jpg", "not an image\n")
    return root, root / "joints.mat"


def _lsp_some_images(tmp):
    return _lsp_root(tmp, images=range(0, 10, 2))


def _mpii_text_h5(tmp):
    return _mpii_root(tmp, train=b"hello\n")


# ------------------------------------------------------------------ python -m export
def _export(model=None, raw=None, calibration=None):
    """`python -m export` of a bad model file (raw bytes) or with a bad calibration folder.

    The calibration source is checked before the model is loaded, so no model is
    needed for that case (a missing one stands in).
    """

    def build(tmp):
        out = tmp / "exported"
        protect = [_write(out / "report.json", '{"earlier": "report"}')]
        path = _write(tmp / "model.keras", raw) if raw is not None else tmp / "missing.keras"
        argv = ["--model", str(path), "--format", "tflite", "--out", str(out), "--force"]
        named = path
        if calibration == "empty":
            named = tmp / "calibration"
            _write(named / "notes.txt", "no images here")
            argv += ["--calibration-data", str(named)]
        return argv, named, protect

    return build


def _zip_bytes(members, keep=None):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    return data if keep is None else data[:keep]


# ------------------------------------------------------------------------ the corpus
# (command, case id, build(tmp) -> (argv, the file the error must name, files to keep)).
BAD_INPUTS = [
    # kerashg.evaluate --dataset coco
    ("evaluate", "coco-gt-top-level-number", _eval_coco(gt_raw="3")),
    ("evaluate", "coco-gt-top-level-string", _eval_coco(gt_raw='"annotations"')),
    ("evaluate", "coco-gt-list-of-ints", _eval_coco(gt_raw="[1, 2, 3]")),
    ("evaluate", "coco-gt-empty-file", _eval_coco(gt_raw="")),
    ("evaluate", "coco-gt-not-json", _eval_coco(gt_raw="images: [1, 2]\n")),
    ("evaluate", "coco-gt-binary", _eval_coco(gt_raw=b"\xff\xd8\xff\xe0\x00\x10JFIF\x00")),
    ("evaluate", "coco-gt-images-not-objects", _eval_coco(gt_edit=_images_entry)),
    ("evaluate", "coco-gt-annotations-a-dict", _eval_coco(gt_edit=lambda d: d.update(annotations={}))),
    ("evaluate", "coco-gt-annotation-a-string", _eval_coco(gt_edit=_annotation_entry)),
    ("evaluate", "coco-gt-no-area", _eval_coco(gt_edit=_pop_ann("area"))),
    ("evaluate", "coco-gt-no-num-keypoints", _eval_coco(gt_edit=_pop_ann("num_keypoints"))),
    ("evaluate", "coco-gt-duplicate-id", _eval_coco(gt_edit=_set_ann("id", 12))),
    ("evaluate", "coco-gt-image-id-text", _eval_coco(gt_edit=_set_ann("image_id", "1"))),
    ("evaluate", "coco-gt-keypoint-text", _eval_coco(gt_edit=_kp_text)),
    ("evaluate", "coco-gt-16-joints", _eval_coco_16_joints),
    ("evaluate", "coco-gt-missing", _eval_missing_gt),
    ("evaluate", "coco-results-score-list", _eval_coco(
        res_edit=lambda r: r[0].update(score=[0.5, 0.2]), bad="res")),
    ("evaluate", "coco-results-object", _eval_coco(res_raw={"image_id": 1}, bad="res")),
    ("evaluate", "coco-results-empty-list", _eval_coco(res_raw=[], bad="res")),
    ("evaluate", "coco-results-entry-int", _eval_coco(res_raw=[7], bad="res")),
    ("evaluate", "coco-results-image-id-list", _eval_coco(
        res_edit=lambda r: r[0].update(image_id=[1]), bad="res")),
    ("evaluate", "coco-results-keypoint-text", _eval_coco(
        res_edit=lambda r: r[1]["keypoints"].__setitem__(3, "x"), bad="res")),
    # kerashg.evaluate --dataset mpii / lsp
    ("evaluate", "mpii-gt-empty-h5", _eval_mpii(annotations=b"")),
    ("evaluate", "mpii-gt-text-h5", _eval_mpii(annotations="hello\n")),
    ("evaluate", "mpii-gt-empty-mat", _eval_mpii(annotations=b"", suffix=(".mat", ".h5"))),
    ("evaluate", "mpii-gt-text-mat", _eval_mpii(annotations="x" * 200, suffix=(".mat", ".h5"))),
    ("evaluate", "mpii-gt-unknown-layout", _eval_mpii(annotations={"part": None})),
    ("evaluate", "mpii-gt-part-text", _eval_mpii(
        annotations={"part": np.array([b"a"] * 96).reshape(3, 16, 2)})),
    ("evaluate", "mpii-preds-empty-h5", _eval_mpii(predictions=b"", bad="predictions")),
    ("evaluate", "mpii-preds-text-mat", _eval_mpii(
        predictions="hello world\n" * 20, bad="predictions", suffix=(".h5", ".mat"))),
    ("evaluate", "mpii-preds-wrong-shape", _eval_mpii(
        predictions=np.zeros((3, 14, 2)), bad="predictions")),
    ("evaluate", "mpii-preds-nan", _eval_mpii(
        predictions=np.full((3, 16, 2), np.nan), bad="predictions")),
    ("evaluate", "lsp-gt-empty-mat", _eval_lsp(b"")),
    ("evaluate", "lsp-gt-text-mat", _eval_lsp("not a MATLAB file\n" * 10)),
    # training.train --data coco
    ("train", "coco-top-level-number", _train_coco(train="3")),
    ("train", "coco-top-level-list", _train_coco(train=[1, 2])),
    ("train", "coco-empty-file", _train_coco(train="")),
    ("train", "coco-images-a-dict", _train_coco_edit(lambda d: d.update(images={"a": 1}))),
    ("train", "coco-images-not-objects", _train_coco_edit(_images_entry)),
    ("train", "coco-annotations-a-number", _train_coco_edit(lambda d: d.update(annotations=7))),
    ("train", "coco-annotation-a-string", _train_coco_edit(_annotation_entry)),
    ("train", "coco-keypoint-text", _train_coco_edit(_kp_text)),
    ("train", "coco-bbox-text", _train_coco_edit(_set_ann("bbox", "abcd"))),
    ("train", "coco-image-id-list", _train_coco_edit(_set_ann("image_id", [1]))),
    ("train", "coco-iscrowd-text", _train_coco_edit(_set_ann("iscrowd", "no"))),
    ("train", "coco-file-name-number", _train_coco_edit(
        lambda d: d["images"][0].update(file_name=5))),
    ("train", "coco-no-people", _train_coco_edit(_zero_people)),
    ("train", "coco-all-images-missing", _train_coco(images=False)),
    # training.train --data mpii
    ("train", "mpii-empty-h5", _train_mpii(train=b"")),
    ("train", "mpii-text-h5", _train_mpii(train="hello\n")),
    ("train", "mpii-part-text", _train_mpii(part=np.array([b"a"] * 64).reshape(2, 16, 2))),
    ("train", "mpii-scale-text", _train_mpii(scale=np.array([b"a", b"b"]))),
    ("train", "mpii-imgname-numbers", _train_mpii(imgname=np.array([1, 2]))),
    ("train", "mpii-no-people", _train_mpii(
        imgname=np.array([], "S5"), part=np.zeros((0, 16, 2)), center=np.zeros((0, 2)),
        scale=np.zeros(0), visible=np.zeros((0, 16)), normalize=np.zeros(0))),
    ("train", "mpii-all-images-text", _train_mpii(images="text")),
    ("train", "mpii-json-scale-text", _train_mpii_json(
        [{"image": "0.jpg", "joints": [[20, 20]] * 16, "joints_vis": [1] * 16,
          "center": [24, 24], "scale": "a"}])),
    ("train", "mpii-json-list-of-ints", _train_mpii_json([1, 2])),
    ("train", "mpii-json-empty-list", _train_mpii_json([])),
    # training.train --data lsp
    ("train", "lsp-empty-mat", _train_lsp(raw=b"")),
    ("train", "lsp-text-mat", _train_lsp(raw="not a MATLAB file\n" * 10)),
    ("train", "lsp-joints-text", _train_lsp(joints="abc")),
    ("train", "lsp-no-people", _train_lsp(joints=np.zeros((14, 3, 0)))),
    ("train", "lsp-missing-data-dir", _train_missing_dir),
    # training.visualize, benchmarks.data
    ("visualize", "lsp-all-images-missing", _visualize(_lsp_no_images, "lsp")),
    ("visualize", "lsp-all-images-text", _visualize(_lsp_text_images, "lsp")),
    ("visualize", "coco-top-level-number", _visualize(lambda t: _coco_root(t, "3"), "coco")),
    ("benchmark", "lsp-all-images-missing", _benchmark(_lsp_no_images, "lsp")),
    ("benchmark", "mpii-text-h5", _benchmark(_mpii_text_h5, "mpii")),
    # python -m export
    ("export", "model-text-file", _export(raw="this is not a model\n")),
    ("export", "model-empty-file", _export(raw=b"")),
    ("export", "model-truncated", _export(raw=_zip_bytes({"config.json": "{}" * 400}, keep=300))),
    ("export", "model-zip-without-config", _export(raw=_zip_bytes({"notes.txt": "hello"}))),
    ("export", "model-missing", _export(model="missing")),
    ("export", "calibration-folder-empty", _export(calibration="empty")),
]  # fmt: skip


# ------------------------------------------------ issue 24: images, models, outputs, runs
SHIPPED_MODEL = (
    pathlib.Path(__file__).resolve().parents[1] / "kerashg" / "weights" / "acnn4_lsp_128.keras"
)


def _fifo(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def _huge_header_png(path):
    """A PNG whose header claims 65535 x 65535 pixels."""
    _image(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 65535, 65535)
    path.write_bytes(bytes(data))
    return path


@functools.cache
def _tiny_keras_members():
    """The members of a tiny kerashg ACNN `.keras` (14 joints, 32 px), built once."""
    import tempfile

    import kerashg

    model = kerashg.ACNN(
        num_stacks=1, num_keypoints=14, filters=8, depth=1, input_shape=(32, 32, 3)
    )
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "tiny.keras"
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}


def _keras_variant(edit_config=None, **replace):
    """Bytes of the tiny model with `config.json` edited or members replaced."""
    members = dict(_tiny_keras_members())
    if edit_config is not None:
        config = json.loads(members["config.json"])
        edit_config(config)
        members["config.json"] = json.dumps(config)
    members.update(replace)
    return _zip_bytes(members)


def _keras_model_bytes(build):
    """Bytes of a plain Keras model saved as `.keras` (a classifier, a Lambda)."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "m.keras"
        build().save(path)
        return path.read_bytes()


def _dense():
    import keras

    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])


def _lambda():
    import keras

    return keras.Sequential([keras.Input((4,)), keras.layers.Lambda(lambda x: x * 2)])


def _predict_model(content, name="bad.keras"):
    """`kerashg.predict` of a good image with `--model` a bad file (bytes or a callable)."""

    def build(tmp):
        image = tmp / "person.jpg"
        _image(image)
        data = content() if callable(content) else content
        model = _write(tmp / name, data)
        return ["--model", str(model), str(image)], model, [model, image]

    return build


def _config_set(key, value):
    return lambda config: config["config"].update({key: value})


def _codec_size(config):
    config["config"]["codec"]["input_size"] = [64, 64]


def _predict_image(make):
    """`kerashg.predict FILE` (or FOLDER) where `make(tmp)` returns (input, named)."""

    def build(tmp):
        target, named = make(tmp)
        return [str(target)], named, []

    return build


def _fifo_image(tmp):
    path = _fifo(tmp / "b.jpg")
    return path, path


def _huge_image(tmp):
    path = _huge_header_png(tmp / "huge.png")
    return path, path


def _folder_of_fifos(tmp):
    _fifo(tmp / "images" / "b.jpg")
    return tmp / "images", tmp / "images"


def _folder_of_loops(tmp):
    (tmp / "images").mkdir()
    os.symlink(tmp / "images" / "loop.jpg", tmp / "images" / "loop.jpg")
    return tmp / "images", tmp / "images"


def _folder_huge_only(tmp):
    _huge_header_png(tmp / "images" / "huge.png")
    return tmp / "images", tmp / "images"


def _predict_box(box):
    def build(tmp):
        image = tmp / "person.jpg"
        _image(image)
        return [str(image), "--box", box], box.split(",")[0], [image]

    return build


def _predict_out_file(tmp):
    image = tmp / "person.jpg"
    _image(image)
    out = _write(tmp / "out", "a file where the output folder should be\n")
    return [str(image), "--out", str(out)], out, [out, image]


def _lsp_fifo_images(tmp):
    root, joints = _lsp_root(tmp, images=())
    for i in range(10):
        _fifo(root / "images" / f"im{i + 1:05d}.jpg")
    return root, joints


def _lsp_huge_images(tmp):
    root, joints = _lsp_root(tmp, images=())
    for i in range(10):
        path = root / "images" / f"im{i + 1:05d}.jpg"
        _huge_header_png(path.with_suffix(".png")).rename(path)
    return root, joints


def _benchmark_option(option, value):
    def build(tmp):
        root, _ = _lsp_root(tmp)
        argv = ["--data", "lsp", "--data-dir", str(root), "--split", "all", "--batch-size", "2",
                "--batches", "1", "--warmup", "0", option, value]  # fmt: skip
        return argv, option, []

    return build


def _export_calibration(make):
    """`python -m export --calibration-data FOLDER` whose folder `make(tmp)` fills."""

    def build(tmp):
        out = tmp / "exported"
        protect = [_write(out / "report.json", '{"earlier": "report"}')]
        folder = make(tmp)
        argv = ["--model", str(SHIPPED_MODEL), "--format", "tflite", "--quantize", "int8",
                "--calibration-data", str(folder), "--out", str(out), "--force"]  # fmt: skip
        return argv, folder, protect

    return build


def _calibration_fifos(tmp):
    _fifo(tmp / "calibration" / "a.jpg")
    return tmp / "calibration"


def _export_model(content):
    def build(tmp):
        out = tmp / "exported"
        protect = [_write(out / "report.json", '{"earlier": "report"}')]
        data = content() if callable(content) else content
        model = _write(tmp / "model.keras", data)
        argv = ["--model", str(model), "--format", "tflite", "--out", str(out), "--force"]
        return argv, model, [model, *protect]

    return build


def _eval_out(make_out, suffix=".mat"):
    """`kerashg.evaluate --model M --data lsp --out OUT`: OUT is refused before the model."""

    def build(tmp):
        root, joints = _lsp_root(tmp)
        out = make_out(tmp)
        argv = ["--model", str(SHIPPED_MODEL), "--data", "lsp", "--data-dir", str(root),
                "--out", str(out)]  # fmt: skip
        protect = [joints] + ([out] if out.is_file() else [])
        return argv, out, protect

    return build


def _visualize_existing(tmp):
    png = _write(tmp / "grid.png", b"an earlier grid")
    argv = ["--data", "synthetic", "--input-size", "32", "--num-samples", "2", "--out", str(png)]
    return argv, png, [png]


def _synthetic(argv_of, named_of):
    def build(tmp):
        argv, protect = argv_of(tmp)
        return argv, named_of(tmp), protect

    return build


def _synthetic_preview_existing(tmp):
    png = _write(tmp / "preview.png", b"an earlier preview")
    return ["--format", "preview", "--out", str(png), "--n", "2", "--image-size", "64"], [png]


def _synthetic_written_set(tmp):
    h5 = _mpii_h5(tmp / "set" / "annot" / "train.h5")
    return ["--format", "mpii", "--out", str(tmp / "set"), "--n", "2", "--seed", "3",
            "--image-size", "64"], [h5]  # fmt: skip


def _synthetic_size(size):
    def argv_of(tmp):
        return ["--format", "mpii", "--out", str(tmp / "new"), "--n", "2", "--image-size", size], []

    return argv_of


def _resume(extra, complete=False):
    """`training.train --resume --out RUN EXTRA` on a stopped (or complete) run."""

    def build(tmp):
        from training.config import TrainConfig, resolve_config

        out = tmp / "run"
        config = resolve_config(
            TrainConfig(data="synthetic", out=str(out), input_size=32), gpu=False
        )
        saved = _write(out / "config.json", config.to_json())
        metrics = _write(out / "metrics.json", {"complete": complete})
        model = _write(out / "model.keras", b"PK")
        argv = ["--resume", "--out", str(out), *[a.replace("T/", f"{tmp}/") for a in extra]]
        return argv, metrics if complete else saved, [saved, metrics, model]

    return build


def _mkdir(path):
    path.mkdir(parents=True, exist_ok=True)
    return path


BAD_INPUTS_24 = [
    # images: special files, header sizes, symlink loops (kerashg.images)
    ("predict", "image-is-a-fifo", _predict_image(_fifo_image)),
    ("predict", "image-header-65535x65535", _predict_image(_huge_image)),
    ("predict", "folder-of-fifos", _predict_image(_folder_of_fifos)),
    ("predict", "folder-of-symlink-loops", _predict_image(_folder_of_loops)),
    ("predict", "folder-of-huge-headers", _predict_image(_folder_huge_only)),
    ("benchmark", "lsp-images-are-fifos", _benchmark(_lsp_fifo_images, "lsp")),
    ("benchmark", "lsp-image-headers-65535x65535", _benchmark(_lsp_huge_images, "lsp")),
    ("visualize", "lsp-images-are-fifos", _visualize(_lsp_fifo_images, "lsp")),
    ("train", "lsp-images-are-fifos", _train_lsp_root(_lsp_fifo_images)),
    ("export", "calibration-folder-of-fifos", _export_calibration(_calibration_fifos)),
    # models (kerashg.model_file)
    ("predict", "model-truncated-keras", _predict_model(
        lambda: _keras_variant()[: len(_keras_variant()) // 2])),
    ("predict", "model-cut-weights-h5", _predict_model(lambda: _keras_variant(
        **{"model.weights.h5": _tiny_keras_members()["model.weights.h5"][:3000]}))),
    ("predict", "model-lambda-layer", _predict_model(lambda: _keras_model_bytes(_lambda))),
    ("predict", "model-dense-classifier", _predict_model(lambda: _keras_model_bytes(_dense))),
    ("predict", "model-garbage-onnx", _predict_model(b"not an onnx model" * 10, "bad.onnx")),
    ("predict", "model-garbage-tflite", _predict_model(b"not a tflite model" * 10, "bad.tflite")),
    ("predict", "model-config-os-system", _predict_model(lambda: _keras_variant(_config_set(
        "codec", {"module": "os", "class_name": "system", "config": {"command": "true"},
                  "registered_name": "os>system"})))),
    ("predict", "model-config-builtins-eval", _predict_model(lambda: _keras_variant(_config_set(
        "kernel_initializer", {"module": "builtins", "class_name": "eval", "config": {},
                               "registered_name": None})))),
    ("predict", "model-17-keypoints-14-channel-weights", _predict_model(
        lambda: _keras_variant(_config_set("num_keypoints", 17)))),
    ("predict", "model-input-65px", _predict_model(
        lambda: _keras_variant(_config_set("input_shape", [65, 65, 3])))),
    ("predict", "model-codec-size-not-the-model-s", _predict_model(
        lambda: _keras_variant(_codec_size))),
    ("predict", "model-50mb-config-name", _predict_model(
        lambda: _keras_variant(_config_set("name", "x" * (50 << 20))))),
    ("export", "model-lambda-layer", _export_model(lambda: _keras_model_bytes(_lambda))),
    ("export", "model-17-keypoints-14-channel-weights", _export_model(
        lambda: _keras_variant(_config_set("num_keypoints", 17)))),
    # outputs (kerashg.outputs.check_output_file / check_output_folder), options
    ("predict", "out-is-a-file", _predict_out_file),
    ("predict", "box-beside-the-image", _predict_box("5000,5000,50,50")),
    ("predict", "box-of-1e308", _predict_box("0,0,1e308,1e308")),
    ("evaluate", "out-exists", _eval_out(lambda t: _write(t / "preds.mat", "earlier\n"))),
    ("evaluate", "out-is-a-folder", _eval_out(lambda t: _mkdir(t / "preds"))),
    ("evaluate", "out-suffix-txt", _eval_out(lambda t: t / "preds.txt")),
    ("visualize", "out-exists", _visualize_existing),
    ("synthetic", "preview-out-exists", _synthetic(
        _synthetic_preview_existing, lambda t: t / "preview.png")),
    ("synthetic", "mpii-into-a-written-set", _synthetic(
        _synthetic_written_set, lambda t: t / "set" / "annot" / "train.h5")),
    ("synthetic", "image-size-1", _synthetic(_synthetic_size("1"), lambda t: "--image-size")),
    ("synthetic", "image-size-100000", _synthetic(
        _synthetic_size("100000"), lambda t: "--image-size")),
    ("benchmark", "input-size-1", _benchmark_option("--input-size", "1")),
    ("benchmark", "input-size-40000", _benchmark_option("--input-size", "40000")),
    # --resume holds the run's settings (training.train.load_resume_config)
    ("train", "resume-other-model-filters-size", _resume(
        ["--model", "hourglass", "--filters", "32", "--input-size", "128"])),
    ("train", "resume-other-data", _resume(["--data", "lsp", "--data-dir", "T/"])),
    ("train", "resume-a-complete-run", _resume([], complete=True)),
]  # fmt: skip


# ------------------------------------- issue 24: annotations that cannot be of their images
def _far_lsp_joints(x=1e30, image=3):
    """LSP-extended joints with joint 0 of image `image` (0-based) at x (visible)."""
    joints = _lsp_joints()
    joints[0, 0, image] = x
    return joints


def _lsp_shifted_joints(offset):
    joints = _lsp_joints()
    joints[:, :2] += offset
    return joints


def _lsp_tiny_images(tmp):
    """An LSP folder whose images are all 1x1 pixels."""
    root, joints = _lsp_root(tmp, images=())
    for i in range(10):
        assert cv2.imwrite(str(root / "images" / f"im{i + 1:05d}.jpg"), np.zeros((1, 1, 3)))
    return root, joints


def _far_part(n=2):
    part = np.full((n, 16, 2), 20.0)
    part[1, 5, 1] = 1e30
    return part


def _coco_far_keypoint(data):
    data["annotations"][1]["keypoints"][3] = 1e30


def _eval_lsp_joints(joints):
    """`kerashg.evaluate --dataset lsp` file mode with good predictions, `joints` bad."""

    def build(tmp):
        gt_path = tmp / "joints.mat"
        scipy.io.savemat(gt_path, {"joints": joints})
        pred_path = tmp / "preds.mat"
        scipy.io.savemat(pred_path, {"preds": np.full((10, 14, 2), 20.0)})
        argv = ["--dataset", "lsp", "--annotations", str(gt_path), "--predictions", str(pred_path)]
        return argv, gt_path, [gt_path, pred_path]

    return build


def _evaluate_model_lsp(joints):
    """`kerashg.evaluate --model M --data lsp` over a folder whose joints.mat is bad."""

    def build(tmp):
        root, gt_path = _lsp_root(tmp, joints=joints)
        out = tmp / "preds.mat"
        argv = ["--model", str(SHIPPED_MODEL), "--data", "lsp", "--data-dir", str(root),
                "--split", "all", "--out", str(out)]  # fmt: skip
        return argv, gt_path, [gt_path]

    return build


def _lsp_extended_with_missing(n=10):
    """LSP-extended joints (14, 3, N) with joint 0 and 1 of every image not annotated,
    written off the image at (0, -26) as the real set writes them."""
    joints = _lsp_joints(n)
    joints[:2, 2] = 0.0
    joints[:2, :2] = np.array([0.0, -26.0])[None, :, None]
    return joints


def _lsp_original_visible(n=10):
    """Original-LSP joints (3, 14, N): located, mostly flag 0 (visible), a few occluded."""
    joints = _lsp_joints(n).transpose(1, 0, 2).copy()
    joints[2] = 0.0
    joints[2, :2] = 1.0
    return joints


def _eval_lsp_two_people_no_layout(tmp):
    """Two people, predictions (2, 14, 2) without `preds_layout`: which axis is people?"""
    gt_path = tmp / "joints.mat"
    scipy.io.savemat(gt_path, {"joints": _lsp_joints(2)})
    pred_path = tmp / "preds.mat"
    scipy.io.savemat(pred_path, {"preds": np.full((2, 14, 2), 20.0)})
    argv = ["--dataset", "lsp", "--annotations", str(gt_path), "--predictions", str(pred_path)]
    return argv, pred_path, [gt_path, pred_path]


def _mpii_people(n):
    """Every field of an hourglass `.h5` but `imgname`, for `n` people."""
    return {"part": np.full((n, 16, 2), 20.0), "center": np.full((n, 2), 24.0),
            "scale": np.full(n, 0.2), "visible": np.ones((n, 16)),
            "normalize": np.full(n, 8.0)}  # fmt: skip


def _duplicate_image_id(data):
    """Image 2's entry gets image 1's id (another file name)."""
    data["images"][1]["id"] = 1


BAD_INPUTS_24_ANNOTATIONS = [
    # a joint more than an image size outside any image (kerashg.data.records.check_joint_range)
    ("train", "lsp-joint-at-1e30", _train_lsp(joints=_far_lsp_joints())),
    ("train", "coco-joint-at-1e30", _train_coco_edit(_coco_far_keypoint)),
    ("train", "mpii-joint-at-1e30", _train_mpii(part=_far_part())),
    ("evaluate", "lsp-gt-joint-at-1e30", _eval_lsp_joints(_far_lsp_joints())),
    ("evaluate", "mpii-gt-joint-at-1e30", _eval_mpii(annotations={"part": _far_part(3)})),
    ("evaluate", "model-lsp-joint-at-1e30", _evaluate_model_lsp(_far_lsp_joints())),
    # held to their own image's size (check_joints_in_images, from the image headers)
    ("train", "lsp-joint-500px-off-a-48px-image", _train_lsp(joints=_far_lsp_joints(500.0))),
    ("train", "lsp-images-all-1x1", _train_lsp_root(_lsp_tiny_images)),
    ("train", "lsp-every-joint-left-of-its-image", _train_lsp(joints=_lsp_shifted_joints(-40.0))),
    ("benchmark", "lsp-images-all-1x1", _benchmark(_lsp_tiny_images, "lsp")),
    ("evaluate", "model-lsp-every-joint-outside", _evaluate_model_lsp(_lsp_shifted_joints(-40.0))),
    # LSP layouts told apart by their flags as well as their shape (kerashg.data.lsp)
    ("train", "lsp-extended-given-as-3x14xN", _train_lsp(
        joints=_lsp_extended_with_missing().transpose(1, 0, 2))),
    ("train", "lsp-original-given-as-14x3xN", _train_lsp(
        joints=_lsp_original_visible().transpose(1, 0, 2))),
    ("evaluate", "lsp-gt-extended-given-as-3x14xN", _eval_lsp_joints(
        _lsp_extended_with_missing().transpose(1, 0, 2))),
    # a 2-person predictions file must say its layout (kerashg.evaluation.files)
    ("evaluate", "lsp-preds-2-people-no-layout", _eval_lsp_two_people_no_layout),
    # the field at fault: imgname's count, a boolean coordinate array (kerashg.data)
    ("train", "mpii-imgname-3-others-5", _train_mpii(
        imgname=np.array([f"{i}.jpg".encode() for i in range(3)]), **_mpii_people(5))),
    ("train", "mpii-part-boolean", _train_mpii(part=np.ones((2, 16, 2), bool))),
    ("train", "lsp-joints-boolean", _train_lsp(joints=np.ones((14, 3, 10), bool))),
    ("train", "lsp-joints-boolean-all-false", _train_lsp(joints=np.zeros((14, 3, 10), bool))),
    ("evaluate", "mpii-gt-part-boolean", _eval_mpii(annotations={"part": np.ones((3, 16, 2), bool)})),
    # one entry per COCO image id (kerashg.data.coco, kerashg.coco_metrics)
    ("train", "coco-duplicate-image-id", _train_coco_edit(_duplicate_image_id)),
    ("evaluate", "coco-gt-duplicate-image-id", _eval_coco(gt_edit=_duplicate_image_id)),
]  # fmt: skip


def _command(name):
    if name == "train":
        from training.train import main
    elif name == "evaluate":
        from kerashg.evaluate import main
    elif name == "visualize":
        from training.visualize import main
    elif name == "benchmark":
        from benchmarks.data import main
    elif name == "predict":
        from kerashg.predict import main
    elif name == "synthetic":
        from kerashg.data.synthetic.cli import main
    else:
        from export.__main__ import main
    return main


def _digest(path):
    return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()


def _run(name, argv, capsys):
    """(exit status, stdout, stderr) of a command's `main(argv)` run in-process."""
    main = _command(name)
    try:
        returned = main(argv)
        code = returned if isinstance(returned, int) else 0
    except SystemExit as exit_info:
        code = exit_info.code
    except Exception as error:  # a traceback: the failure this corpus is about
        captured = capsys.readouterr()
        pytest.fail(f"{name} raised {type(error).__name__}: {error}\n{captured.err[-2000:]}")
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def _keep_logging():
    """Commands may configure logging (benchmarks.data): restore the root logger."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


# Seconds a case may take before it counts as a hang (the first case of a command
# imports TensorFlow; no case needs a tenth of this).
HANG_SECONDS = 120


@pytest.fixture
def _hang_guard():
    """Fails a case that runs past `HANG_SECONDS` (a FIFO opened, a graph of a 50 MB
    name built) instead of letting it wait forever."""

    def expired(signum, frame):
        raise TimeoutError(f"hang guard: still running after {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(HANG_SECONDS)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize(
    "command, build",
    [
        pytest.param(c, b, id=f"{c}-{i}")
        for c, i, b in BAD_INPUTS + BAD_INPUTS_24 + BAD_INPUTS_24_ANNOTATIONS
    ],
)
def test_bad_input_is_one_error_line_naming_the_file(
    command, build, tmp_path, capsys, _keep_logging, _hang_guard
):
    argv, named, protect = build(tmp_path)
    before = {str(p): _digest(p) for p in protect}
    code, out, err = _run(command, argv, capsys)
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert code == 2, f"exit status {code}; stderr:\n{err}"
    assert len(errors) == 1, f"expected one error: line; stderr:\n{err}"
    assert str(named) in errors[0], f"{errors[0]!r} does not name {named}"
    assert "Traceback" not in out + err, err
    assert {str(p): _digest(p) for p in protect} == before, "a good file was changed"


def test_some_unreadable_images_are_a_counted_warning(tmp_path, caplog):
    """Half the images missing: no error; the people with images are used, the rest counted."""
    from kerashg.data import load_records
    from kerashg.data.image_files import check_image_files

    root, joints = _lsp_some_images(tmp_path)
    records = load_records("lsp", root, "all")
    with caplog.at_level(logging.WARNING, logger="kerashg.data.image_files"):
        problems = check_image_files(records, root)
    assert len(problems) == 5 and set(problems.values()) == {"file not found"}
    assert (
        f"5 of 10 images listed in {joints} cannot be read (missing, empty or not an image); "
        "their 5 people are skipped"
    ) in caplog.text


def test_people_without_a_joint_inside_their_image_are_a_counted_warning(tmp_path, caplog):
    """Two of ten people annotated left of their image: no error, a count (their crops
    hold no joint); every person so is an error (the corpus)."""
    from kerashg.data import load_records
    from kerashg.data.image_files import check_image_files

    joints = _lsp_joints()
    joints[:, :2, 2:4] -= 40.0
    root, path = _lsp_root(tmp_path, joints=joints)
    records = load_records("lsp", root, "all")
    with caplog.at_level(logging.WARNING, logger="kerashg.data.image_files"):
        assert check_image_files(records, root) == {}
    assert (
        f"2 of 10 people in {path} have no annotated joint inside their image; their crops "
        "carry no target"
    ) in caplog.text


@pytest.mark.parametrize(
    "joints, reading",
    [
        (_lsp_extended_with_missing(), "LSP-extended (14, 3, N): 10 images, 120 visible "
         "joints, 20 not annotated (flag 1 = visible, 0 = not annotated)"),
        (_lsp_original_visible(), "LSP (3, 14, N): 10 images, 120 visible and 20 occluded "
         "joints (flag 0 = visible, 1 = occluded)"),
    ],
)  # fmt: skip
def test_lsp_layout_read_is_printed_by_training_and_evaluation(joints, reading, tmp_path, capsys):
    from kerashg import evaluate
    from training.sources import make_source

    root, path = _lsp_root(tmp_path, joints=joints)
    make_source(_config(root, "lsp"))
    assert f"{path}: read as {reading}\n" in capsys.readouterr().out
    preds = tmp_path / "preds.mat"
    scipy.io.savemat(preds, {"preds": np.full((10, 14, 2), 20.0)})
    argv = ["--dataset", "lsp", "--annotations", str(path), "--predictions", str(preds)]
    assert evaluate.main(argv) == 0
    assert f"note: {path}: read as {reading}\n" in capsys.readouterr().err


@pytest.mark.parametrize("suffix", [".mat", ".h5"])
def test_evaluate_reads_its_own_two_person_predictions(suffix, tmp_path, capsys):
    """A split of exactly two people: (2, 14, 2) is (N, K, 2) or (2, K, N); the
    model mode writes which, and the file mode reads it (it refused its own file)."""
    from kerashg import evaluate
    from kerashg.data.files import read_arrays
    from kerashg.errors import InputError
    from kerashg.evaluation.files import load_keypoint_predictions

    root, path = _lsp_root(tmp_path, joints=_lsp_joints(2), images=range(2))
    out = tmp_path / f"preds{suffix}"
    argv = ["--model", str(SHIPPED_MODEL), "--data", "lsp", "--data-dir", str(root),
            "--split", "all", "--out", str(out)]  # fmt: skip
    assert evaluate.main(argv) == 0, capsys.readouterr().err
    assert "PCK@0.2" in capsys.readouterr().out
    arrays = read_arrays(out)
    assert arrays["preds"].shape == (2, 14, 2)
    preds = load_keypoint_predictions(out, 2, 14)
    np.testing.assert_array_equal(preds, arrays["preds"])
    # The other layout, said so, is read transposed; no layout is still refused.
    scipy.io.savemat(tmp_path / "t.mat", {"preds": preds.transpose(2, 1, 0),
                                         "preds_layout": "(2, K, N)"})  # fmt: skip
    np.testing.assert_array_equal(load_keypoint_predictions(tmp_path / "t.mat", 2, 14), preds)
    scipy.io.savemat(tmp_path / "u.mat", {"preds": preds})
    with pytest.raises(InputError, match="is ambiguous for 2 people"):
        load_keypoint_predictions(tmp_path / "u.mat", 2, 14)


def test_image_size_reads_the_header_only(tmp_path):
    from kerashg.images import image_size

    _image(tmp_path / "a.jpg")
    assert image_size(tmp_path / "a.jpg") == (48, 48)
    assert image_size(_huge_header_png(tmp_path / "huge.png")) == (65535, 65535)
    assert image_size(_fifo(tmp_path / "f.jpg")) is None  # not waited on
    assert image_size(_write(tmp_path / "t.jpg", "text")) is None


def test_no_readable_image_fails_before_any_pipeline(tmp_path):
    from kerashg.data import load_records
    from kerashg.errors import InputError
    from training.data import make_train_dataset

    root, joints = _lsp_text_images(tmp_path)
    records = load_records("lsp", root, "all")
    with pytest.raises(InputError) as error:
        make_train_dataset(records, root, input_size=32)
    assert str(error.value) == (
        f"10 of 10 images listed in {joints} cannot be read (first: "
        f"{root / 'images' / 'im00001.jpg'}: not a decodable image); expected image files "
        f"under {root}"
    )


# ------------------------------------------------------- one run per folder; a full disk
ROOT = pathlib.Path(__file__).resolve().parents[1]
# A tiny ACNN on synthetic data: two epochs of two steps.
TINY_RUN = [
    "--model", "acnn", "--stacks", "1", "--filters", "8", "--depth", "1", "--input-size", "32",
    "--phases", "A,C", "--phase-epochs", "1,1", "--steps-per-epoch", "2", "--batch-size", "2",
    "--val-images", "4", "--synthetic-pool", "16", "--precision", "float32", "--no-tensorboard",
    "--time-budget", "0", "--seed", "1",
]  # fmt: skip


def test_a_claimed_run_folder_refuses_a_second_training(tmp_path, capsys):
    """The lock `training.train` takes on --out: held, a second command is one error line."""
    from kerashg.outputs import claimed_folder
    from training import train

    out = tmp_path / "run"
    with claimed_folder(out):
        with pytest.raises(SystemExit) as exit_info:
            train.main([*TINY_RUN, "--out", str(out)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert exit_info.value.code == 2 and len(errors) == 1, err
    assert errors[0].startswith(f"error: {out}: --out: another command (pid {os.getpid()})")
    assert sorted(p.name for p in out.iterdir()) == [".kerashg.lock"]  # nothing written


@pytest.mark.slow
def test_two_trainings_on_one_out_one_is_refused_the_other_s_files_intact(tmp_path):
    import subprocess
    import sys

    import kerashg

    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "training.train", *TINY_RUN, "--out", str(out)]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]  # fmt: skip
    results = [(run.wait(timeout=600), *run.communicate()) for run in runs]
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], [(code, err[-1500:]) for code, _, err in results]
    refused = next(err for code, _, err in results if code == 2)
    errors = [line for line in refused.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in refused, refused
    assert str(out) in errors[0]
    assert "another command" in errors[0] or "already holds a run" in errors[0]
    winner = next(out_text for code, out_text, _ in results if code == 0)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["complete"] is True and f"{metrics['pck']:.2f} %" in winner
    assert json.loads((out / "config.json").read_text())["seed"] == 1
    assert kerashg.load_model(out / "model.keras").count_params() > 0


@pytest.mark.slow
def test_a_full_disk_is_one_error_line_and_resume_continues(tmp_path, monkeypatch, capsys):
    """No small filesystem can be mounted here: the write of model.keras fails with ENOSPC."""
    import errno

    from training import train

    real_replace = os.replace

    def full_disk(source, target, *args, **kwargs):
        if str(target).endswith("model.keras"):
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real_replace(source, target, *args, **kwargs)

    out = tmp_path / "run"
    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(SystemExit) as exit_info:
        train.main([*TINY_RUN, "--out", str(out)])
    monkeypatch.undo()
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert exit_info.value.code == 2 and len(errors) == 1 and "Traceback" not in err, err
    assert errors[0].startswith(f"error: {out / 'model.keras'}: cannot be written: No space left")
    assert "--resume" in errors[0]
    # The epoch's checkpoint was written before best/ and model.keras.
    assert (out / "ckpt" / "checkpoint").is_file() and not (out / "model.keras").exists()

    metrics = train.main(["--resume", "--out", str(out)])
    assert "Resumed from " in capsys.readouterr().out
    assert metrics["complete"] is True and (out / "model.keras").is_file()
    assert [(h["phase"], h["epoch"]) for h in metrics["history"]] == [("A", 1), ("C", 1)]


def test_a_box_at_the_image_corner_parses(tmp_path):
    """`--box -10,-10,50,50` is a value, not an option (argparse took it for one)."""
    from kerashg.predict import build_parser

    image = tmp_path / "person.jpg"
    args = build_parser().parse_args([str(image), "--box", "-10,-10,50,50"])
    assert args.box == ["-10,-10,50,50"]


def test_a_killed_writer_s_temporary_folders_are_removed_by_the_next_write(tmp_path):
    # kill -9 inside `atomic_output` (an export, a model save) leaves `.NAME.tmp-PID-*`;
    # the next write of NAME removes those of dead writers and keeps a live one's.
    import os
    import subprocess
    import sys

    from kerashg.outputs import atomic_output

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    stale = tmp_path / f".model.tflite.tmp-{dead}-abc"
    live = tmp_path / f".model.tflite.tmp-{os.getpid()}-def"
    other = tmp_path / f".other.tflite.tmp-{dead}-ghi"
    for folder in (stale, live, other):
        (folder / "model.tflite").parent.mkdir()
        (folder / "model.tflite").write_bytes(b"partial")
    with atomic_output(tmp_path / "model.tflite") as tmp:
        tmp.write_bytes(b"whole")
    assert (tmp_path / "model.tflite").read_bytes() == b"whole"
    assert not stale.exists() and live.is_dir() and other.is_dir()
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == sorted(["model.tflite", live.name, other.name])
