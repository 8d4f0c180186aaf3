"""kerashg.PoseEstimator: one object over any artifact, from an image to `Person`s;
the same keypoints as `python -m kerashg.predict`; TensorFlow-free for `.tflite`."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import kerashg
from kerashg import presets
from kerashg.errors import InputError
from kerashg.keypoints import LSP
from kerashg.person import Person
from kerashg.pose_tracker import DEFAULT_SMOOTH_BETA
from kerashg.smoothing import OneEuroFilter
from tests.conftest import BLOCK_TENSORFLOW, DATA_ROOT, JitterRunner, data_path

ROOT = presets.WEIGHTS_DIR.parents[1]
SHIPPED_TFLITE = presets.WEIGHTS_DIR / "acnn4_lsp_128_int8.tflite"
COCO_ANNOTATIONS = ("coco-mini", "annotations", "person_keypoints_val2017.json")


def _coco_photo():
    """A COCO-mini val photo with two annotated people: (path, [box, box])."""
    annotations = json.loads(data_path(*COCO_ANNOTATIONS).read_text())
    files = {image["id"]: image["file_name"] for image in annotations["images"]}
    people = {}
    for ann in annotations["annotations"]:
        if ann["num_keypoints"] > 0 and not ann["iscrowd"]:
            people.setdefault(ann["image_id"], []).append(ann["bbox"])
    for image_id in sorted(people):
        path = DATA_ROOT / "coco-mini" / "images" / "val2017" / files[image_id]
        if len(people[image_id]) == 2 and path.is_file():
            return path, people[image_id]
    pytest.skip("no COCO-mini val photo with two annotated people and its file")


def _command(image, out, *args):
    """`python -m kerashg.predict` in a new process; its keypoints.json."""
    done = subprocess.run(
        [sys.executable, "-m", "kerashg.predict", str(image), "--out", str(out), *args],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads((out / "keypoints.json").read_text())


@pytest.mark.slow
@pytest.mark.data
def test_estimator_gives_the_keypoints_of_the_command_on_a_coco_photo(tmp_path):
    image, boxes = _coco_photo()
    estimator = kerashg.PoseEstimator()  # the shipped model
    assert estimator.model_path == presets.DEFAULT_MODEL and estimator.keypoint_set == LSP
    [person] = estimator(image)
    found = _command(image, tmp_path / "found")["results"][0]["people"]
    assert [person.to_dict()] == found
    two = estimator(image, boxes=boxes)
    box_args = [a for box in boxes for a in ("--box", ",".join(map(str, box)))]
    boxed = _command(image, tmp_path / "boxed", *box_args)["results"][0]["people"]
    assert [p.to_dict() for p in two] == boxed and len(boxed) == 2
    for p, box in zip(two, boxes, strict=True):
        assert p.box == pytest.approx(box) and p.keypoints.shape == (14, 3)
    # An RGB array gives what its file gives.
    from kerashg.images import read_image_file

    again = estimator(read_image_file(image), boxes=boxes)
    np.testing.assert_array_equal(again[0].keypoints, two[0].keypoints)


# Runs PoseEstimator and the command on the shipped .tflite where `import tensorflow`
# (and Keras) fail, and prints what it found and which heavy modules loaded.
_WITHOUT_TF = (
    BLOCK_TENSORFLOW
    + """import kerashg
from kerashg import predict

model, image, out = sys.argv[1:4]
boxes = json.loads(sys.argv[4])
estimator = kerashg.PoseEstimator(model)
found = [p.to_dict() for p in estimator(image)]
boxed = [p.to_dict() for p in estimator(image, boxes=boxes)]
frames = [image, image, image]
tracked = [[p.to_dict() for p in people] for people in estimator.track(frames, fps=10)]
box_args = [a for box in boxes for a in ("--box", ",".join(map(str, box)))]
predict.main([image, "--model", model, "--out", out + "/found"])
predict.main([image, "--model", model, "--out", out + "/boxed", *box_args])
heavy = ("tensorflow", "keras", "cv2", "ai_edge_litert", "onnxruntime")
print(json.dumps({
    "found": found, "boxed": boxed, "tracked": tracked,
    "keypoint_set": estimator.keypoint_set.name, "model_path": str(estimator.model_path),
    "loaded": sorted({m.partition(".")[0] for m in sys.modules} & set(heavy)),
}))
"""
)


@pytest.mark.slow
def test_tflite_estimator_runs_without_tensorflow(tmp_path):
    if not SHIPPED_TFLITE.is_file():
        pytest.skip(f"shipped model missing: {SHIPPED_TFLITE}")
    image = tmp_path / "people.jpg"
    import cv2

    rng = np.random.default_rng(5)
    assert cv2.imwrite(str(image), rng.integers(0, 255, (180, 140, 3), dtype=np.uint8))
    boxes = [[5, 10, 60, 120], [70, 20, 60, 150]]
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run(
        [sys.executable, "-c", _WITHOUT_TF, str(SHIPPED_TFLITE), str(image), str(tmp_path),
         json.dumps(boxes)],
        capture_output=True, text=True, timeout=300, env=env, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["loaded"] == ["ai_edge_litert", "cv2"]  # no TensorFlow, no Keras
    assert result["keypoint_set"] == "lsp" and result["model_path"] == str(SHIPPED_TFLITE)
    command = json.loads((tmp_path / "found" / "keypoints.json").read_text())
    assert result["found"] == command["results"][0]["people"]
    command = json.loads((tmp_path / "boxed" / "keypoints.json").read_text())
    assert result["boxed"] == command["results"][0]["people"] and len(result["boxed"]) == 2
    assert [len(people) for people in result["tracked"]] == [1, 1, 1]
    assert [people[0]["track"] for people in result["tracked"]] == [0, 0, 0]


def test_people_carry_their_keypoint_set_and_draw_themselves():
    estimator = kerashg.PoseEstimator(JitterRunner(num_keypoints=14, score=0.9))
    assert estimator.model_path is None and estimator.keypoint_set == LSP  # 14 joints
    image = np.zeros((100, 80, 3), np.uint8)
    [person] = estimator(image, boxes=[(10, 20, 40, 60)])
    assert isinstance(person, Person) and person.keypoint_set == LSP
    assert person.box == (10, 20, 40, 60) and person.score == pytest.approx(0.9)
    assert person.keypoints.shape == (14, 3) and person.keypoints.dtype == np.float32
    np.testing.assert_array_equal(person.keypoint("head_top"), person.keypoints[13])
    drawn = person.draw(image)
    assert drawn.shape == image.shape and drawn.any() and not image.any()
    # RGB in, RGB out: a left limb is blue in RGB (draw.LEFT_COLOR is BGR).
    from kerashg import draw

    bgr = person.draw(image[..., ::-1], bgr=True)
    np.testing.assert_array_equal(bgr[..., ::-1], drawn)
    assert draw.LEFT_COLOR[::-1] in {tuple(p) for p in drawn.reshape(-1, 3)}
    as_json = json.loads(person.to_json())
    assert as_json["joint_names"] == list(LSP.names) and as_json["box"] == [10, 20, 40, 60]
    assert as_json["keypoints"] == [[round(float(v), 3) for v in j] for j in person.keypoints]
    scored = estimator(image, boxes=[(10, 20, 40, 60)], box_scores=[0.5])[0]
    assert scored.box_score == 0.5 and scored.score == pytest.approx(0.45)


def test_track_keeps_each_tracks_smoothing_state():
    estimator = kerashg.PoseEstimator(JitterRunner(num_keypoints=14, score=0.9))
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (64, 96, 3), dtype=np.uint8) for _ in range(5)]
    boxes = [(5, 5, 30, 50), (50, 10, 40, 40)]
    raw = [estimator(frame, boxes) for frame in frames]
    smoothed = list(estimator.track(frames, fps=5.0, boxes=boxes, match_boxes=False))
    for track in range(2):
        one_euro = OneEuroFilter(5.0, 1.0, DEFAULT_SMOOTH_BETA, 1.0)
        for before, after in zip(raw, smoothed, strict=True):
            assert after[track].track == track
            expected = one_euro(before[track].keypoints[:, :2])
            np.testing.assert_allclose(after[track].keypoints[:, :2], expected, atol=1e-4)
    # A stream object does the same, frame by frame; reset forgets the tracks.
    stream = estimator.stream(fps=5.0, match_boxes=False)
    streamed = [stream(frame, boxes) for frame in frames]
    assert [p.to_dict() for p in streamed[-1]] == [p.to_dict() for p in smoothed[-1]]
    stream.reset()
    assert stream.frame_index == 0
    first = stream(frames[0], boxes)
    np.testing.assert_array_equal(first[0].keypoints, raw[0][0].keypoints)
    # Detector boxes (a callable per frame) follow people by overlap.
    swapped = list(
        estimator.track(frames[:2], 5.0, boxes=lambda i: boxes if i == 0 else boxes[::-1])
    )
    assert [p.track for p in swapped[1]] == [1, 0]
    # Without boxes, one person followed by its crop, track 0.
    alone = list(estimator.track(frames[:3], 5.0, smooth=False))
    assert [[p.track for p in people] for people in alone] == [[0], [0], [0]]


def test_models_by_preset_name_and_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="architecture only"):
        kerashg.PoseEstimator("hg8_mpii_256")
    with pytest.raises(FileNotFoundError, match="nope.keras"):
        kerashg.PoseEstimator(tmp_path / "nope.keras")
    estimator = kerashg.PoseEstimator(JitterRunner(num_keypoints=14, score=0.9))
    with pytest.raises(InputError, match="RGB uint8"):
        estimator(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="RGB uint8"):
        estimator(np.zeros((10, 10, 3), np.float32))
    (tmp_path / "bad.jpg").write_text("not an image")
    with pytest.raises(InputError, match="bad.jpg"):
        estimator(tmp_path / "bad.jpg")
    with pytest.raises(InputError, match="one score per box"):
        estimator(np.zeros((10, 10, 3), np.uint8), [(0, 0, 5, 5)], box_scores=[])
    with pytest.raises(ValueError, match="passes"):
        kerashg.PoseEstimator(JitterRunner(num_keypoints=14, score=0.9), passes=0)


@pytest.mark.slow
def test_trained_preset_by_name():
    estimator = kerashg.PoseEstimator("acnn4_lsp_128")
    assert estimator.model_path == presets.weights_path("acnn4_lsp_128")
    assert estimator.format == "keras" and estimator.keypoint_set == LSP


def test_the_flip_test_runs_where_it_can_and_says_why_it_cannot():
    # On by default where the model gives heatmaps and its keypoint set is known;
    # asked for where it cannot run, a clear error instead of a traceback.
    assert kerashg.PoseEstimator(JitterRunner(num_keypoints=14)).flip is False
    with pytest.raises(InputError, match="flip=True needs heatmaps; jitter gives keypoints"):
        kerashg.PoseEstimator(JitterRunner(num_keypoints=14), flip=True)
    with pytest.raises(InputError, match="records no set and its 5 joints"):
        kerashg.PoseEstimator(JitterRunner(num_keypoints=5), flip=True)
