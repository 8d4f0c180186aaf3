"""BlazePose full on a list of images: the peer `benchmarks.peer_table` compares with.

Runs in its own virtual environment, never the project's (mediapipe 0.10.14
needs numpy<2 and protobuf<5, TensorFlow 2.21 newer ones), so it imports
neither kerashg nor TensorFlow:

    python -m venv /tmp/mp && /tmp/mp/bin/pip install mediapipe==0.10.14 "numpy<2" \\
        "protobuf<5" opencv-python-headless
    /tmp/mp/bin/python benchmarks/blazepose_child.py JOBS.json OUT.json

JOBS.json: {"images": [path, ...], "boxes": [[x, y, w, h], ...] or null}. For
each image, BlazePose full (`mp.solutions.pose.Pose(static_image_mode=True,
model_complexity=1)`, its own person detector) runs on the whole image and,
where boxes are given, on the box's square crop padded 2× and resized to
256×256. OUT.json: {"whole": [...], "box": [...]}, one entry per image: the
33 landmarks as [x, y, visibility] in image pixels, or null where no person
was found.
"""

from __future__ import annotations

import json
import sys

import cv2
import mediapipe as mp
import numpy as np

BOX_PADDING = 2.0
CROP_SIZE = 256


def _landmarks(pose, image_rgb):
    found = pose.process(image_rgb).pose_landmarks
    if found is None:
        return None
    height, width = image_rgb.shape[:2]
    return [[p.x * width, p.y * height, p.visibility] for p in found.landmark]


def _box_crop(image_rgb, box):
    x, y, w, h = box
    side = max(w, h) * BOX_PADDING
    scale = CROP_SIZE / side
    matrix = np.array(
        [[scale, 0, CROP_SIZE / 2 - scale * (x + w / 2)],
         [0, scale, CROP_SIZE / 2 - scale * (y + h / 2)]],
        np.float64,
    )  # fmt: skip
    crop = cv2.warpAffine(image_rgb, matrix, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR)
    return crop, matrix


def main(jobs_path, out_path):
    jobs = json.load(open(jobs_path))
    boxes = jobs.get("boxes")
    result = {"whole": [], "box": [] if boxes else None}
    with mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1) as pose:
        for i, path in enumerate(jobs["images"]):
            image = cv2.cvtColor(cv2.imread(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            result["whole"].append(_landmarks(pose, image))
            if boxes:
                crop, matrix = _box_crop(image, boxes[i])
                points = _landmarks(pose, crop)
                if points is not None:
                    points = np.asarray(points, np.float64)
                    inverse = cv2.invertAffineTransform(matrix)
                    points[:, :2] = points[:, :2] @ inverse[:, :2].T + inverse[:, 2]
                    points = points.tolist()
                result["box"].append(points)
            if (i + 1) % 100 == 0:
                print(f"  {i + 1}/{len(jobs['images'])} images", file=sys.stderr, flush=True)
    json.dump(result, open(out_path, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
