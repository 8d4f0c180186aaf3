"""Drawing: skeletons, a legend, and ACNN attention masks (Sun et al., Fig. 6).

The one drawing code of the project: `kerashg.predict`, `training.visualize` and
the TensorBoard images of `training.sources` all draw with it, in one colour
convention, by the *person's* sides: the person's left limbs blue, right limbs
orange, the centre line (head, spine, hips to shoulders) green. A person facing
the camera has their left on the image's right.

Images are uint8 `(H, W, 3)` in OpenCV's BGR order (what `cv2.imread` returns
and `cv2.imwrite` expects); keypoints are `(K, 3)` = x, y in pixels of that
image and a score. This module imports NumPy and OpenCV only.
"""

from __future__ import annotations

import numpy as np

from kerashg.keypoints import KeypointSet

# BGR colours by the person's side: left limbs, right limbs, centre line.
LEFT_COLOR = (255, 128, 0)
RIGHT_COLOR = (0, 128, 255)
CENTER_COLOR = (0, 200, 0)
# BGR colour of person boxes.
BOX_COLOR = (200, 200, 200)
# Joints scoring at or below it are not drawn (MMPose's and Ultralytics' default).
DEFAULT_SCORE_THRESHOLD = 0.3


def side(name: str) -> str:
    """ "left", "right" or "center": the person's side of a joint name."""
    if name.startswith(("l_", "left")):
        return "left"
    if name.startswith(("r_", "right")):
        return "right"
    return "center"


_SIDE_COLOR = {"left": LEFT_COLOR, "right": RIGHT_COLOR, "center": CENTER_COLOR}


def _edge_color(keypoint_set: KeypointSet, a: int, b: int):
    sides = {side(keypoint_set.names[a]), side(keypoint_set.names[b])}
    if sides == {"left"} or sides == {"left", "center"}:
        return LEFT_COLOR
    if sides == {"right"} or sides == {"right", "center"}:
        return RIGHT_COLOR
    return CENTER_COLOR


def _default_thickness(canvas) -> int:
    return max(1, round(max(canvas.shape[:2]) / 200))


def draw_skeleton(
    image,
    keypoints,
    keypoint_set: KeypointSet | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    thickness: int | None = None,
    hollow=None,
    opacity: float = 1.0,
):
    """Draws joints and skeleton edges on a copy of `image`.

    A joint is drawn where its x, y are finite, its score is above
    `score_threshold` and it lies on the image; an edge where both its joints are.

    Args:
        image: uint8 (H, W, 3) BGR.
        keypoints: (K, 3) x, y (pixels of `image`) and score (for ground truth
            the visibility v: 0 not drawn).
        keypoint_set: gives the edges and the side colours; None draws joints only
            (green).
        score_threshold: float, joints scoring at or below it are not drawn.
            Default 0.3.
        thickness: line thickness in pixels; default scales with the image size.
        hollow: None, or bool (K,): joints drawn as rings (e.g. occluded ground
            truth, v = 1) instead of filled dots.
        opacity: float in (0, 1], the drawing blended over the image. Default 1.

    Returns:
        uint8 (H, W, 3) BGR, the annotated copy.
    """
    import cv2

    original = np.ascontiguousarray(np.array(image, dtype=np.uint8, copy=True))
    canvas = original.copy()
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 2 or keypoints.shape[1] < 2:
        raise ValueError(f"keypoints must have shape (K, 3). Received: shape={keypoints.shape}")
    if thickness is None:
        thickness = _default_thickness(canvas)
    height, width = canvas.shape[:2]
    scores = keypoints[:, 2] if keypoints.shape[1] > 2 else np.ones(len(keypoints))
    with np.errstate(invalid="ignore"):
        on_image = (
            (keypoints[:, 0] >= -0.5)
            & (keypoints[:, 0] <= width - 0.5)
            & (keypoints[:, 1] >= -0.5)
            & (keypoints[:, 1] <= height - 0.5)
        )
    shown = np.isfinite(keypoints[:, :2]).all(axis=1) & (scores > score_threshold) & on_image
    hollow = np.zeros(len(keypoints), bool) if hollow is None else np.asarray(hollow, bool)
    points = [
        tuple(int(round(v)) for v in p[:2]) if ok else None
        for p, ok in zip(keypoints, shown, strict=True)
    ]
    colors = [CENTER_COLOR] * len(keypoints)
    if keypoint_set is not None:
        if keypoint_set.num_keypoints != len(keypoints):
            raise ValueError(
                f"keypoint_set {keypoint_set.name!r} has {keypoint_set.num_keypoints} joints. "
                f"Received: {len(keypoints)} keypoints"
            )
        colors = [_SIDE_COLOR[side(name)] for name in keypoint_set.names]
        for a, b in keypoint_set.skeleton:
            if points[a] is not None and points[b] is not None:
                color = _edge_color(keypoint_set, a, b)
                cv2.line(canvas, points[a], points[b], color, thickness, cv2.LINE_AA)
    radius = thickness + 1
    for point, color, ring in zip(points, colors, hollow, strict=True):
        if point is None:
            continue
        if ring:
            cv2.circle(canvas, point, radius, color, max(1, thickness // 2), cv2.LINE_AA)
        else:
            cv2.circle(canvas, point, radius, color, -1, cv2.LINE_AA)
            cv2.circle(canvas, point, radius, (255, 255, 255), 1, cv2.LINE_AA)
    if opacity < 1.0:
        canvas = cv2.addWeighted(canvas, float(opacity), original, 1.0 - float(opacity), 0.0)
    return canvas


def draw_people(
    image,
    people_keypoints,
    boxes=None,
    keypoint_set: KeypointSet | None = None,
    score_threshold: float = DEFAULT_SCORE_THRESHOLD,
    thickness: int | None = None,
    legend: bool = False,
):
    """Draws several people, one skeleton each (and their boxes), on one copy of `image`.

    Args:
        image: uint8 (H, W, 3) BGR.
        people_keypoints: sequence of (K, 3) arrays, one per person (may be empty).
        boxes: None, or one `[x, y, w, h]` pixel box (or None) per person, drawn
            as a thin rectangle.
        keypoint_set, score_threshold, thickness: as in `draw_skeleton`.
        legend: bool, add `pose_legend` in the top-left corner. Default False.

    Returns:
        uint8 (H, W, 3) BGR, the annotated copy.
    """
    import cv2

    canvas = np.ascontiguousarray(np.array(image, dtype=np.uint8, copy=True))
    if thickness is None:
        thickness = _default_thickness(canvas)
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
    if legend:
        canvas = draw_legend(canvas, pose_legend(score_threshold))
    return canvas


def pose_legend(score_threshold: float = DEFAULT_SCORE_THRESHOLD, truth: bool = False) -> list:
    """The legend of a pose drawing: the side colours and the score threshold.

    Args:
        score_threshold: float, written as "joints: score > T".
        truth: bool, add a line saying the faint rings are the ground truth.

    Returns:
        list of (text, BGR colour or None) for `draw_legend`.
    """
    entries = [
        ("person's left", LEFT_COLOR),
        ("person's right", RIGHT_COLOR),
        ("centre", CENTER_COLOR),
        (f"joints: score > {score_threshold:g}", None),
    ]
    if truth:
        entries.append(("faint, rings: truth", None))
    return entries


def _font_scale(canvas) -> float:
    return float(np.clip(max(canvas.shape[:2]) / 1000.0, 0.3, 0.8))


def draw_legend(image, entries, font_scale: float | None = None):
    """A small legend box in the top-left corner of a copy of `image`.

    Args:
        image: uint8 (H, W, 3) BGR.
        entries: sequence of (text, BGR colour or None): a colour swatch
            (none for None) then the text, one line each.
        font_scale: OpenCV font scale; default from the image size (0.3 to 0.8).

    Returns:
        uint8 (H, W, 3) BGR, the annotated copy.
    """
    import cv2

    canvas = np.ascontiguousarray(np.array(image, dtype=np.uint8, copy=True))
    scale = _font_scale(canvas) if font_scale is None else float(font_scale)
    font = cv2.FONT_HERSHEY_SIMPLEX
    sizes = [cv2.getTextSize(text, font, scale, 1)[0] for text, _ in entries]
    line = max(h for _, h in sizes) + max(3, int(6 * scale))
    swatch = line - 2
    width = max(w for w, _ in sizes) + swatch + 9
    height = line * len(entries) + 4
    box = canvas[: min(height, canvas.shape[0]), : min(width, canvas.shape[1])]
    box[:] = (box.astype(np.float32) * 0.35).astype(np.uint8)  # darkened background
    for i, ((text, color), (_, text_height)) in enumerate(zip(entries, sizes, strict=True)):
        top = 2 + i * line
        if color is not None:
            cv2.rectangle(canvas, (3, top + 1), (3 + swatch - 2, top + swatch - 1), color, -1)
        baseline = top + (line + text_height) // 2
        cv2.putText(
            canvas, text, (6 + swatch, baseline), font, scale, (255, 255, 255), 1, cv2.LINE_AA
        )
    return canvas


def overlay_masks(image, masks, alpha: float = 0.5, region=None, labels: bool = True):
    """ACNN attention masks of every stage over the image, side by side (Fig. 6).

    Args:
        image: uint8 (H, W, 3) BGR, the model-input crop the masks belong to.
        masks: float (S, h, w) or (S, h, w, 1) in [0, 1], one mask per stage.
        alpha: weight of the colour-mapped mask in the blend.
        region: None (the whole crop), or (x0, y0, x1, y1) crop pixels to keep:
            the part of the crop the frame covers, leaving its letterbox out.
        labels: bool, write "stage i" (1-based) on each panel. Default True.

    Returns:
        uint8 (y1 - y0, S * (x1 - x0), 3) BGR: one panel per stage, the mask
        resized to the image (bilinear) and blended with a JET colour map
        (red = attended).
    """
    import cv2

    image = np.asarray(image, dtype=np.uint8)
    masks = np.asarray(masks, dtype=np.float32)
    if masks.ndim == 4 and masks.shape[-1] == 1:
        masks = masks[..., 0]
    if masks.ndim != 3:
        raise ValueError(f"masks must have shape (S, h, w[, 1]). Received: shape={masks.shape}")
    height, width = image.shape[:2]
    x0, y0, x1, y1 = (0, 0, width, height) if region is None else (int(v) for v in region)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        x0, y0, x1, y1 = 0, 0, width, height  # nothing sensible to cut: keep the crop
    panels = []
    for stage, mask in enumerate(masks, start=1):
        resized = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
        colored = cv2.applyColorMap(
            np.clip(resized * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET
        )
        panel = cv2.addWeighted(image, 1.0 - alpha, colored, alpha, 0.0)[y0:y1, x0:x1]
        if labels:
            panel = draw_legend(panel, [(f"stage {stage}", None)], font_scale=0.3)
        panels.append(panel)
    return np.concatenate(panels, axis=1)


def stack_rows(rows, fill: int = 0):
    """Stacks images of different widths top to bottom, padding each on the right.

    Args:
        rows: sequence of uint8 (H_i, W_i, 3).
        fill: padding value. Default 0 (black).

    Returns:
        uint8 (sum H_i, max W_i, 3).
    """
    width = max(row.shape[1] for row in rows)
    padded = [
        np.pad(row, [(0, 0), (0, width - row.shape[1]), (0, 0)], constant_values=fill)
        for row in rows
    ]
    return np.concatenate(padded, axis=0)


def masks_on_frame(image, masks, inverses, crop_size, alpha: float = 0.5):
    """Attention masks of each person's crop blended over the whole frame.

    Args:
        image: uint8 (H, W, 3) BGR, the frame.
        masks: sequence of float (h, w) masks in [0, 1], one per person.
        inverses: sequence of (2, 3) crop → frame pixel affines, one per person.
        crop_size: (width, height) of the model-input crop.
        alpha: weight of the colour-mapped mask where it is 1. Default 0.5.

    Returns:
        uint8 (H, W, 3) BGR: the frame with each mask warped back onto its
        person (JET colours, where several overlap the largest wins); the frame
        is unchanged outside the crops.
    """
    import cv2

    canvas = np.ascontiguousarray(np.array(image, dtype=np.uint8, copy=True))
    height, width = canvas.shape[:2]
    attention = np.zeros((height, width), np.float32)
    inside = np.zeros((height, width), np.float32)
    for mask, inverse in zip(masks, inverses, strict=True):
        mask = cv2.resize(np.asarray(mask, np.float32), tuple(crop_size), cv2.INTER_LINEAR)
        matrix = np.asarray(inverse, np.float64)
        warped = cv2.warpAffine(mask, matrix, (width, height), flags=cv2.INTER_LINEAR)
        cover = cv2.warpAffine(np.ones_like(mask), matrix, (width, height))
        attention = np.maximum(attention, warped)
        inside = np.maximum(inside, cover)
    colored = cv2.applyColorMap(
        np.clip(attention * 255.0, 0, 255).astype(np.uint8), cv2.COLORMAP_JET
    )
    weight = (alpha * inside)[..., None]
    blended = canvas.astype(np.float32) * (1.0 - weight) + colored.astype(np.float32) * weight
    return np.clip(blended + 0.5, 0, 255).astype(np.uint8)
