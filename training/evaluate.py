"""Official evaluations: MPII PCKh, LSP PCK, COCO keypoint AP, from files or a model.

From a predictions file:

    python -m training.evaluate --dataset mpii --annotations valid.h5 \
        --predictions preds.h5 [--threshold 0.5] [--curve] [--json]
    python -m training.evaluate --dataset lsp --annotations joints.mat --predictions preds.mat \
        [--split all|train|val]
    python -m training.evaluate --dataset coco --annotations person_keypoints_val2017.json \
        --predictions results.json

From a model (anything `kerashg.runtime.load_runner` opens: `.keras`, SavedModel
folder, `.tflite`, `.onnx`) on one split of a data set in its usual layout
(`kerashg.data.load_records`; `--data` is another name for `--dataset`):

    python -m training.evaluate --model model.keras --data lsp --data-dir ../shared/data/lspet \
        [--split val] [--flip] [--json] [--out lsp-val-preds.mat] [--batch-size 32]
    python -m training.evaluate --model model.keras --data mpii --data-dir D --split valid \
        --write-predictions preds.h5 [--no-flip]
    python -m training.evaluate --model model.keras --data mpii --data-dir D --split test \
        --write-predictions pred_keypoints_mpii.mat

Model mode crops every person of the split from its record's center and scale
with the validation pipeline (`training.data.make_eval_dataset`, as
training validation does), runs the crops through the model in batches, maps
the keypoints back to original-image pixels and writes them as the predictions
file the file mode reads (`--out`, default `{data}-{split}-{model}[-flip]-preds`
+ `.mat` for LSP, `.h5` for MPII, `.json` for COCO, in the current folder). The
table it prints is the file mode's on that file, so running the file mode on it
(the command is printed) gives the same numbers:

- LSP: PCK@0.2 of the torso per joint group and in total, against the data
  set's `joints.mat`. The file holds one row (`preds`, (N, 14, 2)) per person of
  the split, in image order, and `image_ids` (1-based image numbers); score it
  with the same `--split`. Splits are `kerashg.data.lsp`'s: train = the
  first 90 % of the images, val = the last 10 % (LSP-extended's 9,000: images
  8,101–9,000; the original 2,000-image LSP: halves); images without any
  annotated joint are not people of the split. People without both torso
  joints annotated have no torso size: they are left out and counted in a note.
- MPII: PCKh@0.5 with the official rules, against `detections_our_format.mat`
  when the data folder holds one with the split's people in the same rows,
  else against the hourglass `valid.h5` the records came from. The file is
  `preds` (N, 16, 2), one row per person of the annotation file, in the
  published layout; a person whose image is not in the folder gets (0, 0), a
  miss for each of its joints (`training.mpii_files`). `--split test` instead
  writes the single-person test people of the official
  `mpii_human_pose_v1_u12_1.mat` as the `.mat` the MPII evaluation server takes
  (`pred`, annolist-like); the test labels are not public, so nothing is scored.
- COCO: keypoint AP through pycocotools against the split's annotation JSON
  (ground-truth person boxes; person score = mean keypoint score).

`--flip` is the flip test: the heatmaps of each crop and of its mirror image
are averaged (the mirror's mapped back with the keypoint set's `flip_index`),
then decoded, with the flip's pixel alignment corrected (`HeatmapCodec.decode_flip`);
it needs a runner that gives heatmaps. It is on by default for MPII (the
hourglass paper's evaluation; a keypoints-only runner falls back to none, with
a note), off for LSP and COCO; `--no-flip` turns it off. Without it the
artifact's own keypoint decoding is used, as `kerashg.predict` does.

Bad input (a missing file or folder, a wrong layout, a model whose keypoint
count is not the data set's) exits with code 2 and a one-line `error:` message
naming the file. So does input pycocotools would score silently wrong: COCO
ground truth whose `keypoints`, `bbox` or `area` are not finite, or with a
labelled joint (v > 0) negative or more than 1 px past its image's width or
height; results with non-finite values or a `category_id` the ground truth
does not score (see `kerashg.coco_metrics.check_coco_ground_truth` and
`check_coco_results`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time
from typing import TYPE_CHECKING

import numpy as np

from kerashg import cli
from kerashg.errors import InputError
from kerashg.outputs import check_output_file
from training.eval_model import (
    MODEL_BATCH,
    Progress,
    batch_size_for,
    check_num_keypoints,
    default_predictions_path,
    has_heatmaps,
    predict_records,
    write_model_predictions,
)

if TYPE_CHECKING:
    from kerashg import metrics

# `kerashg.metrics`, `kerashg.codec` and `training.eval_io` import Keras: the
# functions that need them import them, so that `--help` and option errors
# answer at once.

DEFAULT_THRESHOLDS = {"mpii": 0.5, "lsp": 0.2}
# "valid" is another name for "val"; "test" is MPII's test split (model mode).
SPLITS = ("all", "train", "val", "valid", "test")
# Model mode: the split evaluated by default.
DEFAULT_MODEL_SPLIT = "val"


def evaluate_mpii(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    threshold: float = 0.5,
    key: str = "preds",
) -> metrics.PCKResult:
    """MPII PCKh of a predictions file (official rules, see `kerashg.metrics.mpii_pckh`).

    Args:
        annotations: `valid.h5` (hourglass layout) or `detections_our_format.mat`
            (official layout).
        predictions: `.h5` or `.mat` with `key` of shape (N, 16, 2) or (2, 16, N),
            x, y in the annotation's pixel frame.
        threshold: float, fraction of the head size. Default 0.5.
        key: str, the predictions field. Default "preds".

    Returns:
        `kerashg.metrics.PCKResult`.
    """
    from kerashg import metrics
    from training import eval_io

    gt = eval_io.load_mpii_annotations(annotations)
    preds = eval_io.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    return metrics.mpii_pckh(preds, gt.keypoints, gt.normalizer, gt.annotated, threshold)


def mpii_curve(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    thresholds=None,
    key: str = "preds",
) -> dict:
    """PCKh-vs-threshold curve of a predictions file (see `kerashg.metrics.mpii_pckh_curve`)."""
    from kerashg import metrics
    from training import eval_io

    if thresholds is None:
        thresholds = metrics.MPII_CURVE_THRESHOLDS
    gt = eval_io.load_mpii_annotations(annotations)
    preds = eval_io.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    return metrics.mpii_pckh_curve(preds, gt.keypoints, gt.normalizer, gt.annotated, thresholds)


def lsp_split_rows(annotations: str | pathlib.Path, split: str | None = None) -> np.ndarray | None:
    """The rows (0-based images) of `joints.mat` that make up an LSP split.

    The people `kerashg.data.lsp.read_lsp` reads for `split` ("all" = every
    image, "train" = the first 90 %, "val" = the last 10 %; images without any
    annotated joint are not people), so that a model's predictions for
    `load_records("lsp", data_dir, split)` line up with them.

    Args:
        annotations: `joints.mat`.
        split: "all", "train", "val", or None for every row of the file.

    Returns:
        int64 (N,) in image order, or None for `split=None`.
    """
    from training.eval_io import EvaluationInputError

    if split is None:
        return None
    if not pathlib.Path(annotations).is_file():
        raise EvaluationInputError(f"{annotations}: file not found")
    from kerashg.data.lsp import read_lsp

    return read_lsp(annotations, split=split).id - 1


def _span(ids: np.ndarray) -> str:
    return f"{ids.min()}..{ids.max()}" if ids.size else "none"


def _check_image_ids(
    predictions, rows: np.ndarray | None, num_people: int, split: str | None
) -> None:
    """Refuses an LSP predictions file whose `image_ids` (if any) are not the split's."""
    from training import eval_io

    arrays = eval_io.read_arrays(predictions)
    if "image_ids" not in arrays:
        return
    ids = np.asarray(arrays["image_ids"]).reshape(-1).astype(np.int64)
    expected = np.arange(1, num_people + 1) if rows is None else rows + 1
    if ids.shape != expected.shape or (ids != expected).any():
        raise eval_io.EvaluationInputError(
            f"{predictions}: field 'image_ids' names {ids.size} images ({_span(ids)}) but "
            f"split {split!r} of the annotations has {expected.size} ({_span(expected)}); "
            "pass the --split the file was written for"
        )


def evaluate_lsp(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    threshold: float = 0.2,
    key: str = "preds",
    split: str | None = None,
) -> metrics.PCKResult:
    """LSP PCK@threshold (torso-normalised) of a predictions file.

    Args:
        annotations: `joints.mat`, (3, 14, N) (original LSP: every joint counts) or
            (14, 3, N) (LSP-extended: visible joints count; see
            `training.eval_io.load_lsp_annotations`).
        predictions: `.h5` or `.mat` with `key` (N, 14, 2) or (2, 14, N), one row
            per person of `split`; an optional field `image_ids` (1-based image
            numbers, as model mode writes) is checked against the split.
        threshold: float, fraction of the torso size. Default 0.2.
        key: str. Default "preds".
        split: None (every row of `annotations`), or "all", "train" or "val":
            only the people of that split as the training reader takes them (see
            `lsp_split_rows`). Default None.

    Returns:
        `kerashg.metrics.PCKResult`, with `notes` on people left out.
    """
    from kerashg import metrics
    from training import eval_io

    rows = lsp_split_rows(annotations, split)
    gt = eval_io.load_lsp_annotations(annotations, rows=rows)
    _check_image_ids(predictions, rows, gt.num_people, split)
    preds = eval_io.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    result = metrics.lsp_pck(preds, gt.keypoints, threshold, gt.annotated, gt.normalizer)
    return dataclasses.replace(result, notes=gt.notes)


def evaluate_coco(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    category: str | None = None,
) -> dict:
    """COCO keypoint AP of a results JSON through pycocotools.

    Args:
        annotations: COCO `person_keypoints_*.json`, or a COCO-format file of
            your own keypoint category.
        predictions: results JSON (list of `image_id`, `category_id`, `keypoints`,
            `score`), e.g. written by `training.eval_io.write_coco_results`. Scored
            on the images of the annotation file.
        category: the keypoint category to score, by name (default: the file's
            one category with keypoints). Its OKS sigmas are its own `sigmas`,
            COCO's for COCO's 17 joints, else
            `kerashg.coco_metrics.DEFAULT_OKS_SIGMA` (0.05) for every joint.

    Returns:
        dict: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (fractions).
    """
    from kerashg.coco_metrics import coco_keypoint_ap, keypoint_category
    from training import eval_io

    gt = eval_io.load_coco_annotations(annotations, category)
    k = keypoint_category(gt, str(annotations), category).num_keypoints
    results = eval_io.load_coco_results(predictions, gt, k)
    return coco_keypoint_ap(gt, results, category=category)


def score_coco_keypoints(
    annotations: str | pathlib.Path,
    image_ids,
    keypoints,
    scores,
    results_path: str | pathlib.Path,
    category: str | None = None,
) -> dict:
    """Writes a model's COCO keypoints as the results JSON, then scores it.

    Args:
        annotations: COCO `person_keypoints_*.json`.
        image_ids: int (N,), the image of each detected person.
        keypoints: float (N, K, 2|3), x, y (and keypoint score) in original-image
            pixels.
        scores: float (N,), person scores.
        results_path: where the results JSON is written (kept for the record).
        category: see `evaluate_coco`.

    Returns:
        dict: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl.
    """
    from kerashg.coco_metrics import keypoint_category
    from training import eval_io

    scored = keypoint_category(
        eval_io.load_coco_annotations(annotations, category), category=category
    )
    path = eval_io.write_coco_results(
        results_path, image_ids, keypoints, scores, scored.category_ids[0]
    )
    return evaluate_coco(annotations, path, category)


# ------------------------------------------------------------------ model mode
def _flip_setting(args: argparse.Namespace, runner) -> bool:
    """`--flip` / `--no-flip` as given; by default the flip test for MPII (the
    hourglass paper's recipe) where the runner gives heatmaps, off otherwise."""
    if args.flip is not None:
        return args.flip
    if args.dataset != "mpii":
        return False
    if has_heatmaps(runner):
        return True
    print(
        f"note: no flip test: the {runner.format!r} runner gives keypoints only "
        "(--no-flip says so and silences this note)",
        file=sys.stderr,
    )
    return False


def _check_predictions_out(out, dataset: str, split: str, force: bool) -> None:
    """Refuses a predictions file that exists (without --force), is a folder, cannot be
    written, or has a suffix the file mode cannot read (`kerashg.outputs.check_output_file`);
    None (not given yet): nothing to check."""
    if out is None:
        return
    if split == "test":  # the evaluation server's `pred`
        suffixes = (".mat",)
    else:
        suffixes = (".json",) if dataset == "coco" else (".mat", ".h5")
    check_output_file(out, force, "--out", suffixes)


def run_model(args: argparse.Namespace) -> str:
    """Runs `args.model` over a data set's split, writes the predictions file and
    returns the file mode's text for it (see the module docstring)."""
    from kerashg.runtime import load_runner
    from training.eval_io import EvaluationInputError

    model = pathlib.Path(args.model)
    if not model.exists():
        raise EvaluationInputError(f"{model}: model artifact not found (--model)")
    data_dir = pathlib.Path(args.data_dir)
    if not data_dir.is_dir():
        raise EvaluationInputError(f"{data_dir}: data folder not found (--data-dir)")
    split = args.split or DEFAULT_MODEL_SPLIT
    _check_predictions_out(args.out, args.dataset, split, args.force)  # before the model loads
    records, test, predicted = _split_records(args, data_dir, split)
    rows = np.arange(len(records)) if predicted is None else np.flatnonzero(predicted)
    runner = load_runner(model)
    flip = _flip_setting(args, runner)
    batch_size = batch_size_for(runner, args.batch_size, len(rows))
    check_num_keypoints(runner, records.keypoint_set, str(model), args.dataset, batch_size)
    out = pathlib.Path(args.out or default_predictions_path(args.model, args.dataset, split, flip))
    _check_predictions_out(out, args.dataset, split, args.force)
    start = time.perf_counter()
    keypoints = np.zeros((len(records), records.keypoint_set.num_keypoints, 3))
    keypoints[rows] = predict_records(
        runner,
        records[rows],
        data_dir,
        flip=flip,
        batch_size=batch_size,
        progress=Progress(len(rows), f"{args.dataset} {split}"),
    )
    seconds = time.perf_counter() - start
    skipped = ", ".join(f"{n} {why}" for why, n in records.skipped.items() if n)
    print(
        f"{len(rows)} people of {args.dataset} {split} ({data_dir}"
        f"{'; annotations skipped: ' + skipped if skipped else ''}) through {model} "
        f"({runner.format}, {'flip test' if flip else 'no flip test'}) in {seconds:.1f} s",
        file=sys.stderr,
    )
    if test is not None:
        return _write_test_predictions(args, out, test, keypoints)
    return _write_and_score(args, (records, split, keypoints, predicted), out, data_dir)


def _split_records(args: argparse.Namespace, data_dir: pathlib.Path, split: str):
    """`(records, test, predicted)` of the split: MPII's test people (`test`, else
    None), and for MPII validation which people have an image (`predicted`: a
    row for every person of the annotation file; those without an image get
    `MISSING_PREDICTION`, misses when scored; else None)."""
    from kerashg.data import load_records
    from training import mpii_files
    from training.eval_io import EvaluationInputError

    if split == "test":
        test = mpii_files.read_test_people(mpii_files.official_mat(data_dir))
        return test.records, test, None
    category = {"category": args.category} if args.dataset == "coco" else {}
    records = load_records(args.dataset, data_dir, split, **category)
    if args.dataset != "mpii":
        return records, None, None
    predicted = mpii_files.people_with_images(records, data_dir)
    if not predicted.any():
        raise EvaluationInputError(
            f"{data_dir}: none of the {len(records)} people of {records.source} has its "
            f"image in the folder (e.g. {records.image_path[0]})"
        )
    return records, None, predicted


def _write_test_predictions(args: argparse.Namespace, out: pathlib.Path, test, keypoints) -> str:
    """MPII test people: the evaluation server's file (nothing to score here)."""
    from training import mpii_files

    mpii_files.write_test_predictions(out, test, keypoints)
    people, images = len(test.records), len(test.num_rects)
    if args.json:
        return json.dumps({"predictions": str(out), "people": people, "images": images})
    return (
        f"{people} single-person people of {images} MPII test images "
        f"written to {out} (`pred`, the MPII evaluation server's layout); the test "
        "annotations are not public: the server scores the file (evaluatePCKh.m)"
    )


def _write_and_score(args: argparse.Namespace, predictions, out: pathlib.Path, data_dir) -> str:
    """Writes the predictions file, prints the command that scores it again, and
    returns the file mode's text for it. `predictions`: `(records, split,
    keypoints, predicted)`."""
    from training import mpii_files

    records, split, keypoints, predicted = predictions
    if predicted is not None and not predicted.all():
        print(
            f"note: {int((~predicted).sum())} of the {len(records)} people have no image in "
            f"{data_dir}: their rows hold ({mpii_files.MISSING_PREDICTION:g}, "
            f"{mpii_files.MISSING_PREDICTION:g}), a miss for every annotated joint in the "
            "official scoring",
            file=sys.stderr,
        )
    annotations, file_split = write_model_predictions(
        args.dataset, records, split, keypoints, out, data_dir, predicted, args.category
    )
    again = f"--dataset {args.dataset} --annotations {annotations} --predictions {out}"
    if args.category is not None:
        again += f" --category {args.category}"
    if file_split is not None:
        again += f" --split {file_split}"
    if args.threshold is not None:
        again += f" --threshold {args.threshold:g}"
    print(f"predictions written to {out}; score them again with:", file=sys.stderr)
    print(f"  python -m training.evaluate {again}", file=sys.stderr)
    scored = dict(vars(args), annotations=str(annotations), predictions=str(out))
    return score_file(argparse.Namespace(**{**scored, "split": file_split, "model": None}))


# ------------------------------------------------------------------------ CLI
def _format_curve(curve: dict) -> str:
    from kerashg import metrics

    lines = ["threshold  " + " ".join(f"{n:>6}" for n in [*metrics.MPII_GROUPS, "Total"])]
    for i, t in enumerate(curve["thresholds"]):
        values = [curve[n][i] for n in metrics.MPII_GROUPS] + [curve["total"][i]]
        lines.append(f"{t:9.2f}  " + " ".join(f"{v:6.2f}" for v in values))
    lines.append(f"AUC {curve['auc']:.2f}")
    return "\n".join(lines)


def score_file(args: argparse.Namespace) -> str:
    """Scores the predictions file `args` names and returns the text to print."""
    from training.eval_io import EvaluationInputError

    dataset = args.dataset
    if dataset == "coco":
        stats = evaluate_coco(args.annotations, args.predictions, args.category)
        if args.json:
            return json.dumps(stats)
        names = ("AP", "AP50", "AP75", "APm", "APl", "AR")
        return "\n".join(
            [" ".join(f"{n:>6}" for n in names), " ".join(f"{stats[n]:6.3f}" for n in names)]
        )
    threshold = DEFAULT_THRESHOLDS[dataset] if args.threshold is None else args.threshold
    if not np.isfinite(threshold) or threshold <= 0:
        raise EvaluationInputError(f"--threshold must be > 0. Received: {threshold}")
    if dataset == "mpii":
        result = evaluate_mpii(args.annotations, args.predictions, threshold, args.key)
    else:
        result = evaluate_lsp(args.annotations, args.predictions, threshold, args.key, args.split)
    curve = mpii_curve(args.annotations, args.predictions, key=args.key) if args.curve else None
    if args.json:
        out = result.as_dict()
        if curve is not None:
            out["curve"] = {k: np.asarray(v).tolist() for k, v in curve.items()}
        return json.dumps(out)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    metric = "PCKh" if dataset == "mpii" else "PCK"
    text = result.table(label=f"{metric}@{threshold:g}")
    if curve is not None:
        text += "\n\n" + _format_curve(curve)
    return text


def run(args: argparse.Namespace) -> str:
    """Runs the evaluation `args` describe (model or file mode) and returns the text to print."""
    return run_model(args) if args.model is not None else score_file(args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m training.evaluate`."""
    parser = cli.parser(
        "python -m training.evaluate",
        "Official pose metrics (MPII PCKh, LSP PCK, COCO keypoint AP) from a predictions "
        "file, or from a model run over a data set's split.",
    )
    parser.add_argument(
        "--dataset",
        "--data",
        dest="dataset",
        choices=("mpii", "lsp", "coco"),
        help="the data set whose official metric is computed (required)",
    )
    files = parser.add_argument_group("file mode")
    files.add_argument(
        "--annotations",
        help="mpii: valid.h5 or detections_our_format.mat; lsp: joints.mat; "
        "coco: person_keypoints_*.json",
    )
    files.add_argument(
        "--predictions",
        help="mpii/lsp: .h5 or .mat with `preds` (N, K, 2) or (2, K, N); coco: results JSON",
    )
    files.add_argument("--key", default="preds", help="field of the predictions file")
    parser.add_argument(
        "--category",
        metavar="NAME",
        default=None,
        help="coco: the keypoint category to score, by name (default: the annotation file's "
        "one category with keypoints, or COCO persons). Its OKS sigmas are the category's "
        "`sigmas` where given, COCO's for COCO's 17 joints, else "
        "0.05 for every joint (kerashg.coco_metrics.DEFAULT_OKS_SIGMA)",
    )
    model = parser.add_argument_group("model mode")
    model.add_argument("--model", default=None, help=".keras, SavedModel folder, .tflite or .onnx")
    model.add_argument("--data-dir", default=None, help="the data set root in its usual layout")
    model.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="flip test (heatmaps of each crop and its mirror averaged; needs heatmaps). "
        "Default: on for mpii, as the hourglass paper evaluated, off for lsp and coco",
    )
    model.add_argument(
        "--out",
        "--write-predictions",
        dest="out",
        default=None,
        help="predictions file to write (default: a name in the current folder); mpii: "
        "preds (N, 16, 2) in valid.h5's rows, or for --split test the server's .mat",
    )
    model.add_argument(
        "--force",
        action="store_true",
        help="replace an existing --out file (default: refuse, before any work)",
    )
    model.add_argument("--batch-size", type=int, default=MODEL_BATCH, help="crops per model call")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default=None,
        help="model mode: the split to run (default val; valid = val; mpii test: the "
        "single-person test people of mpii_human_pose_v1_u12_1.mat, written for the "
        "evaluation server); file mode, lsp: score only that split's people of joints.mat, "
        "as model mode writes them (default: every row)",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="PCK threshold as a fraction of the normaliser (mpii 0.5, lsp 0.2 by default)",
    )
    parser.add_argument(
        "--curve", action="store_true", help="mpii: also the PCKh-vs-threshold curve 0:0.01:0.5"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of options, or None."""
    if args.dataset is None:
        return "--dataset (or --data) is required: mpii, lsp or coco"
    if args.split == "valid":
        args.split = "val"
    if args.split == "test" and (args.model is None or args.dataset != "mpii"):
        return "--split test is for --model with --data mpii (the server's test predictions)"
    problem = _model_mode_error(args) if args.model is not None else _file_mode_error(args)
    if problem is not None:
        return problem
    if args.curve and args.dataset != "mpii":
        return "--curve is for --dataset mpii"
    if args.category is not None and args.dataset != "coco":
        return "--category is for --dataset coco (a COCO-format file's keypoint category)"
    if args.threshold is not None and args.dataset == "coco":
        return "--threshold is for --dataset mpii or lsp (COCO AP uses OKS)"
    return None


def _model_mode_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options of model mode (`--model`), or None."""
    given = [f"--{n}" for n in ("annotations", "predictions") if getattr(args, n) is not None]
    if given:
        return f"{' and '.join(given)} are for file mode, not with --model"
    if args.data_dir is None:
        return "--model needs --data-dir, the data set root"
    if args.batch_size < 1:
        return f"--batch-size must be >= 1. Received: {args.batch_size}"
    return None


def _file_mode_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the options of file mode (no `--model`), or None."""
    missing = [f"--{n}" for n in ("annotations", "predictions") if getattr(args, n) is None]
    if missing:
        return f"{' and '.join(missing)} required (or --model with --data-dir)"
    given = [
        f"--{n}" for n in ("data_dir", "out", "force") if getattr(args, n) not in (None, False)
    ]
    given += [] if args.flip is None else ["--flip" if args.flip else "--no-flip"]
    if given:
        return f"{', '.join(g.replace('_', '-') for g in given)} need --model"
    if args.split is not None and args.dataset != "lsp":
        return "--split in file mode is for --dataset lsp (the other files hold one split)"
    return None


def _command(args: argparse.Namespace) -> int:
    problem = _usage_error(args)
    if problem is not None:
        raise InputError(problem)
    print(run(args))
    return 0


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code: 0, or 2 after one `error:` line for
    bad options or input (`kerashg.cli`)."""
    try:
        return cli.run(build_parser, _command, argv)
    except SystemExit as stop:  # already reported: an option error, bad input, --help
        return stop.code if isinstance(stop.code, int) else 1


if __name__ == "__main__":
    sys.exit(main())
