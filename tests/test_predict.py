"""kerashg.predict: runners, whole-frame crops mapped back, images / folders / video."""

import json
import re

import cv2
import numpy as np
import pytest

import kerashg
from kerashg import (
    draw,
    errors,
    outputs,
    pose_tracker,
    predict,
    presets,
    runtime,
    transforms,
)
from kerashg.boxes import BoxError, image_id_from_name, match_tracks
from kerashg.keypoints import MPII
from kerashg.smoothing import OneEuroFilter
from tests.conftest import BLOCK_TENSORFLOW, DATA_ROOT, TINY, JitterRunner, data_path


def _main(argv) -> int:
    """`predict.main`'s exit status: 0, or the `SystemExit` code of a user error."""
    try:
        return predict.main(argv)
    except SystemExit as exit_:
        return exit_.code


class FixedRunner(runtime.Runner):
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
    result = runtime.predict_frame(runner, frame)
    center, scale = runtime.whole_frame_box(200, 100)
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
    center, scale = runtime.whole_frame_box(90, 120)
    matrix = transforms.get_affine_transform(center, scale, 0.0, (64, 64))
    dot = transforms.transform_points([[30.0, 80.0]], matrix)[0]
    runner = FixedRunner([[dot[0], dot[1], 1.0]])
    result = runtime.predict_frame(runner, frame)
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
    report = predict.predict(folder, acnn_file, out, passes=1)  # the whole frame only
    saved = json.loads((out / "keypoints.json").read_text())
    assert saved == report
    assert [r["image"] for r in saved["results"]] == ["a.png", "b.jpg"]
    assert saved["keypoint_set"] == "mpii" and len(saved["joint_names"]) == 16
    for result in saved["results"]:
        keypoints = np.asarray(result["keypoints"])
        assert keypoints.shape == (16, 3)
    for stem in ("a_png", "b_jpg"):  # the whole input name: a.png → a_png_pose.jpg
        drawn = cv2.imread(str(out / f"{stem}_pose.jpg"))
        assert drawn is not None
        masks = cv2.imread(str(out / f"{stem}_masks.jpg"))
        # One panel per stage (Fig. 6), the letterbox of the whole-frame crop cut
        # away: a 120×80 image fills 64×43 of the 64×64 crop, a 60×100 one 39×64.
        assert masks.shape == ((43, 128, 3) if stem == "a_png" else (64, 2 * 39, 3))
    # Keras runner agrees with the model's own decoding on the crop.
    runner = runtime.load_runner(acnn_file)
    image = cv2.cvtColor(cv2.imread(str(folder / "a.png")), cv2.COLOR_BGR2RGB)
    result = runtime.predict_frame(runner, image)
    expected = runner.model.codec.decode_numpy(
        runner.model(result["crop"][None] / np.float32(255.0))["heatmaps"][:, -1]
    )[0]
    inverse = transforms.get_affine_transform(
        *runtime.whole_frame_box(120, 80), 0.0, (64, 64), inverse=True
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
    capture = cv2.VideoCapture(str(out / "clip_mp4_pose.mp4"))
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
        runtime.load_runner(tmp_path / "model.bin")


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


# ------------------------------------------------------------- person boxes
COCO_ANNOTATIONS = ("coco-mini", "annotations", "person_keypoints_val2017.json")


@pytest.fixture(scope="module")
def coco_acnn_file(tmp_path_factory):
    model = kerashg.ACNN(
        num_stacks=2, filters=16, depth=2, input_shape=(64, 64, 3), num_keypoints=17
    )
    path = tmp_path_factory.mktemp("model") / "acnn_coco.keras"
    model.save(path)
    return path


def _two_person_image():
    """The first COCO-mini val image with exactly two annotated (non-crowd) people."""
    annotations = json.loads(data_path(*COCO_ANNOTATIONS).read_text())
    images = {image["id"]: image for image in annotations["images"]}
    people = {}
    for ann in annotations["annotations"]:
        people.setdefault(ann["image_id"], []).append(ann)
    for image_id in sorted(people):
        anns = people[image_id]
        if len(anns) == 2 and all(a["num_keypoints"] > 0 and not a["iscrowd"] for a in anns):
            path = DATA_ROOT / "coco-mini" / "images" / "val2017" / images[image_id]["file_name"]
            if path.is_file():
                return path, image_id, [a["bbox"] for a in anns]
    pytest.skip("no COCO-mini val image with two annotated people and its file")


def _assert_inside_crops(people, boxes, input_size=(64, 64)):
    """Every keypoint lies in its box's crop region (the box widened and padded 1.25×)."""
    for person, box in zip(people, boxes, strict=True):
        assert person["box"] == pytest.approx(box, abs=1e-3)
        center, scale = transforms.box_to_center_scale(*box, aspect_ratio=1.0)
        half = scale * transforms.PIXEL_STD / 2.0
        keypoints = np.asarray(person["keypoints"])
        assert keypoints.shape == (17, 3)
        assert (np.abs(keypoints[:, :2] - center) <= half + 1.0).all(), (box, keypoints)


def test_two_boxes_on_a_coco_photo_give_two_people(coco_acnn_file, tmp_path, capsys):
    image, image_id, boxes = _two_person_image()
    out = tmp_path / "boxes"
    args = [str(image), "--model", str(coco_acnn_file), "--out", str(out)]
    for box in boxes:
        args += ["--box", ",".join(str(v) for v in box)]
    assert _main(args) == 0
    assert "2 people" in capsys.readouterr().out
    report = json.loads((out / "keypoints.json").read_text())
    assert report["boxes"] == "--box" and report["smoothed"] is False
    assert report["keypoint_set"] == "coco"
    [result] = report["results"]
    assert result["image"] == image.name and len(result["people"]) == 2
    _assert_inside_crops(result["people"], boxes)
    assert result["keypoints"] == result["people"][0]["keypoints"]  # one-person alias
    drawn = cv2.imread(str(out / outputs.output_name(image.name, "pose", ".jpg")))
    assert drawn is not None and drawn.shape == cv2.imread(str(image)).shape
    masks = cv2.imread(str(out / outputs.output_name(image.name, "masks", ".jpg")))
    # One row per person, one panel per stage, each cut to the part of the crop
    # the photo covers.
    regions = [
        p["region"]
        for p in runtime.predict_people(
            runtime.load_runner(coco_acnn_file), cv2.imread(str(image))[..., ::-1], boxes
        )
    ]
    heights = [y1 - y0 for _, y0, _, y1 in regions]
    widths = [x1 - x0 for x0, _, x1, _ in regions]
    assert masks.shape == (sum(heights), 2 * max(widths), 3)

    # The same people from a COCO detection-results file (matched by image_id),
    # next to a box of another image, a low-score box and a non-person box.
    detections = [
        {"image_id": image_id, "category_id": 1, "bbox": boxes[0], "score": 0.9},
        {"image_id": image_id, "category_id": 1, "bbox": boxes[1], "score": 0.8},
        {"image_id": image_id, "category_id": 1, "bbox": [0, 0, 30, 30], "score": 0.1},
        {"image_id": image_id, "category_id": 3, "bbox": [0, 0, 50, 50], "score": 0.99},
        {"image_id": image_id + 1, "category_id": 1, "bbox": [0, 0, 50, 50], "score": 0.99},
    ]
    results_file = tmp_path / "detections.json"
    results_file.write_text(json.dumps(detections))
    out_file = tmp_path / "file"
    args = [str(image), "--model", str(coco_acnn_file), "--out", str(out_file)]
    assert _main([*args, "--boxes", str(results_file), "--box-score-threshold", "0.5"]) == 0
    from_file = json.loads((out_file / "keypoints.json").read_text())
    assert from_file["boxes"] == str(results_file)
    people = from_file["results"][0]["people"]
    assert [p["box_score"] for p in people] == [0.9, 0.8]
    assert [p["keypoints"] for p in people] == [p["keypoints"] for p in result["people"]]
    assert (out_file / outputs.output_name(image.name, "pose", ".jpg")).is_file()


def test_boxes_file_matches_by_file_name_and_leaves_unmatched_images_empty(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_image(folder / "000000000139.jpg", 0)
    _write_image(folder / "holiday.png", 1)
    _write_image(folder / "other.png", 2)
    detections = [
        {"image_id": 139, "bbox": [10, 10, 40, 50], "score": 0.7},
        {"file_name": "some/dir/holiday.png", "bbox": [5, 5, 20, 30]},  # score: 1
    ]
    (tmp_path / "det.json").write_text(json.dumps(detections))
    runner = FixedRunner([[32.0, 32.0, 0.9]] * 16)
    report = predict.predict(folder, runner, boxes_file=tmp_path / "det.json")
    people = {r["image"]: r["people"] for r in report["results"]}
    assert [p["box"] for p in people["000000000139.jpg"]] == [[10, 10, 40, 50]]
    assert [p["box_score"] for p in people["holiday.png"]] == [1.0]
    assert people["other.png"] == [] and report["results"][2]["keypoints"] is None
    # A crop centre maps back to the box centre.
    np.testing.assert_allclose(people["holiday.png"][0]["keypoints"][0][:2], [15.0, 20.0])
    assert image_id_from_name("COCO_val2014_000000000139.jpg") == 139
    assert image_id_from_name("photo.jpg") is None


def test_match_tracks_follows_boxes_by_overlap():
    previous = {0: (0, 0, 10, 10), 1: (50, 50, 10, 10)}
    tracks, next_track = match_tracks(
        previous, [(51, 50, 10, 10), (100, 0, 5, 5), (1, 0, 10, 10)], 2
    )
    assert tracks == [1, 2, 0] and next_track == 3


def test_smooth_filters_each_person_track_of_a_video(tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (96, 64))
    rng = np.random.default_rng(0)
    for _ in range(6):
        writer.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    writer.release()
    boxes = [(5, 5, 30, 50), (50, 10, 40, 40)]
    raw = predict.predict(video, JitterRunner(), boxes=boxes)
    out = tmp_path / "out"
    smoothed = predict.predict(video, JitterRunner(), out, boxes=boxes, smooth=True)
    assert raw["smoothed"] is False and smoothed["smoothed"] is True
    assert smoothed["smoothing"]["fps"] == 5.0
    assert smoothed["smoothing"]["beta"] == pose_tracker.DEFAULT_SMOOTH_BETA
    assert json.loads((out / "keypoints.json").read_text()) == smoothed
    for track in range(2):
        one_euro = OneEuroFilter(5.0, 1.0, pose_tracker.DEFAULT_SMOOTH_BETA, 1.0)
        for before, after in zip(raw["results"], smoothed["results"], strict=True):
            assert after["people"][track]["track"] == track
            keypoints = np.asarray(before["people"][track]["keypoints"])
            expected = one_euro(keypoints[:, :2])
            got = np.asarray(after["people"][track]["keypoints"])
            np.testing.assert_allclose(got[:, :2], expected, atol=2e-3)
            np.testing.assert_array_equal(got[:, 2], keypoints[:, 2])
    assert (out / "clip_mp4_pose.mp4").is_file()


def test_boxes_file_on_a_video_matches_frames_and_keeps_tracks(tmp_path):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (96, 64))
    rng = np.random.default_rng(1)
    for _ in range(4):
        writer.write(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8))
    writer.release()
    a, b = [5, 5, 30, 50], [50, 10, 40, 40]
    # image_id = 0-based frame index; the detector lists the people in any order,
    # and finds nobody in frame 2.
    detections = [
        {"image_id": frame, "bbox": box, "score": 0.9}
        for frame, boxes in ((0, [a, b]), (1, [b, a]), (3, [b, a]))
        for box in boxes
    ]
    (tmp_path / "det.json").write_text(json.dumps(detections))
    report = predict.predict(video, JitterRunner(), boxes_file=tmp_path / "det.json", smooth=True)
    tracks = [{p["track"]: p["box"] for p in r["people"]} for r in report["results"]]
    assert tracks[0] == {0: a, 1: b} and tracks[1] == {1: b, 0: a}
    assert tracks[2] == {}  # nobody: the tracks end
    assert tracks[3] == {2: b, 3: a}  # new tracks, their filters start afresh


# -------------------------------------------------------------------- errors
def _error_line(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_missing_default_model_is_one_error_line(tmp_path, monkeypatch, capsys):
    _write_image(tmp_path / "a.png")
    missing = tmp_path / "weights" / "acnn4_lsp_128.keras"
    monkeypatch.setattr(presets, "DEFAULT_MODEL", missing)
    assert _main([str(tmp_path / "a.png")]) == 2
    line = _error_line(capsys)
    assert "no model was given" in line and str(missing) in line
    with pytest.raises(FileNotFoundError, match="acnn4_lsp_128.keras"):
        predict.predict(tmp_path / "a.png")


def test_default_model_is_used_without_model(acnn_file, tmp_path, monkeypatch):
    _write_image(tmp_path / "a.png")
    monkeypatch.setattr(presets, "DEFAULT_MODEL", acnn_file)
    report = predict.predict(tmp_path / "a.png")
    assert report["model"] == str(acnn_file) and len(report["results"][0]["people"]) == 1


@pytest.mark.parametrize("value", ["1,2,3", "1,2,3,4,5", "a,b,c,d", "10,10,0,5", "10,10,5,-1"])
def test_bad_box_is_one_error_line(acnn_file, tmp_path, capsys, value):
    _write_image(tmp_path / "a.png")
    args = [str(tmp_path / "a.png"), "--model", str(acnn_file), "--box", "0,0,10,10"]
    assert _main([*args, "--box", value]) == 2
    line = _error_line(capsys)
    assert "--box" in line and repr(value) in line


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "not found"),
        ("{not json", "is not a JSON file"),
        ('{"image_id": 1}', "must hold a JSON list"),
        ('[{"image_id": 1, "score": 0.5}]', "entry 0 has no 'bbox' field"),
        ('[{"image_id": 1, "bbox": [1, 2, 3]}]', "entry 0 field 'bbox'.*\\[1, 2, 3\\]"),
        ('[{"image_id": 1, "bbox": [1, 2, 0, 4]}]', "entry 0 field 'bbox'.*\\[1, 2, 0, 4\\]"),
        ('[{"image_id": 1, "bbox": [1, 2, 3, 4], "score": "high"}]', "field 'score'.*'high'"),
        ('[{"bbox": [1, 2, 3, 4]}]', "entry 0 needs a 'file_name'"),
        ('[{"image_id": 7, "bbox": [1, 2, 3, 4]}]', "no box matches an input image"),
    ],
)
def test_bad_boxes_file_is_one_error_line(acnn_file, tmp_path, capsys, content, expected):
    _write_image(tmp_path / "a.png")
    path = tmp_path / "boxes.json"
    if content is not None:
        path.write_text(content)
    args = [str(tmp_path / "a.png"), "--model", str(acnn_file), "--boxes", str(path)]
    assert _main(args) == 2
    line = _error_line(capsys)
    assert str(path) in line
    assert re.search(expected, line), line


def test_smooth_without_a_video_is_an_error(acnn_file, tmp_path, capsys):
    _write_image(tmp_path / "a.png")
    assert _main([str(tmp_path / "a.png"), "--model", str(acnn_file), "--smooth"]) == 2
    line = _error_line(capsys)
    assert "--smooth" in line and "not a video" in line


def test_draw_people_draws_every_person():
    image = np.zeros((60, 120, 3), np.uint8)
    left = np.column_stack([np.linspace(5, 45, 16), np.linspace(5, 55, 16), np.ones(16)])
    right = left + [70, 0, 0]
    drawn = draw.draw_people(image, [left, right], [None, (65, 0, 50, 60)], MPII)
    assert drawn[:, :55].any() and drawn[:, 65:].any() and not image.any()
    assert (draw.draw_people(image, []) == image).all()
    with pytest.raises(ValueError, match="one box per person"):
        draw.draw_people(image, [left], [])


# ------------------------------------------------- outputs never replace a file
def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def test_output_names_keep_the_whole_input_name():
    assert outputs.output_name("a.jpg", "pose", ".jpg") == "a_jpg_pose.jpg"
    assert outputs.output_name("a.png", "pose", ".jpg") == "a_png_pose.jpg"
    assert outputs.output_name("x.y.JPEG", "masks", ".jpg") == "x.y_JPEG_masks.jpg"
    assert outputs.output_name("clip.mp4", "pose", ".mp4") == "clip_mp4_pose.mp4"


def test_same_stem_images_get_their_own_outputs(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_image(folder / "a.jpg", 0)
    _write_image(folder / "a.png", 1, (100, 60, 3))
    out = tmp_path / "out"
    report = predict.predict(folder, JitterRunner(), out)
    assert [r["image"] for r in report["results"]] == ["a.jpg", "a.png"]
    assert cv2.imread(str(out / "a_jpg_pose.jpg")).shape == (80, 120, 3)
    assert cv2.imread(str(out / "a_png_pose.jpg")).shape == (100, 60, 3)


def test_existing_outputs_are_refused_without_force(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_image(folder / "a.jpg", 0)
    _write_image(folder / "b.png", 1)
    out = tmp_path / "out"
    out.mkdir()
    (out / "b_png_pose.jpg").write_bytes(b"the user's own file")
    (out / "notes.txt").write_text("keep")
    before = _snapshot(out)
    args = [str(folder), "--model", "unused.keras", "--out", str(out)]
    # Refused before any work: the (missing) model is not even opened.
    assert _main(args) == 2
    line = _error_line(capsys)
    assert line == (
        f"error: {out / 'b_png_pose.jpg'}: --out: already exists (1 of the run's 3 output "
        "files do: an earlier run's or your own); expected a new or empty --out folder, or "
        "--force to replace them"
    )
    assert _snapshot(out) == before
    # An earlier run's results are refused too; --force replaces them.
    (out / "b_png_pose.jpg").unlink()
    predict.predict(folder, JitterRunner(), out)
    with pytest.raises(outputs.OutputExistsError, match="keypoints.json: --out: already exists"):
        predict.predict(folder, JitterRunner(), out)
    (out / "a_jpg_pose.jpg").write_bytes(b"stale")
    predict.predict(folder, JitterRunner(), out, force=True)
    assert cv2.imread(str(out / "a_jpg_pose.jpg")) is not None
    assert (out / "notes.txt").read_text() == "keep"


def test_out_in_the_input_folder_never_replaces_an_input(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_image(folder / "a.jpg", 0)
    _write_image(folder / "a_jpg_pose.jpg", 1)  # an input named like a.jpg's output
    inputs = _snapshot(folder)
    for force in ([], ["--force"]):
        assert _main([str(folder), "--model", "m.keras", "--out", str(folder), *force]) == 2
        line = _error_line(capsys)
        assert line.startswith(f"error: {folder / 'a_jpg_pose.jpg'}: --out: this output would ")
        assert "replace an input of the run" in line
        assert _snapshot(folder) == inputs
    # --out = the input folder without such a clash writes beside the inputs.
    (folder / "a_jpg_pose.jpg").unlink()
    predict.predict(folder, JitterRunner(), folder)
    assert (folder / "a.jpg").read_bytes() == inputs["a.jpg"]
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg", "a_jpg_pose.jpg", "keypoints.json"]
    # A --boxes file named like an output is an input too.
    boxes = tmp_path / "out" / "keypoints.json"
    boxes.parent.mkdir()
    boxes.write_text(json.dumps([{"file_name": "a.jpg", "bbox": [0, 0, 20, 20], "score": 1.0}]))
    with pytest.raises(outputs.OutputExistsError, match="would replace an input"):
        predict.predict(
            folder / "a.jpg", JitterRunner(), boxes.parent, boxes_file=boxes, force=True
        )
    assert json.loads(boxes.read_text())[0]["bbox"] == [0, 0, 20, 20]


# ------------------------------------------------ TensorFlow-free runtime (LiteRT)
SHIPPED_TFLITE = presets.DEFAULT_MODEL.parent / "acnn4_lsp_128_int8.tflite"
# Run in a fresh interpreter where `import tensorflow` / `import keras` fail.
_WITHOUT_TF = (
    BLOCK_TENSORFLOW
    + """from kerashg import predict
try:
    code = predict.main(sys.argv[1:])
except SystemExit as stop:
    code = stop.code
heavy = ("tensorflow", "keras", "cv2", "ai_edge_litert", "onnxruntime")
print("LOADED", sorted({m.partition(".")[0] for m in sys.modules} & set(heavy)))
sys.exit(code)
"""
)


def _run_without_tf(*args):
    import os
    import subprocess
    import sys

    root = str(presets.DEFAULT_MODEL.parents[2])
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run(
        [sys.executable, "-c", _WITHOUT_TF, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=root,
    )


def test_tflite_predicts_without_tensorflow_or_keras(tmp_path):
    if not SHIPPED_TFLITE.is_file():
        pytest.skip(f"shipped model missing: {SHIPPED_TFLITE}")
    image = tmp_path / "person.jpg"
    _write_image(image, 3, (150, 100, 3))
    out = tmp_path / "out"
    done = _run_without_tf(image, "--model", SHIPPED_TFLITE, "--out", out)
    assert done.returncode == 0, done.stderr
    # LiteRT and OpenCV load; TensorFlow and Keras are never imported.
    assert "LOADED ['ai_edge_litert', 'cv2']" in done.stdout, done.stdout
    report = json.loads((out / "keypoints.json").read_text())
    assert report["format"] == "tflite" and report["keypoint_set"] == "lsp"
    [result] = report["results"]
    keypoints = np.asarray(result["keypoints"])
    assert keypoints.shape == (14, 3) and np.isfinite(keypoints).all()
    # Whole-frame crop: every joint lies in the letterboxed square around the image.
    assert (keypoints[:, 0] >= -26).all() and (keypoints[:, 0] <= 125).all()
    assert (keypoints[:, 1] >= -1).all() and (keypoints[:, 1] <= 150).all()
    assert cv2.imread(str(out / "person_jpg_pose.jpg")).shape == (150, 100, 3)
    assert (out / "person_jpg_masks.jpg").is_file()  # ACNN masks from the .tflite too


def test_default_keras_model_predicts_in_a_fresh_process(tmp_path):
    """The newcomer's first command: no --model, a new process, the shipped .keras.

    `import kerashg` registers no layers (it imports no Keras); the runner must
    load the model with them registered (this failed once with "Could not
    locate class 'ACNN'" while every in-process test passed).
    """
    import os
    import subprocess
    import sys

    if not presets.DEFAULT_MODEL.is_file():
        pytest.skip(f"shipped model missing: {presets.DEFAULT_MODEL}")
    image = tmp_path / "person.jpg"
    _write_image(image, 3, (150, 100, 3))
    out = tmp_path / "out"
    root = str(presets.DEFAULT_MODEL.parents[2])
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["PYTHONPATH"] = root + os.pathsep + os.environ.get("PYTHONPATH", "")
    done = subprocess.run(
        [sys.executable, "-m", "kerashg.predict", str(image), "--out", str(out)],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "keypoints.json").read_text())
    assert report["format"] == "keras" and report["keypoint_set"] == "lsp"
    assert np.asarray(report["results"][0]["keypoints"]).shape == (14, 3)
    # A normal run prints no TensorFlow start-up lines.
    for noise in ("cudart_stub", "cpu_feature_guard", "absl::InitializeLog", "cuInit"):
        assert noise not in done.stderr, done.stderr


def test_help_imports_no_tensorflow():
    done = _run_without_tf("--help")
    assert done.returncode == 0, done.stderr
    assert "LOADED []" in done.stdout
    # Every option says what it does.
    parser = predict.build_parser()
    for action in parser._actions:
        assert action.help, action.option_strings
    assert "MMPose" in done.stdout and "--score-threshold" in done.stdout


def test_user_errors_are_input_errors():
    from kerashg.errors import InputError

    assert issubclass(BoxError, InputError)
    assert issubclass(outputs.OutputExistsError, InputError)


# ------------------------------------------------------------- COCO results
def _coco_images(count):
    """`count` COCO-mini val images (with their files) that have annotated people."""
    annotations = json.loads(data_path(*COCO_ANNOTATIONS).read_text())
    people = {a["image_id"] for a in annotations["annotations"] if a["num_keypoints"] > 0}
    folder = DATA_ROOT / "coco-mini" / "images" / "val2017"
    found = [
        folder / image["file_name"]
        for image in annotations["images"]
        if image["id"] in people and (folder / image["file_name"]).is_file()
    ]
    if len(found) < count:
        pytest.skip(f"fewer than {count} COCO-mini val images with people")
    return found[:count]


def test_format_coco_writes_results_that_evaluate_scores(coco_acnn_file, tmp_path, capsys):
    import shutil

    from kerashg import evaluate

    folder = tmp_path / "images"
    folder.mkdir()
    images = _coco_images(2)
    for image in images:
        shutil.copy(image, folder / image.name)
    out = tmp_path / "out"
    args = [str(folder), "--model", str(coco_acnn_file), "--out", str(out), "--format", "coco"]
    assert _main(args) == 0
    results = json.loads((out / outputs.COCO_RESULTS).read_text())
    assert [r["image_id"] for r in results] == [int(p.stem) for p in sorted(images)]
    for result in results:
        assert result["category_id"] == 1 and len(result["keypoints"]) == 3 * 17
        # The person score is the mean joint score (no detector box scores here);
        # an untrained model's heatmap peaks are not bounded by 1.
        assert result["score"] == pytest.approx(np.mean(result["keypoints"][2::3]), abs=1e-3)
    report = json.loads((out / "keypoints.json").read_text())
    assert report["coco_results"] == outputs.COCO_RESULTS
    assert [r["image_id"] for r in report["results"]] == [r["image_id"] for r in results]
    people = [person for r in report["results"] for person in r["people"]]
    assert [p["score"] for p in people] == pytest.approx([r["score"] for r in results])
    capsys.readouterr()
    annotations = data_path(*COCO_ANNOTATIONS)
    code = evaluate.main(
        ["--dataset", "coco", "--annotations", str(annotations), "--predictions",
         str(out / outputs.COCO_RESULTS)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "AP" in captured.out


def test_format_coco_needs_coco_keypoints_and_image_ids(acnn_file, tmp_path, capsys):
    from kerashg.errors import InputError

    _write_image(tmp_path / "000000000139.jpg")
    args = [str(tmp_path / "000000000139.jpg"), "--model", str(acnn_file), "--format", "coco"]
    assert _main(args) == 2
    line = _error_line(capsys)
    assert "--format coco" in line and "17 COCO keypoints" in line and "'mpii'" in line
    _write_image(tmp_path / "holiday.jpg")
    coco_runner = FixedRunner([[32.0, 32.0, 0.9]] * 17)
    with pytest.raises(InputError, match="holiday.jpg.*needs a COCO image id"):
        predict.predict(tmp_path / "holiday.jpg", coco_runner, output_format="coco")
    # The id of a --boxes entry names the image whatever its file name.
    (tmp_path / "det.json").write_text(
        json.dumps([{"file_name": "holiday.jpg", "image_id": 42, "bbox": [5, 5, 30, 40]}])
    )
    report = predict.predict(
        tmp_path / "holiday.jpg", coco_runner, boxes_file=tmp_path / "det.json",
        output_format="coco",
    )  # fmt: skip
    [entry] = outputs.coco_results(report["results"])
    assert entry["image_id"] == 42 and entry["score"] == pytest.approx(0.9)


# ---------------------------------------------------- folders, videos, drawings
def test_a_bad_image_in_a_folder_is_skipped_and_counted(tmp_path, capsys):
    folder = tmp_path / "images"
    folder.mkdir()
    _write_image(folder / "a.png", 0)
    (folder / "b.jpg").write_text("not an image")
    _write_image(folder / "c.png", 1)
    out = tmp_path / "out"
    report = predict.predict(folder, JitterRunner(), out)
    assert [r["image"] for r in report["results"]] == ["a.png", "c.png"]
    assert [s["image"] for s in report["skipped"]] == ["b.jpg"]
    assert json.loads((out / "keypoints.json").read_text()) == report
    err = capsys.readouterr().err
    assert f"warning: skipped {folder / 'b.jpg'}" in err and "image 2 of 3" in err
    assert "skipped 1 of 3 images" in err
    (folder / "a.png").write_text("broken too")
    (folder / "c.png").write_text("and this")
    with pytest.raises(errors.InputError, match="none of its 3 images could be read"):
        predict.predict(folder, JitterRunner())


def _avi(path, frames=3, size=(96, 64)):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 5.0, size)
    rng = np.random.default_rng(2)
    for _ in range(frames):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()


def _frames(path):
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_video_keeps_its_container_and_can_show_masks(acnn_file, tmp_path):
    video = tmp_path / "clip.avi"
    _avi(video)
    plain, masked = tmp_path / "plain", tmp_path / "masked"
    predict.predict(video, acnn_file, plain)
    predict.predict(video, acnn_file, masked, video_masks=True)
    assert sorted(p.name for p in plain.iterdir()) == ["clip_avi_pose.avi", "keypoints.json"]
    without, with_masks = (
        _frames(plain / "clip_avi_pose.avi"),
        _frames(masked / "clip_avi_pose.avi"),
    )
    assert len(without) == len(with_masks) == 3
    # The masks colour the frame (JET) where the crop lies: the whole frame here.
    difference = np.abs(without[0].astype(int) - with_masks[0].astype(int)).mean(axis=2)
    assert (difference > 10).mean() > 0.5


def test_drawing_threshold_off_image_joints_and_legend():
    image = np.zeros((80, 80, 3), np.uint8)
    keypoints = np.array([[20.0, 20.0, 0.9], [60.0, 60.0, 0.3], [40.0, 200.0, 0.9]])
    drawn = draw.draw_skeleton(image, keypoints)
    assert draw.DEFAULT_SCORE_THRESHOLD == 0.3
    assert drawn[20, 20].any()  # scored above 0.3
    assert not drawn[55:66, 55:66].any()  # scored 0.3: hidden by default
    assert draw.draw_skeleton(image, keypoints, score_threshold=0.2)[60, 60].any()
    # A joint below the image is dropped, and with it its edges.
    lsp = kerashg.LSP
    joints = np.tile([[40.0, 40.0, 0.9]], (14, 1))
    a, b = lsp.skeleton[0]
    joints[a], joints[b] = [10.0, 70.0, 0.9], [10.0, 500.0, 0.9]
    edges = draw.draw_skeleton(image, joints, lsp)
    assert edges[70, 10].any() and not edges[75:80, 5:15].any()
    # The legend names the sides and the threshold, in the top-left corner.
    legend = draw.pose_legend()
    assert [text for text, _ in legend][:3] == ["person's left", "person's right", "centre"]
    assert "score > 0.3" in legend[3][0]
    with_legend = draw.draw_people(np.full((200, 300, 3), 128, np.uint8), [], legend=True)
    assert (with_legend[:20, :20] != 128).any() and (with_legend[150:, 250:] == 128).all()


def test_mask_panels_cut_the_letterbox_and_name_the_stages():
    crop = np.full((64, 64, 3), 100, np.uint8)
    masks = np.zeros((3, 16, 16, 1), np.float32)
    cut = draw.overlay_masks(crop, masks, region=(0, 10, 64, 54))
    assert cut.shape == (44, 3 * 64, 3)
    unlabelled = draw.overlay_masks(crop, masks, region=(0, 10, 64, 54), labels=False)
    assert (cut[:10, :40] != unlabelled[:10, :40]).any()  # "stage 1" written
    rows = draw.stack_rows([cut, unlabelled[:, :64]])
    assert rows.shape == (88, 192, 3) and not rows[44:, 64:].any()


def test_summary_images_draw_prediction_over_truth():
    from training.sources import summary_images

    images = np.full((1, 64, 64, 3), 0.5, np.float32)
    truth = np.column_stack([np.linspace(8, 56, 16), np.linspace(8, 56, 16), np.full(16, 2.0)])
    prediction = truth.copy()
    prediction[:, 0] = 56 - prediction[:, 0] + 8  # mirrored: drawn elsewhere
    masks = {"masks": np.ones((1, 2, 16, 16, 1), np.float32)}
    both = summary_images(images, prediction[None], masks, truth[None], MPII)
    only = summary_images(images, prediction[None], masks)
    assert both["predictions"].shape == (1, 64, 64, 3) and both["masks"].shape == (1, 64, 128, 3)
    assert (np.abs(both["predictions"] - only["predictions"]) > 0.05).any()  # truth drawn


def test_truncated_jpeg_is_refused_not_half_decoded(acnn_file, tmp_path, capsys):
    # cv2.imread decodes the first half of a cut JPEG without a word; predict must not.
    image = tmp_path / "cut.jpg"
    _write_image(image, 4, (120, 80, 3))
    data = image.read_bytes()
    image.write_bytes(data[: len(data) // 2])
    assert cv2.imread(str(image)) is not None  # what the old reader accepted
    assert _main([str(image), "--model", str(acnn_file), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"error: {image}: could not read the image (truncated JPEG")
    assert "Traceback" not in "\n".join(err)
