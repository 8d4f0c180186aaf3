"""`SyntheticPoses`: the synthetic data set as indexable samples and columnar records."""

from __future__ import annotations

import concurrent.futures
import math
import os
from collections.abc import Iterable

import numpy as np

from kerashg.data.synthetic.difficulty import RenderConfig, resolve_config
from kerashg.data.synthetic.layout import _resolve_keypoint_set
from kerashg.data.synthetic.render import _check_common, render_sample
from kerashg.keypoints import KeypointSet


def _default_workers() -> int:
    """Rendering threads by default: one per core, at most 2."""
    return max(1, min(2, os.cpu_count() or 1))


class SyntheticPoses:
    """An endless synthetic data set: sample `i` is `render_sample(i, seed, ...)`.

    Args:
        seed: int >= 0, data set seed; use different seeds for train and test.
        image_size: int >= 32, side S of the square images.
        difficulty: preset name, level in [0, 1] or `RenderConfig` (see `resolve_config`).
        keypoint_set: "mpii" (16 joints, default) or "coco" (17).
        workers: int >= 1, threads used by `render_batch` (default: up to 2).
            OpenCV drawing releases the GIL, so threads overlap partly.

    Indexing (`poses[i]`) returns one sample dict; there is no length.
    """

    def __init__(
        self,
        seed: int = 0,
        image_size: int = 256,
        difficulty: str | float | RenderConfig = "moderate",
        keypoint_set: str | KeypointSet = "mpii",
        workers: int | None = None,
    ):
        _check_common(0, seed, image_size)
        if workers is not None and (int(workers) != workers or workers < 1):
            raise ValueError(f"workers must be an integer >= 1. Received: workers={workers}")
        self.seed = int(seed)
        self.image_size = int(image_size)
        self.difficulty = difficulty
        self.config = resolve_config(difficulty)
        self.keypoint_set, _ = _resolve_keypoint_set(keypoint_set)
        self.workers = int(workers) if workers is not None else _default_workers()

    def __getitem__(self, index: int) -> dict:
        return render_sample(index, self.seed, self.image_size, self.config, self.keypoint_set)

    def render_batch(self, indices: Iterable[int]) -> dict:
        """Renders `indices` into columnar arrays.

        Returns:
            dict with `image` uint8 (N, S, S, 3), `keypoints` float32 (N, K, 3),
            `center` float32 (N, 2), `scale` float32 (N,), `head_size` float32 (N,),
            `id` int64 (N,) = the sample indices.
        """
        indices = np.asarray(list(indices), np.int64)
        n, size, k = len(indices), self.image_size, self.keypoint_set.num_keypoints
        out = dict(
            image=np.zeros((n, size, size, 3), np.uint8),
            keypoints=np.zeros((n, k, 3), np.float32),
            center=np.zeros((n, 2), np.float32),
            scale=np.zeros((n,), np.float32),
            head_size=np.zeros((n,), np.float32),
            id=indices.copy(),
        )

        def fill(rows: range) -> None:
            for row in rows:
                sample = self[int(indices[row])]
                for key in ("image", "keypoints", "center", "scale", "head_size"):
                    out[key][row] = sample[key]

        # A few chunks per worker balance the load; at most 64 samples per chunk.
        chunk = min(64, max(1, math.ceil(n / (4 * self.workers))))
        chunks = [range(i, min(i + chunk, n)) for i in range(0, n, chunk)]
        if self.workers == 1 or len(chunks) <= 1:
            for rows in chunks:
                fill(rows)
        else:
            with concurrent.futures.ThreadPoolExecutor(self.workers) as pool:
                for done in pool.map(fill, chunks):
                    del done
        return out

    def records(self, n: int, start: int = 0) -> dict:
        """Samples `start` ... `start + n - 1` as columnar records with their images.

        The keys are those of docs/CONTRACTS.md's records (`keypoints`, `center`,
        `scale`, `head_size`, `id`) with the pixels in `image` (N, S, S, 3) instead
        of an `image_path`.
        """
        if int(n) != n or n < 0:
            raise ValueError(f"n must be an integer >= 0. Received: n={n}")
        if int(start) != start or start < 0:
            raise ValueError(f"start must be an integer >= 0. Received: start={start}")
        return self.render_batch(range(int(start), int(start) + int(n)))

    def __repr__(self) -> str:
        return (
            f"SyntheticPoses(seed={self.seed}, image_size={self.image_size}, "
            f"difficulty={self.difficulty!r}, keypoint_set={self.keypoint_set.name!r})"
        )
