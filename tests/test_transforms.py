import numpy as np
import pytest
import tensorflow as tf

from kerashg import transforms


@pytest.mark.parametrize("rotation", [0.0, 30.0, -17.5])
@pytest.mark.parametrize("output_size", [256, (192, 256), 64])
def test_crop_then_inverse_is_identity(rotation, output_size):
    rng = np.random.default_rng(0)
    points = rng.uniform(-50, 700, size=(100, 2))
    forward = transforms.get_affine_transform((320.5, 240.0), 2.3, rotation, output_size)
    back = transforms.get_affine_transform((320.5, 240.0), 2.3, rotation, output_size, inverse=True)
    roundtrip = transforms.transform_points(transforms.transform_points(points, forward), back)
    np.testing.assert_allclose(roundtrip, points, atol=1e-4)


def test_center_maps_to_crop_centre_and_box_fills_output():
    m = transforms.get_affine_transform((100.0, 80.0), 1.0, 0.0, 256)
    pts = transforms.transform_points([[100.0, 80.0], [0.0, -20.0], [200.0, 180.0]], m)
    np.testing.assert_allclose(pts, [[128, 128], [0, 0], [256, 256]], atol=1e-9)


def test_rotation_is_counter_clockwise_on_screen():
    m = transforms.get_affine_transform((0.0, 0.0), 1.0, 90.0, 200)
    # A point right of the centre moves above it (smaller y) on screen.
    np.testing.assert_allclose(
        transforms.transform_points([[50.0, 0.0]], m), [[100, 50]], atol=1e-9
    )


def test_tf_matrices_match_numpy():
    centers = np.array([[100.0, 50.0], [10.0, 300.0]], np.float32)
    scales = np.array([1.0, 2.5], np.float32)
    rotations = np.array([30.0, -12.0], np.float32)
    got = transforms.affine_matrix_tf(centers, scales, rotations, (256, 192)).numpy()
    inv = transforms.invert_affine_tf(tf.constant(got)).numpy()
    for i in range(2):
        want = transforms.get_affine_transform(centers[i], scales[i], rotations[i], (256, 192))
        np.testing.assert_allclose(got[i], want, rtol=1e-5, atol=1e-3)
        want_inv = transforms.invert_affine(want)
        np.testing.assert_allclose(inv[i], want_inv, rtol=1e-4, atol=1e-3)
    pts = np.array([[[5.0, 7.0], [100.0, 20.0]]] * 2, np.float32)
    moved = transforms.transform_points_tf(pts, got).numpy()
    np.testing.assert_allclose(moved[1], transforms.transform_points(pts[1], got[1]), atol=1e-3)


def test_float32_numpy_matrices_are_the_tf_ones_bit_for_bit():
    """`affine_matrix_float32` (evaluation, no TensorFlow) is `affine_matrix_tf`
    (training's pipeline) exactly for unrotated crops, and within float32 rounding
    of `get_affine_transform` for any."""
    rng = np.random.default_rng(3)
    centers = rng.uniform(-20, 900, (500, 2)).astype(np.float32)
    scales = rng.uniform(0.2, 6.0, 500).astype(np.float32)
    zero = np.zeros(500, np.float32)
    for size in [(128, 128), (192, 256), (64, 48)]:
        want = transforms.affine_matrix_tf(centers, scales, zero, size).numpy()
        got = transforms.affine_matrix_float32(centers, scales, zero, size)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, want)
        one = transforms.affine_matrix_float32(centers[0], scales[0], 0.0, size)
        np.testing.assert_array_equal(one, want[0])
    rotations = rng.uniform(-40, 40, 500).astype(np.float32)
    got = transforms.affine_matrix_float32(centers, scales, rotations, (256, 192))
    want = transforms.affine_matrix_tf(centers, scales, rotations, (256, 192)).numpy()
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)
    exact = transforms.get_affine_transform(centers[7], scales[7], rotations[7], (256, 192))
    np.testing.assert_allclose(got[7], exact, rtol=1e-6, atol=1e-4)


@pytest.mark.parametrize("reduction", [2, 4, 8])
def test_warp_of_a_reduced_image_puts_it_where_the_matrix_says(reduction):
    """An image read at 1/r of its size and warped with `reduction=r` lands where
    the matrix puts the original: pixel i of the reduced image is centred on
    original pixel r·i + (r − 1)/2 (taking r·i would move the crop (r − 1) / 2r
    crop pixels). The full-size warp point-samples every r-th pixel instead (it
    aliases: its block centroid is off by that much itself)."""
    from kerashg.images import reduce_image

    image = np.zeros((320, 480, 3), np.uint8)
    image[104:136, 200:264] = 255  # a block on whole 8-pixel cells: reduced exactly
    # Zoom just under 1 / reduction crop pixels per original pixel (at exactly 1 / 8
    # the determinant's rounding decides).
    scale = reduction / 2 * 1.001
    matrix = transforms.get_affine_transform((240.0, 160.0), scale, 0.0, 100)
    assert transforms.crop_reduction(matrix) == reduction
    reduced = transforms.warp_image(reduce_image(image, reduction), matrix, 100, reduction)
    weights = reduced[..., 0].astype(np.float64)
    ys, xs = np.indices(weights.shape)
    centroid = np.array([(xs * weights).sum(), (ys * weights).sum()]) / weights.sum()
    block_centre = transforms.transform_points([[231.5, 119.5]], matrix)[0]
    np.testing.assert_allclose(centroid, block_centre, atol=0.01)
    full = transforms.crop_image(image, (240.0, 160.0), scale, 0, 100)
    np.testing.assert_array_equal(full, transforms.warp_image(image, matrix, 100))


def test_crop_image_puts_pixel_where_the_matrix_says():
    image = np.zeros((300, 400, 3), np.uint8)
    image[120, 250] = 255
    crop = transforms.crop_image(image, (200.0, 150.0), 1.5, 20.0, 128)
    m = transforms.get_affine_transform((200.0, 150.0), 1.5, 20.0, 128)
    x, y = transforms.transform_points([[250.0, 120.0]], m)[0]
    peak = np.unravel_index(crop[..., 0].argmax(), crop.shape[:2])
    assert abs(peak[0] - y) <= 1.0 and abs(peak[1] - x) <= 1.0


def test_bad_scale_is_refused():
    with pytest.raises(ValueError, match="scale=0"):
        transforms.get_affine_transform((0, 0), 0.0, 0.0, 64)


def test_box_to_center_scale_pads_to_aspect():
    center, scale = transforms.box_to_center_scale(10, 20, 100, 200, aspect_ratio=1.0)
    np.testing.assert_allclose(center, [60, 120])
    assert scale == pytest.approx(200 * transforms.BOX_PADDING / transforms.PIXEL_STD)
