"""The crop transform of the hourglass convention, and its inverse.

A person is described by a `center` (x, y) in original-image pixels and a `scale`
such that the person box is `scale * PIXEL_STD` pixels on a side. The crop maps
that box (rotated by `rotation` degrees) onto an output image of `output_size`
pixels. Points are `(x, y)`, x right, y down, 0-based pixel coordinates.

One module serves training (tf.data warps), evaluation and prediction (mapping
heatmap peaks back into the original image), so the conventions are written once.
Heatmap coordinates are crop coordinates divided by the model's stride.
"""

from __future__ import annotations

import math

import numpy as np

# Size in pixels of one unit of `scale`: the person box side is `scale * PIXEL_STD`.
PIXEL_STD = 200.0
# Margin the hourglass convention adds around a tight person box (box side × 1.25).
BOX_PADDING = 1.25
# Reductions an image may be read at for a crop that shrinks it (`crop_reduction`):
# the JPEG DCT scalings OpenCV decodes at.
READ_REDUCTIONS = (2, 4, 8)


def _as_size(output_size) -> tuple[float, float]:
    if np.isscalar(output_size):
        return float(output_size), float(output_size)
    w, h = output_size
    return float(w), float(h)


def _affine_rows(cx, cy, scale, cos, sin, width, height) -> tuple:
    """The crop affine's rows `((a00, a01, t0), (a10, a11, t1))`, original → crop pixels.

    Written once, evaluated in the arithmetic of its inputs: Python floats
    (`get_affine_transform`, float64), NumPy float32 (`affine_matrix_float32`) or
    TensorFlow float32 tensors (`affine_matrix_tf`), so that the last two agree
    bit for bit.

    Args:
        cx, cy: the crop centre in original-image pixels.
        scale: the person box side / PIXEL_STD.
        cos, sin: of the rotation (counter-clockwise as seen on screen).
        width, height: Python floats, the crop size in pixels.
    """
    box = scale * PIXEL_STD
    sx, sy = width / box, height / box
    # Translate the centre to the origin, scale, rotate (y points down, so a visual
    # counter-clockwise turn is [[cos, sin], [-sin, cos]]), move to the crop centre.
    a00, a01, a10, a11 = cos * sx, sin * sy, -sin * sx, cos * sy
    t0 = width / 2.0 - (a00 * cx + a01 * cy)
    t1 = height / 2.0 - (a10 * cx + a11 * cy)
    return (a00, a01, t0), (a10, a11, t1)


def get_affine_transform(center, scale, rotation, output_size, inverse=False) -> np.ndarray:
    """Affine matrix from original-image pixels to crop pixels (or back).

    The crop is centred on `center`; a box of `scale * PIXEL_STD` pixels fills the
    output width (and, independently, the output height). The content is rotated by
    `rotation` degrees counter-clockwise as seen on screen.

    Args:
        center: (x, y) in original-image pixels.
        scale: float, person box side / PIXEL_STD.
        rotation: float, degrees, counter-clockwise.
        output_size: int or (width, height) of the crop in pixels.
        inverse: bool, return the crop → original matrix instead.

    Returns:
        float64 array of shape (2, 3): `[x', y'] = M @ [x, y, 1]`.
    """
    scale = float(scale)
    if not scale > 0:
        raise ValueError(f"scale must be > 0. Received: scale={scale}")
    w, h = _as_size(output_size)
    theta = math.radians(float(rotation))
    rows = _affine_rows(
        float(center[0]), float(center[1]), scale, math.cos(theta), math.sin(theta), w, h
    )
    matrix = np.array(rows, dtype=np.float64)
    if inverse:
        return invert_affine(matrix)
    return matrix


def affine_matrix_float32(center, scale, rotation, output_size) -> np.ndarray:
    """`get_affine_transform` computed in float32 as training's pipeline computes it.

    The NumPy twin of `affine_matrix_tf` (the same `_affine_rows`, in float32),
    equal to it bit for bit where `rotation` is 0 (otherwise the float32 cos and
    sin of NumPy and TensorFlow may differ in the last bit). A crop warped with
    it (`warp_image`) is the training pipeline's crop pixel for pixel: evaluation
    crops with it, without TensorFlow. The float64 matrix rounded to float32
    differs from it in the last bit of many entries (1,898 of the 5,400 of
    LSP-extended's 900 held-out crops), which OpenCV's fixed-point warp turns into
    one grey level in a few pixels of most crops (681 of the 900).

    Args:
        center: float (..., 2), original-image pixels.
        scale: float (...,).
        rotation: float (...,), degrees counter-clockwise.
        output_size: int or (width, height) of the crop.

    Returns:
        float32 (..., 2, 3), original → crop pixels.
    """
    w, h = _as_size(output_size)
    center = np.asarray(center, np.float32)
    theta = np.asarray(rotation, np.float32) * (math.pi / 180.0)
    rows = _affine_rows(
        center[..., 0], center[..., 1], np.asarray(scale, np.float32),
        np.cos(theta), np.sin(theta), w, h,
    )  # fmt: skip
    return np.stack([np.stack(row, axis=-1) for row in rows], axis=-2)


def invert_affine(matrix) -> np.ndarray:
    """Inverse of a (2, 3) affine matrix."""
    full = np.vstack([np.asarray(matrix, dtype=np.float64), [0.0, 0.0, 1.0]])
    return np.linalg.inv(full)[:2]


def transform_points(points, matrix) -> np.ndarray:
    """Applies a (2, 3) affine matrix to points of shape (..., 2)."""
    points = np.asarray(points, dtype=np.float64)
    matrix = np.asarray(matrix, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def crop_image(image, center, scale, rotation, output_size, border_value=0):
    """Warps `image` (H, W, C) into the crop of `output_size` with OpenCV (bilinear),
    through the float32 matrix training's pipeline crops with
    (`affine_matrix_float32`), so a model sees the pixels it was trained on."""
    w, h = _as_size(output_size)
    matrix = affine_matrix_float32(center, scale, rotation, (w, h))
    return warp_image(image, matrix, (w, h), border_value=border_value)


def crop_reduction(matrix) -> int:
    """The largest reduction (1, 2, 4 or 8) an image may be read at for the crop `matrix`.

    Keeps at least one source pixel per crop pixel: the crop's zoom (crop pixels
    per original pixel, the square root of the matrix's determinant) times the
    reduction stays <= 1. An image read reduced (`kerashg.images.read_image_file`
    with `reduction`: a JPEG decoded at that size, much faster) also keeps the
    bilinear warp from aliasing. Training, its validation and evaluation crop
    this way (`warp_image`).

    Args:
        matrix: (2, 3) original → crop pixels.
    """
    zoom = float(np.sqrt(abs(np.linalg.det(np.asarray(matrix, np.float64)[:, :2]))))
    reduction = 1
    for r in READ_REDUCTIONS:
        if zoom * r <= 1.0:
            reduction = r
    return reduction


def warp_image(image, matrix, output_size, reduction=1, border_value=0, dst=None):
    """Warps `image` into a crop with OpenCV (bilinear, constant border).

    Args:
        image: (H, W, C) the original image, or the original read at
            1/`reduction` of its size (pixel i covers original pixels
            [i·r, (i+1)·r), so its centre is original pixel r·i + (r − 1)/2;
            `kerashg.images.read_image_file(path, reduction)`).
        matrix: (2, 3) original-image → crop pixels (`get_affine_transform`).
        output_size: int or (width, height) of the crop.
        reduction: 1, 2, 4 or 8, the reduction `image` was read at. Default 1.
        border_value: the value outside the image. Default 0 (black).
        dst: optional (height, width, C) array of `image`'s dtype to write into.

    Returns:
        The crop, (height, width, C) of `image`'s dtype.
    """
    import cv2  # OpenCV is the project's image I/O and warp library.

    w, h = _as_size(output_size)
    matrix = np.asarray(matrix, np.float64)
    if reduction > 1:
        half = (reduction - 1) / 2
        to_original = np.array([[reduction, 0, half], [0, reduction, half], [0, 0, 1]])
        matrix = matrix @ to_original
    return cv2.warpAffine(
        np.asarray(image),
        matrix.astype(np.float32),
        (int(w), int(h)),
        dst=dst,
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=border_value,
    )


def box_to_center_scale(x, y, width, height, aspect_ratio=1.0, padding=BOX_PADDING):
    """Center and scale of a person box (top-left x, y, width, height in pixels).

    The box is widened to `aspect_ratio` (width / height of the model input) and
    padded by `padding`, as top-down COCO pipelines do.

    Returns:
        (center float32 (2,), scale float32) with the box side = scale * PIXEL_STD
        measured along the height.
    """
    width, height = float(width), float(height)
    center = np.array([x + width * 0.5, y + height * 0.5], dtype=np.float32)
    if width > aspect_ratio * height:
        height = width / aspect_ratio
    else:
        width = height * aspect_ratio
    return center, np.float32(max(width, height) * padding / PIXEL_STD)


def affine_matrix_tf(center, scale, rotation, output_size):
    """TensorFlow twin of `get_affine_transform` for tf.data and exported graphs
    (float32; `affine_matrix_float32` is its NumPy twin, bit for bit).

    Args:
        center: float tensor (..., 2), original-image pixels.
        scale: float tensor (...,).
        rotation: float tensor (...,), degrees counter-clockwise.
        output_size: (width, height) Python numbers.

    Returns:
        float32 tensor (..., 2, 3), original → crop pixels.
    """
    import tensorflow as tf

    w, h = _as_size(output_size)
    center = tf.cast(center, tf.float32)
    theta = tf.cast(rotation, tf.float32) * (math.pi / 180.0)
    rows = _affine_rows(
        center[..., 0], center[..., 1], tf.cast(scale, tf.float32),
        tf.cos(theta), tf.sin(theta), w, h,
    )  # fmt: skip
    return tf.stack([tf.stack(row, axis=-1) for row in rows], axis=-2)


def invert_affine_tf(matrix):
    """Inverse of (..., 2, 3) affine matrices in TensorFlow."""
    import tensorflow as tf

    a, b, c = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    d, e, f = matrix[..., 1, 0], matrix[..., 1, 1], matrix[..., 1, 2]
    det = a * e - b * d
    ia, ib, id_, ie = e / det, -b / det, -d / det, a / det
    ic = -(ia * c + ib * f)
    if_ = -(id_ * c + ie * f)
    return tf.stack([tf.stack([ia, ib, ic], -1), tf.stack([id_, ie, if_], -1)], -2)


def transform_points_tf(points, matrix):
    """Applies (..., 2, 3) matrices to points (..., K, 2) in TensorFlow."""
    import tensorflow as tf

    points = tf.cast(points, tf.float32)
    linear = matrix[..., :2]
    shift = matrix[..., 2]
    return tf.linalg.matmul(points, linear, transpose_b=True) + shift[..., None, :]
