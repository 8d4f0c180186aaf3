"""Official evaluations: MPII PCKh, LSP PCK, COCO keypoint AP, from files or a model.

From a predictions file:

    python -m training.evaluate --dataset mpii --annotations valid.h5 \
        --predictions preds.h5 [--threshold 0.5] [--curve] [--json]
    python -m training.evaluate --dataset lsp --annotations joints.mat --predictions preds.mat \
        [--split all|train|val]
    python -m training.evaluate --dataset coco --annotations person_keypoints_val2017.json \
        --predictions results.json

From a model (anything `kerashg.predict.load_runner` opens: `.keras`, SavedModel
folder, `.tflite`, `.onnx`) on one split of a data set in its usual layout
(`training.datasets.load_records`; `--data` is another name for `--dataset`):

    python -m training.evaluate --model model.keras --data lsp --data-dir ../shared/data/lspet \
        [--split val] [--flip] [--json] [--out lsp-val-preds.mat] [--batch-size 32]

Model mode crops every person of the split from its record's center and scale
with the validation pipeline (`training.data.make_dataset(train=False)`, as
training validation does), runs the crops through the model in batches, maps
the keypoints back to original-image pixels and writes them as the predictions
file the file mode reads (`--out`, default `{data}-{split}-{model}[-flip]-preds`
+ `.mat` for LSP, `.h5` for MPII, `.json` for COCO, in the current folder). The
table it prints is the file mode's on that file, so running the file mode on it
(the command is printed) gives the same numbers:

- LSP: PCK@0.2 of the torso per joint group and in total, against the data
  set's `joints.mat`. The file holds one row (`preds`, (N, 14, 2)) per person of
  the split, in image order, and `image_ids` (1-based image numbers); score it
  with the same `--split`. Splits are `training.datasets.lsp`'s: train = the
  first 90 % of the images, val = the last 10 % (LSP-extended's 9,000: images
  8,101–9,000; the original 2,000-image LSP: halves); images without any
  annotated joint are not people of the split. People without both torso
  joints annotated have no torso size: they are left out and counted in a note.
- MPII: PCKh@0.5 with the official rules, against `detections_our_format.mat`
  when the data folder holds one with the split's people in the same rows,
  else against the hourglass `valid.h5` the records came from.
- COCO: keypoint AP through pycocotools against the split's annotation JSON
  (ground-truth person boxes; person score = mean keypoint score).

`--flip` is the flip test: the heatmaps of each crop and of its mirror image
are averaged (the mirror's mapped back with the keypoint set's `flip_index` and
shifted one heatmap pixel, `HeatmapCodec.flip_heatmaps(..., shift=True)`), then
decoded; it needs a runner that gives heatmaps. Without it the artifact's own
keypoint decoding is used, as `kerashg.predict` does.

Bad input (a missing file or folder, a wrong layout, a model whose keypoint
count is not the data set's) exits with code 2 and a one-line `error:` message
naming the file. So does input pycocotools would score silently wrong: COCO
ground truth whose `keypoints`, `bbox` or `area` are not finite, or with a
labelled joint (v > 0) negative or more than 1 px past its image's width or
height; results with non-finite values or a `category_id` the ground truth
does not score (see `kerashg.metrics.check_coco_ground_truth` and
`check_coco_results`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import sys
import time

import numpy as np

from kerashg import metrics, transforms
from kerashg.codec import HeatmapCodec
from training import eval_io
from training.eval_io import EvaluationInputError

DEFAULT_THRESHOLDS = {"mpii": 0.5, "lsp": 0.2}
SPLITS = ("all", "train", "val")
# Model mode: the split evaluated by default, crops per model call, and the
# predictions file's suffix per data set (what the file mode reads).
DEFAULT_MODEL_SPLIT = "val"
MODEL_BATCH = 32
PREDICTION_SUFFIXES = {"lsp": ".mat", "mpii": ".h5", "coco": ".json"}
# MPII official ground truth looked for in the data folder, and how far (pixels)
# its joints may lie from the records' for the rows to count as the same
# people (`valid.h5` stores the neck and head top in whole pixels).
MPII_OFFICIAL_ANNOTATIONS = ("detections_our_format.mat", "annot/detections_our_format.mat")
MPII_ROW_TOLERANCE = 2.0


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


def lsp_split_rows(annotations: str | pathlib.Path, split: str | None = None) -> np.ndarray | None:
    """The rows (0-based images) of `joints.mat` that make up an LSP split.

    The people `training.datasets.lsp.read_lsp` reads for `split` ("all" = every
    image, "train" = the first 90 %, "val" = the last 10 %; images without any
    annotated joint are not people), so that a model's predictions for
    `load_records("lsp", data_dir, split)` line up with them.

    Args:
        annotations: `joints.mat`.
        split: "all", "train", "val", or None for every row of the file.

    Returns:
        int64 (N,) in image order, or None for `split=None`.
    """
    if split is None:
        return None
    if not pathlib.Path(annotations).is_file():
        raise EvaluationInputError(f"{annotations}: file not found")
    from training.datasets.lsp import read_lsp

    return read_lsp(annotations, split=split).id - 1


def _span(ids: np.ndarray) -> str:
    return f"{ids.min()}..{ids.max()}" if ids.size else "none"


def _check_image_ids(
    predictions, rows: np.ndarray | None, num_people: int, split: str | None
) -> None:
    """Refuses an LSP predictions file whose `image_ids` (if any) are not the split's."""
    arrays = eval_io.read_arrays(predictions)
    if "image_ids" not in arrays:
        return
    ids = np.asarray(arrays["image_ids"]).reshape(-1).astype(np.int64)
    expected = np.arange(1, num_people + 1) if rows is None else rows + 1
    if ids.shape != expected.shape or (ids != expected).any():
        raise EvaluationInputError(
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
    rows = lsp_split_rows(annotations, split)
    gt = eval_io.load_lsp_annotations(annotations, rows=rows)
    _check_image_ids(predictions, rows, gt.num_people, split)
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


# ------------------------------------------------------------------ model mode
class Progress:
    """People done, elapsed time and ETA on stderr.

    On a terminal one line is rewritten with a bar twice a second; otherwise
    (a log file, a pipe) a plain line is printed every `interval` seconds and
    at the end.

    Args:
        total: int, people to run.
        label: str, shown in front, e.g. "lsp val".
        interval: float, seconds between lines when stderr is not a terminal.
    """

    def __init__(self, total: int, label: str, interval: float = 10.0):
        self.total, self.label = int(total), label
        self.stream = sys.stderr
        self.tty = self.stream.isatty()
        self.interval = 0.5 if self.tty else float(interval)
        self.start = self.last = time.perf_counter()

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        final = done >= self.total
        if not final and now - self.last < self.interval:
            return
        self.last = now
        elapsed = now - self.start
        text = f"{self.label}: {done}/{self.total} people, {elapsed:.0f} s"
        if not final and done:
            text += f", ETA {elapsed / done * (self.total - done):.0f} s"
        if self.tty:
            filled = int(20 * done / max(self.total, 1))
            text = f"\r[{'=' * filled}{'.' * (20 - filled)}] {text}\033[K" + ("\n" if final else "")
        else:
            text += "\n"
        self.stream.write(text)
        self.stream.flush()


def _has_heatmaps(runner) -> bool:
    from kerashg.predict import Runner

    return getattr(type(runner), "heatmaps", Runner.heatmaps) is not Runner.heatmaps


def batch_size_for(runner, requested: int, num_people: int) -> int:
    """Crops per model call: `requested`, at most `num_people`, or the fixed batch
    dimension of a SavedModel's signatures."""
    from kerashg.predict import SavedModelRunner

    if isinstance(runner, SavedModelRunner):
        spec = runner.loaded.signatures["heatmaps"].structured_input_signature[1]["images"]
        if spec.shape[0] is not None:
            return int(spec.shape[0])
    return max(1, min(int(requested), int(num_people)))


def check_num_keypoints(
    runner, keypoint_set, model_name: str, dataset: str, batch_size: int = 1
) -> None:
    """Refuses a model whose keypoint count is not the data set's.

    Runs one batch of blank crops (of the size `predict_records` will use, so a
    traced model is traced once).
    """
    from kerashg.predict import guess_keypoint_set

    width, height = runner.input_size
    blank = np.zeros((batch_size, height, width, 3), np.uint8)
    k = int(np.asarray(runner.keypoints(blank)).shape[1])
    if k != keypoint_set.num_keypoints:
        guess = guess_keypoint_set(k)
        hint = f" (a {guess.name} model?)" if guess is not None else ""
        raise EvaluationInputError(
            f"{model_name}: the model gives {k} keypoints{hint} but --data {dataset} has "
            f"{keypoint_set.num_keypoints} ({keypoint_set.name} joints)"
        )


def _predict_crops(runner, images: np.ndarray, flip_index=None) -> np.ndarray:
    """(B, K, 3) keypoints in crop pixels and scores of crops (B, H, W, 3) in [0, 1]."""
    if flip_index is None:
        # The pipeline's crops are uint8 / 255: rounding gives the uint8 crop back.
        pixels = np.rint(images * 255.0).astype(np.uint8)
        return np.asarray(runner.keypoints(pixels), np.float64)
    heatmaps = np.asarray(runner.heatmaps(images)["heatmaps"], np.float32)
    mirror = runner.heatmaps(np.ascontiguousarray(images[:, :, ::-1]))["heatmaps"]
    mirror = HeatmapCodec.flip_heatmaps(mirror, flip_index, shift=True).numpy()
    h, w = heatmaps.shape[1:3]
    codec = getattr(runner, "codec", None) or HeatmapCodec(runner.input_size, (w, h))
    return np.asarray(codec.decode_numpy(0.5 * (heatmaps + mirror)), np.float64)


def predict_records(
    runner,
    records,
    data_dir: str | pathlib.Path,
    *,
    flip: bool = False,
    batch_size: int = MODEL_BATCH,
    progress=None,
) -> np.ndarray:
    """Keypoints of every person of `records` by a model, in original-image pixels.

    Each person is cropped from its record's center and scale by the validation
    pipeline (`training.data.make_dataset(train=False)`: ordered, no
    augmentation), the crops run through the model `batch_size` at a time and
    the crop keypoints mapped back with the inverse of each crop's transform.

    Args:
        runner: a `kerashg.predict.Runner`.
        records: `training.datasets.Records`, image paths relative to `data_dir`.
        data_dir: the data set root.
        flip: bool, flip test (average of the heatmaps of each crop and of its
            mirror image; needs `runner.heatmaps`). Default False.
        batch_size: int, crops per model call. Default 32. A last, shorter
            batch is padded with blank crops: every call has one shape, so a
            traced model (Keras' `tf.function`) is traced once.
        progress: optional callable, given the number of people done after
            each batch.

    Returns:
        float64 (N, K, 3): x, y in original-image pixels and the keypoint score,
        in record order.

    Raises:
        EvaluationInputError: `flip` with a runner that gives keypoints only, or
            an image of the records that cannot be read.
    """
    from training import data as data_lib

    if flip and not _has_heatmaps(runner):
        raise EvaluationInputError(
            f"--flip needs heatmaps, but the {runner.format!r} runner gives keypoints only"
        )
    stats = data_lib.PipelineStats()
    dataset = data_lib.make_dataset(
        records,
        data_dir,
        input_size=runner.input_size,
        train=False,
        batch_size=batch_size,
        stats=stats,
    )
    flip_index = records.keypoint_set.flip_index if flip else None
    keypoints = np.zeros((len(records), records.keypoint_set.num_keypoints, 3))
    done = 0
    for images, _, meta in dataset:
        images = images.numpy()
        count = len(images)
        if count < batch_size:
            blank = np.zeros((batch_size - count, *images.shape[1:]), images.dtype)
            images = np.concatenate([images, blank])
        crops = _predict_crops(runner, images, flip_index)[:count]
        for index, points, inverse in zip(
            meta["index"].numpy(), crops, meta["inverse"].numpy(), strict=True
        ):
            keypoints[index, :, :2] = transforms.transform_points(points[:, :2], inverse)
            keypoints[index, :, 2] = points[:, 2]
        done += len(crops)
        if progress is not None:
            progress(done)
    if stats.skipped:
        path, reason = next(iter(stats.skipped_files.items()))
        raise EvaluationInputError(
            f"{pathlib.Path(data_dir) / path}: {reason} ({stats.skipped} of the "
            f"{len(records)} people of {records.source} have an unreadable image)"
        )
    return keypoints


def _coco_image_ids(annotations, records) -> np.ndarray:
    """The COCO image id of each record (records' `id` is the annotation id)."""
    data = eval_io.load_coco_annotations(annotations)
    # `training.datasets.coco` uses the annotation's position when it has no id.
    image_of = {int(a.get("id", i)): a["image_id"] for i, a in enumerate(data["annotations"])}
    missing = [int(i) for i in records.id if int(i) not in image_of]
    if missing:
        raise EvaluationInputError(
            f"{annotations}: no annotation with id {missing[0]} ({len(missing)} people missing)"
        )
    return np.array([image_of[int(i)] for i in records.id])


def mpii_annotations(records, data_dir: str | pathlib.Path) -> pathlib.Path:
    """The MPII ground-truth file whose rows are the people of `records`.

    `detections_our_format.mat` (official) in `data_dir` or `data_dir/annot`
    when it has the same people in the same rows, else the hourglass `.h5` the
    records were read from.
    """
    root = pathlib.Path(data_dir)
    candidates = [root / name for name in MPII_OFFICIAL_ANNOTATIONS]
    if pathlib.Path(records.source).suffix == ".h5":
        candidates.append(pathlib.Path(records.source))
    truth = records.keypoints.astype(np.float64)
    for path in candidates:
        if not path.is_file():
            continue
        try:
            gt = eval_io.load_mpii_annotations(path)
        except EvaluationInputError:
            continue
        if gt.num_people != len(records):
            continue
        both = gt.annotated & (truth[..., 2] > 0)
        if np.abs(gt.keypoints - truth[..., :2])[both].max(initial=0.0) <= MPII_ROW_TOLERANCE:
            return path
    raise EvaluationInputError(
        f"{records.source}: no MPII ground truth of the official evaluation has these "
        f"{len(records)} people in the same rows; expected detections_our_format.mat in "
        f"{root} or an hourglass valid.h5 (part, normalize)"
    )


def write_model_predictions(
    dataset: str, records, split: str, keypoints: np.ndarray, out: pathlib.Path, data_dir
) -> tuple[pathlib.Path, str | None]:
    """Writes a model's keypoints as the file mode's predictions file.

    Args:
        dataset: "lsp", "mpii" or "coco".
        records: the `Records` the keypoints are of.
        split: the split they were read as.
        keypoints: float (N, K, 3) in original-image pixels, with scores.
        out: the file to write.
        data_dir: the data set root.

    Returns:
        (annotations, split): the ground-truth file and the file mode's
        `--split` (None: none) that score `out`.
    """
    if dataset == "coco":
        annotations = pathlib.Path(records.source)
        image_ids = _coco_image_ids(annotations, records)
        eval_io.write_coco_results(out, image_ids, keypoints, keypoints[..., 2].mean(axis=1))
        return annotations, None
    if dataset == "mpii":
        annotations = mpii_annotations(records, data_dir)
        eval_io.write_keypoint_predictions(out, keypoints)
        return annotations, None
    eval_io.write_keypoint_predictions(out, keypoints, image_ids=records.id)
    return pathlib.Path(records.source), split


def default_predictions_path(model: str, dataset: str, split: str, flip: bool) -> pathlib.Path:
    """`{data}-{split}-{model name}[-flip]-preds.{mat|h5|json}` in the current folder."""
    stem = pathlib.Path(model).name.split(".")[0] or "model"
    suffix = PREDICTION_SUFFIXES[dataset]
    return pathlib.Path(f"{dataset}-{split}-{stem}{'-flip' if flip else ''}-preds{suffix}")


def run_model(args: argparse.Namespace) -> str:
    """Runs `args.model` over a data set's split, writes the predictions file and
    returns the file mode's text for it (see the module docstring)."""
    from kerashg.predict import load_runner
    from training.datasets import load_records

    model = pathlib.Path(args.model)
    if not model.exists():
        raise EvaluationInputError(f"{model}: model artifact not found (--model)")
    data_dir = pathlib.Path(args.data_dir)
    if not data_dir.is_dir():
        raise EvaluationInputError(f"{data_dir}: data folder not found (--data-dir)")
    split = args.split or DEFAULT_MODEL_SPLIT
    records = load_records(args.dataset, data_dir, split)
    runner = load_runner(model)
    batch_size = batch_size_for(runner, args.batch_size, len(records))
    check_num_keypoints(runner, records.keypoint_set, str(model), args.dataset, batch_size)
    out = pathlib.Path(
        args.out or default_predictions_path(args.model, args.dataset, split, args.flip)
    )
    start = time.perf_counter()
    keypoints = predict_records(
        runner,
        records,
        data_dir,
        flip=args.flip,
        batch_size=batch_size,
        progress=Progress(len(records), f"{args.dataset} {split}"),
    )
    seconds = time.perf_counter() - start
    annotations, file_split = write_model_predictions(
        args.dataset, records, split, keypoints, out, data_dir
    )
    skipped = ", ".join(f"{n} {why}" for why, n in records.skipped.items() if n)
    print(
        f"{len(records)} people of {args.dataset} {split} ({data_dir}"
        f"{'; annotations skipped: ' + skipped if skipped else ''}) through {model} "
        f"({runner.format}{', flip test' if args.flip else ''}) in {seconds:.1f} s",
        file=sys.stderr,
    )
    again = f"--dataset {args.dataset} --annotations {annotations} --predictions {out}"
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
    lines = ["threshold  " + " ".join(f"{n:>6}" for n in [*metrics.MPII_GROUPS, "Total"])]
    for i, t in enumerate(curve["thresholds"]):
        values = [curve[n][i] for n in metrics.MPII_GROUPS] + [curve["total"][i]]
        lines.append(f"{t:9.2f}  " + " ".join(f"{v:6.2f}" for v in values))
    lines.append(f"AUC {curve['auc']:.2f}")
    return "\n".join(lines)


def score_file(args: argparse.Namespace) -> str:
    """Scores the predictions file `args` names and returns the text to print."""
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
    parser = argparse.ArgumentParser(
        prog="python -m training.evaluate",
        description="Official pose metrics (MPII PCKh, LSP PCK, COCO keypoint AP) from a "
        "predictions file, or from a model run over a data set's split.",
    )
    parser.add_argument("--dataset", "--data", dest="dataset", choices=("mpii", "lsp", "coco"))
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
    model = parser.add_argument_group("model mode")
    model.add_argument("--model", default=None, help=".keras, SavedModel folder, .tflite or .onnx")
    model.add_argument("--data-dir", default=None, help="the data set root in its usual layout")
    model.add_argument("--flip", action="store_true", help="flip test (needs heatmaps)")
    model.add_argument(
        "--out",
        default=None,
        help="predictions file to write (default: a name in the current folder)",
    )
    model.add_argument("--batch-size", type=int, default=MODEL_BATCH, help="crops per model call")
    parser.add_argument(
        "--split",
        choices=SPLITS,
        default=None,
        help="model mode: the split to run (default val); file mode, lsp: score only that "
        "split's people of joints.mat, as model mode writes them (default: every row)",
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
    if args.model is not None:
        given = [f"--{n}" for n in ("annotations", "predictions") if getattr(args, n) is not None]
        if given:
            return f"{' and '.join(given)} are for file mode, not with --model"
        if args.data_dir is None:
            return "--model needs --data-dir, the data set root"
        if args.batch_size < 1:
            return f"--batch-size must be >= 1. Received: {args.batch_size}"
    else:
        missing = [f"--{n}" for n in ("annotations", "predictions") if getattr(args, n) is None]
        if missing:
            return f"{' and '.join(missing)} required (or --model with --data-dir)"
        given = [f"--{n}" for n in ("data_dir", "out") if getattr(args, n) is not None]
        given += ["--flip"] if args.flip else []
        if given:
            return f"{', '.join(g.replace('_', '-') for g in given)} need --model"
        if args.split is not None and args.dataset != "lsp":
            return "--split in file mode is for --dataset lsp (the other files hold one split)"
    if args.curve and args.dataset != "mpii":
        return "--curve is for --dataset mpii"
    if args.threshold is not None and args.dataset == "coco":
        return "--threshold is for --dataset mpii or lsp (COCO AP uses OKS)"
    return None


def main(argv: list[str] | None = None) -> int:
    """CLI entry point; returns the exit code (2 on bad input)."""
    args = build_parser().parse_args(argv)
    problem = _usage_error(args)
    if problem is not None:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        print(run(args))
    except (EvaluationInputError, ValueError, OSError, ImportError) as error:
        print(f"error: {error}".replace("\n", " "), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
