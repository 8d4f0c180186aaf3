"""A preview grid of synthetic samples with their annotations drawn."""

from __future__ import annotations

import cv2
import numpy as np

from kerashg import draw
from kerashg.data.synthetic.canvas import _AA
from kerashg.data.synthetic.difficulty import RenderConfig
from kerashg.data.synthetic.layout import _L
from kerashg.data.synthetic.render import render_sample
from kerashg.keypoints import MPII
from kerashg.transforms import PIXEL_STD


def preview_grid(
    n: int = 16,
    seed: int = 0,
    image_size: int = 256,
    difficulty: str | float | RenderConfig = "moderate",
    start: int = 0,
    columns: int = 4,
) -> np.ndarray:
    """A grid of samples with their joints drawn, RGB uint8 (rows * S, columns * S, 3).

    Skeletons by `kerashg.draw`: the person's left blue, right orange, centre
    green; filled dots are visible (v = 2), rings occluded (v = 1); the yellow
    square is the person box (200 * scale) and the yellow circle the head size
    around the head centre.
    """
    if int(columns) != columns or columns < 1:
        raise ValueError(f"columns must be an integer >= 1. Received: columns={columns}")
    tiles = []
    for i in range(start, start + n):
        sample = render_sample(i, seed, image_size, difficulty)
        tile = sample["image"].copy()
        kp = sample["keypoints"]
        tile = cv2.cvtColor(
            draw.draw_skeleton(
                cv2.cvtColor(tile, cv2.COLOR_RGB2BGR), kp, MPII, 0.0, 1, kp[:, 2] < 2
            ),
            cv2.COLOR_BGR2RGB,
        )
        half = sample["scale"] * PIXEL_STD / 2
        cx, cy = sample["center"]
        cv2.rectangle(
            tile,
            (int(cx - half), int(cy - half)),
            (int(cx + half), int(cy + half)),
            (255, 230, 0),
            1,
        )
        head = (kp[_L["upper_neck"], :2] + kp[_L["head_top"], :2]) / 2
        if kp[_L["upper_neck"], 2] > 0 and kp[_L["head_top"], 2] > 0:
            cv2.circle(
                tile, (int(head[0]), int(head[1])), int(sample["head_size"]), (255, 230, 0), 1, _AA
            )
        tiles.append(tile)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.concatenate(tiles[r : r + columns], 1) for r in range(0, len(tiles), columns)]
    return np.concatenate(rows, 0)
