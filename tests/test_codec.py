import numpy as np
import pytest
import tensorflow as tf

from kerashg import COCO, LSP, MPII, HeatmapCodec, KeypointSet
from kerashg.decoding import FLIP_OFFSET, flip_back


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


def _ideal_flip_pair(codec, keypoints, keypoint_set):
    """The codec's own heatmaps of `keypoints` and of the mirror image's keypoints.

    An image flip maps input x to W - 1 - x (`training.augment.flip_matrix`) and
    swaps left and right joints: an ideal network's heatmaps of the mirror image.
    """
    width = codec.input_size[0]
    flipped = keypoints.copy()
    flipped[..., 0] = width - 1 - keypoints[..., 0]
    flipped = flipped[:, keypoint_set.flip_index]
    return codec.encode(keypoints)[0].numpy(), codec.encode(flipped)[0].numpy()


@pytest.mark.parametrize("keypoint_set", [MPII, COCO, LSP])
@pytest.mark.parametrize("input_size,sigma", [(256, 1.0), (128, 1.75), (64, 2.0)])
def test_flip_averaged_decode_of_ideal_heatmaps_is_unbiased(keypoint_set, input_size, sigma):
    """Within 0.05 input px at sub-pixel positions: the flip test's alignment is exact."""
    codec = HeatmapCodec(input_size, sigma=sigma)
    k = keypoint_set.num_keypoints
    # Away from the border (DARK's blur needs its margin); x at quarter input
    # pixel steps across one heatmap pixel, and at random sub-pixel positions.
    rng = np.random.default_rng(4)
    margin = 4 * (int(np.ceil(2 * sigma)) + 2)
    x = rng.uniform(margin, input_size - margin, size=(8, k))
    x[0] = margin + np.arange(k) % 17 * 0.25
    y = rng.uniform(margin, input_size - margin, size=(8, k))
    keypoints = np.stack([x, y, np.full_like(x, 2.0)], -1).astype(np.float32)
    heatmaps, mirrored = _ideal_flip_pair(codec, keypoints, keypoint_set)
    decoded = codec.decode_flip(heatmaps, mirrored, keypoint_set.flip_index)
    error = np.abs(decoded[..., :2] - keypoints[..., :2])
    assert error.max() <= 0.05, error.max()
    # The TF version, with a predictor whose mirror-image output is `mirrored`.
    images = tf.random.uniform((8, input_size, input_size, 3), seed=0)

    def predict(batch):
        is_mirror = tf.reduce_all(tf.equal(batch, tf.reverse(images, axis=[2])))
        return tf.cond(is_mirror, lambda: tf.constant(mirrored), lambda: tf.constant(heatmaps))

    in_tf = codec.flip_test(predict, images, keypoint_set.flip_index).numpy()
    np.testing.assert_allclose(in_tf, decoded, atol=2e-3)


def test_flipped_back_peak_lands_one_input_pixel_right():
    """Reversed columns alone put a peak 3 input px left (1 - 1/stride heatmap px);
    `flip_heatmaps` moves it one column right: FLIP_OFFSET = 1 input px right."""
    codec = HeatmapCodec(64, refine="dark")
    keypoints = np.array([[[30.0, 28.0, 2.0]]], np.float32)
    _, mirrored = _ideal_flip_pair(codec, keypoints, KeypointSet.custom("dot", ["dot"]))
    reversed_only = codec.decode_numpy(mirrored[:, :, ::-1])
    assert reversed_only[0, 0, 0] == pytest.approx(30.0 - 3.0, abs=0.01)
    back = codec.flip_heatmaps(mirrored, [0]).numpy()
    assert codec.decode_numpy(back)[0, 0, 0] == pytest.approx(30.0 + FLIP_OFFSET, abs=0.01)


def test_numpy_flip_back_is_the_graph_ops_flip():
    # `kerashg.decoding.flip_back` (the TensorFlow-free runtime's flip test) and
    # `HeatmapCodec.flip_heatmaps` (inside exported graphs) map back alike.
    heatmaps = np.random.default_rng(0).random((2, 8, 12, 16)).astype(np.float32)
    expected = HeatmapCodec.flip_heatmaps(heatmaps, MPII.flip_index).numpy()
    np.testing.assert_array_equal(flip_back(heatmaps, MPII.flip_index), expected)


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
