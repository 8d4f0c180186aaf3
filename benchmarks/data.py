"""Throughput of the training input pipeline (decode, crop, full augmentation, targets).

    python -m benchmarks.data --data synthetic --batches 50 --threads 1
    python -m benchmarks.data --data lsp --data-dir ../shared/data/lsp --threads 2 --json

Prints samples/s over the timed batches (the first `--warmup` batches are not
timed), by the wall clock and per second of CPU time the process used (the
per-core rate; on a shared machine the wall-clock rate understates it). With `--json` the last line is one JSON object with at least
`samples_per_s`, `samples` and `skipped`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from collections.abc import Sequence

DATA_CHOICES = ("synthetic", "mpii", "coco", "lsp")


def run_benchmark(
    data: str = "synthetic",
    data_dir: str | None = None,
    split: str = "train",
    input_size: int = 256,
    batch_size: int = 32,
    batches: int = 30,
    warmup: int = 3,
    threads: int | None = None,
    train: bool = True,
    synthetic_samples: int = 512,
    annotation: str | None = None,
    seed: int = 0,
) -> dict:
    """Runs the pipeline for `warmup + batches` batches and measures the timed part.

    Args:
        data: `"synthetic"`, `"mpii"`, `"coco"` or `"lsp"`.
        data_dir: data set root (real data sets).
        split: `"train"` or `"val"` (LSP: `"all"` too).
        input_size: int, crop side in pixels.
        batch_size: int.
        batches: int, timed batches (the data repeats as needed).
        warmup: int, untimed batches first (thread start-up, autotuning).
        threads: int or None, tf.data private thread pool size and TensorFlow's
            inter/intra-op threads; OpenCV is limited to 1 thread so the pool
            size is the number of cores used.
        train: bool, full augmentation (default) or plain evaluation crops.
        synthetic_samples: int, size of the rendered in-memory pool.
        annotation: explicit annotation file for the real data sets.
        seed: int.

    Returns:
        dict with `samples_per_s` (wall clock), `samples_per_cpu_s` (per second
        of CPU time the process used, all threads: the per-core rate, and
        robust to other processes sharing the machine), `samples`, `seconds`,
        `cpu_s`, `skipped`, `records`, `prepare_s` (reading annotations or
        rendering the pool) and the settings.
    """
    import cv2
    import tensorflow as tf

    from training.data import PipelineStats, make_dataset, synthetic_source
    from training.datasets import load_records

    if threads is not None:
        cv2.setNumThreads(1)
        try:
            tf.config.threading.set_inter_op_parallelism_threads(threads)
            tf.config.threading.set_intra_op_parallelism_threads(threads)
        except RuntimeError as error:  # TensorFlow already initialised in this process
            logging.getLogger(__name__).warning(
                "TensorFlow's thread pools are already set up (%s); only the pipeline's "
                "private pool is limited to %d threads",
                error,
                threads,
            )
    start = time.perf_counter()
    if data == "synthetic":
        records, images = synthetic_source(
            synthetic_samples, seed=seed, split=split, image_size=input_size, workers=threads
        )
        root = None
    else:
        if data_dir is None:
            raise ValueError(f"data_dir is required for data={data!r}")
        records = load_records(data, data_dir, split, annotation=annotation)
        images, root = None, data_dir
    prepare_s = time.perf_counter() - start
    stats = PipelineStats()
    dataset = make_dataset(
        records, root, images=images, input_size=input_size, train=train, batch_size=batch_size,
        seed=seed, num_epochs=None, shuffle=True, threads=threads, stats=stats,
        deterministic=False, drop_remainder=True,
    )  # fmt: skip
    iterator = iter(dataset)
    for _ in range(warmup):
        next(iterator)
    samples = 0
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(batches):
        images_batch, _, _ = next(iterator)
        samples += int(images_batch.shape[0])
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    return {
        "data": data,
        "split": split,
        "input_size": input_size,
        "batch_size": batch_size,
        "threads": threads,
        "train": train,
        "records": len(records),
        "prepare_s": round(prepare_s, 3),
        "samples": samples,
        "seconds": round(seconds, 3),
        "samples_per_s": round(samples / seconds, 1),
        "cpu_s": round(cpu_seconds, 3),
        "samples_per_cpu_s": round(samples / cpu_seconds, 1),
        "skipped": stats.skipped,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="synthetic", choices=DATA_CHOICES)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--split", default="train")
    parser.add_argument("--annotation", default=None, help="explicit annotation file (real data)")
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--synthetic-samples", type=int, default=512)
    parser.add_argument("--no-augment", action="store_true", help="evaluation crops only")
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING)
    result = run_benchmark(
        data=args.data, data_dir=args.data_dir, split=args.split, input_size=args.input_size,
        batch_size=args.batch_size, batches=args.batches, warmup=args.warmup, threads=args.threads,
        train=not args.no_augment, synthetic_samples=args.synthetic_samples,
        annotation=args.annotation,
    )  # fmt: skip
    print(
        f"{result['data']} {result['split']} {result['input_size']}px, threads={result['threads']}, "
        f"augment={result['train']}: {result['samples_per_s']} samples/s, "
        f"{result['samples_per_cpu_s']} samples per CPU-second "
        f"({result['samples']} samples in {result['seconds']} s, skipped {result['skipped']}, "
        f"prepare {result['prepare_s']} s)"
    )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
