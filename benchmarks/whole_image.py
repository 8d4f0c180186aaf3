"""PCK@0.2 of LSP-extended's held-out people with and without their box.

    python -m benchmarks.whole_image --model kerashg/weights/acnn4_lsp_128_int8.tflite \\
        --data-dir ../shared/data/lspet --passes 3 --min-score 0.1 0.2 0.3

Scores one model artifact (any `kerashg.runtime` format) on the held-out split
of an LSP `joints.mat` (LSP-extended: images 8,101–9,000) in two ways:

- **box**: the crop of the annotated joints' box padded 1.25× (as the LSP
  reader crops, LSP's own metric);
- **whole**: the whole image, no box, through `kerashg.cropping.find_person`
  with 1, 2, … `--passes` passes, for each `--min-score` (the score rule of
  the re-crop).

PCK@0.2 of the torso (left shoulder to right hip) over the people whose two
torso joints are annotated, over all 14 joints and over the 12 limb joints
(without neck and head top, the joints BlazePose has). With `--json` the last
line is one JSON object. `--save-predictions F.npz` keeps every person's
keypoints for `benchmarks.peer_table`.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from kerashg import cli
from kerashg.cropping import find_person
from kerashg.images import read_image_file
from kerashg.runtime import load_runner, predict_people

PCK_THRESHOLD = 0.2
# The joints without a counterpart in BlazePose's 33 landmarks.
HEAD_JOINTS = ("neck", "head_top")


def held_out_people(data_dir, annotation=None):
    """The held-out split's records whose two torso joints are annotated, and
    their torso sizes (PCK's normaliser)."""
    from kerashg.data.lsp import load_lsp
    from kerashg.metrics import TORSO_JOINTS, torso_size

    records = load_lsp(data_dir, "val", annotation)
    keypoint_set = records.keypoint_set
    a, b = (keypoint_set.index(j) for j in TORSO_JOINTS)
    scored = (records.keypoints[:, a, 2] > 0) & (records.keypoints[:, b, 2] > 0)
    records = records[np.flatnonzero(scored)]
    return records, torso_size(records.keypoints, keypoint_set)


def score(predictions, records, torso) -> dict:
    """PCK@0.2 (percent) over all joints and over the limb joints."""
    from kerashg.metrics import pck  # TensorFlow: not for --help

    limbs = [i for i, n in enumerate(records.keypoint_set.names) if n not in HEAD_JOINTS]
    truth = records.keypoints
    annotated = truth[..., 2] > 0
    return {
        "all": pck(predictions, truth, torso, PCK_THRESHOLD, annotated),
        "limbs": pck(
            predictions[:, limbs], truth[:, limbs], torso, PCK_THRESHOLD, annotated[:, limbs]
        ),
    }


def annotated_box(keypoints):
    """[x, y, w, h] of the annotated joints (the LSP reader's box, before padding)."""
    found = keypoints[keypoints[:, 2] > 0, :2]
    lo, hi = found.min(axis=0), found.max(axis=0)
    return [*lo.tolist(), *np.maximum(hi - lo, 1.0).tolist()]


def predictions(
    runner, records, data_dir, passes=(2,), min_scores=(0.3,), log=print, flip=False
) -> dict:
    """Every person's keypoints (N, K, 3): "box" (the annotated box's crop) and, for
    each (min_score, passes), the whole image through `kerashg.cropping.find_person`,
    as predict runs it; `flip`: the flip test on the box crop and the last pass."""
    n, k = len(records), records.num_keypoints
    box = np.zeros((n, k, 3), np.float32)
    whole = {(s, p): np.zeros((n, k, 3), np.float32) for s in min_scores for p in passes}
    flip_index = records.keypoint_set.flip_index if flip else None
    tic = time.perf_counter()
    for i, path in enumerate(records.image_path):
        image = read_image_file(pathlib.Path(data_dir) / path)
        crop = annotated_box(records.keypoints[i])
        box[i] = predict_people(runner, image, [crop], flip_index=flip_index)[0]["keypoints"]
        for min_score, count in whole:
            person = find_person(runner, image, count, min_score, flip_index=flip_index)
            whole[min_score, count][i] = person["keypoints"]
        if (i + 1) % 100 == 0 or i + 1 == n:
            rate = (i + 1) / (time.perf_counter() - tic)
            log(f"  {i + 1}/{n} people, ETA {(n - i - 1) / rate:.0f} s")
    return {"box": box, "whole": whole}


def run(model, data_dir, passes=2, min_scores=(0.2,), limit=None, log=print, flip=False) -> dict:
    """The figures of one artifact (see the module docstring)."""
    records, torso = held_out_people(data_dir)
    if limit:
        records, torso = records[np.arange(min(limit, len(records)))], torso[:limit]
    runner = load_runner(model, num_threads=2)
    found = predictions(runner, records, data_dir, range(1, passes + 1), min_scores, log, flip)
    box, whole = found["box"], found["whole"]
    n = len(records)
    result = {
        "model": str(model),
        "people": n,
        "flip": flip,
        "box": score(box, records, torso),
        "whole": {
            f"passes={p} min_score={s:g}": score(whole[s, p], records, torso) for (s, p) in whole
        },
    }
    result["_predictions"] = {
        "box": box,
        **{f"whole_{s:g}_{p}": v for (s, p), v in whole.items()},
    }
    return result


def build_parser() -> argparse.ArgumentParser:
    parser = cli.parser("python -m benchmarks.whole_image", __doc__)
    parser.add_argument("--model", required=True, help="model artifact (any runtime format)")
    parser.add_argument("--data-dir", required=True, help="LSP folder (joints.mat, images/)")
    parser.add_argument("--passes", type=int, default=3, help="most passes")
    parser.add_argument(
        "--min-score", type=float, nargs="+", default=[0.2], help="re-crop score rules"
    )
    parser.add_argument("--limit", type=int, default=None, help="the first N people only")
    parser.add_argument(
        "--flip", action="store_true", help="the flip test on the box crop and the last pass"
    )
    parser.add_argument("--save-predictions", default=None, help="an .npz of the keypoints")
    parser.add_argument("--json", action="store_true", help="last line: one JSON object")
    return parser


def _command(args: argparse.Namespace) -> int:
    cli.check_positive(args, "passes", "limit")
    result = run(
        args.model, args.data_dir, args.passes, tuple(args.min_score), args.limit, flip=args.flip
    )
    predictions = result.pop("_predictions")
    if args.save_predictions:
        np.savez_compressed(args.save_predictions, **predictions)
    print(f"{result['model']}: {result['people']} people, PCK@0.2 of the torso (all / limbs)")
    print(f"  box    {result['box']['all']:6.2f} / {result['box']['limbs']:6.2f}")
    for name, figures in result["whole"].items():
        print(f"  whole  {figures['all']:6.2f} / {figures['limbs']:6.2f}  {name}")
    if args.json:
        print(json.dumps(result))
    return 0


def main(argv=None) -> int:
    return cli.run(build_parser, _command, argv)


if __name__ == "__main__":
    sys.exit(main())
