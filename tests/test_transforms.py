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
