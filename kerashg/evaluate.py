"""Official evaluations: MPII PCKh, LSP PCK, COCO keypoint AP, from files or a model.

The command over `kerashg.evaluation`; `python -m training.evaluate` and
`kerashg evaluate` run the same `main`. From a predictions file:

    python -m kerashg.evaluate --dataset mpii --annotations valid.h5 \
        --predictions preds.h5 [--threshold 0.5] [--curve] [--json]
    python -m kerashg.evaluate --dataset lsp --annotations joints.mat --predictions preds.mat \
        [--split all|train|val]
    python -m kerashg.evaluate --dataset coco --annotations person_keypoints_val2017.json \
        --predictions results.json

From a model (anything `kerashg.runtime.load_runner` opens: `.keras`, SavedModel
folder, `.tflite`, `.onnx`) on one split of a data set in its usual layout
(`kerashg.data.load_records`; `--data` is another name for `--dataset`):

    python -m kerashg.evaluate --model model.keras --data lsp --data-dir ../shared/data/lspet \
        [--split val] [--flip] [--json] [--out lsp-val-preds.mat] [--batch-size 32]
    python -m kerashg.evaluate --model model.keras --data mpii --data-dir D --split valid \
        --write-predictions preds.h5 [--no-flip]
    python -m kerashg.evaluate --model model.keras --data mpii --data-dir D --split test \
        --write-predictions pred_keypoints_mpii.mat

Model mode crops every person of the split from its record's center and scale
as training validation crops it, pixel for pixel
(`kerashg.evaluation.model_predictions`), runs the crops through the model in
batches, maps the keypoints back to original-image pixels and writes them as
the predictions file the file mode reads (`--out`, default
`{data}-{split}-{model}[-flip]-preds` + `.mat` for LSP, `.h5` for MPII, `.json`
for COCO, in the current folder). The table it prints is the file mode's on
that file, so running the file mode on it (the command is printed) gives the
same numbers:

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
  miss for each of its joints (`kerashg.evaluation.mpii_files`). `--split test`
  instead writes the single-person test people of the official
  `mpii_human_pose_v1_u12_1.mat` as the `.mat` the MPII evaluation server takes
  (`pred`, annolist-like); the test labels are not public, so nothing is scored.
- COCO: keypoint AP through pycocotools against the split's annotation JSON
  (ground-truth person boxes; person score = mean keypoint score).

`--flip` is the flip test: the heatmaps of each crop and of its mirror image
are averaged (the mirror's mapped back with the keypoint set's `flip_index`),
then decoded, with the flip's pixel alignment corrected
(`kerashg.runtime.crop_keypoints`, as `kerashg.predict` flips); it needs a runner
that gives heatmaps. It is on by default for MPII (the hourglass paper's
evaluation; a keypoints-only runner falls back to none, with a note), off for
LSP and COCO; `--no-flip` turns it off. Without it the artifact's own keypoint
decoding is used (`kerashg.predict --no-flip`).

Scoring files and running a `.tflite` or `.onnx` model import neither
TensorFlow nor Keras; a `.keras` file or a SavedModel loads them.

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
import json
import pathlib
import sys
import time

import numpy as np

from kerashg import cli
from kerashg.errors import InputError
from kerashg.evaluation.model_predictions import (
    MODEL_BATCH,
    Progress,
    batch_size_for,
    check_num_keypoints,
    default_predictions_path,
    predict_records,
    write_model_predictions,
)
from kerashg.outputs import check_output_file

# The modules that score and load data (`kerashg.evaluation.scoring`, `kerashg.data`,
# `kerashg.runtime`) are imported by the functions that need them, so that `--help`
# and option errors answer at once.

DEFAULT_THRESHOLDS = {"mpii": 0.5, "lsp": 0.2}
# "valid" is another name for "val"; "test" is MPII's test split (model mode).
SPLITS = ("all", "train", "val", "valid", "test")
# Model mode: the split evaluated by default.
DEFAULT_MODEL_SPLIT = "val"


# ------------------------------------------------------------------ model mode
def _flip_setting(args: argparse.Namespace, runner) -> bool:
    """`--flip` / `--no-flip` as given; by default the flip test for MPII (the
    hourglass paper's recipe) where the runner gives heatmaps, off otherwise."""
    if args.flip is not None:
        return args.flip
    if args.dataset != "mpii":
        return False
    if runner.has_heatmaps:
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

    model = pathlib.Path(args.model)
    if not model.exists():
        raise InputError(f"{model}: model artifact not found (--model)")
    data_dir = pathlib.Path(args.data_dir)
    if not data_dir.is_dir():
        raise InputError(f"{data_dir}: data folder not found (--data-dir)")
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
    from kerashg.evaluation import mpii_files

    if split == "test":
        test = mpii_files.read_test_people(mpii_files.official_mat(data_dir))
        return test.records, test, None
    category = {"category": args.category} if args.dataset == "coco" else {}
    records = load_records(args.dataset, data_dir, split, **category)
    if args.dataset != "mpii":
        return records, None, None
    predicted = mpii_files.people_with_images(records, data_dir)
    if not predicted.any():
        raise InputError(
            f"{data_dir}: none of the {len(records)} people of {records.source} has its "
            f"image in the folder (e.g. {records.image_path[0]})"
        )
    return records, None, predicted


def _write_test_predictions(args: argparse.Namespace, out: pathlib.Path, test, keypoints) -> str:
    """MPII test people: the evaluation server's file (nothing to score here)."""
    from kerashg.evaluation import mpii_files

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
    from kerashg.evaluation import mpii_files

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
    print(f"  python -m kerashg.evaluate {again}", file=sys.stderr)
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
    from kerashg.evaluation.scoring import evaluate_coco, evaluate_lsp, evaluate_mpii, mpii_curve

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
        raise InputError(f"--threshold must be > 0. Received: {threshold}")
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
    """The argument parser of `python -m kerashg.evaluate`."""
    parser = cli.parser(
        "python -m kerashg.evaluate",
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
