"""The keypoint set travels with the model: names, flip pairs and skeleton in the
model's config (`.keras`) and in every exported artifact's metadata, beside the
codec (mmpose's `dataset_meta`); guessing by joint count only for files that
record none."""

import json

import numpy as np
import pytest

import kerashg
from kerashg.keypoints import LSP, KeypointSet
from kerashg.runtime import KEYPOINTS_METADATA, guess_keypoint_set, load_runner
from tests.conftest import TINY

# A user's own 6 joints, as a COCO keypoints JSON of CVAT or Label Studio names them.
PAW_SET = KeypointSet.custom(
    "paws",
    ["nose_tip", "neck_base", "left_paw", "right_paw", "left_foot", "right_foot"],
    flip_pairs=[(2, 3), (4, 5)],
    skeleton=[(0, 1), (1, 2), (1, 3), (1, 4), (1, 5)],
)


def test_keypoint_set_config_round_trip_is_json():
    config = PAW_SET.get_config()
    assert KeypointSet.from_config(json.loads(json.dumps(config))) == PAW_SET


def test_model_keeps_its_keypoint_set_in_config_and_keras_file(tmp_path):
    model = kerashg.StackedHourglass(**TINY, num_keypoints=6, keypoint_set=PAW_SET)
    assert model.keypoint_set == PAW_SET
    assert model.get_config()["keypoint_set"] == PAW_SET.get_config()
    rebuilt = kerashg.StackedHourglass.from_config(model.get_config())
    assert rebuilt.keypoint_set == PAW_SET
    model.save(tmp_path / "paws.keras")
    loaded = kerashg.load_model(tmp_path / "paws.keras", compile=False)
    assert loaded.keypoint_set == PAW_SET
    assert load_runner(tmp_path / "paws.keras").keypoint_set == PAW_SET


def test_model_keypoint_set_accepts_a_name_and_checks_the_joint_count():
    model = kerashg.ACNN(**TINY, num_keypoints=14, keypoint_set="lsp")
    assert model.keypoint_set == LSP
    with pytest.raises(ValueError, match="6 joints"):
        kerashg.StackedHourglass(**TINY, num_keypoints=16, keypoint_set=PAW_SET)


def test_a_model_without_a_recorded_set_is_guessed_by_joint_count(tmp_path):
    # What a file saved before models recorded their set gets: the built-in set
    # of its joint count, and None where there is none.
    model = kerashg.StackedHourglass(**TINY, num_keypoints=14)
    assert model.keypoint_set is None and model.get_config()["keypoint_set"] is None
    config = model.get_config()
    del config["keypoint_set"]  # a config written before the field existed
    assert kerashg.StackedHourglass.from_config(config).keypoint_set is None
    assert load_runner(model).keypoint_set == LSP == guess_keypoint_set(14)
    odd = kerashg.StackedHourglass(**TINY, num_keypoints=6)
    assert load_runner(odd).keypoint_set is None


@pytest.mark.slow
def test_custom_keypoint_set_survives_every_export(tmp_path):
    import export

    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(2)
    model = kerashg.StackedHourglass(**TINY, num_keypoints=6, keypoint_set=PAW_SET)
    model.save(tmp_path / "paws.keras")
    report = export.export_model(
        tmp_path / "paws.keras",
        tmp_path,
        formats=("savedmodel", "tflite", "onnx"),
        num_verify=2,
        latency_runs=1,
        log=None,
    )
    paths = {entry["name"]: entry["path"] for entry in report["artifacts"]}
    assert {"savedmodel", "tflite_float32", "onnx"} <= set(paths)
    for name in ("savedmodel", "tflite_float32", "onnx"):
        runner = load_runner(paths[name])
        assert runner.keypoint_set_config == PAW_SET.get_config(), name
        assert runner.keypoint_set == PAW_SET, name
        assert runner.codec_config == model.codec.get_config(), name
    # Where each format records it, readable without kerashg.
    saved = json.loads(
        (tmp_path / paths["savedmodel"])
        .joinpath("assets.extra", f"{KEYPOINTS_METADATA}.json")
        .read_text()
    )
    assert saved["names"] == list(PAW_SET.names)
    import onnx

    properties = {p.key: p.value for p in onnx.load(paths["onnx"]).metadata_props}
    assert json.loads(properties[KEYPOINTS_METADATA])["flip_pairs"] == [[2, 3], [4, 5]]
    # A TensorRT engine records neither: it takes the ONNX file's (export.tensorrt).
    from export.tensorrt import onnx_configs

    assert onnx_configs(paths["onnx"]) == (model.codec.get_config(), PAW_SET.get_config())
    np.testing.assert_array_equal(runner.keypoint_set.flip_index, [0, 1, 3, 2, 5, 4])
