"""Official evaluations from files: MPII PCKh, LSP PCK, COCO keypoint AP.

    python -m training.evaluate --dataset mpii --annotations valid.h5 \
        --predictions preds.h5 [--threshold 0.5] [--curve] [--json]
    python -m training.evaluate --dataset lsp --annotations joints.mat --predictions preds.mat
    python -m training.evaluate --dataset coco --annotations person_keypoints_val2017.json \
        --predictions results.json

A thin argparse front over `evaluate_mpii`, `evaluate_lsp` and `evaluate_coco`.
Bad input exits with code 2 and a one-line message naming the file.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys

import numpy as np

from kerashg import metrics
from training import eval_io
from training.eval_io import EvaluationInputError

DEFAULT_THRESHOLDS = {"mpii": 0.5, "lsp": 0.2}


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
    gt = eval_io.load_mpii_annotations(annotations)
    preds = eval_io.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    return metrics.mpii_pckh(preds, gt.keypoints, gt.normalizer, gt.annotated, threshold)


def mpii_curve(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    thresholds=metrics.MPII_CURVE_THRESHOLDS,
    key: str = "preds",
) -> dict:
    """PCKh-vs-threshold curve of a predictions file (see `kerashg.metrics.mpii_pckh_curve`)."""
    gt = eval_io.load_mpii_annotations(annotations)
    preds = eval_io.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    return metrics.mpii_pckh_curve(preds, gt.keypoints, gt.normalizer, gt.annotated, thresholds)


def evaluate_lsp(
    annotations: str | pathlib.Path,
    predictions: str | pathlib.Path,
    threshold: float = 0.2,
    key: str = "preds",
) -> metrics.PCKResult:
    """LSP PCK@threshold (torso-normalised) of a predictions file.

    Args:
        annotations: `joints.mat`, (3, 14, N) (original LSP: every joint counts) or
            (14, 3, N) (LSP-extended: visible joints count; see
            `training.eval_io.load_lsp_annotations`).
        predictions: `.h5` or `.mat` with `key` (N, 14, 2) or (2, 14, N).
        threshold: float, fraction of the torso size. Default 0.2.
        key: str. Default "preds".

    Returns:
        `kerashg.metrics.PCKResult`, with `notes` on people left out.
    """
    gt = eval_io.load_lsp_annotations(annotations)
    preds = eval_io.load_keypoint_predictions(predictions, gt.num_people, gt.num_joints, key)
    result = metrics.lsp_pck(preds, gt.keypoints, threshold, gt.annotated, gt.normalizer)
    return dataclasses.replace(result, notes=gt.notes)


def evaluate_coco(annotations: str | pathlib.Path, predictions: str | pathlib.Path) -> dict:
    """COCO keypoint AP of a results JSON through pycocotools.

    Args:
        annotations: COCO `person_keypoints_*.json`.
        predictions: results JSON (list of `image_id`, `category_id`, `keypoints`,
            `score`), e.g. written by `training.eval_io.write_coco_results`. Scored
            on the images of the annotation file.

    Returns:
        dict: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl (fractions).
    """
    gt = eval_io.load_coco_annotations(annotations)
    results = eval_io.load_coco_results(predictions, gt)
    return metrics.coco_keypoint_ap(gt, results)


def score_coco_keypoints(
    annotations: str | pathlib.Path,
    image_ids,
    keypoints,
    scores,
    results_path: str | pathlib.Path,
) -> dict:
    """Writes a model's COCO keypoints as the results JSON, then scores it.

    Args:
        annotations: COCO `person_keypoints_*.json`.
        image_ids: int (N,), the image of each detected person.
        keypoints: float (N, 17, 2|3), x, y (and keypoint score) in original-image
            pixels.
        scores: float (N,), person scores.
        results_path: where the results JSON is written (kept for the record).

    Returns:
        dict: AP, AP50, AP75, APm, APl, AR, AR50, AR75, ARm, ARl.
    """
    path = eval_io.write_coco_results(results_path, image_ids, keypoints, scores)
    return evaluate_coco(annotations, path)


def _format_curve(curve: dict) -> str:
    lines = ["threshold  " + " ".join(f"{n:>6}" for n in [*metrics.MPII_GROUPS, "Total"])]
    for i, t in enumerate(curve["thresholds"]):
        values = [curve[n][i] for n in metrics.MPII_GROUPS] + [curve["total"][i]]
        lines.append(f"{t:9.2f}  " + " ".join(f"{v:6.2f}" for v in values))
    lines.append(f"AUC {curve['auc']:.2f}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> str:
    """Runs the evaluation `args` describe and returns the text to print."""
    dataset = args.dataset
    if dataset == "coco":
        stats = evaluate_coco(args.annotations, args.predictions)
        if args.json:
            return json.dumps(stats)
        names = ("AP", "AP50", "AP75", "APm", "APl", "AR")
        return "\n".join(
            [" ".join(f"{n:>6}" for n in names), " ".join(f"{stats[n]:6.3f}" for n in names)]
        )
    threshold = DEFAULT_THRESHOLDS[dataset] if args.threshold is None else args.threshold
    if not np.isfinite(threshold) or threshold <= 0:
        raise EvaluationInputError(f"--threshold must be > 0. Received: {threshold}")
    evaluate = evaluate_mpii if dataset == "mpii" else evaluate_lsp
    result = evaluate(args.annotations, args.predictions, threshold, args.key)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description="Official pose metrics (MPII PCKh, LSP PCK, COCO keypoint AP) from files.",
    )
    parser.add_argument("--dataset", required=True, choices=("mpii", "lsp", "coco"))
    parser.add_argument(
        "--annotations",
        required=True,
        help="mpii: valid.h5 or detections_our_format.mat; lsp: joints.mat; "
        "coco: person_keypoints_*.json",
    )
    parser.add_argument(
        "--predictions",
        required=True,
        help="mpii/lsp: .h5 or .mat with `preds` (N, K, 2) or (2, K, N); coco: results JSON",
    )
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="PCK threshold as a fraction of the normaliser (mpii 0.5, lsp 0.2 by default)",
    )
    parser.add_argument("--key", default="preds", help="field of the predictions file")
    parser.add_argument(
        "--curve", action="store_true", help="mpii: also the PCKh-vs-threshold curve 0:0.01:0.5"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (2 on bad input)."""
    args = build_parser().parse_args(argv)
    if args.curve and args.dataset != "mpii":
        print("error: --curve is for --dataset mpii", file=sys.stderr)
        return 2
    if args.threshold is not None and args.dataset == "coco":
        print("error: --threshold is for --dataset mpii or lsp (COCO AP uses OKS)", file=sys.stderr)
        return 2
    try:
        print(run(args))
    except (EvaluationInputError, ValueError) as error:
        print(f"error: {error}".replace("\n", " "), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
