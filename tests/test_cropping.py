"""Finding a person without a box: re-crops around the joints found, and the video crop.

The runner here is a stand-in for a model with the precision a heatmap model
has: it finds each joint (a square of its own colour in the frame) in its
64×64 input and reports it on a 16×16 grid, the resolution of a 64-pixel
model's heatmaps. So how well it locates a joint depends on how large the
person is in the crop, as with a real model; what is tested is the cropping.
"""

from __future__ import annotations

import numpy as np
import pytest

from kerashg import decoding
from kerashg.cropping import CropTracker, find_person, joints_box
from kerashg.keypoints import KeypointSet
from kerashg.runtime import Runner, predict_people

INPUT = 64
STRIDE = 4  # input pixels per heatmap pixel
COLOURS = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]],
    np.uint8,
)


class ColourRunner(Runner):
    """Finds joint k where its colour is, on the heatmap grid; score 1 where found."""

    format = "test"

    def __init__(self):
        super().__init__()
        self.input_size = (INPUT, INPUT)
        self.calls = 0

    def keypoints(self, images):
        self.calls += len(images)
        images = np.asarray(images, np.int32)
        out = np.zeros((len(images), len(COLOURS), 3), np.float32)
        for b, image in enumerate(images):
            for k, colour in enumerate(COLOURS):
                hit = np.abs(image - colour).sum(axis=-1) < 60
                if not hit.any():
                    continue
                y, x = np.argwhere(hit).mean(axis=0)
                # The heatmap grid: a joint is reported at its cell's centre.
                cell = lambda v: (np.floor(v / STRIDE) + 0.5) * STRIDE - 0.5  # noqa: E731
                out[b, k] = cell(x), cell(y), 1.0
        return out


def figure_frame(size, center, height):
    """A black frame with the six joints of a figure `height` pixels tall at `center`."""
    frame = np.zeros((size, size, 3), np.uint8)
    offsets = np.array([[0, -0.5], [-0.2, -0.2], [0.2, -0.2], [-0.1, 0.1], [0.1, 0.1], [0, 0.5]])
    joints = np.asarray(center, np.float64) + offsets * height
    half = max(1, int(height * 0.04))
    for (x, y), colour in zip(joints, COLOURS, strict=True):
        xi, yi = int(round(x)), int(round(y))
        frame[yi - half : yi + half + 1, xi - half : xi + half + 1] = colour
    return frame, joints


def error(person, joints):
    return float(np.linalg.norm(person["keypoints"][:, :2] - joints, axis=-1).mean())


def test_joints_box_takes_the_confident_joints_only():
    keypoints = np.array([[10, 20, 0.9], [30, 60, 0.8], [500, 500, 0.1], [20, 40, 0.7]])
    assert joints_box(keypoints, min_score=0.5, min_joints=3) == (10.0, 20.0, 20.0, 40.0)
    assert joints_box(keypoints, min_score=0.5, min_joints=4) is None


def test_a_small_figure_in_a_large_frame_is_found_by_the_second_pass():
    frame, joints = figure_frame(640, (420.0, 250.0), 120.0)
    runner = ColourRunner()
    one = find_person(runner, frame, passes=1)
    two = find_person(runner, frame, passes=2)
    assert one["passes"] == 1 and two["passes"] == 2 and two["box"] is not None
    # One pass: a heatmap cell is 40 frame pixels; the crop around the joints
    # brings the figure close, so its error falls several times over.
    assert error(one, joints) > 8.0
    assert error(two, joints) < error(one, joints) / 3


def test_no_joints_found_keeps_the_whole_frame_pass():
    runner = ColourRunner()
    person = find_person(runner, np.zeros((200, 300, 3), np.uint8), passes=3)
    assert person["passes"] == 1 and person["box"] is None and runner.calls == 1


def test_passes_must_be_positive():
    with pytest.raises(ValueError, match="passes must be >= 1"):
        find_person(ColourRunner(), np.zeros((8, 8, 3), np.uint8), passes=0)


def test_the_video_crop_follows_a_moving_figure_and_returns_to_the_whole_frame():
    runner = ColourRunner()
    tracker = CropTracker(runner, passes=2)
    errors, tracked = [], []
    for step in range(6):
        frame, joints = figure_frame(640, (150.0 + 20.0 * step, 300.0 + 5.0 * step), 120.0)
        person = tracker(frame)
        errors.append(error(person, joints))
        tracked.append(person["tracked"])
        # The crop of the next frame is the box of this frame's joints.
        assert tracker.box is not None
    assert tracked == [False] + [True] * 5
    # Cropped from the previous frame, the figure is seen large in every frame.
    assert max(errors) < 8.0
    # The person leaves: the crop finds no joint, the tracker falls back to the
    # whole frame and forgets the box.
    person = tracker(np.zeros((640, 640, 3), np.uint8))
    assert person["tracked"] is False and person["box"] is None and tracker.box is None
    # It comes back elsewhere: found again from the whole frame.
    frame, joints = figure_frame(640, (500.0, 200.0), 120.0)
    person = tracker(frame)
    assert person["tracked"] is False and error(person, joints) < 8.0


# docs/REAL_PHOTOS.md: the shipped int8 file on the first 150 scored people of
# LSP-extended's held-out split (images 8,101-9,000), PCK@0.2 of the torso over
# all 14 joints: `python -m benchmarks.whole_image --model
# kerashg/weights/acnn4_lsp_128_int8.tflite --passes 2 --min-score 0.3 --limit 150`.
SHIPPED_WHOLE_IMAGE_PCK = {"box": 52.50, "one pass": 32.14, "two passes": 46.49}


@pytest.mark.slow
@pytest.mark.data
def test_the_shipped_model_finds_real_people_in_whole_photos():
    from benchmarks import whole_image
    from kerashg.presets import WEIGHTS_DIR
    from tests.conftest import data_path

    lspet = data_path("lspet", "joints.mat").parent
    result = whole_image.run(
        WEIGHTS_DIR / "acnn4_lsp_128_int8.tflite", lspet, passes=2, min_scores=(0.3,), limit=150
    )
    scored = {
        "box": result["box"]["all"],
        "one pass": result["whole"]["passes=1 min_score=0.3"]["all"],
        "two passes": result["whole"]["passes=2 min_score=0.3"]["all"],
    }
    assert scored == pytest.approx(SHIPPED_WHOLE_IMAGE_PCK, abs=0.05)
    # The re-crop around the joints found is what makes a whole photo usable.
    assert scored["two passes"] - scored["one pass"] > 5.0


class BiasedHeatmapRunner(ColourRunner):
    """Gaussian heatmaps at each colour's centre moved `bias` input pixels right,
    as a model with a horizontal bias would; it decodes them as an artifact does."""

    def __init__(self, bias=2.0):
        super().__init__()
        self.bias = bias
        heatmap = INPUT // STRIDE
        self.codec_config = {
            "input_size": [INPUT, INPUT],
            "heatmap_size": [heatmap, heatmap],
            "sigma": 1.0,
            "refine": "dark",
        }
        self.keypoint_set_config = KeypointSet.custom("dots", list("abcdef")).get_config()

    def heatmaps(self, images):
        self.calls += len(images)
        images = np.rint(np.asarray(images) * 255).astype(np.int32)
        v, u = np.mgrid[: INPUT // STRIDE, : INPUT // STRIDE]
        maps = np.zeros((len(images), INPUT // STRIDE, INPUT // STRIDE, len(COLOURS)), np.float32)
        for b, image in enumerate(images):
            for k, colour in enumerate(COLOURS):
                hit = np.abs(image - colour).sum(axis=-1) < 60
                if hit.any():
                    y, x = np.argwhere(hit).mean(axis=0)
                    d2 = (u - (x + self.bias) / STRIDE) ** 2 + (v - y / STRIDE) ** 2
                    maps[b, ..., k] = np.exp(-d2 / 2)
        return {"heatmaps": maps}

    def keypoints(self, images):
        heatmaps = self.heatmaps(np.asarray(images, np.float32) / 255.0)["heatmaps"]
        return decoding.decode(heatmaps, (STRIDE, STRIDE), "dark", 1.0)


def test_the_flip_test_averages_a_crop_and_its_mirror_image():
    # A bias to the right in the crop is a bias to the left in the mirror image:
    # the flip test's average cancels it, with the flip's alignment corrected,
    # and gives what an unbiased model gives. (Joints 1-4: 0 and 5 lie on the
    # heatmap's border rows, where DARK falls back to the quarter pixel.)
    frame, joints = figure_frame(256, (128.0, 128.0), 200.0)
    box = joints_box(np.c_[joints, np.ones(len(joints))])
    runner = BiasedHeatmapRunner(bias=0.0)
    unbiased = predict_people(runner, frame, [box])[0]["keypoints"][1:5, 0]
    runner.bias = 1.5
    plain = predict_people(runner, frame, [box])[0]
    flipped = predict_people(runner, frame, [box], flip_index=np.arange(6))[0]
    per_crop_pixel = box[3] * 1.25 / INPUT  # frame pixels per crop pixel
    shift = (plain["keypoints"][1:5, 0] - unbiased) / per_crop_pixel
    np.testing.assert_allclose(shift, 1.5, atol=0.01)
    np.testing.assert_allclose(flipped["keypoints"][1:5, 0], unbiased, atol=0.01 * per_crop_pixel)
    # find_person flips the last pass only: one whole-frame run, then two.
    runner.calls = 0
    person = find_person(runner, frame, passes=2, flip_index=np.arange(6))
    assert person["passes"] == 2 and runner.calls == 1 + 2
