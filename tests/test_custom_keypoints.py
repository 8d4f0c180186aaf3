"""Your own keypoints: a COCO-format JSON with its own category trains from the command line."""

import json

import cv2
import numpy as np
import pytest

from kerashg.data import load_records
from kerashg.data.coco import read_coco
from kerashg.errors import AnnotationError, InputError
from kerashg.keypoints import COCO, infer_flip_pairs, parse_flip_pairs

NAMES = ["nose_tip", "neck_base", "left_paw", "right_paw", "left_foot", "right_foot"]
# 1-based joint numbers, as COCO (and CVAT, Label Studio) write a skeleton.
SKELETON = [[1, 2], [2, 3], [2, 4], [2, 5], [2, 6]]
EDGES = ((0, 1), (1, 2), (1, 3), (1, 4), (1, 5))


def _category(**extra):
    return {"id": 3, "name": "animal", "keypoints": NAMES, "skeleton": SKELETON, **extra}


def _annotation(index: int, image_id: int, rng, width=80, height=64, category_id=3):
    x, y, w, h = 10.0, 8.0, 50.0, 48.0
    points = np.stack([rng.uniform(x, x + w, 6), rng.uniform(y, y + h, 6), np.full(6, 2.0)], axis=1)
    return {
        "id": index,
        "image_id": image_id,
        "category_id": category_id,
        "bbox": [x, y, w, h],
        "area": w * h,
        "iscrowd": 0,
        "num_keypoints": 6,
        "keypoints": [round(float(v), 1) for v in points.ravel()],
    }


def make_coco_dataset(root, categories=None, train=6, val=4, seed=0):
    """A COCO-layout data set of tiny synthetic images with the 6 `NAMES` joints:
    `annotations/person_keypoints_{split}2017.json` beside `{split}2017/`."""
    rng = np.random.default_rng(seed)
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("val", val)):
        folder = root / f"{split}2017"
        folder.mkdir(exist_ok=True)
        images, annotations = [], []
        for i in range(count):
            name = f"{i:04d}.jpg"
            pixels = rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)
            cv2.imwrite(str(folder / name), pixels)
            images.append({"id": i + 1, "file_name": name, "width": 80, "height": 64})
            annotations.append(_annotation(100 + i, i + 1, rng))
        data = {
            "images": images,
            "annotations": annotations,
            "categories": categories or [_category()],
        }
        (root / "annotations" / f"person_keypoints_{split}2017.json").write_text(json.dumps(data))
    return root


# ------------------------------------------------------------- keypoint set
def test_flip_pairs_are_read_from_left_right_words():
    assert infer_flip_pairs(NAMES) == ((2, 3), (4, 5))
    names = ["head", "l_ear", "r_ear", "LeftWing", "RightWing", "tail-left", "tail-right", "left_x"]
    assert infer_flip_pairs(names) == ((1, 2), (3, 4), (5, 6))  # left_x has no mirror
    assert infer_flip_pairs(COCO.names) == COCO.flip_pairs
    assert parse_flip_pairs([("left_paw", "right_paw")], NAMES) == ((2, 3),)
    with pytest.raises(ValueError, match="left_hand"):
        parse_flip_pairs([("left_hand", "right_paw")], NAMES)


def test_coco_json_with_its_own_category_reads_its_keypoint_set(tmp_path):
    make_coco_dataset(tmp_path)
    records = load_records("coco", tmp_path, "train")
    ks = records.keypoint_set
    assert (ks.name, ks.names) == ("animal", tuple(NAMES))
    assert ks.flip_pairs == ((2, 3), (4, 5)) and ks.skeleton == EDGES
    assert records.keypoints.shape == (6, 6, 3)
    given = load_records("coco", tmp_path, "train", flip_pairs=[("left_paw", "right_paw")])
    assert given.keypoint_set.flip_pairs == ((2, 3),)
    assert load_records("coco", tmp_path, "train", flip_pairs=()).keypoint_set.flip_pairs == ()


def test_official_coco_category_reads_as_the_coco_set(tmp_path):
    official = [n.replace("l_", "left_").replace("r_", "right_") for n in COCO.names]
    data = {
        "images": [{"id": 1, "file_name": "a.jpg"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [0, 0, 9, 9],
                "keypoints": [1, 1, 2] * 17,
            }
        ],
        "categories": [{"id": 1, "name": "person", "keypoints": official, "skeleton": []}],
    }
    path = tmp_path / "person.json"
    path.write_text(json.dumps(data))
    assert read_coco(path, "val2017").keypoint_set is COCO


def test_several_categories_need_one_chosen(tmp_path):
    bird = {"id": 4, "name": "bird", "keypoints": ["beak", "l_wing", "r_wing"], "skeleton": []}
    make_coco_dataset(tmp_path, categories=[_category(), bird])
    path = tmp_path / "annotations" / "person_keypoints_val2017.json"
    with pytest.raises(AnnotationError, match=r"2 categories with keypoints.*'animal', 'bird'"):
        read_coco(path, "val2017")
    records = read_coco(path, "val2017", category="animal")
    assert records.keypoint_set.names == tuple(NAMES) and len(records) == 4
    assert read_coco(path, "val2017", category="bird").keypoint_set.flip_pairs == ((1, 2),)
    with pytest.raises(AnnotationError, match="no category 'fish'"):
        read_coco(path, "val2017", category="fish")


def test_bad_skeleton_and_keypoint_count_name_the_field(tmp_path):
    make_coco_dataset(tmp_path, categories=[_category(skeleton=[[0, 1]])])
    path = tmp_path / "annotations" / "person_keypoints_val2017.json"
    with pytest.raises(AnnotationError, match=r"categories\[0\].*'skeleton'.*1\.\.6"):
        read_coco(path, "val2017")
    data = json.loads(path.read_text())
    data["categories"] = [_category()]
    data["annotations"][1]["keypoints"] = data["annotations"][1]["keypoints"][:15]
    path.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match=r"annotations\[1\].*'keypoints'.*18 numbers"):
        read_coco(path, "val2017")


def test_coco_ap_of_an_own_category_uses_its_sigmas_or_the_default(tmp_path):
    from kerashg.coco_metrics import DEFAULT_OKS_SIGMA, coco_keypoint_ap, keypoint_category

    make_coco_dataset(tmp_path)
    path = tmp_path / "annotations" / "person_keypoints_val2017.json"
    data = json.loads(path.read_text())
    scored = keypoint_category(data, str(path))
    assert scored.category_ids == (3,) and scored.num_keypoints == 6
    np.testing.assert_array_equal(scored.sigmas, np.full(6, DEFAULT_OKS_SIGMA))
    truth = [
        {"image_id": a["image_id"], "category_id": 3, "keypoints": a["keypoints"], "score": 1.0}
        for a in data["annotations"]
    ]
    assert coco_keypoint_ap(data, truth)["AP"] == pytest.approx(1.0)
    # 2 px off on a 50 x 48 box: OKS exp(-4 / (2 * 2400 * (2 * 0.05)^2)) = 0.92 with the
    # default; sigmas ten times smaller score the same error far lower.
    off = [
        dict(r, keypoints=[v + 2 * (i % 3 < 2) for i, v in enumerate(r["keypoints"])])
        for r in truth
    ]
    loose = coco_keypoint_ap(data, off)["AP"]
    data["categories"][0]["sigmas"] = [DEFAULT_OKS_SIGMA / 10] * 6
    assert keypoint_category(data).sigma_source == "the category's sigmas"
    assert coco_keypoint_ap(data, off)["AP"] < loose
    data["categories"][0]["sigmas"] = [0.05] * 5
    with pytest.raises(AnnotationError, match="'sigmas'.*6 positive numbers"):
        keypoint_category(data)


def test_flip_pairs_and_category_options():
    from training.config import TrainConfig, config_from_args, resolve_config
    from training.train import build_parser

    args = build_parser().parse_args(
        ["--data", "coco", "--data-dir", "D", "--flip-pairs", "left_paw:right_paw, a:b"]
    )
    config = config_from_args(args)
    assert config.flip_pairs == (("left_paw", "right_paw"), ("a", "b"))
    assert TrainConfig.from_json(config.to_json()).flip_pairs == config.flip_pairs
    none = config_from_args(build_parser().parse_args(["--flip-pairs", "none"]))
    assert none.flip_pairs == ()
    with pytest.raises(InputError, match="--flip-pairs must be joint-name pairs"):
        config_from_args(build_parser().parse_args(["--flip-pairs", "left_paw"]))
    with pytest.raises(InputError, match="--category is an option of COCO-format data"):
        resolve_config(TrainConfig(data="lsp", data_dir="D", category="animal"), gpu=False)


# ------------------------------------------------------------- the whole run
@pytest.mark.slow
def test_own_keypoints_train_from_the_command_line_and_stay_in_the_model(tmp_path):
    import keras

    import export
    from kerashg import evaluate
    from kerashg.predict import main as predict_main
    from training.train import main

    root = make_coco_dataset(tmp_path / "animals")
    out = tmp_path / "run"
    metrics = main(
        [
            "--data", "coco", "--data-dir", str(root), "--out", str(out),
            "--stacks", "2", "--depth", "2", "--input-size", "64", "--filters", "16",
            "--phase-epochs", "1,0,0", "--steps-per-epoch", "2", "--batch-size", "2",
            "--time-budget", "0", "--no-tensorboard",
        ]
    )  # fmt: skip
    assert metrics["val_images"] == 4 and 0.0 <= metrics["pck"] <= 100.0
    assert "person box" in metrics["pck_normalizer"]  # no head boxes: a tenth of the box
    assert list(metrics["pck_table"]["per_joint"]) == NAMES
    model = keras.saving.load_model(out / "model.keras")
    ks = model.keypoint_set
    assert (ks.name, ks.names) == ("animal", tuple(NAMES))
    assert ks.flip_pairs == ((2, 3), (4, 5)) and ks.skeleton == EDGES

    # Evaluate: COCO AP of the category (no `sigmas` given: 0.05 for every joint).
    stats = json.loads(
        evaluate.run(
            evaluate.build_parser().parse_args(
                ["--model", str(out / "model.keras"), "--data", "coco", "--data-dir", str(root),
                 "--out", str(tmp_path / "preds.json"), "--json"]
            )
        )
    )  # fmt: skip
    assert 0.0 <= stats["AP"] <= 1.0
    results = json.loads((tmp_path / "preds.json").read_text())
    assert len(results) == 4 and {r["category_id"] for r in results} == {3}
    assert all(len(r["keypoints"]) == 18 for r in results)

    # Export and predict: the .tflite file decodes the 6 joints of a photo.
    report = export.export_model(
        model, tmp_path / "export", formats=("tflite",), num_verify=2, latency_runs=1, log=None
    )
    entry = next(e for e in report["artifacts"] if e["name"] == "tflite_float32")
    assert entry["passed"], entry
    tflite = next((tmp_path / "export").glob("*.tflite"))
    photo = root / "val2017" / "0000.jpg"
    predict_main([str(photo), "--model", str(tflite), "--out", str(tmp_path / "pred")])
    written = json.loads((tmp_path / "pred" / "keypoints.json").read_text())
    assert np.asarray(written["results"][0]["keypoints"]).shape == (6, 3)
    assert written["joint_names"] == NAMES  # the set recorded in the .tflite file
