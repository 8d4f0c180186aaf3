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
import time
from collections.abc import Sequence

from kerashg import cli
from kerashg.errors import InputError
from training.config import DATA_SETS  # no TensorFlow


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
    decode_cache_mb: int | None = None,
) -> dict:
    """Runs the pipeline for `warmup + batches` batches and measures the timed part.

    Args:
        data: one of `training.config.DATA_SETS`.
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
        decode_cache_mb: int or None, MB of decoded images the pipeline keeps
            (`training.data.make_train_dataset`; 0: decode every time; None:
            the pipeline's default, `DECODE_CACHE_MB`).

    Returns:
        dict with `samples_per_s` (wall clock), `samples_per_cpu_s` (per second
        of CPU time the process used, all threads: the per-core rate, and
        robust to other processes sharing the machine), `samples`, `seconds`,
        `cpu_s`, `skipped`, `records`, `prepare_s` (reading annotations or
        rendering the pool) and the settings.
    """
    import cv2

    from kerashg.data import load_records

    start = time.perf_counter()
    if data != "synthetic":
        # Before TensorFlow loads: a wrong folder or annotation answers at once.
        if data_dir is None:
            raise InputError(f"--data {data} needs --data-dir (the data set's root folder)")
        records = load_records(data, data_dir, split, annotation=annotation)
        images, root = None, data_dir
    prepare_s = time.perf_counter() - start

    import tensorflow as tf

    from training.augment import NO_AUGMENT
    from training.data import DECODE_CACHE_MB, DecodeCache, PipelineStats, make_train_dataset
    from training.synthetic import synthetic_source

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
    if data == "synthetic":
        start = time.perf_counter()
        records, images = synthetic_source(
            synthetic_samples, seed=seed, split=split, image_size=input_size, workers=threads
        )
        root = None
        prepare_s = time.perf_counter() - start
    stats = PipelineStats()
    # The training pipeline either way (shuffled, repeated): --no-augment only drops the
    # augmentation, so the two rates differ by its cost alone.
    cache = DecodeCache(DECODE_CACHE_MB if decode_cache_mb is None else decode_cache_mb)
    dataset = make_train_dataset(
        records, root, images=images, input_size=input_size, batch_size=batch_size, seed=seed,
        augment=None if train else NO_AUGMENT, threads=threads, stats=stats, deterministic=False,
        decode_cache=cache,
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
        "decode_cache_mb": cache.megabytes,
        "records": len(records),
        "prepare_s": round(prepare_s, 3),
        "samples": samples,
        "seconds": round(seconds, 3),
        "samples_per_s": round(samples / seconds, 1),
        "cpu_s": round(cpu_seconds, 3),
        "samples_per_cpu_s": round(samples / cpu_seconds, 1),
        "skipped": stats.skipped,
    }


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of `python -m benchmarks.data`."""
    parser = cli.parser("python -m benchmarks.data", __doc__)
    parser.add_argument("--data", default="synthetic", choices=DATA_SETS, help="data set")
    parser.add_argument("--data-dir", default=None, help="root folder of a real data set")
    parser.add_argument("--split", default="train", help="train or val (LSP: all too)")
    parser.add_argument("--annotation", default=None, help="explicit annotation file (real data)")
    parser.add_argument("--input-size", type=int, default=256, help="crop side in pixels")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per batch")
    parser.add_argument("--batches", type=int, default=30, help="timed batches")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="tf.data and TensorFlow threads, OpenCV limited to 1 (default: TensorFlow's own)",
    )
    parser.add_argument(
        "--synthetic-samples", type=int, default=512, help="rendered in-memory pool (synthetic)"
    )
    parser.add_argument("--no-augment", action="store_true", help="evaluation crops only")
    parser.add_argument(
        "--decode-cache-mb",
        type=int,
        default=None,
        help="MB of decoded images kept across epochs (0: decode every sample; "
        "default: the training pipeline's)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object last")
    return parser


# Crop sides the benchmark takes: a batch of 40,000² crops is a 143 GiB allocation
# inside tf.data; below 8 px there is no heatmap (the stem divides by 4).
MIN_INPUT_SIZE, MAX_INPUT_SIZE = 8, 2048


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of `python -m benchmarks.data` (bad input: one `error:` line, exit 2)."""
    cli.run(build_parser, run, argv)


def run(args: argparse.Namespace) -> None:
    """Runs the benchmark the parsed arguments describe and prints its figures."""
    cli.check_positive(args, "input_size", "batch_size", "batches", "synthetic_samples", "threads")
    if not MIN_INPUT_SIZE <= args.input_size <= MAX_INPUT_SIZE:
        raise InputError(
            f"--input-size must be between {MIN_INPUT_SIZE} and {MAX_INPUT_SIZE} pixels. "
            f"Received: {args.input_size}"
        )
    for name in ("warmup", "decode_cache_mb"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise InputError(f"--{name.replace('_', '-')} must be >= 0. Received: {value}")
    logging.basicConfig(level=logging.WARNING)
    result = run_benchmark(
        data=args.data, data_dir=args.data_dir, split=args.split, input_size=args.input_size,
        batch_size=args.batch_size, batches=args.batches, warmup=args.warmup, threads=args.threads,
        train=not args.no_augment, synthetic_samples=args.synthetic_samples,
        annotation=args.annotation, decode_cache_mb=args.decode_cache_mb,
    )  # fmt: skip
    print(
        f"{result['data']} {result['split']} {result['input_size']}px, threads={result['threads']}, "
        f"augment={result['train']}, decode cache {result['decode_cache_mb']} MB: "
        f"{result['samples_per_s']} samples/s, "
        f"{result['samples_per_cpu_s']} samples per CPU-second "
        f"({result['samples']} samples in {result['seconds']} s, skipped {result['skipped']}, "
        f"prepare {result['prepare_s']} s)"
    )
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
