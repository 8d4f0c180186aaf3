"""Model mode of `python -m training.evaluate`: a model's keypoints for every person
of a data set's split, in original-image pixels.

Each person is cropped from its record's center and scale by the validation
pipeline (`training.data.make_eval_dataset`, as training validation
does), the crops run through a `kerashg.runtime.Runner` in batches (optionally
with the flip test, `HeatmapCodec.decode_flip`), and the crop keypoints mapped
back with the inverse of each crop's transform. Imports no TensorFlow until a
function needs it.
"""

from __future__ import annotations

import pathlib
import sys
import time

import numpy as np

from kerashg import transforms

# Crops per model call, and the predictions file's suffix per data set (what the
# file mode reads; MPII's test split: the evaluation server's .mat).
MODEL_BATCH = 32
PREDICTION_SUFFIXES = {"lsp": ".mat", "mpii": ".h5", "coco": ".json"}


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


def has_heatmaps(runner) -> bool:
    """Whether `runner` gives heatmaps (the flip test needs them)."""
    from kerashg.runtime import Runner

    return getattr(type(runner), "heatmaps", Runner.heatmaps) is not Runner.heatmaps


def batch_size_for(runner, requested: int, num_people: int) -> int:
    """Crops per model call: `requested`, at most `num_people`, or the fixed batch
    dimension of a SavedModel's signatures."""
    from kerashg.runtime import SavedModelRunner

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
    from kerashg.runtime import guess_keypoint_set
    from training.eval_io import EvaluationInputError

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
    """(B, K, 3) keypoints in crop pixels and scores of crops (B, H, W, 3) in [0, 1].

    The flip test decodes with the model's codec as the artifact records it
    (`Runner.codec`: sigma and refinement of training), as the in-graph
    `keypoints` decoding does.
    """
    if flip_index is None:
        # The pipeline's crops are uint8 / 255: rounding gives the uint8 crop back.
        pixels = np.rint(images * 255.0).astype(np.uint8)
        return np.asarray(runner.keypoints(pixels), np.float64)
    heatmaps = np.asarray(runner.heatmaps(images)["heatmaps"], np.float32)
    mirror = runner.heatmaps(np.ascontiguousarray(images[:, :, ::-1]))["heatmaps"]
    return np.asarray(runner.codec.decode_flip(heatmaps, mirror, flip_index), np.float64)


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
    pipeline (`training.data.make_eval_dataset`: ordered, no
    augmentation), the crops run through the model `batch_size` at a time and
    the crop keypoints mapped back with the inverse of each crop's transform.

    Args:
        runner: a `kerashg.runtime.Runner`.
        records: `kerashg.data.Records`, image paths relative to `data_dir`.
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
    from training.eval_io import EvaluationInputError

    if flip and not has_heatmaps(runner):
        raise EvaluationInputError(
            f"--flip needs heatmaps, but the {runner.format!r} runner gives keypoints only"
        )
    stats = data_lib.PipelineStats()
    dataset = data_lib.make_eval_dataset(
        records,
        data_dir,
        codec=getattr(runner, "codec", None),  # a `Runner`'s; None: a keypoints-only stand-in
        input_size=runner.input_size,
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


def _coco_image_ids(annotations, records, category: str | None = None) -> np.ndarray:
    """The COCO image id of each record (records' `id` is the annotation id)."""
    from training import eval_io

    data = eval_io.load_coco_annotations(annotations, category)
    # `kerashg.data.coco` uses the annotation's position when it has no id.
    image_of = {int(a.get("id", i)): a["image_id"] for i, a in enumerate(data["annotations"])}
    missing = [int(i) for i in records.id if int(i) not in image_of]
    if missing:
        raise eval_io.EvaluationInputError(
            f"{annotations}: no annotation with id {missing[0]} ({len(missing)} people missing)"
        )
    return np.array([image_of[int(i)] for i in records.id])


def write_model_predictions(
    dataset: str,
    records,
    split: str,
    keypoints: np.ndarray,
    out: pathlib.Path,
    data_dir,
    predicted: np.ndarray | None = None,
    category: str | None = None,
) -> tuple[pathlib.Path, str | None]:
    """Writes a model's keypoints as the file mode's predictions file.

    Args:
        dataset: "lsp", "mpii" or "coco".
        records: the `Records` the keypoints are of.
        split: the split they were read as.
        keypoints: float (N, K, 3) in original-image pixels, with scores.
        out: the file to write.
        data_dir: the data set root.
        predicted: MPII: optional bool (N,), False for people without an image
            (written as `training.mpii_files.MISSING_PREDICTION`).
        category: COCO: the keypoint category scored, by name (default: the
            file's one category with keypoints); its id is the results'.

    Returns:
        (annotations, split): the ground-truth file and the file mode's
        `--split` (None: none) that score `out`.
    """
    from training import eval_io

    if dataset == "coco":
        from kerashg.coco_metrics import keypoint_category

        annotations = pathlib.Path(records.source)
        image_ids = _coco_image_ids(annotations, records, category)
        scored = keypoint_category(eval_io.load_json(annotations), str(annotations), category)
        scores = keypoints[..., 2].mean(axis=1)
        eval_io.write_coco_results(out, image_ids, keypoints, scores, scored.category_ids[0])
        return annotations, None
    if dataset == "mpii":
        from training import mpii_files

        annotations = mpii_files.mpii_annotations(records, data_dir)
        mpii_files.write_valid_predictions(out, keypoints, predicted)
        return annotations, None
    eval_io.write_keypoint_predictions(out, keypoints, image_ids=records.id)
    return pathlib.Path(records.source), split


def default_predictions_path(model: str, dataset: str, split: str, flip: bool) -> pathlib.Path:
    """`{data}-{split}-{model name}[-flip]-preds.{mat|h5|json}` in the current folder."""
    stem = pathlib.Path(model).name.split(".")[0] or "model"
    suffix = ".mat" if split == "test" else PREDICTION_SUFFIXES[dataset]
    return pathlib.Path(f"{dataset}-{split}-{stem}{'-flip' if flip else ''}-preds{suffix}")
