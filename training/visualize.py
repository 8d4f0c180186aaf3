"""A PNG grid of augmented training samples with their targets and skeletons.

    python -m training.visualize --data synthetic --out /tmp/grid.png
    python -m training.visualize --data lsp --data-dir ../shared/data/lsp --out grid.png

Each sample gets two tiles: the augmented crop with the skeleton drawn from the
warped keypoints, drawn by `kerashg.draw` (the person's left joints and bones
blue, right orange, centre green; occluded joints hollow) and the crop under
its target heatmaps (the maximum over joints, in yellow). After a flip the
colours must stay on the person's own sides: for people facing the camera,
orange on the image left.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import cv2
import numpy as np

from kerashg import cli, draw
from kerashg.errors import InputError
from kerashg.keypoints import KeypointSet
from kerashg.outputs import atomic_output, check_output_file
from training.config import DATA_SETS  # no TensorFlow


def draw_skeleton(
    image: np.ndarray, keypoints: np.ndarray, keypoint_set: KeypointSet
) -> np.ndarray:
    """Draws joints and bones on a copy of `image` with `kerashg.draw`.

    Args:
        image: uint8 (H, W, 3), RGB.
        keypoints: (K, 3) x, y in that image's pixels and v (0 not drawn,
            1 hollow, 2 filled).
        keypoint_set: gives names (colour by side) and skeleton edges.

    Returns:
        uint8 (H, W, 3), RGB.
    """
    keypoints = np.asarray(keypoints, np.float64)
    bgr = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)
    thickness = max(1, image.shape[0] // 160)
    drawn = draw.draw_skeleton(bgr, keypoints, keypoint_set, 0.0, thickness, keypoints[:, 2] < 2)
    return cv2.cvtColor(drawn, cv2.COLOR_BGR2RGB)


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
    """Renders `num_samples` samples of a `training.data` dataset as one RGB image.

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
        data: one of `training.config.DATA_SETS`.
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
    from kerashg.data import load_records

    if data != "synthetic":
        # Before TensorFlow loads (training.data): bad data answers at once.
        if data_dir is None:
            raise InputError(f"--data {data} needs --data-dir (the data set's root folder)")
        records, images, root = load_records(data, data_dir, split), None, data_dir
    from training.data import make_eval_dataset, make_train_dataset
    from training.synthetic import synthetic_source

    if data == "synthetic":
        records, images = synthetic_source(
            max(num_samples, 16), seed=seed, split=split, image_size=input_size
        )
        root = None
    batch_size = min(num_samples, 8)
    if train:  # repeated: a data set smaller than the grid shows later epochs too
        dataset = make_train_dataset(
            records, root, images=images, input_size=input_size, batch_size=batch_size, seed=seed
        )
    else:
        dataset = make_eval_dataset(
            records, root, images=images, input_size=input_size, batch_size=batch_size
        )
    grid = sample_grid(dataset, records.keypoint_set, num_samples)
    with atomic_output(out, force=True) as tmp:  # `run` refused an existing file already
        if not cv2.imwrite(str(tmp), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR)):
            raise InputError(f"--out {out}: cannot be written")
    return str(out)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m training.visualize`."""
    parser = cli.parser("python -m training.visualize", __doc__)
    parser.add_argument("--data", default="synthetic", choices=DATA_SETS, help="data set")
    parser.add_argument("--data-dir", default=None, help="root folder of a real data set")
    parser.add_argument("--split", default="train", help="split drawn from: train or val")
    parser.add_argument("--input-size", type=int, default=256, help="crop side in pixels")
    parser.add_argument("--num-samples", type=int, default=12, help="samples drawn (2 tiles each)")
    parser.add_argument("--seed", type=int, default=0, help="augmentation and shuffle seed")
    parser.add_argument("--no-augment", action="store_true", help="plain evaluation crops")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing --out file (default: refuse)"
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Writes the grid the parsed arguments describe and prints its path."""
    cli.check_positive(args, "input_size", "num_samples")
    check_output_file(args.out, args.force, "--out", (".png", ".jpg", ".jpeg"))
    path = write_grid(
        args.data, args.out, args.data_dir, args.split, args.input_size, args.num_samples,
        args.seed, train=not args.no_augment,
    )  # fmt: skip
    print(path)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `python -m training.visualize` (bad input: one `error:` line, exit 2)."""
    cli.run(build_parser, run, argv)


if __name__ == "__main__":
    main()
