import numpy as np
import pytest
import tensorflow as tf

from kerashg import COCO, LSP, MPII, HeatmapCodec


def _random_keypoints(rng, batch, k, size, stride=4):
    # Keep one heatmap pixel off the border, where the refinement has no neighbour.
    xy = rng.uniform(stride, size - 2 * stride, size=(batch, k, 2))
    return np.concatenate([xy, np.full((batch, k, 1), 2.0)], -1).astype(np.float32)


@pytest.mark.parametrize("input_size,sigma", [(256, 1.0), (128, 1.0), (64, 2.0)])
def test_encode_decode_round_trip_within_0_3_heatmap_pixels(input_size, sigma):
    codec = HeatmapCodec(input_size, sigma=sigma)
    keypoints = _random_keypoints(np.random.default_rng(1), 8, 16, input_size)
    heatmaps, weights = codec.encode(keypoints)
    assert heatmaps.shape == (8, input_size // 4, input_size // 4, 16)
    np.testing.assert_array_equal(weights.numpy(), 1.0)
    for decoded in (codec.decode(heatmaps).numpy(), codec.decode_numpy(heatmaps.numpy())):
        error = np.abs(decoded[..., :2] - keypoints[..., :2]) / 4.0
        assert error.max() <= 0.3


def test_integer_positions_decode_exactly():
    codec = HeatmapCodec(64, sigma=1.0)
    keypoints = np.array([[[8.0, 12.0, 2], [40.0, 4.0, 1]]], np.float32)
    decoded = codec.decode(codec.encode(keypoints)[0]).numpy()
    np.testing.assert_allclose(decoded[..., :2], keypoints[..., :2])
    np.testing.assert_allclose(decoded[..., 2], 1.0, atol=1e-6)


def test_missing_and_outside_joints_get_zero_weight_and_empty_map():
    codec = HeatmapCodec(64)
    keypoints = np.array([[10, 10, 0], [70, 10, 2], [-5, 30, 2], [30, 30, 2]], np.float32)
    heatmaps, weights = codec.encode(keypoints)
    np.testing.assert_array_equal(weights.numpy(), [0, 0, 0, 1])
    assert float(tf.reduce_max(heatmaps[..., :3])) == 0.0
    assert heatmaps.shape == (16, 16, 4)


@pytest.mark.parametrize("refine", ["quarter", "dark"])
def test_decode_tf_and_numpy_agree_on_noisy_maps(refine):
    codec = HeatmapCodec(128, refine=refine)
    heatmaps = np.random.default_rng(3).random((4, 32, 32, 16)).astype(np.float32)
    # DARK's logarithms differ in the last float32 bits between TF and NumPy.
    atol = 0.0 if refine == "quarter" else 1e-4
    np.testing.assert_allclose(
        codec.decode(heatmaps).numpy(), codec.decode_numpy(heatmaps), rtol=1e-6, atol=atol
    )


@pytest.mark.parametrize("keypoint_set", [MPII, COCO, LSP])
def test_flip_test_of_symmetric_prediction_returns_the_original(keypoint_set):
    codec = HeatmapCodec(64)
    k = keypoint_set.num_keypoints
    keypoints = _random_keypoints(np.random.default_rng(2), 2, k, 64)
    heatmaps, _ = codec.encode(keypoints)
    flipped_keypoints = keypoints.copy()
    # x' = (W_heatmap - 1) * stride - x mirrors heatmap columns exactly.
    flipped_keypoints[..., 0] = (16 - 1) * 4.0 - keypoints[..., 0]
    flipped_keypoints = flipped_keypoints[:, keypoint_set.flip_index]
    mirrored, _ = codec.encode(flipped_keypoints)
    restored = codec.flip_heatmaps(mirrored, keypoint_set.flip_index).numpy()
    np.testing.assert_allclose(restored, heatmaps.numpy(), atol=1e-5)
    # flip_test on a predictor whose mirror-image output is exactly `mirrored`.
    images = tf.random.uniform((2, 64, 64, 3), seed=0)

    def predict(batch):
        is_mirror = tf.reduce_all(tf.equal(batch, tf.reverse(images, axis=[2])))
        return tf.cond(is_mirror, lambda: mirrored, lambda: heatmaps)

    averaged = codec.flip_test(predict, images, keypoint_set.flip_index).numpy()
    np.testing.assert_allclose(averaged, heatmaps.numpy(), atol=1e-5)


def test_flip_shift_moves_one_pixel_right():
    codec = HeatmapCodec(64)
    heatmaps = np.zeros((1, 16, 16, 1), np.float32)
    heatmaps[0, 5, 3, 0] = 1.0
    out = codec.flip_heatmaps(heatmaps, [0], shift=True).numpy()
    assert out[0, 5, 16 - 1 - 3 + 1, 0] == 1.0


def test_flip_index_is_an_involution_and_swaps_left_right():
    for kps in (MPII, COCO, LSP):
        index = kps.flip_index
        np.testing.assert_array_equal(index[index], np.arange(kps.num_keypoints))
        for j, name in enumerate(kps.names):
            other = kps.names[index[j]]
            if name.startswith("l_"):
                assert other == "r_" + name[2:]


def test_codec_config_round_trip_and_bad_arguments():
    codec = HeatmapCodec((192, 256), sigma=2.0)
    again = HeatmapCodec.from_config(codec.get_config())
    assert again.heatmap_size == (48, 64) and again.sigma == 2.0
    with pytest.raises(ValueError, match="sigma=0"):
        HeatmapCodec(64, sigma=0)
    with pytest.raises(ValueError, match="input_size"):
        HeatmapCodec(0)


@pytest.mark.parametrize("input_size,sigma", [(128, 1.0), (256, 1.5)])
def test_dark_refinement_is_finer_than_the_quarter_pixel(input_size, sigma):
    rng = np.random.default_rng(4)
    keypoints = _random_keypoints(rng, 8, 16, input_size, stride=16)
    quarter = HeatmapCodec(input_size, sigma=sigma, refine="quarter")
    dark = HeatmapCodec(input_size, sigma=sigma, refine="dark")
    heatmaps, _ = dark.encode(keypoints)
    noisy = heatmaps.numpy() + rng.normal(0, 0.02, heatmaps.shape).astype(np.float32)
    for maps in (heatmaps.numpy(), noisy):
        errors = {}
        for name, codec in (("quarter", quarter), ("dark", dark)):
            decoded = codec.decode_numpy(maps)
            np.testing.assert_allclose(codec.decode(maps).numpy(), decoded, atol=1e-4)
            errors[name] = np.abs(decoded[..., :2] - keypoints[..., :2]).mean() / 4.0
        # The quarter pixel leaves ~1/8 px on average; DARK recovers the centre.
        assert errors["dark"] < 0.06 < errors["quarter"]


def test_dark_falls_back_to_the_quarter_pixel_at_the_border_and_on_flat_maps():
    dark = HeatmapCodec(64, refine="dark")
    quarter = HeatmapCodec(64, refine="quarter")
    keypoints = np.array([[[1.0, 30.0, 2], [33.0, 62.0, 2], [30.0, 30.0, 2]]], np.float32)
    heatmaps = dark.encode(keypoints)[0].numpy()
    heatmaps[..., 2] = 0.0  # an empty map: argmax at (0, 0), no step
    for codec_out in (dark.decode(heatmaps).numpy(), dark.decode_numpy(heatmaps)):
        np.testing.assert_allclose(codec_out[0, :2], quarter.decode_numpy(heatmaps)[0, :2])
        np.testing.assert_allclose(codec_out[0, 2, :2], [0.0, 0.0])


def test_refine_is_validated_and_kept_in_the_config():
    with pytest.raises(ValueError, match="refine must be one of"):
        HeatmapCodec(64, refine="soft-argmax")
    codec = HeatmapCodec(64, sigma=1.5, refine="dark")
    clone = HeatmapCodec.from_config(codec.get_config())
    assert clone.refine == "dark" and clone.sigma == 1.5
