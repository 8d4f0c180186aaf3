"""kerashg.predict: runners, whole-frame crops mapped back, images / folders / video."""

import json

import cv2
import numpy as np
import pytest

import kerashg
from kerashg import draw, predict, transforms
from kerashg.keypoints import MPII
from tests.conftest import TINY


class FixedRunner(predict.Runner):
    """Returns the same crop keypoints for every image: isolates the geometry."""

    format = "fixed"

    def __init__(self, crop_keypoints, input_size=(64, 64)):
        super().__init__()
        self.crop_keypoints = np.asarray(crop_keypoints, np.float32)
        self.input_size = input_size
        self.seen = []

    def keypoints(self, images):
        self.seen.append(np.asarray(images))
        return np.repeat(self.crop_keypoints[None], len(images), axis=0)


def test_whole_frame_crop_maps_keypoints_back_to_the_frame():
    # A 200×100 frame letterboxed into 64×64: the crop centre is the frame
    # centre and the crop's width spans the frame's longer side.
    crop = [[32.0, 32.0, 0.9], [0.0, 32.0, 0.5], [64.0, 32.0, 0.1]]
    frame = np.zeros((100, 200, 3), np.uint8)
    runner = FixedRunner(crop)
    result = predict.predict_frame(runner, frame)
    center, scale = predict.whole_frame_box(200, 100)
    np.testing.assert_allclose(center, [99.5, 49.5])
    assert scale == pytest.approx(1.0)
    np.testing.assert_allclose(
        result["keypoints"], [[99.5, 49.5, 0.9], [-0.5, 49.5, 0.5], [199.5, 49.5, 0.1]], atol=1e-4
    )
    assert runner.seen[0].shape == (1, 64, 64, 3) and runner.seen[0].dtype == np.uint8


def test_predict_frame_inverse_matches_the_crop_of_a_drawn_dot():
    # A white dot in the frame lands where the crop transform says, and the
    # inverse takes that crop position back onto the dot.
    frame = np.zeros((120, 90, 3), np.uint8)
    cv2.circle(frame, (30, 80), 3, (255, 255, 255), -1)
    center, scale = predict.whole_frame_box(90, 120)
    matrix = transforms.get_affine_transform(center, scale, 0.0, (64, 64))
    dot = transforms.transform_points([[30.0, 80.0]], matrix)[0]
    runner = FixedRunner([[dot[0], dot[1], 1.0]])
    result = predict.predict_frame(runner, frame)
    np.testing.assert_allclose(result["keypoints"][0, :2], [30.0, 80.0], atol=1e-4)
    crop = result["crop"]
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert abs(xs.mean() - dot[0]) < 1.0 and abs(ys.mean() - dot[1]) < 1.0


@pytest.fixture(scope="module")
def acnn_file(tmp_path_factory):
    model = kerashg.ACNN(**TINY)
    path = tmp_path_factory.mktemp("model") / "acnn.keras"
    model.save(path)
    return path


def _write_image(path, seed=0, shape=(80, 120, 3)):
    image = np.random.default_rng(seed).integers(0, 255, shape, dtype=np.uint8)
    assert cv2.imwrite(str(path), image)


def test_predict_image_and_folder_write_json_and_drawings(acnn_file, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_image(folder / "a.png", 0)
    _write_image(folder / "b.jpg", 1, (100, 60, 3))
    out = tmp_path / "out"
    report = predict.predict(folder, acnn_file, out)
    saved = json.loads((out / "keypoints.json").read_text())
    assert saved == report
    assert [r["image"] for r in saved["results"]] == ["a.png", "b.jpg"]
    assert saved["keypoint_set"] == "mpii" and len(saved["joint_names"]) == 16
    for result in saved["results"]:
        keypoints = np.asarray(result["keypoints"])
        assert keypoints.shape == (16, 3)
    for stem in ("a", "b"):
        drawn = cv2.imread(str(out / f"{stem}_pose.jpg"))
        assert drawn is not None
        masks = cv2.imread(str(out / f"{stem}_masks.jpg"))
        assert masks.shape == (64, 2 * 64, 3)  # one panel per stage (Fig. 6)
    # Keras runner agrees with the model's own decoding on the crop.
    runner = predict.load_runner(acnn_file)
    image = cv2.cvtColor(cv2.imread(str(folder / "a.png")), cv2.COLOR_BGR2RGB)
    result = predict.predict_frame(runner, image)
    expected = kerashg.HeatmapCodec(64).decode_numpy(
        runner.model(result["crop"][None] / np.float32(255.0))["heatmaps"][:, -1]
    )[0]
    inverse = transforms.get_affine_transform(
        *predict.whole_frame_box(120, 80), 0.0, (64, 64), inverse=True
    )
    np.testing.assert_allclose(
        result["keypoints"][:, :2], transforms.transform_points(expected[:, :2], inverse), atol=1e-3
    )


def test_predict_video_writes_annotated_video(acnn_file, tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (96, 64))
    for i in range(3):
        writer.write(np.full((64, 96, 3), 40 * i, np.uint8))
    writer.release()
    out = tmp_path / "out"
    report = predict.predict(video, acnn_file, out)
    assert [r["frame"] for r in report["results"]] == [0, 1, 2]
    capture = cv2.VideoCapture(str(out / "clip_pose.mp4"))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    assert frames == 3


def test_predict_errors_name_the_input(tmp_path, acnn_file):
    with pytest.raises(FileNotFoundError, match="nope.png"):
        predict.predict(tmp_path / "nope.png", acnn_file)
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="notes.txt"):
        predict.predict(tmp_path / "notes.txt", acnn_file)
    with pytest.raises(ValueError, match="model.bin"):
        (tmp_path / "model.bin").write_bytes(b"0")
        predict.load_runner(tmp_path / "model.bin")


def test_draw_skeleton_and_masks():
    image = np.zeros((50, 60, 3), np.uint8)
    keypoints = np.column_stack([np.linspace(5, 55, 16), np.linspace(5, 45, 16), np.ones(16)])
    drawn = draw.draw_skeleton(image, keypoints, MPII)
    assert drawn.shape == image.shape and drawn.any() and not image.any()
    hidden = draw.draw_skeleton(image, keypoints, MPII, score_threshold=1.0)
    assert not hidden.any()
    with pytest.raises(ValueError, match="17 keypoints"):
        draw.draw_skeleton(image, np.zeros((17, 3)), MPII)
    panel = draw.overlay_masks(image, np.ones((3, 12, 15, 1)))
    assert panel.shape == (50, 180, 3)
