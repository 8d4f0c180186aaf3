"""Tests of StackedHourglass and ACNN (tiny configurations unless marked slow)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import TINY

import kerashg
from kerashg import ACNN, StackedHourglass
from kerashg.layers import AttentionMask

BATCH = 2
KEYPOINTS = 16


def _images(config=TINY, seed=0):
    return np.random.default_rng(seed).random((BATCH, *config["input_shape"]), dtype=np.float32)


def _trainable_params(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


@pytest.fixture(scope="module")
def tiny_acnn():
    return ACNN(**TINY)


@pytest.fixture(scope="module")
def tiny_hourglass():
    return StackedHourglass(**TINY)


def test_output_shapes_and_dtypes(tiny_hourglass, tiny_acnn):
    images = _images()
    stacks, size = TINY["num_stacks"], TINY["input_shape"][0] // 4
    outputs = tiny_hourglass(images)
    assert set(outputs) == {"heatmaps"}
    assert outputs["heatmaps"].shape == (BATCH, stacks, size, size, KEYPOINTS)
    outputs = tiny_acnn(images)
    assert set(outputs) == {"heatmaps", "masks"}
    assert outputs["heatmaps"].shape == (BATCH, stacks, size, size, KEYPOINTS)
    assert outputs["masks"].shape == (BATCH, stacks, size, size, 1)
    assert outputs["heatmaps"].dtype == outputs["masks"].dtype == "float32"


def test_layer_names_per_stage(tiny_acnn, tiny_hourglass):
    stage_layers = ["stem"]
    for i in range(TINY["num_stacks"]):
        stage_layers += [f"stack{i}_hourglass", f"stack{i}_head", f"stack{i}_attention"]
        if i < TINY["num_stacks"] - 1:
            stage_layers.append(f"stack{i}_merge")
    assert [layer.name for layer in tiny_acnn.layers[1:]] == stage_layers
    assert [layer.name for layer in tiny_hourglass.layers[1:]] == [
        name for name in stage_layers if "_attention" not in name
    ]
    # Selecting by name gives the attention variables: f_c's trainable weights,
    # plus the non-trainable force switch and BN statistics.
    attention = [layer for layer in tiny_acnn.layers if "_attention" in layer.name]
    assert len(attention) == TINY["num_stacks"]
    trainable_paths = {v.path for v in tiny_acnn.trainable_weights}
    attention_trainable = [v for layer in attention for v in layer.trainable_weights]
    assert attention_trainable
    assert all(v.path in trainable_paths for v in attention_trainable)
    assert all(v.path.startswith("stack") and "_attention/" in v.path for v in attention_trainable)


@pytest.mark.parametrize(
    "num_stacks, expected",
    [
        (2, 6.57e6),
        (4, 12.86e6),
        pytest.param(8, 25.43e6, marks=pytest.mark.slow),
    ],
)
def test_parameter_count_matches_reference(num_stacks, expected):
    model = StackedHourglass(num_stacks=num_stacks, num_keypoints=16, filters=256, depth=4)
    assert _trainable_params(model) == pytest.approx(expected, rel=0.002)


def test_acnn_adds_only_attention_parameters(tiny_acnn, tiny_hourglass):
    attention = sum(
        _trainable_params(layer) for layer in tiny_acnn.layers if "_attention" in layer.name
    )
    assert attention > 0
    assert _trainable_params(tiny_acnn) == _trainable_params(tiny_hourglass) + attention


@pytest.fixture(scope="module", params=["hourglass", "acnn"])
def tiny_model(request, tiny_hourglass, tiny_acnn):
    return tiny_hourglass if request.param == "hourglass" else tiny_acnn


def test_from_config_round_trip(tiny_model):
    config = tiny_model.get_config()
    clone = type(tiny_model).from_config(config)
    assert clone.get_config() == config
    clone.set_weights(tiny_model.get_weights())
    images = _images()
    for key, value in tiny_model(images).items():
        np.testing.assert_array_equal(clone(images)[key].numpy(), value.numpy())


def test_keras_save_load_gives_identical_outputs(tiny_model, tmp_path):
    images = _images()
    # A training-mode call first, so the saved BN statistics are not the initial ones.
    tiny_model(images, training=True)
    path = tmp_path / "model.keras"
    tiny_model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded) is type(tiny_model)
    assert loaded.get_config() == tiny_model.get_config()
    expected, actual = tiny_model(images), loaded(images)
    for key in expected:
        np.testing.assert_array_equal(actual[key].numpy(), expected[key].numpy())


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("model_class", [StackedHourglass, ACNN])
def test_mixed_precision_outputs_float32(model_class, policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = model_class(**TINY)
        outputs = model(_images(), training=True)
    finally:
        keras.config.set_dtype_policy(previous)
    assert model.get_layer("stack0_hourglass").compute_dtype == policy.split("_")[1]
    for value in outputs.values():
        assert value.dtype == "float32"
        assert np.isfinite(value.numpy()).all()


def test_dtype_argument_sets_body_policy():
    model = ACNN(**TINY, dtype="mixed_bfloat16")
    assert model.get_layer("stem").compute_dtype == "bfloat16"
    outputs = model(_images())
    assert outputs["heatmaps"].dtype == outputs["masks"].dtype == "float32"
    assert ACNN.from_config(model.get_config()).get_layer("stem").compute_dtype == "bfloat16"


def _stage_model(model):
    """Sub-model giving the outputs plus the raw per-stage heatmaps H_i and masks M_i."""
    stages = range(model.num_stacks)
    return keras.Model(
        model.input,
        {
            **model.output,
            "raw_heatmaps": [model.get_layer(f"stack{i}_head").output[1] for i in stages],
            "raw_masks": [model.get_layer(f"stack{i}_attention").output for i in stages],
        },
    )


def test_acnn_predictions_carry_the_unmasked_previous_prediction():
    model = ACNN(**{**TINY, "num_stacks": 3})
    outputs = _stage_model(model)(_images())
    raw = [h.numpy() for h in outputs["raw_heatmaps"]]
    masks = [m.numpy() for m in outputs["raw_masks"]]
    np.testing.assert_array_equal(outputs["masks"].numpy(), np.stack(masks, axis=1))
    # P_1 = H_1 (M_0 = 1); P_i = H_i + P_{i-1} * (1 - M_{i-1}).
    expected = [raw[0]]
    for i in range(1, 3):
        expected.append(raw[i] + expected[-1] * (1.0 - masks[i - 1]))
    np.testing.assert_allclose(
        outputs["heatmaps"].numpy(), np.stack(expected, axis=1), rtol=1e-6, atol=1e-6
    )
    # The masks are not trivial, so the test above does exercise the carry term.
    assert 0 < masks[0].min() and masks[0].max() < 1
    assert np.abs(outputs["heatmaps"].numpy()[:, 1] - raw[1]).max() > 1e-3


def test_force_masks_switch_without_retracing(tiny_acnn):
    images = tf.constant(_images())
    stage_model = _stage_model(tiny_acnn)

    @tf.function
    def forward(x):
        return stage_model(x, training=False)

    free = forward(images)
    tiny_acnn.set_force_masks(True)
    try:
        assert tiny_acnn.force_masks
        forced = forward(images)
    finally:
        tiny_acnn.set_force_masks(False)
    again = forward(images)
    assert not tiny_acnn.force_masks
    assert forward.experimental_get_tracing_count() == 1
    np.testing.assert_array_equal(forced["masks"].numpy(), 1.0)
    # P_i == H_i exactly when every mask is 1.
    raw = np.stack([h.numpy() for h in forced["raw_heatmaps"]], axis=1)
    np.testing.assert_array_equal(forced["heatmaps"].numpy(), raw)
    assert not np.allclose(free["masks"].numpy(), 1.0)
    np.testing.assert_array_equal(again["heatmaps"].numpy(), free["heatmaps"].numpy())
    force_variables = [
        layer.force_ones for layer in tiny_acnn.layers if isinstance(layer, AttentionMask)
    ]
    assert len(force_variables) == TINY["num_stacks"]
    trainable_paths = {v.path for v in tiny_acnn.trainable_variables}
    assert not any(v.path in trainable_paths for v in force_variables)


def test_hard_masks_are_binary_and_train():
    model = ACNN(**TINY, mask="hard")
    images = tf.constant(_images())
    with tf.GradientTape() as tape:
        outputs = model(images, training=True)
        loss = tf.reduce_mean(tf.square(outputs["heatmaps"] - 0.5))
    assert set(np.unique(outputs["masks"].numpy()).tolist()) <= {0.0, 1.0}
    # Stage 0's mask enters the loss (eq. 3, 4); its gradient flows straight through.
    attention = model.get_layer("stack0_attention").trainable_weights
    gradients = tape.gradient(loss, attention)
    assert all(g is not None and np.abs(g.numpy()).sum() > 0 for g in gradients)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_stacks=0), "num_stacks=0"),
        (dict(depth=0), "depth=0"),
        (dict(num_keypoints=0), "num_keypoints=0"),
        (dict(input_shape=(60, 64, 3)), r"divisible by 2\*\*\(depth \+ 2\) = 16"),
        (dict(depth=5, input_shape=(64, 64, 3)), r"input_shape=\(64, 64, 3\) with depth=5"),
        (dict(num_residuals=0), "num_residuals=0"),
    ],
)
@pytest.mark.parametrize("model_class", [StackedHourglass, ACNN])
def test_bad_model_arguments_raise(model_class, kwargs, message):
    with pytest.raises(ValueError, match=message):
        model_class(**{**TINY, **kwargs})


def test_bad_mask_mode_raises():
    with pytest.raises(ValueError, match=r"mask='binary'.*\('soft', 'hard'\)|soft"):
        ACNN(**TINY, mask="binary")


@pytest.mark.parametrize("model_class", [StackedHourglass, ACNN])
def test_unknown_preset_lists_known_ones(model_class):
    with pytest.raises(ValueError, match="preset='hg3_nope'.*" + sorted(model_class.presets)[0]):
        model_class.from_preset("hg3_nope")


def test_preset_overrides():
    overrides = {**TINY, "num_keypoints": 14}
    model = StackedHourglass.from_preset("hg2_mobile_128", load_weights=False, **overrides)
    assert model.get_config()["num_keypoints"] == 14
    assert model.keypoint_set is None  # the preset's MPII set goes with its 16 joints
    assert model.output["heatmaps"].shape == (None, 2, 16, 16, 14)
    kept = StackedHourglass.from_preset("hg2_mobile_128", load_weights=False, **TINY)
    assert kept.keypoint_set.name == "mpii"


def test_architecture_preset_with_load_weights_is_a_clear_error():
    # keras-hub's default: from_preset loads weights; an architecture has none.
    with pytest.raises(ValueError, match=r"'hg8_mpii_256' is an architecture only.*load_weights"):
        StackedHourglass.from_preset("hg8_mpii_256")
    with pytest.raises(ValueError, match="acnn4_lsp_128"):  # names the trained presets
        ACNN.from_preset("acnn4_mpii_256", load_weights=True)


def test_list_presets_gives_each_preset_its_metadata():
    import sys

    presets = kerashg.list_presets()
    assert set(presets) == set(StackedHourglass.presets) | set(ACNN.presets)
    for name, meta in presets.items():
        assert meta["description"] and meta["parameters"] > 0, name
        assert len(meta["input_size"]) == 2 and meta["num_keypoints"] > 0, name
        assert meta["trained"] == (meta["data"] is not None) == (meta["metric"] is not None)
    trained = [name for name, meta in presets.items() if meta["trained"]]
    assert trained == ["acnn4_lsp_128"]
    assert presets["acnn4_lsp_128"]["input_size"] == (128, 128)
    assert "PCK@0.2" in presets["acnn4_lsp_128"]["metric"]
    assert "kerashg.presets" in sys.modules  # data: the listing needs no model code


PRESETS = [(StackedHourglass, name) for name in StackedHourglass.presets] + [
    (ACNN, name) for name in ACNN.presets
]


@pytest.mark.slow
@pytest.mark.parametrize("model_class, preset", PRESETS, ids=[name for _, name in PRESETS])
def test_every_preset_builds(model_class, preset):
    model = model_class.from_preset(preset, load_weights=False)
    config = model_class.presets[preset]
    height, width, _ = config["input_shape"]
    expected = (None, config["num_stacks"], height // 4, width // 4, config["num_keypoints"])
    assert model.output["heatmaps"].shape == expected
    assert model.get_config()["num_stacks"] == config["num_stacks"]
    # The listing's parameter count is the model's.
    assert model.count_params() == kerashg.list_presets()[preset]["parameters"]


@pytest.mark.parametrize("model_class", [StackedHourglass, ACNN])
def test_stem_filters_narrow_only_the_stem_and_round_trip(model_class):
    wide = model_class(**TINY)
    narrow = model_class(**TINY, stem_filters=(8, 16))
    assert narrow.get_layer("stem").conv.kernel.shape[-1] == 8
    assert narrow.count_params() < wide.count_params()
    stem_params = sum(int(np.prod(w.shape)) for w in wide.get_layer("stem").weights)
    narrow_stem_params = sum(int(np.prod(w.shape)) for w in narrow.get_layer("stem").weights)
    assert wide.count_params() - narrow.count_params() == stem_params - narrow_stem_params
    clone = model_class.from_config(narrow.get_config())
    assert clone.get_config()["stem_filters"] == [8, 16]


def test_shipped_model_loads_by_name_and_matches_its_preset():
    from kerashg.keypoints import LSP
    from kerashg.presets import weights_path

    path = weights_path("acnn4_lsp_128")
    assert path.stat().st_size <= 10 * 2**20  # the one shipped artifact stays small
    model = ACNN.from_preset("acnn4_lsp_128")  # load_weights=True, keras-hub's default
    assert model.keypoint_set == LSP  # the file predates recorded sets: the preset's
    built = {k: v for k, v in model.get_config().items() if k in ACNN.presets["acnn4_lsp_128"]}
    expected = dict(ACNN.presets["acnn4_lsp_128"])
    expected["input_shape"] = tuple(expected["input_shape"])
    expected["stem_filters"] = list(expected["stem_filters"])
    expected["keypoint_set"] = LSP.get_config()
    built["input_shape"] = tuple(built["input_shape"])
    assert built == expected
    fresh = ACNN.from_preset("acnn4_lsp_128", load_weights=False)  # random weights
    assert not np.array_equal(
        fresh.get_layer("stem").weights[0], model.get_layer("stem").weights[0]
    )
    with pytest.raises(ValueError, match="no constructor arguments"):
        ACNN.from_preset("acnn4_lsp_128", filters=32)
    with pytest.raises(ValueError, match="no trained weights.*acnn4_lsp_128"):
        StackedHourglass.from_preset("hg2_mpii_256", load_weights=True)


# ------------------------------------------------------------------- codec
@pytest.mark.parametrize("model_class", [StackedHourglass, ACNN])
def test_model_owns_its_codec_through_config_and_keras_file(model_class, tmp_path):
    from kerashg.codec import HeatmapCodec

    default = model_class(**TINY).codec
    assert (default.input_size, default.heatmap_size) == ((64, 64), (16, 16))
    assert (default.sigma, default.refine) == (1.0, "dark")
    model = model_class(**TINY, codec=HeatmapCodec(64, sigma=2, refine="quarter"))
    config = model.get_config()
    assert config["codec"]["sigma"] == 2.0 and config["codec"]["refine"] == "quarter"
    assert model_class.from_config(config).codec.get_config() == model.codec.get_config()
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert (loaded.codec.sigma, loaded.codec.refine) == (2.0, "quarter")
    # A config dict (e.g. from a `.keras` file's config.json) works as well.
    assert model_class(**TINY, codec=config["codec"]).codec.sigma == 2.0


@pytest.mark.parametrize("model_class", [StackedHourglass, ACNN])
def test_config_saved_before_models_had_a_codec_loads_with_the_default(model_class):
    config = model_class(**TINY, codec={"input_size": 64, "sigma": 3.0}).get_config()
    del config["codec"]  # what a `.keras` file of an earlier version holds
    codec = model_class.from_config(config).codec
    assert (codec.input_size, codec.heatmap_size, codec.sigma, codec.refine) == (
        (64, 64),
        (16, 16),
        1.0,
        "dark",
    )


def test_codec_that_does_not_fit_the_model_is_refused(tiny_hourglass):
    from kerashg.codec import HeatmapCodec

    with pytest.raises(ValueError, match=r"input_size \(64, 64\)"):
        StackedHourglass(**TINY, codec=HeatmapCodec(128))
    with pytest.raises(ValueError, match=r"heatmap_size \(16, 16\)"):
        ACNN(**TINY, codec=HeatmapCodec(64, heatmap_size=32))
    with pytest.raises(ValueError, match="HeatmapCodec, its config dict or None"):
        StackedHourglass(**TINY, codec="dark")
    with pytest.raises(ValueError, match="input_size"):
        tiny_hourglass.codec = HeatmapCodec(32)
