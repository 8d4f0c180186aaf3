"""A PNG grid of augmented training samples with their targets and skeletons.

    python -m training.visualize --data synthetic --out /tmp/grid.png
    python -m training.visualize --data lsp --data-dir ../shared/data/lsp --out grid.png

Each sample gets two tiles: the augmented crop with the skeleton drawn from the
warped keypoints (right-side joints and bones red, left-side blue, centre
ones green; occluded joints hollow) and the crop under its target heatmaps
(the maximum over joints, in yellow). After a flip the colours must stay on
the person's own sides: for people facing the camera, red on the image left.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import cv2
import numpy as np

from kerashg.keypoints import KeypointSet

RIGHT, LEFT, CENTRE = (230, 40, 40), (40, 90, 255), (40, 200, 60)  # RGB


def _side_colour(name: str) -> tuple[int, int, int]:
    if name.startswith(("r_", "right")):
        return RIGHT
    if name.startswith(("l_", "left")):
        return LEFT
    return CENTRE


def draw_skeleton(
    image: np.ndarray, keypoints: np.ndarray, keypoint_set: KeypointSet
) -> np.ndarray:
    """Draws joints and bones on a copy of `image`.

    Args:
        image: uint8 (H, W, 3), RGB.
        keypoints: (K, 3) x, y in that image's pixels and v (0 not drawn,
            1 hollow, 2 filled).
        keypoint_set: gives names (colour by side) and skeleton edges.

    Returns:
        uint8 (H, W, 3).
    """
    out = np.ascontiguousarray(image.copy())
    radius = max(2, out.shape[0] // 80)
    colours = [_side_colour(n) for n in keypoint_set.names]
    for a, b in keypoint_set.skeleton:
        if keypoints[a, 2] > 0 and keypoints[b, 2] > 0:
            colour = colours[a] if colours[a] == colours[b] else CENTRE
            pa = tuple(int(round(float(c))) for c in keypoints[a, :2])
            pb = tuple(int(round(float(c))) for c in keypoints[b, :2])
            cv2.line(out, pa, pb, colour, max(1, radius // 2), cv2.LINE_AA)
    for j, (x, y, v) in enumerate(keypoints):
        if v > 0:
            centre = (int(round(float(x))), int(round(float(y))))
            cv2.circle(out, centre, radius, colours[j], -1 if v >= 2 else 1, cv2.LINE_AA)
    return out


def overlay_heatmaps(image: np.ndarray, heatmaps: np.ndarray) -> np.ndarray:
    """Blends the per-pixel maximum of (h, w, K) heatmaps over a uint8 RGB image."""
    peak = heatmaps.max(axis=-1)
    peak = cv2.resize(peak, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha = np.clip(peak, 0.0, 1.0)[..., None]
    yellow = np.array([255, 230, 0], np.float32)
    dim = image.astype(np.float32) * 0.5
    return (dim * (1 - alpha) + yellow * alpha).astype(np.uint8)


def sample_grid(
    dataset, keypoint_set: KeypointSet, num_samples: int = 12, columns: int = 4
) -> np.ndarray:
    """Renders `num_samples` samples of a `make_dataset` dataset as one RGB image.

    Args:
        dataset: yields `(images, targets, meta)` batches.
        keypoint_set: the records' keypoint set.
        num_samples: int, samples to show.
        columns: int, samples per row (each sample is two tiles wide).

    Returns:
        uint8 (rows·H, columns·2·W, 3).
    """
    tiles = []
    for images, targets, meta in dataset:
        for i in range(images.shape[0]):
            image = (np.clip(images[i].numpy(), 0, 1) * 255).astype(np.uint8)
            tiles.append(draw_skeleton(image, meta["keypoints"][i].numpy(), keypoint_set))
            tiles.append(overlay_heatmaps(image, targets["heatmaps"][i].numpy()))
            if len(tiles) >= 2 * num_samples:
                break
        if len(tiles) >= 2 * num_samples:
            break
    if not tiles:
        raise ValueError("The dataset produced no samples to draw")
    h, w = tiles[0].shape[:2]
    per_row = 2 * columns
    rows = -(-len(tiles) // per_row)
    grid = np.full((rows * h, per_row * w, 3), 255, np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, per_row)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
        cv2.rectangle(grid, (c * w, r * h), ((c + 1) * w - 1, (r + 1) * h - 1), (255, 255, 255), 1)
    return grid


def write_grid(
    data: str,
    out: str | os.PathLike,
    data_dir: str | None = None,
    split: str = "train",
    input_size: int = 256,
    num_samples: int = 12,
    seed: int = 0,
    train: bool = True,
) -> str:
    """Builds the pipeline of `data` and writes a sample grid PNG to `out`.

    Args:
        data: `"synthetic"`, `"mpii"`, `"coco"` or `"lsp"`.
        out: PNG path.
        data_dir: data set root (real data sets).
        split: data split.
        input_size: int, crop size.
        num_samples: int, samples drawn.
        seed: int, augmentation / shuffle seed.
        train: bool, augmented training samples (default) or plain crops.

    Returns:
        The path written.
    """
    from training.data import make_dataset, synthetic_source
    from training.datasets import load_records

    if data == "synthetic":
        records, images = synthetic_source(
            max(num_samples, 16), seed=seed, split=split, image_size=input_size
        )
        root = None
    else:
        if data_dir is None:
            raise ValueError(f"--data-dir is required for data={data!r}")
        records, images, root = load_records(data, data_dir, split), None, data_dir
    dataset = make_dataset(
        records, root, images=images, input_size=input_size, train=train,
        batch_size=min(num_samples, 8), seed=seed, num_epochs=1, drop_remainder=False,
    )  # fmt: skip
    grid = sample_grid(dataset, records.keypoint_set, num_samples)
    if not cv2.imwrite(str(out), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
        raise OSError(f"Could not write {out}")
    return str(out)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="synthetic", choices=["synthetic", "mpii", "coco", "lsp"])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--split", default="train")
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--num-samples", type=int, default=12)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-augment", action="store_true", help="plain evaluation crops")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    path = write_grid(
        args.data, args.out, args.data_dir, args.split, args.input_size, args.num_samples,
        args.seed, train=not args.no_augment,
    )  # fmt: skip
    print(path)


if __name__ == "__main__":
    main()
