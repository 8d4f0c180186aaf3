"""HeatmapCodec: one object that encodes training targets and decodes predictions.

Training (targets), evaluation, export (decoding inside the graph) and prediction
all use this class, so the conventions — Gaussian width, heatmap stride, the
sub-pixel refinement (the original quarter pixel, or DARK), the flip test — cannot
disagree between them.

Coordinates: keypoints are `(x, y)` in pixels of the model-input crop (0-based,
hourglass convention); heatmap coordinates are input coordinates divided by the
stride (`input_size / heatmap_size`).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

# Refinement of the original hourglass code: move the argmax a quarter heatmap pixel
# toward the higher of its two neighbours along each axis.
SUBPIXEL_SHIFT = 0.25
# Sub-pixel refinements `decode` offers (see `HeatmapCodec`).
REFINEMENTS = ("quarter", "dark")
# Floor of the smoothed heatmap before its logarithm (DARK refinement).
_LOG_FLOOR = 1e-10


def _pair(value, name):
    if np.isscalar(value):
        value = (value, value)
    if len(value) != 2 or not all(int(v) == v and int(v) > 0 for v in value):
        raise ValueError(
            f"{name} must be a positive int or (width, height). Received: {name}={value}"
        )
    return int(value[0]), int(value[1])


@keras.saving.register_keras_serializable(package="kerashg")
class HeatmapCodec:
    """Gaussian heatmap targets and argmax decoding with sub-pixel refinement.

    Args:
        input_size: int or (width, height), model-input crop size in pixels.
            Default 256.
        heatmap_size: int or (width, height), heatmap size. Default
            `input_size / 4` (the hourglass stride).
        sigma: float, Gaussian standard deviation in heatmap pixels. Default 1.0
            (the original code's value at 64×64).
        refine: sub-pixel refinement of the argmax, "quarter" (the original
            hourglass code: a quarter pixel toward the higher neighbour) or
            "dark" (Zhang et al., CVPR 2020, "Distribution-Aware Coordinate
            Representation": smooth the heatmap with a Gaussian of width
            `sigma`, then take the Newton step of its logarithm's second-order
            Taylor expansion at the argmax; where that is not a clean maximum
            (border, flat or saddle-shaped, a step over one pixel) it falls
            back to "quarter"). Default "dark": on the synthetic figures at
            32×32 heatmaps it measured 59.6% PCK@0.5 against 57.2% for
            "quarter" with the same model.

    Example:
        >>> codec = HeatmapCodec(input_size=256)
        >>> heatmaps, weights = codec.encode(keypoints)  # (B, K, 3) → (B, 64, 64, K)
        >>> xys = codec.decode(model(images)["heatmaps"][:, -1])  # (B, K, 3)
    """

    def __init__(self, input_size=256, heatmap_size=None, sigma=1.0, refine="dark"):
        self.input_size = _pair(input_size, "input_size")
        if heatmap_size is None:
            heatmap_size = (self.input_size[0] // 4, self.input_size[1] // 4)
        self.heatmap_size = _pair(heatmap_size, "heatmap_size")
        if not float(sigma) > 0:
            raise ValueError(f"sigma must be > 0. Received: sigma={sigma}")
        self.sigma = float(sigma)
        if refine not in REFINEMENTS:
            raise ValueError(f"refine must be one of {REFINEMENTS}. Received: refine={refine!r}")
        self.refine = refine
        self.stride = (
            self.input_size[0] / self.heatmap_size[0],
            self.input_size[1] / self.heatmap_size[1],
        )

    def get_config(self):
        return {
            "input_size": list(self.input_size),
            "heatmap_size": list(self.heatmap_size),
            "sigma": self.sigma,
            "refine": self.refine,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return (
            f"HeatmapCodec(input_size={self.input_size}, heatmap_size={self.heatmap_size}, "
            f"sigma={self.sigma}, refine={self.refine!r})"
        )

    # ------------------------------------------------------------------ encode
    def encode(self, keypoints):
        """Gaussian target heatmaps and per-joint weights.

        Args:
            keypoints: float tensor (..., K, 3): x, y in input-crop pixels and the
                visibility v (0 missing, 1 occluded, 2 visible; COCO convention).

        Returns:
            heatmaps: float32 (..., h, w, K), a Gaussian of peak 1 centred on each
                joint at sub-pixel precision; all zeros where the weight is 0.
            weights: float32 (..., K), 1 for joints with v > 0 whose position lies
                on the heatmap, else 0.
        """
        keypoints = tf.convert_to_tensor(keypoints, dtype=tf.float32)
        w, h = self.heatmap_size
        x = keypoints[..., 0] / self.stride[0]
        y = keypoints[..., 1] / self.stride[1]
        inside = (x >= -0.5) & (x < w - 0.5) & (y >= -0.5) & (y < h - 0.5)
        valid = (keypoints[..., 2] > 0) & inside & tf.math.is_finite(x) & tf.math.is_finite(y)
        weights = tf.cast(valid, tf.float32)
        x = tf.where(valid, x, 0.0)
        y = tf.where(valid, y, 0.0)
        xs = tf.range(w, dtype=tf.float32)
        ys = tf.range(h, dtype=tf.float32)
        # (..., K, w) and (..., K, h): the Gaussian is separable.
        gx = tf.exp(-tf.square(xs - x[..., None]) / (2.0 * self.sigma**2))
        gy = tf.exp(-tf.square(ys - y[..., None]) / (2.0 * self.sigma**2))
        heatmaps = gy[..., :, None] * gx[..., None, :] * weights[..., None, None]  # (..., K, h, w)
        rank = len(heatmaps.shape)
        perm = list(range(rank - 3)) + [rank - 2, rank - 1, rank - 3]
        return tf.transpose(heatmaps, perm), weights

    # ------------------------------------------------------------------ decode
    def decode(self, heatmaps):
        """Keypoints from heatmaps, in TensorFlow ops (fits inside an exported graph).

        Args:
            heatmaps: float tensor (B, h, w, K).

        Returns:
            float32 tensor (B, K, 3): x, y in input-crop pixels and the peak value
            as the score. Argmax plus a quarter-pixel shift toward the higher
            neighbour (none at the border or on a tie).
        """
        heatmaps = tf.cast(tf.convert_to_tensor(heatmaps), tf.float32)
        shape = tf.shape(heatmaps)
        batch, h, w, k = shape[0], shape[1], shape[2], shape[3]
        # Neighbour differences as whole maps (zero at the border), then read at the
        # argmax with a one-hot mask: no gather, so TFLite/ONNX/TensorRT take it as is.
        zeros_col = tf.zeros_like(heatmaps[:, :, :1])
        zeros_row = tf.zeros_like(heatmaps[:, :1])
        dx = tf.concat([zeros_col, heatmaps[:, :, 2:] - heatmaps[:, :, :-2], zeros_col], axis=2)
        dy = tf.concat([zeros_row, heatmaps[:, 2:] - heatmaps[:, :-2], zeros_row], axis=1)
        flat = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [batch, k, h * w])
        index = tf.argmax(flat, axis=-1, output_type=tf.int32)  # (B, K)
        score = tf.reduce_max(flat, axis=-1)
        onehot = tf.one_hot(index, h * w, dtype=tf.float32)  # (B, K, h*w)

        def at_peak(maps):
            maps = tf.reshape(tf.transpose(maps, [0, 3, 1, 2]), [batch, k, h * w])
            return tf.reduce_sum(maps * onehot, axis=-1)

        ix = tf.cast(index % w, tf.float32)
        iy = tf.cast(index // w, tf.float32)
        x = ix + SUBPIXEL_SHIFT * tf.sign(at_peak(dx))
        y = iy + SUBPIXEL_SHIFT * tf.sign(at_peak(dy))
        if self.refine == "dark":
            x, y = self._dark_tf(heatmaps, at_peak, ix, iy, x, y)
        return tf.stack([x * self.stride[0], y * self.stride[1], score], axis=-1)

    def _blur_kernel(self):
        """The normalised 1-D Gaussian (std `sigma`, radius ceil(2 sigma)) of DARK.

        The radius is capped below the heatmap side, as mirroring requires.
        """
        radius = max(1, int(np.ceil(2.0 * self.sigma)))
        radius = min(radius, min(self.heatmap_size) - 1)
        taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / self.sigma) ** 2)
        return (taps / taps.sum()).astype(np.float32)

    def _dark_tf(self, heatmaps, at_peak, ix, iy, fallback_x, fallback_y):
        """DARK's Newton step at the argmax (TF ops, gather-free); see `refine`."""
        shape = tf.shape(heatmaps)
        batch, h, w, k = shape[0], shape[1], shape[2], shape[3]
        taps = self._blur_kernel()
        radius = len(taps) // 2
        # Separable blur of every (example, joint) map as one channel. Only
        # argmaxes at least `radius + 1` pixels inside use it (below), so the
        # padding never reaches a value that is read; mirroring keeps the size.
        maps = tf.reshape(tf.transpose(heatmaps, [0, 3, 1, 2]), [batch * k, h, w, 1])
        pad = [[0, 0], [radius, radius], [radius, radius], [0, 0]]
        maps = tf.pad(maps, pad, mode="REFLECT")
        maps = tf.nn.conv2d(maps, taps.reshape(-1, 1, 1, 1), 1, "VALID")
        maps = tf.nn.conv2d(maps, taps.reshape(1, -1, 1, 1), 1, "VALID")
        logs = tf.math.log(tf.maximum(maps, _LOG_FLOOR))
        padded = tf.pad(logs, [[0, 0], [1, 1], [1, 1], [0, 0]])

        def shifted(dy, dx):  # logs[y + dy, x + dx] as a (B, h, w, K) map
            window = padded[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
            return tf.transpose(tf.reshape(window, [batch, k, h, w]), [0, 2, 3, 1])

        centre = shifted(0, 0)
        gx = at_peak(0.5 * (shifted(0, 1) - shifted(0, -1)))
        gy = at_peak(0.5 * (shifted(1, 0) - shifted(-1, 0)))
        hxx = at_peak(shifted(0, 1) - 2.0 * centre + shifted(0, -1))
        hyy = at_peak(shifted(1, 0) - 2.0 * centre + shifted(-1, 0))
        hxy = at_peak(0.25 * (shifted(1, 1) - shifted(1, -1) - shifted(-1, 1) + shifted(-1, -1)))
        det = hxx * hyy - hxy * hxy
        safe = tf.where(det > 0, det, tf.ones_like(det))
        # Newton step -H⁻¹g of the 2×2 Hessian H = [[hxx, hxy], [hxy, hyy]].
        step_x = -(hyy * gx - hxy * gy) / safe
        step_y = -(hxx * gy - hxy * gx) / safe
        # The blur of the argmax's neighbours must not reach the padding.
        margin = float(radius + 1)
        w_f = tf.cast(w, tf.float32)
        h_f = tf.cast(h, tf.float32)
        ok = (
            (det > 0)
            & (hxx < 0)
            & (tf.abs(step_x) <= 1.0)
            & (tf.abs(step_y) <= 1.0)
            & (ix >= margin)
            & (ix <= w_f - 1 - margin)
            & (iy >= margin)
            & (iy <= h_f - 1 - margin)
        )
        return tf.where(ok, ix + step_x, fallback_x), tf.where(ok, iy + step_y, fallback_y)

    def decode_numpy(self, heatmaps):
        """NumPy twin of `decode` for evaluation code: (B, h, w, K) → (B, K, 3)."""
        heatmaps = np.asarray(heatmaps, dtype=np.float32)
        if heatmaps.ndim != 4:
            raise ValueError(
                f"heatmaps must have shape (B, h, w, K). Received: shape={heatmaps.shape}"
            )
        b, h, w, k = heatmaps.shape
        flat = heatmaps.transpose(0, 3, 1, 2).reshape(b, k, h * w)
        index = flat.argmax(-1)
        score = flat.max(-1)
        iy, ix = np.divmod(index, w)
        bi, ki = np.meshgrid(np.arange(b), np.arange(k), indexing="ij")
        maps = heatmaps.transpose(0, 3, 1, 2)  # (B, K, h, w)
        interior_x = (ix > 0) & (ix < w - 1)
        interior_y = (iy > 0) & (iy < h - 1)
        right = maps[bi, ki, iy, np.minimum(ix + 1, w - 1)]
        left = maps[bi, ki, iy, np.maximum(ix - 1, 0)]
        down = maps[bi, ki, np.minimum(iy + 1, h - 1), ix]
        up = maps[bi, ki, np.maximum(iy - 1, 0), ix]
        x = ix + SUBPIXEL_SHIFT * np.sign(right - left) * interior_x
        y = iy + SUBPIXEL_SHIFT * np.sign(down - up) * interior_y
        if self.refine == "dark":
            x, y = self._dark_numpy(maps, bi, ki, ix, iy, x, y)
        return np.stack([x * self.stride[0], y * self.stride[1], score], axis=-1).astype(np.float32)

    def _dark_numpy(self, maps, bi, ki, ix, iy, fallback_x, fallback_y):
        """NumPy twin of `_dark_tf`; `maps` is (B, K, h, w)."""
        taps = self._blur_kernel()
        radius = len(taps) // 2
        b, k, h, w = maps.shape
        pad = [(0, 0), (0, 0), (radius, radius), (radius, radius)]
        padded = np.pad(maps, pad, mode="reflect")
        rows = sum(t * padded[:, :, i : i + h] for i, t in enumerate(taps))
        blurred = sum(t * rows[:, :, :, i : i + w] for i, t in enumerate(taps))
        logs = np.pad(np.log(np.maximum(blurred, _LOG_FLOOR)), [(0, 0), (0, 0), (1, 1), (1, 1)])

        def at(dy, dx):  # logs[y + dy, x + dx] at every argmax
            return logs[bi, ki, iy + 1 + dy, ix + 1 + dx]

        gx = 0.5 * (at(0, 1) - at(0, -1))
        gy = 0.5 * (at(1, 0) - at(-1, 0))
        hxx = at(0, 1) - 2.0 * at(0, 0) + at(0, -1)
        hyy = at(1, 0) - 2.0 * at(0, 0) + at(-1, 0)
        hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
        det = hxx * hyy - hxy * hxy
        safe = np.where(det > 0, det, 1.0)
        margin = radius + 1
        step_x = -(hyy * gx - hxy * gy) / safe
        step_y = -(hxx * gy - hxy * gx) / safe
        ok = (
            (det > 0)
            & (hxx < 0)
            & (np.abs(step_x) <= 1.0)
            & (np.abs(step_y) <= 1.0)
            & (ix >= margin)
            & (ix <= w - 1 - margin)
            & (iy >= margin)
            & (iy <= h - 1 - margin)
        )
        return np.where(ok, ix + step_x, fallback_x), np.where(ok, iy + step_y, fallback_y)

    # --------------------------------------------------------------- flip test
    @staticmethod
    def flip_heatmaps(heatmaps, flip_index, shift=False):
        """Heatmaps of a horizontally flipped image, mapped back to the original.

        Args:
            heatmaps: tensor (B, h, w, K) predicted for the flipped image.
            flip_index: int sequence (K,), `KeypointSet.flip_index`.
            shift: bool, move the result one pixel right, as modern code does to
                compensate the flip's half-pixel misalignment. Default False (the
                original hourglass code's behaviour).

        Returns:
            tensor (B, h, w, K) aligned with the unflipped image.
        """
        heatmaps = tf.convert_to_tensor(heatmaps)
        flipped = tf.gather(tf.reverse(heatmaps, axis=[2]), flip_index, axis=3)
        if shift:
            flipped = tf.concat([flipped[:, :, :1], flipped[:, :, :-1]], axis=2)
        return flipped

    def flip_test(self, predict_fn, images, flip_index, shift=False):
        """Averages heatmaps of `images` and their mirror images.

        Args:
            predict_fn: callable, images (B, H, W, 3) → heatmaps (B, h, w, K).
            images: tensor (B, H, W, 3).
            flip_index: `KeypointSet.flip_index`.
            shift: see `flip_heatmaps`.

        Returns:
            tensor (B, h, w, K), the averaged heatmaps.
        """
        heatmaps = tf.cast(predict_fn(images), tf.float32)
        mirrored = tf.cast(predict_fn(tf.reverse(images, axis=[2])), tf.float32)
        return 0.5 * (heatmaps + self.flip_heatmaps(mirrored, flip_index, shift=shift))
