"""Drawing: skeletons over images and ACNN attention masks (Sun et al., Fig. 6).

Images are uint8 `(H, W, 3)` in OpenCV's BGR order (what `cv2.imread` returns
and `cv2.imwrite` expects); keypoints are `(K, 3)` = x, y in pixels of that
image and a score.
"""

from __future__ import annotations

import numpy as np

from kerashg.keypoints import KeypointSet

# BGR colours: left limbs, right limbs, centre line.
LEFT_COLOR = (255, 128, 0)
RIGHT_COLOR = (0, 128, 255)
CENTER_COLOR = (0, 220, 0)
# BGR colour of person boxes.
BOX_COLOR = (200, 200, 200)


def _side(name: str) -> str:
    if name.startswith(("l_", "left")):
        return "left"
    if name.startswith(("r_", "right")):
        return "right"
    return "center"


def _edge_color(keypoint_set: KeypointSet, a: int, b: int):
    sides = {_side(keypoint_set.names[a]), _side(keypoint_set.names[b])}
    if sides == {"left"} or sides == {"left", "center"}:
        return LEFT_COLOR
    if sides == {"right"} or sides == {"right", "center"}:
        return RIGHT_COLOR
    return CENTER_COLOR


def draw_skeleton(
    image,
    keypoints,
    keypoint_set: KeypointSet | None = None,
    score_threshold: float = 0.0,
    thickness: int | None = None,
):
    """Draws joints and skeleton edges on a copy of `image`.

    Args:
        image: uint8 (H, W, 3) BGR.
        keypoints: (K, 3) x, y (pixels of `image`) and score.
        keypoint_set: gives the edges and the left/right colours; None draws joints only.
        score_threshold: joints scoring at or below it are not drawn.
        thickness: line thickness in pixels; default scales with the image size.

    Returns:
        uint8 (H, W, 3) BGR, the annotated copy.
    """
    import cv2

    canvas = np.ascontiguousarray(np.array(image, dtype=np.uint8, copy=True))
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] < 2:
        raise ValueError(f"keypoints must have shape (K, 3). Received: shape={keypoints.shape}")
    if thickness is None:
        thickness = max(1, round(max(canvas.shape[:2]) / 200))
    scores = keypoints[:, 2] if keypoints.shape[1] > 2 else np.ones(len(keypoints))
    shown = np.isfinite(keypoints[:, :2]).all(axis=1) & (scores > score_threshold)
    points = [
        tuple(int(round(v)) for v in p[:2]) if ok else None
        for p, ok in zip(keypoints, shown, strict=True)
    ]
    if keypoint_set is not None:
        if keypoint_set.num_keypoints != len(keypoints):
            raise ValueError(
                f"keypoint_set {keypoint_set.name!r} has {keypoint_set.num_keypoints} joints. "
                f"Received: {len(keypoints)} keypoints"
            )
        for a, b in keypoint_set.skeleton:
            if points[a] is not None and points[b] is not None:
                color = _edge_color(keypoint_set, a, b)
                cv2.line(canvas, points[a], points[b], color, thickness, cv2.LINE_AA)
    for point in points:
        if point is not None:
            cv2.circle(canvas, point, thickness + 1, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(canvas, point, thickness + 1, (0, 0, 0), 1, cv2.LINE_AA)
    return canvas


def draw_people(
    image,
    people_keypoints,
    boxes=None,
    keypoint_set: KeypointSet | None = None,
    score_threshold: float = 0.0,
    thickness: int | None = None,
):
    """Draws several people, one skeleton each (and their boxes), on one copy of `image`.

    Args:
        image: uint8 (H, W, 3) BGR.
        people_keypoints: sequence of (K, 3) arrays, one per person (may be empty).
        boxes: None, or one `[x, y, w, h]` pixel box (or None) per person, drawn
            as a thin rectangle.
        keypoint_set, score_threshold, thickness: as in `draw_skeleton`.

    Returns:
        uint8 (H, W, 3) BGR, the annotated copy.
    """
    import cv2

    canvas = np.ascontiguousarray(np.array(image, dtype=np.uint8, copy=True))
    if thickness is None:
        thickness = max(1, round(max(canvas.shape[:2]) / 200))
    boxes = [None] * len(people_keypoints) if boxes is None else list(boxes)
    if len(boxes) != len(people_keypoints):
        raise ValueError(
            f"boxes must give one box per person. Received: {len(boxes)} boxes for "
            f"{len(people_keypoints)} people"
        )
    for keypoints, box in zip(people_keypoints, boxes, strict=True):
        if box is not None:
            x, y, w, h = (float(v) for v in box)
            top_left = (int(round(x)), int(round(y)))
            bottom_right = (int(round(x + w)), int(round(y + h)))
            cv2.rectangle(canvas, top_left, bottom_right, BOX_COLOR, max(1, thickness // 2))
        canvas = draw_skeleton(canvas, keypoints, keypoint_set, score_threshold, thickness)
    return canvas


def overlay_masks(image, masks, alpha: float = 0.5):
    """ACNN attention masks of every stage over the image, side by side (Fig. 6).

    Args:
        image: uint8 (H, W, 3) BGR, the model-input crop the masks belong to.
        masks: float (S, h, w) or (S, h, w, 1) in [0, 1], one mask per stage.
        alpha: weight of the colour-mapped mask in the blend.

    Returns:
        uint8 (H, S * W, 3) BGR: one panel per stage, the mask resized to the
        image (bilinear) and blended with a JET colour map (red = attended).
    """
    import cv2

    image = np.asarray(image, dtype=np.uint8)
    masks = np.asarray(masks, dtype=np.float32)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (S, h, w[, 1]). Received: shape={masks.shape}")
    height, width = image.shape[:2]
    panels = []
    for mask in masks:
        resized = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        colored = cv2.applyColorMap(
            np.clip(resized * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET
        )
        panels.append(cv2.addWeighted(image, 1.0 - alpha, colored, alpha, 0.0))
    return np.concatenate(panels, axis=1)
