"""Model mode of `python -m kerashg.evaluate`: a model's keypoints for every person
of a data set's split, in original-image pixels, and the predictions file of them.

Each person is cropped from its record's center and scale as training
validation crops it (`training.data.make_eval_dataset`), pixel for pixel: the
crop transform in training's float32 arithmetic
(`kerashg.transforms.affine_matrix_float32`), the image read reduced where the
crop shrinks it (`crop_reduction`, `kerashg.images.read_image_file`) and warped
bilinearly with a black border (`warp_image`). The crops run through a
`kerashg.runtime.Runner` in batches (optionally with the flip test), and the
crop keypoints are mapped back with the inverse of each crop's transform.

The crops' keypoints are `kerashg.runtime.crop_keypoints`'s, as `kerashg.predict`
takes them (the flip test included: `kerashg.decoding.decode_flip` with the codec
the artifact records). Imports no TensorFlow: only a runner of a TensorFlow
artifact (`.keras`, SavedModel) loads it.
"""

from __future__ import annotations

import functools
import pathlib
import sys
import time

import numpy as np

from kerashg import transforms
from kerashg.data.image_files import check_image_files
from kerashg.errors import InputError
from kerashg.evaluation import files, mpii_files
from kerashg.images import ImageError, read_image_file
from kerashg.runtime import SavedModelRunner, crop_keypoints, guess_keypoint_set

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


def batch_size_for(runner, requested: int, num_people: int) -> int:
    """Crops per model call: `requested`, at most `num_people`, or the fixed batch
    dimension of a SavedModel's signatures."""
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
    width, height = runner.input_size
    blank = np.zeros((batch_size, height, width, 3), np.uint8)
    k = int(np.asarray(runner.keypoints(blank)).shape[1])
    if k != keypoint_set.num_keypoints:
        guess = guess_keypoint_set(k)
        hint = f" (a {guess.name} model?)" if guess is not None else ""
        raise InputError(
            f"{model_name}: the model gives {k} keypoints{hint} but --data {dataset} has "
            f"{keypoint_set.num_keypoints} ({keypoint_set.name} joints)"
        )


def _check_images(records, data_dir: pathlib.Path) -> None:
    """Refuses records with an image that cannot be read (every person is scored),
    before any model runs; and, through `check_image_files`, joints far outside
    their images."""
    if len(records) == 0:
        raise InputError("holds no person: nothing to evaluate", path=records.source)
    problems = check_image_files(records, data_dir)
    if problems:
        path, reason = next(iter(problems.items()))
        people = int(np.isin(records.image_path, list(problems)).sum())
        raise InputError(
            f"{data_dir / path}: {reason} ({people} of the {len(records)} people of "
            f"{records.source} have an unreadable image)"
        )


def person_crop(read, image_path: str, center, scale, input_size) -> tuple:
    """One person's model-input crop, as training validation crops it.

    Args:
        read: callable `(image_path, reduction)` → the image as RGB uint8 read at
            that reduction (`kerashg.images.read_image_file`).
        image_path: the record's image.
        center, scale: the record's person box (hourglass convention).
        input_size: (width, height) of the model input.

    Returns:
        (crop uint8 (H, W, 3), inverse float64 (2, 3) crop → original pixels).
    """
    # Training's float32 matrix, not `get_affine_transform`'s float64 one: the same
    # crop bit for bit (an int8 model's score moves with a grey level here and there).
    matrix = transforms.affine_matrix_float32(center, scale, 0.0, input_size)
    reduction = transforms.crop_reduction(matrix)
    crop = transforms.warp_image(read(image_path, reduction), matrix, input_size, reduction)
    return crop, transforms.invert_affine(matrix)


def _crop_batch(records, rows: np.ndarray, read, input_size, batch_size: int) -> tuple:
    """(crops uint8 (batch_size, H, W, 3), inverse (len(rows), 2, 3)) of `rows`; a
    short batch is padded with blank crops, so that every model call has one shape
    and a traced model (Keras' `tf.function`) is traced once."""
    width, height = input_size
    crops = np.zeros((batch_size, height, width, 3), np.uint8)
    inverse = np.zeros((len(rows), 2, 3))
    for i, row in enumerate(rows):
        crops[i], inverse[i] = person_crop(
            read, str(records.image_path[row]), records.center[row], records.scale[row], input_size
        )
    return crops, inverse


def _image_reader(records, data_dir: pathlib.Path):
    """`read(image_path, reduction)` of the records' images, keeping the last one
    read (an image's people are consecutive records); an unreadable image is an
    `InputError` naming it."""

    @functools.lru_cache(maxsize=1)
    def read(image_path: str, reduction: int) -> np.ndarray:
        try:
            return read_image_file(data_dir / image_path, reduction)
        except ImageError as error:
            raise InputError(
                f"{data_dir / image_path}: {error} (an image of {records.source}; every "
                "person is scored)"
            ) from None

    return read


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

    Each person is cropped from its record's center and scale as training
    validation crops it (`person_crop`; no augmentation), the crops run through
    the model `batch_size` at a time and the crop keypoints mapped back with the
    inverse of each crop's transform.

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
        InputError: `flip` with a runner that gives keypoints only, or an image
            of the records that cannot be read (before the model runs where
            `kerashg.data.image_files.check_image_files` finds it).
    """
    if flip and not runner.has_heatmaps:
        raise InputError(
            f"--flip needs heatmaps, but the {runner.format!r} runner gives keypoints only"
        )
    data_dir = pathlib.Path(data_dir)
    _check_images(records, data_dir)
    read = _image_reader(records, data_dir)
    input_size = tuple(int(v) for v in runner.input_size)
    flip_index = records.keypoint_set.flip_index if flip else None
    keypoints = np.zeros((len(records), records.keypoint_set.num_keypoints, 3))
    for start in range(0, len(records), batch_size):
        rows = np.arange(start, min(start + batch_size, len(records)))
        crops, inverse = _crop_batch(records, rows, read, input_size, batch_size)
        points = crop_keypoints(runner, crops, flip_index)[: len(rows)]
        for row, person, back in zip(rows, points, inverse, strict=True):
            keypoints[row, :, :2] = transforms.transform_points(person[:, :2], back)
            keypoints[row, :, 2] = person[:, 2]
        if progress is not None:
            progress(int(rows[-1]) + 1)
    return keypoints


def _coco_image_ids(annotations, records, category: str | None = None) -> np.ndarray:
    """The COCO image id of each record (records' `id` is the annotation id)."""
    data = files.load_coco_annotations(annotations, category)
    # `kerashg.data.coco` uses the annotation's position when it has no id.
    image_of = {int(a.get("id", i)): a["image_id"] for i, a in enumerate(data["annotations"])}
    missing = [int(i) for i in records.id if int(i) not in image_of]
    if missing:
        raise InputError(
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
            (written as `kerashg.evaluation.mpii_files.MISSING_PREDICTION`).
        category: COCO: the keypoint category scored, by name (default: the
            file's one category with keypoints); its id is the results'.

    Returns:
        (annotations, split): the ground-truth file and the file mode's
        `--split` (None: none) that score `out`.
    """
    if dataset == "coco":
        from kerashg.coco_metrics import keypoint_category

        annotations = pathlib.Path(records.source)
        image_ids = _coco_image_ids(annotations, records, category)
        scored = keypoint_category(files.load_json(annotations), str(annotations), category)
        scores = keypoints[..., 2].mean(axis=1)
        files.write_coco_results(out, image_ids, keypoints, scores, scored.category_ids[0])
        return annotations, None
    if dataset == "mpii":
        annotations = mpii_files.mpii_annotations(records, data_dir)
        mpii_files.write_valid_predictions(out, keypoints, predicted)
        return annotations, None
    files.write_keypoint_predictions(out, keypoints, image_ids=records.id)
    return pathlib.Path(records.source), split


def default_predictions_path(model: str, dataset: str, split: str, flip: bool) -> pathlib.Path:
    """`{data}-{split}-{model name}[-flip]-preds.{mat|h5|json}` in the current folder."""
    stem = pathlib.Path(model).name.split(".")[0] or "model"
    suffix = ".mat" if split == "test" else PREDICTION_SUFFIXES[dataset]
    return pathlib.Path(f"{dataset}-{split}-{stem}{'-flip' if flip else ''}-preds{suffix}")
