"""Heatmap decoding in NumPy: argmax plus sub-pixel refinement (quarter pixel or DARK).

The one NumPy implementation of `HeatmapCodec.decode` (`HeatmapCodec.decode_numpy`
calls `decode` here): evaluation code and the TensorFlow-free runtime use it
without importing TensorFlow or Keras. The TensorFlow version that goes inside
exported graphs (`HeatmapCodec.decode`) computes the same numbers in graph ops;
`tests/test_codec.py` holds the two together.

Coordinates: heatmaps are `(B, h, w, K)`; keypoints are `(x, y)` in heatmap
pixels times the stride, i.e. pixels of the model-input crop (0-based,
hourglass convention).

This module imports NumPy only.
"""

from __future__ import annotations

import numpy as np

# Refinement of the original hourglass code: move the argmax a quarter heatmap pixel
# toward the higher of its two neighbours along each axis.
SUBPIXEL_SHIFT = 0.25
# Sub-pixel refinements `decode` offers (see `kerashg.codec.HeatmapCodec`).
REFINEMENTS = ("quarter", "dark")
# Floor of the smoothed heatmap before its logarithm (DARK refinement).
LOG_FLOOR = 1e-10
# Where the flip test's mapped-back heatmaps put a peak, in input pixels right of
# the truth (`flip_back`); the decoded average is half of it off.
FLIP_OFFSET = 1.0


def blur_kernel(sigma: float, heatmap_size) -> np.ndarray:
    """The normalised 1-D Gaussian (std `sigma`, radius ceil(2 sigma)) of DARK.

    The radius is capped below the heatmap's shorter side, as mirroring requires.

    Args:
        sigma: float, the Gaussian's standard deviation in heatmap pixels.
        heatmap_size: (width, height) of the heatmap.

    Returns:
        float32 (2 * radius + 1,).
    """
    radius = max(1, int(np.ceil(2.0 * sigma)))
    radius = min(radius, min(heatmap_size) - 1)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    return (taps / taps.sum()).astype(np.float32)


def decode(heatmaps, stride=(1.0, 1.0), refine: str = "dark", sigma: float = 1.0) -> np.ndarray:
    """Keypoints from heatmaps: argmax, then sub-pixel refinement.

    Args:
        heatmaps: float (B, h, w, K).
        stride: (x, y) input pixels per heatmap pixel. Default (1, 1): heatmap pixels.
        refine: "quarter" (a quarter pixel toward the higher neighbour; none at
            the border or on a tie) or "dark" (DARK's Newton step on the log of
            the Gaussian-smoothed map, falling back to "quarter" where that is
            not a clean maximum). Default "dark".
        sigma: float, DARK's smoothing width in heatmap pixels. Default 1.0.

    Returns:
        float32 (B, K, 3): x, y in input pixels (heatmap pixels × stride) and
        the peak value as the score.
    """
    if refine not in REFINEMENTS:
        raise ValueError(f"refine must be one of {REFINEMENTS}. Received: refine={refine!r}")
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    if heatmaps.ndim != 4:
        raise ValueError(f"heatmaps must have shape (B, h, w, K). Received: shape={heatmaps.shape}")
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
    if refine == "dark":
        x, y = _dark(maps, blur_kernel(sigma, (w, h)), bi, ki, ix, iy, x, y)
    return np.stack([x * stride[0], y * stride[1], score], axis=-1).astype(np.float32)


def _dark(maps, taps, bi, ki, ix, iy, fallback_x, fallback_y):
    """DARK's Newton step at every argmax; `maps` is (B, K, h, w)."""
    radius = len(taps) // 2
    b, k, h, w = maps.shape
    pad = [(0, 0), (0, 0), (radius, radius), (radius, radius)]
    padded = np.pad(maps, pad, mode="reflect")
    rows = sum(t * padded[:, :, i : i + h] for i, t in enumerate(taps))
    blurred = sum(t * rows[:, :, :, i : i + w] for i, t in enumerate(taps))
    logs = np.pad(np.log(np.maximum(blurred, LOG_FLOOR)), [(0, 0), (0, 0), (1, 1), (1, 1)])

    def at(dy, dx):  # logs[y + dy, x + dx] at every argmax
        return logs[bi, ki, iy + 1 + dy, ix + 1 + dx]

    gx = 0.5 * (at(0, 1) - at(0, -1))
    gy = 0.5 * (at(1, 0) - at(-1, 0))
    hxx = at(0, 1) - 2.0 * at(0, 0) + at(0, -1)
    hyy = at(1, 0) - 2.0 * at(0, 0) + at(-1, 0)
    hxy = 0.25 * (at(1, 1) - at(1, -1) - at(-1, 1) + at(-1, -1))
    det = hxx * hyy - hxy * hxy
    safe = np.where(det > 0, det, 1.0)
    # Newton step -H⁻¹g of the 2×2 Hessian H = [[hxx, hxy], [hxy, hyy]]; the
    # blur of the argmax's neighbours must not reach the padding.
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


def flip_back(heatmaps, flip_index) -> np.ndarray:
    """Heatmaps of horizontally flipped images, mapped back to the originals.

    Reverses the columns, swaps left and right joints and moves the maps one
    column right, so that a peak lands exactly `FLIP_OFFSET` (one input pixel)
    right of where the unflipped image's heatmaps put it, at any stride (the
    derivation is at `kerashg.codec.HeatmapCodec.flip_heatmaps`, its graph-ops
    twin; `tests/test_codec.py` holds the two together).

    Args:
        heatmaps: float (B, h, w, K) predicted for the flipped images.
        flip_index: int sequence (K,), `KeypointSet.flip_index`.

    Returns:
        float32 (B, h, w, K) in the unflipped images' frame.
    """
    flipped = np.asarray(heatmaps, np.float32)[:, :, ::-1][..., np.asarray(flip_index)]
    return np.concatenate([flipped[:, :, :1], flipped[:, :, :-1]], axis=2)


def decode_flip(heatmaps, mirrored, flip_index, stride=(1.0, 1.0), refine="dark", sigma=1.0):
    """Keypoints of the flip test: the average of `heatmaps` and the mapped-back
    `mirrored` decoded (`decode`), then the flip's offset removed.

    Args:
        heatmaps: float (B, h, w, K) predicted for the images.
        mirrored: float (B, h, w, K) predicted for their mirror images (columns
            reversed).
        flip_index: int sequence (K,), `KeypointSet.flip_index`.
        stride, refine, sigma: as `decode`.

    Returns:
        float32 (B, K, 3): x, y in input pixels and the score.
    """
    averaged = 0.5 * (np.asarray(heatmaps, np.float32) + flip_back(mirrored, flip_index))
    keypoints = decode(averaged, stride, refine, sigma)
    keypoints[..., 0] -= 0.5 * FLIP_OFFSET
    return keypoints
