"""Export: every format on tiny models, parity with Keras, both signatures, the
TensorRT operator check, atomic writes and --force."""

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import export
import kerashg
from export import options, tensorrt, tensorrt_check
from export.verify import joint_agreement, to_uint8
from kerashg.runtime import load_runner
from tests.conftest import TINY

FLOAT32_TOLERANCE = 1e-4
NUM_KEYPOINTS = 16  # the models' default (MPII)


def _images(count=4, size=64, seed=0):
    """Smooth random images (blobs on a gradient), float32 (N, S, S, 3) in [0, 1]."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    images = []
    for _ in range(count):
        image = np.stack([x, y, 1 - x], -1) * rng.uniform(0.2, 0.8, 3)
        for _ in range(4):
            cx, cy, r = rng.uniform(0.2, 0.8, 2).tolist() + [rng.uniform(0.05, 0.2)]
            blob = np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * r**2))
            image += blob[..., None] * rng.uniform(-0.5, 0.5, 3)
        images.append(np.clip(image, 0, 1))
    return np.asarray(images, np.float32)


# The codec each fixture model owns: the default (sigma 1, DARK), and a
# training run's `--sigma 2 --refine quarter`, which every artifact must keep.
CODECS = {"StackedHourglass": {}, "ACNN": {"sigma": 2.0, "refine": "quarter"}}


@pytest.fixture(scope="module", params=["StackedHourglass", "ACNN"])
def exported(request, tmp_path_factory):
    """A tiny model with its codec, saved to `.keras`, then exported from that
    file to SavedModel, TFLite float32 and ONNX (verified)."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(1)
    codec = kerashg.HeatmapCodec(64, **CODECS[request.param])
    model = getattr(kerashg, request.param)(**TINY, codec=codec)
    out = tmp_path_factory.mktemp(request.param)
    model.save(out / "model.keras")
    model = kerashg.load_model(out / "model.keras", compile=False)
    assert model.codec.get_config() == codec.get_config()  # the codec survives the file
    images = _images()
    report = export.export_model(
        out / "model.keras",
        out,
        formats=("savedmodel", "tflite", "onnx", "tensorrt"),
        calibration_data=images,
        num_verify=4,
        latency_runs=3,
        log=None,
    )
    return model, out, images, report


def _entry(report, name):
    return next(e for e in report["artifacts"] if e["name"] == name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["savedmodel", "tflite_float32", "onnx"])
def test_float32_artifacts_match_keras(exported, name):
    model, out, images, report = exported
    entry = _entry(report, name)
    assert entry["passed"], entry
    assert entry["max_abs_heatmap_diff"] <= FLOAT32_TOLERANCE
    assert entry["joint_agreement"] == 1.0
    assert entry["size_bytes"] > 0 and entry["median_latency_ms"] > 0

    # Independently of the report: both signatures through the runner, on images
    # of whole uint8 pixels (what the ONNX graph's one uint8 input takes exactly).
    images = to_uint8(images) / np.float32(255.0)
    runner = load_runner(entry["path"], num_threads=2)
    outputs = runner.heatmaps(images)
    reference = model(images, training=False)
    np.testing.assert_allclose(
        outputs["heatmaps"], reference["heatmaps"][:, -1], atol=FLOAT32_TOLERANCE
    )
    if "masks" in reference:
        np.testing.assert_allclose(outputs["masks"], reference["masks"], atol=FLOAT32_TOLERANCE)
    # `keypoints` takes uint8 images in every format and decodes with the model's codec.
    uint8 = to_uint8(images)
    keypoints = runner.keypoints(uint8)
    codec = model.codec
    expected = np.asarray(codec.decode(model(uint8 / np.float32(255.0))["heatmaps"][:, -1]))
    assert keypoints.shape == (len(images), NUM_KEYPOINTS, 3)
    assert joint_agreement(keypoints, expected, codec.stride) == 1.0
    np.testing.assert_allclose(keypoints[..., 2], expected[..., 2], atol=FLOAT32_TOLERANCE)
    # The artifact records the codec (for code that decodes its heatmaps itself).
    assert runner.codec_config == entry["codec"] == codec.get_config()
    assert (runner.codec.sigma, runner.codec.refine) == (codec.sigma, codec.refine)


@pytest.mark.slow
def test_report_json_lists_every_artifact_with_its_path(exported):
    _, out, _, report = exported
    saved = json.loads((out / "report.json").read_text())
    names = [e["name"] for e in saved["artifacts"]]
    assert names[:5] == ["keras", "savedmodel", "tflite_float32", "onnx", "tensorrt_float32"]
    for entry in saved["artifacts"][1:4]:
        assert entry["path"].startswith(str(out)) and entry["passed"]
    # No GPU / TensorRT here: one clear line, and the operator check still ran.
    trt = _entry(saved, "tensorrt_float32")
    if "skipped" in trt:
        assert "TensorRT" in trt["skipped"]
    assert saved["tensorrt_operator_check"]["passed"], saved["tensorrt_operator_check"]
    # No temporary files are left behind.
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


@pytest.mark.slow
def test_existing_output_is_not_overwritten_without_force(exported):
    model, out, images, _ = exported
    before = (out / "model_float32.tflite").stat().st_mtime_ns
    with pytest.raises(FileExistsError, match="force"):
        export.export_model(model, out, formats=("tflite",), calibration_data=images, log=None)
    assert (out / "model_float32.tflite").stat().st_mtime_ns == before
    with pytest.raises(FileExistsError):
        export.to_onnx(model, out / "model.onnx")


@pytest.mark.slow
def test_failed_verification_leaves_no_file_and_reports(exported, tmp_path):
    model, _, images, _ = exported
    other = kerashg.StackedHourglass(**TINY)  # different weights: parity must fail

    def verify_against_other(path):
        result = export.verify(other, path, images, latency_runs=1)
        assert not result["passed"] and result["failures"]
        raise export.ExportVerificationError(result)

    target = tmp_path / "wrong.onnx"
    with pytest.raises(export.ExportVerificationError, match="heatmap"):
        export.to_onnx(model, target, verify_fn=verify_against_other)
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_exported_onnx_passes_tensorrt_operator_check(exported):
    _, out, _, _ = exported
    graph = onnx.load(str(out / "model.onnx"))
    assert tensorrt_check.check_onnx_for_tensorrt(graph) == []
    assert graph.opset_import[0].version == 17


# --------------------------------------------------------- quantised TFLite
@pytest.fixture(scope="module")
def peaked_model():
    """A tiny hourglass briefly fitted (foreground-weighted MSE) to Gaussian
    targets of coloured markers: heatmaps with clear peaks, so quantised files
    can be judged by decoded joints. Too small and short-trained to generalise:
    int8 accuracy on trained models is measured by `benchmarks.export`."""
    keras = pytest.importorskip("keras")
    keras.utils.set_random_seed(2)
    model = kerashg.StackedHourglass(**TINY)
    images, targets, _ = _peaked_task()

    def foreground_mse(y_true, y_pred):
        return keras.ops.mean(keras.ops.square(y_pred - y_true) * (1.0 + 20.0 * y_true))

    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss={"heatmaps": foreground_mse})
    model.fit(images, {"heatmaps": targets}, epochs=30, batch_size=16, verbose=0)
    return model, images


@pytest.mark.slow
def test_quantised_tflite_judged_by_decoded_joints_and_gated(peaked_model, tmp_path):
    """float16 keeps Keras's decoded joints; int8 recipes are tried in order,
    the default (percentile) recipe first, and a file is kept only if its
    joints pass the tolerance, otherwise the report says why and no file is left."""
    model, images = peaked_model
    recipes = (options.DEFAULT_INT8_RECIPE, options.INT8_FULL)
    try:
        report = export.export_model(
            model,
            tmp_path,
            formats=("tflite",),
            quantize=("float16", "int8"),
            calibration_data=images,
            num_verify=8,
            latency_runs=3,
            log=None,
            int8_recipes=recipes,
        )
    except export.ExportError as error:
        report = error.report
    f32, f16, i8 = (_entry(report, f"tflite_{p}") for p in ("float32", "float16", "int8"))
    assert f32["passed"] and f16["passed"], (f32, f16)
    assert f16["joint_agreement"] >= 0.95 and f16["size_bytes"] < f32["size_bytes"]
    assert (tmp_path / "model_float16.tflite").is_file()
    attempts = i8["int8_attempts"]
    assert [a["int8_recipe"] for a in attempts] == list(recipes)[: len(attempts)]
    assert all(not a["passed"] for a in attempts[:-1])
    int8_file = tmp_path / "model_int8.tflite"
    if i8["passed"]:
        assert int8_file.is_file() and i8["joint_agreement"] >= 0.9
        assert i8["size_bytes"] < 0.5 * f32["size_bytes"]
    else:
        assert not int8_file.exists() and i8["failures"]
        saved = json.loads((tmp_path / "report.json").read_text())
        assert _entry(saved, "tflite_int8")["passed"] is False
        # The default recipe keeps far more joints than the converter's full int8.
        assert attempts[0]["joint_agreement"] >= attempts[1]["joint_agreement"] + 0.1, attempts


@pytest.mark.slow
def test_int8_default_recipe_structure_and_compaction(peaked_model, tmp_path):
    """The default int8 file: every network convolution in int8 with
    per-channel weight scales, the decoding (argmax onwards) in float32; its
    compaction (shared vectors, short names) changes bytes, not outputs."""
    from ai_edge_litert.interpreter import Interpreter
    from tensorflow.lite.python import schema_py_generated as schema

    from export.savedmodel import save_serving_model
    from export.tflite import _compact, convert_saved_model

    model, images = peaked_model
    save_serving_model(model, tmp_path / "serving", batch_size=1)
    raw = convert_saved_model(tmp_path / "serving", "int8", images, compact=False)
    compacted = _compact(raw)
    assert len(compacted) < 0.9 * len(raw)
    outputs = []
    for content in (raw, compacted):
        interpreter = Interpreter(model_content=content, num_threads=1)
        heatmaps = interpreter.get_signature_runner("heatmaps")(images=images[:1])
        keypoints = interpreter.get_signature_runner("keypoints")(images=to_uint8(images[:1]))
        outputs.append({**heatmaps, **keypoints})
    for name, value in outputs[0].items():
        np.testing.assert_array_equal(value, outputs[1][name])

    flat = schema.ModelT.InitFromPackedBuf(compacted, 0)
    ops = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    int8_convs = float_convs = blur_convs = argmax = 0
    for subgraph in flat.subgraphs:
        for op in subgraph.operators:
            code = flat.operatorCodes[op.opcodeIndex]
            name = ops[max(code.builtinCode, code.deprecatedBuiltinCode)]
            first = subgraph.tensors[op.inputs[0]]
            if name == "CONV_2D" and first.type == schema.TensorType.INT8:
                weights = subgraph.tensors[op.inputs[1]].quantization
                assert len(weights.scale) == subgraph.tensors[op.outputs[0]].shape[-1]
                int8_convs += 1
            elif name == "CONV_2D" and first.shape[-1] == 1:
                blur_convs += 1  # DARK's separable blur of one-channel maps, decode tail
            elif name == "CONV_2D":
                float_convs += 1
            if name == "ARG_MAX":
                assert first.type == schema.TensorType.FLOAT32
                argmax += 1
    # Per signature only the heatmap convolutions feeding the outputs stay float.
    assert argmax == 1 and float_convs <= 2 * TINY["num_stacks"]
    assert blur_convs == (2 if kerashg.HeatmapCodec().refine == "dark" else 0)
    assert int8_convs > 10 * float_convs
    with pytest.raises(ValueError, match="int8_recipe"):
        convert_saved_model(tmp_path / "serving", "int8", images, int8_recipe="int4")


@pytest.mark.slow
def test_int8_percentile_last_stage_keeps_the_last_stage_float(peaked_model, tmp_path):
    """`percentile_last_stage`: the stem's and earlier stages' convolutions in int8,
    every convolution of the last stage in float32."""
    import re

    from tensorflow.lite.python import schema_py_generated as schema

    from export.options import INT8_PERCENTILE_LAST_STAGE
    from export.savedmodel import save_serving_model
    from export.tflite import (
        _is_network_convolution,
        _tensor_name,
        convert_saved_model,
    )

    model, images = peaked_model
    save_serving_model(model, tmp_path / "serving", batch_size=1)
    raw = convert_saved_model(
        tmp_path / "serving", "int8", images, INT8_PERCENTILE_LAST_STAGE, compact=False
    )
    flat = schema.ModelT.InitFromPackedBuf(raw, 0)
    last = TINY["num_stacks"] - 1
    kinds = {}  # (stage or "stem", int8?) -> convolutions
    for subgraph in flat.subgraphs:
        for op in subgraph.operators:
            if not _is_network_convolution(flat, subgraph, op):
                continue  # other ops, and DARK's blur of one-channel maps
            first = subgraph.tensors[op.inputs[0]]
            name = _tensor_name(subgraph.tensors[op.outputs[0]])
            stage = re.search(r"stack(\d+)_", name)
            key = (int(stage.group(1)) if stage else "stem", first.type == schema.TensorType.INT8)
            kinds[key] = kinds.get(key, 0) + 1
    assert kinds.get(("stem", True)) and kinds.get((0, True)) and kinds.get((last, False))
    assert not kinds.get(("stem", False)) and not kinds.get((last, True)), kinds


def _peaked_task(count=64, size=64, num_keypoints=16, seed=3):
    """Images with one coloured dot per joint and the matching Gaussian targets
    (B, S=2, 16, 16, K): an easy task a tiny model learns in seconds."""
    rng = np.random.default_rng(seed)
    codec = kerashg.HeatmapCodec(input_size=size)
    images = np.zeros((count, size, size, 3), np.float32) + 0.1
    keypoints = np.zeros((count, num_keypoints, 3), np.float32)
    colours = rng.uniform(0.3, 1.0, (num_keypoints, 3))
    for n in range(count):
        for k in range(num_keypoints):
            x, y = rng.integers(6, size - 6, 2)
            images[n, y - 2 : y + 3, x - 2 : x + 3] = colours[k]
            keypoints[n, k] = (x, y, 2)
    heatmaps, _ = codec.encode(keypoints)
    targets = np.repeat(np.asarray(heatmaps)[:, None], 2, axis=1)
    return images, targets, keypoints


# ------------------------------------------------------ TensorRT operator check
def _graph(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _resize_model(**attributes):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 16, 16])
    scales = helper.make_tensor("scales", TensorProto.FLOAT, [4], [1, 1, 2, 2])
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up", **attributes)
    return _graph([node], [x], [y], [scales])


def test_tensorrt_check_accepts_nearest_asymmetric_resize():
    model = _resize_model(
        mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor"
    )
    onnx.checker.check_model(model)
    assert tensorrt_check.check_onnx_for_tensorrt(model) == []


@pytest.mark.parametrize(
    "attributes, reason",
    [
        (
            {"coordinate_transformation_mode": "tf_crop_and_resize"},
            "coordinate_transformation_mode",
        ),
        ({"mode": "cubic"}, "mode='cubic'"),
        ({"mode": "nearest", "antialias": 1}, "antialias"),
        ({"keep_aspect_ratio_policy": "not_larger"}, "keep_aspect_ratio_policy"),
    ],
)
def test_tensorrt_check_catches_unsupported_resize_attributes(attributes, reason):
    problems = tensorrt_check.check_onnx_for_tensorrt(_resize_model(**attributes))
    assert len(problems) == 1 and reason in problems[0].reason and problems[0].node == "up"


def test_tensorrt_check_catches_unsupported_operator_opset_and_runtime_depth(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    idx = helper.make_tensor_value_info("i", TensorProto.INT64, [4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [4, None])
    values = helper.make_tensor("values", TensorProto.FLOAT, [2], [0, 1])
    nodes = [
        helper.make_node("Unique", ["x"], ["y"], name="unique"),
        helper.make_node("ReduceMax", ["x"], ["m"], name="max", keepdims=0),
        helper.make_node("Cast", ["m"], ["depth"], name="cast", to=TensorProto.INT64),
        helper.make_node("OneHot", ["i", "depth", "values"], ["z"], name="onehot"),
    ]
    model = _graph(nodes, [x, idx], [y, z], [values])
    reasons = {p.op_type: p.reason for p in tensorrt_check.check_onnx_for_tensorrt(model)}
    assert "not supported" in reasons["Unique"]
    assert "build-time constant" in reasons["OneHot"]
    path = tmp_path / "bad.onnx"
    onnx.save(_resize_model(), str(path))
    assert tensorrt_check.check_onnx_for_tensorrt(path) == []
    old = _resize_model()
    old.opset_import[0].version = 25
    assert any("opset 25" in p.reason for p in tensorrt_check.check_onnx_for_tensorrt(old))
    with pytest.raises(tensorrt_check.TensorRTCompatibilityError, match="Unique"):
        tensorrt_check.assert_tensorrt_compatible(model)


def test_tensorrt_unavailable_says_what_is_missing(tmp_path):
    available, message = tensorrt.tensorrt_status()
    if available:
        pytest.skip("TensorRT and a GPU are present")
    assert message.startswith("TensorRT engine not built")
    path = tmp_path / "m.onnx"
    onnx.save(_resize_model(), str(path))
    with pytest.raises(tensorrt.TensorRTUnavailableError, match="TensorRT"):
        export.to_tensorrt(path, tmp_path / "m.engine")
    assert not (tmp_path / "m.engine").exists()
    tftrt, line = tensorrt.tftrt_status()
    assert tftrt or "TF-TRT" in line


@pytest.mark.slow
def test_tensorrt_engines_are_verified_like_every_file(monkeypatch, tmp_path):
    """Where TensorRT runs, each engine goes through `export.verify` (parity with
    Keras, the codec, size, latency) before it is moved into place, as the other
    files do. No GPU here: stand-ins build the "engine" as the ONNX file and run
    it with onnxruntime; the exporter's wiring is what is tested."""
    from kerashg.outputs import atomic_output
    from kerashg.runtime import ONNXRunner

    precisions = []

    def build(onnx_path, out, *, precision, calibration, force, verify_fn):
        precisions.append(precision)
        with atomic_output(out, force=force) as tmp:
            tmp.write_bytes(onnx_path.read_bytes())
            verify_fn(tmp)
        return out

    class EngineRunner(ONNXRunner):
        format = "tensorrt"

        def __init__(self, path, codec_config=None, keypoint_set_config=None):
            super().__init__(path)
            # An engine records neither: the ONNX file's, as TensorRTRunner takes them.
            self.codec_config = codec_config
            self.keypoint_set_config = keypoint_set_config

        def close(self):
            pass

    monkeypatch.setattr(tensorrt, "tensorrt_status", lambda: (True, "TensorRT stand-in"))
    monkeypatch.setattr(tensorrt, "to_tensorrt", build)
    monkeypatch.setattr(tensorrt, "TensorRTRunner", EngineRunner)
    model = kerashg.StackedHourglass(**TINY)
    report = export.export_model(
        model,
        tmp_path,
        formats=("tensorrt",),
        quantize=("float16",),
        calibration_data=_images(),
        num_verify=2,
        latency_runs=1,
        log=None,
    )
    engines = report["artifacts"][1:]
    assert [e["name"] for e in engines] == ["tensorrt_float32", "tensorrt_float16"]
    assert precisions == ["fp32", "fp16"]
    for entry in engines:
        assert entry["passed"] and entry["format"] == "tensorrt", entry
        assert entry["codec"] == model.codec.get_config()
        assert entry["max_abs_heatmap_diff"] <= FLOAT32_TOLERANCE
    assert (tmp_path / "model_fp16.engine").is_file()
    assert report["tensorrt_operator_check"]["passed"]


def test_tensorrt_int8_calibration_feeds_uint8():
    """The ONNX graph's one input `images` is uint8: so are the calibration batches."""
    images = _images(2)
    fed = tensorrt._calibration_uint8(images)
    assert fed.dtype == np.uint8 and fed.flags.c_contiguous
    np.testing.assert_array_equal(fed, to_uint8(images))
    np.testing.assert_array_equal(tensorrt._calibration_uint8(fed), fed)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="formats"):
        export.export_model(kerashg.StackedHourglass(**TINY), "/nonexistent", formats=("caffe",))
    with pytest.raises(ValueError, match="int8_recipes"):
        export.export_model(kerashg.StackedHourglass(**TINY), "/nonexistent", int8_recipes=())
    with pytest.raises(ValueError, match="quantize"):
        export.to_tflite(kerashg.StackedHourglass(**TINY), "/tmp/x.tflite", quantize="int4")
    with pytest.raises(ValueError, match="opset"):
        export.to_onnx(kerashg.StackedHourglass(**TINY), "/tmp/x.onnx", opset=19)


# ------------------------------------------------------------- calibration data
def test_calibration_images_from_a_folder(tmp_path):
    import cv2

    from export import calibration

    for i, shape in enumerate([(30, 50, 3), (80, 40, 3)]):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full(shape, 255, np.uint8))
    (tmp_path / "notes.txt").write_text("not an image")
    images = calibration.load_images(str(tmp_path), (64, 48), count=10)
    assert images.shape == (2, 48, 64, 3) and images.dtype == np.float32
    # Whole frame letterboxed: the 50-wide frame fills the 64-wide crop's width.
    assert images[0, 24, 1:63].min() == 1.0 and images[0, 0].max() == 0.0
    with pytest.raises(ValueError, match="calibration_data='nope'"):
        calibration.load_images("nope", (64, 64))


@pytest.mark.data
@pytest.mark.parametrize(
    "source, folder, count", [("mpii", "mpii", 5), ("coco", "coco-mini", 8), ("lsp", "lspet", 8)]
)
def test_calibration_images_from_real_data(monkeypatch, source, folder, count):
    from export import calibration
    from tests.conftest import DATA_ROOT, data_path

    data_path(folder)
    monkeypatch.setenv("KERASHG_DATA", str(DATA_ROOT))
    images = calibration.load_images(source, (64, 64), count=count)
    assert images.shape == (count, 64, 64, 3)
    assert 0.0 <= images.min() and images.max() <= 1.0 and images.std() > 0.05


@pytest.mark.slow
def test_cli_keep_unverified_keeps_a_failed_file_and_still_exits_1(tmp_path, monkeypatch, capsys):
    """With the flag a file that fails its parity check stays, for scoring on
    labelled data (without it the file is removed:
    test_quantised_tflite_judged_by_decoded_joints_and_gated); the report says it
    failed and the exit status is still 1."""
    import importlib

    from export.__main__ import main

    verify_module = importlib.import_module("export.verify")  # `export.verify` is the function
    kerashg.StackedHourglass(**TINY).save(tmp_path / "m.keras")
    never = {"max_abs_heatmap_diff": None, "min_joint_agreement": 1.01}  # cannot pass
    monkeypatch.setitem(verify_module.TOLERANCES, "float16", never)
    out = tmp_path / "out"
    args = ["--model", str(tmp_path / "m.keras"), "--format", "tflite", "--quantize", "float16"]
    args += ["--out", str(out)]
    assert main([*args, "--keep-unverified"]) == 1
    err = capsys.readouterr().err
    assert "tflite_float16 failed verification and were kept (--keep-unverified)" in err
    assert (out / "m_float16.tflite").is_file()
    report = json.loads((out / "report.json").read_text())
    assert _entry(report, "tflite_float16")["passed"] is False
    assert _entry(report, "tflite_float32")["passed"] is True
