"""Person boxes for prediction: `--box` values, COCO detection files, video tracks.

A box is `x, y, w, h` in pixels of the original image (COCO's `bbox`).
`PersonBoxes` reads a COCO detection-results file and looks boxes up per image
(by file name, or by the image id in the file name) or per video frame;
`match_tracks` links a frame's boxes to the previous frame's by IoU.

This module imports NumPy and the standard library only.
"""

from __future__ import annotations

import json
import pathlib
import re

import numpy as np

from kerashg.errors import InputError


class BoxError(InputError):
    """A `--box` value or a `--boxes` file that cannot be used as person boxes."""


def check_box(box, where: str) -> tuple[float, float, float, float]:
    """`box` as 4 finite floats x, y, w, h with w, h > 0, or a `BoxError` naming `where`."""
    try:
        values = tuple(float(v) for v in box)
    except (TypeError, ValueError):
        values = ()
    if len(values) != 4 or not all(np.isfinite(values)) or values[2] <= 0 or values[3] <= 0:
        raise BoxError(f"{where} must be x, y, w, h: 4 numbers with w, h > 0. Received: {box!r}")
    return values


#: How many times the image's larger side a person box may span (a person cut by the
#: frame's edge is larger than the frame; a box of 1e308 pixels is no person).
MAX_BOX_IMAGE_SIZES = 4.0


def check_box_in_image(box, width: int, height: int, where: str = "--box"):
    """`box` (x, y, w, h, checked by `check_box`) if it overlaps the `width` × `height`
    image and spans at most `MAX_BOX_IMAGE_SIZES` times its larger side.

    Raises:
        BoxError: a box beside the image (it would crop black pixels and still
            report joints) or absurdly large (its crop transform is singular).
    """
    x, y, w, h = check_box(box, where)
    limit = MAX_BOX_IMAGE_SIZES * max(width, height)
    if x >= width or y >= height or x + w <= 0 or y + h <= 0 or w > limit or h > limit:
        shown = ",".join(f"{v:g}" for v in (x, y, w, h))
        raise BoxError(
            f"{where} {shown} lies outside the {width}x{height} image; expected a box x,y,w,h "
            f"that overlaps it, at most {MAX_BOX_IMAGE_SIZES:g} times its size"
        )
    return x, y, w, h


def parse_box(text: str) -> tuple[float, float, float, float]:
    """A `--box` value "x,y,w,h" (pixels of the original image) → 4 floats."""
    try:
        values = [float(v) for v in str(text).split(",")]
    except ValueError:
        values = []
    if len(values) != 4 or not all(np.isfinite(values)) or values[2] <= 0 or values[3] <= 0:
        raise BoxError(
            f"--box must be x,y,w,h: 4 comma-separated numbers with w, h > 0. "
            f"Received: --box {text!r}"
        )
    return tuple(values)


def image_id_from_name(name: str) -> int | None:
    """The COCO image id in a file name: its last run of digits (000000000139.jpg → 139)."""
    digits = re.findall(r"\d+", pathlib.Path(name).stem)
    return int(digits[-1]) if digits else None


class PersonBoxes:
    """Person boxes of a COCO detection-results file, looked up per image or frame.

    The file holds a JSON list of `{"image_id" or "file_name", "bbox": [x, y, w, h],
    "score"}` objects (pixels of the original image; `score` optional, default 1).
    An entry with a `file_name` matches the image of that base name; otherwise its
    `image_id` matches the image whose file name holds that number (the COCO
    convention: `000000000139.jpg` is image 139) or, for a video, the 0-based
    frame index. Each box found is `{"box", "score", "image_id"}` (the entry's
    `image_id`, or None). Entries with a `category_id` other than 1 (COCO's person) and
    entries scoring below `score_threshold` are dropped.

    Args:
        path: the JSON file.
        score_threshold: boxes scoring below it are dropped.
    """

    def __init__(self, path, score_threshold: float = 0.0):
        self.path = pathlib.Path(path)
        self.by_name: dict[str, list[dict]] = {}
        self.by_id: dict[int, list[dict]] = {}
        self.dropped = {"low_score": 0, "not_person": 0}
        for i, entry in enumerate(self._read_entries()):
            self._add(i, entry, score_threshold)

    @property
    def _where(self) -> str:
        return f"--boxes file {self.path}"

    def _read_entries(self) -> list:
        """The file's JSON list of detections."""
        if not self.path.is_file():
            raise FileNotFoundError(f"{self._where} not found")
        try:
            entries = json.loads(self.path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise BoxError(f"{self._where} is not a JSON file: {error}") from None
        if not isinstance(entries, list):
            raise BoxError(
                f"{self._where} must hold a JSON list of detections (COCO results format). "
                f"Received: a {type(entries).__name__}"
            )
        return entries

    def _add(self, i: int, entry, score_threshold: float) -> None:
        """Checks detection `i` and files it by name or id (or counts it dropped)."""
        where = self._where
        if not isinstance(entry, dict):
            raise BoxError(f"{where}: entry {i} must be an object. Received: {entry!r}")
        if "bbox" not in entry:
            raise BoxError(f"{where}: entry {i} has no 'bbox' field. Received: {entry!r}")
        box = check_box(entry["bbox"], f"{where}: entry {i} field 'bbox'")
        score = entry.get("score", 1.0)
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise BoxError(
                f"{where}: entry {i} field 'score' must be a number. Received: {score!r}"
            )
        if entry.get("category_id", 1) != 1:
            self.dropped["not_person"] += 1
            return
        if score < score_threshold:
            self.dropped["low_score"] += 1
            return
        image_id = entry.get("image_id")
        if not isinstance(image_id, int) or isinstance(image_id, bool):
            image_id = None
        person = {"box": box, "score": float(score), "image_id": image_id}
        if isinstance(entry.get("file_name"), str):
            name = pathlib.PurePath(entry["file_name"]).name
            self.by_name.setdefault(name, []).append(person)
        elif image_id is not None:
            self.by_id.setdefault(image_id, []).append(person)
        else:
            raise BoxError(
                f"{where}: entry {i} needs a 'file_name' (string) or an 'image_id' "
                f"(integer). Received: {entry!r}"
            )

    def for_image(self, name: str) -> list[dict]:
        """Boxes of the image file `name`: by base name, else by the id in the name."""
        name = pathlib.PurePath(name).name
        if name in self.by_name:
            return self.by_name[name]
        image_id = image_id_from_name(name)
        return self.by_id.get(image_id, []) if image_id is not None else []

    def for_frame(self, index: int) -> list[dict]:
        """Boxes of video frame `index` (0-based): the entries with that `image_id`."""
        return self.by_id.get(int(index), [])


def _iou(a, b) -> float:
    """Intersection over union of two x, y, w, h boxes."""
    width = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    height = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(width, 0.0) * max(height, 0.0)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def match_tracks(previous: dict, boxes, next_track: int, min_iou: float = 0.3):
    """Greedy IoU association of this frame's boxes with the last frame's tracks.

    Args:
        previous: {track id: box} of the last frame.
        boxes: this frame's x, y, w, h boxes.
        next_track: the id a new track gets (then +1).
        min_iou: pairs overlapping less start a new track.

    Returns:
        (one track id per box, the next free id).
    """
    pairs = sorted(
        (
            (_iou(box, old), i, track)
            for i, box in enumerate(boxes)
            for track, old in previous.items()
        ),
        reverse=True,
    )
    tracks: list[int | None] = [None] * len(boxes)
    taken = set()
    for iou, i, track in pairs:
        if iou < min_iou:
            break
        if tracks[i] is None and track not in taken:
            tracks[i] = track
            taken.add(track)
    for i, track in enumerate(tracks):
        if track is None:
            tracks[i] = next_track
            next_track += 1
    return tracks, next_track
